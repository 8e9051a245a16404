//! The driver: the only I/O in sipbox. One `mio::Poll` multiplexes the SIP UDP socket, the
//! RTP sockets the engine asks for and the signal pipe; the engine's earliest timer deadline is
//! the poll timeout (Asterisk's `ast_sched_wait` + `ast_io_wait` + `ast_sched_runq`).
//!
//! Tokens are slab keys: slot 0 is the SIP socket, slot 1 the signals (SIGHUP reloads:
//! `reload_driver.rs`), slot 2 the waker of finished jobs (System() commands run on helper
//! threads, `jobs_driver.rs`) and of a config read for a reload, the rest RTP sockets — and the
//! DNS client socket, which the engine asks for with the same `SocketOp::Bind` (id
//! `SockId::DNS`, an ephemeral port) and whose datagrams go back through `handle_datagram` to
//! the engine's resolver like any other.
//! The control socket and its clients (`ctl_driver.rs`) and FastAGI connections
//! (`driver/agi.rs`, `fastagi_driver.rs`) get slots as they come.
//! The driver holds no protocol logic: it moves bytes and time between the sockets and the
//! [`Engine`].
//!
//! This module belongs to the binary, not the library: `src/main.rs` declares it and
//! `src/lib.rs` does not, so `sipbox` the library exports no I/O and everything it holds can be
//! driven by tests with a fake clock. The file stays at `src/driver.rs`, where DESIGN.md's
//! layout puts it; the binary's other I/O (the disk sound source) sits beside it.

mod agi;
mod quiet;

use crate::ctl_driver::{CtlServer, OpenError};
use crate::http_driver::HttpServer;
use crate::jobs_driver::JobRunner;
use crate::reload_driver::{ReloadRunner, Requester};
use crate::sd_notify::{Notifier, State};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use sipbox::cli::{Reload, StopMode};
use sipbox::engine::{Engine, ForDriver, ReloadScope, SockId, SocketOp, Verdict};
use slab::Slab;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

/// The largest datagram we read: SIP over UDP is bounded by 65 535 bytes.
const MAX_DATAGRAM: usize = 65_535;
/// Datagrams read from the SIP socket per turn of the loop. A flood on the SIP socket must not
/// starve the RTP sockets (a turn is about 10 µs of work per datagram, so RTP waits at most
/// a millisecond or so behind a full SIP batch): the rest is read on the next turn, after
/// every other ready socket.
const SIP_BATCH: usize = 64;
/// Datagrams read from one RTP socket per turn (a call sends 50 a second).
const RTP_BATCH: usize = 16;
/// How long a stopping sipbox waits for the answers to its `Expires: 0` REGISTERs.
const UNREGISTER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

enum Source {
    Sip,
    Signals,
    Jobs,
    Rtp(SockId),
    /// The control socket's listener.
    Ctl,
    /// A control socket client, by its key in the server's slab.
    CtlClient(usize),
    /// A FastAGI connection.
    Agi(sipbox::engine::JobId),
    /// The HTTP listener (http.conf).
    Http,
    /// An HTTP client, by its key in the server's slab.
    HttpClient(usize),
}

/// Owns the poll, the sockets and the engine.
pub struct Driver {
    poll: Poll,
    sources: Slab<Source>,
    sip: UdpSocket,
    signals: Signals,
    /// The RTP/RTCP sockets by `SockId.0 - 1` (ids are dense: `media::ports` derives them
    /// from slab keys), each with its key in `sources`.
    rtp: Vec<Option<(usize, UdpSocket)>>,
    /// The DNS client socket (`SockId::DNS`).
    dns: Option<(usize, UdpSocket)>,
    /// The RTP sockets known to hold nothing: their Drain needs no syscall.
    quiet: quiet::Quiet,
    /// Sockets closed during this turn, kept until its datagrams are sent (a call's last
    /// packets still leave from them).
    closing: Vec<(SockId, UdpSocket)>,
    engine: Engine,
    jobs: JobRunner,
    /// SIGHUP's and the CLI's reloads (None: no config to re-read).
    reloads: Option<ReloadRunner>,
    buf: Vec<u8>,
    /// Sockets left readable when their batch ran out (mio is edge-triggered: they raise no
    /// new event until read to WouldBlock).
    unfinished: Vec<Option<SockId>>,
    /// The control socket (None: not opened).
    ctl: Option<CtlServer>,
    /// The HTTP listener (None: http.conf does not enable it, or its bind failed).
    http: Option<HttpServer>,
    /// http.conf as last applied (a reload compares against it).
    http_conf: sipbox::config::http_conf::HttpConf,
    /// `core stop now` was asked: leave after this turn.
    stop_now: bool,
    /// FastAGI connections (on this poll).
    fast: crate::fastagi_driver::FastAgi,
    /// Process AGI sessions (on helper threads).
    procs: std::collections::HashMap<sipbox::engine::JobId, crate::agi_driver::ProcessSession>,
    /// Where scripts are and what they are told.
    agi_places: crate::agi_driver::Places,
    /// AGI events to hand to the engine once the current flush is over.
    agi_events: Vec<(sipbox::engine::JobId, sipbox::engine::AgiEvent)>,
    /// systemd's `$NOTIFY_SOCKET` (READY=1, RELOADING=1, STOPPING=1).
    notify: Notifier,
}

impl Driver {
    /// Binds the SIP socket and registers it and the signal handlers with a new poll.
    /// The engine is built once the bound address is known (bindport=0 is ephemeral).
    pub fn bind(
        addr: SocketAddr,
        db: Option<crate::write_batch::Batcher<sipbox::dialplan::astdb::DbOp>>,
        make_engine: impl FnOnce(SocketAddr) -> Engine,
    ) -> io::Result<Driver> {
        let poll = Poll::new()?;
        let mut sources = Slab::new();
        let mut sip = UdpSocket::bind(addr)?;
        let local = sip.local_addr()?;
        let sip_key = sources.insert(Source::Sip);
        poll.registry()
            .register(&mut sip, Token(sip_key), Interest::READABLE)?;
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let sig_key = sources.insert(Source::Signals);
        poll.registry()
            .register(&mut signals, Token(sig_key), Interest::READABLE)?;
        let jobs_key = sources.insert(Source::Jobs);
        let jobs = JobRunner::new(mio::Waker::new(poll.registry(), Token(jobs_key))?, db);
        let mut driver = Driver {
            poll,
            sources,
            sip,
            signals,
            rtp: Vec::new(),
            dns: None,
            quiet: Default::default(),
            closing: Vec::new(),
            engine: make_engine(local),
            jobs,
            reloads: None,
            buf: vec![0; MAX_DATAGRAM],
            unfinished: Vec::new(),
            ctl: None,
            http: None,
            http_conf: Default::default(),
            stop_now: false,
            fast: crate::fastagi_driver::FastAgi::new(),
            procs: Default::default(),
            agi_places: crate::agi_driver::Places {
                agi: "/usr/share/sipbox/agi-bin".into(),
                env: Vec::new(),
            },
            agi_events: Vec::new(),
            notify: Notifier::none(),
        };
        if let Some(fds) = open_files_limit() {
            // The RTP pool keeps idle sockets open: at most half of what the process may open
            // (two per pair), the rest for calls, clients and files.
            driver
                .engine
                .limit_rtp_pool(usize::try_from(fds / 4).unwrap_or(usize::MAX));
        }
        Ok(driver)
    }

    /// Tells systemd (`$NOTIFY_SOCKET`) when sipbox is ready, reloading and stopping.
    pub fn set_notifier(&mut self, notify: Notifier) {
        self.notify = notify;
    }

    /// Hands registration changes and call records to the store writer from now on.
    pub fn set_disk(&mut self, disk: crate::write_batch::Batcher<crate::store_disk::Write>) {
        self.jobs.set_disk(disk);
    }

    /// Makes SIGHUP (and [`Driver::request_reload`]) re-read the files `cfg` came from.
    pub fn set_config(&mut self, cfg: sipbox::config::Config) {
        self.reloads = Some(ReloadRunner::new(cfg, self.jobs.waker()));
    }

    /// Asks for a reload; its answer comes back through [`Driver::finish_reloads`].
    pub fn request_reload(&mut self, scope: ReloadScope, who: Requester) {
        match &mut self.reloads {
            Some(r) => {
                if !r.is_running() {
                    self.notify.send(State::Reloading, "reloading the config");
                }
                r.request(scope, who)
            }
            None => log::warn!("reload: no config directory to read again"),
        }
    }

    /// Applies reloads the helper thread has read. The log already has every answer; this is
    /// where a requester other than the signal gets its own.
    fn finish_reloads(&mut self) {
        let Some(r) = &mut self.reloads else { return };
        let answers = r.apply_finished(&mut self.engine, clock());
        if !answers.is_empty() {
            let running = r.is_running();
            // http.conf is read with the rest; the listener follows it (the driver's part).
            let http = r.config().http.clone();
            self.apply_http(http);
            if !running {
                let status = match answers.last().map(|(_, a)| a) {
                    Some(Err(_)) => "serving; the last reload failed and changed nothing",
                    _ => "serving; config reloaded",
                };
                self.notify.send(State::Ready, status);
            }
        }
        for (who, answer) in answers {
            match who {
                Requester::Signal => {}
                Requester::Ctl { key, serial } => {
                    let Some(ctl) = self.ctl.as_mut() else {
                        continue;
                    };
                    if ctl.clients.get(key).map(|c| c.serial) != Some(serial) {
                        continue; // that client has gone
                    }
                    let mut text = match answer {
                        Ok(summary) => summary,
                        Err(e) => format!("Reload failed, nothing changed: {e}"),
                    };
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push('\0');
                    ctl.send(key, text.as_bytes());
                }
            }
        }
        self.flush();
    }

    /// The address the SIP socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sip.local_addr()
    }

    /// Runs until SIGINT or SIGTERM (then unregisters, briefly: see `unregister_then_stop`);
    /// SIGHUP reloads the config.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        // The engine may have asked for sockets (spare RTP pairs) before the first event.
        self.flush();
        // Everything is open (SIP, control socket, stores): systemd may start what depends on
        // sipbox.
        self.notify.send(State::Ready, "serving");
        // Three clock reads per turn (after the poll, before the timers, and at its end, which
        // is also the next poll's "now"): each read is a vDSO call, and a turn per datagram is
        // the common case.
        let mut now = clock();
        loop {
            let timeout = if self.unfinished.is_empty() {
                let ctl = self.ctl.as_ref().and_then(|c| c.next_deadline());
                let http = self.http.as_ref().and_then(|h| h.next_deadline());
                let writers = self.jobs.deadline();
                let next = [self.engine.poll_timeout(), ctl, http, writers]
                    .into_iter()
                    .flatten()
                    .min();
                next.map(|d| d.saturating_duration_since(now))
            } else {
                Some(std::time::Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    now = clock();
                    continue;
                }
                return Err(e);
            }
            // One clock read for the whole turn's datagrams (a turn is short: its batches are
            // bounded).
            let turn_start = clock();
            now = turn_start;
            // Last turn's unfinished sockets go after this turn's ready ones.
            let mut again = std::mem::take(&mut self.unfinished);
            // A socket with an event is not empty, even before its turn in the list comes: a
            // SIP datagram read first may give it to a new call (its Drain must then read).
            for event in events.iter() {
                if let Some(Source::Rtp(id)) = self.sources.get(event.token().0) {
                    self.quiet.event(*id);
                }
            }
            for event in events.iter() {
                match self.sources.get(event.token().0) {
                    Some(Source::Sip) => {
                        again.retain(|s| s.is_some());
                        self.drain(None, now);
                    }
                    Some(Source::Rtp(id)) => {
                        let id = *id;
                        again.retain(|s| *s != Some(id));
                        self.drain(Some(id), now);
                    }
                    Some(Source::Signals) => {
                        let mut stop = false;
                        let mut reload = false;
                        for sig in self.signals.pending() {
                            match sig {
                                SIGHUP => reload = true,
                                _ => stop = true,
                            }
                        }
                        if stop {
                            log::info!("signal received, stopping");
                            self.notify.send(State::Stopping, "stopping: unregistering");
                            return self.unregister_then_stop();
                        }
                        if reload {
                            log::info!("SIGHUP: reloading");
                            self.request_reload(ReloadScope::All, Requester::Signal);
                        }
                    }
                    Some(Source::Jobs) => {
                        let done: Vec<_> = self.jobs.finished().collect();
                        for (id, outcome) in done {
                            self.engine.job_done(now, id, outcome);
                        }
                        let resolved = self.fast.resolved(self.poll.registry());
                        self.agi_events.extend(resolved);
                        self.flush();
                        // The waker is shared with the reload thread.
                        self.finish_reloads();
                    }
                    Some(Source::Agi(id)) => {
                        let id = *id;
                        let (r, w) = (
                            event.is_readable() || event.is_read_closed(),
                            event.is_writable() || event.is_error(),
                        );
                        self.agi_ready(id, r, w);
                    }
                    Some(Source::Ctl) => self.ctl_accept(),
                    Some(Source::CtlClient(key)) => {
                        let key = *key;
                        if event.is_readable() || event.is_read_closed() {
                            self.ctl_read(key);
                        }
                        if event.is_writable() {
                            if let Some(c) = self.ctl.as_mut() {
                                c.writable(key);
                            }
                        }
                    }
                    Some(Source::Http) => self.http_accept(),
                    Some(Source::HttpClient(key)) => {
                        let key = *key;
                        let Some(http) = self.http.as_mut() else {
                            continue;
                        };
                        if event.is_readable() || event.is_read_closed() {
                            let (engine, now) = (&self.engine, clock());
                            http.readable(key, now, || engine.status_snapshot(now));
                        }
                        if event.is_writable() {
                            http.writable(key, clock());
                        }
                    }
                    None => {}
                }
            }
            for sock in again {
                self.drain(sock, now);
            }
            // What this turn's datagrams queued leaves now, with what the timers queue.
            // A fresh read for the timers: one falling due while the datagrams were handled
            // runs now, not on an extra turn.
            now = clock();
            self.engine.handle_timeout(now);
            self.flush();
            self.jobs.flush_due(now);
            self.ctl_turn();
            self.http_turn();
            now = clock();
            self.engine
                .record_loop_turn(now.saturating_duration_since(turn_start));
            if self.stop_now || self.engine.may_stop() {
                log::info!("core stop: stopping ({} calls up)", self.engine.calls_up());
                return Ok(());
            }
        }
    }

    /// Opens the control socket at `dirs.ctl` on this poll. `Err(InUse)`: another sipbox
    /// answers there.
    pub fn listen_ctl(&mut self, dirs: &sipbox::config::Directories) -> Result<(), OpenError> {
        let mut server = CtlServer::open(dirs)?;
        let key = self.sources.insert(Source::Ctl);
        if let Err(e) = server.register(self.poll.registry(), Token(key)) {
            self.sources.remove(key);
            return Err(OpenError::Io(server.path().to_path_buf(), e));
        }
        log::info!("control socket {}", server.path().display());
        self.ctl = Some(server);
        Ok(())
    }

    /// Opens, re-opens or closes the HTTP listener as `conf` says (at start and after a
    /// reload). A bind that fails is logged and leaves the page off (Asterisk's http.c does
    /// the same); a reload that moves the bind keeps the old listener if the new one fails.
    pub fn apply_http(&mut self, conf: sipbox::config::http_conf::HttpConf) {
        if conf == self.http_conf && (self.http.is_some() || !conf.enabled) {
            return;
        }
        let same_bind = self
            .http
            .as_ref()
            .is_some_and(|h| h.conf().bind == conf.bind);
        match (&mut self.http, conf.enabled) {
            (Some(h), true) if same_bind => {
                log::info!("http: settings reloaded");
                h.set_conf(conf.clone());
            }
            (_, true) => match HttpServer::open(conf.clone()) {
                Ok(mut server) => {
                    // The new address is bound: the old listener (if any) goes first, so
                    // its sources are dropped before the new one's is added.
                    self.close_http();
                    let key = self.sources.insert(Source::Http);
                    if let Err(e) = server.register(self.poll.registry(), Token(key)) {
                        self.sources.remove(key);
                        log::error!("http: cannot watch {}: {e}", conf.bind);
                        return;
                    }
                    let addr = server.local_addr().map_or(conf.bind, |a| a);
                    log::info!("HTTP status page on http://{addr}/{}", conf.prefix);
                    self.http = Some(server);
                }
                Err(e) => {
                    log::error!(
                        "http: cannot bind {}: {e}; the status page is off",
                        conf.bind
                    );
                    if self.http.is_some() {
                        log::warn!("http: the old listener stays");
                    }
                    // Keep the applied conf unchanged so a later reload retries.
                    return;
                }
            },
            (_, false) => {
                if self.http.is_some() {
                    log::info!("http: disabled by http.conf");
                }
                self.close_http();
            }
        }
        self.http_conf = conf;
    }

    fn close_http(&mut self) {
        if let Some(h) = self.http.take() {
            let gone = h.close(self.poll.registry());
            self.sources.retain(|_, s| match s {
                Source::Http => false,
                Source::HttpClient(k) => !gone.contains(k),
                _ => true,
            });
        }
    }

    fn http_accept(&mut self) {
        let Some(http) = self.http.as_mut() else {
            return;
        };
        let sources = &mut self.sources;
        let failed = http.accept(self.poll.registry(), clock(), |k| {
            Token(sources.insert(Source::HttpClient(k)))
        });
        for t in failed {
            self.sources.try_remove(t.0);
        }
    }

    /// Closes finished and timed-out HTTP clients.
    fn http_turn(&mut self) {
        let Some(http) = self.http.as_mut() else {
            return;
        };
        let gone = http.reap(self.poll.registry(), clock());
        if !gone.is_empty() {
            self.sources
                .retain(|_, s| !matches!(s, Source::HttpClient(k) if gone.contains(k)));
        }
    }

    /// The engine, for set-up before the loop runs (`-vvv`: SIP debug on).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    fn ctl_accept(&mut self) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        let verbose = crate::log_sink::get()
            .map(|s| s.stderr_verbose())
            .unwrap_or(0);
        let sources = &mut self.sources;
        ctl.accept(self.poll.registry(), clock(), verbose, |k| {
            Token(sources.insert(Source::CtlClient(k)))
        });
    }

    /// Runs the commands client `key` sent and queues their answers.
    fn ctl_read(&mut self, key: usize) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        let lines = ctl.read(key, clock());
        for line in lines {
            let Some(ctl) = self.ctl.as_mut() else { return };
            let Some(client) = ctl.clients.get(key) else {
                return;
            };
            let (console, levels, serial) = (client.console, client.levels, client.serial);
            let reply = self.engine.cli(clock(), &line, levels);
            let mut text = reply.text;
            match reply.driver {
                None => {}
                Some(ForDriver::Verbose(v)) => {
                    if console {
                        if let Some(c) = ctl.clients.get_mut(key) {
                            c.levels.verbose = v;
                        }
                    } else if let Some(s) = crate::log_sink::get() {
                        s.set_stderr_verbose(v);
                    }
                }
                Some(ForDriver::Debug(d)) => {
                    if let Some(c) = ctl.clients.get_mut(key) {
                        c.levels.debug = d;
                    }
                    if let Some(s) = crate::log_sink::get() {
                        s.set_debug(d);
                    }
                }
                Some(ForDriver::Stop(mode)) => {
                    log::info!("core stop {mode:?} asked on the control socket");
                    self.notify.send(State::Stopping, "core stop");
                    if mode == StopMode::Now {
                        self.stop_now = true;
                    }
                }
                Some(ForDriver::Reload(what)) => {
                    if self.reloads.is_some() {
                        // The answer (its summary or its file:line error) follows when the
                        // files have been read and applied.
                        let scope = match what {
                            Reload::Sip => ReloadScope::Sip,
                            Reload::Dialplan => ReloadScope::Dialplan,
                            Reload::All => ReloadScope::All,
                        };
                        self.request_reload(scope, Requester::Ctl { key, serial });
                        continue;
                    }
                    text.push_str("Nothing to reload: sipbox runs on its built-in config.\n");
                }
            }
            text.push('\0');
            if let Some(ctl) = self.ctl.as_mut() {
                ctl.send(key, text.as_bytes());
            }
            self.flush();
        }
    }

    /// Hands the log to the consoles, closes dead and idle clients.
    fn ctl_turn(&mut self) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        if let Some(sink) = crate::log_sink::get() {
            sink.set_consoles(ctl.console_verbose());
            let lines = sink.take_lines();
            if !lines.is_empty() {
                let consoles: Vec<(usize, sipbox::cli::Levels)> = ctl
                    .clients
                    .iter()
                    .filter(|(_, c)| c.console)
                    .map(|(k, c)| (k, c.levels))
                    .collect();
                for (k, levels) in consoles {
                    let mut text = String::new();
                    for l in &lines {
                        if crate::log_sink::Sink::console_wants(l, levels.verbose, levels.debug) {
                            text.push_str(&l.text);
                            text.push('\n');
                        }
                    }
                    if !text.is_empty() {
                        ctl.send(k, text.as_bytes());
                    }
                }
            }
        }
        let gone = ctl.reap(self.poll.registry(), clock());
        if !gone.is_empty() {
            self.sources
                .retain(|_, s| !matches!(s, Source::CtlClient(k) if gone.contains(k)));
        }
    }

    /// Gives outbound registrations their `Expires: 0` (and the answers to it, challenges
    /// included) before stopping, for at most [`UNREGISTER_WAIT`].
    fn unregister_then_stop(&mut self) -> io::Result<()> {
        let deadline = clock() + UNREGISTER_WAIT;
        self.engine.begin_shutdown(clock());
        self.flush();
        let mut events = Events::with_capacity(64);
        while self.engine.unregistering() {
            let now = clock();
            if now >= deadline {
                log::warn!("stopping without the answer to every unregistration");
                break;
            }
            let wait = self
                .engine
                .poll_timeout()
                .map_or(deadline, |t| t.min(deadline))
                .saturating_duration_since(now);
            match self.poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if events
                .iter()
                .any(|e| matches!(self.sources.get(e.token().0), Some(Source::Sip)))
            {
                self.drain(None, clock());
            }
            self.engine.handle_timeout(clock());
            self.flush();
        }
        Ok(())
    }

    /// Reads one socket until WouldBlock or its batch is used up (then it is remembered in
    /// `unfinished`), handing each datagram to the engine at `now` (the turn's). After a SIP
    /// datagram everything the engine queued is carried out ([`Driver::flush`]); after an RTP
    /// datagram only its socket operations (the relay queues nothing; what an endpoint
    /// queues leaves at the end of the turn), so a pooled socket a datagram gave to a new
    /// call is drained before anything else is read from it.
    fn drain(&mut self, rtp: Option<SockId>, now: Instant) {
        let batch = if rtp.is_some() { RTP_BATCH } else { SIP_BATCH };
        let on = rtp.unwrap_or(SockId::SIP);
        for _ in 0..batch {
            let sock = match rtp {
                None => &self.sip,
                Some(id) => match socket_in(&self.rtp, &self.dns, id) {
                    Some(s) => s,
                    None => return,
                },
            };
            let (len, from) = match sock.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Some(id) = rtp {
                        self.quiet.empty(id);
                    }
                    return;
                }
                // ICMP errors surface here on Linux; the next datagram is unaffected.
                Err(_) => continue,
            };
            match self
                .engine
                .handle_datagram(now, on, from, &mut self.buf[..len])
            {
                Verdict::Consumed => {}
                Verdict::Forward { via, to } => {
                    if let Some(s) = socket_in(&self.rtp, &self.dns, via) {
                        let _ = s.send_to(&self.buf[..len], to);
                    }
                }
            }
            if rtp.is_none() {
                // A SIP datagram's answers leave at once, as before: a full batch under load
                // must not delay them (retransmissions would follow).
                self.flush();
            } else {
                self.socket_ops();
            }
        }
        if let Some(id) = rtp {
            self.quiet.event(id);
        }
        if !self.unfinished.contains(&rtp) {
            self.unfinished.push(rtp);
        }
    }

    fn slot(&mut self, id: SockId) -> Option<&mut Option<(usize, UdpSocket)>> {
        if id == SockId::DNS {
            return Some(&mut self.dns);
        }
        let i = usize::try_from(id.0.checked_sub(1)?).ok()?;
        if self.rtp.len() <= i {
            self.rtp.resize_with(i + 1, || None);
        }
        self.rtp.get_mut(i)
    }

    /// Carries out the engine's socket requests, in order.
    fn socket_ops(&mut self) {
        while let Some(op) = self.engine.poll_socket_op() {
            match op {
                SocketOp::Bind { id, addr } => {
                    let result = self.open_rtp(id, addr);
                    if let Err(e) = &result {
                        log::debug!("rtp bind {addr} failed: {e}");
                    }
                    self.engine.socket_bound(id, result.is_ok());
                }
                SocketOp::Close { id } => {
                    if let Some((key, mut sock)) = self.slot(id).and_then(Option::take) {
                        let _ = self.poll.registry().deregister(&mut sock);
                        self.sources.remove(key);
                        self.closing.push((id, sock));
                    }
                }
                SocketOp::Drain { id } => self.drain_op(id),
            }
        }
    }

    /// Sends what the engine queued and carries out its socket requests.
    fn flush(&mut self) {
        // Socket requests first; a closed socket is kept until this turn's datagrams are
        // sent, so a call's last packets still leave from it.
        self.socket_ops();
        while let Some(job) = self.engine.poll_job() {
            match job {
                sipbox::engine::Job::Agi(op) => self.agi_op(op),
                sipbox::engine::Job::TrimHeap => crate::heap_trim::trim(),
                job => self.jobs.start(job, clock()),
            }
        }
        while let Some(t) = self.engine.poll_transmit() {
            let sock = if t.via == SockId::SIP {
                Some(&self.sip)
            } else {
                socket_in(&self.rtp, &self.dns, t.via).or_else(|| {
                    self.closing
                        .iter()
                        .find(|(id, _)| *id == t.via)
                        .map(|(_, s)| s)
                })
            };
            if let Some(sock) = sock {
                // UDP: a full send buffer drops the datagram; retransmission timers cover it.
                let _ = sock.send_to(&t.bytes, t.to);
            }
        }
        self.closing.clear();
        let events = std::mem::take(&mut self.agi_events);
        if !events.is_empty() {
            for (id, ev) in events {
                self.engine
                    .job_done(clock(), id, sipbox::engine::JobOutcome::Agi(ev));
            }
            self.flush();
        }
    }

    /// Reads and drops what is queued on `id` (a pooled socket given to a new call), unless
    /// it is known empty (`driver/quiet.rs`).
    fn drain_op(&mut self, id: SockId) {
        if !self.quiet.needs_read(id) {
            return;
        }
        let Some(sock) = socket_in(&self.rtp, &self.dns, id) else {
            return;
        };
        // Bounded: a flood on the socket must not hold the loop here.
        for _ in 0..RTP_BATCH {
            match sock.recv_from(&mut self.buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.quiet.empty(id);
                    return;
                }
                _ => {}
            }
        }
    }

    fn open_rtp(&mut self, id: SockId, addr: SocketAddr) -> io::Result<()> {
        let mut sock = UdpSocket::bind(addr)?;
        let key = self.sources.insert(Source::Rtp(id));
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut sock, Token(key), Interest::READABLE)
        {
            self.sources.remove(key);
            return Err(e);
        }
        match self.slot(id) {
            Some(slot) => {
                if let Some((old, mut s)) = slot.replace((key, sock)) {
                    // The engine reuses an id only after closing it; never leak one if not.
                    let _ = self.poll.registry().deregister(&mut s);
                    self.sources.remove(old);
                }
                // Nothing can have arrived before the bind.
                self.quiet.empty(id);
            }
            None => {
                self.sources.remove(key);
                return Err(io::Error::other("socket id out of range"));
            }
        }
        Ok(())
    }
}

/// The socket of `id` among the RTP/RTCP sockets and the DNS client (not the SIP socket).
#[inline]
fn socket_in<'a>(
    rtp: &'a [Option<(usize, UdpSocket)>],
    dns: &'a Option<(usize, UdpSocket)>,
    id: SockId,
) -> Option<&'a UdpSocket> {
    if id == SockId::DNS {
        return dns.as_ref().map(|(_, s)| s);
    }
    let i = usize::try_from(id.0.checked_sub(1)?).ok()?;
    rtp.get(i)?.as_ref().map(|(_, s)| s)
}

/// The soft limit on open files (`/proc/self/limits`), if it can be read: the RTP pool keeps
/// within a share of it. The driver is where the binary may read a file (clippy.toml).
#[allow(clippy::disallowed_methods)]
fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

/// The time now: the driver is where the engine's `now` comes from (clock reads are disallowed
/// elsewhere by clippy.toml).
#[allow(clippy::disallowed_methods)]
fn clock() -> Instant {
    Instant::now()
}
