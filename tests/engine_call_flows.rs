//! The SIPp call scenarios as scripted-UA scenarios on the fake network: caller (1001,
//! digest-authenticated) → sipbox → callee (1002, registered): answered with either side
//! hanging up, busy (486), CANCEL while ringing, unregistered callee (480) and no extension
//! (404). The lossy SIPp run stays on the binary (tests/sipp_calls.rs).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use common::{TEST_EXTENSIONS_CONF, TEST_SIP_CONF};
use sipbox::sip::Method;
use std::time::Duration;

fn setup() -> (FakeNet, Ua, Ua) {
    let mut net = FakeNet::new(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let caller = Ua::new(&mut net, "1001", "1001pass");
    (net, caller, callee)
}

/// 1001 calls 1002 and the callee answers after ringing; returns the caller's dialog and the
/// INVITE the callee got.
fn answered(net: &mut FakeNet, a: &mut Ua, b: &Ua) -> (Dialog, sipbox::sip::Request) {
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(net, "1002", &offer);
    let inv = b.answer(net, &[0]);
    let ok = a.invite_outcome(net, &mut d);
    assert_eq!(ok.status(), 200, "{ok:?}");
    assert!(!ok.body().is_empty(), "the callee's SDP reaches the caller");
    a.ack(net, &d, None);
    (d, inv)
}

#[test]
fn answered_call_caller_hangs_up() {
    let (mut net, mut a, b) = setup();
    for _ in 0..3 {
        let (mut d, _) = answered(&mut net, &mut a, &b);
        net.advance(Duration::from_millis(300));
        a.hang_up(&mut net, &mut d);
        b.answer_bye(&mut net);
    }
    assert_eq!(LogCapture::count("answered by leg"), 3, "{:?}", net.log());
    assert_eq!(LogCapture::count("ended (ByeFrom(0))"), 3);
    net.assert_idle();
}

#[test]
fn answered_call_callee_hangs_up() {
    let (mut net, mut a, mut b) = setup();
    for _ in 0..2 {
        let (_d, inv) = answered(&mut net, &mut a, &b);
        net.advance(Duration::from_millis(300));
        let mut bd = b.callee_dialog(&net, &inv);
        b.in_dialog(&mut net, &mut bd, "BYE", None);
        let bye = a.request(&mut net, Method::Bye);
        a.respond(&mut net, &bye, 200, None);
        assert_eq!(b.final_response(&mut net).status(), 200, "BYE answered");
    }
    assert_eq!(
        LogCapture::count("ended (ByeFrom(1))"),
        2,
        "{:?}",
        net.log()
    );
    net.assert_idle();
}

#[test]
fn busy_callee_gives_486() {
    let (mut net, mut a, b) = setup();
    for _ in 0..2 {
        let offer = sdp(a.rtp, &[0], "sendrecv");
        let mut d = a.call_start(&mut net, "1002", &offer);
        let inv = b.request(&mut net, Method::Invite);
        b.respond(&mut net, &inv, 486, None);
        assert_eq!(
            b.request(&mut net, Method::Ack).cseq().seq,
            inv.cseq().seq,
            "sipbox ACKs the 486"
        );
        assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486);
    }
    net.assert_idle();
}

#[test]
fn caller_cancel_while_ringing() {
    let (mut net, mut a, b) = setup();
    for _ in 0..2 {
        let offer = sdp(a.rtp, &[0], "sendrecv");
        let mut d = a.call_start(&mut net, "1002", &offer);
        let inv = b.request(&mut net, Method::Invite);
        b.respond(&mut net, &inv, 180, None);
        assert_eq!(a.response_with(&mut net, 180).status(), 180);
        a.cancel(&mut net, &d);
        assert_eq!(a.response_with(&mut net, 200).cseq().method, Method::Cancel);
        let cancel = b.request(&mut net, Method::Cancel);
        b.respond(&mut net, &cancel, 200, None);
        b.respond(&mut net, &inv, 487, None);
        b.request(&mut net, Method::Ack);
        assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 487);
    }
    assert!(net.logged("cancelled by the caller"), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn unregistered_callee_gives_480_and_unknown_extension_404() {
    let (mut net, mut a, _b) = setup();
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let (_, r) = a.call(&mut net, "1003", &offer);
    assert_eq!(r.status(), 480, "1003 is not registered: 480");
    let (_, r) = a.call(&mut net, "777", &offer);
    assert_eq!(r.status(), 404, "no extension 777: 404");
    net.assert_idle();
}

#[test]
fn max_forwards_is_decremented_and_an_exhausted_count_is_483() {
    let (mut net, mut a, b) = setup();
    a.max_forwards = 10;
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "1002", &offer);
    let inv = b.request(&mut net, Method::Invite);
    assert_eq!(inv.max_forwards(), Some(9), "one hop spent: {inv:?}");
    b.respond(&mut net, &inv, 486, None);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486);

    // The last hop: forking again would let two PBXes routing to each other loop.
    a.max_forwards = 1;
    let mut d = a.call_start(&mut net, "1002", &offer);
    let r = a.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 483, "{r:?}");
    assert!(
        b.try_request(&mut net, Method::Invite).is_none(),
        "the callee never rings"
    );
    assert!(net.logged("Max-Forwards exhausted"), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn an_invite_that_comes_back_with_our_loop_marker_is_482() {
    let (mut net, mut a, b) = setup();
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "1002", &offer);
    let inv = b.request(&mut net, Method::Invite);
    let marker = inv
        .headers()
        .get(&sipbox::sip::HeaderName::SipboxLoop)
        .expect("outbound INVITEs carry our loop marker")
        .to_string();
    assert_eq!(marker.len(), 16, "{marker}");
    // The callee is another PBX that routes the number straight back to us, copying the
    // markers as a second sipbox would (adding its own).
    let mut back = Ua::new(&mut net, "1002", "1002pass");
    let d2 = back.dialog_to(net.sipbox, "1002");
    let text = back.invite_text_for(&d2, &offer).replacen(
        "\r\n",
        &format!("\r\nX-Sipbox-Loop: 00000000000000aa,{marker}\r\n"),
        1,
    );
    back.send(&mut net, &text);
    let r = back.final_response(&mut net);
    assert_eq!(r.status(), 482, "{r:?}");
    assert!(net.logged("came back to this sipbox"));
    b.respond(&mut net, &inv, 486, None);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486);
    net.assert_idle();
}
