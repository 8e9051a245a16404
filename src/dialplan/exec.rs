//! The runner: one [`Execution`] cursor per call, stepping through the dialplan.
//!
//! Reading list: Asterisk `main/pbx.c` (`__ast_pbx_run`, `collect_digits`, autofallthrough),
//! `apps/app_dial.c`, `apps/app_read.c`, `apps/app_stack.c` (Gosub/Return).
//!
//! # Contract with the call layer
//!
//! The runner does no I/O and reads no clock. [`Execution::step`] runs synchronous
//! applications (Set, NoOp, Goto, GotoIf, GotoIfTime, Gosub, Return, Verbose, Log, ...) until
//! one needs the call layer, and returns that [`Command`]. The call layer carries it out and
//! calls `step` again with what happened ([`Resume`]):
//!
//! | command | resume with |
//! | --- | --- |
//! | `Answer`, `Progress`, `Ringing`, `Wait`, `Playback{interrupt_digits: None}` | `Done` |
//! | `Playback{interrupt_digits: Some(..)}` (Background, Read prompts) | `Done`, or `Digit(c)` after stopping the playback |
//! | `WaitDigit{timeout}` (digit collection, WaitExten, Read) | `Digit(c)` or `TimedOut` |
//! | `Dial{..}` | `DialEnded{status, ..}`: `Answer` once the answered callee hung up |
//! | `Echo` | `Digit('#')` or `Done` to leave it |
//! | `Busy`, `Congestion`, `Hangup{..}`, `End{..}` | nothing: end the call, then [`Execution::hangup`] |
//! | `Keep` | nothing new: keep doing what the previous command asked |
//!
//! `Resume::HungUp` may come at any time (the caller hung up); it runs the `h` extension
//! and returns `End { cause: Cause::INTERWORKING }` (487 for an unanswered call, see
//! [`Cause`]). `hangup` runs `h` at most once. Events a command did not ask for (a digit during a plain Playback) are
//! ignored and answered with `Keep`.
//!
//! The call keeps its `Execution`; every event for the call goes through one function:
//!
//! ```ignore
//! // On INVITE: call.ex = Execution::new(&dp, &peer.context, &exten, chan); dispatch(call, Resume::Start)
//! // On 200 OK sent, playback end, DTMF, timer, Dial outcome: dispatch(call, the matching Resume)
//! fn dispatch(call: &mut Call, dp: &Dialplan, now: SystemTime, mut ev: Resume) {
//!     loop {
//!         match call.ex.step(dp, now, ev) {
//!             Command::Answer => { call.send_200_ok(); ev = Resume::Done; }   // or resume later
//!             Command::Dial { targets, timeout, .. } => { call.fork(targets, timeout); return; }
//!             Command::WaitDigit { timeout } => { call.arm_timer(now + timeout); return; }
//!             Command::Playback { files, interrupt_digits } => { call.play(files, interrupt_digits); return; }
//!             Command::Keep => return,
//!             Command::End { cause } => {
//!                 call.end(cause);                      // final response if unanswered, else BYE
//!                 call.ex.hangup(dp, now, call.cause);  // runs `h`
//!                 return;
//!             }
//!             other => { call.start(other); return; }   // Busy/Congestion/Hangup end the call too
//!         }
//!     }
//! }
//! ```
//!
//! A step runs at most [`STEP_BUDGET`] priorities: a `Goto` loop hangs up with a warning.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::apps;
use super::cause::Cause;
pub use super::command::{ChannelInfo, Command, DialOptions, DialStatus, DialTarget, Resume};
pub use super::cursor::Execution;
use super::cursor::{Flow, ReadState, State};
use super::functions::{self, Ctx};
use super::model::{Dialplan, Want};
use super::shared::{lock, Groups};
use super::time::epoch_secs;
use super::vars::{self, Scope};

/// Priorities one `step` (or the `h` run) may execute before the call is hung up.
pub const STEP_BUDGET: usize = 10_000;
/// Longest number collected from DTMF.
const MAX_DIGITS: usize = 255;

/// Variable lookups during substitution: built-ins, channel variables, then globals.
pub(crate) struct ExecScope<'a> {
    pub ex: &'a mut Execution,
    pub dp: &'a Dialplan,
}

impl Scope for ExecScope<'_> {
    fn var(&self, name: &str) -> Option<String> {
        builtin_var(self.ex, self.dp, name)
    }

    fn var_into(&self, name: &str, out: &mut String) {
        with_var(self.ex, self.dp, name, |v| {
            if let Some(v) = v {
                out.push_str(v);
            }
        });
    }

    fn function(&mut self, name: &str, args: &str) -> Option<String> {
        let mut cx = Ctx {
            ex: self.ex,
            dp: self.dp,
        };
        functions::read(&mut cx, name, args)
    }

    fn here(&self) -> String {
        format!("{}: ", self.ex.here())
    }
}

fn builtin_var(ex: &Execution, dp: &Dialplan, name: &str) -> Option<String> {
    with_var(ex, dp, name, |v| v.map(str::to_string))
}

/// Runs `f` on the value of variable `name` (None when unset): built-ins, channel
/// variables, run-time globals, then `[globals]`. Values are lent where they are stored,
/// so substitution copies each once, into its result.
fn with_var<R>(ex: &Execution, dp: &Dialplan, name: &str, f: impl FnOnce(Option<&str>) -> R) -> R {
    let made: String;
    let v: &str = match name {
        "EXTEN" => &ex.exten,
        "CONTEXT" => &ex.context,
        "PRIORITY" => {
            made = ex.prio.to_string();
            &made
        }
        "UNIQUEID" => &ex.chan.unique_id,
        "SIPCALLID" => &ex.chan.sip_call_id,
        "EPOCH" => {
            made = epoch_secs(ex.now).to_string();
            &made
        }
        "CALLERIDNUM" => &ex.chan.callerid_num,
        "CALLERIDNAME" => &ex.chan.callerid_name,
        "CHANNEL" => {
            made = ex.channel_name();
            &made
        }
        "LANGUAGE" => &ex.language,
        _ => {
            if let Some(v) = ex
                .vars
                .get(name)
                .map(String::as_str)
                .or(ex.hidden_var(name))
            {
                return f(Some(v));
            }
            let shared = lock(&dp.shared);
            return match shared.globals.get(name) {
                Some(v) => f(Some(v)),
                None => f(dp.globals.get(name).map(String::as_str)),
            };
        }
    };
    f(Some(v))
}

/// splitmix64: a small generator for `RAND()`, seeded per call (no OS entropy in the core).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, to turn the call's ids into a seed.
fn fnv(bytes: &[u8]) -> u64 {
    fnv_on(0xcbf2_9ce4_8422_2325, bytes)
}

/// FNV-1a from state `h`: `fnv_on(fnv(a), b) == fnv(a ++ b)`.
fn fnv_on(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Execution {
    /// A cursor for a call entering `context` at `exten` (an empty number means `s`).
    pub fn new(dp: &Dialplan, context: &str, exten: &str, chan: ChannelInfo) -> Execution {
        Execution::in_context(dp, context.to_string(), exten, chan)
    }

    /// [`Execution::new`] keeping a context name the caller has no more use for (no copy).
    pub fn in_context(dp: &Dialplan, context: String, exten: &str, chan: ChannelInfo) -> Execution {
        // Inline strings: a context or extension name is short, so a new call's cursor
        // costs no allocation for them.
        let exten = compact_str::CompactString::from(if exten.is_empty() { "s" } else { exten });
        // RAND() needs no secrecy: the Call-ID (random from the caller) and our unique id
        // make each call's sequence its own.
        // (Hashed part by part: the same value as hashing `call-id NUL unique-id` joined.)
        let rng = fnv_on(
            fnv_on(fnv(chan.sip_call_id.as_bytes()), b"\0"),
            chan.unique_id.as_bytes(),
        );
        // Room for the variables a call sets as it goes (DIALSTATUS, HANGUPCAUSE, ...)
        // without regrowing the table.
        let vars = HashMap::with_capacity_and_hasher(7, dp.keyed());
        let dnid = exten.clone();
        let ani = chan.callerid_num.as_str().into();
        Execution {
            context: context.into(),
            exten,
            prio: 1,
            vars,
            dnid,
            ani,
            chan,
            now: SystemTime::UNIX_EPOCH,
            stack: Vec::new(),
            state: State::Start,
            answered: false,
            digit_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(10),
            h_done: false,
            shared: dp.shared.clone(),
            groups: Groups::new(dp.shared.clone()),
            rng,
            absolute_deadline: None,
            loops: Vec::new(),
            language: "en".into(),
            allow_overlap: false,
            musicclass: String::new(),
            cdr: Default::default(),
            inheritable: HashMap::new(),
            agi: None,
            shell: Default::default(),
            pin_failures: Vec::new(),
        }
    }

    /// The variables a channel this one dials inherits, with their level there: `__NAME`
    /// stays inheritable (2), `_NAME` arrives as a plain variable (0), as Asterisk's
    /// `ast_channel_inherit_variables` does.
    pub fn inherited(&self) -> Vec<(String, String, u8)> {
        self.inheritable
            .iter()
            .filter_map(|(name, &level)| {
                let value = self.vars.get(name)?;
                Some((name.clone(), value.clone(), if level >= 2 { 2 } else { 0 }))
            })
            .collect()
    }

    /// Takes variables a dialling channel passed on ([`Execution::inherited`]).
    pub fn inherit(&mut self, vars: Vec<(String, String, u8)>) {
        for (name, value, level) in vars {
            if level > 0 {
                self.inheritable.insert(name.clone(), level);
            }
            self.vars.insert(name, value);
        }
    }

    /// `CHANNEL(musicclass)` (empty unless set).
    pub fn music_class(&self) -> &str {
        &self.musicclass
    }

    /// A channel variable (built-ins like `EXTEN` and functions like `CALLERID(num)`
    /// included). Globals written at run time are seen; `[globals]` are not (no dialplan
    /// here).
    pub fn var(&self, name: &str) -> Option<String> {
        let dp = Dialplan::detached(&self.shared);
        match name.find('(') {
            Some(open) => {
                // Functions may change the call (INC, RAND): they run on a copy.
                let mut copy = self.clone();
                let mut cx = Ctx {
                    ex: &mut copy,
                    dp: &dp,
                };
                functions::read(
                    &mut cx,
                    &name[..open].to_ascii_uppercase(),
                    name[open + 1..].trim_end_matches(')'),
                )
            }
            None => builtin_var(self, &dp, name),
        }
    }

    /// `CALLERID(pres)`, borrowed: what `var("CALLERID(pres)")` answers without cloning the
    /// execution to run a function (every forked INVITE reads it).
    pub fn callerid_pres(&self) -> &str {
        self.vars
            .get(super::functions::channel::CID_NUM_PRES)
            .map_or(super::functions::channel::PRES[0], String::as_str)
    }

    /// Sets a channel variable (or `CALLERID(num)`, `CALLERID(name)`, `TIMEOUT(digit)`).
    pub fn set_var(&mut self, name: &str, value: &str) {
        let dp = Dialplan::detached(&self.shared);
        apps::set_variable(self, &dp, name, value);
    }

    /// The Asterisk channel name, `SIP/peer-0000000n` (the number from the unique id).
    pub fn channel_name(&self) -> String {
        match &self.chan.name {
            Some(name) => name.to_string(),
            None => self.channel_name_text().into(),
        }
    }

    /// [`Execution::channel_name`] as an inline string (no allocation for names up to 24
    /// bytes: a call record takes it).
    pub fn channel_name_text(&self) -> compact_str::CompactString {
        if let Some(name) = &self.chan.name {
            return name.as_str().into();
        }
        let seq = self
            .chan
            .unique_id
            .rsplit('.')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        sip_channel_name(&self.chan.peer, seq)
    }

    /// pbx.c's line when an application ends the call (Hangup, Busy, the caller leaving a
    /// Dial): `== Spawn extension (internal, 600, 2) exited non-zero on 'SIP/1001-00000001'`.
    fn spawn_exited(&self) {
        if matches!(self.state, State::Ended(_)) || self.h_done {
            return;
        }
        crate::verbose!(
            2,
            "Spawn extension ({}, {}, {}) exited non-zero on '{}'",
            self.context,
            self.exten,
            self.prio,
            self.channel_name()
        );
    }

    /// The application running (or last run) and its data, as `core show channels` shows
    /// them.
    pub fn application(&self) -> (&str, &str) {
        // Every application `run` starts is the CDR's last one (`h` sets neither).
        self.cdr
            .last
            .as_ref()
            .map_or(("", ""), |m| (m.app.as_str(), m.data.as_str()))
    }

    /// The caller number (`${CALLERID(num)}`).
    pub fn callerid_num(&self) -> &str {
        &self.chan.callerid_num
    }

    /// `${UNIQUEID}`.
    pub fn unique_id(&self) -> &str {
        &self.chan.unique_id
    }

    /// The next `RAND()` draw.
    pub(crate) fn next_rand(&mut self) -> u64 {
        splitmix(&mut self.rng)
    }

    /// Where the cursor is: context, extension, priority.
    pub fn position(&self) -> (&str, &str, u32) {
        (&self.context, &self.exten, self.prio)
    }

    /// Whether the runner has answered the call (Answer, auto-answer, answered Dial).
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// The extension and context the cursor is in.
    pub fn position_names(&self) -> (&str, &str) {
        (&self.exten, &self.context)
    }

    /// `${UNIQUEID}`.
    pub fn chan_unique_id(&self) -> String {
        self.chan.unique_id.to_string()
    }

    /// The caller ID as currently set (name, number).
    pub fn callerid(&self) -> (&str, &str) {
        (&self.chan.callerid_name, &self.chan.callerid_num)
    }

    /// Substitutes `text` as the arguments of the current priority.
    pub(crate) fn expand_mut(&mut self, dp: &Dialplan, text: &str) -> String {
        vars::substitute(text, &mut ExecScope { ex: self, dp })
    }

    /// Advances the call: see the module docs for which `resume` answers which command.
    pub fn step(&mut self, dp: &Dialplan, now: SystemTime, resume: Resume) -> Command {
        self.now = now;
        self.cdr.started_at.get_or_insert(now);
        if let Resume::HungUp { cause } = resume {
            self.hangup(dp, now, cause);
            return Command::End {
                cause: Cause::INTERWORKING,
            };
        }
        if super::agi::stash(self, &resume) {
            return Command::Keep;
        }
        if let Resume::Digits(ds) = resume {
            let mut last = Command::Keep;
            for c in ds.chars() {
                last = self.step(dp, now, Resume::Digit(c));
                if !matches!(last, Command::WaitDigit { .. } | Command::Keep) {
                    break;
                }
            }
            return last;
        }
        let state = std::mem::replace(&mut self.state, State::Ended(Cause::NORMAL_CLEARING));
        if let Some(cmd) = apps::park::resume(self, dp, &state, &resume) {
            return cmd;
        }
        if let Some(cmd) = apps::queue::resume(self, dp, &state, &resume) {
            return cmd;
        }
        match (state, resume) {
            (State::Start, _) => self.start(dp),
            (State::Ended(cause), _) => {
                self.state = State::Ended(cause);
                Command::End { cause }
            }
            (State::AwaitDone { answers }, Resume::Done | Resume::TimedOut) => {
                self.answered |= answers;
                self.next(dp)
            }
            (State::AnswerThen(held), Resume::Done) => {
                self.answered = true;
                let (cmd, st) = *held;
                self.state = st;
                cmd
            }
            (State::AwaitDial { keep_going }, Resume::DialEnded { status, cause }) => {
                self.vars
                    .insert("DIALSTATUS".into(), status.as_str().into());
                if let Some(c) = cause {
                    self.vars.insert("HANGUPCAUSE".into(), c.to_string());
                }
                if status == DialStatus::Answer {
                    self.answered = true;
                    if !keep_going {
                        return self.end(Cause::NORMAL_CLEARING);
                    }
                }
                self.next(dp)
            }
            (State::Background, Resume::Done) => self.next(dp),
            (State::Background | State::WaitExten, Resume::Digit(c)) => {
                self.collect(dp, c.to_string())
            }
            (State::Collect(mut buf), Resume::Digit(c)) => {
                buf.push(c);
                self.collect(dp, buf)
            }
            (State::Collect(buf), Resume::TimedOut) => self.dialled(dp, &buf),
            (State::WaitExten, Resume::TimedOut) => self.special(dp, "t", Cause::NO_ANSWER),
            (State::Read(rs), r @ (Resume::Done | Resume::Digit(_) | Resume::TimedOut)) => {
                self.read(dp, *rs, r)
            }
            (State::Echo, Resume::Done | Resume::Digit('#')) => self.next(dp),
            (
                State::AwaitAvail {
                    targets,
                    all,
                    in_use_busy,
                },
                Resume::Availability { states },
            ) => {
                let ok = |s: u8| s == 1 || (s == 2 && !in_use_busy);
                let found: Vec<(&String, u8)> = targets
                    .iter()
                    .zip(states.iter().copied())
                    .filter(|(_, s)| ok(*s))
                    .take(if all { usize::MAX } else { 1 })
                    .collect();
                let chans = found
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join("&");
                let status = found
                    .first()
                    .map(|(_, s)| *s)
                    .or(states.last().copied())
                    .unwrap_or(4);
                self.vars.insert("AVAILCHAN".into(), chans.clone());
                self.vars.insert("AVAILORIGCHAN".into(), chans);
                self.vars.insert("AVAILSTATUS".into(), status.to_string());
                self.vars.insert("AVAILCAUSECODE".into(), "0".into());
                self.next(dp)
            }
            (State::BeepThenRecord(rec), Resume::Done) => {
                self.state = State::AwaitRecord;
                *rec
            }
            (State::AwaitRecord, Resume::Recorded { status, .. }) => {
                self.vars.insert("RECORD_STATUS".into(), status.into());
                self.next(dp)
            }
            (State::AwaitMessageSend, Resume::MessageSent { status }) => {
                self.vars
                    .insert("MESSAGE_SEND_STATUS".into(), status.into());
                self.next(dp)
            }
            (State::AwaitShell(command), Resume::ShellDone { output }) => {
                self.shell.done.push((command, output.unwrap_or_default()));
                self.run(dp)
            }
            (State::AwaitSystem { try_ }, Resume::SystemDone { exit }) => {
                match apps::system::finish(self, exit, try_) {
                    Flow::Cmd(cmd, st) => {
                        self.state = st;
                        cmd
                    }
                    _ => self.next(dp),
                }
            }
            (State::Agi, r) => super::agi::resume(self, dp, r),
            (State::Privacy(mut p), r) => match p.resume(self, dp, r) {
                apps::privacy::Step::Cmd(cmd) => {
                    self.state = State::Privacy(p);
                    cmd
                }
                apps::privacy::Step::Next => self.next(dp),
                apps::privacy::Step::Keep => {
                    self.state = State::Privacy(p);
                    Command::Keep
                }
            },
            (State::Conference(mut session), r) => match session.resume(self, dp, r) {
                apps::ConfStep::Cmd(cmd) => {
                    self.state = State::Conference(session);
                    cmd
                }
                apps::ConfStep::Next => self.next(dp),
                apps::ConfStep::Hangup => self.end(Cause::NORMAL_CLEARING),
                apps::ConfStep::Keep => {
                    self.state = State::Conference(session);
                    Command::Keep
                }
            },
            (State::Voicemail(mut session), r) => match session.resume(self, dp, r) {
                apps::voicemail::Step::Cmd(cmd) => {
                    self.state = State::Voicemail(session);
                    cmd
                }
                apps::voicemail::Step::Next => self.next(dp),
                apps::voicemail::Step::Exten(name) => {
                    if dp
                        .find(
                            &self.context,
                            name,
                            &self.chan.callerid_num,
                            Want::Prio(1),
                            self.now,
                        )
                        .is_some()
                    {
                        self.exten = name.into();
                        self.prio = 1;
                        self.run(dp)
                    } else {
                        self.next(dp)
                    }
                }
                apps::voicemail::Step::Ended => self.end(Cause::NORMAL_CLEARING),
            },
            (st, _) => {
                self.state = st;
                Command::Keep
            }
        }
    }

    fn start(&mut self, dp: &Dialplan) -> Command {
        let cid = &self.chan.callerid_num;
        if dp
            .find(&self.context, &self.exten, cid, Want::Prio(1), self.now)
            .is_none()
        {
            log::info!(
                "no extension '{}' in context '{}'",
                self.exten,
                self.context
            );
            // The call never entered the dialplan: no `h` (chan_sip answers 404 before it
            // starts a PBX on the channel, 484 with allowoverlap when more digits could
            // match: `get_destination`'s SIP_GET_DEST_EXTEN_MATCHMORE).
            self.h_done = true;
            let more = dp
                .fit(
                    &self.context,
                    &self.exten,
                    &self.chan.callerid_num,
                    self.now,
                )
                .1;
            if self.allow_overlap && more {
                log::info!(
                    "extension '{}' in context '{}' is incomplete: 484 (allowoverlap)",
                    self.exten,
                    self.context
                );
                return self.end(Cause::INVALID_NUMBER_FORMAT);
            }
            return self.end(Cause::UNALLOCATED);
        }
        self.run(dp)
    }

    pub(crate) fn end(&mut self, cause: Cause) -> Command {
        self.spawn_exited();
        self.state = State::Ended(cause);
        Command::End { cause }
    }

    pub(crate) fn next(&mut self, dp: &Dialplan) -> Command {
        if let Some(cmd) = super::agi::exec_done(self) {
            return cmd;
        }
        self.prio = self.prio.saturating_add(1);
        self.run(dp)
    }

    /// Whether an AGI session runs (the call keeps its transport open while it does).
    pub fn agi_active(&self) -> bool {
        self.agi.is_some()
    }

    /// Goes on with the next priority (the AGI session has ended).
    pub(crate) fn next_priority(&mut self, dp: &Dialplan) -> Command {
        self.next(dp)
    }

    /// A variable, or a function when `name` ends with `)` (AGI's GET VARIABLE); None when
    /// unset.
    pub(crate) fn lookup(&mut self, dp: &Dialplan, name: &str) -> Option<String> {
        let name = name.trim();
        if let (Some(open), true) = (name.find('('), name.ends_with(')')) {
            let mut cx = Ctx { ex: self, dp };
            return functions::read(
                &mut cx,
                &name[..open].to_ascii_uppercase(),
                &name[open + 1..name.len() - 1],
            );
        }
        builtin_var(self, dp, name)
    }

    /// Jumps to `exten`,1 in the current context, or the special extension `name` if that
    /// does not exist (Asterisk's invalid/timeout handling); ends with `cause` otherwise.
    fn special(&mut self, dp: &Dialplan, name: &str, cause: Cause) -> Command {
        if dp
            .find(
                &self.context,
                name,
                &self.chan.callerid_num,
                Want::Prio(1),
                self.now,
            )
            .is_some()
        {
            self.exten = name.into();
            self.prio = 1;
            self.run(dp)
        } else {
            log::info!(
                "no '{name}' extension in context '{}': hanging up",
                self.context
            );
            self.end(cause)
        }
    }

    fn dialled(&mut self, dp: &Dialplan, buf: &str) -> Command {
        if dp
            .find(
                &self.context,
                buf,
                &self.chan.callerid_num,
                Want::Prio(1),
                self.now,
            )
            .is_some()
        {
            self.exten = buf.into();
            self.prio = 1;
            self.run(dp)
        } else {
            self.vars.insert("INVALID_EXTEN".into(), buf.into());
            self.special(dp, "i", Cause::UNALLOCATED)
        }
    }

    fn collect(&mut self, dp: &Dialplan, buf: String) -> Command {
        let (_, more) = dp.fit(&self.context, &buf, &self.chan.callerid_num, self.now);
        if !more || buf.len() >= MAX_DIGITS {
            return self.dialled(dp, &buf);
        }
        self.state = State::Collect(buf);
        Command::WaitDigit {
            timeout: self.digit_timeout,
        }
    }

    fn read(&mut self, dp: &Dialplan, mut rs: ReadState, r: Resume) -> Command {
        let finish = |ex: &mut Execution, rs: ReadState, status: &str| {
            if rs.auth.is_some() {
                return ex.authenticated(rs);
            }
            ex.vars.insert(rs.var.clone(), rs.buf);
            ex.vars.insert("READSTATUS".into(), status.into());
            ex.next(dp)
        };
        match r {
            Resume::Digit('#') => return finish(self, rs, "OK"),
            Resume::Digit(c) => {
                rs.buf.push(c);
                if (rs.max > 0 && rs.buf.chars().count() >= rs.max) || rs.buf.len() >= MAX_DIGITS {
                    return finish(self, rs, "OK");
                }
            }
            Resume::TimedOut if !rs.prompting => {
                if !rs.buf.is_empty() {
                    return finish(self, rs, "OK");
                }
                rs.attempts_left = rs.attempts_left.saturating_sub(1);
                if rs.attempts_left == 0 {
                    return finish(self, rs, "TIMEOUT");
                }
                if !rs.prompt.is_empty() {
                    rs.prompting = true;
                    let files = rs.prompt.clone();
                    self.state = State::Read(Box::new(rs));
                    return Command::Playback {
                        files,
                        interrupt_digits: Some(apps::ALL_DIGITS.into()),
                    };
                }
            }
            _ => {}
        }
        rs.prompting = false;
        let timeout = rs.timeout;
        self.state = State::Read(Box::new(rs));
        Command::WaitDigit { timeout }
    }

    /// Authenticate() has the caller's digits: thank and go on, or say so and try again, or
    /// after the last try say goodbye and hang up.
    fn authenticated(&mut self, mut rs: ReadState) -> Command {
        let Some((password, tries)) = rs.auth.take() else {
            return Command::Keep;
        };
        let play = |files: Vec<String>| Command::Playback {
            files,
            interrupt_digits: None,
        };
        if rs.buf == password {
            // After the thank-you, AwaitDone moves on to the next priority.
            self.state = State::AwaitDone { answers: false };
            return play(vec!["auth-thankyou".into()]);
        }
        log::info!("Authenticate: wrong password ({} tries left)", tries - 1);
        let account = self.chan.peer.clone();
        self.pin_failed("Authenticate", account.to_string());
        if tries <= 1 {
            self.state = State::Ended(Cause::NORMAL_CLEARING);
            return play(vec!["vm-goodbye".into()]);
        }
        let mut files = vec!["auth-incorrect".to_string()];
        files.extend(rs.prompt.iter().cloned());
        rs.auth = Some((password, tries - 1));
        rs.buf.clear();
        rs.prompting = true;
        rs.attempts_left = 1;
        self.state = State::Read(Box::new(rs));
        Command::Playback {
            files,
            interrupt_digits: Some(apps::ALL_DIGITS.into()),
        }
    }

    /// Runs priorities from the cursor until an application needs the call layer.
    pub(crate) fn run(&mut self, dp: &Dialplan) -> Command {
        for _ in 0..STEP_BUDGET {
            if let Some(cmd) = self.absolute_timeout(dp) {
                return cmd;
            }
            apps::macros::left_by_goto(self);
            let Some(found) = dp.find(
                &self.context,
                &self.exten,
                &self.chan.callerid_num,
                Want::Prio(self.prio),
                self.now,
            ) else {
                if apps::macros::leave(self, dp) {
                    continue;
                }
                return self.fell_off(dp);
            };
            let Some(p) = found.ext.prios.get(&found.prio) else {
                return self.end(Cause::FAILURE);
            };
            self.shell.wanted = None;
            let args = self.expand_mut(dp, &p.args);
            if let Some(command) = self.shell.wanted.take() {
                // SHELL(): wait for its output, then substitute this priority again.
                self.state = State::AwaitShell(command.clone());
                return Command::Shell { command };
            }
            self.shell.done.clear();
            // pbx.c's line, word for word: scripts and admins grep for it.
            crate::verbose!(
                3,
                "Executing [{}@{}:{}] {}(\"{}\", \"{}\") in new stack",
                self.exten,
                self.context,
                self.prio,
                p.app,
                self.channel_name(),
                args
            );
            let now = self.now;
            // The CDR's last application is also what `core show channels` shows: one
            // shared mark holds the arguments, no copies.
            let mark = self.cdr.ran(&p.app, args, &self.context, &self.exten, now);
            match apps::run(self, dp, &p.app, &mark.data, &p.loc) {
                Flow::Next => self.prio = self.prio.saturating_add(1),
                Flow::Jumped => {}
                Flow::Cmd(cmd, st) => {
                    self.state = st;
                    return cmd;
                }
            }
        }
        log::warn!(
            "dialplan ran {STEP_BUDGET} priorities without waiting (a Goto loop?) at {}@{}: hanging up",
            self.exten,
            self.context
        );
        self.end(Cause::FAILURE)
    }

    /// `TIMEOUT(absolute)` passed: to the `T` extension if the context has one (once), else
    /// hang up, as Asterisk's soft hang-up for the absolute timeout does. Checked when the
    /// dialplan runs: a Dial or Playback in progress is not cut short.
    fn absolute_timeout(&mut self, dp: &Dialplan) -> Option<Command> {
        let at = self.absolute_deadline?;
        if self.now < at {
            return None;
        }
        self.absolute_deadline = None;
        log::info!("{}: absolute timeout reached", self.here());
        if dp
            .find(
                &self.context,
                "T",
                &self.chan.callerid_num,
                Want::Prio(1),
                self.now,
            )
            .is_some()
        {
            self.exten = "T".into();
            self.prio = 1;
            return None;
        }
        Some(self.end(Cause::NORMAL_CLEARING))
    }

    fn fell_off(&mut self, dp: &Dialplan) -> Command {
        if dp
            .find(
                &self.context,
                &self.exten,
                &self.chan.callerid_num,
                Want::Prio(1),
                self.now,
            )
            .is_none()
        {
            let bad = self.exten.clone();
            if bad == "i" {
                return self.end(Cause::UNALLOCATED);
            }
            log::info!("channel sent to invalid extension {bad}@{}", self.context);
            self.vars.insert("INVALID_EXTEN".into(), bad.to_string());
            return self.special(dp, "i", Cause::UNALLOCATED);
        }
        if !dp.autofallthrough {
            self.state = State::WaitExten;
            return Command::WaitDigit {
                timeout: self.response_timeout,
            };
        }
        let status = self.vars.get("DIALSTATUS").map(String::as_str);
        let cause = match status {
            Some("BUSY") => Cause::USER_BUSY,
            Some("CONGESTION") => Cause::CONGESTION,
            _ => Cause::NORMAL_CLEARING,
        };
        crate::verbose!(
            2,
            "Auto fallthrough, channel '{}' status is '{}'",
            self.channel_name(),
            status.unwrap_or("UNKNOWN")
        );
        // Falling off the end is not an application failing: no "exited non-zero".
        self.state = State::Ended(cause);
        Command::End { cause }
    }

    /// The call is over (`cause` for `${HANGUPCAUSE}`): runs the `h` extension of the
    /// current context once, synchronous applications only. Safe to call more than once.
    pub fn hangup(&mut self, dp: &Dialplan, now: SystemTime, cause: Option<Cause>) {
        self.now = now;
        if let Some(c) = cause {
            self.vars.insert("HANGUPCAUSE".into(), c.to_string());
        }
        if let State::Voicemail(session) = &mut self.state {
            session.close(dp);
        }
        super::agi::hung_up(self);
        if !matches!(self.state, State::Ended(_)) {
            // The channel hung up while an application ran (the caller left during Dial).
            self.spawn_exited();
            self.state = State::Ended(Cause::INTERWORKING);
        }
        if self.h_done {
            return;
        }
        self.h_done = true;
        apps::macros::unwind_for_hangup(self);
        if dp
            .find(
                &self.context,
                "h",
                &self.chan.callerid_num,
                Want::Prio(1),
                now,
            )
            .is_none()
        {
            return;
        }
        // The caller number as `h` began: what its lookups match, whatever it sets.
        let cid = self.chan.callerid_num.clone();
        self.exten = "h".into();
        self.prio = 1;
        for _ in 0..STEP_BUDGET {
            // `exten => h,1,Macro(hangupcall)` (FreePBX): macros run to their end here too.
            apps::macros::left_by_goto(self);
            let Some(found) = dp.find(&self.context, &self.exten, &cid, Want::Prio(self.prio), now)
            else {
                if apps::macros::leave(self, dp) {
                    continue;
                }
                return;
            };
            let Some(p) = found.ext.prios.get(&found.prio) else {
                return;
            };
            let args = self.expand_mut(dp, &p.args);
            if let Some(cmd) = self.shell.wanted.take() {
                log::warn!(
                    "{}: SHELL({cmd}) cannot wait on a hung-up channel: empty",
                    self.here()
                );
            }
            self.shell.done.clear();
            match apps::run(self, dp, &p.app, &args, &p.loc) {
                Flow::Next => self.prio = self.prio.saturating_add(1),
                Flow::Jumped => {}
                Flow::Cmd(..) => break,
            }
        }
        if !matches!(self.state, State::Ended(_)) {
            self.state = State::Ended(Cause::INTERWORKING);
        }
    }
}

/// `SIP/who-0000000n`, the way chan_sip names its channels ("unknown" for no peer), printed
/// without `core::fmt` (every new call and its records name the channel) into an inline
/// string (no allocation up to 24 bytes).
pub fn sip_channel_name(who: &str, seq: u32) -> compact_str::CompactString {
    let who = if who.is_empty() { "unknown" } else { who };
    // The 8 hex digits as one slice: a CompactString takes chars one copy at a time.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 8];
    for (i, d) in digits.iter_mut().enumerate() {
        *d = HEX[((seq >> (28 - 4 * i)) & 0xf) as usize];
    }
    let mut name = compact_str::CompactString::with_capacity(who.len() + 13);
    name.push_str("SIP/");
    name.push_str(who);
    name.push('-');
    name.push_str(std::str::from_utf8(&digits).unwrap_or("00000000"));
    name
}

#[cfg(test)]
mod fnv_tests {
    use super::*;

    #[test]
    fn hashing_by_parts_is_hashing_the_joined_text() {
        for (a, b) in [("", ""), ("abc@h", "1700000000.7"), ("x", "")] {
            let joined = format!("{a}\0{b}");
            assert_eq!(
                fnv_on(fnv_on(fnv(a.as_bytes()), b"\0"), b.as_bytes()),
                fnv(joined.as_bytes())
            );
        }
    }
}

#[cfg(test)]
mod var_tests {
    use super::*;

    /// Substitution's borrowed lookup answers what the copying one does, for built-ins,
    /// channel variables, run-time globals, `[globals]` and unset names.
    #[test]
    fn lent_values_are_the_copied_ones() {
        let mut dp = Dialplan::default();
        dp.globals.insert("G".into(), "from-file".into());
        dp.globals.insert("BOTH".into(), "file".into());
        lock(&dp.shared)
            .globals
            .insert("BOTH".into(), "run-time".into());
        let chan = ChannelInfo {
            callerid_num: "1001".into(),
            callerid_name: "Alice".into(),
            sip_call_id: "abc@h".into(),
            unique_id: "1700000000.7".into(),
            peer: "1001".into(),
            ..Default::default()
        };
        let mut ex = Execution::new(&dp, "internal", "1002", chan);
        ex.vars.insert("V".into(), "chan".into());
        ex.vars.insert("EMPTY".into(), String::new());
        let names = [
            "EXTEN",
            "CONTEXT",
            "PRIORITY",
            "UNIQUEID",
            "SIPCALLID",
            "EPOCH",
            "CALLERIDNUM",
            "CALLERIDNAME",
            "CHANNEL",
            "LANGUAGE",
            "V",
            "EMPTY",
            "G",
            "BOTH",
            "UNSET",
        ];
        let scope = ExecScope {
            ex: &mut ex,
            dp: &dp,
        };
        for name in names {
            let mut lent = String::from("<");
            scope.var_into(name, &mut lent);
            let copied = format!("<{}", scope.var(name).unwrap_or_default());
            assert_eq!(lent, copied, "{name}");
        }
        assert_eq!(scope.var("BOTH").as_deref(), Some("run-time"));
        assert_eq!(scope.var("~CALLERID~dnid").as_deref(), Some("1002"));
        assert_eq!(
            vars::substitute(
                "SIP/${EXTEN},30 ${V}${UNSET}${G}",
                &mut ExecScope {
                    ex: &mut ex,
                    dp: &dp
                }
            ),
            "SIP/1002,30 chanfrom-file"
        );
    }

    /// CALLERID(dnid) and CALLERID(ani) live outside the variable table and answer as the
    /// hidden variables they were: the number and caller as the call arrived, then what
    /// was set.
    #[test]
    fn dnid_and_ani_start_as_the_call_arrived() {
        let dp = Dialplan::default();
        let chan = ChannelInfo {
            callerid_num: "1001".into(),
            ..Default::default()
        };
        let mut ex = Execution::new(&dp, "internal", "1002", chan);
        ex.set_var("CALLERID(num)", "999");
        assert_eq!(ex.var("CALLERID(dnid)").as_deref(), Some("1002"));
        assert_eq!(ex.var("CALLERID(ani)").as_deref(), Some("1001"));
        ex.set_var("CALLERID(dnid)", " 555 ");
        ex.set_var("~CALLERID~ani", "777");
        assert_eq!(ex.var("CALLERID(dnid)").as_deref(), Some("555"));
        assert_eq!(ex.var("CALLERID(ani)").as_deref(), Some("777"));
        assert_eq!(ex.var("~CALLERID~dnid").as_deref(), Some("555"));
        assert!(ex.vars.is_empty(), "{:?}", ex.vars);
    }
}
