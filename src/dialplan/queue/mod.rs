//! Call queues, the state every call shares: each queue's members (queues.conf's and the
//! dynamic ones AddQueueMember adds), the callers waiting in it in order, and the counters
//! `queue show` prints. It lives in the dialplan's [`super::shared::Shared`], so the
//! applications and functions (AddQueueMember, `QUEUE_MEMBER()`) and the call layer (the
//! `Queue()` loop in `src/call/queue.rs`) see one table.
//!
//! - [`strategy`]: who rings next (`calc_metric`), whose turn it is (`is_our_turn`), whether a
//!   queue is "empty" for `joinempty`/`leavewhenempty` (`get_member_status`).
//! - `members`: AddQueueMember, RemoveQueueMember, pausing, `QUEUE_MEMBER()`'s writes.
//! - `access`: [`QueueRequest`] and the `Dialplan` methods that lock the table.
//! - `persist`: dynamic members in AstDB (`Queue/PersistentMembers/<queue>`), as
//!   `dump_queue_members` / `reload_queue_members` write and read them.
//!
//! Reading list: Asterisk `apps/app_queue.c` (`join_queue`, `leave_queue`, `add_to_queue`,
//! `remove_from_queue`, `set_member_paused`, `update_queue`, `__queues_show`).

mod access;
mod members;
mod persist;
pub mod strategy;

pub use access::QueueRequest;

use crate::config::queues_conf::{MemberDef, QueueDef, QueueGeneral, QueuesConf, MAX_MEMBERS};
use crate::presence::DeviceState;
use std::time::{Duration, SystemTime};

/// Callers waiting in one queue at most (a queue without `maxlen` is bounded here).
pub const MAX_CALLERS: usize = 1024;

/// `${QUEUESTATUS}` (app_queue's `queue_results`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueResult {
    /// No such queue.
    Unknown,
    /// The Queue() timeout passed (or `n` after one round).
    Timeout,
    /// `joinempty` kept the caller out.
    JoinEmpty,
    /// `leavewhenempty` took the caller out.
    LeaveEmpty,
    /// (Asterisk 1.4's `joinunavail`; listed for completeness.)
    JoinUnavail,
    /// (Asterisk 1.4's `leavewhenempty=strict`.)
    LeaveUnavail,
    /// `maxlen` callers were waiting.
    Full,
    /// The member hung up and `c` let the caller go on.
    Continue,
}

impl QueueResult {
    /// The `${QUEUESTATUS}` text.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueResult::Unknown => "UNKNOWN",
            QueueResult::Timeout => "TIMEOUT",
            QueueResult::JoinEmpty => "JOINEMPTY",
            QueueResult::LeaveEmpty => "LEAVEEMPTY",
            QueueResult::JoinUnavail => "JOINUNAVAIL",
            QueueResult::LeaveUnavail => "LEAVEUNAVAIL",
            QueueResult::Full => "FULL",
            QueueResult::Continue => "CONTINUE",
        }
    }
}

/// One member of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// What is dialled (`SIP/1001`).
    pub interface: String,
    /// `queue show`'s name.
    pub name: String,
    /// Whose device state counts.
    pub state_interface: String,
    /// Lower rings first.
    pub penalty: u32,
    /// PauseQueueMember: not rung.
    pub paused: bool,
    /// Added by AddQueueMember (RemoveQueueMember may take it out).
    pub dynamic: bool,
    /// The member's own ringinuse (None: the queue's).
    pub ringinuse: Option<bool>,
    /// Queue calls it took.
    pub calls: u32,
    /// When its last queue call ended (wrap-up starts there).
    pub lastcall: Option<SystemTime>,
    /// Queue calls it is talking in now.
    pub in_call: u32,
}

impl Member {
    fn from_def(d: &MemberDef, dynamic: bool) -> Member {
        Member {
            interface: d.interface.clone(),
            name: d.name.clone(),
            state_interface: d.state_interface.clone(),
            penalty: d.penalty,
            paused: false,
            dynamic,
            ringinuse: d.ringinuse,
            calls: 0,
            lastcall: None,
            in_call: 0,
        }
    }
}

/// `${QUEUE_MAX_PENALTY}` / `${QUEUE_MIN_PENALTY}`: the members a caller may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Penalties {
    /// Members above this penalty are not rung.
    pub max: Option<u32>,
    /// Members below this penalty are not rung.
    pub min: Option<u32>,
}

impl Penalties {
    /// True when a member of penalty `p` may ring for this caller.
    pub fn admits(&self, p: u32) -> bool {
        self.max.is_none_or(|m| p <= m) && self.min.is_none_or(|m| p >= m)
    }
}

/// A caller waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The call's `${UNIQUEID}`.
    pub id: String,
    /// Its channel, as `queue show` lists it.
    pub channel: String,
    /// When it joined.
    pub since: SystemTime,
    /// `${QUEUE_PRIO}`: higher waits ahead.
    pub prio: i32,
    /// Members ring for it now (it does not count against the free members).
    pub pending: bool,
    /// `linear`: the member it tries next.
    pub linpos: usize,
    /// Its penalty range.
    pub penalties: Penalties,
}

/// One queue at run time.
#[derive(Debug, Clone)]
pub struct QueueState {
    /// queues.conf's section.
    pub def: QueueDef,
    /// Configured members first, then dynamic ones, in order.
    pub members: Vec<Member>,
    /// Waiting callers, the head first.
    pub callers: Vec<Waiting>,
    /// `rrmemory`: the member to try first.
    pub rrpos: usize,
    /// Calls answered by a member.
    pub completed: u32,
    /// Callers who left before a member answered.
    pub abandoned: u32,
    /// Answered within `servicelevel`.
    pub completed_in_sl: u32,
    /// Running average hold time, seconds (app_queue's `(3·old + new) / 4`).
    pub holdtime: u64,
    /// Running average talk time, seconds.
    pub talktime: u64,
    /// Gone from queues.conf at a reload, kept while callers wait.
    pub dead: bool,
}

impl QueueState {
    fn new(def: QueueDef) -> QueueState {
        let members = def
            .members
            .iter()
            .map(|m| Member::from_def(m, false))
            .collect();
        QueueState {
            def,
            members,
            callers: Vec::new(),
            rrpos: 0,
            completed: 0,
            abandoned: 0,
            completed_in_sl: 0,
            holdtime: 0,
            talktime: 0,
            dead: false,
        }
    }

    /// The member dialled as `interface` (case-insensitive).
    pub fn member(&self, interface: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.interface.eq_ignore_ascii_case(interface.trim()))
    }

    fn member_mut(&mut self, interface: &str) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|m| m.interface.eq_ignore_ascii_case(interface.trim()))
    }

    /// Where `id` waits (1 is the head).
    pub fn position(&self, id: &str) -> Option<usize> {
        self.callers.iter().position(|c| c.id == id).map(|i| i + 1)
    }

    /// The member's ringinuse.
    pub fn ringinuse(&self, m: &Member) -> bool {
        m.ringinuse.unwrap_or(self.def.ringinuse)
    }
}

/// What AddQueueMember did (`${AQMSTATUS}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddResult {
    /// ADDED.
    Added,
    /// MEMBERALREADY.
    Already,
    /// NOSUCHQUEUE.
    NoSuchQueue,
}

/// What RemoveQueueMember did (`${RQMSTATUS}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveResult {
    /// REMOVED.
    Removed,
    /// NOTINQUEUE.
    NotInQueue,
    /// NOSUCHQUEUE.
    NoSuchQueue,
    /// NOTDYNAMIC: a queues.conf member.
    NotDynamic,
}

/// Every queue.
#[derive(Debug, Default)]
pub struct Queues {
    /// queues.conf `[general]`.
    pub general: QueueGeneral,
    queues: Vec<QueueState>,
    /// The AstDB rows of dynamic members were read (at the first look after start).
    persisted_read: bool,
}

impl Queues {
    /// queues.conf read again (or for the first time): each queue keeps its waiting callers,
    /// its dynamic members and its counters; configured members are those of the file now
    /// (one still there keeps its calls and pause); a queue gone from the file stays, dead,
    /// while callers wait in it (app_queue's `QUEUE_FLAG_DEAD`).
    pub fn set_conf(&mut self, conf: QueuesConf) {
        self.general = conf.general;
        let mut old = std::mem::take(&mut self.queues);
        for def in conf.queues {
            let mut st = QueueState::new(def);
            if let Some(i) = old
                .iter()
                .position(|q| q.def.name.eq_ignore_ascii_case(&st.def.name))
            {
                let prev = old.swap_remove(i);
                for m in st.members.iter_mut() {
                    if let Some(p) = prev.member(&m.interface).filter(|p| !p.dynamic) {
                        m.paused = p.paused;
                        m.calls = p.calls;
                        m.lastcall = p.lastcall;
                        m.in_call = p.in_call;
                    }
                }
                for d in prev.members.iter().filter(|m| m.dynamic) {
                    if st.member(&d.interface).is_none() && st.members.len() < MAX_MEMBERS {
                        st.members.push(d.clone());
                    }
                }
                st.callers = prev.callers;
                st.rrpos = prev.rrpos;
                st.completed = prev.completed;
                st.abandoned = prev.abandoned;
                st.completed_in_sl = prev.completed_in_sl;
                st.holdtime = prev.holdtime;
                st.talktime = prev.talktime;
            }
            self.queues.push(st);
        }
        for mut q in old.into_iter().filter(|q| !q.callers.is_empty()) {
            q.dead = true;
            self.queues.push(q);
        }
    }

    /// The queue named `name` (case-insensitive), dead ones only for the callers in them.
    pub fn get(&self, name: &str) -> Option<&QueueState> {
        self.queues
            .iter()
            .find(|q| q.def.name.eq_ignore_ascii_case(name.trim()))
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut QueueState> {
        self.queues
            .iter_mut()
            .find(|q| q.def.name.eq_ignore_ascii_case(name.trim()))
    }

    /// A queue a new caller or a new member may use (not dead).
    pub fn live(&self, name: &str) -> Option<&QueueState> {
        self.get(name).filter(|q| !q.dead)
    }

    /// Every queue, in file order.
    pub fn all(&self) -> impl Iterator<Item = &QueueState> {
        self.queues.iter()
    }

    /// `join_queue`: `w` enters `name` behind the callers of its priority or higher (or at
    /// `position` when that is free). `states`: the device state of a state interface.
    pub fn join(
        &mut self,
        name: &str,
        w: Waiting,
        position: usize,
        now: SystemTime,
        states: &dyn Fn(&str) -> DeviceState,
    ) -> Result<usize, QueueResult> {
        let shared = self.shared_lastcalls();
        let Some(q) = self.get_mut(name).filter(|q| !q.dead) else {
            return Err(QueueResult::Unknown);
        };
        let empty = |q: &QueueState| {
            strategy::is_empty(q, &q.def.joinempty, &w.penalties, now, states, &shared)
        };
        if q.def.joinempty.any() && empty(q) {
            return Err(QueueResult::JoinEmpty);
        }
        let max = if q.def.maxlen > 0 {
            (q.def.maxlen as usize).min(MAX_CALLERS)
        } else {
            MAX_CALLERS
        };
        if q.callers.len() >= max {
            return Err(QueueResult::Full);
        }
        let mut at = q
            .callers
            .iter()
            .position(|c| w.prio > c.prio)
            .unwrap_or(q.callers.len());
        if position > 0 && position - 1 < at {
            // As far forward as asked, never ahead of a higher priority.
            let first_same = q
                .callers
                .iter()
                .position(|c| c.prio <= w.prio)
                .unwrap_or(at);
            at = (position - 1).max(first_same);
        }
        q.callers.insert(at, w);
        Ok(at + 1)
    }

    /// The caller `id` leaves `name` (answered, gave up, or timed out); `abandoned` counts it.
    pub fn leave(&mut self, name: &str, id: &str, abandoned: bool) {
        let Some(q) = self.get_mut(name) else { return };
        let before = q.callers.len();
        q.callers.retain(|c| c.id != id);
        if abandoned && q.callers.len() != before {
            q.abandoned += 1;
        }
        if q.dead && q.callers.is_empty() {
            self.queues.retain(|q| !(q.dead && q.callers.is_empty()));
        }
    }

    /// Marks `id` as ringing members (or not).
    pub fn set_pending(&mut self, name: &str, id: &str, pending: bool) {
        if let Some(c) = self
            .get_mut(name)
            .and_then(|q| q.callers.iter_mut().find(|c| c.id == id))
        {
            c.pending = pending;
        }
    }

    /// A member answered caller `id` after `held` of waiting (`update_queue`'s counters;
    /// the caller is out of the queue now).
    pub fn answered(&mut self, name: &str, id: &str, interface: &str, held: Duration) {
        let Some(q) = self.get_mut(name) else { return };
        q.callers.retain(|c| c.id != id);
        q.completed += 1;
        if held.as_secs() <= u64::from(q.def.servicelevel) {
            q.completed_in_sl += 1;
        }
        q.holdtime = (q.holdtime * 3 + held.as_secs()) / 4;
        if let Some(m) = q.member_mut(interface) {
            m.in_call += 1;
        }
    }

    /// The queue call of `interface` ended after `talked`: its calls, last call (wrap-up
    /// starts now; with `shared_lastcall` in every queue it is in).
    pub fn call_ended(&mut self, name: &str, interface: &str, talked: Duration, now: SystemTime) {
        let shared = self.general.shared_lastcall;
        if let Some(q) = self.get_mut(name) {
            q.talktime = (q.talktime * 3 + talked.as_secs()) / 4;
            if let Some(m) = q.member_mut(interface) {
                m.calls += 1;
                m.lastcall = Some(now);
                m.in_call = m.in_call.saturating_sub(1);
            }
        }
        if shared {
            for q in self.queues.iter_mut() {
                if let Some(m) = q.member_mut(interface) {
                    m.lastcall = Some(now);
                }
            }
        }
        self.queues.retain(|q| !(q.dead && q.callers.is_empty()));
    }

    /// `shared_lastcall`: each interface's latest last call over every queue.
    fn shared_lastcalls(&self) -> strategy::LastCalls {
        let mut out = strategy::LastCalls::new();
        if !self.general.shared_lastcall {
            return out;
        }
        for m in self.queues.iter().flat_map(|q| q.members.iter()) {
            let Some(t) = m.lastcall else { continue };
            let last = out.entry(m.interface.to_ascii_lowercase()).or_insert(t);
            *last = (*last).max(t);
        }
        out
    }

    /// The pick for caller `id` of `name` now: see [`strategy::pick`].
    pub fn pick(
        &mut self,
        name: &str,
        id: &str,
        now: SystemTime,
        states: &dyn Fn(&str) -> DeviceState,
        rng: &mut dyn FnMut() -> u64,
    ) -> Vec<String> {
        let shared = self.shared_lastcalls();
        let Some(q) = self.get(name) else {
            return Vec::new();
        };
        strategy::pick(q, id, now, states, &shared, rng)
    }

    /// The attempt for `id` rang `rung` (in order) without an answer, or was answered by its
    /// last: `rrmemory` and `linear` go on after it (`store_next_rr`, `store_next_lin`).
    pub fn rang(&mut self, name: &str, id: &str, rung: &str) {
        let Some(q) = self.get_mut(name) else { return };
        let Some(pos) = q
            .members
            .iter()
            .position(|m| m.interface.eq_ignore_ascii_case(rung))
        else {
            return;
        };
        let next = if pos + 1 >= q.members.len() {
            0
        } else {
            pos + 1
        };
        q.rrpos = next;
        if let Some(c) = q.callers.iter_mut().find(|c| c.id == id) {
            c.linpos = next;
        }
    }

    /// `is_our_turn` for `id`.
    pub fn is_our_turn(
        &self,
        name: &str,
        id: &str,
        now: SystemTime,
        states: &dyn Fn(&str) -> DeviceState,
    ) -> bool {
        let shared = self.shared_lastcalls();
        self.get(name)
            .is_some_and(|q| strategy::is_our_turn(q, id, now, states, &shared))
    }

    /// `leavewhenempty` says `id` must leave `name`.
    pub fn must_leave(
        &self,
        name: &str,
        id: &str,
        now: SystemTime,
        states: &dyn Fn(&str) -> DeviceState,
    ) -> bool {
        let shared = self.shared_lastcalls();
        self.get(name).is_some_and(|q| {
            let pen = q
                .callers
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.penalties)
                .unwrap_or_default();
            q.def.leavewhenempty.any()
                && strategy::is_empty(q, &q.def.leavewhenempty, &pen, now, states, &shared)
        })
    }
}

#[cfg(test)]
mod tests;
