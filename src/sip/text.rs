//! Lexical helpers shared by the SIP parsers (RFC 3261 §25.1): token characters, bounded
//! integers, `%HH` escaping, list splitting that respects quotes and angle brackets, and
//! generic `;name=value` parameter lists.
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

fn class(t: &[bool; 256], b: u8) -> bool {
    t.get(usize::from(b)).copied().unwrap_or(false)
}

/// A byte-class table: ASCII alphanumerics, `extra`, and (if `high`) bytes >= 0x80.
const fn class_table(extra: &[u8], high: bool) -> [bool; 256] {
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

/// True if `s` is a non-empty RFC 3261 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// True for SP and HTAB.
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_lws(b: u8) -> bool {
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

/// Appends the decimal digits of `n` (no allocation).
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: usize) {
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
    out.extend_from_slice(buf.get(i..).unwrap_or(&[]));
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
        if x.wrapping_sub(LO) & !x & HI != 0 {
            return c.iter().position(|&b| b == needle).map(|i| off + i);
        }
        off += 8;
    }
    let rest = chunks.remainder();
    rest.iter().position(|&b| b == needle).map(|i| off + i)
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
pub(crate) fn parse_u16(s: &str) -> Option<u16> {
    parse_u32(s).and_then(|n| u16::try_from(n).ok())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%HH` escapes exactly once. `None` on a malformed escape or if the result is
/// not UTF-8.
pub(crate) fn unescape(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
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
    String::from_utf8(out).ok()
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

/// A list of `;name[=value]` parameters.
pub type Params = Vec<(String, Option<String>)>;

/// Looks a parameter up by case-insensitive name.
pub(crate) fn find_param<'a>(
    params: &'a [(String, Option<String>)],
    name: &str,
) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Iterates header parameters `*( SEMI generic-param )` where `s` starts at the first `;`
/// (or is empty), validating as it goes: names must be tokens; values are tokens, hosts or
/// quoted strings (yielded with their quotes). LWS around `;` and `=` is allowed. After
/// the first error the iterator ends.
pub(crate) fn header_params(s: &str) -> HeaderParams<'_> {
    let s = trim(s);
    // Without quotes or angle brackets, every `;` separates parameters.
    let plain = memchr(s.as_bytes(), b'"').is_none() && memchr(s.as_bytes(), b'<').is_none();
    if s.is_empty() {
        return HeaderParams {
            rest: None,
            err: None,
            plain,
        };
    }
    match s.strip_prefix(';') {
        Some(rest) => HeaderParams {
            rest: Some(rest),
            err: None,
            plain,
        },
        None => HeaderParams {
            rest: None,
            err: Some(format!("unexpected text {s:.40?}")),
            plain,
        },
    }
}

/// Iterator returned by [`header_params`].
pub(crate) struct HeaderParams<'a> {
    rest: Option<&'a str>,
    err: Option<String>,
    plain: bool,
}

impl<'a> Iterator for HeaderParams<'a> {
    type Item = Result<(&'a str, Option<&'a str>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.err.take() {
            return Some(Err(e));
        }
        let rest = self.rest?;
        let end = if self.plain {
            memchr(rest.as_bytes(), b';')
        } else {
            find_top_level(rest, b';')
        };
        let end = end.unwrap_or(rest.len());
        self.rest = if end < rest.len() {
            rest.get(end + 1..)
        } else {
            None
        };
        let item = rest.get(..end).unwrap_or("");
        let (name, value) = match find(item, b'=') {
            Some(eq) => (
                trim(item.get(..eq).unwrap_or("")),
                Some(trim(item.get(eq + 1..).unwrap_or(""))),
            ),
            None => (trim(item), None),
        };
        let err = if !is_token(name) {
            Some(format!("bad parameter name {name:.40?}"))
        } else if value.is_some_and(|v| !valid_param_value(v)) {
            Some(format!("bad value for parameter {name:.40}"))
        } else {
            None
        };
        match err {
            Some(e) => {
                self.rest = None;
                Some(Err(e))
            }
            None => Some(Ok((name, value))),
        }
    }
}

/// Validates header parameters without keeping them.
pub(crate) fn check_header_params(s: &str) -> Result<(), String> {
    header_params(s).try_for_each(|p| p.map(|_| ()))
}

/// Parses header parameters into owned pairs (see [`header_params`]).
pub(crate) fn parse_header_params(s: &str) -> Result<Params, String> {
    header_params(s)
        .map(|p| p.map(|(n, v)| (n.to_owned(), v.map(str::to_owned))))
        .collect()
}

/// `token / host / quoted-string` (lenient: IPv6 references allowed, UTF-8 allowed in
/// quoted strings).
fn valid_param_value(v: &str) -> bool {
    if let Some(inner) = v.strip_prefix('"') {
        return quoted_end(v) == Some(v.len()) && !inner.is_empty();
    }
    !v.is_empty() && v.bytes().all(is_param_value_byte)
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

/// Removes the quotes and `\` escapes of a quoted string (`s` includes the quotes).
pub(crate) fn unquote(s: &str) -> String {
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s);
    let mut out = String::with_capacity(inner.len());
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
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Writes `;name[=value]` for each parameter.
pub(crate) fn write_params(out: &mut String, params: &[(String, Option<String>)]) {
    for (n, v) in params {
        out.push(';');
        out.push_str(n);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
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
    }

    #[test]
    fn byte_classes_match_the_grammar() {
        for b in 0..=255u8 {
            let token = b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b);
            assert_eq!(is_token_byte(b), token, "{b}");
            let unreserved = b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b);
            assert_eq!(
                allowed(Part::User, b),
                unreserved || b"&=+$,;?/".contains(&b)
            );
            assert_eq!(
                allowed(Part::Password, b),
                unreserved || b"&=+$,".contains(&b)
            );
            assert_eq!(
                allowed(Part::Param, b),
                unreserved || b"[]/:&+$".contains(&b)
            );
            assert_eq!(
                allowed(Part::Header, b),
                unreserved || b"[]/?:+$".contains(&b)
            );
            let value = token || b":[]".contains(&b) || b >= 0x80;
            assert_eq!(is_param_value_byte(b), value);
        }
    }

    #[test]
    fn decimal() {
        for n in [0, 7, 10, 65535, usize::MAX] {
            let mut v = Vec::new();
            push_decimal(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
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

    #[test]
    fn list_split_respects_quotes_and_angles() {
        let v: Vec<_> = split_list(r#""A, \"b\"" <sip:a@b;x=1,2>, <sip:c@d> , x"#).collect();
        assert_eq!(v, [r#""A, \"b\"" <sip:a@b;x=1,2>"#, "<sip:c@d>", "x"]);
        let v: Vec<_> = split_list(";;,;,,").collect();
        assert_eq!(v, [";;", ";", "", ""]);
    }

    #[test]
    fn header_params() {
        let p = parse_header_params(" ; tag = abc ;lr; q=\"a;b\"").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(find_param(&p, "TAG"), Some(Some("abc")));
        assert_eq!(find_param(&p, "lr"), Some(None));
        assert_eq!(find_param(&p, "q"), Some(Some("\"a;b\"")));
        assert!(parse_header_params(";;").is_err());
        assert!(parse_header_params(";a=").is_err());
        assert!(parse_header_params("x").is_err());
    }
}
