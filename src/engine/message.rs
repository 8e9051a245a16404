//! Out-of-dialog text messages (RFC 3428 SIP MESSAGE) into the dialplan, as chan_sip's
//! `handle_request_message` with `accept_outofcall_message=yes`: the sender is challenged
//! (`auth_message_requests`, 407 as for an INVITE), the message runs the dialplan at its
//! Request-URI's extension in `outofcall_message_context` (else the sender's context) with
//! `MESSAGE(to)`, `MESSAGE(from)` and `MESSAGE(body)` set, and is answered 202 Accepted.
//! Without `accept_outofcall_message` the answer is 405, as chan_sip's.
//!
//! Reading list: RFC 3428 §7 (202, 415, 413); Asterisk `main/message.c` (the message
//! channel: applications that need media do nothing there) and `chan_sip.c`.

use super::Engine;
use crate::auth::{AuthVerdict, Refusal};
use crate::call::message::MAX_BODY;
use crate::call::Reply;
use crate::dialplan::{ChannelInfo, Command, Execution, Resume};
use crate::flow::Flow;
use crate::sip::{HeaderName, NameAddr, Request, StatusCode};
use crate::transaction::Handle;
use std::time::Instant;

/// Where an admitted MESSAGE runs ([`Engine::admit_message`]).
pub(super) struct AdmittedMessage {
    user: String,
    context: String,
    exten: String,
    peer_name: String,
}

/// Dialplan steps one message may take (it never waits, so a loop must be cut).
const MAX_STEPS: usize = 200;

impl Engine {
    /// Judges an out-of-dialog MESSAGE before any state is kept: a refusal or a challenge is
    /// the `Err` the router sends statelessly (its bytes count against the source's credit,
    /// security/reflect.rs); `Ok` is where the admitted message runs.
    pub(super) fn admit_message(
        &mut self,
        now: Instant,
        req: &Request,
        flow: Flow,
    ) -> Result<AdmittedMessage, Reply> {
        let opts = self.cfg.general.message.clone();
        if !opts.accept_outofcall {
            let r = Reply::new(StatusCode::METHOD_NOT_ALLOWED)
                .header(HeaderName::Allow, super::validate::ALLOW);
            return Err(r);
        }
        let ct = req.content_type().unwrap_or("").to_ascii_lowercase();
        if !ct.starts_with("text/plain") {
            let r = Reply::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .header(HeaderName::Accept, "text/plain");
            return Err(r);
        }
        if req.body().len() > MAX_BODY {
            return Err(Reply::new(StatusCode::REQUEST_ENTITY_TOO_LARGE));
        }
        let source = flow.remote;
        let user = req
            .from()
            .uri
            .user
            .as_deref()
            .unwrap_or_default()
            .to_owned();
        let entry = self.cfg.entry(&user);
        if opts.auth {
            let verdict =
                self.check_credentials(now, req, source, entry, HeaderName::ProxyAuthorization);
            match verdict {
                // Proved: answered in full from now on (security/reflect.rs).
                AuthVerdict::Accepted => self.reflect.trust(now, source.ip()),
                AuthVerdict::Challenge { stale } => {
                    let r = self.challenge(
                        now,
                        StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                        stale,
                        source,
                    );
                    return Err(r);
                }
                AuthVerdict::Forbidden(why) => {
                    self.auth_refused(now, req, source, why);
                    return Err(Reply::new(StatusCode::FORBIDDEN));
                }
                AuthVerdict::Malformed(_) => {
                    self.auth_refused(now, req, source, Refusal::BadCredentials);
                    let r = Reply::with_reason(
                        StatusCode::BAD_REQUEST,
                        "Bad Proxy-Authorization header",
                    );
                    return Err(r);
                }
            }
        }
        let peer = entry.and_then(|p| self.cfg.peer(p));
        let peer_name = peer.map(|p| p.name.clone()).unwrap_or_default();
        let context = opts
            .context
            .clone()
            .or_else(|| peer.map(|p| p.context.clone()))
            .unwrap_or_else(|| self.cfg.general.context.clone());
        let exten = req.uri().user.as_deref().unwrap_or("s").to_owned();
        let wall = self.wall(now);
        if !self.dialplan.exists(&context, &exten, 1, &user, wall) {
            log::info!("MESSAGE from '{user}' to {exten}@{context}: no such extension");
            return Err(Reply::new(StatusCode::NOT_FOUND));
        }
        Ok(AdmittedMessage {
            user,
            context,
            exten,
            peer_name,
        })
    }

    /// Runs an admitted MESSAGE: 202 on server transaction `h`, then its dialplan.
    pub(super) fn handle_message(
        &mut self,
        now: Instant,
        req: &Request,
        h: Handle,
        admitted: AdmittedMessage,
    ) {
        let AdmittedMessage {
            user,
            context,
            exten,
            peer_name,
        } = admitted;
        self.reply_on(now, h, Reply::new(StatusCode::ACCEPTED));
        self.unique_ids += 1;
        let from = req.from();
        let chan = ChannelInfo {
            callerid_name: from.display.clone().unwrap_or_default(),
            callerid_num: user.as_str().into(),
            sip_call_id: req.call_id().into(),
            unique_id: compact_str::format_compact!("{}.{}", self.start_wall_secs, self.unique_ids),
            peer: peer_name.into(),
            name: None,
            sip_headers: Default::default(),
        };
        let mut ex = Execution::new(&self.dialplan, &context, &exten, chan);
        let mut shown_from = NameAddr::new(from.uri.clone());
        shown_from.display = from.display.clone();
        crate::dialplan::set_message_field(&mut ex, "to", &req.uri().to_string());
        crate::dialplan::set_message_field(&mut ex, "from", &shown_from.to_string());
        let body = String::from_utf8_lossy(req.body()).into_owned();
        crate::dialplan::set_message_field(&mut ex, "body", &body);
        log::info!(
            "MESSAGE from '{user}' to {exten}@{context} ({} bytes)",
            body.len()
        );
        self.run_message(now, ex);
    }

    /// Steps a message's dialplan to its end: MessageSend is done at once, what needs a
    /// call's media does nothing (Asterisk's message channel), and the run is cut after
    /// [`MAX_STEPS`].
    fn run_message(&mut self, now: Instant, mut ex: Execution) {
        let wall = self.wall(now);
        let mut resume = Resume::Start;
        for _ in 0..MAX_STEPS {
            let cmd = ex.step(&self.dialplan, wall, resume);
            resume = Resume::Done;
            match cmd {
                Command::MessageSend { to, from, body } => {
                    let mut cx = cx!(self, now, wall);
                    let status = crate::call::message::deliver(&mut cx, &to, &from, &body);
                    resume = Resume::MessageSent { status };
                }
                Command::End { .. }
                | Command::Hangup { .. }
                | Command::Busy
                | Command::Congestion => return,
                Command::Answer
                | Command::Progress
                | Command::Ringing
                | Command::Keep
                | Command::Wait(_)
                | Command::PlayTones { .. }
                | Command::StopPlayTones
                | Command::StartMusicOnHold { .. }
                | Command::StopMusicOnHold => {}
                other => {
                    log::warn!("a text message's dialplan cannot do {other:?}: it ends here");
                    return;
                }
            }
        }
        log::warn!("a text message's dialplan ran {MAX_STEPS} steps: cut");
    }
}
