//! DTMF in every `dtmfmode`, on the fake network with a fake clock: a digit sent one way
//! reaches the other leg of a bridge in that leg's mode (RFC 4733 → INFO, INFO → RFC 4733,
//! shortinfo, inband tones both ways, `auto`), inband detection hears a tone sequence and not
//! speech-like noise or music, and SendDTMF() sends in each mode.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::media::dtmf::detect::Detector;
use sipbox::media::dtmf::events::Event;
use sipbox::media::dtmf::frequencies;
use sipbox::media::g711::Law;
use sipbox::sip::{Method, Request};
use std::net::SocketAddr;
use std::time::Duration;

fn sip_conf() -> String {
    let mut s = TEST_SIP_CONF.to_string();
    for (user, mode) in [
        ("2001", "info"),
        ("2002", "shortinfo"),
        ("2003", "inband"),
        ("2004", "auto"),
    ] {
        s.push_str(&format!(
            "\n[{user}](phone)\nsecret={user}pass\ndtmfmode={mode}\n"
        ));
    }
    s.push_str("relaxdtmf=yes\n");
    s
}

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _X00X,1,Dial(SIP/${EXTEN},10)
 same => n,Hangup()
exten => 700,1,Answer()
 same => n,SendDTMF(12#,100,80)
 same => n,Log(NOTICE,senddtmf done)
 same => n,Wait(30)
";

fn setup(lo: u16) -> FakeNet {
    FakeNet::with_rtp(&sip_conf(), EXTENSIONS, lo, lo + 39)
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// `caller` calls `callee` (registered), both with `pts` (the callee answers with `answer_pts`).
fn bridge(
    net: &mut FakeNet,
    caller: &str,
    callee: &Ua,
    pts: &[u8],
    answer_pts: &[u8],
) -> (Ua, Dialog, Request) {
    let mut a = Ua::new(net, caller, &format!("{caller}pass"));
    let mut d = a.call_start(net, &callee.user, &sdp(a.rtp, pts, "sendrecv"));
    let inv = callee.answer(net, answer_pts);
    assert_eq!(a.invite_outcome(net, &mut d).status(), 200);
    a.ack(net, &d, None);
    (a, d, inv)
}

/// The RFC 4733 packets at `ua` until 300 ms of silence; audio is skipped.
fn events_at(net: &mut FakeNet, ua: &Ua) -> Vec<(common::rtp::Rtp, Event)> {
    ua.collect_rtp(net, 200, Duration::from_millis(300))
        .into_iter()
        .filter(|r| r.pt == 101)
        .map(|r| {
            let e = Event::parse(&r.payload).expect("4-byte event");
            (r, e)
        })
        .collect()
}

/// The digits in G.711 audio at `ua` (what a phone's own detector would hear).
fn tones_at(net: &mut FakeNet, ua: &Ua, law: Law) -> String {
    let mut det = Detector::new(false);
    let mut heard = String::new();
    for r in ua.collect_rtp(net, 400, Duration::from_millis(300)) {
        assert_eq!(r.pt, law.payload_type(), "audio in the leg's law");
        heard.extend(
            det.feed(r.payload.iter().map(|&b| law.decode(b)))
                .map(|h| h.digit),
        );
    }
    heard.extend(det.feed(std::iter::repeat_n(0, 800)).map(|h| h.digit));
    heard
}

/// 20 ms µ-law frames of `digit` for `ms`, then `gap` ms of silence.
fn tone_frames(digit: char, ms: usize, gap: usize) -> Vec<Vec<u8>> {
    let (r, c) = frequencies(digit).unwrap();
    let mut samples: Vec<i16> = (0..ms * 8)
        .map(|n| {
            let t = n as f32 / 8000.0;
            let v = 5000.0 * (2.0 * std::f32::consts::PI * r * t).sin()
                + 5000.0 * (2.0 * std::f32::consts::PI * c * t).sin();
            v as i16
        })
        .collect();
    samples.extend(std::iter::repeat_n(0i16, gap * 8));
    samples
        .chunks(160)
        .map(|f| f.iter().map(|&s| Law::Ulaw.encode(s)).collect())
        .collect()
}

/// Sends µ-law frames from `ua` to `to`, 20 ms apart on the fake clock.
fn send_audio(net: &mut FakeNet, ua: &Ua, to: SocketAddr, frames: &[Vec<u8>], seq0: u16) {
    for (i, f) in frames.iter().enumerate() {
        let i16_ = i as u16;
        let p = rtp_packet(0, seq0.wrapping_add(i16_), 160 * i as u32, 0x1AB, f);
        ua.send_rtp(net, to, &p);
        net.advance(Duration::from_millis(20));
    }
}

fn info_answered(net: &mut FakeNet, ua: &Ua) -> Request {
    let info = ua.request(net, Method::Info);
    ua.respond(net, &info, 200, None);
    info
}

#[test]
fn rfc4733_from_the_caller_reaches_an_info_callee_as_info() {
    let mut net = setup(34000);
    let b = Ua::new(&mut net, "2001", "2001pass").registered(&mut net);
    let (mut a, mut d, _) = bridge(&mut net, "1001", &b, &[0, 101], &[0, 101]);
    // send_dtmf: three updates and three end packets of 640 samples (80 ms).
    a.send_dtmf(&mut net, d.remote_media(), 101, 7, 300, 8000);
    let info = info_answered(&mut net, &b);
    assert_eq!(info.content_type(), Some("application/dtmf-relay"));
    assert_eq!(body(&info), "Signal=7\r\nDuration=80\r\n");
    assert!(
        b.try_request(&mut net, Method::Info).is_none(),
        "one INFO per digit"
    );
    assert!(
        events_at(&mut net, &b).is_empty(),
        "no events relayed to an info leg"
    );
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn info_from_an_info_caller_reaches_an_rfc2833_callee_as_events() {
    let mut net = setup(34040);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let (mut a, mut d, _) = bridge(&mut net, "2001", &b, &[0, 101], &[0, 101]);
    let relay = Some(("application/dtmf-relay", "Signal=5\r\nDuration=100\r\n"));
    a.in_dialog_typed(&mut net, &mut d, "INFO", relay);
    assert_eq!(a.final_response(&mut net).status(), 200);
    let ev = events_at(&mut net, &b);
    // 100 ms: four updates (160..640) and the end (800) three times, one timestamp.
    assert_eq!(ev.len(), 7, "{ev:?}");
    assert!(ev[0].0.marker && ev[1..].iter().all(|(r, _)| !r.marker));
    assert!(ev.iter().all(|(r, e)| r.ts == ev[0].0.ts && e.event == 5));
    let durations: Vec<u16> = ev.iter().map(|(_, e)| e.duration).collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
    assert_eq!(ev.iter().filter(|(_, e)| e.end).count(), 3);
    let seqs: Vec<u16> = ev.iter().map(|(r, _)| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    // Paced at 20 ms: the updates are 20 ms apart on the clock.
    assert_eq!(ev[1].0.at - ev[0].0.at, Duration::from_millis(20));
    // The short form from the same phone works as well, `*` by its event number.
    a.in_dialog_typed(&mut net, &mut d, "INFO", Some(("application/dtmf", "10")));
    assert_eq!(a.final_response(&mut net).status(), 200);
    let ev = events_at(&mut net, &b);
    assert!(!ev.is_empty() && ev.iter().all(|(_, e)| e.event == 10));
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn an_info_digit_between_two_info_phones_is_sent_as_info_and_shortinfo_gets_the_short_form() {
    let mut net = setup(34080);
    let b = Ua::new(&mut net, "2002", "2002pass").registered(&mut net);
    let (mut a, mut d, inv) = bridge(&mut net, "2001", &b, &[0, 101], &[0, 101]);
    let relay = Some(("application/dtmf-relay", "Signal=#\r\nDuration=250\r\n"));
    a.in_dialog_typed(&mut net, &mut d, "INFO", relay);
    assert_eq!(a.final_response(&mut net).status(), 200);
    let info = info_answered(&mut net, &b);
    assert_eq!(info.content_type(), Some("application/dtmf"));
    assert_eq!(body(&info), "#\r\n");
    // An RFC 4733 digit from the shortinfo phone reaches the info caller in the long form.
    b.send_dtmf(&mut net, sdp_addr(&body(&inv)), 101, 3, 900, 16000);
    let info = info_answered(&mut net, &a);
    assert_eq!(body(&info), "Signal=3\r\nDuration=80\r\n");
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

/// Loud filtered noise and a three-note chord, as µ-law frames (two seconds each).
fn noise_and_music() -> Vec<Vec<u8>> {
    let mut x: u32 = 99;
    let mut prev = 0.0f32;
    let mut samples: Vec<i16> = (0..16_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            prev = 0.7 * prev + 0.3 * ((x >> 16) as i16 as f32 / 3.0);
            prev as i16
        })
        .collect();
    samples.extend((0..16_000).map(|n| {
        let t = n as f32 / 8000.0;
        [392.0f32, 698.5, 987.8]
            .iter()
            .map(|f| 5000.0 * (2.0 * std::f32::consts::PI * f * t).sin())
            .sum::<f32>() as i16
    }));
    samples
        .chunks(160)
        .map(|f| f.iter().map(|&s| Law::Ulaw.encode(s)).collect())
        .collect()
}

#[test]
fn inband_tones_from_an_inband_caller_become_events_and_noise_does_not() {
    let mut net = setup(34120);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let (mut a, mut d, _) = bridge(&mut net, "2003", &b, &[0, 101], &[0, 101]);
    let to = d.remote_media();
    send_audio(&mut net, &a, to, &noise_and_music(), 1);
    let ev = events_at(&mut net, &b);
    assert!(ev.is_empty(), "no digit in noise or music: {ev:?}");
    let mut frames = Vec::new();
    for digit in ['1', '9', '#', '#'] {
        frames.extend(tone_frames(digit, 100, 100));
    }
    send_audio(&mut net, &a, to, &frames, 500);
    let mut digits = String::new();
    let mut last_ts = None;
    for (r, e) in ev_all(&mut net, &b) {
        if e.end && last_ts != Some(r.ts) {
            last_ts = Some(r.ts);
            digits.push(sipbox::media::dtmf::digit_of(e.event).unwrap());
        }
    }
    assert_eq!(digits, "19##", "each tone once, the two # apart");
    assert!(net.logged("DTMF '9' inband from leg"), "{:?}", net.log());
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

/// Every RTP packet already queued at `ua` and still to come, events only.
fn ev_all(net: &mut FakeNet, ua: &Ua) -> Vec<(common::rtp::Rtp, Event)> {
    events_at(net, ua)
}

#[test]
fn events_to_an_inband_callee_become_tones_in_its_law() {
    let mut net = setup(34160);
    let b = Ua::new(&mut net, "2003", "2003pass").registered(&mut net);
    let (mut a, mut d, _) = bridge(&mut net, "1001", &b, &[8, 101], &[8, 101]);
    a.send_dtmf(&mut net, d.remote_media(), 101, 3, 40, 1600);
    assert_eq!(tones_at(&mut net, &b, Law::Alaw), "3");
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn auto_is_rfc2833_with_telephone_event_and_inband_without() {
    let mut net = setup(34200);
    let b = Ua::new(&mut net, "2004", "2004pass").registered(&mut net);
    // The callee answers without telephone-event: inband tones.
    let (mut a, mut d, _) = bridge(&mut net, "1001", &b, &[0, 101], &[0]);
    a.send_dtmf(&mut net, d.remote_media(), 101, 8, 40, 1600);
    assert_eq!(tones_at(&mut net, &b, Law::Ulaw), "8");
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    // With telephone-event the events are relayed as they are.
    let (mut a, mut d, _) = bridge(&mut net, "1001", &b, &[0, 101], &[0, 101]);
    a.send_dtmf(&mut net, d.remote_media(), 101, 8, 40, 1600);
    let ev = events_at(&mut net, &b);
    assert_eq!(ev.len(), 6, "the phone's own packets: {ev:?}");
    assert!(ev.iter().all(|(r, e)| e.event == 8 && r.ssrc == 0xD7F0));
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn senddtmf_sends_in_each_mode_and_the_dialplan_waits_for_it() {
    let mut net = setup(34240);
    // rfc2833: three events of 80 ms (three updates, three ends), 100 ms apart.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_answered(&mut net, "700");
    let ev = events_at(&mut net, &a);
    let mut digits = String::new();
    for (r, e) in &ev {
        if e.end && !digits.ends_with(sipbox::media::dtmf::digit_of(e.event).unwrap()) {
            digits.push(sipbox::media::dtmf::digit_of(e.event).unwrap());
        }
        assert_eq!(
            r.ts,
            ev.iter().find(|(_, x)| x.event == e.event).unwrap().0.ts
        );
    }
    assert_eq!(digits, "12#");
    assert_eq!(ev.len(), 18, "{ev:?}");
    let starts: Vec<_> = ev
        .iter()
        .filter(|(r, _)| r.marker)
        .map(|(r, _)| r.at)
        .collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(
        starts[1] - starts[0],
        Duration::from_millis(180),
        "80 ms + 100 ms"
    );
    assert!(net.logged("senddtmf done"));
    a.hang_up(&mut net, &mut d);
    // info and shortinfo: one INFO per digit; the dialplan goes on at once.
    for (user, ct, first) in [
        (
            "2001",
            "application/dtmf-relay",
            "Signal=1\r\nDuration=80\r\n",
        ),
        ("2002", "application/dtmf", "1\r\n"),
    ] {
        let mut a = Ua::new(&mut net, user, &format!("{user}pass"));
        let mut d = a.call_answered(&mut net, "700");
        let infos: Vec<Request> = (0..3).map(|_| info_answered(&mut net, &a)).collect();
        assert_eq!(infos[0].content_type(), Some(ct));
        assert_eq!(body(&infos[0]), first);
        assert!(body(&infos[2]).starts_with(if user == "2001" { "Signal=#" } else { "#" }));
        assert!(a.try_request(&mut net, Method::Info).is_none());
        a.hang_up(&mut net, &mut d);
    }
    // inband: tones in the caller's law.
    let mut a = Ua::new(&mut net, "2003", "2003pass");
    let (mut d, r) = a.call(&mut net, "700", &sdp(a.rtp, &[8], "sendrecv"));
    assert_eq!(r.status(), 200);
    a.ack(&mut net, &d, None);
    assert_eq!(tones_at(&mut net, &a, Law::Alaw), "12#");
    a.hang_up(&mut net, &mut d);
    net.assert_idle();
}
