//! The AGI commands sipbox answers, with res_agi.c's result lines: a command that runs to its
//! end at once answers here; one that needs the call returns that call command and leaves a
//! [`Pending`] for `super::resume`.
//!
//! Reading list: Asterisk `res/res_agi.c` (`parse_args`, `agi_handle_command`, `handle_*`).

use std::time::Duration;

use super::{send, DataState, Pending, Session};
use crate::dialplan::apps::{self, App, ALL_DIGITS};
use crate::dialplan::command::{Command, Resume};
use crate::dialplan::cursor::{Execution, Flow, State};
use crate::dialplan::model::{Dialplan, Want};
use crate::dialplan::shared::lock;

/// Words a command line is split into at most (res_agi.c's `MAX_ARGS`).
const MAX_ARGS: usize = 128;
/// WAIT FOR DIGIT -1 ("forever") still ends: after a day.
const FOREVER: Duration = Duration::from_secs(86_400);

/// The commands, by their words (matched case-insensitively), with their usage line for the
/// `520` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Answer,
    ChannelStatus,
    DbDel,
    DbDeltree,
    DbGet,
    DbPut,
    Exec,
    GetData,
    GetFullVariable,
    GetOption,
    GetVariable,
    Hangup,
    Noop,
    RecordFile,
    SayAlpha,
    SayDigits,
    SayNumber,
    SayPhonetic,
    SetAutohangup,
    SetCallerid,
    SetContext,
    SetExtension,
    SetMusic,
    SetPriority,
    SetVariable,
    StreamFile,
    Verbose,
    WaitForDigit,
}

const TABLE: [(&[&str], Cmd, &str); 28] = [
    (&["answer"], Cmd::Answer, "ANSWER"),
    (&["channel", "status"], Cmd::ChannelStatus, "CHANNEL STATUS [<channelname>]"),
    (&["database", "del"], Cmd::DbDel, "DATABASE DEL <family> <key>"),
    (&["database", "deltree"], Cmd::DbDeltree, "DATABASE DELTREE <family> [<keytree>]"),
    (&["database", "get"], Cmd::DbGet, "DATABASE GET <family> <key>"),
    (&["database", "put"], Cmd::DbPut, "DATABASE PUT <family> <key> <value>"),
    (&["exec"], Cmd::Exec, "EXEC <application> <options>"),
    (&["get", "data"], Cmd::GetData, "GET DATA <file to be streamed> [timeout] [maxdigits]"),
    (&["get", "full", "variable"], Cmd::GetFullVariable, "GET FULL VARIABLE <variablename> [<channel name>]"),
    (&["get", "option"], Cmd::GetOption, "GET OPTION <filename> <escape_digits> [timeout]"),
    (&["get", "variable"], Cmd::GetVariable, "GET VARIABLE <variablename>"),
    (&["hangup"], Cmd::Hangup, "HANGUP [<channelname>]"),
    (&["noop"], Cmd::Noop, "NOOP"),
    (&["record", "file"], Cmd::RecordFile, "RECORD FILE <filename> <format> <escape digits> <timeout> [offset samples] [BEEP] [s=silence]"),
    (&["say", "alpha"], Cmd::SayAlpha, "SAY ALPHA <number> <escape digits>"),
    (&["say", "digits"], Cmd::SayDigits, "SAY DIGITS <number> <escape digits>"),
    (&["say", "number"], Cmd::SayNumber, "SAY NUMBER <number> <escape digits> [gender]"),
    (&["say", "phonetic"], Cmd::SayPhonetic, "SAY PHONETIC <string> <escape digits>"),
    (&["set", "autohangup"], Cmd::SetAutohangup, "SET AUTOHANGUP <time>"),
    (&["set", "callerid"], Cmd::SetCallerid, "SET CALLERID <number>"),
    (&["set", "context"], Cmd::SetContext, "SET CONTEXT <desired context>"),
    (&["set", "extension"], Cmd::SetExtension, "SET EXTENSION <new extension>"),
    (&["set", "music"], Cmd::SetMusic, "SET MUSIC <on|off> <class>"),
    (&["set", "priority"], Cmd::SetPriority, "SET PRIORITY <priority>"),
    (&["set", "variable"], Cmd::SetVariable, "SET VARIABLE <variablename> <value>"),
    (&["stream", "file"], Cmd::StreamFile, "STREAM FILE <filename> <escape digits> [sample offset]"),
    (&["verbose"], Cmd::Verbose, "VERBOSE <message> <level>"),
    (&["wait", "for", "digit"], Cmd::WaitForDigit, "WAIT FOR DIGIT <timeout>"),
];

/// Splits a command line as res_agi.c's `parse_args` does: blanks separate words, `"..."`
/// quotes (an empty `""` is an empty word), `\` escapes the next character.
pub(crate) fn parse_args(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped, mut in_word) = (false, false, false);
    for c in line.chars() {
        match c {
            '"' if !escaped => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' | '\t' if !quoted && !escaped => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' if !escaped => escaped = true,
            _ => {
                cur.push(c);
                in_word = true;
                escaped = false;
            }
        }
        if c == '"' {
            escaped = false;
        }
        if out.len() >= MAX_ARGS {
            break;
        }
    }
    if in_word && out.len() < MAX_ARGS {
        out.push(cur);
    }
    out
}

fn find(argv: &[String]) -> Option<(Cmd, &'static str)> {
    TABLE
        .iter()
        .filter(|(words, _, _)| {
            words.len() <= argv.len()
                && words
                    .iter()
                    .zip(argv)
                    .all(|(w, a)| w.eq_ignore_ascii_case(a))
        })
        .max_by_key(|(words, _, _)| words.len())
        .map(|(_, c, u)| (*c, *u))
}

fn usage(text: &str) -> String {
    format!(
        "520-Invalid command syntax.  Proper usage follows:\n Usage: {text}\n520 End of proper usage.\n"
    )
}

/// Handles one line of the script (the session is in `ex.agi`, waiting for a line).
pub(super) fn handle(ex: &mut Execution, dp: &Dialplan, line: &str) -> Command {
    let argv = parse_args(line);
    log::debug!("<{}>AGI Rx << {line}", ex.channel_name());
    let Some((cmd, use_)) = find(&argv) else {
        return reply(ex, "510 Invalid or unknown command\n".into());
    };
    let arg = |i: usize| argv.get(i).map(String::as_str).unwrap_or("");
    let argc = argv.len();
    let bad = || usage(use_);
    let text = match cmd {
        Cmd::Answer => {
            if ex.answered {
                "200 result=0\n".into()
            } else {
                return wait(ex, Pending::Answer, Command::Answer);
            }
        }
        Cmd::Noop => "200 result=0\n".into(),
        Cmd::ChannelStatus => match argc {
            2 => format!("200 result={}\n", state_code(ex)),
            3 if arg(2) == ex.channel_name() => format!("200 result={}\n", state_code(ex)),
            3 => "200 result=-1\n".into(),
            _ => bad(),
        },
        Cmd::Hangup => match argc {
            1 => return hangup(ex),
            2 if arg(1) == ex.channel_name() => return hangup(ex),
            2 => "200 result=-1\n".into(),
            _ => bad(),
        },
        Cmd::Verbose if argc >= 2 => {
            let level: u8 = arg(2).parse().unwrap_or(1);
            let request = ex
                .agi
                .as_ref()
                .map(|s| s.request.clone())
                .unwrap_or_default();
            let m = arg(1);
            match level {
                0 | 1 => crate::verbose!(1, "{request}: {m}"),
                2 => crate::verbose!(2, "{request}: {m}"),
                3 => crate::verbose!(3, "{request}: {m}"),
                _ => crate::verbose!(4, "{request}: {m}"),
            }
            "200 result=1\n".into()
        }
        Cmd::SetVariable if argc >= 3 => {
            if argc >= 4 {
                apps::set_variable(ex, dp, arg(2), arg(3));
            }
            "200 result=1\n".into()
        }
        Cmd::GetVariable if argc == 3 => match ex.lookup(dp, arg(2)) {
            Some(v) => format!("200 result=1 ({v})\n"),
            None => "200 result=0\n".into(),
        },
        Cmd::GetFullVariable if argc == 4 || argc == 5 => {
            if argc == 5 && arg(4) != ex.channel_name() {
                "200 result=0\n".into()
            } else {
                let v = ex.expand_mut(dp, arg(3));
                format!("200 result=1 ({v})\n")
            }
        }
        Cmd::SetCallerid if argc >= 3 => {
            let (name, num) = split_callerid(arg(2));
            apps::set_variable(ex, dp, "CALLERID(num)", &num);
            apps::set_variable(ex, dp, "CALLERID(name)", &name);
            "200 result=1\n".into()
        }
        Cmd::SetContext if argc == 3 => {
            ex.context = arg(2).into();
            "200 result=0\n".into()
        }
        Cmd::SetExtension if argc == 3 => {
            ex.exten = arg(2).into();
            "200 result=0\n".into()
        }
        Cmd::SetPriority if argc == 3 => {
            let p = arg(2).parse::<u32>().ok().or_else(|| {
                let cid = ex.chan.callerid_num.clone();
                dp.find(&ex.context, &ex.exten, &cid, Want::Label(arg(2)), ex.now)
                    .map(|f| f.prio)
            });
            match p.filter(|p| *p >= 1) {
                // The runner steps past the AGI priority when the script ends, as pbx.c does
                // after ast_explicit_goto: land on `p`.
                Some(p) => {
                    ex.prio = p - 1;
                    "200 result=0\n".into()
                }
                None => bad(),
            }
        }
        Cmd::SetAutohangup if argc == 3 => match arg(2).parse::<i64>() {
            Ok(t) => {
                ex.absolute_deadline =
                    (t > 0).then(|| ex.now + Duration::from_secs(t.unsigned_abs()));
                "200 result=0\n".into()
            }
            Err(_) => bad(),
        },
        Cmd::SetMusic if argc >= 3 => {
            let ok = "200 result=0\n".to_string();
            if arg(2).to_ascii_lowercase().starts_with("on") {
                let class = arg(3).to_string();
                return wait(ex, Pending::Reply(ok), Command::StartMusicOnHold { class });
            }
            if arg(2).to_ascii_lowercase().starts_with("off") {
                return wait(ex, Pending::Reply(ok), Command::StopMusicOnHold);
            }
            ok
        }
        Cmd::DbGet if argc == 4 => match db_key(arg(2), arg(3)) {
            Some(k) => match lock(&dp.shared).astdb.get(&k) {
                Some(v) => format!("200 result=1 ({v})\n"),
                None => "200 result=0\n".into(),
            },
            None => "200 result=0\n".into(),
        },
        Cmd::DbPut if argc == 5 => {
            let ok = db_key(arg(2), arg(3)).is_some_and(|k| lock(&dp.shared).astdb.put(&k, arg(4)));
            format!("200 result={}\n", u8::from(ok))
        }
        Cmd::DbDel if argc == 4 => {
            let ok =
                db_key(arg(2), arg(3)).is_some_and(|k| lock(&dp.shared).astdb.del(&k).is_some());
            format!("200 result={}\n", u8::from(ok))
        }
        Cmd::DbDeltree if argc == 3 || argc == 4 => {
            let family = arg(2).trim_matches('/');
            let prefix = match arg(3).trim_matches('/') {
                "" => format!("/{family}"),
                tree => format!("/{family}/{tree}"),
            };
            let n = if family.is_empty() {
                0
            } else {
                lock(&dp.shared).astdb.del_tree(&prefix)
            };
            format!("200 result={}\n", u8::from(n > 0))
        }
        Cmd::StreamFile if argc == 4 || argc == 5 => {
            let Ok(offset) = (if argc == 5 {
                arg(4).parse::<u64>()
            } else {
                Ok(0)
            }) else {
                return reply(ex, bad());
            };
            crate::verbose!(
                3,
                "Playing '{}' (escape_digits={}) (sample_offset {offset})",
                arg(2),
                arg(3)
            );
            let play = playback(vec![arg(2).to_string()], arg(3));
            return wait(
                ex,
                Pending::Play {
                    endpos: Some(offset),
                },
                play,
            );
        }
        Cmd::GetOption if argc == 4 || argc == 5 => {
            let timeout = match arg(4).parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => ex.digit_timeout,
            };
            let p = Pending::Option {
                escape: arg(3).to_string(),
                timeout,
                waiting: false,
            };
            return wait(ex, p, playback(vec![arg(2).to_string()], arg(3)));
        }
        Cmd::SayDigits if argc == 4 && arg(2).parse::<i64>().is_ok() => {
            let files = apps::digit_files(arg(2));
            return wait(ex, Pending::Play { endpos: None }, playback(files, arg(3)));
        }
        Cmd::SayNumber if argc == 4 || argc == 5 => match arg(2).parse::<i64>() {
            Ok(n) => {
                let files = apps::number_files(n);
                return wait(ex, Pending::Play { endpos: None }, playback(files, arg(3)));
            }
            Err(_) => bad(),
        },
        Cmd::SayAlpha if argc == 4 => {
            let files = apps::alpha_files(arg(2));
            return wait(ex, Pending::Play { endpos: None }, playback(files, arg(3)));
        }
        Cmd::SayPhonetic if argc == 4 => {
            let files = apps::phonetic_files(arg(2));
            return wait(ex, Pending::Play { endpos: None }, playback(files, arg(3)));
        }
        Cmd::WaitForDigit if argc == 4 => match arg(3).parse::<i64>() {
            Ok(ms) => {
                let timeout = if ms < 0 {
                    FOREVER
                } else {
                    Duration::from_millis(ms.unsigned_abs())
                };
                return wait(ex, Pending::Digit, Command::WaitDigit { timeout });
            }
            Err(_) => bad(),
        },
        Cmd::GetData if argc >= 3 => {
            let timeout = arg(3)
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis);
            let max = arg(4)
                .parse::<usize>()
                .ok()
                .filter(|m| *m > 0)
                .unwrap_or(1024)
                .min(1024);
            let d = DataState {
                buf: String::new(),
                max,
                timeout,
                prompting: true,
            };
            let files = apps::files(arg(2));
            let play = Command::Playback {
                files,
                interrupt_digits: Some(ALL_DIGITS.into()),
            };
            return wait(ex, Pending::Data(Box::new(d)), play);
        }
        Cmd::RecordFile if argc >= 6 => return record(ex, &argv, use_),
        Cmd::Exec if argc >= 2 => return exec(ex, dp, arg(1), arg(2)),
        _ => bad(),
    };
    reply(ex, text)
}

/// Answers at once and waits for the next line.
fn reply(ex: &mut Execution, text: String) -> Command {
    match ex.agi.take() {
        Some(s) => send(ex, s, text),
        None => Command::Keep,
    }
}

/// Hands `cmd` to the call and waits for it in `pending`.
fn wait(ex: &mut Execution, pending: Pending, cmd: Command) -> Command {
    if let Some(s) = ex.agi.as_mut() {
        s.pending = pending;
        s.started = ex.now;
    }
    ex.state = State::Agi;
    cmd
}

fn playback(files: Vec<String>, escape: &str) -> Command {
    Command::Playback {
        files,
        interrupt_digits: (!escape.is_empty()).then(|| escape.to_string()),
    }
}

/// CHANNEL STATUS: 6 (up) once answered, else 4 (ringing), as `ast_channel_state` counts.
fn state_code(ex: &Execution) -> u8 {
    if ex.answered {
        6
    } else {
        4
    }
}

/// HANGUP: the script hears `200 result=1`, then the channel hangs up.
fn hangup(ex: &mut Execution) -> Command {
    let Some(mut s) = ex.agi.take() else {
        return Command::Keep;
    };
    s.pending = Pending::Hangup;
    ex.agi = Some(s);
    ex.state = State::Agi;
    Command::AgiSend {
        text: "200 result=1\n".into(),
        wait: None,
    }
}

/// `"Name" <number>`, `Name <number>` or a bare number.
fn split_callerid(s: &str) -> (String, String) {
    match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            s[..a].trim().trim_matches('"').trim().to_string(),
            s[a + 1..b].trim().to_string(),
        ),
        _ if s.chars().any(|c| c.is_ascii_digit()) => (String::new(), s.trim().to_string()),
        _ => (s.trim().trim_matches('"').to_string(), String::new()),
    }
}

fn db_key(family: &str, key: &str) -> Option<String> {
    crate::dialplan::astdb::full_key(&format!("{family}/{key}"))
}

/// GET DATA's step: `Ok(line)` when done, `Err((state, command))` to go on waiting.
pub(super) fn get_data(
    ex: &mut Execution,
    mut d: DataState,
    r: Resume,
) -> Result<String, Box<(DataState, Command)>> {
    let first = d.buf.is_empty();
    match r {
        Resume::Digit('#') => return Ok(format!("200 result={}\n", d.buf)),
        Resume::Digit(c) => {
            d.buf.push(c);
            if d.buf.chars().count() >= d.max {
                return Ok(format!("200 result={}\n", d.buf));
            }
        }
        Resume::TimedOut if !d.prompting => return Ok(format!("200 result={} (timeout)\n", d.buf)),
        Resume::Done if d.prompting => {}
        _ => {
            let t = d.timeout.unwrap_or(ex.digit_timeout);
            return Err(Box::new((d, Command::WaitDigit { timeout: t })));
        }
    }
    d.prompting = false;
    // ast_app_getdata: the first digit gets the response timeout, later ones the digit one.
    let timeout = d
        .timeout
        .unwrap_or(if first && !matches!(r, Resume::Digit(_)) {
            ex.response_timeout
        } else {
            ex.digit_timeout
        });
    Err(Box::new((d, Command::WaitDigit { timeout })))
}

/// RECORD FILE file format escape timeout [offset] [BEEP] [s=silence].
fn record(ex: &mut Execution, argv: &[String], use_: &str) -> Command {
    let arg = |i: usize| argv.get(i).map(String::as_str).unwrap_or("");
    let Ok(ms) = arg(5).parse::<i64>() else {
        return reply(ex, usage(use_));
    };
    if !arg(3).eq_ignore_ascii_case("wav") {
        log::warn!(
            "{}: AGI RECORD FILE: format '{}' is not supported (only wav)",
            ex.here(),
            arg(3)
        );
        return reply(ex, "200 result=-1 (writefile)\n".into());
    }
    let extra = &argv[6.min(argv.len())..];
    let silence = extra
        .iter()
        .find_map(|a| a.strip_prefix("s="))
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(Duration::from_secs);
    let beep = extra
        .iter()
        .any(|a| !a.contains('=') && a.parse::<u64>().is_err());
    let rec = Command::Record {
        path: format!("{}.wav", arg(2)),
        silence,
        max: (ms > 0).then(|| Duration::from_millis(ms.unsigned_abs())),
        terminators: arg(4).to_string(),
    };
    if beep {
        let play = Command::Playback {
            files: vec!["beep".into()],
            interrupt_digits: None,
        };
        return wait(ex, Pending::Beep(Box::new(rec)), play);
    }
    wait(ex, Pending::Record, rec)
}

/// EXEC app options: runs the application here; one that waits for the call answers the
/// script when it ends (`super::exec_done`).
fn exec(ex: &mut Execution, dp: &Dialplan, app: &str, args: &str) -> Command {
    crate::verbose!(
        3,
        "AGI Script Executing Application: ({app}) Options: ({args})"
    );
    let Some(a) = App::from_name(app) else {
        log::warn!(
            "{}: AGI EXEC: could not find application ({app})",
            ex.here()
        );
        return reply(ex, "200 result=-2\n".into());
    };
    if matches!(a, App::Agi | App::DeadAgi) {
        log::warn!("{}: AGI EXEC: an AGI cannot start another", ex.here());
        return reply(ex, "200 result=-1\n".into());
    }
    // Background and WaitExten would go on to collect an extension: under EXEC a digit ends
    // them and is the result, as a STREAM FILE's.
    match a {
        App::Background => {
            let files = apps::files(args.split(',').next().unwrap_or(""));
            return wait(
                ex,
                Pending::Play { endpos: None },
                playback(files, ALL_DIGITS),
            );
        }
        App::WaitExten => {
            let timeout = args
                .split(',')
                .next()
                .and_then(|t| t.trim().parse::<f64>().ok())
                .filter(|t| *t > 0.0)
                .and_then(|t| Duration::try_from_secs_f64(t.min(86_400.0)).ok())
                .unwrap_or(ex.response_timeout);
            return wait(ex, Pending::Digit, Command::WaitDigit { timeout });
        }
        _ => {}
    }
    let session: Option<Box<Session>> = ex.agi.take();
    let loc = match &session {
        Some(s) => s.loc.clone(),
        None => return Command::Keep,
    };
    let flow = apps::run(ex, dp, app, args, &loc);
    ex.agi = session;
    match flow {
        Flow::Next => reply(ex, "200 result=0\n".into()),
        Flow::Jumped => {
            // A Goto: the dialplan resumes there when the script ends (one step back, as
            // the runner steps past the AGI priority).
            ex.prio = ex.prio.saturating_sub(1);
            reply(ex, "200 result=0\n".into())
        }
        Flow::Cmd(cmd, st @ State::Ended(_)) => {
            // The application ends the call: the script hears -1 first, as pbx_exec's
            // result, then the channel goes.
            if let Some(s) = ex.agi.as_mut() {
                s.pending = Pending::Then(Box::new((cmd, st)));
            }
            ex.state = State::Agi;
            Command::AgiSend {
                text: "200 result=-1\n".into(),
                wait: None,
            }
        }
        Flow::Cmd(cmd, st) => {
            if let Some(s) = ex.agi.as_mut() {
                s.pending = Pending::Exec;
            }
            ex.state = st;
            cmd
        }
    }
}
