//! The request head: request line and headers, parsed with `httparse` (zero-copy, no
//! allocation, fuzzed upstream), with sipbox's own bounds checked first so that no client
//! can make us hold more than [`Limits::max_head`] bytes.

/// Bounds on one request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The request line, in bytes (414 beyond).
    pub max_request_line: usize,
    /// The whole head (request line, headers, blank line), in bytes (431 beyond).
    pub max_head: usize,
    /// Header fields (431 beyond).
    pub max_headers: usize,
}

/// Header fields httparse may fill: the array lives on the stack.
pub const HEADER_SLOTS: usize = 32;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 2048,
            max_head: 8192,
            max_headers: HEADER_SLOTS,
        }
    }
}

/// The methods sipbox tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// HEAD: the GET's headers without the body.
    Head,
    /// A well-formed method sipbox does not serve (405).
    Other,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Its method.
    pub method: Method,
    /// The path of the request target, without the query.
    pub path: String,
}

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Not HTTP/1.x syntax, no Host in HTTP/1.1, a target that is not a path (400).
    Malformed,
    /// The request line is longer than [`Limits::max_request_line`] (414).
    LineTooLong,
    /// The head is larger than [`Limits::max_head`] or has too many fields (431).
    HeadTooLarge,
}

/// The result of looking at the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed (and may still come within the limits).
    Partial,
    /// A complete head.
    Done(Request),
    /// A head to refuse.
    Bad(RequestError),
}

/// Parses the head at the start of `buf` under `limits`.
pub fn parse(buf: &[u8], limits: &Limits) -> Parsed {
    // RFC 9112 §2.2: a server should ignore empty lines before the request line.
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let buf = &buf[start..];
    match buf.iter().position(|&b| b == b'\n') {
        Some(end) if end > limits.max_request_line => {
            return Parsed::Bad(RequestError::LineTooLong)
        }
        None if buf.len() > limits.max_request_line => {
            return Parsed::Bad(RequestError::LineTooLong)
        }
        _ => {}
    }
    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let n = limits.max_headers.min(HEADER_SLOTS);
    let mut req = httparse::Request::new(&mut slots[..n]);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() + start > limits.max_head => {
            return Parsed::Bad(RequestError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Bad(RequestError::HeadTooLarge),
        Err(_) => return Parsed::Bad(RequestError::Malformed),
    };
    if len + start > limits.max_head {
        return Parsed::Bad(RequestError::HeadTooLarge);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Parsed::Bad(RequestError::Malformed);
    };
    // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host is answered 400.
    let hosts = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"))
        .count();
    if version == 1 && hosts != 1 {
        return Parsed::Bad(RequestError::Malformed);
    }
    // Origin form only (RFC 9112 §3.2.1): a status page has no use for proxy forms.
    if !target.starts_with('/') {
        return Parsed::Bad(RequestError::Malformed);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    Parsed::Done(Request {
        method,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Parsed {
        parse(text.as_bytes(), &Limits::default())
    }

    #[test]
    fn get_head_and_other_methods() {
        assert_eq!(
            p("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            Parsed::Done(Request {
                method: Method::Get,
                path: "/metrics".into()
            })
        );
        assert!(matches!(
            p("\r\nHEAD / HTTP/1.0\r\n\r\n"),
            Parsed::Done(Request {
                method: Method::Head,
                ..
            })
        ));
        assert!(matches!(
            p("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"),
            Parsed::Done(Request {
                method: Method::Other,
                ..
            })
        ));
    }

    #[test]
    fn partial_until_the_blank_line() {
        assert_eq!(p(""), Parsed::Partial);
        assert_eq!(p("GET / HT"), Parsed::Partial);
        assert_eq!(p("GET / HTTP/1.1\r\nHost: a\r\n"), Parsed::Partial);
    }

    #[test]
    fn malformed_heads_are_400() {
        for bad in [
            "GET / HTTP/1.1\r\n\r\n",                       // no Host
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two
            "GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n",    // absolute form
            "GET / SIP/2.0\r\n\r\n",
            "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        ] {
            assert_eq!(p(bad), Parsed::Bad(RequestError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn limits_line_head_and_field_count() {
        let l = Limits::default();
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(l.max_request_line));
        assert_eq!(p(&long), Parsed::Bad(RequestError::LineTooLong));
        // Without its newline yet: refused as soon as it is longer than the limit.
        assert_eq!(
            p(&long[..l.max_request_line + 1]),
            Parsed::Bad(RequestError::LineTooLong)
        );
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n",
            "b".repeat(l.max_head)
        );
        assert_eq!(
            p(&big),
            Parsed::Bad(RequestError::HeadTooLarge),
            "no blank line yet"
        );
        let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..l.max_headers {
            many.push_str(&format!("X-{i}: y\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(p(&many), Parsed::Bad(RequestError::HeadTooLarge));
        let tight = Limits {
            max_headers: 2,
            ..l
        };
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", &tight),
            Parsed::Bad(RequestError::HeadTooLarge)
        );
        // Exactly at the bounds is fine.
        let line = format!("GET /{} HTTP/1.1", "a".repeat(l.max_request_line - 15));
        assert_eq!(line.len(), l.max_request_line - 1);
        assert!(matches!(
            p(&format!("{line}\r\nHost: a\r\n\r\n")),
            Parsed::Done(_)
        ));
    }
}
