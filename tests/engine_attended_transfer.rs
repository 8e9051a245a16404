//! Attended transfer on the fake network (RFC 3891 Replaces, RFC 5589 §7). The transferer
//! has call A with the transferee and consultation call B with the target; its REFER in A
//! names its dialog in B. sipbox moves the target's leg from B into A (its dialog, its RTP
//! ports, its Call-ID): the transferee and the target then talk through the very ports they
//! already send to (RTP byte-exact both ways, nobody re-INVITEd), the transferer gets NOTIFY
//! 200 on A and BYE on B, and its BYE on A is awaited (or sent after 64·T1). An INVITE with
//! Replaces from a third phone takes the named leg's place: 200 with media toward its peer,
//! BYE to the replaced phone. Refusals: 481 (no such dialog, an early dialog sipbox did not
//! start), 486 (early-only), 400 (malformed or two), 603 (allowtransfer=no). Every scenario
//! ends with no call, Call-ID, transaction, RTP pair or timer left.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::{TEST_EXTENSIONS_CONF, TEST_SIP_CONF};
use sipbox::sip::{HeaderName, Message, Method, Request};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn net_with(sip_conf: &str) -> FakeNet {
    FakeNet::with_rtp(sip_conf, TEST_EXTENSIONS_CONF, 32000, 32039)
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// The tag of a From/To value.
fn tag(v: &str) -> String {
    v.split(";tag=")
        .nth(1)
        .and_then(|t| t.split(';').next())
        .unwrap_or_default()
        .to_string()
}

/// The Replaces value naming `d` (our side of a dialog with sipbox) as sipbox must match
/// it: to-tag is sipbox's tag, from-tag ours.
fn replaces_of(d: &Dialog) -> String {
    format!(
        "{};to-tag={};from-tag={}",
        d.call_id,
        tag(&d.remote),
        tag(&d.local)
    )
}

fn escaped(v: &str) -> String {
    v.replace('@', "%40")
        .replace(';', "%3B")
        .replace('=', "%3D")
}

/// Sends a REFER inside `d` with these extra header lines (each ending in CRLF).
fn refer(ua: &Ua, net: &mut FakeNet, d: &mut Dialog, headers: &str) {
    static N: AtomicU32 = AtomicU32::new(0);
    d.cseq += 1;
    let n = N.fetch_add(1, Ordering::Relaxed);
    let text = format!(
        "REFER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-aref-{n};rport\r\n\
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

fn attended_refer(ua: &Ua, net: &mut FakeNet, d: &mut Dialog, consultation: &Dialog) {
    let host = net.sipbox();
    let h = format!(
        "Refer-To: <sip:1003@{host}?Replaces={}>\r\nReferred-By: <sip:{}@{host}>\r\n",
        escaped(&replaces_of(consultation)),
        ua.user
    );
    refer(ua, net, d, &h);
}

/// The NOTIFY the transferer gets next, answered 200: (Subscription-State, sipfrag body).
#[track_caller]
fn notify(ua: &Ua, net: &mut FakeNet, refer_cseq: u32) -> (String, String) {
    let n = ua.request(net, Method::Notify);
    check_notify(ua, net, &n, refer_cseq)
}

#[track_caller]
fn check_notify(ua: &Ua, net: &mut FakeNet, n: &Request, refer_cseq: u32) -> (String, String) {
    assert_eq!(
        n.headers().get(&HeaderName::Event),
        Some(format!("refer;id={refer_cseq}").as_str())
    );
    assert_eq!(
        n.headers().get(&HeaderName::ContentType),
        Some("message/sipfrag;version=2.0")
    );
    ua.respond(net, n, 200, None);
    let state = n
        .headers()
        .get(&HeaderName::SubscriptionState)
        .unwrap_or_default()
        .to_string();
    (state, body(n))
}

/// The next `n` requests to `ua` (in any order), skipping responses.
#[track_caller]
fn requests(ua: &Ua, net: &mut FakeNet, n: usize) -> Vec<Request> {
    let mut got = Vec::new();
    while got.len() < n {
        match ua.recv(net) {
            Some(Message::Request(r)) => got.push(r),
            Some(Message::Response(_)) => {}
            None => panic!("{}: {} of {n} requests arrived", ua.user, got.len()),
        }
    }
    got
}

#[track_caller]
fn status_of(ua: &Ua, net: &mut FakeNet) -> u16 {
    ua.final_response(net).status()
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

/// Registered 1002 and 1003, and 1001; the timer count once the REGISTERs' transactions
/// are gone (the bindings' expiry timers stay).
fn phones(net: &mut FakeNet) -> (Ua, Ua, Ua, usize) {
    let x = Ua::new(net, "1002", "1002pass").registered(net);
    let y = Ua::new(net, "1003", "1003pass").registered(net);
    let t = Ua::new(net, "1001", "1001pass").registered(net);
    net.advance(Duration::from_secs(40));
    let timers = net.engine.table_sizes().timers;
    (t, x, y, timers)
}

/// `from` calls `exten`, `to` answers: (caller's dialog, the INVITE `to` got).
fn call(net: &mut FakeNet, from: &mut Ua, to: &Ua, exten: &str) -> (Dialog, Request) {
    let mut d = from.call_start(net, exten, &sdp(from.rtp, &[0, 101], "sendrecv"));
    let inv = to.answer(net, &[0, 101]);
    let r = from.invite_outcome(net, &mut d);
    assert_eq!(r.status(), 200, "{r:?}");
    from.ack(net, &d, None);
    (d, inv)
}

#[track_caller]
fn all_gone(net: &mut FakeNet, timers: usize) {
    net.assert_idle();
    assert_eq!(
        net.engine.table_sizes().timers,
        timers,
        "only the registrations' timers are left"
    );
}

#[test]
fn the_caller_of_both_calls_joins_the_transferee_and_the_target() {
    let mut net = net_with(TEST_SIP_CONF);
    let (mut t, x, mut y, timers) = phones(&mut net);
    let (mut da, inv_x) = call(&mut net, &mut t, &x, "1002");
    // As phones do: the transferee is put on hold (sipbox answers the hold itself) while
    // the transferer consults the target.
    t.reinvite(&mut net, &mut da, &sdp(t.rtp, &[0, 101], "sendonly"));
    assert!(
        net.quiet(x.sip),
        "the transferee is not re-INVITEd for the hold"
    );
    let (db, inv_y) = call(&mut net, &mut t, &y, "1003");
    assert_eq!(net.engine.table_sizes().calls, 2);

    attended_refer(&t, &mut net, &mut da, &db);
    assert_eq!(status_of(&t, &mut net), 202);
    let (state, frag) = notify(&t, &mut net, da.cseq);
    assert_eq!(state, "active;expires=60");
    assert_eq!(frag, "SIP/2.0 100 Trying\r\n");
    // NOTIFY 200 on call A, BYE on the consultation call B.
    let got = requests(&t, &mut net, 2);
    let n = got.iter().find(|r| *r.method() == Method::Notify).unwrap();
    assert_eq!(n.call_id(), da.call_id);
    let (state, frag) = check_notify(&t, &mut net, n, da.cseq);
    assert_eq!(state, "terminated;reason=noresource");
    assert_eq!(frag, "SIP/2.0 200 OK\r\n");
    let bye = got.iter().find(|r| *r.method() == Method::Bye).unwrap();
    assert_eq!(
        bye.call_id(),
        db.call_id,
        "the consultation leg is released"
    );
    t.respond(&mut net, bye, 200, None);
    assert!(net.quiet(x.sip) && net.quiet(y.sip), "nobody is re-INVITEd");
    assert_eq!(net.engine.table_sizes().calls, 1, "one call is left");

    // The two other parties talk through the ports they already knew.
    let to_x_leg = sdp_addr(&body(&inv_x));
    let to_y_leg = sdp_addr(&body(&inv_y));
    rtp_flows(&mut net, &x, to_x_leg, &y, to_y_leg);
    assert!(net.quiet(t.rtp), "the transferer hears none of it");

    // RFC 5589: the transferer hangs up call A after the NOTIFY; the call goes on.
    t.hang_up(&mut net, &mut da);
    assert_eq!(net.engine.media_pairs_in_use(), 2);
    rtp_flows(&mut net, &x, to_x_leg, &y, to_y_leg);
    // The target's in-dialog requests reach the moved leg: its BYE ends the call.
    let mut dy = y.callee_dialog(&net, &inv_y);
    y.hang_up(&mut net, &mut dy);
    x.answer_bye(&mut net);
    assert!(net.quiet(t.sip));
    all_gone(&mut net, timers);
}

#[test]
fn the_callee_of_both_calls_transfers_and_gets_a_bye_when_it_does_not_hang_up() {
    let mut net = net_with(TEST_SIP_CONF);
    let (t, mut x, mut y, timers) = phones(&mut net);
    // X calls T (call A), Y calls T (call B): the transferer answered both.
    let (mut dx, inv_ta) = call(&mut net, &mut x, &t, "1001");
    let (mut dy, inv_tb) = call(&mut net, &mut y, &t, "1001");
    let mut dta = t.callee_dialog(&net, &inv_ta);
    let dtb = t.callee_dialog(&net, &inv_tb);

    attended_refer(&t, &mut net, &mut dta, &dtb);
    assert_eq!(status_of(&t, &mut net), 202);
    assert_eq!(notify(&t, &mut net, dta.cseq).1, "SIP/2.0 100 Trying\r\n");
    let got = requests(&t, &mut net, 2);
    for r in &got {
        match r.method() {
            Method::Notify => {
                assert_eq!(
                    check_notify(&t, &mut net, r, dta.cseq).1,
                    "SIP/2.0 200 OK\r\n"
                )
            }
            Method::Bye => {
                assert_eq!(r.call_id(), inv_tb.call_id());
                t.respond(&mut net, r, 200, None);
            }
            other => panic!("{other:?}"),
        }
    }
    rtp_flows(&mut net, &x, dx.remote_media(), &y, dy.remote_media());
    // The transferer never hangs up: sipbox does after 64·T1.
    net.advance(Duration::from_secs(33));
    let bye = t.request(&mut net, Method::Bye);
    assert_eq!(bye.call_id(), inv_ta.call_id());
    t.respond(&mut net, &bye, 200, None);
    rtp_flows(&mut net, &x, dx.remote_media(), &y, dy.remote_media());
    // Either side may end it; both callers' dialogs are intact.
    x.hang_up(&mut net, &mut dx);
    y.answer_bye(&mut net);
    let _ = &mut dy;
    all_gone(&mut net, timers);
}

#[test]
fn a_replaces_naming_no_dialog_of_another_call_is_a_notify_481_and_the_call_stays() {
    let mut net = net_with(TEST_SIP_CONF);
    let (mut t, x, y, timers) = phones(&mut net);
    let (mut da, inv_x) = call(&mut net, &mut t, &x, "1002");
    let (mut db, inv_y) = call(&mut net, &mut t, &y, "1003");
    let mut wrong_tags = db.clone();
    wrong_tags.local = format!("{};tag=other", db.local.split(";tag=").next().unwrap());
    let same_call = da.clone();
    for bad in [&wrong_tags, &same_call] {
        attended_refer(&t, &mut net, &mut da, bad);
        assert_eq!(status_of(&t, &mut net), 202);
        assert_eq!(notify(&t, &mut net, da.cseq).1, "SIP/2.0 100 Trying\r\n");
        let (state, frag) = notify(&t, &mut net, da.cseq);
        assert_eq!(state, "terminated;reason=noresource");
        assert_eq!(frag, "SIP/2.0 481 Call/Transaction Does Not Exist\r\n");
    }
    assert!(net.quiet(x.sip) && net.quiet(y.sip));
    // Both calls are as they were.
    rtp_flows(&mut net, &t, da.remote_media(), &x, sdp_addr(&body(&inv_x)));
    rtp_flows(&mut net, &t, db.remote_media(), &y, sdp_addr(&body(&inv_y)));
    t.hang_up(&mut net, &mut da);
    x.answer_bye(&mut net);
    t.hang_up(&mut net, &mut db);
    y.answer_bye(&mut net);
    all_gone(&mut net, timers);
}

#[test]
fn an_invite_with_replaces_takes_the_named_legs_place() {
    let mut net = net_with(TEST_SIP_CONF);
    let (mut t, mut x, mut z, timers) = phones(&mut net);
    let (da, inv_x) = call(&mut net, &mut t, &x, "1002");
    let rep = format!("Replaces: {}\r\n", replaces_of(&da));
    let mut dz = z.call_start_with(
        &mut net,
        "1002",
        &rep,
        &sdp(z.rtp, &[8, 0, 101], "sendrecv"),
    );
    let r = z.invite_outcome(&mut net, &mut dz);
    assert_eq!(r.status(), 200, "{r:?}");
    let answer = String::from_utf8_lossy(r.body()).into_owned();
    assert!(
        answer.contains("m=audio") && answer.contains("RTP/AVP 0"),
        "the peer's codec (PCMU), not Z's first (PCMA): {answer}"
    );
    z.ack(&mut net, &dz, None);
    let bye = t.request(&mut net, Method::Bye);
    assert_eq!(bye.call_id(), da.call_id, "the replaced phone is hung up");
    t.respond(&mut net, &bye, 200, None);
    assert!(net.quiet(x.sip), "the peer is not re-INVITEd");
    assert_eq!(net.engine.table_sizes().calls, 1);
    rtp_flows(&mut net, &x, sdp_addr(&body(&inv_x)), &z, dz.remote_media());
    let mut dx = x.callee_dialog(&net, &inv_x);
    x.hang_up(&mut net, &mut dx);
    z.answer_bye(&mut net);
    all_gone(&mut net, timers);
}

#[test]
fn invites_with_bad_replaces_are_refused_and_the_call_goes_on() {
    let conf = TEST_SIP_CONF.replace("[1003](phone)\n", "[1003](phone)\nallowtransfer=no\n");
    let mut net = net_with(&conf);
    let (mut t, mut x, mut y, timers) = phones(&mut net);
    let (mut da, inv_x) = call(&mut net, &mut t, &x, "1002");
    let good = replaces_of(&da);
    let offer = sdp(x.rtp, &[0, 101], "sendrecv");
    let cases = [
        ("Replaces: nosuch;to-tag=1;from-tag=2\r\n".to_string(), 481),
        (format!("Replaces: {good};early-only\r\n"), 486),
        (format!("Replaces: {};to-tag=1\r\n", da.call_id), 400),
        (format!("Replaces: {good}\r\nReplaces: {good}\r\n"), 400),
    ];
    for (h, want) in cases {
        let mut d = x.call_start_with(&mut net, "1003", &h, &offer);
        assert_eq!(x.invite_outcome(&mut net, &mut d).status(), want, "{h}");
    }
    // 1003 has allowtransfer=no.
    let mut d = y.call_start_with(&mut net, "1002", &format!("Replaces: {good}\r\n"), &offer);
    assert_eq!(y.invite_outcome(&mut net, &mut d).status(), 603);
    assert!(net.quiet(t.sip), "the named phone heard nothing");
    rtp_flows(&mut net, &t, da.remote_media(), &x, sdp_addr(&body(&inv_x)));
    t.hang_up(&mut net, &mut da);
    x.answer_bye(&mut net);
    all_gone(&mut net, timers);
}

#[test]
fn an_early_dialog_sipbox_did_not_start_is_not_replaced() {
    let mut net = net_with(TEST_SIP_CONF);
    let (mut t, x, mut z, timers) = phones(&mut net);
    let mut da = t.call_start(&mut net, "1002", &sdp(t.rtp, &[0, 101], "sendrecv"));
    let inv = x.request(&mut net, Method::Invite);
    x.respond(&mut net, &inv, 180, None);
    let ringing = t.response_with(&mut net, 180);
    t.learn_from(&mut da, &ringing);
    let rep = format!("Replaces: {}\r\n", replaces_of(&da));
    let mut dz = z.call_start_with(&mut net, "1001", &rep, &sdp(z.rtp, &[0], "sendrecv"));
    assert_eq!(z.invite_outcome(&mut net, &mut dz).status(), 481);
    t.cancel(&mut net, &da);
    let c = x.request(&mut net, Method::Cancel);
    x.respond(&mut net, &c, 200, None);
    x.respond(&mut net, &inv, 487, None);
    let _ = x.try_request(&mut net, Method::Ack);
    let r = t.response_with(&mut net, 487);
    t.ack_failure(&mut net, &da, &r);
    all_gone(&mut net, timers);
}

#[test]
fn a_transfer_while_the_target_rings_hands_the_target_to_the_transferee() {
    let mut net = net_with(TEST_SIP_CONF);
    let (mut t, mut x, y, timers) = phones(&mut net);
    let (mut da, inv_x) = call(&mut net, &mut t, &x, "1002");
    // The consultation call rings; the transferer transfers before the target answers.
    let mut db = t.call_start(&mut net, "1003", &sdp(t.rtp, &[0, 101], "sendrecv"));
    let inv_y = y.request(&mut net, Method::Invite);
    y.respond(&mut net, &inv_y, 180, None);
    let ringing = t.response_with(&mut net, 180);
    t.learn_from(&mut db, &ringing);
    attended_refer(&t, &mut net, &mut da, &db);
    assert_eq!(status_of(&t, &mut net), 202);
    assert_eq!(notify(&t, &mut net, da.cseq).1, "SIP/2.0 100 Trying\r\n");
    // The consultation INVITE is ended (487), call A tells and releases the transferer.
    let r = t.response_with(&mut net, 487);
    t.ack_failure(&mut net, &db, &r);
    let got = requests(&t, &mut net, 2);
    for r in &got {
        match r.method() {
            Method::Notify => {
                let (state, frag) = check_notify(&t, &mut net, r, da.cseq);
                assert_eq!(
                    (state.as_str(), frag.as_str()),
                    ("terminated;reason=noresource", "SIP/2.0 200 OK\r\n")
                );
            }
            Method::Bye => {
                assert_eq!(r.call_id(), da.call_id);
                t.respond(&mut net, r, 200, None);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        net.quiet(x.sip) && net.quiet(y.sip),
        "nobody is re-INVITEd or told"
    );
    // The target answers: it is bridged to the transferee.
    y.respond(
        &mut net,
        &inv_y,
        200,
        Some(&sdp(y.rtp, &[0, 101], "sendrecv")),
    );
    y.request(&mut net, Method::Ack);
    assert!(net.quiet(x.sip));
    rtp_flows(
        &mut net,
        &x,
        sdp_addr(&body(&inv_x)),
        &y,
        sdp_addr(&body(&inv_y)),
    );
    let mut dx = x.callee_dialog(&net, &inv_x);
    x.hang_up(&mut net, &mut dx);
    y.answer_bye(&mut net);
    all_gone(&mut net, timers);
}
