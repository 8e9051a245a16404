//! Call parking, the router's side: `ParkedCall()` moves the retriever's leg from its own
//! call into the parked call (the leg move of pickup and attended transfer, `join.rs`), where
//! it is answered toward the parkee and bridged; the retriever's call, now empty, ends. The
//! rest of parking needs one call only: see [`crate::call::park`].
//!
//! Reading list: Asterisk `res/parking/parking_applications.c` (`parked_call_app_exec`).

use super::Engine;
use crate::call::EndReason;
use crate::handle::CallHandle;
use crate::sip::StatusCode;
use std::time::Instant;

impl Engine {
    /// `ParkedCall()` in call `r` found the call `p` parked.
    pub(super) fn dialplan_retrieve(&mut self, now: Instant, r: CallHandle, p: CallHandle) {
        let Some(call) = self.calls.get(r) else {
            return;
        };
        let (caller, invite) = (call.caller, call.invite.clone());
        // A call parked and retrieved over and over gains a leg each time: MAX_LEGS bounds it.
        if !self
            .calls
            .get(p)
            .is_some_and(|c| c.is_parked() && c.has_room_for_leg())
        {
            self.with_call(now, r, |c, cx| c.retrieve_failed(cx));
            return;
        }
        let wall = self.wall(now);
        let leg = {
            let Some(call) = self.calls.get_mut(r) else {
                return;
            };
            let mut cx = cx!(self, now, wall);
            call.detach_leg(&mut cx, caller)
        };
        let Some(leg) = leg else { return };
        let new = {
            let Some(call) = self.calls.get_mut(p) else {
                return;
            };
            let mut cx = cx!(self, now, wall);
            call.attach_leg(&mut cx, leg)
        };
        self.calls.sync_legs(p);
        self.with_call(now, p, |call, cx| {
            if let Err(status) = call.retrieved(cx, new, &invite) {
                log::info!("parked call retrieval refused: {}", status.code());
            }
        });
        // The retriever's own call is an empty shell now: it ends without a word to anyone.
        self.with_call(now, r, |c, cx| c.end(cx, EndReason::Hangup(StatusCode::OK)));
    }
}
