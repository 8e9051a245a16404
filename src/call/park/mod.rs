//! Call parking, the call's side: `Park()` puts this call's caller (the parkee) in a free
//! position of a lot, where it hears music on hold until someone retrieves it with
//! `ParkedCall()` (the engine moves the retriever's leg here: `src/engine/park.rs`), its
//! `parkingtime` runs out (the comeback), or it hangs up (the position is free again).
//! [`Parking`] is the engine-wide table of taken positions every call reaches through its
//! [`Cx`], so parking needs no second call; retrieving does.
//!
//! Who parks: a caller dialling `parkext` parks itself and hears its position (SayDigits)
//! before the music; a blind transfer (REFER) to `parkext` parks the transferee, and the
//! transferer hears the position, then NOTIFY 200 releases it (res_parking's
//! `parking_blind_transfer_park` and `say_parking_space` with `hangup_after`). No free
//! position: `Park()` plays `pbx-parkingfailed` and the dialplan goes on; a REFER to a full
//! lot is answered NOTIFY 503 and the two stay bridged (res_parking's failed blind-transfer
//! park leaves the bridge as it was).
//!
//! The comeback (`comeback_goto` and `parking_duration_callback` in res_parking): the
//! variables `PARKINGSLOT`, `PARKING_SPACE`, `PARKEDLOT`, `PARKER`, `PARKER_FLAT` and
//! `COMEBACKDIALTIME` are set; Park's `c(...)` option wins; with `comebacktoorigin=yes` the
//! call goes to `park-dial,SIP_1002,1` when the dialplan has that extension, else it runs the
//! `Dial(SIP/1002,comebackdialtime)` res_parking would make there and hangs up after it;
//! with `comebacktoorigin=no` to `comebackcontext,SIP_1002,1`, else `comebackcontext,s,1`,
//! else `default,s,1`.
//!
//! Reading list: Asterisk `res/parking/parking_applications.c`, `parking_bridge_features.c`,
//! `parking_bridge.c`, `res_parking.c`, `configs/samples/res_parking.conf.sample`.

mod lots;
pub use lots::{ParkedEntry, Parking};

use super::state::{Bridge, Call, CallState};
use super::transfer::{TransferEvent, TransferState};
use super::{reply, Cx, Reply};
use crate::config::parking_conf::ParkingLot;
use crate::dialplan::command::ParkComeback;
use crate::dialplan::{DialTarget, Resume};
use crate::handle::LegId;
use crate::sip::{Request, StatusCode};
use crate::wake::{CallTimer, Wake};
use std::rc::Rc;
use std::time::Duration;

/// Where this call is parked, and what its lot said then (a reload changes lots for calls
/// parked later).
#[derive(Debug, Clone)]
pub struct Parked {
    lot: ParkingLot,
    slot: u32,
    parker: String,
    comeback: Option<(String, String, u32)>,
}

/// `SIP/1002` → `SIP_1002` (res_parking's `flatten_dial_string`).
fn flatten(dial: &str) -> String {
    dial.replace('/', "_")
}

/// The lot a `parkext` extension parks into: the unexpanded argument of its `Park()` at
/// priority 1, when it is one (res_parking's `parking_is_exten_park`).
pub fn park_exten_lot(cx: &Cx<'_>, context: &str, exten: &str, cid: &str) -> Option<String> {
    use crate::dialplan::model::Want;
    let found = cx
        .dialplan
        .find(context, exten, cid, Want::Prio(1), cx.wall)?;
    let p = found.ext.prios.get(&found.prio)?;
    if !p.app.trim().eq_ignore_ascii_case("park") {
        return None;
    }
    let lot = p.args.split(',').next().unwrap_or("").trim();
    // A lot given by a variable is only known when Park() runs.
    Some(if lot.is_empty() || lot.contains('$') {
        "default".to_string()
    } else {
        lot.to_string()
    })
}

impl Call {
    /// The parker's dial string: the transferer's entry during a transfer to `parkext`, the
    /// caller's own entry when it parks itself.
    fn parker_of(&self, leg: LegId) -> String {
        self.entry_of(leg)
            .map(|e| format!("SIP/{}", e.name))
            .unwrap_or_default()
    }

    /// `Park()` on this call's caller: what the dialplan resumes with.
    pub(super) fn park(
        &mut self,
        cx: &mut Cx<'_>,
        lot: &str,
        timeout: Option<Duration>,
        comeback: Option<(String, String, u32)>,
        silence: bool,
    ) -> Resume {
        if !self.answer_if_needed(cx) {
            return Resume::ParkFailed;
        }
        let Some(conf) = cx.parking.conf().lot(lot).cloned() else {
            log::warn!("call {}: Park: no parking lot '{lot}'", self.label());
            return Resume::ParkFailed;
        };
        let Some(slot) = cx.parking.free_slot(&conf) else {
            log::info!(
                "call {}: Park: every position of lot '{}' is taken",
                self.label(),
                conf.name
            );
            return Resume::ParkFailed;
        };
        let parkee = self.caller;
        let transferer = self
            .transfer
            .as_ref()
            .filter(|t| t.state == TransferState::Routing && t.transferee == parkee)
            .map(|t| t.transferer);
        let parker = self.parker_of(transferer.unwrap_or(parkee));
        // `parkingtime => 0` (or `t(0)`): parked until retrieved or gone.
        let limit = Some(timeout.unwrap_or(conf.parking_time)).filter(|d| !d.is_zero());
        cx.parking.take(
            &conf.name,
            slot,
            ParkedEntry {
                call: self.handle,
                channel: self.legs[parkee].channel.clone(),
                parker: parker.clone(),
                since: cx.now,
                timeout: limit,
            },
        );
        if let Some(d) = limit {
            let wake = Wake::Call(self.handle, CallTimer::Park);
            self.timers
                .start(cx.sched, CallTimer::Park, cx.now + d, wake);
        }
        log::info!(
            "call {}: parked at {slot} of lot '{}'",
            self.label(),
            conf.name
        );
        crate::verbose!(
            3,
            "Parked {} on {}@{} (lot {})",
            self.legs[parkee].channel,
            slot,
            conf.context,
            conf.name
        );
        let (lot_name, music_class) = (conf.name.clone(), conf.music_class.clone());
        self.parked = Some(Parked {
            lot: conf,
            slot,
            parker,
            comeback,
        });
        let announce = match transferer {
            Some(t) => {
                self.transfer_event(cx, TransferEvent::Parked);
                let files = crate::dialplan::apps::digit_files(&slot.to_string());
                self.announce_to(cx, t, files);
                false
            }
            None => !silence,
        };
        Resume::Parked {
            lot: lot_name,
            slot,
            announce,
            music_class,
        }
    }

    /// True while this call is parked.
    pub fn is_parked(&self) -> bool {
        self.parked.is_some()
    }

    /// `parkingtime` is over: the comeback.
    pub(super) fn park_timed_out(&mut self, cx: &mut Cx<'_>) {
        let Some(p) = self.parked.take() else {
            return;
        };
        cx.parking.release(self.handle);
        self.stop_moh(cx, None);
        let flat = flatten(&p.parker);
        log::info!(
            "call {}: parked call on {} timed out (parker {})",
            self.label(),
            p.slot,
            if p.parker.is_empty() {
                "unknown"
            } else {
                &p.parker
            }
        );
        if let Some(exec) = self.exec.as_mut() {
            let slot = p.slot.to_string();
            let dial = p.lot.comeback_dial_time.as_secs().to_string();
            for (k, v) in [
                ("PARKINGSLOT", slot.as_str()),
                ("PARKING_SPACE", slot.as_str()),
                ("PARKEDLOT", p.lot.name.as_str()),
                ("PARKER", p.parker.as_str()),
                ("PARKER_FLAT", flat.as_str()),
                ("COMEBACKDIALTIME", dial.as_str()),
            ] {
                exec.set_var(k, v);
            }
        }
        let cid = self
            .exec
            .as_ref()
            .map(|e| e.callerid_num().to_string())
            .unwrap_or_default();
        let exists = |c: &str, e: &str, prio: u32| cx.dialplan.exists(c, e, prio, &cid, cx.wall);
        let goto = |context: &str, exten: &str, prio: u32| ParkComeback::Goto {
            context: context.to_string(),
            exten: exten.to_string(),
            prio,
        };
        let comeback = if let Some((c, e, prio)) = &p.comeback {
            goto(c, e, *prio)
        } else if p.lot.comeback_to_origin {
            match p.parker.split_once('/') {
                None => ParkComeback::Hangup,
                Some(_) if exists("park-dial", &flat, 1) => goto("park-dial", &flat, 1),
                Some((tech, name)) => ParkComeback::Dial {
                    target: DialTarget {
                        tech: tech.to_string(),
                        resource: name.to_string(),
                        number: None,
                    },
                    timeout: p.lot.comeback_dial_time,
                    flat,
                },
            }
        } else {
            let ctx = p.lot.comeback_context.as_str();
            if !flat.is_empty() && exists(ctx, &flat, 1) {
                goto(ctx, &flat, 1)
            } else if exists(ctx, "s", 1) {
                goto(ctx, "s", 1)
            } else {
                goto("default", "s", 1)
            }
        };
        self.run_dialplan(cx, Resume::ParkTimedOut { comeback });
    }

    /// The call ends: its position is free.
    pub(super) fn unpark_on_end(&mut self, cx: &mut Cx<'_>) {
        if self.parked.take().is_some() {
            cx.parking.release(self.handle);
        }
    }

    /// `ParkedCall()` in this call: the engine joins it with the parked call, or the
    /// dialplan hears `Done` (nothing there).
    pub(super) fn retrieve(&mut self, cx: &mut Cx<'_>, lot: &str, slot: Option<u32>) -> bool {
        match cx.parking.find(lot, slot) {
            Some(p) if p != self.handle => {
                self.join = Some(super::join::JoinRequest::Retrieve { parked: p });
                true
            }
            _ => {
                log::info!(
                    "call {}: ParkedCall: nothing parked at {}@{lot}",
                    self.label(),
                    slot.map_or("any".to_string(), |s| s.to_string())
                );
                false
            }
        }
    }

    /// Nothing to retrieve after all (the parked call left meanwhile).
    pub fn retrieve_failed(&mut self, cx: &mut Cx<'_>) {
        self.run_dialplan(cx, Resume::Done);
    }

    /// The retriever's leg `new` (moved here from its own call) is bridged with the parked
    /// caller: an unanswered one is answered 200 with media toward the parkee (as an INVITE
    /// with Replaces is), an answered one is bridged as it is. `Err`: refused with that
    /// status (the call stays parked).
    pub fn retrieved(
        &mut self,
        cx: &mut Cx<'_>,
        new: LegId,
        invite: &Request,
    ) -> Result<(), StatusCode> {
        let Some(p) = self.parked.clone() else {
            return Err(StatusCode::CALL_DOES_NOT_EXIST);
        };
        let parkee = self.caller;
        if let Some(h) = self.legs.get_mut(new).and_then(|l| l.invite_tx.take()) {
            let ua = cx.cfg.general.user_agent.as_str();
            let reply = match self.media_answer_replacing(cx, new, parkee, invite) {
                Ok(body) => reply::build(
                    cx.txs,
                    h,
                    Reply::new(StatusCode::OK),
                    Some(body),
                    cx.advertise,
                    ua,
                ),
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
                    self.drop_leg(cx, new);
                    return Err(status);
                }
            };
            let Some(resp) = reply else {
                self.drop_leg(cx, new);
                return Err(StatusCode::SERVER_INTERNAL_ERROR);
            };
            let bytes: Rc<[u8]> = resp.to_bytes().into();
            cx.txs.server_send(cx.now, cx.sched, cx.out, h, &resp);
            self.legs[new].dialog.state = super::DialogState::Confirmed;
            self.start_2xx_retransmit(cx, new, bytes);
        }
        self.parked = None;
        cx.parking.release(self.handle);
        self.timers.stop(cx.sched, CallTimer::Park);
        self.stop_moh(cx, None);
        log::info!(
            "call {}: parked call on {}@{} retrieved by leg {new}",
            self.label(),
            p.slot,
            p.lot.context
        );
        self.state = CallState::Answered {
            bridge: Some(Bridge { a: parkee, b: new }),
            continue_after: false,
        };
        self.update_hold_music(cx);
        self.arm_watchdog(cx);
        Ok(())
    }
}

impl Call {
    /// A REFER to `parkext` when the lot has no free position: NOTIFY 503, the bridge stays.
    /// True when it was one.
    pub(super) fn refer_to_full_lot(
        &mut self,
        cx: &mut Cx<'_>,
        transferer: LegId,
        refer_cseq: u32,
        context: &str,
        exten: &str,
        cid: &str,
    ) -> bool {
        let Some(lot) = park_exten_lot(cx, context, exten, cid) else {
            return false;
        };
        let full = match cx.parking.conf().lot(&lot) {
            Some(l) => cx.parking.free_slot(l).is_none(),
            None => true,
        };
        if full {
            log::info!(
                "call {}: transfer to parking lot '{lot}': no free position (503)",
                self.label()
            );
            self.notify_transferer(
                cx,
                transferer,
                refer_cseq,
                StatusCode::SERVICE_UNAVAILABLE,
                true,
            );
        }
        full
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dial_strings_flatten_as_res_parking_does() {
        assert_eq!(super::flatten("SIP/1002"), "SIP_1002");
    }
}
