//! The table of a message's header entries: the first [`INLINE`] in the message itself, the
//! rest spilled to a `Vec`. Each parsed and each built message had a `Vec` of its own (17 of
//! a bench call's 211 allocations); most have at most 12 header lines (a bench call's all do).
//! Written without `unsafe`: the inline slots past `len` hold placeholders (`T::default()`).

use std::mem;

/// Entries kept inline; a message with more moves them all to the heap once.
pub(crate) const INLINE: usize = 12;

#[derive(Debug, Clone)]
pub(super) enum Table<T> {
    Inline { len: usize, items: [T; INLINE] },
    Heap(Vec<T>),
}

impl<T: Default> Default for Table<T> {
    fn default() -> Self {
        Table::Inline {
            len: 0,
            items: std::array::from_fn(|_| T::default()),
        }
    }
}

impl<T: Default> Table<T> {
    /// Room for `count` entries: inline when they fit, else on the heap at once.
    pub(super) fn with_capacity(count: usize) -> Self {
        if count <= INLINE {
            Table::default()
        } else {
            Table::Heap(Vec::with_capacity(count))
        }
    }

    #[inline]
    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            Table::Inline { len, items } => items.get(..*len).unwrap_or(&[]),
            Table::Heap(v) => v,
        }
    }

    #[inline]
    pub(super) fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Table::Inline { len, items } => items.get_mut(..*len).unwrap_or(&mut []),
            Table::Heap(v) => v,
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.as_slice().len()
    }

    #[inline]
    pub(super) fn push(&mut self, item: T) {
        match self {
            Table::Inline { len, items } => {
                if let Some(slot) = items.get_mut(*len) {
                    *slot = item;
                    *len += 1;
                    return;
                }
                let mut v = spill(items);
                v.push(item);
                *self = Table::Heap(v);
            }
            Table::Heap(v) => v.push(item),
        }
    }

    /// Inserts `item` at `at` (clamped to the length), shifting the rest up.
    pub(super) fn insert(&mut self, at: usize, item: T) {
        self.push(item);
        let s = self.as_mut_slice();
        if let Some(tail) = s.get_mut(at..) {
            tail.rotate_right(1);
        }
    }

    /// Keeps the entries `keep` says yes to, in order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            Table::Inline { len, items } => {
                let mut kept = 0;
                for i in 0..*len {
                    if items.get(i).is_some_and(&mut keep) {
                        items.swap(kept, i);
                        kept += 1;
                    }
                }
                // Drop what was removed now (an unknown name owns a String).
                for slot in items.iter_mut().take(*len).skip(kept) {
                    *slot = T::default();
                }
                *len = kept;
            }
            Table::Heap(v) => v.retain(keep),
        }
    }
}

/// The inline entries moved to the heap, with room for as many more (out of line: rare).
#[cold]
#[inline(never)]
fn spill<T: Default>(items: &mut [T; INLINE]) -> Vec<T> {
    let mut v = Vec::with_capacity(2 * INLINE);
    v.extend(items.iter_mut().map(mem::take));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_then_heap() {
        let mut t: Table<String> = Table::with_capacity(4);
        for i in 0..INLINE {
            t.push(i.to_string());
        }
        assert!(matches!(t, Table::Inline { .. }));
        t.retain(|s| s != "3" && s != "0");
        assert_eq!(t.len(), INLINE - 2);
        assert_eq!(t.as_slice().first().map(String::as_str), Some("1"));
        assert_eq!(t.as_slice().get(2).map(String::as_str), Some("4"));
        t.insert(1, "x".into());
        t.push("y".into());
        t.push("z".into());
        assert!(matches!(t, Table::Heap(_)));
        let all: Vec<&str> = t.as_slice().iter().map(String::as_str).collect();
        let mut want = vec!["1", "x", "2"];
        let rest: Vec<String> = (4..INLINE).map(|i| i.to_string()).collect();
        want.extend(rest.iter().map(String::as_str));
        want.extend(["y", "z"]);
        assert_eq!(all, want);
        t.retain(|s| s != "x");
        t.insert(0, "a".into());
        assert_eq!(t.as_slice().first().map(String::as_str), Some("a"));
        assert_eq!(t.len(), INLINE + 1);
    }
}
