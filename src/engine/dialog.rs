//! Requests inside a call's dialogs (BYE, ACK, re-INVITE, UPDATE, INFO, OPTIONS), CANCEL, the
//! answers sipbox gives the caller, and tearing a call down.
//!
//! Reading list: RFC 3261 §12.2.2 (UAS in-dialog: 481, CSeq ordering → 500), §13.3.1.4 (2xx
//! retransmission until ACK), §9.2 (CANCEL: 200, then 487 to the INVITE), §15.1 (BYE),
//! §14 (re-INVITE), RFC 3311 (UPDATE), RFC 6086 (INFO).

use super::build;
use super::call_state::{PendingAck, Phase};
use super::transactions::{Answering, ClientEvent, ClientPurpose, Relay, ServerTx};
use super::{Engine, EngineTimer, Reply};
use crate::call::{CallRef, DialogState, LegId, LegRef, LegRole};
use crate::sip::{HeaderName, Method, Request, Response};
use crate::transaction::{Action, Handle, TimerKind, TimerSlots, TwoHundredRetransmitter};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// Why a call ends, for the log and for what each side is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndReason {
    /// A BYE came from this leg.
    ByeFrom(LegId),
    /// The caller sent CANCEL.
    Cancelled,
    /// The dialplan hung up; an unanswered caller gets this status.
    Hangup(u16),
    /// A 2xx was never acknowledged.
    NoAck,
}

impl Engine {
    /// Sends a provisional or final response on the caller's INVITE transaction.
    pub(super) fn reply_caller(
        &mut self,
        now: Instant,
        cref: CallRef,
        reply: Reply,
        body: Option<(String, Vec<u8>)>,
    ) {
        let Some(call) = self.calls.get(cref) else {
            return;
        };
        let Some(h) = call.invite_tx else { return };
        let final_ = reply.status >= 200;
        self.reply_on_with_body(now, h, reply, body);
        if final_ {
            if let Some(call) = self.calls.get_mut(cref) {
                call.invite_tx = None;
            }
        }
    }

    /// Answers the caller with 200 OK (and `body`), retransmitted until the ACK.
    pub(super) fn answer_caller(
        &mut self,
        now: Instant,
        cref: CallRef,
        body: Option<(String, Vec<u8>)>,
    ) {
        let Some(call) = self.calls.get(cref) else {
            return;
        };
        let Some(h) = call.invite_tx else { return };
        let Some(resp) = self.build_reply(h, Reply::status(200, "OK"), body) else {
            return;
        };
        let bytes: Rc<[u8]> = resp.to_bytes().into();
        self.server_send(now, h, &resp);
        if let Some(call) = self.calls.get_mut(cref) {
            call.invite_tx = None;
            call.legs[0].state = DialogState::Confirmed;
            if !call.answered() {
                call.phase = Phase::Answered { callee: None };
            }
        }
        self.start_2xx_retransmit(now, cref, 0, bytes);
    }

    fn start_2xx_retransmit(&mut self, now: Instant, cref: CallRef, leg: LegId, bytes: Rc<[u8]>) {
        let mut machine = TwoHundredRetransmitter::new(self.timers, bytes);
        let mut acts = std::mem::take(&mut self.actions);
        machine.start(now, &mut acts);
        let Some(call) = self.calls.get_mut(cref) else {
            return;
        };
        if let Some(mut old) = call.pending_ack.take() {
            old.timers.stop_all(&mut self.sched);
        }
        call.pending_ack = Some(PendingAck {
            leg,
            machine,
            timers: TimerSlots::default(),
        });
        self.apply_2xx_actions(now, cref, &mut acts);
        self.actions = acts;
    }

    fn apply_2xx_actions(&mut self, now: Instant, cref: CallRef, acts: &mut Vec<Action>) {
        let mut no_ack = false;
        for act in acts.drain(..) {
            let Some(call) = self.calls.get_mut(cref) else {
                break;
            };
            let Some(p) = call.pending_ack.as_mut() else {
                break;
            };
            match act {
                Action::Transmit(b) => {
                    let peer = call.legs[p.leg].peer;
                    self.out.sip(peer, b.to_vec());
                }
                Action::StartTimer(kind, at) => {
                    p.timers
                        .start(&mut self.sched, kind, at, EngineTimer::Ack2xx(cref, kind))
                }
                Action::StopTimer(kind) => p.timers.stop(&mut self.sched, kind),
                Action::AckTimeout => no_ack = true,
                Action::Terminated => {
                    if let Some(mut p) = call.pending_ack.take() {
                        p.timers.stop_all(&mut self.sched);
                    }
                }
                _ => {}
            }
        }
        if no_ack {
            log::warn!(
                "call {}: our 2xx was never acknowledged, hanging up",
                self.call_label(cref)
            );
            self.end_call(now, cref, EndReason::NoAck);
        }
    }

    /// A timer of the 2xx retransmission fired.
    pub(super) fn ack2xx_timer(
        &mut self,
        now: Instant,
        cref: CallRef,
        kind: TimerKind,
        id: crate::sched::TimerId,
    ) {
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(p) = self
            .calls
            .get_mut(cref)
            .and_then(|c| c.pending_ack.as_mut())
        {
            if p.timers.fired(kind, id) {
                p.machine.on_timer(now, kind, &mut acts);
            }
        }
        self.apply_2xx_actions(now, cref, &mut acts);
        self.actions = acts;
    }

    /// An ACK outside any transaction: the ACK for a 2xx (§13.2.2.4), on leg `lr`.
    pub(super) fn on_dialog_ack(&mut self, now: Instant, lr: LegRef) {
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(p) = self
            .calls
            .get_mut(lr.call)
            .and_then(|c| c.pending_ack.as_mut())
        {
            if p.leg == lr.leg {
                p.machine.on_ack(&mut acts);
            }
        }
        self.apply_2xx_actions(now, lr.call, &mut acts);
        self.actions = acts;
    }

    /// A request with a To tag: find its dialog, check it, and act (§12.2.2).
    pub(super) fn handle_in_dialog(
        &mut self,
        now: Instant,
        req: Rc<Request>,
        source: SocketAddr,
        h: Handle,
    ) {
        let Some(lr) = self.calls.find(req.call_id()) else {
            return self.reply_on(
                now,
                h,
                Reply::status(481, "Call/Transaction Does Not Exist"),
            );
        };
        let Some(call) = self.calls.get_mut(lr.call) else {
            return self.reply_on(
                now,
                h,
                Reply::status(481, "Call/Transaction Does Not Exist"),
            );
        };
        let leg = &mut call.legs[lr.leg];
        let tags_match = req.to().tag() == Some(leg.local_tag.as_str())
            && req.from().tag() == leg.remote_tag.as_deref();
        if !tags_match || leg.state == DialogState::Terminated {
            return self.reply_on(
                now,
                h,
                Reply::status(481, "Call/Transaction Does Not Exist"),
            );
        }
        let cseq = req.cseq().seq;
        if cseq < leg.remote_cseq
            || (cseq == leg.remote_cseq && leg.role == LegRole::Uas && *req.method() != Method::Ack)
        {
            return self.reply_on(now, h, Reply::status(500, "Server Internal Error"));
        }
        leg.remote_cseq = cseq;
        // Symmetric SIP: follow the phone if its address changed (NAT rebinding).
        leg.peer = source;
        match req.method() {
            Method::Bye => {
                self.reply_on(now, h, Reply::status(200, "OK"));
                log::info!("call {}: BYE from leg {}", self.call_label(lr.call), lr.leg);
                if !self.callee_hung_up_continue(now, lr) {
                    self.end_call(now, lr.call, EndReason::ByeFrom(lr.leg));
                }
            }
            Method::Options => {
                let mut r = Reply::status(200, "OK");
                r.headers
                    .push((HeaderName::Allow, super::validate::ALLOW.into()));
                self.reply_on(now, h, r);
            }
            Method::Invite | Method::Update | Method::Info => self.relay_in_dialog(now, lr, req, h),
            _ => {
                let mut r = Reply::status(405, "Method Not Allowed");
                r.headers
                    .push((HeaderName::Allow, super::validate::ALLOW.into()));
                self.reply_on(now, h, r);
            }
        }
    }

    /// Dial's `g` option: the answered callee hung up, the caller stays and the dialplan goes
    /// on with DIALSTATUS=ANSWER. Returns false when the call should simply end.
    fn callee_hung_up_continue(&mut self, now: Instant, lr: LegRef) -> bool {
        let Some(call) = self.calls.get_mut(lr.call) else {
            return false;
        };
        let bridged_callee = call.phase
            == Phase::Answered {
                callee: Some(lr.leg),
            }
            && lr.leg != 0;
        if !bridged_callee || !call.dial.as_ref().is_some_and(|d| d.continue_after) {
            return false;
        }
        call.legs[lr.leg].state = DialogState::Terminated;
        call.phase = Phase::Answered { callee: None };
        call.dial = None;
        self.run_dialplan(
            now,
            lr.call,
            Some(crate::dialplan::Resume::DialEnded {
                status: crate::dialplan::DialStatus::Answer,
                cause: Some(crate::dialplan::Cause::NORMAL_CLEARING),
            }),
        );
        true
    }

    /// Relays a re-INVITE, UPDATE or INFO to the bridged leg; its answer comes back on `h`.
    fn relay_in_dialog(&mut self, now: Instant, lr: LegRef, req: Rc<Request>, h: Handle) {
        let Some(call) = self.calls.get(lr.call) else {
            return;
        };
        let other = match (call.phase, lr.leg) {
            (Phase::Answered { callee: Some(c) }, 0) => Some(c),
            (Phase::Answered { callee: Some(c) }, l) if l == c => Some(0),
            _ => None,
        };
        let Some(other) = other else {
            // Bridged to nobody (sipbox answered itself) or not answered yet.
            let reply = match req.method() {
                Method::Info => Reply::status(200, "OK"),
                Method::Invite => Reply::status(488, "Not Acceptable Here"),
                _ => Reply::status(491, "Request Pending"),
            };
            return self.reply_on(now, h, reply);
        };
        let local = self.local;
        let ua = self.cfg.general.user_agent.clone();
        let branch = self.new_branch();
        let Some(call) = self.calls.get_mut(lr.call) else {
            return;
        };
        let target = &mut call.legs[other];
        let cseq = target.next_cseq();
        let mut out = build::in_dialog(target, req.method().clone(), cseq, local, &branch, &ua);
        let dest = target.peer;
        if let Some((ct, body)) =
            self.media_relay_body(now, lr.call, lr.leg, other, req.content_type(), req.body())
        {
            out.set_body(Some(&ct), body);
        }
        self.open_client_tx(
            now,
            out,
            dest,
            ClientPurpose::Relay(Relay {
                server: h,
                call: lr.call,
                from_leg: lr.leg,
                to_leg: other,
            }),
        );
    }

    /// The answer to a relayed request arrived: pass it back on the original transaction.
    pub(super) fn on_relay_event(
        &mut self,
        now: Instant,
        relay: Relay,
        ev: ClientEvent,
        resp: Option<&Response>,
    ) {
        let Relay {
            server,
            call: cref,
            from_leg,
            to_leg,
        } = relay;
        let (status, reason) = match (ev, resp) {
            (ClientEvent::Response(s), Some(r)) => (s, r.reason().to_string()),
            _ => (408, "Request Timeout".to_string()),
        };
        if status < 200 {
            return;
        }
        let is_invite = self
            .server_txs
            .get(server)
            .is_some_and(|t| matches!(t.machine, super::transactions::ServerMachine::Invite(_)));
        if is_invite && (200..300).contains(&status) {
            // ACK the callee side's 2xx ourselves (we are its UAC).
            let local = self.local;
            let ua = self.cfg.general.user_agent.clone();
            let branch = self.new_branch();
            if let Some(call) = self.calls.get(cref) {
                let leg = &call.legs[to_leg];
                let ack = build::in_dialog(leg, Method::Ack, leg.local_cseq, local, &branch, &ua);
                self.out.sip(leg.peer, ack.to_bytes());
            }
        }
        let body = match resp {
            Some(r) => {
                self.media_relay_body(now, cref, to_leg, from_leg, r.content_type(), r.body())
            }
            None => None,
        };
        let Some(built) = self.build_reply(
            server,
            Reply {
                status,
                reason,
                headers: Vec::new(),
            },
            body,
        ) else {
            return;
        };
        if is_invite && (200..300).contains(&status) {
            let bytes: Rc<[u8]> = built.to_bytes().into();
            self.server_send(now, server, &built);
            self.start_2xx_retransmit(now, cref, from_leg, bytes);
        } else {
            self.server_send(now, server, &built);
        }
    }

    /// CANCEL for the caller's INVITE (matched through `invite_h`): 200 to the CANCEL, 487 to
    /// the INVITE, CANCEL to every fork (§9.2).
    pub(super) fn handle_cancel(
        &mut self,
        now: Instant,
        cancel_h: Handle,
        invite_h: Option<Handle>,
        req: &Request,
    ) {
        let Some(invite_h) = invite_h else {
            return self.reply_on(
                now,
                cancel_h,
                Reply::status(481, "Call/Transaction Does Not Exist"),
            );
        };
        self.reply_on(now, cancel_h, Reply::status(200, "OK"));
        let cref = self.calls.find(req.call_id()).map(|lr| lr.call);
        match cref {
            Some(cref)
                if self
                    .calls
                    .get(cref)
                    .is_some_and(|c| c.invite_tx == Some(invite_h)) =>
            {
                log::info!("call {}: cancelled by the caller", self.call_label(cref));
                self.set_dial_status(cref, crate::dialplan::DialStatus::Cancel);
                self.end_call(now, cref, EndReason::Cancelled);
            }
            // No call (still being challenged, or already answered): answer the INVITE if
            // it has no final response yet.
            _ => self.reply_on(now, invite_h, Reply::status(487, "Request Terminated")),
        }
    }

    /// Ends a call: tells every leg what it needs (final response, CANCEL or BYE), runs the
    /// `h` extension, frees every timer and table entry.
    pub(super) fn end_call(&mut self, now: Instant, cref: CallRef, why: EndReason) {
        let Some(call) = self.calls.get_mut(cref) else {
            return;
        };
        let legs: Vec<(LegId, DialogState)> = call
            .legs
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.state))
            .collect();
        let caller_status = match why {
            EndReason::Cancelled => 487,
            EndReason::Hangup(s) => s,
            _ => call.hangup_status,
        };
        if call.invite_tx.is_some() {
            let reason = super::respond::reason_phrase(caller_status);
            self.reply_caller(now, cref, Reply::status(caller_status, reason), None);
        }
        for (id, state) in legs {
            if why == EndReason::ByeFrom(id) {
                continue;
            }
            match state {
                DialogState::Confirmed => self.send_bye(
                    now,
                    LegRef {
                        call: cref,
                        leg: id,
                    },
                ),
                DialogState::Trying | DialogState::Early if id != 0 => self.cancel_fork(
                    now,
                    LegRef {
                        call: cref,
                        leg: id,
                    },
                ),
                _ => {}
            }
        }
        let Some(mut call) = self.calls.remove(cref) else {
            return;
        };
        if let Some(t) = call.dial.take().and_then(|d| d.timer) {
            self.sched.cancel(t);
        }
        if let Some(t) = call.wait_timer.take() {
            self.sched.cancel(t);
        }
        if let Some(mut p) = call.pending_ack.take() {
            p.timers.stop_all(&mut self.sched);
        }
        for e in &call.counted {
            if let Some(n) = self.active_calls.get_mut(e) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.active_calls.remove(e);
                }
            }
        }
        if let Some(exec) = call.exec.as_mut() {
            self.run_hangup_handler(now, exec);
        }
        self.media_call_ended(&mut call);
        log::info!(
            "call {} to '{}' ended ({why:?}); {} calls up",
            call.legs[0].call_id,
            call.exten,
            self.calls.len()
        );
    }

    /// BYE on a confirmed leg.
    fn send_bye(&mut self, now: Instant, lr: LegRef) {
        let local = self.local;
        let ua = self.cfg.general.user_agent.clone();
        let branch = self.new_branch();
        let Some(call) = self.calls.get_mut(lr.call) else {
            return;
        };
        let leg = &mut call.legs[lr.leg];
        leg.state = DialogState::Terminated;
        let cseq = leg.next_cseq();
        let bye = build::in_dialog(leg, Method::Bye, cseq, local, &branch, &ua);
        let dest = leg.peer;
        self.open_client_tx(now, bye, dest, ClientPurpose::Fire);
    }

    /// Builds a response on server transaction `h` from a reply: our To tag, Contact on
    /// dialog-making answers, Server, and a body.
    pub(super) fn build_reply(
        &self,
        h: Handle,
        reply: Reply,
        body: Option<(String, Vec<u8>)>,
    ) -> Option<Response> {
        let ServerTx {
            to_tag, answering, ..
        } = self.server_txs.get(h)?;
        let Answering { request, via } = answering.as_ref()?;
        let tag = (reply.status > 100).then_some(to_tag.as_str());
        let mut resp = Response::for_request(request, reply.status, &reply.reason, tag);
        resp.set_top_via(via.clone());
        for (name, value) in reply.headers {
            resp.push_header(name, value);
        }
        if *request.method() == Method::Invite && (101..300).contains(&reply.status)
            || *request.method() == Method::Update && reply.status < 300
        {
            let user = request.uri().user.as_deref().unwrap_or("sipbox");
            resp.push_header(
                HeaderName::Contact,
                format!("<sip:{}@{}>", build::escape_user(user), self.local),
            );
        }
        resp.push_header(HeaderName::Server, self.cfg.general.user_agent.clone());
        if let Some((ct, b)) = body {
            resp.set_body(Some(&ct), b);
        }
        Some(resp)
    }

    /// Sends a reply (no body) on server transaction `h`.
    pub(super) fn reply_on(&mut self, now: Instant, h: Handle, reply: Reply) {
        self.reply_on_with_body(now, h, reply, None);
    }

    /// Sends a reply with an optional body on server transaction `h`.
    pub(super) fn reply_on_with_body(
        &mut self,
        now: Instant,
        h: Handle,
        reply: Reply,
        body: Option<(String, Vec<u8>)>,
    ) {
        if let Some(resp) = self.build_reply(h, reply, body) {
            self.server_send(now, h, &resp);
        }
    }

    /// A short name for a call in the log: its caller's Call-ID.
    pub(super) fn call_label(&self, cref: CallRef) -> String {
        self.calls
            .get(cref)
            .map(|c| c.legs[0].call_id.clone())
            .unwrap_or_default()
    }
}
