//! Session timers (RFC 4028), one leg at a time: what a leg negotiated (interval, who
//! refreshes), the headers that say so, and the negotiation rules as pure functions. The
//! call's side (timers on the heap, sending refreshes, tearing down) is in
//! [`super::session_refresh`].
//!
//! Reading list: RFC 4028 §7 (UAC: Session-Expires, Min-SE, 422 → retry with the larger
//! interval), §8 (proxies, for what `refresher` means: relative to the transaction, not the
//! dialog), §9 (UAS: 422 below Min-SE, choosing the refresher, Require: timer in the 2xx),
//! §10 (refresh at half the interval; BYE when none came by expiry minus min(32, SE/3) s);
//! Asterisk's `chan_sip.c` (`st_get_mode`, `proc_session_timer`, `start_session_timer`,
//! `handle_request_invite`'s Session-Expires part, `proc_422_rsp`).
//!
//! As a B2BUA each leg has its own timer: the caller's leg is negotiated with the caller,
//! each callee's with that callee; a refresh on one leg is answered on that leg.

use crate::config::sip_session_timers::{SessionTimers, StMode, StRefresher};
use crate::sip::{HeaderName, RefresherParam, Request, Response, SessionExpires, StatusCode};
use std::time::{Duration, Instant};

use super::Reply;

/// The option tag of RFC 4028.
pub const TIMER: &str = "timer";

/// Headers to add, the fixed ones borrowed (`Supported: timer`, `Require: timer`).
pub type HeaderList = Vec<(HeaderName, std::borrow::Cow<'static, str>)>;

/// A Session-Expires value printed without `core::fmt`: `delta[;refresher=...]`.
fn se_text(se: &SessionExpires) -> std::borrow::Cow<'static, str> {
    let mut s = String::with_capacity(24);
    crate::sip::write::push_decimal(&mut s, se.delta as usize);
    if let Some(r) = se.refresher {
        s.push_str(";refresher=");
        s.push_str(r.as_str());
    }
    s.into()
}

/// A number (Min-SE) as header text.
fn number(n: u32) -> std::borrow::Cow<'static, str> {
    let mut s = String::with_capacity(10);
    crate::sip::write::push_decimal(&mut s, n as usize);
    s.into()
}

/// Which end of one leg refreshes its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// sipbox sends the refreshes.
    Us,
    /// The phone (or trunk) of the leg does; sipbox watches.
    Them,
}

/// A running session timer of one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimer {
    /// The negotiated session interval, seconds.
    pub interval: u32,
    /// Who refreshes.
    pub refresher: Refresher,
    /// The other end names `timer` in Supported/Require (our 2xx then says Require: timer).
    pub peer_supports: bool,
    /// The last refresh (answer, re-INVITE or UPDATE) on this leg.
    pub refreshed: Instant,
    /// Our refresh is in flight (its transaction's answer or timeout decides).
    pub outstanding: bool,
    /// A refresh put off (glare, 491): when to try again.
    pub retry_at: Option<Instant>,
}

impl SessionTimer {
    /// When this leg needs attention: our refresh at half the interval, or the expiry check
    /// at the interval minus min(32, interval/3) seconds when the other end refreshes (§10).
    pub fn deadline(&self) -> Instant {
        if let Some(t) = self.retry_at {
            return t;
        }
        let interval = u64::from(self.interval);
        let after = match self.refresher {
            Refresher::Us => interval / 2,
            Refresher::Them => interval - (interval / 3).min(32),
        };
        self.refreshed + Duration::from_secs(after)
    }

    /// A refresh happened now (a 2xx to either side's re-INVITE or UPDATE).
    pub fn refreshed_at(&mut self, now: Instant) {
        self.refreshed = now;
        self.outstanding = false;
        self.retry_at = None;
    }

    fn value(&self, we_are_uac: bool) -> SessionExpires {
        let uac_refreshes = (self.refresher == Refresher::Us) == we_are_uac;
        SessionExpires {
            delta: self.interval,
            refresher: Some(if uac_refreshes {
                RefresherParam::Uac
            } else {
                RefresherParam::Uas
            }),
        }
    }

    /// The headers of a 2xx we send to this leg's INVITE or UPDATE (we are the UAS of the
    /// transaction): Session-Expires with the refresher, Require: timer when the other end
    /// supports it (§9).
    pub fn response_headers(&self) -> HeaderList {
        let mut h = vec![(HeaderName::SessionExpires, se_text(&self.value(false)))];
        if self.peer_supports {
            h.push((HeaderName::Require, TIMER.into()));
        }
        h
    }

    /// The headers of a re-INVITE or UPDATE we send on this leg (we are the UAC).
    pub fn request_headers(&self, min_se: u32) -> HeaderList {
        vec![
            (HeaderName::Supported, TIMER.into()),
            (HeaderName::SessionExpires, se_text(&self.value(true))),
            (HeaderName::MinSe, number(min_se)),
        ]
    }
}

/// The 422 for a request whose interval is below our Min-SE (§9).
fn too_small(min_se: u32) -> Reply {
    Reply::new(StatusCode::SESSION_INTERVAL_TOO_SMALL).header(HeaderName::MinSe, number(min_se))
}

/// The refusal of a `Require: timer` under `session-timers=refuse` (RFC 3261 §8.2.2.3).
fn unsupported() -> Reply {
    Reply::new(StatusCode::BAD_EXTENSION).header(HeaderName::Unsupported, TIMER)
}

fn requires_timer(req: &Request) -> bool {
    req.require().iter().any(|t| t.eq_ignore_ascii_case(TIMER))
}

/// What a request we answer (an INVITE, re-INVITE or UPDATE from the leg's end) makes of the
/// leg's timer, `current` being what it had: `Ok(None)` no timer; `Err` the refusal (422 with
/// our Min-SE, 420 under refuse). A Session-Expires we cannot read counts as absent.
pub fn negotiate_uas(
    st: &SessionTimers,
    req: &Request,
    current: Option<&SessionTimer>,
    now: Instant,
) -> Result<Option<SessionTimer>, Reply> {
    if st.mode == StMode::Refuse {
        return if requires_timer(req) {
            Err(unsupported())
        } else {
            Ok(None)
        };
    }
    let peer_supports = req.headers().names_option(TIMER);
    let asked = req.headers().session_expires().ok().flatten();
    let their_min = req.headers().min_se().ok().flatten().unwrap_or(0);
    let (interval, param) = match asked {
        Some(se) if se.delta < st.min_se => return Err(too_small(st.min_se)),
        // §9: the interval may be lowered to ours, never below the request's Min-SE.
        Some(se) => (
            se.delta
                .min(st.expires)
                .max(their_min)
                .max(st.min_se)
                .min(se.delta),
            se.refresher,
        ),
        None => match current {
            Some(c) => (c.interval, None),
            None if st.mode == StMode::Originate => (st.expires.max(their_min), None),
            None => return Ok(None),
        },
    };
    let refresher = match param {
        // In a request we receive, the UAC is the leg's end.
        Some(RefresherParam::Uac) => Refresher::Them,
        Some(RefresherParam::Uas) => Refresher::Us,
        // §9: an end without the extension cannot refresh; else session-refresher decides.
        None if !peer_supports => Refresher::Us,
        None => match current {
            Some(c) => c.refresher,
            None => match st.refresher {
                StRefresher::Uas => Refresher::Us,
                StRefresher::Uac => Refresher::Them,
            },
        },
    };
    Ok(Some(SessionTimer {
        interval,
        refresher,
        peer_supports,
        refreshed: now,
        outstanding: false,
        retry_at: None,
    }))
}

/// The headers of an INVITE we send to a leg (a Dial's fork): `Supported: timer` unless
/// refused; under `originate` also the interval we ask for (`asked`) and our Min-SE, with
/// `refresher=uac` when `session-refresher=uac` (else the callee chooses, §7.1), and
/// `min_se` (ours, or a 422's, §7.4).
pub fn invite_headers(st: &SessionTimers, asked: u32, min_se: u32) -> HeaderList {
    match st.mode {
        StMode::Refuse => Vec::new(),
        StMode::Accept => vec![(HeaderName::Supported, TIMER.into())],
        StMode::Originate => {
            let se = SessionExpires {
                delta: asked,
                refresher: (st.refresher == StRefresher::Uac).then_some(RefresherParam::Uac),
            };
            vec![
                (HeaderName::Supported, TIMER.into()),
                (HeaderName::SessionExpires, se_text(&se)),
                (HeaderName::MinSe, number(min_se)),
            ]
        }
    }
}

/// The timer of a leg whose INVITE (or refresh) we sent and `resp` answered with a 2xx
/// (§7.2): the interval and refresher the answer names; without Session-Expires, under
/// `originate` sipbox refreshes at the interval it asked for (a re-INVITE any end takes,
/// which finds a vanished end as chan_sip's refreshes do); under `accept`, none.
pub fn negotiate_uac(
    st: &SessionTimers,
    resp: &Response,
    asked: u32,
    now: Instant,
) -> Option<SessionTimer> {
    if st.mode == StMode::Refuse {
        return None;
    }
    let peer_supports = resp.headers().names_option(TIMER);
    let (interval, refresher) = match resp.headers().session_expires().ok().flatten() {
        // In an answer to our request, the UAC is us.
        Some(se) => (
            se.delta.max(crate::config::sip_session_timers::RFC_MIN_SE),
            match se.refresher {
                Some(RefresherParam::Uas) => Refresher::Them,
                _ => Refresher::Us,
            },
        ),
        None if st.mode == StMode::Originate => (asked, Refresher::Us),
        None => return None,
    };
    Some(SessionTimer {
        interval,
        refresher,
        peer_supports,
        refreshed: now,
        outstanding: false,
        retry_at: None,
    })
}

/// The interval to ask again with after a 422 (§7.4): the response's Min-SE when it is above
/// what we asked; None when it is missing or not larger (no point asking again).
pub fn after_422(resp: &Response, asked: u32) -> Option<u32> {
    resp.headers()
        .min_se()
        .ok()
        .flatten()
        .filter(|&m| m > asked)
}

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::sip::Message;

    fn req(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:1@127.0.0.1>\r\nCall-ID: c\r\n\
             CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match crate::sip::parse(text.as_bytes()).unwrap() {
            Message::Request(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn resp(extra: &str) -> Response {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:1@127.0.0.1>;tag=2\r\nCall-ID: c\r\n\
             CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match crate::sip::parse(text.as_bytes()).unwrap() {
            Message::Response(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn st(mode: StMode) -> SessionTimers {
        SessionTimers {
            mode,
            ..SessionTimers::default()
        }
    }

    #[test]
    fn a_uas_takes_the_callers_refresher_and_refuses_short_intervals() {
        let now = Instant::now();
        let s = st(StMode::Accept);
        let r = req("Supported: timer\r\nSession-Expires: 600;refresher=uac\r\n");
        let t = negotiate_uas(&s, &r, None, now).unwrap().unwrap();
        assert_eq!((t.interval, t.refresher), (600, Refresher::Them));
        assert_eq!(t.deadline(), now + Duration::from_secs(600 - 32));
        assert_eq!(
            t.response_headers(),
            vec![
                (HeaderName::SessionExpires, "600;refresher=uac".into()),
                (HeaderName::Require, "timer".into())
            ]
        );
        let short = req("Supported: timer\r\nSession-Expires: 60\r\n");
        let err = negotiate_uas(&s, &short, None, now).unwrap_err();
        assert_eq!(err.status, StatusCode::SESSION_INTERVAL_TOO_SMALL);
        assert_eq!(
            err.headers,
            vec![(HeaderName::MinSe, "90".to_string().into())]
        );
        assert_eq!(negotiate_uas(&s, &req(""), None, now).unwrap(), None);
    }

    #[test]
    fn originate_times_a_caller_without_the_extension_and_refreshes_itself() {
        let now = Instant::now();
        let t = negotiate_uas(&st(StMode::Originate), &req(""), None, now)
            .unwrap()
            .unwrap();
        assert_eq!((t.interval, t.refresher), (1800, Refresher::Us));
        assert_eq!(t.deadline(), now + Duration::from_secs(900));
        assert_eq!(
            t.response_headers(),
            vec![(HeaderName::SessionExpires, "1800;refresher=uas".into())]
        );
        let longer = req("Supported: timer\r\nSession-Expires: 7200\r\nMin-SE: 3600\r\n");
        let t = negotiate_uas(&st(StMode::Originate), &longer, None, now)
            .unwrap()
            .unwrap();
        assert_eq!(
            t.interval, 3600,
            "lowered to ours, never below their Min-SE"
        );
        assert_eq!(t.refresher, Refresher::Us, "session-refresher=uas");
    }

    #[test]
    fn refuse_drops_the_extension() {
        let now = Instant::now();
        let s = st(StMode::Refuse);
        assert_eq!(
            negotiate_uas(&s, &req("Session-Expires: 90\r\n"), None, now).unwrap(),
            None
        );
        let err = negotiate_uas(&s, &req("Require: timer\r\n"), None, now).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_EXTENSION);
        assert!(invite_headers(&s, 1800, 90).is_empty());
        assert_eq!(
            negotiate_uac(&s, &resp("Session-Expires: 90\r\n"), 90, now),
            None
        );
    }

    #[test]
    fn a_uac_follows_the_answer() {
        let now = Instant::now();
        let s = st(StMode::Originate);
        let h = invite_headers(&s, 1800, 90);
        assert_eq!(h[1], (HeaderName::SessionExpires, "1800".into()));
        assert_eq!(h[2], (HeaderName::MinSe, "90".into()));
        let t = negotiate_uac(
            &s,
            &resp("Session-Expires: 900;refresher=uas\r\n"),
            1800,
            now,
        )
        .unwrap();
        assert_eq!((t.interval, t.refresher), (900, Refresher::Them));
        assert_eq!(
            t.request_headers(90)[1],
            (HeaderName::SessionExpires, "900;refresher=uas".into())
        );
        let t = negotiate_uac(&s, &resp(""), 1800, now).unwrap();
        assert_eq!((t.interval, t.refresher), (1800, Refresher::Us));
        assert_eq!(
            negotiate_uac(&st(StMode::Accept), &resp(""), 1800, now),
            None
        );
        assert_eq!(after_422(&resp("Min-SE: 300\r\n"), 90), Some(300));
        assert_eq!(after_422(&resp("Min-SE: 60\r\n"), 90), None);
        assert_eq!(after_422(&resp(""), 90), None);
    }
}
