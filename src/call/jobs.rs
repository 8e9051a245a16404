//! Jobs the calls hand to the driver (System() and TrySystem() commands) and whose call waits
//! for each: bounded in number, so a dialplan loop cannot fork without end. A job whose call
//! ended meanwhile completes into nothing (its process still ends by its timeout).

use crate::flow::{Job, JobId, Outbox};
use crate::handle::CallHandle;
use std::collections::HashMap;
use std::time::Duration;

/// Jobs running at once at most; a System() beyond that fails at once (SYSTEMSTATUS=FAILURE).
pub const MAX_JOBS: usize = 16;
/// AGI sessions open at once at most; an AGI() beyond that fails at once (AGISTATUS=FAILURE).
pub const MAX_AGI: usize = 64;
/// How long a command may run before the driver kills it.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(60);

/// Running jobs and the calls waiting for them.
#[derive(Debug, Default)]
pub struct Jobs {
    next: u32,
    owners: HashMap<JobId, CallHandle>,
    /// The AGI sessions among `owners`.
    agi: std::collections::HashSet<JobId>,
}

impl Jobs {
    /// Queues `command` for `call`; None when [`MAX_JOBS`] are running.
    pub fn start(
        &mut self,
        out: &mut Outbox,
        call: CallHandle,
        command: String,
        capture: bool,
    ) -> Option<JobId> {
        if self.owners.len() - self.agi.len() >= MAX_JOBS {
            return None;
        }
        let id = self.new_id(call);
        out.job(Job::Run {
            id,
            command,
            timeout: JOB_TIMEOUT,
            capture,
        });
        Some(id)
    }

    fn new_id(&mut self, call: CallHandle) -> JobId {
        // Id 0 is the engine's own externhost lookup; an id still in use is skipped.
        loop {
            self.next = self.next.wrapping_add(1).max(1);
            if !self.owners.contains_key(&JobId(self.next)) {
                break;
            }
        }
        let id = JobId(self.next);
        self.owners.insert(id, call);
        id
    }

    /// A new AGI session for `call`; None when [`MAX_AGI`] are open.
    pub fn open_agi(&mut self, call: CallHandle) -> Option<JobId> {
        if self.agi.len() >= MAX_AGI {
            return None;
        }
        let id = self.new_id(call);
        self.agi.insert(id);
        Some(id)
    }

    /// The call an AGI session `id` belongs to (still open).
    pub fn owner(&self, id: JobId) -> Option<CallHandle> {
        self.owners.get(&id).copied()
    }

    /// The call that waits for job `id`, which is over.
    pub fn finish(&mut self, id: JobId) -> Option<CallHandle> {
        self.agi.remove(&id);
        self.owners.remove(&id)
    }

    /// Jobs running.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// True when none runs.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}
