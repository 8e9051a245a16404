//! Issued digest nonces (RFC 2617 §3.2.1, §3.2.2): bounded, bound to the address they were
//! issued to, with the highest nonce count seen; see the module docs of [`crate::auth`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use super::NONCE_LIFETIME;

/// What checking a nonce said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Known, fresh, and the nonce count moved forward.
    Fresh,
    /// Unknown or expired: re-challenge with `stale=true`.
    Stale,
    /// The nonce count did not move forward, or a qop-less response reused its nonce.
    Replay,
    /// The nonce was issued to another address.
    OtherSource,
}

struct NonceState {
    issued: Instant,
    source: SocketAddr,
    last_nc: u32,
    used: bool,
    /// A wrong guess was made with it: kept (not removed) so that a later correct response
    /// on it is told "not stale", as for any replay.
    burnt: bool,
}

/// Issued nonces, bounded; oldest forgotten first. Kept as the 128-bit numbers they print
/// from (32 hex digits), 40-odd bytes each.
pub struct NonceStore {
    nonces: HashMap<u128, NonceState>,
    order: VecDeque<u128>,
    max: usize,
}

/// A nonce as we print it: exactly 32 lowercase hex digits.
fn nonce_key(nonce: &str) -> Option<u128> {
    if nonce.len() != 32
        || !nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u128::from_str_radix(nonce, 16).ok()
}

impl NonceStore {
    /// A store remembering at most `max` nonces.
    pub fn new(max: usize) -> Self {
        NonceStore {
            nonces: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Issues a fresh unpredictable nonce to `source`.
    pub fn issue(&mut self, now: Instant, rng: &mut impl rand::Rng, source: SocketAddr) -> String {
        self.expire(now);
        while self.nonces.len() >= self.max {
            match self.order.pop_front() {
                Some(old) => {
                    self.nonces.remove(&old);
                }
                None => break,
            }
        }
        let bits: u128 = rng.random();
        self.nonces.insert(
            bits,
            NonceState {
                issued: now,
                source,
                last_nc: 0,
                used: false,
                burnt: false,
            },
        );
        self.order.push_back(bits);
        super::hex::encode(&bits.to_be_bytes()).as_str().to_owned()
    }

    /// Checks (and records) a nonce use from `source`. Call only after the digest response
    /// matched.
    pub fn check(
        &mut self,
        now: Instant,
        nonce: &str,
        nc: u32,
        has_qop: bool,
        source: SocketAddr,
    ) -> NonceCheck {
        let Some(key) = nonce_key(nonce) else {
            return NonceCheck::Stale;
        };
        match self.nonces.get_mut(&key) {
            None => NonceCheck::Stale,
            Some(st) if st.source != source => NonceCheck::OtherSource,
            Some(st) if st.burnt => NonceCheck::Replay,
            Some(st) if now.saturating_duration_since(st.issued) > NONCE_LIFETIME => {
                NonceCheck::Stale
            }
            // RFC 2069 clients have no nonce count: one use per nonce.
            Some(st) if !has_qop && st.used => NonceCheck::Replay,
            Some(st) if has_qop && nc <= st.last_nc => NonceCheck::Replay,
            Some(st) => {
                st.last_nc = nc;
                st.used = true;
                NonceCheck::Fresh
            }
        }
    }

    /// Forgets `nonce` if it was issued to `source` (a wrong guess from there): the next try
    /// needs a new challenge. A nonce issued to someone else is left alone, so nobody can burn
    /// another client's nonce without spoofing its address.
    pub fn burn(&mut self, nonce: &str, source: SocketAddr) {
        let Some(key) = nonce_key(nonce) else {
            return;
        };
        if let Some(st) = self.nonces.get_mut(&key) {
            if st.source == source {
                st.burnt = true;
            }
        }
    }

    /// True if the nonce was issued by us and is still within its lifetime.
    pub fn is_known(&self, now: Instant, nonce: &str) -> bool {
        let Some(key) = nonce_key(nonce) else {
            return false;
        };
        matches!(self.nonces.get(&key), Some(st) if !st.burnt && now.saturating_duration_since(st.issued) <= NONCE_LIFETIME)
    }

    /// Gives back the room a burst of challenges left ([`crate::shrink`]).
    pub fn shrink(&mut self) {
        crate::shrink::map(&mut self.nonces);
        crate::shrink::deque(&mut self.order);
    }

    /// Forgets expired nonces at the front of the issue order.
    pub fn expire(&mut self, now: Instant) {
        while let Some(front) = self.order.front() {
            let expired = match self.nonces.get(front) {
                Some(st) => now.saturating_duration_since(st.issued) > NONCE_LIFETIME * 2,
                None => true,
            };
            if !expired {
                break;
            }
            if let Some(old) = self.order.pop_front() {
                self.nonces.remove(&old);
            }
        }
    }

    /// Number of remembered nonces.
    pub fn len(&self) -> usize {
        self.nonces.len()
    }

    /// True when no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.nonces.is_empty()
    }
}
