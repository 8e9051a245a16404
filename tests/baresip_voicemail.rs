//! A real softphone leaves a voicemail through the binary: baresip (Debian `baresip-core`)
//! calls `VoiceMail(1001@default,s)` and sends a 1 kHz tone from a WAV (module `aufile`),
//! then silence; `maxsilence` ends the recording; the message lands in the spool as
//! `voicemail/default/1001/INBOX/msg0000.wav` + `.txt`, the WAV holds the tone (Goertzel),
//! and `mailcmd` (a shell command writing its stdin to a file) got the e-mail with the WAV
//! attached. Bounded: baresip quits by itself (`-t`), every wait has a deadline.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
#[path = "common/media_helpers.rs"]
mod media_helpers;

use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const EXT: &str = "\
[internal]
exten => 500,1,VoiceMail(1001@default,s)
 same => n,Verbose(1,vmstatus ${VMSTATUS})
 same => n,Hangup()
";

/// The samples of a 16-bit mono WAV.
fn samples(path: &Path) -> Vec<i16> {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() >= 44 && &b[0..4] == b"RIFF");
    b[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Share of a block's power at `hz` (Goertzel), ≈ 1 for a pure tone.
fn tone_ratio(block: &[i16], hz: f64) -> f64 {
    let n = block.len() as f64;
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
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

/// 100 ms blocks that are loud and dominated by `hz`.
fn tone_blocks(s: &[i16], hz: f64) -> usize {
    s.chunks_exact(800)
        .filter(|b| {
            let rms = (b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / 800.0).sqrt();
            rms > 1000.0 && tone_ratio(b, hz) > 0.8
        })
        .count()
}

fn wait_file(p: &Path, d: Duration) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if p.exists() && std::fs::metadata(p).map(|m| m.len() > 44).unwrap_or(false) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn baresip_leaves_a_voicemail_and_the_spool_holds_the_tone() {
    let dir = temp_dir("sipbox-vm");
    let spool = dir.join("spool");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), EXT).unwrap();
    std::fs::write(
        dir.join("rtp.conf"),
        "[general]\nrtpstart=33400\nrtpend=33439\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sipbox.conf"),
        format!(
            "[directories]\nastrundir => {d}/run\nastdbdir => {d}/db\nastlogdir => {d}/log\n\
             astspooldir => {s}\nastdatadir => {d}/data\n",
            d = dir.display(),
            s = spool.display()
        ),
    )
    .unwrap();
    let mail = dir.join("mail.eml");
    std::fs::write(
        dir.join("voicemail.conf"),
        format!(
            "[general]\nformat=wav\nmaxsilence=2\nmaxsecs=20\nattach=yes\n\
             serveremail=pbx@example.com\nmailcmd=cat > {}\n\n[default]\n\
             1001 => 4242,Alice Example,alice@example.com\n",
            mail.display()
        ),
    )
    .unwrap();
    let sb = Sipbox::start_in(&dir);
    let tone = dir.join("tone.wav");
    write_tone(&tone, 1000.0, 2.0, 5.0);
    let dial = vec![format!("/dial sip:500@{}", sb.addr)];
    let mut caller = Baresip::start(&BaresipSpec {
        user: "1002",
        password: "1002pass",
        server: sb.addr,
        auto_answer: false,
        source: &tone,
        record: None,
        commands: &dial,
        quit_after: 8,
    });
    assert!(
        sb.wait_log("vmstatus SUCCESS", Duration::from_secs(12)),
        "baresip: {:?}\nsipbox: {:?}",
        caller.output(),
        sb.log()
    );
    let box_dir = spool.join("voicemail/default/1001/INBOX");
    let wav = box_dir.join("msg0000.wav");
    assert!(
        wait_file(&wav, Duration::from_secs(5)),
        "no {}",
        wav.display()
    );
    let s = samples(&wav);
    let blocks = tone_blocks(&s, 1000.0);
    assert!(
        (12..=21).contains(&blocks),
        "{blocks} blocks of 1 kHz in {} samples",
        s.len()
    );
    let txt = std::fs::read_to_string(box_dir.join("msg0000.txt")).unwrap();
    assert!(txt.contains("origmailbox=1001\n"), "{txt}");
    assert!(txt.contains("callerchan=SIP/1002-"), "{txt}");
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end
        && !std::fs::read_to_string(&mail).is_ok_and(|m| m.contains("--\r\n"))
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let m = std::fs::read_to_string(&mail).expect("mailcmd wrote the e-mail");
    assert!(
        m.contains("To: \"Alice Example\" <alice@example.com>"),
        "{m}"
    );
    assert!(
        m.contains("Content-Type: audio/x-wav; name=\"msg0000.wav\""),
        "{m}"
    );
    assert!(caller.wait_exit(Duration::from_secs(12)), "baresip quits");
}
