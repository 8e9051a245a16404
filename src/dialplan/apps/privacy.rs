//! `PrivacyManager([maxretries[,minlength[,options[,context]]]])` as Asterisk's
//! `apps/app_privacy.c` (18/20): with a caller ID number it does nothing; without one it
//! answers, waits a second, plays `privacy-unident`, then up to `maxretries` times (default 3)
//! plays `privacy-prompt` and reads digits (5 s for the first, 3.2 s between the others, `#`
//! ends, at most 29) — fewer than `minlength` (default 10), or a number with no extension in
//! `context` when one is given, plays `privacy-incorrect` and tries again. A number is thanked
//! (`privacy-thankyou`) and becomes `CALLERID(num)` with the name `Privacy Manager`;
//! `${PRIVACYMGRSTATUS}` is SUCCESS or FAILED, and the dialplan goes on either way. The
//! prompts cannot be interrupted (`ast_waitstream(chan, "")`). `options` has no option left in
//! Asterisk 18 (1.x's `j` is gone): ignored.

use std::time::Duration;

use super::super::command::{Command, Resume};
use super::super::cursor::{Execution, Flow, State};
use super::super::model::{Dialplan, Want};
use crate::config::raw::Loc;

/// `ast_readstring`'s timeouts in app_privacy.c.
const FIRST_DIGIT: Duration = Duration::from_millis(5000);
const NEXT_DIGIT: Duration = Duration::from_millis(3200);
/// `char phone[30]`, read with `sizeof(phone) - 1`.
const MAX_LEN: usize = 29;

/// Where a PrivacyManager() is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The second of silence before the first prompt.
    Pause,
    /// `privacy-unident` playing.
    Unident,
    /// `privacy-prompt` playing.
    Prompt,
    /// Reading the number.
    Digits,
    /// `privacy-incorrect` playing.
    Incorrect,
    /// `privacy-thankyou` playing.
    Thanks,
}

/// A PrivacyManager() in progress.
#[derive(Debug, Clone)]
pub(crate) struct Privacy {
    phase: Phase,
    tries_left: u32,
    min_len: usize,
    context: Option<String>,
    buf: String,
}

/// Starts the application.
pub(crate) fn start(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    if !ex.chan.callerid_num.trim().is_empty() {
        log::info!("{}: CallerID number present: Skipping", ex.here());
        return Flow::Next;
    }
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let number = |i: usize, name: &str, default: u32| {
        if arg(i).is_empty() {
            return default;
        }
        match arg(i).parse::<u32>() {
            Ok(v) if v > 0 => v,
            _ => {
                log::warn!(
                    "{loc}: {}: Invalid {name} argument: '{}'",
                    ex.here(),
                    arg(i)
                );
                default
            }
        }
    };
    let tries = number(0, "max retries", 3).min(100);
    let min_len = number(1, "min length", 10) as usize;
    let p = Privacy {
        phase: Phase::Pause,
        tries_left: tries,
        min_len,
        context: Some(arg(3).to_string()).filter(|c| !c.is_empty()),
        buf: String::new(),
    };
    let (cmd, st) = (
        Command::Wait(Duration::from_secs(1)),
        State::Privacy(Box::new(p)),
    );
    if ex.answered {
        Flow::Cmd(cmd, st)
    } else {
        Flow::Cmd(Command::Answer, State::AnswerThen(Box::new((cmd, st))))
    }
}

fn play(file: &str) -> Command {
    Command::Playback {
        files: vec![file.to_string()],
        interrupt_digits: None,
    }
}

/// What the runner does next.
pub(crate) enum Step {
    /// Issue this command and stay in the application.
    Cmd(Command),
    /// Go on with the next priority.
    Next,
    /// Nothing for this resume (a digit during a prompt).
    Keep,
}

impl Privacy {
    /// Moves on after `r`.
    pub(crate) fn resume(&mut self, ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        match (self.phase, r) {
            (Phase::Pause, Resume::Done) => self.to(Phase::Unident, play("privacy-unident")),
            (Phase::Unident | Phase::Incorrect, Resume::Done) => self.prompt(ex),
            (Phase::Prompt, Resume::Done) => {
                self.buf.clear();
                self.to(
                    Phase::Digits,
                    Command::WaitDigit {
                        timeout: FIRST_DIGIT,
                    },
                )
            }
            (Phase::Digits, Resume::Digit('#') | Resume::TimedOut) => self.entered(ex, dp),
            (Phase::Digits, Resume::Digit(c)) => {
                self.buf.push(c);
                if self.buf.len() >= MAX_LEN {
                    return self.entered(ex, dp);
                }
                Step::Cmd(Command::WaitDigit {
                    timeout: NEXT_DIGIT,
                })
            }
            (Phase::Thanks, Resume::Done) => Step::Next,
            _ => Step::Keep,
        }
    }

    fn to(&mut self, phase: Phase, cmd: Command) -> Step {
        self.phase = phase;
        Step::Cmd(cmd)
    }

    /// The next attempt, or FAILED when none is left.
    fn prompt(&mut self, ex: &mut Execution) -> Step {
        if self.tries_left == 0 {
            log::info!("{}: PrivacyManager: no number entered", ex.here());
            ex.vars.insert("PRIVACYMGRSTATUS".into(), "FAILED".into());
            return Step::Next;
        }
        self.tries_left -= 1;
        self.to(Phase::Prompt, play("privacy-prompt"))
    }

    /// The caller finished an entry: thank, or say it was wrong.
    fn entered(&mut self, ex: &mut Execution, dp: &Dialplan) -> Step {
        let long_enough = self.buf.len() >= self.min_len;
        let known = match &self.context {
            Some(c) => dp.find(c, &self.buf, "", Want::Prio(1), ex.now).is_some(),
            None => true,
        };
        if !(long_enough && known) {
            return self.to(Phase::Incorrect, play("privacy-incorrect"));
        }
        log::info!("{}: Changed Caller*ID number to '{}'", ex.here(), self.buf);
        ex.chan.callerid_num = std::mem::take(&mut self.buf).into();
        ex.chan.callerid_name = "Privacy Manager".into();
        ex.vars.insert("PRIVACYMGRSTATUS".into(), "SUCCESS".into());
        self.to(Phase::Thanks, play("privacy-thankyou"))
    }
}
