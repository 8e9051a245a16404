//! The text of an entry's key or value: a span of the file it was read from, shared.
//!
//! A sip.conf of 10 000 users is ~150 000 entries once the templates are applied (every
//! `[u1000](phone)` starts with copies of `[phone]`'s lines). As a `String` each key and
//! value was an allocation of its own, copied again for every user of a template; as a
//! span of the file's text (one `Arc<str>` for the whole file) an entry is made and copied
//! without allocating, and freed with the file. Text that is not in the file as written
//! (`\;` unescaped, `key += more`, entries built by hand) gets an `Arc<str>` of its own.
//!
//! Anything kept after loading copies the text out (`to_string()`, `Box<str>`): a kept
//! `Text` would keep its whole file in memory.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A shared, immutable piece of config text; reads as a `str`.
#[derive(Clone)]
pub struct Text {
    src: Arc<str>,
    start: u32,
    end: u32,
}

impl Text {
    /// `part` of `src` without a copy when it lies inside `src` (a line, key or value the
    /// reader sliced out of it); otherwise a copy of its own.
    pub fn span(src: &Arc<str>, part: &str) -> Text {
        // Offsets by address: `part` is a sub-slice of `src` exactly when its bytes lie
        // within `src`'s, and then the difference is a char boundary of `src`.
        let base = src.as_ptr() as usize;
        let at = part.as_ptr() as usize;
        match at.checked_sub(base) {
            Some(start) if start + part.len() <= src.len() => {
                match (u32::try_from(start), u32::try_from(start + part.len())) {
                    (Ok(start), Ok(end)) => Text {
                        src: src.clone(),
                        start,
                        end,
                    },
                    _ => Text::from(part),
                }
            }
            _ => Text::from(part),
        }
    }

    /// True when both are the same span of the same text (a template's line copied into
    /// two users): equal without comparing the bytes.
    pub fn same_span(&self, other: &Text) -> bool {
        Arc::ptr_eq(&self.src, &other.src) && self.start == other.start && self.end == other.end
    }

    /// Its length in bytes, without looking at the text (as `str::len`).
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// True when empty (as `str::is_empty`).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The bounds were checked against `src` when the span was made.
        self.src
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::from("")
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        let src: Arc<str> = Arc::from(s);
        let end = u32::try_from(src.len()).unwrap_or(0);
        Text { src, start: 0, end }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::from(s.as_str())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::from(s.as_str())
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.same_span(other) || self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_share_the_source_and_foreign_text_is_copied() {
        let src: Arc<str> = Arc::from("key = value\n");
        let key = Text::span(&src, &src[..3]);
        let value = Text::span(&src, &src[6..11]);
        assert_eq!((key.as_str(), value.as_str()), ("key", "value"));
        assert!(Arc::ptr_eq(&key.src, &src) && Arc::ptr_eq(&value.src, &src));
        assert!(key.clone().same_span(&key) && !key.same_span(&value));
        let copy = Text::from("key");
        assert!(!copy.same_span(&key) && copy == key);
        // Not inside `src`: a copy of its own, same text.
        let other = String::from("value");
        let copied = Text::span(&src, &other);
        assert!(!Arc::ptr_eq(&copied.src, &src));
        assert_eq!(copied, value);
        assert_eq!(Text::span(&src, ""), "");
        assert_eq!(Text::default(), "");
    }

    #[test]
    fn reads_and_compares_as_a_str() {
        let t = Text::from("Alice");
        assert_eq!(t, "Alice");
        assert_eq!("Alice", t);
        assert_eq!(t, String::from("Alice"));
        assert_eq!((t.len(), t.is_empty()), (5, false));
        let src: Arc<str> = Arc::from("a = bcd");
        let span = Text::span(&src, &src[4..]);
        assert_eq!(
            (span.len(), span.as_str().len(), span.is_empty()),
            (3, 3, false)
        );
        assert!(Text::span(&src, &src[2..2]).is_empty());
        assert!(t.eq_ignore_ascii_case("alice"));
        assert_eq!(format!("{t} {t:?}"), "Alice \"Alice\"");
        assert_eq!(t.to_string(), "Alice");
    }
}
