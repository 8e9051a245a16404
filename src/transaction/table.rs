//! A bounded table of transactions under their keys, with generation-checked handles, and the
//! per-transaction record of scheduled timers.

use super::TimerKind;
use crate::handle::GenSlab;
use crate::hash::KeyedState;
#[cfg(test)]
use crate::sched::Scheduler;
use std::collections::HashMap;
use std::hash::Hash;
#[cfg(test)]
use std::time::Instant;

/// What a transaction [`Handle`] points at.
pub struct TxTag;

/// A handle to a table entry: a slab index and a generation, so a late timer or event for a
/// removed transaction can never reach the one that reused its slot.
pub type Handle = crate::handle::Handle<TxTag>;

/// Why an insert failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError {
    /// The table holds its maximum: answer 503 with Retry-After.
    Full,
    /// A transaction already has this key (a retransmission, not a new request).
    Duplicate(Handle),
}

/// The scheduler ids of one transaction's running timers: two slots, since no machine runs
/// more than a retransmission timer and a timeout or linger timer at once (A+B, E+F, G+H;
/// D, I, J, K, L, M alone). 24 bytes per transaction instead of one slot per kind.
pub type TimerSlots = crate::sched::TimerSlots<TimerKind, 2>;

impl crate::sched::TimerKindSet for TimerKind {
    fn slot(self) -> usize {
        match self {
            TimerKind::A | TimerKind::E | TimerKind::G | TimerKind::Retransmit2xx => 0,
            TimerKind::B
            | TimerKind::D
            | TimerKind::F
            | TimerKind::H
            | TimerKind::I
            | TimerKind::J
            | TimerKind::K
            | TimerKind::L
            | TimerKind::M
            | TimerKind::WaitAck => 1,
        }
    }
}

/// Heap bytes a stored key or transaction owns (a counting measure for
/// [`TransactionTable::retained_bytes`]: requested sizes summed, without the allocator's
/// per-block overhead).
pub trait HeapBytes {
    /// Bytes on the heap this value owns (for shared buffers: its share, or all of it when
    /// nothing else holds them).
    fn heap_bytes(&self) -> usize;
}

/// The heap bytes of a shared byte buffer: the two counts `Rc` keeps and the bytes.
pub(crate) fn rc_bytes(b: &[u8]) -> usize {
    2 * std::mem::size_of::<usize>() + b.len()
}

/// The bytes a std `HashMap` of `cap` capacity and `entry`-byte entries allocates: buckets a
/// power of two at most 7/8 full, one control byte each plus a group's worth.
pub(crate) fn map_bytes(cap: usize, entry: usize) -> usize {
    if cap == 0 {
        return 0;
    }
    let buckets = if cap < 8 {
        (cap + 1).next_power_of_two()
    } else {
        (cap * 8 / 7).next_power_of_two()
    };
    buckets * (entry + 1) + 16
}

struct Entry<K, T> {
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
/// at most `max` of them. Keys are peer-chosen, so the index hashes with a per-table secret
/// ([`crate::hash::KeyedState`]: keyed like SipHash, about half its cost).
pub struct TransactionTable<K, T> {
    entries: GenSlab<TxTag, Entry<K, T>>,
    index: HashMap<K, Handle, KeyedState>,
    max: usize,
}

impl<K: Clone + Eq + Hash, T> TransactionTable<K, T> {
    /// An empty table holding at most `max` transactions (at most `u32::MAX`).
    pub fn new(max: usize) -> Self {
        TransactionTable {
            entries: GenSlab::new(),
            index: HashMap::with_hasher(KeyedState::new()),
            max: max.min(u32::MAX as usize),
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
        use std::collections::hash_map::Entry as Slot;
        let full = self.is_full();
        // One hash of the key for both the duplicate check and the insert.
        match self.index.entry(key) {
            Slot::Occupied(taken) => Err(InsertError::Duplicate(*taken.get())),
            Slot::Vacant(_) if full => Err(InsertError::Full),
            Slot::Vacant(room) => {
                let handle = self.entries.insert(Entry {
                    key: room.key().clone(),
                    value,
                    timers: TimerSlots::default(),
                });
                room.insert(handle);
                Ok(handle)
            }
        }
    }

    /// The handle of the transaction under `key`.
    pub fn find(&self, key: &K) -> Option<Handle> {
        self.index.get(key).copied()
    }

    /// The handle of the transaction whose key has these bytes (a lookup that builds no key).
    pub fn find_bytes(&self, key: &[u8]) -> Option<Handle>
    where
        K: std::borrow::Borrow<[u8]>,
    {
        self.index.get(key).copied()
    }

    /// Every live transaction with its timers, for measures.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &T, &TimerSlots)> {
        self.entries
            .iter()
            .map(|(_, e)| (&e.key, &e.value, &e.timers))
    }

    /// Bytes the table holds: its slab and index at their capacities, plus what each key
    /// and transaction owns on the heap (keys are shared by entry and index: counted once),
    /// plus `per_timer` bytes for each running timer (the scheduler's share).
    pub fn retained_bytes(&self, per_timer: usize) -> usize
    where
        K: HeapBytes,
        T: HeapBytes,
    {
        // A slab slot: the generation, the entry and the vacant/occupied word.
        let slot = std::mem::size_of::<(u32, Entry<K, T>)>() + std::mem::size_of::<usize>();
        let index = map_bytes(self.index.capacity(), std::mem::size_of::<(K, Handle)>());
        let owned: usize = self
            .iter()
            .map(|(k, v, t)| k.heap_bytes() + v.heap_bytes() + t.running() * per_timer)
            .sum();
        self.entries.capacity() * slot + index + owned
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
        let entry = self.entries.remove(handle)?;
        self.index.remove(&entry.key);
        Some(Removed {
            key: entry.key,
            value: entry.value,
            timers: entry.timers,
        })
    }

    /// Gives back the room a burst of transactions left ([`crate::shrink`]).
    pub fn shrink(&mut self) {
        self.entries.shrink();
        crate::shrink::map(&mut self.index);
    }

    /// Room for this many transactions without reallocating.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    fn entry(&self, handle: Handle) -> Option<&Entry<K, T>> {
        self.entries.get(handle)
    }

    fn entry_mut(&mut self, handle: Handle) -> Option<&mut Entry<K, T>> {
        self.entries.get_mut(handle)
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn no_machine_runs_two_timers_of_one_slot() {
        use crate::sched::TimerKindSet;
        use TimerKind::*;
        // The pairs that run together (RFC 3261 §17): retransmission + timeout.
        for (a, b) in [(A, B), (E, F), (G, H), (Retransmit2xx, WaitAck)] {
            assert_ne!(a.slot(), b.slot(), "{a:?} {b:?}");
        }
        for k in [A, B, D, E, F, G, H, I, J, K, L, M, Retransmit2xx, WaitAck] {
            assert!(k.slot() < 2);
        }
    }

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
    fn a_drained_table_gives_its_room_back() {
        let mut t: TransactionTable<u32, [u8; 64]> = TransactionTable::new(100_000);
        let hs: Vec<_> = (0..50_000).map(|k| t.insert(k, [0; 64]).unwrap()).collect();
        let grown = t.capacity();
        t.shrink();
        assert_eq!(t.capacity(), grown, "full: kept");
        for h in &hs[10..] {
            t.remove(*h);
        }
        t.shrink();
        assert!(t.capacity() <= crate::shrink::FLOOR, "{}", t.capacity());
        assert!(t.index.capacity() < 4 * crate::shrink::FLOOR);
        assert_eq!(
            (t.len(), t.find(&3), t.get(hs[3])),
            (10, Some(hs[3]), Some(&[0; 64]))
        );
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
