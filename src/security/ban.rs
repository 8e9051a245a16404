//! The brute-force ban: authentication failures counted per source address; `banfailures`
//! within `banwindow` ban the address for `bantime`, doubled on each further ban within a day
//! (up to a day). A banned address gets no answer at all — not even to a correct password —
//! so a password guesser learns nothing more and spends nothing of ours but a hash lookup.
//!
//! Counting is per address, not per claimed user: a guesser rotates user names. The table is
//! bounded ([`MAX_SOURCES`]); when it is full the oldest source that is not banned is
//! forgotten, and banned sources are never evicted, so spoofed failures from many addresses
//! cannot lift a real attacker's ban. Pure state, time as a parameter.

use crate::config::ban::BanSettings;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Sources tracked at most (about 150 bytes each).
pub const MAX_SOURCES: usize = 16_384;
/// The longest ban, and how long a source's ban count is remembered.
pub const MAX_BAN: Duration = Duration::from_secs(24 * 3600);

/// What a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted; `n` failures in the window so far.
    Failure(u32),
    /// This failure banned the source for the given time.
    Banned(Duration),
    /// The source is on `banignore`, or the ban is off.
    Ignored,
}

#[derive(Debug)]
struct Source {
    failures: VecDeque<Instant>,
    banned_until: Option<Instant>,
    bans: u32,
    last: Instant,
}

/// Failure counts and bans by source address.
pub struct BanList {
    cfg: BanSettings,
    sources: HashMap<IpAddr, Source>,
    order: VecDeque<IpAddr>,
}

impl BanList {
    /// An empty list with these settings.
    pub fn new(cfg: BanSettings) -> BanList {
        BanList {
            cfg,
            sources: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// New settings (a reload): bans and failures counted so far stay.
    pub fn set_settings(&mut self, cfg: BanSettings) {
        self.cfg = cfg;
    }

    /// True when `ip` is banned at `now`.
    pub fn is_banned(&self, now: Instant, ip: IpAddr) -> bool {
        self.sources
            .get(&ip)
            .and_then(|s| s.banned_until)
            .is_some_and(|until| now < until)
    }

    /// Counts one authentication failure from `ip`.
    pub fn failed(&mut self, now: Instant, ip: IpAddr) -> Counted {
        if !self.cfg.enabled() || self.cfg.ignores(ip) {
            return Counted::Ignored;
        }
        if !self.sources.contains_key(&ip) {
            if !self.make_room() {
                return Counted::Ignored;
            }
            let fresh = Source {
                failures: VecDeque::new(),
                banned_until: None,
                bans: 0,
                last: now,
            };
            self.sources.insert(ip, fresh);
            self.order.push_back(ip);
        }
        let (window, limit, first) = (self.cfg.window, self.cfg.failures, self.cfg.time);
        let Some(src) = self.sources.get_mut(&ip) else {
            return Counted::Ignored;
        };
        src.last = now;
        while src
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            src.failures.pop_front();
        }
        src.failures.push_back(now);
        if (src.failures.len() as u32) < limit {
            return Counted::Failure(src.failures.len() as u32);
        }
        src.failures.clear();
        let doubled = first.saturating_mul(1u32 << src.bans.min(16));
        let length = doubled.min(MAX_BAN);
        src.bans += 1;
        src.banned_until = Some(now + length);
        Counted::Banned(length)
    }

    /// Lifts bans that ran out and forgets sources idle for a day; returns the addresses
    /// whose ban was lifted (for the log).
    pub fn sweep(&mut self, now: Instant) -> Vec<IpAddr> {
        let mut lifted = Vec::new();
        self.sources.retain(|ip, s| {
            if s.banned_until.is_some_and(|u| now >= u) {
                s.banned_until = None;
                lifted.push(*ip);
            }
            s.banned_until.is_some() || now.saturating_duration_since(s.last) < MAX_BAN
        });
        let sources = &self.sources;
        self.order.retain(|ip| sources.contains_key(ip));
        lifted
    }

    /// Makes room for one more source: forgets the oldest that is not banned. False when
    /// the first few in line are all banned (the new source goes untracked).
    fn make_room(&mut self) -> bool {
        if self.sources.len() < MAX_SOURCES {
            return true;
        }
        for _ in 0..8 {
            let Some(ip) = self.order.pop_front() else {
                return false;
            };
            match self.sources.get(&ip) {
                Some(s) if s.banned_until.is_some() => self.order.push_back(ip),
                Some(_) => {
                    self.sources.remove(&ip);
                    return true;
                }
                None => {}
            }
        }
        false
    }

    /// Sources banned at `now` (a walk over the tracked sources: for /metrics, not per packet).
    pub fn banned_count(&self, now: Instant) -> usize {
        self.sources
            .values()
            .filter(|s| s.banned_until.is_some_and(|until| now < until))
            .count()
    }

    /// Sources tracked.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// True when no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn five_failures_in_a_minute_ban_for_ten_minutes_then_twenty() {
        let t0 = Instant::now();
        let mut b = BanList::new(BanSettings::default());
        let bad = ip("203.0.113.5");
        for n in 1..5 {
            assert_eq!(b.failed(t0, bad), Counted::Failure(n));
        }
        assert!(!b.is_banned(t0, bad));
        assert_eq!(b.failed(t0, bad), Counted::Banned(Duration::from_secs(600)));
        assert!(b.is_banned(t0 + Duration::from_secs(599), bad));
        assert!(!b.is_banned(t0, ip("203.0.113.6")), "only that address");
        let t1 = t0 + Duration::from_secs(600);
        assert!(!b.is_banned(t1, bad));
        assert_eq!(b.sweep(t1), vec![bad]);
        for _ in 1..5 {
            b.failed(t1, bad);
        }
        assert_eq!(
            b.failed(t1, bad),
            Counted::Banned(Duration::from_secs(1200))
        );
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_ban() {
        let t0 = Instant::now();
        let mut b = BanList::new(BanSettings::default());
        let slow = ip("198.51.100.7");
        for i in 0..50u64 {
            let c = b.failed(t0 + Duration::from_secs(i * 15), slow);
            assert!(matches!(c, Counted::Failure(n) if n <= 4), "{c:?}");
        }
        assert_eq!(b.failed(t0, ip("127.0.0.1")), Counted::Ignored, "banignore");
    }

    #[test]
    fn the_table_is_bounded_and_banned_sources_are_never_evicted() {
        let t0 = Instant::now();
        let mut b = BanList::new(BanSettings::default());
        let attacker = ip("203.0.113.9");
        for _ in 0..5 {
            b.failed(t0, attacker);
        }
        assert!(b.is_banned(t0, attacker));
        for i in 0..(MAX_SOURCES as u32 + 1000) {
            let spoofed = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
            b.failed(t0, spoofed);
        }
        assert!(b.len() <= MAX_SOURCES);
        assert!(b.is_banned(t0, attacker), "the flood did not lift the ban");
        let later = t0 + MAX_BAN + Duration::from_secs(1);
        b.sweep(later);
        assert!(b.is_empty(), "idle sources are forgotten");
    }

    #[test]
    fn doubling_stops_at_a_day() {
        let mut cfg = BanSettings::default();
        cfg.failures = 1;
        let mut b = BanList::new(cfg);
        let mut now = Instant::now();
        let bad = ip("203.0.113.1");
        let mut last = Duration::ZERO;
        for _ in 0..12 {
            match b.failed(now, bad) {
                Counted::Banned(d) => last = d,
                other => panic!("{other:?}"),
            }
            now += last;
        }
        assert_eq!(last, MAX_BAN);
    }
}
