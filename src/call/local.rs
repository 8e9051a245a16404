//! `Local/exten@context[/options]` Dial targets: a channel that runs the dialplan as the
//! callee (ring groups and follow-me are built with it).
//!
//! Reading list: Asterisk's `main/core_local.c` (`local_call`: the extension must exist,
//! "No such extension/context"; the `;2` half starts at priority 1 with the caller's caller
//! ID and variables; `local_hangup`: the `;2` half's hang-up cause reaches the dialler),
//! `main/core_unreal.c` (the optimization that takes both halves out of the bridge),
//! `apps/app_dial.c` (`handle_cause`, the Max-Forwards check, `ast_channel_inherit_variables`).
//!
//! sipbox keeps only the `;2` half: a dialplan cursor ([`LocalChan`]) inside the call, held
//! by the Dial that created it. A Dial inside it rings real phones as forks of the same call,
//! so their ringing and answer reach the caller at once and the relay bridges caller and
//! callee directly — Asterisk's Local channel optimization, always (`/n` is accepted; nothing
//! observable here depends on it). A Local channel that answers itself (Answer, Playback,
//! VoiceMail, ...) becomes the call's running dialplan and the caller's cursor waits in its
//! Dial ([`Call::dialer`]) until that dialplan ends (with `g` it then goes on with
//! DIALSTATUS=ANSWER).
//!
//! Outcomes: a Local channel that hangs up unanswered gives the outer Dial its cause — its
//! own Dial's busy → BUSY, congestion → CONGESTION, no answer → NOANSWER, nobody to ring →
//! CHANUNAVAIL, `Busy()` → BUSY, running off the end → NOANSWER (app_dial's `handle_cause`).
//! Nesting is bounded by Asterisk's Max-Forwards counter ([`MAX_FORWARDS`], one less per
//! Dial; a Dial at zero sets BUSY as app_dial does) and by [`MAX_LOCALS`] per call.

use super::outcome;
use super::state::{Call, CallState, DialState, EndReason};
use super::transfer::TransferEvent;
use super::{Cx, Reply};
use crate::dialplan::{Cause, Command, DialOptions, DialStatus, DialTarget, Execution, Resume};
use crate::handle::LegId;
use crate::sip::StatusCode;
use crate::wake::{CallTimer, Wake};
use std::time::{Duration, Instant};

/// Asterisk's default Max-Forwards count of a channel (`main/max_forwards.c`): every Dial
/// gives the channels it creates one less, and a channel at zero cannot Dial.
pub const MAX_FORWARDS: u8 = 20;

/// Local channels one call may create in all (a Local that dials itself twice would
/// otherwise double at every level before Max-Forwards stops it).
pub const MAX_LOCALS: usize = 32;

/// One Local channel of a Dial (its `;2` half).
pub struct LocalChan {
    /// Its dialplan cursor (None while it is being stepped, and once it is over).
    exec: Option<Execution>,
    /// The Local channel whose Dial created it (None: the call's own Dial).
    parent: Option<usize>,
    /// Its Max-Forwards count.
    max_forwards: u8,
    /// Where it is.
    state: LocalState,
    /// When it wants the call's [`CallTimer::Local`]: its Dial's timeout, or a Wait()'s end.
    wake: Option<Instant>,
    /// What its last Dial failed with: the cause it hangs up with if its dialplan then ends.
    failure: Option<StatusCode>,
    /// `Local/exten@context-0000000n;2`.
    name: String,
}

/// Where a Local channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocalState {
    /// Its dialplan runs (or waits in Wait()).
    Running,
    /// Its Dial rings.
    Dialing {
        /// Its targets without a final answer.
        pending: usize,
        /// The most telling failure so far.
        failure: Option<StatusCode>,
        /// Still starting its targets (a failure at once does not end the Dial yet).
        starting: bool,
    },
    /// Hung up unanswered.
    Over,
}

/// `exten@context` of a Local target (`context` defaults to `default`, as core_local's).
fn exten_context(t: &DialTarget) -> (&str, &str) {
    match t.resource.split_once('@') {
        Some((e, c)) if !c.is_empty() => (e, c),
        Some((e, _)) => (e, "default"),
        None => (t.resource.as_str(), "default"),
    }
}

impl Call {
    fn local(&self, idx: usize) -> Option<&LocalChan> {
        match &self.state {
            CallState::Dialing(d) => d.locals.get(idx),
            _ => None,
        }
    }

    fn local_mut(&mut self, idx: usize) -> Option<&mut LocalChan> {
        self.dial_mut()?.locals.get_mut(idx)
    }

    /// Creates the Local channel of target `t` for the Dial of `owner` (None: the call's);
    /// the dialling channel is the call's running cursor. `Err(404)`: no such extension or
    /// too many Local channels (CHANUNAVAIL).
    pub(super) fn new_local(
        &mut self,
        cx: &mut Cx<'_>,
        t: &DialTarget,
        owner: Option<usize>,
    ) -> Result<usize, StatusCode> {
        let (exten, context) = exten_context(t);
        let max_forwards = match owner {
            Some(o) => self.local(o).map_or(0, |l| l.max_forwards),
            None => MAX_FORWARDS,
        }
        .saturating_sub(1);
        let count = self.dial_mut().map_or(MAX_LOCALS, |d| d.locals.len());
        if count >= MAX_LOCALS {
            log::warn!(
                "call {}: Local/{exten}@{context}: already {MAX_LOCALS} Local channels in this call",
                self.label()
            );
            return Err(StatusCode::NOT_FOUND);
        }
        let Some(parent) = self.exec.as_ref() else {
            return Err(StatusCode::NOT_FOUND);
        };
        let cid = parent.callerid_num().to_string();
        if !cx.dialplan.exists(context, exten, 1, &cid, cx.wall) {
            log::warn!("No such extension/context {exten}@{context} while calling Local channel");
            return Err(StatusCode::NOT_FOUND);
        }
        *cx.seq += 1;
        let seq = *cx.seq;
        let name = format!("Local/{exten}@{context}-{:08x};2", seq as u32);
        let mut chan = parent.chan.clone();
        let prefix = chan.unique_id.split('.').next().unwrap_or("0").to_string();
        chan.unique_id = compact_str::format_compact!("{prefix}.{seq}");
        chan.peer = Default::default();
        chan.name = Some(name.as_str().into());
        // A Local channel carries no SIP request: `SIP_HEADER()` finds nothing there.
        chan.sip_headers = Default::default();
        let inherited = parent.inherited();
        let mut exec = Execution::new(cx.dialplan, context, exten, chan);
        exec.inherit(inherited);
        crate::verbose!(3, "Called Local/{exten}@{context}");
        log::debug!("call {}: {name} runs {exten}@{context}", self.label());
        let dial = self.dial_mut().ok_or(StatusCode::NOT_FOUND)?;
        dial.locals.push(LocalChan {
            exec: Some(exec),
            parent: owner,
            max_forwards,
            state: LocalState::Running,
            wake: None,
            failure: None,
            name,
        });
        Ok(dial.locals.len() - 1)
    }

    /// Starts the dialplans of Local channels just created (while the Dial still rings).
    pub(super) fn run_new_locals(&mut self, cx: &mut Cx<'_>, locals: &[usize]) {
        for &idx in locals {
            if !matches!(self.state, CallState::Dialing(_)) {
                return;
            }
            self.run_local(cx, idx, Resume::Start);
        }
        self.arm_local_timer(cx);
    }

    /// Puts a stepped cursor back; false (and the channel's `h` run) when its Local channel
    /// is gone meanwhile (the Dial ended, another target answered).
    fn put_local_exec(&mut self, cx: &mut Cx<'_>, idx: usize, mut exec: Execution) -> bool {
        match self.local_mut(idx) {
            Some(l) if l.state != LocalState::Over => {
                l.exec = Some(exec);
                true
            }
            _ => {
                exec.hangup(cx.dialplan, cx.wall, None);
                false
            }
        }
    }

    /// Steps Local channel `idx`'s dialplan until it waits, and does what it says.
    fn run_local(&mut self, cx: &mut Cx<'_>, idx: usize, resume: Resume) {
        let mut resume = resume;
        loop {
            let Some(mut exec) = self.local_mut(idx).and_then(|l| l.exec.take()) else {
                return;
            };
            let cmd = exec.step(cx.dialplan, cx.wall, resume);
            resume = Resume::Done;
            let pins = exec.take_pin_failures();
            self.report_pin_failures(cx, pins);
            let failure = self.local(idx).and_then(|l| l.failure);
            match cmd {
                Command::Answer => return self.local_answered(cx, idx, exec, None),
                Command::Ringing => {
                    if !self.answered() {
                        self.reply_caller(cx, Reply::new(StatusCode::RINGING), None);
                    }
                }
                // No media path from a Local channel before it answers.
                Command::Progress => {}
                Command::Busy => return self.local_ended(cx, idx, exec, StatusCode::BUSY_HERE),
                Command::Congestion => {
                    return self.local_ended(cx, idx, exec, StatusCode::SERVICE_UNAVAILABLE)
                }
                Command::Hangup { cause } => {
                    let status = cause
                        .and_then(|c| outcome::cause_to_sip(c.value().into()))
                        .or(failure)
                        .unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE);
                    return self.local_ended(cx, idx, exec, status);
                }
                Command::End { cause } => {
                    let status = failure.unwrap_or_else(|| outcome::end_status(cause));
                    return self.local_ended(cx, idx, exec, status);
                }
                Command::Dial {
                    targets,
                    timeout,
                    options,
                    ..
                } => {
                    let mut slot = Some(exec);
                    let status = self.local_dial(cx, idx, &mut slot, &targets, timeout, options);
                    let Some(exec) = slot else { return };
                    if !self.put_local_exec(cx, idx, exec) {
                        return;
                    }
                    match status {
                        Some(status) => {
                            resume = Resume::DialEnded {
                                status,
                                cause: None,
                            };
                            continue;
                        }
                        None => return,
                    }
                }
                Command::Wait(d) => {
                    if self.put_local_exec(cx, idx, exec) {
                        if let Some(l) = self.local_mut(idx) {
                            l.wake = Some(cx.now + d);
                        }
                        self.arm_local_timer(cx);
                    }
                    return;
                }
                Command::ChanIsAvail { targets } => {
                    let states = targets.iter().map(|t| self.device_state(cx, t)).collect();
                    resume = Resume::Availability { states };
                }
                Command::MessageSend { to, from, body } => {
                    let status = super::message::deliver(cx, &to, &from, &body);
                    resume = Resume::MessageSent { status };
                }
                Command::System { .. } => {
                    log::warn!(
                        "{}: System() before the Local channel answers is not supported",
                        exec.here()
                    );
                    resume = Resume::SystemDone { exit: None };
                }
                Command::Pickup { .. } => {
                    log::warn!(
                        "{}: Pickup() in a Local channel is not supported",
                        exec.here()
                    );
                }
                Command::Keep => {
                    self.put_local_exec(cx, idx, exec);
                    return;
                }
                // Media (Playback, VoiceMail, Echo, ...) answers the Local channel.
                other => return self.local_answered(cx, idx, exec, Some(other)),
            }
            if !self.put_local_exec(cx, idx, exec) {
                return;
            }
        }
    }

    /// The Dial of Local channel `idx` (its cursor in `slot`, given back there); the status
    /// at once when nothing could be rung.
    fn local_dial(
        &mut self,
        cx: &mut Cx<'_>,
        idx: usize,
        slot: &mut Option<Execution>,
        targets: &[DialTarget],
        timeout: Option<Duration>,
        options: DialOptions,
    ) -> Option<DialStatus> {
        let l = self.local_mut(idx)?;
        if l.max_forwards == 0 {
            log::warn!(
                "Cannot place outbound call from channel '{}'. Max forwards exceeded",
                l.name
            );
            return Some(DialStatus::Busy);
        }
        l.failure = None;
        l.state = LocalState::Dialing {
            pending: 0,
            failure: None,
            starting: true,
        };
        // The Local channel is the one dialling: its caller ID and variables go out.
        std::mem::swap(&mut self.exec, slot);
        let rung = self.ring_targets(cx, targets, Some(idx));
        std::mem::swap(&mut self.exec, slot);
        let l = self.local_mut(idx)?;
        if rung.is_empty() {
            l.state = LocalState::Running;
            let status = rung.status_when_empty();
            l.failure = Some(match status {
                DialStatus::Busy => StatusCode::BUSY_HERE,
                _ => rung.setup_failure.unwrap_or(StatusCode::NOT_FOUND),
            });
            return Some(status);
        }
        if let LocalState::Dialing { pending, .. } = &mut l.state {
            *pending = rung.legs + rung.locals.len();
        }
        l.wake = timeout.map(|d| cx.now + d);
        if options.ringback && !self.answered() {
            self.reply_caller(cx, Reply::new(StatusCode::RINGING), None);
        }
        // Its own cursor must be back in place before its Local targets run.
        if let (Some(exec), Some(l)) = (slot.take(), self.local_mut(idx)) {
            l.exec = Some(exec);
        }
        self.run_new_locals(cx, &rung.locals);
        let l = self.local_mut(idx)?;
        *slot = l.exec.take();
        match l.state {
            LocalState::Dialing {
                pending: 0,
                failure,
                ..
            } => {
                l.state = LocalState::Running;
                l.wake = None;
                let f = failure.unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE);
                l.failure = Some(f);
                Some(outcome::dial_status_for(f))
            }
            LocalState::Dialing {
                ref mut starting, ..
            } => {
                *starting = false;
                None
            }
            _ => None,
        }
    }

    /// A target of the call's Dial (`parent` None) or of a Local channel's Dial failed.
    pub(super) fn local_child_failed(
        &mut self,
        cx: &mut Cx<'_>,
        parent: Option<usize>,
        status: StatusCode,
    ) {
        let Some(p) = parent else {
            let Some(dial) = self.dial_mut() else {
                return;
            };
            dial.pending = dial.pending.saturating_sub(1);
            dial.failure = Some(outcome::better_failure(dial.failure, status));
            if dial.pending == 0 && !dial.starting {
                self.finish_dial(cx);
            }
            return;
        };
        let Some(l) = self.local_mut(p) else {
            return;
        };
        let LocalState::Dialing {
            pending,
            failure,
            starting,
        } = &mut l.state
        else {
            return;
        };
        *pending = pending.saturating_sub(1);
        *failure = Some(outcome::better_failure(*failure, status));
        if *pending == 0 && !*starting {
            self.local_dial_over(cx, p);
        }
    }

    /// The Dial of Local channel `idx` ended unanswered: its dialplan goes on.
    fn local_dial_over(&mut self, cx: &mut Cx<'_>, idx: usize) {
        let Some(l) = self.local_mut(idx) else {
            return;
        };
        let LocalState::Dialing { failure, .. } = l.state else {
            return;
        };
        let f = failure.unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE);
        l.state = LocalState::Running;
        l.wake = None;
        l.failure = Some(f);
        self.arm_local_timer(cx);
        let status = outcome::dial_status_for(f);
        self.run_local(
            cx,
            idx,
            Resume::DialEnded {
                status,
                cause: None,
            },
        );
    }

    /// Local channel `idx` hung up unanswered with `status`: its `h` runs and its Dial
    /// (the call's or a Local channel's) counts it as a failed target.
    fn local_ended(
        &mut self,
        cx: &mut Cx<'_>,
        idx: usize,
        mut exec: Execution,
        status: StatusCode,
    ) {
        exec.hangup(cx.dialplan, cx.wall, None);
        super::script::hand_db_ops_to_driver(cx);
        let Some(l) = self.local_mut(idx) else {
            return;
        };
        l.state = LocalState::Over;
        l.wake = None;
        let parent = l.parent;
        log::info!(
            "call {}: {} hung up ({})",
            self.label(),
            self.local(idx).map_or("", |l| &l.name),
            status.code()
        );
        self.local_child_failed(cx, parent, status);
    }

    /// [`CallTimer::Local`] fired: every Local channel whose deadline passed, one at a time
    /// (handling one may end this Dial and start another: the next is looked up afresh, and
    /// a `Wait(0)` loop waits for the next turn of the loop after a bounded number).
    pub(super) fn local_timer(&mut self, cx: &mut Cx<'_>) {
        for _ in 0..2 * MAX_LOCALS {
            let due = match &self.state {
                CallState::Dialing(d) => d
                    .locals
                    .iter()
                    .position(|l| l.wake.is_some_and(|w| w <= cx.now)),
                _ => None,
            };
            let Some(idx) = due else {
                break;
            };
            let Some(l) = self.local_mut(idx) else {
                break;
            };
            l.wake = None;
            match l.state {
                LocalState::Dialing { .. } => {
                    // Its Dial's timeout: what still rings is cancelled (NOANSWER).
                    self.cancel_local_targets(cx, idx);
                    if let Some(l) = self.local_mut(idx) {
                        if let LocalState::Dialing { failure, .. } = &mut l.state {
                            *failure = Some(StatusCode::REQUEST_TIMEOUT);
                        }
                    }
                    self.local_dial_over(cx, idx);
                }
                LocalState::Running => self.run_local(cx, idx, Resume::Done),
                LocalState::Over => {}
            }
        }
        self.arm_local_timer(cx);
    }

    /// Cancels what the Dial of Local channel `idx` still rings, Local targets included.
    fn cancel_local_targets(&mut self, cx: &mut Cx<'_>, idx: usize) {
        let Some(dial) = self.dial_mut() else {
            return;
        };
        let legs: Vec<LegId> = dial
            .owners
            .iter()
            .filter(|(_, o)| *o == idx)
            .map(|(l, _)| *l)
            .collect();
        let kids: Vec<usize> = dial
            .locals
            .iter()
            .enumerate()
            .filter(|(_, l)| l.parent == Some(idx) && l.state != LocalState::Over)
            .map(|(i, _)| i)
            .collect();
        for leg in legs {
            self.cancel_fork(cx, leg);
        }
        for k in kids {
            self.cancel_local_targets(cx, k);
            if let Some(l) = self.local_mut(k) {
                l.state = LocalState::Over;
                l.wake = None;
                if let Some(mut e) = l.exec.take() {
                    e.hangup(cx.dialplan, cx.wall, None);
                }
            }
        }
        super::script::hand_db_ops_to_driver(cx);
    }

    /// (Re)arms [`CallTimer::Local`] for the earliest deadline of the call's Local channels.
    fn arm_local_timer(&mut self, cx: &mut Cx<'_>) {
        let next = match &self.state {
            CallState::Dialing(d) => d.locals.iter().filter_map(|l| l.wake).min(),
            _ => None,
        };
        match next {
            Some(at) => {
                let wake = Wake::Call(self.handle, CallTimer::Local);
                self.timers.start(cx.sched, CallTimer::Local, at, wake);
            }
            None => self.timers.stop(cx.sched, CallTimer::Local),
        }
    }

    /// A Dial is over (answered, failed, cancelled): its Local channels still running hang
    /// up (their `h` runs).
    pub(super) fn close_locals(&mut self, cx: &mut Cx<'_>, dial: DialState) {
        self.timers.stop(cx.sched, CallTimer::Local);
        if dial.locals.is_empty() {
            return;
        }
        for l in dial.locals {
            if let Some(mut e) = l.exec {
                e.hangup(cx.dialplan, cx.wall, None);
            }
        }
        super::script::hand_db_ops_to_driver(cx);
    }

    /// Local channel `idx` answered (its cursor `exec`, the media command `cmd` that made
    /// it answer): the Dial is over, its other targets cancelled, the caller answered by
    /// sipbox, and the Local channel's dialplan now runs the call.
    fn local_answered(
        &mut self,
        cx: &mut Cx<'_>,
        idx: usize,
        exec: Execution,
        cmd: Option<Command>,
    ) {
        let answered = self.answered();
        let CallState::Dialing(dial) = std::mem::replace(&mut self.state, CallState::Routing)
        else {
            let mut exec = exec;
            exec.hangup(cx.dialplan, cx.wall, None);
            return;
        };
        self.state = CallState::Answered {
            bridge: None,
            continue_after: dial.continue_after,
        };
        self.timers.stop(cx.sched, CallTimer::DialTimeout);
        self.stop_moh(cx, Some(super::media::moh::MohFor::Ringing));
        for &f in &dial.forks {
            self.cancel_fork(cx, f);
        }
        let name = dial
            .locals
            .get(idx)
            .map(|l| l.name.clone())
            .unwrap_or_default();
        self.close_locals(cx, dial);
        self.set_dial_status(DialStatus::Answer);
        self.queue_answered(cx, None);
        if let Some(e) = self.exec.as_mut() {
            e.cdr.dstchannel = name.replace(";2", ";1").into();
        }
        crate::verbose!(3, "{name} answered {}", self.legs[self.caller].channel);
        if !answered {
            // Before the cursors change places: the caller's records the answer.
            match self.media_answer(cx) {
                Ok(body) => self.answer_caller(cx, body),
                Err(status) => {
                    let mut exec = exec;
                    exec.hangup(cx.dialplan, cx.wall, None);
                    return self.end(cx, EndReason::NoMedia(status));
                }
            }
        }
        self.dialer = self.exec.take();
        self.exec = Some(exec);
        self.transfer_event(cx, TransferEvent::Outcome(StatusCode::OK));
        match cmd {
            None => self.run_dialplan(cx, Resume::Done),
            Some(c) => {
                if self.media_command(cx, c) {
                    self.run_dialplan(cx, Resume::Done);
                }
            }
        }
    }

    /// The dialplan of an answered Local channel ended: the caller's cursor is back. With
    /// Dial's `g` it goes on (DIALSTATUS=ANSWER): the resume to give it; None: the call ends.
    pub(super) fn local_dialplan_over(&mut self, cx: &mut Cx<'_>) -> Option<Resume> {
        let dialer = self.dialer.take()?;
        if let Some(mut local) = self.exec.replace(dialer) {
            local.hangup(cx.dialplan, cx.wall, None);
            super::script::hand_db_ops_to_driver(cx);
        }
        let CallState::Answered {
            bridge: None,
            continue_after: true,
        } = self.state
        else {
            return None;
        };
        self.state = CallState::Answered {
            bridge: None,
            continue_after: false,
        };
        Some(Resume::DialEnded {
            status: DialStatus::Answer,
            cause: Some(Cause::NORMAL_CLEARING),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(resource: &str) -> DialTarget {
        DialTarget {
            tech: "Local".into(),
            resource: resource.into(),
            number: None,
        }
    }

    #[test]
    fn the_context_defaults_to_default() {
        assert_eq!(
            exten_context(&target("1001@internal")),
            ("1001", "internal")
        );
        assert_eq!(exten_context(&target("1001")), ("1001", "default"));
        assert_eq!(exten_context(&target("1001@")), ("1001", "default"));
        assert_eq!(exten_context(&target("a@b@c")), ("a", "b@c"));
    }
}
