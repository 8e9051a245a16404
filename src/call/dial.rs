//! Dial(SIP/...): forking the call to callees and translating their answers to the caller.
//!
//! Reading list: RFC 3261 §13.2 (UAC INVITE: 1xx, 2xx from several forks, ACK for each 2xx),
//! §9.1 (CANCEL only after a provisional), §16.7 (how a forking element picks the best
//! failure); Asterisk's app_dial for DIALSTATUS and the `r`/`g` options.

use compact_str::CompactString;

use super::build::{self, Origin, OutOfDialog};
use super::dialog::{Dialog, DialogState, Role};
use super::identity::Identity;
use super::outcome;
use super::state::{Call, CallState, DialState, Leg};
use super::targets::{self, ForkTarget, SipTarget};
use super::transfer::TransferEvent;
use super::{Bridge, Cx, LegRef, Purpose, Reply};
use crate::config::sip_identity::SendRpid;
use crate::dialplan::{DialOptions, DialStatus, DialTarget, Resume};
use crate::flow::Flow;
use crate::handle::LegId;
use crate::sip::{HeaderName, Method, NameAddr, Response, StatusCode, Uri};
use crate::transaction::{ClientEvent, Handle as TxHandle};
use crate::wake::{CallTimer, Wake};
use std::time::Duration;

/// What ringing a Dial's targets started.
#[derive(Default)]
pub(super) struct Rung {
    /// SIP forks sent (their legs are in the Dial's `forks`).
    pub legs: usize,
    /// Local channels created.
    pub locals: Vec<usize>,
    /// A target was at its call-limit (or a Local at its Max-Forwards bound).
    pub busy: bool,
    /// Why a fork could not be set up (488 no common codec, 503 no RTP port).
    pub setup_failure: Option<StatusCode>,
}

impl Rung {
    /// Nothing rings.
    pub fn is_empty(&self) -> bool {
        self.legs == 0 && self.locals.is_empty()
    }

    /// DIALSTATUS when nothing rings.
    pub fn status_when_empty(&self) -> DialStatus {
        if self.busy {
            DialStatus::Busy
        } else {
            DialStatus::ChanUnavail
        }
    }
}

impl Call {
    /// Starts a Dial; returns the status at once when nothing could be called.
    pub(super) fn start_dial(
        &mut self,
        cx: &mut Cx<'_>,
        targets: &[DialTarget],
        timeout: Option<Duration>,
        options: DialOptions,
    ) -> Option<DialStatus> {
        if self.hops_left() == 0 {
            // A loop (two PBXes routing to each other) or a too-long chain: refuse rather
            // than fork again (RFC 3261 §16.3 item 3; Asterisk's Dial refuses the same way).
            log::warn!(
                "call {}: Dial refused, Max-Forwards exhausted",
                self.label()
            );
            self.dial_failure = Some(outcome::failure_to_caller(StatusCode::TOO_MANY_HOPS));
            return Some(DialStatus::ChanUnavail);
        }
        let prev = std::mem::replace(
            &mut self.state,
            CallState::Dialing(DialState::new(options.continue_on_callee_hangup)),
        );
        let rung = self.ring_targets(cx, targets, None);
        if rung.is_empty() {
            self.state = prev;
            if let Some(f) = rung.setup_failure {
                self.dial_failure = Some(outcome::failure_to_caller(f));
            }
            return Some(rung.status_when_empty());
        }
        if let Some(dial) = self.dial_mut() {
            dial.pending = rung.legs + rung.locals.len();
        }
        if let Some(d) = timeout {
            let wake = Wake::Call(self.handle, CallTimer::DialTimeout);
            self.timers
                .start(cx.sched, CallTimer::DialTimeout, cx.now + d, wake);
        }
        self.xfer_rights = super::features::XferRights {
            caller: options.caller_transfer,
            callee: options.callee_transfer,
        };
        if options.ringback {
            self.reply_caller(cx, Reply::new(StatusCode::RINGING), None);
        }
        self.run_new_locals(cx, &rung.locals);
        // Every Local target may have failed (or one answered) while it started.
        let dial = self.dial_mut()?;
        dial.starting = false;
        if dial.pending > 0 {
            return None;
        }
        Some(self.end_dial_state(cx))
    }

    /// Rings `targets` for the call's Dial (`owner` None) or for the Dial of Local channel
    /// `owner`: SIP forks are sent, Local channels created (not yet run: see
    /// [`Call::run_new_locals`]). The call must be in [`CallState::Dialing`].
    pub(super) fn ring_targets(
        &mut self,
        cx: &mut Cx<'_>,
        targets: &[DialTarget],
        owner: Option<usize>,
    ) -> Rung {
        let mut rung = Rung::default();
        let mut forks = Vec::new();
        for t in targets {
            if t.tech.eq_ignore_ascii_case("Local") {
                match self.new_local(cx, t, owner) {
                    Ok(idx) => rung.locals.push(idx),
                    Err(StatusCode::BUSY_HERE) => rung.busy = true,
                    Err(_) => {}
                }
                continue;
            }
            if !t.tech.eq_ignore_ascii_case("SIP") {
                // Warned about once at load when written literally (one from a variable is
                // only known now: an info line, not a warning per call).
                log::info!(
                    "Dial: technology '{}' is not supported: {}/{} is CHANUNAVAIL",
                    t.tech,
                    t.tech,
                    t.resource
                );
                continue;
            }
            match targets::sip_target(cx, t) {
                // The first target's list is taken as it is (a fork target is large: no
                // second vector and copy for the common single target).
                SipTarget::Forks(f) if forks.is_empty() => forks = f,
                SipTarget::Forks(f) => forks.extend(f),
                SipTarget::Busy => rung.busy = true,
                SipTarget::Unavailable => {}
            }
        }
        for mut f in forks {
            let rest = std::mem::take(&mut f.rest);
            match self.send_fork(cx, f) {
                Ok(Some(leg)) => {
                    rung.legs += 1;
                    if let Some(dial) = self.dial_mut() {
                        dial.forks.push(leg);
                        if !rest.is_empty() {
                            dial.failover.push((leg, rest));
                        }
                        if let Some(o) = owner {
                            dial.owners.push((leg, o));
                        }
                    }
                }
                Ok(None) => {}
                Err(status) => {
                    rung.setup_failure.get_or_insert(status);
                }
            }
        }
        rung
    }

    /// Max-Forwards for an outbound leg: one less than the caller's INVITE carried.
    fn hops_left(&self) -> u32 {
        self.invite
            .max_forwards()
            .unwrap_or(build::MAX_FORWARDS)
            .saturating_sub(1)
    }

    /// Creates an outbound leg and sends its INVITE. `Err`: the fork could not be set up
    /// (488 no common codec, 503 no RTP port).
    fn send_fork(&mut self, cx: &mut Cx<'_>, f: ForkTarget) -> Result<Option<LegId>, StatusCode> {
        if !self.has_room_for_leg() {
            log::warn!(
                "call {}: {} legs already; no new fork (503)",
                self.label(),
                self.legs.len()
            );
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        let call_id = cx.new_call_id();
        let local_tag = cx.new_tag();
        let branch = cx.new_branch();
        let local = cx.advertise.sip(f.dest.remote);
        let Some(peer) = cx.cfg.peer(f.peer) else {
            return Ok(None);
        };
        let id = self.leg_identity(cx, peer);
        // fromuser / fromdomain name us in From (chan_sip's initreqprep): an ITSP account
        // usually must appear there; the caller ID then travels in the display name. A
        // restricted caller is Anonymous there (the identity header still names it).
        let hidden = super::identity::restricted(id.pres);
        let from_user: &str = match (&peer.fromuser, hidden) {
            (Some(u), _) => u,
            (None, true) => super::identity::ANONYMOUS,
            (None, false) => &id.number,
        };
        let mut from = build::sip_uri(Some(from_user), local);
        if hidden {
            from.host = super::identity::ANONYMOUS_DOMAIN.into();
            from.port = None;
        } else if let Some(d) = &peer.fromdomain {
            from.host = d.as_str().into();
            from.port = None;
        }
        let mut local_uri = NameAddr::new(from);
        local_uri.display = if hidden {
            Some(super::identity::ANONYMOUS.into())
        } else {
            // Quotes dropped (chan_sip's display names carry none); a name without any is
            // taken as it is (an inline string: no copy through a String).
            id.name
                .as_deref()
                .map(|n| match n.contains('"') {
                    true => n.replace('"', "").into(),
                    false => compact_str::CompactString::from(n),
                })
                .filter(|n| !n.is_empty())
        };
        // sendrpid: the identity header, its host the fromdomain or our address (add_rpid).
        let domain = || {
            peer.fromdomain
                .clone()
                .unwrap_or_else(|| build::host_port(local).0)
        };
        let identity_headers: Vec<(HeaderName, String)> = match peer.sendrpid {
            SendRpid::No => Vec::new(),
            SendRpid::Rpid => vec![(
                HeaderName::RemotePartyId,
                super::identity::rpid(&id, &domain()),
            )],
            SendRpid::Pai => {
                let (v, privacy) = super::identity::pai(&id, &domain());
                let mut h = vec![(HeaderName::PAssertedIdentity, v)];
                if let Some(p) = privacy {
                    h.push((HeaderName::Privacy, p.to_string()));
                }
                h
            }
        };
        let to_user = f.uri.user.as_deref().unwrap_or(&peer.name);
        // `<sip:user@host>`: the target's host, no port or parameters.
        let remote_uri = NameAddr::new(Uri {
            scheme: "sip".into(),
            user: Some(build::escape_user(to_user).into()),
            host: f.uri.host.clone(),
            ..Uri::default()
        });
        // app_dial's `Called SIP/1002` (or `SIP/trunk/0123` for a number at a peer).
        match f.uri.user.as_deref() {
            Some(u) if u != peer.name => crate::verbose!(3, "Called SIP/{}/{u}", peer.name),
            _ => crate::verbose!(3, "Called SIP/{}", peer.name),
        }
        let dialog = Dialog {
            role: Role::Uac,
            call_id,
            local_tag,
            remote_tag: None,
            local_uri,
            remote_uri,
            remote_target: f.uri,
            route_set: Vec::new(),
            local_cseq: 1,
            remote_cseq: 0,
            flow: f.dest,
            state: DialogState::Trying,
            invite_cseq: 1,
            preloaded_route: f.route.iter().cloned().collect(),
        };
        let leg_id = self.legs.len();
        let channel = cx.new_channel(&peer.name);
        self.legs.push(Leg {
            dialog,
            invite_tx: None,
            acked: false,
            peer: Some(f.peer),
            entry: cx.cfg.peer_rc(f.peer),
            media: None,
            nated: f.nated,
            channel,
            created: cx.now,
            session: Default::default(),
        });
        cx.load.add(f.peer);
        let channel = self.legs[leg_id].channel.clone();
        let mark = self.exec.as_ref().and_then(|e| e.cdr.last.as_ref());
        self.cdr.callee_called(cx.wall, leg_id, channel, mark);
        let offer = if self.rerouted {
            self.media_offer_for_transfer(cx, leg_id)
        } else {
            self.media_offer_for_fork(cx, leg_id)
        };
        let body = match offer {
            Ok(b) => b,
            Err(status) => {
                self.legs[leg_id].dialog.state = DialogState::Terminated;
                self.cdr
                    .callee_outcome(cx.wall, leg_id, DialStatus::ChanUnavail);
                return Err(status);
            }
        };
        let d = &self.legs[leg_id].dialog;
        let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let mut invite = build::out_of_dialog(
            OutOfDialog {
                method: Method::Invite,
                uri: d.remote_target.clone(),
                from: &d.local_uri,
                from_tag: &d.local_tag,
                to: &d.remote_uri,
                call_id: &d.call_id,
                cseq: d.invite_cseq,
                contact_user: Some(d.local_uri.uri.user.as_deref().unwrap_or("sipbox")),
                max_forwards: self.hops_left(),
            },
            &origin,
        );
        invite.push_header(HeaderName::Allow, super::ALLOW);
        for (name, value) in self.session_invite_headers(leg_id) {
            invite.push_header(name, value);
        }
        for (name, value) in identity_headers {
            invite.push_header(name, value);
        }
        for (name, value) in self.added_headers() {
            invite.push_header(name, value);
        }
        if let Some(route) = &f.route {
            invite.push_header_with(HeaderName::Route, |s| route.write_to(s));
        }
        invite.push_header(
            HeaderName::SipboxLoop,
            super::loop_marker(&self.invite, cx.loop_token),
        );
        if let Some(rb) = self.transfer_referred_by() {
            invite.push_header(HeaderName::ReferredBy, rb);
        }
        if let Some((ct, b)) = body {
            invite.set_body(Some(&ct), b);
        }
        let purpose = Purpose::Invite(LegRef {
            call: self.handle,
            leg: leg_id,
        });
        let h = cx
            .txs
            .open_client(cx.now, cx.sched, cx.out, invite, f.dest, purpose);
        self.legs[leg_id].invite_tx = h;
        let d = &self.legs[leg_id].dialog;
        log::debug!("fork {} to {} via {}", d.call_id, d.remote_target, f.dest);
        Ok(h.map(|_| leg_id))
    }

    /// A request of leg `leg` went out again with credentials at `cseq` (a 401/407 answered);
    /// for its INVITE, on the new transaction `invite_tx`.
    pub fn request_reauthenticated(&mut self, leg: LegId, cseq: u32, invite_tx: Option<TxHandle>) {
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        l.dialog.local_cseq = l.dialog.local_cseq.max(cseq);
        if let Some(h) = invite_tx {
            l.invite_tx = Some(h);
            l.dialog.invite_cseq = cseq;
        }
    }

    /// A response (or timeout) arrived for the INVITE of outbound leg `leg` on transaction `h`.
    pub fn on_fork_event(
        &mut self,
        cx: &mut Cx<'_>,
        h: TxHandle,
        leg: LegId,
        ev: ClientEvent,
        resp: Option<&Response>,
    ) {
        let status = match ev {
            ClientEvent::Response(s) => StatusCode::new(s).unwrap_or(StatusCode::REQUEST_TIMEOUT),
            ClientEvent::Timeout => StatusCode::REQUEST_TIMEOUT,
        };
        let live = self
            .legs
            .get(leg)
            .is_some_and(|l| l.dialog.state != DialogState::Terminated);
        if status.is_success() {
            let Some(resp) = resp else { return };
            if !live || !matches!(self.state, CallState::Dialing(_)) {
                // A late 2xx (another fork won, the caller gave up, or a retransmission after
                // we hung up): acknowledge it and end that dialog at once (§13.2.2.4).
                let already = self.legs.get(leg).is_some_and(|l| l.acked);
                return ack_and_bye_orphan(cx, h, resp, already);
            }
            return self.fork_answered(cx, leg, resp);
        }
        if !live {
            return dead_fork_event(cx, h, status, resp);
        }
        if status == StatusCode::TRYING {
            return;
        }
        if status.is_provisional() {
            if let Some(resp) = resp {
                self.fork_early(cx, h, leg, resp);
            }
            return;
        }
        if status == StatusCode::SESSION_INTERVAL_TOO_SMALL {
            if let Some(resp) = resp {
                if self.session_fork_422(cx, h, leg, resp) {
                    return;
                }
            }
        }
        self.fork_failed(cx, leg, status);
    }

    fn fork_early(&mut self, cx: &mut Cx<'_>, h: TxHandle, leg: LegId, resp: &Response) {
        cx.txs.provisional_seen(h);
        if cx
            .txs
            .send_owed_cancel(cx.now, cx.sched, cx.out, h, Purpose::Fire)
        {
            return;
        }
        self.legs[leg].dialog.early(resp);
        if self.moh_ringing() || self.in_queue() {
            // Dial's `m` (or Queue()): the caller hears music, not the callee's ringing.
            return;
        }
        if self.rerouted {
            // A transferee hears nothing of the target's ringing (chan_sip's up channel
            // ignores it; music on hold is not there yet).
            return;
        }
        if self.page_active() {
            // A paged phone's ringing is nobody's business: the caller is answered.
            return;
        }
        let status = if resp.status() == 183 || !resp.body().is_empty() {
            StatusCode::SESSION_PROGRESS
        } else {
            StatusCode::RINGING
        };
        let (callee, caller) = (&self.legs[leg].channel, &self.legs[self.caller].channel);
        if status == StatusCode::RINGING {
            crate::verbose!(3, "{callee} is ringing");
        } else {
            crate::verbose!(3, "{callee} is making progress passing it to {caller}");
        }
        let body = self.media_answer_from_fork(cx, leg, resp);
        self.reply_caller(cx, Reply::new(status), body);
    }

    fn fork_answered(&mut self, cx: &mut Cx<'_>, leg: LegId, resp: &Response) {
        if self.page_active() {
            return self.page_fork_answered(cx, leg, resp);
        }
        let branch = cx.new_branch();
        self.cdr.callee_outcome(cx.wall, leg, DialStatus::Answer);
        if let (Some(e), Some(name)) = (self.exec.as_mut(), self.cdr.answered_callee(leg)) {
            e.cdr.dstchannel = name.into();
        }
        let d = &mut self.legs[leg].dialog;
        d.confirm(resp);
        let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let ack = build::in_dialog(d, Method::Ack, d.invite_cseq, &origin).to_bytes();
        cx.out.sip(d.flow, ack);
        self.legs[leg].acked = true;
        self.session_fork_answered(cx, leg, resp);
        // The caller is answered with the callee's session description.
        self.timers.stop(cx.sched, CallTimer::DialTimeout);
        self.stop_moh(cx, Some(super::media::moh::MohFor::Ringing));
        let (others, continue_after) = match &self.state {
            CallState::Dialing(d) => (
                d.forks.iter().copied().filter(|&f| f != leg).collect(),
                d.continue_after,
            ),
            _ => (Vec::new(), false),
        };
        let was = std::mem::replace(
            &mut self.state,
            CallState::Answered {
                bridge: Some(Bridge {
                    a: self.caller,
                    b: leg,
                }),
                continue_after,
            },
        );
        for other in others {
            self.cancel_fork(cx, other);
        }
        if let CallState::Dialing(dial) = was {
            // The Local channels step aside: caller and callee are bridged directly
            // (Asterisk's Local channel optimization).
            self.close_locals(cx, dial);
        }
        if self.rerouted {
            self.media_transfer_answered(cx, leg, resp);
        } else {
            let body = self.media_answer_from_fork(cx, leg, resp);
            self.answer_caller(cx, body);
        }
        self.set_dial_status(DialStatus::Answer);
        self.queue_answered(cx, Some(leg));
        log::debug!("call {} answered by leg {leg}", self.label());
        crate::verbose!(
            3,
            "{} answered {}",
            self.legs[leg].channel,
            self.legs[self.caller].channel
        );
        self.transfer_event(cx, TransferEvent::Outcome(StatusCode::OK));
    }

    fn fork_failed(&mut self, cx: &mut Cx<'_>, leg: LegId, status: StatusCode) {
        self.legs[leg].dialog.state = DialogState::Terminated;
        if self.fail_over(cx, leg, status) {
            return;
        }
        self.cdr
            .callee_outcome(cx.wall, leg, outcome::dial_status_for(status));
        let callee = &self.legs[leg].channel;
        match status.code() {
            486 | 600 => crate::verbose!(3, "{callee} is busy"),
            503 => crate::verbose!(3, "{callee} is circuit-busy"),
            _ => {}
        }
        let Some(dial) = self.dial_mut() else {
            return;
        };
        if !dial.forks.contains(&leg) {
            return;
        }
        if let Some(&(_, owner)) = dial.owners.iter().find(|(l, _)| *l == leg) {
            // A fork of a Local channel's Dial: that channel's dialplan hears of it.
            return self.local_child_failed(cx, Some(owner), status);
        }
        dial.pending = dial.pending.saturating_sub(1);
        dial.failure = Some(outcome::better_failure(dial.failure, status));
        let done = dial.pending == 0 && !dial.starting;
        // A 6xx ends the whole search (§16.7 step 5 for forking elements).
        let global = status.is_global_failure();
        if global {
            let forks = dial.forks.clone();
            for f in forks {
                self.cancel_fork(cx, f);
            }
        }
        if done || (global && !self.dial_mut().is_some_and(|d| d.starting)) {
            self.finish_dial(cx);
        }
    }

    /// RFC 3263 §4.3: a fork that timed out (Timer B) or got 503 is sent again to its host's
    /// next address, as a new leg in its place. False when there is none left.
    fn fail_over(&mut self, cx: &mut Cx<'_>, leg: LegId, status: StatusCode) -> bool {
        if status != StatusCode::REQUEST_TIMEOUT && status != StatusCode::SERVICE_UNAVAILABLE {
            return false;
        }
        let Some(dial) = self.dial_mut() else {
            return false;
        };
        let Some(i) = dial.failover.iter().position(|(l, _)| *l == leg) else {
            return false;
        };
        let (_, mut rest) = dial.failover.swap_remove(i);
        let Some(peer) = self.legs[leg].peer else {
            return false;
        };
        let uri = self.legs[leg].dialog.remote_target.clone();
        while !rest.is_empty() {
            let next = rest.remove(0);
            log::info!(
                "call {}: {} from {}; trying the next address {next}",
                self.label(),
                status.code(),
                self.legs[leg].dialog.flow
            );
            let f = ForkTarget {
                peer,
                uri: uri.clone(),
                dest: Flow::udp(next),
                rest: Vec::new(),
                nated: false,
                route: self.legs[leg].dialog.preloaded_route.first().cloned(),
            };
            if let Ok(Some(new_leg)) = self.send_fork(cx, f) {
                // The same callee at its next address: still one channel, one record.
                self.cdr.moved(leg, new_leg);
                let Some(dial) = self.dial_mut() else {
                    return true;
                };
                for f in dial.forks.iter_mut().filter(|f| **f == leg) {
                    *f = new_leg;
                }
                for (l, _) in dial.owners.iter_mut().filter(|(l, _)| *l == leg) {
                    *l = new_leg;
                }
                if !rest.is_empty() {
                    dial.failover.push((new_leg, rest));
                }
                return true;
            }
        }
        false
    }

    /// The Dial ended without an answer: set DIALSTATUS and resume the dialplan.
    pub(super) fn finish_dial(&mut self, cx: &mut Cx<'_>) {
        if !matches!(self.state, CallState::Dialing(_)) || self.page_active() {
            // A page goes on, whoever answered, until its caller hangs up.
            return;
        }
        let status = self.end_dial_state(cx);
        if self.queue_dial_over(cx, status) {
            return;
        }
        let to_caller = self
            .dial_failure
            .unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE);
        self.set_dial_status(status);
        self.transfer_event(cx, TransferEvent::Outcome(to_caller));
        self.run_dialplan(
            cx,
            Resume::DialEnded {
                status,
                cause: None,
            },
        );
    }

    /// Leaves [`CallState::Dialing`] without an answer: its timers stopped, its Local
    /// channels hung up, what the caller is told recorded; the Dial's DIALSTATUS.
    fn end_dial_state(&mut self, cx: &mut Cx<'_>) -> DialStatus {
        let CallState::Dialing(dial) = std::mem::replace(&mut self.state, CallState::Routing)
        else {
            return DialStatus::ChanUnavail;
        };
        self.timers.stop(cx.sched, CallTimer::DialTimeout);
        let failure = dial.failure.unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE);
        self.close_locals(cx, dial);
        self.dial_failure = Some(outcome::failure_to_caller(failure));
        outcome::dial_status_for(failure)
    }

    /// The Dial timeout fired: cancel every fork still ringing.
    pub(super) fn dial_timed_out(&mut self, cx: &mut Cx<'_>) {
        let Some(dial) = self.dial_mut() else {
            return;
        };
        dial.failure = Some(StatusCode::REQUEST_TIMEOUT);
        let forks = dial.forks.clone();
        for f in forks {
            self.cancel_fork(cx, f);
        }
        self.finish_dial(cx);
    }

    /// Ends an outbound leg that has not answered: CANCEL now if it sent a provisional, else
    /// as soon as it does (§9.1).
    pub(super) fn cancel_fork(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        if !l.dialog.is_pending() {
            return;
        }
        l.dialog.state = DialogState::Terminated;
        self.cdr.callee_outcome(cx.wall, leg, DialStatus::Cancel);
        let Some(l) = self.legs.get(leg) else {
            return;
        };
        if let Some(h) = l.invite_tx {
            cx.txs
                .want_cancel(cx.now, cx.sched, cx.out, h, Purpose::Fire);
        }
    }

    /// The identity a leg to `peer` presents: the call's caller ID ([`Self::caller_id`]) and
    /// presentation (`CALLERID(pres)`); the called entry's `callerid=` replaces the parts it
    /// names unless the dialplan changed the caller ID (Set(CALLERID(...)) wins).
    fn leg_identity(&self, cx: &Cx<'_>, peer: &crate::config::sip_peer::SipPeer) -> Identity {
        let (name, number) = self.caller_id();
        let pres = self
            .exec
            .as_ref()
            .and_then(|e| crate::config::sip_identity::presentation(e.callerid_pres()))
            .unwrap_or("allowed_not_screened");
        let mut id = Identity { name, number, pres };
        if let Some(cid) = &peer.callerid {
            let caller_peer = self.legs.get(self.caller).and_then(|l| l.peer);
            let initial = super::start::caller_identity(cx, &self.invite, caller_peer);
            let changed = initial.number != id.number
                || initial.name.unwrap_or_default() != id.name.clone().unwrap_or_default();
            if !changed {
                if let Some(n) = &cid.name {
                    id.name = Some(n.as_str().into());
                }
                if let Some(n) = &cid.number {
                    id.number = n.as_str().into();
                }
            }
        }
        id
    }

    /// The headers `SIPAddHeader()` left for the outgoing INVITEs (`SIPADDHEADER01`..`50`,
    /// chan_sip's `__SIPADDHEADER` variables inherited by the callee channel): `Alert-Info`
    /// or `Call-Info` to make a paged phone answer by itself, for example. The headers that
    /// make the request what it is (Via, From, To, Call-ID, CSeq, Contact, Content-*) are not
    /// taken from the dialplan.
    fn added_headers(&self) -> Vec<(HeaderName, String)> {
        match &self.exec {
            Some(exec) => added_headers(&exec.vars),
            None => Vec::new(),
        }
    }

    /// The caller ID an outbound leg shows: the caller's entry `callerid`, else the From of
    /// the caller's INVITE (the dialplan may have changed it with Set(CALLERID(...))).
    fn caller_id(&self) -> (Option<CompactString>, CompactString) {
        if let Some(exec) = &self.exec {
            let (name, num) = exec.callerid();
            if !num.is_empty() {
                let name = (!name.is_empty()).then(|| name.into());
                return (name, num.into());
            }
        }
        let from = self.invite.from();
        (
            from.display.as_deref().map(Into::into),
            from.uri.user.as_deref().unwrap_or("anonymous").into(),
        )
    }
}

/// [`Call::added_headers`] from the channel's variables.
fn added_headers<S>(
    vars: &std::collections::HashMap<String, String, S>,
) -> Vec<(HeaderName, String)> {
    // The variables are looked over once for `SIPADDHEADERnn` (01..=50), then taken in
    // number order: no name printed and hashed fifty times per fork.
    let mut found: Vec<(u8, &String)> = vars
        .iter()
        .filter_map(|(k, v)| Some((added_header_number(k)?, v)))
        .collect();
    found.sort_unstable_by_key(|&(n, _)| n);
    found
        .into_iter()
        .filter_map(|(_, h)| h.split_once(':'))
        .map(|(n, v)| (HeaderName::parse(n.trim()), v.trim().to_string()))
        .filter(|(n, _)| {
            !matches!(
                n,
                HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq
                    | HeaderName::Contact
                    | HeaderName::ContentLength
                    | HeaderName::ContentType
                    | HeaderName::MaxForwards
            )
        })
        .collect()
}

/// `nn` of a variable `SIPADDHEADERnn` (two digits, 01 to 50: the names `SIPAddHeader` uses).
fn added_header_number(name: &str) -> Option<u8> {
    let d = name.strip_prefix("SIPADDHEADER")?.as_bytes();
    let [a, b] = *d else {
        return None;
    };
    if !a.is_ascii_digit() || !b.is_ascii_digit() {
        return None;
    }
    let n = (a - b'0') * 10 + (b - b'0');
    (1..=50).contains(&n).then_some(n)
}

/// A response for the INVITE of a fork whose leg (or whole call) is gone: a provisional lets
/// the owed CANCEL go out (§9.1); a 2xx is acknowledged and hung up at once (§13.2.2.4).
pub fn dead_fork_event(cx: &mut Cx<'_>, h: TxHandle, status: StatusCode, resp: Option<&Response>) {
    if status.is_success() {
        if let Some(resp) = resp {
            ack_and_bye_orphan(cx, h, resp, false);
        }
    } else if status != StatusCode::TRYING && status.is_provisional() {
        cx.txs.provisional_seen(h);
        cx.txs
            .send_owed_cancel(cx.now, cx.sched, cx.out, h, Purpose::Fire);
    }
}

/// ACK and BYE for a 2xx nobody wants (`already`: we acknowledged and hung up this leg
/// before, so a retransmitted 2xx needs only the ACK).
fn ack_and_bye_orphan(cx: &mut Cx<'_>, h: TxHandle, resp: &Response, already: bool) {
    let Some(tx) = cx.txs.client(h) else {
        return;
    };
    let Some(invite) = tx.invite_for_2xx() else {
        return;
    };
    let dest = tx.dest;
    let d = Dialog::uac_from_2xx(&invite, resp, dest);
    let b1 = cx.new_branch();
    let ack = build::in_dialog(
        &d,
        Method::Ack,
        d.invite_cseq,
        &Origin::on(dest, cx.advertise, &b1, &cx.cfg.general.user_agent),
    );
    cx.out.sip(dest, ack.to_bytes());
    if !already && cx.orphans.first_bye(&d.call_id) {
        let b2 = cx.new_branch();
        let bye = build::in_dialog(
            &d,
            Method::Bye,
            d.invite_cseq + 1,
            &Origin::on(dest, cx.advertise, &b2, &cx.cfg.general.user_agent),
        );
        cx.txs
            .open_client(cx.now, cx.sched, cx.out, bye, dest, Purpose::Fire);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_headers_come_in_number_order_and_skip_the_essential_ones() {
        let mut vars = std::collections::HashMap::new();
        for (k, v) in [
            ("SIPADDHEADER10", "X-Ten: 10"),
            (
                "SIPADDHEADER02",
                "Alert-Info: <http://x>;info=alert-autoanswer",
            ),
            ("SIPADDHEADER01", "X-One:  1 "),
            ("SIPADDHEADER03", "Via: SIP/2.0/UDP evil"),
            ("SIPADDHEADER04", "no colon"),
            ("SIPADDHEADER51", "X-Over: 51"),
            ("SIPADDHEADER00", "X-Zero: 0"),
            ("SIPADDHEADER5", "X-Short: 5"),
            ("SIPADDHEADER050", "X-Long: 50"),
            ("OTHER", "X-Other: 1"),
        ] {
            vars.insert(k.to_string(), v.to_string());
        }
        let got = added_headers(&vars);
        assert_eq!(
            got,
            vec![
                (HeaderName::parse("X-One"), "1".to_string()),
                (
                    HeaderName::parse("Alert-Info"),
                    "<http://x>;info=alert-autoanswer".to_string()
                ),
                (HeaderName::parse("X-Ten"), "10".to_string()),
            ]
        );
        assert_eq!(added_header_number("SIPADDHEADER50"), Some(50));
        assert_eq!(added_header_number("SIPADDHEADER0a"), None);
        assert!(added_headers(&std::collections::HashMap::new()).is_empty());
    }
}
