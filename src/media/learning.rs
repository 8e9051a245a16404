//! The per-leg remote RTP address: where to send, and which sources to accept.
//!
//! Reading list, before working on this file:
//! - RFC 3550 §8.2 and appendix A.1 (source validation by sequential packets: "probation").
//! - RFC 4961 (symmetric RTP) and RFC 4145 §4 (the "comedia" idea: the passive side learns the
//!   remote from what arrives). Asterisk's `nat=comedia` and `res_rtp_asterisk.c`'s strictrtp
//!   learning (`rtp.conf` `strictrtp=yes`, `probation=4`) are the behaviour we copy.
//!
//! Two questions, kept apart as Asterisk keeps them: *which sources are accepted* (strictrtp,
//! one state enum and one transition function, [`Learner::on_packet`]) and *where to send*
//! ([`Learner::remote`]). Without comedia, media goes to the address the SDP gave
//! ([`Learner::set_expected`]) and strictrtp only filters what arrives; with comedia
//! (`nat=comedia` / `yes`, RFC 4961 symmetric RTP), it goes to the source strictrtp accepted.
//!
//! strictrtp: until a source is accepted, the SDP's address is accepted at once and any other
//! source after `probation` sequential packets (Asterisk's learning mode, which has no
//! deadline). Once a source is accepted, another takes over after `probation` sequential
//! packets inside the learning window that every SDP change opens; with comedia also outside
//! it, so that a phone whose NAT mapping changes mid-call (a new source port) is followed
//! (res_rtp_asterisk's re-learning: "Switching RTP source address"). `strict = false` accepts
//! everything; with comedia the latest source is then where media goes. Time is a parameter;
//! nothing here reads a clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The learning policy of a leg (from its peer's `nat=` and `rtp.conf` `strictrtp`/`probation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearningConfig {
    /// `nat=yes` / `comedia`: send to where the accepted RTP comes from, not the SDP address.
    pub comedia: bool,
    /// `strictrtp=yes` (Asterisk's default): once learned, other sources are dropped.
    pub strict: bool,
    /// Sequential packets a new source must send before it takes over (Asterisk: 4).
    pub probation: u8,
    /// How long after an SDP change a new source may take over from an accepted one.
    pub window: Duration,
}

impl Default for LearningConfig {
    fn default() -> Self {
        LearningConfig {
            comedia: false,
            strict: true,
            probation: 4,
            window: Duration::from_secs(5),
        }
    }
}

/// Whether a packet is to be relayed (`Accept(true)`) or dropped (`Accept(false)`).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept(pub bool);

/// A new source being proven by sequential packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    addr: SocketAddr,
    last_seq: u16,
    count: u8,
}

/// strictrtp's state: which source is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No source accepted yet.
    Learning { candidate: Option<Candidate> },
    /// `source` is accepted; a candidate may take over (see the module docs).
    Locked {
        source: SocketAddr,
        candidate: Option<Candidate>,
    },
}

/// The remote-address state machine of one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learner {
    config: LearningConfig,
    state: State,
    /// The SDP's address (c= + m= port), if any.
    expected: Option<SocketAddr>,
    /// End of the learning window opened by the last SDP change.
    window_end: Option<Instant>,
    /// The SDP says hold (c=0.0.0.0 or port 0): send nothing, still accept what arrives.
    held: bool,
}

/// An SDP address that means "do not send to me": unspecified IP or port 0.
fn usable(addr: Option<SocketAddr>) -> Option<SocketAddr> {
    addr.filter(|a| !a.ip().is_unspecified() && a.port() != 0)
}

impl Learner {
    /// A leg with nothing known yet (no SDP, no packet).
    pub fn new(config: LearningConfig) -> Self {
        Learner {
            config,
            state: State::Learning { candidate: None },
            expected: None,
            window_end: None,
            held: false,
        }
    }

    /// The configuration this learner follows.
    pub fn config(&self) -> LearningConfig {
        self.config
    }

    /// Where to send this leg's media, if anywhere (`None`: unknown yet, or on hold): the
    /// SDP's address, or with comedia the accepted source once there is one.
    pub fn remote(&self) -> Option<SocketAddr> {
        if self.held {
            return None;
        }
        match self.state {
            State::Locked { source, .. } if self.config.comedia => Some(source),
            _ => self.expected,
        }
    }

    /// The source strictrtp accepts now, once one has been learned.
    pub fn source(&self) -> Option<SocketAddr> {
        match self.state {
            State::Locked { source, .. } => Some(source),
            State::Learning { .. } => None,
        }
    }

    /// The source whose packets this learner accepts without changing state: the locked
    /// source, unless (strictrtp=no) a packet from it would clear a candidate. The relay's
    /// forwarding record (`media::route`) skips [`Learner::on_packet`] for that source only.
    pub fn settled_source(&self) -> Option<SocketAddr> {
        match self.state {
            State::Locked { source, candidate } if self.config.strict || candidate.is_none() => {
                Some(source)
            }
            _ => None,
        }
    }

    /// Whether a source has been learned or confirmed by a packet.
    pub fn is_locked(&self) -> bool {
        matches!(self.state, State::Locked { .. })
    }

    /// The SDP (offer or answer) of this leg gave `addr` (c= + m= port). An unspecified address
    /// or port 0 means hold: nothing is sent until an SDP gives an address again. Every call
    /// opens the learning window. Without comedia a changed address is sent to at once and
    /// strictrtp learns again (the new address is accepted at its first packet); with comedia
    /// the learned source stays until another proves itself.
    pub fn set_expected(&mut self, now: Instant, addr: Option<SocketAddr>) {
        self.window_end = now.checked_add(self.config.window);
        let Some(addr) = usable(addr) else {
            self.held = true;
            return;
        };
        self.held = false;
        let changed = self.expected != Some(addr);
        self.expected = Some(addr);
        match self.state {
            State::Locked { source, .. } if source == addr || self.config.comedia => {}
            State::Locked { .. } if changed => self.state = State::Learning { candidate: None },
            _ => {}
        }
    }

    fn in_window(&self, now: Instant) -> bool {
        self.window_end.is_some_and(|end| now < end)
    }

    /// One more sequential packet from `from`; returns the updated candidate.
    fn prove(cand: Option<Candidate>, from: SocketAddr, seq: u16) -> Candidate {
        match cand {
            Some(c) if c.addr == from && seq == c.last_seq.wrapping_add(1) => Candidate {
                addr: from,
                last_seq: seq,
                count: c.count.saturating_add(1),
            },
            _ => Candidate {
                addr: from,
                last_seq: seq,
                count: 1,
            },
        }
    }

    /// A packet with sequence number `seq` arrived from `from` at `now`: accept or drop it, and
    /// learn from it. The one transition function of this machine.
    pub fn on_packet(&mut self, now: Instant, from: SocketAddr, seq: u16) -> Accept {
        let cfg = self.config;
        let locked = |source| State::Locked {
            source,
            candidate: None,
        };
        let (next, accept) = match self.state {
            // strictrtp=no: anything goes (with comedia, media follows the latest source).
            _ if !cfg.strict => (locked(from), true),
            // The accepted source; a candidate on probation keeps its count.
            state @ State::Locked { source, .. } if source == from => (state, true),
            // The SDP's address, or with comedia the first packet: accepted at once.
            State::Learning { .. } if self.expected == Some(from) || cfg.comedia => {
                (locked(from), true)
            }
            // Any other source proves itself (learning has no deadline).
            State::Learning { candidate } => {
                let c = Self::prove(candidate, from, seq);
                match c.count >= cfg.probation {
                    true => (locked(from), true),
                    false => (State::Learning { candidate: Some(c) }, false),
                }
            }
            // Another source: it may take over inside the window, or any time with comedia.
            State::Locked { source, candidate } if cfg.comedia || self.in_window(now) => {
                let c = Self::prove(candidate, from, seq);
                if c.count >= cfg.probation {
                    log::debug!("RTP source switched from {source} to {from}");
                    (locked(from), true)
                } else {
                    let state = State::Locked {
                        source,
                        candidate: Some(c),
                    };
                    (state, false)
                }
            }
            // strictrtp: an unexpected source outside the window is dropped.
            state => (state, false),
        };
        self.state = next;
        Accept(accept)
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    const SDP: &str = "192.0.2.10:4000";
    const NAT: &str = "203.0.113.5:31000";
    const OTHER: &str = "198.51.100.7:5004";

    fn learner(comedia: bool, strict: bool) -> (Learner, Instant) {
        let t0 = Instant::now();
        let mut l = Learner::new(LearningConfig {
            comedia,
            strict,
            ..LearningConfig::default()
        });
        l.set_expected(t0, Some(a(SDP)));
        (l, t0)
    }

    /// Feed `(ms after t0, source, seq, accepted?, remote after)` rows.
    fn run(l: &mut Learner, t0: Instant, rows: &[(u64, &str, u16, bool, Option<&str>)]) {
        for (i, (ms, from, seq, acc, remote)) in rows.iter().enumerate() {
            let now = t0 + Duration::from_millis(*ms);
            assert_eq!(l.on_packet(now, a(from), *seq), Accept(*acc), "row {i}");
            assert_eq!(l.remote(), remote.map(a), "row {i}");
        }
    }

    #[test]
    fn strict_no_nat_confirms_sdp_and_drops_others() {
        let (mut l, t0) = learner(false, true);
        assert_eq!(l.remote(), Some(a(SDP)));
        run(
            &mut l,
            t0,
            &[
                (0, SDP, 1, true, Some(SDP)),
                (20, OTHER, 50, false, Some(SDP)),
                (40, SDP, 2, true, Some(SDP)),
                // After the window, even sequential packets from another source are dropped.
                (6000, OTHER, 51, false, Some(SDP)),
                (6020, OTHER, 52, false, Some(SDP)),
                (6040, OTHER, 53, false, Some(SDP)),
                (6060, OTHER, 54, false, Some(SDP)),
                (6080, OTHER, 55, false, Some(SDP)),
            ],
        );
        assert!(l.is_locked());
    }

    #[test]
    fn strict_new_source_accepted_after_probation_but_media_stays_on_sdp() {
        // The trunk case: RTP leaves from a port other than the SDP's. strictrtp
        // accepts it after probation; without comedia media still goes to the SDP address.
        let (mut l, t0) = learner(false, true);
        run(
            &mut l,
            t0,
            &[
                (0, NAT, 10, false, Some(SDP)),
                (20, NAT, 11, false, Some(SDP)),
                (40, NAT, 13, false, Some(SDP)), // gap: probation restarts
                (60, NAT, 14, false, Some(SDP)),
                (80, NAT, 15, false, Some(SDP)),
                (100, NAT, 16, true, Some(SDP)), // 4th sequential packet: accepted
                (120, OTHER, 1, false, Some(SDP)),
                (140, NAT, 17, true, Some(SDP)),
            ],
        );
        assert_eq!(l.source(), Some(a(NAT)));
    }

    #[test]
    fn learning_has_no_deadline_before_the_first_source() {
        // A callee that starts sending long after its SDP (ringing): still learned.
        let (mut l, t0) = learner(false, true);
        run(
            &mut l,
            t0,
            &[
                (30_000, NAT, 1, false, Some(SDP)),
                (30_020, NAT, 2, false, Some(SDP)),
                (30_040, NAT, 3, false, Some(SDP)),
                (30_060, NAT, 4, true, Some(SDP)),
            ],
        );
        assert_eq!(l.source(), Some(a(NAT)));
    }

    #[test]
    fn comedia_follows_a_port_change_mid_call() {
        let (mut l, t0) = learner(true, true);
        let moved = "203.0.113.5:31544";
        run(
            &mut l,
            t0,
            &[
                (0, NAT, 100, true, Some(NAT)),
                (20, NAT, 101, true, Some(NAT)),
                // 60 s later the NAT gives the phone a new port: same stream, new source.
                (60_000, moved, 102, false, Some(NAT)),
                (60_020, moved, 103, false, Some(NAT)),
                (60_040, moved, 104, false, Some(NAT)),
                (60_060, moved, 105, true, Some(moved)),
                (60_080, NAT, 102, false, Some(moved)),
            ],
        );
    }

    #[test]
    fn without_comedia_a_port_change_after_the_window_is_dropped() {
        let (mut l, t0) = learner(false, true);
        let moved = "192.0.2.10:4100";
        run(
            &mut l,
            t0,
            &[
                (0, SDP, 1, true, Some(SDP)),
                (60_000, moved, 2, false, Some(SDP)),
                (60_020, moved, 3, false, Some(SDP)),
                (60_040, moved, 4, false, Some(SDP)),
                (60_060, moved, 5, false, Some(SDP)),
                (60_080, moved, 6, false, Some(SDP)),
            ],
        );
    }

    #[test]
    fn comedia_learns_first_packet_and_then_fixes() {
        let (mut l, t0) = learner(true, true);
        run(
            &mut l,
            t0,
            &[
                (0, NAT, 100, true, Some(NAT)),
                (20, OTHER, 7, false, Some(NAT)),
                (40, NAT, 101, true, Some(NAT)),
                (9000, OTHER, 8, false, Some(NAT)),
            ],
        );
        // A re-INVITE (SDP change) keeps the learned remote under comedia, opens the window.
        let t1 = t0 + Duration::from_secs(10);
        l.set_expected(t1, Some(a(SDP)));
        assert_eq!(l.remote(), Some(a(NAT)));
        run(
            &mut l,
            t1,
            &[
                (0, OTHER, 20, false, Some(NAT)),
                (20, OTHER, 21, false, Some(NAT)),
                (40, OTHER, 22, false, Some(NAT)),
                (60, OTHER, 23, true, Some(OTHER)),
            ],
        );
    }

    #[test]
    fn old_source_interleaved_does_not_reset_probation() {
        let (mut l, t0) = learner(false, true);
        run(
            &mut l,
            t0,
            &[
                (0, SDP, 1, true, Some(SDP)),
                (10, NAT, 50, false, Some(SDP)),
                (20, SDP, 2, true, Some(SDP)),
                (30, NAT, 51, false, Some(SDP)),
                (40, SDP, 3, true, Some(SDP)),
                (50, NAT, 52, false, Some(SDP)),
                (70, NAT, 53, true, Some(SDP)),
                (80, SDP, 4, false, Some(SDP)),
            ],
        );
        assert_eq!(l.source(), Some(a(NAT)));
    }

    #[test]
    fn strictrtp_no_accepts_all_and_comedia_follows_latest_source() {
        let (mut l, t0) = learner(false, false);
        run(
            &mut l,
            t0,
            &[
                (0, NAT, 1, true, Some(SDP)),
                (20, OTHER, 900, true, Some(SDP)),
            ],
        );
        let (mut l, t0) = learner(true, false);
        run(
            &mut l,
            t0,
            &[
                (0, NAT, 1, true, Some(NAT)),
                (20, OTHER, 900, true, Some(OTHER)),
                (99_000, SDP, 3, true, Some(SDP)),
            ],
        );
    }

    #[test]
    fn no_sdp_address_learns_by_probation() {
        let t0 = Instant::now();
        let mut l = Learner::new(LearningConfig::default());
        assert_eq!(l.remote(), None);
        run(
            &mut l,
            t0,
            &[
                (0, NAT, 65534, false, None),
                (20, NAT, 65535, false, None),
                (40, NAT, 0, false, None), // sequence wraps, still sequential
                (60, NAT, 1, true, None),  // accepted; nowhere to send without comedia
            ],
        );
        assert_eq!(l.source(), Some(a(NAT)));
    }

    #[test]
    fn hold_and_resume_via_sdp() {
        let (mut l, t0) = learner(false, true);
        assert_eq!(l.on_packet(t0, a(SDP), 1), Accept(true));
        l.set_expected(t0, Some(a("0.0.0.0:4000")));
        assert_eq!(l.remote(), None);
        // The holder may still send (music on hold): accepted from the learned source.
        assert_eq!(l.on_packet(t0, a(SDP), 2), Accept(true));
        assert_eq!(l.remote(), None);
        l.set_expected(t0, Some(a("192.0.2.10:0")));
        assert_eq!(l.remote(), None);
        // Resume at a new address: sent to at once, confirmed by its first packet.
        l.set_expected(t0, Some(a(OTHER)));
        assert_eq!(l.remote(), Some(a(OTHER)));
        assert!(!l.is_locked());
        assert_eq!(l.on_packet(t0, a(OTHER), 9), Accept(true));
        assert!(l.is_locked());
    }

    #[test]
    fn ipv6_addresses() {
        let t0 = Instant::now();
        let mut l = Learner::new(LearningConfig {
            comedia: true,
            ..LearningConfig::default()
        });
        l.set_expected(t0, Some(a("[2001:db8::1]:4000")));
        assert_eq!(l.on_packet(t0, a("[2001:db8::2]:4002"), 1), Accept(true));
        assert_eq!(l.remote(), Some(a("[2001:db8::2]:4002")));
        l.set_expected(t0, Some(a("[::]:4000")));
        assert_eq!(l.remote(), None);
    }

    #[test]
    fn a_packet_from_the_settled_source_changes_nothing() {
        // The relay record skips on_packet for the settled source: that must be exact, in
        // every policy and after every kind of history.
        let sources = [SDP, NAT, OTHER];
        for (comedia, strict) in [(false, true), (true, true), (false, false), (true, false)] {
            for seed in 0..64u32 {
                let (mut l, t0) = learner(comedia, strict);
                let mut x = seed.wrapping_mul(2_654_435_761) | 1;
                for step in 0..40u64 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let from = a(sources[(x % 3) as usize]);
                    let now = t0 + Duration::from_millis(step * 300);
                    let _ = l.on_packet(now, from, (x >> 8) as u16 % 4 + step as u16);
                    if let Some(s) = l.settled_source() {
                        let before = l.clone();
                        assert_eq!(l.on_packet(now, s, 0), Accept(true));
                        assert_eq!(l, before, "comedia={comedia} strict={strict}");
                    }
                }
            }
        }
    }
}
