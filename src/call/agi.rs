//! The call side of an AGI session: the dialplan's [`Command::AgiOpen`] /
//! [`Command::AgiSend`] become transport operations for the driver ([`AgiOp`]: a script's
//! pipes or a FastAGI connection on the loop), what the driver reads comes back as
//! [`Resume::AgiLine`] / [`Resume::AgiClosed`], and the deadline for the script's next line
//! is a call timer ([`CallTimer::Agi`]): a script that hangs is closed, the dialplan goes on.
//!
//! Reading list: Asterisk `res/res_agi.c` (`run_agi`: SIGHUP or `HANGUP` on hang-up,
//! `AGISIGHUP`).

use super::state::Call;
use super::Cx;
use crate::dialplan::{AgiEnd, AgiTarget, Resume};
use crate::flow::{AgiEvent, AgiOp, Job, JobId};
use crate::wake::{CallTimer, Wake};
use std::time::Duration;

impl Call {
    /// Opens the session and sends the environment block; None when too many are open
    /// (the dialplan resumes with the returned event).
    pub(super) fn agi_open(
        &mut self,
        cx: &mut Cx<'_>,
        target: AgiTarget,
        env: String,
        timeout: Duration,
    ) -> Option<Resume> {
        // A script that ended on its own left nothing open; one the dialplan dropped is
        // closed before the next.
        self.agi_close(cx, false);
        let Some(id) = cx.jobs.open_agi(self.handle) else {
            log::warn!(
                "call {}: AGI: {} sessions already open",
                self.label(),
                super::jobs::MAX_AGI
            );
            return Some(Resume::AgiClosed {
                end: AgiEnd::Failed,
            });
        };
        log::debug!("call {}: AGI session {} to {target:?}", self.label(), id.0);
        cx.out.job(Job::Agi(AgiOp::Open { id, target }));
        cx.out.job(Job::Agi(AgiOp::Send {
            id,
            bytes: env.into_bytes(),
        }));
        self.agi = Some(id);
        self.agi_deadline(cx, timeout);
        None
    }

    /// Sends a result line; `wait`: arm the deadline and wait for the next line. The
    /// returned event resumes the dialplan at once.
    pub(super) fn agi_send(
        &mut self,
        cx: &mut Cx<'_>,
        text: String,
        wait: Option<Duration>,
    ) -> Option<Resume> {
        let Some(id) = self.agi else {
            return Some(Resume::AgiClosed {
                end: AgiEnd::Failed,
            });
        };
        if !text.is_empty() {
            cx.out.job(Job::Agi(AgiOp::Send {
                id,
                bytes: text.into_bytes(),
            }));
        }
        match wait {
            Some(t) => {
                self.agi_deadline(cx, t);
                None
            }
            None => {
                self.timers.stop(cx.sched, CallTimer::Agi);
                Some(Resume::Done)
            }
        }
    }

    fn agi_deadline(&mut self, cx: &mut Cx<'_>, t: Duration) {
        let wake = Wake::Call(self.handle, CallTimer::Agi);
        self.timers
            .start(cx.sched, CallTimer::Agi, cx.now + t, wake);
    }

    /// Ends the transport (the session is over for the dialplan, or the call is). `hangup`:
    /// the script is told, as res_agi.c does (SIGHUP unless `AGISIGHUP=no`, `HANGUP` for
    /// FastAGI).
    pub(super) fn agi_close(&mut self, cx: &mut Cx<'_>, hangup: bool) {
        let Some(id) = self.agi.take() else { return };
        self.timers.stop(cx.sched, CallTimer::Agi);
        cx.jobs.finish(id);
        let sighup = self
            .exec
            .as_ref()
            .and_then(|e| e.var("AGISIGHUP"))
            .is_none_or(|v| crate::config::values::parse_bool_str(&v) != Some(false));
        cx.out.job(Job::Agi(AgiOp::Close { id, hangup, sighup }));
    }

    /// The dialplan ran without an open session any more (it finished, or it never was):
    /// the transport goes too.
    pub(super) fn agi_sync(&mut self, cx: &mut Cx<'_>) {
        let active = self.exec.as_ref().is_some_and(|e| e.agi_active());
        if self.agi.is_some() && !active {
            self.agi_close(cx, false);
        }
    }

    /// The driver's news for session `id`.
    pub fn on_agi_event(&mut self, cx: &mut Cx<'_>, id: JobId, ev: AgiEvent) {
        if self.agi != Some(id) || self.is_over() {
            return;
        }
        self.timers.stop(cx.sched, CallTimer::Agi);
        let resume = match ev {
            AgiEvent::Line(line) => Resume::AgiLine(line),
            end => {
                self.agi = None;
                cx.jobs.finish(id);
                let end = match end {
                    AgiEvent::Closed { exit } => AgiEnd::Exited(exit),
                    AgiEvent::NotFound => AgiEnd::NotFound,
                    _ => AgiEnd::Failed,
                };
                Resume::AgiClosed { end }
            }
        };
        self.run_dialplan(cx, resume);
    }

    /// The script owed a line and sent none in time: stopped; the dialplan goes on.
    pub(super) fn agi_timed_out(&mut self, cx: &mut Cx<'_>) {
        if self.agi.is_none() {
            return;
        }
        self.agi_close(cx, false);
        self.run_dialplan(
            cx,
            Resume::AgiClosed {
                end: AgiEnd::TimedOut,
            },
        );
    }
}
