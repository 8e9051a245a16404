//! The SIP wire format: parse a datagram into a validated [`Request`] or [`Response`],
//! decode headers on demand, build and serialize messages. No state, no sockets.
//!
//! # Reading list
//! Before working here, read:
//! - RFC 3261 §7 (message format), §8.1.1 (the headers every request carries), §18.3
//!   (framing over UDP), §19.1 (SIP URIs and escaping), §20 (headers, compact forms),
//!   §25 (the ABNF).
//! - RFC 3581 (`rport`).
//! - RFC 4475 (torture tests; `tests/sip_rfc4475.rs` holds the verdicts we chose).
//!
//! # Design
//! A message owns its header text in one buffer: each header is a name from the table in
//! [`name`] and a byte range (folded lines unfolded once). The essentials (Via, From, To,
//! Call-ID, CSeq, Max-Forwards, Content-Length) are validated at parse by scanners that
//! split a value into borrowed parts without copying (`UriParts`, `NameAddrParts`,
//! `ViaParts`), so a handler never sees a message without them. CSeq and the numbers are
//! kept decoded; Via, From, To and the Request-URI are decoded into owned values on first
//! access and cached. What nearly every message needs of them — the top Via's branch and
//! sent-by, the From and To tags — is kept at parse as spans of the header text and read
//! without decoding (`top_branch`, `top_sent_by`, `from_tag`, `to_tag`). Everything else is
//! decoded on demand by typed accessors whose errors name the header. Serializing writes the
//! raw values back with canonical names and a computed Content-Length; builders print new
//! values straight into the message (`push_header_with`, the writers of [`write`]).
//!
//! Parse errors say how to answer: [`ParseError::status`] is 400 or 505 for a broken
//! request and `None` (drop) for garbage and broken responses;
//! [`ParseError::error_response`] builds the answer from the raw headers.
#![warn(missing_docs)]

mod body;
mod cseq;
mod error;
mod escape;
mod essentials;
pub(crate) use essentials::ViaMarks;
mod header_table;
mod headers;
mod message_common;
use message_common::message_common;
mod method;
pub mod name;
mod name_addr;
mod params;
mod parser;
mod request;
mod response;
mod session_expires;
mod status;
pub(crate) mod text;
mod typed;
mod uri;
mod via;
pub mod write;

pub use cseq::{write_cseq, CSeq};
pub use error::{BadRequest, HeaderError, ParseError};
pub use headers::Headers;
pub use method::Method;
pub use name::HeaderName;
pub use name_addr::{Contact, NameAddr};
pub use params::Params;
pub use parser::{parse, Message, MAX_MESSAGE};
pub use request::Request;
pub use response::Response;
pub use session_expires::{RefresherParam, SessionExpires};
pub use status::StatusCode;
pub use uri::{Uri, UriError};
pub(crate) use via::push_unset;
pub use via::{RawVia, Via, MAGIC_COOKIE};

#[cfg(test)]
mod tests;
