//! Digest credentials (RFC 2617 §3.2.2): `Digest k=v, k="quoted \" v", ...` as a borrowed
//! view of the header (the per-request path: nothing copied unless a quoted value has an
//! escape) and as an owned record (what the trunk side builds to answer a challenge).

use std::borrow::Cow;

use crate::sip::text::{is_lws, memchr, memchr2, trim};

/// Digest credentials from an Authorization or Proxy-Authorization header, borrowed from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DigestView<'a> {
    /// `username`
    pub username: Cow<'a, str>,
    /// `realm`
    pub realm: Cow<'a, str>,
    /// `nonce`
    pub nonce: Cow<'a, str>,
    /// `uri` (the digest-uri, compared as a string)
    pub uri: Cow<'a, str>,
    /// `response`: 32 hex digits
    pub response: Cow<'a, str>,
    /// `algorithm`, when given
    pub algorithm: Option<Cow<'a, str>>,
    /// `qop`, when given (only `auth` is accepted)
    pub qop: Option<Cow<'a, str>>,
    /// `nc`, the nonce count as written (8 hex digits)
    pub nc: Option<Cow<'a, str>>,
    /// `cnonce`
    pub cnonce: Option<Cow<'a, str>>,
    /// `opaque`
    pub opaque: Option<Cow<'a, str>>,
}

/// Digest credentials, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// `username`
    pub username: String,
    /// `realm`
    pub realm: String,
    /// `nonce`
    pub nonce: String,
    /// `uri` (the digest-uri, compared as a string)
    pub uri: String,
    /// `response`: 32 hex digits
    pub response: String,
    /// `algorithm`, when given
    pub algorithm: Option<String>,
    /// `qop`, when given (only `auth` is accepted)
    pub qop: Option<String>,
    /// `nc`, the nonce count as written (8 hex digits)
    pub nc: Option<String>,
    /// `cnonce`
    pub cnonce: Option<String>,
    /// `opaque`
    pub opaque: Option<String>,
}

/// The digest parameters a view keeps; others are ignored (RFC 2617 §3.2.2 `auth-param`).
#[derive(Clone, Copy)]
enum Field {
    Username,
    Realm,
    Nonce,
    Uri,
    Response,
    Algorithm,
    Qop,
    Nc,
    Cnonce,
    Opaque,
}

impl Field {
    /// The field a parameter name (any case) names: one comparison, picked by length and
    /// first letter, instead of trying every name in turn.
    fn of(name: &str) -> Option<Field> {
        let (field, spelled) = match (name.len(), name.as_bytes().first()?.to_ascii_lowercase()) {
            (2, b'n') => (Field::Nc, "nc"),
            (3, b'u') => (Field::Uri, "uri"),
            (3, b'q') => (Field::Qop, "qop"),
            (5, b'r') => (Field::Realm, "realm"),
            (5, b'n') => (Field::Nonce, "nonce"),
            (6, b'c') => (Field::Cnonce, "cnonce"),
            (6, b'o') => (Field::Opaque, "opaque"),
            (8, b'u') => (Field::Username, "username"),
            (8, b'r') => (Field::Response, "response"),
            (9, b'a') => (Field::Algorithm, "algorithm"),
            _ => return None,
        };
        name.eq_ignore_ascii_case(spelled).then_some(field)
    }
}

/// Why a credentials header could not be used at all (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedCredentials(pub &'static str);

impl<'a> DigestView<'a> {
    /// Parses `Digest k=v, k="v", ...`. Rejects what a correct client never sends:
    /// missing mandatory fields, a qop without nc/cnonce (svcrack does that), a bad nc.
    pub fn parse(value: &'a str) -> Result<DigestView<'a>, MalformedCredentials> {
        let value = value.trim_start();
        let rest = match value.get(..6) {
            Some(scheme) if scheme.eq_ignore_ascii_case("digest") => &value[6..],
            _ => return Err(MalformedCredentials("scheme is not Digest")),
        };
        let mut c = DigestView::default();
        scan_auth_params(rest, |k, v| match Field::of(k) {
            Some(Field::Username) => c.username = v,
            Some(Field::Realm) => c.realm = v,
            Some(Field::Nonce) => c.nonce = v,
            Some(Field::Uri) => c.uri = v,
            Some(Field::Response) => c.response = v,
            Some(Field::Algorithm) => c.algorithm = Some(v),
            Some(Field::Qop) => c.qop = Some(v),
            Some(Field::Nc) => c.nc = Some(v),
            Some(Field::Cnonce) => c.cnonce = Some(v),
            Some(Field::Opaque) => c.opaque = Some(v),
            None => {}
        })
        .ok_or(MalformedCredentials("bad parameter list"))?;
        if c.username.is_empty() || c.nonce.is_empty() || c.uri.is_empty() {
            return Err(MalformedCredentials("username, nonce and uri are required"));
        }
        if c.response.len() != 32 || !c.response.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MalformedCredentials("response is not 32 hex digits"));
        }
        if let Some(alg) = &c.algorithm {
            if !alg.eq_ignore_ascii_case("MD5") {
                return Err(MalformedCredentials("only algorithm=MD5 is supported"));
            }
        }
        if let Some(qop) = &c.qop {
            if !qop.eq_ignore_ascii_case("auth") {
                return Err(MalformedCredentials("only qop=auth is supported"));
            }
            let nc_ok =
                matches!(&c.nc, Some(nc) if nc.len() == 8 && u32::from_str_radix(nc, 16).is_ok());
            if !nc_ok || c.cnonce.as_deref().is_none_or(str::is_empty) {
                return Err(MalformedCredentials("qop=auth needs nc and cnonce"));
            }
        }
        Ok(c)
    }

    /// The nonce count as a number (0 when qop is absent).
    pub fn nonce_count(&self) -> u32 {
        self.nc
            .as_deref()
            .and_then(|nc| u32::from_str_radix(nc, 16).ok())
            .unwrap_or(0)
    }

    /// An owned copy.
    pub fn into_owned(self) -> Credentials {
        let own = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
        Credentials {
            username: self.username.into_owned(),
            realm: self.realm.into_owned(),
            nonce: self.nonce.into_owned(),
            uri: self.uri.into_owned(),
            response: self.response.into_owned(),
            algorithm: own(self.algorithm),
            qop: own(self.qop),
            nc: own(self.nc),
            cnonce: own(self.cnonce),
            opaque: own(self.opaque),
        }
    }
}

impl Credentials {
    /// [`DigestView::parse`], copied out.
    pub fn parse(value: &str) -> Result<Credentials, MalformedCredentials> {
        DigestView::parse(value).map(DigestView::into_owned)
    }

    /// The nonce count as a number (0 when qop is absent).
    pub fn nonce_count(&self) -> u32 {
        self.nc
            .as_deref()
            .and_then(|nc| u32::from_str_radix(nc, 16).ok())
            .unwrap_or(0)
    }
}

/// Calls `each(key, value)` for every pair of `k=v, k="quoted \" v"`, in order, borrowing
/// values that hold no escape; None on a syntax error (pairs seen before it were passed).
pub(crate) fn scan_auth_params<'a>(
    s: &'a str,
    mut each: impl FnMut(&'a str, Cow<'a, str>),
) -> Option<()> {
    // Byte positions and SIP's LWS (SP, HTAB, CR, LF) rather than `str::find`/`str::trim`'s
    // char and Unicode-whitespace walks: every authenticated INVITE and REGISTER comes here.
    let b = s.as_bytes();
    let skip = |mut i: usize| {
        while b.get(i).copied().is_some_and(is_lws) {
            i += 1;
        }
        i
    };
    let mut i = skip(0);
    while i < b.len() {
        // One pass over the key: its token bytes, LWS, then the `=` (anything else there is a
        // syntax error, as a key with other bytes in it was).
        let start = i;
        while b
            .get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        {
            i += 1;
        }
        let key = &s[start..i];
        i = skip(i);
        if key.is_empty() || b.get(i) != Some(&b'=') {
            return None;
        }
        i = skip(i + 1);
        let value;
        if b.get(i) == Some(&b'"') {
            let (v, after) = quoted(&s[i + 1..])?;
            value = v;
            i = skip(b.len() - after.len());
        } else {
            let end = memchr(&b[i..], b',').map_or(b.len(), |e| i + e);
            value = Cow::Borrowed(trim(&s[i..end]));
            i = end;
        }
        each(key, value);
        match b.get(i) {
            Some(b',') => i = skip(i + 1),
            None => {}
            Some(_) => return None,
        }
    }
    Some(())
}

/// The body of a quoted string whose opening quote is already consumed, unescaped, and what
/// follows its closing quote; None when it is not closed or ends in a lone backslash.
fn quoted(q: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = q.as_bytes();
    let mut i = 0;
    let mut escaped = false;
    // From one `"` or `\` to the next, a word at a time: most values hold no escape.
    loop {
        // Not closed: None.
        i += memchr2(bytes.get(i..)?, b'"', b'\\')?;
        if bytes[i] == b'"' {
            break;
        }
        escaped = true;
        // A backslash quotes the next character; continuation bytes of a multibyte
        // character are never `"` or `\`, so stepping one byte is enough.
        i += 2;
    }
    let body = &q[..i];
    let after = &q[i + 1..];
    if !escaped {
        return Some((Cow::Borrowed(body), after));
    }
    let mut v = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => v.push(chars.next()?),
            _ => v.push(ch),
        }
    }
    Some((Cow::Owned(v), after))
}

/// Splits `k=v, k="quoted \" v"` into owned pairs; None on a syntax error.
pub(crate) fn auth_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(10);
    scan_auth_params(s, |k, v| out.push((k.to_string(), v.into_owned())))?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_borrowed_unless_escaped() {
        let c = DigestView::parse(
            r#"Digest username="10\"01", realm=sipbox, nonce="n", uri="sip:x", response="0123456789abcdef0123456789abcdef""#,
        )
        .unwrap();
        assert_eq!(c.username, "10\"01");
        assert!(matches!(c.username, Cow::Owned(_)));
        assert!(matches!(c.realm, Cow::Borrowed("sipbox")));
        assert!(matches!(c.nonce, Cow::Borrowed("n")));
        assert_eq!(
            auth_params(r#"a="x\\y", b = 2 "#).unwrap(),
            vec![("a".into(), "x\\y".into()), ("b".into(), "2".into())]
        );
        for bad in [r#"a="open"#, r#"a="ends\"#, "=1", "a b=1"] {
            assert!(auth_params(bad).is_none(), "{bad:?}");
        }
        assert_eq!(auth_params(r#"a="é\é", b=1"#).unwrap()[0].1, "éé");
    }
}
