//! How the rest of sipbox reaches the queue table: [`QueueRequest`] (what `Queue()` asks of
//! the call layer) and the [`Dialplan`](super::super::Dialplan) methods that lock the shared
//! state for it (the applications, the functions, the call layer and the CLI).

use super::Queues;
use crate::config::queues_conf::QueuesConf;
use crate::presence::DeviceState;
use std::time::Duration;

/// What `Queue()` asks of the call layer (app_queue's `queue_exec` arguments, parsed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueRequest {
    /// The queue's name as given.
    pub queue: String,
    /// `t`: the member may transfer the caller (features.conf, as Dial's `t`).
    pub callee_transfer: bool,
    /// `T`: the caller may transfer.
    pub caller_transfer: bool,
    /// `n`: no retries; leave after one round of the members.
    pub no_retry: bool,
    /// `r`: ringing instead of music on hold.
    pub ring: bool,
    /// `c`: go on in the dialplan when the member hangs up.
    pub continue_after: bool,
    /// The Queue() timeout (None: wait until answered or the queue gives up).
    pub timeout: Option<Duration>,
    /// The position asked for (0: none).
    pub position: usize,
    /// `${QUEUE_PRIO}`.
    pub prio: i32,
    /// `${QUEUE_MAX_PENALTY}`, `${QUEUE_MIN_PENALTY}`.
    pub penalties: super::Penalties,
    /// The caller's channel name, for `queue show`.
    pub channel: String,
}

impl super::super::Dialplan {
    /// Runs `f` on the queue table (and the AstDB beside it, for persistent members); the
    /// dynamic members AstDB holds are read at the first look.
    pub fn with_queues<R>(
        &self,
        f: impl FnOnce(&mut Queues, &mut super::super::astdb::AstDb) -> R,
    ) -> R {
        let mut guard = super::super::shared::lock(&self.shared);
        let s = &mut *guard;
        s.queues.read_persisted(&mut s.astdb);
        f(&mut s.queues, &mut s.astdb)
    }

    /// The device state of every member's state interface (of every queue), as the
    /// dialplan's functions and the CLI see devices; looked up outside the queue lock.
    pub fn queue_member_states(&self) -> std::collections::HashMap<String, DeviceState> {
        let ifaces: Vec<String> = self.with_queues(|q, _| {
            q.all()
                .flat_map(|s| s.members.iter().map(|m| m.state_interface.clone()))
                .collect()
        });
        ifaces
            .into_iter()
            .map(|i| {
                let s = self.device_state(&i);
                (i.to_ascii_lowercase(), s)
            })
            .collect()
    }

    /// The AstDB was (re)loaded: persistent members are read from it at the next look.
    pub fn queues_reread_persisted(&self) {
        super::super::shared::lock(&self.shared)
            .queues
            .persisted_read = false;
    }

    /// Installs queues.conf (at start and at a reload: waiting callers stay).
    pub fn set_queues(&self, conf: QueuesConf) {
        super::super::shared::lock(&self.shared)
            .queues
            .set_conf(conf);
    }
}
