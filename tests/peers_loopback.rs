//! sip.conf peers through the real binary: a static trunk with `insecure=port,invite` (in and
//! out), guests (`allowguest`, `alwaysauthreject`), `call-limit`, and `qualify` (Reachable,
//! UNREACHABLE, and a Dial to an UNREACHABLE peer failing at once).
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::scen::{self, collect};
use common::sipp;
use common::*;
use std::time::{Duration, Instant};

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

#[test]
fn static_trunk_in_without_challenge_and_out_to_its_host() {
    let trunk_port = sipp::free_port();
    let conf = general(&format!(
        "allowguest=no\n\n[trunk]\ntype=peer\nhost=127.0.0.1\nport={trunk_port}\n\
         insecure=port,invite\ncontext=fromtrunk\n"
    ));
    let sb = Sipbox::start(&conf, EXTENSIONS);
    // Out: 1001 dials 9 5551234; the trunk's host:port gets an INVITE for user 5551234.
    let uas = scen::fill("uas_answer_check_ruri.xml.tmpl", &[("RUSER", "5551234")]);
    let trunk = scen::spawn_callee(sb.addr, trunk_port, &uas, 1, 15);
    std::thread::sleep(Duration::from_millis(300));
    let caller = scen::spawn_caller(
        sb.addr,
        &sipp::scenario("uac_auth_call.xml"),
        "95551234",
        "1001",
        "1001pass",
        &[],
        15,
    );
    // In: a call from the trunk's address (any port: insecure=port) is not challenged and
    // runs the trunk's context. A 407 would fail this scenario.
    let inbound = scen::noauth_caller("carrier", 486);
    let out = sipp::run(sb.addr, &["-sf", &inbound, "-s", "0123456", "-m", "1"], 15);
    let in_ok = sipp::succeeded(&out);
    let (caller_ok, _) = collect("caller 1001 -> trunk", caller);
    let (trunk_ok, _) = collect("trunk callee", trunk);
    assert!(
        caller_ok && trunk_ok,
        "Dial(SIP/trunk/5551234) to the trunk's host:port"
    );
    assert!(in_ok, "trunk INVITE accepted without a challenge");
    assert!(sb.wait_log(
        "trunk call for 0123456 in fromtrunk",
        Duration::from_secs(2)
    ));
}

#[test]
fn allowguest_yes_runs_the_general_context() {
    let sb = Sipbox::start(&general("allowguest=yes"), EXTENSIONS);
    let sf = scen::noauth_caller("stranger", 503);
    let out = sipp::run(sb.addr, &["-sf", &sf, "-s", "42", "-m", "1"], 15);
    assert!(
        sipp::succeeded(&out),
        "guest reaches [guests] 42: Congestion"
    );
    assert!(sb.wait_log("guest call in guests", Duration::from_secs(2)));
}

#[test]
fn allowguest_no_forbids_at_once() {
    let sb = Sipbox::start(&general("allowguest=no\nalwaysauthreject=no"), EXTENSIONS);
    let sf = scen::noauth_caller("stranger", 403);
    let out = sipp::run(sb.addr, &["-sf", &sf, "-s", "42", "-m", "1"], 15);
    assert!(
        sipp::succeeded(&out),
        "unknown caller with allowguest=no: 403"
    );
    assert!(!sb.log().iter().any(|l| l.contains("guest call in")));
}

/// An INVITE from `peer` as `user`, with an optional Proxy-Authorization.
fn invite(
    peer: &Peer,
    server: std::net::SocketAddr,
    user: &str,
    cseq: u32,
    auth: Option<&str>,
) -> String {
    let auth = auth
        .map(|a| format!("Proxy-Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "INVITE sip:42@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {p};branch=z9hG4bKguest{user}{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{server}>;tag=g{user}\r\n\
         To: <sip:42@{server}>\r\n\
         Call-ID: guest-{user}\r\n\
         CSeq: {cseq} INVITE\r\n\
         Contact: <sip:{user}@{p}>\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        p = peer.addr
    )
}

fn ack(peer: &Peer, server: std::net::SocketAddr, user: &str, cseq: u32, resp: &Msg) -> String {
    format!(
        "ACK sip:42@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {p};branch=z9hG4bKguest{user}{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{server}>;tag=g{user}\r\n\
         To: {to}\r\n\
         Call-ID: guest-{user}\r\n\
         CSeq: {cseq} ACK\r\n\
         Content-Length: 0\r\n\r\n",
        p = peer.addr,
        to = resp.header("To").unwrap_or_default()
    )
}

/// Sends the INVITE, returns the final answer and ACKs it.
fn try_invite(peer: &Peer, sb: &Sipbox, user: &str, pass: &str) -> (Msg, Msg) {
    peer.send(sb.addr, invite(peer, sb.addr, user, 1, None).as_bytes());
    let first = peer.recv_final().expect("answer to the INVITE");
    peer.send(sb.addr, ack(peer, sb.addr, user, 1, &first).as_bytes());
    let nonce = first
        .auth_param("Proxy-Authenticate", "nonce")
        .unwrap_or_default();
    let uri = format!("sip:42@{}", sb.addr);
    let auth = digest(user, pass, "sipbox", &nonce, "INVITE", &uri, 1);
    peer.send(
        sb.addr,
        invite(peer, sb.addr, user, 2, Some(&auth)).as_bytes(),
    );
    let second = peer
        .recv_final()
        .expect("answer to the INVITE with credentials");
    peer.send(sb.addr, ack(peer, sb.addr, user, 2, &second).as_bytes());
    (first, second)
}

#[test]
fn allowguest_no_with_alwaysauthreject_challenges_then_forbids_like_a_wrong_password() {
    let sb = Sipbox::start(&general("allowguest=no\nalwaysauthreject=yes"), EXTENSIONS);
    let stranger = Peer::new();
    let (first, second) = try_invite(&stranger, &sb, "stranger", "whatever");
    assert_eq!(
        first.status(),
        407,
        "an unknown name is challenged like a known one"
    );
    let known = Peer::new();
    let (kfirst, ksecond) = try_invite(&known, &sb, "1001", "wrongpass");
    assert_eq!(kfirst.status(), 407);
    assert_eq!(
        second.start, ksecond.start,
        "unknown name and wrong password get the same answer"
    );
    assert!(
        second.status() == 403 || second.status() == 407,
        "{}",
        second.start
    );
    assert!(!sb.log().iter().any(|l| l.contains("guest call in")));
}

#[test]
fn call_limit_one_makes_the_second_call_busy() {
    let conf = general("allowguest=no").replace("[1001](phone)\n", "[1001](phone)\ncall-limit=1\n")
        + "\n[2001](phone)\nsecret=2001pass\ncall-limit=1\n\n[2009](phone)\nsecret=2009pass\n";
    let sb = Sipbox::start(&conf, EXTENSIONS);
    let port = sipp::free_port();
    sipp::register_at(sb.addr, "2001", "2001pass", port);
    let callee = scen::spawn_callee(sb.addr, port, &sipp::scenario("uas_answer.xml"), 1, 20);
    std::thread::sleep(Duration::from_millis(300));
    // 1001 -> 2001, held 3 s.
    let first = scen::spawn_caller(
        sb.addr,
        &sipp::scenario("uac_auth_call_hold.xml"),
        "2001",
        "1001",
        "1001pass",
        &["-d", "3000"],
        20,
    );
    assert!(sb.wait_log("answered by leg", Duration::from_secs(5)));
    // 1003 -> 2001: the callee is at its limit: 486.
    let out = sipp::run(
        sb.addr,
        &[
            "-sf",
            &scen::failing_caller_as("1003", 486),
            "-s",
            "2001",
            "-au",
            "1003",
            "-ap",
            "1003pass",
            "-m",
            "1",
        ],
        10,
    );
    let callee_busy = sipp::succeeded(&out);
    // 1001 -> 2009 (unregistered, else 480): the caller is at its limit: 486.
    let out = sipp::run(
        sb.addr,
        &[
            "-sf",
            &scen::failing_caller(486),
            "-s",
            "2009",
            "-au",
            "1001",
            "-ap",
            "1001pass",
            "-m",
            "1",
        ],
        10,
    );
    let caller_busy = sipp::succeeded(&out);
    let (first_ok, _) = collect("first call", first);
    let (callee_ok, _) = collect("callee 2001", callee);
    assert!(callee_busy, "second call to 2001 (call-limit=1): 486");
    assert!(caller_busy, "second call from 1001 (call-limit=1): 486");
    assert!(first_ok && callee_ok, "the first call completes");
    assert!(sb.wait_log("call-limit reached for '1001'", Duration::from_secs(1)));
    // Once the first call ended, 2001 can be called again (the count went down): it is not
    // registered on a live SIPp any more, but the answer is no longer 486.
    assert!(sb.wait_log("0 calls up", Duration::from_secs(3)));
}

#[test]
fn qualify_reachable_unreachable_and_dial_to_unreachable_fails_at_once() {
    let conf = general("allowguest=no\nqualifyfreq=1")
        + "\n[2001](phone)\nsecret=2001pass\nqualify=500\n\n[2002](phone)\nsecret=2002pass\nqualify=500\n";
    let sb = Sipbox::start(&conf, EXTENSIONS);
    let (pa, pb) = (sipp::free_port(), sipp::free_port());
    sipp::register_at(sb.addr, "2001", "2001pass", pa);
    sipp::register_at(sb.addr, "2002", "2002pass", pb);
    // 2001 answers two pings; nobody listens on 2002's port any more.
    let pinged = scen::spawn_callee(sb.addr, pa, &sipp::scenario("uas_options.xml"), 2, 10);
    assert!(
        sb.wait_log("peer '2001' is now Reachable", Duration::from_secs(5)),
        "2001 answers OPTIONS"
    );
    assert!(
        sb.wait_log("peer '2002' is now UNREACHABLE", Duration::from_secs(5)),
        "2002 never answers"
    );
    let (pinged_ok, _) = collect("2001 answering OPTIONS", pinged);
    assert!(pinged_ok);
    let t0 = Instant::now();
    let out = sipp::run(
        sb.addr,
        &[
            "-sf",
            &scen::failing_caller(480),
            "-s",
            "2002",
            "-au",
            "1001",
            "-ap",
            "1001pass",
            "-m",
            "1",
        ],
        10,
    );
    assert!(sipp::succeeded(&out), "Dial to an UNREACHABLE peer: 480");
    // SIPp's own timewait is 500 ms; a Dial that really rang would take its 5 s timeout.
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(sb.wait_log("Dial: '2002' is UNREACHABLE", Duration::from_secs(1)));
}
