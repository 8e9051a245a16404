//! The per-leg remote RTP address: where to send, and which sources to accept.
//!
//! Reading list, before working on this file:
//! - RFC 3550 §8.2 and appendix A.1 (source validation by sequential packets: "probation").
//! - RFC 4961 (symmetric RTP) and RFC 4145 §4 (the "comedia" idea: the passive side learns the
//!   remote from what arrives). Asterisk's `nat=comedia` and `res_rtp_asterisk.c`'s strictrtp
//!   learning (`rtp.conf` `strictrtp=yes`, `probation=4`) are the behaviour we copy.
//!
//! One state enum, one transition function ([`Learner::on_packet`]). The SDP gives the expected
//! address ([`Learner::set_expected`]); what arrives may confirm it, replace it (comedia, or a
//! new source that proves itself with `probation` sequential packets inside the learning window
//! that every SDP change opens), or be dropped (strictrtp). `strict = false` accepts everything
//! and follows the latest source. Time is a parameter; nothing here reads a clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The learning policy of a leg (from its peer's `nat=` and `rtp.conf` `strictrtp`/`probation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearningConfig {
    /// `nat=yes` / `comedia`: the first packet that arrives fixes the remote address.
    pub comedia: bool,
    /// `strictrtp=yes` (Asterisk's default): once learned, other sources are dropped.
    pub strict: bool,
    /// Sequential packets a new source must send before it takes over (Asterisk: 4).
    pub probation: u8,
    /// How long after an SDP change a new source may take over.
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

/// The learning state of one leg's remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No source accepted yet; `expected` is the SDP's address, if any.
    Learning {
        expected: Option<SocketAddr>,
        candidate: Option<Candidate>,
    },
    /// The remote is fixed; a candidate may take over only inside the learning window.
    Locked {
        remote: SocketAddr,
        candidate: Option<Candidate>,
    },
}

/// The remote-address state machine of one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learner {
    config: LearningConfig,
    state: State,
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
            state: State::Learning {
                expected: None,
                candidate: None,
            },
            window_end: None,
            held: false,
        }
    }

    /// The configuration this learner follows.
    pub fn config(&self) -> LearningConfig {
        self.config
    }

    /// Where to send this leg's media, if anywhere (`None`: unknown yet, or on hold).
    pub fn remote(&self) -> Option<SocketAddr> {
        if self.held {
            return None;
        }
        match self.state {
            State::Learning { expected, .. } => expected,
            State::Locked { remote, .. } => Some(remote),
        }
    }

    /// Whether the remote has been learned or confirmed by a packet.
    pub fn is_locked(&self) -> bool {
        matches!(self.state, State::Locked { .. })
    }

    /// The SDP (offer or answer) of this leg gave `addr` (c= + m= port). An unspecified address
    /// or port 0 means hold: nothing is sent until an SDP gives an address again. Every call
    /// opens the learning window; a changed address (without comedia) is sent to at once and
    /// confirmed by the first packet from it.
    pub fn set_expected(&mut self, now: Instant, addr: Option<SocketAddr>) {
        self.window_end = now.checked_add(self.config.window);
        let Some(addr) = usable(addr) else {
            self.held = true;
            return;
        };
        self.held = false;
        match self.state {
            State::Locked { remote, .. } if remote == addr || self.config.comedia => {}
            _ => {
                self.state = State::Learning {
                    expected: Some(addr),
                    candidate: None,
                }
            }
        }
    }

    fn in_window(&self, now: Instant) -> bool {
        self.window_end.is_some_and(|end| now < end)
    }

    /// One more sequential packet from `from`; returns the updated candidate.
    fn prove(&self, cand: Option<Candidate>, from: SocketAddr, seq: u16) -> Candidate {
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
        let locked = |remote| State::Locked {
            remote,
            candidate: None,
        };
        let (next, accept) = match self.state {
            // strictrtp=no: anything goes, follow the latest source.
            _ if !cfg.strict => (locked(from), true),
            // The learned source: accepted; a candidate on probation keeps its count.
            state @ State::Locked { remote, .. } if remote == from => (state, true),
            State::Learning { expected, .. } if expected == Some(from) => (locked(from), true),
            // comedia: the first packet fixes the remote.
            State::Learning { .. } if cfg.comedia => (locked(from), true),
            // Nothing to compare against, or inside the window: a new source on probation.
            State::Learning {
                expected,
                candidate,
            } if expected.is_none() || self.in_window(now) => {
                let c = self.prove(candidate, from, seq);
                if c.count >= cfg.probation {
                    (locked(from), true)
                } else {
                    (
                        State::Learning {
                            expected,
                            candidate: Some(c),
                        },
                        false,
                    )
                }
            }
            State::Locked { remote, candidate } if self.in_window(now) => {
                let c = self.prove(candidate, from, seq);
                if c.count >= cfg.probation {
                    (locked(from), true)
                } else {
                    (
                        State::Locked {
                            remote,
                            candidate: Some(c),
                        },
                        false,
                    )
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
    fn strict_new_source_takes_over_after_probation_in_window() {
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
                (100, NAT, 16, true, Some(NAT)), // 4th sequential packet
                (120, OTHER, 1, false, Some(NAT)),
                (140, NAT, 17, true, Some(NAT)),
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
                (70, NAT, 53, true, Some(NAT)),
                (80, SDP, 4, false, Some(NAT)),
            ],
        );
    }

    #[test]
    fn strictrtp_no_follows_latest_source() {
        let (mut l, t0) = learner(false, false);
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
                (60, NAT, 1, true, Some(NAT)),
            ],
        );
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
}
