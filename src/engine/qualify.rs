//! qualify=yes|ms: OPTIONS pings to peers, as chan_sip's `sip_poke_peer`. A peer answering
//! within its limit is OK (with the latency), one that does not is UNREACHABLE, and a Dial to an
//! UNREACHABLE peer fails at once with CHANUNAVAIL. Status changes are logged.

use super::transactions::{ClientEvent, ClientPurpose};
use super::{build, Engine, EngineTimer};
use crate::config::sip_values::Host;
use crate::sip::{HeaderName, Method, Request, Uri};
use std::collections::HashMap;
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

/// Per-peer qualify state.
#[derive(Default)]
pub struct QualifyState {
    status: HashMap<usize, PeerStatus>,
    /// When the outstanding ping of each peer was sent.
    pending: HashMap<usize, Instant>,
}

impl Engine {
    /// Schedules the first ping of every qualified peer, staggered over a second.
    pub(super) fn schedule_qualify(&mut self, now: Instant) {
        let n = self.cfg.peers.len().max(1) as u32;
        for i in 0..self.cfg.peers.len() {
            if self.cfg.peers[i].qualify.is_some() {
                let offset = Duration::from_millis(1000) * (i as u32) / n;
                self.sched.schedule(
                    now + Duration::from_secs(1) + offset,
                    EngineTimer::Qualify(i),
                );
            }
        }
    }

    /// True when qualify says the peer does not answer.
    pub(super) fn is_unreachable(&self, entry: usize) -> bool {
        self.qualify.status.get(&entry) == Some(&PeerStatus::Unreachable)
    }

    /// The reachability of a peer.
    pub fn peer_status(&self, name: &str) -> Option<PeerStatus> {
        let i = self.cfg.entry(name)?;
        Some(
            self.qualify
                .status
                .get(&i)
                .copied()
                .unwrap_or(PeerStatus::Unknown),
        )
    }

    /// A peer's ping is due: send it and plan the next one.
    pub(super) fn qualify_due(&mut self, now: Instant, entry: usize) {
        let Some(limit) = self.cfg.peers[entry].qualify else {
            return;
        };
        self.sched.schedule(
            now + self.cfg.general.qualify_freq,
            EngineTimer::Qualify(entry),
        );
        let Some((uri, dest)) = self.qualify_target(entry) else {
            self.set_peer_status(entry, PeerStatus::Unknown);
            return;
        };
        let branch = self.new_branch();
        let tag = self.new_tag();
        let call_id = format!("{:032x}@sipbox", rand::Rng::random::<u128>(&mut self.rng));
        let mut req = Request::new(Method::Options, uri.clone());
        req.push_header(HeaderName::Via, build::via_value(self.local, &branch));
        req.push_header(HeaderName::MaxForwards, "70");
        req.push_header(
            HeaderName::From,
            format!("<sip:sipbox@{}>;tag={tag}", self.local),
        );
        req.push_header(HeaderName::To, format!("<{uri}>"));
        req.push_header(HeaderName::CallId, call_id);
        req.push_header(HeaderName::CSeq, "1 OPTIONS");
        req.push_header(HeaderName::UserAgent, self.cfg.general.user_agent.clone());
        self.qualify.pending.insert(entry, now);
        self.open_client_tx(now, req, dest, ClientPurpose::Qualify { entry, sent: now });
        self.sched
            .schedule(now + limit, EngineTimer::QualifyLimit(entry));
    }

    /// The ping's limit passed: unanswered means UNREACHABLE.
    pub(super) fn qualify_limit(&mut self, entry: usize) {
        if self.qualify.pending.remove(&entry).is_some() {
            self.set_peer_status(entry, PeerStatus::Unreachable);
        }
    }

    /// The ping was answered (any response counts, as in chan_sip) or timed out.
    pub(super) fn on_qualify_event(
        &mut self,
        now: Instant,
        entry: usize,
        sent: Instant,
        ev: ClientEvent,
    ) {
        let Some(limit) = self.cfg.peers.get(entry).and_then(|p| p.qualify) else {
            return;
        };
        if self.qualify.pending.get(&entry) == Some(&sent) {
            self.qualify.pending.remove(&entry);
        }
        let rtt = now.saturating_duration_since(sent);
        let status = match ev {
            ClientEvent::Response(_) if rtt <= limit => PeerStatus::Reachable(rtt),
            _ => PeerStatus::Unreachable,
        };
        self.set_peer_status(entry, status);
    }

    fn set_peer_status(&mut self, entry: usize, status: PeerStatus) {
        let old = self
            .qualify
            .status
            .insert(entry, status)
            .unwrap_or(PeerStatus::Unknown);
        let changed = !matches!(
            (old, status),
            (PeerStatus::Reachable(_), PeerStatus::Reachable(_))
        ) && old != status;
        if changed {
            let name = &self.cfg.peers[entry].name;
            match status {
                PeerStatus::Reachable(rtt) => {
                    log::info!("peer '{name}' is now Reachable ({} ms)", rtt.as_millis())
                }
                PeerStatus::Unreachable => log::warn!("peer '{name}' is now UNREACHABLE"),
                PeerStatus::Unknown => log::info!("peer '{name}' is now UNKNOWN"),
            }
        }
    }

    fn qualify_target(&self, entry: usize) -> Option<(Uri, SocketAddr)> {
        let p = &self.cfg.peers[entry];
        match &p.host {
            Host::Dynamic => {
                let b = self.registrar.bindings(&p.name).first()?;
                let uri = Uri::parse(&b.contact).ok()?;
                Some((uri, b.source))
            }
            Host::Static { ip, port, .. } => {
                let addr = ip
                    .map(|ip| SocketAddr::new(ip, *port))
                    .or_else(|| self.cfg.resolved(entry))?;
                let uri =
                    Uri::parse(&format!("sip:{}@{addr}", build::escape_user(&p.name))).ok()?;
                Some((uri, addr))
            }
            Host::Unset => None,
        }
    }
}
