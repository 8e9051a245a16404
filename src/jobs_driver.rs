//! The binary's job runner: each job the engine asks for (a System() command) runs on a
//! helper thread that spawns `/bin/sh -c`, waits for it with a deadline (killing it past its
//! timeout) and posts the outcome back to the loop through a channel and a `mio::Waker`. The
//! engine only sees [`Job`]s and `job_done` completions; the loop thread never waits.
//! AstDB changes, registration changes and call records go to their writer threads in
//! batches (`write_batch.rs`), which the driver's turn hands over when due.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use crate::write_batch::Batcher;
use mio::Waker;
use sipbox::dialplan::astdb::DbOp;
use sipbox::engine::{Job, JobId, JobOutcome, SHELL_MAX};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs jobs on helper threads and collects their outcomes.
pub struct JobRunner {
    done_tx: Sender<(JobId, JobOutcome)>,
    done_rx: Receiver<(JobId, JobOutcome)>,
    waker: Arc<Waker>,
    /// The AstDB writer (None: the database lives in memory only).
    db: Option<Batcher<DbOp>>,
    /// The sipbox.db and CDR writer (None: neither is written).
    disk: Option<Batcher<crate::store_disk::Write>>,
    /// The voicemail spool writer (`voicemail_disk.rs`).
    vm: Option<SyncSender<sipbox::voicemail::FsOp>>,
    /// The MixMonitor writer (`monitor_disk.rs`).
    monitor: Option<SyncSender<sipbox::media::monitor::FileOp>>,
}

impl JobRunner {
    /// A runner that wakes the poll through `waker` when a job ends.
    pub fn new(waker: Waker, db: Option<Batcher<DbOp>>) -> JobRunner {
        let (done_tx, done_rx) = channel();
        JobRunner {
            done_tx,
            done_rx,
            waker: Arc::new(waker),
            db,
            disk: None,
            vm: crate::voicemail_disk::writer(),
            monitor: crate::monitor_disk::writer(),
        }
    }

    /// Hands registration changes and call records to this writer from now on.
    pub fn set_disk(&mut self, disk: Batcher<crate::store_disk::Write>) {
        self.disk = Some(disk);
    }

    /// When the earliest held batch is due for its writer.
    pub fn deadline(&self) -> Option<Instant> {
        let db = self.db.as_ref().and_then(Batcher::deadline);
        let disk = self.disk.as_ref().and_then(Batcher::deadline);
        db.into_iter().chain(disk).min()
    }

    /// Hands the batches due at `now` to their writers.
    pub fn flush_due(&mut self, now: Instant) {
        if let Some(b) = &mut self.db {
            b.flush_due(now);
        }
        if let Some(b) = &mut self.disk {
            b.flush_due(now);
        }
    }

    /// The poll's one waker, for other helper threads (the reload's) to share: mio allows a
    /// single waker per poll.
    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    /// Starts `job` on its own thread (or holds it for its writer: `now` is when it came).
    pub fn start(&mut self, job: Job, now: Instant) {
        let (id, command, timeout, capture) = match job {
            Job::Run {
                id,
                command,
                timeout,
                capture,
            } => (id, command, timeout, capture),
            Job::Voicemail(op) => {
                match &self.vm {
                    Some(vm) => {
                        offer(vm, op, "voicemail spool");
                    }
                    None => log::error!("voicemail: no writer thread; {op:?} dropped"),
                }
                return;
            }
            Job::Agi(_) => {
                log::error!("AGI operation sent to the job runner");
                return;
            }
            Job::TrimHeap => {
                // The loop's own work (driver.rs runs it inline).
                crate::heap_trim::trim();
                return;
            }
            Job::Monitor(op) => {
                match &self.monitor {
                    Some(m) => offer(m, op, "MixMonitor"),
                    None => log::error!("MixMonitor: no writer thread; a write was dropped"),
                }
                return;
            }
            Job::Db(op) => {
                if let Some(db) = &mut self.db {
                    db.push(op, now);
                }
                return;
            }
            Job::Resolve { id, host, port } => {
                let (tx, waker) = (self.done_tx.clone(), self.waker.clone());
                let spawned = std::thread::Builder::new()
                    .name("resolve".into())
                    .spawn(move || {
                        let ip = crate::resolve::first_addr(&host, port).map(|a| a.ip());
                        let _ = tx.send((id, JobOutcome::Resolved(ip)));
                        let _ = waker.wake();
                    });
                if spawned.is_err() {
                    let _ = self.done_tx.send((id, JobOutcome::Resolved(None)));
                    let _ = self.waker.wake();
                }
                return;
            }
            Job::Store(op) => {
                if let Some(d) = &mut self.disk {
                    d.push(crate::store_disk::Write::Store(op), now);
                }
                return;
            }
            Job::Cdr(r, csv) => {
                if let Some(d) = &mut self.disk {
                    d.push(crate::store_disk::Write::Cdr(r, csv), now);
                }
                return;
            }
            Job::WriteFile { path, bytes } => {
                let spawned = std::thread::Builder::new()
                    .name("record".into())
                    .spawn(move || {
                        // The binary's side of the sans-IO line: it writes files.
                        #[allow(clippy::disallowed_methods)]
                        let written = std::fs::write(&path, bytes);
                        if let Err(e) = written {
                            log::warn!("Record: cannot write {}: {e}", path.display());
                        }
                    });
                if let Err(e) = spawned {
                    log::warn!("Record: no thread to write the file: {e}");
                }
                return;
            }
        };
        let tx = self.done_tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("job-{}", id.0))
            .spawn(move || {
                let outcome = if capture {
                    JobOutcome::Output(run_captured(&command, timeout))
                } else {
                    run(&command, timeout)
                };
                let _ = tx.send((id, outcome));
                let _ = waker.wake();
            });
        if spawned.is_err() {
            let _ = self.done_tx.send((id, JobOutcome::Failed));
            let _ = self.waker.wake();
        }
    }

    /// Where helper threads post outcomes (the process AGI sessions').
    pub fn done_sender(&self) -> Sender<(JobId, JobOutcome)> {
        self.done_tx.clone()
    }

    /// Outcomes that arrived since the last call.
    pub fn finished(&self) -> impl Iterator<Item = (JobId, JobOutcome)> + '_ {
        self.done_rx.try_iter()
    }
}

/// Runs `command` to its end or its timeout.
#[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: a clock
pub fn run(command: &str, timeout: Duration) -> JobOutcome {
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            log::warn!("System(): cannot run /bin/sh: {e}");
            return JobOutcome::Failed;
        }
    };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return status.code().map_or(JobOutcome::Failed, JobOutcome::Exited);
            }
            Ok(None) if std::time::Instant::now() >= deadline => {
                log::warn!("System(): '{command}' still running after {timeout:?}: killed");
                let _ = child.kill();
                let _ = child.wait();
                return JobOutcome::Failed;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return JobOutcome::Failed,
        }
    }
}

/// Runs `command` for `SHELL()`: its standard output (the first `SHELL_MAX` bytes; the rest
/// is read and dropped), or None when it could not run or ran past `timeout` (then killed).
#[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: a clock
fn run_captured(command: &str, timeout: Duration) -> Option<String> {
    use std::io::Read;
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| log::warn!("SHELL(): cannot run /bin/sh: {e}"))
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    // A reader of its own: the pipe may outlive the command (a background child holds it).
    let _ = std::thread::Builder::new()
        .name("shell-read".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = SHELL_MAX.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            let _ = tx.send(kept);
        });
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() >= deadline => {
                log::warn!("SHELL(): '{command}' still running after {timeout:?}: killed");
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
    let kept = rx
        .recv_timeout(Duration::from_millis(500))
        .unwrap_or_default();
    Some(String::from_utf8_lossy(&kept).into_owned())
}

/// Changes queued for one writer thread at most: a disk that stalls while traffic goes on
/// costs at most this many queued operations, not unbounded memory.
pub const WRITER_QUEUE: usize = 1_024;

/// Hands `op` to a writer thread; when its queue is full (the disk is not keeping up) the
/// change is dropped and said so, and the loop never waits.
fn offer<T>(tx: &SyncSender<T>, op: T, what: &str) {
    match tx.try_send(op) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            log::warn!("{what}: the disk is not keeping up ({WRITER_QUEUE} changes queued); a change was not persisted")
        }
        Err(TrySendError::Disconnected(_)) => {
            log::error!("{what}: the writer thread has stopped; a change was not persisted")
        }
    }
}
