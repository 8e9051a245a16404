//! The binary's logger: stderr as before (env_logger, `RUST_LOG`), plus Asterisk's verbose
//! lines (`sipbox::verbose!`) at the `-v` level, plus a bounded queue of lines for the remote
//! consoles (`sipbox -r`), which the driver hands to each console at its own verbosity.

use env_logger::Logger;
use log::{Level, LevelFilter, Log, Metadata, Record};
use sipbox::verbose;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// Lines kept for consoles between two turns of the loop; older ones are dropped.
const QUEUE: usize = 4096;

/// One line for the consoles.
pub struct Line {
    /// Its verbose level (None: a warning, notice or debug line).
    pub verbose: Option<u8>,
    /// Its log level (debug lines go only to consoles whose debug level asks for them).
    pub level: Level,
    /// The text, prefixed as Asterisk prints it.
    pub text: String,
}

/// The logger.
pub struct Sink {
    env: Logger,
    stderr_verbose: AtomicU8,
    debug: AtomicU8,
    console_verbose: AtomicU8,
    consoles: AtomicBool,
    queue: Mutex<VecDeque<Line>>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the logger: `default_filter` unless `RUST_LOG` says otherwise, verbose lines up to
/// `verbose` on stderr.
pub fn install(default_filter: &str, verbose: u8, debug: u8) {
    let env =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter))
            .build();
    let sink = SINK.get_or_init(|| Sink {
        env,
        stderr_verbose: AtomicU8::new(verbose),
        debug: AtomicU8::new(debug),
        console_verbose: AtomicU8::new(0),
        consoles: AtomicBool::new(false),
        queue: Mutex::new(VecDeque::new()),
    });
    if log::set_logger(sink).is_ok() {
        sink.refresh();
    }
}

/// The installed logger.
pub fn get() -> Option<&'static Sink> {
    SINK.get()
}

fn debug_allows(debug: u8, level: Level) -> bool {
    match level {
        Level::Debug => debug >= 1,
        Level::Trace => debug >= 5,
        _ => true,
    }
}

impl Sink {
    /// The verbosity of stderr.
    pub fn stderr_verbose(&self) -> u8 {
        self.stderr_verbose.load(Ordering::Relaxed)
    }

    /// Sets the verbosity of stderr (`core set verbose` from `-rx`).
    pub fn set_stderr_verbose(&self, v: u8) {
        self.stderr_verbose.store(v, Ordering::Relaxed);
        self.refresh();
    }

    /// The debug level (`core set debug`).
    pub fn debug(&self) -> u8 {
        self.debug.load(Ordering::Relaxed)
    }

    /// Sets the debug level.
    pub fn set_debug(&self, d: u8) {
        self.debug.store(d, Ordering::Relaxed);
        self.refresh();
    }

    /// Tells the logger which consoles listen: `Some(v)` the highest console verbosity,
    /// None no console.
    pub fn set_consoles(&self, highest: Option<u8>) {
        self.consoles.store(highest.is_some(), Ordering::Relaxed);
        self.console_verbose
            .store(highest.unwrap_or(0), Ordering::Relaxed);
        if highest.is_none() {
            self.queue.lock().map(|mut q| q.clear()).ok();
        }
        self.refresh();
    }

    /// Takes the lines queued for consoles.
    pub fn take_lines(&self) -> Vec<Line> {
        match self.queue.lock() {
            Ok(mut q) => q.drain(..).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// True when a console line of this debug level is wanted by a console at `debug`.
    pub fn console_wants(line: &Line, verbose: u8, debug: u8) -> bool {
        match line.verbose {
            Some(v) => v <= verbose,
            None => line.level <= Level::Info || debug_allows(debug, line.level),
        }
    }

    fn verbose_max(&self) -> u8 {
        let c = if self.consoles.load(Ordering::Relaxed) {
            self.console_verbose.load(Ordering::Relaxed)
        } else {
            0
        };
        self.stderr_verbose().max(c)
    }

    /// The log crate's global level: the most any place wants.
    fn refresh(&self) {
        let mut max = self.env.filter().max(LevelFilter::Info);
        let d = self.debug();
        if self.consoles.load(Ordering::Relaxed) && d >= 1 {
            max = max.max(if d >= 5 {
                LevelFilter::Trace
            } else {
                LevelFilter::Debug
            });
        }
        log::set_max_level(max);
    }

    fn queue(&self, line: Line) {
        if let Ok(mut q) = self.queue.lock() {
            if q.len() >= QUEUE {
                q.pop_front();
            }
            q.push_back(line);
        }
    }
}

impl Log for Sink {
    fn enabled(&self, m: &Metadata) -> bool {
        if let Some(v) = verbose::level_of(m.target()) {
            return v <= self.verbose_max();
        }
        self.env.enabled(m)
            || (self.consoles.load(Ordering::Relaxed) && debug_allows(self.debug(), m.level()))
    }

    fn log(&self, r: &Record) {
        let consoles = self.consoles.load(Ordering::Relaxed);
        if let Some(v) = verbose::level_of(r.target()) {
            let to_stderr = v <= self.stderr_verbose();
            let to_consoles = consoles && v <= self.console_verbose.load(Ordering::Relaxed);
            if !to_stderr && !to_consoles {
                return;
            }
            let text = format!("{}{}", verbose::prefix(v), r.args());
            if to_stderr {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
            if to_consoles {
                self.queue(Line {
                    verbose: Some(v),
                    level: r.level(),
                    text,
                });
            }
            return;
        }
        let env_ok = self.env.matches(r);
        if env_ok {
            self.env.log(r);
        }
        if consoles && (env_ok || debug_allows(self.debug(), r.level())) {
            // Asterisk's console words for the levels.
            let word = match r.level() {
                Level::Error => "ERROR",
                Level::Warn => "WARNING",
                Level::Info => "NOTICE",
                Level::Debug => "DEBUG",
                Level::Trace => "TRACE",
            };
            self.queue(Line {
                verbose: None,
                level: r.level(),
                text: format!("{word}: {}", r.args()),
            });
        }
    }

    fn flush(&self) {
        self.env.flush();
    }
}
