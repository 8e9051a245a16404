//! sipbox's own `[general]` options for the brute-force ban (Asterisk has none: admins run
//! fail2ban on its log; sipbox bans by itself and logs the same lines for fail2ban too).
//!
//! - `banfailures` (5; 0 = off): authentication failures from one address within
//!   `banwindow` that ban it.
//! - `banwindow` (60 s).
//! - `bantime` (600 s): the first ban; each further ban of the same address within a day
//!   doubles it, up to a day.
//! - `banignore` (`127.0.0.0/8`, `::1`): addresses never banned, in `permit=` syntax
//!   (`addr[/mask]`), one or more per line, comma-separated, the option repeatable; the first
//!   `banignore` replaces the default, an empty value leaves the list empty.
//! - `ratelimit` (200): SIP datagrams a second one source may send (bursts of twice that);
//!   more are dropped unanswered; 0 = off; sources on `banignore` are not limited.
//! - `maxcallspersource` (100): calls one source address may hold at once (trunks trusted
//!   by address and `banignore` are exempt); more get 503 with Retry-After; 0 = off.
//! - `scanneruseragents` (friendly-scanner, sipvicious, sipcli, VaxSIPUserAgent, pplsip,
//!   sundayddr, iWar, sip-scan): requests whose User-Agent contains one of these
//!   (case-insensitively) are dropped unanswered; comma-separated, repeatable, the first line
//!   replaces the default, an empty value turns the drop off.

use std::net::IpAddr;
use std::time::Duration;

use super::acl::{Rule, Sense};
use super::raw::{ConfigError, Entry};
use super::values::{bad, secs_of, u32_of};

/// The ban settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanSettings {
    /// Failures in `window` that ban a source; 0 turns the ban off.
    pub failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// The first ban's length.
    pub time: Duration,
    /// Never banned.
    pub ignore: Vec<Rule>,
    ignore_from_config: bool,
    /// SIP datagrams a second per source; 0 = off.
    pub rate_limit: u32,
    /// Calls one source may hold; 0 = off.
    pub max_calls_per_source: u32,
    /// User-Agent substrings of scanners, lowercase.
    pub scanners: Vec<String>,
    scanners_from_config: bool,
}

/// The scanners dropped by default: the User-Agents of SIPVicious and the tools built on it
/// or seen in the same scans.
const SCANNERS: [&str; 8] = [
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "vaxsipuseragent",
    "pplsip",
    "sundayddr",
    "iwar",
    "sip-scan",
];

impl Default for BanSettings {
    fn default() -> Self {
        BanSettings {
            failures: 5,
            window: Duration::from_secs(60),
            time: Duration::from_secs(600),
            ignore: ["127.0.0.0/8", "::1"]
                .iter()
                .filter_map(|r| Rule::parse(Sense::Permit, r).ok())
                .collect(),
            ignore_from_config: false,
            rate_limit: 200,
            max_calls_per_source: 100,
            scanners: SCANNERS.iter().map(|s| s.to_string()).collect(),
            scanners_from_config: false,
        }
    }
}

impl BanSettings {
    /// True for the option names this module reads.
    pub fn reads(key: &str) -> bool {
        matches!(
            key,
            "banfailures"
                | "banwindow"
                | "bantime"
                | "banignore"
                | "scanneruseragents"
                | "ratelimit"
                | "maxcallspersource"
        )
    }

    /// Applies one `[general]` entry whose key [`BanSettings::reads`].
    pub fn apply(&mut self, key: &str, e: &Entry) -> Result<(), ConfigError> {
        match key {
            "banfailures" => self.failures = u32_of(e)?,
            "ratelimit" => self.rate_limit = u32_of(e)?,
            "maxcallspersource" => self.max_calls_per_source = u32_of(e)?,
            "banwindow" => self.window = positive_secs(e)?,
            "bantime" => self.time = positive_secs(e)?,
            "banignore" => {
                if !self.ignore_from_config {
                    self.ignore.clear();
                    self.ignore_from_config = true;
                }
                for part in e.value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let rule = Rule::parse(Sense::Permit, part).map_err(|why| bad(e, &why))?;
                    self.ignore.push(rule);
                }
            }
            "scanneruseragents" => {
                if !self.scanners_from_config {
                    self.scanners.clear();
                    self.scanners_from_config = true;
                }
                let names = e.value.split(',').map(str::trim).filter(|p| !p.is_empty());
                self.scanners.extend(names.map(str::to_ascii_lowercase));
            }
            _ => {}
        }
        Ok(())
    }

    /// True when the ban is on.
    pub fn enabled(&self) -> bool {
        self.failures > 0
    }

    /// True when a request with this User-Agent comes from a known scanner.
    pub fn is_scanner(&self, user_agent: &str) -> bool {
        !self.scanners.is_empty() && {
            let ua = user_agent.to_ascii_lowercase();
            self.scanners.iter().any(|s| ua.contains(s.as_str()))
        }
    }

    /// True when `ip` is never banned.
    pub fn ignores(&self, ip: IpAddr) -> bool {
        self.ignore.iter().any(|r| r.matches(ip))
    }
}

fn positive_secs(e: &Entry) -> Result<Duration, ConfigError> {
    let d = secs_of(e)?;
    if d.is_zero() {
        return Err(bad(e, "must be at least 1 second"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::Loc;

    fn entry(key: &str, value: &str) -> Entry {
        Entry {
            key: key.into(),
            value: value.into(),
            arrow: false,
            loc: Loc {
                file: "sip.conf".into(),
                line: 3,
            },
        }
    }

    #[test]
    fn defaults_ignore_loopback_and_banignore_replaces_them() {
        let mut b = BanSettings::default();
        assert!(b.enabled() && b.ignores("127.0.0.1".parse().unwrap()));
        assert!(!b.ignores("203.0.113.5".parse().unwrap()));
        b.apply(
            "banignore",
            &entry("banignore", "10.0.0.0/8, 192.168.1.0/255.255.255.0"),
        )
        .unwrap();
        b.apply("banignore", &entry("banignore", "::1")).unwrap();
        assert!(
            !b.ignores("127.0.0.1".parse().unwrap()),
            "the default is replaced"
        );
        for ip in ["10.1.2.3", "192.168.1.9", "::1"] {
            assert!(b.ignores(ip.parse().unwrap()), "{ip}");
        }
        let mut empty = BanSettings::default();
        empty.apply("banignore", &entry("banignore", "")).unwrap();
        assert!(empty.ignore.is_empty());
        let err = b
            .apply("banignore", &entry("banignore", "PROVIDERIP/24"))
            .unwrap_err();
        assert!(err.to_string().starts_with("sip.conf:3:"), "{err}");
        b.apply("banfailures", &entry("banfailures", "0")).unwrap();
        assert!(!b.enabled());
        assert!(b.apply("bantime", &entry("bantime", "0")).is_err());
        assert!(b.is_scanner("friendly-scanner") && b.is_scanner("SIPVicious 0.3"));
        assert!(!b.is_scanner("baresip v3.10.1 (x86_64/linux)"));
        b.apply(
            "scanneruseragents",
            &entry("scanneruseragents", "evil-probe"),
        )
        .unwrap();
        assert!(b.is_scanner("An Evil-Probe/1") && !b.is_scanner("friendly-scanner"));
        let mut off = BanSettings::default();
        off.apply("scanneruseragents", &entry("scanneruseragents", ""))
            .unwrap();
        assert!(
            !off.is_scanner("friendly-scanner"),
            "an empty first line turns it off"
        );
    }
}
