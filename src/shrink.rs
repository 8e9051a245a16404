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

/// Asks the allocator to give back freed heap: with glibc, a request of a "large bin" size
/// (over 1 KB, under the mmap threshold) merges the freed small chunks it holds in fast bins
/// (which otherwise pin the heap), and freeing it again lets the merged top of the heap go
/// back to the OS past `M_TRIM_THRESHOLD`. Safe Rust cannot call `malloc_trim`; this is the
/// same effect for a heap whose freed part is at its top. (With the unit's tunables a flood's
/// heap came back as with fast bins off, `glibc.malloc.mxfast=0`; this call's share of that is
/// not measured on its own.)
pub fn nudge_allocator() {
    drop(std::hint::black_box(Vec::<u8>::with_capacity(4096)));
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
}
