//! Running the dialplan for a call: the engine side of the runner contract. The dialplan says
//! what to do next ([`Command`]); the engine does it and resumes the runner with what happened
//! ([`Resume`]) when the SIP, timer or media event arrives.

use super::dialog::EndReason;
use super::{Engine, EngineTimer, Reply};
use crate::call::CallRef;
use crate::dialplan::{Cause, ChannelInfo, Command, DialStatus, Execution, Resume};
use crate::sip::Request;
use std::time::{Instant, SystemTime};

impl Engine {
    /// A dialplan cursor for a new call at `context`/`exten`.
    pub(super) fn start_dialplan(
        &mut self,
        context: &str,
        exten: &str,
        req: &Request,
        entry: Option<usize>,
    ) -> Option<Execution> {
        let from = req.from();
        let (mut name, mut num) = (
            from.display.clone().unwrap_or_default(),
            from.uri.user.clone().unwrap_or_default(),
        );
        if let Some(cid) = entry.and_then(|i| self.cfg.peers[i].callerid.as_ref()) {
            if let Some(n) = &cid.name {
                name = n.clone();
            }
            if let Some(n) = &cid.number {
                num = n.clone();
            }
        }
        self.unique_ids += 1;
        let info = ChannelInfo {
            callerid_name: name,
            callerid_num: num,
            sip_call_id: req.call_id().to_string(),
            unique_id: format!("{}.{}", self.start_wall_secs, self.unique_ids),
        };
        Some(Execution::new(&self.dialplan, context, exten, info))
    }

    /// The wall clock that corresponds to `now` (for ${EPOCH} and GotoIfTime).
    pub(super) fn wall(&self, now: Instant) -> SystemTime {
        self.epoch.1 + now.saturating_duration_since(self.epoch.0)
    }

    /// Steps the call's dialplan until it waits for something, and does what it says.
    pub(super) fn run_dialplan(&mut self, now: Instant, cref: CallRef, resume: Option<Resume>) {
        let mut resume = resume.unwrap_or(Resume::Start);
        let wall = self.wall(now);
        loop {
            let Some(call) = self.calls.get_mut(cref) else {
                return;
            };
            let Some(exec) = call.exec.as_mut() else {
                return;
            };
            let cmd = exec.step(&self.dialplan, wall, resume);
            resume = Resume::Done;
            match cmd {
                Command::Answer => {
                    if !call.answered() {
                        let body = self.media_answer(now, cref);
                        self.answer_caller(now, cref, body);
                    }
                }
                Command::Ringing => {
                    if !call.answered() {
                        self.reply_caller(now, cref, Reply::status(180, "Ringing"), None);
                    }
                }
                Command::Progress => {
                    if !call.answered() {
                        let body = self.media_answer(now, cref);
                        self.reply_caller(now, cref, Reply::status(183, "Session Progress"), body);
                    }
                }
                Command::Busy => return self.end_call(now, cref, EndReason::Hangup(486)),
                Command::Congestion => return self.end_call(now, cref, EndReason::Hangup(503)),
                Command::Hangup { cause } => {
                    let status = match cause {
                        Some(c) => cause_to_sip(c.value().into()).unwrap_or(call.hangup_status),
                        None => call.hangup_status,
                    };
                    return self.end_call(now, cref, EndReason::Hangup(status));
                }
                Command::End { cause } => {
                    let status = if call.dial_attempted {
                        call.hangup_status
                    } else {
                        end_status(cause)
                    };
                    return self.end_call(now, cref, EndReason::Hangup(status));
                }
                Command::Dial {
                    targets,
                    timeout,
                    options,
                    ..
                } => {
                    call.dial_attempted = true;
                    match self.start_dial(
                        now,
                        cref,
                        &targets,
                        timeout,
                        options.ringback,
                        options.continue_on_callee_hangup,
                    ) {
                        Some(status) => {
                            if let Some(c) = self.calls.get_mut(cref) {
                                c.hangup_status = match status {
                                    DialStatus::Busy => 486,
                                    DialStatus::Congestion => 503,
                                    _ => c.hangup_status, // 480, or what fork setup said (488, 503)
                                };
                            }
                            self.set_dial_status(cref, status);
                            resume = Resume::DialEnded {
                                status,
                                cause: None,
                            };
                        }
                        None => return,
                    }
                }
                Command::Wait(d) => {
                    let t = self
                        .sched
                        .schedule(now + d, EngineTimer::DialplanWait(cref));
                    if let Some(c) = self.calls.get_mut(cref) {
                        c.wait_timer = Some(t);
                    }
                    return;
                }
                other => {
                    if !self.media_command(now, cref, other) {
                        return;
                    }
                }
            }
        }
    }

    /// A dialplan Wait finished.
    pub(super) fn dialplan_wait_done(&mut self, now: Instant, cref: CallRef) {
        if let Some(c) = self.calls.get_mut(cref) {
            c.wait_timer = None;
        }
        self.run_dialplan(now, cref, Some(Resume::Done));
    }

    /// Records DIALSTATUS on the call's channel.
    pub(super) fn set_dial_status(&mut self, cref: CallRef, status: DialStatus) {
        if let Some(exec) = self.calls.get_mut(cref).and_then(|c| c.exec.as_mut()) {
            exec.set_var("DIALSTATUS", status.as_str());
        }
    }

    /// Runs the `h` extension after a call ended.
    pub(super) fn run_hangup_handler(&self, now: Instant, exec: &mut Execution) {
        exec.hangup(&self.dialplan, self.wall(now), None);
    }
}

/// The final response for a dialplan that ends an unanswered call with `cause` (the table in
/// [`Cause`]'s docs).
fn end_status(cause: Cause) -> u16 {
    match cause {
        Cause::NORMAL_CLEARING => 480,
        Cause::FAILURE => 500,
        Cause::INTERWORKING => 487,
        c => cause_to_sip(c.value().into()).unwrap_or(480),
    }
}

/// Q.850 cause → SIP status (RFC 3398 §8.2.6.1), for Hangup(cause) before an answer.
fn cause_to_sip(cause: u16) -> Option<u16> {
    Some(match cause {
        1..=3 => 404,
        17 => 486,
        18 => 408,
        19 | 20 => 480,
        21 => 403,
        22 => 410,
        27 => 502,
        28 => 484,
        29 => 501,
        31 => 480,
        34 | 38 | 41 | 42 | 47 => 503,
        55 | 57 => 403,
        58 | 65 | 79 => 488,
        88 => 488,
        102 => 504,
        _ => return None,
    })
}
