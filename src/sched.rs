//! The scheduler: a deadline-ordered heap of cancellable timers, Asterisk's `ast_sched` done
//! with handles instead of callbacks.
//!
//! A timer is data: a payload (what the timer means, chosen by the owner), a deadline and a
//! [`TimerId`] that pairs a slab key with a generation, so cancelling or matching a timer whose
//! slot was since reused can never touch the new occupant. Cancellation is lazy: the heap keeps
//! the stale entry until it surfaces or until compaction, which keeps the heap within a constant
//! factor of the live timers.

use crate::handle::{GenSlab, Handle};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::marker::PhantomData;
use std::time::Instant;

/// What a [`TimerId`] points at.
pub struct TimerTag;

/// A handle to a scheduled timer; stale handles are harmless.
pub type TimerId = Handle<TimerTag>;

/// A deadline-ordered heap of timers carrying payloads of type `T`.
pub struct Scheduler<T> {
    heap: BinaryHeap<Reverse<(Instant, u64, TimerId)>>,
    slots: GenSlab<TimerTag, (Instant, T)>,
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
            slots: GenSlab::new(),
            sequence: 0,
        }
    }

    /// Schedules `payload` to fire at `deadline`.
    pub fn schedule(&mut self, deadline: Instant, payload: T) -> TimerId {
        let id = self.slots.insert((deadline, payload));
        // The sequence number keeps timers with equal deadlines in scheduling order.
        self.sequence += 1;
        self.heap.push(Reverse((deadline, self.sequence, id)));
        self.compact_if_bloated();
        id
    }

    /// Cancels a timer; returns its payload if it was still pending. Cancelled entries that
    /// reach the top of the heap are dropped at once, so the poll timeout never wakes the loop
    /// for a timer that no longer exists (a cancelled retransmission timer at the top cost a
    /// spurious wake-up per call before).
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let payload = self.slots.remove(id).map(|(_, p)| p);
        while let Some(Reverse((_, _, top))) = self.heap.peek() {
            if self.slots.contains(*top) {
                break;
            }
            self.heap.pop();
        }
        payload
    }

    /// True if the timer is still pending.
    pub fn is_pending(&self, id: TimerId) -> bool {
        self.slots.contains(id)
    }

    /// The deadline of a pending timer.
    pub fn deadline(&self, id: TimerId) -> Option<Instant> {
        self.slots.get(id).map(|(d, _)| *d)
    }

    /// The earliest deadline among scheduled timers (never a cancelled one: see
    /// [`Scheduler::cancel`]). This is the event loop's poll timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((d, ..))| *d)
    }

    /// Removes and returns the earliest timer due at `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TimerId, T)> {
        while let Some(Reverse((deadline, _, id))) = self.heap.peek().copied() {
            if deadline > now {
                return None;
            }
            self.heap.pop();
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

    /// Bytes one pending timer takes: its heap entry and its slab slot (the generation, the
    /// deadline, the payload and the slab's vacant/occupied word).
    pub fn bytes_per_timer() -> usize {
        std::mem::size_of::<Reverse<(Instant, u64, TimerId)>>()
            + std::mem::size_of::<(u32, (Instant, T))>()
            + std::mem::size_of::<usize>()
    }

    /// Gives back room a burst of timers left ([`crate::shrink`]): cancelled entries leave
    /// the heap, then heap and slots shrink if mostly empty.
    pub fn shrink(&mut self) {
        if crate::shrink::worth(self.heap.len(), self.heap.capacity())
            || self.heap.len() > 2 * self.slots.len()
        {
            let slots = &self.slots;
            self.heap.retain(|Reverse((_, _, id))| slots.contains(*id));
            if crate::shrink::worth(self.heap.len(), self.heap.capacity()) {
                self.heap
                    .shrink_to(self.heap.len().saturating_mul(2).max(crate::shrink::FLOOR));
            }
        }
        self.slots.shrink();
    }

    fn compact_if_bloated(&mut self) {
        if self.heap.len() > 64 && self.heap.len() > 2 * self.slots.len() {
            let slots = &self.slots;
            self.heap.retain(|Reverse((_, _, id))| slots.contains(*id));
        }
    }
}

/// A closed set of timer kinds of one owner (a transaction's A–K, a call's, a peer's), at
/// most as many as its [`TimerSlots`] has slots ([`SLOTS`] unless it names another count).
pub trait TimerKindSet: Copy {
    /// The kind's slot, below its slot count.
    fn slot(self) -> usize;
}

/// How many kinds one owner may have by default (a transaction's, a peer's); an owner with
/// more kinds (a call's) names its own count, so small owners don't pay for big ones.
pub const SLOTS: usize = 16;

/// The scheduler ids of one owner's running timers, one slot per kind: starting a kind
/// replaces its running timer, and [`TimerSlots::stop_all`] cancels every timer of the owner in
/// one call (a call or transaction that ends can't leave one behind).
pub struct TimerSlots<K, const N: usize = SLOTS> {
    ids: [Option<TimerId>; N],
    kind: PhantomData<fn() -> K>,
}

impl<K, const N: usize> Default for TimerSlots<K, N> {
    fn default() -> Self {
        TimerSlots {
            ids: [None; N],
            kind: PhantomData,
        }
    }
}

impl<K, const N: usize> std::fmt::Debug for TimerSlots<K, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ids.iter().flatten()).finish()
    }
}

impl<K: TimerKindSet, const N: usize> TimerSlots<K, N> {
    /// Schedules `payload` at `deadline` for `kind`, cancelling the timer of that kind that
    /// was running.
    pub fn start<T>(&mut self, sched: &mut Scheduler<T>, kind: K, deadline: Instant, payload: T) {
        let id = sched.schedule(deadline, payload);
        if let Some(old) = self.ids[kind.slot()].replace(id) {
            sched.cancel(old);
        }
    }

    /// Cancels the timer of `kind`, if running.
    pub fn stop<T>(&mut self, sched: &mut Scheduler<T>, kind: K) {
        if let Some(old) = self.ids[kind.slot()].take() {
            sched.cancel(old);
        }
    }

    /// Cancels every running timer.
    pub fn stop_all<T>(&mut self, sched: &mut Scheduler<T>) {
        for id in self.ids.iter_mut().filter_map(Option::take) {
            sched.cancel(id);
        }
    }

    /// A timer of `kind` with `id` popped from the heap: true (and the slot cleared) if it is
    /// the current one, false if it is stale and must be ignored.
    pub fn fired(&mut self, kind: K, id: TimerId) -> bool {
        let slot = &mut self.ids[kind.slot()];
        if *slot == Some(id) {
            *slot = None;
            true
        } else {
            false
        }
    }

    /// The id of the running timer of `kind`, if any.
    pub fn get(&self, kind: K) -> Option<TimerId> {
        self.ids[kind.slot()]
    }

    /// True when `kind` is running.
    pub fn is_running(&self, kind: K) -> bool {
        self.ids[kind.slot()].is_some()
    }

    /// True when no timer is recorded.
    pub fn is_empty(&self) -> bool {
        self.ids.iter().all(Option::is_none)
    }

    /// How many timers are recorded as running.
    pub fn running(&self) -> usize {
        self.ids.iter().filter(|id| id.is_some()).count()
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
    fn a_cancelled_timer_never_sets_the_poll_timeout() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let first = s.schedule(t0 + Duration::from_millis(10), "retransmit");
        let second = s.schedule(t0 + Duration::from_millis(20), "also cancelled");
        let _live = s.schedule(t0 + Duration::from_secs(32), "linger");
        s.cancel(second);
        assert_eq!(s.next_deadline(), Some(t0 + Duration::from_millis(10)));
        s.cancel(first);
        assert_eq!(
            s.next_deadline(),
            Some(t0 + Duration::from_secs(32)),
            "no wake-up at 10 or 20 ms for timers that are gone"
        );
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
    fn a_burst_of_timers_gives_its_room_back() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let ids: Vec<_> = (0..20_000u64)
            .map(|i| s.schedule(t0 + Duration::from_millis(i), i))
            .collect();
        for id in &ids[5..] {
            s.cancel(*id);
        }
        s.shrink();
        assert!(
            s.heap.capacity() <= 2 * crate::shrink::FLOOR,
            "{}",
            s.heap.capacity()
        );
        assert!(s.slots.capacity() <= crate::shrink::FLOOR);
        assert_eq!(s.len(), 5);
        assert_eq!(s.pop_due(t0 + Duration::from_secs(60)), Some((ids[0], 0)));
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
