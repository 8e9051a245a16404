//! Our o= session towards one leg: its id and version, and the last description sent, kept as
//! the bytes sent.
//!
//! Reading list: RFC 3264 §8 (the o= version goes up by one exactly when the content
//! changes; a refresh re-offers the same description with the same version), RFC 4566 §5.2.

use std::net::IpAddr;

use super::emit::{push_ip, push_num};
use super::{Connection, Origin, Sdp};

/// Our side of one leg's SDP sessions: the o= id and version we send, bumped only when what we
/// send changes (RFC 3264 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSession {
    session_id: u64,
    version: u64,
    /// The last description stamped, as sent.
    last: Option<Vec<u8>>,
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
            last: None,
        }
    }

    /// The last description stamped (what the leg last got from us): a session refresh
    /// (RFC 4028) offers it again unchanged, same o= version (RFC 3264 §8).
    pub fn last(&self) -> Option<&[u8]> {
        self.last.as_deref()
    }

    /// The version of the last description stamped.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Writes `o=sipbox <id> <version> IN IP4|IP6 <ip>` and its CRLF.
    fn push_origin(&self, out: &mut Vec<u8>, ip: IpAddr) {
        out.extend_from_slice(b"o=sipbox ");
        push_num(out, self.session_id);
        out.push(b' ');
        push_num(out, self.version);
        out.extend_from_slice(match ip {
            IpAddr::V4(_) => b" IN IP4 ",
            IpAddr::V6(_) => b" IN IP6 ",
        });
        push_ip(out, ip);
        out.extend_from_slice(b"\r\n");
    }

    /// Starts a body of ours: `v=0` and our o= line at the current version.
    pub(crate) fn begin(&self, out: &mut Vec<u8>, ip: IpAddr) {
        out.extend_from_slice(b"v=0\r\n");
        self.push_origin(out, ip);
    }

    /// Finishes a body begun with [`LocalSession::begin`]: if it differs from the last one
    /// after the o= line, the version goes up and the o= line is written again. The body is
    /// kept as the last description. Returns whether the version went up.
    pub(crate) fn seal(&mut self, out: &mut Vec<u8>, ip: IpAddr) -> bool {
        let changed = self
            .last
            .as_deref()
            .is_some_and(|l| after_origin(l) != after_origin(out));
        if changed {
            self.version = self.version.wrapping_add(1);
            let end = out.len() - after_origin(out).len();
            let mut line = Vec::with_capacity(64);
            self.push_origin(&mut line, ip);
            out.splice(O_START..end, line);
        }
        match &mut self.last {
            Some(l) => {
                l.clear();
                l.extend_from_slice(out);
            }
            None => self.last = Some(out.clone()),
        }
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
