//! The Via header (RFC 3261 §18.2.1, §20.42, §25.1 `via-parm`; RFC 3581 `rport`).

use std::fmt;

use compact_str::CompactString;

use super::params::{
    find_param, header_params, parse_header_params, plain_params, write_params, Params,
};
use super::text::{
    find, host_end, is_token, is_ws, parse_u16, parse_u32, port_at, token_end, trim,
};
use super::uri::valid_host;

/// One Via value: `SIP/2.0/<transport> host[:port];params`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Via {
    /// Transport, uppercased (`"UDP"`, `"TCP"`, or any token).
    pub transport: String,
    /// sent-by host; IPv6 references keep their brackets.
    pub host: String,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters in order (branch, received, rport, maddr, ttl, ...).
    pub params: Params,
}

/// The RFC 3261 branch magic cookie.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A Via value split into raw components: validated, not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ViaParts<'a> {
    transport: &'a str,
    host: &'a str,
    port: Option<u16>,
    params: &'a str,
    branch: Option<&'a str>,
    /// An `rport` parameter is present (RFC 3581).
    rport: bool,
}

/// Checks the parameters RFC 3261 and RFC 3581 give a syntax to.
fn check_param(name: &str, value: Option<&str>) -> Result<(), String> {
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    // By length first: one comparison at most.
    let ok = match name.len() {
        5 if is("rport") => value.is_none_or(|p| parse_u16(p).is_some()),
        3 if is("ttl") => value.and_then(parse_u32).is_some_and(|t| t <= 255),
        6 | 8 | 5 if is("branch") || is("received") || is("maddr") => {
            value.is_some_and(|v| !v.starts_with('"') && !v.bytes().any(is_ws))
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("bad {name}"))
    }
}

/// What [`plain_param`] found a parameter to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlainParam {
    Branch,
    Rport,
    Other,
}

/// [`check_param`] on a plain parameter (see [`plain_params`]): its value has no quotes
/// and no blanks, so only presence and the numbers are left to check. `None` if bad, else
/// whether it is the branch or `rport` (the names compared once, here).
fn plain_param(name: &str, value: Option<&str>) -> Option<PlainParam> {
    // Senders write these in lower case: an exact comparison first.
    let is = |n: &str| name == n || name.eq_ignore_ascii_case(n);
    let ok = match name.len() {
        6 if is("branch") => return value.map(|_| PlainParam::Branch),
        5 if is("rport") => {
            let ok = value.is_none_or(|p| parse_u16(p).is_some());
            return ok.then_some(PlainParam::Rport);
        }
        3 if is("ttl") => value.and_then(parse_u32).is_some_and(|t| t <= 255),
        8 | 5 if is("received") || is("maddr") => value.is_some(),
        _ => true,
    };
    ok.then_some(PlainParam::Other)
}

impl<'a> ViaParts<'a> {
    /// Splits and validates one Via value (not a comma-separated list).
    pub(crate) fn scan(s: &'a str) -> Result<ViaParts<'a>, String> {
        match Self::scan_plain(s) {
            Some(v) => Ok(v),
            None => Self::scan_general(s),
        }
    }

    /// The form nearly every sender uses, in one pass over the bytes:
    /// `SIP/2.0/token SP host[:port]` then plain parameters (see
    /// [`plain_params`]), no LWS elsewhere, no IPv6 reference. `None` if `s` is not in that
    /// form or a parameter is bad: [`ViaParts::scan_general`] then decides, and it returns
    /// the same parts on every value accepted here.
    pub(crate) fn scan_plain(s: &'a str) -> Option<ViaParts<'a>> {
        let b = s.as_bytes();
        let proto = b.get(..8)?;
        // Exact first: senders write it in upper case.
        if proto != b"SIP/2.0/" && !proto.eq_ignore_ascii_case(b"SIP/2.0/") {
            return None;
        }
        let t_end = token_end(b, 8);
        if t_end == 8 || b.get(t_end) != Some(&b' ') {
            return None;
        }
        let transport = s.get(8..t_end)?;
        let h_start = t_end + 1;
        let h_end = host_end(b, h_start);
        let host = s.get(h_start..h_end).filter(|h| !h.is_empty())?;
        let (port, p_start) = if b.get(h_end) == Some(&b':') {
            let (d_end, port) = port_at(b, h_end + 1);
            (Some(port?), d_end)
        } else {
            (None, h_end)
        };
        let params = s.get(p_start..)?;
        let mut branch = None;
        let mut rport = false;
        let plain = plain_params(params, |n, v| match plain_param(n, v) {
            None => false,
            Some(PlainParam::Branch) => {
                if branch.is_none() {
                    branch = v;
                }
                true
            }
            Some(PlainParam::Rport) => {
                rport = true;
                true
            }
            Some(PlainParam::Other) => true,
        });
        plain.then_some(ViaParts {
            transport,
            host,
            port,
            params,
            branch,
            rport,
        })
    }

    /// [`ViaParts::scan`] for any text.
    fn scan_general(s: &'a str) -> Result<ViaParts<'a>, String> {
        let slash1 = find(s, b'/').ok_or("missing sent-protocol")?;
        let name = trim(s.get(..slash1).unwrap_or(""));
        let s = s.get(slash1 + 1..).unwrap_or("");
        let slash2 = find(s, b'/').ok_or("missing sent-protocol")?;
        let version = trim(s.get(..slash2).unwrap_or(""));
        let rest = trim(s.get(slash2 + 1..).unwrap_or(""));
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err("unsupported protocol".into());
        }
        let t_end = rest
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .ok_or("missing sent-by")?;
        let transport = rest.get(..t_end).unwrap_or("");
        if !is_token(transport) {
            return Err("bad transport".into());
        }
        let rest = rest.get(t_end..).unwrap_or("");
        let p_start = find(rest, b';').unwrap_or(rest.len());
        let sent_by = trim(rest.get(..p_start).unwrap_or(""));
        let split = match find(sent_by, b']') {
            Some(close) => sent_by
                .get(close..)
                .and_then(|t| find(t, b':'))
                .map(|i| i + close),
            None => find(sent_by, b':'),
        };
        let (host, port) = match split {
            Some(i) => (
                trim(sent_by.get(..i).unwrap_or("")),
                Some(trim(sent_by.get(i + 1..).unwrap_or(""))),
            ),
            None => (sent_by, None),
        };
        if !valid_host(host) {
            return Err("bad sent-by host".into());
        }
        let port = match port {
            Some(p) => Some(parse_u16(p).ok_or("bad sent-by port")?),
            None => None,
        };
        let params = rest.get(p_start..).unwrap_or("");
        let mut branch = None;
        let mut rport = false;
        for p in header_params(params) {
            let (n, v) = p?;
            check_param(n, v)?;
            if branch.is_none() && n.eq_ignore_ascii_case("branch") {
                branch = v;
            }
            rport |= n.eq_ignore_ascii_case("rport");
        }
        Ok(ViaParts {
            transport,
            host,
            port,
            params,
            branch,
            rport,
        })
    }

    /// The raw `branch` parameter.
    pub(crate) fn branch(&self) -> Option<&'a str> {
        self.branch
    }

    /// The sent-by host (IPv6 brackets kept), as [`Via::host`] holds it.
    pub(crate) fn host(&self) -> &'a str {
        self.host
    }

    /// The sent-by port.
    pub(crate) fn port(&self) -> Option<u16> {
        self.port
    }

    /// Copies into an owned [`Via`].
    pub(crate) fn to_via(self) -> Via {
        Via {
            transport: self.transport.to_ascii_uppercase(),
            host: self.host.to_owned(),
            port: self.port,
            params: parse_header_params(self.params).unwrap_or_default(),
        }
    }
}

/// A Via value as received: validated, not decoded. What answering a request needs (its
/// sent-by, whether it asked for `rport`, and the value printed again with `received` and
/// `rport` set) without the owned [`Via`] and its parameter list.
#[derive(Debug, Clone, Copy)]
pub struct RawVia<'a>(ViaParts<'a>);

impl<'a> RawVia<'a> {
    /// Validates one Via value as [`Via::parse`] does; None where it would fail.
    pub fn scan(s: &'a str) -> Option<RawVia<'a>> {
        ViaParts::scan(s).ok().map(RawVia)
    }

    /// The sent-by host (IPv6 brackets kept), as [`Via::host`] holds it.
    pub fn host(&self) -> &'a str {
        self.0.host
    }

    /// The sent-by port.
    pub fn port(&self) -> Option<u16> {
        self.0.port
    }

    /// The parameters, as [`Via::params`] holds them (the scan validated them). Text with
    /// no whitespace, quotes or angle brackets (what phones send) is split at each `;` and
    /// `=` without the validating reader again: there is nothing to trim or unquote, so the
    /// pieces are the ones it gives.
    fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> {
        let text = trim(self.0.params);
        let plain = !text
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'<');
        let quick = plain
            .then(|| text.strip_prefix(';'))
            .flatten()
            .into_iter()
            .flat_map(|t| t.split(';'))
            .map(|item| match item.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (item, None),
            });
        let checked = (!plain)
            .then(|| header_params(self.0.params).map_while(Result::ok))
            .into_iter()
            .flatten();
        quick.chain(checked)
    }

    /// True when the Via has an `rport` parameter (RFC 3581), valued or not.
    pub fn has_rport(&self) -> bool {
        self.0.rport
    }

    /// True when a parameter of this name is present (names compare case-insensitively).
    pub fn has_param(&self, name: &str) -> bool {
        self.params().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Writes what [`Via::parse`], then [`Via::set_param`] for each of `set` in order, then
    /// [`Via::write_to`] write: the first parameter of each name takes the new value (keeping
    /// its own spelling of the name), names not present are appended. At most 4 names.
    pub fn write_with(&self, set: &[(&str, &str)], out: &mut String) {
        out.push_str("SIP/2.0/");
        let transport = self.0.transport;
        if transport.bytes().any(|b| b.is_ascii_lowercase()) {
            out.push_str(&transport.to_ascii_uppercase());
        } else {
            out.push_str(transport);
        }
        out.push(' ');
        out.push_str(self.0.host);
        if let Some(p) = self.0.port {
            out.push(':');
            crate::sip::text::push_decimal_str(out, usize::from(p));
        }
        // Which of `set` replaced a parameter already (set_param replaces the first only).
        let mut done = [false; 4];
        debug_assert!(set.len() <= done.len());
        for (n, v) in self.params() {
            let hit = set
                .iter()
                .zip(done.iter_mut())
                .find(|((sn, _), d)| !**d && n.eq_ignore_ascii_case(sn));
            let v = match hit {
                Some(((_, new), d)) => {
                    *d = true;
                    Some(*new)
                }
                None => v,
            };
            out.push(';');
            out.push_str(n);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
        push_unset(out, set, &done);
    }
}

impl Via {
    /// Parses one Via value (not a comma-separated list).
    pub fn parse(s: &str) -> Result<Via, String> {
        ViaParts::scan(s).map(ViaParts::to_via)
    }

    /// A new Via for `transport` and sent-by, without parameters.
    pub fn new(transport: &str, host: &str, port: Option<u16>) -> Via {
        Via {
            transport: transport.to_ascii_uppercase(),
            host: host.to_owned(),
            port,
            params: Params::new(),
        }
    }

    /// A parameter by case-insensitive name: `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }

    /// The `ttl` parameter (validated 0..=255 at parse).
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl")
            .flatten()
            .and_then(parse_u32)
            .and_then(|t| u8::try_from(t).ok())
    }

    /// The RFC 3581 `rport` parameter: `Some(None)` when present without a value (the
    /// client asks for it to be filled in), `Some(Some(port))` once filled.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.and_then(parse_u16))
    }

    /// True if the branch starts with the RFC 3261 magic cookie.
    pub fn is_rfc3261(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// Sets (replacing) or adds a parameter, e.g. `received` or `rport` at a UAS.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = value.map(CompactString::from),
            None => self
                .params
                .push((name.into(), value.map(CompactString::from))),
        }
    }

    /// Writes the value, e.g. `SIP/2.0/UDP host:5060;branch=z9hG4bK1`.
    pub fn write_to(&self, out: &mut String) {
        out.push_str("SIP/2.0/");
        out.push_str(&self.transport);
        out.push(' ');
        out.push_str(&self.host);
        if let Some(p) = self.port {
            out.push(':');
            crate::sip::text::push_decimal_str(out, usize::from(p));
        }
        write_params(out, &self.params);
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// Appends `;name=value` for each parameter of `set` whose `done` flag is false: the values a
/// Via rewrite sets that the Via did not hold yet (shared by [`RawVia::write_with`] and the
/// stamp's in-place copy).
pub(crate) fn push_unset(out: &mut String, set: &[(&str, &str)], done: &[bool]) {
    for ((n, v), d) in set.iter().zip(done) {
        if !d {
            out.push(';');
            out.push_str(n);
            out.push('=');
            out.push_str(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Via;

    fn rt(s: &str) -> Via {
        let v = Via::parse(s).unwrap();
        assert_eq!(Via::parse(&v.to_string()).unwrap(), v, "{s}");
        v
    }

    #[test]
    fn raw_via_writes_what_set_param_and_write_to_write() {
        let cases = [
            "SIP/2.0/udp pc33.example.com:5060;branch=z9hG4bK776;rport;received=192.0.2.1;maddr=224.2.0.1;ttl=16",
            "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1",
            " SIP / 2.0 / tcp  [2001:db8::1]:5070 ; RPORT ; branch = z9hG4bK2 ; x",
            "SIP/2.0/UDP h;rport=1;rport=2;Received=a",
            "SIP/2.0/UDP h:1;branch=z9hG4bK1;x=\"a;b\";rport",
            "SIP/2.0/UDP h:1;branch=z9hG4bK1;a=b;RPort",
            "SIP/2.0/UDP h:1 ;branch=z9hG4bK1",
            "SIP/2.0/UDP h:1",
        ];
        let sets: [&[(&str, &str)]; 4] = [
            &[],
            &[("received", "192.0.2.9")],
            &[("received", "192.0.2.9"), ("rport", "5070")],
            &[("rport", "7"), ("received", "::1")],
        ];
        for c in cases {
            let raw = super::RawVia::scan(c).expect(c);
            let via = Via::parse(c).unwrap();
            assert_eq!((raw.host(), raw.port()), (via.host.as_str(), via.port));
            assert_eq!(raw.has_param("rport"), via.rport().is_some(), "{c}");
            assert_eq!(raw.has_rport(), via.rport().is_some(), "{c}");
            for set in sets {
                let mut want = via.clone();
                for (n, v) in set {
                    want.set_param(n, Some(v.to_string()));
                }
                let mut got = String::new();
                raw.write_with(set, &mut got);
                assert_eq!(got, want.to_string(), "{c} {set:?}");
            }
        }
        assert!(super::RawVia::scan("SIP/2.0/UDP").is_none());
        assert!(super::RawVia::scan("SIP/2.0/UDP h;branch=\"q\"").is_none());
    }

    #[test]
    fn params() {
        let v = rt("SIP/2.0/udp pc33.example.com:5060;branch=z9hG4bK776;rport;received=192.0.2.1;maddr=224.2.0.1;ttl=16");
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "pc33.example.com");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK776"));
        assert!(v.is_rfc3261());
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.ttl(), Some(16));
        let mut v = v;
        v.set_param("rport", Some("5062".into()));
        v.set_param("received", Some("10.0.0.1".into()));
        assert_eq!(v.rport(), Some(Some(5062)));
        assert_eq!(v.received(), Some("10.0.0.1"));
    }

    #[test]
    fn spacing_and_ipv6() {
        let v = rt("SIP  /   2.0 / UDP 192.0.2.2;branch=390skdjuw");
        assert_eq!(v.host, "192.0.2.2");
        assert!(!v.is_rfc3261());
        let v = rt("SIP / 2.0 / TCP spindle.example.com   ; branch  =   z9hG4bK9ikj8");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        let v = rt("SIP/2.0/UDP [2001:db8::9:1]:5061;branch=z9hG4bKx;received=2001:db8::9:255");
        assert_eq!((v.host.as_str(), v.port), ("[2001:db8::9:1]", Some(5061)));
        let v = rt("SIP/2.0/UDP [::1]");
        assert_eq!(v.port, None);
    }

    #[test]
    fn one_pass_scan_agrees_with_the_general_one() {
        let seeds = [
            "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport",
            "SIP/2.0/udp pc33.example.com;branch=z9hG4bK776;received=192.0.2.1;ttl=16",
            "SIP/2.0/TCP h:5;rport=5062;maddr=224.2.0.1",
            "sip/2.0/UDP h;branch=z9hG4bK;BRANCH=x;x=\u{e9}",
            "SIP/2.0/UDP h;RPort;rport=1;Branch=a;received=::1",
        ];
        let mut accepted = 0;
        for s in super::super::text::single_edits(&seeds) {
            if let Some(fast) = super::ViaParts::scan_plain(&s) {
                accepted += 1;
                assert_eq!(super::ViaParts::scan_general(&s), Ok(fast), "{s:?}");
            }
        }
        assert!(accepted > 500, "{accepted}");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/7.0/UDP host",
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host;rport=x",
            "SIP/2.0/UDP host;ttl=256",
            "SIP/2.0/UDP host;branch",
            "SIP/2.0/UDP ho st",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?}");
        }
    }
}
