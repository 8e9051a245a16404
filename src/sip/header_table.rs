//! The table of a message's header entries: a `Vec` whose buffer comes from, and goes back
//! to, a small per-thread free list. Each parsed and each built message had a `Vec` of its
//! own (17 of a bench call's 211 allocations). Keeping the entries inline in the message
//! instead (12 slots) removed those allocations too but made every message ~480 bytes larger
//! to build, move and drop: +8 400 instructions per call, more than the allocations cost.
//! A reused buffer costs a pop and a push.
//!
//! The text of a message (the one copy of a received datagram, or the lines of one being
//! built) is a [`Text`], a `String` reused the same way: 17 more allocations of a bench call.
//!
//! Bounded: at most [`POOLED`] tables of at most [`POOLED_CAPACITY`] entries (~330 KB) and
//! [`POOLED_TEXTS`] texts of at most [`POOLED_TEXT_BYTES`] (~512 KB) are kept per thread;
//! larger or further ones go back to the allocator.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::thread::LocalKey;

use super::headers::Entry;

/// Room for the entries of a typical message (a bench call's have at most 13).
pub(crate) const TYPICAL: usize = 16;
/// Free buffers kept per thread.
const POOLED: usize = 256;
/// Buffers with more room than this are freed, not kept.
const POOLED_CAPACITY: usize = 32;

/// Room a new text gets at least, so that it can serve most later messages (a bench call's
/// are 300-900 bytes).
const TYPICAL_TEXT: usize = 1024;
/// Free texts kept per thread.
const POOLED_TEXTS: usize = 128;
/// Texts with more room than this are freed, not kept (a datagram is at most 64 KB; most
/// are under 1.5 KB).
const POOLED_TEXT_BYTES: usize = 4096;

thread_local! {
    static FREE: RefCell<Vec<Vec<Entry>>> = const { RefCell::new(Vec::new()) };
    static FREE_TEXT: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The last free buffer of `list` when `fits` says it will do (only a buffer with room
/// enough is taken: growing an empty one would make realloc copy its old bytes for nothing).
fn take<T: 'static>(
    list: &'static LocalKey<RefCell<Vec<T>>>,
    fits: impl FnOnce(&T) -> bool,
) -> Option<T> {
    list.try_with(|f| {
        let mut f = f.try_borrow_mut().ok()?;
        if fits(f.last()?) {
            f.pop()
        } else {
            None
        }
    })
    .ok()
    .flatten()
}

/// Gives an emptied buffer back to `list` unless it holds `max` already. During thread exit
/// the list may be gone: the buffer is simply freed then.
fn give<T: 'static>(list: &'static LocalKey<RefCell<Vec<T>>>, buffer: T, max: usize) {
    let _ = list.try_with(|f| {
        if let Ok(mut f) = f.try_borrow_mut() {
            if f.len() < max {
                f.push(buffer);
            }
        }
    });
}

/// A message's text: a `String` whose buffer comes from and goes back to the free list.
#[derive(Debug, Default)]
pub(super) struct Text(String);

impl Text {
    /// Room for `bytes`, in a reused buffer when one is free.
    pub(super) fn with_capacity(bytes: usize) -> Text {
        let reused = take(&FREE_TEXT, |s| s.capacity() >= bytes);
        Text(reused.unwrap_or_else(|| String::with_capacity(bytes.max(TYPICAL_TEXT))))
    }
}

impl Clone for Text {
    fn clone(&self) -> Self {
        let mut t = Text::with_capacity(self.0.len());
        t.0.push_str(&self.0);
        t
    }
}

impl Deref for Text {
    type Target = String;
    #[inline]
    fn deref(&self) -> &String {
        &self.0
    }
}

impl DerefMut for Text {
    #[inline]
    fn deref_mut(&mut self) -> &mut String {
        &mut self.0
    }
}

impl Drop for Text {
    fn drop(&mut self) {
        let cap = self.0.capacity();
        if cap == 0 || cap > POOLED_TEXT_BYTES {
            return;
        }
        let mut s = std::mem::take(&mut self.0);
        s.clear();
        give(&FREE_TEXT, s, POOLED_TEXTS);
    }
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
        let reused = take(&FREE, |v| v.capacity() >= count);
        Table {
            v: reused.unwrap_or_else(|| Vec::with_capacity(count.max(TYPICAL))),
        }
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
        give(&FREE, v, POOLED);
    }
}

/// How many free buffers this thread holds (for the tests).
#[cfg(test)]
fn free_count() -> usize {
    FREE.with(|f| f.borrow().len())
}

/// How many free texts this thread holds (for the tests).
#[cfg(test)]
fn free_texts() -> usize {
    FREE_TEXT.with(|f| f.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_reused_emptied_and_bounded() {
        let before = free_texts();
        let mut t = Text::with_capacity(100);
        t.push_str("INVITE sip:1002@127.0.0.1 SIP/2.0\r\n");
        let ptr = t.as_ptr();
        drop(t);
        assert_eq!(free_texts(), before + 1);
        let t = Text::with_capacity(10);
        assert_eq!(t.as_ptr(), ptr, "the freed buffer is handed out again");
        assert!(t.is_empty(), "and empty");
        drop(t);
        let mut big = Text::with_capacity(POOLED_TEXT_BYTES + 1);
        big.push('x');
        let n = free_texts();
        drop(big);
        assert_eq!(free_texts(), n, "a large text is freed");
        let many: Vec<Text> = (0..POOLED_TEXTS + 10)
            .map(|_| Text::with_capacity(8))
            .collect();
        drop(many);
        assert_eq!(free_texts(), POOLED_TEXTS);
    }

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
