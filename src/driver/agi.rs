//! The driver's AGI side: the engine's `AgiOp`s go to a process session (helper threads,
//! `agi_driver.rs`) or a FastAGI socket on this poll (`fastagi_driver.rs`); what a FastAGI
//! socket reads goes back to the engine at once.

use super::{clock, Driver, Source};

impl Driver {
    /// Where `AGI(name)` finds scripts and the places they are told of (`AST_*`).
    pub fn set_agi_places(&mut self, dirs: &sipbox::config::Directories) {
        self.agi_places = crate::agi_driver::Places {
            agi: dirs.agi.clone(),
            env: vec![
                ("AST_SPOOL_DIR", dirs.spool.clone()),
                ("AST_MONITOR_DIR", dirs.spool.join("monitor")),
                ("AST_VAR_DIR", dirs.db.clone()),
                ("AST_DATA_DIR", dirs.data.clone()),
                ("AST_LOG_DIR", dirs.log.clone()),
                ("AST_RUN_DIR", dirs.run.clone()),
            ],
        };
    }

    /// Carries out an AGI transport operation; failures to report are kept for the engine.
    pub(super) fn agi_op(&mut self, op: sipbox::engine::AgiOp) {
        use sipbox::engine::{AgiOp, AgiTarget};
        match op {
            AgiOp::Open {
                id,
                target: AgiTarget::Process { script, args },
            } => {
                let session = crate::agi_driver::ProcessSession::start(
                    id,
                    &script,
                    args,
                    &self.agi_places,
                    self.jobs.done_sender(),
                    self.jobs.waker(),
                );
                self.procs.insert(id, session);
            }
            AgiOp::Open {
                id,
                target: AgiTarget::Fast { host, port },
            } => {
                let key = self.sources.insert(Source::Agi(id));
                let waker = self.jobs.waker();
                if let Some(ev) = self
                    .fast
                    .open(self.poll.registry(), id, &host, port, key, &waker)
                {
                    self.sources.remove(key);
                    self.agi_events.push((id, ev));
                }
            }
            AgiOp::Send { id, bytes } => {
                if let Some(p) = self.procs.get(&id) {
                    p.send(bytes);
                } else if let Some(ev) = self.fast.send(id, &bytes) {
                    if let Some(key) = self.fast.close(self.poll.registry(), id, false) {
                        self.sources.remove(key);
                    }
                    self.agi_events.push((id, ev));
                }
            }
            AgiOp::Close { id, hangup, sighup } => {
                if let Some(p) = self.procs.remove(&id) {
                    p.close(hangup, sighup);
                } else if let Some(key) = self.fast.close(self.poll.registry(), id, hangup) {
                    self.sources.remove(key);
                }
            }
        }
    }

    /// A FastAGI socket is ready: its lines (and end) go to the engine.
    pub(super) fn agi_ready(&mut self, id: sipbox::engine::JobId, readable: bool, writable: bool) {
        let (events, freed) = self
            .fast
            .ready(self.poll.registry(), id, readable, writable);
        if let Some(key) = freed {
            self.sources.remove(key);
        }
        for ev in events {
            self.engine
                .job_done(clock(), id, sipbox::engine::JobOutcome::Agi(ev));
        }
        self.flush();
    }

    /// sipbox stops: AGI scripts still running are killed (their helper threads end with
    /// the process).
    pub(super) fn stop_agi(&mut self) {
        for p in self.procs.values() {
            p.kill_now();
        }
        self.procs.clear();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop_agi();
    }
}
