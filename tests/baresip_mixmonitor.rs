//! MixMonitor through the binary with a real softphone: baresip (Debian `baresip-core`) calls
//! 700, whose dialplan answers, starts `MixMonitor(call.wav,,touch ^{MIXMONITOR_FILENAME}.done)`
//! and plays a 2 s 1 kHz prompt from `soundsdir` while baresip sends a 400 Hz tone (module
//! `aufile`); `Hangup()` ends the call. The recording lands in the test's own
//! `<astspooldir>/monitor/call.wav` as a valid WAV about 2 s long holding both tones (Goertzel),
//! and the post-command ran after it was closed (its `.done` file exists). Bounded: baresip
//! quits by itself (`-t`), every wait has a deadline.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;

use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const EXT: &str = "\
[internal]
exten => 700,1,Answer()
 same => n,MixMonitor(call.wav,,touch ^{MIXMONITOR_FILENAME}.done)
 same => n,Verbose(1,recording ${MIXMONITOR_FILENAME})
 same => n,Playback(hi)
 same => n,Hangup()
";

/// Relative power of `hz` in `s` (Goertzel).
fn power(s: &[i16], hz: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
    let (mut a, mut b) = (0.0f64, 0.0f64);
    for &x in s {
        let y = f64::from(x) + k * a - b;
        b = a;
        a = y;
    }
    (a * a + b * b - k * a * b) / (s.len().max(1) as f64).powi(2)
}

fn wait_for(p: &Path, d: Duration) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn baresip_call_is_recorded_into_the_spool_with_both_sides() {
    let dir = temp_dir("sipbox-mixmon");
    let spool = dir.join("spool");
    let sounds = dir.join("sounds");
    std::fs::create_dir_all(&sounds).unwrap();
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        &format!("[general]\nsoundsdir={}\n", sounds.display()),
    );
    std::fs::write(dir.join("sip.conf"), conf).unwrap();
    std::fs::write(dir.join("extensions.conf"), EXT).unwrap();
    std::fs::write(
        dir.join("rtp.conf"),
        "[general]\nrtpstart=33440\nrtpend=33479\n",
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
    write_tone(&sounds.join("hi.wav"), 1000.0, 2.0, 0.0);
    let sb = Sipbox::start_in(&dir);
    let tone = dir.join("tone.wav");
    write_tone(&tone, 400.0, 3.0, 2.0);
    let dial = vec![format!("/dial sip:700@{}", sb.addr)];
    let mut caller = Baresip::start(&BaresipSpec {
        user: "1002",
        password: "1002pass",
        server: sb.addr,
        auto_answer: false,
        source: &tone,
        record: None,
        commands: &dial,
        quit_after: 5,
    });
    let wav = spool.join("monitor/call.wav");
    assert!(
        sb.wait_log(
            &format!("recording {}", wav.display()),
            Duration::from_secs(10)
        ),
        "baresip: {:?}\nsipbox: {:?}",
        caller.output(),
        sb.log()
    );
    let done = spool.join("monitor/call.wav.done");
    assert!(
        wait_for(&done, Duration::from_secs(10)),
        "the post-command ran; sipbox: {:?}",
        sb.log()
    );
    let bytes = std::fs::read(&wav).expect("the recording");
    let w = sipbox::media::wav::parse(&bytes).expect("a valid WAV, sizes fixed");
    let secs = w.frame_count() as f64 / 50.0;
    assert!((1.9..=2.5).contains(&secs), "{secs} s recorded");
    let s: Vec<i16> = bytes[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let quiet = power(&s, 700.0).max(1.0);
    assert!(
        power(&s, 1000.0) > 100.0 * quiet,
        "the prompt sipbox played"
    );
    assert!(power(&s, 400.0) > 100.0 * quiet, "what baresip sent");
    assert!(caller.wait_exit(Duration::from_secs(12)), "baresip quits");
}
