//! Per-source fairness: a token bucket per source address for SIP datagrams (pike-style, as
//! Kamailio's pike module and Asterisk's lack of one suggest). A source gets `ratelimit`
//! datagrams a second with bursts of twice that; what goes over is dropped unanswered before
//! it is parsed. The default (200 a second) is far above what an office behind one NAT
//! address sends (a few REGISTERs and call setups a second) and far below a flood. Sources
//! on `banignore` are not limited. The table is bounded like the ban list's.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

/// Sources tracked at most.
pub const MAX_SOURCES: usize = 16_384;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by source address.
pub struct RateLimit {
    per_sec: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
    order: VecDeque<IpAddr>,
}

impl RateLimit {
    /// `per_sec` datagrams a second per source (0 = no limit), bursts of twice that.
    pub fn new(per_sec: u32) -> RateLimit {
        RateLimit {
            per_sec: f64::from(per_sec),
            burst: f64::from(per_sec) * 2.0,
            buckets: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A new rate (a reload's `ratelimit`); buckets refill at it from now on.
    pub fn set_rate(&mut self, per_sec: u32) {
        self.per_sec = f64::from(per_sec);
        self.burst = f64::from(per_sec) * 2.0;
    }

    /// Takes one token for a datagram from `ip`; false when it must be dropped.
    pub fn allow(&mut self, now: Instant, ip: IpAddr) -> bool {
        if self.per_sec <= 0.0 {
            return true;
        }
        if !self.buckets.contains_key(&ip) {
            if self.buckets.len() >= MAX_SOURCES {
                // The oldest-created bucket goes; a full bucket is what a new one would be
                // anyway, so a flood of sources only costs the forgotten ones their history.
                if let Some(old) = self.order.pop_front() {
                    self.buckets.remove(&old);
                }
            }
            self.buckets.insert(
                ip,
                Bucket {
                    tokens: self.burst,
                    at: now,
                },
            );
            self.order.push_back(ip);
        }
        let Some(b) = self.buckets.get_mut(&ip) else {
            return true;
        };
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Sources tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// True when no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_a_flood_does_not_and_the_rate_refills() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(100);
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let passed = (0..1000).filter(|_| r.allow(t0, ip)).count();
        assert_eq!(passed, 200, "the burst");
        let other: IpAddr = "203.0.113.6".parse().unwrap();
        assert!(r.allow(t0, other), "another source is not affected");
        // One second later a hundred more.
        let t1 = t0 + Duration::from_secs(1);
        let passed = (0..1000).filter(|_| r.allow(t1, ip)).count();
        assert_eq!(passed, 100);
        // Steady traffic under the rate always passes.
        let mut t = t1 + Duration::from_secs(5);
        for _ in 0..1000 {
            t += Duration::from_millis(20);
            assert!(r.allow(t, ip));
        }
        assert!(RateLimit::new(0).allow(t0, ip), "0 = off");
        for i in 0..(MAX_SOURCES as u32 + 10) {
            r.allow(t0, IpAddr::from((0x0a00_0000u32 + i).to_be_bytes()));
        }
        assert!(r.len() <= MAX_SOURCES);
    }
}
