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

mod build;
mod call_state;
mod dial;
mod dialog;
mod invite;
mod media;
mod qualify;
mod register;
mod respond;
mod script;
mod settings;
mod transactions;
mod validate;

pub use qualify::PeerStatus;
pub use settings::Settings;

use crate::auth::{self, Account, AuthVerdict, NonceStore};
use crate::call::{CallRef, CallTable};
use crate::dialplan::Dialplan;
use crate::media::sounds::{NoSounds, Sounds};
use crate::registrar::Registrar;
use crate::sched::{Scheduler, TimerId};
use crate::sip::{self, HeaderName, Message, Method, Request, Response};
use crate::transaction::{Action, Handle, InsertError, TimerConfig, TimerKind, TransactionTable};
use call_state::Call;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};
use transactions::{ClientPurpose, ClientTx, ServerTx};

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
    /// A timer of a server transaction.
    ServerTx(Handle, TimerKind),
    /// A timer of a client transaction.
    ClientTx(Handle, TimerKind),
    /// The 2xx retransmission of a call (§13.3.1.4).
    Ack2xx(CallRef, TimerKind),
    /// A Dial's ring timeout.
    DialTimeout(CallRef),
    /// A dialplan Wait().
    DialplanWait(CallRef),
    /// Time to qualify a peer.
    Qualify(usize),
    /// A qualify ping's answer limit.
    QualifyLimit(usize),
    /// A media pacing or timeout timer.
    Media(CallRef, u32),
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
        self.transmits.push_back(Transmit {
            via: SockId::SIP,
            to,
            bytes,
        });
    }

    /// Queues a datagram from another socket.
    pub fn send(&mut self, via: SockId, to: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { via, to, bytes });
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
        Reply {
            status,
            reason: reason.to_string(),
            headers: Vec::new(),
        }
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

/// Sizes of the engine's tables, for leak checks and the admin view.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TableSizes {
    /// Calls.
    pub calls: usize,
    /// Call-IDs indexed (one per leg).
    pub call_ids: usize,
    /// Server transactions.
    pub server_transactions: usize,
    /// Client transactions.
    pub client_transactions: usize,
    /// Timers on the heap (live).
    pub timers: usize,
    /// Registered contacts.
    pub bindings: usize,
}

/// The protocol core.
pub struct Engine {
    cfg: Settings,
    dialplan: Dialplan,
    local: SocketAddr,
    timers: TimerConfig,
    sched: Scheduler<EngineTimer>,
    registrar: Registrar,
    nonces: NonceStore,
    calls: CallTable<Call>,
    server_txs: TransactionTable<crate::transaction::ServerKey, ServerTx>,
    client_txs: TransactionTable<crate::transaction::ClientKey, ClientTx>,
    /// Calls per sip.conf entry, for call-limit.
    active_calls: HashMap<usize, u32>,
    /// Reused buffer for machine actions.
    actions: Vec<Action>,
    dead_client_txs: Vec<Handle>,
    /// Non-INVITE server transactions that have sent their final response, oldest first:
    /// the first to go when the table is full.
    lingering: VecDeque<Handle>,
    /// Call-IDs of late 2xx we already sent a BYE for (bounded).
    orphans_byed: Vec<String>,
    /// Why forks of the Dial being started could not be sent (e.g. 488: no common codec).
    fork_setup_failures: Vec<u16>,
    qualify: qualify::QualifyState,
    media: media::MediaState,
    rng: StdRng,
    out: Outbox,
    stats: Stats,
    epoch: (Instant, SystemTime),
    start_wall_secs: u64,
    unique_ids: u64,
    sounds: Box<dyn Sounds>,
}

/// What the host hands the engine instead of letting it read the clock, the OS's entropy or
/// the disk: the monotonic clock and the wall clock at the same moment, a seed for every random
/// choice (tags, branches, Call-IDs, SSRCs, the RTP port walk), and the prompts.
pub struct Environment {
    /// The monotonic clock at start.
    pub now: Instant,
    /// The wall clock at `now` (for `${EPOCH}`, GotoIfTime, `${UNIQUEID}`).
    pub wall: SystemTime,
    /// Seed of the engine's random generator.
    pub seed: u64,
    /// Where Playback's prompts come from.
    pub sounds: Box<dyn Sounds>,
}

impl Environment {
    /// An environment at `now` with this wall clock and seed, and no prompts.
    pub fn new(now: Instant, wall: SystemTime, seed: u64) -> Environment {
        Environment {
            now,
            wall,
            seed,
            sounds: Box::new(NoSounds),
        }
    }

    /// A fixed environment for tests: seed 0, the wall clock at 2026-01-01 00:00 UTC.
    pub fn fixed(now: Instant) -> Environment {
        Environment::new(
            now,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
            0,
        )
    }

    /// The same with these prompts.
    pub fn with_sounds(mut self, sounds: Box<dyn Sounds>) -> Environment {
        self.sounds = sounds;
        self
    }
}

/// How often expired nonces are swept.
const NONCE_SWEEP: Duration = Duration::from_secs(30);

/// Bound on concurrent transactions of each kind.
const MAX_TRANSACTIONS: usize = 50_000;

impl Engine {
    /// An engine serving `cfg` with `dialplan` on the SIP socket bound at `local`.
    pub fn new(
        cfg: Settings,
        dialplan: Dialplan,
        rtp: crate::config::rtp_conf::RtpConf,
        local: SocketAddr,
        env: Environment,
    ) -> Engine {
        let Environment {
            now,
            wall,
            seed,
            sounds,
        } = env;
        let mut rng = StdRng::seed_from_u64(seed);
        let registrar = Registrar::new(cfg.general.max_registrations);
        let mut sched = Scheduler::new();
        sched.schedule(now + NONCE_SWEEP, EngineTimer::NonceSweep);
        let mut timers = TimerConfig::with_t1(cfg.general.timer_t1);
        timers.timer_b = cfg.general.timer_b;
        let start_wall_secs = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let max_calls = cfg.general.max_calls;
        let mut e = Engine {
            dialplan,
            local,
            timers,
            sched,
            registrar,
            nonces: NonceStore::new(100_000),
            calls: CallTable::new(max_calls),
            server_txs: TransactionTable::new(MAX_TRANSACTIONS),
            client_txs: TransactionTable::new(MAX_TRANSACTIONS),
            active_calls: HashMap::new(),
            actions: Vec::new(),
            dead_client_txs: Vec::new(),
            lingering: VecDeque::new(),
            orphans_byed: Vec::new(),
            fork_setup_failures: Vec::new(),
            qualify: qualify::QualifyState::default(),
            media: media::MediaState::new(&rtp, local, rng.random()),
            rng,
            out: Outbox::default(),
            stats: Stats::default(),
            epoch: (now, wall),
            start_wall_secs,
            unique_ids: 0,
            sounds,
            cfg,
        };
        e.schedule_qualify(now);
        e.media_prime();
        e
    }

    /// An engine for a loaded config: indexes sip.conf and builds the dialplan. Static hosts
    /// given by name must be resolved by the caller ([`Settings::set_resolved`]) before; this
    /// leaves them unresolved. Returns the dialplan's load warnings too.
    pub fn from_config(
        cfg: &crate::config::Config,
        local: SocketAddr,
        env: Environment,
    ) -> Result<(Engine, Vec<String>), crate::config::ConfigError> {
        let (dialplan, warnings) = Dialplan::from_sections(&cfg.extensions)?;
        let settings = Settings::new(cfg.sip.general.clone(), cfg.sip.peers.clone());
        Ok((
            Engine::new(settings, dialplan, cfg.rtp.clone(), local, env),
            warnings,
        ))
    }

    /// Replaces the random source's seed.
    pub fn with_rng_seed(mut self, seed: u64) -> Engine {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// Replaces the prompt source.
    pub fn with_sounds(mut self, sounds: Box<dyn Sounds>) -> Engine {
        self.sounds = sounds;
        self
    }

    /// Sets the wall clock that corresponds to the engine's start instant.
    pub fn with_wall_clock(mut self, wall: SystemTime) -> Engine {
        self.epoch.1 = wall;
        self.start_wall_secs = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
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

    /// Table sizes, for leak checks.
    pub fn table_sizes(&self) -> TableSizes {
        TableSizes {
            calls: self.calls.len(),
            call_ids: self.calls.indexed_call_ids(),
            server_transactions: self.server_txs.len(),
            client_transactions: self.client_txs.len(),
            timers: self.sched.len(),
            bindings: self.registrar.len(),
        }
    }

    /// Handles one datagram that arrived on `on` from `from`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        on: SockId,
        from: SocketAddr,
        data: &mut [u8],
    ) -> Verdict {
        if on != SockId::SIP {
            return self.handle_media(now, on, from, data);
        }
        self.stats.sip_datagrams += 1;
        match sip::parse(data) {
            Ok(Message::Request(req)) => self.on_request(now, req, from),
            Ok(Message::Response(resp)) => self.on_response(now, resp),
            Err(err) => self.on_parse_error(&err, from),
        }
        self.reap_client_txs();
        Verdict::Consumed
    }

    fn on_parse_error(&mut self, err: &sip::ParseError, from: SocketAddr) {
        if err.status().is_none() {
            self.stats.dropped += 1;
            log::debug!("dropped datagram from {from}: {}", err.reason());
            return;
        }
        self.stats.refused += 1;
        log::debug!("refused datagram from {from}: {}", err.reason());
        // Answer where the request says (stamped with received/rport), or to its source when
        // even its Via is broken.
        let (via, dest) = match err.top_via() {
            Some(top) => {
                let (via, dest) = respond::stamp_via(&top, from);
                (Some(via.to_string()), dest)
            }
            None => (None, from),
        };
        let tag = self.new_tag();
        if let Some(bytes) = err.error_response_with(via.as_deref(), Some(&tag)) {
            self.out.sip(dest, bytes);
        }
    }

    fn on_request(&mut self, now: Instant, req: Request, from: SocketAddr) {
        let key = transactions::server_key(&req);
        if *req.method() == Method::Ack {
            // An ACK for a non-2xx belongs to the INVITE transaction; one for a 2xx to the
            // dialog (§17.2.3, §13.3.1.4).
            if let Some(h) = self.server_txs.find(&key) {
                let ours = self.server_txs.get(h).map(|t| t.to_tag.as_str()) == req.to().tag();
                if ours && !self.server_ack(now, h) {
                    return;
                }
            }
            if let Some(lr) = self.calls.find(req.call_id()) {
                self.media_caller_ack(now, lr, &req);
                self.on_dialog_ack(now, lr);
            }
            return;
        }
        if let Some(h) = self.server_txs.find(&key) {
            return self.server_retransmission(now, h);
        }
        if let Err(refusal) = validate::check(&req) {
            self.stats.refused += 1;
            let reply = Reply {
                status: refusal.status,
                reason: refusal.reason.to_string(),
                headers: refusal.headers,
            };
            return self.respond_statelessly(&req, from, reply);
        }
        let req = Rc::new(req);
        let h = match self.open_server_tx(req.clone(), from) {
            Ok(h) => h,
            Err(InsertError::Duplicate(h)) => return self.server_retransmission(now, h),
            Err(InsertError::Full) => {
                let mut r = Reply::status(503, "Service Unavailable");
                r.headers.push((HeaderName::RetryAfter, "5".into()));
                return self.respond_statelessly(&req, from, r);
            }
        };
        match req.method() {
            Method::Cancel => {
                let invite = self
                    .server_txs
                    .key(h)
                    .and_then(|k| k.cancelled_invite())
                    .and_then(|k| self.server_txs.find(&k));
                self.handle_cancel(now, h, invite, &req);
            }
            _ if req.to().tag().is_some() => self.handle_in_dialog(now, req, from, h),
            Method::Register => {
                let reply = self.handle_register(now, &req, from);
                self.reply_on(now, h, reply);
            }
            Method::Options => {
                let reply = self.handle_options();
                self.reply_on(now, h, reply);
            }
            Method::Invite => self.handle_new_invite(now, req, from, h),
            _ => self.reply_on(
                now,
                h,
                Reply::status(481, "Call/Transaction Does Not Exist"),
            ),
        }
    }

    fn on_response(&mut self, now: Instant, resp: Response) {
        let Some(key) = transactions::client_key(&resp) else {
            return;
        };
        let Some(h) = self.client_txs.find(&key) else {
            log::debug!("stray response {} for {}", resp.status(), resp.call_id());
            return;
        };
        let Some(ev) = self.client_response(now, h, &resp) else {
            return;
        };
        self.client_event(now, h, ev, Some(&resp));
    }

    /// Routes what a client transaction reported to whoever sent its request.
    fn client_event(
        &mut self,
        now: Instant,
        h: Handle,
        ev: transactions::ClientEvent,
        resp: Option<&Response>,
    ) {
        let Some(purpose) = self.client_txs.get(h).map(|t| t.purpose.clone()) else {
            return;
        };
        match purpose {
            ClientPurpose::Invite(lr) => self.on_fork_event(now, h, lr, ev, resp),
            ClientPurpose::Relay(relay) => self.on_relay_event(now, relay, ev, resp),
            ClientPurpose::Qualify { entry, sent } => self.on_qualify_event(now, entry, sent, ev),
            ClientPurpose::Fire => {}
        }
    }

    fn handle_options(&self) -> Reply {
        let mut r = Reply::status(200, "OK");
        r.headers.push((HeaderName::Allow, validate::ALLOW.into()));
        r.headers
            .push((HeaderName::Accept, validate::ACCEPT.into()));
        r
    }

    /// Answers without a transaction (refusals before any handler, table full).
    fn respond_statelessly(&mut self, req: &Request, from: SocketAddr, reply: Reply) {
        let to_tag = if req.to().tag().is_none() {
            Some(self.new_tag())
        } else {
            None
        };
        let (mut resp, dest) =
            respond::response_to(req, from, reply.status, &reply.reason, to_tag.as_deref());
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

    /// A fresh RFC 3261 branch.
    fn new_branch(&mut self) -> String {
        crate::transaction::new_branch(&mut self.rng)
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
        if let Some(e) = entry.map(|i| &self.cfg.peers[i]) {
            if e.secret.is_none() && e.md5secret.is_none() {
                // chan_sip: an entry without a secret needs no authentication; its ACL still
                // applies.
                return if e.acl.allows(source.ip()) {
                    AuthVerdict::Accepted
                } else {
                    AuthVerdict::Forbidden
                };
            }
        }
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
                Some(Account {
                    name: &e.name,
                    ha1: &ha1,
                    source_allowed: e.acl.allows(source.ip()),
                })
            }
            None => None,
        };
        auth::verify(
            now,
            &mut self.nonces,
            &realm,
            req.method().as_str(),
            &values,
            account,
        )
    }

    /// A 401/407 with a fresh nonce.
    fn challenge(&mut self, now: Instant, status: u16, stale: bool) -> Reply {
        let nonce = self.nonces.issue(now, &mut self.rng);
        let (reason, header) = if status == 401 {
            ("Unauthorized", HeaderName::WwwAuthenticate)
        } else {
            (
                "Proxy Authentication Required",
                HeaderName::ProxyAuthenticate,
            )
        };
        let mut r = Reply::status(status, reason);
        r.headers.push((
            header,
            auth::challenge(&self.cfg.general.realm, &nonce, stale),
        ));
        r
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for gone in self.registrar.expire_due(now) {
            log::info!("registration of '{}' at {} expired", gone.aor, gone.contact);
        }
        while let Some((id, timer)) = self.sched.pop_due(now) {
            self.fire(now, id, timer);
            self.reap_client_txs();
        }
    }

    fn fire(&mut self, now: Instant, id: TimerId, timer: EngineTimer) {
        match timer {
            EngineTimer::NonceSweep => {
                self.nonces.expire(now);
                self.sched
                    .schedule(now + NONCE_SWEEP, EngineTimer::NonceSweep);
            }
            EngineTimer::ServerTx(h, kind) => self.server_timer(now, h, kind, id),
            EngineTimer::ClientTx(h, kind) => {
                if let Some(ev) = self.client_timer(now, h, kind, id) {
                    self.client_event(now, h, ev, None);
                }
            }
            EngineTimer::Ack2xx(cref, kind) => self.ack2xx_timer(now, cref, kind, id),
            EngineTimer::DialTimeout(cref) => self.dial_timed_out(now, cref),
            EngineTimer::DialplanWait(cref) => self.dialplan_wait_done(now, cref),
            EngineTimer::Qualify(entry) => self.qualify_due(now, entry),
            EngineTimer::QualifyLimit(entry) => self.qualify_limit(entry),
            EngineTimer::Media(cref, what) => self.media_timer(now, cref, what),
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
