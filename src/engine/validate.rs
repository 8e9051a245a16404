//! The checks a UAS runs on every request before any handler sees it (RFC 3261 §8.2), in the
//! order the PBX answers them: a broken header was already a 400 at parse time; then 416 for a
//! Request-URI scheme we can't serve, 420 for a Require we don't support, 483 when
//! Max-Forwards is spent, 405 (with Allow) for methods we know but don't serve, 501 for
//! methods we don't know.
//!
//! Reading list: RFC 3261 §8.2.1–§8.2.2, §16.3 item 3 (Max-Forwards), §20.5 (Allow).

use crate::call::Reply;
use crate::sip::{Method, Request, StatusCode};

pub use crate::call::{ACCEPT, ALLOW};

/// A request refused before any handler: the reply to send (status and the headers it must
/// carry: Allow, Unsupported).
pub type Refusal = Reply;

fn refuse(status: StatusCode) -> Refusal {
    Reply::new(status)
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
            | Method::Refer
            | Method::Subscribe
            | Method::Message
            | Method::Publish
    )
}

/// Runs the §8.2 checks. ACK is never answered, so it is only checked by the caller.
pub fn check(req: &Request) -> Result<(), Refusal> {
    use crate::sip::HeaderName;
    if !req.uri_is_sip() {
        return Err(refuse(StatusCode::UNSUPPORTED_URI_SCHEME));
    }
    let mut unsupported: Vec<String> = req.require();
    if *req.method() != Method::Cancel && *req.method() != Method::Ack {
        // RFC 4028's `timer` is ours (session-timers=refuse answers it 420 per entry).
        unsupported.retain(|opt| {
            !opt.is_empty() && !opt.eq_ignore_ascii_case(crate::call::session_timer::TIMER)
        });
        if !unsupported.is_empty() {
            let r = refuse(StatusCode::BAD_EXTENSION)
                .header(HeaderName::Unsupported, unsupported.join(", "));
            return Err(r);
        }
    }
    if req.max_forwards() == Some(0) && *req.method() != Method::Options {
        return Err(refuse(StatusCode::TOO_MANY_HOPS));
    }
    if !is_served(req.method()) {
        let status = match req.method() {
            Method::Extension(_) => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::METHOD_NOT_ALLOWED,
        };
        return Err(refuse(status).header(HeaderName::Allow, ALLOW));
    }
    Ok(())
}
