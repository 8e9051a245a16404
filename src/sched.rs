//! The scheduler: a deadline-ordered heap of cancellable timers, Asterisk's `ast_sched` done
//! with handles instead of callbacks.
//!
//! A timer is data: a payload (what the timer means, chosen by the owner), a deadline and a
//! [`TimerId`] that pairs a slab key with a generation, so cancelling or matching a timer whose
//! slot was since reused can never touch the new occupant. Cancellation is lazy: the heap keeps
//! the stale entry until it surfaces or until compaction, which keeps the heap within a constant
//! factor of the live timers.

use slab::Slab;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A handle to a scheduled timer; stale handles are harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId {
    key: u32,
    generation: u32,
}

struct Slot<T> {
    generation: u32,
    deadline: Instant,
    payload: T,
}

/// A deadline-ordered heap of timers carrying payloads of type `T`.
pub struct Scheduler<T> {
    heap: BinaryHeap<Reverse<(Instant, u64, u32, u32)>>,
    slots: Slab<Slot<T>>,
    next_generation: u32,
    sequence: u64,
}

impl<T> Default for Scheduler<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Scheduler<T> {
    /// An empty scheduler.
    pub fn new() -> Self {
        Scheduler {
            heap: BinaryHeap::new(),
            slots: Slab::new(),
            next_generation: 1,
            sequence: 0,
        }
    }

    /// Schedules `payload` to fire at `deadline`.
    pub fn schedule(&mut self, deadline: Instant, payload: T) -> TimerId {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        let key = self.slots.insert(Slot {
            generation,
            deadline,
            payload,
        }) as u32;
        // The sequence number keeps timers with equal deadlines in scheduling order.
        self.sequence += 1;
        self.heap
            .push(Reverse((deadline, self.sequence, key, generation)));
        self.compact_if_bloated();
        TimerId { key, generation }
    }

    /// Cancels a timer; returns its payload if it was still pending.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let key = id.key as usize;
        match self.slots.get(key) {
            Some(slot) if slot.generation == id.generation => Some(self.slots.remove(key).payload),
            _ => None,
        }
    }

    /// True if the timer is still pending.
    pub fn is_pending(&self, id: TimerId) -> bool {
        matches!(self.slots.get(id.key as usize), Some(s) if s.generation == id.generation)
    }

    /// The deadline of a pending timer.
    pub fn deadline(&self, id: TimerId) -> Option<Instant> {
        match self.slots.get(id.key as usize) {
            Some(s) if s.generation == id.generation => Some(s.deadline),
            _ => None,
        }
    }

    /// The earliest deadline among scheduled timers (possibly of a cancelled one, which only
    /// costs a spurious wake-up). This is the event loop's poll timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((d, ..))| *d)
    }

    /// Removes and returns the earliest timer due at `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TimerId, T)> {
        while let Some(Reverse((deadline, _, key, generation))) = self.heap.peek().copied() {
            if deadline > now {
                return None;
            }
            self.heap.pop();
            let id = TimerId { key, generation };
            if let Some(payload) = self.cancel(id) {
                return Some((id, payload));
            }
        }
        None
    }

    /// Number of pending timers.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn compact_if_bloated(&mut self) {
        if self.heap.len() > 64 && self.heap.len() > 2 * self.slots.len() {
            let slots = &self.slots;
            self.heap.retain(|Reverse((_, _, key, generation))| {
                matches!(slots.get(*key as usize), Some(s) if s.generation == *generation)
            });
        }
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_order_and_skips_cancelled() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let a = s.schedule(t0 + Duration::from_millis(30), "a");
        let _b = s.schedule(t0 + Duration::from_millis(10), "b");
        let _c = s.schedule(t0 + Duration::from_millis(20), "c");
        assert_eq!(s.cancel(a), Some("a"));
        assert_eq!(s.cancel(a), None, "double cancel is harmless");
        assert_eq!(s.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert!(s.pop_due(t0 + Duration::from_millis(5)).is_none());
        let due: Vec<_> = std::iter::from_fn(|| s.pop_due(t0 + Duration::from_secs(1)))
            .map(|(_, p)| p)
            .collect();
        assert_eq!(due, vec!["b", "c"]);
        assert!(s.is_empty());
    }

    #[test]
    fn stale_handle_cannot_cancel_reused_slot() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let old = s.schedule(t0, 1);
        assert_eq!(s.pop_due(t0).map(|(_, p)| p), Some(1));
        let new = s.schedule(t0, 2);
        assert_eq!(s.cancel(old), None);
        assert!(s.is_pending(new));
    }

    #[test]
    fn heap_stays_bounded_under_schedule_cancel_churn() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        for i in 0..100_000u64 {
            let id = s.schedule(t0 + Duration::from_secs(3600 + i), i);
            s.cancel(id);
        }
        assert!(s.heap.len() <= 130, "heap grew to {}", s.heap.len());
    }
}
