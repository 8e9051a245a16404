//! `VoiceMailMain([box][@ctx][,options])`: log in, hear the counts, listen to, delete and save
//! messages, record greetings and change the password (app_voicemail's `vm_execmain`).
//!
//! Keys as Asterisk's English menus: in the main menu `1` plays the first new (else old)
//! message, `0` mailbox options, `*` help, `#` goodbye; with a message current `4`/`5`/`6`
//! previous/repeat/next, `7` delete (again: undelete), `9` save to a folder (`0`-`9`, Asterisk's
//! folder numbers), `3` advanced options (any key comes back: reply, call back and envelope
//! are not built). Mailbox options: `1` unavailable, `2` busy, `3` name, `4` temporary
//! greeting, `5` new password, `*` back. A new message that was played moves to `Old` at once
//! (the light changes while the caller listens); deleted messages go when the session ends
//! (`#` or hang-up). Option `s` skips the password; wrong passwords: `maxlogins` tries, each
//! logged as app_voicemail does ("Incorrect password") and noted on the execution for the
//! engine's brute-force ban (the caller's source address), then goodbye and hang-up.

use super::{flow, play, prompt, s, vm, Session, Step};
use crate::dialplan::apps::say::number_files;
use crate::dialplan::apps::ALL_DIGITS;
use crate::dialplan::cursor::{Execution, Flow};
use crate::dialplan::model::Dialplan;
use crate::dialplan::{Command, Resume};
use crate::media::wav::encode_pcm16;
use crate::voicemail::index::FOLDERS;
use crate::voicemail::split_box;
use std::time::Duration;

/// How long the menus wait for a key.
const MENU_TIMEOUT: Duration = Duration::from_secs(10);
/// Between the digits of a password.
const DIGIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest box number or password keyed.
const MAX_KEYED: usize = 80;
/// Menu timeouts in a row before goodbye.
const MAX_SILENT_MENUS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Keying the box number (`vm-login`).
    Login,
    /// Keying the password.
    Password,
    /// The counts and the menu are playing, or the menu waits for a key.
    Menu,
    /// A message is playing (its envelope first).
    Message,
    /// "Which folder?" (`vm-savefolder`).
    SaveFolder,
    /// Advanced options.
    Advanced,
    /// Mailbox options (`vm-options`).
    Options,
    /// A greeting: its prompt, then the beep.
    GreetingPrompt(&'static str),
    /// Recording greeting `which`.
    GreetingRecord(&'static str),
    /// New password, first and second time.
    NewPassword,
    ConfirmPassword,
    /// A prompt that returns to the menu of the given kind when done.
    Then(Box<Stage>),
    /// Goodbye: the next priority, or a hang-up after failed logins.
    Goodbye {
        hangup: bool,
    },
}

/// A VoiceMailMain() in progress.
#[derive(Debug, Clone)]
pub(crate) struct Main {
    mailbox: String,
    context: String,
    skip_pin: bool,
    box_given: bool,
    stage: Stage,
    buf: String,
    /// The prompt of the current keyed entry ended: digits are now waited for.
    waiting: bool,
    tries: u32,
    silent_menus: u32,
    /// The messages of the folder being listened to: (folder, number).
    msgs: Vec<(&'static str, u32)>,
    cur: Option<usize>,
    deleted: Vec<(&'static str, u32)>,
    new_password: String,
}

pub(super) fn start(ex: &mut Execution, dp: &Dialplan, argv: &[&str]) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let (mailbox, context) = split_box(arg(0));
    let box_given = !mailbox.is_empty();
    let mut m = Main {
        mailbox,
        context,
        skip_pin: arg(1).contains('s'),
        box_given,
        stage: Stage::Login,
        buf: String::new(),
        waiting: false,
        tries: 0,
        silent_menus: 0,
        msgs: Vec::new(),
        cur: None,
        deleted: Vec::new(),
        new_password: String::new(),
    };
    let step = if !box_given {
        Step::Cmd(prompt(s(&["vm-login"]), ALL_DIGITS))
    } else if m.skip_pin {
        let exists = vm(dp).voicemail.conf.find(&m.mailbox, &m.context).is_some();
        if !exists {
            log::warn!(
                "{}: VoiceMailMain: no mailbox {}@{}",
                ex.here(),
                m.mailbox,
                m.context
            );
            return Flow::Next;
        }
        m.logged_in(ex, dp)
    } else {
        m.stage = Stage::Password;
        Step::Cmd(prompt(s(&["vm-password"]), ALL_DIGITS))
    };
    flow(ex, Session::Main(Box::new(m)), step)
}

/// Where keying an entry stands.
enum Keyed {
    More(Command),
    Got(String),
}

impl Main {
    /// Keying a box number or password: digits until `#` or a pause.
    fn key(&mut self, r: &Resume) -> Keyed {
        match r {
            Resume::Digit('#') => Keyed::Got(std::mem::take(&mut self.buf)),
            Resume::Digit(c) => {
                if self.buf.len() < MAX_KEYED {
                    self.buf.push(*c);
                }
                self.waiting = true;
                Keyed::More(Command::WaitDigit {
                    timeout: DIGIT_TIMEOUT,
                })
            }
            Resume::Done if !self.waiting => {
                self.waiting = true;
                Keyed::More(Command::WaitDigit {
                    timeout: MENU_TIMEOUT,
                })
            }
            Resume::TimedOut | Resume::Done => Keyed::Got(std::mem::take(&mut self.buf)),
            _ => Keyed::More(Command::Keep),
        }
    }

    fn entry_prompt(&mut self, files: &[&str]) -> Step {
        self.buf.clear();
        self.waiting = false;
        Step::Cmd(prompt(s(files), ALL_DIGITS))
    }

    pub(super) fn resume(&mut self, ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        match self.stage.clone() {
            Stage::Login => match self.key(&r) {
                Keyed::More(c) => Step::Cmd(c),
                Keyed::Got(b) if b.is_empty() => self.goodbye(true),
                Keyed::Got(b) => {
                    self.mailbox = b;
                    if self.skip_pin {
                        return self.check(ex, dp, None);
                    }
                    self.stage = Stage::Password;
                    self.entry_prompt(&["vm-password"])
                }
            },
            Stage::Password => match self.key(&r) {
                Keyed::More(c) => Step::Cmd(c),
                Keyed::Got(pin) => self.check(ex, dp, Some(pin)),
            },
            Stage::Menu => self.menu_key(ex, dp, r),
            Stage::Message => self.message_key(ex, dp, r),
            Stage::SaveFolder => match r {
                Resume::Digit(d @ '0'..='9') => {
                    let folder = FOLDERS[d as usize - '0' as usize];
                    self.save_to(dp, folder)
                }
                Resume::Done => Step::Cmd(Command::WaitDigit {
                    timeout: MENU_TIMEOUT,
                }),
                Resume::Digit(_) | Resume::TimedOut => self.message_menu(),
                _ => Step::Cmd(Command::Keep),
            },
            Stage::Advanced => match r {
                Resume::Done => Step::Cmd(Command::WaitDigit {
                    timeout: MENU_TIMEOUT,
                }),
                Resume::Digit(_) | Resume::TimedOut => self.message_menu(),
                _ => Step::Cmd(Command::Keep),
            },
            Stage::Options => self.options_key(ex, dp, r),
            Stage::GreetingPrompt(which) => match r {
                Resume::Done | Resume::Digit(_) => {
                    // The beep, then the recording (the prompt told what to say).
                    self.stage = Stage::Then(Box::new(Stage::GreetingRecord(which)));
                    Step::Cmd(play(s(&["beep"])))
                }
                _ => Step::Cmd(Command::Keep),
            },
            Stage::GreetingRecord(which) => match r {
                Resume::Message { samples, status } => {
                    if samples.is_empty() {
                        return self.options_menu();
                    }
                    vm(dp).voicemail.save_greeting(
                        &self.context,
                        &self.mailbox,
                        which,
                        encode_pcm16(&samples),
                    );
                    log::info!(
                        "{}: {} greeting of {}@{} recorded ({status})",
                        ex.here(),
                        which,
                        self.mailbox,
                        self.context
                    );
                    if status == "HANGUP" {
                        return Step::Ended;
                    }
                    self.stage = Stage::Then(Box::new(Stage::Options));
                    Step::Cmd(play(s(&["vm-msgsaved"])))
                }
                _ => Step::Cmd(Command::Keep),
            },
            Stage::NewPassword => match self.key(&r) {
                Keyed::More(c) => Step::Cmd(c),
                Keyed::Got(p) => {
                    let min = vm(dp).voicemail.conf.general.min_password;
                    if p.is_empty() || p.len() < min || !p.bytes().all(|b| b.is_ascii_digit()) {
                        self.stage = Stage::Then(Box::new(Stage::Options));
                        return Step::Cmd(play(s(&["vm-invalid-password", "vm-pls-try-again"])));
                    }
                    self.new_password = p;
                    self.stage = Stage::ConfirmPassword;
                    self.entry_prompt(&["vm-reenterpassword"])
                }
            },
            Stage::ConfirmPassword => match self.key(&r) {
                Keyed::More(c) => Step::Cmd(c),
                Keyed::Got(p) => {
                    self.stage = Stage::Then(Box::new(Stage::Options));
                    if p != self.new_password {
                        return Step::Cmd(play(s(&["vm-mismatch"])));
                    }
                    vm(dp)
                        .voicemail
                        .set_password(&self.context, &self.mailbox, &p);
                    log::info!(
                        "{}: password of mailbox {}@{} changed",
                        ex.here(),
                        self.mailbox,
                        self.context
                    );
                    Step::Cmd(play(s(&["vm-passchanged"])))
                }
            },
            Stage::Then(next) => match (r, *next) {
                (Resume::Done | Resume::Digit(_), Stage::GreetingRecord(which)) => {
                    self.stage = Stage::GreetingRecord(which);
                    let g = vm(dp);
                    let gen = &g.voicemail.conf.general;
                    Step::Cmd(Command::RecordMessage {
                        silence: gen.max_silence,
                        max: gen.max_secs,
                        threshold: gen.silence_threshold,
                        terminators: "#".into(),
                    })
                }
                (Resume::Done | Resume::Digit(_), Stage::Options) => self.options_menu(),
                (Resume::Done | Resume::Digit(_), Stage::Message) => self.message_menu(),
                (Resume::Done | Resume::Digit(_), _) => self.main_menu(dp, false),
                (_, next) => {
                    self.stage = Stage::Then(Box::new(next));
                    Step::Cmd(Command::Keep)
                }
            },
            Stage::Goodbye { hangup } => match r {
                Resume::Done | Resume::Digit(_) => {
                    self.close(dp);
                    if hangup {
                        Step::Ended
                    } else {
                        Step::Next
                    }
                }
                _ => Step::Cmd(Command::Keep),
            },
        }
    }

    /// Checks box and password; a wrong one is counted and logged as app_voicemail does.
    fn check(&mut self, ex: &mut Execution, dp: &Dialplan, pin: Option<String>) -> Step {
        let (ok, max) = {
            let g = vm(dp);
            let v = &g.voicemail;
            let ok = match (v.conf.find(&self.mailbox, &self.context), &pin) {
                (Some(b), Some(p)) => b.pin() == p,
                (Some(_), None) => true,
                (None, _) => false,
            };
            (ok, v.conf.general.max_logins)
        };
        if ok {
            return self.logged_in(ex, dp);
        }
        self.tries += 1;
        log::warn!(
            "{}: Incorrect password '{}' for user '{}' (context = {}) from {}",
            ex.here(),
            "*".repeat(pin.as_deref().map_or(0, str::len)),
            self.mailbox,
            self.context,
            ex.chan.callerid_num
        );
        ex.pin_failed(
            "VoiceMailMain",
            format!("{}@{}", self.mailbox, self.context),
        );
        if self.tries >= max {
            return self.goodbye(true);
        }
        if self.box_given {
            self.stage = Stage::Password;
            self.entry_prompt(&["vm-incorrect", "vm-password"])
        } else {
            self.stage = Stage::Login;
            self.entry_prompt(&["vm-incorrect-mailbox", "vm-login"])
        }
    }

    fn logged_in(&mut self, ex: &mut Execution, dp: &Dialplan) -> Step {
        log::info!(
            "{}: VoiceMailMain: {}@{} logged in",
            ex.here(),
            self.mailbox,
            self.context
        );
        ex.vars.insert("AUTH_MAILBOX".into(), self.mailbox.clone());
        ex.vars.insert("AUTH_CONTEXT".into(), self.context.clone());
        self.main_menu(dp, true)
    }

    fn counts(&self, dp: &Dialplan) -> (usize, usize) {
        let c = vm(dp).voicemail.counts(&self.context, &self.mailbox);
        (c.new + c.urgent, c.old)
    }

    /// The counts (at login) and the main menu (vm_intro, vm_instructions_en).
    fn main_menu(&mut self, dp: &Dialplan, with_counts: bool) -> Step {
        self.stage = Stage::Menu;
        self.cur = None;
        let (new, old) = self.counts(dp);
        let mut files = Vec::new();
        let word = |n: usize| if n == 1 { "vm-message" } else { "vm-messages" };
        if with_counts {
            files.push("vm-youhave".to_string());
            if new == 0 && old == 0 {
                files.extend(s(&["vm-no", "vm-messages"]));
            }
            if new > 0 {
                files.extend(number_files(new as i64));
                files.extend(s(&["vm-INBOX", word(new)]));
                if old > 0 {
                    files.push("vm-and".into());
                }
            }
            if old > 0 {
                files.extend(number_files(old as i64));
                files.extend(s(&["vm-Old", word(old)]));
            }
        }
        if new > 0 || old > 0 {
            files.extend(s(&[
                "vm-onefor",
                if new > 0 { "vm-INBOX" } else { "vm-Old" },
                "vm-messages",
            ]));
        }
        files.extend(s(&["vm-opts", "vm-helpexit"]));
        Step::Cmd(prompt(files, ALL_DIGITS))
    }

    fn menu_key(&mut self, ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        match r {
            Resume::Done => Step::Cmd(Command::WaitDigit {
                timeout: MENU_TIMEOUT,
            }),
            Resume::TimedOut => {
                self.silent_menus += 1;
                if self.silent_menus >= MAX_SILENT_MENUS {
                    return self.goodbye(false);
                }
                self.main_menu(dp, false)
            }
            Resume::Digit(d) => {
                self.silent_menus = 0;
                match d {
                    '1' => self.open_folder(ex, dp),
                    '0' => self.options_menu(),
                    '*' => self.main_menu(dp, false),
                    '#' => self.goodbye(false),
                    _ => self.main_menu(dp, false),
                }
            }
            _ => Step::Cmd(Command::Keep),
        }
    }

    /// `1`: the new messages if any, else the old ones; the first plays.
    fn open_folder(&mut self, ex: &mut Execution, dp: &Dialplan) -> Step {
        let (new, _) = self.counts(dp);
        let idx = vm(dp).voicemail.index.get(&self.context, &self.mailbox);
        self.msgs = if new > 0 {
            let mut v: Vec<(&'static str, u32)> = idx
                .messages("Urgent")
                .into_iter()
                .map(|n| ("Urgent", n))
                .collect();
            v.extend(idx.messages("INBOX").into_iter().map(|n| ("INBOX", n)));
            v
        } else {
            idx.messages("Old")
                .into_iter()
                .map(|n| ("Old", n))
                .collect()
        };
        if self.msgs.is_empty() {
            self.stage = Stage::Then(Box::new(Stage::Menu));
            return Step::Cmd(play(s(&["vm-nomore"])));
        }
        self.play_message(ex, dp, 0, true)
    }

    /// Plays message `i` of the list ("first message" / "message N" first).
    fn play_message(&mut self, ex: &mut Execution, dp: &Dialplan, i: usize, first: bool) -> Step {
        self.cur = Some(i);
        self.stage = Stage::Message;
        let (folder, n) = self.msgs[i];
        let mut g = vm(dp);
        let v = &mut g.voicemail;
        let mut files = if first || i == 0 {
            s(&["vm-first", "vm-message"])
        } else {
            let mut f = s(&["vm-message"]);
            f.extend(number_files(i as i64 + 1));
            f
        };
        let base = v.message_base(&self.context, &self.mailbox, folder, n);
        files.push(base.to_string_lossy().into_owned());
        if folder == "INBOX" || folder == "Urgent" {
            // Heard: the message is old now (app_voicemail moves it when the box closes and
            // sends the MWI change at once).
            if let Some(m) = v.move_message(&self.context, &self.mailbox, folder, n, "Old") {
                log::debug!("{}: {folder}/msg{n:04} heard: now Old/msg{m:04}", ex.here());
                self.msgs[i] = ("Old", m);
            }
        }
        Step::Cmd(prompt(files, ALL_DIGITS))
    }

    /// The menu while a message is current.
    fn message_menu(&mut self) -> Step {
        self.stage = Stage::Message;
        let i = self.cur.unwrap_or(0);
        let mut files = s(&["vm-advopts", "vm-repeat"]);
        if i > 0 {
            files.push("vm-prev".into());
        }
        if i + 1 < self.msgs.len() {
            files.push("vm-next".into());
        }
        let deleted = self.msgs.get(i).is_some_and(|m| self.deleted.contains(m));
        files.push(if deleted { "vm-undelete" } else { "vm-delete" }.into());
        files.extend(s(&["vm-toforward", "vm-savemessage", "vm-helpexit"]));
        Step::Cmd(prompt(files, ALL_DIGITS))
    }

    fn message_key(&mut self, ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        let i = self.cur.unwrap_or(0);
        match r {
            Resume::Done => Step::Cmd(Command::WaitDigit {
                timeout: MENU_TIMEOUT,
            }),
            Resume::TimedOut => {
                self.silent_menus += 1;
                if self.silent_menus >= MAX_SILENT_MENUS {
                    return self.goodbye(false);
                }
                self.message_menu()
            }
            Resume::Digit(d) => {
                self.silent_menus = 0;
                match d {
                    '5' => self.play_message(ex, dp, i, false),
                    '4' if i > 0 => self.play_message(ex, dp, i - 1, false),
                    '6' if i + 1 < self.msgs.len() => self.play_message(ex, dp, i + 1, false),
                    '4' | '6' => {
                        self.stage = Stage::Then(Box::new(Stage::Message));
                        Step::Cmd(play(s(&["vm-nomore"])))
                    }
                    '7' => {
                        let m = self.msgs[i];
                        let word = if let Some(p) = self.deleted.iter().position(|x| *x == m) {
                            self.deleted.remove(p);
                            "vm-undeleted"
                        } else {
                            self.deleted.push(m);
                            "vm-deleted"
                        };
                        self.stage = Stage::Then(Box::new(Stage::Message));
                        Step::Cmd(play(s(&["vm-message", word])))
                    }
                    '9' => {
                        self.stage = Stage::SaveFolder;
                        Step::Cmd(prompt(s(&["vm-savefolder"]), ALL_DIGITS))
                    }
                    '3' => {
                        self.stage = Stage::Advanced;
                        let files =
                            s(&["vm-toreply", "vm-tocallback", "vm-tohearenv", "vm-starmain"]);
                        Step::Cmd(prompt(files, ALL_DIGITS))
                    }
                    '0' => self.options_menu(),
                    '*' => self.message_menu(),
                    '#' => self.goodbye(false),
                    _ => self.message_menu(),
                }
            }
            _ => Step::Cmd(Command::Keep),
        }
    }

    /// `9` then a folder key: the current message moves there.
    fn save_to(&mut self, dp: &Dialplan, folder: &'static str) -> Step {
        let i = self.cur.unwrap_or(0);
        let Some(&(from, n)) = self.msgs.get(i) else {
            return self.main_menu(dp, false);
        };
        self.stage = Stage::Then(Box::new(Stage::Message));
        if from == folder {
            return self.message_menu();
        }
        let moved = vm(dp)
            .voicemail
            .move_message(&self.context, &self.mailbox, from, n, folder);
        match moved {
            Some(m) => {
                self.deleted.retain(|x| *x != (from, n));
                self.msgs[i] = (folder, m);
                let mut files = s(&["vm-message"]);
                files.extend(number_files(i as i64 + 1));
                files.extend(s(&["vm-savedto", &format!("vm-{folder}")]));
                Step::Cmd(play(files))
            }
            None => Step::Cmd(play(s(&["vm-mailboxfull"]))),
        }
    }

    fn options_menu(&mut self) -> Step {
        self.stage = Stage::Options;
        Step::Cmd(prompt(s(&["vm-options"]), ALL_DIGITS))
    }

    fn options_key(&mut self, _ex: &mut Execution, dp: &Dialplan, r: Resume) -> Step {
        let greeting = |which: &'static str, p: &str, m: &mut Main| {
            m.stage = Stage::GreetingPrompt(which);
            Step::Cmd(play(s(&[p])))
        };
        match r {
            Resume::Done => Step::Cmd(Command::WaitDigit {
                timeout: MENU_TIMEOUT,
            }),
            Resume::Digit('1') => greeting("unavail", "vm-rec-unv", self),
            Resume::Digit('2') => greeting("busy", "vm-rec-busy", self),
            Resume::Digit('3') => greeting("greet", "vm-rec-name", self),
            Resume::Digit('4') => greeting("temp", "vm-rec-temp", self),
            Resume::Digit('5') => {
                let locked = vm(dp)
                    .voicemail
                    .conf
                    .find(&self.mailbox, &self.context)
                    .is_some_and(|b| b.password.starts_with('-'));
                if locked {
                    self.stage = Stage::Then(Box::new(Stage::Options));
                    return Step::Cmd(play(s(&["vm-sorry"])));
                }
                self.stage = Stage::NewPassword;
                self.entry_prompt(&["vm-newpassword"])
            }
            Resume::Digit('#') => self.goodbye(false),
            Resume::Digit(_) | Resume::TimedOut => {
                if self.cur.is_some() {
                    self.message_menu()
                } else {
                    self.main_menu(dp, false)
                }
            }
            _ => Step::Cmd(Command::Keep),
        }
    }

    fn goodbye(&mut self, hangup: bool) -> Step {
        self.stage = Stage::Goodbye { hangup };
        Step::Cmd(play(s(&["vm-goodbye"])))
    }

    /// The session is over: the messages marked deleted go.
    pub(super) fn close(&mut self, dp: &Dialplan) {
        if self.deleted.is_empty() {
            return;
        }
        let mut g = vm(dp);
        for (folder, n) in self.deleted.drain(..) {
            g.voicemail
                .delete_message(&self.context, &self.mailbox, folder, n);
        }
    }
}
