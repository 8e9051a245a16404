//! The binary's process AGI: each session the engine opens (`AgiOp::Open` with a program)
//! runs on helper threads — one owns the child (spawn, SIGHUP, kill, exit status), one writes
//! its stdin, one reads its stdout line by line — and what the script sends comes back to the
//! loop as `JobOutcome::Agi` through the jobs channel and its `mio::Waker`. The loop never
//! waits for a script; FastAGI sessions are on the loop itself (`fastagi_driver.rs`).
//!
//! Bounds: a line is cut at `AGI_LINE_MAX` bytes, a session's output at `agi::INPUT_MAX`
//! (then the child is killed); a child still running [`GRACE`] after its session closed is
//! killed. Reading list: Asterisk `res/res_agi.c` (`launch_script`: `astagidir`, the
//! `AST_*` environment, SIGHUP).

use mio::Waker;
use sipbox::dialplan::agi::INPUT_MAX;
use sipbox::engine::{AgiEvent, JobId, JobOutcome, AGI_LINE_MAX};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

/// How long a script may go on after its session closed (it got SIGHUP or EOF on stdin).
pub const GRACE: Duration = Duration::from_secs(2);

/// What a session's owner thread is told.
enum Msg {
    Send(Vec<u8>),
    Close {
        hangup: bool,
        sighup: bool,
    },
    /// The script closed its stdout.
    Eof,
    /// The script sent more than a session may.
    Overflow,
}

/// The places a script is told about (`AST_AGI_DIR`, ...) and where relative names resolve.
#[derive(Debug, Clone)]
pub struct Places {
    /// `astagidir`.
    pub agi: PathBuf,
    /// The rest, as `AST_*` variables.
    pub env: Vec<(&'static str, PathBuf)>,
}

/// A running process session, as the loop holds it.
pub struct ProcessSession {
    tx: Sender<Msg>,
    /// The child's pid once started (0 before).
    pid: Arc<AtomicU32>,
}

impl ProcessSession {
    /// Starts `script` with `args` for session `id`; its news goes to `done`.
    pub fn start(
        id: JobId,
        script: &str,
        args: Vec<String>,
        places: &Places,
        done: Sender<(JobId, JobOutcome)>,
        waker: Arc<Waker>,
    ) -> ProcessSession {
        let (tx, rx) = channel();
        let path = resolve(&places.agi, script);
        let env = places.env.clone();
        let agi_dir = places.agi.clone();
        let own_tx = tx.clone();
        let post = Post { id, done, waker };
        let pid = Arc::new(AtomicU32::new(0));
        let child_pid = pid.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("agi-{}", id.0))
            .spawn(move || {
                let start = Start {
                    path,
                    args,
                    agi_dir,
                    env,
                };
                own(start, rx, own_tx, post.clone_ref(), child_pid)
            });
        if spawned.is_err() {
            log::warn!("AGI: no thread for the script");
        }
        ProcessSession { tx, pid }
    }

    /// sipbox stops: the script is killed now (its owner thread would not outlive the
    /// process to do it).
    pub fn kill_now(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid != 0 {
            signal(pid, "KILL");
        }
    }

    /// Hands bytes to the script's stdin.
    pub fn send(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(Msg::Send(bytes));
    }

    /// Ends the session (SIGHUP first when the channel hung up and `sighup`).
    pub fn close(&self, hangup: bool, sighup: bool) {
        let _ = self.tx.send(Msg::Close { hangup, sighup });
    }
}

/// Posts a session's events to the loop.
struct Post {
    id: JobId,
    done: Sender<(JobId, JobOutcome)>,
    waker: Arc<Waker>,
}

impl Post {
    fn event(&self, ev: AgiEvent) {
        let _ = self.done.send((self.id, JobOutcome::Agi(ev)));
        let _ = self.waker.wake();
    }

    fn clone_ref(&self) -> Post {
        Post {
            id: self.id,
            done: self.done.clone(),
            waker: self.waker.clone(),
        }
    }
}

/// A relative name lives in `astagidir` (res_agi.c prefixes `ast_config_AST_AGI_DIR`).
fn resolve(agi_dir: &Path, script: &str) -> PathBuf {
    let p = Path::new(script);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        agi_dir.join(p)
    }
}

/// What the owner thread starts.
struct Start {
    path: PathBuf,
    args: Vec<String>,
    agi_dir: PathBuf,
    env: Vec<(&'static str, PathBuf)>,
}

/// The owner thread: spawns the child, feeds the writer, ends the child.
#[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: the disk
fn own(start: Start, rx: Receiver<Msg>, own_tx: Sender<Msg>, post: Post, pid: Arc<AtomicU32>) {
    let Start {
        path,
        args,
        agi_dir,
        env,
    } = start;
    if !path.exists() {
        return post.event(AgiEvent::NotFound);
    }
    let mut cmd = Command::new(&path);
    cmd.args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("AST_AGI_DIR", &agi_dir);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            log::warn!("AGI: failed to execute '{}': {e}", path.display());
            return post.event(AgiEvent::Failed);
        }
    };
    pid.store(child.id(), Ordering::SeqCst);
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return post.event(AgiEvent::Failed);
    };
    let (wtx, wrx) = channel::<Vec<u8>>();
    let _ = std::thread::Builder::new()
        .name("agi-write".into())
        .spawn(move || write_all(stdin, wrx));
    let reader_post = post.clone_ref();
    let _ = std::thread::Builder::new()
        .name("agi-read".into())
        .spawn(move || read_lines(stdout, reader_post, own_tx));
    let mut wtx = Some(wtx);
    loop {
        let msg = rx.recv();
        if !matches!(msg, Ok(Msg::Send(_))) {
            // Reaped below: the pid must not be signalled once it may be reused.
            pid.store(0, Ordering::SeqCst);
        }
        match msg {
            Ok(Msg::Send(bytes)) => {
                if let Some(w) = &wtx {
                    let _ = w.send(bytes);
                }
            }
            Ok(Msg::Close { hangup, sighup }) => {
                if hangup && sighup {
                    signal(child.id(), "HUP");
                }
                drop(wtx.take());
                end_child(&mut child, GRACE);
                return;
            }
            Ok(Msg::Eof) => {
                let exit = end_child(&mut child, GRACE);
                return post.event(AgiEvent::Closed { exit });
            }
            Ok(Msg::Overflow) => {
                let _ = child.kill();
                let _ = child.wait();
                return post.event(AgiEvent::Failed);
            }
            Err(_) => {
                // The loop dropped the session without closing it (sipbox stops).
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
        }
    }
}

/// Sends the script `SIG{name}`. `#![forbid(unsafe_code)]` leaves no `kill(2)` here: the
/// shell's `kill` builtin sends it.
fn signal(pid: u32, name: &str) {
    let _ = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("kill -{name} {pid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits up to `grace` for the child to exit, then kills it; its exit status when it exited.
#[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: a clock
fn end_child(child: &mut Child, grace: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if std::time::Instant::now() >= deadline => {
                log::warn!("AGI: script {} still running: killed", child.id());
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
}

fn write_all(mut stdin: ChildStdin, rx: Receiver<Vec<u8>>) {
    for bytes in rx {
        if stdin
            .write_all(&bytes)
            .and_then(|()| stdin.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Reads the script's lines (each cut at `AGI_LINE_MAX`), posting each; then tells the
/// owner the output ended (or overflowed).
fn read_lines(stdout: impl Read, post: Post, owner: Sender<Msg>) {
    let mut r = BufReader::with_capacity(AGI_LINE_MAX, stdout);
    let mut total = 0usize;
    loop {
        match read_line(&mut r, AGI_LINE_MAX) {
            Ok(None) => break,
            Ok(Some((line, raw_len))) => {
                total = total.saturating_add(raw_len);
                if total > INPUT_MAX {
                    let _ = owner.send(Msg::Overflow);
                    return;
                }
                post.event(AgiEvent::Line(line));
            }
            Err(_) => break,
        }
    }
    let _ = owner.send(Msg::Eof);
}

/// One line without its `\n` (and `\r`), cut at `max` bytes (the rest of a longer line is
/// read and dropped); with the bytes it took. None at EOF.
pub fn read_line(r: &mut impl BufRead, max: usize) -> std::io::Result<Option<(String, usize)>> {
    let mut line = Vec::new();
    let mut taken = 0usize;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            if taken == 0 {
                return Ok(None);
            }
            break;
        }
        let (chunk, end) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = max.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = end.unwrap_or(buf.len());
        taken += used;
        r.consume(used);
        if end.is_some() {
            break;
        }
        if taken > INPUT_MAX {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some((String::from_utf8_lossy(&line).into_owned(), taken)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_and_bounded() {
        let long = "x".repeat(5000);
        let text = format!("ANSWER\r\n{long}\nNOOP");
        let mut r = BufReader::with_capacity(64, text.as_bytes());
        let (a, n) = read_line(&mut r, 2048).unwrap().unwrap();
        assert_eq!((a.as_str(), n), ("ANSWER", 8));
        let (b, n) = read_line(&mut r, 2048).unwrap().unwrap();
        assert_eq!((b.len(), n), (2048, 5001));
        let (c, _) = read_line(&mut r, 2048).unwrap().unwrap();
        assert_eq!(c, "NOOP");
        assert!(read_line(&mut r, 2048).unwrap().is_none());
    }
}
