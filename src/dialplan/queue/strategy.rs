//! Who rings: app_queue's member metric (`calc_metric`), the ringable test (`can_ring_entry`),
//! the free-member count (`num_available_members`), the caller's turn (`is_our_turn`) and the
//! empty test of `joinempty`/`leavewhenempty` (`get_member_status`).
//!
//! A lower metric rings first; penalties add a million per step, so a higher penalty rings
//! only when every lower one is unavailable (`wrandom` instead weighs the draw by penalty).
//! `ringall` rings every ringable member of the best penalty at once; the other strategies
//! return the members in metric order and the call layer rings the first, then the next
//! when one fails at once (busy, unavailable), as `ring_one` does.

use super::{Member, Penalties, QueueState};
use crate::config::queues_conf::{EmptyWhen, Strategy};
use crate::presence::DeviceState;
use std::time::SystemTime;

/// `shared_lastcall`: each interface's (lower-cased) latest last call over every queue.
pub type LastCalls = std::collections::HashMap<String, SystemTime>;

/// The member's last call, the latest of every queue with `shared_lastcall`.
fn lastcall(m: &Member, shared: &LastCalls) -> Option<SystemTime> {
    let other = if shared.is_empty() {
        None
    } else {
        shared.get(&m.interface.to_ascii_lowercase()).copied()
    };
    match (m.lastcall, other) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// True while `m` is in its wrap-up time.
fn wrapping_up(q: &QueueState, m: &Member, now: SystemTime, shared: &LastCalls) -> bool {
    if q.def.wrapuptime.is_zero() {
        return false;
    }
    lastcall(m, shared).is_some_and(|t| {
        now.duration_since(t)
            .map_or(true, |since| since < q.def.wrapuptime)
    })
}

/// A device state that takes a call at once.
fn free(s: DeviceState) -> bool {
    matches!(s, DeviceState::NotInUse | DeviceState::Unknown)
}

/// A device in a call (or rung by one).
fn busy_now(s: DeviceState) -> bool {
    matches!(
        s,
        DeviceState::InUse
            | DeviceState::Busy
            | DeviceState::Ringing
            | DeviceState::RingInUse
            | DeviceState::OnHold
    )
}

/// `can_ring_entry`: not paused, not wrapping up, reachable, and free unless `ringinuse`.
pub fn ringable(
    q: &QueueState,
    m: &Member,
    pen: &Penalties,
    now: SystemTime,
    states: &dyn Fn(&str) -> DeviceState,
    shared: &LastCalls,
) -> bool {
    if m.paused || !pen.admits(m.penalty) || wrapping_up(q, m, now, shared) {
        return false;
    }
    let s = states(&m.state_interface);
    if matches!(s, DeviceState::Invalid | DeviceState::Unavailable) {
        return false;
    }
    // A member talking in a queue call counts as in use even where the device state lags.
    let in_use = busy_now(s) || m.in_call > 0;
    !in_use || q.ringinuse(m)
}

/// `num_available_members`: members that could take a call now (one is enough without
/// autofill, or for `ringall`).
pub fn available(
    q: &QueueState,
    now: SystemTime,
    states: &dyn Fn(&str) -> DeviceState,
    shared: &LastCalls,
) -> usize {
    let mut n = 0;
    for m in &q.members {
        let s = states(&m.state_interface);
        let ok = !m.paused
            && !wrapping_up(q, m, now, shared)
            && (free(s) && m.in_call == 0 || (busy_now(s) || m.in_call > 0) && q.ringinuse(m));
        if ok {
            n += 1;
            if !q.def.autofill || q.def.strategy == Strategy::RingAll {
                break;
            }
        }
    }
    n
}

/// `is_our_turn`: `id` is among the first callers (not counting those already ringing) that
/// the free members can serve; without autofill only the head caller.
pub fn is_our_turn(
    q: &QueueState,
    id: &str,
    now: SystemTime,
    states: &dyn Fn(&str) -> DeviceState,
    shared: &LastCalls,
) -> bool {
    let avl = available(q, now, states, shared);
    let mut idx = 0;
    for (i, c) in q.callers.iter().enumerate() {
        if c.id == id {
            return idx < avl && (q.def.autofill || i == 0);
        }
        if idx >= avl {
            return false;
        }
        if !c.pending {
            idx += 1;
        }
    }
    false
}

/// `get_member_status`: true when no member counts under `when` (the queue is "empty").
pub fn is_empty(
    q: &QueueState,
    when: &EmptyWhen,
    pen: &Penalties,
    now: SystemTime,
    states: &dyn Fn(&str) -> DeviceState,
    shared: &LastCalls,
) -> bool {
    !q.members.iter().any(|m| {
        let s = states(&m.state_interface);
        let excluded = match s {
            DeviceState::Invalid => when.invalid,
            DeviceState::Unavailable => when.unavailable,
            DeviceState::InUse | DeviceState::Busy | DeviceState::OnHold => when.inuse,
            DeviceState::Ringing | DeviceState::RingInUse => when.ringing,
            DeviceState::Unknown => when.unknown,
            DeviceState::NotInUse => false,
        };
        !(excluded
            || when.penalty && !pen.admits(m.penalty)
            || m.paused && when.paused
            || when.wrapup && wrapping_up(q, m, now, shared))
    })
}

/// `calc_metric` for member `pos` and caller `id`.
fn metric(
    q: &QueueState,
    pos: usize,
    linpos: usize,
    now: SystemTime,
    shared: &LastCalls,
    rng: &mut dyn FnMut() -> u64,
) -> u64 {
    let m = &q.members[pos];
    let base = u64::from(m.penalty) * 1_000_000;
    let pos64 = pos as u64;
    match q.def.strategy {
        Strategy::RingAll => base,
        Strategy::Linear => base + if pos < linpos { 1000 + pos64 } else { pos64 },
        Strategy::RrMemory => base + if pos < q.rrpos { 1000 + pos64 } else { pos64 },
        Strategy::Random => base + rng() % 1000,
        Strategy::WRandom => rng() % (1000 * (u64::from(m.penalty) + 1)),
        Strategy::FewestCalls => base + u64::from(m.calls),
        Strategy::LeastRecent => {
            base + match lastcall(m, shared) {
                None => 0,
                Some(t) => {
                    let ago = now.duration_since(t).map_or(0, |d| d.as_secs());
                    1_000_000u64.saturating_sub(ago.min(999_999))
                }
            }
        }
    }
}

/// The members to ring for caller `id` now, best first: for `ringall` every ringable member
/// of the best metric (all ring at once), otherwise every ringable member in metric order
/// (one rings at a time). Empty: nobody can be rung.
pub fn pick(
    q: &QueueState,
    id: &str,
    now: SystemTime,
    states: &dyn Fn(&str) -> DeviceState,
    shared: &LastCalls,
    rng: &mut dyn FnMut() -> u64,
) -> Vec<String> {
    let (linpos, pen) = q
        .callers
        .iter()
        .find(|c| c.id == id)
        .map_or((0, Penalties::default()), |c| (c.linpos, c.penalties));
    let mut ranked: Vec<(u64, usize)> = (0..q.members.len())
        .filter(|&i| ringable(q, &q.members[i], &pen, now, states, shared))
        .map(|i| (metric(q, i, linpos, now, shared, rng), i))
        .collect();
    ranked.sort();
    if q.def.strategy == Strategy::RingAll {
        let best = ranked.first().map(|(m, _)| *m);
        ranked.retain(|(m, _)| Some(*m) == best);
    }
    ranked
        .into_iter()
        .map(|(_, i)| q.members[i].interface.clone())
        .collect()
}
