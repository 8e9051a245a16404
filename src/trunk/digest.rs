//! The client side of digest authentication: reading a server's 401/407 challenge and
//! answering it (the server side is [`crate::auth`], whose parameter reader and response
//! math this reuses).
//!
//! Reading list: RFC 3261 §22.2–22.3 (answering WWW-Authenticate / Proxy-Authenticate),
//! RFC 2617 §3.2.1–3.2.2 (qop=auth, nc, cnonce), RFC 8760 (SHA-256 for SIP; a server may
//! offer several challenges, the client takes the strongest it knows); chan_sip's
//! `build_reply_digest`.

use crate::auth::{self, Credentials};
use sha2::Sha256;
use std::fmt::Write as _;

/// A digest algorithm we can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (also when the challenge names none).
    Md5,
    /// `SHA-256` (RFC 8760).
    Sha256,
}

impl Algorithm {
    /// The token in the Authorization header.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn hex(self) -> fn(&[&[u8]]) -> auth::Hex {
        match self {
            Algorithm::Md5 => auth::digest_of::<md5::Md5>,
            Algorithm::Sha256 => auth::digest_of::<Sha256>,
        }
    }
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    auth::digest_of::<Sha256>(&[data]).as_str().to_owned()
}

/// One challenge we can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed back.
    pub opaque: Option<String>,
    /// The algorithm to answer with.
    pub algorithm: Algorithm,
    /// `qop` offered `auth`: answer with qop=auth, nc and cnonce.
    pub qop_auth: bool,
    /// `stale=true`: our credentials were right, only the nonce was old.
    pub stale: bool,
}

/// Why a 401/407 cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadChallenge {
    /// No WWW-Authenticate / Proxy-Authenticate header at all.
    Missing,
    /// Not `Digest`, or its parameters do not parse.
    Malformed,
    /// No nonce.
    NoNonce,
    /// Only algorithms we do not know (MD5-sess, SHA-512-256, ...).
    UnknownAlgorithm,
    /// `qop` offered without `auth` (auth-int only).
    UnknownQop,
}

impl std::fmt::Display for BadChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadChallenge::Missing => "no challenge header",
            BadChallenge::Malformed => "malformed challenge",
            BadChallenge::NoNonce => "challenge without a nonce",
            BadChallenge::UnknownAlgorithm => "unsupported digest algorithm",
            BadChallenge::UnknownQop => "unsupported qop",
        })
    }
}

/// Parses one `Digest realm=..., nonce=..., ...` value.
pub fn parse(value: &str) -> Result<Challenge, BadChallenge> {
    let value = value.trim_start();
    let rest = match value.get(..6) {
        Some(scheme) if scheme.eq_ignore_ascii_case("digest") => &value[6..],
        _ => return Err(BadChallenge::Malformed),
    };
    let params = auth::auth_params(rest).ok_or(BadChallenge::Malformed)?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let nonce = get("nonce").filter(|n| !n.is_empty());
    let nonce = nonce.ok_or(BadChallenge::NoNonce)?.to_string();
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(a) if a.eq_ignore_ascii_case("MD5") => Algorithm::Md5,
        Some(a) if a.eq_ignore_ascii_case("SHA-256") => Algorithm::Sha256,
        Some(_) => return Err(BadChallenge::UnknownAlgorithm),
    };
    let qop_auth = match get("qop") {
        None => false,
        Some(q) if q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")) => true,
        Some(_) => return Err(BadChallenge::UnknownQop),
    };
    Ok(Challenge {
        realm: get("realm").unwrap_or_default().to_string(),
        nonce,
        opaque: get("opaque").map(String::from),
        algorithm,
        qop_auth,
        stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
    })
}

/// The challenge to answer among a response's challenge headers: SHA-256 before MD5 (RFC
/// 8760 §2.4: the strongest the client supports); a header we cannot answer is skipped when
/// another can be. With none answerable, the first header's fault.
pub fn pick<'a>(values: impl Iterator<Item = &'a str>) -> Result<Challenge, BadChallenge> {
    let mut first_err = None;
    let mut best: Option<Challenge> = None;
    for v in values {
        match parse(v) {
            Ok(c) => {
                let better = match &best {
                    None => true,
                    Some(b) => b.algorithm == Algorithm::Md5 && c.algorithm == Algorithm::Sha256,
                };
                if better {
                    best = Some(c);
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    best.ok_or(first_err.unwrap_or(BadChallenge::Missing))
}

/// What we prove ourselves with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret<'a> {
    /// A password.
    Plain(&'a str),
    /// An MD5 HA1 (`md5secret`, `user#md5@realm`): answers MD5 challenges only.
    Md5Ha1(&'a str),
}

/// The request being answered.
#[derive(Debug, Clone, Copy)]
pub struct Answering<'a> {
    /// Its method.
    pub method: &'a str,
    /// Its Request-URI as sent (the digest `uri`).
    pub uri: &'a str,
    /// Our client nonce (qop=auth).
    pub cnonce: &'a str,
    /// The nonce count (1 for a first use of the nonce).
    pub nc: u32,
}

/// The Authorization / Proxy-Authorization value answering `ch` as `user`; None when the
/// secret cannot answer this algorithm (an MD5 HA1 for a SHA-256 challenge).
pub fn authorization(
    ch: &Challenge,
    user: &str,
    secret: Secret<'_>,
    req: Answering<'_>,
) -> Option<String> {
    let hex = ch.algorithm.hex();
    let ha1 = match (secret, ch.algorithm) {
        (Secret::Plain(pw), _) => {
            let parts: [&[u8]; 5] = [
                user.as_bytes(),
                b":",
                ch.realm.as_bytes(),
                b":",
                pw.as_bytes(),
            ];
            hex(&parts).as_str().to_owned()
        }
        (Secret::Md5Ha1(h), Algorithm::Md5) => h.to_ascii_lowercase(),
        (Secret::Md5Ha1(_), Algorithm::Sha256) => return None,
    };
    let creds = Credentials {
        username: user.to_string(),
        realm: ch.realm.clone(),
        nonce: ch.nonce.clone(),
        uri: req.uri.to_string(),
        qop: ch.qop_auth.then(|| "auth".to_string()),
        nc: ch.qop_auth.then(|| format!("{:08x}", req.nc)),
        cnonce: ch.qop_auth.then(|| req.cnonce.to_string()),
        ..Credentials::default()
    };
    let response = auth::response_with(hex, &ha1, req.method, &creds);
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut v = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{response}\", algorithm={}",
        q(user),
        q(&ch.realm),
        q(&ch.nonce),
        q(req.uri),
        ch.algorithm.token()
    );
    if let Some(o) = &ch.opaque {
        let _ = write!(v, ", opaque=\"{}\"", q(o));
    }
    if ch.qop_auth {
        let _ = write!(
            v,
            ", qop=auth, cnonce=\"{}\", nc={:08x}",
            q(req.cnonce),
            req.nc
        );
    }
    Some(v)
}

/// The nonce of the credentials a request we sent carried, if any.
pub fn nonce_of(authorization: &str) -> Option<String> {
    let rest = authorization.trim_start().get(6..)?;
    let mut nonce = None;
    auth::scan_auth_params(rest, |k, v| {
        if nonce.is_none() && k.eq_ignore_ascii_case("nonce") {
            nonce = Some(v.into_owned());
        }
    })?;
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_with_md5() {
        // RFC 2617 §3.5's worked example, computed over a SIP method (as RFC 3261 uses it).
        let ch = parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert!(ch.qop_auth);
        let v = authorization(
            &ch,
            "Mufasa",
            Secret::Plain("Circle Of Life"),
            Answering {
                method: "GET",
                uri: "/dir/index.html",
                cnonce: "0a4f113b",
                nc: 1,
            },
        )
        .unwrap();
        assert!(
            v.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{v}"
        );
        assert!(
            v.contains("nc=00000001") && v.contains("cnonce=\"0a4f113b\""),
            "{v}"
        );
        assert!(v.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
        // The server side of sipbox accepts what the client side writes.
        let creds = Credentials::parse(&v).unwrap();
        let ha1 = auth::ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(auth::expected_response(&ha1, "GET", &creds), creds.response);
        assert_eq!(
            nonce_of(&v).as_deref(),
            Some("dcd98b7102dd2f0e8b11d0f600bfb0c093")
        );
    }

    #[test]
    fn sha256_is_preferred_and_computed() {
        let md5 = "Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"";
        let sha = "Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth\"";
        let ch = pick([md5, sha].into_iter()).unwrap();
        assert_eq!((ch.algorithm, ch.nonce.as_str()), (Algorithm::Sha256, "n2"));
        let ch = pick([sha, md5].into_iter()).unwrap();
        assert_eq!(ch.algorithm, Algorithm::Sha256);
        let req = Answering {
            method: "REGISTER",
            uri: "sip:r",
            cnonce: "c",
            nc: 1,
        };
        let v = authorization(&ch, "u", Secret::Plain("p"), req).unwrap();
        let ha1 = sha256_hex(b"u:r:p");
        let ha2 = sha256_hex(b"REGISTER:sip:r");
        let want = sha256_hex(format!("{ha1}:n2:00000001:c:auth:{ha2}").as_bytes());
        assert!(v.contains(&format!("response=\"{want}\"")), "{v}");
        assert!(v.contains("algorithm=SHA-256"));
        // An MD5 HA1 cannot answer SHA-256.
        assert_eq!(authorization(&ch, "u", Secret::Md5Ha1("00"), req), None);
        assert_eq!(sha256_hex(b"abc").len(), 64);
    }

    #[test]
    fn bad_challenges() {
        assert_eq!(parse("Digest realm=\"r\""), Err(BadChallenge::NoNonce));
        assert_eq!(
            parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess"),
            Err(BadChallenge::UnknownAlgorithm)
        );
        assert_eq!(
            parse("Digest nonce=\"n\", qop=\"auth-int\""),
            Err(BadChallenge::UnknownQop)
        );
        assert_eq!(parse("Basic realm=\"r\""), Err(BadChallenge::Malformed));
        assert_eq!(parse("Digest realm=\"r"), Err(BadChallenge::Malformed));
        assert_eq!(pick(std::iter::empty()), Err(BadChallenge::Missing));
        // A bad header beside a good one: the good one is answered.
        let ch = pick(["Digest realm=\"r\"", "Digest nonce=\"x\""].into_iter()).unwrap();
        assert_eq!((ch.nonce.as_str(), ch.qop_auth), ("x", false));
        let v = authorization(
            &ch,
            "u",
            Secret::Plain("p"),
            Answering {
                method: "INVITE",
                uri: "sip:1@h",
                cnonce: "c",
                nc: 1,
            },
        )
        .unwrap();
        assert!(
            !v.contains("qop") && !v.contains("nc="),
            "RFC 2069 form: {v}"
        );
    }
}
