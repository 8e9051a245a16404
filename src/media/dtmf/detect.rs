//! Inband DTMF detection on 8 kHz linear audio: eight Goertzel filters over 102-sample
//! blocks and Asterisk's acceptance tests, so that what Asterisk hears as a digit sipbox hears
//! as one and speech or music does not become digits.
//!
//! Per block: the strongest row and column must each reach the level threshold; the twist
//! (row vs column energy) must stay within 8 dB normal / 4 dB reverse (6 dB with
//! `relaxdtmf`); every other row and column must be 8 dB below the peak; and the two peaks
//! must hold nearly all the block's energy. A digit begins after two hit blocks (about
//! 25 ms) and ends after three misses; it is reported at its end with its duration.
//!
//! Reading list: Asterisk `main/dsp.c` (`dtmf_detect`, `goertzel_sample`, the `DTMF_*`
//! constants), ETSI ES 201 235-3 (the begin/end debouncing it follows), ITU-T Q.24.

use super::{COLS, KEYPAD, ROWS};

/// Samples per analysis block (12.75 ms at 8 kHz; dsp.c's `DTMF_GSIZE`).
pub const BLOCK: usize = 102;
/// Minimum energy of the row and the column peaks (dsp.c's scale: unnormalised Goertzel
/// power of 16-bit samples).
const THRESHOLD: f32 = 8.0e7;
/// The row may exceed the column by 8 dB (normal twist).
const NORMAL_TWIST: f32 = 6.31;
/// The column may exceed the row by 4 dB (reverse twist), 6 dB with relaxdtmf.
const REVERSE_TWIST: f32 = 2.51;
const RELAX_REVERSE_TWIST: f32 = 3.98;
/// Every other row/column must be 8 dB below the peak.
const RELATIVE_PEAK: f32 = 6.3;
/// The two peaks against the block's total energy (its sum of squares).
const TO_TOTAL_ENERGY: f32 = 42.0;
/// Blocks with the same hit that begin a digit, misses that end it.
const HITS_TO_BEGIN: u32 = 2;
const MISSES_TO_END: u32 = 3;

/// One Goertzel filter.
#[derive(Debug, Clone, Copy, Default)]
struct Goertzel {
    coeff: f32,
    s1: f32,
    s2: f32,
}

impl Goertzel {
    fn new(hz: f32) -> Goertzel {
        Goertzel {
            coeff: 2.0 * (2.0 * std::f32::consts::PI * hz / 8000.0).cos(),
            s1: 0.0,
            s2: 0.0,
        }
    }

    #[inline]
    fn sample(&mut self, x: f32) {
        let s = x + self.coeff * self.s1 - self.s2;
        self.s2 = self.s1;
        self.s1 = s;
    }

    fn power(&self) -> f32 {
        self.s1 * self.s1 + self.s2 * self.s2 - self.coeff * self.s1 * self.s2
    }

    fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }
}

/// A digit heard, reported when its tone ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    /// The digit.
    pub digit: char,
    /// How long it sounded, in ms (counted in blocks).
    pub duration_ms: u32,
}

/// The detector of one incoming stream.
#[derive(Debug, Clone)]
pub struct Detector {
    relax: bool,
    rows: [Goertzel; 4],
    cols: [Goertzel; 4],
    energy: f32,
    in_block: usize,
    last_hit: Option<char>,
    hits: u32,
    current: Option<char>,
    misses: u32,
    blocks: u32,
}

impl Detector {
    /// A detector; `relax` is sip.conf's `relaxdtmf`.
    pub fn new(relax: bool) -> Detector {
        Detector {
            relax,
            rows: ROWS.map(Goertzel::new),
            cols: COLS.map(Goertzel::new),
            energy: 0.0,
            in_block: 0,
            last_hit: None,
            hits: 0,
            current: None,
            misses: 0,
            blocks: 0,
        }
    }

    /// Feeds samples; returns the digit whose tone ended in them, if one did (at most one per
    /// 20 ms frame can end).
    pub fn feed(&mut self, samples: impl IntoIterator<Item = i16>) -> Option<Heard> {
        let mut heard = None;
        for x in samples {
            let x = f32::from(x);
            self.energy += x * x;
            for g in self.rows.iter_mut().chain(self.cols.iter_mut()) {
                g.sample(x);
            }
            self.in_block += 1;
            if self.in_block == BLOCK {
                if let Some(h) = self.end_block() {
                    heard = Some(h);
                }
            }
        }
        heard
    }

    /// The digit this block holds, by dsp.c's tests.
    fn block_hit(&self) -> Option<char> {
        let rows = self.rows.map(|g| g.power());
        let cols = self.cols.map(|g| g.power());
        let best = |e: &[f32; 4]| (0..4).fold(0, |b, i| if e[i] > e[b] { i } else { b });
        let (r, c) = (best(&rows), best(&cols));
        let (re, ce) = (rows[r], cols[c]);
        let reverse = if self.relax {
            RELAX_REVERSE_TWIST
        } else {
            REVERSE_TWIST
        };
        if re < THRESHOLD || ce < THRESHOLD || ce >= re * reverse || re >= ce * NORMAL_TWIST {
            return None;
        }
        let clear = (0..4).all(|i| {
            (i == c || cols[i] * RELATIVE_PEAK <= ce) && (i == r || rows[i] * RELATIVE_PEAK <= re)
        });
        (clear && re + ce > TO_TOTAL_ENERGY * self.energy).then(|| KEYPAD[r * 4 + c])
    }

    fn end_block(&mut self) -> Option<Heard> {
        let hit = self.block_hit();
        for g in self.rows.iter_mut().chain(self.cols.iter_mut()) {
            g.reset();
        }
        self.energy = 0.0;
        self.in_block = 0;
        let mut ended = None;
        if let Some(cur) = self.current {
            if hit == Some(cur) {
                self.misses = 0;
                self.blocks += 1;
            } else {
                self.misses += 1;
                if self.misses >= MISSES_TO_END {
                    self.current = None;
                    let ms = self.blocks * BLOCK as u32 / 8;
                    ended = Some(Heard {
                        digit: cur,
                        duration_ms: ms,
                    });
                }
            }
        }
        if hit != self.last_hit {
            self.last_hit = hit;
            self.hits = 0;
        }
        if let Some(h) = hit.filter(|&h| Some(h) != self.current) {
            self.hits += 1;
            if self.hits == HITS_TO_BEGIN {
                if let Some(cur) = self.current.take() {
                    // A new digit began before the old one's misses ran out.
                    ended = Some(Heard {
                        digit: cur,
                        duration_ms: self.blocks * BLOCK as u32 / 8,
                    });
                }
                self.current = Some(h);
                self.blocks = HITS_TO_BEGIN;
                self.misses = 0;
            }
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::frequencies;

    fn tone(d: char, ms: usize, amp: f32, twist_db: f32) -> Vec<i16> {
        let (r, c) = frequencies(d).unwrap();
        let col_amp = amp * 10f32.powf(twist_db / 20.0);
        (0..ms * 8)
            .map(|n| {
                let t = n as f32 / 8000.0;
                let v = amp * (2.0 * std::f32::consts::PI * r * t).sin()
                    + col_amp * (2.0 * std::f32::consts::PI * c * t).sin();
                v as i16
            })
            .collect()
    }

    fn heard(samples: &[i16], relax: bool) -> Vec<char> {
        let mut d = Detector::new(relax);
        let mut out: Vec<char> = samples
            .chunks(160)
            .filter_map(|f| d.feed(f.iter().copied()))
            .map(|h| h.digit)
            .collect();
        out.extend(d.feed(std::iter::repeat_n(0, 800)).map(|h| h.digit));
        out
    }

    #[test]
    fn every_digit_is_heard_once_with_its_duration() {
        let mut samples = Vec::new();
        for d in "123A456B789C*0#D".chars() {
            samples.extend(tone(d, 100, 6000.0, 0.0));
            samples.extend(std::iter::repeat_n(0, 400));
        }
        assert_eq!(
            heard(&samples, false).iter().collect::<String>(),
            "123A456B789C*0#D"
        );
        let mut d = Detector::new(false);
        let mut got = None;
        for f in tone('5', 200, 6000.0, 0.0)
            .chunks(160)
            .chain([&[0i16; 800][..]])
        {
            got = got.or(d.feed(f.iter().copied()));
        }
        let h = got.unwrap();
        assert_eq!(h.digit, '5');
        assert!((180..=215).contains(&h.duration_ms), "{h:?}");
    }

    #[test]
    fn too_short_too_quiet_and_too_twisted_tones_are_not_digits() {
        assert!(
            heard(&tone('1', 15, 6000.0, 0.0), false).is_empty(),
            "15 ms"
        );
        assert!(
            heard(&tone('1', 100, 100.0, 0.0), false).is_empty(),
            "-50 dB"
        );
        // Column 5 dB above the row: beyond the 4 dB reverse twist, within relaxdtmf's 6 dB.
        let twisted = tone('9', 100, 4000.0, 5.0);
        assert!(heard(&twisted, false).is_empty());
        assert_eq!(heard(&twisted, true), vec!['9']);
        // Row 10 dB above the column: beyond the normal twist either way.
        assert!(heard(&tone('9', 100, 8000.0, -10.0), true).is_empty());
    }

    #[test]
    fn noise_and_music_are_not_digits() {
        // Speech-like noise: filtered pseudo-random samples, loud, for ten seconds.
        let mut x: u32 = 12345;
        let mut prev = 0.0f32;
        let noise: Vec<i16> = (0..80_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let white = ((x >> 16) as i16 as f32) / 3.0;
                prev = 0.7 * prev + 0.3 * white;
                prev as i16
            })
            .collect();
        assert!(heard(&noise, true).is_empty());
        // Music: chords of three notes (C major, A minor, G7 with its 698 Hz F), 1 s each.
        let chords: [&[f32]; 3] = [
            &[523.3, 659.3, 784.0],
            &[440.0, 523.3, 659.3],
            &[392.0, 698.5, 987.8],
        ];
        let mut music = Vec::new();
        for chord in chords {
            music.extend((0..8000).map(|n| {
                let t = n as f32 / 8000.0;
                let v: f32 = chord
                    .iter()
                    .map(|f| 5000.0 * (2.0 * std::f32::consts::PI * f * t).sin())
                    .sum();
                v as i16
            }));
        }
        assert!(heard(&music, true).is_empty());
    }
}
