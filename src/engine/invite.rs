//! A new INVITE (no To tag): who is calling, digest challenge (407), call-limit, and the start
//! of a call in the caller's dialplan context.
//!
//! Admission comes first and is stateless: an INVITE that is challenged or refused before it
//! proved who sent it gets exactly one response per copy received, no `100 Trying`, no
//! transaction and no retransmissions of ours (as a stateless proxy challenges, RFC 3261
//! §16.11). A spoofed source therefore draws one answer no bigger than its request instead of
//! eleven retransmitted 407s, and a flood of unauthenticated INVITEs fills no table. Only an
//! admitted INVITE gets a server transaction, its `100` and the call.
//!
//! Reading list: RFC 3261 §13.3 (UAS processing of an INVITE), §22.3 (Proxy-Authenticate for
//! a UAS acting as a B2BUA), Asterisk's `check_user_full` for how chan_sip picks the entry.

use super::{Engine, PeerId, Reply};
use crate::auth::{AuthVerdict, Refusal};
use crate::call::{Call, Caller, InsertError, NewCall};
use crate::config::sip_values::Host;
use crate::flow::Flow;
use crate::sip::{HeaderName, Request, StatusCode};
use crate::transaction::Handle;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// Why an INVITE did not become a call.
enum InviteRefusal {
    /// Credentials missing, stale, wrong, or from a denied source.
    Auth(AuthVerdict),
    /// Nobody we know, and guests are not allowed.
    Forbidden,
    /// The caller's entry is at its call-limit.
    CallLimit,
    /// The call table is full.
    Full,
    /// A live call already has this Call-ID (a merged or looped request, §8.2.2.2).
    Duplicate,
    /// The INVITE carries our own loop marker: it went out of this sipbox and came back.
    Loop,
    /// Its source address already holds `maxcallspersource` calls.
    SourceLimit,
}

/// Who an admitted INVITE is from.
pub(super) struct Admitted {
    peer: Option<PeerId>,
    context: String,
    /// The extension, when not the Request-URI's (a registration's `/extension`).
    exten: Option<String>,
}

impl Engine {
    /// Admits or refuses a new out-of-dialog INVITE before any state is kept for it. `Err`:
    /// the reply to send statelessly.
    pub(super) fn admit_invite(
        &mut self,
        now: Instant,
        req: &Request,
        source: Flow,
    ) -> Result<Admitted, Reply> {
        if self.stopping() == Some(crate::cli::StopMode::Gracefully) {
            // `core stop gracefully`: no new calls; the phone may try again elsewhere.
            return Err(Reply::new(StatusCode::SERVICE_UNAVAILABLE));
        }
        self.admit(now, req, source)
            .map_err(|refusal| self.invite_refusal(now, refusal, req, source.remote))
    }

    /// Starts the call of an admitted INVITE on its new server transaction `h`.
    pub(super) fn handle_new_invite(
        &mut self,
        now: Instant,
        req: Rc<Request>,
        source: Flow,
        h: Handle,
        who: Admitted,
    ) {
        // 100 Trying at once: the phone stops retransmitting while we think (§17.2.1).
        self.reply_on(now, h, Reply::new(StatusCode::TRYING));
        if req.headers().get(&HeaderName::Replaces).is_some() {
            // RFC 3891: it takes another leg's place (see join.rs).
            return self.invite_replaces(now, req, source, h, who.peer);
        }
        if who.exten.is_none()
            && crate::call::dialled_extension_str(&req) == self.features.pickup_exten
        {
            // features.conf pickupexten, before the dialplan (as chan_sip).
            return self.invite_pickup(now, req, source, h, who.peer);
        }
        // RFC 4028 §9: an interval below our Min-SE is 422 before any call exists.
        let st = match who.peer.and_then(|p| self.cfg.peer(p)) {
            Some(p) => p.session_timers,
            None => self.cfg.general.session_timers,
        };
        if let Err(reply) = crate::call::session_timer::negotiate_uas(&st, &req, None, now) {
            log::info!(
                "call {}: session timer refused ({})",
                req.call_id(),
                reply.status.code()
            );
            return self.reply_on(now, h, reply);
        }
        if let Err(refusal) = self.try_new_call(now, req.clone(), source, h, who) {
            let reply = self.invite_refusal(now, refusal, &req, source.remote);
            self.reply_on(now, h, reply);
        }
    }

    fn admit(
        &mut self,
        now: Instant,
        req: &Request,
        source: Flow,
    ) -> Result<Admitted, InviteRefusal> {
        // A marker is 16 hex digits: read as a number, it is ours whatever the case.
        let ours = self.loop_token;
        if crate::call::loop_markers(req).any(|t| u64::from_str_radix(t, 16) == Ok(ours)) {
            log::warn!(
                "call {}: INVITE came back to this sipbox (X-Sipbox-Loop): 482",
                req.call_id()
            );
            return Err(InviteRefusal::Loop);
        }
        // The ITSP calling a number we registered: it cannot answer our challenge (it does
        // not know our secret), so it is trusted by address, as `insecure=invite` would.
        let mut exten = None;
        let caller = match self.trunk_call(req, source) {
            Some((peer, context, x)) => {
                exten = Some(x);
                Some((peer, context))
            }
            None => None,
        };
        let (trunk, (peer, context)) = match caller {
            Some(pc) => (true, pc),
            None => {
                // Identified once: the entry by From name, else a static peer by address.
                let who = self.identify_caller(req, source);
                let trusted = matches!(who, Caller::TrustedPeer(_));
                (trusted, self.caller_entry(now, req, source, who)?)
            }
        };
        if let Some(i) = peer {
            if self.load.over_limit(&self.cfg, i) {
                let name = self.cfg.peer(i).map(|p| p.name.as_str()).unwrap_or("");
                log::info!("call-limit reached for '{name}': 486");
                return Err(InviteRefusal::CallLimit);
            }
        }
        // One address may not hold the whole call table (an account opening calls and never
        // hanging up). Trunks (static hosts trusted by address) and banignore are exempt; an
        // entry may set its own cap.
        let max = match peer.and_then(|i| self.cfg.peer(i)) {
            Some(p) => p.max_calls_per_source,
            None => self.cfg.general.ban.max_calls_per_source,
        };
        let ip = source.remote.ip();
        if max > 0
            && !trunk
            && !self.cfg.general.ban.ignores(ip)
            && self.calls_by_source.get(&ip).copied().unwrap_or(0) >= max
        {
            log::warn!("{ip} holds {max} calls (maxcallspersource): 503");
            return Err(InviteRefusal::SourceLimit);
        }
        Ok(Admitted {
            peer,
            context,
            exten,
        })
    }

    /// Who a new INVITE is from when it is not the ITSP of a registration: an entry by name
    /// (authenticated), a trusted static peer, or a guest (`caller`: [`Self::identify_caller`]'s
    /// answer).
    fn caller_entry(
        &mut self,
        now: Instant,
        req: &Request,
        source: Flow,
        caller: Caller,
    ) -> Result<(Option<PeerId>, String), InviteRefusal> {
        Ok(match caller {
            Caller::TrustedPeer(i) => (Some(i), self.context_of(i)),
            Caller::Entry(i) => match self.check_credentials(
                now,
                req,
                source.remote,
                Some(i),
                HeaderName::ProxyAuthorization,
            ) {
                AuthVerdict::Accepted => (Some(i), self.context_of(i)),
                verdict => return Err(InviteRefusal::Auth(verdict)),
            },
            Caller::Unknown if self.cfg.general.allow_guest => {
                (None, self.cfg.general.context.clone())
            }
            Caller::Unknown if self.cfg.general.always_auth_reject => {
                let verdict = self.check_credentials(
                    now,
                    req,
                    source.remote,
                    None,
                    HeaderName::ProxyAuthorization,
                );
                return Err(InviteRefusal::Auth(verdict));
            }
            Caller::Unknown => return Err(InviteRefusal::Forbidden),
        })
    }

    fn try_new_call(
        &mut self,
        now: Instant,
        req: Rc<Request>,
        source: Flow,
        h: Handle,
        who: Admitted,
    ) -> Result<(), InviteRefusal> {
        let Admitted {
            peer,
            context,
            exten,
        } = who;
        self.unique_ids += 1;
        let mut unique_id = String::with_capacity(24);
        crate::sip::write::push_decimal(&mut unique_id, self.start_wall_secs as usize);
        unique_id.push('.');
        crate::sip::write::push_decimal(&mut unique_id, self.unique_ids as usize);
        // Kept for the debug line only when it is printed (the call takes the context).
        let context_log = log::log_enabled!(log::Level::Debug).then(|| context.clone());
        let new = NewCall {
            invite: req.clone(),
            tx: h,
            to_tag: self
                .txs
                .server(h)
                .map(|t| t.to_tag().to_string())
                .unwrap_or_default(),
            source,
            peer,
            context,
            unique_id,
            exten,
        };
        let wall = self.wall(now);
        let cx = cx!(self, now, wall);
        let created = self
            .calls
            .insert(req.call_id(), |handle| Call::new(&cx, handle, new));
        let handle = match created {
            Ok(handle) => handle,
            // A second INVITE reusing a live Call-ID with a new branch is not a new call, and
            // not a full table either: 482 Loop Detected (RFC 3261 §8.2.2.2).
            Err(InsertError::Duplicate(_)) => return Err(InviteRefusal::Duplicate),
            Err(InsertError::Full) => return Err(InviteRefusal::Full),
        };
        self.count_call();
        if let Some(i) = peer {
            self.load.add(i);
        }
        *self.calls_by_source.entry(source.remote.ip()).or_insert(0) += 1;
        // Debug, not info: per-call lines are formatted only when asked for (issue 15);
        // the admin's lines are the verbose ones ("-- Executing ...").
        log::debug!(
            "call {} from {} to '{}' in context '{}'",
            req.call_id(),
            caller_name(&req),
            self.calls.get(handle).map_or("", |c| c.exten.as_str()),
            context_log.as_deref().unwrap_or(""),
        );
        self.with_call(now, handle, |call, cx| call.begin(cx));
        Ok(())
    }

    fn context_of(&self, peer: PeerId) -> String {
        self.cfg
            .peer(peer)
            .map(|p| p.context.clone())
            .unwrap_or_default()
    }

    /// The one place an INVITE refusal becomes a reply.
    fn invite_refusal(
        &mut self,
        now: Instant,
        refusal: InviteRefusal,
        req: &Request,
        source: std::net::SocketAddr,
    ) -> Reply {
        match refusal {
            InviteRefusal::Auth(AuthVerdict::Accepted) => {
                Reply::new(StatusCode::SERVER_INTERNAL_ERROR)
            }
            InviteRefusal::Auth(AuthVerdict::Challenge { stale }) => self.challenge(
                now,
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                stale,
                source,
            ),
            InviteRefusal::Auth(AuthVerdict::Forbidden(why)) => {
                self.auth_refused(now, req, source, why);
                Reply::new(StatusCode::FORBIDDEN)
            }
            InviteRefusal::Forbidden => {
                // allowguest=no and nobody we know: a scan or a misdirected phone.
                self.auth_refused(now, req, source, Refusal::UnknownAccount);
                Reply::new(StatusCode::FORBIDDEN)
            }
            InviteRefusal::Duplicate | InviteRefusal::Loop => Reply::new(StatusCode::LOOP_DETECTED),
            InviteRefusal::Auth(AuthVerdict::Malformed(_)) => {
                self.auth_refused(now, req, source, Refusal::BadCredentials);
                Reply::with_reason(StatusCode::BAD_REQUEST, "Bad Proxy-Authorization header")
            }
            InviteRefusal::CallLimit => Reply::new(StatusCode::BUSY_HERE),
            InviteRefusal::SourceLimit => {
                Reply::new(StatusCode::SERVICE_UNAVAILABLE).header(HeaderName::RetryAfter, "60")
            }
            InviteRefusal::Full => {
                Reply::new(StatusCode::SERVICE_UNAVAILABLE).header(HeaderName::RetryAfter, "5")
            }
        }
    }

    fn identify_caller(&self, req: &Request, source: Flow) -> Caller {
        // The From user read off the From text: a challenged INVITE never decodes From.
        if let Some(user) = req.from_user() {
            if let Some(i) = self.cfg.entry(&user) {
                if self.cfg.peer(i).is_some_and(|p| p.kind.calls_in()) {
                    return Caller::Entry(i);
                }
            }
        }
        // chan_sip's find_peer by address: a static host whose address and port match (a
        // host name by the addresses it resolved to).
        let from = source.remote;
        for (i, p) in self.cfg.peers() {
            if let Host::Static { ip, port, .. } = &p.host {
                let matches = |a: SocketAddr| {
                    a.ip() == from.ip() && (p.insecure.port || a.port() == from.port())
                };
                let hit = match ip {
                    Some(ip) => matches(SocketAddr::new(*ip, *port)),
                    None => self.cfg.resolved_all(i).iter().any(|a| matches(*a)),
                };
                if hit {
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
}

fn caller_name(req: &Request) -> String {
    let f = req.from();
    match (&f.display, &f.uri.user) {
        (Some(d), Some(u)) => format!("\"{d}\" <{u}>"),
        (None, Some(u)) => u.to_string(),
        _ => f.uri.host.to_string(),
    }
}
