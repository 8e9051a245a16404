//! Call pickup: `pickupexten` (features.conf, `*8`), `Pickup([exten[@context]])` and
//! `PickupChan(SIP/name)`. A ringing call is answered on the picker's phone: the picker's leg
//! moves into the ringing call (the same leg move as attended transfer, see `join.rs`), the
//! ringing forks are CANCELled and the caller is bridged to the picker.
//!
//! Matching (Asterisk's `ast_pickup_find_by_group`, `app_directed_pickup.c`): by group, a
//! fork whose entry's `callgroup` shares a group with the picker's `pickupgroup`; by
//! extension, a call whose Dial ran from `exten@context`; by channel, a fork to that
//! sip.conf entry. The oldest matching call is taken. Nothing to pick up: `pickupexten`
//! answers 503 (chan_sip's "503 Unavailable"), the applications let the dialplan go on.

use super::Engine;
use crate::call::{Call, EndReason, Leg, Reply};
use crate::config::settings::PeerId;
use crate::dialplan::command::PickupTarget;
use crate::flow::Flow;
use crate::handle::CallHandle;
use crate::sip::{Request, StatusCode};
use crate::transaction::Handle;
use std::rc::Rc;
use std::time::Instant;

impl Engine {
    /// The ringing call `target` names for a picker with entry `picker`, not `except`.
    fn ringing_call(
        &self,
        target: &PickupTarget,
        picker: Option<PeerId>,
        except: Option<CallHandle>,
    ) -> Option<CallHandle> {
        let cfg = &self.cfg;
        let mine = picker
            .and_then(|p| cfg.peer(p))
            .map_or(0, |e| e.pickup_group);
        // A ringing leg is matched on the entry its call began with (a reload does not
        // change running calls).
        fn name_of(l: &Leg) -> Option<&str> {
            l.entry.as_deref().map(|e| e.name.as_str())
        }
        let fits = |h: CallHandle, c: &Call| -> bool {
            if Some(h) == except {
                return false;
            }
            match target {
                PickupTarget::Group => c
                    .ringing_fork(|l| {
                        let group = l.entry.as_deref().map_or(0, |e| e.call_group);
                        group & mine != 0
                    })
                    .is_some(),
                PickupTarget::Exten { exten, context } => {
                    let from = c
                        .exec
                        .as_ref()
                        .map(|e| (e.exten.as_str(), e.context.as_str()));
                    from == Some((exten.as_str(), context.as_str()))
                        && c.ringing_fork(|_| true).is_some()
                }
                PickupTarget::Channel(names) => c
                    .ringing_fork(|l| {
                        name_of(l).is_some_and(|n| names.iter().any(|w| w.eq_ignore_ascii_case(n)))
                    })
                    .is_some(),
            }
        };
        self.calls.iter().find(|(h, c)| fits(*h, c)).map(|(h, _)| h)
    }

    /// A new INVITE to `pickupexten` (admitted, 100 sent, on transaction `h`).
    pub(super) fn invite_pickup(
        &mut self,
        now: Instant,
        req: Rc<Request>,
        source: Flow,
        h: Handle,
        peer: Option<PeerId>,
    ) {
        let Some(r) = self.ringing_call(&PickupTarget::Group, peer, None) else {
            log::info!("call {}: nothing to pick up (503)", req.call_id());
            return self.reply_on(now, h, Reply::new(StatusCode::SERVICE_UNAVAILABLE));
        };
        let leg = self.new_leg(now, &req, source, h, peer);
        self.move_picker(now, r, leg, &req);
    }

    /// `Pickup()`/`PickupChan()` in call `n`: its unanswered caller answers a ringing call.
    pub(super) fn dialplan_pickup(&mut self, now: Instant, n: CallHandle, target: PickupTarget) {
        let Some(call) = self.calls.get(n) else {
            return;
        };
        let picker = call.legs[call.caller].peer;
        let (caller, invite) = (call.caller, call.invite.clone());
        let Some(r) = self.ringing_call(&target, picker, Some(n)) else {
            self.with_call(now, n, |c, cx| c.pickup_failed(cx));
            return;
        };
        let wall = self.wall(now);
        let leg = {
            let Some(call) = self.calls.get_mut(n) else {
                return;
            };
            let mut cx = cx!(self, now, wall);
            call.detach_leg(&mut cx, caller)
        };
        let Some(leg) = leg else { return };
        self.move_picker(now, r, leg, &invite);
        // The picker's own call is now an empty shell: it ends without a word to anyone.
        self.with_call(now, n, |c, cx| c.end(cx, EndReason::Hangup(StatusCode::OK)));
    }

    pub(super) fn move_picker(&mut self, now: Instant, r: CallHandle, leg: Leg, invite: &Request) {
        let wall = self.wall(now);
        let new = {
            let Some(call) = self.calls.get_mut(r) else {
                return;
            };
            let mut cx = cx!(self, now, wall);
            call.attach_leg(&mut cx, leg)
        };
        self.calls.sync_legs(r);
        self.with_call(now, r, |call, cx| {
            if let Err(status) = call.picked_up(cx, new, invite) {
                log::info!("pickup refused: {}", status.code());
            }
        });
    }
}
