//! The runner's state: the [`Execution`] cursor of one call, where it waits ([`State`]), and
//! what running one priority did ([`Flow`]). Both the runner (`exec`) and the applications
//! (`apps`) use these; neither owns them, so the two import only downwards (`exec` → `apps` →
//! `cursor`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::cause::Cause;
use super::command::{ChannelInfo, Command};

/// Where the runner waits, and what the next resume means.
#[derive(Debug, Clone)]
pub(crate) enum State {
    Start,
    /// Done → next priority; `answers` marks the call answered.
    AwaitDone {
        answers: bool,
    },
    /// Answer first, then issue the held command in the held state.
    AnswerThen(Box<(Command, State)>),
    AwaitDial {
        keep_going: bool,
    },
    /// Background playing: Done → next; a digit starts collecting.
    Background,
    /// Collecting an extension number from DTMF.
    Collect(String),
    /// WaitExten: a digit starts collecting, a timeout goes to `t`.
    WaitExten,
    Read(Box<ReadState>),
    Echo,
    /// Record(): the beep is playing, the recording follows.
    BeepThenRecord(Box<Command>),
    /// Record() recording.
    AwaitRecord,
    /// ChanIsAvail() asked the call layer.
    AwaitAvail {
        targets: Vec<String>,
        all: bool,
        in_use_busy: bool,
    },
    /// MessageSend() handed to the engine.
    AwaitMessageSend,
    /// A SHELL() in this priority's arguments runs; the priority is substituted again when
    /// its output is in.
    AwaitShell(String),
    /// System() or TrySystem() running.
    AwaitSystem {
        try_: bool,
    },
    /// Park() asked the call layer for a position.
    AwaitPark {
        silence: bool,
    },
    /// Parked: the position is being announced; the music follows.
    ParkAnnounce {
        class: String,
    },
    /// Parked: music until retrieved (the call layer bridges) or timed out.
    Parked,
    /// The comeback Dial of a timed-out parked call (hang up after it).
    ParkComebackDial,
    /// ParkedCall() asked the call layer.
    AwaitRetrieve,
    /// ParkedCall() found nothing: `pbx-invalidpark` plays, then hang up.
    InvalidPark,
    /// Queue(): the call layer waits in the queue; `keep_going` is the `c` option.
    AwaitQueue {
        keep_going: bool,
    },
    /// An AGI script drives the channel (the session is `Execution::agi`).
    Agi,
    /// PrivacyManager() asking for a number.
    Privacy(Box<super::apps::privacy::Privacy>),
    /// ConfBridge(), MeetMe() (its prompts, then in the conference) or Page()'s caller.
    Conference(Box<super::apps::ConfSession>),
    /// VoiceMail() or VoiceMailMain() in progress.
    Voicemail(Box<super::apps::voicemail::Session>),
    /// Over: every later resume repeats `End` with this cause.
    Ended(Cause),
}

/// Progress of a `Read()`.
#[derive(Debug, Clone)]
pub(crate) struct ReadState {
    pub var: String,
    pub prompt: Vec<String>,
    pub max: usize,
    pub timeout: Duration,
    pub attempts_left: u32,
    pub buf: String,
    pub prompting: bool,
    /// Authenticate(): the password the digits must equal, and the tries left.
    pub auth: Option<(String, u32)>,
}

/// A Gosub or Macro return address with the `ARGn` values it hid.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub context: compact_str::CompactString,
    pub exten: compact_str::CompactString,
    pub prio: u32,
    pub saved_args: Vec<(String, String)>,
    /// `LOCAL(name)` variables: the value each had before the subroutine set it.
    pub saved_locals: Vec<(String, Option<String>)>,
    /// Set for a Macro frame: how to leave it.
    pub macro_: Option<MacroFrame>,
}

/// What a `Macro()` call must restore when the macro ends (app_macro.c).
#[derive(Debug, Clone)]
pub(crate) struct MacroFrame {
    /// `macro-NAME`: leaving it by a Goto ends the macro where the Goto went.
    pub context: String,
    /// `MACRO_EXTEN`, `MACRO_CONTEXT`, `MACRO_PRIORITY`, `MACRO_OFFSET`, `MACRO_DEPTH` as
    /// they were before.
    pub saved_vars: Vec<(String, Option<String>)>,
}

/// An active `While()`: where it is, to come back to at `EndWhile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loop {
    pub context: String,
    pub exten: String,
    pub prio: u32,
}

/// The execution cursor of one call.
#[derive(Debug, Clone)]
pub struct Execution {
    pub(crate) context: compact_str::CompactString,
    pub(crate) exten: compact_str::CompactString,
    pub(crate) prio: u32,
    /// Channel variables, hashed with the dialplan's key (SipHash cost more than the rest
    /// of a lookup; a name may come from a caller, `Set(${SIP_HEADER(..)}=..)`).
    pub(crate) vars: HashMap<String, String, crate::hash::KeyedState>,
    /// `CALLERID(dnid)` and `CALLERID(ani)` (the number dialled and the caller number as
    /// the call arrived): kept here, not as hidden entries of `vars`, so a new call does
    /// not allocate their names. Read and written under their hidden names too
    /// ([`Execution::hidden_var`]), as when they were variables.
    pub(crate) dnid: compact_str::CompactString,
    pub(crate) ani: compact_str::CompactString,
    pub(crate) chan: ChannelInfo,
    pub(crate) now: SystemTime,
    pub(crate) stack: Vec<Frame>,
    pub(crate) state: State,
    pub(crate) answered: bool,
    pub(crate) digit_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) h_done: bool,
    /// Every call's globals and group counts (the dialplan's [`super::shared::Shared`]).
    pub(crate) shared: super::shared::SharedRef,
    /// This call's `GROUP()` memberships.
    pub(crate) groups: super::shared::Groups,
    /// `RAND()` state (splitmix64), seeded from the call's ids: no OS entropy here.
    pub(crate) rng: u64,
    /// `TIMEOUT(absolute)`: the call ends (or goes to `T`) when a step finds it passed.
    pub(crate) absolute_deadline: Option<SystemTime>,
    /// Open `While()` loops, innermost last.
    pub(crate) loops: Vec<Loop>,
    /// `CHANNEL(language)`.
    pub(crate) language: compact_str::CompactString,
    /// sip.conf `allowoverlap=yes` for the call's entry: a number that only begins an
    /// extension ends the call with INVALID_NUMBER_FORMAT (484) instead of UNALLOCATED (404).
    pub(crate) allow_overlap: bool,
    /// `CHANNEL(musicclass)`.
    pub(crate) musicclass: String,
    /// The call's CDR fields (`CDR()`, NoCDR, the last application).
    pub cdr: super::cdr_vars::CdrVars,
    /// Variables set as `_NAME` (1) or `__NAME` (2): what a channel this one dials inherits
    /// (`ast_channel_inherit_variables`).
    pub(crate) inheritable: HashMap<String, u8>,
    /// The AGI session running, if any (it outlives `State::Agi` while an EXEC'd
    /// application waits).
    pub(crate) agi: Option<Box<super::agi::Session>>,
    /// SHELL() results of the priority being run, and the command it waits for.
    pub(crate) shell: ShellCalls,
    /// Wrong PINs keyed since the call layer last looked (VoiceMailMain, Authenticate): the
    /// engine counts each against the caller's source address, as a wrong SIP password.
    pub(crate) pin_failures: Vec<PinFailure>,
}

/// One wrong PIN a dialplan application was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinFailure {
    /// The application that checked it (the security event's `Service`).
    pub service: &'static str,
    /// The account it was for (`1001@default`; Authenticate: the caller's entry).
    pub account: String,
}

/// Wrong PINs kept between two looks of the call layer (it looks after every step, so a
/// step adds one at most: the bound only guards a caller that is never looked at).
const MAX_PIN_FAILURES: usize = 8;

/// SHELL() in the priority being run (`functions::shell`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ShellCalls {
    /// Commands run and their output.
    pub done: Vec<(String, String)>,
    /// The command a substitution met and has no output for yet.
    pub wanted: Option<String>,
}

/// What running one priority did.
#[derive(Debug)]
pub(crate) enum Flow {
    /// Go on with the next priority.
    Next,
    /// The cursor was moved (Goto, Gosub, Return).
    Jumped,
    /// Hand this command to the call layer and wait in this state.
    Cmd(Command, State),
}

impl Execution {
    /// The value kept for a hidden variable that lives outside `vars` (`CALLERID(dnid)`,
    /// `CALLERID(ani)`), None for any other name.
    pub(crate) fn hidden_var(&self, name: &str) -> Option<&str> {
        match name {
            super::functions::channel::CID_DNID => Some(&self.dnid),
            super::functions::channel::CID_ANI => Some(&self.ani),
            _ => None,
        }
    }

    /// Sets a hidden variable that lives outside `vars`; false (nothing done) for any other
    /// name.
    pub(crate) fn set_hidden_var(&mut self, name: &str, value: &str) -> bool {
        let slot = match name {
            super::functions::channel::CID_DNID => &mut self.dnid,
            super::functions::channel::CID_ANI => &mut self.ani,
            _ => return false,
        };
        *slot = value.into();
        true
    }

    /// Notes a wrong PIN for `account` checked by `service`.
    pub(crate) fn pin_failed(&mut self, service: &'static str, account: String) {
        if self.pin_failures.len() < MAX_PIN_FAILURES {
            self.pin_failures.push(PinFailure { service, account });
        }
    }

    /// The wrong PINs noted since the last call (the call layer hands them to the ban).
    pub fn take_pin_failures(&mut self) -> Vec<PinFailure> {
        std::mem::take(&mut self.pin_failures)
    }

    /// Where the cursor is, for warnings: `[exten@context:prio]`, as Asterisk's
    /// `Executing [exten@context:prio]` lines name it.
    pub(crate) fn here(&self) -> String {
        format!("[{}@{}:{}]", self.exten, self.context, self.prio)
    }
}
