//! A message body (RFC 3261 §7.4): kept in the header text of a received message (its copy
//! of the datagram, when the datagram is UTF-8) or owned (a body set by a builder, or a
//! received one that is not UTF-8). The received case saves a copy and an allocation per
//! message with a body.

use super::headers::{Headers, Span};

/// Where a message's body lives.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// A span of the message's header text.
    Kept(Span),
    /// Bytes of its own.
    Owned(Vec<u8>),
}

impl Default for Body {
    fn default() -> Body {
        Body::Owned(Vec::new())
    }
}

impl Body {
    /// The bytes, reading a kept body from `h` (the headers of the same message).
    pub(crate) fn bytes<'a>(&'a self, h: &'a Headers) -> &'a [u8] {
        match self {
            Body::Kept(s) => h.at(*s).as_bytes(),
            Body::Owned(b) => b,
        }
    }
}
