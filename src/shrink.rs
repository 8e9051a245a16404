//! Giving memory back after a burst: a table that a flood grew keeps its capacity (a
//! `HashMap`, `VecDeque` or slab never shrinks by itself), so the engine's 5 s sweep timer
//! asks each table that network input can grow to shrink once it is mostly empty — below a
//! quarter of its capacity and above a floor, down to room for twice what it holds (at
//! least the floor). Ordinary traffic never trips it; after a flood each table pays one
//! reallocation.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};

/// Capacities up to this many entries are kept whatever the load (not worth a reallocation).
pub const FLOOR: usize = 1024;

/// True when a table holding `len` entries in room for `capacity` should shrink.
pub fn worth(len: usize, capacity: usize) -> bool {
    capacity > FLOOR && len < capacity / 4
}

/// The capacity a shrunk table keeps: twice what it holds, at least the floor.
fn target(len: usize) -> usize {
    len.saturating_mul(2).max(FLOOR)
}

/// Shrinks a mostly empty map.
pub fn map<K: Eq + Hash, V, S: BuildHasher>(m: &mut HashMap<K, V, S>) {
    if worth(m.len(), m.capacity()) {
        m.shrink_to(target(m.len()));
    }
}

/// Shrinks a mostly empty deque.
pub fn deque<T>(d: &mut VecDeque<T>) {
    if worth(d.len(), d.capacity()) {
        d.shrink_to(target(d.len()));
    }
}

/// Shrinks a mostly empty vector.
pub fn vec<T>(v: &mut Vec<T>) {
    if worth(v.len(), v.capacity()) {
        v.shrink_to(target(v.len()));
    }
}

/// What the engine's tables held at the last sweep, to tell when a burst's state went: then
/// the sweep asks the driver to give the freed heap back ([`crate::flow::Job::TrimHeap`];
/// glibc keeps it otherwise, see the binary's `heap_trim.rs`). Ordinary traffic never moves
/// these figures by half between two sweeps, so the trim runs only after a burst.
#[derive(Debug, Default)]
pub struct BurstWatch {
    entries: usize,
    bytes: usize,
}

impl BurstWatch {
    /// Bytes whose going is worth a trim (a few pages would not be).
    pub const BYTES: usize = 1 << 20;

    /// Takes this sweep's figures (entries in the tables, bytes they hold); true when at
    /// least half of what the last sweep saw went, and that was at least [`FLOOR`] entries
    /// or [`BurstWatch::BYTES`].
    pub fn gone(&mut self, entries: usize, bytes: usize) -> bool {
        let before = std::mem::replace(self, BurstWatch { entries, bytes });
        let halved = |was: usize, now: usize, least: usize| {
            let went = was.saturating_sub(now);
            went >= least && went * 2 >= was
        };
        halved(before.entries, entries, FLOOR) || halved(before.bytes, bytes, Self::BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_only_when_mostly_empty_and_above_the_floor() {
        let mut m: HashMap<u32, u32> = (0..100_000).map(|i| (i, i)).collect();
        m.retain(|k, _| *k < 30_000);
        let grown = m.capacity();
        map(&mut m);
        assert_eq!(m.capacity(), grown, "30 % full: kept");
        m.retain(|k, _| *k < 100);
        map(&mut m);
        assert!(
            m.capacity() >= FLOOR && m.capacity() < 4 * FLOOR,
            "{}",
            m.capacity()
        );
        assert_eq!(m.len(), 100);
        let mut d: VecDeque<u32> = (0..500).collect();
        d.clear();
        let small = d.capacity();
        deque(&mut d);
        assert_eq!(d.capacity(), small, "under the floor: kept");
        let mut v: Vec<u8> = Vec::with_capacity(1 << 20);
        v.push(1);
        vec(&mut v);
        assert!(v.capacity() < 4 * FLOOR && v == [1]);
    }

    #[test]
    fn a_burst_is_gone_when_half_of_it_went() {
        let mut w = BurstWatch::default();
        assert!(!w.gone(40_000, 30 << 20), "growing");
        assert!(!w.gone(30_000, 25 << 20), "a quarter went");
        assert!(w.gone(10_000, 8 << 20), "two thirds went");
        assert!(!w.gone(10_000, 8 << 20), "steady");
        assert!(w.gone(5_000, 8 << 20), "half of the entries");
        assert!(w.gone(5_000, 3 << 20), "half of the bytes");
        assert!(w.gone(600, 300 << 10), "4 400 entries went");
        // Small tables: a few hundred entries and kilobytes coming and going are traffic.
        assert!(!w.gone(100, 100 << 10), "500 entries and 200 KB went");
        assert!(!w.gone(0, 0), "100 entries went");
    }
}
