//! Call scenarios on the sans-IO engine with a fake clock: forking, CANCEL races, timeouts,
//! retransmissions, and that ending calls frees every table entry and timer.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::engine_net::{answer, Net, Phone};
use sipbox::sip::Method;
use std::time::Duration;

const SIP_CONF: &str = "\
[general]
context=default
allowguest=no
minexpiry=60

[phone](!)
type=friend
host=dynamic
context=internal

[1001](phone)
[1002](phone)
[1003](phone)
call-limit=1
";

const EXTENSIONS: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 2002,1,Dial(SIP/1002)
 same => n,Hangup()
exten => 2000,1,Dial(SIP/1002&SIP/1003,20)
 same => n,Hangup()
";

fn setup() -> (Net, Phone, Phone) {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    let a = Phone::new("1001", 6001);
    let mut b = Phone::new("1002", 6002);
    let reg = b.register(net.sipbox, 300);
    net.send(b.addr, &reg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    (net, a, b)
}

/// Caller INVITEs `exten`; returns the INVITE text and the INVITE sipbox sent to B.
fn ring(net: &mut Net, a: &mut Phone, b: &Phone, exten: &str) -> (String, sipbox::sip::Request) {
    let (inv, _, _) = a.invite(net.sipbox, exten);
    net.send(a.addr, &inv);
    assert_eq!(net.recv_response(a.addr).status(), 100);
    let out = net.recv_request(b.addr);
    assert_eq!(*out.method(), Method::Invite);
    (inv, out)
}

fn assert_empty(net: &mut Net) {
    net.advance(Duration::from_secs(70));
    let t = net.engine.table_sizes();
    assert_eq!((t.calls, t.call_ids), (0, 0), "{t:?}");
    assert_eq!(
        (t.server_transactions, t.client_transactions),
        (0, 0),
        "{t:?}"
    );
    // Only the periodic nonce sweep and the registration expiry remain.
    assert!(t.timers <= 1, "{t:?}");
}

#[test]
fn answered_call_both_directions_then_tables_empty() {
    let (mut net, mut a, mut b) = setup();
    for i in 0..10_000u32 {
        let (inv, out) = ring(&mut net, &mut a, &b, "1002");
        net.send(b.addr, &answer(&out, 180, "bt", b.addr, false));
        assert_eq!(net.recv_response(a.addr).status(), 180);
        net.send(b.addr, &answer(&out, 200, "bt", b.addr, true));
        let ok = net.recv_response(a.addr);
        assert_eq!(ok.status(), 200);
        assert!(!ok.body().is_empty(), "the callee's SDP reaches the caller");
        let ack_b = net.recv_request(b.addr);
        assert_eq!(*ack_b.method(), Method::Ack);
        net.send(a.addr, &a.ack_2xx(&inv, &ok));
        if i % 2 == 0 {
            net.send(a.addr, &a.bye_as_caller(&inv, &ok));
            assert_eq!(net.recv_response(a.addr).status(), 200);
            let bye = net.recv_request(b.addr);
            assert_eq!(*bye.method(), Method::Bye);
            net.send(b.addr, &answer(&bye, 200, "bt", b.addr, false));
        } else {
            net.send(b.addr, &b.bye_as_callee(&out, "bt"));
            assert_eq!(net.recv_response(b.addr).status(), 200);
            let bye = net.recv_request(a.addr);
            assert_eq!(*bye.method(), Method::Bye);
            net.send(a.addr, &answer(&bye, 200, "x", a.addr, false));
        }
        assert!(net.quiet(a.addr) && net.quiet(b.addr));
        if i % 1000 == 999 {
            // let transactions linger out now and then so memory stays flat
            net.advance(Duration::from_secs(40));
            let reg = b.register(net.sipbox, 300);
            net.send(b.addr, &reg);
            assert_eq!(net.recv_response(b.addr).status(), 200);
        }
    }
    assert_empty(&mut net);
}

#[test]
fn busy_and_dial_timeout_map_to_486_and_480() {
    let (mut net, mut a, b) = setup();
    let (inv, out) = ring(&mut net, &mut a, &b, "1002");
    net.send(b.addr, &answer(&out, 486, "bt", b.addr, false));
    let ack = net.recv_request(b.addr);
    assert_eq!(*ack.method(), Method::Ack, "sipbox ACKs the 486 itself");
    let r = net.recv_non_trying(a.addr);
    assert_eq!(r.status(), 486);
    net.send(a.addr, &a.ack_failure(&inv, &r));

    let (inv, out) = ring(&mut net, &mut a, &b, "1002");
    net.send(b.addr, &answer(&out, 180, "bt", b.addr, false));
    assert_eq!(net.recv_response(a.addr).status(), 180);
    net.advance(Duration::from_secs(20));
    let cancel = net.recv_request(b.addr);
    assert_eq!(
        *cancel.method(),
        Method::Cancel,
        "Dial timeout cancels the fork"
    );
    net.send(b.addr, &answer(&cancel, 200, "bt", b.addr, false));
    net.send(b.addr, &answer(&out, 487, "bt", b.addr, false));
    let r = net.recv_non_trying(a.addr);
    assert_eq!(r.status(), 480, "no answer → 480");
    net.send(a.addr, &a.ack_failure(&inv, &r));
    assert_empty(&mut net);
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let (mut net, mut a, b) = setup();
    let (inv, out) = ring(&mut net, &mut a, &b, "1002");
    net.send(a.addr, &a.cancel(&inv));
    let statuses: Vec<u16> = net
        .drain(a.addr)
        .into_iter()
        .filter_map(|(_, m)| match m {
            sipbox::sip::Message::Response(r) => Some(r.status()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![200, 487]);
    assert!(
        net.quiet(b.addr),
        "no CANCEL before a provisional response (§9.1)"
    );
    net.send(b.addr, &answer(&out, 180, "bt", b.addr, false));
    let cancel = net.recv_request(b.addr);
    assert_eq!(*cancel.method(), Method::Cancel);
    net.send(b.addr, &answer(&cancel, 200, "bt", b.addr, false));
    net.send(b.addr, &answer(&out, 487, "bt", b.addr, false));
    assert_eq!(*net.recv_request(b.addr).method(), Method::Ack);
    assert!(net.quiet(a.addr), "the caller heard 487 once");
    assert_empty(&mut net);
}

#[test]
fn two_hundred_crossing_cancel_gets_ack_and_bye() {
    let (mut net, mut a, b) = setup();
    let (inv, out) = ring(&mut net, &mut a, &b, "1002");
    net.send(b.addr, &answer(&out, 180, "bt", b.addr, false));
    assert_eq!(net.recv_response(a.addr).status(), 180);
    net.send(a.addr, &a.cancel(&inv));
    let cancel = net.recv_request(b.addr);
    assert_eq!(*cancel.method(), Method::Cancel);
    // The callee answered before it saw the CANCEL.
    net.send(b.addr, &answer(&out, 200, "bt", b.addr, true));
    net.send(b.addr, &answer(&cancel, 200, "bt", b.addr, false));
    let ack = net.recv_request(b.addr);
    let bye = net.recv_request(b.addr);
    assert_eq!(
        (ack.method().clone(), bye.method().clone()),
        (Method::Ack, Method::Bye)
    );
    net.send(b.addr, &answer(&bye, 200, "bt", b.addr, false));
    let statuses: Vec<u16> = net
        .drain(a.addr)
        .into_iter()
        .filter_map(|(_, m)| match m {
            sipbox::sip::Message::Response(r) => Some(r.status()),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        vec![200, 487],
        "200 for the CANCEL, 487 for the INVITE; never a 200 for the INVITE"
    );
    assert_empty(&mut net);
}

#[test]
fn unanswered_invite_retransmits_on_timer_a_then_times_out() {
    let (mut net, mut a, b) = setup();
    let (inv, _) = ring(&mut net, &mut a, &b, "2002");
    let t0 = net.now;
    net.advance(Duration::from_secs(40));
    let sends: Vec<u64> = net
        .drain(b.addr)
        .iter()
        .map(|(t, _)| (*t - t0).as_millis() as u64)
        .collect();
    assert_eq!(
        sends,
        vec![500, 1500, 3500, 7500, 15500, 31500],
        "Timer A doubling"
    );
    let r = net.recv_non_trying(a.addr);
    assert_eq!(r.status(), 480, "Timer B: the callee is unreachable → 480");
    net.send(a.addr, &a.ack_failure(&inv, &r));
    assert_empty(&mut net);
}

#[test]
fn unacknowledged_2xx_is_retransmitted_then_the_call_ends() {
    let (mut net, mut a, b) = setup();
    let (_inv, out) = ring(&mut net, &mut a, &b, "1002");
    net.send(b.addr, &answer(&out, 200, "bt", b.addr, true));
    assert_eq!(net.recv_response(a.addr).status(), 200);
    let _ack = net.recv_request(b.addr);
    let t0 = net.now;
    net.advance(Duration::from_secs(40));
    let msgs = net.drain(a.addr);
    let oks: Vec<u64> = msgs
        .iter()
        .filter(|(_, m)| matches!(m, sipbox::sip::Message::Response(r) if r.status() == 200))
        .map(|(t, _)| (*t - t0).as_millis() as u64)
        .collect();
    assert_eq!(
        &oks[..5],
        &[500, 1500, 3500, 7500, 11500],
        "T1 doubling capped at T2"
    );
    assert!(
        msgs.iter().any(
            |(_, m)| matches!(m, sipbox::sip::Message::Request(r) if *r.method() == Method::Bye)
        ),
        "BYE to the caller after 64·T1"
    );
    let bye_b = net.recv_request(b.addr);
    assert_eq!(*bye_b.method(), Method::Bye);
    net.send(b.addr, &answer(&bye_b, 200, "bt", b.addr, false));
    net.advance(Duration::from_secs(40));
    net.drain(a.addr);
    assert_empty(&mut net);
}

#[test]
fn parallel_fork_first_answer_wins_others_cancelled() {
    let (mut net, mut a, b) = setup();
    let mut c = Phone::new("1003", 6003);
    let reg = c.register(net.sipbox, 300);
    net.send(c.addr, &reg);
    assert_eq!(net.recv_response(c.addr).status(), 200);
    let (inv, out_b) = ring(&mut net, &mut a, &b, "2000");
    let out_c = net.recv_request(c.addr);
    net.send(b.addr, &answer(&out_b, 180, "bt", b.addr, false));
    net.send(c.addr, &answer(&out_c, 180, "ct", c.addr, false));
    net.send(c.addr, &answer(&out_c, 200, "ct", c.addr, true));
    assert_eq!(*net.recv_request(c.addr).method(), Method::Ack);
    let cancel = net.recv_request(b.addr);
    assert_eq!(
        *cancel.method(),
        Method::Cancel,
        "the other fork is cancelled"
    );
    net.send(b.addr, &answer(&cancel, 200, "bt", b.addr, false));
    net.send(b.addr, &answer(&out_b, 487, "bt", b.addr, false));
    assert_eq!(*net.recv_request(b.addr).method(), Method::Ack);
    let ok = net
        .drain(a.addr)
        .into_iter()
        .rev()
        .find_map(|(_, m)| match m {
            sipbox::sip::Message::Response(r) if r.status() == 200 => Some(r),
            _ => None,
        });
    let ok = ok.expect("caller answered");
    net.send(a.addr, &a.ack_2xx(&inv, &ok));
    net.send(a.addr, &a.bye_as_caller(&inv, &ok));
    let bye = net.recv_request(c.addr);
    net.send(c.addr, &answer(&bye, 200, "ct", c.addr, false));
    assert_empty(&mut net);
}

#[test]
fn call_limit_gives_486_and_expired_registration_480() {
    let (mut net, mut a, b) = setup();
    let mut c = Phone::new("1003", 6003);
    let reg = c.register(net.sipbox, 60);
    net.send(c.addr, &reg);
    assert_eq!(net.recv_response(c.addr).status(), 200);
    // 1003 has call-limit=1: the first call rings, the second is busy.
    let (_inv1, _out) = ring(&mut net, &mut a, &c, "1003");
    let (inv2, _, _) = a.invite(net.sipbox, "1003");
    net.send(a.addr, &inv2);
    let r = net.recv_non_trying(a.addr);
    assert_eq!(r.status(), 486);
    let _ = b;
    // After 61 s the binding has expired: calls to 1003 get 480.
    net.advance(Duration::from_secs(61));
    assert!(net.engine.registrar().bindings("1003").is_empty());
}
