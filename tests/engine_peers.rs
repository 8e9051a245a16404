//! sip.conf peers on the fake network: a static trunk with `insecure=port,invite` (in and
//! out), guests (`allowguest`, `alwaysauthreject`), `call-limit`, and `qualify` (Reachable,
//! UNREACHABLE, and a Dial to an UNREACHABLE peer failing at once).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use sipbox::engine::PeerStatus;
use sipbox::sip::{Method, Response};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const PHONES: &str = "
[phone](!)
type=friend
host=dynamic
context=internal
contactdeny=0.0.0.0/0.0.0.0
contactpermit=127.0.0.0/255.0.0.0

[1001](phone)
secret=1001pass

[1003](phone)
secret=1003pass
";

fn general(extra: &str) -> String {
    format!(
        "[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=guests\nrealm=sipbox\n{extra}\n{PHONES}"
    )
}

const EXTENSIONS: &str = "\
[internal]
exten => _9X.,1,Dial(SIP/trunk/${EXTEN:1},5)
exten => _20XX,1,Dial(SIP/${EXTEN},5)

[fromtrunk]
exten => _X.,1,Verbose(1,trunk call for ${EXTEN} in ${CONTEXT})
 same => n,Busy()

[guests]
exten => 42,1,Verbose(1,guest call in ${CONTEXT})
 same => n,Congestion()
";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn static_trunk_out_to_its_host_and_port() {
    let conf = general(
        "allowguest=no\n\n[trunk]\ntype=peer\nhost=127.0.0.1\nport=59000\n\
         insecure=port,invite\ncontext=fromtrunk\n",
    );
    let mut net = FakeNet::new(&conf, EXTENSIONS);
    let trunk = Ua::at(
        "trunk",
        "",
        addr("127.0.0.1:59000"),
        addr("127.0.0.1:59002"),
    );
    // Out: 1001 dials 9 5551234; the trunk's host:port gets an INVITE for user 5551234.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = trunk.request(&mut net, Method::Invite);
    assert_eq!(
        inv.uri().to_string(),
        "sip:5551234@127.0.0.1:59000",
        "{inv:?}"
    );
    trunk.respond(&mut net, &inv, 180, None);
    trunk.respond(&mut net, &inv, 200, Some(&sdp(trunk.rtp, &[0], "sendrecv")));
    let ok = a.invite_outcome(&mut net, &mut d);
    assert_eq!(ok.status(), 200, "{ok:?}");
    a.ack(&mut net, &d, None);
    trunk.request(&mut net, Method::Ack);
    a.hang_up(&mut net, &mut d);
    trunk.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn static_trunk_in_from_any_port_without_challenge_runs_its_context() {
    let conf = general(
        "allowguest=no\n\n[trunk]\ntype=peer\nhost=127.0.0.1\nport=59000\n\
         insecure=port,invite\ncontext=fromtrunk\n",
    );
    let mut net = FakeNet::new(&conf, EXTENSIONS);
    // In: a call from the trunk's address (another port: insecure=port) is not challenged
    // and runs the trunk's context. A 407 would fail this test.
    let mut carrier = Ua::at(
        "carrier",
        "",
        addr("127.0.0.1:59010"),
        addr("127.0.0.1:59012"),
    );
    let offer = sdp(carrier.rtp, &[0], "sendrecv");
    let mut d = carrier.invite_noauth(&mut net, "0123456", &offer);
    let r = carrier.invite_outcome(&mut net, &mut d);
    assert_eq!(
        r.status(),
        486,
        "trunk INVITE accepted without a challenge: {r:?}"
    );
    assert!(
        net.logged("trunk call for 0123456 in fromtrunk"),
        "{:?}",
        net.log()
    );
    net.assert_idle();
}

/// Sends the INVITE to 42 without and then with credentials; returns both answers (ACKed).
fn try_invite(net: &mut FakeNet, user: &str, pass: &str) -> (Response, Response) {
    let mut ua = Ua::new(net, user, pass);
    let mut d = ua.invite_noauth(net, "42", "");
    let first = ua.invite_outcome(net, &mut d);
    ua.reinvite_with_auth(net, &mut d, &first, "");
    let second = ua.invite_outcome(net, &mut d);
    (first, second)
}

#[test]
fn allowguest_yes_runs_the_general_context() {
    let mut net = FakeNet::new(&general("allowguest=yes"), EXTENSIONS);
    let mut s = Ua::new(&mut net, "stranger", "");
    let mut d = s.invite_noauth(&mut net, "42", "");
    let r = s.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 503, "guest reaches [guests] 42: Congestion");
    assert!(net.logged("guest call in guests"), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn allowguest_no_forbids_at_once() {
    let mut net = FakeNet::new(&general("allowguest=no\nalwaysauthreject=no"), EXTENSIONS);
    let mut s = Ua::new(&mut net, "stranger", "");
    let mut d = s.invite_noauth(&mut net, "42", "");
    let r = s.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 403, "unknown caller with allowguest=no: 403");
    assert!(!net.logged("guest call in"));
    net.assert_idle();
}

#[test]
fn allowguest_no_with_alwaysauthreject_challenges_then_forbids_like_a_wrong_password() {
    let mut net = FakeNet::new(&general("allowguest=no\nalwaysauthreject=yes"), EXTENSIONS);
    let (first, second) = try_invite(&mut net, "stranger", "whatever");
    assert_eq!(
        first.status(),
        407,
        "an unknown name is challenged like a known one"
    );
    let (kfirst, ksecond) = try_invite(&mut net, "1001", "wrongpass");
    assert_eq!(kfirst.status(), 407);
    assert_eq!(
        (second.status(), second.reason()),
        (ksecond.status(), ksecond.reason()),
        "unknown name and wrong password get the same answer"
    );
    assert!(
        second.status() == 403 || second.status() == 407,
        "{second:?}"
    );
    let names = |m: &Response| {
        m.headers()
            .iter()
            .map(|(n, _)| n.as_str().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&first),
        names(&kfirst),
        "the challenges look alike too"
    );
    assert!(!net.logged("guest call in"));
    net.assert_idle();
}

#[test]
fn call_limit_one_makes_the_second_call_busy() {
    let conf = general("allowguest=no").replace("[1001](phone)\n", "[1001](phone)\ncall-limit=1\n")
        + "\n[2001](phone)\nsecret=2001pass\ncall-limit=1\n\n[2009](phone)\nsecret=2009pass\n";
    let mut net = FakeNet::new(&conf, EXTENSIONS);
    let callee = Ua::new(&mut net, "2001", "2001pass").registered(&mut net);
    // 1001 -> 2001, answered and held.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "2001", &offer);
    callee.answer(&mut net, &[0]);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    assert!(net.logged("answered by leg"), "{:?}", net.log());
    // 1003 -> 2001: the callee is at its limit: 486.
    let mut c = Ua::new(&mut net, "1003", "1003pass");
    let offer = sdp(c.rtp, &[0], "sendrecv");
    let (_, r) = c.call(&mut net, "2001", &offer);
    assert_eq!(r.status(), 486, "second call to 2001 (call-limit=1): 486");
    // 1001 -> 2009 (unregistered, else 480): the caller is at its limit: 486.
    let (_, r) = a.call(&mut net, "2009", &offer);
    assert_eq!(r.status(), 486, "second call from 1001 (call-limit=1): 486");
    assert!(
        net.logged("call-limit reached for '1001'"),
        "{:?}",
        net.log()
    );
    // The first call completes; then the counts are down again.
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    assert!(net.wait_log("0 calls up", T));
    let mut d = a.call_start(&mut net, "2001", &offer);
    callee.answer(&mut net, &[0]);
    assert_eq!(
        a.invite_outcome(&mut net, &mut d).status(),
        200,
        "not busy any more"
    );
    a.ack(&mut net, &d, None);
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn qualify_reachable_unreachable_and_dial_to_unreachable_fails_at_once() {
    let conf = general("allowguest=no\nqualifyfreq=1")
        + "\n[2001](phone)\nsecret=2001pass\nqualify=500\n\n[2002](phone)\nsecret=2002pass\nqualify=500\n";
    let mut net = FakeNet::new(&conf, EXTENSIONS);
    let p1 = Ua::new(&mut net, "2001", "2001pass").registered(&mut net);
    let _p2 = Ua::new(&mut net, "2002", "2002pass").registered(&mut net);
    // 2001 answers two pings; 2002 never answers.
    for _ in 0..2 {
        let ping = p1.request(&mut net, Method::Options);
        p1.respond(&mut net, &ping, 200, None);
    }
    assert!(
        net.logged("Peer '2001' is now Reachable. ("),
        "2001 answers OPTIONS: {:?}",
        net.log()
    );
    assert!(matches!(
        net.engine.peer_status("2001"),
        Some(PeerStatus::Reachable(_))
    ));
    assert!(
        net.wait_log("Peer '2002' is now UNREACHABLE!", T),
        "2002 never answers"
    );
    assert_eq!(
        net.engine.peer_status("2002"),
        Some(PeerStatus::Unreachable)
    );
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let t0 = net.now;
    let (_, r) = a.call(&mut net, "2002", &offer);
    assert_eq!(r.status(), 480, "Dial to an UNREACHABLE peer: 480");
    // A Dial that really rang would take its 5 s timeout.
    assert!(
        net.now - t0 < Duration::from_millis(100),
        "{:?}",
        net.now - t0
    );
    assert!(net.logged("Dial: '2002' is UNREACHABLE"), "{:?}", net.log());
}
