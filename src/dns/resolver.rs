//! The resolver: lookups in, queries out as datagrams of [`SockId::DNS`], answers in with
//! `now`, completions out. It owns no socket and no clock.

use super::cache::{Cache, Cached};
use super::lookup::{Lookup, Step};
use super::resolv_conf::ResolverConfig;
use super::wire::{self, BadAnswer, Qtype, Reply};
use crate::flow::{Outbox, SockId, SocketOp, Transport};
use rand::Rng;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

/// Lookups in progress at once; more fail at once with [`LookupError::Busy`].
const MAX_LOOKUPS: usize = 256;
/// Cache bounds: entries and bytes.
const CACHE_ENTRIES: usize = 1024;
const CACHE_BYTES: usize = 256 * 1024;
/// Question lookups (cache + network) per lookup: SRV, then at most 8 targets.
const MAX_STEPS: u32 = 16;

/// Names one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(u32);

/// Which address records a lookup asks for: those the SIP socket can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A records.
    V4,
    /// AAAA records.
    V6,
}

impl Family {
    /// The family of a socket address.
    pub fn of(addr: SocketAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// The record type holding this family's addresses.
    pub fn qtype(self) -> Qtype {
        match self {
            Family::V4 => Qtype::A,
            Family::V6 => Qtype::Aaaa,
        }
    }
}

/// A finished lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The addresses, in the order to try them (RFC 3263 §4.3 failover order).
    pub addrs: Vec<SocketAddr>,
    /// When the shortest-lived record used expires (None: no record was used).
    pub expires: Option<Instant>,
    /// True when SRV records gave the targets.
    pub via_srv: bool,
}

/// Why a lookup gave no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// NXDOMAIN, or no records of the type asked for.
    NotFound,
    /// No answer to any try.
    Timeout,
    /// Every server answered SERVFAIL/REFUSED.
    ServerFailure,
    /// An answer that could not be believed.
    BadAnswer(BadAnswer),
    /// No nameserver configured (or none of the socket's family), or the DNS socket could
    /// not be opened.
    NoServer,
    /// Too many lookups at once.
    Busy,
    /// Not a valid DNS name.
    BadName,
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound => f.write_str("no such name or record"),
            LookupError::Timeout => f.write_str("no answer from the nameservers"),
            LookupError::ServerFailure => f.write_str("the nameservers failed"),
            LookupError::BadAnswer(b) => write!(f, "{b}"),
            LookupError::NoServer => f.write_str("no nameserver"),
            LookupError::Busy => f.write_str("too many lookups at once"),
            LookupError::BadName => f.write_str("not a valid DNS name"),
        }
    }
}

/// Counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DnsStats {
    /// Queries sent (retries included).
    pub queries: u64,
    /// Answers accepted (matched a query by source and id).
    pub answers: u64,
    /// Datagrams that matched no outstanding query (wrong id or source): dropped.
    pub stray: u64,
    /// Answers refused by the checks of [`wire::parse_answer`].
    pub bad: u64,
    /// Tries that timed out.
    pub timeouts: u64,
    /// Questions answered from the cache.
    pub cache_hits: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SocketState {
    Closed,
    Open,
    Failed,
}

struct Query {
    lookup: LookupId,
    name: String,
    qtype: Qtype,
    tries: u32,
    server: SocketAddr,
    deadline: Instant,
}

struct Pending {
    lookup: Lookup,
    steps: u32,
}

/// The sans-IO resolver.
pub struct Resolver {
    conf: ResolverConfig,
    srv: bool,
    family: Family,
    socket: SocketState,
    lookups: HashMap<LookupId, Pending>,
    next_id: u32,
    queries: HashMap<u16, Query>,
    cache: Cache,
    done: VecDeque<(LookupId, Result<Resolved, LookupError>)>,
    stats: DnsStats,
}

impl Resolver {
    /// A resolver asking `conf`'s servers; `srv`: `srvlookup`; `family`: the addresses wanted.
    pub fn new(conf: ResolverConfig, srv: bool, family: Family) -> Resolver {
        Resolver {
            conf,
            srv,
            family,
            socket: SocketState::Closed,
            lookups: HashMap::new(),
            next_id: 0,
            queries: HashMap::new(),
            cache: Cache::new(CACHE_ENTRIES, CACHE_BYTES),
            done: VecDeque::new(),
            stats: DnsStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> DnsStats {
        self.stats
    }

    /// Answers cached and the bytes they are counted as.
    pub fn cache_size(&self) -> (usize, usize) {
        (self.cache.len(), self.cache.bytes())
    }

    /// Lookups in progress.
    pub fn in_progress(&self) -> usize {
        self.lookups.len()
    }

    /// Starts resolving `name` for SIP over `transport` (RFC 3263 §4.2: `port` given means
    /// no SRV). The result comes out of [`Resolver::poll_done`], never from this call, even
    /// when it is known at once (an address literal, the cache, an error).
    pub fn resolve<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        out: &mut Outbox,
        name: &str,
        port: Option<u16>,
        transport: Transport,
    ) -> LookupId {
        self.next_id = self.next_id.wrapping_add(1);
        let id = LookupId(self.next_id);
        if let Ok(ip) = name.trim_matches(['[', ']']).parse::<IpAddr>() {
            let addrs = vec![SocketAddr::new(
                ip,
                port.unwrap_or(super::lookup::DEFAULT_PORT),
            )];
            let r = Resolved {
                addrs,
                expires: None,
                via_srv: false,
            };
            self.done.push_back((id, Ok(r)));
            return id;
        }
        if self.lookups.len() >= MAX_LOOKUPS {
            self.done.push_back((id, Err(LookupError::Busy)));
            return id;
        }
        let service = match transport {
            Transport::Udp => "_sip._udp",
        };
        let (lookup, step) = Lookup::start(name, port, service, self.srv, self.family);
        self.lookups.insert(id, Pending { lookup, steps: 0 });
        self.step(now, rng, out, id, step);
        id
    }

    /// Forgets a lookup whose result is no longer wanted.
    pub fn cancel(&mut self, id: LookupId) {
        self.lookups.remove(&id);
        self.queries.retain(|_, q| q.lookup != id);
    }

    /// True when finished lookups wait in [`Resolver::poll_done`].
    pub fn has_done(&self) -> bool {
        !self.done.is_empty()
    }

    /// The next finished lookup.
    pub fn poll_done(&mut self) -> Option<(LookupId, Result<Resolved, LookupError>)> {
        self.done.pop_front()
    }

    /// The earliest query deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queries.values().map(|q| q.deadline).min()
    }

    /// The driver's answer to the DNS socket's bind.
    pub fn socket_bound(&mut self, ok: bool) {
        if ok {
            self.socket = SocketState::Open;
            return;
        }
        log::error!("DNS: cannot open a UDP socket; host names will not resolve");
        self.socket = SocketState::Failed;
        let ids: Vec<LookupId> = self.lookups.keys().copied().collect();
        self.queries.clear();
        for id in ids {
            self.finish(id, Err(LookupError::NoServer));
        }
    }

    /// A datagram on the DNS socket.
    pub fn handle_datagram<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        out: &mut Outbox,
        from: SocketAddr,
        data: &[u8],
    ) {
        let matched = wire::answer_id(data)
            .filter(|id| self.queries.get(id).is_some_and(|q| q.server == from));
        let Some(qid) = matched else {
            // Another id or another source: not an answer to us (maybe a spoof); the query
            // keeps waiting and times out if no real answer comes.
            self.stats.stray += 1;
            return;
        };
        let Some(q) = self.queries.remove(&qid) else {
            return;
        };
        self.stats.answers += 1;
        let answer = match wire::parse_answer(data, &q.name, q.qtype) {
            Ok(Reply::ServerFailure) => {
                return self.retry(now, rng, out, q, LookupError::ServerFailure);
            }
            Ok(reply) => {
                let (value, ttl) = match reply {
                    Reply::Srv { records, ttl } => (Cached::Srv(records), ttl),
                    Reply::Addrs { addrs, ttl } => (Cached::Addrs(addrs), ttl),
                    Reply::NotFound { ttl } => (Cached::NotFound, ttl),
                    Reply::ServerFailure => (Cached::NotFound, 0),
                };
                self.cache.insert(now, &q.name, q.qtype, value.clone(), ttl);
                Ok((value, now + std::time::Duration::from_secs(u64::from(ttl))))
            }
            Err(bad) => {
                self.stats.bad += 1;
                log::debug!("DNS: {} {:?}: {bad} from {from}", q.name, q.qtype);
                Err(LookupError::BadAnswer(bad))
            }
        };
        self.feed(now, rng, out, q.lookup, answer);
    }

    /// Retries or fails every query whose try timed out.
    pub fn handle_timeout<R: Rng + ?Sized>(&mut self, now: Instant, rng: &mut R, out: &mut Outbox) {
        let due: Vec<u16> = self
            .queries
            .iter()
            .filter(|(_, q)| q.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(q) = self.queries.remove(&id) {
                self.stats.timeouts += 1;
                self.retry(now, rng, out, q, LookupError::Timeout);
            }
        }
    }

    /// The next try of `q` on the next server, or the lookup's failure after the last.
    fn retry<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        out: &mut Outbox,
        q: Query,
        why: LookupError,
    ) {
        let servers = self.servers().len() as u32;
        let tries = self.conf.attempts.max(1) * servers.max(1);
        if q.tries + 1 < tries {
            self.send(now, rng, out, q.lookup, q.name, q.qtype, q.tries + 1);
        } else {
            self.feed(now, rng, out, q.lookup, Err(why));
        }
    }

    /// Hands an answer to its lookup and carries out what it asks next.
    fn feed<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        out: &mut Outbox,
        id: LookupId,
        answer: Result<(Cached, Instant), LookupError>,
    ) {
        let Some(p) = self.lookups.get_mut(&id) else {
            return;
        };
        let step = p.lookup.on_answer(rng, answer);
        self.step(now, rng, out, id, step);
    }

    /// Carries out steps until one needs the network.
    fn step<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        out: &mut Outbox,
        id: LookupId,
        mut step: Step,
    ) {
        loop {
            match step {
                Step::Done(r) => return self.finish(id, r),
                Step::Ask(name, qtype) => {
                    let Some(p) = self.lookups.get_mut(&id) else {
                        return;
                    };
                    p.steps += 1;
                    if p.steps > MAX_STEPS {
                        return self.finish(id, Err(LookupError::NotFound));
                    }
                    match self.cache.get(now, &name, qtype) {
                        Some(hit) => {
                            self.stats.cache_hits += 1;
                            step = p.lookup.on_answer(rng, Ok(hit));
                        }
                        None => return self.send(now, rng, out, id, name, qtype, 0),
                    }
                }
            }
        }
    }

    fn finish(&mut self, id: LookupId, r: Result<Resolved, LookupError>) {
        if let Some(p) = self.lookups.remove(&id) {
            match &r {
                Ok(res) => log::debug!("DNS: {} is {:?}", p.lookup.name(), res.addrs),
                Err(e) => log::debug!("DNS: {}: {e}", p.lookup.name()),
            }
            self.done.push_back((id, r));
        }
    }

    /// The configured servers the DNS socket can reach (one socket, one family: the first
    /// server's).
    fn servers(&self) -> Vec<SocketAddr> {
        let Some(first) = self.conf.servers.first() else {
            return Vec::new();
        };
        self.conf
            .servers
            .iter()
            .filter(|s| s.is_ipv4() == first.is_ipv4())
            .copied()
            .collect()
    }

    /// Sends try number `tries` of a question, on server `tries mod n`, with a fresh id.
    #[allow(clippy::too_many_arguments)]
    fn send<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        out: &mut Outbox,
        lookup: LookupId,
        name: String,
        qtype: Qtype,
        tries: u32,
    ) {
        let servers = self.servers();
        if servers.is_empty() || self.socket == SocketState::Failed {
            return self.finish(lookup, Err(LookupError::NoServer));
        }
        let server = servers[tries as usize % servers.len()];
        // A random id not in use (RFC 5452 §9.2: unpredictable ids against spoofed answers).
        let Some(qid) = (0..32)
            .map(|_| rng.random::<u16>())
            .find(|id| !self.queries.contains_key(id))
        else {
            return self.finish(lookup, Err(LookupError::Busy));
        };
        let Some(bytes) = wire::query(qid, &name, qtype) else {
            return self.finish(lookup, Err(LookupError::BadName));
        };
        if self.socket == SocketState::Closed {
            let ip: IpAddr = if server.is_ipv4() {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            };
            out.socket_op(SocketOp::Bind {
                id: SockId::DNS,
                addr: SocketAddr::new(ip, 0),
            });
            // Until the driver says otherwise; a failed bind fails the lookups then.
            self.socket = SocketState::Open;
        }
        self.stats.queries += 1;
        out.send(SockId::DNS, server, bytes);
        self.queries.insert(
            qid,
            Query {
                lookup,
                name,
                qtype,
                tries,
                server,
                deadline: now + self.conf.timeout,
            },
        );
    }
}
