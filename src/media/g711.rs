//! G.711 µ-law and A-law companding, and direct µ-law ↔ A-law transcoding.
//!
//! Reading list, before working on this file:
//! - ITU-T G.711 (11/88), "Pulse code modulation (PCM) of voice frequencies", tables 1a/1b
//!   (A-law) and 2a/2b (µ-law).
//! - ITU-T G.191 Software Tool Library, `g711.c` (the reference implementation whose values the
//!   tests below check), and the public-domain Sun Microsystems `g711.c` it descends from.
//! - RFC 3551 §4.5.14 (PCMA/PCMU payload formats: one octet per sample, 8 kHz).
//!
//! Decoding and transcoding are table driven: the three 256-entry tables are built by `const fn`
//! at compile time, so a per-packet transcode is one load per byte. Encoding from 16-bit linear
//! is a short branch-light computation (used by playback of PCM WAV files only).

/// A G.711 companding law: which of the two 8-bit encodings a leg uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law, RTP payload type 0 (PCMU), used in North America and Japan.
    Ulaw,
    /// A-law, RTP payload type 8 (PCMA), used in Europe and most elsewhere.
    Alaw,
}

impl Law {
    /// The encoded byte for digital silence (linear 0) in this law.
    pub const fn silence(self) -> u8 {
        match self {
            Law::Ulaw => 0xFF,
            Law::Alaw => 0xD5,
        }
    }

    /// The static RTP payload type of this law (RFC 3551): 0 for PCMU, 8 for PCMA.
    pub const fn payload_type(self) -> u8 {
        match self {
            Law::Ulaw => 0,
            Law::Alaw => 8,
        }
    }

    /// Encode one linear 16-bit sample in this law.
    pub const fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Ulaw => linear_to_ulaw(sample),
            Law::Alaw => linear_to_alaw(sample),
        }
    }

    /// Decode one byte of this law to a linear 16-bit sample.
    pub fn decode(self, byte: u8) -> i16 {
        match self {
            Law::Ulaw => ulaw_to_linear(byte),
            Law::Alaw => alaw_to_linear(byte),
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// Encode a linear 16-bit sample as µ-law (G.711 table 2, G.191 `ulaw_compress` scaled to 16 bits).
pub const fn linear_to_ulaw(sample: i16) -> u8 {
    let mut pcm = sample as i32;
    let mask: u8 = if pcm < 0 {
        pcm = -pcm;
        0x7F
    } else {
        0xFF
    };
    if pcm > ULAW_CLIP {
        pcm = ULAW_CLIP;
    }
    pcm += ULAW_BIAS;
    // Segment = index of the highest set bit above bit 7 (0..=7).
    let mut seg = 0u32;
    let mut v = pcm >> 8;
    while v != 0 && seg < 7 {
        seg += 1;
        v >>= 1;
    }
    let mantissa = ((pcm >> (seg + 3)) & 0x0F) as u8;
    ((seg as u8) << 4 | mantissa) ^ mask
}

/// Decode a µ-law byte to a linear 16-bit sample (range −32124..=32124).
const fn ulaw_decode_const(byte: u8) -> i16 {
    let u = !byte;
    let mut t: i32 = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= ((u & 0x70) >> 4) as i32;
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

/// Encode a linear 16-bit sample as A-law (G.711 table 1, G.191 `alaw_compress`).
pub const fn linear_to_alaw(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes.
    let mut pcm = (sample as i32) >> 3;
    let mask: u8 = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    // Segment end points for 13-bit input.
    let mut seg = 0u32;
    let mut end = 0x1F;
    while seg < 8 && pcm > end {
        seg += 1;
        end = (end << 1) | 1;
    }
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mut aval = (seg as u8) << 4;
    if seg < 2 {
        aval |= ((pcm >> 1) & 0x0F) as u8;
    } else {
        aval |= ((pcm >> seg) & 0x0F) as u8;
    }
    aval ^ mask
}

/// Decode an A-law byte to a linear 16-bit sample (range −32256..=32256).
const fn alaw_decode_const(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t: i32 = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_decode_const(i as u8);
        i += 1;
    }
    t
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_decode_const(i as u8);
        i += 1;
    }
    t
}

const fn build_ulaw_to_alaw() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = linear_to_alaw(ulaw_decode_const(i as u8));
        i += 1;
    }
    t
}

const fn build_alaw_to_ulaw() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = linear_to_ulaw(alaw_decode_const(i as u8));
        i += 1;
    }
    t
}

/// µ-law byte → linear sample.
pub static ULAW_TO_LINEAR: [i16; 256] = build_ulaw_decode();
/// A-law byte → linear sample.
pub static ALAW_TO_LINEAR: [i16; 256] = build_alaw_decode();
/// µ-law byte → A-law byte, through the linear value (decode then re-encode).
pub static ULAW_TO_ALAW: [u8; 256] = build_ulaw_to_alaw();
/// A-law byte → µ-law byte, through the linear value (decode then re-encode).
pub static ALAW_TO_ULAW: [u8; 256] = build_alaw_to_ulaw();

/// Decode a µ-law byte (table lookup).
#[inline]
pub fn ulaw_to_linear(byte: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(byte)]
}

/// Decode an A-law byte (table lookup).
#[inline]
pub fn alaw_to_linear(byte: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(byte)]
}

/// Transcode a µ-law payload to A-law, in place (one table lookup per byte).
pub fn transcode_ulaw_to_alaw_in_place(payload: &mut [u8]) {
    for b in payload {
        *b = ULAW_TO_ALAW[usize::from(*b)];
    }
}

/// Transcode an A-law payload to µ-law, in place (one table lookup per byte).
pub fn transcode_alaw_to_ulaw_in_place(payload: &mut [u8]) {
    for b in payload {
        *b = ALAW_TO_ULAW[usize::from(*b)];
    }
}

/// Transcode a payload in place from law `from` to law `to` (nothing to do when they are equal).
pub fn transcode_in_place(payload: &mut [u8], from: Law, to: Law) {
    match (from, to) {
        (Law::Ulaw, Law::Alaw) => transcode_ulaw_to_alaw_in_place(payload),
        (Law::Alaw, Law::Ulaw) => transcode_alaw_to_ulaw_in_place(payload),
        _ => {}
    }
}

/// Encode linear samples into `out` in the given law; returns the number of bytes written
/// (the shorter of the two lengths).
pub fn encode_into(law: Law, samples: &[i16], out: &mut [u8]) -> usize {
    let n = samples.len().min(out.len());
    for (o, s) in out.iter_mut().zip(samples) {
        *o = law.encode(*s);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_values() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0xFE), 8);
        assert_eq!(ulaw_to_linear(0x7E), -8);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-32124), 0x00);
        assert_eq!(linear_to_ulaw(32767), 0x80);
        assert_eq!(linear_to_ulaw(-32768), 0x00);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
    }

    #[test]
    fn alaw_reference_values() {
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(8), 0xD5);
        assert_eq!(linear_to_alaw(-8), 0x55);
        assert_eq!(linear_to_alaw(32767), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_round_trips_through_linear() {
        for b in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(b)), b, "alaw {b:#04x}");
            let u = linear_to_ulaw(ulaw_to_linear(b));
            // 0x7F is µ-law "negative zero"; it decodes to 0 which encodes as 0xFF.
            if b == 0x7F {
                assert_eq!(u, 0xFF);
            } else {
                assert_eq!(u, b, "ulaw {b:#04x}");
            }
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        let mut prev = i16::MIN;
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let d = ulaw_to_linear(linear_to_ulaw(s));
            assert!(d >= prev, "ulaw not monotonic at {s}");
            prev = d;
            // Quantisation error stays within the largest segment step.
            assert!((i32::from(d) - i32::from(s)).abs() <= 1024 + 900);
        }
    }

    #[test]
    fn transcoding_preserves_silence_and_sign() {
        assert_eq!(ULAW_TO_ALAW[0xFF], 0xD5);
        assert_eq!(ALAW_TO_ULAW[0xD5], 0xFE); // +8 is the µ-law step just above 0
        for b in 0..=255u8 {
            let lin = ulaw_to_linear(b);
            let back = alaw_to_linear(ULAW_TO_ALAW[usize::from(b)]);
            assert!(lin.signum() * back.signum() >= 0, "{b:#04x}");
            let err = (i32::from(lin) - i32::from(back)).abs();
            assert!(err <= 1024, "{b:#04x}: {lin} vs {back}");
        }
        let mut buf = [0xFFu8, 0x00, 0x80];
        transcode_in_place(&mut buf, Law::Ulaw, Law::Alaw);
        transcode_in_place(&mut buf, Law::Alaw, Law::Ulaw);
        assert_eq!(buf[0], 0xFE);
        assert!(ulaw_to_linear(buf[1]) < -30000);
        assert!(ulaw_to_linear(buf[2]) > 30000);
    }

    #[test]
    fn encode_into_counts() {
        let mut out = [0u8; 2];
        assert_eq!(encode_into(Law::Alaw, &[0, 0, 0], &mut out), 2);
        assert_eq!(out, [0xD5, 0xD5]);
        assert_eq!(Law::Ulaw.silence(), 0xFF);
        assert_eq!(Law::Alaw.payload_type(), 8);
    }
}
