//! Busy lamps and presence: device states derived from sipbox's own calls, registrations and
//! qualify results; extension states from hints; NOTIFYs to the `dialog` and `presence`
//! subscriptions (kept by the subscription machinery of `mwi.rs`) when they change.
//!
//! Reading list: Asterisk `chan_sip.c` (`sip_devicestate`: UNAVAILABLE when unregistered or
//! unreachable, INUSE/BUSY from the call counters that `callcounter`/`call-limit` turn on,
//! RINGING/RINGINUSE while an INVITE to the phone is pending, ONHOLD with `notifyhold`;
//! `cb_extensionstate`, `transmit_state_notify`), `main/pbx.c` (hints), RFC 4235 / RFC 3856.
//!
//! Device states are recomputed after events that may change them (a SIP datagram, a batch
//! of due timers, a finished job) and compared with the cache; only a change touches the
//! subscriptions and the dialplan's view. Every entry is looked at at most once per
//! [`RECOMPUTE_GAP`] (an event inside the gap leaves a [`Wake::BlfCheck`] at its end), so that
//! a REGISTER flood on a large sip.conf does not walk every entry per datagram; the devices
//! that subscriptions watch are looked at after every event. NOTIFYs are coalesced: one per subscription per event, and at most one
//! per [`MIN_NOTIFY_GAP`] per subscription (a change inside the gap is sent when it ends,
//! with the state then).

use super::mwi::Package;
use super::Engine;
use crate::call::DialogState;
use crate::config::settings::PeerId;
use crate::presence::body::{self, Caller, Shown, View};
use crate::presence::{DeviceState, ExtState};
use crate::sched::TimerId;
use crate::wake::Wake;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Shortest time between two NOTIFYs of one dialog/presence subscription.
pub const MIN_NOTIFY_GAP: Duration = Duration::from_millis(200);

/// Shortest time between two walks over every entry's device state.
pub const RECOMPUTE_GAP: Duration = Duration::from_millis(100);

/// What a dialog or presence subscription watches.
#[derive(Debug, Clone)]
pub(super) struct Watch {
    /// The extension (the SUBSCRIBE's Request-URI user).
    pub exten: String,
    /// Where its hint is (the entry's `subscribecontext`, else its `context`).
    pub context: String,
    /// The next body's version.
    pub version: u32,
    /// The state last NOTIFYed.
    pub last: Option<ExtState>,
    /// When the last NOTIFY went.
    pub last_sent: Option<Instant>,
}

/// The device-state cache.
#[derive(Debug, Default)]
pub(super) struct BlfState {
    devices: HashMap<PeerId, DeviceState>,
    /// The pending [`Wake::BlfCheck`] (a recompute or a NOTIFY held back by a gap).
    wake: Option<(TimerId, Instant)>,
    /// The earliest next recompute.
    next_recompute: Option<Instant>,
    /// A NOTIFY held back by its gap is due: look at the watchers even without a change.
    recheck: bool,
    /// The parking table's generation the dialplan's `park:` devices show.
    parked_seen: u64,
    /// The registrar's and qualify's generations at the last walk over every entry; None
    /// before the first walk or after a reload (every entry is looked at next).
    walked: Option<(u64, u64)>,
    /// The entries that had calls at the last recompute: one whose last call ended since
    /// is looked at once more.
    counted: Vec<PeerId>,
}

impl BlfState {
    /// The next recompute looks at every entry (a reload changed them).
    pub(super) fn walk_all(&mut self) {
        self.walked = None;
    }
}

/// One entry's calls.
#[derive(Debug, Default)]
struct Counts {
    in_use: u32,
    ringing: u32,
    held: u32,
    caller: Option<Caller>,
}

impl Engine {
    /// Calls per entry: legs alive, legs sipbox is ringing (its INVITE not yet answered),
    /// legs whose last offer held the call.
    fn peer_counts(&self) -> HashMap<PeerId, Counts> {
        let hold = self.cfg.general.presence.notify_hold;
        let mut map: HashMap<PeerId, Counts> = HashMap::new();
        for (_, call) in self.calls.iter() {
            for (i, leg) in call.legs.iter().enumerate() {
                let Some(p) = leg.peer else { continue };
                if leg.dialog.state == DialogState::Terminated {
                    continue;
                }
                let c = map.entry(p).or_default();
                c.in_use += 1;
                let outbound = i != call.caller;
                if outbound && matches!(leg.dialog.state, DialogState::Trying | DialogState::Early)
                {
                    c.ringing += 1;
                    let from = call.invite.from();
                    c.caller.get_or_insert_with(|| Caller {
                        name: from.display.as_deref().unwrap_or_default().to_owned(),
                        number: from.uri.user.as_deref().unwrap_or_default().to_owned(),
                    });
                }
                if hold && leg.media.as_ref().is_some_and(|m| m.hold) {
                    c.held += 1;
                }
            }
        }
        map
    }

    fn device_of(&self, id: PeerId, counts: Option<&Counts>) -> DeviceState {
        let Some(p) = self.cfg.peer(id) else {
            return DeviceState::Invalid;
        };
        if self.qualify.unreachable.contains(&id)
            || (p.is_dynamic() && self.registrar.bindings(&p.name).is_empty())
        {
            return DeviceState::Unavailable;
        }
        // chan_sip counts calls only with callcounter (or a call-limit).
        if !p.presence.call_counter && p.call_limit.is_none() {
            return DeviceState::NotInUse;
        }
        let c = counts.map_or((0, 0, 0), |c| (c.in_use, c.ringing, c.held));
        DeviceState::from_counts(c.0, c.1, c.2, p.presence.busy_level.or(p.call_limit))
    }

    /// The device state of sip.conf entry `peer` now (`SIP/name`), from its calls, its
    /// registration and qualify.
    pub fn device_state(&self, peer: PeerId) -> DeviceState {
        let counts = self.peer_counts();
        self.device_of(peer, counts.get(&peer))
    }

    /// The state of extension `exten` in `context` by its hint (None: no hint), as last
    /// noticed.
    pub fn extension_state(&self, context: &str, exten: &str) -> Option<ExtState> {
        self.dialplan.extension_state(context, exten)
    }

    /// Recomputes device states; on a change, the dialplan's view is replaced and the
    /// watching subscriptions are told.
    pub(super) fn blf_flush(&mut self, now: Instant) {
        let generation = self.parking.generation();
        if generation != self.blf.parked_seen {
            // A call was parked or left its position: `park:` hints change.
            self.blf.parked_seen = generation;
            self.dialplan.set_parked(self.parking.positions());
            self.blf.recheck = true;
        }
        // A reload's walk: the dialplan's view is rebuilt (entries may have gone).
        let mut full = false;
        let recomputed = self.blf.next_recompute.is_none_or(|at| at <= now);
        let ids: Vec<PeerId> = match self.blf.next_recompute.filter(|at| *at > now) {
            Some(at) => {
                // Inside the gap: only the devices subscriptions watch, at once (a ring
                // shorter than the gap still lights the lamp).
                self.blf_wake_at(at);
                let watched = self.watched_peers();
                if watched.is_empty() {
                    return;
                }
                watched
            }
            None => {
                self.blf.next_recompute = Some(now + RECOMPUTE_GAP);
                // Only calls, registrations, qualify and a reload change a device state:
                // every entry is looked at when one of the last three moved, else only the
                // entries with calls now or at the last look (a walk over 10 000 entries
                // after every datagram was most of a call's cost at 60 calls/s).
                let seen = (self.registrar.generation(), self.qualify.generation);
                if self.blf.walked == Some(seen) {
                    let mut ids = std::mem::take(&mut self.blf.counted);
                    for (_, call) in self.calls.iter() {
                        ids.extend(call.legs.iter().filter_map(|l| l.peer));
                    }
                    ids.sort_unstable();
                    ids.dedup();
                    ids
                } else {
                    // After a reload (None) the dialplan's view is rebuilt whole.
                    full = self.blf.walked.is_none();
                    self.blf.walked = Some(seen);
                    self.cfg.peers().map(|(id, _)| id).collect()
                }
            }
        };
        let counts = self.peer_counts();
        if recomputed {
            self.blf.counted = counts.keys().copied().collect();
        }
        if !recomputed {
            // Looked at inside the gap: looked at again at the next recompute, so a call
            // that came and went inside the gap does not leave its state behind.
            self.blf.counted.extend_from_slice(&ids);
            if self.blf.counted.len() > 4096 {
                // A flood of events inside one gap: keep the list as long as the entries.
                self.blf.counted.sort_unstable();
                self.blf.counted.dedup();
            }
        }
        let mut changed = Vec::new();
        for id in ids {
            let s = self.device_of(id, counts.get(&id));
            if self.blf.devices.get(&id) != Some(&s) {
                if let Some(p) = self.cfg.peer(id) {
                    log::debug!("device SIP/{} is now {}", p.name, s.name());
                    changed.push((p.name.clone(), s));
                }
                self.blf.devices.insert(id, s);
            }
        }
        let recheck = std::mem::take(&mut self.blf.recheck);
        if !full && changed.is_empty() {
            if recheck {
                self.notify_watchers(now);
            }
            return;
        }
        if full {
            self.blf
                .devices
                .retain(|id, _| self.cfg.peer(*id).is_some());
            let names = self
                .blf
                .devices
                .iter()
                .filter_map(|(id, s)| Some((self.cfg.peer(*id)?.name.clone(), *s)))
                .collect();
            self.dialplan.set_device_states(names);
        } else {
            self.dialplan.update_device_states(changed);
        }
        self.notify_watchers(now);
    }

    /// Every watching subscription whose extension's state differs from its last NOTIFY.
    fn notify_watchers(&mut self, now: Instant) {
        let mut due = Vec::new();
        let mut later: Option<Instant> = None;
        for (key, sub) in self.mwi.watchers() {
            let Some(w) = &sub.watch else { continue };
            let state = self.dialplan.extension_state(&w.context, &w.exten);
            if state.is_none() || state == w.last {
                continue;
            }
            match w.last_sent.map(|t| t + MIN_NOTIFY_GAP) {
                Some(at) if at > now => later = Some(later.map_or(at, |l| l.min(at))),
                _ => due.push(key.clone()),
            }
        }
        for key in due {
            self.notify_subscription(now, &key, false);
        }
        if let Some(at) = later {
            self.blf_wake_at(at);
        }
    }

    /// A [`Wake::BlfCheck`] at `at` (or earlier, when one is pending).
    fn blf_wake_at(&mut self, at: Instant) {
        match self.blf.wake {
            Some((_, t)) if t <= at => {}
            Some((id, _)) => {
                self.sched.cancel(id);
                self.blf.wake = Some((self.sched.schedule(at, Wake::BlfCheck), at));
            }
            None => self.blf.wake = Some((self.sched.schedule(at, Wake::BlfCheck), at)),
        }
    }

    /// A recompute or a NOTIFY held back by its gap may go now: the flush at the end of
    /// this batch of timers does it.
    pub(super) fn blf_check(&mut self) {
        self.blf.wake = None;
        self.blf.next_recompute = None;
        self.blf.recheck = true;
    }

    /// The body of a watching subscription's next NOTIFY (its version taken), or None.
    pub(super) fn watch_body(&mut self, key: &(String, String), now: Instant) -> Option<String> {
        let host = self.advertise.local().ip().to_string();
        let shown = Shown {
            ringing: self.cfg.general.presence.notify_ringing,
            cid: self.cfg.general.presence.notify_cid,
        };
        let sub = self.mwi.get(key)?;
        let package = sub.package;
        let w = sub.watch.as_ref()?;
        let state = self
            .dialplan
            .extension_state(&w.context, &w.exten)
            .unwrap_or(ExtState::Unavailable);
        let caller = if state.ringing() {
            self.ringing_caller(&w.context, &w.exten)
        } else {
            None
        };
        let sub = self.mwi.get_mut(key)?;
        let w = sub.watch.as_mut()?;
        let view = View {
            exten: &w.exten,
            host: &host,
            state,
            version: w.version,
            caller: caller.as_ref(),
        };
        let text = match package {
            Package::Dialog => body::dialog_info(&view, shown),
            Package::Presence => body::pidf(&view, shown),
            Package::Xpidf => body::xpidf(&view, shown),
            Package::MessageSummary => return None,
        };
        w.version = w.version.wrapping_add(1);
        w.last = Some(state);
        w.last_sent = Some(now);
        Some(text)
    }

    /// The entries named by the hints that subscriptions watch.
    fn watched_peers(&self) -> Vec<PeerId> {
        let mut ids = Vec::new();
        for (_, sub) in self.mwi.watchers() {
            let Some(w) = &sub.watch else { continue };
            let Some(hint) = self.dialplan.hint(&w.context, &w.exten) else {
                continue;
            };
            for d in hint.split('&') {
                let id = d
                    .trim()
                    .strip_prefix("SIP/")
                    .and_then(|n| self.cfg.entry(n));
                if let Some(id) = id.filter(|id| !ids.contains(id)) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// Who rings one of the hint's devices (for `notifycid`).
    fn ringing_caller(&self, context: &str, exten: &str) -> Option<Caller> {
        let hint = self.dialplan.hint(context, exten)?;
        let counts = self.peer_counts();
        hint.split('&').find_map(|d| {
            let name = d.trim().strip_prefix("SIP/")?;
            let id = self.cfg.entry(name)?;
            counts.get(&id)?.caller.clone()
        })
    }
}

impl Engine {
    /// What a dialog/presence SUBSCRIBE from `entry` watches: the hint of its Request-URI's
    /// extension in the entry's `subscribecontext` (else its `context`). 403 when the entry
    /// may not subscribe (`allowsubscribe=no`), 404 without an entry, an extension or a hint
    /// (chan_sip's `handle_request_subscribe`).
    pub(super) fn watch_target(
        &self,
        req: &crate::sip::Request,
        entry: Option<PeerId>,
    ) -> Result<(PeerId, Option<Watch>), crate::call::Reply> {
        use crate::call::Reply;
        use crate::sip::StatusCode;
        let not_found = || Reply::new(StatusCode::NOT_FOUND);
        let peer = entry.ok_or_else(not_found)?;
        let p = self.cfg.peer(peer).ok_or_else(not_found)?;
        if !p.presence.allow_subscribe {
            return Err(Reply::with_reason(
                StatusCode::FORBIDDEN,
                "Forbidden (policy)",
            ));
        }
        let exten = req.uri().user.as_deref().ok_or_else(not_found)?.to_owned();
        let context = p
            .presence
            .subscribe_context
            .clone()
            .unwrap_or_else(|| p.context.clone());
        if self.dialplan.hint(&context, &exten).is_none() {
            log::info!(
                "subscription from '{}' for {exten}@{context}: no hint",
                p.name
            );
            return Err(not_found());
        }
        Ok((
            peer,
            Some(Watch {
                exten,
                context,
                version: 0,
                last: None,
                last_sent: None,
            }),
        ))
    }
}
