//! Outbound registration driven by the engine: each `register =>` line's [`Registry`] gets
//! its timers from the scheduler, its REGISTERs sent through the transaction layer (built
//! with the same Via/Contact helpers as Dial's INVITEs), its answers and timeouts fed back.
//! Also: `Expires: 0` at shutdown, the `sip show registry` snapshot, and which inbound
//! INVITEs are the ITSP calling a registered number (routed to the line's `/extension`).
//!
//! Reading list: RFC 3261 §10.2; chan_sip's `transmit_register`, `handle_response_register`.

use super::dns_names::NameKey;
use super::{Engine, PeerId};
use crate::call::build::{self, Origin, OutOfDialog};
use crate::call::Purpose;
use crate::config::sip_conf::Registration;
use crate::config::sip_outbound::{proxy_of, proxy_route};
use crate::config::sip_values::Host;
use crate::flow::Flow;
use crate::sched::{TimerId, TimerSlots};
use crate::sip::{Contact, HeaderName, Method, NameAddr, Request, Response, Uri};
use crate::transaction::ClientEvent;
use crate::trunk::credentials::{self, LineCredentials};
use crate::trunk::digest::{self, Answering, Challenge};
use crate::trunk::registry::{Answer, Limits, RegEvent, Step};
use crate::trunk::{Registry, RegistryRow, Trunk};
use crate::wake::{RegTimer, Wake};
use rand::Rng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Where a registration's REGISTERs go and what they say.
struct Target {
    /// The registrar's (or outbound proxy's) addresses, best first.
    dests: Vec<SocketAddr>,
    /// The name those addresses come from (None: an IP literal or the `peer?`'s host).
    name: Option<NameKey>,
    /// Request-URI: `sip:domain[:port]`.
    uri: Uri,
    /// To and From: `<sip:user@domain>`.
    aor: NameAddr,
    /// `Route: <sip:proxy;lr>` when an outbound proxy is in the way.
    route: Option<String>,
}

/// The user part of our Contact in a registration: the line's `/extension`, else `s`
/// (chan_sip's `callback`).
fn contact_user(r: &Registration) -> &str {
    r.extension.as_deref().unwrap_or("s")
}

impl Engine {
    /// The entry a register line names with `peer?`.
    fn reg_peer(&self, r: &Registration) -> Option<PeerId> {
        self.cfg.entry(r.peer.as_deref()?)
    }

    /// Sets up every registration; the first REGISTERs go out at once, 100 ms apart.
    pub(super) fn start_registrations(&mut self, now: Instant) {
        let lines = self.cfg.registrations.clone();
        for (i, r) in lines.iter().enumerate() {
            let t = self.new_trunk(r, now + Duration::from_millis(100) * i as u32);
            self.trunks.list.push(t);
        }
    }

    /// A fresh registration for line `r` (new Call-ID and From tag), due at `at`.
    pub(super) fn new_trunk(&mut self, r: &Registration, at: Instant) -> Trunk {
        if let Some(p) = &r.peer {
            if self.cfg.entry(p).is_none() {
                log::warn!(
                    "{}: register => names peer '{p}', which does not exist",
                    r.loc
                );
            }
        }
        let default = self.cfg.general.default_expiry.as_secs() as u32;
        let id = self.trunks.next_id;
        self.trunks.next_id = self.trunks.next_id.wrapping_add(1);
        let mut t = Trunk {
            id,
            line: r.clone(),
            retiring: false,
            machine: Registry::new(r.label(), r.expiry.unwrap_or(default)),
            call_id: format!("{:032x}@sipbox", self.rng.random::<u128>()),
            from_tag: format!("{:016x}", self.rng.random::<u64>()),
            cseq: 0,
            dest: None,
            timers: TimerSlots::default(),
            proxy_challenge: false,
            target: 0,
            waiting_dns: false,
        };
        let wake = Wake::Registry(id, RegTimer::Due);
        t.timers.start(&mut self.sched, RegTimer::Due, at, wake);
        t
    }

    fn reg_limits(&self) -> Limits {
        Limits {
            timeout: self.cfg.general.register_timeout,
            attempts: self.cfg.general.register_attempts,
            default_expiry: self.cfg.general.default_expiry.as_secs() as u32,
        }
    }

    /// A registration's timer fired.
    pub(super) fn registry_timer(&mut self, now: Instant, trunk: u32, kind: RegTimer, id: TimerId) {
        let Some(reg) = self.trunks.index_of(trunk) else {
            return; // removed by a reload
        };
        let t = &mut self.trunks.list[reg];
        if !t.timers.fired(kind, id) {
            return;
        }
        match kind {
            RegTimer::Due => self.reg_due(now, reg),
            RegTimer::Timeout => self.reg_event(now, reg, RegEvent::NoAnswer),
        }
    }

    /// A registration is due: send if the registrar has an address, else look its name up
    /// first (the REGISTER goes out when the answer comes; a failure is
    /// [`RegEvent::Unresolved`], retried with backoff).
    fn reg_due(&mut self, now: Instant, reg: usize) {
        let Some(t) = self.trunks.list.get(reg) else {
            return;
        };
        let target = self.reg_target(&t.line);
        if let (true, Some(key)) = (target.dests.is_empty(), target.name) {
            if let Some(t) = self.trunks.list.get_mut(reg) {
                t.waiting_dns = true;
            }
            self.name_lookup_now(now, &key);
            return;
        }
        self.reg_event(now, reg, RegEvent::Due);
    }

    /// A name finished resolving (`ok`: it has addresses): registrations waiting for it go.
    pub(super) fn trunks_name_ready(&mut self, now: Instant, key: &NameKey, ok: bool) {
        // By id: a step may remove a retiring registration from the list.
        let ids: Vec<u32> = self.trunks.list.iter().map(|t| t.id).collect();
        for id in ids {
            let Some(reg) = self.trunks.index_of(id) else {
                continue;
            };
            let t = &self.trunks.list[reg];
            let waiting = t.waiting_dns && self.reg_target(&t.line).name.as_ref() == Some(key);
            if waiting {
                self.trunks.list[reg].waiting_dns = false;
                let ev = if ok {
                    RegEvent::Due
                } else {
                    RegEvent::Unresolved
                };
                self.reg_event(now, reg, ev);
            }
        }
    }

    /// The answer (or the transaction's timeout) for REGISTER `cseq` of registration `trunk`.
    pub(super) fn on_register_event(
        &mut self,
        now: Instant,
        trunk: u32,
        cseq: u32,
        ev: ClientEvent,
        resp: Option<&Response>,
    ) {
        let Some(reg) = self.trunks.index_of(trunk) else {
            return; // its line was removed or changed by a reload
        };
        if self.trunks.list[reg].cseq != cseq {
            return; // an answer to a REGISTER we already gave up on
        }
        let ev = match (ev, resp) {
            (ClientEvent::Response(_), Some(resp)) => RegEvent::Answer(self.reg_answer(reg, resp)),
            _ => RegEvent::NoAnswer,
        };
        self.reg_event(now, reg, ev);
    }

    fn reg_event(&mut self, now: Instant, reg: usize, mut ev: RegEvent) {
        let lim = self.reg_limits();
        let failover = match &ev {
            RegEvent::NoAnswer => true,
            RegEvent::Answer(a) => a.status == 503,
            _ => false,
        };
        let n = match self.trunks.list.get(reg) {
            Some(t) if failover => self.reg_target(&t.line).dests.len(),
            _ => 0,
        };
        let Some(t) = self.trunks.list.get_mut(reg) else {
            return;
        };
        if failover && t.machine.outstanding() {
            // RFC 3263 §4.3: a timeout or 503 moves on to the next address of the name.
            if t.target + 1 < n {
                t.target += 1;
                log::info!(
                    "register '{}': no answer or 503; trying the registrar's address #{}",
                    t.machine.label,
                    t.target + 1
                );
                ev = RegEvent::Failover;
            } else {
                t.target = 0;
            }
        }
        let step = t.machine.step(now, ev, lim);
        match step {
            Step::Send { expiry, answer } => self.send_register(now, reg, expiry, answer),
            Step::WakeAt(at) => {
                t.timers.stop(&mut self.sched, RegTimer::Timeout);
                let wake = Wake::Registry(t.id, RegTimer::Due);
                t.timers.start(&mut self.sched, RegTimer::Due, at, wake);
            }
            Step::Stay => {}
            Step::Done => {
                t.timers.stop_all(&mut self.sched);
                if t.retiring {
                    log::info!("register '{}': unregistered, gone", t.machine.label);
                    self.trunks.list.remove(reg);
                }
            }
        }
    }

    /// What the machine needs of a final answer.
    fn reg_answer(&mut self, reg: usize, resp: &Response) -> Answer {
        let status = resp.status();
        let r = &self.trunks.list[reg].line.clone();
        let header_u32 = |name: HeaderName| {
            resp.headers().get(&name).and_then(|v| {
                let digits: String = v.trim().chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<u32>().ok()
            })
        };
        let challenge = match status {
            401 | 407 => {
                let proxy = status == 407;
                if let Some(t) = self.trunks.list.get_mut(reg) {
                    t.proxy_challenge = proxy;
                }
                let header = if proxy {
                    HeaderName::ProxyAuthenticate
                } else {
                    HeaderName::WwwAuthenticate
                };
                match digest::pick(resp.headers().get_all(&header)) {
                    Ok(ch)
                        if self
                            .reg_authorization(r, &ch, "sip:probe", "probe")
                            .is_some() =>
                    {
                        Some(ch)
                    }
                    Ok(ch) => {
                        log::warn!(
                            "register '{}': no credentials answer realm '{}' ({})",
                            r.label(),
                            ch.realm,
                            ch.algorithm.token()
                        );
                        None
                    }
                    Err(e) => {
                        log::warn!("register '{}': cannot answer the {status}: {e}", r.label());
                        None
                    }
                }
            }
            _ => None,
        };
        // The expiry granted to our contact, else the Expires header (RFC 3261 §10.2.4).
        let ours = contact_user(r);
        let expires = resp
            .contacts()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| match c {
                Contact::Addr(na) => Some(na),
                Contact::Star => None,
            })
            .find(|na| na.uri.user.as_deref() == Some(ours))
            .and_then(|na| na.param("expires").flatten().and_then(|v| v.parse().ok()))
            .or_else(|| header_u32(HeaderName::Expires));
        Answer {
            status,
            challenge,
            expires,
            min_expires: header_u32(HeaderName::MinExpires),
            retry_after: header_u32(HeaderName::RetryAfter),
        }
    }

    /// The credentials value answering `ch` for a REGISTER of line `r` to `uri`.
    fn reg_authorization(
        &self,
        r: &Registration,
        ch: &Challenge,
        uri: &str,
        cnonce: &str,
    ) -> Option<String> {
        let peer = self.reg_peer(r).and_then(|p| self.cfg.peer(p));
        let line = LineCredentials {
            user: r.authuser.as_deref().unwrap_or(&r.user),
            secret: r.secret.as_deref(),
        };
        let id = credentials::for_realm(&ch.realm, peer, Some(line), &self.cfg.realm_auth)?;
        let req = Answering {
            method: Method::Register.as_str(),
            uri,
            cnonce,
            nc: 1,
        };
        digest::authorization(ch, id.user, id.secret, req)
    }

    /// Where line `r`'s REGISTERs go (the one resolution seam: IP literals, the names the
    /// driver resolved at start, a `peer?`'s static host or outbound proxy).
    fn reg_target(&self, r: &Registration) -> Target {
        let peer = self.reg_peer(r).and_then(|p| Some((p, self.cfg.peer(p)?)));
        let domain = r
            .domain
            .clone()
            .or_else(|| peer.and_then(|(_, p)| p.fromdomain.clone()))
            .unwrap_or_else(|| r.host.clone());
        let port = r.port.unwrap_or(5060);
        let uri_port = match (&r.domain, r.domain_port) {
            (_, Some(p)) => Some(p),
            (None, None) if port != 5060 => Some(port),
            _ => None,
        };
        let uri = Uri {
            scheme: "sip".into(),
            host: domain.as_str().into(),
            port: uri_port,
            ..Uri::default()
        };
        let aor = NameAddr::new(Uri {
            scheme: "sip".into(),
            user: Some(build::escape_user(&r.user).into()),
            host: domain.into(),
            ..Uri::default()
        });
        let proxy = peer
            .and_then(|(_, p)| Some((proxy_of(p)?, p.outboundproxy_port_given, proxy_route(p)?)));
        let (dests, name, route) = match proxy {
            Some(((host, port, ip), given, route)) => {
                let (dests, name) = self.named_dests(&host, ip, port, given);
                (dests, name, Some(route))
            }
            None => {
                let from_peer = peer.and_then(|(id, p)| match &p.host {
                    Host::Static { ip, port, .. } if r.port.is_none() => match ip {
                        Some(ip) => Some(vec![SocketAddr::new(*ip, *port)]),
                        None => Some(self.cfg.resolved_all(id).to_vec()),
                    },
                    _ => None,
                });
                match from_peer.filter(|d| !d.is_empty()) {
                    Some(d) => (d, None, None),
                    None => {
                        let ip = r
                            .host
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .parse()
                            .ok();
                        let (d, n) = self.named_dests(&r.host, ip, port, r.port.is_some());
                        (d, n, None)
                    }
                }
            }
        };
        Target {
            dests,
            name,
            uri,
            aor,
            route,
        }
    }

    /// The addresses of `host` (an IP literal, or a name resolved on the loop) and the name's
    /// key.
    fn named_dests(
        &self,
        host: &str,
        ip: Option<std::net::IpAddr>,
        port: u16,
        port_given: bool,
    ) -> (Vec<SocketAddr>, Option<NameKey>) {
        if let Some(ip) = ip {
            return (vec![SocketAddr::new(ip, port)], None);
        }
        match NameKey::of(host, port_given.then_some(port)) {
            Some(key) => (self.dns.names.addrs(&key).to_vec(), Some(key)),
            None => (Vec::new(), None),
        }
    }

    fn send_register(&mut self, now: Instant, reg: usize, expiry: u32, answer: Option<Challenge>) {
        let r = self.trunks.list[reg].line.clone();
        let target = self.reg_target(&r);
        let Some(t) = self.trunks.list.get_mut(reg) else {
            return;
        };
        t.cseq += 1;
        let cseq = t.cseq;
        // The answer comes within registertimeout or the machine hears NoAnswer.
        let timeout = now + self.cfg.general.register_timeout;
        t.timers.stop(&mut self.sched, RegTimer::Due);
        let wake = Wake::Registry(t.id, RegTimer::Timeout);
        t.timers
            .start(&mut self.sched, RegTimer::Timeout, timeout, wake);
        let Some(&addr) = target.dests.get(t.target % target.dests.len().max(1)) else {
            log::warn!("register '{}': host '{}' has no address", r.label(), r.host);
            return; // the timeout fires and the machine retries with backoff
        };
        let dest = Flow::udp(addr);
        let (call_id, from_tag, proxy) = (t.call_id.clone(), t.from_tag.clone(), t.proxy_challenge);
        t.dest = Some(dest);
        let branch = crate::transaction::new_branch(&mut self.rng);
        let origin = Origin::on(dest, &self.advertise, &branch, &self.cfg.general.user_agent);
        let uri_text = target.uri.to_string();
        let mut req: Request = build::out_of_dialog(
            OutOfDialog {
                method: Method::Register,
                uri: target.uri,
                from: &target.aor,
                from_tag: &from_tag,
                to: &target.aor,
                call_id: &call_id,
                cseq,
                contact_user: Some(contact_user(&r)),
                max_forwards: build::MAX_FORWARDS,
            },
            &origin,
        );
        req.push_header(HeaderName::Expires, expiry.to_string());
        if let Some(route) = target.route {
            req.push_header(HeaderName::Route, route);
        }
        if let Some(ch) = answer {
            // A fresh cnonce per answer, from the engine's random source.
            let cnonce = format!("{:016x}", self.rng.random::<u64>());
            match self.reg_authorization(&r, &ch, &uri_text, &cnonce) {
                Some(v) => {
                    let header = if proxy {
                        HeaderName::ProxyAuthorization
                    } else {
                        HeaderName::Authorization
                    };
                    req.push_header(header, v);
                }
                None => log::warn!("register '{}': credentials vanished", r.label()),
            }
        }
        let trunk = self.trunks.list[reg].id;
        let purpose = Purpose::Register { trunk, cseq };
        self.txs
            .open_client(now, &mut self.sched, &mut self.out, req, dest, purpose);
    }
}

/// The same `register =>` line, wherever in the file it now is.
fn same_line(old: &Registration, new: &Registration) -> bool {
    let mut moved = new.clone();
    moved.loc = old.loc.clone();
    *old == moved
}

/// What a reload did to the outbound registrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationsReloaded {
    /// Lines as they were: their registrations go on untouched.
    pub kept: usize,
    /// New or changed lines: registered afresh (new Call-ID), at once.
    pub started: Vec<String>,
    /// Lines gone or changed: no longer refreshed.
    pub stopped: Vec<String>,
    /// Of `stopped`, those unregistered with `Expires: 0` (their user at that registrar is in
    /// no line any more).
    pub unregistered: Vec<String>,
}

/// The same address of record at the same registrar: a REGISTER of `b` replaces the binding
/// a REGISTER of `a` made (our Contact is the same), so `a` must not be unregistered.
fn same_binding(a: &Registration, b: &Registration) -> bool {
    (
        &a.user,
        &a.domain,
        a.domain_port,
        &a.host,
        a.port,
        &a.extension,
    ) == (
        &b.user,
        &b.domain,
        b.domain_port,
        &b.host,
        b.port,
        &b.extension,
    )
}

impl Engine {
    /// A reload put new `register =>` lines into `self.cfg`; the running registrations carry
    /// the lines they were made from. An unchanged line keeps its registration (state,
    /// Call-ID, CSeq, timers, a REGISTER in flight); a changed or new one starts a fresh
    /// registration at once (100 ms apart). A removed or changed one stops: if no new line
    /// registers the same user at the same registrar it unregisters (`Expires: 0`, as at
    /// shutdown; `sip show registry` no longer lists it) and then goes; otherwise it just goes
    /// (the new line's REGISTER replaces its binding, RFC 3261 §10.3 step 7, where an
    /// `Expires: 0` racing it could remove the new one). Answers to its REGISTERs are then
    /// ignored.
    pub(super) fn reload_registrations(&mut self, now: Instant) -> RegistrationsReloaded {
        let mut report = RegistrationsReloaded::default();
        if self.trunks.stopping {
            return report; // stopping: nothing new is sent
        }
        let (retiring, mut old): (Vec<Trunk>, Vec<Trunk>) = std::mem::take(&mut self.trunks.list)
            .into_iter()
            .partition(|t| t.retiring);
        let lines = self.cfg.registrations.clone();
        let mut list = Vec::with_capacity(lines.len() + retiring.len());
        for r in &lines {
            match old.iter().position(|t| same_line(&t.line, r)) {
                Some(i) => {
                    report.kept += 1;
                    list.push(old.remove(i));
                }
                None => {
                    let at = now + Duration::from_millis(100) * report.started.len() as u32;
                    log::info!(
                        "{}: register '{}' is new or changed: registering",
                        r.loc,
                        r.label()
                    );
                    report.started.push(r.label());
                    list.push(self.new_trunk(r, at));
                }
            }
        }
        list.extend(retiring);
        let mut unregister = Vec::new();
        for mut t in old {
            let label = t.machine.label.clone();
            report.stopped.push(label.clone());
            if lines.iter().any(|r| same_binding(&t.line, r)) {
                t.timers.stop_all(&mut self.sched);
                log::info!("register '{label}' changed: the new line's REGISTER replaces it");
                continue;
            }
            log::info!("register '{label}' removed: unregistering");
            report.unregistered.push(label);
            t.retiring = true;
            unregister.push(t.id);
            list.push(t);
        }
        self.trunks.list = list;
        for id in unregister {
            if let Some(reg) = self.trunks.index_of(id) {
                self.reg_event(now, reg, RegEvent::Shutdown);
            }
        }
        report
    }

    /// `sip show registry`: one row per `register =>` line, read-only.
    pub fn registry(&self, now: Instant) -> Vec<RegistryRow> {
        self.trunks
            .list
            .iter()
            .filter(|t| !t.retiring)
            .map(|t| (t, &t.line))
            .map(|(t, r)| RegistryRow {
                host: format!("{}:{}", r.host, r.port.unwrap_or(5060)),
                username: r.user.clone(),
                refresh: t.machine.granted.unwrap_or(t.machine.requested),
                state: t.machine.state.name(),
                registered_for: t
                    .machine
                    .registered_at
                    .filter(|_| t.machine.state == crate::trunk::RegState::Registered)
                    .map(|at| now.saturating_duration_since(at)),
            })
            .collect()
    }

    /// sipbox is stopping: every registration that is (or may be) bound sends `Expires: 0`.
    /// The driver keeps the loop running until [`Engine::unregistering`] is false or its
    /// own bound passes.
    pub fn begin_shutdown(&mut self, now: Instant) {
        if self.trunks.stopping {
            return;
        }
        self.trunks.stopping = true;
        // By id: a step may remove a retiring registration from the list.
        let ids: Vec<u32> = (self.trunks.list.iter())
            .filter(|t| !t.retiring) // already unregistering
            .map(|t| t.id)
            .collect();
        for id in ids {
            if let Some(reg) = self.trunks.index_of(id) {
                self.reg_event(now, reg, RegEvent::Shutdown);
            }
        }
    }

    /// True while an unregistration of the shutdown waits for its answer.
    pub fn unregistering(&self) -> bool {
        self.trunks.list.iter().any(|t| t.machine.unregistering())
    }

    /// A new INVITE that is the ITSP calling in for a registration: it comes from the address
    /// the registration's REGISTERs go to and names the registered user or our Contact user
    /// (Request-URI, else To). Returns the entry (`peer?`, else a static peer at that
    /// address), the context and the extension: the line's `/extension`, else the
    /// Request-URI user, else `s`.
    pub(super) fn trunk_call(
        &self,
        req: &Request,
        source: Flow,
    ) -> Option<(Option<PeerId>, String, String)> {
        // or_else: To is decoded only when the Request-URI has no user (the common case has one).
        let user = req
            .uri()
            .user
            .as_deref()
            .or_else(|| req.to().uri.user.as_deref());
        let lines = || {
            self.trunks
                .list
                .iter()
                .filter(|t| !t.retiring)
                .map(|t| (t, &t.line))
                .enumerate()
                .filter(|(_, (_, r))| user.is_some_and(|u| u == r.user || u == contact_user(r)))
        };
        // The registrar's address and port first (two accounts on one host stay apart);
        // else its address alone, unless the line's peer? insists on the port (no
        // insecure=port, as chan_sip matches a peer by address).
        let exact = lines().find(|(_, (t, _))| t.dest.is_some_and(|d| d.remote == source.remote));
        let (i, (_, r)) = exact.or_else(|| {
            lines().find(|(_, (t, r))| {
                let port_free = self
                    .reg_peer(r)
                    .and_then(|p| self.cfg.peer(p))
                    .is_none_or(|p| p.insecure.port);
                port_free && t.dest.is_some_and(|d| d.remote.ip() == source.remote.ip())
            })
        })?;
        let peer = self.reg_peer(r).or_else(|| {
            self.cfg.peers().find_map(|(id, p)| match &p.host {
                Host::Static { ip, port, .. } => {
                    let addrs: Vec<SocketAddr> = match ip {
                        Some(ip) => vec![SocketAddr::new(*ip, *port)],
                        None => self.cfg.resolved_all(id).to_vec(),
                    };
                    let hit = addrs.iter().any(|a| {
                        a.ip() == source.remote.ip()
                            && (p.insecure.port || a.port() == source.remote.port())
                    });
                    hit.then_some(id)
                }
                _ => None,
            })
        });
        let context = peer
            .and_then(|p| self.cfg.peer(p))
            .map(|p| p.context.clone())
            .unwrap_or_else(|| self.cfg.general.context.clone());
        let exten = r
            .extension
            .clone()
            .or_else(|| {
                req.uri()
                    .user
                    .as_deref()
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "s".into());
        log::debug!(
            "INVITE from {source} is for registration #{i} '{}'",
            r.label()
        );
        Some((peer, context, exten))
    }
}
