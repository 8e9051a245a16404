//! What a call tells its caller on the INVITE transaction (provisionals, the final answer) and
//! the 2xx it retransmits until the ACK arrives.
//!
//! Reading list: RFC 3261 §13.3.1.4 (the UAS core retransmits its 2xx until the ACK, gives up
//! after 64·T1), §13.2.2.4 (a UAC ACKs every 2xx), RFC 6026.

use super::reply::{self, Body};
use super::state::{Call, EndReason, PendingAck};
use super::{Cx, Reply};
use crate::handle::LegId;
use crate::sip::StatusCode;
use crate::transaction::{Action, TwoHundredRetransmitter};
use crate::wake::{CallTimer, Wake};
use std::rc::Rc;

impl Call {
    /// Sends a provisional or final response on the caller's INVITE transaction.
    pub(super) fn reply_caller(&mut self, cx: &mut Cx<'_>, reply: Reply, body: Body) {
        let caller = self.caller;
        let Some(h) = self.legs[caller].invite_tx else {
            return;
        };
        let final_ = reply.status.is_final();
        let ua = cx.cfg.general.user_agent.as_str();
        reply::send(
            cx.now,
            cx.txs,
            cx.sched,
            cx.out,
            h,
            reply,
            body,
            cx.advertise,
            ua,
        );
        if final_ {
            self.legs[caller].invite_tx = None;
        }
    }

    /// Answers the caller with 200 OK (and `body`), retransmitted until the ACK.
    pub(super) fn answer_caller(&mut self, cx: &mut Cx<'_>, body: Body) {
        let caller = self.caller;
        let Some(h) = self.legs[caller].invite_tx.take() else {
            return;
        };
        let mut ok = Reply::new(StatusCode::OK);
        for (name, value) in self.session_answer_headers(cx, caller) {
            ok = ok.header(name, value);
        }
        let ua = cx.cfg.general.user_agent.as_str();
        let Some(resp) = reply::build(cx.txs, h, ok, body, cx.advertise, ua) else {
            return;
        };
        // Printed once: the transaction sends these bytes and the retransmitter keeps them.
        let bytes = cx.txs.shared_bytes(|b| resp.write_to(b));
        let status = resp.status();
        cx.txs
            .server_send_bytes(cx.now, cx.sched, cx.out, h, status, bytes.clone());
        self.legs[caller].dialog.state = super::DialogState::Confirmed;
        self.cdr.caller_answered(cx.wall);
        if let Some(e) = self.exec.as_mut() {
            e.cdr.answered_at.get_or_insert(cx.wall);
        }
        if !self.answered() {
            self.state = super::CallState::Answered {
                bridge: None,
                continue_after: false,
            };
        }
        self.start_2xx_retransmit(cx, caller, bytes);
    }

    /// Starts retransmitting a 2xx towards `leg` (replacing one in progress).
    pub(super) fn start_2xx_retransmit(&mut self, cx: &mut Cx<'_>, leg: LegId, bytes: Rc<[u8]>) {
        let mut machine = TwoHundredRetransmitter::new(cx.txs.config(), bytes);
        let mut acts = cx.txs.take_actions();
        machine.start(cx.now, &mut acts);
        self.stop_2xx_timers(cx);
        self.pending_ack = Some(PendingAck { leg, machine });
        self.apply_2xx_actions(cx, acts);
    }

    fn stop_2xx_timers(&mut self, cx: &mut Cx<'_>) {
        self.timers.stop(cx.sched, CallTimer::Retransmit2xx);
        self.timers.stop(cx.sched, CallTimer::WaitAck);
    }

    fn apply_2xx_actions(&mut self, cx: &mut Cx<'_>, mut acts: Vec<Action>) {
        let mut no_ack = false;
        for act in acts.drain(..) {
            let Some(p) = self.pending_ack.as_ref() else {
                break;
            };
            match act {
                Action::Transmit(b) => cx.out.sip_shared(self.legs[p.leg].dialog.flow, b),
                Action::StartTimer(kind, at) => {
                    if let Some(t) = CallTimer::from_2xx(kind) {
                        self.timers
                            .start(cx.sched, t, at, Wake::Call(self.handle, t));
                    }
                }
                Action::StopTimer(kind) => {
                    if let Some(t) = CallTimer::from_2xx(kind) {
                        self.timers.stop(cx.sched, t);
                    }
                }
                Action::AckTimeout => no_ack = true,
                Action::Terminated => {
                    self.pending_ack = None;
                    self.stop_2xx_timers(cx);
                }
                _ => {}
            }
        }
        cx.txs.give_actions(acts);
        if no_ack {
            log::warn!(
                "call {}: our 2xx was never acknowledged, hanging up",
                self.label()
            );
            self.end(cx, EndReason::NoAck);
        }
    }

    /// A timer of the 2xx retransmission fired.
    pub(super) fn on_2xx_timer(&mut self, cx: &mut Cx<'_>, kind: CallTimer) {
        let mut acts = cx.txs.take_actions();
        if let (Some(p), Some(k)) = (self.pending_ack.as_mut(), kind.as_2xx()) {
            p.machine.on_timer(cx.now, k, &mut acts);
        }
        self.apply_2xx_actions(cx, acts);
    }

    /// An ACK outside any transaction: the ACK for a 2xx (§13.2.2.4), on `leg`.
    pub fn on_dialog_ack(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        let mut acts = cx.txs.take_actions();
        let mut acked = false;
        if let Some(p) = self.pending_ack.as_mut() {
            if p.leg == leg {
                p.machine.on_ack(&mut acts);
                acked = true;
            }
        }
        self.apply_2xx_actions(cx, acts);
        if acked && leg != self.caller {
            if let Some(body) = self.owed_answer.take() {
                // A pickup: the picker's 200 is acknowledged, now the caller's.
                self.answer_caller(cx, body);
            }
        }
    }
}
