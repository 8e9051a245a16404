//! The RTP socket pool on the fake network: a call's pairs stay open after it ends, dropping
//! what the ended call's phones still send for the quarantine; later calls get them back
//! without a bind (drained first); the relay's forwarding record carries a plain call.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::{TEST_EXTENSIONS_CONF, TEST_SIP_CONF};
use sipbox::media::ports::QUARANTINE;
use sipbox::sip::{Method, Request};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// 20 pairs: the pool keeps at most 10 idle.
fn setup(lo: u16) -> (FakeNet, Ua) {
    let mut net = FakeNet::with_rtp(TEST_SIP_CONF, TEST_EXTENSIONS_CONF, lo, lo + 39);
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    (net, callee)
}

/// 1001 (a new phone each time) → 1002, answered with PCMU; returns sipbox's two ports
/// (toward the caller, toward the callee) too.
fn bridged(net: &mut FakeNet, callee: &Ua) -> (Ua, Dialog, [SocketAddr; 2]) {
    let mut a = Ua::new(net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(net, "1002", &offer);
    let inv = callee.answer(net, &[0]);
    assert_eq!(a.invite_outcome(net, &mut d).status(), 200);
    a.ack(net, &d, None);
    let legs = [d.remote_media(), sdp_addr(&body(&inv))];
    (a, d, legs)
}

/// RTP flows both ways through `legs`.
fn relays(net: &mut FakeNet, a: &Ua, callee: &Ua, legs: [SocketAddr; 2], seq: u16) {
    let p = rtp_packet(0, seq, 160 * u32::from(seq), 0xA, &[0x11; 160]);
    a.send_rtp(net, legs[0], &p);
    let got = callee.recv_rtp(net, T).expect("caller → callee");
    assert_eq!((got.from, got.bytes), (legs[1], p.clone()));
    callee.send_rtp(net, legs[1], &p);
    let got = a.recv_rtp(net, T).expect("callee → caller");
    assert_eq!((got.from, got.bytes), (legs[0], p));
}

#[test]
fn a_late_packet_of_an_ended_call_is_dropped_and_never_reaches_the_next_call() {
    let (mut net, callee) = setup(33000);
    let (mut a, mut d, legs) = bridged(&mut net, &callee);
    relays(&mut net, &a, &callee, legs, 1);
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    assert_eq!(net.engine.media_pairs_in_use(), 0);
    // In quarantine: still bound, and what the old phones send reaches nobody.
    net.advance(QUARANTINE / 4);
    assert!(legs.iter().all(|l| net.is_bound(*l)), "kept open");
    for (i, l) in legs.iter().enumerate() {
        let late = rtp_packet(0, 2 + i as u16, 320, 0xA, &[0x22; 160]);
        a.send_rtp(&mut net, *l, &late);
        callee.send_rtp(&mut net, *l, &late);
    }
    // A call starting now gets other ports.
    let (mut b, mut db, blegs) = bridged(&mut net, &callee);
    assert!(
        blegs.iter().all(|l| !legs.contains(l)),
        "quarantined ports reused"
    );
    assert!(net.quiet(a.rtp) && net.quiet(callee.rtp) && net.quiet(b.rtp));
    relays(&mut net, &b, &callee, blegs, 1);
    b.hang_up(&mut net, &mut db);
    callee.answer_bye(&mut net);
    // After the quarantine new calls take the pool's pairs; the old caller's late packets
    // to its old port reach neither party of the call that now has it.
    net.advance(QUARANTINE);
    let drains = net.drains;
    let mut reused = None;
    for _ in 0..10 {
        let (mut c, mut dc, clegs) = bridged(&mut net, &callee);
        if clegs.contains(&legs[0]) {
            reused = Some((c, dc, clegs));
            break;
        }
        c.hang_up(&mut net, &mut dc);
        callee.answer_bye(&mut net);
        net.advance(QUARANTINE);
    }
    let (mut c, mut dc, clegs) = reused.expect("a later call got the ended call's port");
    assert!(net.drains > drains, "a pooled pair is drained before reuse");
    for seq in 0..3 {
        let late = rtp_packet(0, 10 + seq, 1600, 0xA, &[0x33; 160]);
        a.send_rtp(&mut net, legs[0], &late);
    }
    assert!(
        net.quiet(callee.rtp) && net.quiet(c.rtp),
        "late packet relayed"
    );
    relays(&mut net, &c, &callee, clegs, 5);
    c.hang_up(&mut net, &mut dc);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn ended_calls_pairs_serve_later_calls_without_new_binds() {
    let (mut net, callee) = setup(33100);
    // The first call takes two pairs of the reserve; its refill binds two more.
    let (mut a, mut d, legs) = bridged(&mut net, &callee);
    relays(&mut net, &a, &callee, legs, 1);
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.advance(QUARANTINE);
    let (binds, held) = (net.binds, net.engine.media_pairs_held());
    for i in 0..6 {
        let (mut a, mut d, legs) = bridged(&mut net, &callee);
        relays(&mut net, &a, &callee, legs, i);
        a.hang_up(&mut net, &mut d);
        callee.answer_bye(&mut net);
        net.advance(QUARANTINE);
    }
    assert_eq!(net.binds, binds, "every later call used pooled pairs");
    assert_eq!(
        net.engine.media_pairs_held(),
        held,
        "the pool does not grow"
    );
    net.assert_idle();
}

#[test]
fn the_relay_record_follows_a_reinvite_to_a_new_address() {
    let (mut net, mut callee) = setup(33200);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "1002", &offer);
    let inv = callee.answer(&mut net, &[0]);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let legs = [d.remote_media(), sdp_addr(&body(&inv))];
    // Many packets on the fast path.
    for seq in 1..20 {
        relays(&mut net, &a, &callee, legs, seq);
    }
    // The callee moves its media to a new port: sipbox sends there at once.
    let moved = net.open();
    let mut bd = callee.callee_dialog(&net, &inv);
    callee.in_dialog(
        &mut net,
        &mut bd,
        "INVITE",
        Some(&sdp(moved, &[0], "sendrecv")),
    );
    let rinv = a.request(&mut net, Method::Invite);
    a.respond(&mut net, &rinv, 200, Some(&sdp(a.rtp, &[0], "sendrecv")));
    let ok = callee.final_response(&mut net);
    assert_eq!(ok.status(), 200);
    callee.ack(&mut net, &bd, None);
    let p = rtp_packet(0, 30, 4800, 0xB, &[0x44; 160]);
    a.send_rtp(&mut net, legs[0], &p);
    let got = net.recv(moved, T).expect("to the new address");
    assert_eq!((got.from, got.bytes), (legs[1], p));
    assert!(net.quiet(callee.rtp), "nothing to the old address");
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}
