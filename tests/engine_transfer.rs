//! Blind transfer (REFER, RFC 3515) on the fake network: 1001 calls 1002, one of them REFERs
//! the other to 1003. sipbox answers 202, NOTIFYs the transferer (100 Trying, then the
//! target's outcome as a sipfrag), dials 1003 for the transferee and bridges their RTP
//! byte-exact; the transferer's BYE after the NOTIFY 200 is answered without ending the call
//! (or sipbox sends its own after 64·T1). A busy target is reported as 486 and the
//! transferee's call ends; `allowtransfer=no` is 603; bad REFERs are 400/481/603 and an
//! unknown extension is 202 + NOTIFY 404 with the call left as it was. Every scenario ends
//! with nothing leaked.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::{TEST_EXTENSIONS_CONF, TEST_SIP_CONF};
use sipbox::sip::{HeaderName, Method, Request, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn net_with(sip_conf: &str) -> FakeNet {
    FakeNet::with_rtp(sip_conf, TEST_EXTENSIONS_CONF, 32000, 32039)
}

fn net() -> FakeNet {
    net_with(TEST_SIP_CONF)
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// The three phones, 1002 and 1003 registered; 1001 calls 1002, which answers. Returns
/// (A, A's dialog, B, B's dialog, B's INVITE).
fn bridged(net: &mut FakeNet) -> (Ua, Dialog, Ua, Dialog, Request, Ua) {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let c = Ua::new(net, "1003", "1003pass").registered(net);
    let mut a = Ua::new(net, "1001", "1001pass");
    let mut da = a.call_start(net, "1002", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let inv = b.request(net, Method::Invite);
    b.respond(net, &inv, 200, Some(&sdp(b.rtp, &[0, 101], "sendrecv")));
    let r = a.invite_outcome(net, &mut da);
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(net, &da, None);
    b.request(net, Method::Ack);
    let db = b.callee_dialog(net, &inv);
    (a, da, b, db, inv, c)
}

/// Sends a REFER inside `d` with these extra header lines (each ending in CRLF).
fn refer(ua: &Ua, net: &mut FakeNet, d: &mut Dialog, headers: &str) {
    static N: AtomicU32 = AtomicU32::new(0);
    d.cseq += 1;
    let n = N.fetch_add(1, Ordering::Relaxed);
    let text = format!(
        "REFER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-refer-{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} REFER\r\n\
         Contact: <sip:{u}@{me}>\r\n{headers}Content-Length: 0\r\n\r\n",
        uri = d.uri,
        me = ua.sip,
        from = d.local,
        to = d.remote,
        cid = d.call_id,
        c = d.cseq,
        u = ua.user,
    );
    ua.send(net, &text);
}

fn refer_to(exten: &str, host: SocketAddr) -> String {
    format!("Refer-To: <sip:{exten}@{host}>\r\n")
}

/// The NOTIFY the transferer gets next, answered 200: (Subscription-State, sipfrag body).
#[track_caller]
fn notify(ua: &Ua, net: &mut FakeNet, refer_cseq: u32) -> (String, String) {
    let n = ua.request(net, Method::Notify);
    assert_eq!(
        n.headers().get(&HeaderName::Event),
        Some(format!("refer;id={refer_cseq}").as_str())
    );
    assert_eq!(
        n.headers().get(&HeaderName::ContentType),
        Some("message/sipfrag;version=2.0")
    );
    assert!(n.headers().get(&HeaderName::Contact).is_some(), "{n:?}");
    ua.respond(net, &n, 200, None);
    let state = n
        .headers()
        .get(&HeaderName::SubscriptionState)
        .unwrap_or_default()
        .to_string();
    (state, body(&n))
}

#[track_caller]
fn status_of(ua: &Ua, net: &mut FakeNet) -> u16 {
    let r: Response = ua.final_response(net);
    r.status()
}

/// RTP both ways between `x` (sending to sipbox's `to_x_leg`) and `y` (to `to_y_leg`),
/// byte-exact, each out of the other leg's port.
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

#[test]
fn callee_transfers_the_caller_to_a_third_phone() {
    let mut net = net();
    let (mut a, mut da, mut b, mut db, _inv, c) = bridged(&mut net);
    let host = net.sipbox();
    let by = format!("Referred-By: <sip:1002@{}>\r\n", b.sip);
    refer(
        &b,
        &mut net,
        &mut db,
        &format!("{}{by}", refer_to("1003", host)),
    );
    assert_eq!(status_of(&b, &mut net), 202);
    let (state, frag) = notify(&b, &mut net, db.cseq);
    assert_eq!(state, "active;expires=60");
    assert_eq!(frag, "SIP/2.0 100 Trying\r\n");

    // sipbox dials 1003 for the caller: its caller ID and the Referred-By go along.
    let inv_c = c.request(&mut net, Method::Invite);
    assert_eq!(inv_c.from().uri.user.as_deref(), Some("1001"));
    assert_eq!(
        inv_c.headers().get(&HeaderName::ReferredBy),
        Some(by.trim_start_matches("Referred-By: ").trim_end())
    );
    assert!(net.quiet(a.sip), "the transferee is not re-INVITEd");
    c.respond(&mut net, &inv_c, 180, None);
    assert!(net.quiet(a.sip), "nor told of the ringing");
    c.respond(
        &mut net,
        &inv_c,
        200,
        Some(&sdp(c.rtp, &[0, 101], "sendrecv")),
    );
    c.request(&mut net, Method::Ack);

    let (state, frag) = notify(&b, &mut net, db.cseq);
    assert_eq!(state, "terminated;reason=noresource");
    assert_eq!(frag, "SIP/2.0 200 OK\r\n");
    // baresip hangs up itself after the NOTIFY 200: answered, the call goes on.
    b.hang_up(&mut net, &mut db);
    assert!(
        net.quiet(a.sip) && net.quiet(c.sip),
        "nobody else hears of it"
    );
    assert_eq!(
        net.engine.media_pairs_in_use(),
        2,
        "the transferer's RTP ports are freed with its leg"
    );

    let to_a_leg = da.remote_media();
    let to_c_leg = sdp_addr(&body(&inv_c));
    rtp_flows(&mut net, &a, to_a_leg, &c, to_c_leg);
    assert!(net.quiet(b.rtp), "the transferer's media is gone");

    a.hang_up(&mut net, &mut da);
    c.answer_bye(&mut net);
    assert!(net.quiet(b.sip), "the released transferer gets no BYE");
    net.assert_idle();
}

#[test]
fn caller_transfers_the_callee_and_gets_a_bye_when_it_does_not_hang_up() {
    let mut net = net();
    let (mut a, mut da, b, _db, inv_b, mut c) = bridged(&mut net);
    let host = net.sipbox();
    refer(&a, &mut net, &mut da, &refer_to("1003", host));
    assert_eq!(status_of(&a, &mut net), 202);
    assert_eq!(notify(&a, &mut net, da.cseq).1, "SIP/2.0 100 Trying\r\n");
    let inv_c = c.answer(&mut net, &[0, 101]);
    assert_eq!(
        inv_c.from().uri.user.as_deref(),
        Some("1002"),
        "the transferee's identity"
    );
    assert_eq!(notify(&a, &mut net, da.cseq).1, "SIP/2.0 200 OK\r\n");
    let to_b_leg = sdp_addr(&body(&inv_b));
    let to_c_leg = sdp_addr(&body(&inv_c));
    rtp_flows(&mut net, &b, to_b_leg, &c, to_c_leg);

    // chan_sip waits for the transferer's BYE; sipbox sends one after 64·T1 (32 s).
    net.advance(Duration::from_secs(31));
    assert!(net.quiet(a.sip), "{:#?}", net.log());
    net.advance(Duration::from_secs(2));
    let bye = a.request(&mut net, Method::Bye);
    // The phone's own BYE crossing ours is answered 200, and the call goes on.
    a.hang_up(&mut net, &mut da);
    a.respond(&mut net, &bye, 200, None);
    assert!(net.quiet(b.sip) && net.quiet(c.sip));

    let mut dc = c.callee_dialog(&net, &inv_c);
    c.hang_up(&mut net, &mut dc);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_busy_target_is_reported_and_the_transferee_is_hung_up() {
    let mut net = net();
    let (a, _da, b, mut db, _inv, c) = bridged(&mut net);
    let host = net.sipbox();
    refer(&b, &mut net, &mut db, &refer_to("1003", host));
    assert_eq!(status_of(&b, &mut net), 202);
    notify(&b, &mut net, db.cseq);
    let inv_c = c.request(&mut net, Method::Invite);
    c.respond(&mut net, &inv_c, 486, None);
    c.request(&mut net, Method::Ack);
    let (state, frag) = notify(&b, &mut net, db.cseq);
    assert_eq!(state, "terminated;reason=noresource");
    assert_eq!(frag, "SIP/2.0 486 Busy Here\r\n");
    // The transferer is released with BYE at once (it has no call to go back to).
    b.answer_bye(&mut net);
    // The dialplan goes on after the failed Dial (Hangup()): the transferee's call ends.
    a.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn allowtransfer_no_declines_with_603_and_the_call_goes_on() {
    for conf in [
        TEST_SIP_CONF.replace("[1002](phone)\n", "[1002](phone)\nallowtransfer=no\n"),
        TEST_SIP_CONF.replace("[general]\n", "[general]\nallowtransfer=no\n"),
    ] {
        let mut net = net_with(&conf);
        let (mut a, mut da, b, mut db, inv_b, _c) = bridged(&mut net);
        let host = net.sipbox();
        refer(&b, &mut net, &mut db, &refer_to("1003", host));
        assert_eq!(status_of(&b, &mut net), 603);
        assert!(net.quiet(b.sip), "no NOTIFY for a refused REFER");
        rtp_flows(&mut net, &a, da.remote_media(), &b, sdp_addr(&body(&inv_b)));
        a.hang_up(&mut net, &mut da);
        b.answer_bye(&mut net);
        net.assert_idle();
    }
}

#[test]
fn bad_refers_are_refused_and_an_unknown_extension_is_a_notify_404() {
    let mut net = net();
    let (mut a, mut da, b, mut db, inv_b, _c) = bridged(&mut net);
    let host = net.sipbox();
    for (headers, want) in [
        (String::new(), 400),
        (
            format!("Refer-To: <sip:1003@{host}>\r\nRefer-To: <sip:1001@{host}>\r\n"),
            400,
        ),
        (
            format!("Refer-To: <sip:1003@{host}>, <sip:1001@{host}>\r\n"),
            400,
        ),
        ("Refer-To: <tel:+15551234>\r\n".to_string(), 603),
        (
            // A Replaces without its tags (RFC 3891 §6.1).
            format!("Refer-To: <sip:1003@{host}?Replaces=abc%3Bto-tag%3D1>\r\n"),
            400,
        ),
    ] {
        refer(&b, &mut net, &mut db, &headers);
        assert_eq!(status_of(&b, &mut net), want, "{headers}");
    }
    // A REFER in no dialog, or in a dialog sipbox does not have: 481.
    let mut stray = db.clone();
    stray.call_id = "no-such-call".into();
    refer(&b, &mut net, &mut stray, &refer_to("1003", host));
    assert_eq!(status_of(&b, &mut net), 481);
    let mut wrong_tag = db.clone();
    wrong_tag.local = format!("<sip:1002@{host}>;tag=other");
    refer(&b, &mut net, &mut wrong_tag, &refer_to("1003", host));
    assert_eq!(status_of(&b, &mut net), 481);
    let mut outside = db.clone();
    outside.remote = format!("<sip:1001@{host}>");
    refer(&b, &mut net, &mut outside, &refer_to("1003", host));
    assert_eq!(status_of(&b, &mut net), 481);

    // chan_sip: an extension that does not exist is a faked failure, the call stays up.
    db.cseq = wrong_tag.cseq.max(outside.cseq);
    refer(&b, &mut net, &mut db, &refer_to("7777", host));
    assert_eq!(status_of(&b, &mut net), 202);
    let (state, frag) = notify(&b, &mut net, db.cseq);
    assert_eq!(state, "terminated;reason=noresource");
    assert_eq!(frag, "SIP/2.0 404 Not Found\r\n");
    // An attended transfer naming no dialog sipbox has: 202, then NOTIFY 481 (RFC 3891 §3),
    // the call stays up (tests/engine_attended_transfer.rs has the ones that work).
    refer(
        &b,
        &mut net,
        &mut db,
        &format!("Refer-To: <sip:1003@{host}?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n"),
    );
    assert_eq!(status_of(&b, &mut net), 202);
    assert_eq!(notify(&b, &mut net, db.cseq).1, "SIP/2.0 100 Trying\r\n");
    let (state, frag) = notify(&b, &mut net, db.cseq);
    assert_eq!(state, "terminated;reason=noresource");
    assert_eq!(frag, "SIP/2.0 481 Call/Transaction Does Not Exist\r\n");
    rtp_flows(&mut net, &a, da.remote_media(), &b, sdp_addr(&body(&inv_b)));
    a.hang_up(&mut net, &mut da);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn transfercontext_routes_the_transfer_elsewhere() {
    let conf = TEST_SIP_CONF.replace("[1002](phone)\n", "[1002](phone)\ntransfercontext=xfer\n");
    let ext = format!("{TEST_EXTENSIONS_CONF}\n[xfer]\nexten => 55,1,Dial(SIP/1003,10)\n");
    let mut net = FakeNet::with_rtp(&conf, &ext, 32000, 32039);
    let (mut a, mut da, mut b, mut db, _inv, c) = bridged(&mut net);
    let host = net.sipbox();
    // 55 exists only in [xfer]: the transferer's transfercontext, not its context.
    refer(&b, &mut net, &mut db, &refer_to("55", host));
    assert_eq!(status_of(&b, &mut net), 202);
    notify(&b, &mut net, db.cseq);
    c.answer(&mut net, &[0, 101]);
    assert_eq!(notify(&b, &mut net, db.cseq).1, "SIP/2.0 200 OK\r\n");
    b.hang_up(&mut net, &mut db);
    a.hang_up(&mut net, &mut da);
    c.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn the_transferee_hanging_up_while_the_target_rings_is_reported_as_487() {
    let mut net = net();
    let (mut a, mut da, b, mut db, _inv, c) = bridged(&mut net);
    let host = net.sipbox();
    refer(&b, &mut net, &mut db, &refer_to("1003", host));
    assert_eq!(status_of(&b, &mut net), 202);
    notify(&b, &mut net, db.cseq);
    let inv_c = c.request(&mut net, Method::Invite);
    c.respond(&mut net, &inv_c, 180, None);
    a.hang_up(&mut net, &mut da);
    let cancel = c.request(&mut net, Method::Cancel);
    c.respond(&mut net, &cancel, 200, None);
    c.respond(&mut net, &inv_c, 487, None);
    let (state, frag) = notify(&b, &mut net, db.cseq);
    assert_eq!(state, "terminated;reason=noresource");
    assert_eq!(frag, "SIP/2.0 487 Request Terminated\r\n");
    b.answer_bye(&mut net);
    net.assert_idle();
}
