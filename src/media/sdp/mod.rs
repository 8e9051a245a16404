//! SDP: a typed session description, parsed from and serialized back to bytes, plus the
//! operations a B2BUA needs on it. `mod.rs` holds the model and its accessors (direction for
//! hold/resume, the remote RTP address); `parse.rs` reads and prints it; `rewrite.rs` rewrites a
//! description for the other leg; `codec.rs` negotiates codecs; `session.rs` keeps our o=
//! session per leg.
//!
//! The call path does not build the model: `scan.rs` validates a body exactly as `parse.rs`
//! does and views it in place ([`View`]), and `emit.rs` writes the other leg's description by
//! copying the received lines with targeted rewrites (the same bytes the model path prints).
//! Bodies the lean path does not take (lines out of the printer's order, a format list of 32
//! or more) go through the model. `detached.rs` keeps a view without its borrow, so a body
//! read once (the caller's offer) is not scanned again at every answer.
//!
//! Reading list, before working on this file:
//! - RFC 4566 §5 (line order v o s i u e p c b t r z k a m, and each field's syntax), §6
//!   (rtpmap, fmtp, ptime, sendrecv/sendonly/recvonly/inactive).
//! - RFC 3264 §5 and §8 (offer/answer, o= version bumps only when the content changes, hold with
//!   a=sendonly / a=inactive, and the old-style c=0.0.0.0 hold of RFC 2543).
//! - RFC 3605 (a=rtcp), RFC 5761 (a=rtcp-mux) and RFC 8839 (ICE attributes): transport details
//!   that describe the phone's sockets, so a rewrite for the other leg drops them.
//!
//! Parsing is lenient where phones differ (LF or CRLF, unknown lines and attributes kept opaque
//! and in order, malformed rtpmap/fmtp/ptime kept as opaque attributes) and strict where the
//! relay depends on it (v=0 first, o=, s=, t=, m= and c= syntax, a c= for every active
//! stream). Errors carry the 1-based line number. Nothing here panics on input.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

mod codec;
mod detached;
pub mod emit;
mod parse;
mod rewrite;
pub mod scan;
mod session;

pub use codec::{answer, filter_offer, Codec, CodecName, NoCommonCodec};
pub use detached::KeptView;
pub use scan::View;
pub use session::LocalSession;

/// A parse failure: what was wrong and on which line (1-based; 0 = the body as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpError {
    /// 1-based line number, 0 when the error concerns the whole body.
    pub line: usize,
    /// What was wrong.
    pub kind: SdpErrorKind,
}

/// The kinds of malformed SDP (the engine answers 400 or 488).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpErrorKind {
    /// The body is not UTF-8.
    NotUtf8,
    /// The first line is not `v=0`.
    BadVersion,
    /// A line is not `<letter>=<value>`.
    BadLine,
    /// The `o=` line is missing or malformed.
    BadOrigin,
    /// The `s=` line is missing.
    MissingSessionName,
    /// The `t=` line is missing or malformed.
    BadTiming,
    /// A `c=` line is malformed (or not `IN IP4|IP6`).
    BadConnection,
    /// An `m=` line is malformed.
    BadMedia,
    /// An active media stream has no `c=` at media or session level.
    MissingConnection,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SDP line {}: {:?}", self.line, self.kind)
    }
}

impl std::error::Error for SdpError {}

/// A media direction attribute (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly` (the sender puts the other side on hold).
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Self> {
        match s {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction an answer takes for an offer with this one (RFC 3264 §6.1).
    pub fn answer(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether this direction puts the stream on hold (sendonly or inactive).
    pub fn is_hold(self) -> bool {
        matches!(self, Direction::SendOnly | Direction::Inactive)
    }
}

/// `IP4` or `IP6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrType {
    /// IPv4.
    Ip4,
    /// IPv6.
    Ip6,
}

impl AddrType {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "IP4" => Some(AddrType::Ip4),
            "IP6" => Some(AddrType::Ip6),
            _ => None,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
        }
    }
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddrType::Ip4,
            IpAddr::V6(_) => AddrType::Ip6,
        }
    }
}

/// A `c=IN <type> <address>` line. The address is kept as written (it may carry a multicast
/// `/ttl` or be a host name); [`Connection::ip`] reads it as an IP literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// IP4 or IP6.
    pub addr_type: AddrType,
    /// The address as written.
    pub address: String,
}

impl Connection {
    /// A connection line for one of our addresses.
    pub fn from_ip(ip: IpAddr) -> Self {
        Connection {
            addr_type: AddrType::of(ip),
            address: ip.to_string(),
        }
    }
    /// The address as an IP literal, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

/// The `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id.
    pub session_id: u64,
    /// Session version, bumped on every changed offer/answer.
    pub session_version: u64,
    /// Where the session was created.
    pub connection: Connection,
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    /// Payload type.
    pub pt: u8,
    /// Encoding name as written (`PCMU`, `opus`, `telephone-event`, ...).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (audio), when given.
    pub channels: Option<u16>,
}

/// One `a=` line: the ones sipbox acts on typed, every other one opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `a=rtpmap:...`.
    Rtpmap(Rtpmap),
    /// `a=fmtp:<pt> <params>`.
    Fmtp {
        /// Payload type.
        pt: u8,
        /// Format parameters, as written.
        params: String,
    },
    /// `a=ptime:<ms>`.
    Ptime(u32),
    /// `a=sendrecv|sendonly|recvonly|inactive`.
    Direction(Direction),
    /// Anything else, kept as written: `a=<name>[:<value>]`.
    Other {
        /// Attribute name.
        name: String,
        /// Value after the first colon, if any.
        value: Option<String>,
    },
}

impl Attribute {
    /// The attribute's name (`rtpmap`, `sendonly`, `candidate`, ...).
    pub fn name(&self) -> &str {
        match self {
            Attribute::Rtpmap(_) => "rtpmap",
            Attribute::Fmtp { .. } => "fmtp",
            Attribute::Ptime(_) => "ptime",
            Attribute::Direction(d) => d.as_str(),
            Attribute::Other { name, .. } => name,
        }
    }
}

/// A line sipbox does not interpret (`i=`, `b=`, `k=`, `r=`, `z=`, extra `t=`...), kept in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The type letter.
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

/// One media description (`m=` and the lines under it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `image`, `application`...
    pub kind: String,
    /// Transport port (0: stream disabled).
    pub port: u16,
    /// `/<number of ports>`, when given.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, `udptl`...
    pub proto: String,
    /// Format list (payload type numbers for RTP), in the sender's preference order.
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// `i=`, `b=`, `k=` lines, in order.
    pub extra: Vec<Line>,
    /// `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

impl Media {
    /// The stream's direction attribute, if it has one.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// Set the direction: replace the first direction attribute (dropping any others) or
    /// append one.
    pub fn set_direction(&mut self, d: Direction) {
        let mut seen = false;
        self.attributes.retain_mut(|a| match a {
            Attribute::Direction(old) if !seen => {
                *old = d;
                seen = true;
                true
            }
            Attribute::Direction(_) => false,
            _ => true,
        });
        if !seen {
            self.attributes.push(Attribute::Direction(d));
        }
    }

    /// `a=ptime`, if present.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// The rtpmap of a payload type, if present.
    pub fn rtpmap(&self, pt: u8) -> Option<&Rtpmap> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtpmap(m) if m.pt == pt => Some(m),
            _ => None,
        })
    }

    /// The fmtp parameters of a payload type, if present.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp { pt: p, params } if *p == pt => Some(params.as_str()),
            _ => None,
        })
    }

    /// The format list read as RTP payload types (non-numeric entries skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse().ok().filter(|pt: &u8| *pt < 128))
    }
}

/// The `t=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Start time (NTP seconds, 0: unbounded).
    pub start: u64,
    /// Stop time (NTP seconds, 0: unbounded).
    pub stop: u64,
}

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// `o=`.
    pub origin: Origin,
    /// `s=`.
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// The first `t=`.
    pub timing: Timing,
    /// Other session-level lines (`i u e p b r z k`, further `t=`), in order.
    pub extra: Vec<Line>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Media descriptions, in order.
    pub media: Vec<Media>,
}

impl Sdp {
    /// Serialize with CRLF line ends, lines in RFC 4566 order.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// The first `m=audio` description.
    pub fn audio(&self) -> Option<&Media> {
        self.media.iter().find(|m| m.kind == "audio")
    }

    /// The first `m=audio` description, mutable.
    pub fn audio_mut(&mut self) -> Option<&mut Media> {
        self.media.iter_mut().find(|m| m.kind == "audio")
    }

    /// The audio stream's direction: its own attribute, else the session's, else sendrecv.
    pub fn direction(&self) -> Direction {
        let session = self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        });
        self.audio()
            .and_then(Media::direction)
            .or(session)
            .unwrap_or(Direction::SendRecv)
    }

    /// Set the audio stream's direction (media-level attribute, which overrides the session's).
    pub fn set_direction(&mut self, d: Direction) {
        if let Some(m) = self.audio_mut() {
            m.set_direction(d);
        }
    }

    /// The connection that applies to the audio stream (media-level, else session-level).
    pub fn audio_connection(&self) -> Option<&Connection> {
        let m = self.audio()?;
        m.connection.as_ref().or(self.connection.as_ref())
    }

    /// Where the audio stream wants RTP: c= address + m= port. `None` when there is no audio
    /// stream, the address is not an IP literal, or the stream is on hold / disabled
    /// (c=0.0.0.0 or ::, port 0).
    pub fn remote_rtp(&self) -> Option<SocketAddr> {
        let port = self.audio()?.port;
        let ip = self.audio_connection()?.ip()?;
        (port != 0 && !ip.is_unspecified()).then_some(SocketAddr::new(ip, port))
    }

    /// Where the audio stream wants RTCP: the RTP address with rtcp-mux, else `a=rtcp`'s port
    /// (and address, RFC 3605), else (or if a=rtcp is malformed) the RTP port + 1. `None` when [`Sdp::remote_rtp`] is.
    pub fn remote_rtcp(&self) -> Option<SocketAddr> {
        let rtp = self.remote_rtp()?;
        let audio = self.audio()?;
        let mut rtcp = None;
        for a in &audio.attributes {
            match a {
                Attribute::Other { name, .. } if name == "rtcp-mux" => return Some(rtp),
                Attribute::Other {
                    name,
                    value: Some(v),
                } if name == "rtcp" => rtcp = Some(v.as_str()),
                _ => {}
            }
        }
        let next_port = SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?);
        let Some(mut it) = rtcp.map(str::split_ascii_whitespace) else {
            return Some(next_port);
        };
        // A malformed a=rtcp falls back to the RFC 3550 default (RTP port + 1).
        let Some(port) = it.next().and_then(|p| p.parse().ok()) else {
            return Some(next_port);
        };
        let ip = match (it.next(), it.next(), it.next()) {
            (Some("IN"), Some(_), Some(addr)) => addr.parse().unwrap_or(rtp.ip()),
            _ => rtp.ip(),
        };
        Some(SocketAddr::new(ip, port))
    }

    /// Whether the audio stream is on hold: sendonly/inactive, or the old c=0.0.0.0 form.
    pub fn is_hold(&self) -> bool {
        let unspecified = self
            .audio_connection()
            .and_then(Connection::ip)
            .is_some_and(|ip| ip.is_unspecified());
        self.direction().is_hold() || unspecified
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod lean_tests;
