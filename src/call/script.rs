//! Running the dialplan for a call: the call side of the runner contract. The dialplan says
//! what to do next ([`Command`]); the call does it and resumes the runner with what happened
//! ([`Resume`]) when the SIP, timer or media event arrives.

use super::outcome;
use super::state::{Call, EndReason};
use super::transfer::TransferEvent;
use super::{Cx, Reply};
use crate::dialplan::{Command, DialStatus, Resume};
use crate::flow::{JobId, JobOutcome};
use crate::sip::StatusCode;
use crate::wake::{CallTimer, Wake};

impl Call {
    /// What an unanswered caller is told when the dialplan hangs up without saying.
    fn unanswered_status(&self) -> StatusCode {
        self.dial_failure
            .unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE)
    }

    /// Steps the dialplan until it waits for something, and does what it says.
    pub(super) fn run_dialplan(&mut self, cx: &mut Cx<'_>, resume: Resume) {
        self.step_dialplan(cx, resume);
        hand_db_ops_to_driver(cx);
    }

    fn step_dialplan(&mut self, cx: &mut Cx<'_>, resume: Resume) {
        let mut resume = resume;
        loop {
            if self.is_over() {
                return;
            }
            let Some(exec) = self.exec.as_mut() else {
                return;
            };
            let cmd = exec.step(cx.dialplan, cx.wall, resume);
            resume = Resume::Done;
            let pins = exec.take_pin_failures();
            self.report_pin_failures(cx, pins);
            // An AGI session the dialplan has left is closed before what comes next.
            self.agi_sync(cx);
            let ends = matches!(
                cmd,
                Command::Busy | Command::Congestion | Command::Hangup { .. } | Command::End { .. }
            );
            if ends && self.dialer.is_some() {
                // An answered Local channel's dialplan is over: the caller's is back (and
                // goes on after its Dial with `g`; else the call ends as it says).
                if let Some(r) = self.local_dialplan_over(cx) {
                    resume = r;
                    continue;
                }
            }
            match cmd {
                Command::Answer => {
                    if !self.answered() {
                        match self.media_answer(cx) {
                            Ok(body) => self.answer_caller(cx, body),
                            Err(status) => return self.end(cx, EndReason::NoMedia(status)),
                        }
                    }
                }
                Command::Ringing => {
                    if !self.answered() {
                        self.reply_caller(cx, Reply::new(StatusCode::RINGING), None);
                    }
                }
                Command::Progress => {
                    if !self.answered() {
                        match self.media_answer(cx) {
                            Ok(body) => self.reply_caller(
                                cx,
                                Reply::new(StatusCode::SESSION_PROGRESS),
                                body,
                            ),
                            Err(status) => return self.end(cx, EndReason::NoMedia(status)),
                        }
                    }
                }
                Command::Busy => return self.end(cx, EndReason::Hangup(StatusCode::BUSY_HERE)),
                Command::Congestion => {
                    return self.end(cx, EndReason::Hangup(StatusCode::SERVICE_UNAVAILABLE))
                }
                Command::Hangup { cause } => {
                    let status = cause
                        .and_then(|c| outcome::cause_to_sip(c.value().into()))
                        .unwrap_or(self.unanswered_status());
                    return self.end(cx, EndReason::Hangup(status));
                }
                Command::End { cause } => {
                    let status = match self.dial_failure {
                        Some(s) => s,
                        None => outcome::end_status(cause),
                    };
                    return self.end(cx, EndReason::Hangup(status));
                }
                Command::Dial {
                    targets,
                    timeout,
                    options,
                    music_class,
                    ..
                } => {
                    self.dial_failure = Some(self.unanswered_status());
                    match self.start_dial(cx, &targets, timeout, options) {
                        Some(status) => {
                            let current = self.unanswered_status();
                            self.dial_failure =
                                Some(outcome::dial_status_to_caller(status, current));
                            self.set_dial_status(status);
                            let failure = self.unanswered_status();
                            self.transfer_event(cx, TransferEvent::Outcome(failure));
                            resume = Resume::DialEnded {
                                status,
                                cause: None,
                            };
                        }
                        None => {
                            let ringing = matches!(self.state, super::CallState::Dialing(_));
                            if options.music && !self.rerouted && ringing {
                                use super::media::moh::MohCommand;
                                self.moh_command(cx, MohCommand::Ringing(&music_class));
                            }
                            return;
                        }
                    }
                }
                Command::Pickup { target } => {
                    if self.answered() || self.legs[self.caller].invite_tx.is_none() {
                        // The picker's leg is moved unanswered; an answered one would need a
                        // re-INVITE.
                        log::info!("call {}: Pickup() on an answered channel", self.label());
                        continue;
                    }
                    self.join = Some(super::join::JoinRequest::Pickup { target });
                    return;
                }
                Command::Park {
                    lot,
                    timeout,
                    comeback,
                    silence,
                } => {
                    resume = self.park(cx, &lot, timeout, comeback, silence);
                    continue;
                }
                Command::Queue(req) => match self.queue_join(cx, *req) {
                    Some(r) => resume = r,
                    None => return,
                },
                Command::ParkedCall { lot, slot } => {
                    if self.retrieve(cx, &lot, slot) {
                        return;
                    }
                    continue;
                }
                Command::ChanIsAvail { targets } => {
                    let states = targets.iter().map(|t| self.device_state(cx, t)).collect();
                    resume = Resume::Availability { states };
                    continue;
                }
                Command::Shell { command } => {
                    match cx.jobs.start(cx.out, self.handle, command, true) {
                        Some(id) => {
                            self.job = Some(id);
                            return;
                        }
                        None => {
                            log::warn!(
                                "call {}: SHELL(): {} commands already running",
                                self.label(),
                                super::jobs::MAX_JOBS
                            );
                            resume = Resume::ShellDone { output: None };
                            continue;
                        }
                    }
                }
                Command::System { command } => {
                    match cx.jobs.start(cx.out, self.handle, command, false) {
                        Some(id) => {
                            log::debug!("call {}: System() job {}", self.label(), id.0);
                            self.job = Some(id);
                            return;
                        }
                        None => {
                            log::warn!(
                                "call {}: System(): {} commands already running",
                                self.label(),
                                super::jobs::MAX_JOBS
                            );
                            resume = Resume::SystemDone { exit: None };
                            continue;
                        }
                    }
                }
                Command::AgiOpen {
                    target,
                    env,
                    timeout,
                } => match self.agi_open(cx, target, env, timeout) {
                    Some(r) => resume = r,
                    None => return,
                },
                Command::AgiSend { text, wait } => match self.agi_send(cx, text, wait) {
                    Some(r) => resume = r,
                    None => return,
                },
                Command::MessageSend { to, from, body } => {
                    let status = super::message::deliver(cx, &to, &from, &body);
                    resume = Resume::MessageSent { status };
                    continue;
                }
                Command::MixMonitor(spec) => {
                    self.start_mixmonitor(cx, *spec);
                    continue;
                }
                Command::StopMixMonitor { id } => {
                    self.stop_mixmonitor(cx, &id);
                    continue;
                }
                Command::Conference(spec) => {
                    self.transfer_event(cx, TransferEvent::Outcome(StatusCode::OK));
                    if !self.conference_command(cx, *spec) {
                        return;
                    }
                }
                Command::Page {
                    targets,
                    timeout,
                    duplex,
                } => {
                    if !self.page_command(cx, &targets, timeout, duplex) {
                        return;
                    }
                }
                Command::Wait(d) => {
                    let wake = Wake::Call(self.handle, CallTimer::DialplanWait);
                    self.timers
                        .start(cx.sched, CallTimer::DialplanWait, cx.now + d, wake);
                    return;
                }
                other => {
                    // A transferee connected to one of sipbox's own applications.
                    self.transfer_event(cx, TransferEvent::Outcome(StatusCode::OK));
                    if !self.media_command(cx, other) {
                        return;
                    }
                }
            }
        }
    }

    /// Records DIALSTATUS on the call's channel.
    pub(super) fn set_dial_status(&mut self, status: DialStatus) {
        if let Some(exec) = self.exec.as_mut() {
            exec.set_var("DIALSTATUS", status.as_str());
        }
    }

    /// A timer of this call fired (`id` checked against the running one).
    pub fn on_timer(&mut self, cx: &mut Cx<'_>, kind: CallTimer, id: crate::sched::TimerId) {
        if !self.timers.fired(kind, id) {
            return;
        }
        match kind {
            CallTimer::DialplanWait => {
                // MusicOnHold(class,duration) is over.
                self.stop_moh(cx, Some(super::media::moh::MohFor::App));
                self.run_dialplan(cx, Resume::Done)
            }
            CallTimer::DialTimeout => self.dial_timed_out(cx),
            CallTimer::Pace => self.pace(cx),
            CallTimer::Watchdog => self.watchdog(cx),
            CallTimer::RtpKeepalive => self.rtp_keepalive(cx),
            CallTimer::Digit if self.media.is_recording() => self.finish_recording(cx, "TIMEOUT"),
            CallTimer::Digit => self.endpoint_done(cx, Resume::TimedOut),
            CallTimer::Retransmit2xx | CallTimer::WaitAck => self.on_2xx_timer(cx, kind),
            CallTimer::TransfererBye => self.transfer_event(cx, TransferEvent::ByeTimeout),
            CallTimer::Moh => self.moh_pace(cx),
            CallTimer::Dtmf => self.dtmf_tick(cx),
            CallTimer::Prompt => self.prompt_pace(cx),
            CallTimer::FeatureDigit => self.feature_timeout(cx),
            CallTimer::Local => self.local_timer(cx),
            CallTimer::Park => self.park_timed_out(cx),
            CallTimer::Queue => self.queue_tick(cx),
            CallTimer::Agi => self.agi_timed_out(cx),
            CallTimer::SessionTimer => self.on_session_timer(cx),
            CallTimer::Conference => self.conference_refused_due(cx),
            CallTimer::Monitor => self.monitor_tick(cx),
        }
    }

    /// The driver ran the System() (or SHELL()) job `id`: the dialplan goes on with its
    /// status (output).
    pub fn on_job_done(&mut self, cx: &mut Cx<'_>, id: JobId, outcome: JobOutcome) {
        if self.job != Some(id) {
            return;
        }
        self.job = None;
        let exit = match outcome {
            JobOutcome::Output(output) => {
                return self.run_dialplan(cx, Resume::ShellDone { output });
            }
            JobOutcome::Exited(code) => Some(code),
            JobOutcome::Failed | JobOutcome::Resolved(_) | JobOutcome::Agi(_) => None,
        };
        self.run_dialplan(cx, Resume::SystemDone { exit });
    }

    /// The device state of a ChanIsAvail target, in Asterisk's numbers: 1 not in use, 2 in
    /// use, 3 busy (at its call-limit), 4 invalid (no such SIP entry, another technology),
    /// 5 unavailable (not registered, or UNREACHABLE by qualify). A `Local/exten@context`
    /// target is 1 when that extension exists, else 4 (core_local's `local_devicestate`).
    pub(super) fn device_state(&self, cx: &Cx<'_>, t: &crate::dialplan::DialTarget) -> u8 {
        use crate::config::sip_values::Host;
        if t.tech.eq_ignore_ascii_case("Local") {
            let (exten, context) = t
                .resource
                .split_once('@')
                .unwrap_or((&t.resource, "default"));
            let cid = self.exec.as_ref().map_or("", |e| e.callerid_num());
            return if cx.dialplan.exists(context, exten, 1, cid, cx.wall) {
                1
            } else {
                4
            };
        }
        if !t.tech.eq_ignore_ascii_case("SIP") {
            return 4;
        }
        let Some(id) = cx.cfg.entry(&t.resource) else {
            return 4;
        };
        let Some(p) = cx.cfg.peer(id) else {
            return 4;
        };
        let reachable = match &p.host {
            Host::Dynamic => !cx.registrar.bindings(&p.name).is_empty(),
            Host::Static { .. } => true,
            Host::Unset => false,
        };
        if !reachable || cx.unreachable.contains(&id) {
            5
        } else if cx.load.over_limit(cx.cfg, id) {
            3
        } else if cx.load.active(id) > 0 {
            2
        } else {
            1
        }
    }
}

impl Call {
    /// Hands the wrong PINs the dialplan was given to the engine's ban, with the caller
    /// leg's source (a Local channel's are its caller's too).
    pub(super) fn report_pin_failures(
        &self,
        cx: &mut Cx<'_>,
        pins: Vec<crate::dialplan::PinFailure>,
    ) {
        let Some(caller) = self.legs.get(self.caller) else {
            return;
        };
        for pin in pins {
            cx.out.pin_failed(crate::flow::SourcedPinFailure {
                pin,
                source: caller.dialog.flow.remote,
                call_id: caller.dialog.call_id.clone(),
            });
        }
    }
}

/// The AstDB changes the dialplan just made go to the driver as jobs. Called where the
/// dialplan runs (its steps and the `h` extension), not per datagram: the RTP path never
/// touches the shared lock.
pub(super) fn hand_db_ops_to_driver(cx: &mut Cx<'_>) {
    for op in cx.dialplan.take_db_ops() {
        cx.out.job(crate::flow::Job::Db(op));
    }
    let (ops, changed) = cx
        .dialplan
        .with_voicemail(|vm| (vm.take_ops(), vm.take_changed()));
    for op in ops {
        // A message file that changes must not be played from the prompt cache.
        if let crate::voicemail::FsOp::Write { path, .. }
        | crate::voicemail::FsOp::Remove { path }
        | crate::voicemail::FsOp::Rename { from: path, .. } = &op
        {
            cx.sounds.forget(&path.with_extension("").to_string_lossy());
        }
        if let crate::voicemail::FsOp::Rename { to, .. } = &op {
            cx.sounds.forget(&to.with_extension("").to_string_lossy());
        }
        cx.out.job(crate::flow::Job::Voicemail(op));
    }
    for (context, mailbox) in changed {
        cx.out.mailbox_changed(context, mailbox);
    }
}
