//! http.conf: the status page and metrics listener, with Asterisk's option names
//! (`main/http.c` `__ast_http_load`, `configs/samples/http.conf.sample`).
//!
//! Asterisk serves nothing without `enabled=yes`; sipbox does the same (no http.conf, or one
//! without `enabled`, means no listener). Where Asterisk has no default bind address (it then
//! refuses to serve), sipbox binds 127.0.0.1: the page shows who is registered from where, so
//! it stays on loopback unless the admin says otherwise. Options for what sipbox does not
//! serve (TLS, static files, redirects, the manager's POST mappings) are warned about with
//! `file:line` and ignored, as Asterisk ignores what it does not know.

use super::raw::Section;
use super::values::{bad, bool_of, millis_of, port_of, u32_of, Warnings};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Typed http.conf `[general]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConf {
    /// `enabled` (no).
    pub enabled: bool,
    /// `bindaddr` (127.0.0.1) and `bindport` (8088; 0: any free port, for tests).
    pub bind: SocketAddr,
    /// `prefix` (empty): every path is served under `/prefix/`.
    pub prefix: String,
    /// `servername` (sipbox): the `Server` header; empty leaves the header out.
    pub server_name: String,
    /// `sessionlimit` (100): connections at once; more are closed at accept.
    pub session_limit: usize,
    /// `session_inactivity` (30000 ms): how long a connection may make no progress (reading
    /// its request, or taking our answer) before it is closed.
    pub session_inactivity: Duration,
}

/// Asterisk's port (`DEFAULT_PORT` in main/http.c).
pub const DEFAULT_PORT: u16 = 8088;

impl Default for HttpConf {
    fn default() -> Self {
        HttpConf {
            enabled: false,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            prefix: String::new(),
            server_name: "sipbox".into(),
            session_limit: 100,
            session_inactivity: Duration::from_millis(30_000),
        }
    }
}

/// Options Asterisk has that sipbox does not act on: warned about, ignored.
const NOT_SERVED: &[(&str, &str)] = &[
    ("tlsenable", "sipbox serves plain HTTP only"),
    ("tlsbindaddr", "sipbox serves plain HTTP only"),
    ("tlscertfile", "sipbox serves plain HTTP only"),
    ("tlsprivatekey", "sipbox serves plain HTTP only"),
    ("tlscipher", "sipbox serves plain HTTP only"),
    ("tlsdisablev1", "sipbox serves plain HTTP only"),
    ("tlsdisablev11", "sipbox serves plain HTTP only"),
    ("tlsdisablev12", "sipbox serves plain HTTP only"),
    ("tlsservercipherorder", "sipbox serves plain HTTP only"),
    ("enablestatic", "sipbox serves no static files"),
    ("redirect", "sipbox has no redirects"),
    (
        "session_keep_alive",
        "sipbox closes each connection after its answer",
    ),
];

impl HttpConf {
    /// The settings of http.conf's sections (None: there is no http.conf).
    pub fn from_sections(sections: Option<&[Section]>, warnings: &mut Warnings) -> HttpConf {
        let mut c = HttpConf::default();
        for s in sections.unwrap_or_default() {
            match s.name.to_ascii_lowercase().as_str() {
                "general" => c.general(s, warnings),
                "post_mappings" => warnings.at(
                    &s.loc,
                    "http.conf [post_mappings] ignored: sipbox takes no uploads",
                ),
                _ => warnings.at(&s.loc, format!("section [{}] ignored", s.name)),
            }
        }
        c
    }

    fn general(&mut self, s: &Section, warnings: &mut Warnings) {
        for e in &s.entries {
            let key = e.key.to_ascii_lowercase();
            let set = match key.as_str() {
                "enabled" => bool_of(e).map(|b| self.enabled = b),
                "bindaddr" => e
                    .value
                    .parse::<IpAddr>()
                    .map(|ip| self.bind.set_ip(ip))
                    .map_err(|_| bad(e, "expected an IP address")),
                "bindport" => port_of(e, true).map(|p| self.bind.set_port(p)),
                "prefix" => {
                    self.prefix = e.value.trim_matches('/').to_string();
                    Ok(())
                }
                "servername" => {
                    self.server_name = e.value.to_string();
                    Ok(())
                }
                "sessionlimit" => match u32_of(e) {
                    Ok(0) => Err(bad(e, "at least one session is needed")),
                    Ok(n) => {
                        self.session_limit = n as usize;
                        Ok(())
                    }
                    Err(err) => Err(err),
                },
                "session_inactivity" => match millis_of(e) {
                    Ok(d) if d.is_zero() => Err(bad(e, "must be more than 0 ms")),
                    Ok(d) => {
                        self.session_inactivity = d;
                        Ok(())
                    }
                    Err(err) => Err(err),
                },
                k => {
                    match NOT_SERVED.iter().find(|(n, _)| *n == k) {
                        Some((_, why)) => {
                            warnings.at(&e.loc, format!("'{}' ignored: {why}", e.key))
                        }
                        None => warnings.unknown(e),
                    }
                    continue;
                }
            };
            if let Err(err) = set {
                warnings.ignored(err);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader;

    fn conf(text: &str) -> (HttpConf, Vec<String>) {
        let mut raw = Vec::new();
        let s = reader::read_str_with("http.conf", text, None, &mut raw).unwrap();
        let mut w = Warnings::default();
        let c = HttpConf::from_sections(Some(&s), &mut w);
        (c, w.into_vec())
    }

    #[test]
    fn defaults_are_asterisks_except_the_loopback_bind() {
        let none = HttpConf::from_sections(None, &mut Warnings::default());
        assert!(!none.enabled, "Asterisk serves nothing without enabled=yes");
        assert_eq!(none.bind, "127.0.0.1:8088".parse().unwrap());
        assert_eq!(none.session_limit, 100);
        assert_eq!(none.session_inactivity, Duration::from_secs(30));
        let (c, w) = conf("[general]\nbindport=9000\n");
        assert!(!c.enabled && w.is_empty());
        assert_eq!(c.bind.port(), 9000);
    }

    #[test]
    fn options_bad_values_and_unsupported_ones() {
        let (c, w) = conf(
            "[general]\nenabled=yes\nbindaddr=::1\nbindport=0\nprefix=/asterisk/\n\
             servername=\nsessionlimit=5\nsession_inactivity=1500\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert!(c.enabled);
        assert_eq!(c.bind, "[::1]:0".parse().unwrap());
        assert_eq!(c.prefix, "asterisk");
        assert_eq!(c.server_name, "");
        assert_eq!(c.session_limit, 5);
        assert_eq!(c.session_inactivity, Duration::from_millis(1500));
        let (c, w) = conf(
            "[general]\nenabled=maybe\nbindaddr=localhost\nsessionlimit=0\n\
             tlsenable=yes\nbogus=1\n[post_mappings]\nuploads=/tmp\n",
        );
        assert_eq!(c, HttpConf::default(), "bad values keep the defaults");
        assert_eq!(w.len(), 6, "{w:?}");
        assert!(w[0].starts_with("http.conf:2: bad value 'maybe'"), "{w:?}");
        assert!(w[3].contains("plain HTTP only"), "{w:?}");
        assert!(w[4].contains("unknown option 'bogus'"), "{w:?}");
    }
}
