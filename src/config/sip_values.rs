//! The small typed values of sip.conf: `nat=`, `insecure=`, `callerid=`, `host=`, `qualify=`.
//! Each parser takes the [`Entry`] so a bad value is reported at its `file:line`.

use std::net::IpAddr;
use std::time::Duration;

use super::raw::{ConfigError, Entry};
use super::values::{bad, parse_bool_str, Warnings};

/// `nat=`: how we treat a device behind NAT (Asterisk 11/12 values, `sip.conf.sample`'s
/// "NAT SUPPORT").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Nat {
    /// Answer to the source address and port even without `;rport` in the Via (RFC 3581), and
    /// call a registered contact at the address its REGISTER came from.
    pub force_rport: bool,
    /// Send RTP to where the peer's RTP comes from, not to its SDP address (symmetric RTP).
    pub comedia: bool,
    /// `auto_force_rport`: `force_rport` only when NAT is detected (the top Via's sent-by is
    /// not the packet's source).
    pub auto_force_rport: bool,
    /// `auto_comedia`: `comedia` only when NAT is detected.
    pub auto_comedia: bool,
}

impl Nat {
    /// sipbox's `[general]` default, as Asterisk 11's: `force_rport`.
    pub const DEFAULT: Nat = Nat {
        force_rport: true,
        comedia: false,
        auto_force_rport: false,
        auto_comedia: false,
    };

    /// Parses a comma list of `no`, `yes` (force_rport,comedia), `force_rport`, `comedia`,
    /// `auto_force_rport`, `auto_comedia` (and 1.8's `route`, taken as force_rport). As in
    /// chan_sip: any `no` in the list makes the whole setting `no`, and an `auto_` option
    /// beside its plain counterpart wins over it.
    pub fn parse(e: &Entry, warnings: &mut Warnings) -> Result<Nat, ConfigError> {
        let mut nat = Nat::default();
        let mut no = false;
        for word in e.value.split(',').map(str::trim) {
            match super::nocase::lowered(word).as_ref() {
                "no" | "never" => no = true,
                "yes" => {
                    nat.force_rport = true;
                    nat.comedia = true;
                }
                "force_rport" => nat.force_rport = true,
                "comedia" => nat.comedia = true,
                "route" => {
                    // Asterisk 1.8's "NAT, but no rport": send to the source address.
                    warnings.at(&e.loc, "nat=route taken as force_rport");
                    nat.force_rport = true;
                }
                "auto_force_rport" => nat.auto_force_rport = true,
                "auto_comedia" => nat.auto_comedia = true,
                _ => {
                    return Err(bad(
                        e,
                        "expected a comma list of no, yes, force_rport, comedia, \
                         auto_force_rport, auto_comedia",
                    ))
                }
            }
        }
        if no {
            return Ok(Nat::default());
        }
        nat.force_rport &= !nat.auto_force_rport;
        nat.comedia &= !nat.auto_comedia;
        Ok(nat)
    }

    /// The setting with its `auto_` parts decided: `nated` says whether NAT was detected for
    /// this device (see `crate::nat::detect`).
    pub fn applied(self, nated: bool) -> Nat {
        Nat {
            force_rport: self.force_rport || (self.auto_force_rport && nated),
            comedia: self.comedia || (self.auto_comedia && nated),
            auto_force_rport: false,
            auto_comedia: false,
        }
    }

    /// True when either part depends on NAT detection.
    pub fn is_auto(self) -> bool {
        self.auto_force_rport || self.auto_comedia
    }
}

/// `insecure=`: which checks an INVITE from this peer may skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Insecure {
    /// `port`: match the peer by IP alone, any source port.
    pub port: bool,
    /// `invite`: do not challenge INVITEs from this peer.
    pub invite: bool,
}

impl Insecure {
    /// Parses `no`, `port`, `invite`, `port,invite`, `very` (both) and the old `yes` (port).
    pub fn parse(e: &Entry) -> Result<Insecure, ConfigError> {
        let mut ins = Insecure::default();
        for word in e.value.split(',').map(str::trim) {
            match super::nocase::lowered(word).as_ref() {
                "no" => ins = Insecure::default(),
                "port" | "yes" => ins.port = true,
                "invite" => ins.invite = true,
                "very" => {
                    ins.port = true;
                    ins.invite = true;
                }
                _ => return Err(bad(e, "expected no, port, invite, port,invite or very")),
            }
        }
        Ok(ins)
    }
}

/// `callerid=`: `"Name" <number>`, `Name <number>`, `<number>`, a plain number or a plain name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallerId {
    /// The display name, if any.
    pub name: Option<String>,
    /// The number, if any.
    pub number: Option<String>,
}

impl CallerId {
    /// Parses the forms above; never fails (Asterisk's `ast_callerid_parse` neither).
    pub fn parse(value: &str) -> CallerId {
        use super::scan::trim;
        let value = trim(value);
        let non_empty = |s: &str| {
            let s = trim(trim(s).trim_matches('"'));
            (!s.is_empty()).then(|| s.to_string())
        };
        if let Some(open) = value.rfind('<') {
            let rest = &value[open + 1..];
            let number = rest.find('>').map_or(rest, |close| &rest[..close]);
            return CallerId {
                name: non_empty(&value[..open]),
                number: non_empty(number),
            };
        }
        let looks_numeric = value
            .chars()
            .all(|c| c.is_ascii_digit() || "+*#-() ".contains(c));
        if looks_numeric {
            CallerId {
                name: None,
                number: non_empty(value),
            }
        } else {
            CallerId {
                name: non_empty(value),
                number: None,
            }
        }
    }
}

/// `host=`: where to send requests for this entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Host {
    /// No `host=` given: the entry can authenticate but cannot be called.
    #[default]
    Unset,
    /// `host=dynamic`: the address comes from REGISTER.
    Dynamic,
    /// A fixed host name or address. No DNS is done while reading config.
    Static {
        /// The name or address as written (without brackets or port).
        host: String,
        /// The address, when `host` is an IP literal.
        ip: Option<IpAddr>,
        /// From `host=name:port`, else `port=`, else 5060.
        port: u16,
    },
}

impl Host {
    /// Parses `dynamic`, `name`, `name:port`, `1.2.3.4[:port]`, `[v6]` / `[v6]:port` or a bare
    /// IPv6 address. `port` is the entry's `port=`, used when the host names none.
    pub fn parse(e: &Entry, port: Option<u16>) -> Result<Host, ConfigError> {
        let v = e.value.as_str();
        if v.eq_ignore_ascii_case("dynamic") {
            return Ok(Host::Dynamic);
        }
        let (host, ip, explicit) = split_host_port(e, v)?;
        if ip.is_none() && !valid_host_name(&host) {
            return Err(bad(e, "expected dynamic, a host name or an IP address"));
        }
        let port = explicit.or(port).unwrap_or(5060);
        Ok(Host::Static { host, ip, port })
    }
}

/// `qualify=`: `no` (off), `yes` (2000 ms) or a limit in milliseconds (0 is off).
/// Splits `v` (the value of `e`) as `address`, `address:port`, `[v6]:port`, a bare IPv6
/// address or `name[:port]`: the host, its IP when it is one, and the port when written
/// (0 or not a number is an error).
pub fn split_host_port(
    e: &Entry,
    v: &str,
) -> Result<(String, Option<IpAddr>, Option<u16>), ConfigError> {
    let (host, port) = if let Ok(ip) = v.parse::<IpAddr>() {
        (ip.to_string(), None)
    } else if let Some(rest) = v.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| bad(e, "missing ']' after IPv6 address"))?;
        let p = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| bad(e, "bad port"))?),
        };
        (h.to_string(), p)
    } else {
        match v.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (v.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad(e, "bad port after ':'"))?,
        ),
        None => None,
    };
    let ip = host.parse::<IpAddr>().ok();
    Ok((host, ip, port))
}

/// A host name sip.conf accepts: letters, digits, `.`, `-`, `_`.
pub fn valid_host_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
}

pub fn parse_qualify(e: &Entry) -> Result<Option<Duration>, ConfigError> {
    match e.value.parse::<u32>() {
        Ok(0) => Ok(None),
        Ok(ms) => Ok(Some(Duration::from_millis(u64::from(ms)))),
        Err(_) => match parse_bool_str(&e.value) {
            Some(b) => Ok(b.then_some(Duration::from_millis(2000))),
            None => Err(bad(e, "expected yes, no or milliseconds")),
        },
    }
}

/// `dtmfmode=`: how a leg sends (and, for `inband`, is listened to for) DTMF, as chan_sip's
/// `SIP_DTMF_*` flags. `auto` is RFC 4733 when the leg's SDP has telephone-event, else inband.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtmfMode {
    /// RFC 4733 (RFC 2833) telephone-event packets.
    #[default]
    Rfc2833,
    /// SIP INFO `application/dtmf-relay` (`Signal=`/`Duration=`).
    Info,
    /// SIP INFO `application/dtmf` (the digit alone).
    ShortInfo,
    /// Tones in the G.711 audio.
    Inband,
    /// RFC 4733 when offered, otherwise inband.
    Auto,
}

impl DtmfMode {
    /// The sip.conf spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DtmfMode::Rfc2833 => "rfc2833",
            DtmfMode::Info => "info",
            DtmfMode::ShortInfo => "shortinfo",
            DtmfMode::Inband => "inband",
            DtmfMode::Auto => "auto",
        }
    }

    /// What `auto` comes to for a leg whose SDP did (or did not) carry telephone-event.
    pub fn effective(self, telephone_event: bool) -> DtmfMode {
        match self {
            DtmfMode::Auto if telephone_event => DtmfMode::Rfc2833,
            DtmfMode::Auto => DtmfMode::Inband,
            m => m,
        }
    }
}

/// `dtmfmode=`, one of the five Asterisk knows.
pub fn parse_dtmfmode(e: &Entry) -> Result<DtmfMode, ConfigError> {
    match super::nocase::lowered(e.value.trim()).as_ref() {
        "rfc2833" => Ok(DtmfMode::Rfc2833),
        "info" => Ok(DtmfMode::Info),
        "shortinfo" => Ok(DtmfMode::ShortInfo),
        "inband" => Ok(DtmfMode::Inband),
        "auto" => Ok(DtmfMode::Auto),
        _ => Err(bad(e, "expected rfc2833, info, shortinfo, inband or auto")),
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
                line: 3,
            },
        }
    }

    #[test]
    fn nat_values() {
        let mut w = Warnings::default();
        let nat = |v: &str, w: &mut Warnings| Nat::parse(&entry("nat", v), w);
        let both = Nat {
            force_rport: true,
            comedia: true,
            ..Nat::default()
        };
        assert_eq!(nat("no", &mut w), Ok(Nat::default()));
        assert_eq!(nat("yes", &mut w), Ok(both));
        assert_eq!(nat("force_rport,comedia", &mut w), Ok(both));
        assert_eq!(nat("comedia", &mut w).map(|n| n.force_rport), Ok(false));
        // Any `no` in the list wins (sip.conf.sample).
        assert_eq!(nat("force_rport,no,comedia", &mut w), Ok(Nat::default()));
        let auto = nat("auto_force_rport", &mut w).unwrap();
        assert!(auto.auto_force_rport && !auto.force_rport && !auto.comedia);
        // An auto option beside its plain counterpart: the plain one is ignored.
        let ac = nat("comedia,auto_comedia,force_rport", &mut w).unwrap();
        assert!(ac.auto_comedia && !ac.comedia && ac.force_rport);
        assert_eq!(ac.applied(false), Nat::DEFAULT);
        assert_eq!(ac.applied(true), both);
        assert_eq!(auto.applied(false), Nat::default());
        assert_eq!(auto.applied(true), Nat::DEFAULT);
        assert!(w.into_vec().is_empty());
        let mut w = Warnings::default();
        assert_eq!(
            nat("route66", &mut w).unwrap_err().to_string(),
            "sip.conf:3: bad value 'route66' for 'nat': expected a comma list of no, yes, \
             force_rport, comedia, auto_force_rport, auto_comedia"
        );
    }

    #[test]
    fn insecure_values() {
        let ins = |v: &str| Insecure::parse(&entry("insecure", v)).map(|i| (i.port, i.invite));
        assert_eq!(ins("no"), Ok((false, false)));
        assert_eq!(ins("port"), Ok((true, false)));
        assert_eq!(ins("invite"), Ok((false, true)));
        assert_eq!(ins("port,invite"), Ok((true, true)));
        assert_eq!(ins("very"), Ok((true, true)));
        assert!(ins("sometimes").is_err());
    }

    #[test]
    fn callerid_forms() {
        let cid = |v: &str| {
            let c = CallerId::parse(v);
            (c.name, c.number)
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(cid("\"Alice\" <1001>"), (s("Alice"), s("1001")));
        assert_eq!(cid("Bob Smith <1002>"), (s("Bob Smith"), s("1002")));
        assert_eq!(cid("<1003>"), (None, s("1003")));
        assert_eq!(cid("+44 20 7946"), (None, s("+44 20 7946")));
        assert_eq!(cid("Reception"), (s("Reception"), None));
        assert_eq!(cid("\"x\" <12"), (s("x"), s("12")));
    }

    #[test]
    fn host_forms() {
        let h = |v: &str, p| Host::parse(&entry("host", v), p);
        assert_eq!(h("dynamic", None), Ok(Host::Dynamic));
        let st = |host: &str, ip: Option<&str>, port| Host::Static {
            host: host.into(),
            ip: ip.map(|i| i.parse().unwrap()),
            port,
        };
        assert_eq!(
            h("pbx.example.com", None),
            Ok(st("pbx.example.com", None, 5060))
        );
        assert_eq!(
            h("pbx.example.com:5080", Some(7)),
            Ok(st("pbx.example.com", None, 5080))
        );
        assert_eq!(
            h("10.0.0.2", Some(5070)),
            Ok(st("10.0.0.2", Some("10.0.0.2"), 5070))
        );
        assert_eq!(
            h("[2001:db8::1]:5062", None),
            Ok(st("2001:db8::1", Some("2001:db8::1"), 5062))
        );
        assert_eq!(
            h("2001:db8::1", None),
            Ok(st("2001:db8::1", Some("2001:db8::1"), 5060))
        );
        assert!(h("pbx:notaport", None).is_err());
        assert!(h("bad host", None).is_err());
        assert!(h("", None).is_err());
        assert!(h("[::1", None).is_err());
    }

    #[test]
    fn qualify_values() {
        let q = |v: &str| parse_qualify(&entry("qualify", v));
        assert_eq!(q("yes"), Ok(Some(Duration::from_millis(2000))));
        assert_eq!(q("no"), Ok(None));
        assert_eq!(q("0"), Ok(None));
        assert_eq!(q("1500"), Ok(Some(Duration::from_millis(1500))));
        assert!(q("often").is_err());
    }
}
