//! A real softphone's audio through sipbox: baresip (Debian `baresip-core`) sends a tone from
//! a WAV (module `aufile`) and records what it receives (module `sndfile`, which writes
//! `dump-…-dec.wav` files in `snd_path`); a Goertzel filter checks the tone is there.
//! (a) 1001 calls 600 (Echo): its own 1 kHz comes back. (b) 1001 calls 1002: 1002 hears
//! 1001's 1 kHz and 1001 hears 1002's 440 Hz. Bounded: every baresip quits by itself (`-t`).
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
#[path = "common/media_helpers.rs"]
mod media_helpers;

use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use media_helpers::start_with_rtp;
use std::path::{Path, PathBuf};
use std::time::Duration;

const EXT: &str = "\
[general]
autofallthrough=yes

[internal]
exten => 600,1,Answer()
 same => n,Echo()
exten => _100X,1,Dial(SIP/${EXTEN},10)
 same => n,Hangup()

[default]
exten => _X.,1,Hangup()
";

/// The 16-bit mono samples and rate of a WAV sndfile wrote. The header's sizes are not
/// trusted (a file not closed yet says 0): everything after the `data` chunk header counts.
fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() >= 44 && &b[0..4] == b"RIFF", "{}", path.display());
    let rate = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    let channels = u16::from_le_bytes([b[22], b[23]]);
    let bits = u16::from_le_bytes([b[34], b[35]]);
    assert_eq!((channels, bits), (1, 16), "{}", path.display());
    let data = b.windows(4).position(|w| w == b"data").expect("data chunk") + 8;
    let samples = b[data..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    (samples, rate)
}

/// Power at `hz` (Goertzel) relative to the block's total power, 0..=1 (about 0.5 × N for
/// a pure tone, normalised here so a pure tone gives ≈ 1).
fn tone_ratio(block: &[i16], hz: f64, rate: u32) -> f64 {
    let n = block.len() as f64;
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0f64;
    for &x in block {
        let x = f64::from(x);
        energy += x * x;
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    if energy < 1.0 {
        return 0.0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / (n * energy)
}

/// How many 100 ms blocks of `samples` are dominated by `hz` and loud enough to be speech
/// level, not noise.
fn tone_blocks(samples: &[i16], rate: u32, hz: f64) -> usize {
    let block = (rate / 10) as usize;
    samples
        .chunks_exact(block)
        .filter(|b| {
            let rms =
                (b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / b.len() as f64).sqrt();
            rms > 1000.0 && tone_ratio(b, hz, rate) > 0.8
        })
        .count()
}

/// The received-audio file baresip's sndfile wrote in `dir`.
fn dec_file(dir: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("no *-dec.wav in {}", dir.display()))
}

/// sipbox's warnings, for failure messages.
fn warnings(sb: &Sipbox) -> Vec<String> {
    sb.log()
        .into_iter()
        .filter(|l| l.contains("WARN"))
        .collect()
}

#[test]
fn unit_goertzel_finds_the_tone() {
    let dir = temp_dir("goertzel");
    let p = dir.join("t.wav");
    write_tone(&p, 1000.0, 1.0, 0.5);
    let (s, rate) = read_wav(&p);
    assert_eq!(tone_blocks(&s, rate, 1000.0), 10);
    assert_eq!(tone_blocks(&s, rate, 440.0), 0);
}

#[test]
fn baresip_hears_its_tone_echoed_by_600() {
    let sb = start_with_rtp(TEST_SIP_CONF, EXT, 33300, 33339);
    let dir = temp_dir("baresip-echo");
    let tone = dir.join("tone.wav");
    write_tone(&tone, 1000.0, 2.0, 1.0);
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let dial = vec![format!("/dial sip:600@{}", sb.addr)];
    let mut caller = Baresip::start(&BaresipSpec {
        user: "1001",
        password: "1001pass",
        server: sb.addr,
        auto_answer: false,
        source: &tone,
        record: Some(&rec),
        commands: &dial,
        quit_after: 12,
    });
    assert!(
        sb.wait_log("Echo", Duration::from_secs(10)),
        "no Echo; baresip: {:?}\nsipbox: {:?}",
        caller.output(),
        sb.log()
    );
    assert!(
        sb.wait_log(" ended (", Duration::from_secs(10)),
        "the call did not end: {:?}",
        caller.output()
    );
    caller.wait_exit(Duration::from_secs(15));
    let (s, rate) = read_wav(&dec_file(&rec));
    let blocks = tone_blocks(&s, rate, 1000.0);
    assert!(
        blocks >= 10,
        "1 kHz in {blocks} of {} blocks received; sipbox warnings: {:?}",
        s.len() / (rate as usize / 10),
        warnings(&sb)
    );
}

#[test]
fn baresip_to_baresip_both_hear_the_other_tone() {
    let sb = start_with_rtp(TEST_SIP_CONF, EXT, 33340, 33379);
    let dir = temp_dir("baresip-bridge");
    let tone = dir.join("tone.wav");
    write_tone(&tone, 1000.0, 2.0, 1.0);
    let long = dir.join("long.wav");
    write_tone(&long, 440.0, 8.0, 6.0);
    let (rec1, rec2) = (dir.join("rec1001"), dir.join("rec1002"));
    for d in [&rec1, &rec2] {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut callee = Baresip::start(&BaresipSpec {
        user: "1002",
        password: "1002pass",
        server: sb.addr,
        auto_answer: true,
        source: &long,
        record: Some(&rec2),
        commands: &[],
        quit_after: 16,
    });
    assert!(
        sb.wait_log("registered '1002'", Duration::from_secs(10)),
        "1002 did not register: {:?}",
        callee.output()
    );
    let dial = vec![format!("/dial sip:1002@{}", sb.addr)];
    let mut caller = Baresip::start(&BaresipSpec {
        user: "1001",
        password: "1001pass",
        server: sb.addr,
        auto_answer: false,
        source: &tone,
        record: Some(&rec1),
        commands: &dial,
        quit_after: 12,
    });
    assert!(
        sb.wait_log("answered by leg", Duration::from_secs(10)),
        "no answer; caller: {:?}\ncallee: {:?}",
        caller.output(),
        callee.output()
    );
    assert!(
        sb.wait_log(" ended (", Duration::from_secs(12)),
        "the call did not end: {:?}",
        sb.log()
    );
    caller.wait_exit(Duration::from_secs(15));
    callee.wait_exit(Duration::from_secs(18));
    let (s, rate) = read_wav(&dec_file(&rec2));
    let at_callee = tone_blocks(&s, rate, 1000.0);
    assert!(
        at_callee >= 10,
        "1 kHz at 1002 in {at_callee} blocks; sipbox warnings: {:?}",
        warnings(&sb)
    );
    let (s, rate) = read_wav(&dec_file(&rec1));
    let at_caller = tone_blocks(&s, rate, 440.0);
    assert!(
        at_caller >= 10,
        "440 Hz at 1001 in {at_caller} blocks; sipbox warnings: {:?}",
        warnings(&sb)
    );
}
