//! The resolver against a scripted nameserver on a fake clock.

use super::wire::testing::{answer, Rr};
use super::wire::{BadAnswer, Qtype};
use super::*;
use crate::flow::{Outbox, SockId, SocketOp, Transport};
use rand::rngs::StdRng;
use rand::SeedableRng;
use simple_dns::{Packet, RCODE};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const NS1: &str = "127.0.0.53:53";
const NS2: &str = "127.0.0.54:53";

struct Net {
    r: Resolver,
    rng: StdRng,
    out: Outbox,
    now: Instant,
}

/// One query the resolver sent.
struct Sent {
    to: SocketAddr,
    bytes: Vec<u8>,
    name: String,
    qtype: Qtype,
}

impl Net {
    // A test's starting instant: the resolver only compares against it.
    #[allow(clippy::disallowed_methods)]
    fn new(servers: &[&str]) -> Net {
        let conf = ResolverConfig {
            servers: servers.iter().map(|s| s.parse().unwrap()).collect(),
            timeout: Duration::from_secs(2),
            attempts: 2,
        };
        Net {
            r: Resolver::new(conf, true, Family::V4),
            rng: StdRng::seed_from_u64(1),
            out: Outbox::default(),
            now: Instant::now(),
        }
    }

    fn resolve(&mut self, name: &str, port: Option<u16>) -> LookupId {
        self.r.resolve(
            self.now,
            &mut self.rng,
            &mut self.out,
            name,
            port,
            Transport::Udp,
        )
    }

    fn sent(&mut self) -> Vec<Sent> {
        while let Some(op) = self.out.pop_socket_op() {
            assert!(matches!(
                op,
                SocketOp::Bind {
                    id: SockId::DNS,
                    ..
                }
            ));
            self.r.socket_bound(true);
        }
        let mut v = Vec::new();
        while let Some(t) = self.out.pop_transmit() {
            assert_eq!(t.via, SockId::DNS);
            let p = Packet::parse(&t.bytes).unwrap();
            let q = &p.questions[0];
            let qtype = match q.qtype {
                simple_dns::QTYPE::TYPE(simple_dns::TYPE::SRV) => Qtype::Srv,
                simple_dns::QTYPE::TYPE(simple_dns::TYPE::A) => Qtype::A,
                _ => Qtype::Aaaa,
            };
            v.push(Sent {
                to: t.to,
                name: q.qname.to_string(),
                qtype,
                bytes: t.bytes.to_vec(),
            });
        }
        v
    }

    fn reply(&mut self, from: SocketAddr, bytes: &[u8]) {
        self.r
            .handle_datagram(self.now, &mut self.rng, &mut self.out, from, bytes);
    }

    /// Answers the one outstanding query.
    fn answer_one(&mut self, rrs: &[Rr<'_>], ttl: u32, rcode: RCODE) -> Sent {
        let mut s = self.sent();
        assert_eq!(s.len(), 1, "one query outstanding");
        let q = s.remove(0);
        let a = answer(&q.bytes, rrs, ttl, rcode);
        self.reply(q.to, &a);
        q
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.r.poll_timeout().filter(|t| *t <= end) {
            self.now = self.now.max(t);
            self.r
                .handle_timeout(self.now, &mut self.rng, &mut self.out);
        }
        self.now = end;
    }

    fn done(&mut self) -> Option<(LookupId, Result<Resolved, LookupError>)> {
        self.r.poll_done()
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn srv_then_addresses_in_priority_order() {
    let mut n = Net::new(&[NS1]);
    let id = n.resolve("ITSP.test", None);
    let q = n.answer_one(
        &[
            Rr::Srv("_sip._udp.itsp.test", 20, 0, 5080, "b.itsp.test"),
            Rr::Srv("_sip._udp.itsp.test", 10, 0, 5070, "a.itsp.test"),
        ],
        300,
        RCODE::NoError,
    );
    assert_eq!(
        (q.name.as_str(), q.qtype),
        ("_sip._udp.itsp.test", Qtype::Srv)
    );
    let q = n.answer_one(&[Rr::A("a.itsp.test", [127, 0, 0, 7])], 60, RCODE::NoError);
    assert_eq!((q.name.as_str(), q.qtype), ("a.itsp.test", Qtype::A));
    let q = n.answer_one(&[Rr::A("b.itsp.test", [127, 0, 0, 8])], 600, RCODE::NoError);
    assert_eq!(q.name, "b.itsp.test");
    let (got, r) = n.done().expect("done");
    assert_eq!(got, id);
    let r = r.unwrap();
    assert_eq!(
        r.addrs,
        vec![addr("127.0.0.7:5070"), addr("127.0.0.8:5080")]
    );
    assert!(r.via_srv);
    assert_eq!(
        r.expires,
        Some(n.now + Duration::from_secs(60)),
        "the shortest TTL"
    );
}

#[test]
fn without_srv_the_name_itself_on_5060_and_a_port_skips_srv() {
    let mut n = Net::new(&[NS1]);
    n.resolve("pbx.test", None);
    n.answer_one(&[], 0, RCODE::NameError);
    let q = n.answer_one(&[Rr::A("pbx.test", [127, 0, 0, 9])], 60, RCODE::NoError);
    assert_eq!(q.qtype, Qtype::A);
    let r = n.done().unwrap().1.unwrap();
    assert_eq!((r.addrs, r.via_srv), (vec![addr("127.0.0.9:5060")], false));

    n.resolve("other.test", Some(5099));
    let q = n.answer_one(&[Rr::A("other.test", [127, 0, 0, 10])], 60, RCODE::NoError);
    assert_eq!(
        q.qtype,
        Qtype::A,
        "an explicit port: no SRV (RFC 3263 §4.2)"
    );
    assert_eq!(
        n.done().unwrap().1.unwrap().addrs,
        vec![addr("127.0.0.10:5099")]
    );
}

#[test]
fn literal_addresses_send_nothing() {
    let mut n = Net::new(&[NS1]);
    n.resolve("127.0.0.5", None);
    n.resolve("[::1]", Some(5070));
    assert!(n.sent().is_empty());
    assert_eq!(
        n.done().unwrap().1.unwrap().addrs,
        vec![addr("127.0.0.5:5060")]
    );
    assert_eq!(n.done().unwrap().1.unwrap().addrs, vec![addr("[::1]:5070")]);
}

#[test]
fn ttl_is_honoured_by_the_cache() {
    let mut n = Net::new(&[NS1]);
    n.resolve("itsp.test", None);
    n.answer_one(
        &[Rr::Srv("_sip._udp.itsp.test", 10, 0, 5070, "a.itsp.test")],
        120,
        RCODE::NoError,
    );
    n.answer_one(&[Rr::A("a.itsp.test", [127, 0, 0, 7])], 30, RCODE::NoError);
    assert!(n.done().unwrap().1.is_ok());
    n.advance(Duration::from_secs(29));
    n.resolve("itsp.test", None);
    assert!(n.sent().is_empty(), "both answers cached");
    assert_eq!(
        n.done().unwrap().1.unwrap().addrs,
        vec![addr("127.0.0.7:5070")]
    );
    n.advance(Duration::from_secs(1));
    n.resolve("itsp.test", None);
    let q = n.answer_one(&[Rr::A("a.itsp.test", [127, 0, 0, 9])], 30, RCODE::NoError);
    assert_eq!(
        q.qtype,
        Qtype::A,
        "the SRV answer lives on; the A answer expired"
    );
    assert_eq!(
        n.done().unwrap().1.unwrap().addrs,
        vec![addr("127.0.0.9:5070")]
    );
    assert!(n.r.stats().cache_hits >= 3);
    // Negative answers are cached too (SOA minimum 20 s).
    n.resolve("nope.test", Some(5060));
    n.answer_one(&[], 0, RCODE::NameError);
    assert_eq!(n.done().unwrap().1, Err(LookupError::NotFound));
    n.resolve("nope.test", Some(5060));
    assert!(n.sent().is_empty());
    assert_eq!(n.done().unwrap().1, Err(LookupError::NotFound));
}

#[test]
fn timeouts_retry_on_the_next_server_then_fail() {
    let mut n = Net::new(&[NS1, NS2]);
    n.resolve("pbx.test", Some(5060));
    let mut order = Vec::new();
    for _ in 0..4 {
        let s = n.sent();
        assert_eq!(s.len(), 1);
        order.push(s[0].to);
        assert!(n.done().is_none());
        n.advance(Duration::from_secs(2));
    }
    assert_eq!(order, vec![addr(NS1), addr(NS2), addr(NS1), addr(NS2)]);
    assert!(n.sent().is_empty(), "attempts x servers tries, no more");
    assert_eq!(n.done().unwrap().1, Err(LookupError::Timeout));
    assert_eq!(n.r.poll_timeout(), None);

    // An answer to the retry on the second server is taken; a late answer to the first try
    // (its id is retired) is stray.
    n.resolve("pbx.test", Some(5060));
    let first = n.sent().remove(0);
    n.advance(Duration::from_secs(2));
    let second = n.sent().remove(0);
    assert_eq!(second.to, addr(NS2));
    n.reply(
        first.to,
        &answer(
            &first.bytes,
            &[Rr::A("pbx.test", [127, 0, 0, 1])],
            60,
            RCODE::NoError,
        ),
    );
    assert!(n.done().is_none());
    assert_eq!(n.r.stats().stray, 1);
    n.reply(
        second.to,
        &answer(
            &second.bytes,
            &[Rr::A("pbx.test", [127, 0, 0, 2])],
            60,
            RCODE::NoError,
        ),
    );
    assert_eq!(
        n.done().unwrap().1.unwrap().addrs,
        vec![addr("127.0.0.2:5060")]
    );
}

#[test]
fn servfail_moves_to_the_next_server() {
    let mut n = Net::new(&[NS1, NS2]);
    n.resolve("pbx.test", Some(5060));
    let q = n.answer_one(&[], 0, RCODE::ServerFailure);
    assert_eq!(q.to, addr(NS1));
    let q = n.answer_one(&[Rr::A("pbx.test", [127, 0, 0, 3])], 60, RCODE::NoError);
    assert_eq!(q.to, addr(NS2));
    assert!(n.done().unwrap().1.is_ok());
}

#[test]
fn answers_from_elsewhere_or_with_another_id_are_ignored() {
    let mut n = Net::new(&[NS1]);
    n.resolve("pbx.test", Some(5060));
    let q = n.sent().remove(0);
    let good = answer(
        &q.bytes,
        &[Rr::A("pbx.test", [127, 0, 0, 1])],
        60,
        RCODE::NoError,
    );
    n.reply(addr("127.0.0.66:53"), &good);
    n.reply(addr("127.0.0.53:5353"), &good);
    let mut other_id = good.clone();
    other_id[0] ^= 0xff;
    n.reply(q.to, &other_id);
    n.reply(q.to, &[]);
    assert!(n.done().is_none(), "still waiting for the real answer");
    assert_eq!(n.r.stats().stray, 4);
    n.reply(q.to, &good);
    assert!(n.done().unwrap().1.is_ok());
}

/// A table of bad answers carrying the right id from the right server: each fails the lookup
/// at once (no panic, no waiting), and nothing is left behind.
#[test]
fn bad_answers_fail_the_lookup() {
    type Make = Box<dyn Fn(&[u8]) -> Vec<u8>>;
    let cases: Vec<(&str, Make, LookupError)> = vec![
        (
            "truncated",
            Box::new(|q| {
                let mut a = answer(q, &[Rr::A("pbx.test", [127, 0, 0, 1])], 60, RCODE::NoError);
                a[2] |= 0x02;
                a
            }),
            LookupError::BadAnswer(BadAnswer::Truncated),
        ),
        (
            "cut short",
            Box::new(|q| {
                let a = answer(q, &[Rr::A("pbx.test", [127, 0, 0, 1])], 60, RCODE::NoError);
                a[..a.len() - 2].to_vec()
            }),
            LookupError::BadAnswer(BadAnswer::Malformed),
        ),
        (
            "header only",
            Box::new(|q| answer(q, &[], 60, RCODE::NoError)[..12].to_vec()),
            LookupError::BadAnswer(BadAnswer::Malformed),
        ),
        (
            "another question",
            Box::new(|q| {
                let other = wire::query(u16::from_be_bytes([q[0], q[1]]), "evil.test", Qtype::A);
                answer(
                    &other.unwrap(),
                    &[Rr::A("evil.test", [127, 0, 0, 1])],
                    60,
                    RCODE::NoError,
                )
            }),
            LookupError::BadAnswer(BadAnswer::QuestionMismatch),
        ),
        (
            "the query echoed",
            Box::new(|q| q.to_vec()),
            LookupError::BadAnswer(BadAnswer::NotAResponse),
        ),
        (
            "CNAME loop",
            Box::new(|q| {
                answer(
                    q,
                    &[
                        Rr::Cname("pbx.test", "x.test"),
                        Rr::Cname("x.test", "pbx.test"),
                    ],
                    60,
                    RCODE::NoError,
                )
            }),
            LookupError::BadAnswer(BadAnswer::CnameLoop),
        ),
        (
            "only records for other names",
            Box::new(|q| answer(q, &[Rr::A("evil.test", [127, 0, 0, 1])], 60, RCODE::NoError)),
            LookupError::NotFound,
        ),
    ];
    for (what, make, want) in cases {
        let mut n = Net::new(&[NS1]);
        n.resolve("pbx.test", Some(5060));
        let q = n.sent().remove(0);
        n.reply(q.to, &make(&q.bytes));
        assert_eq!(n.done().map(|d| d.1), Some(Err(want)), "{what}");
        assert_eq!((n.r.in_progress(), n.r.poll_timeout()), (0, None), "{what}");
    }
}

#[test]
fn srv_weights_pick_the_first_target_with_the_engine_rng() {
    let mut n = Net::new(&[NS1]);
    let mut heavy_first = 0;
    for i in 0..200 {
        // A fresh name each time (the SRV answer is cached otherwise, which would be fine
        // but would not exercise the network path).
        let name = format!("t{i}.test");
        n.resolve(&name, None);
        let srv = format!("_sip._udp.{name}");
        n.answer_one(
            &[
                Rr::Srv(&srv, 10, 90, 5070, "heavy.test"),
                Rr::Srv(&srv, 10, 10, 5080, "light.test"),
            ],
            60,
            RCODE::NoError,
        );
        let first = n.sent().remove(0);
        if first.name == "heavy.test" {
            heavy_first += 1;
        }
        let a = answer(
            &first.bytes,
            &[Rr::A(&first.name, [127, 0, 0, 1])],
            1,
            RCODE::NoError,
        );
        n.reply(first.to, &a);
        let second = n.sent().remove(0);
        let a = answer(
            &second.bytes,
            &[Rr::A(&second.name, [127, 0, 0, 2])],
            1,
            RCODE::NoError,
        );
        n.reply(second.to, &a);
        assert_eq!(n.done().unwrap().1.unwrap().addrs.len(), 2);
        n.advance(Duration::from_secs(2));
    }
    assert!((160..=195).contains(&heavy_first), "{heavy_first} of 200");
}

#[test]
fn no_server_or_no_socket_fails_at_once() {
    let mut n = Net::new(&[]);
    n.resolve("pbx.test", None);
    assert_eq!(n.done().unwrap().1, Err(LookupError::NoServer));
    let mut n = Net::new(&[NS1]);
    n.resolve("pbx.test", None);
    let _ = n.out.pop_socket_op();
    n.r.socket_bound(false);
    assert_eq!(n.done().unwrap().1, Err(LookupError::NoServer));
    n.resolve("again.test", None);
    assert_eq!(n.done().unwrap().1, Err(LookupError::NoServer));
}

#[test]
fn lookups_are_bounded() {
    let mut n = Net::new(&[NS1]);
    for i in 0..300 {
        n.resolve(&format!("n{i}.test"), None);
    }
    assert_eq!(n.r.in_progress(), 256);
    let busy = std::iter::from_fn(|| n.done())
        .filter(|d| d.1 == Err(LookupError::Busy))
        .count();
    assert_eq!(busy, 44);
}
