//! MixMonitor's pure parts: the two directions of a channel as 8 kHz linear feeds taken one
//! 20 ms frame at a time on the recording's own clock (a direction that sent nothing is
//! silence), the volume factors, the saturating mix, the file formats and their bytes, and the
//! WAV size fields fixed when a recording closes. The call layer feeds it; the driver's writer
//! thread carries out the [`FileOp`]s.
//!
//! Reading list: Asterisk `apps/app_mixmonitor.c` (`get_volfactor`, `mixmonitor_save_prep`:
//! the extension names the format, none is `raw`), `main/audiohook.c`
//! (`audiohook_read_frame_both`: read and write frames of 160 samples, volume, then the mix),
//! `main/frame.c` (`ast_frame_adjust_volume`, `ast_slinear_saturated_add`), `formats/format_wav.c`
//! (`update_header`: the RIFF and data sizes from the file's length), ITU-T G.711.

use super::g711::Law;
use std::collections::VecDeque;
use std::path::PathBuf;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Samples a direction may hold waiting for the clock (120 ms): packets that arrive in a
/// burst or slightly ahead wait here; more than this and the oldest are dropped, so the
/// recording's latency and memory stay bounded.
const MAX_PENDING: usize = 6 * FRAME_SAMPLES;

/// One direction of a monitored channel, waiting for the recording's clock.
#[derive(Debug)]
pub struct Feed {
    pending: VecDeque<i16>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            pending: VecDeque::with_capacity(MAX_PENDING),
        }
    }
}

impl Feed {
    /// Appends a G.711 payload (decoded to linear); the oldest samples go past
    /// [`MAX_PENDING`]. Never allocates past the capacity it was made with.
    pub fn push(&mut self, law: Law, payload: &[u8]) {
        let payload = &payload[payload.len().saturating_sub(MAX_PENDING)..];
        let over = (self.pending.len() + payload.len()).saturating_sub(MAX_PENDING);
        self.pending.drain(..over);
        self.pending.extend(payload.iter().map(|&b| law.decode(b)));
    }

    /// The next frame of this direction: what arrived, then silence.
    pub fn take_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) {
        let n = self.pending.len().min(FRAME_SAMPLES);
        for (o, s) in out.iter_mut().zip(self.pending.drain(..n)) {
            *o = s;
        }
        out[n..].fill(0);
    }
}

/// Asterisk's `get_volfactor`: `x` in -4..=4 becomes ×2^x (positive) or ÷2^-x (negative,
/// written as a negative factor); 0 leaves the audio alone.
pub fn volume_factor(x: i32) -> i32 {
    match x {
        0 => 0,
        x if x > 0 => 1 << x.min(4),
        x => -(1 << (-x).min(4)),
    }
}

/// `ast_frame_adjust_volume`: multiplies (saturating) by a positive factor, divides by a
/// negative one's magnitude.
pub fn adjust_volume(samples: &mut [i16], factor: i32) {
    match factor {
        -1..=1 => {}
        f if f > 0 => {
            for s in samples {
                *s = (i32::from(*s) * f).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
        }
        f => {
            for s in samples {
                *s = (i32::from(*s) / -f) as i16;
            }
        }
    }
}

/// The two directions summed with saturation (`ast_slinear_saturated_add`).
pub fn mix(a: &[i16; FRAME_SAMPLES], b: &[i16; FRAME_SAMPLES]) -> [i16; FRAME_SAMPLES] {
    let mut out = [0i16; FRAME_SAMPLES];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x.saturating_add(*y);
    }
    out
}

/// A recording's file format, named by its extension as Asterisk's formats name theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `wav`: 8 kHz mono 16-bit PCM in RIFF/WAVE (`format_wav.c`).
    Wav,
    /// `sln`, `raw`: headerless 16-bit little-endian linear (`format_sln.c`).
    Slin,
    /// `ulaw`, `ul`, `mu`, `ulw`, `pcm`: headerless µ-law (`format_pcm.c`).
    Ulaw,
    /// `alaw`, `al`, `alw`: headerless A-law (`format_pcm.c`).
    Alaw,
}

/// Why an extension cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// GSM (`gsm`, `WAV`/`wav49`): sipbox has no GSM encoder.
    NoGsm,
    /// Not a format sipbox knows.
    Unknown(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::NoGsm => f.write_str(
                "GSM formats (gsm, WAV, wav49) need a GSM encoder, which sipbox does not have",
            ),
            FormatError::Unknown(e) => write!(
                f,
                "no format for extension '{e}' (wav, sln, raw, ulaw, alaw)"
            ),
        }
    }
}

impl FileFormat {
    /// The format of a file extension (as Asterisk, `WAV` is wav49, not `wav`).
    pub fn from_extension(ext: &str) -> Result<FileFormat, FormatError> {
        match ext {
            "wav" => Ok(FileFormat::Wav),
            "sln" | "raw" => Ok(FileFormat::Slin),
            "ulaw" | "ul" | "mu" | "ulw" | "pcm" => Ok(FileFormat::Ulaw),
            "alaw" | "al" | "alw" => Ok(FileFormat::Alaw),
            "gsm" | "WAV" | "wav49" => Err(FormatError::NoGsm),
            other => Err(FormatError::Unknown(other.to_string())),
        }
    }

    /// The format of `path` by its extension; none is `raw`, as `mixmonitor_save_prep`.
    pub fn of_path(path: &std::path::Path) -> Result<FileFormat, FormatError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) => FileFormat::from_extension(e),
            None => Ok(FileFormat::Slin),
        }
    }

    /// What a new file of this format starts with (a WAV header of an empty recording).
    pub fn header(self) -> Vec<u8> {
        match self {
            FileFormat::Wav => super::wav::encode_pcm16(&[]),
            _ => Vec::new(),
        }
    }

    /// Appends `samples` in this format to `out`.
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        match self {
            FileFormat::Wav | FileFormat::Slin => {
                for s in samples {
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
            FileFormat::Ulaw => out.extend(samples.iter().map(|&s| Law::Ulaw.encode(s))),
            FileFormat::Alaw => out.extend(samples.iter().map(|&s| Law::Alaw.encode(s))),
        }
    }

    /// Bytes one second of audio takes in this format.
    pub fn bytes_per_second(self) -> usize {
        match self {
            FileFormat::Wav | FileFormat::Slin => 16_000,
            FileFormat::Ulaw | FileFormat::Alaw => 8_000,
        }
    }
}

/// The writes of a recording, carried out in order by the driver's writer thread (none is
/// answered: the call never waits for the disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    /// Create `path`'s directory, then start the file with `header` — unless `append` and it
    /// already has content, which is kept.
    Open {
        /// The file.
        path: PathBuf,
        /// `a`: keep what the file holds.
        append: bool,
        /// A new file's first bytes (a WAV header).
        header: Vec<u8>,
    },
    /// Add these bytes at the end of `path`.
    Append {
        /// The file.
        path: PathBuf,
        /// Encoded audio.
        bytes: Vec<u8>,
    },
    /// The recording of `path` is over: a WAV file gets its sizes (see [`wav_size_fix`]).
    Close {
        /// The file.
        path: PathBuf,
        /// It is a WAV file.
        wav: bool,
    },
    /// Run the MixMonitor post-command (`/bin/sh -c`) once the files before it are closed.
    Command(String),
}

/// The two size fields of a WAV file that is `len` bytes long, as (offset, value): the RIFF
/// size at 4 and the data chunk's size, found by walking the chunks of `head` (its first
/// bytes). None: not a RIFF/WAVE file, or no data chunk in `head`.
pub fn wav_size_fix(head: &[u8], len: u64) -> Option<[(usize, u32); 2]> {
    if head.get(..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" {
        return None;
    }
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    let mut pos = 12usize;
    while let Some(h) = head.get(pos..pos + 8) {
        let size = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        if &h[..4] == b"data" {
            let data = len.saturating_sub(pos as u64 + 8);
            return Some([(4, clamp(len.saturating_sub(8))), (pos + 4, clamp(data))]);
        }
        pos = pos.checked_add(8 + size + (size & 1))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_gives_what_arrived_then_silence_and_stays_bounded() {
        let mut f = Feed::default();
        let mut out = [1i16; FRAME_SAMPLES];
        f.take_frame(&mut out);
        assert!(out.iter().all(|&s| s == 0));
        f.push(Law::Ulaw, &[0x80; 100]);
        f.take_frame(&mut out);
        assert!(out[..100].iter().all(|&s| s == Law::Ulaw.decode(0x80)));
        assert!(out[100..].iter().all(|&s| s == 0));
        let cap = f.pending.capacity();
        for _ in 0..100 {
            f.push(Law::Alaw, &[0x55; 160]);
        }
        f.push(Law::Alaw, &[0x55; 4 * MAX_PENDING]);
        assert_eq!(f.pending.len(), MAX_PENDING);
        assert_eq!(
            f.pending.capacity(),
            cap,
            "no growth past the first capacity"
        );
    }

    #[test]
    fn volume_and_mix_saturate() {
        assert_eq!(volume_factor(2), 4);
        assert_eq!(volume_factor(-3), -8);
        assert_eq!(volume_factor(0), 0);
        let mut s = [1000i16, -20000, 16];
        adjust_volume(&mut s, 4);
        assert_eq!(s, [4000, i16::MIN, 64]);
        adjust_volume(&mut s, -8);
        assert_eq!(s, [500, -4096, 8]);
        let a = [30000i16; FRAME_SAMPLES];
        let b = [10000i16; FRAME_SAMPLES];
        assert!(mix(&a, &b).iter().all(|&s| s == i16::MAX));
    }

    #[test]
    fn formats_by_extension() {
        use std::path::Path;
        assert_eq!(
            FileFormat::of_path(Path::new("/a/b.wav")),
            Ok(FileFormat::Wav)
        );
        assert_eq!(FileFormat::of_path(Path::new("/a/b")), Ok(FileFormat::Slin));
        assert_eq!(
            FileFormat::of_path(Path::new("b.WAV")),
            Err(FormatError::NoGsm)
        );
        assert_eq!(
            FileFormat::of_path(Path::new("b.gsm")),
            Err(FormatError::NoGsm)
        );
        assert!(FileFormat::of_path(Path::new("b.mp3")).is_err());
        let mut out = Vec::new();
        FileFormat::Ulaw.encode(&[0, 1000], &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn wav_sizes_follow_the_file_length() {
        let mut file = FileFormat::Wav.header();
        FileFormat::Wav.encode(&[5; 320], &mut file);
        let fix = wav_size_fix(&file, file.len() as u64).expect("a WAV");
        for (off, v) in fix {
            file[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        let w = super::super::wav::parse(&file).expect("valid");
        assert_eq!(w.frame_count(), 2);
        assert_eq!(u32::from_le_bytes(file[4..8].try_into().unwrap()), 36 + 640);
        assert_eq!(wav_size_fix(b"RIFX....", 10), None);
        assert_eq!(
            wav_size_fix(&file[..20], 1000),
            None,
            "no data chunk in the head"
        );
    }
}
