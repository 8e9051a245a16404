//! What the status page, `/status.json` and `/metrics` show: one read-only copy of the
//! engine's state taken on the loop between two datagrams (`Engine::status_snapshot`, built
//! from the same views the CLI's `sip show peers` reads), and the bounded list of recent
//! failures the engine keeps for it.

use super::counters::{Counters, Histogram};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// A peer's reachability (chan_sip's `qualify` words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Answered its last OPTIONS.
    Reachable,
    /// Did not answer in time.
    Unreachable,
    /// Qualified, no answer yet (or nothing to ping).
    Unknown,
    /// No `qualify=`.
    Unmonitored,
}

impl PeerState {
    /// Every state, in the order /metrics lists them.
    pub const ALL: [PeerState; 4] = [
        PeerState::Reachable,
        PeerState::Unreachable,
        PeerState::Unknown,
        PeerState::Unmonitored,
    ];

    /// The word shown and the `status` label.
    pub fn label(self) -> &'static str {
        match self {
            PeerState::Reachable => "reachable",
            PeerState::Unreachable => "unreachable",
            PeerState::Unknown => "unknown",
            PeerState::Unmonitored => "unmonitored",
        }
    }
}

/// One sip.conf entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRow {
    /// Its name.
    pub name: String,
    /// Where calls to it go now.
    pub addr: Option<SocketAddr>,
    /// Its reachability.
    pub state: PeerState,
    /// Its last qualify round trip.
    pub latency: Option<Duration>,
    /// Calls counting against its call-limit.
    pub in_use: u32,
}

/// One registered contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRow {
    /// The AOR (the peer's name).
    pub aor: String,
    /// The Contact URI.
    pub contact: String,
    /// Where the REGISTER came from.
    pub source: SocketAddr,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Its User-Agent.
    pub user_agent: String,
}

/// One leg of an active call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegRow {
    /// `SIP/1001-00000001`.
    pub channel: String,
    /// Its sip.conf entry, if any.
    pub peer: Option<String>,
    /// `Up`, `Ring`, `Ringing`, `Down` (Asterisk's channel state words).
    pub state: &'static str,
    /// The negotiated audio codec (`ulaw`, `alaw`, `g722`).
    pub codec: Option<String>,
}

/// One active call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// The number dialled.
    pub exten: String,
    /// Since the caller's INVITE.
    pub duration: Duration,
    /// The caller has been answered.
    pub answered: bool,
    /// Its legs, the caller's first.
    pub legs: Vec<LegRow>,
}

/// One outbound registration (`register =>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRow {
    /// `host:port`.
    pub host: String,
    /// The user registered.
    pub username: String,
    /// `Registered`, `Request Sent`, `Rejected`, ... (`sip show registry`'s words).
    pub state: String,
    /// Refresh interval in seconds.
    pub refresh: u32,
}

/// What kind of thing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A call that was not answered.
    Call,
    /// Refused credentials.
    Auth,
}

impl FailureKind {
    /// The word shown.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Call => "call",
            FailureKind::Auth => "auth",
        }
    }
}

/// One recent failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// When (wall clock).
    pub at: SystemTime,
    /// What.
    pub kind: FailureKind,
    /// A line for a person (at most [`Recent::MAX_TEXT`] bytes).
    pub text: String,
}

/// The last [`Recent::MAX`] failures, oldest first: bounded in entries and bytes.
#[derive(Debug, Default, Clone)]
pub struct Recent {
    list: VecDeque<Failure>,
}

impl Recent {
    /// Entries kept.
    pub const MAX: usize = 50;
    /// Bytes of text kept per entry (longer text is cut at a character boundary).
    pub const MAX_TEXT: usize = 160;

    /// Adds one, dropping the oldest when full.
    pub fn push(&mut self, at: SystemTime, kind: FailureKind, mut text: String) {
        if text.len() > Self::MAX_TEXT {
            let mut cut = Self::MAX_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        if self.list.len() == Self::MAX {
            self.list.pop_front();
        }
        self.list.push_back(Failure { at, kind, text });
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Failure> {
        self.list.iter()
    }
}

/// SIP socket counters (a copy of `crate::engine::Stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SipCounters {
    /// Datagrams read.
    pub datagrams: u64,
    /// Unparsable, dropped unanswered.
    pub unparsable: u64,
    /// Refused before a handler (4xx/5xx).
    pub refused: u64,
    /// From banned sources, dropped.
    pub banned: u64,
    /// From known scanners, dropped.
    pub scanners: u64,
    /// Over their source's rate limit, dropped.
    pub rate_limited: u64,
    /// Stateless answers withheld (amplification bound).
    pub reflection_withheld: u64,
}

/// RTP counters (a copy of `crate::engine::MediaStats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RtpCounters {
    /// RTP and RTCP packets relayed (and echoed).
    pub relayed: u64,
    /// Dropped: STUN, garbage, unknown source, no destination.
    pub dropped: u64,
    /// Relayed with their G.711 law rewritten.
    pub transcoded: u64,
    /// Sent by sipbox itself (prompts, music on hold).
    pub played: u64,
}

/// The whole picture at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The wall clock when it was taken.
    pub wall: SystemTime,
    /// Since start.
    pub uptime: Duration,
    /// Event counters.
    pub counters: Counters,
    /// Loop turn times.
    pub latency: Histogram,
    /// SIP socket counters.
    pub sip: SipCounters,
    /// RTP counters.
    pub rtp: RtpCounters,
    /// Server and client transactions alive.
    pub transactions: (usize, usize),
    /// Sources banned now.
    pub banned_now: usize,
    /// Every sip.conf entry, in config order.
    pub peers: Vec<PeerRow>,
    /// Every registered contact.
    pub registrations: Vec<RegistrationRow>,
    /// Active calls.
    pub calls: Vec<CallRow>,
    /// Outbound registrations.
    pub trunks: Vec<TrunkRow>,
    /// Recent failures, oldest first.
    pub failures: Vec<Failure>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_failures_are_bounded_in_count_and_bytes() {
        let mut r = Recent::default();
        for i in 0..(Recent::MAX + 7) {
            r.push(SystemTime::UNIX_EPOCH, FailureKind::Call, format!("n{i}"));
        }
        assert_eq!(r.iter().count(), Recent::MAX);
        assert_eq!(r.iter().next().unwrap().text, "n7", "oldest dropped first");
        r.push(SystemTime::UNIX_EPOCH, FailureKind::Auth, "é".repeat(200));
        let last = r.iter().last().unwrap();
        assert!(last.text.len() <= Recent::MAX_TEXT && last.text.starts_with('é'));
    }
}
