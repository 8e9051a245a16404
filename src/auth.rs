//! Digest authentication (MD5) for REGISTER and INVITE: challenges, nonces, credential checks.
//!
//! Reading list: RFC 2617 §3 (digest, qop=auth, nc/cnonce), RFC 7616 §3.4 (the same for
//! HTTP, MD5 kept for SIP), RFC 3261 §22 (how SIP uses it: 401 WWW-Authenticate for REGISTER,
//! 407 Proxy-Authenticate for INVITE), RFC 2069 (the qop-less form old phones still send).
//!
//! Nonces are 128 random bits, remembered with the time they were issued, the address they
//! were issued to and the highest nonce-count seen. A nonce is good only from that address
//! (credentials copied off the wire cannot be replayed from another socket); a qop-less
//! (RFC 2069) response, which has no nonce count, is good once; a wrong response from that
//! address burns the nonce, so every guess costs a round trip for a new challenge. The digest
//! `uri` must name the Request-URI (RFC 2617 §3.2.2.5), or the request is a 400. A correct
//! response on a nonce older than [`NONCE_LIFETIME`] (or unknown, e.g. issued before a
//! restart) is *stale*: the client is re-challenged with `stale=true` and retries without
//! asking its user. The table is bounded; when full the oldest nonce is forgotten.

pub use crate::security::event::Refusal;
use crate::sip::Uri;
use md5::{Digest, Md5};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a nonce may be used before the client must take a fresh one.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(60);

/// Lowercase hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    let digest = Md5::digest(data);
    let mut s = String::with_capacity(32);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// HA1 = MD5(username:realm:password).
pub fn ha1(user: &str, realm: &str, password: &str) -> String {
    md5_hex(format!("{user}:{realm}:{password}").as_bytes())
}

/// The digest `response` value for the given HA1 (RFC 2617 §3.2.2.1; RFC 2069 without qop).
pub fn expected_response(ha1: &str, method: &str, creds: &Credentials) -> String {
    response_with(md5_hex, ha1, method, creds)
}

/// The same with another hash (`hex` is the algorithm's lowercase-hex digest: MD5, or
/// SHA-256 for RFC 8760's `algorithm=SHA-256`).
pub fn response_with(
    hex: fn(&[u8]) -> String,
    ha1: &str,
    method: &str,
    creds: &Credentials,
) -> String {
    let ha2 = hex(format!("{method}:{}", creds.uri).as_bytes());
    match &creds.qop {
        Some(qop) => hex(format!(
            "{ha1}:{}:{}:{}:{qop}:{ha2}",
            creds.nonce,
            creds.nc.as_deref().unwrap_or(""),
            creds.cnonce.as_deref().unwrap_or("")
        )
        .as_bytes()),
        None => hex(format!("{ha1}:{}:{ha2}", creds.nonce).as_bytes()),
    }
}

/// Digest credentials from an Authorization or Proxy-Authorization header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// `username`
    pub username: String,
    /// `realm`
    pub realm: String,
    /// `nonce`
    pub nonce: String,
    /// `uri` (the digest-uri, compared as a string)
    pub uri: String,
    /// `response`: 32 hex digits
    pub response: String,
    /// `algorithm`, when given
    pub algorithm: Option<String>,
    /// `qop`, when given (only `auth` is accepted)
    pub qop: Option<String>,
    /// `nc`, the nonce count as written (8 hex digits)
    pub nc: Option<String>,
    /// `cnonce`
    pub cnonce: Option<String>,
    /// `opaque`
    pub opaque: Option<String>,
}

/// Why a credentials header could not be used at all (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedCredentials(pub &'static str);

impl Credentials {
    /// Parses `Digest k=v, k="v", ...`. Rejects what a correct client never sends:
    /// missing mandatory fields, a qop without nc/cnonce (svcrack does that), a bad nc.
    pub fn parse(value: &str) -> Result<Credentials, MalformedCredentials> {
        let value = value.trim_start();
        let rest = match value.get(..6) {
            Some(scheme) if scheme.eq_ignore_ascii_case("digest") => &value[6..],
            _ => return Err(MalformedCredentials("scheme is not Digest")),
        };
        let mut c = Credentials::default();
        for (mut k, v) in auth_params(rest).ok_or(MalformedCredentials("bad parameter list"))? {
            // In place: the key is already an owned copy (one allocation less per parameter).
            k.make_ascii_lowercase();
            let slot = match k.as_str() {
                "username" => &mut c.username,
                "realm" => &mut c.realm,
                "nonce" => &mut c.nonce,
                "uri" => &mut c.uri,
                "response" => &mut c.response,
                "algorithm" => {
                    c.algorithm = Some(v);
                    continue;
                }
                "qop" => {
                    c.qop = Some(v);
                    continue;
                }
                "nc" => {
                    c.nc = Some(v);
                    continue;
                }
                "cnonce" => {
                    c.cnonce = Some(v);
                    continue;
                }
                "opaque" => {
                    c.opaque = Some(v);
                    continue;
                }
                _ => continue,
            };
            *slot = v;
        }
        if c.username.is_empty() || c.nonce.is_empty() || c.uri.is_empty() {
            return Err(MalformedCredentials("username, nonce and uri are required"));
        }
        if c.response.len() != 32 || !c.response.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MalformedCredentials("response is not 32 hex digits"));
        }
        if let Some(alg) = &c.algorithm {
            if !alg.eq_ignore_ascii_case("MD5") {
                return Err(MalformedCredentials("only algorithm=MD5 is supported"));
            }
        }
        if let Some(qop) = &c.qop {
            if !qop.eq_ignore_ascii_case("auth") {
                return Err(MalformedCredentials("only qop=auth is supported"));
            }
            let nc_ok =
                matches!(&c.nc, Some(nc) if nc.len() == 8 && u32::from_str_radix(nc, 16).is_ok());
            if !nc_ok || c.cnonce.as_deref().is_none_or(str::is_empty) {
                return Err(MalformedCredentials("qop=auth needs nc and cnonce"));
            }
        }
        Ok(c)
    }

    /// The nonce count as a number (0 when qop is absent).
    pub fn nonce_count(&self) -> u32 {
        self.nc
            .as_deref()
            .and_then(|nc| u32::from_str_radix(nc, 16).ok())
            .unwrap_or(0)
    }
}

/// Splits `k=v, k="quoted \" v"` into pairs; None on a syntax error.
pub(crate) fn auth_params(s: &str) -> Option<Vec<(String, String)>> {
    // Digest credentials carry about ten parameters: one allocation for the list.
    let mut out = Vec::with_capacity(10);
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim();
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::with_capacity(q.find('"').unwrap_or(0));
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '\\' => v.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    _ => v.push(ch),
                }
            }
            value = v;
            rest = q[end?..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.push((key.to_string(), value));
        rest = match rest.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if rest.is_empty() => rest,
            None => return None,
        };
    }
    Some(out)
}

/// What checking a nonce said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Known, fresh, and the nonce count moved forward.
    Fresh,
    /// Unknown or expired: re-challenge with `stale=true`.
    Stale,
    /// The nonce count did not move forward, or a qop-less response reused its nonce.
    Replay,
    /// The nonce was issued to another address.
    OtherSource,
}

struct NonceState {
    issued: Instant,
    source: SocketAddr,
    last_nc: u32,
    used: bool,
    /// A wrong guess was made with it: kept (not removed) so that a later correct response
    /// on it is told "not stale", as for any replay.
    burnt: bool,
}

/// Issued nonces, bounded; oldest forgotten first. Kept as the 128-bit numbers they print
/// from (32 hex digits), 40-odd bytes each.
pub struct NonceStore {
    nonces: HashMap<u128, NonceState>,
    order: VecDeque<u128>,
    max: usize,
}

/// A nonce as we print it: exactly 32 lowercase hex digits.
fn nonce_key(nonce: &str) -> Option<u128> {
    if nonce.len() != 32
        || !nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u128::from_str_radix(nonce, 16).ok()
}

impl NonceStore {
    /// A store remembering at most `max` nonces.
    pub fn new(max: usize) -> Self {
        NonceStore {
            nonces: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Issues a fresh unpredictable nonce to `source`.
    pub fn issue(&mut self, now: Instant, rng: &mut impl rand::Rng, source: SocketAddr) -> String {
        self.expire(now);
        while self.nonces.len() >= self.max {
            match self.order.pop_front() {
                Some(old) => {
                    self.nonces.remove(&old);
                }
                None => break,
            }
        }
        let bits: u128 = rng.random();
        self.nonces.insert(
            bits,
            NonceState {
                issued: now,
                source,
                last_nc: 0,
                used: false,
                burnt: false,
            },
        );
        self.order.push_back(bits);
        format!("{bits:032x}")
    }

    /// Checks (and records) a nonce use from `source`. Call only after the digest response
    /// matched.
    pub fn check(
        &mut self,
        now: Instant,
        nonce: &str,
        nc: u32,
        has_qop: bool,
        source: SocketAddr,
    ) -> NonceCheck {
        let Some(key) = nonce_key(nonce) else {
            return NonceCheck::Stale;
        };
        match self.nonces.get_mut(&key) {
            None => NonceCheck::Stale,
            Some(st) if st.source != source => NonceCheck::OtherSource,
            Some(st) if st.burnt => NonceCheck::Replay,
            Some(st) if now.saturating_duration_since(st.issued) > NONCE_LIFETIME => {
                NonceCheck::Stale
            }
            // RFC 2069 clients have no nonce count: one use per nonce.
            Some(st) if !has_qop && st.used => NonceCheck::Replay,
            Some(st) if has_qop && nc <= st.last_nc => NonceCheck::Replay,
            Some(st) => {
                st.last_nc = nc;
                st.used = true;
                NonceCheck::Fresh
            }
        }
    }

    /// Forgets `nonce` if it was issued to `source` (a wrong guess from there): the next try
    /// needs a new challenge. A nonce issued to someone else is left alone, so nobody can burn
    /// another client's nonce without spoofing its address.
    pub fn burn(&mut self, nonce: &str, source: SocketAddr) {
        let Some(key) = nonce_key(nonce) else {
            return;
        };
        if let Some(st) = self.nonces.get_mut(&key) {
            if st.source == source {
                st.burnt = true;
            }
        }
    }

    /// True if the nonce was issued by us and is still within its lifetime.
    pub fn is_known(&self, now: Instant, nonce: &str) -> bool {
        let Some(key) = nonce_key(nonce) else {
            return false;
        };
        matches!(self.nonces.get(&key), Some(st) if !st.burnt && now.saturating_duration_since(st.issued) <= NONCE_LIFETIME)
    }

    /// Gives back the room a burst of challenges left ([`crate::shrink`]).
    pub fn shrink(&mut self) {
        crate::shrink::map(&mut self.nonces);
        crate::shrink::deque(&mut self.order);
    }

    /// Forgets expired nonces at the front of the issue order.
    pub fn expire(&mut self, now: Instant) {
        while let Some(front) = self.order.front() {
            let expired = match self.nonces.get(front) {
                Some(st) => now.saturating_duration_since(st.issued) > NONCE_LIFETIME * 2,
                None => true,
            };
            if !expired {
                break;
            }
            if let Some(old) = self.order.pop_front() {
                self.nonces.remove(&old);
            }
        }
    }

    /// Number of remembered nonces.
    pub fn len(&self) -> usize {
        self.nonces.len()
    }

    /// True when no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.nonces.is_empty()
    }
}

/// The value of a WWW-Authenticate / Proxy-Authenticate header.
pub fn challenge(realm: &str, nonce: &str, stale: bool) -> String {
    let stale = if stale { ", stale=true" } else { "" };
    format!("Digest realm=\"{realm}\", nonce=\"{nonce}\", qop=\"auth\", algorithm=MD5{stale}")
}

/// The request whose credentials are checked.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// Its method (HA2 covers it).
    pub method: &'a str,
    /// Its Request-URI, which the digest `uri` must name.
    pub request_uri: &'a Uri,
    /// Where it came from (nonces are bound to it).
    pub source: SocketAddr,
}

/// True when the digest `uri` names `request_uri`: the same scheme, host (case-insensitively)
/// and port (absent = 5060), and the same user or none. Parameters are not compared: phones
/// differ in which they sign, and they don't change where the request goes. A digest `uri`
/// without the user part is accepted because SIPp and other stacks sign only the host part of
/// an INVITE's Request-URI; it still names this server, and the nonce's binding to the
/// source address is what stops a replay.
fn digest_uri_matches(digest_uri: &str, request_uri: &Uri) -> bool {
    let Ok(d) = Uri::parse(digest_uri) else {
        return false;
    };
    d.scheme.eq_ignore_ascii_case(&request_uri.scheme)
        && (d.user.is_none() || d.user == request_uri.user)
        && d.host.eq_ignore_ascii_case(&request_uri.host)
        && d.port.unwrap_or(5060) == request_uri.port.unwrap_or(5060)
}

/// The account a request claims, as the check needs it.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    /// The name the digest `username` must equal.
    pub name: &'a str,
    /// HA1 for our realm (from `secret` or `md5secret`).
    pub ha1: &'a str,
    /// False when the source address is denied by the entry's permit/deny: such a source gets
    /// exactly the answers a wrong password gets.
    pub source_allowed: bool,
}

/// What to do with a request after looking at its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVerdict {
    /// The credentials are good and fresh.
    Accepted,
    /// Answer 401/407 with a new nonce; `stale` when the response was right but the nonce old.
    Challenge {
        /// Whether to say `stale=true`.
        stale: bool,
    },
    /// Answer 403: wrong password, unknown user, denied source — all alike on the wire; the
    /// reason is for the security log.
    Forbidden(Refusal),
    /// Answer 400: the credentials header itself is broken.
    Malformed(&'static str),
}

/// Checks the Authorization (or Proxy-Authorization) values of a request.
///
/// `account` is None for a name we don't know; with `alwaysauthreject` the caller still comes
/// here so an unknown name is challenged and refused exactly like a wrong password.
pub fn verify(
    now: Instant,
    nonces: &mut NonceStore,
    realm: &str,
    attempt: Attempt<'_>,
    header_values: &[&str],
    account: Option<Account<'_>>,
) -> AuthVerdict {
    let mut ours = None;
    for value in header_values {
        // Another scheme is not ours to judge (RFC 4475 regaut01): ignore it and challenge.
        let scheme = value.split_ascii_whitespace().next().unwrap_or("");
        if !scheme.eq_ignore_ascii_case("digest") {
            continue;
        }
        match Credentials::parse(value) {
            Ok(c) if c.realm == realm => {
                ours = Some(c);
                break;
            }
            Ok(_) => {}
            Err(MalformedCredentials(why)) => {
                if header_values.len() == 1 {
                    return AuthVerdict::Malformed(why);
                }
            }
        }
    }
    let Some(creds) = ours else {
        return AuthVerdict::Challenge { stale: false };
    };
    if !digest_uri_matches(&creds.uri, attempt.request_uri) {
        return AuthVerdict::Malformed("digest uri does not match the Request-URI");
    }
    let refusal = match account {
        None => Some(Refusal::UnknownAccount),
        Some(a) if !a.source_allowed => Some(Refusal::AclDenied),
        Some(a)
            if creds.username != a.name
                || !expected_response(a.ha1, attempt.method, &creds)
                    .eq_ignore_ascii_case(&creds.response) =>
        {
            Some(Refusal::WrongPassword)
        }
        Some(_) => None,
    };
    if let Some(why) = refusal {
        nonces.burn(&creds.nonce, attempt.source);
        return AuthVerdict::Forbidden(why);
    }
    let qop = creds.qop.is_some();
    match nonces.check(now, &creds.nonce, creds.nonce_count(), qop, attempt.source) {
        NonceCheck::Fresh => AuthVerdict::Accepted,
        NonceCheck::Stale => AuthVerdict::Challenge { stale: true },
        NonceCheck::Replay | NonceCheck::OtherSource => AuthVerdict::Challenge { stale: false },
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's example (an HTTP GET, but the math is the same).
    #[test]
    fn rfc2617_example_vector() {
        let creds = Credentials::parse(
            r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        let h = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(
            expected_response(&h, "GET", &creds),
            "6629fae49393a05397450978507c4ef1"
        );
        assert_eq!(creds.nonce_count(), 1);
    }

    #[test]
    fn rfc2069_without_qop() {
        let mut creds = Credentials {
            username: "1001".into(),
            realm: "sipbox".into(),
            nonce: "abc".into(),
            uri: "sip:127.0.0.1".into(),
            ..Default::default()
        };
        let h = ha1("1001", "sipbox", "pw");
        let ha2 = md5_hex(b"REGISTER:sip:127.0.0.1");
        creds.response = md5_hex(format!("{h}:abc:{ha2}").as_bytes());
        assert_eq!(expected_response(&h, "REGISTER", &creds), creds.response);
    }

    #[test]
    fn rejects_what_svcrack_sends_and_other_garbage() {
        let svcrack = r#"Digest username="100",realm="sipbox",nonce="x",uri="sip:1.2.3.4",response="0123456789abcdef0123456789abcdef",algorithm=MD5,qop=auth"#;
        assert!(Credentials::parse(svcrack).is_err());
        for bad in [
            "",
            "Basic abc",
            "Digest",
            "Digest username=",
            r#"Digest username="a"#,
            "Digest =x",
        ] {
            assert!(Credentials::parse(bad).is_err(), "{bad:?}");
        }
    }

    fn creds_for(nonce: &str, nc: u32, password: &str) -> String {
        let mut c = Credentials {
            username: "1001".into(),
            realm: "sipbox".into(),
            nonce: nonce.into(),
            uri: "sip:127.0.0.1".into(),
            qop: Some("auth".into()),
            nc: Some(format!("{nc:08x}")),
            cnonce: Some("c0ffee".into()),
            ..Default::default()
        };
        c.response = expected_response(&ha1("1001", "sipbox", password), "REGISTER", &c);
        format!(
            r#"Digest username="1001", realm="sipbox", nonce="{nonce}", uri="sip:127.0.0.1", response="{}", algorithm=MD5, qop=auth, nc={:08x}, cnonce="c0ffee""#,
            c.response, nc
        )
    }

    fn src() -> SocketAddr {
        "127.0.0.1:5070".parse().unwrap()
    }

    fn register_uri() -> Uri {
        Uri::parse("sip:127.0.0.1").unwrap()
    }

    fn attempt(uri: &Uri) -> Attempt<'_> {
        Attempt {
            method: "REGISTER",
            request_uri: uri,
            source: src(),
        }
    }

    #[test]
    fn verify_outcomes_are_indistinguishable_for_bad_names_and_passwords() {
        let t0 = Instant::now();
        let mut rng = rand::rng();
        let mut store = NonceStore::new(16);
        let ruri = register_uri();
        let nonce = store.issue(t0, &mut rng, src());
        let h = ha1("1001", "sipbox", "secret");
        let acct = Account {
            name: "1001",
            ha1: &h,
            source_allowed: true,
        };
        let good = creds_for(&nonce, 1, "secret");
        let v = |store: &mut NonceStore, hdr: &str, a: Option<Account>| {
            verify(t0, store, "sipbox", attempt(&ruri), &[hdr], a)
        };
        assert_eq!(
            verify(t0, &mut store, "sipbox", attempt(&ruri), &[], Some(acct)),
            AuthVerdict::Challenge { stale: false }
        );
        // Every failure below burns its nonce, so each uses a fresh one.
        let burnt = store.issue(t0, &mut rng, src());
        let wrong = creds_for(&burnt, 2, "guess");
        assert_eq!(
            v(&mut store, &wrong, Some(acct)),
            AuthVerdict::Forbidden(Refusal::WrongPassword)
        );
        assert!(!store.is_known(t0, &burnt), "a wrong guess burns its nonce");
        let n2 = store.issue(t0, &mut rng, src());
        assert_eq!(
            v(&mut store, &creds_for(&n2, 1, "secret"), None),
            AuthVerdict::Forbidden(Refusal::UnknownAccount)
        );
        let n3 = store.issue(t0, &mut rng, src());
        assert_eq!(
            v(
                &mut store,
                &creds_for(&n3, 1, "secret"),
                Some(Account {
                    source_allowed: false,
                    ..acct
                })
            ),
            AuthVerdict::Forbidden(Refusal::AclDenied)
        );
        assert_eq!(v(&mut store, &good, Some(acct)), AuthVerdict::Accepted);
        assert_eq!(
            v(&mut store, &good, Some(acct)),
            AuthVerdict::Challenge { stale: false },
            "nc replay"
        );
        let later = creds_for(&nonce, 5, "secret");
        assert_eq!(
            verify(
                t0 + NONCE_LIFETIME * 2,
                &mut store,
                "sipbox",
                attempt(&ruri),
                &[&later],
                Some(acct)
            ),
            AuthVerdict::Challenge { stale: true }
        );
        assert!(matches!(
            v(&mut store, "Digest username=", Some(acct)),
            AuthVerdict::Malformed(_)
        ));
    }

    #[test]
    fn the_digest_uri_must_name_the_request_uri() {
        let ruri = Uri::parse("sip:1002@127.0.0.1:5060;transport=udp").unwrap();
        for ok in [
            "sip:1002@127.0.0.1:5060;transport=udp",
            "sip:1002@127.0.0.1",
            "SIP:1002@127.0.0.1:5060",
            "sip:127.0.0.1:5060",
        ] {
            assert!(digest_uri_matches(ok, &ruri), "{ok}");
        }
        for bad in [
            "sip:1003@127.0.0.1:5060",
            "sip:1002@127.0.0.2",
            "sip:1002@127.0.0.1:5070",
            "junk",
        ] {
            assert!(!digest_uri_matches(bad, &ruri), "{bad}");
        }
        let t0 = Instant::now();
        let mut store = NonceStore::new(4);
        let nonce = store.issue(t0, &mut rand::rng(), src());
        let h = ha1("1001", "sipbox", "secret");
        let acct = Account {
            name: "1001",
            ha1: &h,
            source_allowed: true,
        };
        let other = Uri::parse("sip:1001@127.0.0.2").unwrap();
        assert!(matches!(
            verify(
                t0,
                &mut store,
                "sipbox",
                attempt(&other),
                &[&creds_for(&nonce, 1, "secret")],
                Some(acct)
            ),
            AuthVerdict::Malformed(_)
        ));
    }

    #[test]
    fn nonce_lifecycle_with_fake_clock() {
        let t0 = Instant::now();
        let mut rng = rand::rng();
        let mut store = NonceStore::new(2);
        let s = src();
        let n = store.issue(t0, &mut rng, s);
        assert_eq!(n.len(), 32);
        assert_eq!(store.check(t0, &n, 1, true, s), NonceCheck::Fresh);
        assert_eq!(store.check(t0, &n, 1, true, s), NonceCheck::Replay);
        assert_eq!(store.check(t0, &n, 2, true, s), NonceCheck::Fresh);
        let elsewhere: SocketAddr = "127.0.0.2:5070".parse().unwrap();
        assert_eq!(
            store.check(t0, &n, 3, true, elsewhere),
            NonceCheck::OtherSource
        );
        assert_eq!(
            store.check(t0 + NONCE_LIFETIME + Duration::from_secs(1), &n, 3, true, s),
            NonceCheck::Stale
        );
        assert_eq!(store.check(t0, "unknown", 1, true, s), NonceCheck::Stale);
        // RFC 2069: once per nonce
        let old = store.issue(t0, &mut rng, s);
        assert_eq!(store.check(t0, &old, 0, false, s), NonceCheck::Fresh);
        assert_eq!(store.check(t0, &old, 0, false, s), NonceCheck::Replay);
        // a guess from elsewhere does not burn it; one from its own source does
        store.burn(&old, elsewhere);
        assert!(store.is_known(t0, &old));
        store.burn(&old, s);
        assert!(!store.is_known(t0, &old));
        // bounded: the oldest goes
        let a = store.issue(t0, &mut rng, s);
        let _b = store.issue(t0, &mut rng, s);
        let _c = store.issue(t0, &mut rng, s);
        assert_eq!(store.len(), 2);
        assert!(!store.is_known(t0, &a));
    }
}
