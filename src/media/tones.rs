//! In-band call-progress tones for PlayTones(): a tone list in indications.conf's syntax
//! (`440+480/2000,0/4000`: frequencies joined by `+`, `/duration` in ms, `0` for silence,
//! `!` for a part played once before the repeating rest, no duration for a steady tone) or a
//! tone name from the built-in US zone (indications.conf's `[us]`: dial, busy, ring,
//! congestion, callwaiting, dialrecall, record, info, stutter), rendered to 20 ms G.711
//! frames: a lead-in played once and a cycle played until stopped.
//!
//! Reading list: Asterisk `main/indications.c` (`ast_playtones_start`: the tone list syntax),
//! `configs/samples/indications.conf.sample` (`[us]`).

use super::g711::{encode_into, Law};
use super::wav::{Frame, FRAME_BYTES};

/// The US zone of indications.conf.
const US: [(&str, &str); 9] = [
    ("dial", "350+440"),
    ("busy", "480+620/500,0/500"),
    ("ring", "440+480/2000,0/4000"),
    ("congestion", "480+620/250,0/250"),
    ("callwaiting", "440/300,0/10000"),
    (
        "dialrecall",
        "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
    ),
    ("record", "1400/500,0/15000"),
    ("info", "!950/330,!1400/330,!1800/330,0"),
    (
        "stutter",
        "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
    ),
];

/// Longest part rendered (a steady tone is rendered as one second and repeated).
const MAX_PART_MS: u32 = 20_000;
/// Peak of each frequency (two at this level stay well clear of clipping).
const AMPLITUDE: f64 = 5_000.0;

/// One part of a tone list.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    freqs: Vec<f64>,
    ms: u32,
    once: bool,
}

/// A tone ready to play: `frames[..loop_from]` once, then `frames[loop_from..]` over and over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tone {
    /// The frames, in the law asked for.
    pub frames: Vec<Frame>,
    /// Where the repeating cycle starts (== `frames.len()` when nothing repeats).
    pub loop_from: usize,
}

/// Renders a tone name or list in `law`; `Err` says what is wrong with it.
pub fn render(spec: &str, law: Law) -> Result<Tone, String> {
    let spec = spec.trim();
    let list = US
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(spec))
        .map(|(_, l)| *l)
        .unwrap_or(spec);
    let parts = parse(list)?;
    let mut frames = Vec::new();
    for p in parts.iter().filter(|p| p.once) {
        frames.extend(part_frames(p, law));
    }
    let loop_from = frames.len();
    for p in parts.iter().filter(|p| !p.once) {
        frames.extend(part_frames(p, law));
    }
    if frames.is_empty() {
        return Err(format!("'{spec}' makes no sound"));
    }
    Ok(Tone { frames, loop_from })
}

/// Checks a tone list (indications.conf's values) without rendering it.
pub fn check(list: &str) -> Result<(), String> {
    parse(list).map(|_| ())
}

fn parse(list: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (once, item) = match item.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let (freqs, ms) = match item.split_once('/') {
            Some((f, d)) => {
                let d: u32 = d
                    .trim()
                    .parse()
                    .map_err(|_| format!("'{item}': bad duration"))?;
                (f, d.min(MAX_PART_MS))
            }
            None => (item, 1000),
        };
        let mut fs = Vec::new();
        // `a*b` (modulated) is played as the two frequencies together.
        for f in freqs.split(['+', '*']).map(str::trim) {
            let hz: f64 = f.parse().map_err(|_| format!("'{item}': bad frequency"))?;
            if !(0.0..=4000.0).contains(&hz) {
                return Err(format!("'{item}': {hz} Hz is outside 0-4000"));
            }
            if hz > 0.0 {
                fs.push(hz);
            }
        }
        if fs.len() > 4 {
            return Err(format!("'{item}': more than four frequencies"));
        }
        parts.push(Part {
            freqs: fs,
            ms,
            once,
        });
    }
    if parts.is_empty() {
        return Err("an empty tone list".into());
    }
    Ok(parts)
}

/// The 20 ms frames of one part (at least one).
fn part_frames(p: &Part, law: Law) -> Vec<Frame> {
    let count = (p.ms / 20).max(1) as usize;
    let mut out = Vec::with_capacity(count);
    let mut samples = [0i16; FRAME_BYTES];
    for f in 0..count {
        for (i, s) in samples.iter_mut().enumerate() {
            let n = (f * FRAME_BYTES + i) as f64;
            let v: f64 = p
                .freqs
                .iter()
                .map(|hz| AMPLITUDE * (2.0 * std::f64::consts::PI * hz * n / 8000.0).sin())
                .sum();
            *s = v as i16;
        }
        let mut frame = [0u8; FRAME_BYTES];
        encode_into(law, &samples, &mut frame);
        out.push(frame);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711::ULAW_TO_LINEAR;

    /// The power of `hz` in µ-law frames (Goertzel).
    fn power(frames: &[Frame], hz: f64) -> f64 {
        let k = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for b in frames.iter().flatten() {
            let x = f64::from(ULAW_TO_LINEAR[usize::from(*b)]);
            let s = x + k * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - k * s1 * s2
    }

    #[test]
    fn ring_is_two_seconds_of_440_and_480_then_four_of_silence() {
        let t = render("ring", Law::Ulaw).unwrap();
        assert_eq!((t.loop_from, t.frames.len()), (0, 300));
        let (on, off) = t.frames.split_at(100);
        assert!(power(on, 440.0) > 1000.0 * power(on, 1000.0));
        assert!(power(on, 480.0) > 1000.0 * power(on, 1000.0));
        assert!(power(off, 440.0) < 1.0, "silence");
        assert_eq!(render("RING", Law::Ulaw), Ok(t), "names without case");
    }

    #[test]
    fn lists_lead_ins_and_errors() {
        let t = render("!950/330,!1400/330,0", Law::Alaw).unwrap();
        assert_eq!(t.loop_from, 32, "16 + 16 frames once");
        assert_eq!(
            t.frames.len(),
            32 + 50,
            "then one second of silence, repeated"
        );
        assert_eq!(render("350+440", Law::Ulaw).unwrap().frames.len(), 50);
        for bad in ["", "abc", "440/xx", "9000", "1+2+3+4+5/100"] {
            assert!(render(bad, Law::Ulaw).is_err(), "{bad:?}");
        }
    }
}
