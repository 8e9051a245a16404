//! Jobs the calls hand to the driver (System() and TrySystem() commands) and whose call waits
//! for each: bounded in number, so a dialplan loop cannot fork without end. A job whose call
//! ended meanwhile completes into nothing (its process still ends by its timeout).

use crate::flow::{Job, JobId, Outbox};
use crate::handle::CallHandle;
use std::collections::HashMap;
use std::time::Duration;

/// Jobs running at once at most; a System() beyond that fails at once (SYSTEMSTATUS=FAILURE).
pub const MAX_JOBS: usize = 16;
/// How long a command may run before the driver kills it.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(60);

/// Running jobs and the calls waiting for them.
#[derive(Debug, Default)]
pub struct Jobs {
    next: u32,
    owners: HashMap<JobId, CallHandle>,
}

impl Jobs {
    /// Queues `command` for `call`; None when [`MAX_JOBS`] are running.
    pub fn start(&mut self, out: &mut Outbox, call: CallHandle, command: String) -> Option<JobId> {
        if self.owners.len() >= MAX_JOBS {
            return None;
        }
        // Id 0 is the engine's own externhost lookup.
        self.next = self.next.wrapping_add(1).max(1);
        let id = JobId(self.next);
        self.owners.insert(id, call);
        out.job(Job::Run {
            id,
            command,
            timeout: JOB_TIMEOUT,
        });
        Some(id)
    }

    /// The call that waits for job `id`, which is over.
    pub fn finish(&mut self, id: JobId) -> Option<CallHandle> {
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
