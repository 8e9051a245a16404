//! Host names besides static `host=`s, resolved on the event loop: register hosts
//! (`register => ...@host[:port]`) and outbound proxies (`outboundproxy=`). Each distinct
//! name and port is one [`NameKey`]; its addresses (RFC 3263 order, SRV `_sip._udp` when
//! `srvlookup=yes` and no port was given) are looked up at start, again when the shortest
//! TTL runs out (bounded as static hosts are, [`super::dns::MIN_REFRESH`] ..
//! [`super::dns::MAX_REFRESH`]), and on demand when a registration is due and the name has no
//! address. A failed refresh keeps the last addresses (Asterisk's dnsmgr does the same).
//!
//! Reading list: RFC 3263 §4; chan_sip's `transmit_register` (a registration whose host does
//! not resolve is retried: "Probably a DNS error for registration") and `proxy_update`.

use super::dns::{DnsOwner, MAX_REFRESH, MIN_REFRESH, RETRY};
use super::Engine;
use crate::config::settings::Settings;
use crate::config::sip_outbound::proxy_of;
use crate::dns::{LookupError, Resolved};
use crate::flow::Transport;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// A name to resolve: lower-cased, with the port if the config named one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NameKey {
    /// The host name.
    pub name: String,
    /// The port written in the config (None: SRV, else 5060).
    pub port: Option<u16>,
}

impl NameKey {
    /// The key for `host` (None when it is an IP literal: no DNS).
    pub fn of(host: &str, port: Option<u16>) -> Option<NameKey> {
        let h = host.trim_start_matches('[').trim_end_matches(']');
        if h.is_empty() || h.parse::<IpAddr>().is_ok() {
            return None;
        }
        Some(NameKey {
            name: h.to_ascii_lowercase(),
            port,
        })
    }
}

/// One name's state.
#[derive(Debug, Default)]
struct NameEntry {
    addrs: Vec<SocketAddr>,
    due: Option<Instant>,
    pending: bool,
    failed: bool,
}

/// Every name the config needs beyond static hosts (bounded by the config's lines).
#[derive(Debug, Default)]
pub(crate) struct Names {
    map: HashMap<NameKey, NameEntry>,
    /// When the names were first due (a lookup forgotten by a new resolver is due again).
    start: Option<Instant>,
}

impl Names {
    /// Every register host and outbound proxy name of `cfg`, due at `now`.
    pub fn new(cfg: &Settings, now: Instant) -> Names {
        let mut map = HashMap::new();
        let proxies = cfg.peers().filter_map(|(_, p)| {
            let (host, port, _) = proxy_of(p)?;
            NameKey::of(&host, p.outboundproxy_port_given.then_some(port))
        });
        let hosts = cfg
            .registrations
            .iter()
            .filter_map(|r| NameKey::of(&r.host, r.port));
        for key in proxies.chain(hosts) {
            map.insert(
                key,
                NameEntry {
                    due: Some(now),
                    ..NameEntry::default()
                },
            );
        }
        Names {
            map,
            start: Some(now),
        }
    }

    /// The resolver was replaced: lookups in flight are forgotten and asked again.
    pub fn forget_pending(&mut self) {
        for e in self.map.values_mut().filter(|e| e.pending) {
            e.pending = false;
            e.due = self.start;
        }
    }

    /// The addresses of `key`, best first (empty: not resolved, or not known).
    pub fn addrs(&self, key: &NameKey) -> &[SocketAddr] {
        self.map.get(key).map_or(&[], |e| e.addrs.as_slice())
    }

    /// The earliest refresh.
    pub fn next_due(&self) -> Option<Instant> {
        self.map
            .values()
            .filter(|e| !e.pending)
            .filter_map(|e| e.due)
            .min()
    }

    /// Names due at `now`, marked pending.
    fn take_due(&mut self, now: Instant) -> Vec<NameKey> {
        let mut due = Vec::new();
        for (k, e) in &mut self.map {
            if !e.pending && e.due.is_some_and(|t| t <= now) {
                e.pending = true;
                e.due = None;
                due.push(k.clone());
            }
        }
        due
    }
}

impl Engine {
    /// Starts the lookups of names that are due (called from `dns_timeout`).
    pub(super) fn names_timeout(&mut self, now: Instant) {
        for key in self.dns.names.take_due(now) {
            self.dns_resolve(
                now,
                &key.name,
                key.port,
                Transport::Udp,
                DnsOwner::Name(key.clone()),
            );
        }
    }

    /// Looks `key` up now unless a lookup is already in flight (a registration waits for it).
    pub(super) fn name_lookup_now(&mut self, now: Instant, key: &NameKey) {
        let e = self.dns.names.map.entry(key.clone()).or_default();
        if e.pending {
            return;
        }
        e.due = Some(now);
        self.names_timeout(now);
    }

    /// A lookup of a name finished.
    pub(super) fn name_resolved(
        &mut self,
        now: Instant,
        key: NameKey,
        result: Result<Resolved, LookupError>,
    ) {
        let Some(e) = self.dns.names.map.get_mut(&key) else {
            return;
        };
        e.pending = false;
        let ok = match result {
            Ok(r) => {
                e.due = Some(
                    r.expires
                        .unwrap_or(now + MAX_REFRESH)
                        .clamp(now + MIN_REFRESH, now + MAX_REFRESH),
                );
                if e.addrs != r.addrs {
                    let list: Vec<String> = r.addrs.iter().map(ToString::to_string).collect();
                    let how = if r.via_srv { "SRV" } else { "A/AAAA" };
                    log::info!(
                        "host '{}' (register => / outboundproxy) resolved ({how}) to {}",
                        key.name,
                        list.join(", ")
                    );
                    e.addrs = r.addrs;
                }
                e.failed = false;
                true
            }
            Err(err) => {
                e.due = Some(now + RETRY);
                if e.addrs.is_empty() {
                    if !e.failed {
                        log::warn!(
                            "host '{}' (register => / outboundproxy) does not resolve ({err}); \
                             trying again",
                            key.name
                        );
                    }
                    e.failed = true;
                    false
                } else {
                    log::warn!(
                        "host '{}' could not be looked up again ({err}); keeping its last \
                         addresses",
                        key.name
                    );
                    true
                }
            }
        };
        let addrs = self.dns.names.addrs(&key).to_vec();
        let proxied: Vec<_> = self
            .cfg
            .peers()
            .filter(|(_, p)| {
                proxy_of(p).is_some_and(|(host, port, _)| {
                    NameKey::of(&host, p.outboundproxy_port_given.then_some(port)).as_ref()
                        == Some(&key)
                })
            })
            .map(|(id, _)| id)
            .collect();
        for id in proxied {
            self.cfg.set_proxy_resolved(id, addrs.clone());
        }
        self.trunks_name_ready(now, &key, ok);
    }
}
