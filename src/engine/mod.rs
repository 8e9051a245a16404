//! The sans-IO engine: the router. It parses a datagram, matches it to a transaction, a call
//! (by Call-ID), the registrar or qualify, and hands it over; it never touches a socket, the
//! clock or the disk.
//!
//! In: `(now, socket, source, bytes)` through [`Engine::handle_datagram`] and `now` through
//! [`Engine::handle_timeout`]. Out: datagrams through [`Engine::poll_transmit`], RTP socket
//! requests through [`Engine::poll_socket_op`], and the next deadline through
//! [`Engine::poll_timeout`]. Tests drive it with a fake clock; the binary's driver with mio.
//!
//! Requests go through RFC 3261 §8.2's checks (`validate.rs`) and then by method: REGISTER
//! (`register.rs`), OPTIONS, a new INVITE (`invite.rs`: who is calling, digest, call-limit),
//! and everything inside a call to [`crate::call`], whose methods get a [`Cx`] borrowed from
//! the engine's fields beside the call table.

/// Builds the [`Cx`] a call gets, from the engine's fields beside the call table.
macro_rules! cx {
    ($e:ident, $now:expr, $wall:expr) => {
        $crate::call::Cx {
            now: $now,
            wall: $wall,
            cfg: &$e.cfg,
            dialplan: &$e.dialplan,
            registrar: &$e.registrar,
            unreachable: &$e.qualify.unreachable,
            load: &mut $e.load,
            txs: &mut $e.txs,
            sched: &mut $e.sched,
            out: &mut $e.out,
            rng: &mut $e.rng,
            media: &mut $e.media,
            sounds: &mut *$e.sounds,
            advertise: &$e.advertise,
            orphans: &mut $e.orphans,
            loop_token: $e.loop_token,
            jobs: &mut $e.jobs,
            seq: &mut $e.unique_ids,
            moh: &mut $e.moh,
            parking: &mut $e.parking,
            cdr_conf: &$e.cdr_conf,
            features: &$e.features,
        }
    };
}

mod admin;
mod blf;
mod challenge;
mod conference;
mod dns;
mod dns_names;
mod invite;
mod join;
mod message;
mod mwi;
mod nat;
mod park;
mod pickup;
mod qualify;
mod records;
mod register;
mod reload;
mod settings;
mod status;
mod store;
mod trunk;
mod validate;

pub use crate::call::media::MediaStats;
pub use crate::call::Reply;
pub use crate::flow::{
    AgiEvent, AgiOp, AgiTarget, Job, JobId, JobOutcome, Outbox, SockId, SocketOp, Transmit,
    Verdict, AGI_LINE_MAX, SHELL_MAX,
};
pub use admin::{CliReply, ForDriver};
pub use qualify::PeerStatus;
pub use reload::{ReloadReport, ReloadScope};
pub use settings::{PeerId, Settings};
pub use store::Restored;
pub use trunk::RegistrationsReloaded;

use crate::auth::{self, Account, AuthVerdict, NonceStore, Refusal};
use crate::call::media::MediaState;
use crate::call::{Call, CallTable, Cx, Orphans, PeerLoad, Purpose};
use crate::dialplan::Dialplan;
use crate::flow::Flow;
use crate::handle::CallHandle;
use crate::media::route::Fast;
use crate::media::sounds::{NoSounds, Sounds};
use crate::registrar::Registrar;
use crate::sched::{Scheduler, TimerId};
use crate::security::ban::{BanList, Counted};
use crate::security::event::{self, SecurityEvent};
use crate::security::rate::RateLimit;
use crate::security::reflect::Reflection;
use crate::sip::{self, HeaderName, Message, Method, Request, Response, StatusCode};
use crate::transaction::{InsertError, TimerConfig, Transactions};
use crate::wake::Wake;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

/// Counters for the log and the benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams on the SIP socket.
    pub sip_datagrams: u64,
    /// Datagrams that did not parse and were dropped unanswered.
    pub dropped: u64,
    /// Requests refused with a 4xx/5xx before reaching a handler.
    pub refused: u64,
    /// Datagrams from banned addresses, dropped unanswered.
    pub banned: u64,
    /// Requests from known scanners (`scanneruseragents`), dropped unanswered.
    pub scanners: u64,
    /// Datagrams over their source's `ratelimit`, dropped unanswered.
    pub rate_limited: u64,
    /// Stateless answers not sent: they would have exceeded the bytes their untrusted source
    /// sent (security/reflect.rs).
    pub reflection_withheld: u64,
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
    advertise: crate::nat::Advertise,
    sched: Scheduler<Wake>,
    registrar: Registrar,
    nonces: NonceStore,
    /// What the tables held at the last sweep ([`Engine::trim_after_burst`]).
    burst: crate::shrink::BurstWatch,
    ban: BanList,
    rate: RateLimit,
    /// Byte credit per untrusted source: amplification <= 1.0.
    reflect: Reflection,
    /// This process's loop marker, put on every outbound INVITE.
    loop_token: u64,
    jobs: crate::call::jobs::Jobs,
    /// Calls up per source address (leg 0's), for `maxcallspersource` (keyed: an IPv6 peer
    /// chooses its addresses freely).
    calls_by_source: std::collections::HashMap<std::net::IpAddr, u32, crate::hash::KeyedState>,
    /// HA1 of each entry with a secret, computed on first use.
    ha1s: std::collections::HashMap<PeerId, String>,
    calls: CallTable<Call>,
    txs: Transactions<Purpose>,
    load: PeerLoad,
    orphans: Orphans,
    qualify: qualify::QualifyState,
    trunks: crate::trunk::Trunks,
    media: MediaState,
    rng: StdRng,
    out: Outbox,
    stats: Stats,
    epoch: (Instant, SystemTime),
    start_wall_secs: u64,
    unique_ids: u64,
    sounds: Box<dyn Sounds>,
    dns: dns::DnsState,
    /// cdr.conf.
    /// cdr.conf in force; each call holds the one it arrived with.
    cdr_conf: Rc<crate::config::cdr_conf::CdrConf>,
    mwi: mwi::MwiState,
    blf: blf::BlfState,
    moh: crate::media::moh::MohLibrary,
    /// The admin CLI's state (SIP debug, `core stop`, uptime).
    admin: admin::Admin,
    /// rtp.conf's port range as bound at start (a reload cannot move it).
    rtp_range: (u16, u16),
    /// features.conf.
    features: crate::config::features_conf::FeaturesConf,
    /// Parking lots and parked calls.
    parking: crate::call::park::Parking,
    /// Counters and recent failures for the status page and /metrics.
    status: status::StatusState,
    /// Running conferences (ConfBridge, MeetMe, Page).
    conferences: conference::Conferences,
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
    /// The nameservers (`/etc/resolv.conf`; none: host names do not resolve).
    pub resolver: crate::dns::ResolverConfig,
}

impl Environment {
    /// An environment at `now` with this wall clock and seed, and no prompts.
    pub fn new(now: Instant, wall: SystemTime, seed: u64) -> Environment {
        Environment {
            now,
            wall,
            seed,
            sounds: Box::new(NoSounds),
            resolver: Default::default(),
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

    /// The same with these nameservers.
    pub fn with_resolver(mut self, resolver: crate::dns::ResolverConfig) -> Environment {
        self.resolver = resolver;
        self
    }
}

/// How often expired nonces are swept.
/// How often the engine's one periodic timer forgets expired nonces, lifts bans and asks
/// the tables a flood grew to shrink ([`crate::shrink`]: a handful of length-and-capacity
/// comparisons when nothing is to be done), so their memory comes back soon after it.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

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
            resolver,
        } = env;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut sched = Scheduler::new();
        sched.schedule(now + SWEEP_EVERY, Wake::Sweep);
        let mut timers = TimerConfig::with_t1(cfg.general.timer_t1);
        timers.timer_b = cfg.general.timer_b;
        let start_wall_secs = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut txs = Transactions::new(timers, MAX_TRANSACTIONS);
        txs.set_nat(cfg.general.nat);
        let mut e = Engine {
            dialplan,
            advertise: crate::nat::Advertise::new(local, &cfg.general.nat_addressing),
            sched,
            registrar: Registrar::new(cfg.general.max_registrations),
            nonces: NonceStore::new(100_000),
            burst: crate::shrink::BurstWatch::default(),
            ban: BanList::new(cfg.general.ban.clone()),
            rate: RateLimit::new(cfg.general.ban.rate_limit),
            reflect: Reflection::new(),
            loop_token: 0,
            jobs: Default::default(),
            ha1s: Default::default(),
            calls_by_source: Default::default(),
            calls: CallTable::new(cfg.general.max_calls),
            txs,
            load: PeerLoad::default(),
            orphans: Orphans::default(),
            qualify: qualify::QualifyState::default(),
            trunks: Default::default(),
            media: MediaState::new(&rtp, local, rng.random()),
            rng,
            out: Outbox::default(),
            stats: Stats::default(),
            epoch: (now, wall),
            start_wall_secs,
            unique_ids: 0,
            sounds,
            dns: dns::DnsState::new(&cfg, resolver, local, now),
            cdr_conf: Default::default(),
            mwi: Default::default(),
            blf: Default::default(),
            moh: Default::default(),
            features: Default::default(),
            parking: Default::default(),
            cfg,
            admin: admin::Admin::new(now),
            rtp_range: (rtp.rtp_start, rtp.rtp_end),
            status: Default::default(),
            conferences: Default::default(),
        };
        e.schedule_qualify(now);
        e.schedule_nat(now);
        e.start_registrations(now);
        e.media.ports.prime(&mut e.out);
        e.loop_token = e.rng.random();
        e
    }

    /// An engine for a loaded config: indexes sip.conf and builds the dialplan. Static hosts
    /// given by name are resolved on the loop by the engine's resolver (`crate::dns`), with
    /// the nameservers of `env`. Returns the dialplan's load warnings too.
    pub fn from_config(
        cfg: &crate::config::Config,
        local: SocketAddr,
        env: Environment,
    ) -> Result<(Engine, Vec<String>), crate::config::ConfigError> {
        let (mut dialplan, warnings) = Dialplan::from_sections(&cfg.dialplan_sections())?;
        dialplan.set_zones(cfg.zones.clone());
        dialplan.set_tones(cfg.indications.default_zone().cloned());
        dialplan.set_voicemail(crate::voicemail::Voicemail::new(
            cfg.voicemail.clone(),
            cfg.dirs.spool.join("voicemail"),
            cfg.voicemail_file.clone(),
        ));
        dialplan.set_monitor_dir(cfg.dirs.spool.join("monitor"));
        dialplan.set_conference_conf(cfg.conference.clone());
        dialplan.set_queues(cfg.queues.clone());
        let settings = Settings::new(cfg.sip.general.clone(), cfg.sip.peers.clone())
            .with_trunks(cfg.sip.registrations.clone(), cfg.sip.realm_auth.clone());
        Ok((
            Engine::new(settings, dialplan, cfg.rtp.clone(), local, env)
                .with_cdr(cfg.cdr.clone())
                .with_parking(cfg.parking.clone()),
            warnings,
        ))
    }

    /// Replaces the random source's seed.
    pub fn with_rng_seed(mut self, seed: u64) -> Engine {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// Uses these cdr.conf settings for the call records.
    pub fn with_cdr(mut self, conf: crate::config::cdr_conf::CdrConf) -> Engine {
        self.set_cdr(conf);
        self
    }

    /// Replaces the cdr.conf settings (new calls' records follow them; calls up keep theirs).
    pub fn set_cdr(&mut self, conf: crate::config::cdr_conf::CdrConf) {
        self.cdr_conf = Rc::new(conf);
    }

    /// Sets the music on hold classes (their files come through the prompt source).
    pub fn with_moh(mut self, moh: crate::media::moh::MohLibrary) -> Engine {
        self.moh = moh;
        self
    }

    /// The parking lots (features.conf / res_parking.conf; the default lot without them).
    pub fn with_parking(mut self, lots: crate::config::parking_conf::ParkingConf) -> Engine {
        self.parking.set_conf(lots);
        self
    }

    /// features.conf (Asterisk's defaults without it).
    pub fn with_features(mut self, f: crate::config::features_conf::FeaturesConf) -> Engine {
        self.features = f;
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

    /// Media counters.
    pub fn media_stats(&self) -> MediaStats {
        self.media.stats
    }

    /// RTP port pairs held by calls (leak checks; the idle reserve is not counted).
    pub fn media_pairs_in_use(&self) -> usize {
        self.media.ports.in_use()
    }

    /// RTP port pairs held: in use, idle in the pool, being bound.
    pub fn media_pairs_held(&self) -> usize {
        self.media.ports.held()
    }

    /// Keeps the RTP pool's idle pairs within `pairs` (the driver's share of its file
    /// descriptors); pairs beyond are closed.
    pub fn limit_rtp_pool(&mut self, pairs: usize) {
        let cap = self.media.ports.idle_cap().min(pairs);
        self.media.ports.set_idle_cap(cap, &mut self.out);
    }

    /// Table sizes, for leak checks.
    pub fn table_sizes(&self) -> TableSizes {
        TableSizes {
            calls: self.calls.len(),
            call_ids: self.calls.indexed_call_ids(),
            server_transactions: self.txs.server_len(),
            client_transactions: self.txs.client_len(),
            timers: self.sched.len(),
            bindings: self.registrar.len(),
        }
    }

    /// Bytes the transaction tables hold, their running timers' share of the scheduler
    /// included (README's "bytes held per ended call" divides this by the calls).
    pub fn transaction_bytes(&self) -> usize {
        self.txs
            .retained_bytes(crate::sched::Scheduler::<Wake>::bytes_per_timer())
    }

    /// On the sweep: when half of what a burst left in the tables went since the last one,
    /// the driver is asked to give the freed heap back ([`Job::TrimHeap`]).
    fn trim_after_burst(&mut self) {
        let entries =
            self.txs.server_len() + self.txs.client_len() + self.nonces.len() + self.calls.len();
        if self.burst.gone(entries, self.transaction_bytes()) {
            self.out.job(Job::TrimHeap);
        }
    }

    /// The wall clock that corresponds to `now` (for ${EPOCH} and GotoIfTime).
    fn wall(&self, now: Instant) -> SystemTime {
        self.epoch.1 + now.saturating_duration_since(self.epoch.0)
    }

    /// Runs `f` on call `h` with its context; drops the call from the table when it ended,
    /// indexes the Call-IDs of legs it added otherwise.
    fn with_call<R>(
        &mut self,
        now: Instant,
        h: CallHandle,
        f: impl FnOnce(&mut Call, &mut Cx<'_>) -> R,
    ) -> Option<R> {
        let wall = self.wall(now);
        let call = self.calls.get_mut(h)?;
        call.take_route_times(&mut self.media.ports);
        let mut cx = cx!(self, now, wall);
        let r = f(call, &mut cx);
        let join = call.join.take();
        let conference_joins = std::mem::take(&mut call.conference.requests);
        if call.is_over() {
            self.drop_call(h, wall);
        } else {
            call.write_routes(&mut self.media.ports);
            self.calls.sync_legs(h);
        }
        if let Some(j) = join {
            self.on_join(now, h, j);
            self.write_routes(h);
        }
        if !conference_joins.is_empty() && self.calls.get(h).is_some() {
            self.on_conference_joins(now, h, conference_joins);
        }
        Some(r)
    }

    /// Rewrites the forwarding records of call `h`'s legs (after a change made outside
    /// [`Engine::with_call`]).
    fn write_routes(&mut self, h: CallHandle) {
        if let Some(call) = self.calls.get(h) {
            call.write_routes(&mut self.media.ports);
        }
    }

    fn drop_call(&mut self, h: CallHandle, wall: SystemTime) {
        if let Some(mut call) = self.calls.remove(h) {
            self.emit_cdr(&mut call, wall);
            self.count_call_end(&call, records::caller_status(&call), wall);
            // Leg 0 is the caller the call was admitted for (a transfer may make another leg
            // the caller later).
            let ip = call.legs[0].dialog.flow.remote.ip();
            // One hash for the count and its removal.
            if let std::collections::hash_map::Entry::Occupied(mut n) =
                self.calls_by_source.entry(ip)
            {
                *n.get_mut() -= 1;
                if *n.get() == 0 {
                    n.remove();
                }
            }
            if let crate::call::CallState::Ended(why) = call.state {
                log::debug!(
                    "call {} to '{}' ended ({why:?}); {} calls up",
                    call.label(),
                    call.exten,
                    self.calls.len()
                );
            }
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
        if on == SockId::DNS {
            self.handle_dns_datagram(now, from, data);
            return Verdict::Consumed;
        }
        if on != SockId::SIP {
            return self.handle_media(now, on, from, data);
        }
        self.stats.sip_datagrams += 1;
        self.debug_read(from, data);
        if self.ban.is_banned(now, from.ip()) {
            self.stats.banned += 1;
            return Verdict::Consumed;
        }
        if !self.cfg.general.ban.ignores(from.ip()) {
            // Bytes in are bytes in, answered or not: the credit answers may spend.
            self.reflect.received(now, from.ip(), data.len());
            if !self.rate.allow(now, from.ip()) {
                self.stats.rate_limited += 1;
                return Verdict::Consumed;
            }
        }
        let flow = Flow::udp(from);
        match sip::parse(data) {
            Ok(Message::Request(req)) => self.on_request(now, req, flow),
            Ok(Message::Response(resp)) => self.on_response(now, resp),
            Err(err) => self.on_parse_error(&err, flow),
        }
        self.flush_call_outputs(now);
        self.blf_flush(now);
        self.txs.reap(&mut self.sched);
        self.flush_store_ops();
        Verdict::Consumed
    }

    /// A datagram on an RTP/RTCP socket: to the call that owns the socket.
    fn handle_media(
        &mut self,
        now: Instant,
        on: SockId,
        from: SocketAddr,
        data: &mut [u8],
    ) -> Verdict {
        if let Some(route) = self.media.ports.route_mut(on) {
            // The plain relay: the socket's record decides, the call is not touched.
            match route.forward(now, from, data) {
                Fast::Forward(v) => {
                    self.media.stats.forwarded += 1;
                    return v;
                }
                Fast::Drop => {
                    self.media.stats.dropped += 1;
                    return Verdict::Consumed;
                }
                Fast::ToCall => {}
            }
        }
        let Some((h, leg, port)) = self.media.ports.owner(on) else {
            self.media.stats.dropped += 1;
            return Verdict::Consumed;
        };
        let v = self.with_call(now, h, |call, cx| call.on_media(cx, leg, port, from, data));
        // A Vec's emptiness: the RTP path takes no lock for this.
        self.flush_call_outputs(now);
        self.txs.reap(&mut self.sched);
        v.unwrap_or(Verdict::Consumed)
    }

    /// The driver's answer to a [`SocketOp::Bind`].
    pub fn socket_bound(&mut self, id: SockId, ok: bool) {
        if id == SockId::DNS {
            return self.dns.resolver.socket_bound(ok);
        }
        if let Some((h, leg)) = self.media.ports.bound(id, ok, &mut self.out) {
            if let Some(call) = self.calls.get_mut(h) {
                call.media_bind_failed(leg);
            }
            self.write_routes(h);
        }
    }

    fn on_parse_error(&mut self, err: &sip::ParseError, from: Flow) {
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
                let (via, dest) = self.txs.stamp_via(&top, from);
                (Some(via.to_string()), dest)
            }
            None => (None, from),
        };
        let tag = self.new_tag();
        if let Some(bytes) = err.error_response_with(via.as_deref(), Some(&tag)) {
            self.out.sip(dest, bytes);
        }
    }

    fn on_request(&mut self, now: Instant, req: Request, from: Flow) {
        let agent = req.headers().get(&HeaderName::UserAgent);
        if agent.is_some_and(|ua| self.cfg.general.ban.is_scanner(ua)) {
            // Silence tells a scanner nothing, not even that something listens here.
            self.stats.scanners += 1;
            log::debug!("dropped a request from scanner {}", from.remote);
            return;
        }
        // Looked up on the stack: the shared key is built only for a new transaction.
        let key = crate::transaction::server_key_buf(&req);
        if *req.method() == Method::Ack {
            // An ACK for a non-2xx belongs to the INVITE transaction; one for a 2xx to the
            // dialog (§17.2.3, §13.3.1.4).
            if let Some(h) = self.txs.find_server(&key) {
                let ours = self.txs.server(h).map(|t| t.to_tag()) == req.to_tag();
                if ours && !self.txs.server_ack(now, &mut self.sched, &mut self.out, h) {
                    return;
                }
            }
            if let Some(lr) = self.calls.find(req.call_id()) {
                self.with_call(now, lr.call, |call, cx| {
                    call.media_caller_ack(cx, lr.leg, &req);
                    call.on_dialog_ack(cx, lr.leg);
                });
            }
            return;
        }
        if let Some(h) = self.txs.find_server(&key) {
            return self
                .txs
                .server_retransmission(now, &mut self.sched, &mut self.out, h);
        }
        if let Err(refusal) = validate::check(&req) {
            self.stats.refused += 1;
            return self.respond_statelessly(&req, from, refusal);
        }
        // A new INVITE or a REGISTER is judged before any state is kept: what is challenged
        // or refused is answered statelessly (see invite.rs).
        let mut admitted = None;
        if *req.method() == Method::Invite && req.to_tag().is_none() {
            match self.admit_invite(now, &req, from) {
                Ok(who) => admitted = Some(who),
                Err(reply) => return self.respond_statelessly(&req, from, reply),
            }
        }
        let mut message = None;
        if *req.method() == Method::Message && req.to_tag().is_none() {
            match self.admit_message(now, &req, from) {
                Ok(m) => message = Some(m),
                Err(reply) => return self.respond_statelessly(&req, from, reply),
            }
        }
        let mut register_reply = None;
        if *req.method() == Method::Register && req.to_tag().is_none() {
            let reply = self.handle_register(now, &req, from);
            if register::answered_statelessly(reply.status) {
                return self.respond_statelessly(&req, from, reply);
            }
            register_reply = Some(reply);
        }
        // Answers that need no memory are given without any: OPTIONS (a keep-alive or a
        // probe) and requests for dialogs we do not have. A retransmission gets the same
        // answer again, and a flood of them keeps nothing.
        let in_dialog = req.to_tag().is_some();
        if *req.method() == Method::Subscribe {
            return self.handle_subscribe(now, &req, from);
        }
        if *req.method() == Method::Options && !in_dialog {
            let r = Reply::new(StatusCode::OK)
                .header(HeaderName::Allow, validate::ALLOW)
                .header(HeaderName::Accept, validate::ACCEPT);
            return self.respond_statelessly(&req, from, r);
        }
        // Looked up once: opening the transaction below does not change the call table.
        let dialog = in_dialog.then(|| self.calls.find(req.call_id())).flatten();
        if in_dialog && *req.method() != Method::Cancel && dialog.is_none() {
            let r = Reply::new(StatusCode::CALL_DOES_NOT_EXIST);
            return self.respond_statelessly(&req, from, r);
        }
        let req = Rc::new(req);
        let new_tag;
        let to_tag = match req.to_tag() {
            Some(t) => t,
            None => {
                new_tag = self.new_tag();
                &new_tag
            }
        };
        let h = match self
            .txs
            .open_server(&mut self.sched, key.to_key(), req.clone(), from, to_tag)
        {
            Ok(h) => h,
            Err(InsertError::Duplicate(h)) => {
                return self
                    .txs
                    .server_retransmission(now, &mut self.sched, &mut self.out, h)
            }
            Err(InsertError::Full) => {
                let r =
                    Reply::new(StatusCode::SERVICE_UNAVAILABLE).header(HeaderName::RetryAfter, "5");
                return self.respond_statelessly(&req, from, r);
            }
        };
        match req.method() {
            Method::Cancel => self.handle_cancel(now, h, &req),
            _ if in_dialog => match dialog {
                Some(lr) => {
                    self.with_call(now, lr.call, |call, cx| {
                        call.on_in_dialog(cx, lr.leg, req, from, h)
                    });
                }
                None => self.reply_on(now, h, Reply::new(StatusCode::CALL_DOES_NOT_EXIST)),
            },
            Method::Register => {
                let reply = match register_reply {
                    Some(r) => r,
                    None => self.handle_register(now, &req, from),
                };
                let ok = reply.status == StatusCode::OK;
                if ok {
                    self.reflect.trust(now, from.remote.ip());
                }
                self.reply_on(now, h, reply);
                if ok {
                    if let Some(aor) = req.to().uri.user.clone() {
                        self.mwi_registered(now, &aor);
                    }
                }
            }
            Method::Options => {
                let r = Reply::new(StatusCode::OK)
                    .header(HeaderName::Allow, validate::ALLOW)
                    .header(HeaderName::Accept, validate::ACCEPT);
                self.reply_on(now, h, r);
            }
            Method::Message => match message {
                Some(m) => self.handle_message(now, &req, h, m),
                None => self.reply_on(now, h, Reply::new(StatusCode::CALL_DOES_NOT_EXIST)),
            },
            // chan_sip's event state compositor serves only call-completion, which sipbox
            // does not have: every PUBLISH is 489 (RFC 3903 §6 step 2).
            Method::Publish => self.reply_on(now, h, Reply::new(StatusCode::BAD_EVENT)),
            Method::Invite => match admitted {
                Some(who) => {
                    self.reflect.trust(now, from.remote.ip());
                    self.handle_new_invite(now, req, from, h, who)
                }
                None => self.reply_on(now, h, Reply::new(StatusCode::SERVER_INTERNAL_ERROR)),
            },
            _ => self.reply_on(now, h, Reply::new(StatusCode::CALL_DOES_NOT_EXIST)),
        }
    }

    /// CANCEL (on its transaction `h`): 200, then the call ends with 487 to its INVITE
    /// (§9.2); with no call (still being challenged, or answered), the INVITE gets 487 if it
    /// has no final response yet.
    fn handle_cancel(&mut self, now: Instant, h: crate::transaction::Handle, req: &Request) {
        let Some(invite_h) = self.txs.cancelled_invite(h) else {
            return self.reply_on(now, h, Reply::new(StatusCode::CALL_DOES_NOT_EXIST));
        };
        self.reply_on(now, h, Reply::new(StatusCode::OK));
        let cancelled = match self.calls.find(req.call_id()) {
            Some(lr) => self
                .with_call(now, lr.call, |call, cx| call.on_cancel(cx, invite_h))
                .unwrap_or(false),
            None => false,
        };
        if !cancelled {
            self.reply_on(now, invite_h, Reply::new(StatusCode::REQUEST_TERMINATED));
        }
    }

    fn on_response(&mut self, now: Instant, resp: Response) {
        let Some(h) = self.txs.find_client_for(&resp) else {
            log::debug!("stray response {} for {}", resp.status(), resp.call_id());
            return;
        };
        let Some(ev) = self
            .txs
            .client_response(now, &mut self.sched, &mut self.out, h, &resp)
        else {
            return;
        };
        self.client_event(now, h, ev, Some(&resp));
    }

    /// Routes what a client transaction reported to whoever sent its request.
    fn client_event(
        &mut self,
        now: Instant,
        h: crate::transaction::Handle,
        ev: crate::transaction::ClientEvent,
        resp: Option<&Response>,
    ) {
        let Some(purpose) = self.txs.client(h).map(|t| t.purpose.clone()) else {
            return;
        };
        let challenged = matches!(ev, crate::transaction::ClientEvent::Response(401 | 407));
        if let (true, Some(resp)) = (challenged, resp) {
            if !matches!(purpose, Purpose::Register { .. })
                && self.answer_challenge(now, h, &purpose, resp)
            {
                return;
            }
        }
        match purpose {
            Purpose::Invite(lr) => {
                let handled = self.with_call(now, lr.call, |call, cx| {
                    call.on_fork_event(cx, h, lr.leg, ev, resp)
                });
                if handled.is_none() {
                    // The call is gone: what its fork still owes (CANCEL, ACK and BYE).
                    let status = match ev {
                        crate::transaction::ClientEvent::Response(s) => StatusCode::new(s),
                        crate::transaction::ClientEvent::Timeout => None,
                    };
                    if let Some(status) = status {
                        let wall = self.wall(now);
                        let mut cx = cx!(self, now, wall);
                        crate::call::dead_fork_event(&mut cx, h, status, resp);
                    }
                }
            }
            Purpose::Relay(relay) => {
                self.with_call(now, relay.call, |call, cx| {
                    call.on_relay_event(cx, relay, ev, resp)
                });
            }
            Purpose::Refresh(lr) => {
                self.with_call(now, lr.call, |call, cx| {
                    call.on_refresh_event(cx, h, lr.leg, ev, resp)
                });
            }
            Purpose::Qualify { peer, sent } => self.on_qualify_event(now, peer, sent, ev),
            Purpose::Register { trunk, cseq } => self.on_register_event(now, trunk, cseq, ev, resp),
            Purpose::Fire => {}
        }
    }

    /// Answers without a transaction (refusals before any handler, table full).
    fn respond_statelessly(&mut self, req: &Request, from: Flow, reply: Reply) {
        let to_tag = if req.to_tag().is_none() {
            Some(self.new_tag())
        } else {
            None
        };
        let (via, dest) = self.txs.stamp_request(req, from);
        let mut resp = Response::for_request_top(
            req,
            reply.status.code(),
            reply.reason(),
            to_tag.as_deref(),
            &via,
        );
        for (name, value) in reply.headers {
            resp.push_header(name, value);
        }
        resp.push_header(HeaderName::Server, &self.cfg.general.user_agent);
        let bytes = resp.to_bytes();
        let ip = from.remote.ip();
        if !self.cfg.general.ban.ignores(ip) && !self.reflect.spend(ip, bytes.len()) {
            self.stats.reflection_withheld += 1;
            return;
        }
        self.out.sip(dest, bytes);
    }

    /// Sends a reply on server transaction `h`.
    fn reply_on(&mut self, now: Instant, h: crate::transaction::Handle, reply: Reply) {
        crate::call::reply::send(
            now,
            &mut self.txs,
            &mut self.sched,
            &mut self.out,
            h,
            reply,
            None,
            &self.advertise,
            &self.cfg.general.user_agent,
        );
    }

    /// A fresh tag for To/From: 64 random bits in hex.
    fn new_tag(&mut self) -> String {
        crate::sip::write::hex16(self.rng.random::<u64>())
    }

    /// Looks at a request's credentials for the entry it claims to be.
    fn check_credentials(
        &mut self,
        now: Instant,
        req: &Request,
        source: SocketAddr,
        entry: Option<PeerId>,
        header: HeaderName,
    ) -> AuthVerdict {
        let peer = entry.and_then(|i| self.cfg.peer(i));
        if let Some(e) = peer {
            if e.secret.is_none() && e.md5secret.is_none() {
                // chan_sip: an entry without a secret needs no authentication; its ACL still
                // applies.
                return if e.acl.allows(source.ip()) {
                    AuthVerdict::Accepted
                } else {
                    AuthVerdict::Forbidden(Refusal::AclDenied)
                };
            }
        }
        let values: Vec<&str> = req.headers().get_all(&header).collect();
        let realm = &self.cfg.general.realm;
        let account = match (peer, entry) {
            // No credentials yet (the first INVITE or REGISTER): only a challenge can follow.
            (Some(_), _) if values.is_empty() => None,
            (Some(e), Some(id)) => {
                // HA1 is MD5(user:realm:secret): the same for every request of this entry,
                // so it is computed once (a reload clears `ha1s`).
                let ha1 = self
                    .ha1s
                    .entry(id)
                    .or_insert_with(|| match (&e.md5secret, &e.secret) {
                        (Some(h), _) => h.to_ascii_lowercase(),
                        (None, Some(secret)) => auth::ha1(&e.name, realm, secret),
                        (None, None) => String::new(),
                    });
                Some(Account {
                    name: &e.name,
                    ha1,
                    source_allowed: e.acl.allows(source.ip()),
                })
            }
            _ => None,
        };
        let attempt = auth::Attempt {
            method: req.method().as_str(),
            request_uri: req.uri(),
            source,
        };
        auth::verify(now, &mut self.nonces, realm, attempt, &values, account)
    }

    /// Logs a refused request the way Asterisk does (for admins and fail2ban) and counts it
    /// against its source; enough failures ban the source.
    fn auth_refused(&mut self, now: Instant, req: &Request, source: SocketAddr, why: Refusal) {
        if *req.method() == Method::Register {
            let from = req.headers().get(&HeaderName::From).unwrap_or("");
            log::warn!("{}", event::registration_failed(from, source, why));
        } else {
            let ev = SecurityEvent {
                why,
                service: "SIP",
                at: self.wall(now),
                account: req.from().uri.user.as_deref().unwrap_or(""),
                session: req.call_id(),
                local: self.advertise.local(),
                remote: source,
            };
            log::warn!("{ev}");
        }
        let banned = self.count_against_source(now, source);
        let account = req.from().uri.user.clone().unwrap_or_default();
        self.count_auth_failure(now, why, &account, source, banned);
    }

    /// Counts one failure against `source`'s address; true when it banned the address.
    fn count_against_source(&mut self, now: Instant, source: SocketAddr) -> bool {
        let window = self.cfg.general.ban.window.as_secs();
        match self.ban.failed(now, source.ip()) {
            Counted::Banned(d) => {
                log::warn!(
                    "Banned {} for {} s after {} authentication failures in {window} s",
                    source.ip(),
                    d.as_secs(),
                    self.cfg.general.ban.failures
                );
                true
            }
            Counted::Failure(_) | Counted::Ignored => false,
        }
    }

    /// The wrong PINs calls were given (VoiceMailMain, Authenticate): each is logged as an
    /// `InvalidPassword` security event and counted against the caller's source address,
    /// like a wrong SIP password, so a source guessing PINs is banned as one guessing
    /// passwords. A Vec's emptiness on the RTP path.
    fn flush_pin_failures(&mut self, now: Instant) {
        for f in self.out.take_pin_failures() {
            let ev = SecurityEvent {
                why: Refusal::WrongPin,
                service: f.pin.service,
                at: self.wall(now),
                account: &f.pin.account,
                session: &f.call_id,
                local: self.advertise.local(),
                remote: f.source,
            };
            log::warn!("{ev}");
            let banned = self.count_against_source(now, f.source);
            self.count_auth_failure(now, Refusal::WrongPin, &f.pin.account, f.source, banned);
        }
    }

    /// What calls left for the engine after an event: wrong PINs for the ban, changed
    /// mailboxes for message-waiting.
    fn flush_call_outputs(&mut self, now: Instant) {
        self.flush_pin_failures(now);
        self.flush_mwi(now);
    }

    /// A 401 or 407 with a fresh nonce for `source`.
    fn challenge(
        &mut self,
        now: Instant,
        status: StatusCode,
        stale: bool,
        source: SocketAddr,
    ) -> Reply {
        let nonce = self.nonces.issue(now, &mut self.rng, source);
        let header = if status == StatusCode::UNAUTHORIZED {
            HeaderName::WwwAuthenticate
        } else {
            HeaderName::ProxyAuthenticate
        };
        Reply::new(status).header(
            header,
            auth::challenge(&self.cfg.general.realm, &nonce, stale),
        )
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for gone in self.registrar.expire_due(now) {
            log::info!("registration of '{}' at {} expired", gone.aor, gone.contact);
            if self.registrar.bindings(&gone.aor).is_empty() {
                crate::verbose!(3, "Unregistered SIP '{}'", gone.aor);
            }
        }
        while let Some((id, wake)) = self.sched.pop_due(now) {
            self.fire(now, id, wake);
            self.flush_call_outputs(now);
            self.txs.reap(&mut self.sched);
        }
        self.dns_timeout(now);
        self.blf_flush(now);
        self.flush_store_ops();
    }

    fn fire(&mut self, now: Instant, id: TimerId, wake: Wake) {
        match wake {
            Wake::Sweep => {
                self.nonces.expire(now);
                for ip in self.ban.sweep(now) {
                    log::warn!("Ban of {ip} lifted");
                }
                self.txs.shrink();
                self.nonces.shrink();
                self.calls.shrink();
                self.sched.shrink();
                self.trim_after_burst();
                self.sched.schedule(now + SWEEP_EVERY, Wake::Sweep);
            }
            Wake::Tx(t) => {
                let ev = self
                    .txs
                    .on_timer(now, &mut self.sched, &mut self.out, t, id);
                if let Some(ev) = ev {
                    self.client_event(now, t.tx, ev, None);
                }
            }
            Wake::Call(h, kind) => {
                self.with_call(now, h, |call, cx| call.on_timer(cx, kind, id));
            }
            Wake::Peer(peer, kind) => self.peer_timer(now, peer, kind, id),
            Wake::ExternRefresh => self.extern_refresh_due(now),
            Wake::Registry(trunk, kind) => self.registry_timer(now, trunk, kind, id),
            Wake::MwiExpiry => self.mwi_expired(now, id),
            Wake::BlfCheck => self.blf_check(),
            Wake::Conference(id) => self.conference_tick(now, id),
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.out.pop_transmit()?;
        if t.via == SockId::SIP {
            self.debug_sent(t.to, &t.bytes);
        }
        Some(t)
    }

    /// The next socket to open or close.
    pub fn poll_socket_op(&mut self) -> Option<SocketOp> {
        self.out.pop_socket_op()
    }

    /// The next job (a System() command, an AstDB write) to run off the loop thread.
    pub fn poll_job(&mut self) -> Option<Job> {
        self.out.pop_job()
    }

    /// Installs voicemail state (the binary's spool index, or a test's).
    pub fn set_voicemail(&mut self, vm: crate::voicemail::Voicemail) {
        self.dialplan.set_voicemail(vm);
    }

    /// Runs `f` on the voicemail state (inspection in tests and the admin view).
    pub fn with_voicemail<R>(&self, f: impl FnOnce(&mut crate::voicemail::Voicemail) -> R) -> R {
        self.dialplan.with_voicemail(f)
    }

    /// Loads the AstDB rows the binary read from disk at start; how many are held.
    pub fn load_astdb(&mut self, rows: impl IntoIterator<Item = (String, String)>) -> usize {
        let n = self.dialplan.load_astdb(rows);
        // Persistent queue members are read from the database as it is now.
        self.dialplan.queues_reread_persisted();
        n
    }

    /// The driver's report that job `id` ended.
    pub fn job_done(&mut self, now: Instant, id: JobId, outcome: JobOutcome) {
        if id == nat::EXTERN_JOB {
            return self.extern_resolved(outcome);
        }
        if let JobOutcome::Agi(ev) = outcome {
            // A session's lines come one by one; the call forgets the id when it ends.
            if let Some(h) = self.jobs.owner(id) {
                self.with_call(now, h, |call, cx| call.on_agi_event(cx, id, ev));
                self.flush_call_outputs(now);
                self.blf_flush(now);
                self.txs.reap(&mut self.sched);
            }
            return;
        }
        if let Some(h) = self.jobs.finish(id) {
            self.with_call(now, h, |call, cx| call.on_job_done(cx, id, outcome));
            self.flush_call_outputs(now);
            self.blf_flush(now);
            self.txs.reap(&mut self.sched);
        }
    }

    /// The earliest deadline the engine needs to be woken at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = match (self.sched.next_deadline(), self.registrar.next_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Finished lookups not yet handed on (a failed DNS bind): due at once.
        if self.dns.resolver.has_done() {
            return Some(self.epoch.0);
        }
        match (t, self.dns.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The SIP socket's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.advertise.local()
    }
}
