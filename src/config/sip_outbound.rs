//! The sip.conf options of an entry that shape our own requests to it: `sendrpid=` and
//! `outboundproxy=` (chan_sip's `build_peer`, `sip.conf.sample`).

use super::raw::{ConfigError, Entry};
use super::sip_values::Host;
use super::values::{bad, parse_bool_str};

/// `sendrpid=`: how the caller's identity goes out to this entry besides From.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendRpid {
    /// `no` (chan_sip's default): From only.
    #[default]
    No,
    /// `yes` or `rpid`: a `Remote-Party-ID` header.
    Rpid,
    /// `pai`: a `P-Asserted-Identity` header (RFC 3325).
    Pai,
}

impl SendRpid {
    /// Parses `yes`/`rpid`, `pai`, `no`.
    pub fn parse(e: &Entry) -> Result<SendRpid, ConfigError> {
        match e.value.to_ascii_lowercase().as_str() {
            "rpid" => Ok(SendRpid::Rpid),
            "pai" => Ok(SendRpid::Pai),
            v => match parse_bool_str(v) {
                Some(true) => Ok(SendRpid::Rpid),
                Some(false) => Ok(SendRpid::No),
                None => Err(bad(e, "expected yes, no, rpid or pai")),
            },
        }
    }
}

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
        value: v.to_string(),
        ..e.clone()
    };
    match Host::parse(&host, None)? {
        Host::Static { .. } if v.is_empty() => Err(bad(e, "expected a host")),
        h @ Host::Static { .. } => Ok(h),
        _ => Err(bad(e, "expected a host[:port]")),
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
        assert!(parse_outboundproxy(&entry("bad host")).is_err());
    }

    #[test]
    fn sendrpid_values() {
        let e = |v: &str| Entry {
            key: "sendrpid".into(),
            ..entry(v)
        };
        assert_eq!(SendRpid::parse(&e("yes")).unwrap(), SendRpid::Rpid);
        assert_eq!(SendRpid::parse(&e("rpid")).unwrap(), SendRpid::Rpid);
        assert_eq!(SendRpid::parse(&e("PAI")).unwrap(), SendRpid::Pai);
        assert_eq!(SendRpid::parse(&e("no")).unwrap(), SendRpid::No);
        assert!(SendRpid::parse(&e("both")).is_err());
    }
}
