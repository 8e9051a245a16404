//! qualify=yes|ms: OPTIONS pings to peers, as chan_sip's `sip_poke_peer`. A peer answering
//! within its limit is OK (with the latency), one that does not is UNREACHABLE, and a Dial to an
//! UNREACHABLE peer fails at once with CHANUNAVAIL. Status changes are logged.

use super::{Engine, PeerId};
use crate::call::build::{self, Origin, OutOfDialog};
use crate::call::Purpose;
use crate::config::sip_values::Host;
use crate::flow::Flow;
use crate::sched::{TimerId, TimerSlots};
use crate::sip::{Method, NameAddr, Uri};
use crate::transaction::ClientEvent;
use crate::wake::{PeerTimer, Wake};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A peer's reachability, as `sip show peers` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerStatus {
    /// Not qualified yet, or nothing to ping (not registered).
    Unknown,
    /// Answered within the limit, with this round trip.
    Reachable(Duration),
    /// No answer within the limit.
    Unreachable,
}

/// One peer's qualify state.
#[derive(Default)]
struct Qualified {
    status: Option<PeerStatus>,
    /// When the outstanding ping was sent.
    pending: Option<Instant>,
    timers: TimerSlots<PeerTimer>,
}

/// Per-peer qualify state, by [`PeerId`].
#[derive(Default)]
pub struct QualifyState {
    peers: HashMap<PeerId, Qualified>,
    /// The peers now UNREACHABLE (what a Dial checks).
    pub unreachable: HashSet<PeerId>,
    /// Bumped whenever `unreachable` may have changed (device states walk every entry only
    /// then, `engine::blf`).
    pub generation: u64,
}

impl Engine {
    /// Schedules the first ping of every qualified peer, staggered over a second.
    pub(super) fn schedule_qualify(&mut self, now: Instant) {
        let n = self.cfg.len().max(1) as u32;
        let ids: Vec<(usize, PeerId)> = self
            .cfg
            .peers()
            .enumerate()
            .filter(|(_, (_, p))| p.qualify.is_some())
            .map(|(i, (id, _))| (i, id))
            .collect();
        for (i, id) in ids {
            let offset = Duration::from_millis(1000) * (i as u32) / n;
            let at = now + Duration::from_secs(1) + offset;
            let q = self.qualify.peers.entry(id).or_default();
            let wake = Wake::Peer(id, PeerTimer::Qualify);
            q.timers
                .start(&mut self.sched, PeerTimer::Qualify, at, wake);
        }
    }

    /// (Re)starts timer `kind` of `peer` at `at`.
    pub(super) fn start_peer_timer(&mut self, peer: PeerId, kind: PeerTimer, at: Instant) {
        let q = self.qualify.peers.entry(peer).or_default();
        q.timers
            .start(&mut self.sched, kind, at, Wake::Peer(peer, kind));
    }

    /// Starts qualifying these peers (added or given `qualify` by a reload), staggered over a
    /// second as at start; a peer already being qualified keeps its schedule.
    pub(super) fn qualify_peers(&mut self, now: Instant, ids: &[PeerId]) {
        let n = ids.len().max(1) as u32;
        for (i, &id) in ids.iter().enumerate() {
            let q = self.qualify.peers.entry(id).or_default();
            if q.timers.is_running(PeerTimer::Qualify) {
                continue;
            }
            let at = now + Duration::from_secs(1) + Duration::from_millis(1000) * (i as u32) / n;
            let wake = Wake::Peer(id, PeerTimer::Qualify);
            q.timers
                .start(&mut self.sched, PeerTimer::Qualify, at, wake);
        }
    }

    /// Forgets a removed peer: its status and every timer (qualify, keep-alive). An
    /// outstanding ping's answer then finds nothing to update.
    pub(super) fn forget_peer(&mut self, id: PeerId) {
        if let Some(mut q) = self.qualify.peers.remove(&id) {
            q.timers.stop_all(&mut self.sched);
        }
        self.qualify.unreachable.remove(&id);
        self.qualify.generation += 1;
    }

    /// `qualify=no` now: the pings stop and the status is unknown again (its other timers,
    /// the keep-alive, go on).
    pub(super) fn unqualify(&mut self, id: PeerId) {
        if let Some(q) = self.qualify.peers.get_mut(&id) {
            q.timers.stop(&mut self.sched, PeerTimer::Qualify);
            q.timers.stop(&mut self.sched, PeerTimer::QualifyLimit);
            q.pending = None;
            q.status = None;
        }
        self.qualify.unreachable.remove(&id);
        self.qualify.generation += 1;
    }

    /// Starts the keep-alive of a peer that has `keepalive` and none running (added, or
    /// given `keepalive` by a reload); a changed interval applies from the next one.
    pub(super) fn keepalive_if_idle(&mut self, now: Instant, id: PeerId, every: Duration) {
        let running = self
            .qualify
            .peers
            .get(&id)
            .is_some_and(|q| q.timers.is_running(PeerTimer::Keepalive));
        if !running {
            self.start_peer_timer(id, PeerTimer::Keepalive, now + every);
        }
    }

    /// True when a peer has qualify timers running (for tests and `sip show peers`).
    pub fn is_qualifying(&self, name: &str) -> bool {
        self.cfg
            .entry(name)
            .and_then(|id| self.qualify.peers.get(&id))
            .is_some_and(|q| !q.timers.is_empty())
    }

    /// The reachability of a peer.
    pub fn peer_status(&self, name: &str) -> Option<PeerStatus> {
        let id = self.cfg.entry(name)?;
        Some(
            self.qualify
                .peers
                .get(&id)
                .and_then(|q| q.status)
                .unwrap_or(PeerStatus::Unknown),
        )
    }

    /// A timer of a peer fired.
    pub(super) fn peer_timer(&mut self, now: Instant, peer: PeerId, kind: PeerTimer, id: TimerId) {
        let Some(q) = self.qualify.peers.get_mut(&peer) else {
            return;
        };
        if !q.timers.fired(kind, id) {
            return;
        }
        match kind {
            PeerTimer::Qualify => self.qualify_due(now, peer),
            PeerTimer::Keepalive => self.keepalive_due(now, peer),
            PeerTimer::QualifyLimit => {
                // The ping's limit passed: unanswered means UNREACHABLE.
                if q.pending.take().is_some() {
                    self.set_peer_status(peer, PeerStatus::Unreachable);
                }
            }
        }
    }

    /// A peer's ping is due: send it and plan the next one.
    fn qualify_due(&mut self, now: Instant, peer: PeerId) {
        let Some(limit) = self.cfg.peer(peer).and_then(|p| p.qualify) else {
            return;
        };
        let freq = self.cfg.general.qualify_freq;
        if let Some(q) = self.qualify.peers.get_mut(&peer) {
            let wake = Wake::Peer(peer, PeerTimer::Qualify);
            q.timers
                .start(&mut self.sched, PeerTimer::Qualify, now + freq, wake);
        }
        let Some((uri, dest)) = self.qualify_target(peer) else {
            // A host name that does not resolve stays UNREACHABLE (engine/dns.rs).
            if !self.dns.failed.contains(&peer) {
                self.set_peer_status(peer, PeerStatus::Unknown);
            }
            return;
        };
        let branch = crate::transaction::new_branch(&mut self.rng);
        let tag = self.new_tag();
        let call_id = format!("{:032x}@sipbox", rand::Rng::random::<u128>(&mut self.rng));
        let origin = Origin::on(dest, &self.advertise, &branch, &self.cfg.general.user_agent);
        let mut req = build::out_of_dialog(
            OutOfDialog {
                method: Method::Options,
                to: &NameAddr::new(uri.clone()),
                uri,
                from: &build::contact("sipbox", self.advertise.sip(dest.remote)),
                from_tag: &tag,
                call_id: &call_id,
                cseq: 1,
                contact_user: None,
                max_forwards: build::MAX_FORWARDS,
            },
            &origin,
        );
        let route = self
            .cfg
            .peer(peer)
            .filter(|p| matches!(p.host, Host::Static { .. }))
            .and_then(crate::config::sip_outbound::proxy_route);
        if let Some(route) = route {
            req.push_header(crate::sip::HeaderName::Route, route);
        }
        let purpose = Purpose::Qualify { peer, sent: now };
        self.txs
            .open_client(now, &mut self.sched, &mut self.out, req, dest, purpose);
        if let Some(q) = self.qualify.peers.get_mut(&peer) {
            q.pending = Some(now);
            let wake = Wake::Peer(peer, PeerTimer::QualifyLimit);
            q.timers
                .start(&mut self.sched, PeerTimer::QualifyLimit, now + limit, wake);
        }
    }

    /// The ping was answered (any response counts, as in chan_sip) or timed out.
    pub(super) fn on_qualify_event(
        &mut self,
        now: Instant,
        peer: PeerId,
        sent: Instant,
        ev: ClientEvent,
    ) {
        let Some(limit) = self.cfg.peer(peer).and_then(|p| p.qualify) else {
            return;
        };
        if let Some(q) = self.qualify.peers.get_mut(&peer) {
            if q.pending == Some(sent) {
                q.pending = None;
            }
        }
        let rtt = now.saturating_duration_since(sent);
        let status = match ev {
            ClientEvent::Response(_) if rtt <= limit => PeerStatus::Reachable(rtt),
            _ => PeerStatus::Unreachable,
        };
        self.set_peer_status(peer, status);
    }

    pub(super) fn set_peer_status(&mut self, peer: PeerId, status: PeerStatus) {
        let q = self.qualify.peers.entry(peer).or_default();
        let old = q.status.replace(status).unwrap_or(PeerStatus::Unknown);
        let moved = if status == PeerStatus::Unreachable {
            self.qualify.unreachable.insert(peer)
        } else {
            self.qualify.unreachable.remove(&peer)
        };
        if moved {
            self.qualify.generation += 1;
        }
        let changed = !matches!(
            (old, status),
            (PeerStatus::Reachable(_), PeerStatus::Reachable(_))
        ) && old != status;
        if changed {
            let p = self.cfg.peer(peer);
            let name = p.map(|p| p.name.as_str()).unwrap_or("");
            let limit = p.and_then(|p| p.qualify).unwrap_or_default().as_millis();
            // chan_sip's NOTICE lines (`handle_response_peerpoke`, `sip_poke_noanswer`).
            match status {
                PeerStatus::Reachable(rtt) => {
                    log::info!(
                        "Peer '{name}' is now Reachable. ({}ms / {limit}ms)",
                        rtt.as_millis()
                    );
                }
                PeerStatus::Unreachable => {
                    let last = match old {
                        PeerStatus::Reachable(rtt) => rtt.as_millis(),
                        _ => 0,
                    };
                    log::warn!("Peer '{name}' is now UNREACHABLE!  Last qualify: {last}");
                }
                PeerStatus::Unknown => log::info!("Peer '{name}' is now UNKNOWN"),
            }
        }
    }

    /// Sends a ping to `peer` now (`sip qualify peer`); false when it is not qualified.
    pub(super) fn qualify_now(&mut self, now: Instant, peer: PeerId) -> bool {
        if self.cfg.peer(peer).and_then(|p| p.qualify).is_none() {
            return false;
        }
        self.qualify.peers.entry(peer).or_default();
        self.qualify_due(now, peer);
        true
    }

    /// The reachability of a peer by id (Unknown when never qualified).
    pub(super) fn status_of(&self, peer: PeerId) -> PeerStatus {
        self.qualify
            .peers
            .get(&peer)
            .and_then(|q| q.status)
            .unwrap_or(PeerStatus::Unknown)
    }

    fn qualify_target(&self, peer: PeerId) -> Option<(Uri, Flow)> {
        let p = self.cfg.peer(peer)?;
        // With an outbound proxy the ping goes via it too (Route added by the caller), the
        // Request-URI naming the host as Dial's INVITEs do.
        if let (Some((_, pport, pip)), Host::Static { host, port, .. }) =
            (crate::config::sip_outbound::proxy_of(p), &p.host)
        {
            let addr = pip
                .map(|ip| SocketAddr::new(ip, pport))
                .or_else(|| self.cfg.proxy_resolved(peer).first().copied())?;
            let mut uri = build::sip_uri(Some(&p.name), addr);
            uri.host = host.as_str().into();
            uri.port = p.port_given.then_some(*port);
            return Some((uri, Flow::udp(addr)));
        }
        match &p.host {
            Host::Dynamic => {
                let b = self.registrar.bindings(&p.name).first()?;
                let uri = Uri::parse(&b.contact).ok()?;
                Some((uri, b.flow))
            }
            Host::Static { ip, port, .. } => {
                let addr = ip
                    .map(|ip| SocketAddr::new(ip, *port))
                    .or_else(|| self.cfg.resolved(peer))?;
                Some((build::sip_uri(Some(&p.name), addr), Flow::udp(addr)))
            }
            Host::Unset => None,
        }
    }
}
