//! sipbox as the media endpoint, through the real binary with std-socket phones: Echo (and `#`
//! ending it), Playback of a generated WAV (packet count, 20 ms pacing, RTP stamping, payload
//! bytes equal to the G.711 encoding), a missing sound file, RFC 4733 digits driving Read,
//! Background and WaitExten, Progress() early media, and a late offer (INVITE without SDP,
//! the caller's answer in the ACK). Each test uses its own RTP port range.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
#[path = "common/media_helpers.rs"]
mod media_helpers;

use common::*;
use media_helpers::*;
use sipbox::media::g711::{encode_into, Law};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(5);

/// The dialplan under test. `tone` is a 1 s WAV in the test's soundsdir.
const EXT: &str = "\
[general]
autofallthrough=yes

[internal]
exten => 600,1,Answer()
 same => n,Echo()
 same => n,Verbose(1,echo ended by hash)
 same => n,Hangup()

exten => 601,1,Answer()
 same => n,Playback(no-such-sound&tone)
 same => n,Verbose(1,playback finished)
 same => n,Hangup()

exten => 602,1,Answer()
 same => n,Read(NUM,,3,,1,3)
 same => n,Verbose(1,read got ${NUM} status ${READSTATUS})
 same => n,Background(tone)
 same => n,WaitExten(3)

exten => 42,1,Verbose(1,reached 42 from background)
 same => n,Hangup()

exten => 603,1,Progress()
 same => n,Playback(tone,noanswer)
 same => n,Hangup()

exten => 604,1,Answer()
 same => n,Playback(tone)
 same => n,Hangup()

exten => _100X,1,Dial(SIP/${EXTEN},5)
 same => n,Hangup()
";

/// 1 s of audio whose 50 frames all differ (a sweep with a rising amplitude).
fn tone_samples() -> Vec<i16> {
    (0..8000u32)
        .map(|i| {
            let f = 300.0 + f64::from(i) * 0.1;
            let a = 2000.0 + f64::from(i) * 2.5;
            (a * (f64::from(i) * f * 2.0 * std::f64::consts::PI / 8000.0).sin()) as i16
        })
        .collect()
}

/// The 20 ms frames of [`tone_samples`] in `law`.
fn tone_frames(law: Law) -> Vec<Vec<u8>> {
    tone_samples()
        .chunks(160)
        .map(|c| {
            let mut f = vec![0u8; 160];
            encode_into(law, c, &mut f);
            f
        })
        .collect()
}

/// sipbox on [`EXT`] with a soundsdir holding `tone.wav`, RTP ports `lo..=lo+39`.
fn start(lo: u16) -> Sipbox {
    let sounds = temp_dir("sipbox-sounds");
    write_wav(&sounds.join("tone.wav"), &tone_samples());
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        &format!("[general]\nsoundsdir={}\n", sounds.display()),
    );
    start_with_rtp(&conf, EXT, lo, lo + 39)
}

/// Calls `exten` from 1001 with PCMU + telephone-event 101; returns the phone and its dialog.
fn call(sb: &Sipbox, exten: &str, cid: &str) -> (Phone, Dialog) {
    let caller = Phone::new("1001", "1001pass");
    let resp = caller.call(
        sb.addr,
        exten,
        cid,
        &sdp(caller.rtp_addr(), &[0, 101], "sendrecv"),
    );
    assert_eq!(resp.status(), 200, "{resp:?}");
    caller.ack(sb.addr, &resp, cid, 2, &format!("z9hG4bK-{cid}-ack"));
    (caller, Phone::dialog_of(&resp, 2))
}

/// An RTP packet as received: header fields and payload, with its arrival time.
struct Rx {
    at: Instant,
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

fn parse(p: &[u8], at: Instant) -> Rx {
    assert!(p.len() >= 12 && p[0] >> 6 == 2, "not RTP: {p:?}");
    Rx {
        at,
        marker: p[1] & 0x80 != 0,
        pt: p[1] & 0x7f,
        seq: u16::from_be_bytes([p[2], p[3]]),
        ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        payload: p[12..].to_vec(),
    }
}

/// Receives RTP on `s` until `max` packets or `quiet` without one.
fn collect(s: &std::net::UdpSocket, max: usize, quiet: Duration) -> Vec<Rx> {
    s.set_read_timeout(Some(quiet)).unwrap();
    let mut got = Vec::new();
    while got.len() < max {
        match recv_raw(s) {
            Some(p) => got.push(parse(&p, Instant::now())),
            None => break,
        }
    }
    got
}

/// Checks a played stream: consecutive sequence numbers, timestamps +160, one SSRC, the
/// marker on the first packet only, payload type `pt`, and 20 ms pacing overall.
fn check_stream(got: &[Rx], pt: u8) {
    let first = &got[0];
    assert!(first.marker, "marker on the first packet");
    for (i, w) in got.windows(2).enumerate() {
        let (a, b) = (&w[0], &w[1]);
        assert_eq!(b.seq, a.seq.wrapping_add(1), "sequence at {i}");
        assert_eq!(b.ts, a.ts.wrapping_add(160), "timestamp at {i}");
        assert_eq!(b.ssrc, first.ssrc, "one SSRC");
        assert!(!b.marker, "marker only on the first packet ({i})");
    }
    assert!(got.iter().all(|r| r.pt == pt), "payload type {pt}");
    // 20 ms pacing: n packets span (n-1) × 20 ms; allow for a busy shared machine.
    let span = got.last().unwrap().at - first.at;
    let want = Duration::from_millis(20 * (got.len() as u64 - 1));
    assert!(
        span >= want.mul_f64(0.85) && span <= want.mul_f64(1.5) + Duration::from_millis(100),
        "{} packets in {span:?}, want about {want:?}",
        got.len()
    );
}

/// The caller answers sipbox's BYE.
fn expect_bye(caller: &Phone, sb: &Sipbox) {
    let bye = caller
        .wait_for(T, |m| m.start.starts_with("BYE"))
        .unwrap_or_else(|| panic!("BYE to the caller; log: {:?}", sb.log()));
    caller.respond(sb.addr, &bye, 200, None);
}

#[test]
fn echo_returns_the_callers_payloads_until_hash() {
    let sb = start(33000);
    let (caller, d) = call(&sb, "600", "echo1");
    let to = d.remote_media;
    let mut echoed = Vec::new();
    for i in 0..20u16 {
        let payload: Vec<u8> = (0..160u16)
            .map(|b| (b as u8).wrapping_mul(3) ^ i as u8)
            .collect();
        let p = rtp_packet(0, 1000 + i, 5000 + 160 * u32::from(i), 0xCA11E4, &payload);
        caller.rtp.send_to(&p, to).unwrap();
        let back = recv_raw(&caller.rtp).unwrap_or_else(|| panic!("echo of #{i}"));
        let r = parse(&back, Instant::now());
        assert_eq!(r.payload, payload, "payload bytes of #{i}");
        assert_eq!(r.pt, 0);
        assert_ne!(r.ssrc, 0xCA11E4, "sipbox's own SSRC");
        echoed.push(r);
    }
    assert!(echoed[0].marker);
    for w in echoed.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(160));
        assert_eq!(w[1].ssrc, w[0].ssrc);
    }
    // A digit other than '#' does not end it; '#' does, and the dialplan goes on.
    send_dtmf(&caller.rtp, to, 101, 5, 2000, 90_000);
    let p = rtp_packet(0, 2010, 99_000, 0xCA11E4, &[0x42; 160]);
    caller.rtp.send_to(&p, to).unwrap();
    let mut still = false;
    while let Some(b) = recv_raw(&caller.rtp) {
        if b.len() == 172 && b[12..] == [0x42; 160] {
            still = true;
            break;
        }
    }
    assert!(still, "Echo goes on after '5'");
    send_dtmf(&caller.rtp, to, 101, 11, 2020, 100_000);
    assert!(sb.wait_log("echo ended by hash", T), "{:?}", sb.log());
    expect_bye(&caller, &sb);
    assert!(sb.wait_log(" ended (", T));
}

#[test]
fn playback_paces_the_wav_as_g711_and_skips_a_missing_file() {
    let sb = start(33040);
    let (caller, _d) = call(&sb, "601", "play1");
    let got = collect(&caller.rtp, 60, Duration::from_millis(600));
    assert_eq!(got.len(), 50, "1 s of audio is 50 packets of 20 ms");
    check_stream(&got, 0);
    for (i, (r, f)) in got.iter().zip(tone_frames(Law::Ulaw)).enumerate() {
        assert_eq!(r.payload, f, "µ-law payload of frame {i}");
    }
    assert!(
        sb.wait_log("file 'no-such-sound' not found", T),
        "{:?}",
        sb.log()
    );
    assert!(sb.wait_log("playback finished", T));
    expect_bye(&caller, &sb);
}

#[test]
fn rfc4733_digits_drive_read_background_and_waitexten() {
    let sb = start(33080);
    let (caller, d) = call(&sb, "602", "dtmf1");
    let to = d.remote_media;
    for (i, ev) in [1u8, 2, 3].into_iter().enumerate() {
        send_dtmf(
            &caller.rtp,
            to,
            101,
            ev,
            100 + 10 * i as u16,
            1000 * (i as u32 + 1),
        );
    }
    assert!(sb.wait_log("read got 123 status OK", T), "{:?}", sb.log());
    // Background plays the tone; '4' interrupts it, '2' completes extension 42.
    let first = collect(&caller.rtp, 5, Duration::from_millis(1000));
    assert_eq!(first.len(), 5, "Background plays");
    send_dtmf(&caller.rtp, to, 101, 4, 200, 10_000);
    send_dtmf(&caller.rtp, to, 101, 2, 210, 11_000);
    assert!(
        sb.wait_log("reached 42 from background", T),
        "{:?}",
        sb.log()
    );
    expect_bye(&caller, &sb);
    // The playback stopped at the digit: far fewer than the tone's 50 packets.
    let rest = collect(&caller.rtp, 60, Duration::from_millis(200));
    assert!(first.len() + rest.len() < 40, "{} packets", rest.len());
}

#[test]
fn progress_plays_early_media_without_answering() {
    let sb = start(33120);
    let caller = Phone::new("1001", "1001pass");
    caller.call_start(
        sb.addr,
        "603",
        "early1",
        &sdp(caller.rtp_addr(), &[0, 101], "sendrecv"),
    );
    let p183 = caller
        .wait_for(T, |m| m.status() == 183)
        .expect("183 Session Progress");
    let media = sdp_addr(&p183.body);
    assert!((33120..=33159).contains(&media.port()), "{}", p183.body);
    let got = collect(&caller.rtp, 60, Duration::from_millis(600));
    assert_eq!(got.len(), 50, "the tone as early media");
    check_stream(&got, 0);
    for (r, f) in got.iter().zip(tone_frames(Law::Ulaw)) {
        assert_eq!(r.payload, f);
    }
    let fin = caller
        .wait_for(T, |m| m.status() >= 200)
        .expect("final response");
    assert!(fin.status() >= 400, "never answered: {fin:?}");
}

#[test]
fn late_offer_answer_in_the_ack_sets_address_and_law() {
    let sb = start(33160);
    let caller = Phone::new("1001", "1001pass");
    let resp = caller.call(sb.addr, "604", "late1", "");
    assert_eq!(resp.status(), 200, "{resp:?}");
    assert!(
        resp.body.contains("m=audio "),
        "sipbox offers in the 200: {}",
        resp.body
    );
    assert!(resp.body.contains("PCMA/8000"), "{}", resp.body);
    let ours: SocketAddr = sdp_addr(&resp.body);
    // The caller picks A-law in its answer.
    caller.ack_with_sdp(
        sb.addr,
        &resp,
        2,
        &sdp(caller.rtp_addr(), &[8, 101], "sendrecv"),
    );
    let got = collect(&caller.rtp, 60, Duration::from_millis(600));
    assert!(
        got.len() >= 45,
        "{} packets after the ACK; log {:?}",
        got.len(),
        sb.log()
    );
    check_stream(&got, 8);
    // The frames played before the ACK had nowhere to go; the rest is A-law, in order.
    let want = tone_frames(Law::Alaw);
    let k = want
        .iter()
        .position(|f| *f == got[0].payload)
        .expect("the first packet is an A-law frame of the tone");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.payload, want[k + i], "A-law frame {}", k + i);
    }
    assert_eq!(k + got.len(), 50);
    assert_eq!(ours.ip().to_string(), "127.0.0.1");
    expect_bye(&caller, &sb);
}

/// sipbox on the shipped extensions.conf.example, with `soundsdir` as given.
fn start_example(lo: u16, soundsdir: &std::path::Path) -> Sipbox {
    let ext = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("extensions.conf.example"),
    )
    .unwrap();
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        &format!("[general]\nsoundsdir={}\n", soundsdir.display()),
    );
    start_with_rtp(&conf, &ext, lo, lo + 39)
}

#[test]
fn example_600_echoes_and_601_plays_hello_world_from_soundsdir() {
    let sounds = temp_dir("sipbox-sounds");
    write_wav(&sounds.join("hello-world.wav"), &tone_samples()[..4000]);
    let sb = start_example(33200, &sounds);
    let (caller, _d) = call(&sb, "601", "ex601");
    let got = collect(&caller.rtp, 60, Duration::from_millis(600));
    assert_eq!(got.len(), 25, "0.5 s of hello-world");
    check_stream(&got, 0);
    expect_bye(&caller, &sb);

    let (caller, d) = call(&sb, "600", "ex600");
    let p = rtp_packet(0, 1, 160, 77, &[0x33; 160]);
    caller.rtp.send_to(&p, d.remote_media).unwrap();
    let back = recv_raw(&caller.rtp).expect("echo");
    assert_eq!(back[12..], p[12..]);
    send_dtmf(&caller.rtp, d.remote_media, 101, 11, 10, 5000);
    expect_bye(&caller, &sb);
}

#[test]
fn example_601_without_sounds_says_so_and_hangs_up() {
    let sb = start_example(33240, &temp_dir("sipbox-nosounds").join("absent"));
    let (caller, _d) = call(&sb, "601", "ex601n");
    if std::path::Path::new("/usr/share/asterisk/sounds/en_US_f_Allison/hello-world.wav").exists() {
        // Debian's asterisk-core-sounds-en-wav is installed: the fallback path plays it.
        let got = collect(&caller.rtp, 2000, Duration::from_millis(600));
        assert!(got.len() > 10, "hello-world from the fallback path");
    } else {
        assert!(
            sb.wait_log("no sound prompts installed", T),
            "{:?}",
            sb.log()
        );
    }
    expect_bye(&caller, &sb);
}

#[test]
fn ports_held_by_another_process_are_skipped_before_the_first_call() {
    // The first two pairs of the range belong to someone else.
    let held: Vec<std::net::UdpSocket> = (33400..33404)
        .map(|p| std::net::UdpSocket::bind(("127.0.0.1", p)).unwrap())
        .collect();
    let sb = start_with_rtp(TEST_SIP_CONF, EXT, 33400, 33407);
    let (caller, d) = call(&sb, "600", "busyports");
    assert!(d.remote_media.port() >= 33404, "{}", d.remote_media);
    let p = rtp_packet(0, 1, 160, 77, &[0x21; 160]);
    caller.rtp.send_to(&p, d.remote_media).unwrap();
    let back = recv_raw(&caller.rtp).expect("echo from a pair that is really bound");
    assert_eq!(back[12..], p[12..]);
    assert!(!sb.log().iter().any(|l| l.contains("that leg has no media")));
    drop(held);
}

#[test]
fn late_offer_through_dial_relays_and_transcodes_after_the_ack() {
    let sb = start(33440);
    let callee = Phone::new("1002", "1002pass");
    callee.register(sb.addr);
    let server = sb.addr;
    let h = std::thread::spawn(move || {
        let inv = callee
            .wait_for(T, |m| m.start.starts_with("INVITE"))
            .expect("INVITE at the callee");
        assert!(inv.body.contains("m=audio "), "sipbox offers to the callee");
        callee.respond(
            server,
            &inv,
            200,
            Some(&sdp(callee.rtp_addr(), &[8], "sendrecv")),
        );
        callee
            .wait_for(T, |m| m.start.starts_with("ACK"))
            .expect("ACK at the callee");
        (callee, inv)
    });
    let caller = Phone::new("1001", "1001pass");
    let resp = caller.call(sb.addr, "1002", "late2", "");
    assert_eq!(resp.status(), 200, "{resp:?}");
    assert!(resp.body.contains("m=audio "), "{}", resp.body);
    // The caller answers µ-law: sipbox must transcode for the A-law callee.
    caller.ack_with_sdp(sb.addr, &resp, 2, &sdp(caller.rtp_addr(), &[0], "sendrecv"));
    let (callee, inv) = h.join().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let ulaw: Vec<u8> = (0..160u16).map(|b| (b as u8) | 0x80).collect();
    let p = rtp_packet(0, 1, 0, 5, &ulaw);
    caller.rtp.send_to(&p, sdp_addr(&resp.body)).unwrap();
    let got = recv_raw(&callee.rtp).expect("relayed to the callee");
    let mut want = ulaw.clone();
    sipbox::media::g711::transcode_ulaw_to_alaw_in_place(&mut want);
    assert_eq!((got[1] & 0x7f, &got[12..]), (8, &want[..]));
    // And back: the caller's address came from the ACK, A-law arrives as µ-law.
    let q = rtp_packet(8, 1, 0, 6, &want);
    callee.rtp.send_to(&q, sdp_addr(&inv.body)).unwrap();
    let back = recv_raw(&caller.rtp).expect("relayed to the caller");
    assert_eq!(back[1] & 0x7f, 0);
}
