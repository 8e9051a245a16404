//! Voicemail: voicemail.conf, the mailboxes' contents in memory, and the file operations the
//! driver carries out for them. The applications (`VoiceMail`, `VoiceMailMain`) live with the
//! other applications in `dialplan/apps/voicemail`; message-waiting NOTIFYs in
//! `engine/mwi.rs`.
//!
//! Reading list: Asterisk `apps/app_voicemail.c` (file storage: `make_dir`, `make_file`,
//! `last_message_index`, `save_to_folder`, `vm_change_password`), `configs/samples/
//! voicemail.conf.sample`; RFC 3842 (message-summary).
//!
//! - [`conf`]: typed voicemail.conf.
//! - [`index`]: each box's folders and greetings, in memory.
//! - [`message`]: a message's .txt and its notification e-mail.
//!
//! The engine never touches the spool: every change is an [`FsOp`] the driver performs on one
//! helper thread, in order, while the [`Voicemail`] index already shows the change (as AstDB
//! writes do). Boxes whose counts changed are remembered for the MWI NOTIFYs.

pub mod conf;
pub mod index;
pub mod message;

pub use conf::{split_box, Mailbox, VoicemailConf};
pub use index::{BoxIndex, Index};

use std::collections::BTreeSet;
use std::path::PathBuf;

/// A change to the spool or to voicemail.conf, performed by the driver in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsOp {
    /// Write `bytes` to `path`, creating its directories.
    Write {
        /// Where.
        path: PathBuf,
        /// What.
        bytes: Vec<u8>,
    },
    /// Rename a file (moving a message between folders).
    Rename {
        /// From.
        from: PathBuf,
        /// To (its directory is created).
        to: PathBuf,
    },
    /// Delete a file.
    Remove {
        /// Which.
        path: PathBuf,
    },
    /// Run `command` with `/bin/sh -c`, `message` on its stdin (the e-mail for `mailcmd`).
    Mail {
        /// `mailcmd`.
        command: String,
        /// The whole e-mail.
        message: Vec<u8>,
    },
    /// Replace the password of `mailbox` in `[context]` of voicemail.conf at `conf`.
    SetPassword {
        /// voicemail.conf.
        conf: PathBuf,
        /// Its section.
        context: String,
        /// The box.
        mailbox: String,
        /// The new password.
        password: String,
    },
}

/// New, old and urgent message counts of a box (or of several, summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// INBOX.
    pub new: usize,
    /// Old.
    pub old: usize,
    /// Urgent (counted as new by MWI, as Asterisk's inboxcount2).
    pub urgent: usize,
}

/// Voicemail's state: the config, the spool's index, and what waits for the driver.
#[derive(Debug, Default)]
pub struct Voicemail {
    /// voicemail.conf.
    pub conf: VoicemailConf,
    /// `<astspooldir>/voicemail`.
    pub root: PathBuf,
    /// voicemail.conf's path, for password changes (None: built-in or test config; a
    /// changed password then lives in memory only).
    pub conf_path: Option<PathBuf>,
    /// What the spool holds.
    pub index: Index,
    ops: Vec<FsOp>,
    changed: BTreeSet<(String, String)>,
    msg_ids: u32,
}

impl Voicemail {
    /// Voicemail for `conf`, storing under `root` (`<astspooldir>/voicemail`).
    pub fn new(conf: VoicemailConf, root: PathBuf, conf_path: Option<PathBuf>) -> Voicemail {
        Voicemail {
            conf,
            root,
            conf_path,
            ..Voicemail::default()
        }
    }

    /// The directory of a box.
    pub fn box_dir(&self, context: &str, mailbox: &str) -> PathBuf {
        self.root.join(context).join(mailbox)
    }

    /// `.../FOLDER/msgNNNN` (no extension).
    pub fn message_base(&self, context: &str, mailbox: &str, folder: &str, n: u32) -> PathBuf {
        self.box_dir(context, mailbox)
            .join(folder)
            .join(format!("msg{n:04}"))
    }

    /// A greeting's file without extension (`.../BOX/unavail`).
    pub fn greeting_base(&self, context: &str, mailbox: &str, which: &str) -> PathBuf {
        self.box_dir(context, mailbox).join(which)
    }

    /// Counts of one box.
    pub fn counts(&self, context: &str, mailbox: &str) -> Counts {
        let b = self.index.get(context, mailbox);
        Counts {
            new: b.count("INBOX"),
            old: b.count("Old"),
            urgent: b.count("Urgent"),
        }
    }

    /// Counts of a `box[@ctx][&box2...]` list (a peer's `mailbox=`), summed.
    pub fn counts_of_list(&self, list: &str) -> Counts {
        let mut c = Counts::default();
        for spec in list
            .split(['&', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (b, ctx) = split_box(spec);
            let one = self.counts(&ctx, &b);
            c.new += one.new;
            c.old += one.old;
            c.urgent += one.urgent;
        }
        c
    }

    fn changed(&mut self, context: &str, mailbox: &str) {
        if self.changed.len() < 10_000 {
            self.changed
                .insert((context.to_ascii_lowercase(), mailbox.to_string()));
        }
    }

    /// Stores a new message in `folder`: the WAV and the .txt go to the driver, the index
    /// counts it at once. None when the folder is full.
    pub fn deposit(
        &mut self,
        context: &str,
        mailbox: &str,
        folder: &str,
        wav: Vec<u8>,
        txt: String,
    ) -> Option<u32> {
        let limit = self
            .conf
            .find(mailbox, context)
            .map_or(self.conf.general.max_msg, |b| self.conf.max_msg(b));
        let n = self
            .index
            .get(context, mailbox)
            .next_free(folder, limit as usize)?;
        let base = self.message_base(context, mailbox, folder, n);
        self.ops.push(FsOp::Write {
            path: base.with_extension("wav"),
            bytes: wav,
        });
        self.ops.push(FsOp::Write {
            path: base.with_extension("txt"),
            bytes: txt.into_bytes(),
        });
        self.index.get_mut(context, mailbox).insert(folder, n);
        self.changed(context, mailbox);
        Some(n)
    }

    /// Moves message `n` from `from` to `to` (its WAV and .txt); the number it got there.
    pub fn move_message(
        &mut self,
        context: &str,
        mailbox: &str,
        from: &str,
        n: u32,
        to: &str,
    ) -> Option<u32> {
        let limit = self
            .conf
            .find(mailbox, context)
            .map_or(self.conf.general.max_msg, |b| self.conf.max_msg(b));
        let m = self
            .index
            .get(context, mailbox)
            .next_free(to, limit as usize)?;
        if !self.index.get_mut(context, mailbox).remove(from, n) {
            return None;
        }
        let (a, b) = (
            self.message_base(context, mailbox, from, n),
            self.message_base(context, mailbox, to, m),
        );
        for ext in ["wav", "txt"] {
            self.ops.push(FsOp::Rename {
                from: a.with_extension(ext),
                to: b.with_extension(ext),
            });
        }
        self.index.get_mut(context, mailbox).insert(to, m);
        self.changed(context, mailbox);
        Some(m)
    }

    /// Deletes message `n` of `folder`.
    pub fn delete_message(&mut self, context: &str, mailbox: &str, folder: &str, n: u32) {
        if !self.index.get_mut(context, mailbox).remove(folder, n) {
            return;
        }
        let base = self.message_base(context, mailbox, folder, n);
        for ext in ["wav", "txt"] {
            self.ops.push(FsOp::Remove {
                path: base.with_extension(ext),
            });
        }
        self.changed(context, mailbox);
    }

    /// Stores greeting `which` (`unavail`, `busy`, `greet`, `temp`).
    pub fn save_greeting(&mut self, context: &str, mailbox: &str, which: &str, wav: Vec<u8>) {
        let path = self
            .greeting_base(context, mailbox, which)
            .with_extension("wav");
        self.ops.push(FsOp::Write { path, bytes: wav });
        self.index.get_mut(context, mailbox).set_greeting(which);
    }

    /// Changes a box's password: in memory at once, in voicemail.conf by the driver.
    pub fn set_password(&mut self, context: &str, mailbox: &str, password: &str) {
        let key = (context.to_ascii_lowercase(), mailbox.to_string());
        if let Some(b) = self.conf.boxes.get_mut(&key) {
            b.password = password.to_string();
        }
        if let Some(conf) = self.conf_path.clone() {
            self.ops.push(FsOp::SetPassword {
                conf,
                context: context.to_string(),
                mailbox: mailbox.to_string(),
                password: password.to_string(),
            });
        }
    }

    /// Queues an e-mail for `mailcmd`.
    pub fn mail(&mut self, message: Vec<u8>) {
        let command = self.conf.general.mail_cmd.clone();
        self.ops.push(FsOp::Mail { command, message });
    }

    /// A fresh `msg_id` suffix.
    pub fn next_msg_id(&mut self) -> u32 {
        self.msg_ids = self.msg_ids.wrapping_add(1);
        self.msg_ids
    }

    /// What waits for the driver, in order.
    pub fn take_ops(&mut self) -> Vec<FsOp> {
        std::mem::take(&mut self.ops)
    }

    /// Boxes whose counts changed since the last call (lower-case context, box).
    pub fn take_changed(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.changed).into_iter().collect()
    }
}
