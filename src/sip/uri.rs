//! URIs (RFC 3261 §19.1, §25.1 `SIP-URI`, `SIPS-URI`, `absoluteURI`).
//!
//! SIP and SIPS URIs are split into user, password, host, port, parameters and headers;
//! `%HH` escapes are decoded once in the components whose grammar allows `escaped` and put
//! back by [`Display`](std::fmt::Display). Other schemes (`tel:`, `http:`, ...) are kept
//! opaque: everything after the colon is stored in `host`.

use std::fmt;

use compact_str::CompactString;

use super::escape::{allowed, allowed_end, escape_into, unescape, Part};
use super::params::{find_param, Params};
use super::text::{find, host_end, is_host_byte, memchr, parse_u16, port_at};

/// A parsed URI. The text fields are [`CompactString`]s: values of up to 24 bytes (the
/// usual `sip`, `1001`, `127.0.0.1`, `transport`/`udp`) are kept inline, so decoding one from
/// a message or cloning it allocates nothing for them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uri {
    /// Lowercase scheme, e.g. `"sip"`.
    pub scheme: CompactString,
    /// User part, unescaped.
    pub user: Option<CompactString>,
    /// Password, unescaped.
    pub password: Option<CompactString>,
    /// Host name or address; IPv6 references keep their brackets. For schemes other than
    /// sip/sips, the whole opaque part after the colon.
    pub host: CompactString,
    /// Port, if given.
    pub port: Option<u16>,
    /// URI parameters in order, names and values unescaped.
    pub params: Params,
    /// URI headers (`?name=value&...`), unescaped.
    pub headers: Vec<(CompactString, CompactString)>,
}

/// Why a URI did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriError(pub &'static str);

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad URI: {}", self.0)
    }
}

impl std::error::Error for UriError {}

/// Checks that `s` only holds characters `part` allows or valid `%HH` escapes that decode
/// to UTF-8.
fn check(s: &str, part: Part, what: &'static str) -> Result<(), UriError> {
    let mut has_escape = false;
    for b in s.bytes() {
        if b == b'%' {
            has_escape = true;
        } else if !allowed(part, b) {
            return Err(UriError(what));
        }
    }
    if has_escape && unescape(s).is_none() {
        return Err(UriError(what));
    }
    Ok(())
}

/// Decodes a component already accepted by [`check`].
fn decode(s: &str) -> CompactString {
    unescape(s).map_or_else(|| s.into(), CompactString::from)
}

/// A user as [`Uri::user`] holds it, from its text as written (what
/// [`UriParts::user`] gives): `%HH` escapes decoded, borrowed when there are none.
pub(crate) fn decode_user(raw: &str) -> std::borrow::Cow<'_, str> {
    unescape(raw).unwrap_or(std::borrow::Cow::Borrowed(raw))
}

/// True for a hostname, IPv4 address or bracketed IPv6 reference.
pub(crate) fn valid_host(h: &str) -> bool {
    if let Some(inner) = h.strip_prefix('[') {
        return match inner.strip_suffix(']') {
            Some(addr) => {
                !addr.is_empty()
                    && addr.contains(':')
                    && addr
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            }
            None => false,
        };
    }
    !h.is_empty() && h.bytes().all(is_host_byte)
}

/// A URI split into its raw (still escaped) components: validated, not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UriParts<'a> {
    scheme: &'a str,
    /// Everything after the colon of a non-SIP URI; empty for sip/sips.
    opaque: Option<&'a str>,
    user: Option<&'a str>,
    password: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    /// `;name=value...` before any `?` (empty if none).
    params: &'a str,
    /// After the `?`.
    headers: Option<&'a str>,
}

impl<'a> UriParts<'a> {
    /// Splits and validates a URI. Whitespace anywhere is an error (RFC 4475 §3.1.2.8).
    pub(crate) fn scan(s: &'a str) -> Result<UriParts<'a>, UriError> {
        match Self::scan_plain(s) {
            Some(u) => Ok(u),
            None => Self::scan_general(s),
        }
    }

    /// The form nearly every URI on the wire has, in one pass over the bytes:
    /// `sip:`/`sips:`, an optional user without password or escapes, a hostname or IPv4
    /// address, an optional port, then `;name[=value]` parameters without escapes, and no
    /// `?headers`. `None` if `s` is not in that form: [`UriParts::scan_general`] then
    /// decides, and it returns the same parts on every URI accepted here.
    fn scan_plain(s: &'a str) -> Option<UriParts<'a>> {
        Self::scan_plain_prefix(s).and_then(|(u, end)| (end == s.len()).then_some(u))
    }

    /// [`UriParts::scan_plain`] on the longest start of `s` in the plain form: the parts
    /// and where they end. If `s` goes on with `>` there, the URI of a `<...>` name-addr
    /// is the same as [`UriParts::scan`] would read from the text before the first `>`
    /// (the plain form holds no `>`, and a `>` before the user's `@` makes this `None`).
    pub(crate) fn scan_plain_prefix(s: &'a str) -> Option<(UriParts<'a>, usize)> {
        let b = s.as_bytes();
        let colon = match b {
            [b's', b'i', b'p', b':', ..] => 3,
            [s, i, p, b':', ..] if [*s, *i, *p].eq_ignore_ascii_case(b"sip") => 3,
            [s, i, p, s2, b':', ..] if [*s, *i, *p, *s2].eq_ignore_ascii_case(b"sips") => 4,
            _ => return None,
        };
        let scheme = s.get(..colon)?;
        let rest = s.get(colon + 1..)?;
        let rb = rest.as_bytes();
        // USER has neither `@`, `:` (a password) nor `%` (an escape): if its run stops at an
        // `@`, that is the first one; otherwise there must be no `@` at all.
        let u_end = allowed_end(Part::User, rb, 0);
        let (user, h_start) = match rb.get(u_end) {
            Some(b'@') if u_end > 0 => (Some(rest.get(..u_end)?), u_end + 1),
            Some(b'@') => return None,
            _ if memchr(rb.get(u_end..)?, b'@').is_some() => return None,
            _ => (None, 0),
        };
        let h_end = host_end(rb, h_start);
        let host = rest.get(h_start..h_end).filter(|h| !h.is_empty())?;
        let (port, p_start) = if rb.get(h_end) == Some(&b':') {
            let (d_end, port) = port_at(rb, h_end + 1);
            (Some(port?), d_end)
        } else {
            (None, h_end)
        };
        let params = rest.get(p_start..)?;
        // PARAM has none of `;`, `=`, `?`, `%`.
        let pb = params.as_bytes();
        let mut i = 0;
        while i < pb.len() {
            if pb.get(i) != Some(&b';') {
                break;
            }
            let n_end = allowed_end(Part::Param, pb, i + 1);
            if n_end == i + 1 {
                return None;
            }
            i = n_end;
            if pb.get(i) == Some(&b'=') {
                let v_end = allowed_end(Part::Param, pb, i + 1);
                if v_end == i + 1 {
                    return None;
                }
                i = v_end;
            }
        }
        let uri = UriParts {
            scheme,
            opaque: None,
            user,
            password: None,
            host,
            port,
            params: params.get(..i)?,
            headers: None,
        };
        Some((uri, colon + 1 + p_start + i))
    }

    /// [`UriParts::scan`] for any text.
    fn scan_general(s: &'a str) -> Result<UriParts<'a>, UriError> {
        let colon = find(s, b':').ok_or(UriError("no scheme"))?;
        let scheme = s.get(..colon).unwrap_or("");
        let rest = s.get(colon + 1..).unwrap_or("");
        let mut chars = scheme.bytes();
        let first_ok = chars.next().is_some_and(|b| b.is_ascii_alphabetic());
        if !first_ok
            || !chars.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        {
            return Err(UriError("bad scheme"));
        }
        let mut parts = UriParts {
            scheme,
            opaque: None,
            user: None,
            password: None,
            host: "",
            port: None,
            params: "",
            headers: None,
        };
        if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
            let opaque_ok = rest
                .bytes()
                .all(|b| b > b' ' && b != 0x7f && b != b'<' && b != b'>' && b != b'"');
            if !opaque_ok {
                return Err(UriError("bad character"));
            }
            parts.opaque = Some(rest);
            return Ok(parts);
        }
        parts.scan_sip(rest)?;
        Ok(parts)
    }

    fn scan_sip(&mut self, rest: &'a str) -> Result<(), UriError> {
        let mut rest = rest;
        if let Some(at) = find(rest, b'@') {
            let userinfo = rest.get(..at).unwrap_or("");
            rest = rest.get(at + 1..).unwrap_or("");
            let (user, password) = match find(userinfo, b':') {
                Some(c) => (
                    userinfo.get(..c).unwrap_or(""),
                    Some(userinfo.get(c + 1..).unwrap_or("")),
                ),
                None => (userinfo, None),
            };
            if user.is_empty() {
                return Err(UriError("empty user"));
            }
            check(user, Part::User, "bad user")?;
            self.user = Some(user);
            if let Some(p) = password {
                check(p, Part::Password, "bad password")?;
                self.password = Some(p);
            }
        }
        let (hostport, tail) = match rest.bytes().position(|b| b == b';' || b == b'?') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
            None => (rest, ""),
        };
        let (host, port) = if hostport.starts_with('[') {
            match find(hostport, b']') {
                Some(i) => (
                    hostport.get(..=i).unwrap_or(""),
                    hostport.get(i + 1..).unwrap_or(""),
                ),
                None => return Err(UriError("unterminated IPv6 reference")),
            }
        } else {
            match find(hostport, b':') {
                Some(i) => (
                    hostport.get(..i).unwrap_or(""),
                    hostport.get(i..).unwrap_or(""),
                ),
                None => (hostport, ""),
            }
        };
        if !valid_host(host) {
            return Err(UriError("bad host"));
        }
        self.host = host;
        if !port.is_empty() {
            let digits = port.strip_prefix(':').ok_or(UriError("bad port"))?;
            self.port = Some(parse_u16(digits).ok_or(UriError("bad port"))?);
        }
        let (params, headers) = match find(tail, b'?') {
            Some(i) => (tail.get(..i).unwrap_or(""), tail.get(i + 1..)),
            None => (tail, None),
        };
        for p in params.split(';').skip(1) {
            let (n, v) = match find(p, b'=') {
                Some(i) => (p.get(..i).unwrap_or(""), p.get(i + 1..)),
                None => (p, None),
            };
            if n.is_empty() || v == Some("") {
                return Err(UriError("empty parameter"));
            }
            check(n, Part::Param, "bad parameter")?;
            if let Some(v) = v {
                check(v, Part::Param, "bad parameter")?;
            }
        }
        self.params = params;
        if let Some(h) = headers {
            for pair in h.split('&') {
                let (n, v) = pair.split_once('=').ok_or(UriError("bad header"))?;
                if n.is_empty() {
                    return Err(UriError("bad header"));
                }
                check(n, Part::Header, "bad header")?;
                check(v, Part::Header, "bad header")?;
            }
            self.headers = Some(h);
        }
        Ok(())
    }

    /// The user as written (still escaped); None without one, and for other schemes.
    pub(crate) fn user(&self) -> Option<&'a str> {
        self.user
    }

    /// True if the URI has `?headers`.
    pub(crate) fn has_headers(&self) -> bool {
        self.headers.is_some()
    }

    /// Decodes the components into an owned [`Uri`].
    pub(crate) fn to_uri(self) -> Uri {
        // The schemes nearly every URI has, as constants: no copy then lowercasing.
        let scheme = match self.scheme {
            "sip" => CompactString::const_new("sip"),
            "sips" => CompactString::const_new("sips"),
            other => {
                let mut scheme = CompactString::from(other);
                scheme.make_ascii_lowercase();
                scheme
            }
        };
        if let Some(opaque) = self.opaque {
            return Uri {
                scheme,
                host: opaque.into(),
                ..Uri::default()
            };
        }
        // No split and collect for a URI without parameters (most of them).
        let params = if self.params.is_empty() {
            Params::new()
        } else {
            self.params
                .split(';')
                .skip(1)
                .map(|p| match p.split_once('=') {
                    Some((n, v)) => (decode(n), Some(decode(v))),
                    None => (decode(p), None),
                })
                .collect()
        };
        let headers = self
            .headers
            .map(|h| {
                h.split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(n, v)| (decode(n), decode(v)))
                    .collect()
            })
            .unwrap_or_default();
        Uri {
            scheme,
            user: self.user.map(decode),
            password: self.password.map(decode),
            host: self.host.into(),
            port: self.port,
            params,
            headers,
        }
    }
}

impl Uri {
    /// Parses a URI. Whitespace anywhere is an error (RFC 4475 §3.1.2.8).
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        UriParts::scan(s).map(UriParts::to_uri)
    }

    /// True for `sip:` and `sips:` URIs.
    pub fn is_sip(&self) -> bool {
        self.scheme == "sip" || self.scheme == "sips"
    }

    /// A URI parameter by case-insensitive name: `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Writes the URI, re-escaping each component as its grammar requires.
    pub fn write_to(&self, out: &mut String) {
        out.push_str(&self.scheme);
        out.push(':');
        if !self.is_sip() {
            out.push_str(&self.host);
            return;
        }
        if let Some(user) = &self.user {
            push_escaped(out, user, Part::User);
            if let Some(p) = &self.password {
                out.push(':');
                push_escaped(out, p, Part::Password);
            }
            out.push('@');
        }
        out.push_str(&self.host);
        if let Some(port) = self.port {
            out.push(':');
            super::text::push_decimal_str(out, usize::from(port));
        }
        for (n, v) in &self.params {
            out.push(';');
            push_escaped(out, n, Part::Param);
            if let Some(v) = v {
                out.push('=');
                push_escaped(out, v, Part::Param);
            }
        }
        for (i, (n, v)) in self.headers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            push_escaped(out, n, Part::Header);
            out.push('=');
            push_escaped(out, v, Part::Header);
        }
    }
}

/// [`escape_into`], the leading run that needs no escaping (nearly always the whole text)
/// copied at once instead of pushed byte by byte.
fn push_escaped(out: &mut String, s: &str, part: Part) {
    let clean = allowed_end(part, s.as_bytes(), 0);
    // Allowed bytes are ASCII: `clean` is a char boundary.
    match (s.get(..clean), s.get(clean..)) {
        (Some(head), Some(rest)) => {
            out.push_str(head);
            if !rest.is_empty() {
                escape_into(out, rest, part);
            }
        }
        _ => escape_into(out, s, part),
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::Uri;

    fn rt(s: &str) -> Uri {
        let u = Uri::parse(s).unwrap();
        assert_eq!(Uri::parse(&u.to_string()).unwrap(), u, "{s}");
        u
    }

    #[test]
    fn components() {
        let u = rt("SIP:alice:pw@Example.com:5070;transport=udp;lr?subject=hi&x=%3Cy%3E");
        assert_eq!(u.scheme, "sip");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.host, "Example.com");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.param("TRANSPORT"), Some(Some("udp")));
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.headers[1], ("x".into(), "<y>".into()));
        assert_eq!(
            u.to_string(),
            "sip:alice:pw@Example.com:5070;transport=udp;lr?subject=hi&x=%3Cy%3E"
        );
    }

    #[test]
    fn ipv6_and_escapes() {
        let u = rt("sip:[2001:db8::10]:5060");
        assert_eq!(u.host, "[2001:db8::10]");
        assert_eq!(u.port, Some(5060));
        let u = rt("sip:[::1]");
        assert_eq!((u.host.as_str(), u.port), ("[::1]", None));
        let u = rt("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u@example.net"));
        let u = rt("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user.as_deref(), Some("sips:user@example.com"));
        let u = rt("sip:%00%00@example.com;n%61me=v%61lue%25%34%31");
        assert_eq!(u.user.as_deref(), Some("\0\0"));
        assert_eq!(u.param("name"), Some(Some("value%41")));
    }

    #[test]
    fn opaque_schemes() {
        let u = rt("tel:+1-201-555-0123;phone-context=x");
        assert_eq!(u.host, "+1-201-555-0123;phone-context=x");
        assert_eq!(rt("soap.beep://192.0.2.103:3002").scheme, "soap.beep");
    }

    #[test]
    fn one_pass_scan_agrees_with_the_general_one() {
        let seeds = [
            "sip:1001@127.0.0.1:5061;transport=udp;lr",
            "SIPS:a.b-c_d@Example.com;x;y=z",
            "sip:host.example.com:5060",
            "sip:u;p=1?x&y=z@h;a=b",
        ];
        let mut accepted = 0;
        for s in super::super::text::single_edits(&seeds) {
            if let Some(fast) = super::UriParts::scan_plain(&s) {
                accepted += 1;
                assert_eq!(super::UriParts::scan_general(&s), Ok(fast), "{s:?}");
            }
        }
        assert!(accepted > 500, "{accepted}");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "sip:",
            "<sip:a@b>",
            "sip:a@b; lr",
            " sip:a@b",
            "sip:a@b:99999",
            "sip:a@b:",
            "sip:[::1",
            "sip:@b",
            "sip:a@b;;",
            "sip:a@b;x=",
            "sip:a@b?x",
            "sip:a%4@b",
            "1sip:x",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad:?}");
        }
    }
}
