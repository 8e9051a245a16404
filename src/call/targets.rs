//! Where a Dial's `SIP/...` targets go: the sip.conf entry a target names (`SIP/peer`,
//! `SIP/peer/number`, `SIP/number@peer`) and the contacts or host addresses its INVITEs go to.
//!
//! Reading list: RFC 3261 §8.1.2 and §16.12 (a preloaded Route to an outbound proxy), RFC 3263
//! §4.3 (the next address after a failure); Asterisk's `chan_sip.c` (`sip_request_call`: the
//! `peer/exten` and `exten@peer` forms, `create_addr`).

use super::build;
use super::Cx;
use crate::config::settings::PeerId;
use crate::config::sip_values::Host;
use crate::dialplan::DialTarget;
use crate::flow::Flow;
use crate::sip::{NameAddr, Uri};
use std::net::SocketAddr;

/// Where one fork goes.
pub(super) struct ForkTarget {
    pub(super) peer: PeerId,
    pub(super) uri: Uri,
    pub(super) dest: Flow,
    /// The host's other addresses, for failover.
    pub(super) rest: Vec<SocketAddr>,
    /// The binding's REGISTER passed a NAT.
    pub(super) nated: bool,
    /// `Route: <sip:proxy;lr>` when the entry has an `outboundproxy` (dest is then the proxy).
    pub(super) route: Option<NameAddr>,
}

/// The contacts a Dial to `peer` rings ([`direct_targets`]); with an `outboundproxy`, each
/// INVITE goes to the proxy (its addresses, best first, for failover) with a Route naming
/// it, the Request-URI unchanged (RFC 3261 §8.1.2, §16.12; chan_sip sends every request to
/// such a peer to its proxy).
pub(super) fn fork_targets(cx: &Cx<'_>, peer: PeerId, number: Option<&str>) -> Vec<ForkTarget> {
    let Some(p) = cx.cfg.peer(peer) else {
        return Vec::new();
    };
    let (Some((host, port, ip)), Some(route)) = (
        crate::config::sip_outbound::proxy_of(p),
        crate::config::sip_outbound::proxy_route(p),
    ) else {
        return direct_targets(cx, peer, number);
    };
    let addrs = match ip {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => cx.cfg.proxy_resolved(peer).to_vec(),
    };
    let Some((&first, rest)) = addrs.split_first() else {
        log::warn!(
            "Dial: outboundproxy '{host}' of '{}' has no address",
            p.name
        );
        return Vec::new();
    };
    let Ok(route) = NameAddr::parse(&route) else {
        return Vec::new();
    };
    let mut targets = direct_targets(cx, peer, number);
    if targets.is_empty() {
        // A host name the proxy resolves for us: it only needs to be in the Request-URI.
        if let Host::Static {
            host,
            ip: None,
            port,
            ..
        } = &p.host
        {
            let user = number.or(p.defaultuser.as_deref()).unwrap_or(&p.name);
            let mut uri = build::sip_uri(Some(user), first);
            uri.host = host.as_str().into();
            uri.port = p.port_given.then_some(*port);
            targets.push(ForkTarget {
                peer,
                uri,
                dest: Flow::udp(first),
                rest: Vec::new(),
                nated: false,
                route: None,
            });
        }
    }
    for t in &mut targets {
        t.dest = Flow::udp(first);
        t.rest = rest.to_vec();
        t.route = Some(route.clone());
    }
    targets
}

/// The contacts a Dial to `peer` rings without a proxy: every registered binding of a
/// dynamic peer, or the static host.
fn direct_targets(cx: &Cx<'_>, peer: PeerId, number: Option<&str>) -> Vec<ForkTarget> {
    let Some(p) = cx.cfg.peer(peer) else {
        return Vec::new();
    };
    match &p.host {
        Host::Dynamic => cx
            .registrar
            .bindings(&p.name)
            .iter()
            .filter_map(|b| {
                let mut uri = Uri::parse(&b.contact).ok()?;
                if let Some(n) = number {
                    uri.user = Some(n.into());
                }
                // nat=no trusts the Contact; otherwise (chan_sip's default force_rport, or
                // auto_force_rport when the REGISTER passed a NAT) the address the REGISTER
                // came from.
                let dest = match uri_addr(&uri) {
                    Some(remote) if !p.nat.applied(b.nated).force_rport => {
                        Flow { remote, ..b.flow }
                    }
                    _ => b.flow,
                };
                Some(ForkTarget {
                    peer,
                    uri,
                    dest,
                    rest: Vec::new(),
                    nated: b.nated,
                    route: None,
                })
            })
            .collect(),
        Host::Static { host, ip, port } => {
            let user = number.or(p.defaultuser.as_deref()).unwrap_or(&p.name);
            if let Some(ip) = ip {
                let addr = SocketAddr::new(*ip, *port);
                return vec![ForkTarget {
                    peer,
                    uri: build::sip_uri(Some(user), addr),
                    dest: Flow::udp(addr),
                    rest: Vec::new(),
                    nated: false,
                    route: None,
                }];
            }
            // A host name (resolved on the loop, engine/dns.rs): the Request-URI names it,
            // as chan_sip's tohost does, with the port only when the config gave one.
            let Some((&first, rest)) = cx.cfg.resolved_all(peer).split_first() else {
                log::warn!("Dial: host '{host}' of '{}' has no address", p.name);
                return Vec::new();
            };
            let mut uri = build::sip_uri(Some(user), first);
            uri.host = host.as_str().into();
            uri.port = p.port_given.then_some(*port);
            vec![ForkTarget {
                peer,
                uri,
                dest: Flow::udp(first),
                rest: rest.to_vec(),
                nated: false,
                route: None,
            }]
        }
        Host::Unset => Vec::new(),
    }
}

/// An IP-literal URI's socket address.
fn uri_addr(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse().ok()?;
    Some(SocketAddr::new(ip, uri.port.unwrap_or(5060)))
}

/// What one `SIP/...` target of a Dial gives.
pub(super) enum SipTarget {
    /// The INVITEs to send (none: nobody to ring, e.g. not registered).
    Forks(Vec<ForkTarget>),
    /// The entry is at its call-limit (DIALSTATUS BUSY when nobody else rings).
    Busy,
    /// No such entry, or qualify found it UNREACHABLE.
    Unavailable,
}

/// Resolves a `SIP/...` target: its entry, then its contacts or host.
pub(super) fn sip_target(cx: &Cx<'_>, t: &DialTarget) -> SipTarget {
    let Some((peer, number)) = entry_and_number(cx, t) else {
        log::warn!("Dial: no sip.conf entry '{}'", t.resource);
        return SipTarget::Unavailable;
    };
    if cx.load.over_limit(cx.cfg, peer) {
        return SipTarget::Busy;
    }
    if cx.unreachable.contains(&peer) {
        log::info!("Dial: '{}' is UNREACHABLE (qualify)", t.resource);
        return SipTarget::Unavailable;
    }
    SipTarget::Forks(fork_targets(cx, peer, number))
}

/// The entry and number of `SIP/peer`, `SIP/peer/number`, or `SIP/number@peer` (chan_sip's
/// `sip_request_call`: what precedes `@` is the extension, what follows the peer). A host
/// that is no sip.conf entry (`SIP/1234@192.0.2.1`) is not called: None.
fn entry_and_number<'a>(cx: &Cx<'_>, t: &'a DialTarget) -> Option<(PeerId, Option<&'a str>)> {
    if let Some(p) = cx.cfg.entry(&t.resource) {
        return Some((p, t.number.as_deref()));
    }
    let (number, peer) = t.resource.rsplit_once('@')?;
    let p = cx.cfg.entry(peer)?;
    let number = Some(number).filter(|n| !n.is_empty());
    Some((p, number.or(t.number.as_deref())))
}
