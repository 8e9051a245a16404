//! `name-addr` / `addr-spec` values of From, To, Contact, Route and Record-Route
//! (RFC 3261 §20.10, §20.20, §20.39, §25.1; RFC 4475 §3.1.1.6 on `token<uri>`).
//!
//! In the addr-spec form (no angle brackets) every `;param` after the URI belongs to the
//! header, not to the URI (RFC 3261 §20.10), and the URI may not contain `,`, `?` or `;`.

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;

use super::params::{
    check_header_params_tag, find_param, parse_header_params, write_params, Params,
};
use super::text::{find, is_token_byte, is_ws, quote_into, quoted_end, trim, unquote};
use super::uri::{Uri, UriParts};

/// A display name, a URI and header parameters (tag, expires, q, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped (`None` if absent or empty).
    pub display: Option<CompactString>,
    /// The address.
    pub uri: Uri,
    /// Header parameters in order; quoted values keep their quotes.
    pub params: Params,
}

/// A display name as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawDisplay<'a> {
    /// `"..."`, with its quotes.
    Quoted(&'a str),
    /// Tokens separated by LWS.
    Tokens(&'a str),
}

/// A name-addr split into raw components: validated, not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameAddrParts<'a> {
    display: Option<RawDisplay<'a>>,
    uri: UriParts<'a>,
    params: &'a str,
    /// The first `tag` parameter's value, found while validating.
    tag: Option<&'a str>,
}

impl<'a> NameAddrParts<'a> {
    /// Splits and validates one `name-addr` or `addr-spec` with its header parameters.
    pub(crate) fn scan(s: &'a str) -> Result<NameAddrParts<'a>, String> {
        let s = trim(s);
        if s.is_empty() {
            return Err("empty value".into());
        }
        let (display, rest) = if s.starts_with('"') {
            let end = quoted_end(s).ok_or("unterminated quoted display name")?;
            let rest = trim(s.get(end..).unwrap_or(""));
            if !rest.starts_with('<') {
                return Err("quoted display name without <URI>".into());
            }
            (s.get(..end).map(RawDisplay::Quoted), rest)
        } else if let Some(i) = find(s, b'<') {
            let d = trim(s.get(..i).unwrap_or(""));
            if !d.bytes().all(|b| is_token_byte(b) || is_ws(b)) {
                return Err("bad display name (must be quoted)".into());
            }
            let d = Some(d).filter(|d| !d.is_empty()).map(RawDisplay::Tokens);
            (d, s.get(i..).unwrap_or(""))
        } else {
            return Self::scan_addr_spec(s);
        };
        let inner = rest.get(1..).unwrap_or("");
        // The plain URI scan stops at the `>` itself: no second pass to find it.
        let (uri, close) = match UriParts::scan_plain_prefix(inner) {
            Some((uri, end)) if inner.as_bytes().get(end) == Some(&b'>') => (uri, end),
            _ => {
                let close = find(inner, b'>').ok_or("missing >")?;
                let text = inner.get(..close).unwrap_or("");
                (UriParts::scan(text).map_err(|e| e.to_string())?, close)
            }
        };
        let params = inner.get(close + 1..).unwrap_or("");
        let tag = check_header_params_tag(params)?;
        Ok(NameAddrParts {
            display,
            uri,
            params,
            tag,
        })
    }

    fn scan_addr_spec(s: &'a str) -> Result<NameAddrParts<'a>, String> {
        let end = find(s, b';').unwrap_or(s.len());
        let uri_text = trim(s.get(..end).unwrap_or(""));
        if uri_text.bytes().any(|b| matches!(b, b'?' | b',' | b'"')) {
            return Err("URI with headers must be in <>".into());
        }
        let uri = UriParts::scan(uri_text).map_err(|e| e.to_string())?;
        let params = s.get(end..).unwrap_or("");
        let tag = check_header_params_tag(params)?;
        Ok(NameAddrParts {
            display: None,
            uri,
            params,
            tag,
        })
    }

    /// The `tag` parameter, as [`NameAddr::tag`] would read it after decoding.
    pub(crate) fn tag(&self) -> Option<&'a str> {
        self.tag
    }

    /// The display name as written (quotes included), if any.
    pub(crate) fn raw_display(&self) -> Option<&'a str> {
        match self.display {
            Some(RawDisplay::Quoted(q) | RawDisplay::Tokens(q)) => Some(q),
            None => None,
        }
    }

    /// The URI's user as written (still escaped); None without one (or for a non-SIP URI).
    pub(crate) fn raw_user(&self) -> Option<&'a str> {
        self.uri.user()
    }

    /// Decodes into an owned [`NameAddr`].
    pub(crate) fn to_name_addr(self) -> NameAddr {
        NameAddr {
            display: self.decoded_display(),
            uri: self.uri.to_uri(),
            params: parse_header_params(self.params).unwrap_or_default(),
        }
    }

    /// What [`NameAddr::without_tag`] gives of [`Self::to_name_addr`], without decoding the
    /// tag only to drop it: a value whose only parameter is its tag (a From or To with
    /// one, nearly always) decodes no parameter at all.
    pub(crate) fn to_name_addr_without_tag(self) -> NameAddr {
        let only_tag = self
            .tag
            .is_some_and(|t| self.params.strip_prefix(";tag=") == Some(t));
        let params = if only_tag {
            Params::new()
        } else {
            let mut p = parse_header_params(self.params).unwrap_or_default();
            p.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
            p
        };
        NameAddr {
            display: self.decoded_display(),
            uri: self.uri.to_uri(),
            params,
        }
    }

    fn decoded_display(&self) -> Option<CompactString> {
        self.raw_display()
            .and_then(decode_display)
            .map(|d| CompactString::from(d.as_ref()))
    }
}

/// A display name as [`NameAddr::display`] holds it, from its text as written (what
/// [`NameAddrParts::raw_display`] gives): unquoted and unescaped, None when empty; borrowed
/// unless it holds a `\` escape.
pub(crate) fn decode_display(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.starts_with('"') {
        // Tokens (a token holds no `"`): as written.
        return Some(Cow::Borrowed(raw)).filter(|d| !d.is_empty());
    }
    let inner = raw
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(raw);
    let d = if inner.contains('\\') {
        Cow::Owned(unquote(raw).into())
    } else {
        Cow::Borrowed(inner)
    };
    Some(d).filter(|d| !d.is_empty())
}

impl NameAddr {
    /// Parses one `name-addr` or `addr-spec` with its header parameters.
    pub fn parse(s: &str) -> Result<NameAddr, String> {
        NameAddrParts::scan(s).map(NameAddrParts::to_name_addr)
    }

    /// A new name-addr for `uri` with no display name or parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// A copy without any `tag` parameter (a dialog's local and remote URIs).
    pub fn without_tag(&self) -> NameAddr {
        // The tag is left out of the copy rather than copied and dropped.
        NameAddr {
            display: self.display.clone(),
            uri: self.uri.clone(),
            params: self
                .params
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("tag"))
                .cloned()
                .collect(),
        }
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// A header parameter by case-insensitive name: `Some(None)` if present without value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Sets (replacing) or adds a header parameter.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = value.map(CompactString::from),
            None => self
                .params
                .push((name.into(), value.map(CompactString::from))),
        }
    }

    /// Writes the value in name-addr form (`"display" <uri>;params`).
    pub fn write_to(&self, out: &mut String) {
        if let Some(d) = &self.display {
            quote_into(out, d);
            out.push(' ');
        }
        out.push('<');
        self.uri.write_to(out);
        out.push('>');
        write_params(out, &self.params);
    }
}

impl NameAddr {
    /// Writes the value as [`NameAddr::write_to`] would after `set_param("tag", tag)`: the
    /// first `tag` parameter takes the value (its name as written), or `;tag=` is added
    /// at the end. `None` writes the value as it is.
    pub fn write_with_tag(&self, out: &mut String, tag: Option<&str>) {
        let Some(tag) = tag else {
            return self.write_to(out);
        };
        if let Some(d) = &self.display {
            quote_into(out, d);
            out.push(' ');
        }
        out.push('<');
        self.uri.write_to(out);
        out.push('>');
        let mut done = false;
        for (n, v) in &self.params {
            out.push(';');
            out.push_str(n);
            if !done && n.eq_ignore_ascii_case("tag") {
                done = true;
                out.push('=');
                out.push_str(tag);
            } else if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
        if !done {
            out.push_str(";tag=");
            out.push_str(tag);
        }
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(96);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// One Contact value: `*` (remove all bindings) or an address with expires/q parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// `Contact: *`.
    Star,
    /// A binding.
    Addr(NameAddr),
}

impl Contact {
    /// Parses one Contact value.
    pub fn parse(s: &str) -> Result<Contact, String> {
        if trim(s) == "*" {
            Ok(Contact::Star)
        } else {
            NameAddr::parse(s).map(Contact::Addr)
        }
    }
}

impl Contact {
    /// The URI of the first address among Contact `values` (`*` skipped): what decoding
    /// each with [`Contact::parse`] and taking the first address's URI gives, None when one
    /// does not parse. Every value is scanned, only that URI is decoded (not its display
    /// name and parameters, nor the other values).
    pub fn first_uri<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Uri> {
        let mut first = None;
        for v in values {
            if trim(v) == "*" {
                continue;
            }
            let parts = NameAddrParts::scan(v).ok()?;
            first = first.or(Some(parts));
        }
        first.map(|p| p.uri.to_uri())
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Star => f.write_str("*"),
            Contact::Addr(a) => a.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> NameAddr {
        let a = NameAddr::parse(s).unwrap();
        assert_eq!(NameAddr::parse(&a.to_string()).unwrap(), a, "{s}");
        a
    }

    #[test]
    fn forms() {
        let a = rt(r#""Bob \"B\" Smith" <sip:bob@example.com;lr>;tag=abc;x"#);
        assert_eq!(a.display.as_deref(), Some(r#"Bob "B" Smith"#));
        assert_eq!(a.uri.param("lr"), Some(None));
        assert_eq!(a.tag(), Some("abc"));
        assert_eq!(a.param("x"), Some(None));
        let a = rt("caller<sip:caller@example.com>;tag=323");
        assert_eq!(a.display.as_deref(), Some("caller"));
        let a = rt("sip:+19725552222@gw1.example.net;unknownparam");
        assert!(a.uri.params.is_empty());
        assert_eq!(a.param("unknownparam"), Some(None));
        let a = rt("<sip:+19725552222@gw1.example.net;unknownparam>");
        assert_eq!(a.uri.param("unknownparam"), Some(None));
        assert!(a.params.is_empty());
        let a = rt("Anonymous Person <sip:a@[::1]:5060>");
        assert_eq!(a.display.as_deref(), Some("Anonymous Person"));
        assert_eq!(a.uri.host, "[::1]");
        let a = rt("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>");
        assert_eq!(a.uri.headers[0].1, "<sip:sip.example.com>");
    }

    #[test]
    fn write_with_tag_is_set_param_then_write() {
        for (s, tag) in [
            ("<sip:a@b>", Some("t1")),
            ("\"A B\" <sip:a@b:5060;lr>;x=1", Some("t2")),
            ("<sip:a@b>;TAG=old;x;tag=second", Some("new")),
            ("<sip:a@b>;tag", Some("v")),
            ("sip:a@b;tag=x", None),
            ("Bob <sip:bob%40x@b>;q=0.5", Some("t")),
        ] {
            let a = NameAddr::parse(s).unwrap();
            let mut want = a.clone();
            if let Some(t) = tag {
                want.set_param("tag", Some(t.to_string()));
            }
            let mut got = String::from("x");
            a.write_with_tag(&mut got, tag);
            assert_eq!(got, format!("x{want}"), "{s}");
        }
    }

    #[test]
    fn one_pass_uri_in_brackets_agrees_with_finding_the_bracket_first() {
        let seeds = [
            "\"A\" <sip:1001@127.0.0.1:5061;lr>;tag=x",
            "<sips:h;a=b>",
            "b <sip:a@h>;x@y",
        ];
        let mut accepted = 0;
        for s in crate::sip::text::single_edits(&seeds) {
            let Some(lt) = s.find('<') else { continue };
            let inner = &s[lt + 1..];
            let Some((uri, end)) = UriParts::scan_plain_prefix(inner) else {
                continue;
            };
            if inner.as_bytes().get(end) == Some(&b'>') {
                accepted += 1;
                let close = inner.find('>').unwrap();
                assert_eq!(UriParts::scan(&inner[..close]), Ok(uri), "{s:?}");
            }
        }
        assert!(accepted > 200, "{accepted}");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "Bell, Alexander <sip:a@b>",
            "\"unterminated <sip:a@b>",
            "< sip:a@b >",
            "sip:user@example.com?Route=%3Csip:x%3E",
            "<sip:a@b>;;;;",
            "<sip:a@b",
            "\"x\" sip:a@b",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// [`Contact::first_uri`] is the first address of the values decoded one by one.
    #[test]
    fn first_contact_uri_is_the_first_decoded_address() {
        let old = |vs: &[&str]| -> Option<Uri> {
            let mut first = None;
            for v in vs {
                match Contact::parse(v).ok()? {
                    Contact::Addr(na) if first.is_none() => first = Some(na.uri),
                    _ => {}
                }
            }
            first
        };
        let seeds = [
            "<sip:127.0.0.1:5062;transport=UDP>",
            "\"A \\\"b\" <SIP:%41@[::1]:5060;x;y=z>;expires=60;q=0.5",
            "sip:u@h;expires=3",
        ];
        let edits = crate::sip::text::single_edits(&seeds);
        let mut some = 0;
        for e in &edits {
            for vs in [
                vec![e.as_str()],
                vec!["*", e.as_str()],
                vec![e.as_str(), "<sip:b@h>"],
                vec!["<sip:b@h>", e.as_str()],
            ] {
                let got = Contact::first_uri(vs.iter().copied());
                some += usize::from(got.is_some());
                assert_eq!(got, old(&vs), "{vs:?}");
            }
        }
        assert!(some > 1000, "{some}");
        assert_eq!(Contact::first_uri(["*"]), None);
        assert_eq!(Contact::first_uri([]), None);
    }

    #[test]
    fn contact_star() {
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Star);
        assert!(matches!(
            Contact::parse("<sip:a@b>;expires=60"),
            Ok(Contact::Addr(_))
        ));
    }
}
