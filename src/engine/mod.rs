//! The sans-IO engine: every protocol decision in sipbox happens here, and none of it touches a
//! socket or reads the clock.
//!
//! In: `(now, socket, source, bytes)` through [`Engine::handle_datagram`] and `now` through
//! [`Engine::handle_timeout`]. Out: datagrams through [`Engine::poll_transmit`], RTP socket
//! requests through [`Engine::poll_socket_op`], and the next deadline through
//! [`Engine::poll_timeout`]. Tests drive it with a fake clock; the driver drives it with mio.
//!
//! Requests go through RFC 3261 §8.2's checks ([`validate`]) and then to a handler by method:
//! REGISTER ([`register`]), OPTIONS, and the call handlers in [`crate::call`].

mod register;
mod respond;
mod settings;
mod validate;

pub use settings::Settings;

use crate::auth::{self, Account, AuthVerdict, NonceStore};
use crate::registrar::Registrar;
use crate::sched::Scheduler;
use crate::sip::{self, HeaderName, Message, Method, Request, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Which local socket a datagram came in on or goes out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SockId(pub u32);

impl SockId {
    /// The SIP UDP socket.
    pub const SIP: SockId = SockId(0);
}

/// What the driver should do with a datagram it handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The engine took it (and may have queued datagrams).
    Consumed,
    /// Resend the same (possibly rewritten in place) buffer out of `via` to `to`: the RTP relay's
    /// per-packet path, which copies and queues nothing.
    Forward {
        /// The socket to send from.
        via: SockId,
        /// The destination.
        to: SocketAddr,
    },
}

/// A datagram the engine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The socket to send from.
    pub via: SockId,
    /// The destination.
    pub to: SocketAddr,
    /// The datagram.
    pub bytes: Vec<u8>,
}

/// A request to open or close an RTP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketOp {
    /// Bind a UDP socket at `addr` and report back with [`Engine::socket_bound`].
    Bind {
        /// The id the engine will use for it.
        id: SockId,
        /// Where to bind.
        addr: SocketAddr,
    },
    /// Close it.
    Close {
        /// Which.
        id: SockId,
    },
}

/// What a timer on the engine's heap means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineTimer {
    /// Forget expired digest nonces.
    NonceSweep,
}

/// The engine's outputs, kept apart so handlers can borrow them beside other state.
#[derive(Default)]
pub struct Outbox {
    transmits: VecDeque<Transmit>,
    socket_ops: VecDeque<SocketOp>,
}

impl Outbox {
    /// Queues a datagram from the SIP socket.
    pub fn sip(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { via: SockId::SIP, to, bytes });
    }
}

/// A final or provisional answer a handler wants sent, before it is shaped into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Extra headers in order.
    pub headers: Vec<(HeaderName, String)>,
}

impl Reply {
    /// A reply with no extra headers.
    pub fn status(status: u16, reason: &str) -> Reply {
        Reply { status, reason: reason.to_string(), headers: Vec::new() }
    }
}

/// Counters for the log and the benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams on the SIP socket.
    pub sip_datagrams: u64,
    /// Datagrams that did not parse and were dropped unanswered.
    pub dropped: u64,
    /// Requests refused with a 4xx/5xx before reaching a handler.
    pub refused: u64,
}

/// The protocol core.
pub struct Engine {
    cfg: Settings,
    local: SocketAddr,
    sched: Scheduler<EngineTimer>,
    registrar: Registrar,
    nonces: NonceStore,
    rng: StdRng,
    out: Outbox,
    stats: Stats,
}

/// How often expired nonces are swept.
const NONCE_SWEEP: Duration = Duration::from_secs(30);

impl Engine {
    /// An engine serving `cfg` on the SIP socket bound at `local`.
    pub fn new(cfg: Settings, local: SocketAddr, now: Instant) -> Engine {
        let registrar = Registrar::new(cfg.general.max_registrations);
        let mut sched = Scheduler::new();
        sched.schedule(now + NONCE_SWEEP, EngineTimer::NonceSweep);
        Engine {
            cfg,
            local,
            sched,
            registrar,
            nonces: NonceStore::new(100_000),
            rng: StdRng::from_os_rng(),
            out: Outbox::default(),
            stats: Stats::default(),
        }
    }

    /// Replaces the random source (tests use a seeded one).
    pub fn with_rng_seed(mut self, seed: u64) -> Engine {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// The registrar, for inspection.
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Handles one datagram that arrived on `on` from `from`.
    pub fn handle_datagram(&mut self, now: Instant, on: SockId, from: SocketAddr, data: &mut [u8]) -> Verdict {
        if on != SockId::SIP {
            return Verdict::Consumed;
        }
        self.stats.sip_datagrams += 1;
        match sip::parse(data) {
            Ok(Message::Request(req)) => self.on_request(now, req, from),
            Ok(Message::Response(resp)) => self.on_response(now, resp, from),
            Err(err) => self.on_parse_error(&err, from),
        }
        Verdict::Consumed
    }

    fn on_parse_error(&mut self, err: &sip::ParseError, from: SocketAddr) {
        let Some(mut resp) = err.error_response() else {
            self.stats.dropped += 1;
            log::debug!("dropped unparsable datagram from {from}: {err}");
            return;
        };
        self.stats.refused += 1;
        log::debug!("refused datagram from {from}: {}", resp.reason());
        let dest = match resp.vias().first() {
            Some(top) => {
                let (via, dest) = respond::stamp_via(top, from);
                resp.set_top_via(via);
                dest
            }
            None => from,
        };
        self.out.sip(dest, resp.to_bytes());
    }

    fn on_request(&mut self, now: Instant, req: Request, from: SocketAddr) {
        if *req.method() == Method::Ack {
            return;
        }
        if let Err(refusal) = validate::check(&req) {
            self.stats.refused += 1;
            let reply = Reply { status: refusal.status, reason: refusal.reason.to_string(), headers: refusal.headers };
            self.send_reply(&req, from, reply);
            return;
        }
        let reply = match req.method() {
            Method::Register => self.handle_register(now, &req, from),
            Method::Options => self.handle_options(),
            _ => Reply::status(481, "Call/Transaction Does Not Exist"),
        };
        self.send_reply(&req, from, reply);
    }

    fn on_response(&mut self, _now: Instant, _resp: Response, _from: SocketAddr) {}

    fn handle_options(&self) -> Reply {
        let mut r = Reply::status(200, "OK");
        r.headers.push((HeaderName::Allow, validate::ALLOW.into()));
        r.headers.push((HeaderName::Accept, validate::ACCEPT.into()));
        r
    }

    /// Shapes a reply into a response to `req` and queues it.
    fn send_reply(&mut self, req: &Request, from: SocketAddr, reply: Reply) {
        let to_tag = if reply.status > 100 && req.to().tag().is_none() { Some(self.new_tag()) } else { None };
        let (mut resp, dest) = respond::response_to(req, from, reply.status, &reply.reason, to_tag.as_deref());
        for (name, value) in reply.headers {
            resp.push_header(name, value);
        }
        resp.push_header(HeaderName::Server, self.cfg.general.user_agent.clone());
        self.out.sip(dest, resp.to_bytes());
    }

    /// A fresh tag for To/From: 64 random bits in hex.
    fn new_tag(&mut self) -> String {
        format!("{:016x}", self.rng.random::<u64>())
    }

    /// Looks at a request's credentials for the entry it claims to be.
    fn check_credentials(
        &mut self,
        now: Instant,
        req: &Request,
        source: SocketAddr,
        entry: Option<usize>,
        header: HeaderName,
    ) -> AuthVerdict {
        let values: Vec<&str> = req.headers().get_all(&header).collect();
        let realm = self.cfg.general.realm.clone();
        let ha1;
        let account = match entry.map(|i| &self.cfg.peers[i]) {
            Some(e) => {
                ha1 = match (&e.md5secret, &e.secret) {
                    (Some(h), _) => h.to_ascii_lowercase(),
                    (None, Some(secret)) => auth::ha1(&e.name, &realm, secret),
                    (None, None) => String::new(),
                };
                Some(Account { name: &e.name, ha1: &ha1, source_allowed: e.acl.allows(source.ip()) })
            }
            None => None,
        };
        auth::verify(now, &mut self.nonces, &realm, req.method().as_str(), &values, account)
    }

    /// A 401/407 with a fresh nonce.
    fn challenge(&mut self, now: Instant, status: u16, stale: bool) -> Reply {
        let nonce = self.nonces.issue(now, &mut self.rng);
        let (reason, header) = if status == 401 {
            ("Unauthorized", HeaderName::WwwAuthenticate)
        } else {
            ("Proxy Authentication Required", HeaderName::ProxyAuthenticate)
        };
        let mut r = Reply::status(status, reason);
        r.headers.push((header, auth::challenge(&self.cfg.general.realm, &nonce, stale)));
        r
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for gone in self.registrar.expire_due(now) {
            log::info!("registration of '{}' at {} expired", gone.aor, gone.contact);
        }
        while let Some((_, timer)) = self.sched.pop_due(now) {
            match timer {
                EngineTimer::NonceSweep => {
                    self.nonces.expire(now);
                    self.sched.schedule(now + NONCE_SWEEP, EngineTimer::NonceSweep);
                }
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next socket to open or close.
    pub fn poll_socket_op(&mut self) -> Option<SocketOp> {
        self.out.socket_ops.pop_front()
    }

    /// The driver's answer to a [`SocketOp::Bind`].
    pub fn socket_bound(&mut self, id: SockId, ok: bool) {
        let _ = (id, ok);
    }

    /// The earliest deadline the engine needs to be woken at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.sched.next_deadline(), self.registrar.next_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The SIP socket's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}
