//! Joining calls, the call's side: attended transfer (a REFER whose `Refer-To` carries
//! `Replaces`) and an INVITE with `Replaces`. Two calls are involved and a call may only touch
//! itself, so the call asks ([`JoinRequest`]) and the engine (`src/engine/join.rs`), where both
//! calls are reachable, moves a leg from one call to the other: [`Call::detach_leg`] leaves a
//! terminated placeholder behind (leg ids stay stable), [`Call::attach_leg`] gives the leg a new
//! id, its RTP ports to the new owner and its INVITE transaction's answers to the new call.
//!
//! Reading list: RFC 3891 (Replaces: the header, §3 matching — the to-tag is the recipient's
//! local tag — 481 without a match, 486 for `early-only` on a confirmed dialog, 603 for a
//! terminated one), RFC 5589 §7 (attended transfer: the transferor's REFER names its
//! consultation dialog, NOTIFY 200 then the transferor hangs up), RFC 3515 (the REFER's
//! NOTIFYs); Asterisk's `chan_sip.c` `local_attended_transfer` (the two other parties are
//! bridged, the transferer's channels hang up) and `handle_invite_replaces`.

use super::dialog::{Dialog, DialogState, Role};
use super::reply;
use super::state::{Bridge, Call, CallState, Leg};
use super::table::LegRef;
use super::transfer::{Transfer, TransferEvent, TransferState};
use super::{Cx, Purpose, Reply};
use crate::handle::LegId;
use crate::sip::{Request, StatusCode};
use crate::wake::CallTimer;
use std::rc::Rc;

/// The longest Call-ID or tag a `Replaces` may name (bounded input).
const MAX_ID: usize = 256;

/// A `Replaces` value (RFC 3891 §6.1): `call-id;to-tag=..;from-tag=..[;early-only]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// The dialog's Call-ID.
    pub call_id: String,
    /// The tag of the recipient of the INVITE (sipbox's local tag).
    pub to_tag: String,
    /// The other side's tag.
    pub from_tag: String,
    /// Only an early dialog may be replaced.
    pub early_only: bool,
}

impl Replaces {
    /// Parses a value (already unescaped when it came from a URI's headers). None: malformed.
    pub fn parse(v: &str) -> Option<Replaces> {
        let mut parts = v.split(';');
        let call_id = parts.next()?.trim();
        let (mut to, mut from, mut early_only) = (None, None, false);
        for p in parts {
            let (k, val) = match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p.trim(), None),
            };
            if k.eq_ignore_ascii_case("to-tag") {
                to = val;
            } else if k.eq_ignore_ascii_case("from-tag") {
                from = val;
            } else if k.eq_ignore_ascii_case("early-only") {
                early_only = true;
            }
        }
        let (to, from) = (to?, from?);
        let ok = |s: &str| !s.is_empty() && s.len() <= MAX_ID;
        if !ok(call_id) || !ok(to) || !ok(from) {
            return None;
        }
        Some(Replaces {
            call_id: call_id.to_string(),
            to_tag: to.to_string(),
            from_tag: from.to_string(),
            early_only,
        })
    }

    /// True when `d` is the dialog this names (RFC 3891 §3: the to-tag is the local tag of
    /// the UA that receives the INVITE — sipbox — the from-tag the remote's).
    pub fn names(&self, d: &Dialog) -> bool {
        d.call_id == self.call_id
            && d.local_tag == self.to_tag
            && d.remote_tag.as_deref() == Some(self.from_tag.as_str())
    }
}

/// What a call asks the engine to do with another call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinRequest {
    /// Attended transfer: bridge the transferer's peer in this call with the other party of
    /// the dialog `replaces` names (the transferer's consultation call).
    Refer {
        /// The leg that sent the REFER.
        transferer: LegId,
        /// The REFER's CSeq (`Event: refer;id=`).
        refer_cseq: u32,
        /// The consultation dialog.
        replaces: Replaces,
    },
    /// `Pickup()`/`PickupChan()`: move this call's unanswered caller into the ringing call
    /// `target` names.
    Pickup {
        /// Which ringing call.
        target: crate::dialplan::command::PickupTarget,
    },
    /// `ParkedCall()`: move this call's caller into the parked call `parked`.
    Retrieve {
        /// The parked call.
        parked: crate::handle::CallHandle,
    },
}

impl Call {
    /// A REFER with Replaces was accepted (202 sent): NOTIFY 100 and ask the engine to join.
    pub(super) fn attended_refer(
        &mut self,
        cx: &mut Cx<'_>,
        transferer: LegId,
        refer_cseq: u32,
        replaces: Replaces,
    ) {
        log::info!(
            "call {}: leg {transferer} transfers (attended) to the dialog {}",
            self.label(),
            replaces.call_id
        );
        self.notify_transferer(cx, transferer, refer_cseq, StatusCode::TRYING, false);
        self.join = Some(JoinRequest::Refer {
            transferer,
            refer_cseq,
            replaces,
        });
    }

    /// The leg an attended transfer from `transferer` would join: its bridged peer.
    pub fn transferee_of(&self, transferer: LegId) -> Option<LegId> {
        self.bridge().and_then(|b| b.other(transferer))
    }

    /// The leg of this call whose dialog `r` names.
    pub fn leg_named(&self, r: &Replaces) -> Option<LegId> {
        self.legs.iter().position(|l| r.names(&l.dialog))
    }

    /// Takes `leg` out of this call for another one: a terminated placeholder stays (leg ids
    /// do not move), the bridge it was in is broken, its 2xx retransmission and music stop.
    /// Its call-limit count, ports and transaction go with it.
    pub fn detach_leg(&mut self, cx: &mut Cx<'_>, leg: LegId) -> Option<Leg> {
        self.legs.get(leg)?;
        // A recording stays with its call: the leg's MixMonitor ends here.
        self.end_mixmonitors(cx, Some(leg), "the channel left the call");
        let l = self.legs.get_mut(leg)?;
        let mut dialog = l.dialog.clone();
        dialog.state = DialogState::Terminated;
        let placeholder = Leg {
            dialog,
            invite_tx: None,
            acked: false,
            peer: None,
            entry: l.entry.clone(),
            media: None,
            nated: l.nated,
            channel: l.channel.clone(),
            created: l.created,
            session: Default::default(),
        };
        let moved = std::mem::replace(l, placeholder);
        if self.pending_ack.as_ref().is_some_and(|p| p.leg == leg) {
            self.pending_ack = None;
            self.timers.stop(cx.sched, CallTimer::Retransmit2xx);
            self.timers.stop(cx.sched, CallTimer::WaitAck);
        }
        if self.bridge().and_then(|b| b.other(leg)).is_some() {
            self.state = CallState::Answered {
                bridge: None,
                continue_after: false,
            };
        }
        if self.moh_to(leg) {
            self.stop_moh(cx, None);
        }
        log::debug!("call {}: leg {leg} detached", self.label());
        Some(moved)
    }

    /// Adds a leg taken from another call (or a new one): its RTP ports and its INVITE client
    /// transaction now answer to this call. Returns its id here.
    pub fn attach_leg(&mut self, cx: &mut Cx<'_>, leg: Leg) -> LegId {
        let id = self.legs.len();
        if let Some(p) = leg.media.as_ref().and_then(|m| m.pair) {
            cx.media.ports.reassign(p, self.handle, id);
        }
        if let (Role::Uac, Some(h)) = (leg.dialog.role, leg.invite_tx) {
            let lr = LegRef {
                call: self.handle,
                leg: id,
            };
            cx.txs.set_client_purpose(h, Purpose::Invite(lr));
        }
        self.legs.push(leg);
        log::debug!("call {}: leg {id} attached", self.label());
        id
    }

    /// The caller's leg, when `r` names it and it still waits for its answer while a Dial
    /// rings (an attended transfer before the target answered).
    pub fn ringing_caller_named(&self, r: &Replaces) -> Option<LegId> {
        let l = self.legs.get(self.caller)?;
        let ringing = matches!(self.state, CallState::Dialing(_));
        (ringing && l.invite_tx.is_some() && r.names(&l.dialog)).then_some(self.caller)
    }

    /// The transferee `new` (moved here, answered long ago) takes the ringing caller's place:
    /// the transferer's INVITE gets `487`, and the target's answer will be bridged to the
    /// transferee's unchanged session, as after a blind transfer.
    pub fn caller_replaced_by(&mut self, cx: &mut Cx<'_>, new: LegId) {
        log::info!(
            "call {}: attended transfer while ringing: leg {new} replaces the caller",
            self.label()
        );
        self.stop_moh(cx, Some(super::media::moh::MohFor::Ringing));
        self.reply_caller(cx, Reply::new(StatusCode::REQUEST_TERMINATED), None);
        let old = self.caller;
        self.drop_leg(cx, old);
        self.caller = new;
        self.rerouted = true;
        if let Some(d) = self.dial_mut() {
            d.early = None;
        }
    }

    /// The engine moved the consultation call's other party here as `moved`: it is bridged
    /// to the transferee, the transferer hears NOTIFY 200 and is released (its BYE is
    /// awaited, as after a blind transfer, 64·T1 at most).
    pub fn refer_joined(
        &mut self,
        cx: &mut Cx<'_>,
        transferer: LegId,
        refer_cseq: u32,
        moved: LegId,
    ) {
        let Some(transferee) = self.transferee_of(transferer) else {
            return;
        };
        if let Some(old) = self.transfer.take() {
            if old.state == TransferState::AwaitingBye && old.transferer != transferer {
                self.timers.stop(cx.sched, CallTimer::TransfererBye);
                self.transfer = Some(old);
                self.transfer_event(cx, TransferEvent::ByeTimeout);
            }
        }
        log::info!(
            "call {}: attended transfer joins leg {transferee} with leg {moved}",
            self.label()
        );
        let codec = |c: &Call, l: LegId| c.leg_media(l).and_then(|m| m.codec.clone());
        if let (Some(a), Some(b)) = (codec(self, transferee), codec(self, moved)) {
            if !super::media::bridgeable(&a).contains(&b) {
                // Neither side is re-INVITEd: the relay passes what each sends.
                log::warn!(
                    "call {}: attended transfer bridges {a:?} with {b:?}; they may not hear each other",
                    self.label()
                );
            }
        }
        self.state = CallState::Answered {
            bridge: Some(Bridge {
                a: transferee,
                b: moved,
            }),
            continue_after: false,
        };
        if self.caller == transferer {
            self.caller = transferee;
            self.rerouted = true;
        }
        self.transfer = Some(Transfer {
            transferer,
            transferee,
            refer_cseq,
            referred_by: None,
            state: TransferState::Routing,
        });
        self.transfer_event(cx, TransferEvent::Outcome(StatusCode::OK));
        self.update_hold_music(cx);
        self.arm_watchdog(cx);
    }

    /// The attended transfer was done elsewhere (the transferee moved out): NOTIFY 200, and
    /// this call, left with the transferer only, ends (BYE).
    pub fn refer_moved_out(&mut self, cx: &mut Cx<'_>, transferer: LegId, refer_cseq: u32) {
        self.notify_transferer(cx, transferer, refer_cseq, StatusCode::OK, true);
        self.end(cx, super::state::EndReason::Hangup(StatusCode::OK));
    }

    /// The attended transfer could not be done: the transferer is told (NOTIFY), the call
    /// stays as it was.
    pub fn refer_join_failed(
        &mut self,
        cx: &mut Cx<'_>,
        transferer: LegId,
        refer_cseq: u32,
        status: StatusCode,
    ) {
        log::info!(
            "call {}: attended transfer failed: {}",
            self.label(),
            status.code()
        );
        self.notify_transferer(cx, transferer, refer_cseq, status, true);
    }

    /// An INVITE with Replaces became leg `new` of this call (attached, not yet answered): it
    /// takes the place of `old` — answered 200 with media toward `old`'s bridged peer, which
    /// is now bridged to it — and `old` gets BYE. `Err`: the INVITE was refused with that
    /// status and nothing changed.
    pub fn replace_leg(
        &mut self,
        cx: &mut Cx<'_>,
        new: LegId,
        old: LegId,
        invite: &Request,
    ) -> Result<(), StatusCode> {
        let Some(other) = self.bridge().and_then(|b| b.other(old)) else {
            return Err(StatusCode::DECLINE);
        };
        let body = self.media_answer_replacing(cx, new, other, invite);
        let Some(h) = self.legs.get_mut(new).and_then(|l| l.invite_tx.take()) else {
            return Err(StatusCode::SERVER_INTERNAL_ERROR);
        };
        let ua = cx.cfg.general.user_agent.as_str();
        let body = match body {
            Ok(b) => b,
            Err(status) => {
                reply::send(
                    cx.now,
                    cx.txs,
                    cx.sched,
                    cx.out,
                    h,
                    Reply::new(status),
                    None,
                    cx.advertise,
                    ua,
                );
                self.drop_leg(cx, new);
                return Err(status);
            }
        };
        let ok = Reply::new(StatusCode::OK);
        let Some(resp) = reply::build(cx.txs, h, ok, Some(body), cx.advertise, ua) else {
            self.drop_leg(cx, new);
            return Err(StatusCode::SERVER_INTERNAL_ERROR);
        };
        let bytes: Rc<[u8]> = resp.to_bytes().into();
        cx.txs.server_send(cx.now, cx.sched, cx.out, h, &resp);
        self.legs[new].dialog.state = DialogState::Confirmed;
        self.start_2xx_retransmit(cx, new, bytes);
        log::info!(
            "call {}: leg {new} replaces leg {old} (INVITE with Replaces)",
            self.label()
        );
        if self.legs[old].dialog.state == DialogState::Confirmed {
            self.send_bye(cx, old);
        }
        self.drop_leg(cx, old);
        if self.caller == old {
            self.caller = new;
            self.rerouted = true;
        }
        self.state = CallState::Answered {
            bridge: Some(Bridge { a: other, b: new }),
            continue_after: false,
        };
        self.update_hold_music(cx);
        self.arm_watchdog(cx);
        Ok(())
    }

    /// The first fork still ringing (or trying) whose entry `matches`, while the caller waits
    /// for an answer: a call that can be picked up.
    pub fn ringing_fork(&self, matches: impl Fn(&Leg) -> bool) -> Option<LegId> {
        let CallState::Dialing(d) = &self.state else {
            return None;
        };
        // The caller is still waiting for its answer.
        self.legs[self.caller].invite_tx?;
        d.forks.iter().copied().find(|&f| {
            self.legs
                .get(f)
                .is_some_and(|l| l.dialog.is_pending() && matches(l))
        })
    }

    /// Nothing to pick up: the dialplan goes on.
    pub fn pickup_failed(&mut self, cx: &mut Cx<'_>) {
        log::info!("call {}: nothing to pick up", self.label());
        self.run_dialplan(cx, crate::dialplan::Resume::Done);
    }

    /// Call pickup: the ringing call gets `picker` (attached, unanswered, its INVITE `invite`):
    /// the picker is answered at once, the forks are cancelled, and the caller — bridged to the
    /// picker — is answered once the picker ACKs. `Err`: the picker was refused with that
    /// status and the call rings on.
    pub fn picked_up(
        &mut self,
        cx: &mut Cx<'_>,
        picker: LegId,
        invite: &Request,
    ) -> Result<(), StatusCode> {
        let forks = match &self.state {
            CallState::Dialing(d) => d.forks.clone(),
            _ => return Err(StatusCode::CALL_DOES_NOT_EXIST),
        };
        let bodies = self.media_pickup(cx, picker, invite);
        let Some(h) = self.legs.get_mut(picker).and_then(|l| l.invite_tx.take()) else {
            return Err(StatusCode::SERVER_INTERNAL_ERROR);
        };
        let ua = cx.cfg.general.user_agent.as_str();
        let (to_picker, to_caller) = match bodies {
            Ok(b) => b,
            Err(status) => {
                let r = Reply::new(status);
                reply::send(
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
                self.drop_leg(cx, picker);
                return Err(status);
            }
        };
        let ok = Reply::new(StatusCode::OK);
        let Some(resp) = reply::build(cx.txs, h, ok, Some(to_picker), cx.advertise, ua) else {
            self.drop_leg(cx, picker);
            return Err(StatusCode::SERVER_INTERNAL_ERROR);
        };
        let bytes: Rc<[u8]> = resp.to_bytes().into();
        cx.txs.server_send(cx.now, cx.sched, cx.out, h, &resp);
        self.legs[picker].dialog.state = DialogState::Confirmed;
        self.start_2xx_retransmit(cx, picker, bytes);
        log::info!("call {}: picked up by leg {picker}", self.label());
        self.timers.stop(cx.sched, CallTimer::DialTimeout);
        self.stop_moh(cx, Some(super::media::moh::MohFor::Ringing));
        for f in forks {
            self.cancel_fork(cx, f);
        }
        self.state = CallState::Answered {
            bridge: Some(Bridge {
                a: self.caller,
                b: picker,
            }),
            continue_after: false,
        };
        self.set_dial_status(crate::dialplan::DialStatus::Answer);
        // A queued caller picked up from a ringing member is out of the queue too.
        self.queue_answered(cx, Some(picker));
        self.owed_answer = Some(Some(to_caller));
        self.arm_watchdog(cx);
        Ok(())
    }

    /// A leg is over while the call goes on: terminated, its call-limit count and ports freed.
    pub(super) fn drop_leg(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        l.dialog.state = DialogState::Terminated;
        if let Some(p) = l.peer.take() {
            cx.load.release(p);
        }
        self.media_leg_gone(cx, leg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_values_parse_with_their_tags() {
        let r = Replaces::parse("abc@h;to-tag=7;from-tag=31;early-only").unwrap();
        assert_eq!(
            r,
            Replaces {
                call_id: "abc@h".into(),
                to_tag: "7".into(),
                from_tag: "31".into(),
                early_only: true,
            }
        );
        let r = Replaces::parse(" x ; FROM-TAG = b ;to-tag=a").unwrap();
        assert_eq!((r.to_tag.as_str(), r.from_tag.as_str()), ("a", "b"));
        assert!(!r.early_only);
        assert!(Replaces::parse("x;to-tag=a").is_none(), "from-tag missing");
        assert!(
            Replaces::parse(";to-tag=a;from-tag=b").is_none(),
            "no call-id"
        );
        assert!(Replaces::parse("x;to-tag=;from-tag=b").is_none());
        let long = format!("{};to-tag=a;from-tag=b", "x".repeat(300));
        assert!(Replaces::parse(&long).is_none(), "bounded");
    }
}
