//! The checks a UAS runs on every request before any handler sees it (RFC 3261 §8.2), in the
//! order the PBX answers them: a broken header was already a 400 at parse time; then 416 for a
//! Request-URI scheme we can't serve, 420 for a Require we don't support, 483 when
//! Max-Forwards is spent, 405 (with Allow) for methods we know but don't serve, 501 for
//! methods we don't know.
//!
//! Reading list: RFC 3261 §8.2.1–§8.2.2, §16.3 item 3 (Max-Forwards), §20.5 (Allow).

use crate::sip::{Method, Request};

/// The methods sipbox serves, for `Allow`.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE";

/// What we can receive in a body, for `Accept`.
pub const ACCEPT: &str = "application/sdp";

/// A request refused before any handler: the status, its reason, and extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: &'static str,
    /// `(header, value)` pairs the response must carry (Allow, Unsupported).
    pub headers: Vec<(crate::sip::HeaderName, String)>,
}

fn refuse(status: u16, reason: &'static str) -> Refusal {
    Refusal {
        status,
        reason,
        headers: Vec::new(),
    }
}

/// True for methods sipbox handles.
pub fn is_served(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite
            | Method::Ack
            | Method::Cancel
            | Method::Bye
            | Method::Options
            | Method::Register
            | Method::Info
            | Method::Update
    )
}

/// Runs the §8.2 checks. ACK is never answered, so it is only checked by the caller.
pub fn check(req: &Request) -> Result<(), Refusal> {
    use crate::sip::HeaderName;
    let scheme = req.uri().scheme.as_str();
    if scheme != "sip" && scheme != "sips" {
        return Err(refuse(416, "Unsupported URI Scheme"));
    }
    let mut unsupported: Vec<String> = req.require();
    if *req.method() != Method::Cancel && *req.method() != Method::Ack {
        unsupported.retain(|opt| !opt.is_empty());
        if !unsupported.is_empty() {
            let mut r = refuse(420, "Bad Extension");
            r.headers
                .push((HeaderName::Unsupported, unsupported.join(", ")));
            return Err(r);
        }
    }
    if req.max_forwards() == Some(0) && *req.method() != Method::Options {
        return Err(refuse(483, "Too Many Hops"));
    }
    if !is_served(req.method()) {
        let (status, reason) = match req.method() {
            Method::Extension(_) => (501, "Not Implemented"),
            _ => (405, "Method Not Allowed"),
        };
        let mut r = refuse(status, reason);
        r.headers.push((HeaderName::Allow, ALLOW.to_string()));
        return Err(r);
    }
    Ok(())
}
