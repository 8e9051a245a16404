//! Parsing one UDP datagram into a validated message (RFC 3261 §7, §7.5, §18.3, §25.1;
//! RFC 4475 for the torture cases).
//!
//! Steps: split the head at the first empty line; read the start line; read header lines,
//! unfolding continuation lines; for a request, check the request line strictly (single
//! SPs, `SIP/2.0`, a Request-URI without headers); validate the essentials; frame the body
//! by Content-Length. Anything after the framed body is discarded (§18.3).

use super::error::{BadRequest, ParseError};
use super::essentials::{Essentials, Invalid};
use super::headers::Headers;
use super::method::Method;
use super::name::HeaderName;
use super::request::Request;
use super::response::Response;
use super::text::{is_token, is_token_byte, memchr, trim};
use super::uri::UriParts;

/// The largest datagram accepted.
pub const MAX_MESSAGE: usize = 65_535;

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Serializes the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

enum Start<'a> {
    Request { method: &'a str, line: &'a str },
    Response { status: u16, reason: &'a str },
}

/// The byte range of the next line of `data` from `pos` without its CR LF, and where the
/// line after starts.
fn next_line(data: &[u8], pos: usize) -> Option<(usize, usize, usize)> {
    let rest = data.get(pos..)?;
    if rest.is_empty() {
        return None;
    }
    let (mut end, next) = match memchr(rest, b'\n') {
        Some(nl) => (pos + nl, pos + nl + 1),
        None => (data.len(), data.len()),
    };
    if end > pos && data.get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    Some((pos, end, next))
}

fn start_line(line: &str) -> Result<Start<'_>, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/") {
        let (version, rest) = rest
            .split_once(' ')
            .ok_or(ParseError::Garbage("status line"))?;
        if version != "2.0" {
            return Err(ParseError::BadResponse("version not supported".into()));
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let bad = || ParseError::BadResponse(format!("bad status code {code:.10}"));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let status = code.parse::<u16>().map_err(|_| bad())?;
        if !(100..=699).contains(&status) {
            return Err(bad());
        }
        return Ok(Start::Response { status, reason });
    }
    let method = line.split(' ').next().unwrap_or("");
    let has_version = line
        .rsplit(' ')
        .any(|w| w.len() > 4 && w.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/")));
    if !is_token(method) || !has_version {
        return Err(ParseError::Garbage("not a SIP start line"));
    }
    Ok(Start::Request { method, line })
}

/// Reads header lines from `pos` up to the empty line, unfolding continuations. Returns
/// the headers and the bytes after the empty line (none if there is no empty line).
fn read_headers(data: &[u8], mut pos: usize) -> Result<(Headers, &[u8]), String> {
    // Validate UTF-8 once, up to the first bad byte; the head must lie inside it.
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(data.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or(""),
    };
    let mut h = Headers::with_capacity(data.len().saturating_sub(pos) + 64, 16);
    while let Some((start, end, next)) = next_line(data, pos) {
        pos = next;
        if start == end {
            return Ok((h, data.get(pos..).unwrap_or(&[])));
        }
        let line = text.get(start..end).ok_or("header line is not UTF-8")?;
        if matches!(line.as_bytes().first(), Some(b' ' | b'\t')) {
            if h.is_empty() {
                return Err("continuation line before any header".into());
            }
            h.continue_last(line);
            continue;
        }
        // One pass: the token, optional blanks, then the colon.
        let bytes = line.as_bytes();
        let name_len = bytes
            .iter()
            .position(|&b| !is_token_byte(b))
            .unwrap_or(bytes.len());
        let colon = bytes
            .iter()
            .skip(name_len)
            .position(|&b| b != b' ' && b != b'\t')
            .map(|i| i + name_len)
            .filter(|&i| bytes.get(i) == Some(&b':'));
        let (Some(colon), true) = (colon, name_len > 0) else {
            let shown = line.get(..name_len.min(40)).unwrap_or("");
            return Err(format!("bad header name or no colon after {shown:?}"));
        };
        let name = line.get(..name_len).unwrap_or("");
        let name = HeaderName::parse(name);
        let raw_value = line.get(colon + 1..).unwrap_or("");
        let value_len = trim(raw_value).len();
        // A line already in wire form (`Canonical-Name: value` CR LF) is copied whole.
        let prefix_len = name
            .wire_prefix()
            .filter(|p| line.starts_with(p))
            .map_or(0, str::len);
        let canonical = prefix_len > 0 && line.len() - prefix_len == value_len;
        match text.get(start..next) {
            Some(wire) if canonical && next == end + 2 => {
                h.push_wire_line(name, wire, prefix_len, value_len);
            }
            _ => h.push(name, raw_value),
        }
    }
    Ok((h, &[]))
}

fn bad_request(
    method: &Method,
    status: u16,
    reason: &str,
    detail: String,
    headers: Headers,
) -> ParseError {
    ParseError::BadRequest(Box::new(BadRequest {
        status,
        reason: reason.to_owned(),
        detail,
        method: method.clone(),
        headers,
    }))
}

fn invalid_reason(i: &Invalid) -> String {
    if i.missing {
        format!("Missing {} header", i.header)
    } else {
        format!("Bad {} header", i.header)
    }
}

/// Frames the body: Content-Length longer than the rest of the datagram is an error,
/// shorter truncates, absent takes everything (UDP, RFC 3261 §18.3).
fn frame(rest: &[u8], cl: Option<u32>) -> Option<Vec<u8>> {
    match cl {
        Some(n) => rest.get(..usize::try_from(n).ok()?).map(<[u8]>::to_vec),
        None => Some(rest.to_vec()),
    }
}

/// Parses one datagram. Leading CRLFs (keep-alives) are skipped.
pub fn parse(datagram: &[u8]) -> Result<Message, ParseError> {
    if datagram.len() > MAX_MESSAGE {
        return Err(ParseError::Garbage("datagram too large"));
    }
    let start = datagram
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .ok_or(ParseError::Garbage("empty"))?;
    let data = datagram.get(start..).unwrap_or(&[]);
    let (_, first_end, pos) = next_line(data, 0).ok_or(ParseError::Garbage("empty"))?;
    let first = std::str::from_utf8(data.get(..first_end).unwrap_or(&[]))
        .map_err(|_| ParseError::Garbage("start line is not UTF-8"))?;
    match start_line(first)? {
        Start::Response { status, reason } => {
            let (headers, rest) = read_headers(data, pos).map_err(ParseError::BadResponse)?;
            let ess = Essentials::validate(&headers)
                .map_err(|i| ParseError::BadResponse(invalid_reason(&i)))?;
            let body = frame(rest, ess.content_length)
                .ok_or_else(|| ParseError::BadResponse("Bad Content-Length header".into()))?;
            Ok(Message::Response(Response::from_parts(
                status, reason, headers, body, ess,
            )))
        }
        Start::Request { method, line } => {
            let method = Method::parse(method);
            match read_headers(data, pos) {
                Ok((headers, rest)) => parse_request(method, line, headers, rest),
                Err(e) => Err(bad_request(&method, 400, "Bad Request", e, Headers::new())),
            }
        }
    }
}

fn parse_request(
    method: Method,
    line: &str,
    headers: Headers,
    rest: &[u8],
) -> Result<Message, ParseError> {
    let mut parts = line.split(' ');
    let (_, uri_text, version) = (
        parts.next(),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if parts.next().is_some() || uri_text.is_empty() || version.is_empty() {
        let detail = "request line must be METHOD SP Request-URI SP SIP/2.0".to_owned();
        return Err(bad_request(
            &method,
            400,
            "Bad Request Line",
            detail,
            headers,
        ));
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        let detail = format!("version {version:.20}");
        return Err(bad_request(
            &method,
            505,
            "Version Not Supported",
            detail,
            headers,
        ));
    }
    match UriParts::scan(uri_text) {
        Ok(u) if !u.has_headers() => {}
        Ok(_) => {
            let detail = "Request-URI has headers".to_owned();
            return Err(bad_request(
                &method,
                400,
                "Bad Request-URI",
                detail,
                headers,
            ));
        }
        Err(e) => {
            return Err(bad_request(
                &method,
                400,
                "Bad Request-URI",
                e.to_string(),
                headers,
            ))
        }
    };
    let ess =
        match Essentials::validate(&headers).and_then(|e| e.check_request(&method).map(|()| e)) {
            Ok(e) => e,
            Err(i) => {
                return Err(bad_request(
                    &method,
                    400,
                    &invalid_reason(&i),
                    i.what,
                    headers,
                ))
            }
        };
    let Some(body) = frame(rest, ess.content_length) else {
        let detail = format!(
            "{} declared, {} present",
            ess.content_length.unwrap_or(0),
            rest.len()
        );
        return Err(bad_request(
            &method,
            400,
            "Bad Content-Length header",
            detail,
            headers,
        ));
    };
    let uri_text = trim(uri_text);
    Ok(Message::Request(Request::from_parts(
        method, uri_text, headers, body, ess,
    )))
}
