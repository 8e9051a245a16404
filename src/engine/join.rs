//! Joining calls, the router's side: the one place a leg moves from one call to another,
//! since only the engine reaches both calls (see [`crate::call::join`] for the call's side).
//!
//! - Attended transfer: call A's transferer REFERs with `Replaces` naming its dialog in
//!   consultation call B. The other party of B moves into A (its dialog, RTP ports, Call-ID
//!   index entry and INVITE transaction go with it; B keeps a terminated placeholder) and is
//!   bridged to A's transferee; B ends, which sends BYE to the transferer's leg there; A
//!   NOTIFYs the transferer 200 and awaits its BYE. No match: NOTIFY 481, nothing changes.
//!   While B still rings, the transferee moves into B instead, as its caller (487 to the
//!   transferer's INVITE there), and A ends.
//! - INVITE with Replaces (RFC 3891 §3): the new INVITE's leg joins the call of the dialog it
//!   names and takes that leg's place: 400 for more than one Replaces or a malformed one, 481
//!   without a match or for an early dialog sipbox did not start, 486 for `early-only` on a
//!   confirmed dialog, 603 for a terminated one or when the caller's `allowtransfer=no`.
//!   A ringing fork sipbox started is picked up (see `pickup.rs`).
//!
//! Reading list: RFC 3891, RFC 5589 §7; Asterisk's `chan_sip.c` `local_attended_transfer`
//! and `handle_invite_replaces`.

use super::Engine;
use crate::call::dialog::{Dialog, DialogState, Role};
use crate::call::join::{JoinRequest, Replaces};
use crate::call::{EndReason, Leg, Reply};
use crate::config::settings::PeerId;
use crate::flow::Flow;
use crate::handle::CallHandle;
use crate::sip::{HeaderName, Request, StatusCode};
use crate::transaction::Handle;
use std::rc::Rc;
use std::time::Instant;

impl Engine {
    /// Does what call `a` asked of another call.
    pub(super) fn on_join(&mut self, now: Instant, a: CallHandle, join: JoinRequest) {
        match join {
            JoinRequest::Refer {
                transferer,
                refer_cseq,
                replaces,
            } => match self.join_refer(now, a, transferer, refer_cseq, &replaces) {
                Ok(()) => {}
                Err(status) => {
                    self.with_call(now, a, |call, cx| {
                        call.refer_join_failed(cx, transferer, refer_cseq, status)
                    });
                }
            },
            JoinRequest::Pickup { target } => self.dialplan_pickup(now, a, target),
            JoinRequest::Retrieve { parked } => self.dialplan_retrieve(now, a, parked),
        }
    }

    /// Attended transfer: moves the consultation call's other party into call `a`.
    fn join_refer(
        &mut self,
        now: Instant,
        a: CallHandle,
        transferer: usize,
        refer_cseq: u32,
        replaces: &Replaces,
    ) -> Result<(), StatusCode> {
        let lr = self
            .calls
            .find(&replaces.call_id)
            .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
        let b = lr.call;
        if b == a {
            // Replacing a dialog of the same call would join the transferee with itself.
            return Err(StatusCode::CALL_DOES_NOT_EXIST);
        }
        let call_a = self.calls.get(a).ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
        call_a
            .transferee_of(transferer)
            .ok_or(StatusCode::DECLINE)?;
        let call_b = self.calls.get(b).ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
        if call_b.ringing_caller_named(replaces) == Some(lr.leg) {
            return self.join_refer_ringing(now, a, b, transferer, refer_cseq);
        }
        let named = call_b
            .legs
            .get(lr.leg)
            .is_some_and(|l| replaces.names(&l.dialog) && l.dialog.state == DialogState::Confirmed);
        if !named {
            return Err(StatusCode::CALL_DOES_NOT_EXIST);
        }
        let target = call_b
            .bridge()
            .and_then(|br| br.other(lr.leg))
            .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
        if call_b.reinvite_pending || call_a.reinvite_pending {
            return Err(StatusCode::REQUEST_PENDING);
        }
        if !call_a.has_room_for_leg() {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        let wall = self.wall(now);
        let leg = {
            let call = self
                .calls
                .get_mut(b)
                .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
            let mut cx = cx!(self, now, wall);
            call.detach_leg(&mut cx, target)
        }
        .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
        let moved = {
            let call = self
                .calls
                .get_mut(a)
                .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
            let mut cx = cx!(self, now, wall);
            call.attach_leg(&mut cx, leg)
        };
        // The moved leg's Call-ID now names call a.
        self.calls.sync_legs(a);
        self.with_call(now, a, |call, cx| {
            call.refer_joined(cx, transferer, refer_cseq, moved)
        });
        // What is left of the consultation call is the transferer's leg: BYE, and it ends.
        self.with_call(now, b, |call, cx| {
            call.end(cx, EndReason::Hangup(StatusCode::OK))
        });
        Ok(())
    }

    /// Attended transfer while the target still rings ("semi-attended"): the transferee
    /// moves into the consultation call as its caller, taking the transferer's place; the
    /// target's answer is bridged to it; call A, now only the transferer's, ends.
    fn join_refer_ringing(
        &mut self,
        now: Instant,
        a: CallHandle,
        b: CallHandle,
        transferer: usize,
        refer_cseq: u32,
    ) -> Result<(), StatusCode> {
        let call_a = self.calls.get(a).ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
        let transferee = call_a
            .transferee_of(transferer)
            .ok_or(StatusCode::DECLINE)?;
        if !self.calls.get(b).is_some_and(|c| c.has_room_for_leg()) {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        let wall = self.wall(now);
        let leg = {
            let call = self
                .calls
                .get_mut(a)
                .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
            let mut cx = cx!(self, now, wall);
            call.detach_leg(&mut cx, transferee)
        }
        .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
        let moved = {
            let call = self
                .calls
                .get_mut(b)
                .ok_or(StatusCode::CALL_DOES_NOT_EXIST)?;
            let mut cx = cx!(self, now, wall);
            call.attach_leg(&mut cx, leg)
        };
        self.calls.sync_legs(b);
        self.with_call(now, b, |call, cx| call.caller_replaced_by(cx, moved));
        self.with_call(now, a, |call, cx| {
            call.refer_moved_out(cx, transferer, refer_cseq)
        });
        Ok(())
    }

    /// A new INVITE carrying `Replaces` (admitted, 100 sent, on transaction `h`).
    pub(super) fn invite_replaces(
        &mut self,
        now: Instant,
        req: Rc<Request>,
        source: Flow,
        h: Handle,
        peer: Option<PeerId>,
    ) {
        match self.try_replace(now, &req, source, h, peer) {
            Ok(()) => {}
            Err(Some(status)) => {
                log::info!(
                    "call {}: INVITE with Replaces refused: {}",
                    req.call_id(),
                    status.code()
                );
                self.reply_on(now, h, Reply::new(status));
            }
            // Already answered by the call.
            Err(None) => {}
        }
    }

    fn try_replace(
        &mut self,
        now: Instant,
        req: &Rc<Request>,
        source: Flow,
        h: Handle,
        peer: Option<PeerId>,
    ) -> Result<(), Option<StatusCode>> {
        let values: Vec<&str> = req.headers().get_all(&HeaderName::Replaces).collect();
        let [value] = values.as_slice() else {
            return Err(Some(StatusCode::BAD_REQUEST));
        };
        let r = Replaces::parse(value).ok_or(Some(StatusCode::BAD_REQUEST))?;
        let allowed = match peer.and_then(|p| self.cfg.peer(p)) {
            Some(e) => e.allow_transfer,
            None => self.cfg.general.allow_transfer,
        };
        if !allowed {
            return Err(Some(StatusCode::DECLINE));
        }
        let not_found = Some(StatusCode::CALL_DOES_NOT_EXIST);
        let lr = self.calls.find(&r.call_id).ok_or(not_found)?;
        let call = self.calls.get(lr.call).ok_or(not_found)?;
        let old = call.leg_named(&r).ok_or(not_found)?;
        let d = &call.legs[old].dialog;
        match (d.state, d.role) {
            (DialogState::Terminated, _) => return Err(Some(StatusCode::DECLINE)),
            (DialogState::Confirmed, _) if r.early_only => return Err(Some(StatusCode::BUSY_HERE)),
            (DialogState::Confirmed, _) => {}
            // An early dialog sipbox did not start (RFC 3891 §3: 481).
            (_, Role::Uas) => return Err(not_found),
            // A fork sipbox is ringing (a phone's directed pickup, having learned the
            // dialog from a dialog-info NOTIFY): picked up as by PickupChan.
            (_, Role::Uac) => {
                if call.ringing_fork(|l| r.names(&l.dialog)).is_none() {
                    return Err(not_found);
                }
                let c = lr.call;
                let leg = self.new_leg(now, req, source, h, peer);
                self.move_picker(now, c, leg, req);
                return Ok(());
            }
        }
        if call.bridge().and_then(|b| b.other(old)).is_none() {
            // sipbox itself is the other party (Echo, Playback): nothing to bridge to.
            return Err(Some(StatusCode::DECLINE));
        }
        if call.reinvite_pending {
            return Err(Some(StatusCode::REQUEST_PENDING));
        }
        if !call.has_room_for_leg() {
            return Err(Some(StatusCode::SERVICE_UNAVAILABLE));
        }
        let c = lr.call;
        let leg = self.new_leg(now, req, source, h, peer);
        let wall = self.wall(now);
        let new = {
            let call = self.calls.get_mut(c).ok_or(not_found)?;
            let mut cx = cx!(self, now, wall);
            call.attach_leg(&mut cx, leg)
        };
        self.calls.sync_legs(c);
        match self.with_call(now, c, |call, cx| call.replace_leg(cx, new, old, req)) {
            Some(Ok(())) => Ok(()),
            _ => Err(None),
        }
    }

    /// The leg of a new INVITE (its server transaction `h`) that joins an existing call
    /// instead of making one; it counts against its entry's call-limit from now on.
    pub(super) fn new_leg(
        &mut self,
        now: Instant,
        req: &Request,
        source: Flow,
        h: Handle,
        peer: Option<PeerId>,
    ) -> Leg {
        let to_tag = self
            .txs
            .server(h)
            .map(|t| t.to_tag().to_string())
            .unwrap_or_default();
        if let Some(p) = peer {
            self.load.add(p);
        }
        let entry = peer.and_then(|p| self.cfg.peer_rc(p));
        self.unique_ids += 1;
        let name = entry.as_ref().map(|e| e.name.clone()).unwrap_or_default();
        Leg {
            dialog: Dialog::uas(req, to_tag, source),
            invite_tx: Some(h),
            acked: false,
            peer,
            entry,
            media: None,
            nated: crate::nat::detect::request_behind_nat(req, source.remote),
            channel: crate::call::channel_name(&name, self.unique_ids),
            created: now,
            session: Default::default(),
        }
    }
}
