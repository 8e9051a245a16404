//! The voicemail applications and functions: `VoiceMail()` ([`deposit`]), `VoiceMailMain()`
//! ([`menu`]), `VM_INFO()`, `VMCOUNT()`, `MAILBOX_EXISTS()`.
//!
//! Reading list: Asterisk `apps/app_voicemail.c` (`vm_exec`, `leave_voicemail`,
//! `invent_message`, `vm_execmain`, `vm_authenticate`, `vm_intro`, `vm_instructions_en`,
//! `vm_options`, `acf_vm_info`, `acf_mailbox_exists`), `funcs/func_vmcount.c`.
//!
//! A session is a small state machine kept in the cursor's [`State::Voicemail`]: each resume
//! from the call layer (a prompt ended, a digit, a recording) gives the next [`Command`] or
//! ends the application. What it stores goes through the shared [`crate::voicemail::Voicemail`]
//! (index at once, files by the driver).

pub(crate) mod deposit;
pub(crate) mod menu;

use super::super::cursor::{Execution, Flow, State};
use super::super::functions::strftime::{strftime, Tm};
use super::super::model::Dialplan;
use super::super::shared::lock;
use super::super::time::epoch_secs;
use crate::dialplan::{Command, Resume};
use crate::voicemail::{split_box, Voicemail};
use std::sync::MutexGuard;

/// A voicemail application in progress.
#[derive(Debug, Clone)]
pub(crate) enum Session {
    Deposit(deposit::Deposit),
    Main(Box<menu::Main>),
}

/// What a session wants next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Hand this to the call layer and wait.
    Cmd(Command),
    /// The application is over: the next priority.
    Next,
    /// The caller left with `*` or `0`: extension `a` or `o` of the context if it exists.
    Exten(&'static str),
    /// Hang up.
    Ended,
}

impl Session {
    pub(crate) fn resume(&mut self, ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        match self {
            Session::Deposit(d) => d.resume(ex, dp, r),
            Session::Main(m) => m.resume(ex, dp, r),
        }
    }

    /// The call ended during the session: what it still owes the spool (deletions).
    pub(crate) fn close(&mut self, dp: &Dialplan) {
        if let Session::Main(m) = self {
            m.close(dp);
        }
    }
}

pub(crate) fn vm(dp: &Dialplan) -> MutexGuard<'_, super::super::shared::Shared> {
    lock(&dp.shared)
}

fn play(files: Vec<String>) -> Command {
    Command::Playback {
        files,
        interrupt_digits: None,
    }
}

fn prompt(files: Vec<String>, digits: &str) -> Command {
    Command::Playback {
        files,
        interrupt_digits: Some(digits.into()),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The wall clock as the .txt's `origdate` (`%a %b %e %r UTC %Y`) and an RFC 2822 date.
fn dates(ex: &Execution) -> (i64, String, String) {
    let epoch = epoch_secs(ex.now);
    let t = Tm::new(epoch, 0, 0);
    (
        epoch,
        strftime("%a %b %e %r UTC %Y", &t),
        strftime("%a, %d %b %Y %H:%M:%S %z", &t),
    )
}

/// Starts `VoiceMail(box[@ctx][&box2...][,options])`.
pub(crate) fn voicemail(ex: &mut Execution, dp: &Dialplan, argv: &[&str]) -> Flow {
    deposit::start(ex, dp, argv)
}

/// Starts `VoiceMailMain([box][@ctx][,options])`.
pub(crate) fn voicemail_main(ex: &mut Execution, dp: &Dialplan, argv: &[&str]) -> Flow {
    menu::start(ex, dp, argv)
}

/// Wraps a session's first step into the cursor's flow.
fn flow(ex: &mut Execution, session: Session, step: Step) -> Flow {
    match step {
        Step::Cmd(cmd) => {
            let st = State::Voicemail(Box::new(session));
            if ex.answered {
                Flow::Cmd(cmd, st)
            } else {
                Flow::Cmd(Command::Answer, State::AnswerThen(Box::new((cmd, st))))
            }
        }
        _ => Flow::Next,
    }
}

/// `MAILBOX_EXISTS(box[@ctx])`.
pub(crate) fn mailbox_exists(dp: &Dialplan, args: &str) -> String {
    let (b, c) = split_box(args);
    let g = vm(dp);
    if g.voicemail.conf.find(&b, &c).is_some() {
        "1"
    } else {
        "0"
    }
    .into()
}

/// `VMCOUNT(box[@ctx][,folder])` (INBOX by default).
pub(crate) fn vmcount(dp: &Dialplan, args: &str) -> String {
    let (spec, folder) = args.split_once(',').unwrap_or((args, ""));
    let folder = if folder.trim().is_empty() {
        "INBOX"
    } else {
        folder.trim()
    };
    let (b, c) = split_box(spec);
    let g = vm(dp);
    g.voicemail.index.get(&c, &b).count(folder).to_string()
}

/// `VM_INFO(box[@ctx],attribute[,folder])`: count, email, exists, fullname, language,
/// locale, pager, password, tz.
pub(crate) fn vm_info(dp: &Dialplan, args: &str) -> Result<String, String> {
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    let (spec, attr) = match parts.as_slice() {
        [b, a, ..] => (*b, a.to_ascii_lowercase()),
        _ => return Err("VM_INFO needs mailbox,attribute".into()),
    };
    let (b, c) = split_box(spec);
    let g = vm(dp);
    let v: &Voicemail = &g.voicemail;
    let found = v.conf.find(&b, &c);
    Ok(match attr.as_str() {
        "exists" => if found.is_some() { "1" } else { "0" }.into(),
        "count" => {
            let folder = parts
                .get(2)
                .copied()
                .filter(|f| !f.is_empty())
                .unwrap_or("INBOX");
            v.index.get(&c, &b).count(folder).to_string()
        }
        "email" => found.map(|f| f.email.clone()).unwrap_or_default(),
        "fullname" => found.map(|f| f.full_name.clone()).unwrap_or_default(),
        "pager" => found.map(|f| f.pager.clone()).unwrap_or_default(),
        "password" => found.map(|f| f.password.clone()).unwrap_or_default(),
        "language" | "locale" | "tz" => String::new(),
        other => return Err(format!("VM_INFO attribute '{other}' is not known")),
    })
}
