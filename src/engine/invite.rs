//! A new INVITE (no To tag): who is calling, digest challenge (407), call-limit, and the start
//! of a call in the caller's dialplan context.
//!
//! Reading list: RFC 3261 §13.3 (UAS processing of an INVITE), §22.3 (Proxy-Authenticate for
//! a UAS acting as a B2BUA), Asterisk's `check_user_full` for how chan_sip picks the entry.

use super::call_state::{Call, Phase};
use super::{Engine, Reply};
use crate::auth::AuthVerdict;
use crate::call::{DialogState, Leg, LegRole};
use crate::config::sip_values::Host;
use crate::sip::{HeaderName, Request};
use crate::transaction::Handle;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// Who an INVITE is from, as chan_sip decides it.
enum Caller {
    /// A user/friend by From name, to be authenticated.
    Entry(usize),
    /// A static peer matched by source address with `insecure=invite`: no challenge.
    TrustedPeer(usize),
    /// Nobody we know.
    Unknown,
}

impl Engine {
    /// Handles an out-of-dialog INVITE on its new server transaction `h`.
    pub(super) fn handle_new_invite(
        &mut self,
        now: Instant,
        req: Rc<Request>,
        source: SocketAddr,
        h: Handle,
    ) {
        // 100 Trying at once: the phone stops retransmitting while we think (§17.2.1).
        self.reply_on(now, h, Reply::status(100, "Trying"));
        let caller = self.identify_caller(&req, source);
        let (entry, context) = match caller {
            Caller::TrustedPeer(i) => (Some(i), self.cfg.peers[i].context.clone()),
            Caller::Entry(i) => match self.check_credentials(
                now,
                &req,
                source,
                Some(i),
                HeaderName::ProxyAuthorization,
            ) {
                AuthVerdict::Accepted => (Some(i), self.cfg.peers[i].context.clone()),
                verdict => return self.refuse_auth(now, h, verdict),
            },
            Caller::Unknown if self.cfg.general.allow_guest => {
                (None, self.cfg.general.context.clone())
            }
            Caller::Unknown if self.cfg.general.always_auth_reject => {
                let verdict =
                    self.check_credentials(now, &req, source, None, HeaderName::ProxyAuthorization);
                return self.refuse_auth(now, h, verdict);
            }
            Caller::Unknown => return self.reply_on(now, h, Reply::status(403, "Forbidden")),
        };
        if let Some(i) = entry {
            if self.over_call_limit(i) {
                log::info!("call-limit reached for '{}': 486", self.cfg.peers[i].name);
                return self.reply_on(now, h, Reply::status(486, "Busy Here"));
            }
        }
        let exten = dialled_extension(&req);
        let caller_leg = Leg {
            role: LegRole::Uas,
            call_id: req.call_id().to_string(),
            local_tag: self
                .server_txs
                .get(h)
                .map(|t| t.to_tag.clone())
                .unwrap_or_default(),
            remote_tag: req.from().tag().map(str::to_string),
            local_uri: without_tag(req.to()),
            remote_uri: without_tag(req.from()),
            remote_target: req_contact_uri(&req),
            route_set: req.record_route().unwrap_or_default(),
            local_cseq: 0,
            remote_cseq: req.cseq().seq,
            peer: source,
            state: DialogState::Trying,
            invite_branch: None,
            invite_cseq: req.cseq().seq,
            entry,
        };
        let exec = self.start_dialplan(&context, &exten, &req, entry);
        let call = Call {
            legs: vec![caller_leg],
            invite: req.clone(),
            invite_tx: Some(h),
            fork_txs: vec![None],
            fork_acks: vec![None],
            phase: Phase::Routing,
            dial: None,
            exec,
            wait_timer: None,
            pending_ack: None,
            counted: entry.into_iter().collect(),
            hangup_status: 480,
            exten: exten.clone(),
            dial_attempted: false,
            media: Default::default(),
        };
        let cref = match self.calls.insert(req.call_id(), call) {
            Ok(c) => c,
            Err(_) => {
                let mut r = Reply::status(503, "Service Unavailable");
                r.headers.push((HeaderName::RetryAfter, "5".into()));
                return self.reply_on(now, h, r);
            }
        };
        if let Some(i) = entry {
            *self.active_calls.entry(i).or_default() += 1;
        }
        log::info!(
            "call {} from {} to '{exten}' in context '{context}'",
            req.call_id(),
            caller_name(&req)
        );
        self.run_dialplan(now, cref, None);
    }

    fn refuse_auth(&mut self, now: Instant, h: Handle, verdict: AuthVerdict) {
        let reply = match verdict {
            AuthVerdict::Accepted => Reply::status(500, "Server Internal Error"),
            AuthVerdict::Challenge { stale } => self.challenge(now, 407, stale),
            AuthVerdict::Forbidden => Reply::status(403, "Forbidden"),
            AuthVerdict::Malformed(_) => Reply::status(400, "Bad Proxy-Authorization header"),
        };
        self.reply_on(now, h, reply);
    }

    fn identify_caller(&self, req: &Request, source: SocketAddr) -> Caller {
        if let Some(user) = req.from().uri.user.as_deref() {
            if let Some(i) = self.cfg.entry(user) {
                if self.cfg.peers[i].kind.calls_in() {
                    return Caller::Entry(i);
                }
            }
        }
        // chan_sip's find_peer by address: a static host whose address and port match.
        for (i, p) in self.cfg.peers.iter().enumerate() {
            if let Host::Static {
                ip: Some(ip), port, ..
            } = &p.host
            {
                let port_ok = p.insecure.port || *port == source.port();
                if *ip == source.ip() && port_ok {
                    return if p.insecure.invite {
                        Caller::TrustedPeer(i)
                    } else {
                        Caller::Entry(i)
                    };
                }
            }
        }
        Caller::Unknown
    }

    /// True when `entry` already has as many calls as its call-limit allows.
    pub(super) fn over_call_limit(&self, entry: usize) -> bool {
        match self.cfg.peers[entry].call_limit {
            Some(limit) => self.active_calls.get(&entry).copied().unwrap_or(0) >= limit,
            None => false,
        }
    }
}

/// The extension an INVITE asks for: the Request-URI user (unescaped by the parser), else the
/// To user, else `s`.
fn dialled_extension(req: &Request) -> String {
    let user = req
        .uri()
        .user
        .as_deref()
        .or(req.to().uri.user.as_deref())
        .unwrap_or("");
    if user.is_empty() {
        "s".to_string()
    } else {
        user.to_string()
    }
}

fn caller_name(req: &Request) -> String {
    let f = req.from();
    match (&f.display, &f.uri.user) {
        (Some(d), Some(u)) => format!("\"{d}\" <{u}>"),
        (None, Some(u)) => u.clone(),
        _ => f.uri.host.clone(),
    }
}

/// A copy of a From/To without its tag.
pub(super) fn without_tag(na: &crate::sip::NameAddr) -> crate::sip::NameAddr {
    let mut na = na.clone();
    na.params.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
    na
}

/// The Contact URI of a request (its remote target), or the From URI when absent.
pub(super) fn req_contact_uri(req: &Request) -> crate::sip::Uri {
    match req.contacts() {
        Ok(list) => list
            .into_iter()
            .find_map(|c| match c {
                crate::sip::Contact::Addr(na) => Some(na.uri),
                crate::sip::Contact::Star => None,
            })
            .unwrap_or_else(|| req.from().uri.clone()),
        Err(_) => req.from().uri.clone(),
    }
}
