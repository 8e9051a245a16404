//! The attended transfer's consultation ending, one way or another: the transferer leaves
//! (transferee and target joined, or the target given to the transferee when it answers),
//! the transferee leaves (the transferer keeps the target), or the consultation fails or is
//! aborted (back to the transferee). See the parent module for the whole feature.
//!
//! Reading list: Asterisk `main/bridge_basic.c` (the attended transfer's states: `TRANSFER_CALLING_TARGET`,
//! `TRANSFER_CONSULTING`, `TRANSFER_DOUBLECHECKING`, `TRANSFER_FAIL`, `TRANSFER_COMPLETE`;
//! `atxferdropcall`).

use super::super::dialog::DialogState;
use super::super::media::moh::MohFor;
use super::super::state::{Bridge, Call, CallState, EndReason};
use super::super::Cx;
use super::{Consult, Feature};
use crate::handle::LegId;
use crate::wake::CallTimer;

impl Call {
    /// The call would end while an attended transfer consults: decide what really ends.
    /// True when the call goes on.
    pub(in crate::call) fn consult_intercepts_end(
        &mut self,
        cx: &mut Cx<'_>,
        why: EndReason,
    ) -> bool {
        let Some(Feature::Consulting(c)) = self.feature.take() else {
            return false;
        };
        match why {
            EndReason::ByeFrom(l) if l == c.transferer => {
                self.complete_attended(cx, c, false);
                true
            }
            EndReason::ByeFrom(l) if l == c.transferee => {
                // The transferee left: the transferer stays with the target.
                log::info!(
                    "call {}: the transferee hung up during the consultation",
                    self.label()
                );
                self.legs[l].dialog.state = DialogState::Terminated;
                self.release_leg(cx, l);
                self.stop_moh(cx, Some(MohFor::Transfer));
                if let Some(mut old) = c.saved_exec {
                    old.hangup(cx.dialplan, cx.wall, None);
                    super::super::script::hand_db_ops_to_driver(cx);
                }
                true
            }
            EndReason::ByeFrom(_) | EndReason::Hangup(_) | EndReason::NoMedia(_) => {
                log::info!(
                    "call {}: the consultation ended; back to the transferee",
                    self.label()
                );
                self.back_to_transferee(cx, c);
                true
            }
            EndReason::Cancelled | EndReason::NoAck => {
                self.feature = Some(Feature::Consulting(c));
                false
            }
        }
    }

    /// A leg's media and call-limit count go (its dialog is over).
    fn release_leg(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        if let Some(p) = self.legs.get_mut(leg).and_then(|l| l.peer.take()) {
            cx.load.release(p);
        }
        self.media_leg_gone(cx, leg);
    }

    /// Abort, or the target failed: every leg of the consultation goes, the transferer is
    /// bridged to the transferee again and the original dialplan run is back.
    pub(super) fn back_to_transferee(&mut self, cx: &mut Cx<'_>, c: Box<Consult>) {
        self.timers.stop(cx.sched, CallTimer::DialTimeout);
        for id in 0..self.legs.len() {
            if id == c.transferer || id == c.transferee {
                continue;
            }
            match self.legs[id].dialog.state {
                DialogState::Confirmed => self.send_bye(cx, id),
                DialogState::Trying | DialogState::Early => self.cancel_fork(cx, id),
                _ => continue,
            }
            self.legs[id].dialog.state = DialogState::Terminated;
            self.release_leg(cx, id);
        }
        self.stop_moh(cx, Some(MohFor::Transfer));
        self.exec = c.saved_exec;
        self.caller = c.saved_caller;
        self.rerouted = c.saved_rerouted;
        // The consultation's own Dial set them for its call.
        self.xfer_rights = c.saved_rights;
        self.state = CallState::Answered {
            bridge: Some(Bridge {
                a: c.transferer,
                b: c.transferee,
            }),
            continue_after: c.continue_after,
        };
        log::info!(
            "call {}: leg {} is back with leg {}",
            self.label(),
            c.transferer,
            c.transferee
        );
    }

    /// The transferer leaves (hung up, or `atxfercomplete` with `bye`): transferee and
    /// target are joined, or, while the target still rings, the transferee gets it when it
    /// answers.
    pub(super) fn complete_attended(&mut self, cx: &mut Cx<'_>, c: Box<Consult>, bye: bool) {
        let x = c.transferer;
        let y = c.transferee;
        if let Some(mut old) = c.saved_exec {
            // The transferer's channel (or the transferee's old Dial) is over.
            old.hangup(cx.dialplan, cx.wall, None);
            super::super::script::hand_db_ops_to_driver(cx);
        }
        self.release_transferer(cx, x, bye);
        self.stop_moh(cx, Some(MohFor::Transfer));
        self.caller = y;
        match self.state {
            CallState::Answered {
                bridge: Some(b), ..
            } => {
                let Some(z) = b.other(x) else {
                    return;
                };
                self.state = CallState::Answered {
                    bridge: Some(Bridge { a: y, b: z }),
                    continue_after: false,
                };
                log::info!(
                    "call {}: attended transfer: leg {y} joined with leg {z}",
                    self.label()
                );
                self.arm_watchdog(cx);
            }
            CallState::Dialing(_) => {
                log::info!(
                    "call {}: the transferer left while the target rings; leg {y} gets it",
                    self.label()
                );
            }
            _ => self.end(cx, EndReason::Hangup(crate::sip::StatusCode::OK)),
        }
    }
}
