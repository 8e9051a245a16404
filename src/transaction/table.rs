//! A bounded table of transactions under their keys, with generation-checked handles, and the
//! per-transaction record of scheduled timers.

use super::TimerKind;
use crate::sched::{Scheduler, TimerId};
use slab::Slab;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// A handle to a table entry: a slab index and a generation, so a late timer or event for a
/// removed transaction can never reach the one that reused its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle {
    index: u32,
    generation: u32,
}

/// Why an insert failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError {
    /// The table holds its maximum: answer 503 with Retry-After.
    Full,
    /// A transaction already has this key (a retransmission, not a new request).
    Duplicate(Handle),
}

/// The scheduler ids of one transaction's running timers, one slot per [`TimerKind`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TimerSlots {
    ids: [Option<TimerId>; TimerKind::COUNT],
}

impl TimerSlots {
    /// Schedules `payload` at `deadline` for `kind` ([`super::Action::StartTimer`]),
    /// cancelling the timer of that kind that was running.
    pub fn start<T>(
        &mut self,
        sched: &mut Scheduler<T>,
        kind: TimerKind,
        deadline: Instant,
        payload: T,
    ) {
        let id = sched.schedule(deadline, payload);
        if let Some(old) = self.ids[kind.index()].replace(id) {
            sched.cancel(old);
        }
    }

    /// Cancels the timer of `kind`, if running ([`super::Action::StopTimer`]).
    pub fn stop<T>(&mut self, sched: &mut Scheduler<T>, kind: TimerKind) {
        if let Some(old) = self.ids[kind.index()].take() {
            sched.cancel(old);
        }
    }

    /// Cancels every running timer ([`super::Action::Terminated`], or after removal).
    pub fn stop_all<T>(&mut self, sched: &mut Scheduler<T>) {
        for id in self.ids.iter_mut().filter_map(Option::take) {
            sched.cancel(id);
        }
    }

    /// A timer of `kind` with `id` popped from the heap: true (and the slot cleared) if it is
    /// the current one, false if it is stale and must be ignored.
    pub fn fired(&mut self, kind: TimerKind, id: TimerId) -> bool {
        let slot = &mut self.ids[kind.index()];
        if *slot == Some(id) {
            *slot = None;
            true
        } else {
            false
        }
    }

    /// The id of the running timer of `kind`, if any.
    pub fn get(&self, kind: TimerKind) -> Option<TimerId> {
        self.ids[kind.index()]
    }

    /// True when no timer is recorded.
    pub fn is_empty(&self) -> bool {
        self.ids.iter().all(Option::is_none)
    }
}

struct Entry<K, T> {
    generation: u32,
    key: K,
    value: T,
    timers: TimerSlots,
}

/// What [`TransactionTable::remove`] hands back. Cancel `timers` with
/// [`TimerSlots::stop_all`].
#[derive(Debug)]
pub struct Removed<K, T> {
    /// The key the transaction was stored under.
    pub key: K,
    /// The transaction.
    pub value: T,
    /// Its timers still recorded as running.
    pub timers: TimerSlots,
}

/// Transactions of type `T` under keys `K` ([`super::ClientKey`] or [`super::ServerKey`]),
/// at most `max` of them. Keys are peer-chosen, so the index is a SipHash `HashMap`.
pub struct TransactionTable<K, T> {
    entries: Slab<Entry<K, T>>,
    index: HashMap<K, Handle>,
    max: usize,
    next_generation: u32,
}

impl<K: Clone + Eq + Hash, T> TransactionTable<K, T> {
    /// An empty table holding at most `max` transactions (at most `u32::MAX`).
    pub fn new(max: usize) -> Self {
        TransactionTable {
            entries: Slab::new(),
            index: HashMap::new(),
            max: max.min(u32::MAX as usize),
            next_generation: 1,
        }
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when an insert would fail with [`InsertError::Full`].
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.max
    }

    /// Stores `value` under `key`; fails when the key is taken or the table is full.
    pub fn insert(&mut self, key: K, value: T) -> Result<Handle, InsertError> {
        if let Some(handle) = self.index.get(&key) {
            return Err(InsertError::Duplicate(*handle));
        }
        if self.is_full() {
            return Err(InsertError::Full);
        }
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        let index = self.entries.insert(Entry {
            generation,
            key: key.clone(),
            value,
            timers: TimerSlots::default(),
        });
        let handle = Handle {
            // `max` is capped at u32::MAX, so slab indices fit.
            index: u32::try_from(index).unwrap_or(u32::MAX),
            generation,
        };
        self.index.insert(key, handle);
        Ok(handle)
    }

    /// The handle of the transaction under `key`.
    pub fn find(&self, key: &K) -> Option<Handle> {
        self.index.get(key).copied()
    }

    /// The transaction behind a live handle.
    pub fn get(&self, handle: Handle) -> Option<&T> {
        self.entry(handle).map(|e| &e.value)
    }

    /// The transaction behind a live handle, mutably.
    pub fn get_mut(&mut self, handle: Handle) -> Option<&mut T> {
        self.entry_mut(handle).map(|e| &mut e.value)
    }

    /// The transaction and its timer record, for applying actions.
    pub fn get_with_timers_mut(&mut self, handle: Handle) -> Option<(&mut T, &mut TimerSlots)> {
        self.entry_mut(handle)
            .map(|e| (&mut e.value, &mut e.timers))
    }

    /// The key of a live handle.
    pub fn key(&self, handle: Handle) -> Option<&K> {
        self.entry(handle).map(|e| &e.key)
    }

    /// Removes a transaction; `None` for a stale handle. The caller cancels `timers`.
    pub fn remove(&mut self, handle: Handle) -> Option<Removed<K, T>> {
        self.entry(handle)?;
        let entry = self.entries.remove(handle.index as usize);
        self.index.remove(&entry.key);
        Some(Removed {
            key: entry.key,
            value: entry.value,
            timers: entry.timers,
        })
    }

    fn entry(&self, handle: Handle) -> Option<&Entry<K, T>> {
        self.entries
            .get(handle.index as usize)
            .filter(|e| e.generation == handle.generation)
    }

    fn entry_mut(&mut self, handle: Handle) -> Option<&mut Entry<K, T>> {
        self.entries
            .get_mut(handle.index as usize)
            .filter(|e| e.generation == handle.generation)
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bound_duplicates_and_generations() {
        let mut t: TransactionTable<&str, u32> = TransactionTable::new(2);
        let a = t.insert("a", 1).expect("room");
        assert_eq!(t.insert("a", 9), Err(InsertError::Duplicate(a)));
        let b = t.insert("b", 2).expect("room");
        assert_eq!(t.insert("c", 3), Err(InsertError::Full));
        assert_eq!(t.find(&"b"), Some(b));
        let removed = t.remove(a).expect("live");
        assert_eq!((removed.key, removed.value), ("a", 1));
        assert!(t.remove(a).is_none(), "double remove is harmless");
        let c = t.insert("c", 3).expect("room again");
        assert_ne!(a, c, "same slot, new generation");
        assert!(t.get(a).is_none() && t.get_mut(a).is_none());
        assert_eq!(t.get(c), Some(&3));
        assert_eq!(t.find(&"a"), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn timer_slots_replace_and_detect_stale_firings() {
        let t0 = Instant::now();
        let mut sched = Scheduler::new();
        let mut slots = TimerSlots::default();
        slots.start(
            &mut sched,
            TimerKind::A,
            t0 + Duration::from_secs(1),
            "first",
        );
        let first = slots.get(TimerKind::A).expect("running");
        slots.start(
            &mut sched,
            TimerKind::A,
            t0 + Duration::from_secs(2),
            "second",
        );
        assert_eq!(sched.len(), 1, "the replaced timer was cancelled");
        assert!(!slots.fired(TimerKind::A, first));
        let (id, payload) = sched.pop_due(t0 + Duration::from_secs(5)).expect("due");
        assert_eq!(payload, "second");
        assert!(slots.fired(TimerKind::A, id));
        assert!(slots.is_empty());
        slots.start(&mut sched, TimerKind::B, t0, "b");
        slots.stop_all(&mut sched);
        assert!(sched.is_empty() && slots.is_empty());
    }
}
