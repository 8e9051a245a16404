//! A scripted DNS server for the fake network: a zone of records, answering every query
//! sipbox sent to its address (built with `simple-dns`, the crate sipbox parses with).
#![allow(dead_code)]

use super::fakenet::FakeNet;
use simple_dns::rdata::{RData, A, SRV};
use simple_dns::{Name, Packet, ResourceRecord, CLASS, QTYPE, RCODE, TYPE};
use std::net::{Ipv4Addr, SocketAddr};

/// A record of the zone.
#[derive(Debug, Clone)]
pub enum Rec {
    /// `_sip._udp.NAME`: priority, weight, port, target.
    Srv(String, u16, u16, u16, String),
    /// NAME → address.
    A(String, Ipv4Addr),
}

/// The zone and the server's address.
pub struct FakeDns {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its records.
    pub zone: Vec<Rec>,
    /// The TTL of every answer.
    pub ttl: u32,
    /// Questions seen: (name, type) in order.
    pub seen: Vec<(String, String)>,
}

impl FakeDns {
    /// An empty zone at `addr`.
    pub fn new(addr: &str) -> FakeDns {
        FakeDns {
            addr: addr.parse().unwrap(),
            zone: Vec::new(),
            ttl: 300,
            seen: Vec::new(),
        }
    }

    /// Adds an SRV record.
    pub fn srv(mut self, name: &str, prio: u16, weight: u16, port: u16, target: &str) -> Self {
        self.zone
            .push(Rec::Srv(name.into(), prio, weight, port, target.into()));
        self
    }

    /// Adds an A record.
    pub fn a(mut self, name: &str, ip: [u8; 4]) -> Self {
        self.zone.push(Rec::A(name.into(), Ipv4Addr::from(ip)));
        self
    }

    /// The queries waiting at the server, without answering them.
    pub fn take_queries(&mut self, net: &mut FakeNet) -> Vec<(SocketAddr, Vec<u8>)> {
        net.drain(self.addr)
            .into_iter()
            .map(|d| (d.from, d.bytes))
            .collect()
    }

    /// Answers every waiting query from the zone; returns how many.
    pub fn serve(&mut self, net: &mut FakeNet) -> usize {
        let qs = self.take_queries(net);
        for (from, bytes) in &qs {
            let a = self.answer(bytes);
            net.deliver(self.addr, *from, &a);
        }
        qs.len()
    }

    /// The answer the zone gives to `query`.
    pub fn answer(&mut self, query: &[u8]) -> Vec<u8> {
        let q = Packet::parse(query).expect("sipbox sends parsable DNS");
        let question = q.questions[0].clone();
        let name = question.qname.to_string().to_ascii_lowercase();
        let ty = match question.qtype {
            QTYPE::TYPE(TYPE::SRV) => "SRV",
            QTYPE::TYPE(TYPE::A) => "A",
            QTYPE::TYPE(TYPE::AAAA) => "AAAA",
            _ => "other",
        };
        self.seen.push((name.clone(), ty.into()));
        let mut found = false;
        let mut rrs = Vec::new();
        for r in &self.zone {
            match r {
                Rec::Srv(n, prio, w, port, t) if *n == name && ty == "SRV" => {
                    rrs.push((
                        n.clone(),
                        RData::SRV(SRV {
                            priority: *prio,
                            weight: *w,
                            port: *port,
                            target: Name::new_unchecked(t).into_owned(),
                        }),
                    ));
                }
                Rec::A(n, ip) if *n == name && ty == "A" => rrs.push((
                    n.clone(),
                    RData::A(A {
                        address: u32::from(*ip),
                    }),
                )),
                Rec::Srv(n, ..) | Rec::A(n, _) if *n == name => found = true,
                _ => {}
            }
        }
        let mut p = Packet::new_reply(q.id());
        p.questions.push(question);
        for (n, data) in &rrs {
            p.answers.push(ResourceRecord::new(
                Name::new_unchecked(n),
                CLASS::IN,
                self.ttl,
                data.clone(),
            ));
        }
        if p.answers.is_empty() && !found {
            *p.rcode_mut() = RCODE::NameError;
        }
        p.build_bytes_vec().expect("answer builds")
    }
}
