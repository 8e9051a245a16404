//! A fake network and clock around the sans-IO engine that carries SIP and RTP.
//!
//! The harness plays the driver: it answers the engine's socket operations (binds can be made
//! to fail, as for ports held by another process), keeps a mailbox per address for everything
//! sipbox sends, hands datagrams addressed to sipbox's SIP or RTP sockets to
//! `handle_datagram` and follows `Verdict::Forward` out of the socket it names, and jumps the
//! clock to the next deadline. A [`LogCapture`] collects the engine's log lines per test
//! thread, so tests can assert what the binary would print.
#![allow(dead_code)]

use sipbox::engine::{Engine, Environment, Job, JobId, JobOutcome, SockId, SocketOp, Verdict};
use sipbox::media::sounds::MemorySounds;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One datagram in a mailbox.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// When it was sent (fake time) or received (real time).
    pub at: Instant,
    /// Its source.
    pub from: SocketAddr,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The engine, its sockets, a fake clock and a mailbox per address.
pub struct FakeNet {
    /// The engine under test.
    pub engine: Engine,
    /// The fake now.
    pub now: Instant,
    /// sipbox's SIP address.
    pub sipbox: SocketAddr,
    /// Where each of sipbox's sockets is bound (kept after Close for this turn's datagrams).
    socks: HashMap<SockId, SocketAddr>,
    /// The open sockets of sipbox by address.
    bound: HashMap<SocketAddr, SockId>,
    /// Ports whose binds fail ("held by another process").
    held: HashSet<u16>,
    inbox: HashMap<SocketAddr, VecDeque<Datagram>>,
    /// Datagrams sent to a sipbox address nobody has bound.
    pub undeliverable: usize,
    /// Binds answered (ok or not).
    pub binds: usize,
    /// Drains asked for (a pooled RTP socket given to a new call).
    pub drains: usize,
    /// Heap trims asked for (`Job::TrimHeap`: a burst's state went), with the clock then.
    pub trims: Vec<Instant>,
    /// Jobs (System() commands) the engine asked for and the test has not completed.
    pub jobs: Vec<(JobId, String)>,
    /// AstDB changes the engine handed to the disk.
    pub db_ops: Vec<sipbox::dialplan::astdb::DbOp>,
    /// Files the engine asked the driver to write (Record()).
    pub files: Vec<(std::path::PathBuf, Vec<u8>)>,
    /// Names the engine asked the driver to resolve (`externhost`), not yet answered.
    pub resolves: Vec<(JobId, String, u16)>,
    /// Registration changes the engine handed to the store writer, in order.
    pub store_ops: Vec<sipbox::store::StoreOp>,
    /// Call records the engine handed to the CDR writer, in order.
    pub cdrs: Vec<sipbox::cdr::CdrRecord>,
    /// The `[csv]` options each of `cdrs` is to be written with.
    pub cdr_csv: Vec<sipbox::cdr::csv::CsvOptions>,
    /// Voicemail spool changes the engine handed to the driver, in order.
    pub vm_ops: Vec<sipbox::voicemail::FsOp>,
    /// AGI transport operations, in order.
    pub agi_ops: Vec<sipbox::engine::AgiOp>,
    /// MixMonitor writes the engine handed to the driver, in order.
    pub monitor_ops: Vec<sipbox::media::monitor::FileOp>,
    next_port: u16,
}

impl FakeNet {
    /// An engine on the given config texts (no rtp.conf: the default RTP range).
    pub fn new(sip_conf: &str, extensions: &str) -> FakeNet {
        FakeNet::with_rtp_conf(sip_conf, extensions, None)
    }

    /// An engine with RTP ports `lo..=hi`.
    pub fn with_rtp(sip_conf: &str, extensions: &str, lo: u16, hi: u16) -> FakeNet {
        let rtp = format!("[general]\nrtpstart={lo}\nrtpend={hi}\n");
        FakeNet::with_rtp_conf(sip_conf, extensions, Some(&rtp))
    }

    /// An engine on sip.conf, extensions.conf and an optional rtp.conf.
    pub fn with_rtp_conf(sip_conf: &str, extensions: &str, rtp: Option<&str>) -> FakeNet {
        FakeNet::at("127.0.0.1:5060".parse().unwrap(), sip_conf, extensions, rtp)
    }

    /// An engine whose SIP socket (and RTP sockets) are at `sipbox` (a LAN address, say).
    pub fn at(sipbox: SocketAddr, sip_conf: &str, extensions: &str, rtp: Option<&str>) -> FakeNet {
        let cfg = sipbox::config::load_str(sip_conf, extensions, rtp).expect("config");
        FakeNet::at_config(sipbox, &cfg)
    }

    /// An engine on a config built by the test (features.conf or res_parking.conf settings
    /// added to what `load_str` read).
    pub fn with_config(cfg: &sipbox::config::Config) -> FakeNet {
        FakeNet::at_config("127.0.0.1:5060".parse().unwrap(), cfg)
    }

    fn at_config(sipbox: SocketAddr, cfg: &sipbox::config::Config) -> FakeNet {
        LogCapture::install();
        for w in &cfg.warnings {
            log::warn!("{w}");
        }
        let now = Instant::now();
        let (engine, warnings) =
            Engine::from_config(cfg, sipbox, Environment::fixed(now)).expect("engine");
        for w in &warnings {
            log::warn!("{w}");
        }
        let mut bound = HashMap::new();
        bound.insert(sipbox, SockId::SIP);
        let mut socks = HashMap::new();
        socks.insert(SockId::SIP, sipbox);
        FakeNet {
            engine: engine.with_rng_seed(7),
            now,
            sipbox,
            socks,
            bound,
            held: HashSet::new(),
            inbox: HashMap::new(),
            undeliverable: 0,
            binds: 0,
            drains: 0,
            trims: Vec::new(),
            jobs: Vec::new(),
            db_ops: Vec::new(),
            files: Vec::new(),
            resolves: Vec::new(),
            store_ops: Vec::new(),
            cdrs: Vec::new(),
            cdr_csv: Vec::new(),
            vm_ops: Vec::new(),
            agi_ops: Vec::new(),
            monitor_ops: Vec::new(),
            next_port: 50_000,
        }
    }

    /// Reloads from these texts as SIGHUP or `core reload` would (read and checked first:
    /// an error returns before the engine sees anything), then lets the engine send.
    pub fn reload(
        &mut self,
        sip_conf: &str,
        extensions: &str,
        rtp: Option<&str>,
        scope: sipbox::engine::ReloadScope,
    ) -> Result<sipbox::engine::ReloadReport, sipbox::config::ConfigError> {
        let cfg = sipbox::config::load_str(sip_conf, extensions, rtp)?;
        let now = self.now;
        let report = self.engine.reload_config(now, &cfg, scope)?;
        self.service();
        Ok(report)
    }

    /// The same engine with these prompts for Playback.
    pub fn with_sounds(self, sounds: MemorySounds) -> FakeNet {
        FakeNet {
            engine: self.engine.with_sounds(Box::new(sounds)),
            ..self
        }
    }

    /// The same engine with these music on hold classes (their files among the prompts).
    pub fn with_moh(self, moh: sipbox::media::moh::MohLibrary) -> FakeNet {
        FakeNet {
            engine: self.engine.with_moh(moh),
            ..self
        }
    }

    /// Makes binds of these ports fail from now on (call before the first datagram: the
    /// engine asks for its reserve at start and the harness answers on the first turn).
    pub fn hold_ports(&mut self, ports: impl IntoIterator<Item = u16>) {
        self.held.extend(ports);
    }

    /// True when sipbox has a socket open at `addr`.
    pub fn is_bound(&self, addr: SocketAddr) -> bool {
        self.bound.contains_key(&addr)
    }

    /// Delivers `bytes` from `from` to `to`: to the engine when `to` is one of sipbox's
    /// sockets (following a Forward verdict), else into `to`'s mailbox.
    pub fn deliver(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        self.service();
        match self.bound.get(&to).copied() {
            Some(id) => {
                let mut buf = bytes.to_vec();
                match self.engine.handle_datagram(self.now, id, from, &mut buf) {
                    Verdict::Consumed => {}
                    Verdict::Forward { via, to } => {
                        let src = self.socks[&via];
                        self.post(src, to, buf);
                    }
                }
            }
            None if self.is_sipbox_ip(to) && !self.is_phone_port(to) => self.undeliverable += 1,
            None => self.post(from, to, bytes.to_vec()),
        }
        self.service();
    }

    /// sipbox's addresses are 127.0.0.1 ports below the phones' range.
    fn is_sipbox_ip(&self, a: SocketAddr) -> bool {
        a.ip() == self.sipbox.ip()
    }

    fn is_phone_port(&self, a: SocketAddr) -> bool {
        a.port() >= 50_000
    }

    fn post(&mut self, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        if self.bound.contains_key(&to) {
            // sipbox to itself: the driver would deliver it; nothing in sipbox does this.
            panic!("sipbox sent a datagram to its own socket {to}");
        }
        self.inbox.entry(to).or_default().push_back(Datagram {
            at: self.now,
            from,
            bytes,
        });
    }

    /// Carries out socket operations and collects transmits until the engine is idle.
    pub fn service(&mut self) {
        loop {
            let mut busy = false;
            while let Some(op) = self.engine.poll_socket_op() {
                busy = true;
                match op {
                    SocketOp::Bind { id, addr } => {
                        let ok =
                            !self.held.contains(&addr.port()) && !self.bound.contains_key(&addr);
                        if ok {
                            self.bound.insert(addr, id);
                            self.socks.insert(id, addr);
                        }
                        self.binds += 1;
                        self.engine.socket_bound(id, ok);
                    }
                    SocketOp::Close { id } => {
                        if let Some(addr) = self.socks.get(&id) {
                            if self.bound.get(addr) == Some(&id) {
                                self.bound.remove(addr);
                            }
                        }
                    }
                    // Datagrams are handed in as they are sent: nothing is ever queued.
                    SocketOp::Drain { .. } => self.drains += 1,
                }
            }
            while let Some(job) = self.engine.poll_job() {
                match job {
                    Job::Run { id, command, .. } => self.jobs.push((id, command)),
                    Job::Db(op) => self.db_ops.push(op),
                    Job::WriteFile { path, bytes } => self.files.push((path, bytes)),
                    Job::Resolve { id, host, port } => self.resolves.push((id, host, port)),
                    Job::Store(op) => self.store_ops.push(op),
                    Job::Cdr(r, csv) => {
                        self.cdrs.push(*r);
                        self.cdr_csv.push(csv);
                    }
                    Job::Voicemail(op) => self.vm_ops.push(op),
                    Job::Agi(op) => self.agi_ops.push(op),
                    Job::Monitor(op) => self.monitor_ops.push(op),
                    Job::TrimHeap => self.trims.push(self.now),
                }
            }
            while let Some(t) = self.engine.poll_transmit() {
                busy = true;
                let src = *self
                    .socks
                    .get(&t.via)
                    .expect("transmit from a known socket");
                self.post(src, t.to, t.bytes.into_vec());
            }
            if !busy {
                return;
            }
        }
    }

    /// Plays the driver's job runner: job `id` ended with `outcome`.
    pub fn complete_job(&mut self, id: JobId, outcome: JobOutcome) {
        self.jobs.retain(|(j, _)| *j != id);
        let now = self.now;
        self.engine.job_done(now, id, outcome);
        self.service();
    }

    /// Fires the next timer if it is due by `limit`; false when none is.
    fn step(&mut self, limit: Instant) -> bool {
        self.service();
        match self.engine.poll_timeout() {
            Some(next) if next <= limit => {
                self.now = self.now.max(next);
                self.engine.handle_timeout(self.now);
                self.service();
                true
            }
            _ => false,
        }
    }

    /// Moves the clock forward by `d`, firing every timer on the way.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while self.step(target) {}
        self.now = self.now.max(target);
    }

    /// The next datagram for `at`, moving the clock (timer by timer) up to `wait` for one.
    pub fn recv(&mut self, at: SocketAddr, wait: Duration) -> Option<Datagram> {
        let deadline = self.now + wait;
        loop {
            self.service();
            if let Some(d) = self.inbox.get_mut(&at).and_then(VecDeque::pop_front) {
                return Some(d);
            }
            if !self.step(deadline) {
                self.now = self.now.max(deadline);
                return self.inbox.get_mut(&at).and_then(VecDeque::pop_front);
            }
        }
    }

    /// Everything queued for `at` now, without moving the clock.
    pub fn drain(&mut self, at: SocketAddr) -> Vec<Datagram> {
        self.service();
        self.inbox.remove(&at).map(Vec::from).unwrap_or_default()
    }

    /// True when nothing is queued for `at`.
    pub fn quiet(&mut self, at: SocketAddr) -> bool {
        self.service();
        self.inbox.get(&at).is_none_or(VecDeque::is_empty)
    }

    /// A fresh phone-side address (never one of sipbox's).
    pub fn open(&mut self) -> SocketAddr {
        let p = self.next_port;
        self.next_port += 1;
        SocketAddr::new(self.sipbox.ip(), p)
    }

    /// A fresh even/odd phone-side pair.
    pub fn open_pair(&mut self) -> (SocketAddr, SocketAddr) {
        if !self.next_port.is_multiple_of(2) {
            self.next_port += 1;
        }
        (self.open(), self.open())
    }

    /// This test thread's log lines so far.
    pub fn log(&self) -> Vec<String> {
        LogCapture::lines()
    }

    /// True when a log line of this test contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        LogCapture::contains(needle)
    }

    /// Runs the clock up to `wait` until a log line contains `needle`.
    pub fn wait_log(&mut self, needle: &str, wait: Duration) -> bool {
        let deadline = self.now + wait;
        loop {
            if self.logged(needle) {
                return true;
            }
            if !self.step(deadline) {
                self.now = self.now.max(deadline);
                return self.logged(needle);
            }
        }
    }

    /// Lets every timer run out (a minute and a bit) and checks that no call, transaction,
    /// RTP pair or stray timer is left.
    #[track_caller]
    pub fn assert_idle(&mut self) {
        self.advance(Duration::from_secs(70));
        let t = self.engine.table_sizes();
        assert_eq!((t.calls, t.call_ids), (0, 0), "{t:?}");
        assert_eq!(
            (t.server_transactions, t.client_transactions),
            (0, 0),
            "{t:?}"
        );
        assert_eq!(self.engine.media_pairs_in_use(), 0, "RTP pairs leaked");
    }
}

thread_local! {
    static LINES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A `log::Log` installed once per test binary that keeps each thread's lines apart (tests
/// run in parallel threads, and each engine logs on its test's thread).
pub struct LogCapture;

static LOGGER: LogCapture = LogCapture;

impl log::Log for LogCapture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Debug
    }

    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let line = format!("{} {}: {}", r.level(), r.target(), r.args());
            LINES.with(|l| l.borrow_mut().push(line));
        }
    }

    fn flush(&self) {}
}

impl LogCapture {
    /// Installs the logger (once; later calls do nothing).
    pub fn install() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            log::set_logger(&LOGGER).expect("no other logger in the test binary");
            log::set_max_level(log::LevelFilter::Debug);
        });
    }

    /// This thread's lines.
    pub fn lines() -> Vec<String> {
        LINES.with(|l| l.borrow().clone())
    }

    /// True when one of this thread's lines contains `needle`.
    pub fn contains(needle: &str) -> bool {
        LINES.with(|l| l.borrow().iter().any(|x| x.contains(needle)))
    }

    /// How many of this thread's lines contain `needle`.
    pub fn count(needle: &str) -> usize {
        LINES.with(|l| l.borrow().iter().filter(|x| x.contains(needle)).count())
    }
}
