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

mod credentials;
mod hex;
mod nonce;

pub use crate::security::event::Refusal;
pub(crate) use credentials::{auth_params, scan_auth_params};
pub use credentials::{Credentials, DigestView, MalformedCredentials};
pub use hex::{digest_of, Hex};
pub use nonce::{NonceCheck, NonceStore};

use crate::sip::Uri;
use md5::Md5;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a nonce may be used before the client must take a fresh one.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(60);

/// Lowercase hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    digest_of::<Md5>(&[data]).as_str().to_owned()
}

/// HA1 = MD5(username:realm:password).
pub fn ha1(user: &str, realm: &str, password: &str) -> String {
    let parts: [&[u8]; 5] = [
        user.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ];
    digest_of::<Md5>(&parts).as_str().to_owned()
}

/// The digest `response` value for the given HA1 (RFC 2617 §3.2.2.1; RFC 2069 without qop).
pub fn expected_response(ha1: &str, method: &str, creds: &Credentials) -> String {
    response_with(digest_of::<Md5>, ha1, method, creds)
}

/// The same with another hash (`hex` hashes parts into lowercase hex: MD5, or SHA-256 for
/// RFC 8760's `algorithm=SHA-256`).
pub fn response_with(
    hex: fn(&[&[u8]]) -> Hex,
    ha1: &str,
    method: &str,
    creds: &Credentials,
) -> String {
    let qop = creds.qop.as_deref().map(|qop| {
        (
            qop,
            creds.nc.as_deref().unwrap_or(""),
            creds.cnonce.as_deref().unwrap_or(""),
        )
    });
    response_hex(hex, ha1, method, &creds.uri, &creds.nonce, qop)
        .as_str()
        .to_owned()
}

/// RFC 2617 §3.2.2.1: HA2 = H(method:digest-uri); the response is
/// H(HA1:nonce:nc:cnonce:qop:HA2) with `qop` = (qop, nc, cnonce), else (RFC 2069)
/// H(HA1:nonce:HA2).
fn response_hex(
    hex: fn(&[&[u8]]) -> Hex,
    ha1: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str, &str)>,
) -> Hex {
    let ha2 = hex(&[method.as_bytes(), b":", uri.as_bytes()]);
    let ha2 = ha2.as_str().as_bytes();
    match qop {
        Some((qop, nc, cnonce)) => hex(&[
            ha1.as_bytes(),
            b":",
            nonce.as_bytes(),
            b":",
            nc.as_bytes(),
            b":",
            cnonce.as_bytes(),
            b":",
            qop.as_bytes(),
            b":",
            ha2,
        ]),
        None => hex(&[ha1.as_bytes(), b":", nonce.as_bytes(), b":", ha2]),
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

/// True when the credentials' `response` is the one HA1 `ha1` gives for `method`.
fn response_matches(ha1: &str, method: &str, creds: &DigestView<'_>) -> bool {
    let qop = creds.qop.as_deref().map(|qop| {
        (
            qop,
            creds.nc.as_deref().unwrap_or(""),
            creds.cnonce.as_deref().unwrap_or(""),
        )
    });
    response_hex(digest_of::<Md5>, ha1, method, &creds.uri, &creds.nonce, qop)
        .as_str()
        .eq_ignore_ascii_case(&creds.response)
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
        match DigestView::parse(value) {
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
        Some(a) if creds.username != a.name || !response_matches(a.ha1, attempt.method, &creds) => {
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
