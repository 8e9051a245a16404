//! Lowercase hex digests on the stack, hashed over several parts without joining them first.
//!
//! RFC 2617 §3.2.2 hashes `A:B:C` strings; feeding the parts and colons to the hasher one by
//! one saves the `format!` of each joined string and the `write!` per digest byte.

use md5::Digest;

/// A lowercase hex digest: 32 digits for MD5, 64 for SHA-256.
#[derive(Clone, Copy)]
pub struct Hex {
    buf: [u8; 64],
    len: usize,
}

impl Hex {
    /// The digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes` (at most 32 of them) as a [`Hex`].
pub fn encode(bytes: &[u8]) -> Hex {
    let mut h = Hex {
        buf: [0; 64],
        len: 0,
    };
    for &b in bytes.iter().take(32) {
        h.buf[h.len] = DIGITS[usize::from(b >> 4)];
        h.buf[h.len + 1] = DIGITS[usize::from(b & 15)];
        h.len += 2;
    }
    h
}

/// Lowercase hex of the hash `D` of the concatenated `parts`.
pub fn digest_of<D: Digest>(parts: &[&[u8]]) -> Hex {
    let mut d = D::new();
    for p in parts {
        d.update(p);
    }
    encode(&d.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_hash_like_the_joined_string() {
        // RFC 1321's test suite value for "abc".
        assert_eq!(
            digest_of::<md5::Md5>(&[b"a", b"", b"bc"]).as_str(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(encode(&[0x00, 0xff, 0x3c]).as_str(), "00ff3c");
        assert_eq!(encode(&u128::MAX.to_be_bytes()).as_str().len(), 32);
    }
}
