//! No reflection: bytes sent to a source that has not proved itself never exceed the bytes
//! it sent (amplification <= 1.0, issue 13). Every SIP datagram from an untrusted source
//! adds its length to that source's credit; every answer sipbox gives without a transaction
//! (challenges, refusals, OPTIONS, 481, 503: the only answers an unauthenticated source can
//! draw) spends credit, and an answer the credit does not cover is not sent. A retransmitted
//! request brings the credit for it, so a phone whose first REGISTER is smaller than the 401
//! gets the challenge at its first retransmission. A source that authenticated (a REGISTER
//! answered 200, an admitted INVITE) is trusted for an hour and answered in full. Sources on
//! `banignore` are never counted.
//!
//! Memory: at most [`MAX_SOURCES`] entries of a few dozen bytes (oldest forgotten first),
//! credit capped at [`MAX_CREDIT`] so banked bytes cannot pay for a burst later.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Sources tracked at most (about 64 bytes each with the map's overhead: about 1 MB).
pub const MAX_SOURCES: usize = 16_384;
/// Credit a source may bank (one largest datagram).
pub const MAX_CREDIT: u64 = 65_535;
/// How long a source that authenticated is answered in full.
pub const TRUST_FOR: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct Account {
    credit: u64,
    trusted_until: Option<Instant>,
}

/// Byte credit by source address.
#[derive(Default)]
pub struct Reflection {
    accounts: HashMap<IpAddr, Account>,
    order: VecDeque<IpAddr>,
    /// The time of the datagram last received: the answers it draws are judged at it.
    now: Option<Instant>,
    /// Answers not sent for want of credit.
    pub withheld: u64,
}

impl Reflection {
    /// A new, empty guard.
    pub fn new() -> Reflection {
        Reflection::default()
    }

    fn account(&mut self, ip: IpAddr) -> &mut Account {
        if !self.accounts.contains_key(&ip) {
            if self.accounts.len() >= MAX_SOURCES {
                if let Some(old) = self.order.pop_front() {
                    self.accounts.remove(&old);
                }
            }
            self.order.push_back(ip);
        }
        self.accounts.entry(ip).or_default()
    }

    /// A datagram of `len` bytes arrived from `ip`.
    pub fn received(&mut self, now: Instant, ip: IpAddr, len: usize) {
        self.now = Some(now);
        let a = self.account(ip);
        a.credit = (a.credit + len as u64).min(MAX_CREDIT);
    }

    /// `ip` proved itself (digest accepted): answered in full for [`TRUST_FOR`].
    pub fn trust(&mut self, now: Instant, ip: IpAddr) {
        self.account(ip).trusted_until = Some(now + TRUST_FOR);
    }

    /// May `len` bytes go to `ip` in answer to the datagram last received? Spends its
    /// credit when it is not trusted.
    pub fn spend(&mut self, ip: IpAddr, len: usize) -> bool {
        let now = self.now;
        let Some(a) = self.accounts.get_mut(&ip) else {
            self.withheld += 1;
            return false;
        };
        if a.trusted_until.zip(now).is_some_and(|(t, now)| now < t) {
            return true;
        }
        if a.credit >= len as u64 {
            a.credit -= len as u64;
            true
        } else {
            self.withheld += 1;
            false
        }
    }

    /// Sources tracked.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

#[cfg(test)]
// Tests take a real Instant as their fake clock's origin.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn answers_cost_credit_and_trust_lifts_the_limit() {
        let now = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut r = Reflection::new();
        assert!(!r.spend(ip, 1), "nothing received, nothing sent");
        r.received(now, ip, 300);
        assert!(
            !r.spend(ip, 380),
            "a 380-byte 401 for a 300-byte REGISTER waits"
        );
        r.received(now, ip, 300);
        assert!(r.spend(ip, 380));
        assert!(!r.spend(ip, 380));
        r.trust(now, ip);
        assert!(r.spend(ip, 10_000));
        r.received(now + TRUST_FOR, ip, 10);
        assert!(!r.spend(ip, 10_000), "trust ends");
        assert_eq!(r.withheld, 4);
    }

    #[test]
    fn the_table_is_bounded() {
        let now = Instant::now();
        let mut r = Reflection::new();
        for i in 0..(MAX_SOURCES as u32 + 100) {
            r.received(now, IpAddr::from(i.to_be_bytes()), 100_000);
        }
        assert_eq!(r.len(), MAX_SOURCES);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        r.received(now, ip, 100_000);
        assert!(r.spend(ip, MAX_CREDIT as usize));
        assert!(!r.spend(ip, 1), "credit is capped");
    }
}
