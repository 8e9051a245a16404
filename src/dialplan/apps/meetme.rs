//! `MeetMe([confno[,options[,pin]]])` and `MeetMeCount(confno[,var])` as Asterisk's
//! `apps/app_meetme.c` (`conf_exec`, `find_conf`, `count_exec`).
//!
//! MeetMe answers, then finds the conference: a `conf =>` room of meetme.conf, one already
//! running, or with `d`/`D` a new dynamic one. Without a number it asks (`conf-getconfno`,
//! digits up to `#`, at most three times); an unknown number plays `conf-invalid` (and asks
//! again when the number was asked for, else hangs up). A room with a PIN (its admin PIN for
//! an admin `a`) takes the `pin` argument once, or asks (`conf-getpin`, three tries,
//! `conf-invalidpin` after each wrong one, then hang up); the admin PIN makes the caller an
//! admin. Options: `a` admin, `A` marked, `d`/`D` dynamic (a new dynamic conference has no PIN;
//! `D` asks for none), `m` listen only, `t` talk only, `M[(class)]` music while alone, `q` quiet, `w`
//! wait for a marked user, `x` leave when the last marked user does; others are warned about
//! and ignored. The dialplan goes on when the member is removed (`x`).
//!
//! MeetMeCount sets `var` to the number of members, or (without `var`) answers and says it.

use super::super::command::{Command, Resume};
use super::super::conference::{members, ConfKind, ConferenceSpec};
use super::super::cursor::{Execution, Flow, State};
use super::super::model::Dialplan;
use super::confbridge::{play, Phase, Session, Step, Wanted, FIRST_DIGIT, MAX_DIGITS, NEXT_DIGIT};
use crate::config::raw::Loc;

/// What MeetMe keeps between prompts.
#[derive(Debug, Clone, Default)]
pub(crate) struct MeetMeArgs {
    /// `d` or `D`.
    dynamic: bool,
    /// The `pin` argument.
    pin: String,
    /// The number was asked for (so a wrong one is asked again).
    asked: bool,
    /// The room's PIN and admin PIN, once found.
    room_pins: (String, String),
}

/// `MeetMe([confno[,options[,pin]]])`.
pub(super) fn meetme(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let mut spec = ConferenceSpec {
        kind: Some(ConfKind::MeetMe),
        name: arg(0).to_string(),
        ..ConferenceSpec::default()
    };
    let mut margs = MeetMeArgs {
        pin: arg(2).to_string(),
        ..MeetMeArgs::default()
    };
    let mut chars = arg(1).chars().peekable();
    while let Some(c) = chars.next() {
        let mut param = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let p: String = chars.by_ref().take_while(|&a| a != ')').collect();
            param = Some(p);
        }
        match c {
            'a' => spec.admin = true,
            'A' => spec.marked = true,
            'd' | 'D' => margs.dynamic = true,
            'm' => spec.muted = true,
            't' => spec.deaf = true,
            'M' => spec.moh_when_alone = Some(param.unwrap_or_default()),
            'q' => spec.quiet = true,
            'w' => spec.wait_marked = true,
            'x' => spec.end_marked = true,
            ' ' => {}
            other => log::warn!(
                "{loc}: {}: MeetMe option '{other}' is not supported; ignored",
                ex.here()
            ),
        }
    }
    let mut s = Session {
        phase: Phase::In,
        spec,
        buf: String::new(),
        tries: 3,
        meetme: Some(margs),
    };
    if s.spec.name.is_empty() {
        if let Some(m) = s.meetme.as_mut() {
            m.asked = true;
        }
        s.phase = Phase::Prompt(Wanted::Confno);
        return super::confbridge::start(ex, s);
    }
    let cmd = match validate(&mut s, ex) {
        Step::Cmd(c) => c,
        Step::Hangup | Step::Next | Step::Keep => {
            return super::end(crate::dialplan::Cause::NORMAL_CLEARING)
        }
    };
    super::answered_then(ex, false, cmd, State::Conference(Box::new(s)))
}

/// The conference number is known: find it and check the PIN.
fn validate(s: &mut Session, ex: &mut Execution) -> Step {
    let Some(m) = s.meetme.as_mut() else {
        return Step::Hangup;
    };
    let conf = super::super::conference::conf_of(&ex.shared);
    let room = conf.room(&s.spec.name).cloned();
    let running = members(&ex.shared, ConfKind::MeetMe, &s.spec.name) > 0;
    if room.is_none() && !m.dynamic && !running {
        log::info!("{}: MeetMe: no conference {}", ex.here(), s.spec.name);
        if m.asked && s.tries > 1 {
            s.tries -= 1;
            s.buf.clear();
            s.phase = Phase::Prompt(Wanted::Confno);
            return Step::Cmd(Command::Playback {
                files: vec!["conf-invalid".into(), "conf-getconfno".into()],
                interrupt_digits: Some(super::ALL_DIGITS.into()),
            });
        }
        s.phase = Phase::Closing(true);
        return Step::Cmd(play("conf-invalid", false));
    }
    m.room_pins = room.map(|r| (r.pin, r.admin_pin)).unwrap_or_default();
    let (pin, admin_pin) = &m.room_pins;
    let needs = (!pin.is_empty() && !s.spec.admin) || (!admin_pin.is_empty() && s.spec.admin);
    if !needs {
        return Step::Cmd(s.join());
    }
    if !m.pin.is_empty() {
        let given = m.pin.clone();
        return check_pin(s, ex, &given, false);
    }
    s.tries = 3;
    s.buf.clear();
    s.phase = Phase::Prompt(Wanted::Pin);
    Step::Cmd(play("conf-getpin", true))
}

/// Compares `given` with the room's PINs (`retry`: it was typed, three tries).
fn check_pin(s: &mut Session, ex: &mut Execution, given: &str, retry: bool) -> Step {
    let (pin, admin_pin) = s
        .meetme
        .as_ref()
        .map(|m| m.room_pins.clone())
        .unwrap_or_default();
    let admin = !admin_pin.is_empty() && given.eq_ignore_ascii_case(&admin_pin);
    if admin || given.eq_ignore_ascii_case(&pin) {
        s.spec.admin |= admin;
        return Step::Cmd(s.join());
    }
    log::info!("{}: MeetMe {}: wrong PIN", ex.here(), s.spec.name);
    // Counted against the caller's address like a wrong voicemail PIN (the ban).
    ex.pin_failed("MeetMe", s.spec.name.clone());
    s.tries = s.tries.saturating_sub(1);
    if retry && s.tries > 0 {
        s.buf.clear();
        s.phase = Phase::WrongPin;
        return Step::Cmd(play("conf-invalidpin", true));
    }
    s.phase = Phase::Closing(true);
    Step::Cmd(play("conf-invalidpin", false))
}

/// MeetMe's prompts and digits (the phases [`Session::resume`] does not handle itself).
pub(super) fn resume(s: &mut Session, ex: &mut Execution, _dp: &Dialplan, r: Resume) -> Step {
    let wait = |t| Step::Cmd(Command::WaitDigit { timeout: t });
    match (s.phase.clone(), r) {
        (Phase::Prompt(w), Resume::Done) => {
            s.phase = Phase::Digits(w);
            wait(FIRST_DIGIT)
        }
        (Phase::Prompt(w), Resume::Digit(c)) | (Phase::Digits(w), Resume::Digit(c)) => {
            if c == '#' {
                return entered(s, ex, w);
            }
            s.buf.push(c);
            if s.buf.len() >= MAX_DIGITS {
                return entered(s, ex, w);
            }
            s.phase = Phase::Digits(w);
            wait(NEXT_DIGIT)
        }
        (Phase::Digits(w), Resume::TimedOut) => entered(s, ex, w),
        (Phase::WrongPin, Resume::Done) => {
            s.phase = Phase::Prompt(Wanted::Pin);
            Step::Cmd(play("conf-getpin", true))
        }
        (Phase::WrongPin, Resume::Digit(c)) => {
            // The digit that interrupted the prompt starts the next PIN (app_meetme.c).
            s.buf = c.to_string();
            s.phase = Phase::Digits(Wanted::Pin);
            wait(NEXT_DIGIT)
        }
        _ => Step::Keep,
    }
}

/// The caller finished typing a number or a PIN.
fn entered(s: &mut Session, ex: &mut Execution, w: Wanted) -> Step {
    let typed = std::mem::take(&mut s.buf);
    match w {
        Wanted::Confno if typed.is_empty() => {
            s.tries = s.tries.saturating_sub(1);
            if s.tries == 0 {
                return Step::Hangup;
            }
            s.phase = Phase::Prompt(Wanted::Confno);
            Step::Cmd(play("conf-getconfno", true))
        }
        Wanted::Confno => {
            s.spec.name = typed;
            validate(s, ex)
        }
        Wanted::Pin => check_pin(s, ex, &typed, true),
    }
}

/// `MeetMeCount(confno[,var])`.
pub(super) fn count(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    if arg(0).is_empty() {
        log::warn!(
            "{loc}: {}: MeetMeCount requires an argument (conference number)",
            ex.here()
        );
        return Flow::Next;
    }
    let n = members(&ex.shared, ConfKind::MeetMe, arg(0));
    if !arg(1).is_empty() {
        ex.vars.insert(arg(1).to_string(), n.to_string());
        return Flow::Next;
    }
    let files = super::number_files(n as i64);
    super::answered_then(
        ex,
        false,
        Command::Playback {
            files,
            interrupt_digits: None,
        },
        State::AwaitDone { answers: true },
    )
}
