//! sip.conf `[general]` options for running behind NAT and keeping NAT pinholes open, as
//! chan_sip reads them (`reload_config` in `channels/chan_sip.c`, the "NAT SUPPORT" part of
//! `configs/samples/sip.conf.sample`):
//!
//! - `externaddr` / `externip` = `address[:port]` (an IP or a host name, resolved once at
//!   start): the address (and SIP port) we advertise to destinations outside every
//!   `localnet`. Without a port, the bound SIP port is advertised.
//! - `externhost` = `name[:port]`: the same, resolved again every `externrefresh` seconds
//!   (10). `externaddr` and `externhost` exclude each other; the last one written wins.
//! - `localnet` = `addr/mask` or `addr/bits` (repeatable, `permit=` syntax): the networks
//!   that are "inside". As in chan_sip, without any `localnet` nothing is rewritten: the
//!   external address is never used.
//! - `keepalive` = `yes` (60 s) | `no` | seconds: default for entries (see [`parse_keepalive`]).
//! - `rtpkeepalive` = seconds (0 = off): default for entries.

use std::net::IpAddr;
use std::time::Duration;

use super::acl::{Acl, Sense};
use super::raw::{ConfigError, Entry};
use super::sip_values::{split_host_port, valid_host_name};
use super::values::{bad, parse_bool_str, u32_of};

/// `externaddr` / `externhost`: what outside destinations are told our address is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternAddr {
    /// The address or name as written (without brackets or port).
    pub host: String,
    /// The address, when `host` is an IP literal (a name is resolved by the binary).
    pub ip: Option<IpAddr>,
    /// The external SIP port, when given.
    pub port: Option<u16>,
    /// `externhost`: resolved again every `externrefresh`.
    pub refresh: bool,
}

impl ExternAddr {
    /// Parses `address[:port]`, `[v6]:port`, a bare IPv6 address or `name[:port]`.
    pub fn parse(e: &Entry, refresh: bool) -> Result<ExternAddr, ConfigError> {
        let (host, ip, port) = split_host_port(e, e.value.trim())?;
        if ip.is_none() && !valid_host_name(&host) {
            return Err(bad(
                e,
                "expected an address or host name with an optional :port",
            ));
        }
        Ok(ExternAddr {
            host,
            ip,
            port,
            refresh,
        })
    }
}

/// The NAT options of `[general]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatAddressing {
    /// `externaddr` / `externip` / `externhost`.
    pub extern_addr: Option<ExternAddr>,
    /// `externrefresh` (10 s): how often `externhost` is resolved again.
    pub extern_refresh: Duration,
    /// `localnet`: the inside networks, as deny rules (an address they deny is inside, as
    /// chan_sip's `ast_apply_ha(localaddr, ...)`).
    pub localnet: Acl,
    /// `keepalive` default for entries (off).
    pub keepalive: Option<Duration>,
    /// `rtpkeepalive` default for entries (off).
    pub rtp_keepalive: Option<Duration>,
}

impl Default for NatAddressing {
    fn default() -> Self {
        NatAddressing {
            extern_addr: None,
            extern_refresh: Duration::from_secs(10),
            localnet: Acl::new(),
            keepalive: None,
            rtp_keepalive: None,
        }
    }
}

/// chan_sip's `DEFAULT_KEEPALIVE`: `keepalive=yes`.
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);

/// `keepalive=`: `yes` (60 s), `no`, or seconds (0 = off).
pub fn parse_keepalive(e: &Entry) -> Result<Option<Duration>, ConfigError> {
    if let Ok(n) = e.value.trim().parse::<u32>() {
        return Ok((n > 0).then(|| Duration::from_secs(u64::from(n))));
    }
    match parse_bool_str(&e.value) {
        Some(true) => Ok(Some(DEFAULT_KEEPALIVE)),
        Some(false) => Ok(None),
        None => Err(bad(e, "expected yes, no or seconds")),
    }
}

/// `rtpkeepalive=`: seconds, 0 = off.
pub fn parse_rtp_keepalive(e: &Entry) -> Result<Option<Duration>, ConfigError> {
    let n = u32_of(e)?;
    Ok((n > 0).then(|| Duration::from_secs(u64::from(n))))
}

impl NatAddressing {
    /// True for the option names this struct reads (lower case).
    pub fn reads(key: &str) -> bool {
        matches!(
            key,
            "externaddr"
                | "externip"
                | "externhost"
                | "externrefresh"
                | "localnet"
                | "keepalive"
                | "rtpkeepalive"
        )
    }

    /// Applies one entry; an error leaves the setting as it was.
    pub fn apply(&mut self, key: &str, e: &Entry) -> Result<(), ConfigError> {
        match key {
            // chan_sip: `externaddr =` with nothing after it clears the address.
            "externaddr" | "externip" | "externhost" if e.value.trim().is_empty() => {
                self.extern_addr = None
            }
            "externaddr" | "externip" => self.extern_addr = Some(ExternAddr::parse(e, false)?),
            "externhost" => self.extern_addr = Some(ExternAddr::parse(e, true)?),
            "externrefresh" => match u32_of(e)? {
                0 => return Err(bad(e, "must be an integer > 0")),
                n => self.extern_refresh = Duration::from_secs(u64::from(n)),
            },
            "localnet" => self
                .localnet
                .push(Sense::Deny, &e.value)
                .map_err(|m| bad(e, &format!("invalid localnet: {m}")))?,
            "keepalive" => self.keepalive = parse_keepalive(e)?,
            "rtpkeepalive" => self.rtp_keepalive = parse_rtp_keepalive(e)?,
            _ => {}
        }
        Ok(())
    }

    /// True when `ip` is inside one of the `localnet`s.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        !self.localnet.is_empty() && !self.localnet.allows(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::super::raw::Loc;
    use super::*;
    use std::sync::Arc;

    fn entry(key: &str, value: &str) -> Entry {
        Entry {
            key: key.into(),
            value: value.into(),
            arrow: false,
            loc: Loc {
                file: Arc::from("sip.conf"),
                line: 7,
            },
        }
    }

    fn apply(n: &mut NatAddressing, k: &str, v: &str) -> Result<(), String> {
        n.apply(k, &entry(k, v)).map_err(|e| e.to_string())
    }

    #[test]
    fn extern_forms() {
        let mut n = NatAddressing::default();
        apply(&mut n, "externip", "203.0.113.7").unwrap();
        let x = n.extern_addr.clone().unwrap();
        assert_eq!(
            (x.ip, x.port, x.refresh),
            (Some("203.0.113.7".parse().unwrap()), None, false)
        );
        apply(&mut n, "externaddr", "203.0.113.7:9900").unwrap();
        assert_eq!(n.extern_addr.as_ref().unwrap().port, Some(9900));
        apply(&mut n, "externhost", "nat.example.org:12600").unwrap();
        let x = n.extern_addr.clone().unwrap();
        assert_eq!(
            (x.host.as_str(), x.ip, x.port, x.refresh),
            ("nat.example.org", None, Some(12600), true)
        );
        apply(&mut n, "externaddr", "[2001:db8::5]:5070").unwrap();
        assert_eq!(n.extern_addr.as_ref().unwrap().port, Some(5070));
        assert_eq!(
            apply(&mut n, "externaddr", "1.2.3.4:0").unwrap_err(),
            "sip.conf:7: bad value '1.2.3.4:0' for 'externaddr': bad port after ':'"
        );
        assert!(apply(&mut n, "externaddr", "bad host").is_err());
        apply(&mut n, "externaddr", "").unwrap();
        assert_eq!(n.extern_addr, None);
        assert!(apply(&mut n, "externrefresh", "0").is_err());
        apply(&mut n, "externrefresh", "180").unwrap();
        assert_eq!(n.extern_refresh, Duration::from_secs(180));
    }

    #[test]
    fn localnets_inside_and_outside() {
        let mut n = NatAddressing::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(
            !n.is_local(ip("192.168.1.5")),
            "no localnet: nothing is inside"
        );
        apply(&mut n, "localnet", "192.168.0.0/255.255.0.0").unwrap();
        apply(&mut n, "localnet", "10.0.0.0/8").unwrap();
        assert!(n.is_local(ip("192.168.1.5")));
        assert!(n.is_local(ip("10.200.0.1")));
        assert!(n.is_local(ip("::ffff:10.0.0.1")));
        assert!(!n.is_local(ip("203.0.113.9")));
        assert!(!n.is_local(ip("172.16.0.1")));
        assert_eq!(
            apply(&mut n, "localnet", "192.168.0.0/33").unwrap_err(),
            "sip.conf:7: bad value '192.168.0.0/33' for 'localnet': invalid localnet: prefix \
             length '/33' is larger than 32"
        );
    }

    #[test]
    fn keepalive_values() {
        let k = |v: &str| parse_keepalive(&entry("keepalive", v)).map_err(|e| e.to_string());
        assert_eq!(k("yes"), Ok(Some(Duration::from_secs(60))));
        assert_eq!(k("no"), Ok(None));
        assert_eq!(k("0"), Ok(None));
        assert_eq!(k("25"), Ok(Some(Duration::from_secs(25))));
        assert!(k("often").is_err());
        let r = |v: &str| parse_rtp_keepalive(&entry("rtpkeepalive", v)).ok();
        assert_eq!(r("0"), Some(None));
        assert_eq!(r("15"), Some(Some(Duration::from_secs(15))));
        assert_eq!(r("x"), None);
    }
}
