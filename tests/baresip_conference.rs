//! Three real softphones in one ConfBridge through the binary: baresip (Debian
//! `baresip-core`) 1001, 1002 and 1003 each dial 800 and send a tone of their own (440 Hz,
//! 1000 Hz, 1700 Hz, module `aufile`) while recording what they receive (`sndfile`). Each
//! recording must hold the two other tones at once (the mix) and never its own. Bounded:
//! every baresip quits by itself (`-t`), 127.0.0.1 only.
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
exten => 800,1,ConfBridge(room1)
 same => n,Hangup()

[default]
exten => _X.,1,Hangup()
";

/// The 16-bit mono samples and rate of a WAV sndfile wrote (sizes in the header are not
/// trusted: a file not closed yet says 0).
fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() >= 44 && &b[0..4] == b"RIFF", "{}", path.display());
    let rate = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    let data = b.windows(4).position(|w| w == b"data").expect("data chunk") + 8;
    let samples = b[data..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    (samples, rate)
}

/// Share of a block's power at `hz` (Goertzel), 0..=1: ≈ 1 for a pure tone, ≈ 0.5 for
/// each of two equal tones.
fn tone_ratio(block: &[i16], hz: f64, rate: u32) -> f64 {
    let n = block.len() as f64;
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2, mut energy) = (0.0f64, 0.0f64, 0.0f64);
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
    2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * energy)
}

/// 100 ms blocks (loud enough to be speech) where each of `both` has at least a quarter of
/// the power, and blocks where `own` has more than a tenth.
fn blocks(samples: &[i16], rate: u32, both: [f64; 2], own: f64) -> (usize, usize) {
    let (mut mixed, mut echoed) = (0, 0);
    for b in samples.chunks_exact((rate / 10) as usize) {
        let rms = (b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / b.len() as f64).sqrt();
        if rms < 1000.0 {
            continue;
        }
        if both.iter().all(|&hz| tone_ratio(b, hz, rate) > 0.25) {
            mixed += 1;
        }
        if tone_ratio(b, own, rate) > 0.1 {
            echoed += 1;
        }
    }
    (mixed, echoed)
}

/// The received-audio file sndfile wrote in `dir`.
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

#[test]
fn three_baresips_each_hear_the_other_two_tones_and_not_their_own() {
    let sb = start_with_rtp(TEST_SIP_CONF, EXT, 33400, 33459);
    let dir = temp_dir("baresip-conference");
    let phones = [("1001", 440.0), ("1002", 1000.0), ("1003", 1700.0)];
    let mut running = Vec::new();
    let mut recs = Vec::new();
    for (i, (user, hz)) in phones.iter().enumerate() {
        let tone = dir.join(format!("tone{user}.wav"));
        // The tone lasts while the three are in; the silence after it keeps baresip up.
        write_tone(&tone, *hz, 7.0 - i as f64, 5.0);
        let rec = dir.join(format!("rec{user}"));
        std::fs::create_dir_all(&rec).unwrap();
        let dial = vec![format!("/dial sip:800@{}", sb.addr)];
        let b = Baresip::start(&BaresipSpec {
            user,
            password: &format!("{user}pass"),
            server: sb.addr,
            auto_answer: false,
            source: &tone,
            record: Some(&rec),
            commands: &dial,
            quit_after: 10,
        });
        let want = i + 1;
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while sb
            .log()
            .iter()
            .filter(|l| l.contains("joins confbridge room1"))
            .count()
            < want
            && std::time::Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        running.push(b);
        recs.push(rec);
    }
    let joined = sb
        .log()
        .iter()
        .filter(|l| l.contains("joins confbridge room1"))
        .count();
    assert_eq!(
        joined,
        3,
        "three members; baresip: {:?}\nsipbox: {:?}",
        running.iter().map(|b| b.output()).collect::<Vec<_>>(),
        sb.log()
    );
    for b in &mut running {
        b.wait_exit(Duration::from_secs(20));
    }
    for (i, (user, own)) in phones.iter().enumerate() {
        let others: Vec<f64> = phones
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (_, hz))| *hz)
            .collect();
        let (s, rate) = read_wav(&dec_file(&recs[i]));
        let (mixed, echoed) = blocks(&s, rate, [others[0], others[1]], *own);
        assert!(
            mixed >= 10,
            "{user} heard {others:?} together in {mixed} blocks of {}",
            s.len() / (rate as usize / 10)
        );
        assert_eq!(echoed, 0, "{user} heard its own {own} Hz");
    }
}
