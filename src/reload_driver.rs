//! The binary's reload: SIGHUP (and the CLI's `sip reload`, `dialplan reload`, `core reload`,
//! `module reload ...`) read the config files again on a helper thread, so the loop never
//! waits on the disk; the loop then applies the result with [`Engine::reload_config`] in one
//! step, between two datagrams (new or changed `host=name` entries are then looked up by the
//! engine's own resolver, as at start).
//!
//! A config with an error changes nothing: the error (`file:line`) is logged and answered to
//! whoever asked. One reload runs at a time; requests arriving meanwhile are merged into one
//! more reload after it (of the widest scope asked), as Asterisk queues a reload requested
//! while one is in progress.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use mio::Waker;
use sipbox::config::{Config, ConfigError};
use sipbox::engine::{Engine, ReloadScope};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who asked for a reload, so the answer finds its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    /// SIGHUP: the answer goes to the log only.
    Signal,
    /// A control socket client (slab key and serial): it gets the answer too.
    Ctl { key: usize, serial: u64 },
}

/// What the helper thread read: the config and, for a full reload, what of the disk the
/// other modules need (so the loop never lists a directory).
type Read = Result<(Config, Option<DiskParts>), ConfigError>;

/// The disk side of a full reload, read on the helper thread.
struct DiskParts {
    /// musiconhold.conf's classes with their files listed, and the files read.
    moh: (sipbox::media::moh::MohLibrary, Vec<(String, Vec<u8>)>),
    /// The spool of mailboxes voicemail.conf now has and did not have.
    new_boxes: sipbox::voicemail::Index,
}

/// Lists and reads what `new` needs beyond the config files (`old`: the config in force).
fn disk_parts(old: &Config, new: &Config) -> DiskParts {
    DiskParts {
        moh: crate::moh_disk::scan(&new.moh, &new.dirs.data),
        new_boxes: crate::voicemail_disk::scan_new(
            &new.dirs.spool.join("voicemail"),
            &new.voicemail,
            &old.voicemail,
        ),
    }
}

/// Reads configs off the loop and applies them on it.
pub struct ReloadRunner {
    /// The config in force: where the next reload reads from.
    cfg: Config,
    tx: Sender<(ReloadScope, Read, Duration)>,
    rx: Receiver<(ReloadScope, Read, Duration)>,
    waker: Arc<Waker>,
    /// Who waits for the reload running now (empty: none runs).
    running: Vec<Requester>,
    /// A reload asked for while one runs.
    queued: Option<(ReloadScope, Vec<Requester>)>,
}

impl ReloadRunner {
    /// A runner reading where `cfg` came from, waking the poll through `waker` when done.
    pub fn new(mut cfg: Config, waker: Arc<Waker>) -> ReloadRunner {
        // Only where to read again is needed (the engine owns what was read).
        cfg.shed();
        let (tx, rx) = channel();
        ReloadRunner {
            cfg,
            tx,
            rx,
            waker,
            running: Vec::new(),
            queued: None,
        }
    }

    /// True while a reload is being read or waits to be applied.
    pub fn is_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// The config in force (the last one applied).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Asks for a reload of `scope`.
    pub fn request(&mut self, scope: ReloadScope, who: Requester) {
        if self.running.is_empty() {
            self.running.push(who);
            self.spawn(scope);
            return;
        }
        let (s, whos) = self.queued.get_or_insert((scope, Vec::new()));
        if *s != scope {
            *s = ReloadScope::All;
        }
        whos.push(who);
    }

    // The binary's side of the sans-IO line: it times the reload with the real clock.
    #[allow(clippy::disallowed_methods)]
    fn spawn(&mut self, scope: ReloadScope) {
        log::info!("reload ({scope:?}) requested: reading the config");
        let cfg = self.cfg.clone();
        let tx = self.tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name("reload".into())
            .spawn(move || {
                let t0 = Instant::now();
                let read = cfg.reload().map(|new| {
                    let parts = (scope == ReloadScope::All).then(|| disk_parts(&cfg, &new));
                    (new, parts)
                });
                let _ = tx.send((scope, read, t0.elapsed()));
                let _ = waker.wake();
            });
        if let Err(e) = spawned {
            log::error!("reload: no thread to read the config: {e}; nothing changed");
            self.running.clear();
        }
    }

    /// Applies the reloads that were read (on the loop thread); returns each requester's
    /// answer (the summary, or the error that kept everything as it was).
    #[allow(clippy::disallowed_methods)]
    pub fn apply_finished(
        &mut self,
        engine: &mut Engine,
        now: Instant,
    ) -> Vec<(Requester, Result<String, String>)> {
        let mut answers = Vec::new();
        while let Ok((scope, read, read_time)) = self.rx.try_recv() {
            let result = match read {
                Ok((cfg, parts)) => {
                    let t0 = Instant::now();
                    match engine.reload_config(now, &cfg, scope) {
                        Ok(report) => {
                            let mut lines = report.summary();
                            if let Some(p) = parts {
                                lines.push(engine.reload_moh(p.moh.0, p.moh.1));
                                engine.adopt_voicemail_index(p.new_boxes);
                            }
                            let applied = t0.elapsed();
                            for w in &report.warnings {
                                log::warn!("{w}");
                            }
                            lines.push(format!(
                                "reload done: read in {} ms (off the loop), applied in {} ms",
                                read_time.as_millis(),
                                applied.as_millis()
                            ));
                            log::info!("{}", lines[lines.len() - 1]);
                            // The engine holds the entries and the dialplan now.
                            let mut cfg = cfg;
                            cfg.shed();
                            self.cfg = cfg;
                            Ok(lines.join("\n"))
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => {
                    engine.reload_refused();
                    Err(e.to_string())
                }
            };
            if let Err(e) = &result {
                log::error!("reload failed, nothing changed: {e}");
            }
            for who in std::mem::take(&mut self.running) {
                answers.push((who, result.clone()));
            }
            if let Some((scope, whos)) = self.queued.take() {
                self.running = whos;
                self.spawn(scope);
            }
        }
        if !answers.is_empty() {
            // The old entries and the reader's tables are freed: give their pages back.
            crate::heap_trim::trim();
        }
        answers
    }
}
