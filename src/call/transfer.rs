//! Blind transfer: a REFER inside an answered, bridged call. The transferer (either leg) asks
//! sipbox to send the other leg, the transferee, to `Refer-To`'s extension; sipbox accepts
//! (202), reports progress to the transferer in NOTIFYs carrying a `message/sipfrag` status
//! line, stops the bridge and runs the dialplan for the new extension with the transferee as
//! the call's caller. A Dial there rings the target; its answer is bridged to the transferee
//! (the transferee's RTP relay is re-pointed, it is not re-INVITEd) and the transferer's leg
//! is released.
//!
//! Reading list: RFC 3515 (REFER: 202, the implicit `refer` subscription, NOTIFY with
//! `Event: refer;id=`, `Subscription-State`), RFC 3420 (`message/sipfrag`), RFC 3892
//! (`Referred-By`, copied onto the INVITE to the target), RFC 5589 §6 (blind transfer: the
//! transferor hangs up after the final NOTIFY), RFC 6665 §4.1.3 (NOTIFY's Contact,
//! `terminated;reason=noresource`); Asterisk's `chan_sip.c` `handle_request_refer` and
//! `get_refer_info` (603 for `allowtransfer=no` and for a non-SIP Refer-To, 400 without
//! Refer-To, 491 while one is pending, 202 + NOTIFY 404 for an unknown extension, the
//! transfer context) and `SIP_DEFER_BYE_ON_TRANSFER` (after a successful transfer the
//! transferer's own BYE is waited for — answered 200 — instead of sending one at once).
//!
//! Where sipbox differs from chan_sip (see README, "Behaviour chosen"): the final NOTIFY waits
//! for the target's answer (chan_sip sends `200 OK` as soon as the transferee is redirected),
//! so a busy target is reported as `486`; and when the transferer never hangs up after a
//! success, sipbox sends BYE after 64·T1 instead of forgetting the dialog silently.

use super::build::{self, Origin};
use super::dialog::DialogState;
use super::state::{Call, CallState, EndReason};
use super::{Cx, Purpose, Reply};
use crate::dialplan::{ChannelInfo, Execution, Resume};
use crate::handle::LegId;
use crate::sip::{HeaderName, Method, NameAddr, Request, StatusCode};
use crate::transaction::Handle as TxHandle;
use crate::wake::{CallTimer, Wake};

/// The content type of the NOTIFY bodies (RFC 3420, RFC 3515 §2.4.5).
const SIPFRAG: &str = "message/sipfrag;version=2.0";

/// A blind transfer of this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The leg that sent the REFER; its dialog carries the NOTIFYs.
    pub transferer: LegId,
    /// The leg sent to the new extension.
    pub transferee: LegId,
    /// The REFER's CSeq number (`Event: refer;id=`).
    pub refer_cseq: u32,
    /// The REFER's `Referred-By`, passed on to the target.
    pub referred_by: Option<String>,
    /// Where the transfer is.
    pub state: TransferState,
}

/// The one state machine of a transfer (transitions in `Call::transfer_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// `NOTIFY 100 Trying` sent; the transferee is in the dialplan, the outcome is unknown.
    Routing,
    /// The transferee was parked (a transfer to `parkext`): the transferer hears the
    /// position; NOTIFY 200 follows the announcement (res_parking's `say_parking_space`).
    Parking,
    /// The final NOTIFY said `200 OK`; the transferer's BYE is awaited (64·T1 at most).
    AwaitingBye,
    /// The transferer's leg is over (its BYE came, or ours went).
    Released,
}

/// What happens to a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEvent {
    /// The outcome is known: the target answered (200), or the failure.
    Outcome(StatusCode),
    /// The transferer sent BYE.
    TransfererBye,
    /// The transferer did not hang up in time after a success.
    ByeTimeout,
    /// The transferee was parked; the transferer is told the position.
    Parked,
    /// The parking position was announced to the transferer.
    Announced,
}

/// A REFER that passed every check.
struct Accepted {
    transferee: LegId,
    exten: String,
    context: String,
    referred_by: Option<String>,
    replaces: Option<super::join::Replaces>,
}

/// How many URIs a header value lists (commas outside `<>` and quotes separate them).
fn uri_count(value: &str) -> usize {
    let (mut n, mut angle, mut quoted, mut empty) = (1, false, false, true);
    for c in value.chars() {
        match c {
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !angle && !quoted => n += 1,
            c if !c.is_whitespace() => empty = false,
            _ => {}
        }
    }
    if empty {
        0
    } else {
        n
    }
}

/// The status line of a sipfrag body.
fn sipfrag(status: StatusCode) -> Vec<u8> {
    format!("SIP/2.0 {} {}\r\n", status.code(), status.reason()).into_bytes()
}

/// What the transferer is told when the call ends while the transfer is routing.
fn status_on_end(why: EndReason) -> StatusCode {
    let s = match why {
        EndReason::ByeFrom(_) | EndReason::Cancelled => StatusCode::REQUEST_TERMINATED,
        EndReason::Hangup(s) | EndReason::NoMedia(s) => s,
        EndReason::NoAck => StatusCode::REQUEST_TIMEOUT,
    };
    if s.is_final() && !s.is_success() {
        s
    } else {
        StatusCode::TEMPORARILY_UNAVAILABLE
    }
}

impl Call {
    fn reply_refer(&self, cx: &mut Cx<'_>, h: TxHandle, status: StatusCode) {
        let ua = cx.cfg.general.user_agent.as_str();
        let r = Reply::new(status);
        super::reply::send(
            cx.now,
            cx.txs,
            cx.sched,
            cx.out,
            h,
            r,
            None,
            cx.advertise,
            ua,
        );
    }

    /// True when `leg` is the transferer of this call's last transfer.
    pub(super) fn is_transferer(&self, leg: LegId) -> bool {
        self.transfer.as_ref().is_some_and(|t| t.transferer == leg)
    }

    /// True while a transferer's leg is still up (its BYE is answered without ending the
    /// call).
    pub(super) fn transferer_up(&self, leg: LegId) -> bool {
        self.transfer
            .as_ref()
            .is_some_and(|t| t.transferer == leg && t.state != TransferState::Released)
    }

    /// The `Referred-By` a transfer's INVITE to its target carries (RFC 3892 §3).
    pub(super) fn transfer_referred_by(&self) -> Option<&str> {
        match &self.transfer {
            Some(t) if t.state == TransferState::Routing => t.referred_by.as_deref(),
            _ => None,
        }
    }

    /// A REFER on `leg` (already matched to its dialog), on its server transaction `h`.
    pub(super) fn on_refer(&mut self, cx: &mut Cx<'_>, leg: LegId, req: &Request, h: TxHandle) {
        let accepted = match self.check_refer(leg, req) {
            Ok(a) => a,
            Err(status) => {
                log::info!(
                    "call {}: REFER from leg {leg} refused: {}",
                    self.label(),
                    status.code()
                );
                return self.reply_refer(cx, h, status);
            }
        };
        self.reply_refer(cx, h, StatusCode::ACCEPTED);
        let refer_cseq = req.cseq().seq;
        if let Some(replaces) = accepted.replaces {
            return self.attended_refer(cx, leg, refer_cseq, replaces);
        }
        let cid = self.channel_for(cx, accepted.transferee).callerid_num;
        if !cx
            .dialplan
            .exists(&accepted.context, &accepted.exten, 1, &cid, cx.wall)
        {
            // chan_sip: a failed transfer is faked, the call stays as it was.
            log::info!(
                "call {}: transfer to unknown extension '{}@{}'",
                self.label(),
                accepted.exten,
                accepted.context
            );
            return self.notify_transferer(cx, leg, refer_cseq, StatusCode::NOT_FOUND, true);
        }
        if self.refer_to_full_lot(
            cx,
            leg,
            refer_cseq,
            &accepted.context,
            &accepted.exten,
            &cid,
        ) {
            return;
        }
        self.start_transfer(cx, leg, refer_cseq, accepted);
    }

    /// chan_sip's checks, in its order. `Err`: the status to refuse the REFER with.
    fn check_refer(&self, leg: LegId, req: &Request) -> Result<Accepted, StatusCode> {
        let entry = self.entry_of(leg);
        let g = &self.general;
        let (allowed, transfer_context, context) = match entry {
            Some(e) => (e.allow_transfer, e.transfer_context.as_ref(), &e.context),
            None => (g.allow_transfer, g.transfer_context.as_ref(), &g.context),
        };
        if !allowed {
            return Err(StatusCode::DECLINE);
        }
        let pending = self
            .transfer
            .as_ref()
            .is_some_and(|t| t.state == TransferState::Routing);
        if pending || self.reinvite_pending {
            return Err(StatusCode::REQUEST_PENDING);
        }
        let values: Vec<&str> = req.headers().get_all(&HeaderName::ReferTo).collect();
        let [value] = values.as_slice() else {
            return Err(StatusCode::BAD_REQUEST);
        };
        if uri_count(value) != 1 {
            return Err(StatusCode::BAD_REQUEST);
        }
        let target = NameAddr::parse(value).map_err(|_| StatusCode::BAD_REQUEST)?;
        if target.uri.scheme != "sip" && target.uri.scheme != "sips" {
            return Err(StatusCode::DECLINE);
        }
        let Some(transferee) = self.bridge().and_then(|b| b.other(leg)) else {
            // Nothing to transfer: sipbox itself is the other party, or the call is not up.
            return Err(StatusCode::DECLINE);
        };
        // Attended transfer (RFC 3891 in the Refer-To's headers): the engine joins calls.
        let replaces = match target
            .uri
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("replaces"))
        {
            Some((_, v)) => Some(super::join::Replaces::parse(v).ok_or(StatusCode::BAD_REQUEST)?),
            None => None,
        };
        let referred_by = req
            .headers()
            .get(&HeaderName::ReferredBy)
            .filter(|v| NameAddr::parse(v).is_ok())
            .map(str::to_string);
        Ok(Accepted {
            transferee,
            exten: target.uri.user.unwrap_or_default().into(),
            context: transfer_context.unwrap_or(context).clone(),
            referred_by,
            replaces,
        })
    }

    /// The channel the transferee's new dialplan run is on: the original caller's (from its
    /// INVITE), or a callee leg's (its entry's caller ID, else the number it was called at).
    pub(super) fn channel_for(&self, cx: &Cx<'_>, leg: LegId) -> ChannelInfo {
        let unique_id = self
            .exec
            .as_ref()
            .and_then(|e| e.var("UNIQUEID"))
            .unwrap_or_default();
        let l = &self.legs[leg];
        if l.dialog.role == super::Role::Uas {
            return super::start::channel_info(cx, &self.invite, l.peer, unique_id);
        }
        let entry = l.entry.as_deref();
        let cid = entry.and_then(|e| e.callerid.as_ref());
        let name = cid.and_then(|c| c.name.clone()).unwrap_or_default();
        let num = cid
            .and_then(|c| c.number.clone())
            .or_else(|| l.dialog.remote_uri.uri.user.as_deref().map(str::to_owned))
            .or_else(|| entry.map(|e| e.name.clone()))
            .unwrap_or_default();
        ChannelInfo {
            callerid_name: name.into(),
            callerid_num: num.into(),
            sip_call_id: l.dialog.call_id.as_str().into(),
            unique_id: unique_id.into(),
            peer: entry.map_or_else(Default::default, |e| e.name.as_str().into()),
            name: None,
            sip_headers: Default::default(),
        }
    }

    /// Accepted and the extension exists: NOTIFY 100, stop the bridge, and run the dialplan
    /// for the new extension with the transferee as the caller.
    fn start_transfer(&mut self, cx: &mut Cx<'_>, transferer: LegId, cseq: u32, a: Accepted) {
        if let Some(old) = self.transfer.take() {
            if old.state == TransferState::AwaitingBye {
                // A second transfer in the re-bridged call: the first transferer goes now.
                self.timers.stop(cx.sched, CallTimer::TransfererBye);
                self.release_transferer(cx, old.transferer, true);
            }
        }
        log::info!(
            "call {}: leg {transferer} transfers leg {} to '{}@{}'",
            self.label(),
            a.transferee,
            a.exten,
            a.context
        );
        self.transfer = Some(Transfer {
            transferer,
            transferee: a.transferee,
            refer_cseq: cseq,
            referred_by: a.referred_by.clone(),
            state: TransferState::Routing,
        });
        self.notify_transferer(cx, transferer, cseq, StatusCode::TRYING, false);
        let chan = self.channel_for(cx, a.transferee);
        if let Some(mut old) = self.exec.take() {
            if transferer == self.caller {
                // The caller's channel is the one that goes: its `h` runs.
                old.hangup(cx.dialplan, cx.wall, None);
                super::script::hand_db_ops_to_driver(cx);
            }
        }
        self.caller = a.transferee;
        self.rerouted = true;
        self.dial_failure = None;
        self.state = CallState::Routing;
        let mut exec = Execution::new(cx.dialplan, &a.context, &a.exten, chan);
        exec.set_var("SIPTRANSFER", "yes");
        // Asterisk names the transferer on the transferee's channel (Park() takes it as the
        // parker).
        exec.set_var("BLINDTRANSFER", &self.legs[transferer].channel);
        if let Some(rb) = &a.referred_by {
            exec.set_var("SIPREFERREDBYHDR", rb);
        }
        self.exec = Some(exec);
        self.exten = a.exten;
        self.run_dialplan(cx, Resume::Start);
    }

    /// The transfer's state machine: every transition is here.
    pub(super) fn transfer_event(&mut self, cx: &mut Cx<'_>, ev: TransferEvent) {
        let Some(t) = self.transfer.as_ref() else {
            return;
        };
        let (leg, cseq, state) = (t.transferer, t.refer_cseq, t.state);
        let next = match (state, ev) {
            (TransferState::Routing, TransferEvent::Outcome(status)) => {
                log::info!("call {}: transfer outcome {}", self.label(), status.code());
                self.notify_transferer(cx, leg, cseq, status, true);
                if status.is_success() {
                    self.await_transferer_bye(cx)
                } else {
                    self.release_transferer(cx, leg, true);
                    TransferState::Released
                }
            }
            (TransferState::Routing, TransferEvent::Parked) => {
                log::info!("call {}: transferee parked", self.label());
                TransferState::Parking
            }
            // The parked call's music is no outcome of the transfer.
            (TransferState::Parking, TransferEvent::Outcome(_)) => TransferState::Parking,
            (TransferState::Parking, TransferEvent::Announced) => {
                log::info!("call {}: transfer outcome 200 (parked)", self.label());
                self.notify_transferer(cx, leg, cseq, StatusCode::OK, true);
                self.await_transferer_bye(cx)
            }
            (
                TransferState::Routing | TransferState::Parking | TransferState::AwaitingBye,
                TransferEvent::TransfererBye,
            ) => {
                self.timers.stop(cx.sched, CallTimer::TransfererBye);
                self.stop_announcement(cx, leg);
                self.release_transferer(cx, leg, false);
                TransferState::Released
            }
            (TransferState::AwaitingBye, TransferEvent::ByeTimeout) => {
                log::info!("call {}: the transferer did not hang up, BYE", self.label());
                self.release_transferer(cx, leg, true);
                TransferState::Released
            }
            (s, _) => s,
        };
        if let Some(t) = self.transfer.as_mut() {
            t.state = next;
        }
    }

    /// After the final NOTIFY 200 the transferer's BYE is awaited, 64·T1 at most.
    fn await_transferer_bye(&mut self, cx: &mut Cx<'_>) -> TransferState {
        let at = cx.now + cx.cfg.general.timer_t1 * 64;
        let wake = Wake::Call(self.handle, CallTimer::TransfererBye);
        self.timers
            .start(cx.sched, CallTimer::TransfererBye, at, wake);
        TransferState::AwaitingBye
    }

    /// The call ends: a transfer still routing tells its transferer why.
    pub(super) fn transfer_call_ended(&mut self, cx: &mut Cx<'_>, why: EndReason) {
        self.transfer_event(cx, TransferEvent::Outcome(status_on_end(why)));
    }

    /// The transferer's leg is over: BYE (when `bye`), its RTP ports and its call-limit
    /// count freed.
    pub(super) fn release_transferer(&mut self, cx: &mut Cx<'_>, leg: LegId, bye: bool) {
        let confirmed = self
            .legs
            .get(leg)
            .is_some_and(|l| l.dialog.state == DialogState::Confirmed);
        if bye && confirmed {
            self.send_bye(cx, leg);
        }
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        l.dialog.state = DialogState::Terminated;
        if let Some(p) = l.peer.take() {
            cx.load.release(p);
        }
        self.media_leg_gone(cx, leg);
    }

    /// A NOTIFY of the `refer` subscription on the transferer's leg (RFC 3515 §2.4.4): the
    /// status as a sipfrag, `terminated` with the final one.
    pub(super) fn notify_transferer(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        refer_cseq: u32,
        status: StatusCode,
        last: bool,
    ) {
        let branch = cx.new_branch();
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        let d = &mut l.dialog;
        if d.state != DialogState::Confirmed {
            return;
        }
        let seq = d.next_cseq();
        let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let mut n = build::in_dialog(d, Method::Notify, seq, &origin);
        n.push_header(HeaderName::Event, format!("refer;id={refer_cseq}"));
        let sub = if last {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        n.push_header(HeaderName::SubscriptionState, sub);
        let user = d.local_uri.uri.user.as_deref().unwrap_or("sipbox");
        n.push_header(
            HeaderName::Contact,
            build::contact(user, cx.advertise.sip(d.flow.remote)).to_string(),
        );
        n.set_body(Some(SIPFRAG), sipfrag(status));
        let dest = d.flow;
        cx.txs
            .open_client(cx.now, cx.sched, cx.out, n, dest, Purpose::Fire);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_lists_are_counted_outside_brackets_and_quotes() {
        assert_eq!(uri_count("<sip:1003@h>"), 1);
        assert_eq!(uri_count("sip:1003@h"), 1);
        assert_eq!(uri_count("\"a, b\" <sip:1003@h;x=1?Replaces=a%2C>"), 1);
        assert_eq!(uri_count("<sip:1@h>, <sip:2@h>"), 2);
        assert_eq!(uri_count("  "), 0);
    }

    #[test]
    fn the_sipfrag_is_one_status_line() {
        assert_eq!(sipfrag(StatusCode::TRYING), b"SIP/2.0 100 Trying\r\n");
        assert_eq!(sipfrag(StatusCode::BUSY_HERE), b"SIP/2.0 486 Busy Here\r\n");
    }

    #[test]
    fn an_ended_call_reports_a_failure() {
        assert_eq!(
            status_on_end(EndReason::ByeFrom(0)),
            StatusCode::REQUEST_TERMINATED
        );
        assert_eq!(
            status_on_end(EndReason::Hangup(StatusCode::BUSY_HERE)),
            StatusCode::BUSY_HERE
        );
        assert_eq!(
            status_on_end(EndReason::Hangup(StatusCode::OK)),
            StatusCode::TEMPORARILY_UNAVAILABLE
        );
    }
}
