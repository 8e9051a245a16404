//! The ordered header store of a message (RFC 3261 §7.3).
//!
//! All values live in one `String`; each header is a name and a byte range into it. Folded
//! lines are unfolded into single spaces once, at parse. Typed values are decoded on demand
//! (see `typed.rs`), except the essentials validated at parse (`essentials.rs`).

use std::ops::Range;

use super::name::HeaderName;
use super::text::{single, split_list, trim, ListIter};

#[derive(Debug, Clone)]
struct Entry {
    name: HeaderName,
    value: Range<usize>,
}

/// Headers in wire order: (name, raw value) pairs.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    text: String,
    entries: Vec<Entry>,
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Eq for Headers {}

impl Headers {
    /// An empty store.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// An empty store with room for `bytes` of values and `count` headers.
    pub fn with_capacity(bytes: usize, count: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            entries: Vec::with_capacity(count),
        }
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn value(&self, e: &Entry) -> &str {
        self.text.get(e.value.clone()).unwrap_or("")
    }

    /// The first value of `name` (the whole line's value, even for list headers).
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.name == *name)
            .map(|e| self.value(e))
    }

    /// Every value of `name` in order; list headers are split on top-level commas (empty
    /// elements are yielded so validators can reject them).
    pub fn get_all<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        let list = name.is_list();
        let name = name.clone();
        self.entries
            .iter()
            .filter(move |e| e.name == name)
            .flat_map(move |e| -> ListIter<'a> {
                let v = self.value(e);
                if list {
                    split_list(v)
                } else {
                    single(v)
                }
            })
    }

    /// How many header lines are named `name`.
    pub fn count(&self, name: &HeaderName) -> usize {
        self.entries.iter().filter(|e| e.name == *name).count()
    }

    /// Every header line as (name, raw value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &str)> + '_ {
        self.entries.iter().map(|e| (&e.name, self.value(e)))
    }

    /// Appends a header line; the value is trimmed.
    pub fn push(&mut self, name: HeaderName, value: &str) {
        let start = self.text.len();
        self.text.push_str(trim(value));
        self.entries.push(Entry {
            name,
            value: start..self.text.len(),
        });
    }

    /// Appends a folded continuation to the last header's value, joined by one space.
    pub(crate) fn continue_last(&mut self, piece: &str) {
        let piece = trim(piece);
        let Some(last) = self.entries.last_mut() else {
            return;
        };
        if piece.is_empty() {
            return;
        }
        if last.value.end > last.value.start {
            self.text.push(' ');
        }
        self.text.push_str(piece);
        last.value.end = self.text.len();
    }

    /// Removes every line named `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.entries.retain(|e| e.name != *name);
    }

    /// Replaces every line named `name` by one line with `value`, in the place of the first.
    pub fn set(&mut self, name: HeaderName, value: &str) {
        match self.entries.iter().position(|e| e.name == name) {
            Some(i) => {
                let start = self.text.len();
                self.text.push_str(trim(value));
                let end = self.text.len();
                let mut seen = false;
                self.entries.retain(|e| {
                    let first = e.name == name && !seen;
                    if e.name == name {
                        seen = true;
                    }
                    first || e.name != name
                });
                if let Some(e) = self.entries.get_mut(i) {
                    e.value = start..end;
                }
            }
            None => self.push(name, value),
        }
    }

    /// Replaces the first list element of the first `name` line by `value`, keeping any
    /// further elements of that line on a new line right after it.
    pub(crate) fn replace_first_element(&mut self, name: &HeaderName, value: &str) {
        let Some(i) = self.entries.iter().position(|e| e.name == *name) else {
            self.push(name.clone(), value);
            return;
        };
        let old = self.entries.get(i).map(|e| self.value(e)).unwrap_or("");
        let rest: Vec<String> = split_list(old).skip(1).map(str::to_owned).collect();
        let start = self.text.len();
        self.text.push_str(trim(value));
        let end = self.text.len();
        if let Some(e) = self.entries.get_mut(i) {
            e.value = start..end;
        }
        if !rest.is_empty() {
            let start = self.text.len();
            self.text.push_str(&rest.join(", "));
            let entry = Entry {
                name: name.clone(),
                value: start..self.text.len(),
            };
            self.entries.insert(i + 1, entry);
        }
    }

    /// Writes `Name: value\r\n` for every line except Content-Length (computed by the
    /// message serializer).
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        for e in &self.entries {
            if e.name == HeaderName::ContentLength {
                continue;
            }
            match e.name.wire_prefix() {
                Some(prefix) => out.extend_from_slice(prefix.as_bytes()),
                None => {
                    out.extend_from_slice(e.name.as_str().as_bytes());
                    out.extend_from_slice(b": ");
                }
            }
            out.extend_from_slice(self.value(e).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Bytes of all values (a sizing hint for serializers).
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_lists() {
        let mut h = Headers::new();
        h.push(
            HeaderName::Via,
            " SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b ",
        );
        h.push(HeaderName::Subject, "x");
        h.continue_last("  y ");
        h.push(HeaderName::Via, "SIP/2.0/UDP c");
        h.push(HeaderName::Other("X-A".into()), "1, 2");
        assert_eq!(h.get(&HeaderName::Subject), Some("x y"));
        let v: Vec<_> = h.get_all(&HeaderName::Via).collect();
        assert_eq!(
            v,
            [
                "SIP/2.0/UDP a;branch=z9hG4bK1",
                "SIP/2.0/UDP b",
                "SIP/2.0/UDP c"
            ]
        );
        let x = HeaderName::parse("x-a");
        assert_eq!(h.get_all(&x).collect::<Vec<_>>(), ["1, 2"]);
        h.replace_first_element(&HeaderName::Via, "SIP/2.0/UDP z");
        let v: Vec<_> = h.get_all(&HeaderName::Via).collect();
        assert_eq!(v, ["SIP/2.0/UDP z", "SIP/2.0/UDP b", "SIP/2.0/UDP c"]);
        assert_eq!(h.count(&HeaderName::Via), 3);
        h.set(HeaderName::Via, "SIP/2.0/UDP only");
        assert_eq!(h.count(&HeaderName::Via), 1);
        assert_eq!(h.iter().next().map(|(n, _)| n), Some(&HeaderName::Via));
        h.remove(&HeaderName::Via);
        assert_eq!(h.len(), 2);
    }
}
