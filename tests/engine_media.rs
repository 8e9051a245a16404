//! The RTP relay on the fake network: 1001 calls 1002 and RTP and RTCP flow through sipbox's
//! ports byte-exact; STUN and garbage are dropped; hold via re-INVITE keeps ports and
//! directions; µ-law ↔ A-law transcoding; 488 without a common codec; port exhaustion (503,
//! nothing leaked); rtptimeout.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::{TEST_EXTENSIONS_CONF, TEST_SIP_CONF};
use sipbox::sip::Method;
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn conf(general_extra: &str, callee_extra: &str) -> String {
    TEST_SIP_CONF
        .replace("[general]\n", &format!("[general]\n{general_extra}"))
        .replace("[1002](phone)\n", &format!("[1002](phone)\n{callee_extra}"))
}

fn net(general_extra: &str, callee_extra: &str, lo: u16, hi: u16) -> FakeNet {
    FakeNet::with_rtp(
        &conf(general_extra, callee_extra),
        TEST_EXTENSIONS_CONF,
        lo,
        hi,
    )
}

/// 1001 calls the registered `callee` (answering with `callee_pts`); returns the caller, its
/// dialog and the callee's INVITE.
fn call_to(
    net: &mut FakeNet,
    callee: &Ua,
    caller_pts: &[u8],
    callee_pts: &[u8],
) -> (Ua, Dialog, sipbox::sip::Request) {
    let mut a = Ua::new(net, "1001", "1001pass");
    let offer = sdp(a.rtp, caller_pts, "sendrecv");
    let mut d = a.call_start(net, "1002", &offer);
    let inv = callee.request(net, Method::Invite);
    callee.respond(
        net,
        &inv,
        200,
        Some(&sdp(callee.rtp, callee_pts, "sendrecv")),
    );
    let r = a.invite_outcome(net, &mut d);
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(net, &d, None);
    callee.request(net, Method::Ack);
    (a, d, inv)
}

fn registered_callee(net: &mut FakeNet) -> Ua {
    Ua::new(net, "1002", "1002pass").registered(net)
}

fn in_range(a: SocketAddr, lo: u16, hi: u16) -> bool {
    a.ip().is_loopback() && (lo..=hi).contains(&a.port()) && a.port().is_multiple_of(2)
}

fn body(r: &sipbox::sip::Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// The caller hangs up; the callee answers the relayed BYE.
fn hang_up(net: &mut FakeNet, a: &mut Ua, d: &mut Dialog, callee: &Ua) {
    a.hang_up(net, d);
    let bye = callee.request(net, Method::Bye);
    callee.respond(net, &bye, 200, None);
}

#[test]
fn rtp_and_rtcp_relayed_byte_exact_both_ways_and_hold_keeps_direction() {
    let mut net = net("", "", 31000, 31019);
    let callee = registered_callee(&mut net);
    let (mut a, mut d, inv) = call_to(&mut net, &callee, &[0, 101], &[0, 101]);
    let to_callee_leg = d.remote_media(); // sipbox's port for the caller
    let to_caller_leg = sdp_addr(&body(&inv)); // sipbox's port for the callee
    assert!(in_range(to_callee_leg, 31000, 31019), "{to_callee_leg}");
    assert!(in_range(to_caller_leg, 31000, 31019), "{to_caller_leg}");
    assert_ne!(to_callee_leg, to_caller_leg);
    assert!(!body(&inv).contains(&a.rtp.port().to_string()));

    // STUN and garbage are dropped, never forwarded.
    let mut stun = vec![0u8, 1, 0, 0];
    stun.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    stun.extend_from_slice(&[7u8; 12]);
    let dropped = net.engine.media_stats().dropped;
    a.send_rtp(&mut net, to_callee_leg, &stun);
    a.send_rtp(&mut net, to_callee_leg, b"garbage");
    assert_eq!(net.engine.media_stats().dropped, dropped + 2);
    assert!(net.quiet(callee.rtp));

    for i in 0..20u16 {
        let payload: Vec<u8> = (0..160).map(|b| (b as u8) ^ (i as u8)).collect();
        let p = rtp_packet(0, 100 + i, 160 * u32::from(i), 0xCA11E4, &payload);
        a.send_rtp(&mut net, to_callee_leg, &p);
        let got = callee.recv_rtp(&mut net, T).expect("caller→callee");
        assert_eq!(got.bytes, p, "caller→callee #{i}");
        assert_eq!(got.from, to_caller_leg, "out of the callee leg's port");
        let q = rtp_packet(0, 500 + i, 160 * u32::from(i), 0xCA11EE, &payload[..80]);
        callee.send_rtp(&mut net, to_caller_leg, &q);
        let got = a.recv_rtp(&mut net, T).expect("callee→caller");
        assert_eq!(got.bytes, q, "callee→caller #{i}");
        assert_eq!(got.from, to_callee_leg);
        net.advance(Duration::from_millis(20));
    }
    // RTCP receiver reports, both ways, on the odd ports.
    let rr = |ssrc: u32| {
        let mut v = vec![0x80, 201, 0, 1];
        v.extend_from_slice(&ssrc.to_be_bytes());
        v
    };
    let rtcp_of = |a: SocketAddr| SocketAddr::new(a.ip(), a.port() + 1);
    a.send_rtcp(&mut net, rtcp_of(to_callee_leg), &rr(1));
    assert_eq!(callee.recv_rtcp(&mut net, T).map(|d| d.bytes), Some(rr(1)));
    callee.send_rtcp(&mut net, rtcp_of(to_caller_leg), &rr(2));
    assert_eq!(a.recv_rtcp(&mut net, T).map(|d| d.bytes), Some(rr(2)));

    // Hold: sipbox answers the caller's sendonly itself with recvonly on the same port
    // (Asterisk's behaviour: the callee is not re-INVITEd, it hears music on hold).
    a.in_dialog(
        &mut net,
        &mut d,
        "INVITE",
        Some(&sdp(a.rtp, &[0, 101], "sendonly")),
    );
    let ok = a.final_response(&mut net);
    assert_eq!(
        (ok.status(), ok.cseq().method.clone()),
        (200, Method::Invite)
    );
    let ok_body = String::from_utf8_lossy(ok.body()).into_owned();
    assert_eq!(sdp_direction(&ok_body), "recvonly");
    assert_eq!(
        sdp_addr(&ok_body),
        to_callee_leg,
        "the caller's port stays too"
    );
    a.ack(&mut net, &d, None);
    assert!(
        callee.try_request(&mut net, Method::Invite).is_none(),
        "the held callee is not re-INVITEd"
    );

    // Resume, and media flows again.
    a.in_dialog(
        &mut net,
        &mut d,
        "INVITE",
        Some(&sdp(a.rtp, &[0, 101], "sendrecv")),
    );
    let ok = a.final_response(&mut net);
    assert_eq!(
        (ok.status(), ok.cseq().method.clone()),
        (200, Method::Invite)
    );
    assert_eq!(
        sdp_direction(&String::from_utf8_lossy(ok.body())),
        "sendrecv"
    );
    a.ack(&mut net, &d, None);
    let p = rtp_packet(0, 200, 99_999, 0xCA11E4, &[0x55; 160]);
    a.send_rtp(&mut net, to_callee_leg, &p);
    assert_eq!(callee.recv_rtp(&mut net, T).map(|d| d.bytes), Some(p));

    hang_up(&mut net, &mut a, &mut d, &callee);
    assert!(net.wait_log("ended (ByeFrom(0))", T), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn ulaw_caller_is_transcoded_for_an_alaw_callee() {
    let mut net = net("", "disallow=all\nallow=alaw\n", 31040, 31059);
    let callee = registered_callee(&mut net);
    let (mut a, mut d, inv) = call_to(&mut net, &callee, &[0, 101], &[8, 101]);
    assert!(body(&inv).contains("RTP/AVP 8 101"), "{}", body(&inv));
    assert!(d.remote_media().port() != 0);
    let ulaw: Vec<u8> = (0..160u16).map(|b| b as u8).collect();
    let p = rtp_packet(0, 1, 0, 7, &ulaw);
    a.send_rtp(&mut net, d.remote_media(), &p);
    let got = callee
        .recv_rtp(&mut net, T)
        .expect("transcoded packet")
        .bytes;
    let mut want = ulaw.clone();
    sipbox::media::g711::transcode_ulaw_to_alaw_in_place(&mut want);
    assert_eq!(got[1], 8, "PT rewritten to PCMA");
    assert_eq!(&got[12..], &want[..]);
    // And back: A-law from the callee arrives as µ-law.
    let q = rtp_packet(8, 1, 0, 9, &want);
    callee.send_rtp(&mut net, sdp_addr(&body(&inv)), &q);
    let back = a.recv_rtp(&mut net, T).expect("packet back").bytes;
    assert_eq!(back[1], 0);
    let mut again = want.clone();
    sipbox::media::g711::transcode_alaw_to_ulaw_in_place(&mut again);
    assert_eq!(&back[12..], &again[..]);
    // /metrics counts both packets as transcoded; the status page shows each leg's law.
    assert_eq!(net.engine.media_stats().transcoded, 2);
    let snap = net.engine.status_snapshot(net.now);
    let codecs: Vec<_> = snap.calls[0].legs.iter().map(|l| l.codec.clone()).collect();
    assert_eq!(codecs, [Some("ulaw".to_string()), Some("alaw".to_string())]);
    let text = sipbox::status::metrics::render(&snap);
    assert!(
        text.contains("\nsipbox_rtp_packets_transcoded_total 2\n"),
        "{text}"
    );
    hang_up(&mut net, &mut a, &mut d, &callee);
    net.assert_idle();
}

#[test]
fn no_common_codec_is_488() {
    let mut net = net("", "disallow=all\nallow=g722\n", 31060, 31069);
    let callee = registered_callee(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0, 101], "sendrecv");
    let (_d, resp) = a.call(&mut net, "1002", &offer);
    assert_eq!(resp.status(), 488, "{resp:?}");
    assert!(
        callee.try_request(&mut net, Method::Invite).is_none(),
        "the callee is never rung"
    );
    net.assert_idle();
}

#[test]
fn port_exhaustion_is_503_and_nothing_leaks() {
    // Two pairs: exactly one relayed call.
    let mut net = net("", "", 31080, 31083);
    let callee = registered_callee(&mut net);
    let (mut a, mut d, _) = call_to(&mut net, &callee, &[0, 101], &[0, 101]);
    assert_eq!(net.engine.media_pairs_in_use(), 2);
    let mut other = Ua::new(&mut net, "1003", "1003pass");
    let offer = sdp(other.rtp, &[0], "sendrecv");
    let (_d, resp) = other.call(&mut net, "1002", &offer);
    assert_eq!(resp.status(), 503, "{resp:?}");
    assert!(net.wait_log("no RTP port pair left", T));
    hang_up(&mut net, &mut a, &mut d, &callee);
    assert!(net.wait_log("ended (ByeFrom(0))", T));
    assert_eq!(net.engine.media_pairs_in_use(), 0);
    // The ports came back: the next call gets both pairs again.
    let (mut a2, mut d2, inv) = call_to(&mut net, &callee, &[0], &[0]);
    assert!(in_range(d2.remote_media(), 31080, 31083));
    assert!(in_range(sdp_addr(&body(&inv)), 31080, 31083));
    hang_up(&mut net, &mut a2, &mut d2, &callee);
    net.assert_idle();
}

#[test]
fn rtptimeout_hangs_up_both_legs() {
    let mut net = net("rtptimeout=1\n", "", 31100, 31119);
    let callee = registered_callee(&mut net);
    let (mut a, _d, _) = call_to(&mut net, &callee, &[0], &[0]);
    let t0 = net.now;
    // Nobody sends RTP: within ~1 s both legs get a BYE.
    a.wait = Duration::from_secs(4);
    let b1 = a.try_request(&mut net, Method::Bye);
    assert!(net.now - t0 < Duration::from_secs(4), "{:?}", net.now - t0);
    let b2 = callee.try_request(&mut net, Method::Bye);
    assert!(b1.is_some() && b2.is_some(), "BYE on both legs");
    assert!(net.logged("(rtptimeout); hanging up"), "{:?}", net.log());
    a.respond(&mut net, &b1.unwrap(), 200, None);
    callee.respond(&mut net, &b2.unwrap(), 200, None);
    net.assert_idle();
}

#[test]
fn rtptimeout_spares_a_call_with_media_and_fires_about_when_it_stops() {
    let mut net = net("rtptimeout=1\n", "", 31120, 31139);
    let callee = registered_callee(&mut net);
    let (a, d, inv) = call_to(&mut net, &callee, &[0], &[0]);
    let to_caller_leg = sdp_addr(&body(&inv));
    // Three seconds of 20 ms packets both ways: no BYE.
    for i in 0..150u16 {
        let p = rtp_packet(0, i, 160 * u32::from(i), 1, &[0xff; 160]);
        a.send_rtp(&mut net, d.remote_media(), &p);
        callee.send_rtp(&mut net, to_caller_leg, &p);
        net.advance(Duration::from_millis(20));
    }
    assert!(!net.logged("rtptimeout"), "{:?}", net.log());
    net.drain(a.rtp);
    net.drain(callee.rtp);
    let stopped = net.now;
    let bye = a.request(&mut net, Method::Bye);
    let waited = net.now - stopped;
    assert!(
        waited >= Duration::from_millis(900) && waited <= Duration::from_secs(3),
        "BYE {waited:?} after the last packet"
    );
    a.respond(&mut net, &bye, 200, None);
    let bye = callee.request(&mut net, Method::Bye);
    callee.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}

#[test]
fn re_invites_crossing_in_the_bridge_get_491() {
    let mut net = net("", "", 31200, 31239);
    let mut callee = registered_callee(&mut net);
    let (mut a, mut d, inv) = call_to(&mut net, &callee, &[0], &[0]);
    let mut back = callee.callee_dialog(&net, &inv);
    // The caller's re-INVITE is on its way to the callee when the callee sends its own.
    a.in_dialog(
        &mut net,
        &mut d,
        "INVITE",
        Some(&sdp(a.rtp, &[0], "sendrecv")),
    );
    let re = callee.request(&mut net, Method::Invite);
    callee.in_dialog(
        &mut net,
        &mut back,
        "INVITE",
        Some(&sdp(callee.rtp, &[0], "sendrecv")),
    );
    let glare = callee.final_response(&mut net);
    assert_eq!(glare.status(), 491, "{glare:?}");
    assert!(net.logged("re-INVITE glare, 491"));
    // The first completes; afterwards the callee's retry goes through.
    callee.respond(&mut net, &re, 200, Some(&sdp(callee.rtp, &[0], "sendrecv")));
    assert_eq!(a.final_response(&mut net).status(), 200);
    a.ack(&mut net, &d, None);
    callee.in_dialog(
        &mut net,
        &mut back,
        "INVITE",
        Some(&sdp(callee.rtp, &[0], "sendrecv")),
    );
    let relayed = a.request(&mut net, Method::Invite);
    assert_eq!(sdp_direction(&body(&relayed)), "sendrecv");
}
