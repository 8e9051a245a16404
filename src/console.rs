//! `sipbox -rx 'COMMAND'` and `sipbox -r`: the client side of the control socket
//! (Asterisk's remote console, `main/asterisk.c` `ast_remotecontrol`).
//!
//! `-rx` sends one command, prints the answer (up to the NUL that ends it) and exits 0.
//! `-r` is a console: it asks for the live log (`!console N`), then reads commands with
//! line editing, history and tab completion of command words (rustyline) when stdin is a
//! terminal, or line by line from a pipe (each answer awaited before the next line is sent).

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, ExternalPrinter, Helper};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

/// How long a command's answer may take.
const ANSWER_WAIT: Duration = Duration::from_secs(30);

fn connect(socket: &Path) -> Option<UnixStream> {
    match UnixStream::connect(socket) {
        Ok(s) => Some(s),
        Err(_) => {
            // Asterisk's words, which scripts look for.
            eprintln!(
                "Unable to connect to remote asterisk (does {} exist?)",
                socket.display()
            );
            None
        }
    }
}

/// `-rx COMMAND`.
pub fn execute(socket: &Path, command: &str) -> ExitCode {
    let Some(mut s) = connect(socket) else {
        return ExitCode::FAILURE;
    };
    let _ = s.set_read_timeout(Some(ANSWER_WAIT));
    let line = command.replace(['\n', '\r'], " ");
    if s.write_all(format!("{line}\n").as_bytes()).is_err() {
        eprintln!("sipbox: the control socket closed");
        return ExitCode::FAILURE;
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Some(end) = buf[..n].iter().position(|&b| b == 0) {
                    answer.extend_from_slice(&buf[..end]);
                    break;
                }
                answer.extend_from_slice(&buf[..n]);
            }
            Err(e) => {
                eprintln!("sipbox: no answer: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&answer);
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// Completes command words from sipbox's command table.
struct Words;

impl Completer for Words {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head.rfind(char::is_whitespace).map(|i| i + 1).unwrap_or(0);
        let found = sipbox::cli::complete(head)
            .into_iter()
            .map(|w| Pair {
                display: w.clone(),
                replacement: format!("{w} "),
            })
            .collect();
        Ok((start, found))
    }
}

impl Hinter for Words {
    type Hint = String;
}
impl Highlighter for Words {}
impl Validator for Words {}
impl Helper for Words {}

/// Reads the socket: answers (ended by NUL) and log lines go to `print`; each answer's end
/// is signalled on `done`. Returns when the socket closes.
fn pump(mut s: UnixStream, mut print: impl FnMut(&str), done: mpsc::Sender<()>) {
    let mut buf = [0u8; 8192];
    let mut pending = Vec::new();
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == 0 {
                print(&String::from_utf8_lossy(&pending));
                pending.clear();
                let _ = done.send(());
            } else {
                pending.push(b);
                if b == b'\n' && pending.len() > 1 {
                    print(&String::from_utf8_lossy(&pending));
                    pending.clear();
                }
            }
        }
    }
    if !pending.is_empty() {
        print(&String::from_utf8_lossy(&pending));
    }
}

/// `-r [-v...]`.
pub fn console(socket: &Path, verbose: Option<u8>) -> ExitCode {
    let Some(mut s) = connect(socket) else {
        return ExitCode::FAILURE;
    };
    let hello = match verbose {
        Some(v) => format!("!console {v}\n"),
        None => "!console\n".to_string(),
    };
    if s.write_all(hello.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    let Ok(reader) = s.try_clone() else {
        return ExitCode::FAILURE;
    };
    let (done_tx, done) = mpsc::channel();
    let (closed_tx, closed) = mpsc::channel::<()>();
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        std::thread::spawn(move || {
            pump(
                reader,
                |t| {
                    let mut o = std::io::stdout().lock();
                    let _ = o.write_all(t.as_bytes());
                    let _ = o.flush();
                },
                done_tx,
            );
            let _ = closed_tx.send(());
        });
        for line in stdin.lock().lines().map_while(Result::ok) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if matches!(line, "exit" | "quit") {
                break;
            }
            if s.write_all(format!("{line}\n").as_bytes()).is_err()
                || done.recv_timeout(ANSWER_WAIT).is_err()
            {
                eprintln!("Disconnected from sipbox");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    let Ok(mut rl) = rustyline::Editor::<Words, rustyline::history::DefaultHistory>::new() else {
        eprintln!("sipbox: cannot set up the terminal");
        return ExitCode::FAILURE;
    };
    rl.set_helper(Some(Words));
    let printer = rl.create_external_printer().ok();
    std::thread::spawn(move || {
        let mut printer = printer;
        pump(
            reader,
            |t| match printer.as_mut() {
                Some(p) => {
                    let _ = p.print(t.trim_end_matches('\n').to_string());
                }
                None => print!("{t}"),
            },
            done_tx,
        );
        let _ = closed_tx.send(());
    });
    let prompt = "sipbox*CLI> ";
    loop {
        if closed.try_recv().is_ok() {
            eprintln!("Disconnected from sipbox");
            return ExitCode::SUCCESS;
        }
        match rl.readline(prompt) {
            Ok(line) => {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(line);
                if matches!(line, "exit" | "quit") {
                    return ExitCode::SUCCESS;
                }
                if s.write_all(format!("{line}\n").as_bytes()).is_err() {
                    eprintln!("Disconnected from sipbox");
                    return ExitCode::SUCCESS;
                }
                let _ = done.recv_timeout(ANSWER_WAIT);
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => return ExitCode::SUCCESS,
        }
    }
}
