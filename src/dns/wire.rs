//! DNS messages (RFC 1035 §4) through the `simple-dns` crate: one query per name and type,
//! and the checks an answer must pass before anything in it is believed.

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, OPCODE, QCLASS, QTYPE, RCODE, TYPE};
use std::fmt;
use std::net::IpAddr;

/// CNAME hops followed inside one answer (RFC 1034 §3.6.2 asks for a bound; glibc uses 8 or
/// so).
pub const MAX_CNAME_HOPS: usize = 8;
/// Records of one answer section looked at; the rest are ignored (bounded work per datagram).
const MAX_RECORDS: usize = 64;
/// Negative answers without an SOA are cached this long (RFC 2308 §5 leaves it to us).
const NEGATIVE_TTL: u32 = 30;
/// And never longer than this (RFC 2308 §5 suggests 1–3 hours; SIP trunks change faster).
const MAX_NEGATIVE_TTL: u32 = 300;

/// The record types sipbox asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qtype {
    /// RFC 2782 service records.
    Srv,
    /// IPv4 addresses.
    A,
    /// IPv6 addresses (RFC 3596).
    Aaaa,
}

impl Qtype {
    fn wire(self) -> TYPE {
        match self {
            Qtype::Srv => TYPE::SRV,
            Qtype::A => TYPE::A,
            Qtype::Aaaa => TYPE::AAAA,
        }
    }
}

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Share of the choices within a priority.
    pub weight: u16,
    /// The target's port.
    pub port: u16,
    /// The target host, lower case, without the trailing dot ("" for ".": no service).
    pub target: String,
}

/// What an answer says, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// SRV records for the name (after any CNAMEs); `ttl` is the smallest on the way.
    Srv {
        /// The records, in the answer's order.
        records: Vec<SrvRecord>,
        /// Seconds they may be kept.
        ttl: u32,
    },
    /// Addresses for the name.
    Addrs {
        /// The addresses, in the answer's order.
        addrs: Vec<IpAddr>,
        /// Seconds they may be kept.
        ttl: u32,
    },
    /// NXDOMAIN, or the name has no record of this type (NODATA); kept `ttl` seconds
    /// (RFC 2308).
    NotFound {
        /// Seconds the negative answer may be kept.
        ttl: u32,
    },
    /// SERVFAIL, REFUSED or another error code: ask the next server.
    ServerFailure,
}

/// Why an answer was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAnswer {
    /// It does not parse as a DNS message.
    Malformed,
    /// The TC bit: the answer did not fit a datagram (sipbox does not retry over TCP).
    Truncated,
    /// Not a response to a standard query.
    NotAResponse,
    /// Its question is not the one asked.
    QuestionMismatch,
    /// A CNAME chain that comes back to a name already seen.
    CnameLoop,
    /// A CNAME chain longer than [`MAX_CNAME_HOPS`].
    CnameChainTooLong,
}

impl fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadAnswer::Malformed => "malformed answer",
            BadAnswer::Truncated => "truncated answer",
            BadAnswer::NotAResponse => "not a response",
            BadAnswer::QuestionMismatch => "answer to another question",
            BadAnswer::CnameLoop => "CNAME loop",
            BadAnswer::CnameChainTooLong => "CNAME chain too long",
        })
    }
}

/// A name as compared: lower case, no trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn norm(name: &Name<'_>) -> String {
    normalize(&name.to_string())
}

/// A recursive query (RD set) for `name`'s records of type `qtype` with this id. None when
/// the name is not a valid DNS name.
pub fn query(id: u16, name: &str, qtype: Qtype) -> Option<Vec<u8>> {
    let qname = Name::new(name).ok()?;
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    p.questions.push(Question::new(
        qname,
        QTYPE::TYPE(qtype.wire()),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    p.build_bytes_vec().ok()
}

/// The id of a datagram, read before anything else is believed.
pub fn answer_id(data: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*data.first()?, *data.get(1)?]))
}

/// Checks an answer to the query for `name`/`qtype` (whose id and source the caller matched)
/// and reads what it says.
pub fn parse_answer(data: &[u8], name: &str, qtype: Qtype) -> Result<Reply, BadAnswer> {
    let p = Packet::parse(data).map_err(|_| BadAnswer::Malformed)?;
    if !p.has_flags(PacketFlag::RESPONSE) || p.opcode() != OPCODE::StandardQuery {
        return Err(BadAnswer::NotAResponse);
    }
    let asked = normalize(name);
    let same_question = p.questions.len() == 1 && {
        let q = &p.questions[0];
        norm(&q.qname) == asked
            && q.qtype == QTYPE::TYPE(qtype.wire())
            && q.qclass == QCLASS::CLASS(CLASS::IN)
    };
    if !same_question {
        return Err(BadAnswer::QuestionMismatch);
    }
    if p.has_flags(PacketFlag::TRUNCATION) {
        return Err(BadAnswer::Truncated);
    }
    match p.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => {
            return Ok(Reply::NotFound {
                ttl: negative_ttl(&p),
            })
        }
        _ => return Ok(Reply::ServerFailure),
    }
    let answers = &p.answers[..p.answers.len().min(MAX_RECORDS)];
    let mut current = asked;
    let mut seen = vec![current.clone()];
    let mut ttl = u32::MAX;
    loop {
        let here = answers
            .iter()
            .filter(|r| r.class == CLASS::IN && norm(&r.name) == current);
        let mut srv = Vec::new();
        let mut addrs = Vec::new();
        let mut cname = None;
        let mut rr_ttl = u32::MAX;
        for r in here {
            match (&r.rdata, qtype) {
                (RData::SRV(s), Qtype::Srv) => {
                    rr_ttl = rr_ttl.min(r.ttl);
                    srv.push(SrvRecord {
                        priority: s.priority,
                        weight: s.weight,
                        port: s.port,
                        target: norm(&s.target),
                    });
                }
                (RData::A(a), Qtype::A) => {
                    rr_ttl = rr_ttl.min(r.ttl);
                    addrs.push(IpAddr::from(std::net::Ipv4Addr::from(a.address)));
                }
                (RData::AAAA(a), Qtype::Aaaa) => {
                    rr_ttl = rr_ttl.min(r.ttl);
                    addrs.push(IpAddr::from(std::net::Ipv6Addr::from(a.address)));
                }
                (RData::CNAME(c), _) => cname = Some((norm(&c.0), r.ttl)),
                _ => {}
            }
        }
        if !srv.is_empty() {
            return Ok(Reply::Srv {
                records: srv,
                ttl: ttl.min(rr_ttl),
            });
        }
        if !addrs.is_empty() {
            return Ok(Reply::Addrs {
                addrs,
                ttl: ttl.min(rr_ttl),
            });
        }
        let Some((target, t)) = cname else {
            // NODATA (RFC 2308 §2.2), or a chain that ends without records of this type.
            return Ok(Reply::NotFound {
                ttl: negative_ttl(&p),
            });
        };
        if seen.contains(&target) {
            return Err(BadAnswer::CnameLoop);
        }
        if seen.len() > MAX_CNAME_HOPS {
            return Err(BadAnswer::CnameChainTooLong);
        }
        ttl = ttl.min(t);
        seen.push(target.clone());
        current = target;
    }
}

/// RFC 2308 §5: a negative answer lives min(SOA TTL, SOA minimum), bounded here.
fn negative_ttl(p: &Packet<'_>) -> u32 {
    p.name_servers
        .iter()
        .find_map(|r| match &r.rdata {
            RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
            _ => None,
        })
        .unwrap_or(NEGATIVE_TTL)
        .min(MAX_NEGATIVE_TTL)
}

#[cfg(test)]
pub(crate) mod testing {
    //! A tiny DNS server's half: answers built with the same crate, for the tests.
    use super::*;
    use simple_dns::rdata::{A, AAAA, CNAME, SOA, SRV};
    use simple_dns::ResourceRecord;

    /// A record to put in an answer.
    pub enum Rr<'a> {
        Srv(&'a str, u16, u16, u16, &'a str),
        A(&'a str, [u8; 4]),
        Aaaa(&'a str, std::net::Ipv6Addr),
        Cname(&'a str, &'a str),
    }

    /// An answer to `query` with these records, this TTL and rcode.
    pub fn answer(query: &[u8], rrs: &[Rr<'_>], ttl: u32, rcode: RCODE) -> Vec<u8> {
        let q = Packet::parse(query).expect("our query parses");
        let mut p = Packet::new_reply(q.id());
        p.questions = q.questions.clone();
        *p.rcode_mut() = rcode;
        for rr in rrs {
            let (name, data) = match *rr {
                Rr::Srv(n, priority, weight, port, target) => (
                    n,
                    RData::SRV(SRV {
                        priority,
                        weight,
                        port,
                        target: Name::new_unchecked(target),
                    }),
                ),
                Rr::A(n, a) => (
                    n,
                    RData::A(A {
                        address: u32::from(std::net::Ipv4Addr::from(a)),
                    }),
                ),
                Rr::Aaaa(n, a) => (
                    n,
                    RData::AAAA(AAAA {
                        address: u128::from(a),
                    }),
                ),
                Rr::Cname(n, t) => (n, RData::CNAME(CNAME(Name::new_unchecked(t)))),
            };
            p.answers.push(ResourceRecord::new(
                Name::new_unchecked(name),
                CLASS::IN,
                ttl,
                data,
            ));
        }
        if rcode == RCODE::NameError {
            p.name_servers.push(ResourceRecord::new(
                Name::new_unchecked("test"),
                CLASS::IN,
                60,
                RData::SOA(SOA {
                    mname: Name::new_unchecked("ns.test"),
                    rname: Name::new_unchecked("hostmaster.test"),
                    serial: 1,
                    refresh: 60,
                    retry: 60,
                    expire: 60,
                    minimum: 20,
                }),
            ));
        }
        p.build_bytes_vec().expect("answer builds")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{answer, Rr};
    use super::*;

    fn q(name: &str, t: Qtype) -> Vec<u8> {
        query(0x1234, name, t).unwrap()
    }

    #[test]
    fn srv_records_are_read() {
        let qb = q("_sip._udp.itsp.test", Qtype::Srv);
        let a = answer(
            &qb,
            &[
                Rr::Srv("_sip._udp.itsp.test", 10, 60, 5070, "a.itsp.test"),
                Rr::Srv("_SIP._udp.ITSP.test", 20, 0, 5080, "B.itsp.test."),
            ],
            300,
            RCODE::NoError,
        );
        let r = parse_answer(&a, "_sip._udp.itsp.test", Qtype::Srv).unwrap();
        let Reply::Srv { records, ttl } = r else {
            panic!("{r:?}")
        };
        assert_eq!(ttl, 300);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].target, "b.itsp.test");
        assert_eq!((records[0].priority, records[0].port), (10, 5070));
    }

    #[test]
    fn cname_chain_is_followed_and_its_ttl_counts() {
        let qb = q("itsp.test", Qtype::A);
        let a = answer(
            &qb,
            &[
                Rr::Cname("itsp.test", "edge.itsp.test"),
                Rr::A("edge.itsp.test", [127, 0, 0, 7]),
            ],
            90,
            RCODE::NoError,
        );
        assert_eq!(
            parse_answer(&a, "itsp.test", Qtype::A),
            Ok(Reply::Addrs {
                addrs: vec!["127.0.0.7".parse().unwrap()],
                ttl: 90
            })
        );
    }

    #[test]
    fn cname_loops_and_long_chains_fail() {
        let qb = q("a.test", Qtype::A);
        let lp = answer(
            &qb,
            &[Rr::Cname("a.test", "b.test"), Rr::Cname("b.test", "a.test")],
            60,
            RCODE::NoError,
        );
        assert_eq!(
            parse_answer(&lp, "a.test", Qtype::A),
            Err(BadAnswer::CnameLoop)
        );
        let names: Vec<String> = (0..12).map(|i| format!("n{i}.test")).collect();
        let mut rrs = vec![Rr::Cname("a.test", &names[0])];
        for w in names.windows(2) {
            rrs.push(Rr::Cname(&w[0], &w[1]));
        }
        let long = answer(&qb, &rrs, 60, RCODE::NoError);
        assert_eq!(
            parse_answer(&long, "a.test", Qtype::A),
            Err(BadAnswer::CnameChainTooLong)
        );
    }

    #[test]
    fn negative_answers_carry_the_soa_minimum() {
        let qb = q("nope.test", Qtype::A);
        let nx = answer(&qb, &[], 0, RCODE::NameError);
        assert_eq!(
            parse_answer(&nx, "nope.test", Qtype::A),
            Ok(Reply::NotFound { ttl: 20 })
        );
        let nodata = answer(
            &qb,
            &[Rr::Aaaa("nope.test", "::1".parse().unwrap())],
            9,
            RCODE::NoError,
        );
        assert_eq!(
            parse_answer(&nodata, "nope.test", Qtype::A),
            Ok(Reply::NotFound { ttl: NEGATIVE_TTL })
        );
        let sf = answer(&qb, &[], 0, RCODE::ServerFailure);
        assert_eq!(
            parse_answer(&sf, "nope.test", Qtype::A),
            Ok(Reply::ServerFailure)
        );
    }

    /// A fuzz-ish table: every broken form of a good answer is refused with a reason, and no
    /// cut or flipped byte panics.
    #[test]
    fn broken_answers_are_refused_never_panic() {
        let qb = q("itsp.test", Qtype::A);
        let good = answer(
            &qb,
            &[Rr::A("itsp.test", [127, 0, 0, 1])],
            60,
            RCODE::NoError,
        );
        assert!(parse_answer(&good, "itsp.test", Qtype::A).is_ok());
        let mut tc = good.clone();
        tc[2] |= 0x02;
        let mut not_resp = good.clone();
        not_resp[2] &= 0x7f;
        let mut opcode = good.clone();
        opcode[2] |= 0x10;
        let table: Vec<(&str, Vec<u8>, &str, Qtype, BadAnswer)> = vec![
            ("empty", vec![], "itsp.test", Qtype::A, BadAnswer::Malformed),
            (
                "header only",
                good[..12].to_vec(),
                "itsp.test",
                Qtype::A,
                BadAnswer::Malformed,
            ),
            (
                "cut",
                good[..good.len() - 3].to_vec(),
                "itsp.test",
                Qtype::A,
                BadAnswer::Malformed,
            ),
            ("truncated", tc, "itsp.test", Qtype::A, BadAnswer::Truncated),
            (
                "a query",
                not_resp,
                "itsp.test",
                Qtype::A,
                BadAnswer::NotAResponse,
            ),
            (
                "other opcode",
                opcode,
                "itsp.test",
                Qtype::A,
                BadAnswer::NotAResponse,
            ),
            (
                "other name",
                good.clone(),
                "other.test",
                Qtype::A,
                BadAnswer::QuestionMismatch,
            ),
            (
                "other type",
                good.clone(),
                "itsp.test",
                Qtype::Aaaa,
                BadAnswer::QuestionMismatch,
            ),
        ];
        for (what, bytes, name, t, want) in table {
            assert_eq!(parse_answer(&bytes, name, t), Err(want), "{what}");
        }
        // A compression pointer to itself, and one pointing forward.
        let mut self_ptr = good[..12].to_vec();
        self_ptr.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(
            parse_answer(&self_ptr, "itsp.test", Qtype::A),
            Err(BadAnswer::Malformed)
        );
        for cut in 0..good.len() {
            let _ = parse_answer(&good[..cut], "itsp.test", Qtype::A);
            for bit in 0..8 {
                let mut b = good.clone();
                b[cut] ^= 1 << bit;
                let _ = parse_answer(&b, "itsp.test", Qtype::A);
            }
        }
    }

    #[test]
    fn invalid_names_build_no_query() {
        let long = "a".repeat(70);
        assert!(query(1, &long, Qtype::A).is_none());
        assert_eq!(answer_id(&[0x12]), None);
        assert_eq!(answer_id(&[0x12, 0x34, 0]), Some(0x1234));
    }
}
