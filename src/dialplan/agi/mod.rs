//! AGI: `AGI(script[,args...])`, `AGI(agi://host[:port]/script?args)` (FastAGI) and the
//! deprecated `DeadAGI()` alias. A script drives the channel with text commands, one per line,
//! and gets one result line each (`200 result=...`).
//!
//! Reading list: Asterisk `res/res_agi.c` (`launch_script`, `launch_netscript`, `setup_env`,
//! `run_agi`, `agi_handle_command`, the `handle_*` commands), the AGI command documentation
//! (`agi show commands`).
//!
//! The session is a state machine in the runner, sans-IO like the rest: the call layer moves
//! bytes ([`Command::AgiOpen`], [`Command::AgiSend`]) and brings back lines and the end
//! ([`Resume::AgiLine`], [`Resume::AgiClosed`]). A command that needs the call (STREAM FILE,
//! GET DATA, WAIT FOR DIGIT, EXEC of a waiting application, ...) issues that call command and
//! answers the script when it resumes. Lines the script sends meanwhile wait in a bounded
//! queue. Bounds: [`AGI_LINE_MAX`](crate::flow::AGI_LINE_MAX) bytes per line (the
//! transport cuts), [`INPUT_MAX`] bytes per session, [`QUEUE_MAX`] queued lines, and
//! `${AGITIMEOUT}` seconds (default [`DEFAULT_TIMEOUT`]) for each line the script owes.

mod commands;
mod env;

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::command::{AgiEnd, Command, Resume};
use super::cursor::{Execution, Flow, State};
use super::model::Dialplan;
use crate::config::raw::Loc;

pub use env::parse_target;

/// How long a script may take to send its next command when `${AGITIMEOUT}` does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// What one session may send in all; past it the session ends with FAILURE.
pub const INPUT_MAX: usize = 1 << 20;
/// Lines a script may send ahead while a command runs; past it the session ends.
pub const QUEUE_MAX: usize = 32;

/// What the running command waits for.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    /// The script's next line.
    Line,
    /// A call command that resumes `Done`; then this reply.
    Reply(String),
    /// ANSWER: `Done` marks the channel answered.
    Answer,
    /// STREAM FILE / SAY *: `Done` → result 0, a digit → its code. `endpos`: report the
    /// sample position (STREAM FILE), from this offset.
    Play { endpos: Option<u64> },
    /// GET OPTION: the file played, then a digit wait.
    Option {
        escape: String,
        timeout: Duration,
        waiting: bool,
    },
    /// WAIT FOR DIGIT.
    Digit,
    /// GET DATA.
    Data(Box<DataState>),
    /// RECORD FILE: the beep plays first, then this recording.
    Beep(Box<Command>),
    /// RECORD FILE recording.
    Record,
    /// EXEC of an application that waits; `next()` comes back here.
    Exec,
    /// HANGUP: the result line went out; the call ends next.
    Hangup,
    /// EXEC of an application that ends the call (Hangup, Busy, ...): its result line went
    /// out, this command and state follow.
    Then(Box<(Command, State)>),
}

/// GET DATA's progress.
#[derive(Debug, Clone)]
pub(crate) struct DataState {
    buf: String,
    max: usize,
    /// Per-digit wait given by the script (None: the channel's response then digit timeouts).
    timeout: Option<Duration>,
    prompting: bool,
}

/// One AGI session of a channel.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// `agi_request`: the script as written.
    request: String,
    pub(crate) pending: Pending,
    queued: VecDeque<String>,
    /// The script ended while a command ran.
    closed: Option<AgiEnd>,
    input: usize,
    timeout: Duration,
    /// When the current command started (STREAM FILE's `endpos`).
    started: SystemTime,
    /// The AGI() priority, for EXEC'd applications' warnings.
    loc: Loc,
}

/// `AGI(args)` / `DeadAGI(args)`: opens the session.
pub(crate) fn start(ex: &mut Execution, args: &str, loc: &Loc) -> Flow {
    let argv: Vec<String> = args.split(',').map(|a| a.trim().to_string()).collect();
    let Some(script) = argv.first().filter(|s| !s.is_empty()).cloned() else {
        log::warn!("{loc}: {}: AGI requires an argument (script)", ex.here());
        ex.vars.insert("AGISTATUS".into(), "FAILURE".into());
        return Flow::Next;
    };
    if script.to_ascii_lowercase().starts_with("agi:async") {
        log::warn!(
            "{loc}: {}: AGI(agi:async): AsyncAGI needs the manager interface, which sipbox has not",
            ex.here()
        );
        ex.vars.insert("AGISTATUS".into(), "FAILURE".into());
        return Flow::Next;
    }
    let script_args = argv[1..].to_vec();
    let Some(target) = parse_target(&script, &script_args) else {
        log::warn!("{loc}: {}: AGI: bad FastAGI address '{script}'", ex.here());
        ex.vars.insert("AGISTATUS".into(), "FAILURE".into());
        return Flow::Next;
    };
    let timeout = ex
        .vars
        .get("AGITIMEOUT")
        .cloned()
        .or_else(|| {
            super::shared::lock(&ex.shared)
                .globals
                .get("AGITIMEOUT")
                .cloned()
        })
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=86_400).contains(s))
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let env = env::block(ex, &script, &target, &script_args);
    crate::verbose!(3, "Launched AGI Script {script}");
    ex.agi = Some(Box::new(Session {
        request: script,
        pending: Pending::Line,
        queued: VecDeque::new(),
        closed: None,
        input: 0,
        timeout,
        started: ex.now,
        loc: loc.clone(),
    }));
    Flow::Cmd(
        Command::AgiOpen {
            target,
            env,
            timeout,
        },
        State::Agi,
    )
}

/// Lines and ends that arrive while the session is busy with a command (or the runner is in
/// an EXEC'd application) wait here; true when `resume` was taken.
pub(crate) fn stash(ex: &mut Execution, resume: &Resume) -> bool {
    let waiting_line = matches!(ex.state, State::Agi)
        && ex
            .agi
            .as_ref()
            .is_some_and(|s| matches!(s.pending, Pending::Line));
    let Some(s) = ex.agi.as_mut() else {
        return false;
    };
    if waiting_line {
        return false;
    }
    match resume {
        Resume::AgiLine(line) => {
            if s.queued.len() >= QUEUE_MAX {
                log::warn!(
                    "AGI {}: more than {QUEUE_MAX} commands ahead: ended",
                    s.request
                );
                s.closed.get_or_insert(AgiEnd::Failed);
            } else {
                s.queued.push_back(line.clone());
            }
            true
        }
        Resume::AgiClosed { end } => {
            s.closed.get_or_insert(*end);
            true
        }
        _ => false,
    }
}

/// The runner is in [`State::Agi`]: what `resume` means for the running command.
pub(crate) fn resume(ex: &mut Execution, dp: &Dialplan, resume: Resume) -> Command {
    let Some(mut s) = ex.agi.take() else {
        return ex.next_priority(dp);
    };
    let pending = std::mem::replace(&mut s.pending, Pending::Line);
    let elapsed = |s: &Session, now: SystemTime| {
        now.duration_since(s.started)
            .unwrap_or_default()
            .as_millis()
    };
    let reply = match (pending, resume) {
        (Pending::Line, Resume::AgiLine(line)) => {
            s.input = s.input.saturating_add(line.len() + 1);
            if s.input > INPUT_MAX {
                log::warn!("AGI {}: sent over {INPUT_MAX} bytes: ended", s.request);
                return finish(ex, dp, *s, AgiEnd::Failed);
            }
            s.started = ex.now;
            ex.agi = Some(s);
            return commands::handle(ex, dp, &line);
        }
        (Pending::Line, Resume::AgiClosed { end }) => return finish(ex, dp, *s, end),
        (Pending::Line, Resume::Done) => {
            // The reply went out without waiting: a line or the end was already here.
            if let Some(line) = s.queued.pop_front() {
                ex.agi = Some(s);
                return self::resume(ex, dp, Resume::AgiLine(line));
            }
            if let Some(end) = s.closed {
                return finish(ex, dp, *s, end);
            }
            return send(ex, s, String::new());
        }
        (Pending::Reply(text), Resume::Done) => text,
        (Pending::Answer, Resume::Done) => {
            ex.answered = true;
            "200 result=0\n".into()
        }
        (Pending::Play { endpos }, r @ (Resume::Done | Resume::Digit(_))) => {
            let code = digit_code(&r);
            match endpos {
                Some(offset) => {
                    let pos = offset + elapsed(&s, ex.now) as u64 * 8;
                    format!("200 result={code} endpos={pos}\n")
                }
                None => format!("200 result={code}\n"),
            }
        }
        (
            Pending::Option {
                escape,
                timeout,
                waiting,
            },
            r,
        ) => {
            let pos = elapsed(&s, ex.now) as u64 * 8;
            match r {
                Resume::Done if !waiting => {
                    s.pending = Pending::Option {
                        escape,
                        timeout,
                        waiting: true,
                    };
                    ex.agi = Some(s);
                    ex.state = State::Agi;
                    return Command::WaitDigit { timeout };
                }
                Resume::Digit(c) if escape.contains(c) => {
                    format!("200 result={} endpos={pos}\n", u32::from(c))
                }
                Resume::Digit(_) | Resume::TimedOut | Resume::Done => {
                    format!("200 result=0 endpos={pos}\n")
                }
                _ => {
                    return keep(
                        ex,
                        s,
                        Pending::Option {
                            escape,
                            timeout,
                            waiting,
                        },
                    )
                }
            }
        }
        (Pending::Digit, r @ (Resume::Digit(_) | Resume::TimedOut)) => {
            format!("200 result={}\n", digit_code(&r))
        }
        (Pending::Data(d), r) => match commands::get_data(ex, *d, r) {
            Ok(text) => text,
            Err(wait) => {
                let (d, cmd) = *wait;
                s.pending = Pending::Data(Box::new(d));
                ex.agi = Some(s);
                ex.state = State::Agi;
                return cmd;
            }
        },
        (Pending::Beep(rec), Resume::Done) => {
            s.pending = Pending::Record;
            ex.agi = Some(s);
            ex.state = State::Agi;
            return *rec;
        }
        (
            Pending::Record,
            Resume::Recorded {
                status,
                digit,
                samples,
            },
        ) => match (status, digit) {
            ("DTMF", Some(c)) => format!("200 result={} (dtmf) endpos={samples}\n", u32::from(c)),
            ("ERROR", _) => "200 result=-1 (writefile)\n".into(),
            _ => format!("200 result=0 (timeout) endpos={samples}\n"),
        },
        (Pending::Hangup, _) => {
            ex.agi = Some(s);
            return ex.end(super::cause::Cause::NORMAL_CLEARING);
        }
        (Pending::Then(held), Resume::Done) => {
            ex.agi = Some(s);
            let (cmd, st) = *held;
            ex.state = st;
            return cmd;
        }
        (p, _) => return keep(ex, s, p),
    };
    send(ex, s, reply)
}

/// An event the running command does not take: keep waiting.
fn keep(ex: &mut Execution, mut s: Box<Session>, p: Pending) -> Command {
    s.pending = p;
    ex.agi = Some(s);
    ex.state = State::Agi;
    Command::Keep
}

/// 0 for no digit, the digit's ASCII code otherwise (res_agi's `result=`).
fn digit_code(r: &Resume) -> u32 {
    match r {
        Resume::Digit(c) => u32::from(*c),
        _ => 0,
    }
}

/// Sends `text` and waits for the next line (at once when one is queued or the script has
/// gone).
pub(crate) fn send(ex: &mut Execution, mut s: Box<Session>, text: String) -> Command {
    s.pending = Pending::Line;
    let wait = (s.queued.is_empty() && s.closed.is_none()).then_some(s.timeout);
    ex.agi = Some(s);
    ex.state = State::Agi;
    Command::AgiSend { text, wait }
}

/// An application EXEC started has finished (the runner would go to the next priority):
/// the script gets its result instead. None when no EXEC waits.
pub(crate) fn exec_done(ex: &mut Execution) -> Option<Command> {
    let s = ex.agi.take_if(|s| matches!(s.pending, Pending::Exec))?;
    Some(send(ex, s, "200 result=0\n".into()))
}

/// The session is over: `${AGISTATUS}`, then the dialplan goes on at the next priority (or
/// where SET CONTEXT/EXTENSION/PRIORITY put it).
fn finish(ex: &mut Execution, dp: &Dialplan, s: Session, end: AgiEnd) -> Command {
    let status = match end {
        AgiEnd::Exited(None | Some(0)) => "SUCCESS",
        AgiEnd::NotFound => "NOTFOUND",
        AgiEnd::Exited(Some(_)) | AgiEnd::Failed | AgiEnd::TimedOut => "FAILURE",
    };
    match end {
        AgiEnd::TimedOut => log::warn!(
            "{}: AGI script {} sent nothing for {:?}: stopped",
            ex.here(),
            s.request,
            s.timeout
        ),
        AgiEnd::NotFound => log::warn!(
            "{}: Failed to execute '{}': File does not exist.",
            ex.here(),
            s.request
        ),
        _ => {}
    }
    crate::verbose!(
        3,
        "<{}>AGI Script {} completed, returning {}",
        ex.channel_name(),
        s.request,
        if status == "SUCCESS" { 0 } else { -1 }
    );
    ex.vars.insert("AGISTATUS".into(), status.into());
    ex.agi = None;
    ex.next_priority(dp)
}

/// The channel hung up while the session ran: `AGISTATUS=HANGUP` (the call layer closes the
/// transport: SIGHUP to a process, `HANGUP` to a FastAGI server).
pub(crate) fn hung_up(ex: &mut Execution) {
    if ex.agi.take().is_some() {
        ex.vars.insert("AGISTATUS".into(), "HANGUP".into());
    }
}
