//! Errors: a bad header found by a typed accessor, and why a datagram did not parse,
//! mapped to the status the engine should answer with (RFC 3261 §8.2, §21.4.1, §21.5.6;
//! RFC 4475 §3.1.2, §3.3 on which torture messages get which answer).

use std::fmt;

use super::headers::Headers;
use super::method::Method;
use super::name::HeaderName;
use super::via::Via;

/// A header that is present but does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    /// Canonical header name, e.g. `"Via"`.
    pub header: &'static str,
    /// What is wrong, for logs.
    pub what: String,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bad {} header", self.header)
    }
}

impl std::error::Error for HeaderError {}

/// A request the engine must answer with an error status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// 400 or 505.
    pub status: u16,
    /// Reason phrase, e.g. `"Bad CSeq header"`.
    pub reason: String,
    /// Detail for logs.
    pub detail: String,
    /// The request-line method.
    pub method: Method,
    /// The header lines as parsed, for copying into the error response.
    pub headers: Headers,
}

/// Why a datagram is not a usable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not a SIP message at all (or over 65 535 bytes): drop silently.
    Garbage(&'static str),
    /// A response that cannot be processed: drop silently (responses are never answered).
    BadResponse(String),
    /// A broken request: answer with `status()`.
    BadRequest(Box<BadRequest>),
}

impl ParseError {
    /// The status to answer with: 400 for a bad header or framing, 505 for a SIP version
    /// other than 2.0; `None` to drop silently (garbage, responses, and ACKs, which are
    /// never answered).
    pub fn status(&self) -> Option<u16> {
        match self {
            ParseError::BadRequest(b) if b.method != Method::Ack => Some(b.status),
            _ => None,
        }
    }

    /// The reason phrase for the error response (or a description for logs).
    pub fn reason(&self) -> String {
        match self {
            ParseError::Garbage(w) => format!("Not SIP: {w}"),
            ParseError::BadResponse(w) => format!("Bad response: {w}"),
            ParseError::BadRequest(b) => b.reason.clone(),
        }
    }

    /// The raw header lines, when the start line was a request line.
    pub fn raw_headers(&self) -> Option<&Headers> {
        match self {
            ParseError::BadRequest(b) => Some(&b.headers),
            _ => None,
        }
    }

    /// The raw top Via value of a broken request.
    pub fn raw_top_via(&self) -> Option<&str> {
        self.raw_headers()?.get_all(&HeaderName::Via).next()
    }

    /// The top Via of a broken request, if it decodes (so the engine can add
    /// received/rport and pass it to [`ParseError::error_response_with`]).
    pub fn top_via(&self) -> Option<Via> {
        self.raw_top_via().and_then(|v| Via::parse(v).ok())
    }

    /// The error response as bytes: status line, every Via, From, To, Call-ID and CSeq
    /// copied verbatim, `Content-Length: 0`. `None` when the error is to be dropped.
    pub fn error_response(&self) -> Option<Vec<u8>> {
        self.error_response_with(None, None)
    }

    /// As [`ParseError::error_response`], with the top Via replaced by `top_via` and a
    /// `tag` added to To when it has none.
    pub fn error_response_with(
        &self,
        top_via: Option<&str>,
        to_tag: Option<&str>,
    ) -> Option<Vec<u8>> {
        let status = self.status()?;
        let h = self.raw_headers()?;
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(format!("SIP/2.0 {status} {}\r\n", self.reason()).as_bytes());
        for (i, via) in h.get_all(&HeaderName::Via).enumerate() {
            let via = match (i, top_via) {
                (0, Some(t)) => t,
                _ => via,
            };
            line(&mut out, "Via", via);
        }
        let copy = [
            (HeaderName::From, "From"),
            (HeaderName::To, "To"),
            (HeaderName::CallId, "Call-ID"),
            (HeaderName::CSeq, "CSeq"),
        ];
        for (name, canon) in copy {
            if let Some(v) = h.get(&name) {
                match to_tag {
                    Some(tag) if name == HeaderName::To && !has_tag(v) => {
                        line(&mut out, canon, &format!("{v};tag={tag}"));
                    }
                    _ => line(&mut out, canon, v),
                }
            }
        }
        out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        Some(out)
    }
}

fn line(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// True if a raw To value has a tag parameter after its URI.
fn has_tag(v: &str) -> bool {
    let after = match v.rfind('>') {
        Some(i) => v.get(i..).unwrap_or(""),
        None => v,
    };
    after
        .to_ascii_lowercase()
        .replace(' ', "")
        .contains(";tag=")
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::BadRequest(b) => write!(f, "{} {} ({})", b.status, b.reason, b.detail),
            other => f.write_str(&other.reason()),
        }
    }
}

impl std::error::Error for ParseError {}
