//! The applications: each turns its (already substituted) arguments into a jump, a variable
//! change, or a [`Command`] for the call layer.
//!
//! Reading list: Asterisk `main/pbx.c` (`pbx_builtin_*`: Goto, GotoIf, GotoIfTime, Set,
//! Wait, WaitExten, Background, Answer, Hangup, Busy, Congestion, Progress, Ringing),
//! `apps/app_dial.c`, `apps/app_read.c`, `apps/app_stack.c`, `apps/app_cdr.c` (NoCDR,
//! ResetCDR: accepted, sipbox keeps no CDRs yet). The larger families have their own files:
//! [`say`] (the Say applications' prompts), `macros` (Macro), `loops` (While), `misc`
//! (ExecIf, MSet, WaitUntil, SIPAddHeader, SIPRemoveHeader), `system` (System, TrySystem),
//! `park` (Park, ParkedCall), `queue` (Queue and the queue member applications), `mixmonitor`
//! (MixMonitor, StopMixMonitor), `monitor` (Monitor, StopMonitor), `privacy` (PrivacyManager),
//! `confbridge` (ConfBridge, and the conference session MeetMe shares), `meetme` (MeetMe,
//! MeetMeCount), `page` (Page).

use std::time::Duration;

mod confbridge;
mod loops;
pub(crate) mod macros;
mod meetme;
mod misc;
mod mixmonitor;
mod monitor;
mod page;
pub(crate) use confbridge::{info as confbridge_info, Session as ConfSession, Step as ConfStep};
pub(crate) mod park;
pub(crate) mod privacy;
pub(crate) mod queue;
pub mod say;
pub(crate) mod system;
pub(crate) mod voicemail;

pub use say::{alpha_files, digit_files, number_files, phonetic_files};

use super::cause::Cause;
use super::command::{Command, DialOptions, DialTarget};
use super::cursor::{Execution, Flow, Frame, ReadState, State};
use super::functions::{self, strftime, Ctx};
use super::model::{Dialplan, Want};
use super::time::TimeSpec;
use super::vars::truthy;
use crate::config::raw::Loc;

/// Digits that interrupt Background and Read prompts.
pub const ALL_DIGITS: &str = "0123456789*#";
/// Deepest Gosub nesting (Asterisk's limit is similar).
pub(crate) const MAX_GOSUB: usize = 128;

/// The applications sipbox knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum App {
    Answer,
    Hangup,
    Dial,
    Goto,
    GotoIf,
    GotoIfTime,
    Gosub,
    GosubIf,
    Return,
    Set,
    NoOp,
    Verbose,
    Log,
    Wait,
    WaitExten,
    Background,
    Read,
    Playback,
    Echo,
    Progress,
    Ringing,
    Busy,
    Congestion,
    SayDigits,
    SayNumber,
    SayAlpha,
    SayPhonetic,
    SayUnixTime,
    Macro,
    MacroIf,
    MacroExit,
    ExecIf,
    ExecIfTime,
    While,
    EndWhile,
    ExitWhile,
    ContinueWhile,
    MSet,
    WaitUntil,
    NoCDR,
    ResetCDR,
    SIPAddHeader,
    SIPRemoveHeader,
    System,
    TrySystem,
    MessageSend,
    Authenticate,
    PlayTones,
    StopPlayTones,
    SendDTMF,
    DBdel,
    DBdeltree,
    ChanIsAvail,
    Record,
    SetCallerPres,
    UserEvent,
    StackPop,
    VoiceMail,
    VoiceMailMain,
    MusicOnHold,
    StartMusicOnHold,
    StopMusicOnHold,
    WaitMusicOnHold,
    PrivacyManager,
    Monitor,
    StopMonitor,
    Pickup,
    PickupChan,
    Park,
    ParkedCall,
    Agi,
    DeadAgi,
    MixMonitor,
    StopMixMonitor,
    ConfBridge,
    MeetMe,
    MeetMeCount,
    Page,
    Queue,
    AddQueueMember,
    RemoveQueueMember,
    PauseQueueMember,
    UnpauseQueueMember,
}

const NAMES: [(&str, App); 84] = [
    ("answer", App::Answer),
    ("hangup", App::Hangup),
    ("dial", App::Dial),
    ("goto", App::Goto),
    ("gotoif", App::GotoIf),
    ("gotoiftime", App::GotoIfTime),
    ("gosub", App::Gosub),
    ("gosubif", App::GosubIf),
    ("return", App::Return),
    ("set", App::Set),
    ("noop", App::NoOp),
    ("verbose", App::Verbose),
    ("log", App::Log),
    ("wait", App::Wait),
    ("waitexten", App::WaitExten),
    ("background", App::Background),
    ("read", App::Read),
    ("playback", App::Playback),
    ("echo", App::Echo),
    ("progress", App::Progress),
    ("ringing", App::Ringing),
    ("busy", App::Busy),
    ("congestion", App::Congestion),
    ("saydigits", App::SayDigits),
    ("saynumber", App::SayNumber),
    ("sayalpha", App::SayAlpha),
    ("sayphonetic", App::SayPhonetic),
    ("sayunixtime", App::SayUnixTime),
    ("datetime", App::SayUnixTime),
    ("macro", App::Macro),
    ("macroif", App::MacroIf),
    ("macroexit", App::MacroExit),
    ("execif", App::ExecIf),
    ("execiftime", App::ExecIfTime),
    ("while", App::While),
    ("endwhile", App::EndWhile),
    ("exitwhile", App::ExitWhile),
    ("continuewhile", App::ContinueWhile),
    ("mset", App::MSet),
    ("waituntil", App::WaitUntil),
    ("nocdr", App::NoCDR),
    ("resetcdr", App::ResetCDR),
    ("sipaddheader", App::SIPAddHeader),
    ("sipremoveheader", App::SIPRemoveHeader),
    ("system", App::System),
    ("trysystem", App::TrySystem),
    ("messagesend", App::MessageSend),
    ("authenticate", App::Authenticate),
    ("playtones", App::PlayTones),
    ("dbdel", App::DBdel),
    ("chanisavail", App::ChanIsAvail),
    ("record", App::Record),
    ("dbdeltree", App::DBdeltree),
    ("stopplaytones", App::StopPlayTones),
    ("senddtmf", App::SendDTMF),
    ("setcallerpres", App::SetCallerPres),
    ("userevent", App::UserEvent),
    ("stackpop", App::StackPop),
    ("voicemail", App::VoiceMail),
    ("voicemailmain", App::VoiceMailMain),
    ("musiconhold", App::MusicOnHold),
    ("startmusiconhold", App::StartMusicOnHold),
    ("pickup", App::Pickup),
    ("pickupchan", App::PickupChan),
    ("park", App::Park),
    ("parkedcall", App::ParkedCall),
    ("stopmusiconhold", App::StopMusicOnHold),
    ("waitmusiconhold", App::WaitMusicOnHold),
    ("privacymanager", App::PrivacyManager),
    ("monitor", App::Monitor),
    ("stopmonitor", App::StopMonitor),
    ("agi", App::Agi),
    ("deadagi", App::DeadAgi),
    ("mixmonitor", App::MixMonitor),
    ("stopmixmonitor", App::StopMixMonitor),
    ("confbridge", App::ConfBridge),
    ("meetme", App::MeetMe),
    ("meetmecount", App::MeetMeCount),
    ("page", App::Page),
    ("queue", App::Queue),
    ("addqueuemember", App::AddQueueMember),
    ("removequeuemember", App::RemoveQueueMember),
    ("pausequeuemember", App::PauseQueueMember),
    ("unpausequeuemember", App::UnpauseQueueMember),
];

impl App {
    /// Looks an application up by name, case-insensitively.
    pub fn from_name(name: &str) -> Option<App> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, a)| *a)
    }
}

/// `SendDTMF(digits[,timeout_ms[,duration_ms[,channel]]])` as `app_senddtmf.c` reads it: no
/// digits is a warning; a timeout or duration of 0 or junk takes the default (250 ms between
/// digits, 100 ms each).
fn send_dtmf(ex: &Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    if arg(0).is_empty() {
        log::warn!("{loc}: {}: SendDTMF requires an argument", ex.here());
        return Flow::Next;
    }
    let ms = |s: &str, default: u64| match s.parse::<u64>() {
        Ok(v) if v > 0 => Duration::from_millis(v.min(60_000)),
        _ => Duration::from_millis(default),
    };
    let channel = Some(arg(3)).filter(|c| !c.is_empty()).map(String::from);
    Flow::Cmd(
        Command::SendDtmf {
            digits: arg(0).to_string(),
            between: ms(arg(1), 250),
            duration: ms(arg(2), 100),
            channel,
        },
        State::AwaitDone { answers: false },
    )
}

pub(crate) fn end(cause: Cause) -> Flow {
    Flow::Cmd(Command::End { cause }, State::Ended(cause))
}

/// Seconds (fractions allowed) into a duration; `None` for empty, zero, negative or junk.
fn secs(s: &str) -> Option<Duration> {
    let v: f64 = s.trim().parse().ok()?;
    if v > 0.0 {
        Duration::try_from_secs_f64(v.min(86_400.0)).ok()
    } else {
        None
    }
}

/// The `&`-separated sound files of a Playback, Background or Read argument.
pub(crate) fn files(s: &str) -> Vec<String> {
    s.split('&')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect()
}

/// Plays after answering, unless already answered or told not to.
fn answered_then(ex: &Execution, no_answer: bool, cmd: Command, st: State) -> Flow {
    if ex.answered || no_answer {
        Flow::Cmd(cmd, st)
    } else {
        Flow::Cmd(Command::Answer, State::AnswerThen(Box::new((cmd, st))))
    }
}

/// Arguments split on the stack: more go to the heap.
const INLINE_ARGS: usize = 8;

/// `args.split(',')` as a slice, in `inline` when it has room (every priority splits its
/// arguments: most have a few), else in `spill`.
fn split_args<'a, 'b>(
    args: &'a str,
    inline: &'b mut [&'a str; INLINE_ARGS],
    spill: &'b mut Vec<&'a str>,
) -> &'b [&'a str] {
    let mut n = 0;
    for a in args.split(',') {
        if n < INLINE_ARGS {
            inline[n] = a;
        } else {
            if spill.is_empty() {
                spill.extend_from_slice(&inline[..]);
            }
            spill.push(a);
        }
        n += 1;
    }
    if n <= INLINE_ARGS {
        &inline[..n]
    } else {
        spill
    }
}

/// Runs one application. `args` are substituted already.
pub(crate) fn run(ex: &mut Execution, dp: &Dialplan, app: &str, args: &str, loc: &Loc) -> Flow {
    let Some(a) = App::from_name(app) else {
        log::warn!("{loc}: {}: no application '{app}': hanging up", ex.here());
        return end(Cause::FAILURE);
    };
    let mut inline = [""; INLINE_ARGS];
    let mut spill = Vec::new();
    let argv = split_args(args, &mut inline, &mut spill);
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    match a {
        App::NoOp => {
            log::debug!("NoOp({args})");
            Flow::Next
        }
        App::Verbose => {
            let msg = match args.split_once(',') {
                Some((lvl, m)) if lvl.trim().parse::<u8>().is_ok() => m,
                _ => args,
            };
            log::info!("{msg}");
            Flow::Next
        }
        App::Log => {
            let (lvl, msg) = args.split_once(',').unwrap_or(("NOTICE", args));
            match lvl.trim().to_ascii_uppercase().as_str() {
                "ERROR" => log::error!("{msg}"),
                "WARNING" => log::warn!("{msg}"),
                "DEBUG" => log::debug!("{msg}"),
                _ => log::info!("{msg}"),
            }
            Flow::Next
        }
        App::Set => {
            match args.split_once('=') {
                Some((name, value)) => set_variable(ex, dp, name.trim(), value),
                None => log::warn!(
                    "{loc}: {}: Set requires name=value, got '{args}'",
                    ex.here()
                ),
            }
            Flow::Next
        }
        App::Goto => goto_or_hangup(ex, dp, args, loc),
        App::GotoIf | App::GotoIfTime | App::GosubIf => {
            let Some((cond, branches)) = args.split_once('?') else {
                log::warn!("{loc}: {app} needs 'condition?label'");
                return Flow::Next;
            };
            let (t, f) = branches.split_once(':').unwrap_or((branches, ""));
            let yes = if a == App::GotoIfTime {
                match TimeSpec::parse_list(cond) {
                    Ok(spec) => {
                        if let Some(e) = spec.zone_error(ex.now, dp.zones()) {
                            log::warn!("{loc}: GotoIfTime: {e}; using UTC");
                        }
                        spec.matches(ex.now, dp.zones())
                    }
                    Err(e) => {
                        log::warn!("{loc}: GotoIfTime: {e}");
                        false
                    }
                }
            } else {
                truthy(cond)
            };
            let target = if yes { t.trim() } else { f.trim() };
            if target.is_empty() {
                Flow::Next
            } else if a == App::GosubIf {
                gosub(ex, dp, target, loc)
            } else {
                goto_or_hangup(ex, dp, target, loc)
            }
        }
        App::Gosub => gosub(ex, dp, args, loc),
        App::Return => {
            if ex.stack.last().is_none_or(|f| f.macro_.is_some()) {
                log::warn!("{loc}: {}: Return without Gosub: hanging up", ex.here());
                return end(Cause::FAILURE);
            }
            let Some(frame) = ex.stack.pop() else {
                return end(Cause::FAILURE);
            };
            ex.vars.insert("GOSUB_RETVAL".into(), args.to_string());
            ex.vars.retain(|k, _| !is_arg(k));
            ex.vars.extend(frame.saved_args);
            for (k, old) in frame.saved_locals {
                match old {
                    Some(v) => ex.vars.insert(k, v),
                    None => ex.vars.remove(&k),
                };
            }
            ex.context = frame.context;
            ex.exten = frame.exten;
            ex.prio = frame.prio;
            Flow::Jumped
        }
        App::Answer => {
            if ex.answered {
                Flow::Next
            } else {
                Flow::Cmd(Command::Answer, State::AwaitDone { answers: true })
            }
        }
        App::Progress => Flow::Cmd(Command::Progress, State::AwaitDone { answers: false }),
        App::Ringing => Flow::Cmd(Command::Ringing, State::AwaitDone { answers: false }),
        App::Busy => Flow::Cmd(Command::Busy, State::Ended(Cause::USER_BUSY)),
        App::Congestion => Flow::Cmd(Command::Congestion, State::Ended(Cause::CONGESTION)),
        App::Hangup => {
            let cause = Cause::parse(arg(0));
            if !arg(0).is_empty() && cause.is_none() {
                log::warn!(
                    "{loc}: Hangup cause '{}' is not a cause (1-127 or a name such as USER_BUSY)",
                    arg(0)
                );
            }
            if let Some(c) = cause {
                ex.vars.insert("HANGUPCAUSE".into(), c.to_string());
            }
            Flow::Cmd(
                Command::Hangup { cause },
                State::Ended(Cause::NORMAL_CLEARING),
            )
        }
        App::Wait => match secs(arg(0)) {
            Some(d) => Flow::Cmd(Command::Wait(d), State::AwaitDone { answers: false }),
            None => Flow::Next,
        },
        App::WaitExten => {
            let timeout = secs(arg(0)).unwrap_or(ex.response_timeout);
            Flow::Cmd(Command::WaitDigit { timeout }, State::WaitExten)
        }
        App::Playback => {
            let opts = arg(1);
            if opts.contains("skip") && !ex.answered {
                return Flow::Next;
            }
            let cmd = Command::Playback {
                files: files(arg(0)),
                interrupt_digits: None,
            };
            ex.vars.insert("PLAYBACKSTATUS".into(), "SUCCESS".into());
            answered_then(
                ex,
                opts.contains("noanswer"),
                cmd,
                State::AwaitDone { answers: false },
            )
        }
        App::Background => {
            let opts = arg(1);
            if opts.contains('s') && !ex.answered {
                return Flow::Next;
            }
            let cmd = Command::Playback {
                files: files(arg(0)),
                interrupt_digits: Some(ALL_DIGITS.into()),
            };
            answered_then(ex, opts.contains('n'), cmd, State::Background)
        }
        App::Read => read(ex, argv, loc),
        App::Echo => Flow::Cmd(Command::Echo, State::Echo),
        App::SayDigits => say(digit_files(arg(0))),
        App::SayNumber => match arg(0).parse::<i64>() {
            Ok(n) => say(number_files(n)),
            Err(_) => {
                log::warn!("{loc}: SayNumber needs a number, got '{}'", arg(0));
                Flow::Next
            }
        },
        App::Dial => dial(ex, argv, loc),
        App::SayAlpha => say(alpha_files(arg(0))),
        App::SayPhonetic => say(phonetic_files(arg(0))),
        App::SayUnixTime => say_unixtime(ex, dp, argv),
        App::Macro => macros::call(ex, dp, args),
        App::MacroIf => {
            let Some((cond, branches)) = args.split_once('?') else {
                log::warn!("{loc}: {}: MacroIf needs 'expr?macro[:macro]'", ex.here());
                return Flow::Next;
            };
            let (t, f) = match branches.split_once(':') {
                Some((t, f)) => (t, Some(f)),
                None => (branches, None),
            };
            match if truthy(cond) { Some(t) } else { f } {
                Some(m) => macros::call(ex, dp, m),
                None => Flow::Next,
            }
        }
        App::MacroExit => {
            if macros::leave(ex, dp) {
                Flow::Jumped
            } else {
                // Asterisk's MacroExit outside a macro returns non-zero: the call ends.
                log::warn!(
                    "{loc}: {}: MacroExit outside a Macro: hanging up",
                    ex.here()
                );
                end(Cause::NORMAL_CLEARING)
            }
        }
        App::ExecIf => misc::exec_if(ex, dp, args, loc),
        App::ExecIfTime => misc::exec_if_time(ex, dp, args, loc),
        App::While | App::EndWhile | App::ExitWhile | App::ContinueWhile => {
            loops::run(ex, dp, a, args)
        }
        App::MSet => misc::mset(ex, dp, args),
        App::WaitUntil => misc::wait_until(ex, arg(0)),
        App::Agi => super::agi::start(ex, args, loc),
        App::DeadAgi => {
            log::warn!("{loc}: DeadAGI has been deprecated, please use AGI in all cases!");
            super::agi::start(ex, args, loc)
        }
        App::System => system::system(ex, args, false, loc),
        App::TrySystem => system::system(ex, args, true, loc),
        App::MessageSend => crate::dialplan::functions::message::send(ex, args),
        App::SetCallerPres => misc::set_caller_pres(ex, args, loc),
        App::Authenticate => authenticate(ex, argv, loc),
        App::PlayTones => {
            if args.trim().is_empty() {
                log::warn!("{loc}: {}: PlayTones requires a tone", ex.here());
                return Flow::Next;
            }
            // The whole argument: a tone list has commas of its own. A name is looked up in
            // indications.conf's default country first.
            let tone = dp.tone_list(args);
            Flow::Cmd(
                Command::PlayTones { tone },
                State::AwaitDone { answers: false },
            )
        }
        App::SendDTMF => send_dtmf(ex, argv, loc),
        App::ChanIsAvail => chan_is_avail(ex, argv, loc),
        App::Pickup | App::PickupChan => pickup(ex, a, args, loc),
        App::Park => park::park(ex, args, loc),
        App::Queue => queue::run(ex, dp, queue::QueueApp::Queue, args, loc),
        App::AddQueueMember => queue::run(ex, dp, queue::QueueApp::Add, args, loc),
        App::RemoveQueueMember => queue::run(ex, dp, queue::QueueApp::Remove, args, loc),
        App::PauseQueueMember => queue::run(ex, dp, queue::QueueApp::Pause, args, loc),
        App::UnpauseQueueMember => queue::run(ex, dp, queue::QueueApp::Unpause, args, loc),
        App::ParkedCall => park::parked_call(ex, argv, loc),
        App::Record => record(ex, argv, loc),
        App::MixMonitor => mixmonitor::mixmonitor(ex, dp, args, loc),
        App::StopMixMonitor => mixmonitor::stop(args),
        App::ConfBridge => confbridge::confbridge(ex, argv, loc),
        App::MeetMe => meetme::meetme(ex, argv, loc),
        App::MeetMeCount => meetme::count(ex, argv, loc),
        App::Page => page::page(ex, argv, loc),
        App::Monitor => monitor::monitor(ex, dp, argv, loc),
        App::StopMonitor => monitor::stop(ex),
        App::DBdel => {
            match crate::dialplan::astdb::full_key(args) {
                Some(k) => {
                    super::shared::lock(&dp.shared).astdb.del(&k);
                }
                None => log::warn!("{loc}: {}: DBdel needs family/key", ex.here()),
            }
            Flow::Next
        }
        App::DBdeltree => {
            let tree = args.trim().trim_start_matches('/');
            if tree.is_empty() {
                log::warn!("{loc}: {}: DBdeltree needs a family", ex.here());
            } else {
                super::shared::lock(&dp.shared)
                    .astdb
                    .del_tree(&format!("/{tree}"));
            }
            Flow::Next
        }
        App::StopPlayTones => {
            Flow::Cmd(Command::StopPlayTones, State::AwaitDone { answers: false })
        }
        App::MusicOnHold => Flow::Cmd(
            Command::MusicOnHold {
                class: arg(0).to_string(),
                duration: secs(arg(1)),
            },
            State::AwaitDone { answers: false },
        ),
        App::StartMusicOnHold => Flow::Cmd(
            Command::StartMusicOnHold {
                class: arg(0).to_string(),
            },
            State::AwaitDone { answers: false },
        ),
        App::StopMusicOnHold => Flow::Cmd(
            Command::StopMusicOnHold,
            State::AwaitDone { answers: false },
        ),
        // res_musiconhold.c (1.8-13, removed later): the channel's class for `delay` seconds;
        // without a delay the application fails and the call ends.
        App::WaitMusicOnHold => match secs(arg(0)) {
            Some(d) => Flow::Cmd(
                Command::MusicOnHold {
                    class: String::new(),
                    duration: Some(d),
                },
                State::AwaitDone { answers: false },
            ),
            None => {
                log::warn!(
                    "{loc}: {}: WaitMusicOnHold requires an argument (number of seconds to wait): hanging up",
                    ex.here()
                );
                end(Cause::FAILURE)
            }
        },
        App::PrivacyManager => privacy::start(ex, argv, loc),
        App::UserEvent => misc::user_event(ex, args, loc),
        App::StackPop => misc::stack_pop(ex, loc),
        App::NoCDR => {
            ex.cdr.disabled = true;
            Flow::Next
        }
        App::ResetCDR => {
            ex.cdr.reset = Some(ex.now);
            Flow::Next
        }
        App::VoiceMail => voicemail::voicemail(ex, dp, argv),
        App::VoiceMailMain => voicemail::voicemail_main(ex, dp, argv),
        App::SIPAddHeader => misc::add_header(ex, args.trim()),
        App::SIPRemoveHeader => misc::remove_header(ex, args),
    }
}

/// `SayUnixTime([unixtime[,timezone[,format]]])`.
fn say_unixtime(ex: &mut Execution, dp: &Dialplan, argv: &[&str]) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let (epoch, usec) = match strftime::epoch_arg(arg(0), ex.now) {
        Ok(t) => t,
        Err(e) => {
            log::warn!("{}: SayUnixTime: {e}", ex.here());
            return Flow::Next;
        }
    };
    let local = strftime::local_type(dp.zones(), arg(1), epoch, || ex.here(), "SayUnixTime");
    let format = if arg(2).is_empty() {
        say::DEFAULT_DATE_FORMAT
    } else {
        arg(2)
    };
    say(say::date_files(
        format,
        &strftime::Tm::in_zone(epoch, usec, local),
    ))
}

fn say(files: Vec<String>) -> Flow {
    if files.is_empty() {
        return Flow::Next;
    }
    Flow::Cmd(
        Command::Playback {
            files,
            interrupt_digits: None,
        },
        State::AwaitDone { answers: false },
    )
}

fn is_arg(k: &str) -> bool {
    k.strip_prefix("ARG")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// `Set()` semantics: `_`/`__` inheritance prefixes dropped, functions (`CALLERID(...)`,
/// `GLOBAL(...)`, `GROUP(...)`, ...) written through [`functions::write`].
pub(crate) fn set_variable(ex: &mut Execution, dp: &Dialplan, name: &str, value: &str) {
    let full = name;
    let name = name.trim_start_matches('_');
    // `_X` / `__X`: inherited by dialled channels (Local/); a plain `X` replaces it and is
    // not (pbx_builtin_setvar_helper removes the variable under any prefix first).
    let level = (full.len() - name.len()).min(2) as u8;
    if let Some(open) = name.find('(') {
        let func = name[..open].trim().to_ascii_uppercase();
        let rest = &name[open + 1..];
        let args = rest.strip_suffix(')').unwrap_or(rest);
        let mut cx = Ctx { ex, dp };
        if let Err(e) = functions::write(&mut cx, &func, args, value) {
            log::warn!("{}: cannot set {name}: {e}", cx.here());
        }
        return;
    }
    if name.is_empty() {
        log::warn!("{}: Set with an empty variable name", ex.here());
        return;
    }
    if level > 0 {
        ex.inheritable.insert(name.to_string(), level);
    } else if !ex.inheritable.is_empty() {
        ex.inheritable.remove(name);
    }
    if ex.set_hidden_var(name, value) {
        return;
    }
    // A variable set again (DIALSTATUS, a loop counter) keeps its name and buffer.
    match ex.vars.get_mut(name) {
        Some(v) => value.clone_into(v),
        None => {
            ex.vars.insert(name.to_string(), value.to_string());
        }
    }
}

/// Resolves `[[context,]exten,]priority|label` against the current position.
fn target(ex: &Execution, dp: &Dialplan, spec: &str) -> Result<(String, String, u32), String> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    let (ctx, exten, prio) = match parts.as_slice() {
        [p] => (ex.context.clone(), ex.exten.clone(), *p),
        [e, p] => (ex.context.clone(), (*e).into(), *p),
        [c, e, p] => ((*c).into(), (*e).into(), *p),
        _ => return Err(format!("bad Goto target '{spec}'")),
    };
    let exten = if exten.is_empty() {
        ex.exten.clone()
    } else {
        exten
    };
    let ctx = if ctx.is_empty() {
        ex.context.clone()
    } else {
        ctx
    };
    if let Ok(n) = prio.parse::<u32>() {
        if n == 0 {
            return Err("priority 0".into());
        }
        return Ok((ctx.to_string(), exten.to_string(), n));
    }
    if parts.len() == 1 {
        if let Some(rel) = prio.strip_prefix('+').and_then(|d| d.parse::<u32>().ok()) {
            return Ok((
                ctx.to_string(),
                exten.to_string(),
                ex.prio.saturating_add(rel),
            ));
        }
        if let Some(rel) = prio.strip_prefix('-').and_then(|d| d.parse::<u32>().ok()) {
            return Ok((
                ctx.to_string(),
                exten.to_string(),
                ex.prio.saturating_sub(rel).max(1),
            ));
        }
    }
    match dp.find(
        &ctx,
        &exten,
        &ex.chan.callerid_num,
        Want::Label(prio),
        ex.now,
    ) {
        Some(f) => Ok((ctx.to_string(), exten.to_string(), f.prio)),
        None => Err(format!("no label '{prio}' at {exten}@{ctx}")),
    }
}

fn goto_or_hangup(ex: &mut Execution, dp: &Dialplan, spec: &str, loc: &Loc) -> Flow {
    match target(ex, dp, spec) {
        Ok((c, e, p)) => {
            ex.context = c.into();
            ex.exten = e.into();
            ex.prio = p;
            Flow::Jumped
        }
        Err(e) => {
            log::warn!("{loc}: Goto: {e}: hanging up");
            end(Cause::FAILURE)
        }
    }
}

fn gosub(ex: &mut Execution, dp: &Dialplan, spec: &str, loc: &Loc) -> Flow {
    let (place, args) = match spec.find('(') {
        Some(open) => {
            let rest = &spec[open + 1..];
            (&spec[..open], Some(rest.strip_suffix(')').unwrap_or(rest)))
        }
        None => (spec, None),
    };
    if ex.stack.len() >= MAX_GOSUB {
        log::warn!("{loc}: Gosub nested deeper than {MAX_GOSUB}: hanging up");
        return end(Cause::FAILURE);
    }
    let (c, e, p) = match target(ex, dp, place) {
        Ok(t) => t,
        Err(err) => {
            log::warn!("{loc}: Gosub: {err}: hanging up");
            return end(Cause::FAILURE);
        }
    };
    let saved_args: Vec<(String, String)> = ex
        .vars
        .iter()
        .filter(|(k, _)| is_arg(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ex.vars.retain(|k, _| !is_arg(k));
    if let Some(args) = args {
        for (i, a) in args.split(',').enumerate() {
            ex.vars.insert(format!("ARG{}", i + 1), a.to_string());
        }
    }
    ex.stack.push(Frame {
        context: std::mem::replace(&mut ex.context, c.into()),
        exten: std::mem::replace(&mut ex.exten, e.into()),
        prio: ex.prio.saturating_add(1),
        saved_args,
        saved_locals: Vec::new(),
        macro_: None,
    });
    ex.prio = p;
    Flow::Jumped
}

fn read(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let var = arg(0).to_string();
    if var.is_empty() {
        log::warn!("{loc}: Read requires a variable name");
        return Flow::Next;
    }
    let max = arg(2).parse::<usize>().unwrap_or(0).min(255);
    let opts = arg(3);
    if opts.contains('s') && !ex.answered {
        return Flow::Next;
    }
    let rs = ReadState {
        var,
        prompt: files(arg(1)),
        max,
        timeout: secs(arg(5)).unwrap_or(ex.response_timeout),
        attempts_left: arg(4).parse::<u32>().unwrap_or(1).clamp(1, 100),
        buf: String::new(),
        prompting: !arg(1).is_empty(),
        auth: None,
    };
    let cmd = if rs.prompting {
        Command::Playback {
            files: rs.prompt.clone(),
            interrupt_digits: Some(ALL_DIGITS.into()),
        }
    } else {
        Command::WaitDigit {
            timeout: rs.timeout,
        }
    };
    answered_then(ex, opts.contains('n'), cmd, State::Read(Box::new(rs)))
}

/// Tries Authenticate() gives the caller (app_authenticate.c: three).
pub(crate) const AUTH_TRIES: u32 = 3;

/// Authenticate(password[,options[,maxdigits[,prompt]]]): the caller keys the password
/// (ended by `#` or `maxdigits`), three tries with `auth-incorrect` between them, then
/// `vm-goodbye` and a hang-up; a match plays `auth-thankyou` and goes on. Password files
/// (`/path`) and AstDB keys (option `d`) are refused: sipbox reads no files while calls run
/// and has no AstDB yet.
fn authenticate(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let password = arg(0);
    if password.is_empty() || password.starts_with('/') || arg(1).contains('d') {
        log::warn!(
            "{loc}: {}: Authenticate needs a literal password (files and AstDB keys are not \
             supported): hanging up",
            ex.here()
        );
        return end(Cause::FAILURE);
    }
    let prompt = if arg(3).is_empty() {
        "agent-pass"
    } else {
        arg(3)
    };
    let rs = ReadState {
        var: "~AUTH".into(),
        prompt: files(prompt),
        max: arg(2).parse::<usize>().unwrap_or(0).min(255),
        timeout: ex.response_timeout,
        attempts_left: 1,
        buf: String::new(),
        prompting: true,
        auth: Some((password.to_string(), AUTH_TRIES)),
    };
    let cmd = Command::Playback {
        files: rs.prompt.clone(),
        interrupt_digits: Some(ALL_DIGITS.into()),
    };
    answered_then(ex, false, cmd, State::Read(Box::new(rs)))
}

/// Record(filename.format[,silence[,maxduration[,options]]]) as app_record.c: format `wav`
/// (8 kHz 16-bit PCM; others are refused), a beep first unless `q`, `#` ends it (`t`: `*`,
/// `y`: any digit, `x`: none), `n` records without answering; `%d` in the name becomes the
/// wall-clock seconds (Asterisk picks the first unused number, which needs the disk). A
/// hang-up discards the recording, as Asterisk does without `k`.
fn record(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let fail = |ex: &mut Execution, why: &str| {
        log::warn!("{loc}: {}: Record: {why}", ex.here());
        ex.vars.insert("RECORD_STATUS".into(), "ERROR".into());
        Flow::Next
    };
    let Some((name, format)) = arg(0).rsplit_once('.') else {
        return fail(ex, "needs filename.format");
    };
    if !format.eq_ignore_ascii_case("wav") || name.is_empty() {
        return fail(
            ex,
            &format!("format '{format}' is not supported (only wav)"),
        );
    }
    let epoch = super::time::epoch_secs(ex.now).to_string();
    let path = format!("{}.wav", name.replace("%d", &epoch));
    let opts = arg(3);
    let terminators = if opts.contains('x') {
        String::new()
    } else if opts.contains('y') {
        ALL_DIGITS.to_string()
    } else if opts.contains('t') {
        "*".to_string()
    } else {
        "#".to_string()
    };
    let rec = Command::Record {
        path: path.clone(),
        silence: arg(1)
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
        max: arg(2)
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
        terminators,
    };
    ex.vars.insert(
        "RECORDED_FILE".into(),
        path.trim_end_matches(".wav").to_string(),
    );
    if opts.contains('q') {
        return answered_then(ex, opts.contains('n'), rec, State::AwaitRecord);
    }
    let beep = Command::Playback {
        files: vec!["beep".into()],
        interrupt_digits: None,
    };
    answered_then(
        ex,
        opts.contains('n'),
        beep,
        State::BeepThenRecord(Box::new(rec)),
    )
}

/// The `TECH/resource[/number]` list of Dial and ChanIsAvail.
fn parse_targets(spec: &str, loc: &Loc) -> Vec<DialTarget> {
    let mut targets = Vec::new();
    for t in spec.split('&').map(str::trim).filter(|t| !t.is_empty()) {
        let Some((tech, rest)) = t.split_once('/') else {
            log::warn!("{loc}: target '{t}' is not TECH/resource");
            continue;
        };
        let pjsip = super::technologies::is_pjsip(tech);
        let (resource, number) = match rest.split_once('/') {
            Some((r, n)) if pjsip => (r, super::technologies::pjsip_number(n)),
            Some((r, n)) => (r, Some(n.to_string())),
            None => (rest, None),
        };
        if tech.is_empty() || resource.is_empty() {
            log::warn!("{loc}: target '{t}' is not TECH/resource");
            continue;
        }
        targets.push(DialTarget {
            // PJSIP/x is the sip.conf entry x (technologies.rs).
            tech: if pjsip { "SIP" } else { tech }.to_string(),
            resource: resource.to_string(),
            number,
        });
    }
    targets
}

/// Pickup([exten[@context]]) and PickupChan(SIP/name[&...]) as app_directed_pickup.c: the
/// context defaults to the channel's; the first `&` alternative only for Pickup. The call
/// layer finds the ringing call; when there is none the dialplan goes on (Asterisk returns 0).
fn pickup(ex: &mut Execution, app: App, args: &str, loc: &Loc) -> Flow {
    use crate::dialplan::command::PickupTarget;
    let first = args.split('&').next().unwrap_or("").trim();
    let target = match app {
        App::PickupChan => {
            let names: Vec<String> = args
                .split(',')
                .next()
                .unwrap_or("")
                .split('&')
                .filter_map(|c| {
                    let c = c.trim();
                    let (tech, name) = c.split_once('/')?;
                    tech.eq_ignore_ascii_case("sip").then(|| name.to_string())
                })
                .collect();
            if names.is_empty() {
                log::warn!("{loc}: {}: PickupChan requires SIP/name", ex.here());
                return Flow::Next;
            }
            PickupTarget::Channel(names)
        }
        _ if first.is_empty() => PickupTarget::Group,
        _ => {
            let (exten, context) = match first.split_once('@') {
                Some((e, c)) => (e.to_string(), c.to_string()),
                None => (first.to_string(), ex.context.to_string()),
            };
            PickupTarget::Exten { exten, context }
        }
    };
    Flow::Cmd(
        Command::Pickup { target },
        State::AwaitDone { answers: false },
    )
}

/// ChanIsAvail(TECH/res[&TECH/res...][,options]) as app_chanisavail.c: `${AVAILCHAN}` the
/// first available target (`a`: all of them, `&`-joined), `${AVAILORIGCHAN}` the same as
/// written, `${AVAILSTATUS}` its device state number (or the last one checked), option `s`
/// counts a device in use as unavailable. sipbox names targets `SIP/peer`, not a channel
/// instance (`SIP/peer-0000002a`), since it creates no channel to probe.
fn chan_is_avail(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let targets = parse_targets(arg(0), loc);
    if targets.is_empty() {
        log::warn!("{loc}: {}: ChanIsAvail requires TECH/resource", ex.here());
        for v in ["AVAILCHAN", "AVAILORIGCHAN"] {
            ex.vars.insert(v.into(), String::new());
        }
        return Flow::Next;
    }
    let names = targets
        .iter()
        .map(|t| format!("{}/{}", t.tech, t.resource))
        .collect();
    Flow::Cmd(
        Command::ChanIsAvail { targets },
        State::AwaitAvail {
            targets: names,
            all: arg(1).contains('a'),
            in_use_busy: arg(1).contains('s'),
        },
    )
}

fn dial(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let targets = parse_targets(arg(0), loc);
    if targets.is_empty() {
        ex.vars.insert("DIALSTATUS".into(), "CHANUNAVAIL".into());
        return Flow::Next;
    }
    let mut options = DialOptions::default();
    let mut depth = 0;
    let mut music_class = String::new();
    let mut last = ' ';
    for c in arg(2).chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            // m(class): the class is the option's argument.
            _ if depth > 0 && last == 'm' => music_class.push(c),
            _ if depth > 0 => {}
            'm' => options.music = true,
            'r' => options.ringback = true,
            'g' => options.continue_on_callee_hangup = true,
            't' => options.callee_transfer = true,
            'T' => options.caller_transfer = true,
            other => log::debug!("{loc}: Dial option '{other}' ignored"),
        }
        if depth == 0 && c != ')' {
            last = c;
        }
    }
    let keep_going = options.continue_on_callee_hangup;
    Flow::Cmd(
        Command::Dial {
            targets,
            timeout: secs(arg(1)),
            options,
            callerid_name: ex.chan.callerid_name.to_string(),
            callerid_num: ex.chan.callerid_num.to_string(),
            music_class,
        },
        State::AwaitDial { keep_going },
    )
}

#[cfg(test)]
mod split_args_tests {
    use super::*;

    #[test]
    fn split_on_the_stack_is_split_collected() {
        let many = (0..20).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        for args in [
            "",
            ",",
            "a",
            "SIP/1002,30",
            "a,,b,",
            "1,2,3,4,5,6,7,8",
            "1,2,3,4,5,6,7,8,9",
            &many,
        ] {
            let mut inline = [""; INLINE_ARGS];
            let mut spill = Vec::new();
            let want: Vec<&str> = args.split(',').collect();
            assert_eq!(
                split_args(args, &mut inline, &mut spill),
                &want[..],
                "{args:?}"
            );
        }
    }
}
