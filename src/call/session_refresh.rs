//! A call's session timers (RFC 4028) at work: each leg's timer negotiated at its INVITE
//! and answer, one call timer on the heap for the earliest leg deadline, refreshes sent
//! (UPDATE when the leg allows it, else a re-INVITE offering the last description unchanged,
//! same o= version) and answered (a refresh from a leg's end is answered on that leg, never
//! relayed), and the teardown — BYE on every leg — when a leg's refreshes stop.
//!
//! Reading list: RFC 4028 §7.4 (422 → ask again once with the larger interval), §9, §10
//! (refresh at half the interval, BYE at expiry minus min(32, SE/3) s); RFC 3264 §8 (a
//! refresh offers the same description); Asterisk's `chan_sip.c` `proc_session_timer` (the
//! expiry hangs the channel up), `handle_response_invite` (a refresh answered 408/481 ends the
//! call). The rules themselves are in [`super::session_timer`].

use super::build::{self, Origin};
use super::dialog::DialogState;
use super::session_timer::{self, Refresher, SessionTimer};
use super::state::{Call, EndReason};
use super::{Cx, LegRef, Purpose, Reply};
use crate::config::sip_session_timers::SessionTimers;
use crate::handle::LegId;
use crate::sip::{HeaderName, Method, Request, Response, StatusCode};
use crate::transaction::{ClientEvent, Handle as TxHandle};
use crate::wake::{CallTimer, Wake};
use std::time::Duration;

/// How long a refresh that met glare (491, or a re-INVITE of the other side in flight)
/// waits before it is sent again (RFC 3261 §14.1: 2.1–4 s for the Call-ID's owner).
const GLARE_RETRY: Duration = Duration::from_secs(3);

/// One leg's session-timer state.
#[derive(Debug, Clone, Default)]
pub struct LegSession {
    /// The running timer (the leg is answered and timed).
    pub timer: Option<SessionTimer>,
    /// What the leg's INVITE, re-INVITE or UPDATE negotiated, started by our 2xx.
    pending: Option<SessionTimer>,
    /// A digest of the last description the leg's end sent us (a refresh repeats it byte
    /// for byte; a phone that changes it without a new o= version is still relayed).
    remote_sdp: Option<u64>,
    /// The leg's end listed UPDATE in Allow (refreshes go as UPDATE then).
    peer_update: bool,
    /// The interval our last INVITE or refresh on this leg asked for.
    asked: u32,
    /// The Min-SE it carried (ours, or a 422's).
    min_se: u32,
    /// A 422 was already answered on this leg (asked again once only).
    retried_422: bool,
    /// Our refresh in flight is a re-INVITE (no other re-INVITE may cross it).
    refresh_invite: bool,
}

fn allows_update(headers: &crate::sip::Headers) -> bool {
    headers
        .allow()
        .iter()
        .any(|m| m.eq_ignore_ascii_case(Method::Update.as_str()))
}

/// A digest of a body (None: no body). The crate's keyed hash with a fixed key: about a
/// third of SipHash's cost on a 300-byte SDP, and only a peer's own bodies are compared with
/// each other (a collision it crafted would only hide its own media change from itself).
fn digest(body: &[u8]) -> Option<u64> {
    use std::hash::BuildHasher;
    if body.is_empty() {
        return None;
    }
    let key = crate::hash::KeyedState::with_keys(0x5eed_5db0, 0x0dd1_9e57);
    Some(key.hash_one(body))
}

impl LegSession {
    /// The caller's leg at its INVITE: `negotiated` (see
    /// [`session_timer::negotiate_uas`]) starts when the call is answered.
    pub fn for_caller(invite: &Request, negotiated: Option<SessionTimer>) -> LegSession {
        LegSession {
            pending: negotiated,
            remote_sdp: digest(invite.body()),
            peer_update: allows_update(invite.headers()),
            ..LegSession::default()
        }
    }
}

impl Call {
    /// The session-timer settings of a leg: its entry's, or `[general]`'s for a guest.
    pub(super) fn session_settings(&self, leg: LegId) -> SessionTimers {
        match self.entry_of(leg) {
            Some(e) => e.session_timers,
            None => self.general.session_timers,
        }
    }

    /// The session-timer headers of the INVITE to fork `leg`.
    pub(super) fn session_invite_headers(&mut self, leg: LegId) -> session_timer::HeaderList {
        let st = self.session_settings(leg);
        let s = &mut self.legs[leg].session;
        s.asked = st.expires;
        s.min_se = st.min_se;
        session_timer::invite_headers(&st, s.asked, s.min_se)
    }

    /// A 422 to fork `leg`'s INVITE on `h`: asks again once with the interval the answer
    /// names (§7.4). True when the INVITE went out again.
    pub(super) fn session_fork_422(
        &mut self,
        cx: &mut Cx<'_>,
        h: TxHandle,
        leg: LegId,
        resp: &Response,
    ) -> bool {
        let Some(req) = cx.txs.client(h).and_then(|t| t.request().cloned()) else {
            return false;
        };
        let s = &self.legs[leg].session;
        let Some(interval) = session_timer::after_422(resp, s.asked).filter(|_| !s.retried_422)
        else {
            return false;
        };
        let st = self.session_settings(leg);
        let headers = session_timer::invite_headers(&st, interval, interval);
        let cseq = req.cseq().seq.wrapping_add(1);
        let branch = cx.new_branch();
        let again = build::again(&req, &branch, cseq, &headers);
        let dest = cx
            .txs
            .client(h)
            .map(|t| t.dest)
            .unwrap_or(self.legs[leg].dialog.flow);
        let purpose = Purpose::Invite(LegRef {
            call: self.handle,
            leg,
        });
        let Some(new_h) = cx
            .txs
            .open_client(cx.now, cx.sched, cx.out, again, dest, purpose)
        else {
            return false;
        };
        log::info!(
            "call {}: leg {leg} wants a session interval of at least {interval} s (422); asking again",
            self.label()
        );
        let s = &mut self.legs[leg].session;
        s.retried_422 = true;
        s.asked = interval;
        s.min_se = interval;
        self.request_reauthenticated(leg, cseq, Some(new_h));
        true
    }

    /// Fork `leg` answered our INVITE with `resp`: its timer starts as the answer says.
    pub(super) fn session_fork_answered(&mut self, cx: &mut Cx<'_>, leg: LegId, resp: &Response) {
        let st = self.session_settings(leg);
        let s = &mut self.legs[leg].session;
        s.remote_sdp = digest(resp.body());
        s.peer_update = allows_update(resp.headers());
        s.timer = session_timer::negotiate_uac(&st, resp, s.asked.max(st.min_se), cx.now);
        self.arm_session_timer(cx);
    }

    /// Our 2xx to `leg`'s INVITE, re-INVITE or UPDATE is going out: the timer that request
    /// negotiated starts now; the headers that say so for the 2xx.
    pub(super) fn session_answer_headers(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
    ) -> session_timer::HeaderList {
        let Some(l) = self.legs.get_mut(leg) else {
            return Vec::new();
        };
        if let Some(mut t) = l.session.pending.take() {
            t.refreshed_at(cx.now);
            l.session.timer = Some(t);
        }
        let headers = l
            .session
            .timer
            .map(|t| t.response_headers())
            .unwrap_or_default();
        self.arm_session_timer(cx);
        headers
    }

    /// A re-INVITE or UPDATE from `leg`'s end on its server transaction `h`. True when it
    /// was answered here: a refusal (422, 420), or a session refresh — with Session-Expires,
    /// an UPDATE without a body or a re-INVITE offering the leg's last description again,
    /// byte for byte — answered with our last description to that leg, unchanged. False:
    /// relay it as any other re-INVITE (its timer starts with the 2xx).
    pub(super) fn session_in_dialog(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        req: &Request,
        h: TxHandle,
    ) -> bool {
        let st = self.session_settings(leg);
        let current = self.legs[leg].session.timer;
        let negotiated = match session_timer::negotiate_uas(&st, req, current.as_ref(), cx.now) {
            Ok(n) => n,
            Err(refusal) => {
                self.reply_in_dialog(cx, h, refusal, None);
                return true;
            }
        };
        let invite = *req.method() == Method::Invite;
        let our_reinvite = self
            .legs
            .iter()
            .any(|l| l.session.refresh_invite && l.session.timer.is_some_and(|t| t.outstanding));
        if invite && our_reinvite {
            // Our refresh re-INVITE crossed this one (on this leg, or on the leg it would be
            // relayed to): §14.1.
            self.reply_in_dialog(cx, h, Reply::new(StatusCode::REQUEST_PENDING), None);
            return true;
        }
        self.legs[leg].session.pending = negotiated;
        if invite && self.reinvite_pending {
            return false;
        }
        if negotiated.is_none() {
            if let Some(d) = digest(req.body()) {
                self.legs[leg].session.remote_sdp = Some(d);
            }
            return false;
        }
        let have_ours = self.leg_media(leg).and_then(|m| m.session.last()).is_some();
        // §7.4: a refresh from an end with the extension names its interval; anything else
        // (a phone's own re-INVITE, even with the same description) goes through as before.
        let names_interval = req.headers().get(&HeaderName::SessionExpires).is_some();
        let refresh = names_interval
            && match (invite, req.body().is_empty()) {
                (false, true) => true,
                (true, false) => {
                    have_ours && digest(req.body()) == self.legs[leg].session.remote_sdp
                }
                _ => false,
            };
        if !refresh {
            if let Some(d) = digest(req.body()) {
                // A new description (hold, resume, a codec change): the next refresh repeats
                // this one.
                self.legs[leg].session.remote_sdp = Some(d);
            }
            return false;
        }
        log::debug!("call {}: session refresh from leg {leg}", self.label());
        let mut reply = Reply::new(StatusCode::OK);
        for (name, value) in self.session_answer_headers(cx, leg) {
            reply = reply.header(name, value);
        }
        if invite {
            let body = self
                .leg_media(leg)
                .and_then(|m| m.session.last())
                .map(|sdp| (super::media::SDP_TYPE.into(), sdp.to_vec()));
            self.answer_reinvite_with(cx, leg, h, reply, body);
        } else {
            self.reply_in_dialog(cx, h, reply, None);
        }
        true
    }

    /// A re-INVITE or UPDATE relayed to `to` is going out: the headers it carries for `to`'s
    /// timer.
    pub(super) fn session_relay_headers(&mut self, to: LegId) -> session_timer::HeaderList {
        let s = &self.legs[to].session;
        match s.timer {
            Some(t) => t.request_headers(s.min_se.max(self.session_settings(to).min_se)),
            None => Vec::new(),
        }
    }

    /// The 2xx of a relayed re-INVITE or UPDATE came back from `to`: both legs' sessions
    /// were refreshed; the headers for the 2xx to `from`.
    pub(super) fn session_relayed_2xx(
        &mut self,
        cx: &mut Cx<'_>,
        from: LegId,
        to: LegId,
        resp: Option<&Response>,
    ) -> session_timer::HeaderList {
        if let Some(resp) = resp {
            let st = self.session_settings(to);
            let s = &mut self.legs[to].session;
            if let Some(o) = digest(resp.body()) {
                s.remote_sdp = Some(o);
            }
            if let Some(t) = s.timer {
                s.timer = session_timer::negotiate_uac(&st, resp, t.interval, cx.now).or(Some(t));
                if let Some(t) = s.timer.as_mut() {
                    t.refreshed_at(cx.now);
                }
            }
        }
        self.session_answer_headers(cx, from)
    }

    /// Sets the call's one session timer to the earliest deadline of its answered, timed legs
    /// (none: stopped).
    pub(super) fn arm_session_timer(&mut self, cx: &mut Cx<'_>) {
        let next = self
            .legs
            .iter()
            .filter(|l| l.dialog.state != DialogState::Terminated)
            .filter_map(|l| l.session.timer)
            .filter(|t| !t.outstanding)
            .map(|t| t.deadline())
            .min();
        match next {
            Some(at) => {
                let wake = Wake::Call(self.handle, CallTimer::SessionTimer);
                self.timers
                    .start(cx.sched, CallTimer::SessionTimer, at, wake);
            }
            None => self.timers.stop(cx.sched, CallTimer::SessionTimer),
        }
    }

    /// The session timer fired: refresh the legs sipbox refreshes; a leg whose end should
    /// have refreshed and did not ends the call (BYE on every leg, as chan_sip's
    /// `proc_session_timer` hangs the channel up).
    pub(super) fn on_session_timer(&mut self, cx: &mut Cx<'_>) {
        for leg in 0..self.legs.len() {
            let l = &self.legs[leg];
            let Some(t) = l.session.timer.filter(|t| !t.outstanding) else {
                continue;
            };
            if l.dialog.state == DialogState::Terminated || t.deadline() > cx.now {
                continue;
            }
            match t.refresher {
                Refresher::Us => self.send_refresh(cx, leg),
                Refresher::Them => {
                    log::warn!(
                        "call {}: Session-Timer expired on leg {leg} ({} s without a refresh); hanging up",
                        self.label(),
                        t.interval
                    );
                    return self.end(cx, EndReason::Hangup(StatusCode::REQUEST_TIMEOUT));
                }
            }
        }
        self.arm_session_timer(cx);
    }

    /// Sends our refresh on `leg`: UPDATE without a body when its end allows UPDATE, else a
    /// re-INVITE with the last description we sent it, unchanged.
    fn send_refresh(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        let use_update = self.legs[leg].session.peer_update;
        if !use_update && self.reinvite_pending {
            if let Some(t) = self.legs[leg].session.timer.as_mut() {
                t.retry_at = Some(cx.now + GLARE_RETRY);
            }
            return;
        }
        let body = if use_update {
            None
        } else {
            self.leg_media(leg)
                .and_then(|m| m.session.last())
                .map(<[u8]>::to_vec)
        };
        let st_min = self.session_settings(leg).min_se;
        let Some(t) = self.legs[leg].session.timer else {
            return;
        };
        let min_se = self.legs[leg].session.min_se.max(st_min);
        let method = if use_update {
            Method::Update
        } else {
            Method::Invite
        };
        let branch = cx.new_branch();
        let d = &mut self.legs[leg].dialog;
        let cseq = d.next_cseq();
        let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let mut req = build::in_dialog(d, method.clone(), cseq, &origin);
        for (name, value) in t.request_headers(min_se) {
            req.push_header(name, value);
        }
        if let Some(b) = body {
            req.set_body(Some(super::media::SDP_TYPE), b);
        }
        let dest = d.flow;
        let purpose = Purpose::Refresh(LegRef {
            call: self.handle,
            leg,
        });
        log::debug!("call {}: refreshing leg {leg} by {method}", self.label());
        if cx
            .txs
            .open_client(cx.now, cx.sched, cx.out, req, dest, purpose)
            .is_none()
        {
            return;
        }
        let s = &mut self.legs[leg].session;
        s.refresh_invite = method == Method::Invite;
        s.asked = t.interval;
        if let Some(t) = s.timer.as_mut() {
            t.outstanding = true;
            t.retry_at = None;
        }
    }

    /// The answer (or timeout) of our refresh on `leg`, on transaction `h`.
    pub fn on_refresh_event(
        &mut self,
        cx: &mut Cx<'_>,
        h: TxHandle,
        leg: LegId,
        ev: ClientEvent,
        resp: Option<&Response>,
    ) {
        let status = match ev {
            ClientEvent::Response(s) => s,
            ClientEvent::Timeout => StatusCode::REQUEST_TIMEOUT.code(),
        };
        if status < 200 || self.is_over() || leg >= self.legs.len() {
            return;
        }
        let invite = cx.txs.client(h).is_some_and(|t| t.is_invite());
        if invite && (200..300).contains(&status) {
            // ACK every 2xx of our re-INVITE, retransmissions too (§13.2.2.4).
            let cseq = resp
                .map(|r| r.cseq().seq)
                .unwrap_or(self.legs[leg].dialog.local_cseq);
            let branch = cx.new_branch();
            let d = &self.legs[leg].dialog;
            let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
            let ack = build::in_dialog(d, Method::Ack, cseq, &origin);
            cx.out.sip(d.flow, ack.to_bytes());
        }
        if !self.legs[leg].session.timer.is_some_and(|t| t.outstanding) {
            return;
        }
        let st = self.session_settings(leg);
        let s = &mut self.legs[leg].session;
        let Some(mut t) = s.timer else { return };
        t.outstanding = false;
        match status {
            200..=299 => {
                if let Some(resp) = resp {
                    t = session_timer::negotiate_uac(&st, resp, s.asked, cx.now).unwrap_or(t);
                }
                t.refreshed_at(cx.now);
                log::debug!(
                    "call {}: leg {leg} refreshed ({} s)",
                    self.label(),
                    t.interval
                );
            }
            408 | 481 => {
                s.timer = Some(t);
                log::warn!(
                    "call {}: session refresh of leg {leg} failed ({status}); hanging up",
                    self.label()
                );
                return self.end(cx, EndReason::Hangup(StatusCode::REQUEST_TIMEOUT));
            }
            422 => {
                match resp.and_then(|r| session_timer::after_422(r, t.interval)) {
                    Some(i) => {
                        t.interval = i;
                        s.min_se = i;
                    }
                    None => t.refreshed_at(cx.now),
                }
                // Sent again at once with the larger interval.
                t.retry_at = Some(cx.now);
            }
            491 => t.retry_at = Some(cx.now + GLARE_RETRY),
            405 | 501 if !invite => {
                // It does not take UPDATE after all: re-INVITE from now on.
                s.peer_update = false;
                t.retry_at = Some(cx.now);
            }
            _ => {
                // RFC 3261 §14.1: a refused re-INVITE leaves the session as it was.
                log::info!(
                    "call {}: session refresh of leg {leg} answered {status}; the session goes on",
                    self.label()
                );
                t.refreshed_at(cx.now);
            }
        }
        self.legs[leg].session.timer = Some(t);
        self.arm_session_timer(cx);
    }
}
