//! `outboundproxy=` of an entry (chan_sip's `build_peer`, `sip.conf.sample`).

use super::raw::{ConfigError, Entry};
use super::sip_values::Host;
use super::values::bad;

/// `outboundproxy=host[:port][,force]` or `sip:host[:port][;lr]`: every request to the entry
/// goes to this host, with a Route header naming it (loose routing, RFC 3261 §16.12).
pub fn parse_outboundproxy(e: &Entry) -> Result<Host, ConfigError> {
    let mut v = e.value.trim();
    // `,force` (always use it, also for a registered contact) is what sipbox does anyway.
    if let Some((h, _)) = v.split_once(',') {
        v = h.trim();
    }
    for scheme in ["sips:", "sip:"] {
        if v.len() >= scheme.len() && v[..scheme.len()].eq_ignore_ascii_case(scheme) {
            v = &v[scheme.len()..];
        }
    }
    if let Some((h, _)) = v.split_once(';') {
        v = h;
    }
    let host = Entry {
        value: v.into(),
        ..e.clone()
    };
    match Host::parse(&host, None)? {
        Host::Static { .. } if v.is_empty() => Err(bad(e, "expected a host")),
        h @ Host::Static { .. } => Ok(h),
        _ => Err(bad(e, "expected a host[:port]")),
    }
}

/// The outbound proxy of an entry: host as written, port, and the address when the host is
/// an IP literal.
pub fn proxy_of(p: &super::sip_peer::SipPeer) -> Option<(String, u16, Option<std::net::IpAddr>)> {
    match &p.outboundproxy {
        Some(Host::Static { host, ip, port }) => Some((host.clone(), *port, *ip)),
        _ => None,
    }
}

/// The `Route` naming an entry's outbound proxy (loose routing, RFC 3261 §16.12): the port
/// when the config named one or the host is an address.
pub fn proxy_route(p: &super::sip_peer::SipPeer) -> Option<String> {
    let (host, port, ip) = proxy_of(p)?;
    let host = match ip {
        Some(std::net::IpAddr::V6(_)) => format!("[{host}]"),
        _ => host,
    };
    Some(if p.outboundproxy_port_given || ip.is_some() {
        format!("<sip:{host}:{port};lr>")
    } else {
        format!("<sip:{host};lr>")
    })
}

/// True when the `outboundproxy=` value names a port (`host:port`, `[v6]:port`): then no SRV
/// lookup is done for it (RFC 3263 §4.2).
pub fn proxy_port_given(value: &str) -> bool {
    let mut v = value.trim();
    if let Some((h, _)) = v.split_once(',') {
        v = h.trim();
    }
    for scheme in ["sips:", "sip:"] {
        if v.len() >= scheme.len() && v[..scheme.len()].eq_ignore_ascii_case(scheme) {
            v = &v[scheme.len()..];
        }
    }
    if let Some((h, _)) = v.split_once(';') {
        v = h;
    }
    match v.rsplit_once(']') {
        Some((_, rest)) => rest.starts_with(':'),
        // A bare IPv6 literal has several colons and no port.
        None => v.matches(':').count() == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::Loc;

    fn entry(v: &str) -> Entry {
        Entry {
            key: "outboundproxy".into(),
            value: v.into(),
            arrow: false,
            loc: Loc {
                file: "sip.conf".into(),
                line: 4,
            },
        }
    }

    #[test]
    fn proxy_forms() {
        for (v, host, port) in [
            ("proxy.example.com", "proxy.example.com", 5060),
            ("10.0.0.9:5070", "10.0.0.9", 5070),
            ("sip:10.0.0.9:5080;lr", "10.0.0.9", 5080),
            ("proxy.example.com,force", "proxy.example.com", 5060),
        ] {
            match parse_outboundproxy(&entry(v)).unwrap() {
                Host::Static {
                    host: h, port: p, ..
                } => assert_eq!((h.as_str(), p), (host, port)),
                other => panic!("{v}: {other:?}"),
            }
        }
        assert!(parse_outboundproxy(&entry("dynamic")).is_err());
        assert!(proxy_port_given("sip:proxy.test:5070;lr"));
        assert!(proxy_port_given("[::1]:5070,force"));
        assert!(!proxy_port_given("proxy.test"));
        assert!(!proxy_port_given("::1"));
        assert!(parse_outboundproxy(&entry("bad host")).is_err());
    }
}
