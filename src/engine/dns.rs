//! Static `host=name` entries resolved on the event loop (RFC 3263 through [`crate::dns`]).
//!
//! At start every such entry is due for a lookup; the answer's addresses go to
//! [`Settings::set_resolved_all`] (Dial and qualify read them there, best first) and the entry
//! is looked up again when the shortest TTL runs out (at least [`MIN_REFRESH`] apart, at most
//! [`MAX_REFRESH`]: Asterisk's dnsmgr re-resolves every `refreshinterval`, 300 s). A name that
//! does not resolve makes the entry UNREACHABLE (Dial gives CHANUNAVAIL) with a log line and is
//! tried again after [`RETRY`]; sipbox never refuses to start for it. An entry with an
//! `outboundproxy` is not looked up (its proxy's name is, [`super::dns_names`]). A refresh that fails
//! keeps the last addresses (dnsmgr does the same) and retries.
//!
//! The seam for other users of DNS (outbound registration): [`Engine::dns_resolve`] with a
//! [`DnsOwner`] naming who waits; the completion comes to [`Engine::dns_done`], one `match`
//! arm per owner.

use super::{Engine, PeerId, PeerStatus};
use crate::config::sip_values::Host;
use crate::dns::{Family, LookupError, LookupId, Resolved, Resolver, ResolverConfig};
use crate::flow::Transport;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Shortest time between two lookups of one entry (TTL 0 or tiny TTLs would spin).
pub const MIN_REFRESH: Duration = Duration::from_secs(10);
/// Longest: an entry is looked up again at least this often (dnsmgr's default interval).
pub const MAX_REFRESH: Duration = Duration::from_secs(300);
/// After a failed lookup.
pub const RETRY: Duration = Duration::from_secs(60);

/// Who waits for a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DnsOwner {
    /// A static `host=name` entry.
    Peer(PeerId),
    /// A register host or outbound proxy name ([`super::dns_names`]).
    Name(super::dns_names::NameKey),
}

/// The engine's DNS state.
pub(crate) struct DnsState {
    pub resolver: Resolver,
    owners: HashMap<LookupId, DnsOwner>,
    /// Entries and when they are next looked up.
    due: HashMap<PeerId, Instant>,
    /// Entries with a lookup in flight.
    pending: HashSet<PeerId>,
    /// Entries UNREACHABLE because their name does not resolve.
    pub failed: HashSet<PeerId>,
    /// Register hosts and outbound proxies.
    pub names: super::dns_names::Names,
}

impl DnsState {
    /// Every static entry with a host name is due at `now`.
    pub fn new(
        cfg: &super::Settings,
        conf: ResolverConfig,
        local: SocketAddr,
        now: Instant,
    ) -> DnsState {
        let due = cfg
            .peers()
            // With an outbound proxy the host name only goes into the Request-URI; the proxy
            // resolves it.
            .filter(|(_, p)| {
                matches!(p.host, Host::Static { ip: None, .. }) && p.outboundproxy.is_none()
            })
            .map(|(id, _)| (id, now))
            .collect();
        DnsState {
            resolver: Resolver::new(conf, cfg.general.srv_lookup, Family::of(local)),
            owners: HashMap::new(),
            due,
            pending: HashSet::new(),
            failed: HashSet::new(),
            names: super::dns_names::Names::new(cfg, now),
        }
    }

    /// The earliest moment something DNS needs doing.
    pub fn next_deadline(&self) -> Option<Instant> {
        let due = self.due.values().min().copied();
        let due = match (due, self.names.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (due, self.resolver.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Engine {
    /// Replaces the nameservers (the binary reads `/etc/resolv.conf`; tests name their own).
    /// Lookups already sent keep going to the old ones.
    pub fn set_resolver(&mut self, conf: ResolverConfig) {
        let family = Family::of(self.advertise.local());
        self.dns.resolver = Resolver::new(conf, self.cfg.general.srv_lookup, family);
        self.dns.owners.clear();
        self.dns.pending.clear();
        self.dns.names.forget_pending();
    }

    /// DNS counters.
    pub fn dns_stats(&self) -> crate::dns::DnsStats {
        self.dns.resolver.stats()
    }

    /// A datagram on the DNS socket ([`crate::flow::SockId::DNS`]).
    pub fn handle_dns_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        self.dns
            .resolver
            .handle_datagram(now, &mut self.rng, &mut self.out, from, data);
        self.dns_completions(now);
    }

    /// Starts a lookup for `owner` (the seam other modules use).
    pub(crate) fn dns_resolve(
        &mut self,
        now: Instant,
        name: &str,
        port: Option<u16>,
        transport: Transport,
        owner: DnsOwner,
    ) -> LookupId {
        let id =
            self.dns
                .resolver
                .resolve(now, &mut self.rng, &mut self.out, name, port, transport);
        self.dns.owners.insert(id, owner);
        id
    }

    /// Query timeouts and due refreshes; called from `handle_timeout`.
    pub(super) fn dns_timeout(&mut self, now: Instant) {
        self.dns
            .resolver
            .handle_timeout(now, &mut self.rng, &mut self.out);
        let due: Vec<PeerId> = self
            .dns
            .due
            .iter()
            .filter(|(p, t)| **t <= now && !self.dns.pending.contains(p))
            .map(|(p, _)| *p)
            .collect();
        for peer in due {
            self.dns.due.remove(&peer);
            let Some(Host::Static {
                host,
                ip: None,
                port,
                ..
            }) = self.cfg.peer(peer).map(|p| p.host.clone())
            else {
                continue;
            };
            let given = self.cfg.peer(peer).is_some_and(|p| p.port_given);
            self.dns.pending.insert(peer);
            let port = given.then_some(port);
            self.dns_resolve(now, &host, port, Transport::Udp, DnsOwner::Peer(peer));
        }
        self.names_timeout(now);
        self.dns_completions(now);
    }

    /// After a reload replaced the settings that were `old`: an entry new or with another
    /// host name (or port) is looked up at once, its lookup in flight forgotten; an entry gone
    /// or no longer named by host is not looked up any more.
    pub(super) fn dns_reloaded(&mut self, now: Instant, old: &super::Settings) {
        let named =
            |p: &crate::config::sip_peer::SipPeer| matches!(p.host, Host::Static { ip: None, .. });
        let tracked: Vec<PeerId> = self
            .dns
            .due
            .keys()
            .chain(self.dns.pending.iter())
            .chain(self.dns.failed.iter())
            .copied()
            .collect();
        let mut stale: Vec<PeerId> = tracked
            .into_iter()
            .filter(|id| !self.cfg.peer(*id).is_some_and(named))
            .collect();
        let mut fresh = Vec::new();
        for (id, p) in self.cfg.peers() {
            let same = old
                .peer(id)
                .is_some_and(|o| o.host == p.host && o.port_given == p.port_given);
            if named(p) && !same {
                stale.push(id);
                fresh.push(id);
            }
        }
        for id in stale {
            self.dns.due.remove(&id);
            self.dns.pending.remove(&id);
            self.dns.failed.remove(&id);
            self.dns.owners.retain(|_, o| *o != DnsOwner::Peer(id));
        }
        for id in fresh {
            self.dns.due.insert(id, now);
        }
    }

    fn dns_completions(&mut self, now: Instant) {
        while let Some((id, result)) = self.dns.resolver.poll_done() {
            if let Some(owner) = self.dns.owners.remove(&id) {
                self.dns_done(now, owner, result);
            }
        }
    }

    /// A lookup finished: to whoever waited for it.
    fn dns_done(&mut self, now: Instant, owner: DnsOwner, result: Result<Resolved, LookupError>) {
        match owner {
            DnsOwner::Peer(peer) => self.peer_resolved(now, peer, result),
            DnsOwner::Name(key) => self.name_resolved(now, key, result),
        }
    }

    fn peer_resolved(&mut self, now: Instant, peer: PeerId, result: Result<Resolved, LookupError>) {
        self.dns.pending.remove(&peer);
        let Some(p) = self.cfg.peer(peer) else {
            return;
        };
        let (name, host) = match &p.host {
            Host::Static { host, .. } => (p.name.clone(), host.clone()),
            _ => return,
        };
        match result {
            Ok(r) => {
                let next = r
                    .expires
                    .unwrap_or(now + MAX_REFRESH)
                    .clamp(now + MIN_REFRESH, now + MAX_REFRESH);
                self.dns.due.insert(peer, next);
                if self.cfg.resolved_all(peer) != r.addrs.as_slice() {
                    let list: Vec<String> = r.addrs.iter().map(ToString::to_string).collect();
                    let how = if r.via_srv { "SRV" } else { "A/AAAA" };
                    log::info!(
                        "peer '{name}': host '{host}' resolved ({how}) to {}",
                        list.join(", ")
                    );
                    self.cfg.set_resolved_all(peer, r.addrs);
                }
                if self.dns.failed.remove(&peer) {
                    self.set_peer_status(peer, PeerStatus::Unknown);
                }
            }
            Err(e) => {
                self.dns.due.insert(peer, now + RETRY);
                if self.cfg.resolved_all(peer).is_empty() {
                    log::warn!(
                        "peer '{name}': host '{host}' does not resolve ({e}); UNREACHABLE until \
                         it does (next try in {} s)",
                        RETRY.as_secs()
                    );
                    self.dns.failed.insert(peer);
                    self.set_peer_status(peer, PeerStatus::Unreachable);
                } else {
                    log::warn!(
                        "peer '{name}': host '{host}' could not be looked up again ({e}); \
                         keeping its last addresses"
                    );
                }
            }
        }
    }
}
