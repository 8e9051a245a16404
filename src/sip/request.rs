//! A validated SIP request (RFC 3261 §7.1, §8.1): accessors for the essentials decoded at
//! parse, typed accessors decoded on demand, a builder and the serializer.

use std::cell::OnceCell;

use super::body::Body;
use super::cseq::{write_cseq, CSeq};
use super::error::HeaderError;
use super::essentials::Essentials;
use super::headers::{Headers, Span};
use super::method::Method;
use super::name::HeaderName;
use super::name_addr::{Contact, NameAddr};
use super::text::push_decimal;
use super::uri::Uri;
use super::via::Via;

/// Returned by `top_via` on a built message that has no Via yet.
pub(crate) static NO_VIA: Via = Via {
    transport: String::new(),
    host: String::new(),
    port: None,
    params: Vec::new(),
};

/// A request. Parsed requests always carry Via, From, To, Call-ID and CSeq.
///
/// Equality compares the wire content (method, Request-URI, headers, body).
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    uri: OnceCell<Uri>,
    /// The Request-URI as written on the request line: a span of the header text (which
    /// holds the received request line, or the URI printed by a builder).
    uri_text: Span,
    headers: Headers,
    body: Body,
    ess: Essentials,
}

impl PartialEq for Request {
    fn eq(&self, other: &Request) -> bool {
        self.method == other.method
            && self.uri_text() == other.uri_text()
            && self.headers == other.headers
            && self.body() == other.body()
    }
}

impl Eq for Request {}

impl Request {
    pub(crate) fn from_parts(
        method: Method,
        uri_text: Span,
        headers: Headers,
        body: Body,
        ess: Essentials,
    ) -> Request {
        Request {
            method,
            uri: OnceCell::new(),
            uri_text,
            headers,
            body,
            ess,
        }
    }

    /// A new request for sipbox to send; add headers with [`Request::push_header`].
    pub fn new(method: Method, uri: Uri) -> Request {
        let mut r = Request::new_to(method, &uri);
        r.uri = OnceCell::from(uri);
        r
    }

    /// As [`Request::new`] for a Request-URI the caller keeps (a dialog's remote target):
    /// the URI is printed into the request line without cloning it, and decoded again only
    /// if [`Request::uri`] is asked.
    pub fn new_to(method: Method, uri: &Uri) -> Request {
        // The URI is printed into the header text: no String of its own.
        let mut headers = Headers::with_capacity(560, 12);
        let uri_text = headers.push_raw(|t| uri.write_to(t));
        Request {
            ess: Essentials::empty(method.clone()),
            method,
            uri_text,
            uri: OnceCell::new(),
            headers,
            body: Body::default(),
        }
    }

    /// The request-line method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI.
    pub fn uri(&self) -> &Uri {
        self.uri
            .get_or_init(|| Uri::parse(self.uri_text()).unwrap_or_default())
    }

    /// True when the Request-URI's scheme is `sip` or `sips` (any case), read off the request
    /// line: the §8.2.2.1 check of every request need not decode the URI.
    pub fn uri_is_sip(&self) -> bool {
        let t = self.uri_text();
        let scheme = t.find(':').map_or("", |i| &t[..i]);
        scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")
    }

    /// The Request-URI as written on the request line.
    fn uri_text(&self) -> &str {
        self.headers.at(self.uri_text)
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> &[Via] {
        self.ess.vias(&self.headers)
    }

    /// The top Via (an empty Via only on a built request with none pushed yet).
    pub fn top_via(&self) -> &Via {
        self.vias().first().unwrap_or(&NO_VIA)
    }

    super::message_common!();

    /// CSeq (its method equals the request method on parsed requests).
    pub fn cseq(&self) -> &CSeq {
        &self.ess.cseq
    }

    /// Max-Forwards, if present.
    pub fn max_forwards(&self) -> Option<u32> {
        self.ess.max_forwards
    }

    /// Expires in seconds.
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.headers.expires()
    }

    /// Require option tags.
    pub fn require(&self) -> Vec<String> {
        self.headers.require()
    }

    /// Proxy-Require option tags.
    pub fn proxy_require(&self) -> Vec<String> {
        self.headers.proxy_require()
    }

    /// Route values.
    pub fn route(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.headers.route()
    }

    /// Appends a header line. Via, From, To, Call-ID, CSeq and Max-Forwards also update
    /// the decoded accessors. Content-Length is ignored: `to_bytes` computes it.
    /// The value is copied into the message text: a borrowed one costs no allocation.
    pub fn push_header(&mut self, name: HeaderName, value: impl AsRef<str>) {
        if name == HeaderName::ContentLength {
            return;
        }
        let value = value.as_ref();
        self.ess.note(&name, value);
        // Headers are appended: only the first Via is the top one the spans keep.
        let first_via = name == HeaderName::Via && self.headers.get(&HeaderName::Via).is_none();
        self.headers.push(name, value);
        if first_via {
            self.ess.note_built_via(&self.headers);
        }
    }

    /// Appends `CSeq: seq method` (RFC 3261 §8.1.1.5) printed straight into the request, and
    /// keeps it as the request's CSeq from those parts: what [`Self::push_header_with`] and
    /// the parse of the line just written give, without the parse (an extension method,
    /// whose parse may differ from the value, still takes that path).
    pub(crate) fn push_cseq(&mut self, seq: u32, method: &Method) {
        if let Method::Extension(_) = method {
            self.push_header_with(HeaderName::CSeq, |s| write_cseq(s, seq, method));
            return;
        }
        self.headers
            .push_with(HeaderName::CSeq, |s| write_cseq(s, seq, method));
        self.ess.cseq = CSeq {
            seq,
            method: method.clone(),
        };
    }

    /// [`Self::push_header_with`] for a Via whose writer returns where it put the host
    /// and branch: a first Via's spans are taken from those marks, not rescanned.
    pub(crate) fn push_marked_via(&mut self, write: impl FnOnce(&mut String) -> super::ViaMarks) {
        let first_via = self.headers.get(&HeaderName::Via).is_none();
        let mut marks = None;
        let value = self
            .headers
            .push_with(HeaderName::Via, |s| marks = Some(write(s)));
        self.ess.note(&HeaderName::Via, value);
        if let (true, Some(marks)) = (first_via, marks) {
            self.ess.note_marked_via(marks);
        }
    }

    /// Serializes with single spaces on the request line, canonical header names and a
    /// computed Content-Length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.headers.text_len() + self.uri_text().len() + self.body().len() + 64,
        );
        self.write_to(&mut out);
        out
    }

    /// Appends what [`Request::to_bytes`] gives to `out` (a reused buffer: the transaction
    /// layer copies it once into the shared bytes it keeps for retransmission).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.uri_text().as_bytes());
        out.extend_from_slice(b" SIP/2.0\r\n");
        write_tail(out, &self.headers, self.body());
    }
}

/// Writes the headers, `Content-Length`, the blank line and the body.
pub(crate) fn write_tail(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    headers.write_to(out);
    out.extend_from_slice(b"Content-Length: ");
    push_decimal(out, body.len());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushed_cseq_is_the_one_the_line_parses_to() {
        let uri = Uri::parse("sip:b@h").unwrap();
        for method in [Method::Bye, Method::Invite, Method::parse("FOO")] {
            for seq in [0, 1, 102, u32::MAX] {
                let mut built = Request::new(method.clone(), uri.clone());
                built.push_cseq(seq, &method);
                let mut old = Request::new(method.clone(), uri.clone());
                old.push_header_with(HeaderName::CSeq, |s| write_cseq(s, seq, &method));
                assert_eq!(built.cseq(), old.cseq());
                assert_eq!(
                    built.cseq(),
                    &CSeq::parse(&format!("{seq} {method}")).unwrap()
                );
                assert_eq!(built.to_bytes(), old.to_bytes());
            }
        }
    }
}
