//! Dial(SIP/...): forking the call to callees and translating their answers to the caller.
//!
//! Reading list: RFC 3261 §13.2 (UAC INVITE: 1xx, 2xx from several forks, ACK for each 2xx),
//! §9.1 (CANCEL only after a provisional), §16.7 (how a forking element picks the best
//! failure); Asterisk's app_dial for DIALSTATUS and the `r`/`g` options.

use super::build;
use super::call_state::{DialState, Phase};
use super::transactions::{ClientEvent, ClientPurpose};
use super::{Engine, EngineTimer, Reply};
use crate::call::{CallRef, DialogState, Leg, LegRef, LegRole};
use crate::config::sip_values::Host;
use crate::dialplan::{DialStatus, DialTarget};
use crate::sip::{HeaderName, Method, NameAddr, Response, Uri};
use crate::transaction::Handle;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Where one fork goes.
struct ForkTarget {
    entry: usize,
    uri: Uri,
    dest: SocketAddr,
}

impl Engine {
    /// Starts a Dial; returns the status at once when nothing could be called.
    pub(super) fn start_dial(
        &mut self,
        now: Instant,
        cref: CallRef,
        targets: &[DialTarget],
        timeout: Option<Duration>,
        ringback: bool,
        continue_after: bool,
    ) -> Option<DialStatus> {
        let mut forks = Vec::new();
        let mut busy = false;
        for t in targets {
            if !t.tech.eq_ignore_ascii_case("SIP") {
                log::warn!("Dial: technology '{}' is not supported (only SIP)", t.tech);
                continue;
            }
            let Some(entry) = self.cfg.entry(&t.resource) else {
                log::warn!("Dial: no sip.conf entry '{}'", t.resource);
                continue;
            };
            if self.over_call_limit(entry) {
                busy = true;
                continue;
            }
            if self.is_unreachable(entry) {
                log::info!("Dial: '{}' is UNREACHABLE (qualify)", t.resource);
                continue;
            }
            forks.extend(self.fork_targets(entry, t.number.as_deref()));
        }
        if forks.is_empty() {
            return Some(if busy {
                DialStatus::Busy
            } else {
                DialStatus::ChanUnavail
            });
        }
        let mut leg_ids = Vec::new();
        for f in forks {
            if let Some(id) = self.send_fork(now, cref, f) {
                leg_ids.push(id);
            }
        }
        if leg_ids.is_empty() {
            let failures = std::mem::take(&mut self.fork_setup_failures);
            if let (Some(&f), Some(call)) = (failures.first(), self.calls.get_mut(cref)) {
                call.hangup_status = failure_to_caller(f);
            }
            return Some(DialStatus::ChanUnavail);
        }
        self.fork_setup_failures.clear();
        let timer = timeout.map(|d| self.sched.schedule(now + d, EngineTimer::DialTimeout(cref)));
        if let Some(call) = self.calls.get_mut(cref) {
            call.phase = Phase::Dialing;
            call.dial = Some(DialState {
                pending: leg_ids.len(),
                forks: leg_ids,
                timer,
                failure: None,
                continue_after,
            });
        }
        if ringback {
            self.reply_caller(now, cref, Reply::status(180, "Ringing"), None);
        }
        None
    }

    /// The contacts a Dial to `entry` rings: every registered binding of a dynamic peer, or the
    /// static host.
    fn fork_targets(&self, entry: usize, number: Option<&str>) -> Vec<ForkTarget> {
        let p = &self.cfg.peers[entry];
        match &p.host {
            Host::Dynamic => self
                .registrar
                .bindings(&p.name)
                .iter()
                .filter_map(|b| {
                    let mut uri = Uri::parse(&b.contact).ok()?;
                    if let Some(n) = number {
                        uri.user = Some(n.to_string());
                    }
                    // nat=no trusts the Contact; otherwise (chan_sip's default force_rport)
                    // the address the REGISTER came from.
                    let dest = if p.nat.force_rport {
                        b.source
                    } else {
                        uri_addr(&uri).unwrap_or(b.source)
                    };
                    Some(ForkTarget { entry, uri, dest })
                })
                .collect(),
            Host::Static { host, ip, port } => {
                let Some(addr) = ip
                    .map(|ip| SocketAddr::new(ip, *port))
                    .or_else(|| self.cfg.resolved(entry))
                else {
                    log::warn!("Dial: host '{host}' of '{}' has no address", p.name);
                    return Vec::new();
                };
                let user = number.or(p.defaultuser.as_deref()).unwrap_or(&p.name);
                match Uri::parse(&format!("sip:{}@{addr}", build::escape_user(user))) {
                    Ok(uri) => vec![ForkTarget {
                        entry,
                        uri,
                        dest: addr,
                    }],
                    Err(_) => Vec::new(),
                }
            }
            Host::Unset => Vec::new(),
        }
    }

    /// Creates an outbound leg and sends its INVITE.
    fn send_fork(&mut self, now: Instant, cref: CallRef, f: ForkTarget) -> Option<usize> {
        let call_id = format!("{:032x}@sipbox", rand::Rng::random::<u128>(&mut self.rng));
        let local_tag = self.new_tag();
        let branch = self.new_branch();
        let local = self.local;
        let ua = self.cfg.general.user_agent.clone();
        let peer = &self.cfg.peers[f.entry];
        let call = self.calls.get(cref)?;
        let (cid_name, cid_num) = self.caller_id(call);
        let local_uri = NameAddr::parse(&match &cid_name {
            Some(n) => format!(
                "\"{}\" <sip:{}@{local}>",
                n.replace('"', ""),
                build::escape_user(&cid_num)
            ),
            None => format!("<sip:{}@{local}>", build::escape_user(&cid_num)),
        })
        .ok()?;
        let to_user = f.uri.user.clone().unwrap_or_else(|| peer.name.clone());
        let remote_uri = NameAddr::parse(&format!(
            "<sip:{}@{}>",
            build::escape_user(&to_user),
            f.uri.host
        ))
        .ok()?;
        let leg = Leg {
            role: LegRole::Uac,
            call_id: call_id.clone(),
            local_tag,
            remote_tag: None,
            local_uri,
            remote_uri,
            remote_target: f.uri.clone(),
            route_set: Vec::new(),
            local_cseq: 1,
            remote_cseq: 0,
            peer: f.dest,
            state: DialogState::Trying,
            invite_branch: Some(branch.clone()),
            invite_cseq: 1,
            entry: Some(f.entry),
        };
        let call = self.calls.get_mut(cref)?;
        let leg_id = call.legs.len();
        call.legs.push(leg);
        call.fork_txs.push(None);
        call.fork_acks.push(None);
        call.counted.push(f.entry);
        *self.active_calls.entry(f.entry).or_default() += 1;
        self.calls.index_leg(cref, leg_id, &call_id);
        let body = match self.media_offer_for_fork(now, cref, leg_id) {
            Ok(b) => b,
            Err(status) => {
                if let Some(call) = self.calls.get_mut(cref) {
                    call.legs[leg_id].state = DialogState::Terminated;
                    if let Some(d) = call.dial.as_mut() {
                        d.failure = Some(better_failure(d.failure, status));
                    }
                }
                self.fork_setup_failures.push(status);
                return None;
            }
        };
        let call = self.calls.get(cref)?;
        let mut invite =
            build::in_dialog(&call.legs[leg_id], Method::Invite, 1, local, &branch, &ua);
        invite.push_header(HeaderName::Allow, super::validate::ALLOW);
        if let Some((ct, b)) = body {
            invite.set_body(Some(&ct), b);
        }
        let h = self.open_client_tx(
            now,
            invite,
            f.dest,
            ClientPurpose::Invite(LegRef {
                call: cref,
                leg: leg_id,
            }),
        );
        if let Some(call) = self.calls.get_mut(cref) {
            call.fork_txs[leg_id] = h;
        }
        log::debug!("fork {call_id} to {} via {}", f.uri, f.dest);
        h.map(|_| leg_id)
    }

    /// A response (or timeout) arrived for the INVITE of outbound leg `lr` on transaction `h`.
    pub(super) fn on_fork_event(
        &mut self,
        now: Instant,
        h: Handle,
        lr: LegRef,
        ev: ClientEvent,
        resp: Option<&Response>,
    ) {
        let status = match ev {
            ClientEvent::Response(s) => s,
            ClientEvent::Timeout => 408,
        };
        let live = self.calls.get(lr.call).is_some_and(|c| {
            c.legs
                .get(lr.leg)
                .is_some_and(|l| l.state != DialogState::Terminated)
        });
        if (200..300).contains(&status) {
            let Some(resp) = resp else { return };
            if !live || !self.fork_may_answer(lr) {
                // A late 2xx (another fork won, the caller gave up, or a retransmission after
                // we hung up): acknowledge it and end that dialog at once (§13.2.2.4).
                return self.ack_and_bye_orphan(now, h, lr, resp);
            }
            return self.fork_answered(now, lr, resp);
        }
        if !live {
            if (101..200).contains(&status) {
                if let Some(tx) = self.client_txs.get_mut(h) {
                    tx.provisional_seen = true;
                }
                self.send_owed_cancel(now, h);
            }
            return;
        }
        match status {
            100 => {}
            101..=199 => {
                if let Some(resp) = resp {
                    self.fork_early(now, h, lr, resp);
                }
            }
            _ => self.fork_failed(now, lr, status),
        }
    }

    fn fork_may_answer(&self, lr: LegRef) -> bool {
        matches!(self.calls.get(lr.call), Some(c) if c.phase == Phase::Dialing)
    }

    fn fork_early(&mut self, now: Instant, h: Handle, lr: LegRef, resp: &Response) {
        if let Some(tx) = self.client_txs.get_mut(h) {
            tx.provisional_seen = true;
        }
        if self.send_owed_cancel(now, h) {
            return;
        }
        let Some(call) = self.calls.get_mut(lr.call) else {
            return;
        };
        let leg = &mut call.legs[lr.leg];
        if let Some(tag) = resp.to().tag() {
            leg.remote_tag = Some(tag.to_string());
            leg.state = DialogState::Early;
        }
        let (status, reason) = if resp.status() == 183 || !resp.body().is_empty() {
            (183, "Session Progress")
        } else {
            (180, "Ringing")
        };
        let body = self.media_answer_from_fork(now, lr, resp);
        self.reply_caller(now, lr.call, Reply::status(status, reason), body);
    }

    fn fork_answered(&mut self, now: Instant, lr: LegRef, resp: &Response) {
        let local = self.local;
        let ua = self.cfg.general.user_agent.clone();
        let branch = self.new_branch();
        let Some(call) = self.calls.get_mut(lr.call) else {
            return;
        };
        let leg = &mut call.legs[lr.leg];
        leg.remote_tag = resp.to().tag().map(str::to_string);
        leg.state = DialogState::Confirmed;
        if let Some(target) = first_contact(resp) {
            leg.remote_target = target;
        }
        leg.route_set = build::route_set(resp.record_route().unwrap_or_default(), LegRole::Uac);
        let ack =
            build::in_dialog(leg, Method::Ack, leg.invite_cseq, local, &branch, &ua).to_bytes();
        let peer = leg.peer;
        call.fork_acks[lr.leg] = Some(ack.clone());
        self.out.sip(peer, ack);
        // The caller is answered with the callee's session description.
        let dial_timer = call.dial.as_mut().and_then(|d| d.timer.take());
        let others: Vec<usize> = call
            .dial
            .as_ref()
            .map(|d| d.forks.iter().copied().filter(|&f| f != lr.leg).collect())
            .unwrap_or_default();
        call.phase = Phase::Answered {
            callee: Some(lr.leg),
        };
        if let Some(t) = dial_timer {
            self.sched.cancel(t);
        }
        for other in others {
            self.cancel_fork(
                now,
                LegRef {
                    call: lr.call,
                    leg: other,
                },
            );
        }
        let body = self.media_answer_from_fork(now, lr, resp);
        self.answer_caller(now, lr.call, body);
        self.set_dial_status(lr.call, DialStatus::Answer);
        log::info!(
            "call {} answered by leg {}",
            self.call_label(lr.call),
            lr.leg
        );
    }

    fn fork_failed(&mut self, now: Instant, lr: LegRef, status: u16) {
        let Some(call) = self.calls.get_mut(lr.call) else {
            return;
        };
        call.legs[lr.leg].state = DialogState::Terminated;
        let Some(dial) = call.dial.as_mut() else {
            return;
        };
        if !dial.forks.contains(&lr.leg) {
            return;
        }
        dial.pending = dial.pending.saturating_sub(1);
        dial.failure = Some(better_failure(dial.failure, status));
        let done = dial.pending == 0 && call.phase == Phase::Dialing;
        // A 6xx ends the whole search (§16.7 step 5 for forking elements).
        let global = (600..700).contains(&status) && call.phase == Phase::Dialing;
        if global {
            let forks: Vec<usize> = dial.forks.clone();
            for f in forks {
                self.cancel_fork(
                    now,
                    LegRef {
                        call: lr.call,
                        leg: f,
                    },
                );
            }
        }
        if done || global {
            self.finish_dial(now, lr.call);
        }
    }

    /// The Dial ended without an answer: set DIALSTATUS and resume the dialplan.
    pub(super) fn finish_dial(&mut self, now: Instant, cref: CallRef) {
        let Some(call) = self.calls.get_mut(cref) else {
            return;
        };
        let Some(dial) = call.dial.take() else { return };
        if let Some(t) = dial.timer {
            self.sched.cancel(t);
        }
        let failure = dial.failure.unwrap_or(480);
        let status = dial_status_for(failure);
        call.hangup_status = failure_to_caller(failure);
        call.phase = Phase::Routing;
        self.set_dial_status(cref, status);
        self.run_dialplan(
            now,
            cref,
            Some(crate::dialplan::Resume::DialEnded {
                status,
                cause: None,
            }),
        );
    }

    /// The Dial timeout fired: cancel every fork still ringing.
    pub(super) fn dial_timed_out(&mut self, now: Instant, cref: CallRef) {
        let Some(call) = self.calls.get_mut(cref) else {
            return;
        };
        let Some(dial) = call.dial.as_mut() else {
            return;
        };
        dial.timer = None;
        dial.failure = Some(408);
        let forks = dial.forks.clone();
        for f in forks {
            self.cancel_fork(now, LegRef { call: cref, leg: f });
        }
        self.finish_dial(now, cref);
    }

    /// Ends an outbound leg that has not answered: CANCEL now if it sent a provisional, else
    /// as soon as it does (§9.1).
    pub(super) fn cancel_fork(&mut self, now: Instant, lr: LegRef) {
        let Some(call) = self.calls.get_mut(lr.call) else {
            return;
        };
        let Some(leg) = call.legs.get_mut(lr.leg) else {
            return;
        };
        if !matches!(leg.state, DialogState::Trying | DialogState::Early) {
            return;
        }
        leg.state = DialogState::Terminated;
        let Some(h) = call.fork_txs.get(lr.leg).copied().flatten() else {
            return;
        };
        if let Some(tx) = self.client_txs.get_mut(h) {
            tx.cancel_wanted = true;
        }
        self.send_owed_cancel(now, h);
    }

    /// Sends the CANCEL owed on INVITE transaction `h` if a provisional has arrived. Returns
    /// true if one was sent (or was already sent).
    fn send_owed_cancel(&mut self, now: Instant, h: Handle) -> bool {
        let Some(tx) = self.client_txs.get_mut(h) else {
            return false;
        };
        if !tx.cancel_wanted || !tx.provisional_seen {
            return tx.cancel_wanted;
        }
        tx.cancel_wanted = false;
        let cancel = build::cancel_for(&tx.request);
        let dest = tx.dest;
        let mut acts = std::mem::take(&mut self.actions);
        if let super::transactions::ClientMachine::Invite(m) = &mut tx.machine {
            m.on_cancel_sent(now, &mut acts);
        }
        self.apply_client_actions_pub(h, &mut acts);
        self.actions = acts;
        self.open_client_tx(now, cancel, dest, ClientPurpose::Fire);
        true
    }

    /// ACK and BYE for a 2xx nobody wants.
    fn ack_and_bye_orphan(&mut self, now: Instant, h: Handle, lr: LegRef, resp: &Response) {
        let Some(tx) = self.client_txs.get(h) else {
            return;
        };
        let invite = tx.request.clone();
        let dest = tx.dest;
        let leg = Leg {
            role: LegRole::Uac,
            call_id: invite.call_id().to_string(),
            local_tag: invite.from().tag().unwrap_or_default().to_string(),
            remote_tag: resp.to().tag().map(str::to_string),
            local_uri: super::invite::without_tag(invite.from()),
            remote_uri: super::invite::without_tag(resp.to()),
            remote_target: first_contact(resp).unwrap_or_else(|| invite.uri().clone()),
            route_set: build::route_set(resp.record_route().unwrap_or_default(), LegRole::Uac),
            local_cseq: invite.cseq().seq,
            remote_cseq: 0,
            peer: dest,
            state: DialogState::Confirmed,
            invite_branch: None,
            invite_cseq: invite.cseq().seq,
            entry: None,
        };
        let ua = self.cfg.general.user_agent.clone();
        let b1 = self.new_branch();
        let ack = build::in_dialog(&leg, Method::Ack, leg.invite_cseq, self.local, &b1, &ua);
        self.out.sip(dest, ack.to_bytes());
        // A retransmitted 2xx for a leg we already acknowledged and hung up needs only the ACK.
        let already = self
            .calls
            .get(lr.call)
            .and_then(|c| c.fork_acks.get(lr.leg).cloned().flatten())
            .is_some();
        if !already && !self.orphans_byed.contains(&leg.call_id) {
            let b2 = self.new_branch();
            let bye =
                build::in_dialog(&leg, Method::Bye, leg.invite_cseq + 1, self.local, &b2, &ua);
            self.open_client_tx(now, bye, dest, ClientPurpose::Fire);
            self.orphans_byed.push(leg.call_id.clone());
            if self.orphans_byed.len() > 64 {
                self.orphans_byed.remove(0);
            }
        }
    }

    /// The caller ID an outbound leg shows: the caller's entry `callerid`, else the From of
    /// the caller's INVITE (the dialplan may have changed it with Set(CALLERID(...))).
    fn caller_id(&self, call: &super::call_state::Call) -> (Option<String>, String) {
        if let Some(exec) = &call.exec {
            if let (name, Some(num)) = (exec.var("CALLERID(name)"), exec.var("CALLERID(num)")) {
                if !num.is_empty() {
                    return (name.filter(|n| !n.is_empty()), num);
                }
            }
        }
        let from = call.invite.from();
        (
            from.display.clone(),
            from.uri.user.clone().unwrap_or_else(|| "anonymous".into()),
        )
    }
}

/// The first Contact URI of a response.
pub(super) fn first_contact(resp: &Response) -> Option<Uri> {
    resp.contacts().ok()?.into_iter().find_map(|c| match c {
        crate::sip::Contact::Addr(na) => Some(na.uri),
        crate::sip::Contact::Star => None,
    })
}

/// An IP-literal URI's socket address.
fn uri_addr(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse().ok()?;
    Some(SocketAddr::new(ip, uri.port.unwrap_or(5060)))
}

/// Picks the failure to report among forks (§16.7 step 6, simplified): 6xx beats everything,
/// then busy (486/600), then the lowest class seen.
fn better_failure(current: Option<u16>, new: u16) -> u16 {
    let rank = |s: u16| match s {
        600..=699 => 0,
        486 => 1,
        487 => 5,
        408 | 480 => 4,
        500..=599 => 3,
        _ => 2,
    };
    match current {
        Some(c) if rank(c) <= rank(new) => c,
        _ => new,
    }
}

/// Asterisk's DIALSTATUS for the final failure of a Dial.
fn dial_status_for(failure: u16) -> DialStatus {
    match failure {
        486 | 600 | 603 => DialStatus::Busy,
        408 | 480 | 487 => DialStatus::NoAnswer,
        500..=599 => DialStatus::Congestion,
        _ => DialStatus::ChanUnavail,
    }
}

/// What an unanswered caller is told after a failed Dial (see README: chosen over chan_sip's
/// 603/503 so phones show the real reason).
pub(super) fn failure_to_caller(failure: u16) -> u16 {
    match failure {
        486 => 486,
        488 => 488,
        600..=699 => failure,
        408 | 480 | 487 => 480,
        500..=599 => 503,
        _ => 480,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_choice_and_mapping() {
        assert_eq!(better_failure(None, 480), 480);
        assert_eq!(better_failure(Some(480), 486), 486);
        assert_eq!(better_failure(Some(486), 503), 486);
        assert_eq!(better_failure(Some(486), 603), 603);
        assert_eq!(failure_to_caller(486), 486);
        assert_eq!(failure_to_caller(408), 480);
        assert_eq!(failure_to_caller(503), 503);
        assert_eq!(failure_to_caller(502), 503);
        assert_eq!(failure_to_caller(404), 480);
        assert_eq!(failure_to_caller(603), 603);
        assert_eq!(dial_status_for(486), DialStatus::Busy);
        assert_eq!(dial_status_for(408), DialStatus::NoAnswer);
        assert_eq!(dial_status_for(503), DialStatus::Congestion);
        assert_eq!(dial_status_for(404), DialStatus::ChanUnavail);
    }
}
