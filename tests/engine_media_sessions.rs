//! More of the relay on the fake network: RFC 4733 events relayed between phones, hold from
//! the callee's side, early media from the callee through Dial, two calls on separate ports,
//! and nothing relayed once a call ended.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::{TEST_EXTENSIONS_CONF, TEST_SIP_CONF};
use sipbox::sip::{Method, Request};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

fn setup(lo: u16) -> (FakeNet, Ua) {
    let mut net = FakeNet::with_rtp(TEST_SIP_CONF, TEST_EXTENSIONS_CONF, lo, lo + 19);
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    (net, callee)
}

/// 1001 → 1002 answered with PCMU + telephone-event on both sides.
fn bridged(net: &mut FakeNet, callee: &Ua) -> (Ua, Dialog, Request) {
    let mut a = Ua::new(net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0, 101], "sendrecv");
    let mut d = a.call_start(net, "1002", &offer);
    let inv = callee.answer(net, &[0, 101]);
    assert_eq!(a.invite_outcome(net, &mut d).status(), 200);
    a.ack(net, &d, None);
    (a, d, inv)
}

#[test]
fn rfc4733_events_are_relayed_between_phones_unchanged() {
    let (mut net, callee) = setup(32000);
    let (mut a, mut d, _inv) = bridged(&mut net, &callee);
    a.send_dtmf(&mut net, d.remote_media(), 101, 7, 300, 8000);
    let got: Vec<Rtp> = callee.collect_rtp(&mut net, 10, Duration::from_millis(200));
    assert_eq!(got.len(), 6, "three updates and three end packets");
    assert!(got.iter().all(|r| r.pt == 101 && r.payload[0] == 7));
    assert!(got[0].marker);
    assert_eq!(got.iter().filter(|r| r.payload[1] & 0x80 != 0).count(), 3);
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn callee_puts_the_call_on_hold_with_inactive_and_resumes() {
    let (mut net, mut callee) = setup(32020);
    let (mut a, mut d, inv) = bridged(&mut net, &callee);
    let to_caller_leg = sdp_addr(&body(&inv));
    let mut bd = callee.callee_dialog(&net, &inv);
    // sipbox answers the hold itself (inactive → inactive, RFC 3264 §8.4) on the same port;
    // the caller is not re-INVITEd.
    callee.in_dialog(
        &mut net,
        &mut bd,
        "INVITE",
        Some(&sdp(callee.rtp, &[0, 101], "inactive")),
    );
    let ok = callee.final_response(&mut net);
    assert_eq!(ok.status(), 200);
    let ok_body = String::from_utf8_lossy(ok.body()).into_owned();
    assert_eq!(sdp_direction(&ok_body), "inactive");
    assert_eq!(sdp_addr(&ok_body), to_caller_leg, "same port on hold");
    callee.ack(&mut net, &bd, None);
    assert!(a.try_request(&mut net, Method::Invite).is_none());
    // Resume from the callee; media flows again.
    let ok = callee.reinvite(&mut net, &mut bd, &sdp(callee.rtp, &[0, 101], "sendrecv"));
    assert_eq!(
        sdp_direction(&String::from_utf8_lossy(ok.body())),
        "sendrecv"
    );
    let p = rtp_packet(0, 9, 900, 0xB0B, &[0x11; 160]);
    callee.send_rtp(&mut net, to_caller_leg, &p);
    assert_eq!(a.recv_rtp(&mut net, T).map(|d| d.bytes), Some(p));
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn early_media_from_the_callee_reaches_the_caller_before_the_answer() {
    let (mut net, callee) = setup(32040);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "1002", &offer);
    let inv = callee.request(&mut net, Method::Invite);
    callee.respond(
        &mut net,
        &inv,
        183,
        Some(&sdp(callee.rtp, &[0], "sendrecv")),
    );
    let p183 = a.response_with(&mut net, 183);
    let early = String::from_utf8_lossy(p183.body()).into_owned();
    let ours = sdp_addr(&early);
    assert!(
        (32040..=32059).contains(&ours.port()),
        "sipbox's port: {early}"
    );
    let p = rtp_packet(0, 1, 160, 0xEA, &[0x5A; 160]);
    callee.send_rtp(&mut net, sdp_addr(&body(&inv)), &p);
    let got = a.recv_rtp(&mut net, T).expect("early media");
    assert_eq!((got.from, got.bytes), (ours, p));
    callee.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(callee.rtp, &[0], "sendrecv")),
    );
    let ok = a.invite_outcome(&mut net, &mut d);
    assert_eq!(ok.status(), 200);
    assert_eq!(d.remote_media(), ours, "the same port after the answer");
    a.ack(&mut net, &d, None);
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn two_calls_get_their_own_ports_and_do_not_mix() {
    let (mut net, callee) = setup(32060);
    let (mut a1, mut d1, inv1) = bridged(&mut net, &callee);
    let (mut a2, mut d2, inv2) = bridged(&mut net, &callee);
    let legs = [
        d1.remote_media(),
        sdp_addr(&body(&inv1)),
        d2.remote_media(),
        sdp_addr(&body(&inv2)),
    ];
    for (i, x) in legs.iter().enumerate() {
        for y in &legs[i + 1..] {
            assert_ne!(x, y, "{legs:?}");
        }
    }
    // The callee phone uses one RTP port for both calls; the source port tells them apart.
    let p1 = rtp_packet(0, 1, 0, 1, &[1; 160]);
    let p2 = rtp_packet(0, 1, 0, 2, &[2; 160]);
    a1.send_rtp(&mut net, d1.remote_media(), &p1);
    a2.send_rtp(&mut net, d2.remote_media(), &p2);
    let g1 = callee.recv_rtp(&mut net, T).unwrap();
    let g2 = callee.recv_rtp(&mut net, T).unwrap();
    assert_eq!((g1.from, g1.bytes), (legs[1], p1));
    assert_eq!((g2.from, g2.bytes), (legs[3], p2));
    assert!(net.quiet(a1.rtp) && net.quiet(a2.rtp));
    a1.hang_up(&mut net, &mut d1);
    callee.answer_bye(&mut net);
    a2.hang_up(&mut net, &mut d2);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn nothing_is_relayed_after_the_call_ends_and_its_pairs_are_free() {
    let (mut net, callee) = setup(32080);
    let (mut a, mut d, inv) = bridged(&mut net, &callee);
    let legs = [d.remote_media(), sdp_addr(&body(&inv))];
    assert!(legs.iter().all(|l| net.is_bound(*l)));
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.advance(Duration::from_secs(1));
    assert_eq!(net.engine.media_pairs_in_use(), 0);
    for l in legs {
        a.send_rtp(&mut net, l, &rtp_packet(0, 1, 0, 1, &[0; 160]));
    }
    // A port may be back in the idle reserve (bound, dropping strangers) or closed.
    assert!(net.quiet(callee.rtp), "nothing relayed after the call");
    net.assert_idle();
}
