//! sipbox as the media endpoint on the fake network: Echo (and `#` ending it), Playback of a
//! WAV (packet count, exact 20 ms pacing, RTP stamping, payload bytes equal to the G.711
//! encoding), a missing sound file, RFC 4733 digits driving Read, Background and WaitExten,
//! Progress() early media, a late offer (INVITE without SDP, the caller's answer in the ACK),
//! RTP ports held by another process, and the refusals when sipbox cannot answer with media
//! (488 without a common codec, 503 with Retry-After when no port pair is left).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::media::g711::{encode_into, Law};
use sipbox::media::sounds::MemorySounds;
use sipbox::sip::Method;
use std::time::Duration;

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

exten => 605,1,Answer()
 same => n,PlayTones(ring)
 same => n,Wait(3)
 same => n,StopPlayTones()
 same => n,Verbose(1,tones stopped)
 same => n,Wait(1)
 same => n,Hangup()

exten => 606,1,Answer()
 same => n,Record(/var/tmp/sipbox-msg.wav,2,10)
 same => n,Verbose(1,record status ${RECORD_STATUS} file ${RECORDED_FILE})
 same => n,Hangup()

exten => 607,1,Record(greeting.gsm)
 same => n,Verbose(1,gsm status ${RECORD_STATUS})
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

/// Prompts holding `name` made of `samples`.
fn sounds_with(name: &str, samples: &[i16]) -> MemorySounds {
    let mut s = MemorySounds::new();
    s.insert(name, wav_bytes(samples));
    s
}

/// sipbox on [`EXT`] with a prompt `tone`, RTP ports `lo..=lo+39`.
fn start(lo: u16) -> FakeNet {
    FakeNet::with_rtp(TEST_SIP_CONF, EXT, lo, lo + 39)
        .with_sounds(sounds_with("tone", &tone_samples()))
}

fn caller(net: &mut FakeNet) -> Ua {
    Ua::new(net, "1001", "1001pass")
}

/// Checks a played stream: consecutive sequence numbers, timestamps +160, one SSRC, the
/// marker on the first packet only, payload type `pt`, and exactly 20 ms between packets.
#[track_caller]
fn check_stream(got: &[Rtp], pt: u8) {
    let first = &got[0];
    assert!(first.marker, "marker on the first packet");
    for (i, w) in got.windows(2).enumerate() {
        let (a, b) = (&w[0], &w[1]);
        assert_eq!(b.seq, a.seq.wrapping_add(1), "sequence at {i}");
        assert_eq!(b.ts, a.ts.wrapping_add(160), "timestamp at {i}");
        assert_eq!(b.ssrc, first.ssrc, "one SSRC");
        assert!(!b.marker, "marker only on the first packet ({i})");
        assert_eq!(b.at - a.at, Duration::from_millis(20), "pacing at {i}");
    }
    assert!(got.iter().all(|r| r.pt == pt), "payload type {pt}");
}

/// The caller answers sipbox's BYE.
#[track_caller]
fn expect_bye(net: &mut FakeNet, caller: &Ua) {
    let bye = caller.request(net, Method::Bye);
    caller.respond(net, &bye, 200, None);
}

#[test]
fn echo_returns_the_callers_payloads_until_hash() {
    let mut net = start(33000);
    let mut a = caller(&mut net);
    let d = a.call_answered(&mut net, "600");
    let to = d.remote_media();
    let mut echoed = Vec::new();
    for i in 0..20u16 {
        let payload: Vec<u8> = (0..160u16)
            .map(|b| (b as u8).wrapping_mul(3) ^ i as u8)
            .collect();
        let p = rtp_packet(0, 1000 + i, 5000 + 160 * u32::from(i), 0xCA11E4, &payload);
        a.send_rtp(&mut net, to, &p);
        let back = a
            .recv_rtp(&mut net, T)
            .unwrap_or_else(|| panic!("echo of #{i}"));
        assert_eq!(back.from, to, "echoed from the port the SDP named");
        let r = Rtp::parse(&back);
        assert_eq!(r.payload, payload, "payload bytes of #{i}");
        assert_eq!(r.pt, 0);
        assert_ne!(r.ssrc, 0xCA11E4, "sipbox's own SSRC");
        echoed.push(r);
        net.advance(Duration::from_millis(20));
    }
    assert!(echoed[0].marker);
    for w in echoed.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(160));
        assert_eq!(w[1].ssrc, w[0].ssrc);
    }
    // A digit other than '#' does not end it; '#' does, and the dialplan goes on.
    a.send_dtmf(&mut net, to, 101, 5, 2000, 90_000);
    let p = rtp_packet(0, 2010, 99_000, 0xCA11E4, &[0x42; 160]);
    a.send_rtp(&mut net, to, &p);
    let mut still = false;
    while let Some(b) = a.recv_rtp(&mut net, Duration::from_millis(1500)) {
        if b.bytes.len() == 172 && b.bytes[12..] == [0x42; 160] {
            still = true;
            break;
        }
    }
    assert!(still, "Echo goes on after '5'");
    assert!(!net.logged("echo ended by hash"));
    a.send_dtmf(&mut net, to, 101, 11, 2020, 100_000);
    assert!(net.wait_log("echo ended by hash", T), "{:?}", net.log());
    expect_bye(&mut net, &a);
    assert!(net.wait_log(" ended (", T));
    net.assert_idle();
}

#[test]
fn playback_paces_the_wav_as_g711_and_skips_a_missing_file() {
    let mut net = start(33040);
    let mut a = caller(&mut net);
    let _d = a.call_answered(&mut net, "601");
    let got = a.collect_rtp(&mut net, 60, Duration::from_millis(600));
    assert_eq!(got.len(), 50, "1 s of audio is 50 packets of 20 ms");
    check_stream(&got, 0);
    for (i, (r, f)) in got.iter().zip(tone_frames(Law::Ulaw)).enumerate() {
        assert_eq!(r.payload, f, "µ-law payload of frame {i}");
    }
    assert!(
        net.wait_log("file 'no-such-sound' not found", T),
        "{:?}",
        net.log()
    );
    assert!(net.wait_log("playback finished", T));
    expect_bye(&mut net, &a);
    net.assert_idle();
}

#[test]
fn rfc4733_digits_drive_read_background_and_waitexten() {
    let mut net = start(33080);
    let mut a = caller(&mut net);
    let d = a.call_answered(&mut net, "602");
    let to = d.remote_media();
    for (i, ev) in [1u8, 2, 3].into_iter().enumerate() {
        a.send_dtmf(
            &mut net,
            to,
            101,
            ev,
            100 + 10 * i as u16,
            1000 * (i as u32 + 1),
        );
    }
    assert!(net.wait_log("read got 123 status OK", T), "{:?}", net.log());
    // Background plays the tone; '4' interrupts it, '2' completes extension 42.
    let first = a.collect_rtp(&mut net, 5, Duration::from_millis(1000));
    assert_eq!(first.len(), 5, "Background plays");
    a.send_dtmf(&mut net, to, 101, 4, 200, 10_000);
    a.send_dtmf(&mut net, to, 101, 2, 210, 11_000);
    assert!(
        net.wait_log("reached 42 from background", T),
        "{:?}",
        net.log()
    );
    expect_bye(&mut net, &a);
    // The playback stopped at the digit: far fewer than the tone's 50 packets.
    let rest = a.collect_rtp(&mut net, 60, Duration::from_millis(200));
    assert!(first.len() + rest.len() < 40, "{} packets", rest.len());
    net.assert_idle();
}

#[test]
fn progress_plays_early_media_without_answering() {
    let mut net = start(33120);
    let mut a = caller(&mut net);
    let offer = sdp(a.rtp, &[0, 101], "sendrecv");
    let mut d = a.call_start(&mut net, "603", &offer);
    let p183 = a.response_with(&mut net, 183);
    let body = String::from_utf8_lossy(p183.body()).into_owned();
    let media = sdp_addr(&body);
    assert!((33120..=33159).contains(&media.port()), "{body}");
    let got = a.collect_rtp(&mut net, 60, Duration::from_millis(600));
    assert_eq!(got.len(), 50, "the tone as early media");
    check_stream(&got, 0);
    for (r, f) in got.iter().zip(tone_frames(Law::Ulaw)) {
        assert_eq!(r.payload, f);
    }
    let fin = a.invite_outcome(&mut net, &mut d);
    assert!(fin.status() >= 400, "never answered: {fin:?}");
    net.assert_idle();
}

#[test]
fn late_offer_answer_in_the_ack_sets_address_and_law() {
    let mut net = start(33160);
    let mut a = caller(&mut net);
    let (d, resp) = a.call(&mut net, "604", "");
    assert_eq!(resp.status(), 200, "{resp:?}");
    let body = d.remote_sdp.clone();
    assert!(
        body.contains("m=audio "),
        "sipbox offers in the 200: {body}"
    );
    assert!(body.contains("PCMA/8000"), "{body}");
    let ours = sdp_addr(&body);
    // The caller picks A-law in its answer, 60 ms after the 200.
    net.advance(Duration::from_millis(60));
    a.ack(&mut net, &d, Some(&sdp(a.rtp, &[8, 101], "sendrecv")));
    let got = a.collect_rtp(&mut net, 60, Duration::from_millis(600));
    assert!(got.len() >= 45, "{} packets after the ACK", got.len());
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
    assert!(k > 0, "frames before the ACK were not sent anywhere");
    assert_eq!(ours.ip().to_string(), "127.0.0.1");
    expect_bye(&mut net, &a);
    net.assert_idle();
}

/// sipbox on the shipped extensions.conf.example with these prompts.
fn start_example(lo: u16, sounds: MemorySounds) -> FakeNet {
    let ext = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("extensions.conf.example"),
    )
    .unwrap();
    FakeNet::with_rtp(TEST_SIP_CONF, &ext, lo, lo + 39).with_sounds(sounds)
}

#[test]
fn example_600_echoes_and_601_plays_hello_world() {
    let sounds = sounds_with("hello-world", &tone_samples()[..4000]);
    let mut net = start_example(33200, sounds);
    let mut a = caller(&mut net);
    a.call_answered(&mut net, "601");
    let got = a.collect_rtp(&mut net, 60, Duration::from_millis(600));
    assert_eq!(got.len(), 25, "0.5 s of hello-world");
    check_stream(&got, 0);
    expect_bye(&mut net, &a);

    let mut b = caller(&mut net);
    let d = b.call_answered(&mut net, "600");
    let p = rtp_packet(0, 1, 160, 77, &[0x33; 160]);
    b.send_rtp(&mut net, d.remote_media(), &p);
    let back = b.recv_rtp(&mut net, T).expect("echo");
    assert_eq!(back.bytes[12..], p[12..]);
    b.send_dtmf(&mut net, d.remote_media(), 101, 11, 10, 5000);
    expect_bye(&mut net, &b);
    net.assert_idle();
}

#[test]
fn example_601_without_the_prompt_warns_and_hangs_up() {
    let mut net = start_example(33240, MemorySounds::new());
    let mut a = caller(&mut net);
    a.call_answered(&mut net, "601");
    assert!(
        net.wait_log("Playback: file 'hello-world' not found", T),
        "{:?}",
        net.log()
    );
    assert!(a
        .collect_rtp(&mut net, 10, Duration::from_millis(100))
        .is_empty());
    expect_bye(&mut net, &a);
    net.assert_idle();
}

#[test]
fn ports_held_by_another_process_are_skipped_before_the_first_call() {
    let mut net = FakeNet::with_rtp(TEST_SIP_CONF, EXT, 33400, 33407);
    // The first two pairs of the range belong to someone else.
    net.hold_ports(33400..33404);
    let mut a = caller(&mut net);
    let d = a.call_answered(&mut net, "600");
    assert!(d.remote_media().port() >= 33404, "{}", d.remote_media());
    assert!(net.is_bound(d.remote_media()));
    let p = rtp_packet(0, 1, 160, 77, &[0x21; 160]);
    a.send_rtp(&mut net, d.remote_media(), &p);
    let back = a
        .recv_rtp(&mut net, T)
        .expect("echo from a pair that is really bound");
    assert_eq!(back.bytes[12..], p[12..]);
    assert!(!net.logged("that leg has no media"), "{:?}", net.log());
    assert!(net.binds >= 3, "held pairs were tried: {} binds", net.binds);
}

#[test]
fn late_offer_through_dial_relays_and_transcodes_after_the_ack() {
    let mut net = start(33440);
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = caller(&mut net);
    let mut d = a.call_start(&mut net, "1002", "");
    let inv = callee.request(&mut net, Method::Invite);
    let offer = String::from_utf8_lossy(inv.body()).into_owned();
    assert!(offer.contains("m=audio "), "sipbox offers to the callee");
    callee.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(callee.rtp, &[8], "sendrecv")),
    );
    callee.request(&mut net, Method::Ack);
    let resp = a.invite_outcome(&mut net, &mut d);
    assert_eq!(resp.status(), 200, "{resp:?}");
    assert!(d.remote_sdp.contains("m=audio "), "{}", d.remote_sdp);
    // The caller answers µ-law: sipbox must transcode for the A-law callee.
    a.ack(&mut net, &d, Some(&sdp(a.rtp, &[0], "sendrecv")));
    net.advance(Duration::from_millis(100));
    let ulaw: Vec<u8> = (0..160u16).map(|b| (b as u8) | 0x80).collect();
    let p = rtp_packet(0, 1, 0, 5, &ulaw);
    a.send_rtp(&mut net, d.remote_media(), &p);
    let got = callee.recv_rtp(&mut net, T).expect("relayed to the callee");
    let mut want = ulaw.clone();
    sipbox::media::g711::transcode_ulaw_to_alaw_in_place(&mut want);
    assert_eq!((got.bytes[1] & 0x7f, &got.bytes[12..]), (8, &want[..]));
    // And back: the caller's address came from the ACK, A-law arrives as µ-law.
    let q = rtp_packet(8, 1, 0, 6, &want);
    callee.send_rtp(&mut net, sdp_addr(&offer), &q);
    let back = a.recv_rtp(&mut net, T).expect("relayed to the caller");
    assert_eq!(back.bytes[1] & 0x7f, 0);
    a.hang_up(&mut net, &mut d);
    let bye = callee.request(&mut net, Method::Bye);
    callee.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}

#[test]
fn answering_itself_without_a_common_codec_is_488_never_200() {
    let mut net = start(33600);
    for exten in ["600", "603", "604"] {
        let mut a = caller(&mut net);
        // G.722 only: sipbox allows µ-law and A-law by default.
        let offer = sdp(a.rtp, &[9], "sendrecv");
        let (_d, r) = a.call(&mut net, exten, &offer);
        assert_eq!(r.status(), 488, "{exten}: {r:?}");
    }
    assert!(net.logged("no common codec to answer with: 488"));
    net.assert_idle();
}

#[test]
fn answering_itself_with_no_rtp_port_left_is_503_with_retry_after() {
    // Two pairs: two echo calls hold them both.
    let mut net = FakeNet::with_rtp(TEST_SIP_CONF, EXT, 33700, 33703);
    let mut up = Vec::new();
    for _ in 0..2 {
        let mut a = caller(&mut net);
        let d = a.call_answered(&mut net, "600");
        up.push((a, d));
    }
    assert_eq!(net.engine.media_pairs_in_use(), 2);
    let mut a = caller(&mut net);
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let (_d, r) = a.call(&mut net, "600", &offer);
    assert_eq!(r.status(), 503, "{r:?}");
    assert_eq!(header(&r, sipbox::sip::HeaderName::RetryAfter), Some("5"));
    assert!(
        net.logged("no RTP port pair left; refusing with 503"),
        "{:?}",
        net.log()
    );
    for (mut a, mut d) in up {
        a.hang_up(&mut net, &mut d);
    }
    net.assert_idle();
}

#[test]
fn sip_info_dtmf_reaches_the_dialplan_in_both_body_forms() {
    let mut net = start(33800);
    // Echo ends on '#' sent by INFO (application/dtmf-relay); a '5' does not end it.
    let mut a = caller(&mut net);
    let mut d = a.call_answered(&mut net, "600");
    let relay = Some(("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"));
    a.in_dialog_typed(&mut net, &mut d, "INFO", relay);
    assert_eq!(a.final_response(&mut net).status(), 200);
    assert!(!net.logged("echo ended by hash"));
    let hash = Some(("application/dtmf-relay", "Signal=#\r\nDuration=160\r\n"));
    a.in_dialog_typed(&mut net, &mut d, "INFO", hash);
    assert_eq!(a.final_response(&mut net).status(), 200);
    assert!(net.wait_log("echo ended by hash", T), "{:?}", net.log());
    expect_bye(&mut net, &a);
    // Read() takes digits sent as application/dtmf, '#' ending the input.
    let mut b = caller(&mut net);
    let mut d2 = b.call_answered(&mut net, "602");
    for digit in ["4", "2", "11"] {
        b.in_dialog_typed(&mut net, &mut d2, "INFO", Some(("application/dtmf", digit)));
        assert_eq!(b.final_response(&mut net).status(), 200);
    }
    assert!(net.wait_log("read got 42 status OK", T), "{:?}", net.log());
}

#[test]
fn one_source_may_not_hold_more_than_maxcallspersource_calls() {
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        "[general]\nmaxcallspersource=2\nbanignore=\n",
    );
    let mut net = FakeNet::with_rtp(&conf, EXT, 33900, 33939);
    let mut up = Vec::new();
    for _ in 0..2 {
        let mut a = caller(&mut net);
        let d = a.call_answered(&mut net, "600");
        up.push((a, d));
    }
    let mut third = caller(&mut net);
    let offer = sdp(third.rtp, &[0], "sendrecv");
    let (_d, r) = third.call(&mut net, "600", &offer);
    assert_eq!(r.status(), 503, "{r:?}");
    assert_eq!(header(&r, sipbox::sip::HeaderName::RetryAfter), Some("60"));
    // One hangs up: the address may call again.
    let (mut a, mut d) = up.pop().unwrap();
    a.hang_up(&mut net, &mut d);
    let mut again = caller(&mut net);
    let _d = again.call_answered(&mut net, "600");
}

#[test]
fn playtones_plays_the_ring_cadence_while_the_dialplan_goes_on() {
    let mut net = start(34000);
    let mut a = caller(&mut net);
    let _d = a.call_answered(&mut net, "605");
    // Three seconds of tone while Wait(3) runs, then StopPlayTones: the stream stops.
    let got = a.collect_rtp(&mut net, 1000, Duration::from_millis(500));
    assert!(
        (148..=152).contains(&got.len()),
        "{} packets in 3 s",
        got.len()
    );
    assert!(got.iter().all(|r| r.pt == 0), "PCMU as negotiated");
    for w in got.windows(2) {
        assert_eq!(w[1].at - w[0].at, Duration::from_millis(20), "paced");
    }
    let silence = |r: &Rtp| r.payload.iter().all(|&b| b == 0xff || b == 0x7f);
    assert!(
        got[..100].iter().all(|r| !silence(r)),
        "two seconds of 440+480 Hz"
    );
    assert!(got[100..].iter().all(silence), "then the cadence's silence");
    assert!(net.logged("tones stopped"));
    expect_bye(&mut net, &a);
}

#[test]
fn record_keeps_the_callers_audio_until_hash_or_silence() {
    let mut net = start(34100);
    let loud: Vec<u8> = (0..160u16)
        .map(|i| if i % 2 == 0 { 0x10 } else { 0x90 })
        .collect();
    // '#' ends it: 50 frames kept.
    let mut a = caller(&mut net);
    let d = a.call_answered(&mut net, "606");
    let to = d.remote_media();
    for i in 0..50u16 {
        a.send_rtp(
            &mut net,
            to,
            &rtp_packet(0, i, 160 * u32::from(i), 7, &loud),
        );
    }
    a.send_dtmf(&mut net, to, 101, 11, 60, 9_000);
    assert!(
        net.wait_log("record status DTMF file /var/tmp/sipbox-msg", T),
        "{:?}",
        net.log()
    );
    expect_bye(&mut net, &a);
    let (path, bytes) = net.files.pop().expect("the recording goes to the driver");
    assert_eq!(path, std::path::Path::new("/var/tmp/sipbox-msg.wav"));
    assert_eq!(
        bytes.len(),
        44 + 50 * 160 * 2,
        "50 frames of 16-bit samples"
    );
    // Two seconds of silence end it; the silence is not kept.
    let mut b = caller(&mut net);
    let d = b.call_answered(&mut net, "606");
    let to = d.remote_media();
    for i in 0..125u16 {
        let payload = if i < 25 {
            loud.clone()
        } else {
            vec![0xff; 160]
        };
        b.send_rtp(
            &mut net,
            to,
            &rtp_packet(0, i, 160 * u32::from(i), 8, &payload),
        );
    }
    assert!(net.wait_log("record status SILENCE", T), "{:?}", net.log());
    expect_bye(&mut net, &b);
    let (_, bytes) = net.files.pop().unwrap();
    assert_eq!(bytes.len(), 44 + 25 * 160 * 2);
    // Formats other than wav are refused.
    let mut c = caller(&mut net);
    let offer = sdp(c.rtp, &[0], "sendrecv");
    let _ = c.call(&mut net, "607", &offer);
    assert!(net.wait_log("gsm status ERROR", T));
    assert!(net.files.is_empty());
}
