//! REGISTER: digest-authenticated bindings for `host=dynamic` peers.
//!
//! Reading list: RFC 3261 §10.3 (the registrar's steps, `*`, 423 with Min-Expires),
//! §20.19 (Expires), RFC 3581 (the source address we keep for calls).

use super::{Engine, Reply};
use crate::auth::{AuthVerdict, Refusal};
use crate::flow::Flow;
use crate::registrar::{ContactUpdate, RegisterError};
use crate::sip::{Contact, HeaderName, Request, StatusCode};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The most bytes one binding may keep (its contact, User-Agent and Path): a phone's are a
/// few hundred.
pub const MAX_BINDING_BYTES: usize = 4096;

impl Engine {
    /// Handles a REGISTER that passed validation; returns the final response to send.
    pub(super) fn handle_register(&mut self, now: Instant, req: &Request, flow: Flow) -> Reply {
        let source = flow.remote;
        // The AOR must be a SIP or SIPS URI (RFC 3261 §10.3 step 5; RFC 4475 unksm2).
        if !matches!(req.to().uri.scheme.as_str(), "sip" | "sips") {
            return Reply::with_reason(
                StatusCode::BAD_REQUEST,
                "Bad To header: the AOR must be a SIP or SIPS URI",
            );
        }
        let Some(aor) = req.to().uri.user.clone() else {
            return Reply::new(StatusCode::NOT_FOUND);
        };
        let entry = self.cfg.entry(&aor);
        if entry.is_none() && !self.cfg.general.always_auth_reject {
            self.auth_refused(now, req, source, Refusal::UnknownAccount);
            return Reply::new(StatusCode::NOT_FOUND);
        }
        match self.check_credentials(now, req, source, entry, HeaderName::Authorization) {
            AuthVerdict::Accepted => {}
            AuthVerdict::Challenge { stale } => {
                return self.challenge(now, StatusCode::UNAUTHORIZED, stale, source)
            }
            AuthVerdict::Forbidden(why) => {
                self.auth_refused(now, req, source, why);
                return Reply::new(StatusCode::FORBIDDEN);
            }
            AuthVerdict::Malformed(_) => {
                self.auth_refused(now, req, source, Refusal::BadCredentials);
                return Reply::with_reason(StatusCode::BAD_REQUEST, "Bad Authorization header");
            }
        }
        let Some(entry) = entry else {
            return Reply::new(StatusCode::FORBIDDEN);
        };
        let Some(entry) = self.cfg.peer(entry) else {
            return Reply::new(StatusCode::FORBIDDEN);
        };
        if !entry.kind.calls_out() || !entry.is_dynamic() {
            log::warn!(
                "peer '{}' is not host=dynamic: REGISTER refused",
                entry.name
            );
            return Reply::new(StatusCode::FORBIDDEN);
        }
        let contacts = match req.contacts() {
            Ok(c) => c,
            Err(e) => return Reply::with_reason(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let header_expires = match req.expires() {
            Ok(e) => e,
            Err(e) => return Reply::with_reason(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let g = &self.cfg.general;
        let name = entry.name.clone();
        if contacts.iter().any(|c| matches!(c, Contact::Star)) {
            if contacts.len() != 1 || header_expires != Some(0) {
                return Reply::with_reason(StatusCode::BAD_REQUEST, "Bad Contact header");
            }
            let n = self.registrar.remove_all(&name);
            log::info!("unregistered all {n} contact(s) of '{name}'");
            if n > 0 {
                crate::verbose!(3, "Unregistered SIP '{name}'");
            }
            return self.registered_ok(&name, now);
        }
        let mut updates = Vec::with_capacity(contacts.len());
        for c in &contacts {
            let Contact::Addr(na) = c else { continue };
            let requested = match na.param("expires") {
                Some(Some(v)) => match parse_delta(v) {
                    Some(n) => Some(n),
                    None => {
                        return Reply::with_reason(StatusCode::BAD_REQUEST, "Bad Contact header")
                    }
                },
                _ => header_expires,
            };
            let secs = requested.unwrap_or(secs32(g.default_expiry));
            let (min, max) = (secs32(g.min_expiry), secs32(g.max_expiry));
            if secs != 0 && secs < min {
                return Reply::new(StatusCode::INTERVAL_TOO_BRIEF)
                    .header(HeaderName::MinExpires, min.to_string());
            }
            let secs = secs.min(max);
            if secs != 0 && !contact_allowed(&entry.contact_acl, &na.uri.host) {
                log::warn!(
                    "'{name}' from {source}: contact {} refused by contactpermit/contactdeny",
                    na.uri
                );
                return Reply::new(StatusCode::FORBIDDEN);
            }
            updates.push(ContactUpdate {
                contact: na.uri.to_string(),
                expires: Duration::from_secs(secs.into()),
                nated: crate::nat::detect::request_behind_nat(req, source),
            });
        }
        // Byte budget (issue 13): what a binding keeps (contact, User-Agent, Path) is bounded,
        // so an entry's cost is at most MAX_CONTACTS_PER_AOR times this.
        let details = req
            .headers()
            .get(&HeaderName::UserAgent)
            .map_or(0, str::len)
            + req
                .headers()
                .get_all(&HeaderName::Path)
                .map(str::len)
                .sum::<usize>();
        if updates
            .iter()
            .any(|u| u.contact.len() + details > MAX_BINDING_BYTES)
        {
            log::warn!("'{name}' from {source}: binding over {MAX_BINDING_BYTES} bytes refused");
            return Reply::with_reason(StatusCode::BAD_REQUEST, "Binding too large");
        }
        let cseq = req.cseq().seq;
        // chan_sip says `Registered SIP` when the peer's address changes, not on a refresh.
        let known_source = self
            .registrar
            .bindings(&name)
            .iter()
            .any(|b| b.flow.remote == source);
        let had_bindings = !self.registrar.bindings(&name).is_empty();
        match self
            .registrar
            .update(now, &name, flow, req.call_id(), cseq, &updates)
        {
            Ok(()) => {}
            Err(RegisterError::OutOfOrder) => return Reply::new(StatusCode::SERVER_INTERNAL_ERROR),
            Err(RegisterError::Full) => {
                return Reply::new(StatusCode::SERVICE_UNAVAILABLE)
                    .header(HeaderName::RetryAfter, "60");
            }
        }
        let user_agent = req.headers().get(&HeaderName::UserAgent).unwrap_or("");
        let path: Vec<&str> = req.headers().get_all(&HeaderName::Path).collect();
        let path = path.join(", ");
        for u in &updates {
            if !u.expires.is_zero() {
                self.registrar
                    .set_details(&name, &u.contact, user_agent, &path);
            }
        }
        let has_bindings = !self.registrar.bindings(&name).is_empty();
        if has_bindings && !known_source {
            crate::verbose!(3, "Registered SIP '{name}' at {source}");
        } else if had_bindings && !has_bindings {
            crate::verbose!(3, "Unregistered SIP '{name}'");
        }
        for u in &updates {
            if u.expires.is_zero() {
                log::info!("unregistered '{name}' contact {}", u.contact);
            } else {
                log::info!(
                    "registered '{name}' at {} via {source} for {} s",
                    u.contact,
                    u.expires.as_secs()
                );
            }
        }
        self.status.counters.registers_accepted += 1;
        self.registered_ok(&name, now)
    }

    /// 200 OK listing every current binding with its remaining lifetime.
    fn registered_ok(&self, aor: &str, now: Instant) -> Reply {
        let mut r = Reply::new(StatusCode::OK);
        for b in self.registrar.bindings(aor) {
            let left = b.expires_at.saturating_duration_since(now).as_secs();
            r.headers.push((
                HeaderName::Contact,
                format!("<{}>;expires={left}", b.contact).into(),
            ));
        }
        r
    }
}

/// True for the answers to a REGISTER that has not proved who sent it (challenge, refusal,
/// unknown name, broken request): sent without a transaction, like a stateless proxy's, so
/// nothing is kept for a source that may be spoofed. A retransmission is judged again and
/// gets the same kind of answer.
pub(super) fn answered_statelessly(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::NOT_FOUND
            | StatusCode::BAD_REQUEST
    )
}

/// delta-seconds; values past 2^32-1 mean 2^32-1 (RFC 3261 §20.19's rule for Expires).
fn parse_delta(v: &str) -> Option<u32> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.parse::<u32>().unwrap_or(u32::MAX))
}

/// With a contact ACL, only IP-literal contacts it allows may be bound (a name can't be checked
/// without DNS, and resolving attacker-chosen names is how scanners get answers elsewhere).
/// Whole seconds of a config duration, saturating.
fn secs32(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// With a contact ACL, only IP-literal contacts it allows may be bound.
fn contact_allowed(acl: &crate::config::acl::Acl, host: &str) -> bool {
    if acl.is_empty() {
        return true;
    }
    let h = host.trim_start_matches('[').trim_end_matches(']');
    match h.parse::<IpAddr>() {
        Ok(ip) => acl.allows(ip),
        Err(_) => false,
    }
}
