//! Answers: a typed [`Status`] (its code and RFC reason phrase in one table), a content type
//! and a body, written with the headers every answer carries (`Content-Length`,
//! `Connection: close`, `Cache-Control: no-store`, `Allow` on a 405, `Server` unless
//! `servername` is empty).

use std::fmt::Write;

/// The statuses sipbox sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200 OK.
    Ok,
    /// 400 Bad Request.
    BadRequest,
    /// 404 Not Found.
    NotFound,
    /// 405 Method Not Allowed (with `Allow: GET, HEAD`).
    MethodNotAllowed,
    /// 414 URI Too Long.
    UriTooLong,
    /// 431 Request Header Fields Too Large.
    HeaderFieldsTooLarge,
    /// 500 Internal Server Error (an answer larger than the write buffer).
    InternalServerError,
    /// 503 Service Unavailable (`sessionlimit` reached).
    ServiceUnavailable,
}

impl Status {
    /// The code and reason phrase (RFC 9110 §15, RFC 6585 §5).
    pub fn line(self) -> (u16, &'static str) {
        match self {
            Status::Ok => (200, "OK"),
            Status::BadRequest => (400, "Bad Request"),
            Status::NotFound => (404, "Not Found"),
            Status::MethodNotAllowed => (405, "Method Not Allowed"),
            Status::UriTooLong => (414, "URI Too Long"),
            Status::HeaderFieldsTooLarge => (431, "Request Header Fields Too Large"),
            Status::InternalServerError => (500, "Internal Server Error"),
            Status::ServiceUnavailable => (503, "Service Unavailable"),
        }
    }
}

/// What the methods sipbox serves are, for `Allow`.
pub const ALLOW: &str = "GET, HEAD";

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Its status.
    pub status: Status,
    /// Its Content-Type.
    pub content_type: &'static str,
    /// Its body.
    pub body: Vec<u8>,
}

impl Response {
    /// A 200 with this body.
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status: Status::Ok,
            content_type,
            body: body.into(),
        }
    }

    /// An error with its reason phrase as a short plain-text body.
    pub fn error(status: Status) -> Response {
        let (code, reason) = status.line();
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{code} {reason}\n").into_bytes(),
        }
    }

    /// The bytes on the wire; `head_only` (a HEAD) leaves the body out but keeps its length.
    pub fn to_bytes(&self, server: &str, head_only: bool) -> Vec<u8> {
        let (code, reason) = self.status.line();
        let mut head = String::with_capacity(256);
        let _ = write!(head, "HTTP/1.1 {code} {reason}\r\n");
        if !server.is_empty() {
            let _ = write!(head, "Server: {server}\r\n");
        }
        let _ = write!(
            head,
            "Content-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
             X-Content-Type-Options: nosniff\r\nConnection: close\r\n",
            self.content_type,
            self.body.len()
        );
        if self.status == Status::MethodNotAllowed {
            let _ = write!(head, "Allow: {ALLOW}\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_keeps_the_length_and_405_says_allow() {
        let r = Response::ok("text/plain", "hello");
        let full = String::from_utf8(r.to_bytes("sipbox", false)).unwrap();
        assert!(full.starts_with("HTTP/1.1 200 OK\r\nServer: sipbox\r\n"));
        assert!(full.contains("Content-Length: 5\r\n") && full.ends_with("\r\n\r\nhello"));
        let head = String::from_utf8(r.to_bytes("", true)).unwrap();
        assert!(!head.contains("Server:") && head.contains("Content-Length: 5\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
        let e = String::from_utf8(Response::error(Status::MethodNotAllowed).to_bytes("s", false))
            .unwrap();
        assert!(e.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(e.contains("\r\nAllow: GET, HEAD\r\n"));
    }
}
