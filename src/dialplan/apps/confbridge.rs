//! `ConfBridge(conference[,bridge_profile[,user_profile[,menu]]])` as Asterisk's
//! `apps/app_confbridge.c` (`confbridge_exec`): the channel is answered and joins the
//! conference with the flags of its user profile; a bridge or user profile that does not exist
//! (in confbridge.conf or built in: `default_bridge`, `default_user`) hangs up with
//! `CONFBRIDGE_RESULT=FAILED`; a menu is accepted and has no effect (sipbox has no DTMF
//! menus). A full conference (`max_members`) plays `conf-locked` to a non-admin, who leaves
//! with `FAILED`; the last marked member leaving removes `end_marked` members with
//! `ENDMARKED`, and the dialplan goes on. `CONFBRIDGE_INFO(parties,conf)` counts members.
//!
//! Also the runner's side every conference application shares ([`Session`]): the wait in the
//! conference, and MeetMe's prompts for the number and the PIN (see `meetme.rs`).

use super::super::command::{Command, Resume};
use super::super::conference::{ConfKind, ConfLeft, ConferenceSpec};
use super::super::cursor::{Execution, Flow, State};
use super::super::model::Dialplan;
use super::ALL_DIGITS;
use crate::config::raw::Loc;
use std::time::Duration;

/// How long the first digit of a number or PIN may take (`ast_app_getdata`'s response
/// timeout), and each one after it.
pub(super) const FIRST_DIGIT: Duration = Duration::from_secs(5);
pub(super) const NEXT_DIGIT: Duration = Duration::from_secs(3);
/// Longest conference number or PIN read (`MAX_CONFNUM`, `MAX_PIN`).
pub(super) const MAX_DIGITS: usize = 80;

/// Where a conference application is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// In the conference: the call layer resumes only when the member is out (or hung up).
    In,
    /// MeetMe: `conf-getconfno` (or `conf-getpin`) plays, then digits are read.
    Prompt(Wanted),
    /// MeetMe: reading digits.
    Digits(Wanted),
    /// A prompt plays; then the application ends: hang up (true) or go on (false).
    Closing(bool),
    /// `conf-invalidpin` plays, then the PIN is asked again.
    WrongPin,
}

/// What MeetMe is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// The conference number.
    Confno,
    /// The PIN.
    Pin,
}

/// A conference application in progress.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(super) phase: Phase,
    pub(super) spec: ConferenceSpec,
    /// MeetMe: digits read so far, tries left for the number and the PIN, the room's PINs,
    /// the options as given.
    pub(super) buf: String,
    pub(super) tries: u32,
    pub(super) meetme: Option<super::meetme::MeetMeArgs>,
}

/// What the runner does next.
pub(crate) enum Step {
    /// Issue this command and stay in the application.
    Cmd(Command),
    /// Go on with the next priority.
    Next,
    /// Hang up.
    Hangup,
    /// Nothing for this resume.
    Keep,
}

/// Plays `file`.
pub(super) fn play(file: &str, interruptible: bool) -> Command {
    Command::Playback {
        files: vec![file.to_string()],
        interrupt_digits: interruptible.then(|| ALL_DIGITS.to_string()),
    }
}

impl Session {
    /// A session joining `spec` at once.
    pub(super) fn joining(spec: ConferenceSpec) -> Session {
        Session {
            phase: Phase::In,
            spec,
            buf: String::new(),
            tries: 0,
            meetme: None,
        }
    }

    /// Moves on after `r`.
    pub(crate) fn resume(&mut self, ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        match (&self.phase, &r) {
            (Phase::In, &Resume::ConferenceLeft { why }) => {
                if self.spec.kind == Some(ConfKind::ConfBridge) {
                    ex.vars
                        .insert("CONFBRIDGE_RESULT".into(), why.result().into());
                }
                if why == ConfLeft::Full && !self.spec.quiet {
                    self.phase = Phase::Closing(self.spec.kind == Some(ConfKind::MeetMe));
                    return Step::Cmd(play("conf-locked", false));
                }
                Step::Next
            }
            (&Phase::Closing(hangup), Resume::Done) => {
                if hangup {
                    Step::Hangup
                } else {
                    Step::Next
                }
            }
            (Phase::In | Phase::Closing(_), _) => Step::Keep,
            _ => super::meetme::resume(self, ex, dp, r),
        }
    }

    /// The command that joins the conference now.
    pub(super) fn join(&mut self) -> Command {
        self.phase = Phase::In;
        Command::Conference(Box::new(self.spec.clone()))
    }
}

/// The flow that runs `session`, answering first.
pub(super) fn start(ex: &Execution, mut session: Session) -> Flow {
    let cmd = match &session.phase {
        Phase::In => session.join(),
        Phase::Prompt(Wanted::Confno) => play("conf-getconfno", true),
        Phase::Prompt(Wanted::Pin) => play("conf-getpin", true),
        _ => session.join(),
    };
    super::answered_then(ex, false, cmd, State::Conference(Box::new(session)))
}

/// `ConfBridge(conference[,bridge_profile[,user_profile[,menu]]])`.
pub(super) fn confbridge(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let name = arg(0);
    let failed = |ex: &mut Execution, why: &str| {
        log::warn!("{loc}: {}: ConfBridge: {why}", ex.here());
        ex.vars.insert("CONFBRIDGE_RESULT".into(), "FAILED".into());
        super::end(crate::dialplan::Cause::NORMAL_CLEARING)
    };
    if name.is_empty() || name.contains('/') {
        return failed(ex, "a conference name is required (and may hold no '/')");
    }
    let conf = super::super::conference::conf_of(&ex.shared);
    let Some(bridge) = conf.bridge(arg(1)) else {
        return failed(
            ex,
            &format!("Conference bridge profile {} does not exist", arg(1)),
        );
    };
    let Some(user) = conf.user(arg(2)) else {
        return failed(
            ex,
            &format!("Conference user profile {} does not exist", arg(2)),
        );
    };
    if !arg(3).is_empty() {
        log::debug!("{loc}: ConfBridge menu '{}' has no effect", arg(3));
    }
    let moh = user.moh_when_empty.then(|| user.moh_class.clone());
    let spec = ConferenceSpec {
        kind: Some(ConfKind::ConfBridge),
        name: name.to_string(),
        max_members: bridge.max_members,
        admin: user.admin,
        marked: user.marked,
        muted: user.start_muted,
        deaf: false,
        quiet: user.quiet,
        wait_marked: user.wait_marked,
        end_marked: user.end_marked,
        moh_when_alone: moh,
        profiles: Some((
            profile_name(arg(1), "default_bridge"),
            profile_name(arg(2), "default_user"),
        )),
    };
    start(ex, Session::joining(spec))
}

/// A profile argument, or the built-in profile's name.
fn profile_name(given: &str, default: &str) -> String {
    if given.is_empty() {
        default.to_string()
    } else {
        given.to_string()
    }
}

/// `CONFBRIDGE_INFO(type,conference)`: `parties` is the member count; `locked` is always 0
/// (sipbox cannot lock a conference); `admins`, `marked` and `muted` are not counted (0).
pub(crate) fn info(ex: &Execution, args: &str) -> Result<String, String> {
    let (kind, name) = args
        .split_once(',')
        .ok_or("usage: CONFBRIDGE_INFO(type,conference)")?;
    let (kind, name) = (kind.trim().to_ascii_lowercase(), name.trim());
    match kind.as_str() {
        "parties" => {
            let n = super::super::conference::members(&ex.shared, ConfKind::ConfBridge, name);
            Ok(n.to_string())
        }
        "locked" | "admins" | "marked" | "muted" => Ok("0".into()),
        other => Err(format!("unknown type '{other}'")),
    }
}
