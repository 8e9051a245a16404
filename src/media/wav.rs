//! WAV files for Playback: parse RIFF/WAVE bytes and cut them into 20 ms G.711 frames in the
//! leg's law.
//!
//! Reading list, before working on this file:
//! - Microsoft/IBM "Multimedia Programming Interface and Data Specifications 1.0" (1991), the
//!   RIFF chunk layout and the WAVE `fmt ` / `data` chunks (chunks are padded to even sizes).
//! - Microsoft `mmreg.h` format tags: 1 = PCM, 6 = A-law, 7 = µ-law, 0xFFFE = extensible
//!   (whose sub-format GUID begins with the real tag).
//! - ITU-T G.711 (see `g711.rs`).
//!
//! Supported: 8000 Hz mono, 16-bit little-endian PCM (encoded to the leg's law), or 8-bit
//! µ-law / A-law (passed through or transcoded). Anything else is a typed error; the caller logs
//! a warning and skips the file. Every read is bounds-checked; a `data` chunk whose size runs past
//! the end of the file (a truncated or streamed recording) is cut to what is there.

use super::g711::{transcode_in_place, Law};

/// Bytes in one 20 ms G.711 frame at 8 kHz.
pub const FRAME_BYTES: usize = 160;

/// One 20 ms frame of G.711 audio.
pub type Frame = [u8; FRAME_BYTES];

const FORMAT_PCM: u16 = 1;
const FORMAT_ALAW: u16 = 6;
const FORMAT_ULAW: u16 = 7;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Why a WAV file cannot be played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavError {
    /// Not a RIFF/WAVE file (missing or wrong magic).
    NotWave,
    /// A chunk header or the `fmt ` chunk runs past the end of the file.
    Truncated,
    /// No `fmt ` chunk before the `data` chunk.
    MissingFmt,
    /// No `data` chunk.
    MissingData,
    /// A format we cannot play: we need 8000 Hz mono 16-bit PCM, µ-law or A-law.
    Unsupported {
        /// The WAVE format tag (1 PCM, 6 A-law, 7 µ-law, ...).
        format: u16,
        /// Channels.
        channels: u16,
        /// Sample rate in Hz.
        sample_rate: u32,
        /// Bits per sample.
        bits_per_sample: u16,
    },
}

impl std::fmt::Display for WavError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WavError::NotWave => f.write_str("not a RIFF/WAVE file"),
            WavError::Truncated => f.write_str("truncated WAV file"),
            WavError::MissingFmt => f.write_str("WAV file has no fmt chunk before its data"),
            WavError::MissingData => f.write_str("WAV file has no data chunk"),
            WavError::Unsupported {
                format,
                channels,
                sample_rate,
                bits_per_sample,
            } => write!(
                f,
                "unsupported WAV format {format} ({channels} ch, {sample_rate} Hz, \
                 {bits_per_sample} bit); need 8000 Hz mono 16-bit PCM, µ-law or A-law"
            ),
        }
    }
}

impl std::error::Error for WavError {}

/// The sample encoding of a playable WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// 16-bit signed little-endian linear PCM.
    Pcm16,
    /// 8-bit G.711 in the given law.
    G711(Law),
}

/// A parsed, playable WAV file: its encoding and its sample bytes (borrowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wav<'a> {
    /// How `data` is encoded.
    pub encoding: WavEncoding,
    /// The sample bytes of the `data` chunk (a trailing odd byte of PCM is ignored).
    pub data: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parse the RIFF/WAVE structure, skipping unknown chunks, and check the format is playable.
pub fn parse(bytes: &[u8]) -> Result<Wav<'_>, WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut pos = 12usize;
    let mut encoding = None;
    while pos < bytes.len() {
        let id = bytes.get(pos..pos + 4).ok_or(WavError::Truncated)?;
        let size = u32_at(bytes, pos + 4).ok_or(WavError::Truncated)?;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let body_start = pos + 8;
        let body_end = body_start.saturating_add(size);
        match id {
            b"fmt " => {
                let body = bytes.get(body_start..body_end).ok_or(WavError::Truncated)?;
                encoding = Some(parse_fmt(body)?);
            }
            b"data" => {
                let encoding = encoding.ok_or(WavError::MissingFmt)?;
                let end = body_end.min(bytes.len());
                let mut data = &bytes[body_start.min(end)..end];
                if encoding == WavEncoding::Pcm16 {
                    data = &data[..data.len() & !1];
                }
                return Ok(Wav { encoding, data });
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        pos = body_end.saturating_add(size & 1);
    }
    Err(WavError::MissingData)
}

fn parse_fmt(body: &[u8]) -> Result<WavEncoding, WavError> {
    let mut format = u16_at(body, 0).ok_or(WavError::Truncated)?;
    let channels = u16_at(body, 2).ok_or(WavError::Truncated)?;
    let sample_rate = u32_at(body, 4).ok_or(WavError::Truncated)?;
    let bits_per_sample = u16_at(body, 14).ok_or(WavError::Truncated)?;
    if format == FORMAT_EXTENSIBLE {
        // cbSize(2) validBits(2) channelMask(4) then the sub-format GUID, whose first two
        // bytes are the real format tag.
        format = u16_at(body, 24).ok_or(WavError::Truncated)?;
    }
    let unsupported = WavError::Unsupported {
        format,
        channels,
        sample_rate,
        bits_per_sample,
    };
    if channels != 1 || sample_rate != 8000 {
        return Err(unsupported);
    }
    match (format, bits_per_sample) {
        (FORMAT_PCM, 16) => Ok(WavEncoding::Pcm16),
        (FORMAT_ULAW, 8) => Ok(WavEncoding::G711(Law::Ulaw)),
        (FORMAT_ALAW, 8) => Ok(WavEncoding::G711(Law::Alaw)),
        _ => Err(unsupported),
    }
}

impl Wav<'_> {
    /// Number of 20 ms frames [`Wav::frames`] yields.
    pub fn frame_count(&self) -> usize {
        let samples = match self.encoding {
            WavEncoding::Pcm16 => self.data.len() / 2,
            WavEncoding::G711(_) => self.data.len(),
        };
        samples.div_ceil(FRAME_BYTES)
    }

    /// The audio as 20 ms frames in `law`; the last frame is padded with that law's silence.
    pub fn frames(&self, law: Law) -> Vec<Frame> {
        let mut out = Vec::with_capacity(self.frame_count());
        match self.encoding {
            WavEncoding::Pcm16 => {
                for chunk in self.data.chunks(FRAME_BYTES * 2) {
                    let mut frame = [law.silence(); FRAME_BYTES];
                    for (o, s) in frame.iter_mut().zip(chunk.chunks_exact(2)) {
                        *o = law.encode(i16::from_le_bytes([s[0], s[1]]));
                    }
                    out.push(frame);
                }
            }
            WavEncoding::G711(from) => {
                for chunk in self.data.chunks(FRAME_BYTES) {
                    let mut frame = [from.silence(); FRAME_BYTES];
                    frame[..chunk.len()].copy_from_slice(chunk);
                    transcode_in_place(&mut frame, from, law);
                    // Padding is exactly the target's silence, not a transcoded approximation.
                    for b in &mut frame[chunk.len()..] {
                        *b = law.silence();
                    }
                    out.push(frame);
                }
            }
        }
        out
    }
}

/// Read a WAV file's bytes into 20 ms frames in `law` (the one call Playback needs).
pub fn read_frames(bytes: &[u8], law: Law) -> Result<Vec<Frame>, WavError> {
    Ok(parse(bytes)?.frames(law))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a WAV file: `fmt ` with the given fields, optional extra chunk before it, data.
    fn wav(format: u16, channels: u16, rate: u32, bits: u16, extra: bool, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        if extra {
            // An odd-sized LIST chunk, padded: must be skipped.
            b.extend_from_slice(b"LIST");
            b.extend_from_slice(&3u32.to_le_bytes());
            b.extend_from_slice(b"abc\0");
        }
        b.extend_from_slice(b"fmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&format.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        let block = channels * bits / 8;
        b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        b.extend_from_slice(&block.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        let riff = (b.len() - 8) as u32;
        b[4..8].copy_from_slice(&riff.to_le_bytes());
        b
    }

    fn pcm(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn pcm16_to_both_laws_with_padding() {
        // 400 samples = 2.5 frames → 3 frames, the last padded with silence.
        let samples: Vec<i16> = (0..400).map(|i| if i % 2 == 0 { 8 } else { -8 }).collect();
        let file = wav(1, 1, 8000, 16, true, &pcm(&samples));
        let a = read_frames(&file, Law::Alaw).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(&a[0][..4], &[0xD5, 0x55, 0xD5, 0x55]);
        assert_eq!(a[2][79], 0x55);
        assert!(a[2][80..].iter().all(|&b| b == 0xD5));
        let u = read_frames(&file, Law::Ulaw).unwrap();
        assert_eq!(&u[0][..2], &[0xFE, 0x7E]);
        assert!(u[2][80..].iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn g711_files_pass_through_or_transcode() {
        let data: Vec<u8> = (0..=255u8).collect();
        let ulaw = wav(7, 1, 8000, 8, false, &data);
        let frames = read_frames(&ulaw, Law::Ulaw).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0][..], &data[..160]);
        assert_eq!(&frames[1][..96], &data[160..]);
        assert!(frames[1][96..].iter().all(|&b| b == 0xFF));
        let to_a = read_frames(&ulaw, Law::Alaw).unwrap();
        assert_eq!(to_a[1][95], 0xD5); // µ-law 0xFF (silence) → A-law silence
        assert!(to_a[1][96..].iter().all(|&b| b == 0xD5));
        let alaw = wav(6, 1, 8000, 8, true, &[0xD5; 320]);
        let frames = read_frames(&alaw, Law::Ulaw).unwrap();
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().flatten().all(|&b| b == 0xFE));
    }

    #[test]
    fn unsupported_formats_are_typed_errors() {
        let cases = [
            (1, 2, 8000, 16),  // stereo
            (1, 1, 16000, 16), // wideband
            (1, 1, 8000, 8),   // 8-bit PCM
            (3, 1, 8000, 32),  // float
            (7, 1, 44100, 8),  // µ-law at 44.1 kHz
        ];
        for (format, channels, sample_rate, bits_per_sample) in cases {
            let file = wav(
                format,
                channels,
                sample_rate,
                bits_per_sample,
                false,
                &[0; 64],
            );
            assert_eq!(
                parse(&file),
                Err(WavError::Unsupported {
                    format,
                    channels,
                    sample_rate,
                    bits_per_sample
                })
            );
        }
    }

    #[test]
    fn extensible_pcm() {
        let mut file = wav(1, 1, 8000, 16, false, &pcm(&[0; 160]));
        // Turn the fmt chunk into a 40-byte WAVE_FORMAT_EXTENSIBLE one.
        let fmt_at = 12;
        let mut ext = file[fmt_at + 8..fmt_at + 24].to_vec();
        ext[0..2].copy_from_slice(&0xFFFEu16.to_le_bytes());
        ext.extend_from_slice(&22u16.to_le_bytes());
        ext.extend_from_slice(&16u16.to_le_bytes());
        ext.extend_from_slice(&4u32.to_le_bytes());
        ext.extend_from_slice(&[
            1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
        ]);
        let rest = file.split_off(fmt_at + 24);
        file.truncate(fmt_at);
        file.extend_from_slice(b"fmt ");
        file.extend_from_slice(&40u32.to_le_bytes());
        file.extend_from_slice(&ext);
        file.extend_from_slice(&rest);
        assert_eq!(parse(&file).unwrap().encoding, WavEncoding::Pcm16);
        assert_eq!(read_frames(&file, Law::Ulaw).unwrap().len(), 1);
    }

    #[test]
    fn malformed_and_truncated() {
        assert_eq!(parse(b""), Err(WavError::NotWave));
        assert_eq!(parse(b"RIFF\0\0\0\0WAVX"), Err(WavError::NotWave));
        assert_eq!(parse(b"RIFF\0\0\0\0WAVE"), Err(WavError::MissingData));
        assert_eq!(parse(b"RIFF\0\0\0\0WAVEfm"), Err(WavError::Truncated));
        // data before fmt
        assert_eq!(
            parse(b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\xff\xff"),
            Err(WavError::MissingFmt)
        );
        // Huge chunk size that would overflow.
        assert_eq!(
            parse(b"RIFF\0\0\0\0WAVEJUNK\xff\xff\xff\xff"),
            Err(WavError::MissingData)
        );
        let file = wav(1, 1, 8000, 16, true, &pcm(&[100; 200]));
        // Every truncation is either an error or fewer frames, never a panic.
        for n in 0..file.len() {
            match read_frames(&file[..n], Law::Ulaw) {
                Ok(frames) => assert!(frames.len() <= 2),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        // A truncated data chunk (size larger than the file) plays what is there; an odd
        // trailing PCM byte is dropped.
        let cut = &file[..file.len() - 101];
        let w = parse(cut).unwrap();
        assert_eq!(w.data.len(), 298);
        assert_eq!(w.frame_count(), 1);
        // Empty data: no frames.
        assert_eq!(
            read_frames(&wav(7, 1, 8000, 8, false, &[]), Law::Ulaw),
            Ok(vec![])
        );
    }
}

/// `samples` as an 8 kHz mono 16-bit PCM WAV file (what Record() writes).
pub fn encode_pcm16(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod encode_tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let samples: Vec<i16> = (0..480).map(|i| (i * 37 % 2000) as i16 - 1000).collect();
        let bytes = encode_pcm16(&samples);
        let w = parse(&bytes).expect("a valid WAV");
        assert_eq!(w.frame_count(), 3);
    }
}
