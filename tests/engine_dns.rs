//! Static `host=name` peers resolved on the loop (RFC 3263), on the fake network with a
//! scripted DNS server: SRV order and the domain in the Request-URI, failover to the next
//! target on 503 and on Timer B, a name that does not resolve (UNREACHABLE, CHANUNAVAIL,
//! recovery), TTL expiry, a silent nameserver, bad answers, `srvlookup=no`, explicit ports and
//! literal addresses (no DNS at all).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::dns::FakeDns;
use common::fakenet::FakeNet;
use common::ua::*;
use sipbox::dns::ResolverConfig;
use sipbox::engine::PeerStatus;
use sipbox::sip::Method;
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);
const NS: &str = "127.0.0.53:53";

const PHONES: &str = "
[1001]
type=friend
host=dynamic
context=internal
secret=1001pass
";

const EXTENSIONS: &str = "\
[internal]
exten => _9X.,1,Dial(SIP/itsp/${EXTEN:1},60)
 same => n,Verbose(1,DIALSTATUS=${DIALSTATUS})
 same => n,Hangup()
";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn conf(general: &str, itsp_host: &str) -> String {
    format!(
        "[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=internal\n{general}\n{PHONES}\n\
         [itsp]\ntype=peer\nhost={itsp_host}\ninsecure=port,invite\ncontext=internal\n"
    )
}

/// A fake net whose resolver asks `servers` (2 s per try, 2 rounds).
fn net_with(conf: &str, servers: &[&str]) -> FakeNet {
    let mut net = FakeNet::new(conf, EXTENSIONS);
    net.engine.set_resolver(ResolverConfig {
        servers: servers.iter().map(|s| addr(s)).collect(),
        timeout: Duration::from_secs(2),
        attempts: 2,
    });
    net
}

/// Runs the engine's start-up turn, answers its DNS questions until none are left.
fn resolve(net: &mut FakeNet, dns: &mut FakeDns) {
    net.advance(Duration::from_millis(1));
    while dns.serve(net) > 0 {}
}

fn itsp_zone() -> FakeDns {
    FakeDns::new(NS)
        .srv("_sip._udp.itsp.test", 10, 50, 59000, "a.itsp.test")
        .srv("_sip._udp.itsp.test", 20, 50, 59100, "b.itsp.test")
        .a("a.itsp.test", [127, 0, 0, 1])
        .a("b.itsp.test", [127, 0, 0, 1])
}

fn trunk(port: u16) -> Ua {
    Ua::at(
        "itsp",
        "",
        addr(&format!("127.0.0.1:{port}")),
        addr(&format!("127.0.0.1:{}", port + 2)),
    )
}

#[test]
fn srv_targets_in_priority_order_and_503_fails_over_to_the_next() {
    let mut net = net_with(&conf("", "itsp.test"), &[NS]);
    let mut dns = itsp_zone();
    resolve(&mut net, &mut dns);
    assert_eq!(
        dns.seen,
        vec![
            ("_sip._udp.itsp.test".to_string(), "SRV".to_string()),
            ("a.itsp.test".into(), "A".into()),
            ("b.itsp.test".into(), "A".into()),
        ]
    );
    assert!(
        net.logged(
            "peer 'itsp': host 'itsp.test' resolved (SRV) to 127.0.0.1:59000, 127.0.0.1:59100"
        ),
        "{:?}",
        net.log()
    );
    let (first, second) = (trunk(59000), trunk(59100));
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = first.request(&mut net, Method::Invite);
    assert_eq!(
        inv.uri().to_string(),
        "sip:5551234@itsp.test",
        "the domain, not the address, in the Request-URI (RFC 3263 keeps the URI)"
    );
    first.respond(&mut net, &inv, 503, None);
    first.request(&mut net, Method::Ack);
    let inv2 = second.request(&mut net, Method::Invite);
    assert_eq!(inv2.uri().to_string(), "sip:5551234@itsp.test");
    assert!(net.logged("503 from 127.0.0.1:59000; trying the next address 127.0.0.1:59100"));
    second.respond(
        &mut net,
        &inv2,
        200,
        Some(&sdp(second.rtp, &[0], "sendrecv")),
    );
    let ok = a.invite_outcome(&mut net, &mut d);
    assert_eq!(ok.status(), 200, "{ok:?}");
    a.ack(&mut net, &d, None);
    second.request(&mut net, Method::Ack);
    a.hang_up(&mut net, &mut d);
    second.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn timer_b_on_the_first_target_fails_over_to_the_second() {
    let mut net = net_with(&conf("", "itsp.test"), &[NS]);
    let mut dns = itsp_zone();
    resolve(&mut net, &mut dns);
    let second = trunk(59100);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    // The first target stays silent: its INVITE is retransmitted until Timer B (32 s).
    let start = net.now;
    let inv = net
        .recv(second.sip, Duration::from_secs(40))
        .expect("INVITE to the second target after Timer B");
    let waited = net.now - start;
    assert!(
        (Duration::from_secs(31)..Duration::from_secs(34)).contains(&waited),
        "{waited:?}"
    );
    let inv = match sipbox::sip::parse(&inv.bytes).unwrap() {
        sipbox::sip::Message::Request(r) => r,
        m => panic!("{m:?}"),
    };
    assert_eq!(*inv.method(), Method::Invite);
    assert!(
        net.drain(addr("127.0.0.1:59000")).len() >= 6,
        "retransmissions to the first"
    );
    second.respond(&mut net, &inv, 486, None);
    let r = a.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 486, "{r:?}");
    assert!(net.wait_log("DIALSTATUS=BUSY", T));
    net.assert_idle();
}

#[test]
fn a_name_that_does_not_resolve_is_unreachable_until_it_does() {
    let mut net = net_with(&conf("", "itsp.test"), &[NS]);
    let mut dns = FakeDns::new(NS);
    resolve(&mut net, &mut dns);
    assert_eq!(dns.seen.len(), 2, "SRV, then A of the name: {:?}", dns.seen);
    assert!(
        net.logged("peer 'itsp': host 'itsp.test' does not resolve (no such name or record)"),
        "{:?}",
        net.log()
    );
    assert!(net.logged("Peer 'itsp' is now UNREACHABLE!"));
    assert_eq!(
        net.engine.peer_status("itsp"),
        Some(PeerStatus::Unreachable)
    );
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let r = a.invite_outcome(&mut net, &mut d);
    assert!(r.status() >= 400, "{r:?}");
    assert!(net.wait_log("DIALSTATUS=CHANUNAVAIL", T), "{:?}", net.log());
    // The record appears; the retry (60 s) finds it and the peer is callable again.
    dns = dns.a("itsp.test", [127, 0, 0, 1]);
    dns.seen.clear();
    net.advance(Duration::from_secs(60));
    while dns.serve(&mut net) > 0 {}
    assert!(!dns.seen.is_empty(), "looked up again");
    assert!(
        net.logged("resolved (A/AAAA) to 127.0.0.1:5060"),
        "{:?}",
        net.log()
    );
    assert_ne!(
        net.engine.peer_status("itsp"),
        Some(PeerStatus::Unreachable)
    );
    net.assert_idle();
}

#[test]
fn names_are_looked_up_again_when_the_ttl_runs_out() {
    let mut net = net_with(&conf("", "itsp.test:5070"), &[NS]);
    let mut dns = FakeDns::new(NS).a("itsp.test", [127, 0, 0, 1]);
    dns.ttl = 30;
    resolve(&mut net, &mut dns);
    assert_eq!(
        dns.seen,
        vec![("itsp.test".to_string(), "A".to_string())],
        "an explicit port: no SRV"
    );
    assert!(net.logged("resolved (A/AAAA) to 127.0.0.1:5070"));
    net.advance(Duration::from_secs(29));
    assert!(dns.serve(&mut net) == 0, "nothing before the TTL ends");
    dns.zone.clear();
    dns = dns.a("itsp.test", [127, 0, 0, 2]);
    net.advance(Duration::from_secs(2));
    assert_eq!(dns.serve(&mut net), 1, "looked up again at TTL expiry");
    assert!(
        net.logged("resolved (A/AAAA) to 127.0.0.2:5070"),
        "{:?}",
        net.log()
    );
    // Dial now goes to the new address.
    let t = trunk(5070);
    let t = Ua::at("itsp", "", addr("127.0.0.2:5070"), t.rtp);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = t.request(&mut net, Method::Invite);
    assert_eq!(inv.uri().to_string(), "sip:5551234@itsp.test:5070");
    t.respond(&mut net, &inv, 486, None);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486);
    net.assert_idle();
}

#[test]
fn a_silent_nameserver_is_retried_then_the_next_one_answers() {
    let ns2 = "127.0.0.54:53";
    let mut net = net_with(&conf("srvlookup=no", "itsp.test"), &[NS, ns2]);
    let mut dns2 = FakeDns::new(ns2).a("itsp.test", [127, 0, 0, 1]);
    net.advance(Duration::from_millis(1));
    let mut silent = FakeDns::new(NS);
    let q = silent.take_queries(&mut net);
    assert_eq!(q.len(), 1, "first try to the first server");
    assert_eq!(dns2.serve(&mut net), 0);
    net.advance(Duration::from_secs(2));
    assert_eq!(dns2.serve(&mut net), 1, "after 2 s the second server");
    assert_eq!(
        dns2.seen,
        vec![("itsp.test".to_string(), "A".to_string())],
        "srvlookup=no: A at once"
    );
    assert!(net.logged("resolved (A/AAAA) to 127.0.0.1:5060"));
    // A late answer from the first server is stray and changes nothing.
    let late = FakeDns::new(NS)
        .a("itsp.test", [127, 0, 0, 9])
        .answer(&q[0].1);
    net.deliver(addr(NS), q[0].0, &late);
    assert_eq!(net.engine.dns_stats().stray, 1);
    assert!(!net.logged("127.0.0.9"));
}

#[test]
fn bad_answers_and_spoofs_leave_the_peer_unreachable_never_stuck() {
    let mut net = net_with(&conf("", "itsp.test"), &[NS]);
    net.advance(Duration::from_millis(1));
    let mut dns = itsp_zone();
    let (to, q) = dns.take_queries(&mut net).remove(0);
    let good = dns.answer(&q);
    // From another address: ignored. Then a truncated answer from the server: fails.
    net.deliver(addr("127.0.0.66:53"), to, &good);
    assert_eq!(net.engine.dns_stats().stray, 1);
    let mut tc = good.clone();
    tc[2] |= 0x02;
    net.deliver(addr(NS), to, &tc);
    assert!(
        net.logged("does not resolve (truncated answer)"),
        "{:?}",
        net.log()
    );
    assert_eq!(
        net.engine.peer_status("itsp"),
        Some(PeerStatus::Unreachable)
    );
    assert!(net.engine.poll_timeout().is_some(), "a retry is planned");
    // A CNAME loop on the next try.
    net.advance(Duration::from_secs(60));
    let (to, q) = dns.take_queries(&mut net).remove(0);
    let lp = cname_loop(&q);
    net.deliver(addr(NS), to, &lp);
    assert!(
        net.logged("does not resolve (CNAME loop)"),
        "{:?}",
        net.log()
    );
}

/// An answer whose CNAMEs point at each other.
fn cname_loop(query: &[u8]) -> Vec<u8> {
    use simple_dns::rdata::{RData, CNAME};
    use simple_dns::{Name, Packet, ResourceRecord, CLASS};
    let q = Packet::parse(query).unwrap();
    let name = q.questions[0].qname.to_string();
    let mut p = Packet::new_reply(q.id());
    p.questions = q.questions.clone();
    p.answers.push(ResourceRecord::new(
        Name::new_unchecked(&name),
        CLASS::IN,
        60,
        RData::CNAME(CNAME(Name::new_unchecked("x.test"))),
    ));
    p.answers.push(ResourceRecord::new(
        Name::new_unchecked("x.test"),
        CLASS::IN,
        60,
        RData::CNAME(CNAME(Name::new_unchecked(&name))),
    ));
    p.build_bytes_vec().unwrap()
}

#[test]
fn literal_hosts_send_no_dns_at_all() {
    let mut net = net_with(&conf("", "127.0.0.1:59000"), &[NS]);
    net.advance(Duration::from_secs(400));
    let t = trunk(59000);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = t.request(&mut net, Method::Invite);
    assert_eq!(inv.uri().to_string(), "sip:5551234@127.0.0.1:59000");
    t.respond(&mut net, &inv, 486, None);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486);
    assert!(net.quiet(addr(NS)));
    assert_eq!(net.engine.dns_stats().queries, 0);
    assert!(!net.is_bound(addr("0.0.0.0:0")), "no DNS socket opened");
    net.assert_idle();
}

#[test]
fn calls_from_any_resolved_address_are_the_peers() {
    // No insecure=port: the source must be one of the name's addresses, port included; the
    // second SRV target counts as much as the first; another port is not the trusted peer
    // (challenged).
    let conf = "[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=guests\nallowguest=no\n\n\
                [itsp]\ntype=peer\nhost=itsp.test\ninsecure=invite\ncontext=fromitsp\n";
    let ext =
        "[fromitsp]\nexten => _X.,1,Verbose(1,from peer ${CHANNEL(peername)})\n same => n,Busy()\n";
    let mut net = FakeNet::new(conf, ext);
    net.engine.set_resolver(ResolverConfig {
        servers: vec![addr(NS)],
        timeout: Duration::from_secs(2),
        attempts: 2,
    });
    let mut dns = itsp_zone();
    resolve(&mut net, &mut dns);
    for (from, status) in [
        ("127.0.0.1:59100", 486),
        ("127.0.0.1:59000", 486),
        ("127.0.0.1:59111", 407),
    ] {
        let mut t = Ua::at("itsp", "", addr(from), addr("127.0.0.1:59202"));
        t.invite_noauth(&mut net, "5550000", "");
        let r = t.final_response(&mut net);
        assert_eq!(r.status(), status, "from {from}: {r:?}; {:?}", net.log());
    }
    assert!(net.logged("from peer itsp"));
}
