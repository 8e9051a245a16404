//! `VoiceMail(box[@ctx][&box2...][,options])`: the greeting, the beep, the recording, and the
//! message stored in each box (app_voicemail's `leave_voicemail`).
//!
//! Options: `u` unavailable greeting, `b` busy greeting, `s` no "leave your message after the
//! tone" (`vm-intro`), `U` urgent (stored in `Urgent`); others are accepted and ignored. The
//! greeting is the box's `temp` if recorded, else its `busy`/`unavail` one, else one built
//! from prompts: the recorded name (`greet`) or "vm-theperson" and the box's digits, then
//! "vm-isonphone"/"vm-isunavail". During it `#` skips to the beep, `*` leaves for extension
//! `a` and `0` (with `operator=yes`) for `o` (`VMSTATUS=USEREXIT`). The recording ends on `#`,
//! `maxsilence` of silence, `maxsecs`, or the caller's hang-up (the message is kept);
//! shorter than `minsecs` it is thrown away (`VMSTATUS=FAILED`).

use super::{dates, flow, play, prompt, s, vm, Session, Step};
use crate::dialplan::apps::say::digit_files;
use crate::dialplan::cursor::{Execution, Flow};
use crate::dialplan::model::Dialplan;
use crate::dialplan::{Command, Resume};
use crate::media::wav::encode_pcm16;
use crate::voicemail::message::{callerid, Email, MessageInfo};
use crate::voicemail::split_box;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Greeting,
    Beep,
    Recording,
    Full,
}

/// A VoiceMail() in progress.
#[derive(Debug, Clone)]
pub(crate) struct Deposit {
    /// (box, context) of each box, the first one's greeting plays.
    boxes: Vec<(String, String)>,
    urgent: bool,
    operator: bool,
    stage: Stage,
}

pub(super) fn start(ex: &mut Execution, dp: &Dialplan, argv: &[&str]) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let boxes: Vec<(String, String)> = arg(0)
        .split('&')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(split_box)
        .collect();
    let opts = arg(1);
    let Some((first, ctx)) = boxes.first().cloned() else {
        log::warn!("{}: VoiceMail requires a mailbox", ex.here());
        ex.vars.insert("VMSTATUS".into(), "FAILED".into());
        return Flow::Next;
    };
    let g = vm(dp);
    let v = &g.voicemail;
    if v.conf.find(&first, &ctx).is_none() {
        // app_voicemail: a warning, VMSTATUS=FAILED, and the dialplan goes on.
        log::warn!(
            "{}: No entry in voicemail config file for '{first}@{ctx}'",
            ex.here()
        );
        ex.vars.insert("VMSTATUS".into(), "FAILED".into());
        return Flow::Next;
    }
    let idx = v.index.get(&ctx, &first);
    let base = |w: &str| {
        v.greeting_base(&ctx, &first, w)
            .to_string_lossy()
            .into_owned()
    };
    let busy = opts.contains('b');
    let mut files = Vec::new();
    if idx.has_greeting("temp") {
        files.push(base("temp"));
    } else if (busy || opts.contains('u'))
        && idx.has_greeting(if busy { "busy" } else { "unavail" })
    {
        files.push(base(if busy { "busy" } else { "unavail" }));
    } else if busy || opts.contains('u') {
        // invent_message(): the recorded name, or "the person at extension 1 0 0 1".
        if idx.has_greeting("greet") {
            files.push(base("greet"));
        } else {
            files.push("vm-theperson".into());
            files.extend(digit_files(&first));
        }
        files.push(if busy { "vm-isonphone" } else { "vm-isunavail" }.into());
    }
    if !opts.contains('s') {
        files.push("vm-intro".into());
    }
    let operator = v.conf.general.operator;
    drop(g);
    let d = Deposit {
        boxes,
        urgent: opts.contains('U'),
        operator,
        stage: Stage::Greeting,
    };
    let digits = if operator { "#*0" } else { "#*" };
    let step = if files.is_empty() {
        Step::Cmd(play(s(&["silence/1"])))
    } else {
        Step::Cmd(prompt(files, digits))
    };
    flow(ex, Session::Deposit(d), step)
}

impl Deposit {
    pub(super) fn resume(&mut self, ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        match (self.stage, r) {
            (Stage::Greeting, Resume::Digit('*')) => {
                ex.vars.insert("VMSTATUS".into(), "USEREXIT".into());
                Step::Exten("a")
            }
            (Stage::Greeting, Resume::Digit('0')) if self.operator => {
                ex.vars.insert("VMSTATUS".into(), "USEREXIT".into());
                Step::Exten("o")
            }
            (Stage::Greeting, Resume::Done | Resume::Digit('#')) => {
                let (b, c) = &self.boxes[0];
                let full = {
                    let g = vm(dp);
                    let v = &g.voicemail;
                    let limit = v
                        .conf
                        .find(b, c)
                        .map_or(v.conf.general.max_msg, |m| v.conf.max_msg(m));
                    let folder = if self.urgent { "Urgent" } else { "INBOX" };
                    v.index
                        .get(c, b)
                        .next_free(folder, limit as usize)
                        .is_none()
                };
                if full {
                    log::warn!(
                        "{}: mailbox {b}@{c} is full: no more messages possible",
                        ex.here()
                    );
                    ex.vars.insert("VMSTATUS".into(), "FAILED".into());
                    self.stage = Stage::Full;
                    return Step::Cmd(play(s(&["vm-mailboxfull"])));
                }
                self.stage = Stage::Beep;
                Step::Cmd(play(s(&["beep"])))
            }
            (Stage::Full, Resume::Done) => Step::Next,
            (Stage::Beep, Resume::Done) => {
                self.stage = Stage::Recording;
                let g = vm(dp);
                let gen = &g.voicemail.conf.general;
                Step::Cmd(Command::RecordMessage {
                    silence: gen.max_silence,
                    max: gen.max_secs,
                    threshold: gen.silence_threshold,
                    terminators: "#".into(),
                })
            }
            (Stage::Recording, Resume::Message { status, samples }) => {
                self.store(ex, dp, status, &samples);
                if status == "HANGUP" {
                    Step::Ended
                } else {
                    Step::Next
                }
            }
            _ => Step::Cmd(Command::Keep),
        }
    }

    /// Puts the message into every box (app_voicemail copies it to the others).
    fn store(&self, ex: &mut Execution, dp: &Dialplan, status: &str, samples: &[i16]) {
        let secs = samples.len() as u64 / 8000;
        let mut g = vm(dp);
        let v = &mut g.voicemail;
        let min = v.conf.general.min_secs.as_secs();
        if samples.is_empty() || secs < min {
            log::info!(
                "{}: recording was {secs} seconds long but needs to be at least {min} - abandoning",
                ex.here()
            );
            ex.vars.insert("VMSTATUS".into(), "FAILED".into());
            return;
        }
        let wav = encode_pcm16(samples);
        let (epoch, origdate, rfcdate) = dates(ex);
        let (first, _) = &self.boxes[0];
        let msg_id = format!("{epoch}-{:08x}", v.next_msg_id());
        let info = MessageInfo {
            orig_mailbox: first.clone(),
            context: ex.context.to_string(),
            macro_context: ex.vars.get("MACRO_CONTEXT").cloned().unwrap_or_default(),
            exten: ex.exten.to_string(),
            rdnis: "unknown".into(),
            priority: ex.prio,
            caller_chan: ex.channel_name(),
            callerid: callerid(&ex.chan.callerid_name, &ex.chan.callerid_num),
            orig_date: origdate,
            orig_time: epoch,
            category: ex.vars.get("VM_CATEGORY").cloned().unwrap_or_default(),
            msg_id,
            flag: if self.urgent {
                "Urgent".into()
            } else {
                String::new()
            },
            duration: secs,
        };
        let folder = if self.urgent { "Urgent" } else { "INBOX" };
        let mut stored = 0;
        for (b, c) in &self.boxes {
            let Some(mb) = v.conf.find(b, c).cloned() else {
                log::warn!(
                    "{}: No entry in voicemail config file for '{b}@{c}'",
                    ex.here()
                );
                continue;
            };
            let Some(n) = v.deposit(c, b, folder, wav.clone(), info.to_txt()) else {
                log::warn!(
                    "{}: mailbox {b}@{c} is full: message not stored there",
                    ex.here()
                );
                continue;
            };
            stored += 1;
            log::info!(
                "{}: voicemail for {b}@{c} stored as {folder}/msg{n:04} ({secs} s, {status})",
                ex.here()
            );
            if mb.email.is_empty() {
                continue;
            }
            let gen = &v.conf.general;
            let attach = mb.attach.unwrap_or(gen.attach);
            let name = format!("msg{n:04}.wav");
            let from_addr = mb
                .server_email
                .clone()
                .unwrap_or_else(|| gen.server_email.clone());
            let boundary = format!("----voicemail_{n:04}{b}{}", info.msg_id);
            let mail = Email {
                from_addr: &from_addr,
                from_name: &gen.from_string,
                to_addr: &mb.email,
                to_name: &mb.full_name,
                mailbox: b,
                msgnum: n + 1,
                info: &info,
                date: &rfcdate,
                attachment: attach.then_some((name.as_str(), wav.as_slice())),
                boundary: &boundary,
            }
            .render();
            v.mail(mail);
            if mb.delete {
                v.delete_message(c, b, folder, n);
            }
        }
        let ok = if stored > 0 { "SUCCESS" } else { "FAILED" };
        ex.vars.insert("VMSTATUS".into(), ok.into());
    }
}
