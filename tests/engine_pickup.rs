//! Call pickup on the fake network: 1001 calls 1002, which rings; another phone answers it.
//! `pickupexten` (`*8`) takes a call ringing a phone whose `callgroup` meets the picker's
//! `pickupgroup`; `Pickup(1002@internal)` one Dial rings from that extension;
//! `PickupChan(SIP/1002)` one ringing that entry. The picker is answered (200 with SDP), the
//! ringing phone gets CANCEL, the caller is answered after the picker's ACK, and the two talk
//! (RTP byte-exact both ways). Nothing to pick up: `*8` is 503, the applications let the
//! dialplan go on. Every scenario ends with nothing left over.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::sip::{Method, Request, Response};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 80,1,Pickup(1002@internal)
 same => n,Hangup(17)
exten => 81,1,PickupChan(SIP/1002)
 same => n,Hangup(17)
exten => 82,1,Pickup(1009)
 same => n,Hangup(17)
";

fn net() -> FakeNet {
    let conf = TEST_SIP_CONF
        .replace("[1002](phone)\n", "[1002](phone)\ncallgroup=1,3-5\n")
        .replace("[1003](phone)\n", "[1003](phone)\npickupgroup=4\n");
    FakeNet::with_rtp(&conf, EXTENSIONS, 32000, 32039)
}

/// 1002 and 1003 registered, 1001; the timer count once the REGISTERs' transactions are
/// gone.
fn phones(net: &mut FakeNet) -> (Ua, Ua, Ua, usize) {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let c = Ua::new(net, "1003", "1003pass").registered(net);
    let a = Ua::new(net, "1001", "1001pass").registered(net);
    net.advance(Duration::from_secs(40));
    let timers = net.engine.table_sizes().timers;
    (a, b, c, timers)
}

/// 1001 calls 1002, which rings: (1001's dialog, 1002's INVITE).
fn ringing(net: &mut FakeNet, a: &mut Ua, b: &Ua) -> (Dialog, Request) {
    let da = a.call_start(net, "1002", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let inv = b.request(net, Method::Invite);
    b.respond(net, &inv, 180, None);
    a.response_with(net, 180);
    (da, inv)
}

/// The ringing phone is cancelled.
#[track_caller]
fn cancelled(net: &mut FakeNet, b: &Ua, inv: &Request) {
    let c = b.request(net, Method::Cancel);
    b.respond(net, &c, 200, None);
    b.respond(net, inv, 487, None);
    b.request(net, Method::Ack);
}

#[track_caller]
fn rtp_flows(net: &mut FakeNet, x: &Ua, to_x_leg: SocketAddr, y: &Ua, to_y_leg: SocketAddr) {
    for i in 0..10u16 {
        let payload: Vec<u8> = (0..160).map(|b| (b as u8) ^ (i as u8)).collect();
        let p = rtp_packet(0, 100 + i, 160 * u32::from(i), 0xA11CE, &payload);
        x.send_rtp(net, to_x_leg, &p);
        let got = y.recv_rtp(net, T).expect("x→y");
        assert_eq!(got.bytes, p, "x→y #{i}");
        assert_eq!(got.from, to_y_leg, "out of y's leg port");
        let q = rtp_packet(0, 900 + i, 160 * u32::from(i), 0xB0B, &payload[..80]);
        y.send_rtp(net, to_y_leg, &q);
        let got = x.recv_rtp(net, T).expect("y→x");
        assert_eq!(got.bytes, q, "y→x #{i}");
        assert_eq!(got.from, to_x_leg);
        net.advance(Duration::from_millis(20));
    }
}

/// `c` picks up by dialling `exten`; the whole pickup is checked and torn down.
fn picks_up(exten: &str) {
    picks_up_with(exten, |net, c, _| {
        c.call(net, exten, &sdp(c.rtp, &[8, 0, 101], "sendrecv"))
    });
}

/// As [`picks_up`], `how` making the picker's call (given the ringing phone's INVITE).
fn picks_up_with(
    exten: &str,
    how: impl FnOnce(&mut FakeNet, &mut Ua, &Request) -> (Dialog, Response),
) {
    let mut net = net();
    let (mut a, b, mut c, timers) = phones(&mut net);
    let (mut da, inv_b) = ringing(&mut net, &mut a, &b);
    let (mut dc, r) = how(&mut net, &mut c, &inv_b);
    assert_eq!(r.status(), 200, "{exten}: {r:?}");
    assert!(
        String::from_utf8_lossy(r.body()).contains("RTP/AVP 0 "),
        "the caller's codec (PCMU), not the picker's first: {dc:?}"
    );
    cancelled(&mut net, &b, &inv_b);
    assert!(
        net.quiet(a.sip),
        "the caller is answered after the picker's ACK"
    );
    c.ack(&mut net, &dc, None);
    let r = a.invite_outcome(&mut net, &mut da);
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(&mut net, &da, None);
    assert_eq!(net.engine.table_sizes().calls, 1, "{exten}: one call");
    rtp_flows(&mut net, &a, da.remote_media(), &c, dc.remote_media());
    a.hang_up(&mut net, &mut da);
    c.answer_bye(&mut net);
    let _ = &mut dc;
    assert!(net.quiet(b.sip));
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers, "{exten}: timers");
}

#[test]
fn pickupexten_answers_a_call_ringing_in_my_pickup_group() {
    picks_up("*8");
}

#[test]
fn pickup_by_extension_takes_the_call_dial_rings_from_it() {
    picks_up("80");
}

#[test]
fn pickupchan_takes_the_call_ringing_that_entry() {
    picks_up("81");
}

#[test]
fn an_invite_replacing_the_ringing_fork_picks_it_up() {
    // A phone that learned the ringing dialog (dialog-info) replaces it (RFC 3891): to-tag
    // is sipbox's (the From tag it rang 1002 with), from-tag the ringing phone's.
    picks_up_with("Replaces", |net, c, inv_b| {
        let sipbox_tag = inv_b.from().tag().unwrap_or_default().to_string();
        let rep = format!(
            "Replaces: {};to-tag={sipbox_tag};from-tag=callee1002\r\n",
            inv_b.call_id()
        );
        let body = sdp(c.rtp, &[8, 0, 101], "sendrecv");
        let mut d = c.call_start_with(net, "1002", &rep, &body);
        let r = c.invite_outcome(net, &mut d);
        (d, r)
    });
}

#[test]
fn nothing_to_pick_up_is_503_for_pickupexten_and_the_dialplan_goes_on_for_pickup() {
    let mut net = net();
    let (mut a, mut b, mut c, timers) = phones(&mut net);
    let offer = sdp(c.rtp, &[0, 101], "sendrecv");
    // Nothing rings at all.
    assert_eq!(c.call(&mut net, "*8", &offer).1.status(), 503);
    let (mut da, inv_b) = ringing(&mut net, &mut a, &b);
    // 1001 has no pickup group; 1009 is not ringing: Pickup() goes on to Hangup(17).
    let mut a2 = Ua::new(&mut net, "1001", "1001pass");
    assert_eq!(a2.call(&mut net, "*8", &offer).1.status(), 503);
    assert_eq!(c.call(&mut net, "82", &offer).1.status(), 486);
    assert!(net.quiet(b.sip), "the ringing phone rings on");
    // It still rings and can be answered.
    b.respond(
        &mut net,
        &inv_b,
        200,
        Some(&sdp(b.rtp, &[0, 101], "sendrecv")),
    );
    b.request(&mut net, Method::Ack);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 200);
    a.ack(&mut net, &da, None);
    let mut db = b.callee_dialog(&net, &inv_b);
    b.hang_up(&mut net, &mut db);
    a.answer_bye(&mut net);
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn a_reload_takes_features_conf_pickupexten() {
    let mut net = net();
    let (mut a, b, mut c, _) = phones(&mut net);
    let conf = TEST_SIP_CONF
        .replace("[1002](phone)\n", "[1002](phone)\ncallgroup=1,3-5\n")
        .replace("[1003](phone)\n", "[1003](phone)\npickupgroup=4\n");
    let mut cfg = sipbox::config::load_str(&conf, EXTENSIONS, None).unwrap();
    cfg.features.pickup_exten = "*9".into();
    net.engine
        .reload_config(net.now, &cfg, sipbox::engine::ReloadScope::All)
        .unwrap();
    let (mut da, inv_b) = ringing(&mut net, &mut a, &b);
    let offer = sdp(c.rtp, &[0, 101], "sendrecv");
    // *8 is an ordinary extension now: none in the dialplan (404).
    assert_eq!(c.call(&mut net, "*8", &offer).1.status(), 404);
    let (mut dc, r) = c.call(&mut net, "*9", &offer);
    assert_eq!(r.status(), 200, "{r:?}");
    cancelled(&mut net, &b, &inv_b);
    c.ack(&mut net, &dc, None);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 200);
    a.ack(&mut net, &da, None);
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    net.assert_idle();
}
