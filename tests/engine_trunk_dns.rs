//! Register hosts resolved on the loop (RFC 3263), on the fake network with a scripted DNS
//! server: SRV `_sip._udp` order, failover to the next registrar on 503 and on
//! `registertimeout`, a host that does not resolve (state Unresolved, retried, never a refusal
//! to start), TTL refresh, an explicit port (no SRV), an outbound proxy given by name.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::dns::FakeDns;
use common::fakenet::FakeNet;
use sipbox::dns::ResolverConfig;
use sipbox::sip::{self, HeaderName, Message, Request};
use std::net::SocketAddr;
use std::time::Duration;

const NS: &str = "127.0.0.53:53";
const A: &str = "127.0.0.1:59100";
const B: &str = "127.0.0.1:59200";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const EXT: &str = "[guests]\nexten => s,1,Congestion()\n\
    exten => _X.,1,Verbose(1,did call for ${EXTEN})\n same => n,Busy()\n\
    [out]\nexten => _9X.,1,Dial(SIP/itsp/${EXTEN:1},5)\n";

fn net(general: &str, rest: &str) -> FakeNet {
    let conf = format!(
        "[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=guests\nregistertimeout=5\n\
         {general}\n{rest}"
    );
    let mut net = FakeNet::new(&conf, EXT);
    net.engine.set_resolver(ResolverConfig {
        servers: vec![addr(NS)],
        timeout: Duration::from_secs(2),
        attempts: 2,
    });
    net
}

fn zone() -> FakeDns {
    FakeDns::new(NS)
        .srv("_sip._udp.itsp.test", 10, 50, 59100, "a.itsp.test")
        .srv("_sip._udp.itsp.test", 20, 50, 59200, "b.itsp.test")
        .a("a.itsp.test", [127, 0, 0, 1])
        .a("b.itsp.test", [127, 0, 0, 1])
}

/// Lets time pass in small steps, answering DNS questions as they come.
fn run(net: &mut FakeNet, dns: &mut FakeDns, d: Duration) {
    let end = net.now + d;
    while net.now < end {
        net.advance(Duration::from_millis(50));
        while dns.serve(net) > 0 {}
    }
}

/// The next REGISTER arriving at `at` within `wait` (answering DNS meanwhile).
#[track_caller]
fn register_at(net: &mut FakeNet, dns: &mut FakeDns, at: &str, wait: Duration) -> Request {
    let end = net.now + wait;
    loop {
        while dns.serve(net) > 0 {}
        if let Some(d) = net.recv(addr(at), Duration::ZERO) {
            match sip::parse(&d.bytes).expect("parsable") {
                Message::Request(r) if r.method().as_str() == "REGISTER" => return r,
                other => panic!("expected a REGISTER, got {other:?}"),
            }
        }
        assert!(
            net.now < end,
            "no REGISTER at {at} within {wait:?}; log: {:?}",
            net.log()
        );
        net.advance(Duration::from_millis(50));
    }
}

fn reply(net: &mut FakeNet, from: &str, req: &Request, status: u16, extra: &[&str]) {
    let mut r = format!("SIP/2.0 {status} Whatever\r\n");
    for v in req.vias() {
        r.push_str(&format!("Via: {v}\r\n"));
    }
    r.push_str(&format!(
        "From: {}\r\nTo: {};tag=itsp\r\nCall-ID: {}\r\nCSeq: {}\r\n",
        req.from(),
        req.to(),
        req.call_id(),
        req.cseq()
    ));
    for e in extra {
        r.push_str(e);
        r.push_str("\r\n");
    }
    r.push_str("Content-Length: 0\r\n\r\n");
    let to = net.sipbox;
    net.deliver(addr(from), to, r.as_bytes());
}

fn state(net: &FakeNet) -> &'static str {
    net.engine.registry(net.now)[0].state
}

#[test]
fn srv_order_and_503_fails_over_to_the_next_registrar() {
    let mut net = net("register => 2000@itsp.test/1234", "");
    let mut dns = zone();
    let first = register_at(&mut net, &mut dns, A, Duration::from_secs(1));
    assert_eq!(
        dns.seen[0],
        ("_sip._udp.itsp.test".to_string(), "SRV".to_string()),
        "{:?}",
        dns.seen
    );
    assert_eq!(
        first.uri().to_string(),
        "sip:itsp.test",
        "the name stays in the URI"
    );
    assert!(net.logged("host 'itsp.test' (register => / outboundproxy) resolved (SRV)"));
    reply(&mut net, A, &first, 503, &[]);
    let second = register_at(&mut net, &mut dns, B, Duration::ZERO);
    assert!(
        second.cseq().seq > first.cseq().seq,
        "a new REGISTER, not a retransmission"
    );
    reply(&mut net, B, &second, 200, &["Expires: 60"]);
    assert_eq!(state(&net), "Registered");
    // The refresh stays with the registrar that answered.
    let refresh = register_at(&mut net, &mut dns, B, Duration::from_secs(50));
    reply(&mut net, B, &refresh, 200, &["Expires: 60"]);
    assert!(net.drain(addr(A)).is_empty(), "nothing more to the first");
}

#[test]
fn registertimeout_fails_over_then_wraps_to_the_first_with_backoff() {
    let mut net = net("register => 2000@itsp.test/1234", "");
    let mut dns = zone();
    let _silent = register_at(&mut net, &mut dns, A, Duration::from_secs(1));
    let t0 = net.now;
    let also = register_at(&mut net, &mut dns, B, Duration::from_secs(6));
    let waited = net.now - t0;
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(6)).contains(&waited),
        "after registertimeout (5 s): {waited:?}"
    );
    assert_eq!(state(&net), "Request Sent", "a failover is not a failure");
    // The second is silent too: a Timeout, then (after the backoff) the first again.
    run(&mut net, &mut dns, Duration::from_secs(6));
    assert_eq!(state(&net), "Timeout");
    // (The silent transactions still retransmit until Timer F; skip those.)
    let again = loop {
        let r = register_at(&mut net, &mut dns, A, Duration::from_secs(6));
        if r.cseq().seq > also.cseq().seq {
            break r;
        }
    };
    reply(&mut net, A, &again, 200, &[]);
    assert_eq!(state(&net), "Registered");
}

#[test]
fn a_host_that_does_not_resolve_shows_unresolved_and_is_retried() {
    let mut net = net("register => 2000@itsp.test/1234", "");
    let mut dns = FakeDns::new(NS);
    run(&mut net, &mut dns, Duration::from_secs(1));
    assert_eq!(state(&net), "Unresolved", "{:?}", net.log());
    assert!(
        net.logged("host 'itsp.test' (register => / outboundproxy) does not resolve"),
        "{:?}",
        net.log()
    );
    assert!(net.logged("Probably a DNS error for registration to '2000@itsp.test'"));
    // The record appears; retries back off (5, 10, 20 s ...) and ask the server again once
    // the negative answer's cache time (30 s without SOA, RFC 2308) is over.
    dns = dns.a("itsp.test", [127, 0, 0, 2]);
    dns.seen.clear();
    let r = register_at(
        &mut net,
        &mut dns,
        "127.0.0.2:5060",
        Duration::from_secs(40),
    );
    assert!(!dns.seen.is_empty(), "looked up again at the retry");
    reply(&mut net, "127.0.0.2:5060", &r, 200, &[]);
    assert_eq!(state(&net), "Registered");
}

#[test]
fn a_given_port_skips_srv_and_the_ttl_brings_a_new_address() {
    let mut net = net("register => 2000@itsp.test:59100/1234", "");
    let mut dns = FakeDns::new(NS).a("itsp.test", [127, 0, 0, 1]);
    dns.ttl = 30;
    let r = register_at(&mut net, &mut dns, A, Duration::from_secs(1));
    assert_eq!(
        dns.seen,
        vec![("itsp.test".to_string(), "A".to_string())],
        "an explicit port: no SRV"
    );
    reply(&mut net, A, &r, 200, &["Expires: 120"]);
    dns.zone.clear();
    dns = dns.a("itsp.test", [127, 0, 0, 2]);
    run(&mut net, &mut dns, Duration::from_secs(32));
    assert!(
        net.logged("resolved (A/AAAA) to 127.0.0.2:59100"),
        "looked up again at TTL expiry: {:?}",
        net.log()
    );
    let refresh = register_at(
        &mut net,
        &mut dns,
        "127.0.0.2:59100",
        Duration::from_secs(90),
    );
    assert_eq!(refresh.uri().to_string(), "sip:itsp.test:59100");
}

#[test]
fn an_outbound_proxy_by_name_is_resolved_and_carries_the_register() {
    let mut net = net(
        "register => itsp?2000@registrar.example/1234",
        "[itsp]\ntype=peer\nhost=127.0.0.1\nport=59300\noutboundproxy=proxy.itsp.test\n",
    );
    let mut dns = FakeDns::new(NS)
        .srv("_sip._udp.proxy.itsp.test", 10, 50, 59100, "p1.itsp.test")
        .a("p1.itsp.test", [127, 0, 0, 1]);
    let r = register_at(&mut net, &mut dns, A, Duration::from_secs(1));
    assert_eq!(
        r.headers().get(&HeaderName::Route),
        Some("<sip:proxy.itsp.test;lr>")
    );
    assert!(net.drain(addr("127.0.0.1:59300")).is_empty());
}

/// An INVITE for `user` from `from`; returns the final status.
fn invite_from(net: &mut FakeNet, from: &str, user: &str, n: u32) -> u16 {
    let sb = net.sipbox;
    let text = format!(
        "INVITE sip:{user}@{sb} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bKd{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:+15551234@itsp.test>;tag=f{n}\r\nTo: <sip:{user}@{sb}>\r\n\
         Call-ID: did-{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:carrier@{from}>\r\nContent-Length: 0\r\n\r\n"
    );
    net.deliver(addr(from), sb, text.as_bytes());
    loop {
        let d = net
            .recv(addr(from), Duration::from_secs(5))
            .expect("an answer");
        if let Ok(Message::Response(r)) = sip::parse(&d.bytes) {
            if r.status() >= 200 && r.cseq().method.as_str() == "INVITE" {
                return r.status();
            }
        }
    }
}

#[test]
fn inbound_dids_match_the_registrar_by_address_and_port() {
    // Two accounts with the same user at two registrars on one host: each DID lands on its
    // own line's /extension.
    let mut net = net(
        &format!("register => 2000@{A}/1111\nregister => 2000@{B}/2222"),
        "",
    );
    let mut dns = FakeDns::new(NS);
    let ra = register_at(&mut net, &mut dns, A, Duration::from_secs(1));
    reply(&mut net, A, &ra, 200, &[]);
    let rb = register_at(&mut net, &mut dns, B, Duration::from_secs(1));
    reply(&mut net, B, &rb, 200, &[]);
    assert_eq!(invite_from(&mut net, B, "2000", 1), 486);
    assert!(net.logged("did call for 2222"), "{:?}", net.log());
    assert!(!net.logged("did call for 1111"));
    assert_eq!(invite_from(&mut net, A, "2000", 2), 486);
    assert!(net.logged("did call for 1111"));
}

#[test]
fn a_peers_line_takes_another_port_only_with_insecure_port() {
    let peer = |insecure: &str| {
        format!("[itsp]\ntype=peer\nhost=127.0.0.1\nport=59100\ncontext=guests\n{insecure}\n")
    };
    for (insecure, routed) in [("", false), ("insecure=port", true)] {
        let mut net = net("register => itsp?2000@127.0.0.1/1111", &peer(insecure));
        let mut dns = FakeDns::new(NS);
        let r = register_at(&mut net, &mut dns, A, Duration::from_secs(1));
        reply(&mut net, A, &r, 200, &[]);
        // The ITSP's media gateway calls from another port of the same host.
        let status = invite_from(&mut net, "127.0.0.1:59111", "2000", 1);
        assert_eq!(
            net.logged("did call for 1111"),
            routed,
            "{insecure:?}: {status}; {:?}",
            net.log()
        );
    }
}

#[test]
fn calls_go_to_an_outbound_proxy_resolved_by_srv() {
    use common::ua::{sdp, Ua};
    use sipbox::sip::Method;
    let mut net = net(
        "",
        "[1001]\ntype=friend\nhost=dynamic\nsecret=1001pass\ncontext=out\n\n\
         [itsp]\ntype=peer\nhost=itsp.example\noutboundproxy=proxy.itsp.test\n",
    );
    let mut dns = FakeDns::new(NS)
        .srv("_sip._udp.proxy.itsp.test", 10, 50, 59100, "p1.itsp.test")
        .a("p1.itsp.test", [127, 0, 0, 1]);
    run(&mut net, &mut dns, Duration::from_millis(200));
    assert!(net.logged("host 'proxy.itsp.test' (register => / outboundproxy) resolved (SRV)"));
    let proxy = Ua::at("proxy", "", addr(A), addr("127.0.0.1:59102"));
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = proxy
        .try_request(&mut net, Method::Invite)
        .unwrap_or_else(|| panic!("no INVITE at the proxy: {:?}", net.log()));
    assert_eq!(inv.uri().to_string(), "sip:5551234@itsp.example");
    assert_eq!(
        inv.headers().get(&HeaderName::Route),
        Some("<sip:proxy.itsp.test;lr>")
    );
    proxy.respond(&mut net, &inv, 486, None);
    proxy.request(&mut net, Method::Ack);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486);
}
