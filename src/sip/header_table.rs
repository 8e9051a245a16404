//! The table of a message's header entries: a `Vec` whose buffer comes from, and goes back
//! to, a small per-thread free list. Each parsed and each built message had a `Vec` of its
//! own (17 of a bench call's 211 allocations). Keeping the entries inline in the message
//! instead (12 slots) removed those allocations too but made every message ~480 bytes larger
//! to build, move and drop: +8 400 instructions per call, more than the allocations cost.
//! A reused buffer costs a pop and a push.
//!
//! Bounded: at most [`POOLED`] buffers of at most [`POOLED_CAPACITY`] entries are kept
//! (~330 KB); larger or further ones go back to the allocator.

use std::cell::RefCell;

use super::headers::Entry;

/// Room for the entries of a typical message (a bench call's have at most 13).
pub(crate) const TYPICAL: usize = 16;
/// Free buffers kept per thread.
const POOLED: usize = 256;
/// Buffers with more room than this are freed, not kept.
const POOLED_CAPACITY: usize = 32;

thread_local! {
    static FREE: RefCell<Vec<Vec<Entry>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Debug, Default)]
pub(super) struct Table {
    v: Vec<Entry>,
}

impl Clone for Table {
    fn clone(&self) -> Self {
        let mut t = Table::with_capacity(self.v.len());
        t.v.extend(self.v.iter().cloned());
        t
    }
}

impl Table {
    /// Room for `count` entries, in a reused buffer when one is free.
    pub(super) fn with_capacity(count: usize) -> Table {
        let reused = FREE
            .try_with(|f| f.try_borrow_mut().ok().and_then(|mut f| f.pop()))
            .ok()
            .flatten();
        let v = match reused {
            Some(mut v) => {
                v.reserve(count);
                v
            }
            None => Vec::with_capacity(count.max(TYPICAL)),
        };
        Table { v }
    }

    #[inline]
    pub(super) fn as_slice(&self) -> &[Entry] {
        &self.v
    }

    #[inline]
    pub(super) fn as_mut_slice(&mut self) -> &mut [Entry] {
        &mut self.v
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.v.len()
    }

    #[inline]
    pub(super) fn push(&mut self, item: Entry) {
        self.v.push(item);
    }

    /// Inserts `item` at `at` (clamped to the length), shifting the rest up.
    pub(super) fn insert(&mut self, at: usize, item: Entry) {
        let at = at.min(self.v.len());
        self.v.insert(at, item);
    }

    /// Keeps the entries `keep` says yes to, in order.
    pub(super) fn retain(&mut self, keep: impl FnMut(&Entry) -> bool) {
        self.v.retain(keep);
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let cap = self.v.capacity();
        if cap == 0 || cap > POOLED_CAPACITY {
            return;
        }
        let mut v = std::mem::take(&mut self.v);
        v.clear();
        // During thread exit the list may be gone: the buffer is simply freed then.
        let _ = FREE.try_with(|f| {
            if let Ok(mut f) = f.try_borrow_mut() {
                if f.len() < POOLED {
                    f.push(v);
                }
            }
        });
    }
}

/// How many free buffers this thread holds (for the tests).
#[cfg(test)]
fn free_count() -> usize {
    FREE.with(|f| f.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_bounded() {
        let before = free_count();
        let t = Table::with_capacity(4);
        let ptr = t.v.as_ptr();
        drop(t);
        assert_eq!(free_count(), before + 1);
        let t = Table::with_capacity(4);
        assert_eq!(t.v.as_ptr(), ptr, "the freed buffer is handed out again");
        assert_eq!(free_count(), before);
        drop(t);
        // A large buffer is not kept.
        let big = Table::with_capacity(POOLED_CAPACITY + 1);
        let n = free_count();
        drop(big);
        assert_eq!(free_count(), n);
        // Nor more than POOLED of them.
        let many: Vec<Table> = (0..POOLED + 10).map(|_| Table::with_capacity(1)).collect();
        drop(many);
        assert_eq!(free_count(), POOLED);
    }
}
