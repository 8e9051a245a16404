//! The engine's side of the admin CLI (`crate::cli`): it builds the read-only [`View`] a
//! command looks at, applies the [`Action`] a command returns when it is the engine's to
//! apply (hang up channels, qualify a peer, SIP debug, AstDB changes, refusing calls while
//! stopping), and hands the rest (verbosity, debug level, stop, reload) to the driver.
//!
//! It also prints SIP messages as chan_sip's `sip set debug` does (`<--- SIP read from
//! UDP:1.2.3.4:5060 --->`), for the addresses the debug setting names.

use super::{Engine, PeerStatus};
use crate::call::{CallState, DialogState, EndReason, Role};
use crate::cli::{
    self, Action, ChanState, ChannelView, Levels, PeerView, Reach, Reload, SipDebug, StopMode, View,
};
use crate::config::sip_values::Host;
use crate::flow::Job;
use crate::media::sdp::CodecName;
use crate::sip::StatusCode;
use std::net::SocketAddr;
use std::time::Instant;

/// The engine's admin state.
pub struct Admin {
    pub(super) sip_debug: SipDebug,
    pub(super) stopping: Option<StopMode>,
    pub(super) started: Instant,
    pub(super) last_reload: Instant,
    pub(super) calls_processed: u64,
}

impl Admin {
    pub(super) fn new(now: Instant) -> Admin {
        Admin {
            sip_debug: SipDebug::Off,
            stopping: None,
            started: now,
            last_reload: now,
            calls_processed: 0,
        }
    }
}

/// What a command leaves for the driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForDriver {
    /// Set the asking console's verbosity.
    Verbose(u8),
    /// Set the debug level.
    Debug(u8),
    /// Stop (for `Now`, the engine has already hung up every call).
    Stop(StopMode),
    /// Re-read these config files (the reload seam: the driver reads, the engine applies).
    Reload(Reload),
}

/// A command's answer as the engine hands it to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliReply {
    /// What to print.
    pub text: String,
    /// What the driver must do.
    pub driver: Option<ForDriver>,
}

pub(super) fn codec_word(c: &CodecName) -> String {
    match c {
        CodecName::Pcmu => "ulaw".into(),
        CodecName::Pcma => "alaw".into(),
        CodecName::G722 => "g722".into(),
        CodecName::TelephoneEvent => "telephone-event".into(),
        CodecName::Other(s) => s.clone(),
    }
}

impl Engine {
    /// Runs one CLI command for a console at `console` levels.
    pub fn cli(&mut self, now: Instant, line: &str, console: Levels) -> CliReply {
        let answer = {
            let view = self.cli_view(now, console);
            cli::run(line, &view)
        };
        let mut text = answer.text;
        let driver = match answer.action {
            None => None,
            Some(Action::Verbose(n)) => Some(ForDriver::Verbose(n)),
            Some(Action::Debug(n)) => Some(ForDriver::Debug(n)),
            Some(Action::Reload(r)) => Some(ForDriver::Reload(r)),
            Some(Action::Stop(mode)) => {
                self.admin.stopping = Some(mode);
                if mode == StopMode::Now {
                    self.hangup_all(now);
                }
                Some(ForDriver::Stop(mode))
            }
            Some(Action::SipDebug(d)) => {
                self.admin.sip_debug = d;
                None
            }
            Some(Action::Qualify(peer)) => {
                self.qualify_now(now, peer);
                None
            }
            Some(Action::Hangup(names)) => {
                for n in &names {
                    self.hangup_channel(now, n);
                }
                None
            }
            Some(Action::DbPut { key, value }) => {
                if !self.dialplan.with_astdb(|d| d.put(&key, &value)) {
                    text = "Failed to update entry\n".into();
                }
                self.db_ops_to_disk();
                None
            }
            Some(Action::DbDel { key }) => {
                self.dialplan.with_astdb(|d| d.del(&key));
                self.db_ops_to_disk();
                None
            }
            Some(Action::DbDelTree { prefix }) => {
                self.dialplan.with_astdb(|d| d.del_tree(&prefix));
                self.db_ops_to_disk();
                None
            }
        };
        CliReply { text, driver }
    }

    fn db_ops_to_disk(&mut self) {
        for op in self.dialplan.take_db_ops() {
            self.out.job(Job::Db(op));
        }
    }

    /// What `sip set debug` prints now.
    pub fn sip_debug(&self) -> SipDebug {
        self.admin.sip_debug
    }

    /// Sets what SIP messages are printed (`-vvv` at start: every one).
    pub fn set_sip_debug(&mut self, d: SipDebug) {
        self.admin.sip_debug = d;
    }

    /// The `core stop` in progress.
    pub fn stopping(&self) -> Option<StopMode> {
        self.admin.stopping
    }

    /// Calls up now.
    pub fn calls_up(&self) -> usize {
        self.calls.len()
    }

    /// True when a `core stop` waits for nothing more.
    pub fn may_stop(&self) -> bool {
        self.admin.stopping.is_some() && self.calls.is_empty()
    }

    /// Tells the CLI the config was reloaded now (`core show uptime`'s "Last reload").
    pub fn mark_reloaded(&mut self, now: Instant) {
        self.admin.last_reload = now;
    }

    /// Counts a call for `core show calls` ("calls processed").
    pub(super) fn count_call(&mut self) {
        self.admin.calls_processed += 1;
    }

    /// Hangs up every call (`core stop now`, `channel request hangup all`).
    pub fn hangup_all(&mut self, now: Instant) {
        let all: Vec<_> = self.calls.iter().map(|(h, _)| h).collect();
        for h in all {
            self.with_call(now, h, |call, cx| {
                call.end(cx, EndReason::Hangup(StatusCode::DECLINE))
            });
        }
        self.txs.reap(&mut self.sched);
    }

    /// Hangs up the call a channel belongs to (sipbox's channels are the legs of one
    /// back-to-back call: hanging up either ends it). An unanswered caller gets 603, as
    /// chan_sip answers an incoming call hung up without a cause.
    fn hangup_channel(&mut self, now: Instant, name: &str) {
        let found = self
            .calls
            .iter()
            .find(|(_, c)| c.legs.iter().any(|l| l.channel == name))
            .map(|(h, _)| h);
        if let Some(h) = found {
            log::info!("hanging up {name} (channel request hangup)");
            self.with_call(now, h, |call, cx| {
                call.end(cx, EndReason::Hangup(StatusCode::DECLINE))
            });
            self.txs.reap(&mut self.sched);
        }
    }

    /// Prints a SIP message read from `from` when `sip set debug` names it (or at
    /// `RUST_LOG=sip=trace`).
    pub(super) fn debug_read(&self, from: SocketAddr, data: &[u8]) {
        self.debug_print(from, data, "SIP read from", "<------------->");
    }

    /// The same for a message sent to `to`.
    pub(super) fn debug_sent(&self, to: SocketAddr, data: &[u8]) {
        self.debug_print(to, data, "Transmitting to", "<------------>");
    }

    fn debug_print(&self, addr: SocketAddr, data: &[u8], what: &str, end: &str) {
        let debug = self.admin.sip_debug.matches(addr);
        if !debug && !log::log_enabled!(target: "sip", log::Level::Trace) {
            return;
        }
        let text = String::from_utf8_lossy(data);
        // chan_sip's `sip set debug on` wording, what admins search their logs for.
        if debug {
            crate::verbose!(
                0,
                "\n<--- {what} UDP:{addr} --->\n{}\n{end}",
                text.trim_end()
            );
        } else {
            log::trace!(target: "sip", "\n<--- {what} UDP:{addr} --->\n{}\n{end}", text.trim_end());
        }
    }

    pub(super) fn cli_view(&self, now: Instant, console: Levels) -> View<'_> {
        let peers = self
            .cfg
            .peers()
            .map(|(id, p)| {
                let bindings = self.registrar.bindings(&p.name);
                let addr = match &p.host {
                    Host::Dynamic => bindings.first().map(|b| b.flow.remote),
                    Host::Static { ip, port, .. } => ip
                        .map(|ip| SocketAddr::new(ip, *port))
                        .or_else(|| self.cfg.resolved(id)),
                    Host::Unset => None,
                };
                let reach = match (p.qualify, self.status_of(id)) {
                    (None, _) => Reach::Unmonitored,
                    (Some(_), PeerStatus::Unknown) => Reach::Unknown,
                    (Some(_), PeerStatus::Reachable(rtt)) => Reach::Ok(rtt),
                    (Some(_), PeerStatus::Unreachable) => Reach::Unreachable,
                };
                PeerView {
                    id,
                    conf: p,
                    addr,
                    bindings,
                    reach,
                    in_use: self.load.active(id),
                }
            })
            .collect();
        View {
            now,
            wall: self.wall(now),
            general: &self.cfg.general,
            peers,
            channels: self.channel_views(),
            registry: self
                .registry(now)
                .into_iter()
                .map(|r| cli::RegistryView {
                    host: r.host,
                    username: r.username,
                    refresh: r.refresh,
                    state: r.state.to_string(),
                    reg_time: r.registered_for.map(|ago| self.wall(now) - ago),
                })
                .collect(),
            dialplan: &self.dialplan,
            local: self.advertise.local(),
            started: self.admin.started,
            last_reload: self.admin.last_reload,
            calls_processed: self.admin.calls_processed,
            active_calls: self.calls.len(),
            sip_debug: self.admin.sip_debug,
            console,
            stopping: self.admin.stopping,
            parking: self.parking.conf(),
            parked: self
                .parking
                .entries()
                .map(|(lot, slot, e)| cli::ParkedView {
                    lot: lot.to_string(),
                    slot,
                    channel: e.channel.clone(),
                    parker: e.parker.clone(),
                })
                .collect(),
            conferences: self.conference_views(now),
        }
    }

    /// One [`ChannelView`] per live leg, in call order.
    fn channel_views(&self) -> Vec<ChannelView> {
        let mut out = Vec::new();
        for (_, call) in self.calls.iter() {
            if matches!(call.state, CallState::Ended(_)) {
                continue;
            }
            let bridge = call.bridge();
            for (id, leg) in call.legs.iter().enumerate() {
                let d = &leg.dialog;
                if d.state == DialogState::Terminated {
                    continue;
                }
                let incoming = d.role == Role::Uas;
                let state = match (d.state, incoming) {
                    (DialogState::Confirmed, _) => ChanState::Up,
                    (_, true) => ChanState::Ring,
                    (DialogState::Early, false) => ChanState::Ringing,
                    _ => ChanState::Down,
                };
                let exec = call.exec.as_ref().filter(|_| id == call.caller);
                let (context, exten, prio, app, data) = match exec {
                    Some(e) => {
                        let (c, x, p) = e.position();
                        let (a, d) = e.application();
                        (
                            c.to_string(),
                            x.to_string(),
                            p,
                            a.to_string(),
                            d.to_string(),
                        )
                    }
                    None => (
                        String::new(),
                        d.remote_uri
                            .uri
                            .user
                            .as_deref()
                            .unwrap_or_default()
                            .to_owned(),
                        1,
                        "AppDial".to_string(),
                        "(Outgoing Line)".to_string(),
                    ),
                };
                let media = leg.media.as_ref();
                out.push(ChannelView {
                    name: leg.channel.clone(),
                    call_id: d.call_id.clone(),
                    peer: leg
                        .peer
                        .and_then(|p| self.cfg.peer(p))
                        .map(|p| p.name.clone()),
                    remote: d.flow.remote,
                    incoming,
                    state,
                    context,
                    exten,
                    prio,
                    app,
                    data,
                    caller_num: call
                        .exec
                        .as_ref()
                        .map(|e| e.callerid_num().to_string())
                        .unwrap_or_default(),
                    created: leg.created,
                    codec: media.and_then(|m| m.codec.as_ref()).map(codec_word),
                    bridged: bridge
                        .and_then(|b| b.other(id))
                        .and_then(|o| call.legs.get(o))
                        .map(|l| l.channel.clone()),
                    unique_id: call
                        .exec
                        .as_ref()
                        .map(|e| e.unique_id().to_string())
                        .unwrap_or_default(),
                    our_tag: d.local_tag.clone(),
                    their_tag: d.remote_tag.clone().unwrap_or_default(),
                    uri: d.remote_target.to_string(),
                    hold: media.is_some_and(|m| m.hold),
                });
            }
        }
        out
    }
}
