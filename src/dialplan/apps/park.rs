//! Park and ParkedCall, as Asterisk 12+'s `res/parking/parking_applications.c` has them:
//! `Park([lot[,options]])` with options `s` (silence), `t(seconds)` (instead of
//! `parkingtime`), `c(context,exten,priority)` (where the call goes on timeout); `r`/`R`
//! (ringing instead of music) are accepted and have no effect. `ParkedCall([lot[,slot]])`.
//! The lot defaults to `${PARKINGLOT}`, then `default`. The call layer finds the lot and the
//! position; the runner's side (announcement, music, comeback, `pbx-invalidpark`) is in
//! [`resume`].

use super::{answered_then, digit_files};
use crate::config::raw::Loc;
use crate::dialplan::command::{Command, DialOptions, ParkComeback, Resume};
use crate::dialplan::cursor::{Execution, Flow, State};
use crate::dialplan::model::Dialplan;
use crate::dialplan::Cause;
use std::time::Duration;

/// The lot an application names, or the channel's (`PARKINGLOT`), or `default`.
fn lot_of(ex: &Execution, given: &str) -> String {
    let given = given.trim();
    if !given.is_empty() {
        return given.to_string();
    }
    ex.var("PARKINGLOT")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

/// `Park([lot[,options]])`.
pub(super) fn park(ex: &mut Execution, args: &str, loc: &Loc) -> Flow {
    let (lot, options) = args.split_once(',').unwrap_or((args, ""));
    let (mut timeout, mut comeback, mut silence) = (None, None, false);
    let mut chars = options.chars().peekable();
    while let Some(c) = chars.next() {
        // An option's argument in parentheses (commas inside are its own).
        let mut arg = String::new();
        if chars.peek() == Some(&'(') {
            chars.next();
            for a in chars.by_ref() {
                if a == ')' {
                    break;
                }
                arg.push(a);
            }
        }
        match c {
            's' => silence = true,
            't' => match arg.trim().parse::<u32>() {
                Ok(secs) => timeout = Some(Duration::from_secs(u64::from(secs))),
                Err(_) => log::warn!("{loc}: {}: Park t({arg}) is no number", ex.here()),
            },
            'c' => {
                let parts: Vec<&str> = arg.split(',').map(str::trim).collect();
                let here = (ex.context.to_string(), ex.exten.to_string());
                comeback = match parts.as_slice() {
                    [c, e, p] => p.parse().ok().map(|p| (c.to_string(), e.to_string(), p)),
                    [e, p] => p.parse().ok().map(|p| (here.0, e.to_string(), p)),
                    [p] => p.parse().ok().map(|p| (here.0, here.1, p)),
                    _ => None,
                };
                if comeback.is_none() {
                    log::warn!("{loc}: {}: Park c({arg}) is no place", ex.here());
                }
            }
            'r' | 'R' => log::debug!("{loc}: Park option '{c}' has no effect"),
            ' ' => {}
            other => log::warn!("{loc}: {}: Park option '{other}' unknown", ex.here()),
        }
    }
    let lot = lot_of(ex, lot);
    Flow::Cmd(
        Command::Park {
            lot,
            timeout,
            comeback,
            silence,
        },
        State::AwaitPark { silence },
    )
}

/// `ParkedCall([lot[,slot]])`: a slot that is no number plays `pbx-invalidpark` and hangs up.
pub(super) fn parked_call(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let lot = lot_of(ex, argv.first().copied().unwrap_or(""));
    let slot = match argv.get(1).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                log::warn!("{loc}: {}: ParkedCall slot '{s}' is no number", ex.here());
                return invalid_park(ex);
            }
        },
    };
    Flow::Cmd(Command::ParkedCall { lot, slot }, State::AwaitRetrieve)
}

/// Answer (if needed), `pbx-invalidpark`, hang up: ParkedCall found nothing.
fn invalid_park(ex: &Execution) -> Flow {
    let play = Command::Playback {
        files: vec!["pbx-invalidpark".into()],
        interrupt_digits: None,
    };
    answered_then(ex, false, play, State::InvalidPark)
}

/// The runner's side of the parking states: `None` when `resume` is not theirs.
pub(crate) fn resume(
    ex: &mut Execution,
    dp: &Dialplan,
    state: &State,
    resume: &Resume,
) -> Option<Command> {
    let cmd = match (state, resume) {
        (
            State::AwaitPark { .. },
            Resume::Parked {
                lot,
                slot,
                announce,
                music_class,
            },
        ) => {
            ex.answered = true;
            let s = slot.to_string();
            for name in ["PARKINGSLOT", "PARKING_SPACE"] {
                ex.vars.insert(name.into(), s.clone());
            }
            ex.vars.insert("PARKEDLOT".into(), lot.clone());
            if *announce {
                ex.state = State::ParkAnnounce {
                    class: music_class.clone(),
                };
                Command::Playback {
                    files: digit_files(&s),
                    interrupt_digits: None,
                }
            } else {
                ex.state = State::Parked;
                Command::MusicOnHold {
                    class: music_class.clone(),
                    duration: None,
                }
            }
        }
        (State::AwaitPark { silence }, Resume::ParkFailed) => {
            // res_parking: the prompt unless `s`, and the dialplan goes on.
            if *silence {
                return Some(ex.next(dp));
            }
            ex.state = State::AwaitDone { answers: false };
            Command::Playback {
                files: vec!["pbx-parkingfailed".into()],
                interrupt_digits: None,
            }
        }
        (State::ParkAnnounce { class }, Resume::Done) => {
            ex.state = State::Parked;
            Command::MusicOnHold {
                class: class.clone(),
                duration: None,
            }
        }
        (State::Parked, Resume::ParkTimedOut { comeback }) => match comeback {
            ParkComeback::Goto {
                context,
                exten,
                prio,
            } => {
                ex.context = context.as_str().into();
                ex.exten = exten.as_str().into();
                ex.prio = *prio;
                return Some(ex.run(dp));
            }
            ParkComeback::Dial {
                target,
                timeout,
                flat,
            } => {
                ex.context = "park-dial".into();
                ex.exten = flat.as_str().into();
                ex.prio = 1;
                ex.state = State::ParkComebackDial;
                Command::Dial {
                    targets: vec![target.clone()],
                    timeout: Some(*timeout),
                    options: DialOptions::default(),
                    callerid_name: ex.chan.callerid_name.to_string(),
                    callerid_num: ex.chan.callerid_num.to_string(),
                    music_class: String::new(),
                }
            }
            ParkComeback::Hangup => ex.end(Cause::NORMAL_CLEARING),
        },
        (State::ParkComebackDial, Resume::DialEnded { status, .. }) => {
            ex.vars.insert("DIALSTATUS".into(), status.as_str().into());
            ex.end(Cause::NORMAL_CLEARING)
        }
        (State::AwaitRetrieve, Resume::Done) => match invalid_park(ex) {
            Flow::Cmd(cmd, st) => {
                ex.state = st;
                cmd
            }
            _ => ex.end(Cause::NORMAL_CLEARING),
        },
        (State::InvalidPark, Resume::Done) => ex.end(Cause::NORMAL_CLEARING),
        _ => return None,
    };
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::ChannelInfo;

    fn ex() -> (Dialplan, Execution) {
        let dp = Dialplan::default();
        let ex = Execution::new(&dp, "internal", "700", ChannelInfo::default());
        (dp, ex)
    }

    fn loc() -> Loc {
        Loc {
            file: "extensions.conf".into(),
            line: 1,
        }
    }

    #[test]
    fn park_options() {
        let (_, mut e) = ex();
        let Flow::Cmd(cmd, _) = park(&mut e, "sales,st(20)c(other,s,2)", &loc()) else {
            panic!("a command");
        };
        assert_eq!(
            cmd,
            Command::Park {
                lot: "sales".into(),
                timeout: Some(Duration::from_secs(20)),
                comeback: Some(("other".into(), "s".into(), 2)),
                silence: true,
            }
        );
        e.set_var("PARKINGLOT", "lot2");
        let Flow::Cmd(Command::Park { lot, comeback, .. }, _) = park(&mut e, ",c(5)", &loc())
        else {
            panic!("a command");
        };
        assert_eq!(lot, "lot2", "the channel's lot");
        assert_eq!(comeback, Some(("internal".into(), "700".into(), 5)));
    }

    #[test]
    fn parked_call_slots() {
        let (_, mut e) = ex();
        let Flow::Cmd(cmd, _) = parked_call(&mut e, &["", "701"], &loc()) else {
            panic!("a command");
        };
        assert_eq!(
            cmd,
            Command::ParkedCall {
                lot: "default".into(),
                slot: Some(701)
            }
        );
        // A slot that is no number: answer, then the prompt.
        let Flow::Cmd(cmd, State::AnswerThen(next)) = parked_call(&mut e, &["", "x"], &loc())
        else {
            panic!("answer first");
        };
        assert_eq!(cmd, Command::Answer);
        assert!(matches!(next.1, State::InvalidPark));
    }

    #[test]
    fn parked_then_announced_then_music() {
        let (dp, mut e) = ex();
        let parked = Resume::Parked {
            lot: "default".into(),
            slot: 702,
            announce: true,
            music_class: "jazz".into(),
        };
        let state = State::AwaitPark { silence: false };
        let Some(Command::Playback { files, .. }) = resume(&mut e, &dp, &state, &parked) else {
            panic!("the announcement");
        };
        assert_eq!(files, ["digits/7", "digits/0", "digits/2"]);
        assert_eq!(e.var("PARKINGSLOT").as_deref(), Some("702"));
        assert_eq!(e.var("PARKEDLOT").as_deref(), Some("default"));
        let st = e.state.clone();
        let cmd = resume(&mut e, &dp, &st, &Resume::Done);
        assert_eq!(
            cmd,
            Some(Command::MusicOnHold {
                class: "jazz".into(),
                duration: None
            })
        );
        assert!(matches!(e.state, State::Parked));
        assert!(resume(&mut e, &dp, &State::Parked, &Resume::Done).is_none());
    }
}
