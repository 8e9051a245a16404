//! Names compared without ASCII case, as chan_sip's peer table and Asterisk's
//! `ast_category_get` compare them, hashed the same way so a `HashMap` can index them
//! without a lower-cased copy of every name.

use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};

/// `s` in ASCII lower case, copied only when it has an upper-case letter (option names and
/// values are read this way for every line of a large sip.conf).
pub fn lowered(s: &str) -> Cow<'_, str> {
    match s.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(s.to_ascii_lowercase()),
        false => Cow::Borrowed(s),
    }
}

/// A name hashed and compared without ASCII case.
#[derive(Debug, Clone, Copy)]
pub struct NoCase<'a>(pub &'a str);

impl Hash for NoCase<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Lower-cased a block at a time into a buffer on the stack: one `write` per block
        // (the hasher's cost is per call, not per byte).
        let mut buf = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(buf.len()) {
            let out = &mut buf[..chunk.len()];
            out.copy_from_slice(chunk);
            out.make_ascii_lowercase();
            h.write(out);
        }
        h.write_u8(0xff);
    }
}

impl PartialEq for NoCase<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for NoCase<'_> {}

/// A hasher for keys that already are hashes (a `u64`, or its low half, from a keyed
/// [`BuildHasher`]): it passes them through instead of hashing twice.
#[derive(Debug, Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is expected; fold anything else in so nothing is lost.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write_u32(&mut self, n: u32) {
        // Spread over 64 bits: the table takes its bucket from the low bits and a tag from
        // the top ones.
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The [`BuildHasher`] of [`PassThrough`].
pub type PassThroughState = std::hash::BuildHasherDefault<PassThrough>;

/// The keyed hash of `name` without case.
pub fn hash_of(state: &impl BuildHasher, name: &str) -> u64 {
    state.hash_one(NoCase(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;

    #[test]
    fn case_does_not_change_the_hash_or_equality() {
        let s = RandomState::new();
        assert_eq!(hash_of(&s, "Alice"), hash_of(&s, "aLICE"));
        assert_ne!(hash_of(&s, "alice"), hash_of(&s, "alicf"));
        // The terminator keeps "ab" + "c" apart from "a" + "bc" in composite keys.
        assert_ne!(hash_of(&s, "ab"), hash_of(&s, "abc"));
        assert_eq!(NoCase("SIP"), NoCase("sip"));
        assert_ne!(NoCase("sip"), NoCase("sips"));
        assert!(matches!(lowered("allow"), Cow::Borrowed("allow")));
        assert_eq!(lowered("Call-Limit"), "call-limit");
    }
}
