//! Our o= session towards one leg: its id and version, and the last description sent, kept as
//! the bytes sent (inline in the session up to [`INLINE`] bytes, so keeping it costs no heap
//! allocation for the descriptions phones and sipbox usually exchange).
//!
//! Reading list: RFC 3264 §8 (the o= version goes up by one exactly when the content
//! changes; a refresh re-offers the same description with the same version), RFC 4566 §5.2.

use std::net::IpAddr;
use std::ops::Range;

use super::emit::{push_ip, push_num};
use super::{Connection, Origin, Sdp};

/// Our side of one leg's SDP sessions: the o= id and version we send, bumped only when what we
/// send changes (RFC 3264 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSession {
    session_id: u64,
    version: u64,
    /// The last description stamped, as sent.
    last: Kept,
}

/// The most bytes of a description kept inside the session: a rewritten phone offer or
/// sipbox's own answer is 150-350 bytes; a longer one goes to the heap.
pub const INLINE: usize = 384;

/// The last description's bytes: none yet, inline, or on the heap (reused once there).
/// The inline variant is the point: boxing it would bring back the allocation.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum Kept {
    None,
    Inline { len: u16, buf: [u8; INLINE] },
    Heap(Vec<u8>),
}

impl Kept {
    fn get(&self) -> Option<&[u8]> {
        match self {
            Kept::None => None,
            Kept::Inline { len, buf } => buf.get(..usize::from(*len)),
            Kept::Heap(v) => Some(v),
        }
    }

    fn set(&mut self, bytes: &[u8]) {
        match self {
            Kept::Heap(v) => {
                v.clear();
                v.extend_from_slice(bytes);
            }
            Kept::Inline { len, buf } if bytes.len() <= INLINE => {
                buf[..bytes.len()].copy_from_slice(bytes);
                *len = bytes.len() as u16;
            }
            _ if bytes.len() <= INLINE => {
                let mut buf = [0u8; INLINE];
                buf[..bytes.len()].copy_from_slice(bytes);
                *self = Kept::Inline {
                    len: bytes.len() as u16,
                    buf,
                };
            }
            _ => *self = Kept::Heap(bytes.to_vec()),
        }
    }
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Kept {}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Kept")
            .field(&self.get().map(String::from_utf8_lossy))
            .finish()
    }
}

/// Where the o= line of a body we wrote begins ("v=0\r\n" comes first).
const O_START: usize = 5;

/// The part of a body we wrote that follows its o= line: what a version bump compares.
fn after_origin(body: &[u8]) -> &[u8] {
    let rest = body.get(O_START..).unwrap_or_default();
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(i) => &rest[i + 2..],
        None => &[],
    }
}

impl LocalSession {
    /// A session with a (random) id; the first description sent carries `first_version`.
    pub fn new(session_id: u64, first_version: u64) -> Self {
        LocalSession {
            session_id,
            version: first_version,
            last: Kept::None,
        }
    }

    /// The last description stamped (what the leg last got from us): a session refresh
    /// (RFC 4028) offers it again unchanged, same o= version (RFC 3264 §8).
    pub fn last(&self) -> Option<&[u8]> {
        self.last.get()
    }

    /// The version of the last description stamped.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Writes `o=sipbox <id> <version> IN IP4|IP6 <ip>` and its CRLF; returns where the
    /// address is in `out`.
    fn push_origin(&self, out: &mut Vec<u8>, ip: IpAddr) -> Range<usize> {
        out.extend_from_slice(b"o=sipbox ");
        push_num(out, self.session_id);
        out.push(b' ');
        push_num(out, self.version);
        out.extend_from_slice(match ip {
            IpAddr::V4(_) => b" IN IP4 ",
            IpAddr::V6(_) => b" IN IP6 ",
        });
        let start = out.len();
        push_ip(out, ip);
        let addr = start..out.len();
        out.extend_from_slice(b"\r\n");
        addr
    }

    /// Starts a body of ours: `v=0` and our o= line at the current version. Returns where
    /// the address is in `out`, for the body's c= line (valid until [`LocalSession::seal`]).
    pub(crate) fn begin(&self, out: &mut Vec<u8>, ip: IpAddr) -> Range<usize> {
        out.extend_from_slice(b"v=0\r\n");
        self.push_origin(out, ip)
    }

    /// Finishes a body begun with [`LocalSession::begin`]: if it differs from the last one
    /// after the o= line, the version goes up and the o= line is written again. The body is
    /// kept as the last description. Returns whether the version went up.
    pub(crate) fn seal(&mut self, out: &mut Vec<u8>, ip: IpAddr) -> bool {
        let changed = self
            .last
            .get()
            .is_some_and(|l| after_origin(l) != after_origin(out));
        if changed {
            self.version = self.version.wrapping_add(1);
            let end = out.len() - after_origin(out).len();
            let mut line = Vec::with_capacity(64);
            self.push_origin(&mut line, ip);
            out.splice(O_START..end, line);
        }
        self.last.set(out);
        changed
    }

    /// Put our o= line on `sdp` (user `sipbox`, our id and address), bumping the version if the
    /// content differs from the last description stamped.
    pub fn stamp(&mut self, sdp: &mut Sdp, ip: IpAddr) {
        sdp.origin = Origin {
            username: "sipbox".to_string(),
            session_id: self.session_id,
            session_version: self.version,
            connection: Connection::from_ip(ip),
        };
        let mut bytes = sdp.to_bytes();
        self.seal(&mut bytes, ip);
        sdp.origin.session_version = self.version;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    /// A body of ours whose part after the o= line is `n` bytes of `fill`.
    fn body(s: &LocalSession, n: usize, fill: u8) -> Vec<u8> {
        let mut out = Vec::new();
        s.begin(&mut out, IP);
        out.extend(std::iter::repeat_n(fill, n));
        out
    }

    /// The version goes up exactly when the content changes, whether the last description
    /// was kept inline or on the heap, and `last` is always the bytes sent.
    #[test]
    fn version_and_last_across_inline_and_heap() {
        let mut s = LocalSession::new(42, 7);
        assert_eq!(s.last(), None);
        // (length after o=, fill, version bump expected)
        let steps = [
            (100, b'a', false),
            (100, b'a', false),
            (100, b'b', true),
            (INLINE, b'b', true),
            (INLINE + 1, b'b', true),
            (INLINE + 1, b'b', false),
            (2 * INLINE, b'c', true),
            (10, b'c', true),
            (10, b'c', false),
        ];
        let mut version = 7;
        for (n, fill, bump) in steps {
            let mut out = body(&s, n, fill);
            assert_eq!(s.seal(&mut out, IP), bump, "{n} {}", fill as char);
            if bump {
                version += 1;
            }
            assert_eq!(s.version(), version);
            assert_eq!(s.last(), Some(&out[..]));
            assert!(out.starts_with(
                format!("v=0\r\no=sipbox 42 {version} IN IP4 192.0.2.1\r\n").as_bytes()
            ));
        }
    }

    #[test]
    fn equal_sessions_compare_by_bytes() {
        let (mut a, mut b) = (LocalSession::new(1, 1), LocalSession::new(1, 1));
        let mut big = body(&b, 2 * INLINE, b'x');
        b.seal(&mut big, IP);
        let mut x = body(&a, 20, b'x');
        a.seal(&mut x, IP);
        assert_ne!(a, b);
        assert_eq!(a.clone(), a);
        assert_eq!(b.clone(), b);
        // Back to a short body: kept on the heap now, still the bytes sent.
        let mut y = body(&b, 20, b'x');
        b.seal(&mut y, IP);
        assert_eq!(b.last(), Some(&y[..]));
    }
}
