//! DTMF-driven transfers (Dial `t`/`T`, features.conf `blindxfer` `#` and `atxfer` `*2`) on
//! the fake network with a fake clock: blind success, a blind transfer to an unknown number
//! (back to the bridge) and to a target that fails (the transferee's dialplan goes on),
//! attended complete (the transferer hangs up), abort (`*1`) and a busy target, and digits
//! that are no feature code reaching the other leg.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::media::dtmf::events::Event;
use sipbox::media::sounds::MemorySounds;
use sipbox::sip::{Method, Request};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _100X,1,Dial(SIP/${EXTEN},10,T)
 same => n,Log(NOTICE,dial ended ${DIALSTATUS})
 same => n,Hangup()
";

fn setup(lo: u16) -> FakeNet {
    let mut sounds = MemorySounds::default();
    // 200 ms prompts of a quiet tone.
    let samples: Vec<i16> = (0..1600).map(|n| ((n % 20) as i16 - 10) * 100).collect();
    let wav = common::rtp::wav_bytes(&samples);
    sounds.insert("pbx-transfer", wav.clone());
    sounds.insert("pbx-invalid", wav);
    FakeNet::with_rtp(TEST_SIP_CONF, EXTENSIONS, lo, lo + 39).with_sounds(sounds)
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

struct Bridged {
    a: Ua,
    d: Dialog,
    b: Ua,
    /// Where 1002 sends its RTP (sipbox's port for it).
    b_to: SocketAddr,
    /// 1002's INVITE.
    b_inv: Request,
    c: Ua,
}

/// 1001 calls 1002 (Dial with `T`: the caller may transfer); 1003 is registered too.
fn bridged(net: &mut FakeNet) -> Bridged {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let c = Ua::new(net, "1003", "1003pass").registered(net);
    let mut a = Ua::new(net, "1001", "1001pass");
    let mut d = a.call_start(net, "1002", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let inv = b.answer(net, &[0, 101]);
    assert_eq!(a.invite_outcome(net, &mut d).status(), 200);
    a.ack(net, &d, None);
    let b_to = sdp_addr(&body(&inv));
    Bridged {
        a,
        d,
        b,
        b_to,
        b_inv: inv,
        c,
    }
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// `digits` from `ua` as RFC 4733 events, one 80 ms event each, 40 ms apart.
fn press(net: &mut FakeNet, ua: &Ua, to: SocketAddr, digits: &str) {
    for d in digits.chars() {
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ev = sipbox::media::dtmf::event_of(d).unwrap();
        ua.send_dtmf(net, to, 101, ev, (n * 10) as u16, n * 2000);
        net.advance(Duration::from_millis(40));
    }
}

/// RTP from `from` (to its sipbox port `to`) reaches `at`.
#[track_caller]
fn audio_flows(net: &mut FakeNet, from: &Ua, to: SocketAddr, at: &Ua) {
    let marker = [0x5Au8; 160];
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = rtp_packet(0, n as u16, n * 160, 0xFEED, &marker);
    from.send_rtp(net, to, &p);
    let got = at.collect_rtp(net, 50, Duration::from_millis(100));
    assert!(
        got.iter().any(|r| r.ssrc == 0xFEED && r.payload == marker),
        "{} → {}: {got:?}",
        from.user,
        at.user
    );
}

/// The digits (RFC 4733 ends, once per event) at `ua` until quiet.
fn digits_at(net: &mut FakeNet, ua: &Ua) -> String {
    let mut out = String::new();
    let mut last = None;
    for r in ua.collect_rtp(net, 200, Duration::from_millis(300)) {
        if r.pt != 101 {
            continue;
        }
        let e = Event::parse(&r.payload).unwrap();
        if e.end && last != Some(r.ts) {
            last = Some(r.ts);
            out.push(sipbox::media::dtmf::digit_of(e.event).unwrap());
        }
    }
    out
}

#[test]
fn blind_transfer_by_hash_sends_the_transferee_to_the_target_and_hangs_up_the_transferer() {
    let mut net = setup(35000);
    let Bridged {
        a, d, b, b_to, c, ..
    } = bridged(&mut net);
    let a_to = d.remote_media();
    press(&mut net, &a, a_to, "#");
    assert!(net.logged("starts a blind transfer"), "{:?}", net.log());
    // The transferer hears the prompt (sipbox's own stream), not the transferee.
    let heard = a.collect_rtp(&mut net, 20, Duration::from_millis(60));
    assert!(
        heard.iter().any(|r| r.pt == 0 && r.ssrc != 0xFEED),
        "{heard:?}"
    );
    press(&mut net, &a, a_to, "1003");
    assert_eq!(digits_at(&mut net, &b), "", "the transferee heard no digit");
    // The transferer is hung up; the target rings with the transferee's session.
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    let inv = c.answer(&mut net, &[0, 101]);
    let c_to = sdp_addr(&body(&inv));
    audio_flows(&mut net, &b, b_to, &c);
    audio_flows(&mut net, &c, c_to, &b);
    assert!(
        net.logged("transfers leg 1 to '1003@internal' (DTMF)"),
        "{:?}",
        net.log()
    );
    let mut cd = c.callee_dialog(&net, &inv);
    let mut c = c;
    c.hang_up(&mut net, &mut cd);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn blind_transfer_to_an_unknown_number_returns_and_to_a_failing_target_goes_on() {
    let mut net = setup(35040);
    let Bridged { a, d, b, b_to, .. } = bridged(&mut net);
    let a_to = d.remote_media();
    // Nothing dialled within transferdigittimeout (3 s): the bridge is back.
    press(&mut net, &a, a_to, "#");
    net.advance(Duration::from_secs(4));
    assert!(
        net.logged("'@internal': no such extension"),
        "{:?}",
        net.log()
    );
    audio_flows(&mut net, &a, a_to, &b);
    // A number no extension can begin: back at once, without waiting.
    press(&mut net, &a, a_to, "#5");
    assert!(
        net.logged("'5@internal': no such extension"),
        "{:?}",
        net.log()
    );
    assert!(a.try_request(&mut net, Method::Bye).is_none());
    // The invalid prompt plays to the transferer, then the bridge carries audio both ways.
    net.advance(Duration::from_millis(300));
    audio_flows(&mut net, &a, a_to, &b);
    audio_flows(&mut net, &b, b_to, &a);
    // 1009 exists (_100X) but nobody is there: the transferee's dialplan goes on and ends.
    press(&mut net, &a, a_to, "#1009");
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    assert!(net.wait_log("dial ended CHANUNAVAIL", T), "{:?}", net.log());
    b.answer_bye(&mut net);
    net.assert_idle();
}

/// 1001 presses `*2` and dials 1003, which answers; returns 1003's INVITE.
fn consult(net: &mut FakeNet, s: &Bridged) -> Request {
    let a_to = s.d.remote_media();
    press(net, &s.a, a_to, "*21003");
    assert!(net.logged("starts an attended transfer"), "{:?}", net.log());
    let inv = s.c.answer(net, &[0, 101]);
    let c_to = sdp_addr(&body(&inv));
    audio_flows(net, &s.a, a_to, &s.c);
    audio_flows(net, &s.c, c_to, &s.a);
    inv
}

#[test]
fn attended_transfer_completes_when_the_transferer_hangs_up() {
    let mut net = setup(35080);
    let mut s = bridged(&mut net);
    let inv = consult(&mut net, &s);
    let c_to = sdp_addr(&body(&inv));
    // The transferee heard no audio from either meanwhile (music, silent without files).
    let to_b = s.b.collect_rtp(&mut net, 50, Duration::from_millis(60));
    assert!(to_b.iter().all(|r| r.ssrc != 0xFEED), "{to_b:?}");
    let (a, d) = (&mut s.a, &mut s.d);
    a.hang_up(&mut net, d);
    assert!(
        net.logged("attended transfer: leg 1 joined with leg 2"),
        "{:?}",
        net.log()
    );
    audio_flows(&mut net, &s.b, s.b_to, &s.c);
    audio_flows(&mut net, &s.c, c_to, &s.b);
    let mut cd = s.c.callee_dialog(&net, &inv);
    s.c.hang_up(&mut net, &mut cd);
    s.b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn attended_transfer_abort_and_a_busy_target_return_to_the_transferee() {
    let mut net = setup(35120);
    let mut s = bridged(&mut net);
    let a_to = s.d.remote_media();
    consult(&mut net, &s);
    press(&mut net, &s.a, a_to, "*1");
    s.c.answer_bye(&mut net);
    assert!(net.logged("attended transfer aborted"));
    audio_flows(&mut net, &s.a, a_to, &s.b);
    audio_flows(&mut net, &s.b, s.b_to, &s.a);
    // Again, and the target is busy.
    press(&mut net, &s.a, a_to, "*21003");
    let inv = s.c.request(&mut net, Method::Invite);
    s.c.respond(&mut net, &inv, 486, None);
    s.c.request(&mut net, Method::Ack);
    assert!(net.wait_log("is back with leg", T));
    audio_flows(&mut net, &s.a, a_to, &s.b);
    audio_flows(&mut net, &s.b, s.b_to, &s.a);
    let (a, d) = (&mut s.a, &mut s.d);
    a.hang_up(&mut net, d);
    s.b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn digits_that_are_no_feature_code_reach_the_other_leg() {
    let mut net = setup(35160);
    let mut s = bridged(&mut net);
    let a_to = s.d.remote_media();
    press(&mut net, &s.a, a_to, "5");
    assert_eq!(digits_at(&mut net, &s.b), "5", "at once: 5 begins no code");
    press(&mut net, &s.a, a_to, "*");
    assert_eq!(digits_at(&mut net, &s.b), "", "held: '*' may begin *2");
    net.advance(Duration::from_millis(1000));
    assert_eq!(digits_at(&mut net, &s.b), "*", "after featuredigittimeout");
    press(&mut net, &s.a, a_to, "*7");
    assert_eq!(digits_at(&mut net, &s.b), "*7");
    // The callee has no `t`: its '#' is relayed as it is (its own SSRC).
    s.b.send_dtmf(&mut net, s.b_to, 101, 11, 700, 9000);
    let got = s.a.collect_rtp(&mut net, 20, Duration::from_millis(200));
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(|r| r.ssrc == 0xD7F0 && r.payload[0] == 11));
    assert!(!net.logged("transfer of leg"));
    let (a, d) = (&mut s.a, &mut s.d);
    a.hang_up(&mut net, d);
    s.b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn attended_transfer_when_the_transferer_leaves_while_the_target_rings_or_the_transferee_leaves() {
    let mut net = setup(35200);
    let mut s = bridged(&mut net);
    let a_to = s.d.remote_media();
    // The transferer starts by SIP INFO this time, then dials by events.
    let hash = Some(("application/dtmf-relay", "Signal=*\r\nDuration=100\r\n"));
    s.a.in_dialog_typed(&mut net, &mut s.d, "INFO", hash);
    assert_eq!(s.a.final_response(&mut net).status(), 200);
    press(&mut net, &s.a, a_to, "21003");
    let inv = s.c.request(&mut net, Method::Invite);
    s.c.respond(&mut net, &inv, 180, None);
    let (a, d) = (&mut s.a, &mut s.d);
    a.hang_up(&mut net, d);
    assert!(
        net.logged("the transferer left while the target rings"),
        "{:?}",
        net.log()
    );
    s.c.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(s.c.rtp, &[0, 101], "sendrecv")),
    );
    s.c.request(&mut net, Method::Ack);
    let c_to = sdp_addr(&body(&inv));
    audio_flows(&mut net, &s.b, s.b_to, &s.c);
    audio_flows(&mut net, &s.c, c_to, &s.b);
    let mut cd = s.c.callee_dialog(&net, &inv);
    s.c.hang_up(&mut net, &mut cd);
    s.b.answer_bye(&mut net);
    net.assert_idle();

    // The transferee hangs up during the consultation: the transferer keeps the target.
    let mut s = bridged(&mut net);
    let a_to = s.d.remote_media();
    let inv = consult(&mut net, &s);
    let c_to = sdp_addr(&body(&inv));
    let mut bd = s.b.callee_dialog(&net, &s.b_inv);
    s.b.hang_up(&mut net, &mut bd);
    assert!(net.logged("the transferee hung up during the consultation"));
    audio_flows(&mut net, &s.a, a_to, &s.c);
    audio_flows(&mut net, &s.c, c_to, &s.a);
    let (a, d) = (&mut s.a, &mut s.d);
    a.hang_up(&mut net, d);
    s.c.answer_bye(&mut net);
    net.assert_idle();
}
