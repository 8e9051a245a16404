//! Lexical helpers shared by the SIP parsers (RFC 3261 §25.1): byte classes, trimming,
//! searching, bounded integers, quoted strings, and list splitting that respects quotes
//! and angle brackets. URI escaping is in `escape.rs`, `;name=value` lists in `params.rs`.
//!
//! Every function here is total: it returns `None`/`Err` on bad input and never panics.

/// True for the characters of RFC 3261 `token`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    class(&TOKEN, b)
}

/// True for bytes allowed in an unquoted parameter value: token characters, `:[]` (IPv6
/// hosts) and UTF-8.
pub(crate) fn is_param_value_byte(b: u8) -> bool {
    class(&PARAM_VALUE, b)
}

/// True for bytes of a hostname or IPv4 address (`_` tolerated).
pub(crate) fn is_host_byte(b: u8) -> bool {
    class(&HOST, b)
}

/// Where the run of bytes of class `t` starting at `i` ends (`b.len()` if it reaches the
/// end; `i` if `b[i]` is not in the class or `i` is past the end).
#[inline]
pub(crate) fn run_end(b: &[u8], i: usize, t: &[bool; 256]) -> usize {
    let Some(rest) = b.get(i..) else {
        return i;
    };
    // Four bytes per loop step: one end-of-input check for four lookups (`position` pays a
    // compare and a branch for the end on every byte). The runs are short (names, hosts,
    // tags), so each byte still exits on its own.
    let mut at = i;
    let mut chunks = rest.chunks_exact(4);
    for c in &mut chunks {
        let Ok([c0, c1, c2, c3]) = <[u8; 4]>::try_from(c) else {
            break;
        };
        if !class(t, c0) {
            return at;
        }
        if !class(t, c1) {
            return at + 1;
        }
        if !class(t, c2) {
            return at + 2;
        }
        if !class(t, c3) {
            return at + 3;
        }
        at += 4;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| !class(t, c))
        .map_or(b.len(), |p| at + p)
}

/// [`run_end`] for `token` bytes.
#[inline]
pub(crate) fn token_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, &TOKEN)
}

/// [`run_end`] for unquoted parameter-value bytes ([`is_param_value_byte`]).
#[inline]
pub(crate) fn param_value_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, &PARAM_VALUE)
}

/// [`run_end`] for hostname bytes ([`is_host_byte`]).
#[inline]
pub(crate) fn host_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, &HOST)
}

/// [`run_end`] for ASCII digits.
#[inline]
pub(crate) fn digits_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, &DIGIT)
}

/// The run of ASCII digits from `i` read as a port: where it ends and its value, `None`
/// if the run is empty or its value is past `u16::MAX` (what [`parse_u16`] says of the run,
/// leading zeros and all), in one pass: no second walk over the digits, no `str` slice.
#[inline]
pub(crate) fn port_at(b: &[u8], i: usize) -> (usize, Option<u16>) {
    let rest = b.get(i..).unwrap_or(&[]);
    // Up to nine digits cannot overflow a u32: no clamping in the usual loop.
    let mut n: u32 = 0;
    for (k, &c) in rest.iter().take(9).enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            let port = if k == 0 { None } else { u16::try_from(n).ok() };
            return (i + k, port);
        }
        n = n * 10 + u32::from(d);
    }
    if rest.len() <= 9 {
        let port = if rest.is_empty() {
            None
        } else {
            u16::try_from(n).ok()
        };
        return (i + rest.len(), port);
    }
    // Ten digits or more (leading zeros, or a bad port): held at 65 536 once past u16::MAX,
    // the value is too large whatever follows, and n * 10 + 9 stays far inside u32.
    let mut end = i + 9;
    for &c in rest.get(9..).unwrap_or(&[]) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = (n.min(65_536) * 10 + u32::from(d)).min(65_536);
        end += 1;
    }
    (end, u16::try_from(n).ok())
}

/// Looks `b` up in a byte-class table.
pub(crate) fn class(t: &[bool; 256], b: u8) -> bool {
    t.get(usize::from(b)).copied().unwrap_or(false)
}

/// A byte-class table: ASCII alphanumerics, `extra`, and (if `high`) bytes >= 0x80.
pub(crate) const fn class_table(extra: &[u8], high: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || (high && b >= 0x80);
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

static TOKEN: [bool; 256] = class_table(b"-.!%*_+`'~", false);
static PARAM_VALUE: [bool; 256] = class_table(b"-.!%*_+`'~:[]", true);
static HOST: [bool; 256] = class_table(b"-._", false);
static DIGIT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t
};

/// True if `s` is a non-empty RFC 3261 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// True for SP and HTAB.
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// True for SP, HTAB, CR and LF (what [`trim`] removes).
#[inline]
pub(crate) fn is_lws(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r' || b == b'\n'
}

/// Trims SP/HTAB (and stray CR/LF) on both sides.
pub(crate) fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let Some(start) = b.iter().position(|&c| !is_lws(c)) else {
        return "";
    };
    let end = b.iter().rposition(|&c| !is_lws(c)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or("")
}

/// The decimal digits of `n`: `buf[start..]`.
fn digits(n: usize) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    (buf, i)
}

/// Appends the decimal digits of `n` (no allocation).
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: usize) {
    // A Content-Length or a status code: one or three digits, pushed without the buffer.
    if n < 1_000 {
        out.reserve(3);
        let digit = |d: usize| b'0' + (d % 10) as u8;
        if n >= 100 {
            out.push(digit(n / 100));
        }
        if n >= 10 {
            out.push(digit(n / 10));
        }
        out.push(digit(n));
        return;
    }
    let (buf, i) = digits(n);
    out.extend_from_slice(buf.get(i..).unwrap_or(&[]));
}

/// [`push_decimal`] into a `String` (no `core::fmt`, no allocation).
pub(crate) fn push_decimal_str(out: &mut String, n: usize) {
    // Up to five digits (ports, lengths, CSeq numbers: nearly every call) with one reserve
    // and a push per digit, each digit a known ASCII char: no buffer, no UTF-8 check or
    // encoding per char (the buffer's loop and the general push cost four times as much).
    if let Ok(small) = u32::try_from(n) {
        if small < 100_000 {
            push_small_decimal(out, small);
            return;
        }
    }
    let (buf, i) = digits(n);
    out.reserve(buf.len() - i);
    for &d in buf.get(i..).unwrap_or(&[]) {
        out.push(char::from(d));
    }
}

/// The digits of `n` < 100 000, most significant first.
fn push_small_decimal(out: &mut String, n: u32) {
    let digit = |d: u32| char::from(b'0' + (d % 10) as u8);
    out.reserve(5);
    if n >= 10_000 {
        out.push(digit(n / 10_000));
    }
    if n >= 1_000 {
        out.push(digit(n / 1_000));
    }
    if n >= 100 {
        out.push(digit(n / 100));
    }
    if n >= 10 {
        out.push(digit(n / 10));
    }
    out.push(digit(n));
}

/// Byte index of the first `needle` in `hay`, eight bytes at a time (SWAR).
pub(crate) fn memchr(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pat = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut off = 0;
    for c in &mut chunks {
        let Ok(w) = <[u8; 8]>::try_from(c) else {
            break;
        };
        let x = u64::from_le_bytes(w) ^ pat;
        let hits = x.wrapping_sub(LO) & !x & HI;
        if hits != 0 {
            // The lowest flagged byte is the first match: a false flag can only sit above
            // a true one (the borrow of a zero byte), so no byte-by-byte rescan is needed.
            return Some(off + (hits.trailing_zeros() / 8) as usize);
        }
        off += 8;
    }
    let rest = chunks.remainder();
    rest.iter().position(|&b| b == needle).map(|i| off + i)
}

/// Byte index of the first `a` or `b` in `hay`: [`memchr`]'s word-at-a-time test for both
/// bytes at once (a quoted string's end or its first escape, in one pass).
pub(crate) fn memchr2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let (pa, pb) = (LO * u64::from(a), LO * u64::from(b));
    let mut chunks = hay.chunks_exact(8);
    let mut off = 0;
    for c in &mut chunks {
        let Ok(w) = <[u8; 8]>::try_from(c) else {
            break;
        };
        let w = u64::from_le_bytes(w);
        let (xa, xb) = (w ^ pa, w ^ pb);
        // Each flag set is exact up to its lowest true match, so their union's lowest flag is
        // the first byte that is `a` or `b`.
        let hits = (xa.wrapping_sub(LO) & !xa | xb.wrapping_sub(LO) & !xb) & HI;
        if hits != 0 {
            return Some(off + (hits.trailing_zeros() / 8) as usize);
        }
        off += 8;
    }
    let rest = chunks.remainder();
    rest.iter().position(|&c| c == a || c == b).map(|i| off + i)
}

/// Byte index of the first `b` in `s` (a plain loop: faster than `str::find` on the short
/// strings of header values).
pub(crate) fn find(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// Parses `1*DIGIT` into a `u32`; `None` if empty, non-digit or past `u32::MAX`.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(n)
}

/// Parses `1*DIGIT` into a `u16` port number.
#[inline]
pub(crate) fn parse_u16(s: &str) -> Option<u16> {
    // Up to nine digits cannot overflow a u32: no checked arithmetic.
    if let [_, ..] = s.as_bytes() {
        if s.len() <= 9 {
            let mut n: u32 = 0;
            for b in s.bytes() {
                let d = b.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                n = n * 10 + u32::from(d);
            }
            return u16::try_from(n).ok();
        }
    }
    parse_u32(s).and_then(|n| u16::try_from(n).ok())
}

/// Splits a header value on top-level commas: commas inside `"..."` (with `\` escapes) or
/// inside `<...>` do not split. Parts are trimmed; empty parts are kept so callers can
/// reject them.
pub(crate) fn split_list(s: &str) -> ListIter<'_> {
    ListIter {
        rest: Some(s),
        split: true,
    }
}

/// An iterator yielding `s` once, trimmed (for headers that are not lists).
pub(crate) fn single(s: &str) -> ListIter<'_> {
    ListIter {
        rest: Some(s),
        split: false,
    }
}

/// Iterator returned by [`split_list`].
pub(crate) struct ListIter<'a> {
    rest: Option<&'a str>,
    split: bool,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        if !self.split {
            self.rest = None;
            return Some(trim(s));
        }
        match find_top_level(s, b',') {
            Some(i) => {
                self.rest = s.get(i + 1..);
                s.get(..i).map(trim)
            }
            None => {
                self.rest = None;
                Some(trim(s))
            }
        }
    }
}

/// Byte index of the first `sep` outside quotes and angle brackets.
pub(crate) fn find_top_level(s: &str, sep: u8) -> Option<usize> {
    // Fast path: no quote or bracket before the first `sep`.
    let first = memchr(s.as_bytes(), sep)?;
    let before = s.as_bytes().get(..first).unwrap_or(&[]);
    if !before.iter().any(|&b| b == b'"' || b == b'<' || b == b'>') {
        return Some(first);
    }
    let mut in_quote = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quote = false;
            }
            continue;
        }
        match b {
            b'"' => in_quote = true,
            b'<' => in_angle = true,
            b'>' => in_angle = false,
            _ if b == sep && !in_angle => return Some(i),
            _ => {}
        }
    }
    None
}

/// For `s` starting with `"`, the byte index just past the closing quote.
pub(crate) fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Removes the quotes and `\` escapes of a quoted string (`s` includes the quotes). A
/// display name of up to 24 bytes comes back inline, without an allocation.
pub(crate) fn unquote(s: &str) -> compact_str::CompactString {
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s);
    if memchr(inner.as_bytes(), b'\\').is_none() {
        return inner.into();
    }
    let mut out = compact_str::CompactString::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote_into(out: &mut String, s: &str) {
    // The runs between the bytes to escape (nearly always the whole text) are copied at
    // once, not pushed char by char; `"` and `\\` are ASCII, so every cut is a char boundary.
    out.reserve(s.len() + 2);
    out.push('"');
    let mut rest = s;
    while let Some(i) = memchr2(rest.as_bytes(), b'"', b'\\') {
        out.push_str(rest.get(..i).unwrap_or(""));
        out.push('\\');
        out.push(if rest.as_bytes().get(i) == Some(&b'"') {
            '"'
        } else {
            '\\'
        });
        rest = rest.get(i + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out.push('"');
}

/// Every single-character edit (insert, replace, delete) of each seed, with characters
/// that matter to the SIP grammars: differential tests of the one-pass scanners against the
/// general ones.
#[cfg(test)]
pub(crate) fn single_edits(seeds: &[&str]) -> Vec<String> {
    const CHARS: &[char] = &[
        ' ', '\t', ';', '=', ':', '@', '"', '<', '>', '%', '[', ']', '?', '&', ',', '/', '\\', 'a',
        'Z', '1', '.', '-', '\u{e9}', '\r', '\n',
    ];
    let mut out = Vec::new();
    for seed in seeds {
        out.push((*seed).to_owned());
        let cuts: Vec<usize> = seed
            .char_indices()
            .map(|(i, _)| i)
            .chain([seed.len()])
            .collect();
        for w in cuts.windows(2) {
            let (i, j) = (w[0], w[1]);
            out.push(format!("{}{}", &seed[..i], &seed[j..]));
            for c in CHARS {
                out.push(format!("{}{c}{}", &seed[..i], &seed[j..]));
                out.push(format!("{}{c}{}", &seed[..i], &seed[i..]));
            }
        }
        for c in CHARS {
            out.push(format!("{seed}{c}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_do_not_overflow() {
        assert_eq!(parse_u32("0009"), Some(9));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_u32("36893488147419103232"), None);
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(parse_u32(""), None);
        assert_eq!(parse_u16("65536"), None);
        for n in [
            "0", "7", "5060", "9999", "65535", "0005060", "", "1a", "-1", "+1", "12 ", "\u{e9}",
        ] {
            assert_eq!(
                parse_u16(n),
                parse_u32(n).and_then(|v| u16::try_from(v).ok()),
                "{n:?}"
            );
        }
    }

    #[test]
    fn byte_classes_match_the_grammar() {
        for b in 0..=255u8 {
            let token = b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b);
            assert_eq!(is_token_byte(b), token, "{b}");
            let value = token || b":[]".contains(&b) || b >= 0x80;
            assert_eq!(is_param_value_byte(b), value);
            let host = b.is_ascii_alphanumeric() || b"-._".contains(&b);
            assert_eq!(is_host_byte(b), host);
        }
    }

    /// The four-at-a-time run end is the first byte out of the class from `i`, wherever
    /// it sits (every start, every length, every class).
    #[test]
    fn run_end_matches_the_byte_loop() {
        let slow = |b: &[u8], i: usize, t: &[bool; 256]| match b.get(i..) {
            Some(rest) => rest
                .iter()
                .position(|&c| !class(t, c))
                .map_or(b.len(), |p| i + p),
            None => i,
        };
        for t in [&TOKEN, &PARAM_VALUE, &HOST, &DIGIT] {
            for len in 0..14usize {
                for stop in 0..=len {
                    for odd in [b' ', b';', b'>', 0x80, b'0', b'a'] {
                        let mut v = vec![b'7'; len];
                        if let Some(b) = v.get_mut(stop) {
                            *b = odd;
                        }
                        for i in 0..=len + 1 {
                            assert_eq!(run_end(&v, i, t), slow(&v, i, t), "{v:?} {i}");
                        }
                    }
                }
            }
        }
    }

    /// The one-pass port reads what the digit run and [`parse_u16`] read.
    #[test]
    fn port_at_matches_digit_run_then_parse() {
        for s in [
            "",
            "0",
            "5060",
            "65535",
            "65536",
            "99999",
            "0000065535",
            "00000000000000005060",
            "4294967296",
            "36893488147419103232",
            "5060;x",
            ":5060",
            "12a",
            "1\u{e9}",
        ] {
            let b = s.as_bytes();
            for i in 0..=b.len() + 1 {
                let end = digits_end(b, i);
                let want = s.get(i..end).and_then(parse_u16);
                assert_eq!(port_at(b, i), (end, want), "{s:?} {i}");
            }
        }
    }

    #[test]
    fn decimal() {
        for n in [0, 7, 10, 65535, usize::MAX] {
            let mut v = Vec::new();
            push_decimal(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
            let mut s = String::from("x");
            push_decimal_str(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn swar_memchr() {
        let hay: Vec<u8> = (0..40u8).collect();
        for n in 0..45u8 {
            assert_eq!(memchr(&hay, n), hay.iter().position(|&b| b == n), "{n}");
        }
        assert_eq!(
            memchr(b"\x80\x80\x80\x80\x80\x80\x80\x80\n", b'\n'),
            Some(8)
        );
        assert_eq!(memchr(b"", b'a'), None);
        // Every placement of the needle (and of bytes one off it, and high bytes) in the
        // first 20 bytes, against the plain scan.
        for needle in [0u8, 1, b'\n', 0x7f, 0x80, 0xff] {
            for len in 0..20usize {
                for at in 0..=len {
                    for fill in [
                        0u8,
                        1,
                        needle.wrapping_sub(1),
                        needle.wrapping_add(1),
                        0x80,
                        0xff,
                    ] {
                        let mut hay = vec![fill; len];
                        if let Some(b) = hay.get_mut(at) {
                            *b = needle;
                        }
                        if let Some(b) = hay.get_mut(at + 3) {
                            *b = needle;
                        }
                        let want = hay.iter().position(|&b| b == needle);
                        assert_eq!(memchr(&hay, needle), want, "{needle} {len} {at} {fill}");
                    }
                }
            }
        }
    }

    #[test]
    fn swar_memchr2() {
        // Either byte, each at every placement in the first 20 bytes (the other later or
        // absent), over fills one off either, against the plain scan.
        let (a, b) = (b'"', b'\\');
        for len in 0..20usize {
            for at in 0..=len {
                for (first, second) in [(a, b), (b, a), (a, a)] {
                    for fill in [0u8, a - 1, a + 1, b - 1, b + 1, 0x80, 0xff] {
                        let mut hay = vec![fill; len];
                        if let Some(x) = hay.get_mut(at) {
                            *x = first;
                        }
                        if let Some(x) = hay.get_mut(at + 5) {
                            *x = second;
                        }
                        let want = hay.iter().position(|&x| x == a || x == b);
                        assert_eq!(memchr2(&hay, a, b), want, "{len} {at} {fill}");
                    }
                }
            }
        }
    }

    #[test]
    fn list_split_respects_quotes_and_angles() {
        let v: Vec<_> = split_list(r#""A, \"b\"" <sip:a@b;x=1,2>, <sip:c@d> , x"#).collect();
        assert_eq!(v, [r#""A, \"b\"" <sip:a@b;x=1,2>"#, "<sip:c@d>", "x"]);
        let v: Vec<_> = split_list(";;,;,,").collect();
        assert_eq!(v, [";;", ";", "", ""]);
    }
}
