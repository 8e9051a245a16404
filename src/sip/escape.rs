//! `%HH` escaping of URI components (RFC 3261 §19.1.2, §25.1 `escaped`, `user-unreserved`,
//! `param-unreserved`, `hnv-unreserved`): decode exactly once, re-escape what a component's
//! grammar does not allow.

use std::borrow::Cow;

use super::text::{class, class_table, run_end};

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%HH` escapes exactly once. `None` on a malformed escape or if the result is
/// not UTF-8. Text without `%` (nearly every component) is borrowed, not copied.
pub(crate) fn unescape(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = hex_val(*bytes.get(i + 1)?)?;
            let lo = hex_val(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Which URI component a string is escaped for.
#[derive(Clone, Copy)]
pub(crate) enum Part {
    /// `user` (unreserved / user-unreserved).
    User,
    /// `password`.
    Password,
    /// `paramchar` of URI parameters.
    Param,
    /// `hname` / `hvalue` of URI headers.
    Header,
}

// `unreserved` (alphanumerics and `-_.!~*'()`) plus each component's extra characters.
static USER: [bool; 256] = class_table(b"-_.!~*'()&=+$,;?/", false);
static PASSWORD: [bool; 256] = class_table(b"-_.!~*'()&=+$,", false);
static PARAM: [bool; 256] = class_table(b"-_.!~*'()[]/:&+$", false);
static HEADER: [bool; 256] = class_table(b"-_.!~*'()[]/?:+$", false);

/// True if byte `b` may appear unescaped in `part`.
pub(crate) fn allowed(part: Part, b: u8) -> bool {
    let t = match part {
        Part::User => &USER,
        Part::Password => &PASSWORD,
        Part::Param => &PARAM,
        Part::Header => &HEADER,
    };
    class(t, b)
}

/// Where the run of bytes `part` allows unescaped, from `i`, ends (see [`run_end`]).
#[inline]
pub(crate) fn allowed_end(part: Part, b: &[u8], i: usize) -> usize {
    let t = match part {
        Part::User => &USER,
        Part::Password => &PASSWORD,
        Part::Param => &PARAM,
        Part::Header => &HEADER,
    };
    run_end(b, i, t)
}

/// Appends `s` to `out`, `%HH`-escaping every byte the grammar of `part` does not allow.
pub(crate) fn escape_into(out: &mut String, s: &str, part: Part) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if allowed(part, b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_classes_match_the_grammar() {
        for b in 0..=255u8 {
            let unreserved = b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b);
            let user = unreserved || b"&=+$,;?/".contains(&b);
            assert_eq!(allowed(Part::User, b), user);
            let password = unreserved || b"&=+$,".contains(&b);
            assert_eq!(allowed(Part::Password, b), password);
            let param = unreserved || b"[]/:&+$".contains(&b);
            assert_eq!(allowed(Part::Param, b), param);
            let header = unreserved || b"[]/?:+$".contains(&b);
            assert_eq!(allowed(Part::Header, b), header);
        }
    }

    #[test]
    fn escapes_round_trip() {
        assert_eq!(unescape("v%61lue%25%34%31").as_deref(), Some("value%41"));
        assert_eq!(unescape("%00%00").as_deref(), Some("\0\0"));
        assert_eq!(unescape("%4"), None);
        assert_eq!(unescape("%zz"), None);
        let mut s = String::new();
        escape_into(&mut s, "user;par=u@example.net", Part::User);
        assert_eq!(s, "user;par=u%40example.net");
    }
}
