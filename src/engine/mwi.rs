//! Subscriptions (RFC 6665) for every event package sipbox serves, and message waiting.
//! `message-summary` is here; `dialog` and `presence` subscriptions are kept by the same
//! machinery (challenge, expiry, refresh, bounds, terminated NOTIFY) and their bodies and
//! state changes come from `blf.rs`.
//!
//! Message waiting (RFC 3842 over RFC 6665): `Event: message-summary` NOTIFYs to the phones
//! whose sip.conf entry names voicemail boxes (`mailbox=`), unsolicited after each
//! registration and whenever the counts change, and SUBSCRIBE dialogs for the same event
//! (answered 200, kept until they expire or are ended with `Expires: 0`, each refresh and
//! change NOTIFYed, a terminated NOTIFY at the end). Unknown event packages get 489 Bad Event.
//!
//! Reading list: RFC 3842 §5 (the body), RFC 6665 §4.2 (the notifier: 200, the immediate
//! NOTIFY, Subscription-State, refresh and removal), RFC 3261 §17.1.2 (the NOTIFYs are
//! non-INVITE client transactions: retransmitted by timer E, given up by timer F); Asterisk
//! `chan_sip.c` (`transmit_notify_with_mwi`, `handle_request_subscribe`, `sip_send_mwi_to_peer`:
//! `Messages-Waiting`, `Message-Account: sip:vmexten@host`, `Voice-Message: new/old (urgent)`).
//!
//! Subscriptions are bounded: [`MAX_PER_PEER`] per entry, [`MAX_SUBSCRIPTIONS`] in all (503
//! beyond), expiry clamped to [`MIN_EXPIRES`]..=[`MAX_EXPIRES`] (423 below the minimum).

use super::Engine;
use crate::auth::{AuthVerdict, Refusal};
use crate::call::build::{self, Origin, OutOfDialog};
use crate::call::{Dialog, DialogState, Purpose, Reply};
use crate::config::settings::PeerId;
use crate::flow::Flow;
use crate::sched::TimerId;
use crate::sip::{HeaderName, Method, NameAddr, Request, Response, StatusCode, Uri};
use crate::voicemail::Counts;
use crate::wake::Wake;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// message-summary subscriptions one sip.conf entry may hold.
pub const MAX_PER_PEER: usize = 4;
/// dialog/presence subscriptions one sip.conf entry may hold (a phone's BLF keys).
pub const MAX_WATCH_PER_PEER: usize = 64;
/// Subscriptions in all.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;
/// Bytes all subscriptions may keep (each is charged its SUBSCRIBE's size, an upper bound of
/// the dialog it keeps: issue 13's byte budgets). Subscriptions come only from authenticated
/// entries, at most [`MAX_PER_PEER`] + [`MAX_WATCH_PER_PEER`] each; this bounds what large requests can make them keep.
pub const MAX_SUBSCRIPTION_BYTES: usize = 8 << 20;
/// Shortest subscription accepted (Asterisk's `minexpiry` default).
pub const MIN_EXPIRES: u32 = 60;
/// Longest subscription granted (Asterisk's `subscribe` maximum, `maxexpiry`).
pub const MAX_EXPIRES: u32 = 3600;
/// Granted when the SUBSCRIBE says nothing (RFC 3842 §7: one hour).
pub const DEFAULT_EXPIRES: u32 = 3600;

/// The content type of the body.
const SUMMARY: &str = "application/simple-message-summary";

/// The event packages served (chan_sip's `handle_request_subscribe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Package {
    /// RFC 3842 message waiting.
    MessageSummary,
    /// RFC 4235 dialog state (busy lamps).
    Dialog,
    /// RFC 3856 presence, PIDF bodies.
    Presence,
    /// Presence for older phones whose Accept names only `application/xpidf+xml`.
    Xpidf,
}

/// The packages for `Allow-Events`.
pub(super) const ALLOW_EVENTS: &str = "message-summary, dialog, presence";

impl Package {
    /// The package of an `Event` header (an `id` parameter allowed), with the body format
    /// the `Accept` header asks for.
    fn parse(event: &str, accept: &str) -> Option<Package> {
        let name = event.split(';').next()?.trim().to_ascii_lowercase();
        let accept = accept.to_ascii_lowercase();
        match name.as_str() {
            "message-summary" => Some(Package::MessageSummary),
            "dialog" => Some(Package::Dialog),
            // chan_sip: PIDF when asked for (or nothing said: RFC 3856's default), XPIDF
            // only when that alone is accepted.
            "presence"
                if !accept.contains("application/pidf+xml")
                    && accept.contains("application/xpidf+xml") =>
            {
                Some(Package::Xpidf)
            }
            "presence" => Some(Package::Presence),
            _ => None,
        }
    }

    /// The `Event` header of its NOTIFYs.
    fn event(self) -> &'static str {
        match self {
            Package::MessageSummary => "message-summary",
            Package::Dialog => "dialog",
            Package::Presence | Package::Xpidf => "presence",
        }
    }

    /// The content type of its bodies.
    fn content_type(self) -> &'static str {
        match self {
            Package::MessageSummary => SUMMARY,
            Package::Dialog => "application/dialog-info+xml",
            Package::Presence => "application/pidf+xml",
            Package::Xpidf => "application/xpidf+xml",
        }
    }
}

/// One subscription.
#[derive(Debug, Clone)]
pub(super) struct Subscription {
    pub peer: PeerId,
    pub dialog: Dialog,
    pub expires_at: Instant,
    pub timer: TimerId,
    pub package: Package,
    /// What a dialog or presence subscription watches.
    pub watch: Option<super::blf::Watch>,
    /// Bytes charged to [`MAX_SUBSCRIPTION_BYTES`].
    pub size: usize,
}

/// Subscriptions by (Call-ID, the phone's tag).
#[derive(Debug, Default)]
pub(super) struct MwiState {
    subs: HashMap<(String, String), Subscription>,
}

impl MwiState {
    fn count_for(&self, peer: PeerId, watch: bool) -> usize {
        self.subs
            .values()
            .filter(|s| s.peer == peer && s.watch.is_some() == watch)
            .count()
    }

    /// The dialog and presence subscriptions.
    pub(super) fn watchers(&self) -> impl Iterator<Item = (&(String, String), &Subscription)> + '_ {
        self.subs.iter().filter(|(_, s)| s.watch.is_some())
    }

    pub(super) fn get(&self, key: &(String, String)) -> Option<&Subscription> {
        self.subs.get(key)
    }

    pub(super) fn get_mut(&mut self, key: &(String, String)) -> Option<&mut Subscription> {
        self.subs.get_mut(key)
    }

    /// Bytes the subscriptions keep (see [`MAX_SUBSCRIPTION_BYTES`]).
    pub(super) fn bytes(&self) -> usize {
        self.subs.values().map(|s| s.size).sum()
    }
}

/// The RFC 3842 body for these counts.
pub fn summary_body(c: Counts, account: &str) -> String {
    let new = c.new + c.urgent;
    format!(
        "Messages-Waiting: {}\r\nMessage-Account: {account}\r\nVoice-Message: {}/{} ({}/0)\r\n",
        if new > 0 { "yes" } else { "no" },
        new,
        c.old,
        c.urgent
    )
}

impl Engine {
    /// The boxes of `peer` (its `mailbox=`), if any.
    fn mailboxes_of(&self, peer: PeerId) -> Option<String> {
        self.cfg.peer(peer)?.mailbox.as_deref().map(str::to_string)
    }

    fn account_uri(&self) -> String {
        format!(
            "sip:{}@{}",
            self.cfg.general.vmexten,
            self.advertise.local().ip()
        )
    }

    fn summary_for(&self, peer: PeerId) -> Option<String> {
        let list = self.mailboxes_of(peer)?;
        let counts = self.dialplan.with_voicemail(|vm| vm.counts_of_list(&list));
        Some(summary_body(counts, &self.account_uri()))
    }

    /// A REGISTER of `aor` succeeded: its phone hears the state of its boxes (chan_sip's
    /// `sip_send_mwi_to_peer` after `register_verify`).
    pub(super) fn mwi_registered(&mut self, now: Instant, aor: &str) {
        let Some(peer) = self.cfg.entry(aor) else {
            return;
        };
        if self.mailboxes_of(peer).is_some() {
            self.unsolicited_mwi(now, peer);
        }
    }

    /// Unsolicited NOTIFYs (no subscription) to every contact of `peer`.
    fn unsolicited_mwi(&mut self, now: Instant, peer: PeerId) {
        let Some(body) = self.summary_for(peer) else {
            return;
        };
        let Some(name) = self.cfg.peer(peer).map(|p| p.name.clone()) else {
            return;
        };
        let targets: Vec<(String, Flow)> = self
            .registrar
            .bindings(&name)
            .iter()
            .map(|b| (b.contact.clone(), b.flow))
            .collect();
        for (contact, flow) in targets {
            let Ok(uri) = Uri::parse(&contact) else {
                continue;
            };
            let branch = crate::transaction::new_branch(&mut self.rng);
            let tag = self.new_tag();
            let call_id = format!("{:032x}@sipbox", rand::Rng::random::<u128>(&mut self.rng));
            let origin = Origin::on(flow, &self.advertise, &branch, &self.cfg.general.user_agent);
            let mut req = build::out_of_dialog(
                OutOfDialog {
                    method: Method::Notify,
                    to: &NameAddr::new(uri.clone()),
                    uri,
                    from: &build::contact(&self.cfg.general.vmexten, origin.local),
                    from_tag: &tag,
                    call_id: &call_id,
                    cseq: 1,
                    contact_user: Some("sipbox"),
                    max_forwards: build::MAX_FORWARDS,
                },
                &origin,
            );
            req.push_header(HeaderName::Event, "message-summary");
            req.set_body(Some(SUMMARY), body.clone().into_bytes());
            log::debug!("MWI: unsolicited NOTIFY to '{name}' at {}", flow.remote);
            self.txs.open_client(
                now,
                &mut self.sched,
                &mut self.out,
                req,
                flow,
                Purpose::Fire,
            );
        }
    }

    /// Boxes changed (a message left, heard, moved, deleted): every phone watching one of them
    /// is told, by its subscriptions or, without one, unsolicited.
    pub(super) fn flush_mwi(&mut self, now: Instant) {
        if !self.out.has_mailbox_changes() {
            return;
        }
        let changed = self.out.take_mailbox_changes();
        let touches = |list: &str| {
            list.split(['&', ','])
                .map(crate::voicemail::split_box)
                .any(|(b, c)| changed.iter().any(|(cc, bb)| *bb == b && *cc == c))
        };
        let peers: Vec<PeerId> = self
            .cfg
            .peers()
            .filter(|(_, p)| p.mailbox.as_deref().is_some_and(touches))
            .map(|(id, _)| id)
            .collect();
        for peer in peers {
            let keys: Vec<(String, String)> = self
                .mwi
                .subs
                .iter()
                .filter(|(_, s)| s.peer == peer && s.package == Package::MessageSummary)
                .map(|(k, _)| k.clone())
                .collect();
            if keys.is_empty() {
                self.unsolicited_mwi(now, peer);
            }
            for k in keys {
                self.notify_subscription(now, &k, false);
            }
        }
    }

    /// A NOTIFY in subscription `key`'s dialog; `terminated` for the last one.
    pub(super) fn notify_subscription(
        &mut self,
        now: Instant,
        key: &(String, String),
        terminated: bool,
    ) {
        let Some((peer, package)) = self.mwi.subs.get(key).map(|s| (s.peer, s.package)) else {
            return;
        };
        let body = if package == Package::MessageSummary {
            self.summary_for(peer)
                .unwrap_or_else(|| summary_body(Counts::default(), &self.account_uri()))
        } else {
            self.watch_body(key, now).unwrap_or_default()
        };
        let branch = crate::transaction::new_branch(&mut self.rng);
        let ua = self.cfg.general.user_agent.clone();
        let Some(sub) = self.mwi.subs.get_mut(key) else {
            return;
        };
        let cseq = sub.dialog.next_cseq();
        let origin = Origin::on(sub.dialog.flow, &self.advertise, &branch, &ua);
        let local = origin.local;
        let mut req = build::in_dialog(&sub.dialog, Method::Notify, cseq, &origin);
        req.push_header(HeaderName::Event, package.event());
        let left = sub.expires_at.saturating_duration_since(now).as_secs();
        let state = if terminated {
            "terminated;reason=timeout".to_string()
        } else {
            format!("active;expires={left}")
        };
        req.push_header(HeaderName::SubscriptionState, state);
        req.push_header(
            HeaderName::Contact,
            build::contact("sipbox", local).to_string(),
        );
        req.set_body(Some(package.content_type()), body.into_bytes());
        let flow = sub.dialog.flow;
        self.txs.open_client(
            now,
            &mut self.sched,
            &mut self.out,
            req,
            flow,
            Purpose::Fire,
        );
    }

    /// A subscription's time is up: a terminated NOTIFY, and it is gone.
    pub(super) fn mwi_expired(&mut self, now: Instant, id: TimerId) {
        let Some(key) = self
            .mwi
            .subs
            .iter()
            .find(|(_, s)| s.timer == id)
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        log::info!("subscription {} expired", key.0);
        self.notify_subscription(now, &key, true);
        self.mwi.subs.remove(&key);
    }

    /// Subscriptions held (for leak checks).
    pub fn mwi_subscriptions(&self) -> usize {
        self.mwi.subs.len()
    }

    /// SUBSCRIBE (new or refresh), answered without a server transaction: the same request
    /// again gets the same answer, and a refused one leaves nothing behind.
    pub(super) fn handle_subscribe(&mut self, now: Instant, req: &Request, flow: Flow) {
        let event = req.headers().get(&HeaderName::Event).unwrap_or("");
        let accept = req.headers().get(&HeaderName::Accept).unwrap_or("");
        let Some(package) = Package::parse(event, accept) else {
            let r = Reply::new(StatusCode::BAD_EVENT).header(HeaderName::AllowEvents, ALLOW_EVENTS);
            return self.respond_statelessly(req, flow, r);
        };
        let source = flow.remote;
        let user = req.from().uri.user.clone().unwrap_or_default();
        let entry = self.cfg.entry(&user);
        let key = (
            req.call_id().to_string(),
            req.from_tag().unwrap_or("").to_string(),
        );
        // A refresh inside a subscription's dialog (both tags known only to the two ends)
        // is not challenged again, as chan_sip does for a subscribed dialog.
        let in_dialog = self
            .mwi
            .subs
            .get(&key)
            .is_some_and(|s| req.to_tag() == Some(s.dialog.local_tag.as_str()));
        let verdict = if in_dialog {
            AuthVerdict::Accepted
        } else {
            self.check_credentials(now, req, source, entry, HeaderName::Authorization)
        };
        match verdict {
            // Proved: answered in full from now on (security/reflect.rs).
            AuthVerdict::Accepted => self.reflect.trust(now, source.ip()),
            AuthVerdict::Challenge { stale } => {
                let r = self.challenge(now, StatusCode::UNAUTHORIZED, stale, source);
                return self.respond_statelessly(req, flow, r);
            }
            AuthVerdict::Forbidden(why) => {
                self.auth_refused(now, req, source, why);
                return self.respond_statelessly(req, flow, Reply::new(StatusCode::FORBIDDEN));
            }
            AuthVerdict::Malformed(_) => {
                self.auth_refused(now, req, source, Refusal::BadCredentials);
                let r = Reply::with_reason(StatusCode::BAD_REQUEST, "Bad Authorization header");
                return self.respond_statelessly(req, flow, r);
            }
        }
        let existing = self.mwi.subs.contains_key(&key);
        let (peer, watch) = if package == Package::MessageSummary {
            let Some(peer) = entry.filter(|p| self.mailboxes_of(*p).is_some()) else {
                // chan_sip: a peer without a mailbox has nothing to subscribe to.
                return self.respond_statelessly(req, flow, Reply::new(StatusCode::NOT_FOUND));
            };
            (peer, None)
        } else {
            match self.watch_target(req, entry) {
                Ok(t) => t,
                Err(r) => return self.respond_statelessly(req, flow, r),
            }
        };
        let expires = match req.expires() {
            Ok(e) => e.unwrap_or(DEFAULT_EXPIRES),
            Err(e) => {
                let r = Reply::with_reason(StatusCode::BAD_REQUEST, e.to_string());
                return self.respond_statelessly(req, flow, r);
            }
        };
        if expires != 0 && expires < MIN_EXPIRES {
            let r = Reply::new(StatusCode::INTERVAL_TOO_BRIEF)
                .header(HeaderName::MinExpires, MIN_EXPIRES.to_string());
            return self.respond_statelessly(req, flow, r);
        }
        let expires = expires.min(MAX_EXPIRES);
        if req.to_tag().is_some() && !existing {
            let r = Reply::new(StatusCode::CALL_DOES_NOT_EXIST);
            return self.respond_statelessly(req, flow, r);
        }
        if expires == 0 {
            // Unsubscribe: 200, then the terminated NOTIFY (RFC 6665 §4.2.1.4).
            if existing {
                let tag = self.mwi.subs[&key].dialog.local_tag.clone();
                self.respond_tagged(req, flow, &tag, 0);
                if let Some(s) = self.mwi.subs.get_mut(&key) {
                    s.expires_at = now;
                    self.sched.cancel(s.timer);
                }
                self.notify_subscription(now, &key, true);
                self.mwi.subs.remove(&key);
                log::info!("MWI: '{user}' unsubscribed");
            } else {
                let tag = self.new_tag();
                self.respond_tagged(req, flow, &tag, 0);
            }
            return;
        }
        let expires_at = now + Duration::from_secs(expires.into());
        if let Some(s) = self.mwi.subs.get_mut(&key) {
            if req.cseq().seq <= s.dialog.remote_cseq {
                let r = Reply::new(StatusCode::SERVER_INTERNAL_ERROR);
                return self.respond_statelessly(req, flow, r);
            }
            s.dialog.remote_cseq = req.cseq().seq;
            s.dialog.flow = flow;
            s.expires_at = expires_at;
            self.sched.cancel(s.timer);
            s.timer = self.sched.schedule(expires_at, Wake::MwiExpiry);
            let tag = s.dialog.local_tag.clone();
            self.respond_tagged(req, flow, &tag, expires);
        } else {
            let size = req.to_bytes().len();
            let per_peer = if watch.is_some() {
                MAX_WATCH_PER_PEER
            } else {
                MAX_PER_PEER
            };
            if self.mwi.count_for(peer, watch.is_some()) >= per_peer
                || self.mwi.subs.len() >= MAX_SUBSCRIPTIONS
                || self.mwi.bytes() + size > MAX_SUBSCRIPTION_BYTES
            {
                log::warn!(
                    "{} subscription from '{user}' refused: too many",
                    package.event()
                );
                let r = Reply::new(StatusCode::SERVICE_UNAVAILABLE)
                    .header(HeaderName::RetryAfter, "60");
                return self.respond_statelessly(req, flow, r);
            }
            let tag = self.new_tag();
            let mut dialog = Dialog::uas(req, tag.clone(), flow);
            dialog.state = DialogState::Confirmed;
            let timer = self.sched.schedule(expires_at, Wake::MwiExpiry);
            self.mwi.subs.insert(
                key.clone(),
                Subscription {
                    peer,
                    dialog,
                    expires_at,
                    timer,
                    package,
                    watch,
                    size,
                },
            );
            self.respond_tagged(req, flow, &tag, expires);
            log::info!("'{user}' subscribed to {} for {expires} s", package.event());
        }
        self.notify_subscription(now, &key, false);
    }

    /// A 200 to a SUBSCRIBE with our dialog tag and the granted Expires.
    fn respond_tagged(&mut self, req: &Request, flow: Flow, tag: &str, expires: u32) {
        let to_tag = req.to_tag().is_none().then_some(tag);
        let (via, dest) = self.txs.stamp_via(req.top_via(), flow);
        let status = StatusCode::OK;
        let mut resp = Response::for_request(req, status.code(), status.reason(), to_tag);
        resp.set_top_via(&via);
        resp.push_header(HeaderName::Expires, expires.to_string());
        resp.push_header(
            HeaderName::Contact,
            build::contact("sipbox", self.advertise.sip(flow.remote)).to_string(),
        );
        resp.push_header(HeaderName::Server, self.cfg.general.user_agent.clone());
        self.out.sip(dest, resp.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_as_rfc3842() {
        let c = Counts {
            new: 2,
            old: 1,
            urgent: 1,
        };
        assert_eq!(
            summary_body(c, "sip:asterisk@127.0.0.1"),
            "Messages-Waiting: yes\r\nMessage-Account: sip:asterisk@127.0.0.1\r\nVoice-Message: 3/1 (1/0)\r\n"
        );
        assert!(summary_body(Counts::default(), "x").starts_with("Messages-Waiting: no\r\n"));
        let p = |e, a| Package::parse(e, a);
        assert_eq!(p("message-summary;id=1", ""), Some(Package::MessageSummary));
        assert_eq!(p("presence", ""), Some(Package::Presence));
        assert_eq!(p("presence", "application/xpidf+xml"), Some(Package::Xpidf));
        assert_eq!(
            p("presence", "application/pidf+xml, application/xpidf+xml"),
            Some(Package::Presence)
        );
        assert_eq!(p("Dialog", ""), Some(Package::Dialog));
        assert_eq!(p("conference", ""), None);
    }
}
