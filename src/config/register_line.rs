//! sip.conf's `register =>` line (outbound registration to an ITSP) and `[authentication]`'s
//! `auth =` lines (credentials by realm for challenges to our own requests).
//!
//! `register => [peer?][transport://]user[@domain][:secret[:authuser]]@host[:port][/extension][~expiry]`,
//! also with the registration domain's port: `user@domain:domainport:secret:authuser@host`.
//! The split follows chan_sip's `sip_parse_register_line` (channels/sip/config_parser.c):
//! the last `@` separates the credentials from the host part; `~` the expiry, `/` the
//! extension and `:` the port are taken off the host part in that order; `?` names the peer
//! and `://` the transport in front of the user. The extension defaults to `s`.
//!
//! `auth = user:secret@realm` and `auth = user#md5secret@realm` (chan_sip's `add_realm_authentication`).

use std::fmt;

use super::raw::{ConfigError, Entry, Loc};
use super::values::Warnings;

/// One `register =>` line. Its `Debug` output hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    /// `peer?`: the sip.conf entry whose settings (host, port, secrets, fromuser, fromdomain,
    /// outboundproxy, context) the registration uses.
    pub peer: Option<String>,
    /// The user to register (the user part of the AOR in To and From).
    pub user: String,
    /// `@domain`: the AOR's domain (default: the host).
    pub domain: Option<String>,
    /// The registration domain's port (`user@domain:port:secret:authuser@host`).
    pub domain_port: Option<u16>,
    /// The password, if given.
    pub secret: Option<String>,
    /// The authentication user, if different from `user`.
    pub authuser: Option<String>,
    /// The registrar host.
    pub host: String,
    /// The registrar port, if given.
    pub port: Option<u16>,
    /// `/extension`: where calls for this registration enter the dialplan (also our Contact
    /// user). None when not written (the Contact user is then `s`, as chan_sip's).
    pub extension: Option<String>,
    /// `~expiry`: the requested expiry in seconds (default: `defaultexpiry`).
    pub expiry: Option<u32>,
    /// Where the line is.
    pub loc: Loc,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("peer", &self.peer)
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("domain_port", &self.domain_port)
            .field("secret", &self.secret.as_ref().map(|_| "<hidden>"))
            .field("authuser", &self.authuser)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("extension", &self.extension)
            .field("expiry", &self.expiry)
            .field("loc", &self.loc)
            .finish()
    }
}

fn text(s: Option<&str>) -> Option<String> {
    s.map(|s| s.trim().trim_matches('"').trim())
        .filter(|s| !s.is_empty())
        .map(String::from)
}

impl Registration {
    /// Parses the value of a `register =>` line. A transport other than UDP is a warning
    /// (sipbox registers over UDP); a bad port is an error, as is a line without user or host.
    pub fn parse(e: &Entry, warnings: &mut Warnings) -> Result<Registration, ConfigError> {
        let bad = |why: &str| {
            ConfigError::at(
                &e.loc,
                format!(
                    "bad register line '{}': {why} (expected [peer?][transport://]user[@domain]\
                     [:secret[:authuser]]@host[:port][/extension][~expiry])",
                    e.value
                ),
            )
        };
        let (creds, hostpart) = e
            .value
            .rsplit_once('@')
            .ok_or_else(|| bad("missing '@host'"))?;
        // [peer?] then [transport://].
        let (peer, creds) = match creds.split_once('?') {
            Some((p, rest)) => (text(Some(p)), rest),
            None => (None, creds),
        };
        let creds = match creds.split_once("://") {
            Some((t, rest)) => {
                if !t.trim().eq_ignore_ascii_case("udp") {
                    warnings.at(
                        &e.loc,
                        format!("register => over '{}' is done over UDP", t.trim()),
                    );
                }
                rest
            }
            None => creds,
        };
        // host[:port][/extension][~expiry], taken apart from the right.
        let (hostpart, expiry) = match hostpart.rsplit_once('~') {
            Some((h, x)) => (
                h,
                Some(x.trim().parse::<u32>().map_err(|_| bad("bad ~expiry"))?),
            ),
            None => (hostpart, None),
        };
        let (hostport, extension) = match hostpart.split_once('/') {
            Some((h, x)) => (h, text(Some(x))),
            None => (hostpart, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                Some(p.trim().parse::<u16>().map_err(|_| bad("bad port"))?),
            ),
            None => (hostport, None),
        };
        let host = text(Some(host)).ok_or_else(|| bad("empty host"))?;
        // user[@domain][:secret[:authuser]] or user@domain:domainport:secret:authuser.
        let parts: Vec<&str> = creds.split(':').collect();
        let (userpart, secret, authuser, domain_port) = match parts.as_slice() {
            [u] => (*u, None, None, None),
            [u, s] => (*u, text(Some(s)), None, None),
            [u, s, a] => (*u, text(Some(s)), text(Some(a)), None),
            [u, dp, s, a] => {
                let dp = dp.trim();
                let dp = (!dp.is_empty())
                    .then(|| dp.parse::<u16>().map_err(|_| bad("bad domain port")))
                    .transpose()?;
                (*u, text(Some(s)), text(Some(a)), dp)
            }
            _ => return Err(bad("too many ':'")),
        };
        let (user, domain) = match userpart.split_once('@') {
            Some((u, d)) => (u, text(Some(d))),
            None => (userpart, None),
        };
        let user = text(Some(user)).ok_or_else(|| bad("empty user"))?;
        Ok(Registration {
            peer,
            user,
            domain,
            domain_port,
            secret,
            authuser,
            host,
            port,
            extension,
            expiry,
            loc: e.loc.clone(),
        })
    }

    /// `user@host` as `sip show registry` and the log name it.
    pub fn label(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

/// One `auth =` line of `[authentication]` (or of an entry): credentials for a realm.
/// Its `Debug` output hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RealmAuth {
    /// The digest user name.
    pub user: String,
    /// The password or the MD5 HA1.
    pub secret: RealmSecret,
    /// The realm these credentials answer.
    pub realm: String,
}

/// How a [`RealmAuth`] proves itself. Its `Debug` output hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum RealmSecret {
    /// `user:secret@realm`.
    Plain(String),
    /// `user#md5secret@realm`: MD5(user:realm:secret) in hex.
    Md5(String),
}

impl fmt::Debug for RealmSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RealmSecret::Plain(_) => "Plain(<hidden>)",
            RealmSecret::Md5(_) => "Md5(<hidden>)",
        })
    }
}

impl fmt::Debug for RealmAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealmAuth")
            .field("user", &self.user)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl RealmAuth {
    /// Parses `user:secret@realm` or `user#md5@realm`.
    pub fn parse(e: &Entry) -> Result<RealmAuth, ConfigError> {
        let bad = || {
            ConfigError::at(
                &e.loc,
                format!(
                    "bad auth line '{}' (expected user:secret@realm or user#md5secret@realm)",
                    e.value
                ),
            )
        };
        let (creds, realm) = e.value.rsplit_once('@').ok_or_else(bad)?;
        let realm = text(Some(realm)).ok_or_else(bad)?;
        let (user, secret) = if let Some((u, s)) = creds.split_once(':') {
            (u, RealmSecret::Plain(s.trim().to_string()))
        } else if let Some((u, h)) = creds.split_once('#') {
            let h = h.trim();
            if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            (u, RealmSecret::Md5(h.to_ascii_lowercase()))
        } else {
            return Err(bad());
        };
        let user = text(Some(user)).ok_or_else(bad)?;
        Ok(RealmAuth {
            user,
            secret,
            realm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: u32) -> Loc {
        Loc {
            file: "sip.conf".into(),
            line,
        }
    }

    fn entry(v: &str) -> Entry {
        Entry {
            key: "register".into(),
            value: v.into(),
            arrow: true,
            loc: loc(3),
        }
    }

    fn reg(v: &str) -> Registration {
        let mut w = Warnings::default();
        Registration::parse(&entry(v), &mut w).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn every_form_of_chan_sips_own_tests() {
        let r = reg("name@domain");
        assert_eq!((r.user.as_str(), r.host.as_str()), ("name", "domain"));
        assert_eq!(
            (r.secret, r.authuser, r.domain, r.peer),
            (None, None, None, None)
        );
        assert_eq!((r.extension, r.expiry, r.port), (None, None, None));
        let r = reg("name:pass@domain");
        assert_eq!(r.secret.as_deref(), Some("pass"));
        let r = reg("name@namedomain:pass:authuser@domain");
        assert_eq!(r.domain.as_deref(), Some("namedomain"));
        assert_eq!(r.authuser.as_deref(), Some("authuser"));
        assert_eq!(r.secret.as_deref(), Some("pass"));
        assert_eq!(r.host, "domain");
        let r = reg("name@namedomain:pass:authuser@domain/extension");
        assert_eq!(r.extension.as_deref(), Some("extension"));
        let r = reg("tls://name@namedomain:pass:authuser@domain/extension~111");
        assert_eq!(r.expiry, Some(111));
        let r = reg("peer?tcp://name@namedomain:pass:authuser@domain:1234/extension~111");
        assert_eq!(r.peer.as_deref(), Some("peer"));
        assert_eq!(r.port, Some(1234));
        assert_eq!(r.user, "name");
        let r = reg("peer?name@namedomain:pass:authuser@domain:1234/extension~111");
        assert_eq!(
            (r.peer.as_deref(), r.extension.as_deref()),
            (Some("peer"), Some("extension"))
        );
        let r = reg("name@namedomain:4321:pass:authuser@domain");
        assert_eq!(r.domain_port, Some(4321));
        assert_eq!(r.secret.as_deref(), Some("pass"));
        assert_eq!(r.authuser.as_deref(), Some("authuser"));
        let r = reg("name@namedomain:4321::@domain");
        assert_eq!(
            (r.domain_port, r.secret, r.authuser),
            (Some(4321), None, None)
        );
        let r = reg("2000:pw@sip.example.com:5061/1001");
        assert_eq!(r.port, Some(5061));
        assert_eq!(r.label(), "2000@sip.example.com");
    }

    #[test]
    fn malformed_lines() {
        let mut w = Warnings::default();
        for v in [
            "peer?name:pass:authuser:1234/extension~111",
            "@domin:1234",
            "u@h:99999",
            "u@h~x",
        ] {
            assert!(Registration::parse(&entry(v), &mut w).is_err(), "{v}");
        }
        Registration::parse(&entry("tcp://u@h"), &mut w).unwrap();
        assert_eq!(
            w.into_vec(),
            ["sip.conf:3: register => over 'tcp' is done over UDP"]
        );
    }

    #[test]
    fn auth_lines() {
        let e = |v: &str| Entry {
            key: "auth".into(),
            value: v.into(),
            arrow: false,
            loc: loc(9),
        };
        let a = RealmAuth::parse(&e("mark:secret@digium.com")).unwrap();
        assert_eq!((a.user.as_str(), a.realm.as_str()), ("mark", "digium.com"));
        assert_eq!(a.secret, RealmSecret::Plain("secret".into()));
        let a = RealmAuth::parse(&e("mark#0123456789ABCDEF0123456789abcdef@x")).unwrap();
        assert_eq!(
            a.secret,
            RealmSecret::Md5("0123456789abcdef0123456789abcdef".into())
        );
        assert!(!format!("{a:?}").contains("0123"));
        for bad in ["mark@x", "mark:pw", "mark#12@x", ":pw@x"] {
            assert!(RealmAuth::parse(&e(bad)).is_err(), "{bad}");
        }
    }
}
