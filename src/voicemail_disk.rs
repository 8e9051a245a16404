//! The binary's side of voicemail: reading the spool into the engine's index before the loop
//! runs, and one helper thread that carries out the engine's [`FsOp`]s in order (messages,
//! greetings, moves, deletions, e-mails through `mailcmd`, password changes in
//! voicemail.conf). The loop thread never waits for any of it.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

#![allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: disk, processes, clock

use sipbox::voicemail::index::{message_number, FOLDERS, GREETINGS};
use sipbox::voicemail::{FsOp, Index, VoicemailConf};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::{Duration, Instant};

/// How long `mailcmd` may run before it is killed.
const MAIL_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads `<root>/CTX/BOX/FOLDER/msgNNNN.*` and the greetings of every configured box.
pub fn scan(root: &Path, conf: &VoicemailConf) -> Index {
    scan_boxes(root, conf.boxes.keys())
}

/// The spool of the mailboxes `conf` has and `old` had not (a reload's new boxes).
pub fn scan_new(root: &Path, conf: &VoicemailConf, old: &VoicemailConf) -> Index {
    scan_boxes(
        root,
        conf.boxes.keys().filter(|k| !old.boxes.contains_key(*k)),
    )
}

fn scan_boxes<'a>(root: &Path, boxes: impl Iterator<Item = &'a (String, String)>) -> Index {
    let mut index = Index::default();
    for (ctx, mailbox) in boxes {
        let dir = root.join(ctx).join(mailbox);
        let b = index.get_mut(ctx, mailbox);
        for folder in FOLDERS {
            let Ok(rd) = std::fs::read_dir(dir.join(folder)) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".txt") {
                    continue;
                }
                if let Some(n) = message_number(&name) {
                    b.insert(folder, n);
                }
            }
        }
        for g in GREETINGS {
            if dir.join(format!("{g}.wav")).exists() {
                b.set_greeting(g);
            }
        }
    }
    index
}

/// Starts the voicemail writer thread; None when no thread could be had.
pub fn writer() -> Option<SyncSender<FsOp>> {
    let (tx, rx) = sync_channel::<FsOp>(crate::jobs_driver::WRITER_QUEUE);
    std::thread::Builder::new()
        .name("voicemail".into())
        .spawn(move || {
            for op in rx {
                perform(op);
            }
        })
        .ok()?;
    Some(tx)
}

fn perform(op: FsOp) {
    match op {
        FsOp::Write { path, bytes } => {
            if let Some(d) = path.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            if let Err(e) = std::fs::write(&path, bytes) {
                log::error!("voicemail: cannot write {}: {e}", path.display());
            }
        }
        FsOp::Rename { from, to } => {
            if let Some(d) = to.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            if let Err(e) = std::fs::rename(&from, &to) {
                log::error!(
                    "voicemail: cannot move {} to {}: {e}",
                    from.display(),
                    to.display()
                );
            }
        }
        FsOp::Remove { path } => {
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::error!("voicemail: cannot delete {}: {e}", path.display());
                }
            }
        }
        FsOp::Mail { command, message } => {
            // Its own thread: a slow mail server does not hold back the spool.
            let _ = std::thread::Builder::new()
                .name("vm-mail".into())
                .spawn(move || mail(&command, &message));
        }
        FsOp::SetPassword {
            conf,
            context,
            mailbox,
            password,
        } => match std::fs::read_to_string(&conf) {
            Ok(text) => match set_password(&text, &context, &mailbox, &password) {
                Some(new) => {
                    if let Err(e) = std::fs::write(&conf, new) {
                        log::error!("voicemail: cannot write {}: {e}", conf.display());
                    }
                }
                None => log::warn!(
                    "voicemail: {mailbox} not found in [{context}] of {}: password kept in memory only",
                    conf.display()
                ),
            },
            Err(e) => log::error!("voicemail: cannot read {}: {e}", conf.display()),
        },
    }
}

/// Runs `mailcmd` with the e-mail on its stdin, killing it after [`MAIL_TIMEOUT`].
fn mail(command: &str, message: &[u8]) {
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return log::error!("voicemail: cannot run mailcmd '{command}': {e}"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        if let Err(e) = stdin.write_all(message) {
            log::warn!("voicemail: mailcmd '{command}' did not take the message: {e}");
        }
    }
    let deadline = Instant::now() + MAIL_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return,
            Ok(Some(st)) => return log::warn!("voicemail: mailcmd '{command}' failed: {st}"),
            Ok(None) if Instant::now() >= deadline => {
                log::warn!(
                    "voicemail: mailcmd '{command}' still running after {MAIL_TIMEOUT:?}: killed"
                );
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return,
        }
    }
}

/// voicemail.conf with the password of `mailbox` in `[context]` replaced, the rest of the
/// line and file as written (Asterisk rewrites the line the same way with
/// `ast_update...`/`vm_change_password`). None when the box is not found.
pub fn set_password(text: &str, context: &str, mailbox: &str, password: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut section = String::new();
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix('[') {
            section = rest
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
        } else if !done && section.eq_ignore_ascii_case(context) {
            let (key, sep, value) = match t.split_once("=>") {
                Some((k, v)) => (k, "=>", v),
                None => match t.split_once('=') {
                    Some((k, v)) => (k, "=", v),
                    None => ("", "", ""),
                },
            };
            if !sep.is_empty() && key.trim() == mailbox {
                let indent = &line[..line.len() - t.len()];
                let rest = value.split_once(',').map(|(_, r)| r);
                let nl = if line.ends_with('\n') { "\n" } else { "" };
                let rest = rest.map(|r| r.trim_end_matches(['\n', '\r']));
                out.push_str(&match rest {
                    Some(r) => format!("{indent}{} {sep} {password},{r}{nl}", key.trim()),
                    None => format!("{indent}{} {sep} {password}{nl}", key.trim()),
                });
                done = true;
                continue;
            }
        }
        out.push_str(line);
    }
    done.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_line_rewritten_in_place() {
        let text = "; users\n[general]\n1001 => 1,x\n[default]\n1000 => 9,A\n1001 => 4242,Alice,a@b.c ; desk\n[other]\n1001 => 7\n";
        let new = set_password(text, "default", "1001", "5555").expect("found");
        assert_eq!(
            new,
            "; users\n[general]\n1001 => 1,x\n[default]\n1000 => 9,A\n1001 => 5555,Alice,a@b.c ; desk\n[other]\n1001 => 7\n"
        );
        assert!(set_password(text, "default", "2000", "1").is_none());
    }
}
