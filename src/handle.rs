//! Generation-checked handles over a slab: the one handle type of the scheduler, the
//! transaction tables and the call table.
//!
//! Slab keys are reused after removal; pairing each key with a generation means a late timer,
//! response or event for a removed entry can never reach the entry that reused its slot. The
//! handle's type parameter names what it points at (`Handle<CallTag>`, `Handle<TxTag>`), so a
//! transaction handle cannot be used on the call table.

use slab::Slab;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A handle to an entry of a [`GenSlab`] whose handles are tagged `T`.
pub struct Handle<T> {
    index: u32,
    /// Never zero (the slab's counter skips it), so an `Option<Handle>` is 8 bytes.
    generation: std::num::NonZeroU32,
    tag: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    fn new(index: u32, generation: u32) -> Handle<T> {
        Handle {
            index,
            generation: std::num::NonZeroU32::new(generation).unwrap_or(std::num::NonZeroU32::MIN),
            tag: PhantomData,
        }
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Handle<T> {}

impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.generation == other.generation
    }
}

impl<T> Eq for Handle<T> {}

impl<T> Hash for Handle<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
        self.generation.hash(state);
    }
}

impl<T> PartialOrd for Handle<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Handle<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.index, self.generation).cmp(&(other.index, other.generation))
    }
}

impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// A slab of `V`s addressed by `Handle<T>`s.
pub struct GenSlab<T, V> {
    slots: Slab<(u32, V)>,
    next_generation: u32,
    tag: PhantomData<fn() -> T>,
}

impl<T, V> Default for GenSlab<T, V> {
    fn default() -> Self {
        GenSlab {
            slots: Slab::new(),
            next_generation: 1,
            tag: PhantomData,
        }
    }
}

impl<T, V> GenSlab<T, V> {
    /// An empty slab.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value`; its handle is valid until it is removed.
    pub fn insert(&mut self, value: V) -> Handle<T> {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        let index = self.slots.insert((generation, value)) as u32;
        Handle::new(index, generation)
    }

    /// The entry behind a handle; None for a stale one.
    pub fn get(&self, h: Handle<T>) -> Option<&V> {
        match self.slots.get(h.index as usize) {
            Some((g, v)) if *g == h.generation.get() => Some(v),
            _ => None,
        }
    }

    /// The entry behind a handle, mutably.
    pub fn get_mut(&mut self, h: Handle<T>) -> Option<&mut V> {
        match self.slots.get_mut(h.index as usize) {
            Some((g, v)) if *g == h.generation.get() => Some(v),
            _ => None,
        }
    }

    /// True while the handle's entry is stored.
    pub fn contains(&self, h: Handle<T>) -> bool {
        self.get(h).is_some()
    }

    /// Removes the entry behind a handle.
    pub fn remove(&mut self, h: Handle<T>) -> Option<V> {
        self.get(h)?;
        Some(self.slots.remove(h.index as usize).1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Gives back the room of vacant slots past the last entry once the slab is mostly
    /// empty ([`crate::shrink::worth`]). Entries never move, so handles stay valid; the
    /// generation counter is the slab's own, so a reused index never repeats a generation.
    pub fn shrink(&mut self) {
        if crate::shrink::worth(self.slots.len(), self.slots.capacity()) {
            self.slots.shrink_to_fit();
        }
    }

    /// Room for this many entries without reallocating.
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Stores the value `make` builds from its own handle.
    pub fn insert_with(&mut self, make: impl FnOnce(Handle<T>) -> V) -> Handle<T> {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        let entry = self.slots.vacant_entry();
        let h = Handle::new(entry.key() as u32, generation);
        entry.insert((generation, make(h)));
        h
    }

    /// Every entry with its handle.
    pub fn iter(&self) -> impl Iterator<Item = (Handle<T>, &V)> {
        self.slots
            .iter()
            .map(|(i, (g, v))| (Handle::new(i as u32, *g), v))
    }
}

/// What a [`CallHandle`] points at.
pub struct CallTag;

/// A handle to a call in the call table.
pub type CallHandle = Handle<CallTag>;

/// A leg of a call: its position in the call's legs (legs are never removed while the call
/// lives, so the position is stable).
pub type LegId = usize;

#[cfg(test)]
mod tests {
    use super::*;

    struct Tag;

    #[test]
    fn stale_handle_does_not_see_the_reused_slot() {
        let mut s: GenSlab<Tag, &str> = GenSlab::new();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!(s.remove(a), None, "double remove is harmless");
        let b = s.insert("b");
        assert!(s.get(a).is_none(), "same slot, other generation");
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.iter().map(|(h, _)| h).collect::<Vec<_>>(), vec![b]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn shrinking_keeps_handles_and_never_repeats_a_generation() {
        let mut s: GenSlab<Tag, u32> = GenSlab::new();
        let hs: Vec<_> = (0..10_000).map(|i| s.insert(i)).collect();
        for h in &hs[100..] {
            s.remove(*h);
        }
        s.shrink();
        assert!(
            s.capacity() < 1_000,
            "trailing room given back: {}",
            s.capacity()
        );
        assert!(hs[..100]
            .iter()
            .enumerate()
            .all(|(i, h)| s.get(*h) == Some(&(i as u32))));
        let again = s.insert(7);
        assert!(hs.iter().all(|h| *h != again), "a new generation");
    }
}
