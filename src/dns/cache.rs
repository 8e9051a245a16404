//! Answers kept until their TTL runs out (RFC 1035 §3.2.1, negative ones per RFC 2308),
//! bounded in entries and in bytes: when full, the entry that expires first goes.

use super::wire::{Qtype, SrvRecord};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What a cached answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// SRV records (unordered: the weighted order is drawn at each use).
    Srv(Vec<SrvRecord>),
    /// Addresses.
    Addrs(Vec<IpAddr>),
    /// No such name or no such record.
    NotFound,
}

impl Cached {
    /// An estimate of the heap bytes it holds.
    fn bytes(&self) -> usize {
        match self {
            Cached::Srv(rs) => rs.iter().map(|r| 32 + r.target.len()).sum(),
            Cached::Addrs(a) => a.len() * 17,
            Cached::NotFound => 0,
        }
    }
}

struct Entry {
    value: Cached,
    expires: Instant,
    bytes: usize,
}

/// A TTL cache with two bounds.
pub struct Cache {
    map: HashMap<(String, Qtype), Entry>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

/// Per-entry overhead counted against the byte bound (key, map slot, bookkeeping).
const OVERHEAD: usize = 96;

impl Cache {
    /// A cache of at most `max_entries` answers and about `max_bytes` bytes.
    pub fn new(max_entries: usize, max_bytes: usize) -> Cache {
        Cache {
            map: HashMap::new(),
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    /// The live answer for `name`/`qtype` and when it expires; an expired one is dropped.
    pub fn get(&mut self, now: Instant, name: &str, qtype: Qtype) -> Option<(Cached, Instant)> {
        let key = (name.to_string(), qtype);
        let e = self.map.get(&key)?;
        if e.expires <= now {
            self.remove(&key);
            return None;
        }
        Some((e.value.clone(), e.expires))
    }

    /// Keeps an answer for `ttl` seconds (0: not kept). Returns when it expires.
    pub fn insert(&mut self, now: Instant, name: &str, qtype: Qtype, value: Cached, ttl: u32) {
        if ttl == 0 {
            return;
        }
        let key = (name.to_string(), qtype);
        self.remove(&key);
        let bytes = OVERHEAD + name.len() + value.bytes();
        if bytes > self.max_bytes {
            return;
        }
        while !self.map.is_empty()
            && (self.map.len() >= self.max_entries || self.bytes + bytes > self.max_bytes)
        {
            let first = self
                .map
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone());
            match first {
                Some(k) => self.remove(&k),
                None => break,
            }
        }
        self.bytes += bytes;
        let expires = now + Duration::from_secs(u64::from(ttl));
        self.map.insert(
            key,
            Entry {
                value,
                expires,
                bytes,
            },
        );
    }

    fn remove(&mut self, key: &(String, Qtype)) {
        if let Some(e) = self.map.remove(key) {
            self.bytes -= e.bytes;
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Bytes counted against the bound.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(n: usize) -> Cached {
        Cached::Addrs((0..n).map(|i| IpAddr::from([127, 0, 0, i as u8])).collect())
    }

    #[test]
    fn entries_expire_with_their_ttl() {
        // A test's starting instant; the cache itself only compares against it.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut c = Cache::new(10, 10_000);
        c.insert(t0, "a.test", Qtype::A, addrs(1), 60);
        c.insert(t0, "z.test", Qtype::A, addrs(1), 0);
        assert!(c
            .get(t0 + Duration::from_secs(59), "a.test", Qtype::A)
            .is_some());
        assert!(c.get(t0, "a.test", Qtype::Srv).is_none());
        assert!(c.get(t0, "z.test", Qtype::A).is_none(), "ttl 0 is not kept");
        assert!(c
            .get(t0 + Duration::from_secs(60), "a.test", Qtype::A)
            .is_none());
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }

    #[test]
    fn bounded_in_entries_and_bytes() {
        // A test's starting instant; the cache itself only compares against it.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut c = Cache::new(3, 100_000);
        for i in 0..10u32 {
            c.insert(t0, &format!("n{i}.test"), Qtype::A, addrs(1), 100 + i);
        }
        assert_eq!(c.len(), 3);
        assert!(
            c.get(t0, "n9.test", Qtype::A).is_some(),
            "the longest-lived stay"
        );
        assert!(c.get(t0, "n0.test", Qtype::A).is_none());
        let mut c = Cache::new(1000, 1000);
        for i in 0..50u32 {
            c.insert(t0, &format!("n{i}.test"), Qtype::A, addrs(8), 100);
        }
        assert!(c.bytes() <= 1000, "{}", c.bytes());
        c.insert(t0, "huge.test", Qtype::A, addrs(200), 100);
        assert!(
            c.get(t0, "huge.test", Qtype::A).is_none(),
            "larger than the bound"
        );
    }
}
