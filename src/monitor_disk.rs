//! The binary's side of MixMonitor: one writer thread that carries out the recordings'
//! [`FileOp`]s in order — open (create the directory; a new file gets its header, `a` keeps
//! what is there), append chunks, close (a WAV file's RIFF and data sizes from its length, as
//! Asterisk's `format_wav.c` `update_header`) — and then starts the post-command with the
//! job runner's own process runner (`/bin/sh -c`, killed past its limit) on a thread of its
//! own, so a slow command never holds back the files. The queue is bounded
//! ([`crate::jobs_driver::WRITER_QUEUE`] operations of at most half a second of audio each):
//! a disk that stalls drops chunks with a log line instead of growing memory.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

#![allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: disk, processes

use sipbox::media::monitor::{wav_size_fix, FileOp};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::time::Duration;

/// How long a post-command may run before it is killed (a conversion of a long recording
/// takes a while; System()'s 60 s would be short).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
/// Post-commands running at once at most; more are not started (and said so).
const MAX_COMMANDS: usize = 16;

/// Starts the MixMonitor writer thread; None when no thread could be had.
pub fn writer() -> Option<SyncSender<FileOp>> {
    let (tx, rx) = sync_channel::<FileOp>(crate::jobs_driver::WRITER_QUEUE);
    let running = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("mixmonitor".into())
        .spawn(move || {
            for op in rx {
                perform(op, &running);
            }
        })
        .ok()?;
    Some(tx)
}

fn perform(op: FileOp, running: &Arc<AtomicUsize>) {
    match op {
        FileOp::Open {
            path,
            append,
            header,
        } => {
            if let Some(d) = path.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            let keep = append && std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
            if !keep {
                if let Err(e) = std::fs::write(&path, header) {
                    log::error!("MixMonitor: cannot open {}: {e}", path.display());
                }
            }
        }
        FileOp::Append { path, bytes } => {
            let written = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .and_then(|mut f| f.write_all(&bytes));
            if let Err(e) = written {
                log::error!("MixMonitor: cannot write {}: {e}", path.display());
            }
        }
        FileOp::Close { path, wav } => {
            if wav {
                if let Err(e) = fix_sizes(&path) {
                    log::error!("MixMonitor: cannot finish {}: {e}", path.display());
                }
            }
        }
        FileOp::Command(command) => {
            if running.load(Ordering::SeqCst) >= MAX_COMMANDS {
                log::warn!(
                    "MixMonitor: {MAX_COMMANDS} post-commands already running; [{command}] not run"
                );
                return;
            }
            running.fetch_add(1, Ordering::SeqCst);
            let counter = running.clone();
            let spawned = std::thread::Builder::new()
                .name("mixmonitor-cmd".into())
                .spawn(move || {
                    let outcome = crate::jobs_driver::run(&command, COMMAND_TIMEOUT);
                    log::debug!("MixMonitor: [{command}] ended: {outcome:?}");
                    counter.fetch_sub(1, Ordering::SeqCst);
                });
            if let Err(e) = spawned {
                running.fetch_sub(1, Ordering::SeqCst);
                log::warn!("MixMonitor: no thread to run its post-command: {e}");
            }
        }
    }
}

/// Writes a WAV file's RIFF and data sizes for its length now.
fn fix_sizes(path: &Path) -> std::io::Result<()> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let len = f.metadata()?.len();
    let mut head = vec![0u8; 4096.min(len as usize)];
    f.read_exact(&mut head)?;
    let Some(fix) = wav_size_fix(&head, len) else {
        log::warn!(
            "MixMonitor: {} is not a WAV file with a data chunk; its header is left as it is",
            path.display()
        );
        return Ok(());
    };
    for (offset, value) in fix {
        f.seek(SeekFrom::Start(offset as u64))?;
        f.write_all(&value.to_le_bytes())?;
    }
    Ok(())
}
