//! A keyed hash for the tables whose keys come off the network (transaction keys: a peer's
//! branch, sent-by, Call-ID) and are looked up several times per message.
//!
//! Why not std's SipHash-1-3: it costs about 250 instructions for a 40-byte key, and a call
//! looks up and stores keys a dozen times. Why not an unkeyed hash (FxHash and the like): a
//! peer chooses these bytes, and with a known function it could send requests whose keys
//! all fall in one bucket chain (hash flooding), making every lookup a scan of the table.
//!
//! So: a folded 64×64→128-bit multiply per 16 bytes (the construction of foldhash and of
//! aHash's fallback), with both factors masked by a per-table secret drawn from std's
//! `RandomState` (OS entropy, the same source `HashMap::new` trusts). Without the secret a
//! peer cannot compute which keys collide; this is the "minimal DoS resistance" those crates
//! claim, not a cryptographic MAC (no table here needs one: a key is never secret, and a
//! table is bounded and shrinks). Measured (callgrind, `scripts/count.sh call 200`): about
//! 115 instructions to hash a 40-byte transaction key, where SipHash took about 250.

use std::hash::{BuildHasher, Hasher};

/// Builds [`KeyedHasher`]s with one table's secret.
#[derive(Clone)]
pub struct KeyedState {
    k0: u64,
    k1: u64,
}

impl KeyedState {
    /// A fresh secret (from std's `RandomState`: OS entropy once per thread, then a new key
    /// per call).
    pub fn new() -> Self {
        let r = std::hash::RandomState::new();
        KeyedState {
            k0: r.hash_one(0x243f_6a88_85a3_08d3_u64),
            k1: r.hash_one(0x1319_8a2e_0370_7344_u64) | 1,
        }
    }

    /// A fixed secret, for tests that need the same hashes twice.
    pub fn with_keys(k0: u64, k1: u64) -> Self {
        KeyedState { k0, k1: k1 | 1 }
    }
}

impl Default for KeyedState {
    fn default() -> Self {
        KeyedState::new()
    }
}

impl std::fmt::Debug for KeyedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.write_str("KeyedState")
    }
}

impl BuildHasher for KeyedState {
    type Hasher = KeyedHasher;

    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher {
            acc: self.k0,
            k0: self.k0,
            k1: self.k1,
            len: 0,
        }
    }
}

/// The state of one hash computation (see the module docs).
pub struct KeyedHasher {
    acc: u64,
    k0: u64,
    k1: u64,
    len: u64,
}

/// The high and low halves of the 128-bit product, folded: every input bit reaches every
/// output bit.
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Eight bytes as a little-endian word (`b` holds at least eight).
fn word8(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// Four bytes as a little-endian word (`b` holds at least four).
fn word4(b: &[u8]) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u64::from(u32::from_le_bytes(w))
}

/// A tail of 1 to 15 bytes as two words, by fixed-size reads that overlap instead of one
/// copy of variable length (a `memcpy` call per hashed key was a fifth of the hash's cost).
/// For a given length every byte lands in a word, so different tails of one length give
/// different words; the length itself goes in beside them.
fn tail_words(rest: &[u8]) -> (u64, u64) {
    let n = rest.len();
    if n >= 8 {
        (word8(rest), word8(&rest[n - 8..]))
    } else if n >= 4 {
        (word4(rest) | (word4(&rest[n - 4..]) << 32), 0)
    } else {
        let (a, b, c) = (rest[0], rest[n / 2], rest[n - 1]);
        (u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16, 0)
    }
}

impl KeyedHasher {
    fn mix(&mut self, a: u64, b: u64) {
        self.acc = fold(self.acc ^ a ^ self.k0, b ^ self.k1).rotate_left(23);
    }
}

impl Hasher for KeyedHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(16);
        for c in &mut chunks {
            self.mix(word8(c), word8(&c[8..]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let (a, b) = tail_words(rest);
            // The tail's length goes in with it: "a" and "a\0" differ.
            self.mix(a, b ^ ((rest.len() as u64) << 56));
        }
        self.len = self.len.wrapping_add(bytes.len() as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n, 0x9e37_79b9_7f4a_7c15);
        self.len = self.len.wrapping_add(8);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        fold(self.acc ^ self.k1, self.len ^ self.k0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn equal_keys_hash_equal_and_a_map_works() {
        let s = KeyedState::new();
        let key = b"B\x06\x00\x00\x00INVITE\x1b\x00\x00\x00z9hG4bK-1234-1-0".to_vec();
        assert_eq!(s.hash_one(&key[..]), s.hash_one(key.clone()));
        let mut m: std::collections::HashMap<Vec<u8>, u32, KeyedState> =
            std::collections::HashMap::with_hasher(KeyedState::new());
        for i in 0..10_000u32 {
            m.insert(format!("z9hG4bK-{i}").into_bytes(), i);
        }
        assert!((0..10_000u32).all(|i| m.get(format!("z9hG4bK-{i}").as_bytes()) == Some(&i)));
    }

    #[test]
    fn the_secret_and_every_byte_count() {
        let a = KeyedState::with_keys(1, 2);
        let b = KeyedState::with_keys(3, 2);
        let key = "z9hG4bK776asdhds-sent-by-pc33.atlanta.example.com";
        assert_ne!(
            a.hash_one(key),
            b.hash_one(key),
            "another secret, another hash"
        );
        // Flipping any one bit of a 40-byte key changes the hash.
        let base = key.as_bytes()[..40].to_vec();
        let h = a.hash_one(&base[..]);
        for i in 0..base.len() * 8 {
            let mut k = base.clone();
            k[i / 8] ^= 1 << (i % 8);
            assert_ne!(a.hash_one(&k[..]), h, "bit {i}");
        }
        // So does any bit of every tail length (the tail is read in overlapping words).
        for n in 1..=15 {
            let tail = &key.as_bytes()[..n];
            let h = a.hash_one(tail);
            for i in 0..n * 8 {
                let mut k = tail.to_vec();
                k[i / 8] ^= 1 << (i % 8);
                assert_ne!(a.hash_one(&k[..]), h, "length {n}, bit {i}");
            }
        }
        // Trailing zeros and lengths are told apart.
        assert_ne!(a.hash_one(&b"a"[..]), a.hash_one(&b"a\0"[..]));
        assert_ne!(a.hash_one(&[0u8; 16][..]), a.hash_one(&[0u8; 17][..]));
    }

    #[test]
    fn similar_keys_spread_over_buckets() {
        // 4 096 branches differing in a counter: the low 12 bits (a 4 096-bucket table's
        // index) and the top 7 (hashbrown's tag) of their hashes are nearly all distinct.
        let s = KeyedState::new();
        let hashes: Vec<u64> = (0..4096)
            .map(|i| s.hash_one(format!("z9hG4bK-{i:08}").as_bytes()))
            .collect();
        let low: HashSet<u64> = hashes.iter().map(|h| h & 0xfff).collect();
        let top: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        // A uniform hash fills about 63 % of 4 096 buckets with 4 096 keys.
        assert!(low.len() > 2_400, "{} buckets", low.len());
        assert_eq!(top.len(), 128);
    }
}
