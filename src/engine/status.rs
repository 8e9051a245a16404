//! The engine's side of the status page and `/metrics` (`crate::status`): the counters it
//! keeps as events happen (calls by outcome, refused credentials, bans, reloads, the loop's
//! turn times the driver measures) and the [`Snapshot`] it builds on request, from the same
//! views the CLI reads (`cli_view`: `sip show peers`, `sip show registry`).

use super::Engine;
use crate::auth::Refusal;
use crate::call::{Call, CallState, DialogState, EndReason, Role};
use crate::cli::{Levels, Reach};
use crate::sip::StatusCode;
use crate::status::{
    AuthFailure, CallRow, Counters, FailureKind, Histogram, LegRow, Outcome, PeerRow, PeerState,
    Recent, RegistrationRow, RtpCounters, SipCounters, Snapshot, TrunkRow,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What the engine keeps for the status page.
#[derive(Debug, Default)]
pub struct StatusState {
    pub(super) counters: Counters,
    latency: Histogram,
    recent: Recent,
}

impl Engine {
    /// Records one turn of the driver's loop (how long it worked before polling again).
    pub fn record_loop_turn(&mut self, took: Duration) {
        self.status.latency.observe(took);
    }

    /// Counts a reload that was refused before reaching the engine (a config file with an
    /// error: the driver's reader found it).
    pub fn reload_refused(&mut self) {
        self.status.counters.reloads_failed += 1;
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        self.status.counters
    }

    /// Counts a call that ended and, when it was not answered, lists it as a failure.
    /// `caller_status` is what an unanswered caller was told; `wall` is now.
    pub(super) fn count_call_end(
        &mut self,
        call: &Call,
        caller_status: StatusCode,
        wall: std::time::SystemTime,
    ) {
        let outcome = if call.cdr.was_answered() {
            Outcome::Answered
        } else if matches!(call.state, CallState::Ended(EndReason::Cancelled)) {
            Outcome::Cancelled
        } else {
            Outcome::of_refusal(caller_status.code())
        };
        self.status.counters.call_ended(outcome);
        if !matches!(outcome, Outcome::Answered | Outcome::Cancelled) {
            let from = call.legs[0].channel.as_str();
            let text = format!(
                "{from} to '{}': {} ({})",
                call.exten,
                outcome.label(),
                caller_status.code()
            );
            self.status.recent.push(wall, FailureKind::Call, text);
        }
    }

    /// Counts refused credentials from `source` for `account`; `banned` when it banned the
    /// source.
    pub(super) fn count_auth_failure(
        &mut self,
        now: Instant,
        why: Refusal,
        account: &str,
        source: SocketAddr,
        banned: bool,
    ) {
        let reason = match why {
            Refusal::WrongPassword => AuthFailure::WrongPassword,
            Refusal::UnknownAccount => AuthFailure::UnknownAccount,
            Refusal::AclDenied => AuthFailure::AclDenied,
            Refusal::BadCredentials => AuthFailure::BadCredentials,
            Refusal::WrongPin => AuthFailure::WrongPin,
        };
        self.status.counters.auth_failed(reason);
        if banned {
            self.status.counters.bans += 1;
        }
        let mut text = format!("'{account}' from {source}: {}", reason.label());
        if banned {
            text.push_str(" (source banned)");
        }
        let wall = self.wall(now);
        self.status.recent.push(wall, FailureKind::Auth, text);
    }

    /// Everything the status page and `/metrics` show, at `now`.
    pub fn status_snapshot(&self, now: Instant) -> Snapshot {
        let view = self.cli_view(now, Levels::default());
        let peers = view
            .peers
            .iter()
            .map(|p| {
                let (state, latency) = match p.reach {
                    Reach::Ok(rtt) => (PeerState::Reachable, Some(rtt)),
                    Reach::Unreachable => (PeerState::Unreachable, None),
                    Reach::Unknown => (PeerState::Unknown, None),
                    Reach::Unmonitored => (PeerState::Unmonitored, None),
                };
                PeerRow {
                    name: p.conf.name.clone(),
                    addr: p.addr,
                    state,
                    latency,
                    in_use: p.in_use,
                }
            })
            .collect();
        let registrations = view
            .peers
            .iter()
            .flat_map(|p| {
                p.bindings.iter().map(move |b| RegistrationRow {
                    aor: p.conf.name.clone(),
                    contact: b.contact.clone(),
                    source: b.flow.remote,
                    expires_in: b.expires_at.saturating_duration_since(now).as_secs(),
                    user_agent: b.user_agent.clone(),
                })
            })
            .collect();
        let trunks = view
            .registry
            .iter()
            .map(|r| TrunkRow {
                host: r.host.clone(),
                username: r.username.clone(),
                state: r.state.clone(),
                refresh: r.refresh,
            })
            .collect();
        let stats = self.stats;
        let media = self.media.stats;
        Snapshot {
            wall: view.wall,
            uptime: now.saturating_duration_since(self.admin.started),
            counters: self.status.counters,
            latency: self.status.latency,
            sip: SipCounters {
                datagrams: stats.sip_datagrams,
                unparsable: stats.dropped,
                refused: stats.refused,
                banned: stats.banned,
                scanners: stats.scanners,
                rate_limited: stats.rate_limited,
                reflection_withheld: stats.reflection_withheld,
            },
            rtp: RtpCounters {
                relayed: media.forwarded,
                dropped: media.dropped,
                transcoded: media.transcoded,
                played: media.played,
            },
            transactions: (self.txs.server_len(), self.txs.client_len()),
            banned_now: self.ban.banned_count(now),
            peers,
            registrations,
            calls: self.call_rows(now),
            trunks,
            failures: self.status.recent.iter().cloned().collect(),
        }
    }

    /// One row per call not yet ended, its legs in order (the caller's first).
    fn call_rows(&self, now: Instant) -> Vec<CallRow> {
        let mut rows = Vec::with_capacity(self.calls.len());
        for (_, call) in self.calls.iter() {
            if call.is_over() {
                continue;
            }
            let mut order: Vec<usize> = (0..call.legs.len()).collect();
            order.sort_by_key(|&i| i != call.caller);
            let legs = order
                .into_iter()
                .filter_map(|i| call.legs.get(i))
                .filter(|l| l.dialog.state != DialogState::Terminated)
                .map(|l| {
                    let incoming = l.dialog.role == Role::Uas;
                    LegRow {
                        channel: l.channel.clone(),
                        peer: l
                            .peer
                            .and_then(|p| self.cfg.peer(p))
                            .map(|p| p.name.clone()),
                        state: match (l.dialog.state, incoming) {
                            (DialogState::Confirmed, _) => "Up",
                            (_, true) => "Ring",
                            (DialogState::Early, false) => "Ringing",
                            _ => "Down",
                        },
                        codec: l
                            .media
                            .as_ref()
                            .and_then(|m| m.codec.as_ref())
                            .map(super::admin::codec_word),
                    }
                })
                .collect();
            let started = call.legs.get(call.caller).map_or(now, |l| l.created);
            rows.push(CallRow {
                exten: call.exten.clone(),
                duration: now.saturating_duration_since(started),
                answered: call.answered(),
                legs,
            });
        }
        rows
    }
}
