//! Extension names and patterns: matching and Asterisk's precedence order.
//!
//! Reading list: Asterisk `main/pbx.c`, `_extension_match_core()` (matching), `ext_cmp()` /
//! `ext_cmp_pattern_pos()` (ordering). Patterns start with `_`: `X` = 0-9, `Z` = 1-9, `N` =
//! 2-9, `[1-5a-c]` a set, `.` one or more of anything (it matches the rest at once), `!` zero
//! or more. `-` and spaces are ignored in patterns; `-` is ignored in dialled numbers. Literal
//! characters compare case-sensitively, as in Asterisk.

use std::cmp::Ordering;

/// One position of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Elem {
    /// A set of bytes (a literal is a set of one), with Asterisk's score and bit image.
    Set { bits: Box<[u8; 32]>, score: u32 },
    /// `.`: one or more of anything.
    Dot,
    /// `!`: zero or more of anything.
    Bang,
}

impl Elem {
    fn contains(bits: &[u8; 32], b: u8) -> bool {
        bits[usize::from(b / 8)] & (1 << (7 - b % 8)) != 0
    }

    /// Asterisk's position score: lower sorts first (more specific).
    fn score(&self) -> u32 {
        match self {
            Elem::Set { score, .. } => *score,
            Elem::Dot => 0x18000,
            Elem::Bang => 0x28000,
        }
    }
}

/// An extension name as written, ready to match: a literal or a `_` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtName {
    /// The name as written (for display).
    pub text: String,
    /// `None` for a literal (compared after removing `-`), the compiled pattern otherwise.
    elems: Option<Vec<Elem>>,
    /// The literal with `-` and spaces removed, or the pattern's leading literal bytes.
    key: String,
}

/// How a name relates to dialled digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Cannot match, even with more digits.
    No,
    /// Matches exactly and no longer input could match.
    Exact,
    /// Does not match yet; more digits could make it match.
    Prefix,
    /// Matches now and could also match with more digits.
    ExactAndMore,
}

impl Fit {
    /// Whether the digits dialled so far match.
    pub fn matches(self) -> bool {
        matches!(self, Fit::Exact | Fit::ExactAndMore)
    }
    /// Whether more digits could (still) match.
    pub fn more(self) -> bool {
        matches!(self, Fit::Prefix | Fit::ExactAndMore)
    }
}

/// Removes the separators Asterisk ignores in extension names.
pub fn strip_dashes(s: &str) -> String {
    s.chars().filter(|c| *c != '-' && *c != ' ').collect()
}

/// [`strip_dashes`], borrowed when there is nothing to strip (a dialled number seldom has
/// separators: every lookup of a call's number would copy it).
pub fn strip_dashes_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b == b'-' || b == b' ') {
        std::borrow::Cow::Owned(strip_dashes(s))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn set_of(bytes: impl IntoIterator<Item = u8>) -> Elem {
    let mut bits = [0u8; 32];
    let mut count = 0u32;
    let mut min = 0xffu32;
    for b in bytes {
        let mask = 1 << (7 - b % 8);
        if bits[usize::from(b / 8)] & mask == 0 {
            bits[usize::from(b / 8)] |= mask;
            count += 1;
            min = min.min(u32::from(b));
        }
    }
    if count == 0 {
        min = 0xff;
    }
    Elem::Set {
        bits: Box::new(bits),
        score: (count << 8) | min,
    }
}

impl ExtName {
    /// Parses an extension name; an error for an unterminated `[` or an empty pattern.
    pub fn parse(text: &str) -> Result<ExtName, String> {
        let Some(body) = text.strip_prefix('_') else {
            if text.is_empty() {
                return Err("empty extension name".into());
            }
            return Ok(ExtName {
                text: text.to_string(),
                elems: None,
                key: strip_dashes(text),
            });
        };
        let b = body.as_bytes();
        let mut elems = Vec::new();
        let mut key = Vec::new();
        let mut in_prefix = true;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            i += 1;
            let mut literal = false;
            let e = match c {
                b'-' | b' ' => continue,
                b'X' | b'x' => set_of(b'0'..=b'9'),
                b'Z' | b'z' => set_of(b'1'..=b'9'),
                b'N' | b'n' => set_of(b'2'..=b'9'),
                b'.' => Elem::Dot,
                b'!' => Elem::Bang,
                b'[' => {
                    let Some(len) = b[i..].iter().position(|&x| x == b']') else {
                        return Err(format!("unterminated '[' in pattern '{text}'"));
                    };
                    let inner = &b[i..i + len];
                    i += len + 1;
                    let mut members = Vec::new();
                    let mut j = 0;
                    while j < inner.len() {
                        if j + 2 < inner.len() && inner[j + 1] == b'-' {
                            let (lo, hi) = (inner[j], inner[j + 2]);
                            members.extend(lo..=hi);
                            j += 3;
                        } else {
                            members.push(inner[j]);
                            j += 1;
                        }
                    }
                    set_of(members)
                }
                other => {
                    literal = true;
                    set_of([other])
                }
            };
            in_prefix &= literal;
            if in_prefix {
                key.push(c);
            }
            elems.push(e);
        }
        if elems.is_empty() {
            return Err(format!("empty pattern '{text}'"));
        }
        Ok(ExtName {
            text: text.to_string(),
            elems: Some(elems),
            key: String::from_utf8_lossy(&key).into_owned(),
        })
    }

    /// True for `_` patterns.
    pub fn is_pattern(&self) -> bool {
        self.elems.is_some()
    }

    /// For a literal, its name without separators; for a pattern, its leading literal part
    /// (the index key).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Does this name match `data` (already stripped of `-`), and could more digits match?
    pub fn fit(&self, data: &str) -> Fit {
        let Some(elems) = &self.elems else {
            return if self.key == data {
                Fit::Exact
            } else if self.key.len() > data.len() && self.key.starts_with(data) {
                Fit::Prefix
            } else {
                Fit::No
            };
        };
        let d = data.as_bytes();
        let mut i = 0;
        for e in elems {
            match e {
                Elem::Dot => {
                    return if i < d.len() {
                        Fit::ExactAndMore
                    } else {
                        Fit::Prefix
                    }
                }
                Elem::Bang => return Fit::ExactAndMore,
                Elem::Set { bits, .. } => {
                    let Some(&b) = d.get(i) else {
                        return Fit::Prefix;
                    };
                    if !Elem::contains(bits, b) {
                        return Fit::No;
                    }
                    i += 1;
                }
            }
        }
        if i == d.len() {
            Fit::Exact
        } else {
            Fit::No
        }
    }

    /// Shorthand for `fit(data).matches()`.
    pub fn matches(&self, data: &str) -> bool {
        self.fit(data).matches()
    }
}

/// Asterisk's `ext_cmp`: literals first (in byte order), then patterns from the most
/// specific, position by position.
pub fn ext_cmp(a: &ExtName, b: &ExtName) -> Ordering {
    match (&a.elems, &b.elems) {
        (None, None) => a.key.cmp(&b.key),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => {
            let empty = [0u8; 32];
            let mut i = 0;
            loop {
                let (sx, bx) = pos(x, i, &empty);
                let (sy, by) = pos(y, i, &empty);
                // Same score: Asterisk compares the bit images right against left, so the
                // set with lower characters comes first.
                let c = sx.cmp(&sy).then_with(|| by.cmp(bx));
                if c != Ordering::Equal || i >= x.len() {
                    return c;
                }
                i += 1;
            }
        }
    }
}

fn pos<'a>(elems: &'a [Elem], i: usize, empty: &'a [u8; 32]) -> (u32, &'a [u8; 32]) {
    match elems.get(i) {
        None => (0x30000, empty),
        Some(e @ Elem::Set { bits, .. }) => (e.score(), bits),
        Some(e) => (e.score(), empty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> ExtName {
        ExtName::parse(s).unwrap()
    }

    #[test]
    fn matching_table() {
        let cases: &[(&str, &str, Fit)] = &[
            ("1001", "1001", Fit::Exact),
            ("1001", "100", Fit::Prefix),
            ("1001", "10011", Fit::No),
            ("_1XX", "123", Fit::Exact),
            ("_1XX", "12", Fit::Prefix),
            ("_1XX", "1234", Fit::No),
            ("_NXX", "123", Fit::No),
            ("_ZXX", "123", Fit::Exact),
            ("_9.", "9", Fit::Prefix),
            ("_9.", "91", Fit::ExactAndMore),
            ("_9!", "9", Fit::ExactAndMore),
            ("_[1-5a-c]X", "b0", Fit::Exact),
            ("_[1-5a-c]X", "60", Fit::No),
            ("_1-800-NXX", "1800234", Fit::Exact),
            ("_[]X", "10", Fit::No),
            ("_x", "5", Fit::Exact),
            ("_.", "", Fit::Prefix),
        ];
        for (p, d, want) in cases {
            assert_eq!(n(p).fit(d), *want, "{p} vs {d}");
        }
    }

    #[test]
    fn bad_patterns() {
        assert!(ExtName::parse("_12[3").is_err());
        assert!(ExtName::parse("_").is_err());
        assert!(ExtName::parse("").is_err());
    }

    #[test]
    fn prefix_keys() {
        assert_eq!(n("_1-800-NXX").key(), "1800");
        assert_eq!(n("_X.").key(), "");
        assert_eq!(n("1-800").key(), "1800");
    }

    /// Asterisk's documented precedence: each list is in the order `dialplan show` sorts it.
    #[test]
    fn ordering_table() {
        let sorted: &[&[&str]] = &[
            &["123", "_123", "_12X", "_1XX", "_XXX", "_X.", "_!"],
            &["_1N", "_1X"],
            &["_NXXXXXX", "_XXXXXXX"],
            &["_[12]X", "_[23]X", "_NX"],
            &["_1234.", "_123.", "_12."],
            &["_X.", "_X!"],
            &["_12.", "_12!", "_12"],
            &["_ZX", "_XX"],
            &["s", "_."],
        ];
        for list in sorted {
            for w in list.windows(2) {
                assert_eq!(
                    ext_cmp(&n(w[0]), &n(w[1])),
                    Ordering::Less,
                    "{} < {}",
                    w[0],
                    w[1]
                );
                assert_eq!(ext_cmp(&n(w[1]), &n(w[0])), Ordering::Greater);
            }
        }
        assert_eq!(ext_cmp(&n("_1XX"), &n("_1xx")), Ordering::Equal);
    }
}
