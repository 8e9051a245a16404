//! Requests inside a call's dialogs (BYE, re-INVITE, UPDATE, INFO, OPTIONS; REFER goes to
//! [`super::transfer`]), the caller's CANCEL, and tearing a call down.
//!
//! Reading list: RFC 3261 §12.2.2 (UAS in-dialog: 481, CSeq ordering → 500), §9.2 (CANCEL:
//! 200, then 487 to the INVITE), §15.1 (BYE), §14 (re-INVITE), RFC 3311 (UPDATE), RFC 6086
//! (INFO).

use super::build::{self, Origin};
use super::dialog::DialogState;
use super::reply;
use super::state::{Call, CallState, EndReason};
use super::transfer::TransferEvent;
use super::{Cx, Purpose, Relay, Reply, ALLOW};
use crate::dialplan::{Cause, DialStatus, Resume};
use crate::flow::Flow;
use crate::handle::LegId;
use crate::sip::{HeaderName, Method, Request, Response, StatusCode};
use crate::transaction::{ClientEvent, Handle as TxHandle};

use std::rc::Rc;

impl Call {
    /// Answers an in-dialog request on its server transaction `h`.
    pub(super) fn reply_in_dialog(
        &self,
        cx: &mut Cx<'_>,
        h: TxHandle,
        r: Reply,
        body: reply::Body,
    ) {
        self.reply_on(cx, h, r, body)
    }

    fn reply_on(&self, cx: &mut Cx<'_>, h: TxHandle, r: Reply, body: reply::Body) {
        let ua = cx.cfg.general.user_agent.as_str();
        reply::send(
            cx.now,
            cx.txs,
            cx.sched,
            cx.out,
            h,
            r,
            body,
            cx.advertise,
            ua,
        );
    }

    /// A request with a To tag for `leg` of this call, on its new server transaction `h`:
    /// check it against the dialog and act (§12.2.2).
    pub fn on_in_dialog(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        req: Rc<Request>,
        source: Flow,
        h: TxHandle,
    ) {
        let Some(l) = self.legs.get_mut(leg) else {
            return self.reply_on(cx, h, Reply::new(StatusCode::CALL_DOES_NOT_EXIST), None);
        };
        let tags_match = l.dialog.tags_match(&req);
        if let Err(status) = l.dialog.accept_request(&req, source) {
            if *req.method() == Method::Bye && tags_match && self.is_transferer(leg) {
                // Our BYE to a released transferer crossed its own (chan_sip answers it).
                log::info!(
                    "call {}: BYE from released transferer leg {leg}",
                    self.label()
                );
                return self.reply_on(cx, h, Reply::new(StatusCode::OK), None);
            }
            return self.reply_on(cx, h, Reply::new(status), None);
        }
        match req.method() {
            Method::Bye if self.transferer_up(leg) => {
                // RFC 5589 §6: the transferer hangs up; the transferred call goes on.
                self.reply_on(cx, h, Reply::new(StatusCode::OK), None);
                log::info!("call {}: BYE from transferer leg {leg}", self.label());
                self.transfer_event(cx, TransferEvent::TransfererBye);
            }
            Method::Bye if self.is_page_callee(leg) => {
                // A paged callee leaves alone; the page goes on.
                self.reply_on(cx, h, Reply::new(StatusCode::OK), None);
                self.page_callee_bye(leg);
            }
            Method::Refer => self.on_refer(cx, leg, &req, h),
            Method::Bye => {
                self.reply_on(cx, h, Reply::new(StatusCode::OK), None);
                log::debug!("call {}: BYE from leg {leg}", self.label());
                if !self.callee_hung_up_continue(cx, leg) {
                    self.end(cx, EndReason::ByeFrom(leg));
                }
            }
            Method::Options => {
                let r = Reply::new(StatusCode::OK).header(HeaderName::Allow, ALLOW);
                self.reply_on(cx, h, r, None);
            }
            Method::Invite | Method::Update if self.session_in_dialog(cx, leg, &req, h) => {}
            Method::Invite | Method::Update | Method::Info | Method::Message => {
                self.relay_in_dialog(cx, leg, req, h)
            }
            _ => {
                let r = Reply::new(StatusCode::METHOD_NOT_ALLOWED).header(HeaderName::Allow, ALLOW);
                self.reply_on(cx, h, r, None);
            }
        }
    }

    /// Dial's `g` option: the answered callee hung up, the caller stays and the dialplan goes
    /// on with DIALSTATUS=ANSWER. Returns false when the call should simply end.
    fn callee_hung_up_continue(&mut self, cx: &mut Cx<'_>, leg: LegId) -> bool {
        let CallState::Answered {
            bridge: Some(b),
            continue_after: true,
        } = self.state
        else {
            return false;
        };
        if leg == self.caller || b.other(self.caller) != Some(leg) {
            return false;
        }
        self.legs[leg].dialog.state = DialogState::Terminated;
        self.state = CallState::Answered {
            bridge: None,
            continue_after: false,
        };
        self.queue_over(cx);
        self.run_dialplan(
            cx,
            Resume::DialEnded {
                status: DialStatus::Answer,
                cause: Some(Cause::NORMAL_CLEARING),
            },
        );
        true
    }

    /// Relays a re-INVITE, UPDATE or INFO to the bridged leg; its answer comes back on `h`.
    fn relay_in_dialog(&mut self, cx: &mut Cx<'_>, leg: LegId, req: Rc<Request>, h: TxHandle) {
        if *req.method() == Method::Info {
            use crate::media::dtmf::info;
            if let Some(digit) = info::digit(req.content_type(), req.body()) {
                // A digit: sipbox takes it (200) and hands it on in the other leg's own
                // mode, or to its own endpoint when nobody is bridged (handle_request_info).
                self.reply_on(cx, h, Reply::new(StatusCode::OK), None);
                log::info!(
                    "call {}: DTMF '{digit}' by SIP INFO from leg {leg}",
                    self.label()
                );
                let duration_ms = info::duration_ms(req.content_type(), req.body()).unwrap_or(0);
                let heard = crate::media::dtmf::detect::Heard { digit, duration_ms };
                return self.digit_from(cx, leg, heard);
            }
        }
        let Some(other) = self.bridge().and_then(|b| b.other(leg)) else {
            // Bridged to nobody (sipbox answered itself) or not answered yet.
            let status = match req.method() {
                Method::Info => StatusCode::OK,
                // RFC 3428: a text nobody can read is still taken.
                Method::Message => StatusCode::ACCEPTED,
                Method::Invite => StatusCode::NOT_ACCEPTABLE_HERE,
                _ => StatusCode::REQUEST_PENDING,
            };
            return self.reply_on(cx, h, Reply::new(status), None);
        };
        if *req.method() == Method::Invite && !self.reinvite_pending {
            if let Some(answer) = self.media_hold_answer(cx, leg, &req) {
                return self.answer_reinvite_here(cx, leg, h, answer);
            }
        }
        if *req.method() == Method::Invite {
            if self.reinvite_pending {
                // Both sides re-INVITEd at once: the later one waits and retries (§14.2).
                log::info!("call {}: re-INVITE glare, 491", self.label());
                return self.reply_on(cx, h, Reply::new(StatusCode::REQUEST_PENDING), None);
            }
            self.reinvite_pending = true;
        }
        let branch = cx.new_branch();
        let body = self.media_relay_body(cx, leg, other, req.content_type(), req.body());
        let session_headers = if matches!(req.method(), Method::Invite | Method::Update) {
            self.session_relay_headers(other)
        } else {
            Vec::new()
        };
        let target = &mut self.legs[other].dialog;
        let cseq = target.next_cseq();
        let origin = Origin::on(
            target.flow,
            cx.advertise,
            &branch,
            &cx.cfg.general.user_agent,
        );
        let mut out = build::in_dialog(target, req.method().clone(), cseq, &origin);
        for (name, value) in session_headers {
            out.push_header(name, value);
        }
        if let Some((ct, body)) = body {
            out.set_body(Some(&ct), body);
        }
        let purpose = Purpose::Relay(Relay {
            server: h,
            call: self.handle,
            from_leg: leg,
            to_leg: other,
            invite: *req.method() == Method::Invite,
        });
        let dest = target.flow;
        cx.txs
            .open_client(cx.now, cx.sched, cx.out, out, dest, purpose);
    }

    /// A hold or resume re-INVITE sipbox answers itself: 200 with `answer` (retransmitted
    /// until its ACK), or the refusal.
    fn answer_reinvite_here(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        h: TxHandle,
        answer: Result<Vec<u8>, StatusCode>,
    ) {
        let bytes = match answer {
            Ok(b) => b,
            Err(status) => return self.reply_on(cx, h, Reply::new(status), None),
        };
        let body = Some((super::media::SDP_TYPE.into(), bytes));
        let mut ok = Reply::new(StatusCode::OK);
        for (name, value) in self.session_answer_headers(cx, leg) {
            ok = ok.header(name, value);
        }
        self.answer_reinvite_with(cx, leg, h, ok, body);
    }

    /// Our 2xx `reply` (with `body`) to `leg`'s re-INVITE on `h`, retransmitted until its ACK.
    pub(super) fn answer_reinvite_with(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        h: TxHandle,
        reply: Reply,
        body: reply::Body,
    ) {
        let ua = cx.cfg.general.user_agent.as_str();
        let Some(built) = reply::build(cx.txs, h, reply, body, cx.advertise, ua) else {
            return;
        };
        cx.txs.server_send(cx.now, cx.sched, cx.out, h, &built);
        self.start_2xx_retransmit(cx, leg, built.to_bytes().into());
    }

    /// The answer to a relayed request arrived: pass it back on the original transaction.
    pub fn on_relay_event(
        &mut self,
        cx: &mut Cx<'_>,
        relay: Relay,
        ev: ClientEvent,
        resp: Option<&Response>,
    ) {
        let Relay {
            server,
            from_leg,
            to_leg,
            invite,
            ..
        } = relay;
        let mut reply = match (ev, resp) {
            (ClientEvent::Response(s), Some(r)) => match StatusCode::new(s) {
                Some(code) => Reply::with_reason(code, r.reason().to_string()),
                None => return,
            },
            _ => Reply::new(StatusCode::REQUEST_TIMEOUT),
        };
        if reply.status.is_provisional() {
            return;
        }
        let is_invite = cx.txs.server(server).is_some_and(|t| t.is_invite());
        if invite {
            self.reinvite_pending = false;
        }
        let success = reply.status.is_success();
        let session_method = invite
            || cx.txs.server(server).is_some_and(|t| {
                t.answering
                    .as_ref()
                    .is_some_and(|a| *a.request.method() == Method::Update)
            });
        if success && session_method {
            for (name, value) in self.session_relayed_2xx(cx, from_leg, to_leg, resp) {
                reply = reply.header(name, value);
            }
        }
        if is_invite && success {
            // ACK the callee side's 2xx ourselves (we are its UAC).
            let branch = cx.new_branch();
            if let Some(l) = self.legs.get(to_leg) {
                let d = &l.dialog;
                let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
                let ack = build::in_dialog(d, Method::Ack, d.local_cseq, &origin);
                cx.out.sip(d.flow, ack.to_bytes());
            }
        }
        let body = match resp {
            Some(r) => self.media_relay_body(cx, to_leg, from_leg, r.content_type(), r.body()),
            None => None,
        };
        let ua = cx.cfg.general.user_agent.as_str();
        let Some(built) = reply::build(cx.txs, server, reply, body, cx.advertise, ua) else {
            return;
        };
        cx.txs.server_send(cx.now, cx.sched, cx.out, server, &built);
        if is_invite && success {
            self.start_2xx_retransmit(cx, from_leg, built.to_bytes().into());
        }
    }

    /// The caller cancelled its INVITE, whose transaction is `invite_h` (the 200 to the
    /// CANCEL is sent): 487 to the INVITE and CANCEL to every fork (§9.2). False when `invite_h`
    /// is not this call's pending INVITE (already answered).
    pub fn on_cancel(&mut self, cx: &mut Cx<'_>, invite_h: TxHandle) -> bool {
        if self.legs[self.caller].invite_tx != Some(invite_h) {
            return false;
        }
        log::info!("call {}: cancelled by the caller", self.label());
        self.set_dial_status(DialStatus::Cancel);
        self.end(cx, EndReason::Cancelled);
        true
    }

    /// Ends the call: tells every leg what it needs (final response, CANCEL or BYE), runs the
    /// `h` extension, frees every timer, call-limit count and socket.
    pub fn end(&mut self, cx: &mut Cx<'_>, why: EndReason) {
        if self.is_over() {
            return;
        }
        if self.consult_intercepts_end(cx, why) {
            return;
        }
        self.transfer_call_ended(cx, why);
        let caller_status = match why {
            EndReason::Cancelled => StatusCode::REQUEST_TERMINATED,
            EndReason::Hangup(s) | EndReason::NoMedia(s) => s,
            _ => self
                .dial_failure
                .unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE),
        };
        if self.legs[self.caller].invite_tx.is_some() {
            let mut reply = Reply::new(caller_status);
            if why == EndReason::NoMedia(StatusCode::SERVICE_UNAVAILABLE) {
                // Out of RTP ports is a passing overload: tell the phone when to retry.
                reply = reply.header(crate::sip::HeaderName::RetryAfter, "5");
            }
            self.reply_caller(cx, reply, None);
        }
        for id in 0..self.legs.len() {
            if why == EndReason::ByeFrom(id) {
                continue;
            }
            match self.legs[id].dialog.state {
                DialogState::Confirmed => self.send_bye(cx, id),
                DialogState::Trying | DialogState::Early if id != self.caller => {
                    self.cancel_fork(cx, id)
                }
                _ => {}
            }
        }
        self.state = CallState::Ended(why);
        self.unpark_on_end(cx);
        self.queue_over(cx);
        self.timers.stop_all(cx.sched);
        self.pending_ack = None;
        for l in &self.legs {
            if let Some(p) = l.peer {
                cx.load.release(p);
            }
        }
        let message = self.take_message_recording();
        if let Some(exec) = self.exec.as_mut() {
            if let Some(samples) = message {
                // VoiceMail() keeps what the caller said before hanging up.
                let status = "HANGUP";
                exec.step(cx.dialplan, cx.wall, Resume::Message { status, samples });
            }
        }
        // Told before `h` runs: SIGHUP or `HANGUP`, as res_agi.c does on a hang-up.
        self.agi_close(cx, true);
        if let Some(exec) = self.exec.as_mut() {
            exec.hangup(cx.dialplan, cx.wall, None);
            super::script::hand_db_ops_to_driver(cx);
        }
        if let Some(dialer) = self.dialer.take() {
            // An answered Local channel ran in `exec`: the caller's channel hangs up too
            // (its `h`, its CDR).
            let dialer = self.exec.insert(dialer);
            dialer.hangup(cx.dialplan, cx.wall, None);
            super::script::hand_db_ops_to_driver(cx);
        }
        self.media_ended(cx);
    }

    /// BYE on a confirmed leg.
    pub(super) fn send_bye(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        let branch = cx.new_branch();
        let d = &mut self.legs[leg].dialog;
        d.state = DialogState::Terminated;
        let cseq = d.next_cseq();
        let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let bye = build::in_dialog(d, Method::Bye, cseq, &origin);
        let dest = d.flow;
        cx.txs
            .open_client(cx.now, cx.sched, cx.out, bye, dest, Purpose::Fire);
    }
}
