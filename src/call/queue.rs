//! `Queue()`, the call's side: the caller waits in the queue with music on hold (or 180
//! Ringing with `r`) while the queue's strategy picks members and the call's own Dial
//! forking rings them, one attempt after another, until a member answers (the two are
//! bridged as after a Dial) or the queue gives up and the dialplan goes on with
//! `${QUEUESTATUS}`. The waiting callers and the members are the dialplan's shared queue
//! table ([`crate::dialplan::queue`]), so every call sees the same queue.
//!
//! The loop follows app_queue's `queue_exec`: `wait_our_turn` (a recheck every second until
//! this caller is among those the free members can serve: `is_our_turn`), then per attempt
//! `try_calling` (ring the pick for the queue's `timeout`, cut to what the Queue() timeout
//! leaves; a member that fails at once hands over to the next one, as `ring_one` does),
//! then the `leavewhenempty`, `n` and timeout checks, and `retry` seconds of waiting before
//! the next attempt. A member answering ends the caller's wait (`update_queue`'s counters);
//! its wrap-up time starts when the call ends.
//!
//! Reading list: Asterisk `apps/app_queue.c` (`queue_exec`, `wait_our_turn`,
//! `try_calling`, `ring_one`, `wait_a_bit`, `record_abandoned`, `update_queue`).

use super::media::moh::MohFor;
use super::state::{Call, CallState};
use super::{Cx, Reply};
use crate::dialplan::queue::{QueueRequest, QueueResult, Waiting};
use crate::dialplan::{DialOptions, DialStatus, DialTarget, Resume};
use crate::handle::LegId;
use crate::presence::DeviceState;
use crate::sip::StatusCode;
use crate::wake::{CallTimer, Wake};
use rand::Rng;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// app_queue's `RECHECK`: a caller not yet at its turn looks again after this.
const RECHECK: Duration = Duration::from_secs(1);
/// A member failing this close to the attempt's end hands over to nobody (`*to > 500`).
const HAND_OVER_MIN: Duration = Duration::from_millis(500);

/// Where the caller is in its wait.
#[derive(Debug, Clone)]
enum Phase {
    /// Waiting for its turn (or for the first look).
    Waiting,
    /// Members ring: `rung` now, `left` to try one after the other until `deadline`.
    Ringing {
        rung: Vec<String>,
        left: Vec<String>,
        deadline: Instant,
    },
    /// Between two attempts (`retry`).
    Retry,
    /// `member` answered at `since`.
    Bridged { member: String, since: SystemTime },
}

/// This call's place in a queue.
#[derive(Debug, Clone)]
pub struct QueueWait {
    req: QueueRequest,
    /// The queue's name as queues.conf writes it.
    queue: String,
    /// `${UNIQUEID}`: the caller's key in the queue.
    id: String,
    joined: SystemTime,
    expire: Option<Instant>,
    /// Members rung so far (`n` leaves after every member had its turn).
    tries: usize,
    phase: Phase,
}

/// `SIP/1001` (or `SIP/trunk/0123`, `Local/100@agents`) as a Dial target.
fn target(interface: &str) -> Option<DialTarget> {
    let (tech, rest) = interface.split_once('/')?;
    let (resource, number) = match rest.split_once('/') {
        Some((r, n)) if !tech.eq_ignore_ascii_case("Local") => (r, Some(n.to_string())),
        _ => (rest, None),
    };
    Some(DialTarget {
        tech: tech.to_string(),
        resource: resource.to_string(),
        number,
    })
}

/// ChanIsAvail's numbers as device states.
fn state_of(n: u8) -> DeviceState {
    match n {
        1 => DeviceState::NotInUse,
        2 => DeviceState::InUse,
        3 => DeviceState::Busy,
        5 => DeviceState::Unavailable,
        _ => DeviceState::Invalid,
    }
}

impl Call {
    /// The device state of every state interface of `queue`'s members, looked up now.
    fn member_states(&self, cx: &Cx<'_>, queue: &str) -> HashMap<String, DeviceState> {
        let ifaces = cx.dialplan.with_queues(|q, _| q.state_interfaces(queue));
        ifaces
            .into_iter()
            .map(|i| {
                let s = target(&i).map_or(DeviceState::Invalid, |t| {
                    state_of(self.device_state(cx, &t))
                });
                (i.to_ascii_lowercase(), s)
            })
            .collect()
    }

    /// `Queue()`: joins the queue; `Some`: the dialplan goes on at once (no such queue,
    /// FULL, JOINEMPTY), else the wait has begun.
    pub(super) fn queue_join(&mut self, cx: &mut Cx<'_>, req: QueueRequest) -> Option<Resume> {
        let id = self
            .exec
            .as_ref()
            .map(|e| e.unique_id().to_string())
            .unwrap_or_else(|| self.label().to_string());
        let states = self.member_states(cx, &req.queue);
        let look = |i: &str| {
            states
                .get(&i.to_ascii_lowercase())
                .copied()
                .unwrap_or(DeviceState::Invalid)
        };
        let w = Waiting {
            id: id.clone(),
            channel: req.channel.clone(),
            since: cx.wall,
            prio: req.prio,
            pending: false,
            linpos: 0,
            penalties: req.penalties,
        };
        let joined: Result<(usize, (String, String)), QueueResult> =
            cx.dialplan.with_queues(|q, _| {
                let pos = q.join(&req.queue, w, req.position, cx.wall, &look)?;
                let q = q
                    .get(&req.queue)
                    .map(|s| (s.def.name.clone(), s.def.musicclass.clone()));
                Ok((pos, q.unwrap_or_default()))
            });
        let (pos, (queue, class)) = match joined {
            Ok(j) => j,
            Err(status) => {
                log::warn!(
                    "call {}: Unable to join queue '{}' ({})",
                    self.label(),
                    req.queue,
                    status.as_str()
                );
                return Some(Resume::QueueEnded { status });
            }
        };
        log::info!(
            "call {}: joined queue '{queue}' at position {pos}",
            self.label()
        );
        if req.ring {
            if !self.answered() {
                self.reply_caller(cx, Reply::new(StatusCode::RINGING), None);
            }
        } else if self.progress_if_needed(cx) {
            let caller = self.caller;
            self.start_moh(cx, caller, MohFor::Queue, None, &class);
        } else {
            // No media for the early music (no codec, no port): the call has ended.
            cx.dialplan.with_queues(|q, _| q.leave(&queue, &id, false));
            return None;
        }
        self.queue = Some(QueueWait {
            expire: req.timeout.map(|d| cx.now + d),
            req,
            queue,
            id,
            joined: cx.wall,
            tries: 0,
            phase: Phase::Waiting,
        });
        // The first look at once, from the timer (the dialplan step is still running).
        self.queue_timer(cx, Duration::ZERO);
        None
    }

    fn queue_timer(&mut self, cx: &mut Cx<'_>, after: Duration) {
        let wake = Wake::Call(self.handle, CallTimer::Queue);
        self.timers
            .start(cx.sched, CallTimer::Queue, cx.now + after, wake);
    }

    /// The caller leaves the queue with `status`; the dialplan goes on.
    fn queue_leave(&mut self, cx: &mut Cx<'_>, status: QueueResult) {
        let Some(w) = self.queue.take() else { return };
        self.timers.stop(cx.sched, CallTimer::Queue);
        cx.dialplan
            .with_queues(|q, _| q.leave(&w.queue, &w.id, true));
        self.stop_moh(cx, Some(MohFor::Queue));
        log::info!(
            "call {}: left queue '{}': {}",
            self.label(),
            w.queue,
            status.as_str()
        );
        self.run_dialplan(cx, Resume::QueueEnded { status });
    }

    /// The recheck or retry timer: time out, leave an empty queue, or try the members when
    /// it is this caller's turn.
    pub(super) fn queue_tick(&mut self, cx: &mut Cx<'_>) {
        let Some(w) = self.queue.as_ref() else { return };
        if !matches!(w.phase, Phase::Waiting | Phase::Retry) {
            return;
        }
        let (queue, id) = (w.queue.clone(), w.id.clone());
        if w.expire.is_some_and(|e| cx.now >= e) {
            return self.queue_leave(cx, QueueResult::Timeout);
        }
        let states = self.member_states(cx, &queue);
        let look = |i: &str| {
            states
                .get(&i.to_ascii_lowercase())
                .copied()
                .unwrap_or(DeviceState::Invalid)
        };
        let wall = cx.wall;
        let (leave, turn) = cx.dialplan.with_queues(|q, _| {
            (
                q.must_leave(&queue, &id, wall, &look),
                q.is_our_turn(&queue, &id, wall, &look),
            )
        });
        if leave {
            return self.queue_leave(cx, QueueResult::LeaveEmpty);
        }
        if !turn {
            if let Some(w) = self.queue.as_mut() {
                w.phase = Phase::Waiting;
            }
            return self.queue_timer(cx, RECHECK);
        }
        let rng = &mut *cx.rng;
        let mut draw = || rng.random::<u64>();
        let (pick, ring_time, ringall) = cx.dialplan.with_queues(|q, _| {
            let pick = q.pick(&queue, &id, wall, &look, &mut draw);
            let def = q.get(&queue).map(|s| &s.def);
            let ring_time = def.map_or(Duration::from_secs(15), |d| d.timeout);
            let ringall =
                def.is_some_and(|d| d.strategy == crate::config::queues_conf::Strategy::RingAll);
            (pick, ring_time, ringall)
        });
        let Some(w) = self.queue.as_mut() else { return };
        // The attempt rings `timeout`, cut to what the Queue() timeout leaves.
        let mut deadline = match ring_time.is_zero() {
            true => w.expire.unwrap_or(cx.now + Duration::from_secs(86_400)),
            false => cx.now + ring_time,
        };
        if let Some(e) = w.expire {
            deadline = deadline.min(e);
        }
        if pick.is_empty() {
            log::debug!("call {}: queue '{queue}': nobody to ring", self.label());
            return self.queue_attempt_over(cx, None);
        }
        let (rung, left) = if ringall {
            (pick, Vec::new())
        } else {
            let mut pick = pick;
            let first = pick.remove(0);
            (vec![first], pick)
        };
        cx.dialplan
            .with_queues(|q, _| q.set_pending(&queue, &id, true));
        self.queue_ring(cx, rung, left, deadline);
    }

    /// Rings `rung` until `deadline`; a failure at once goes on with `left`.
    fn queue_ring(
        &mut self,
        cx: &mut Cx<'_>,
        mut rung: Vec<String>,
        mut left: Vec<String>,
        deadline: Instant,
    ) {
        loop {
            let Some(w) = self.queue.as_mut() else { return };
            w.tries += rung.len();
            let options = DialOptions {
                continue_on_callee_hangup: w.req.continue_after,
                callee_transfer: w.req.callee_transfer,
                caller_transfer: w.req.caller_transfer,
                ..DialOptions::default()
            };
            w.phase = Phase::Ringing {
                rung: rung.clone(),
                left: left.clone(),
                deadline,
            };
            let targets: Vec<DialTarget> = rung.iter().filter_map(|i| target(i)).collect();
            let timeout = deadline.saturating_duration_since(cx.now);
            match self.start_dial(cx, &targets, Some(timeout), options) {
                None => return,
                Some(status) => {
                    log::debug!(
                        "call {}: queue member {} not rung ({})",
                        self.label(),
                        rung.join("&"),
                        status.as_str()
                    );
                    if left.is_empty() || timeout < HAND_OVER_MIN {
                        let last = rung.last().cloned();
                        return self.queue_attempt_over(cx, last);
                    }
                    rung = vec![left.remove(0)];
                }
            }
        }
    }

    /// The Dial of an attempt ended without an answer: true when it was the queue's (the
    /// dialplan is not resumed; the queue goes on).
    pub(super) fn queue_dial_over(&mut self, cx: &mut Cx<'_>, status: DialStatus) -> bool {
        let Some(w) = self.queue.as_ref() else {
            return false;
        };
        let Phase::Ringing {
            rung,
            left,
            deadline,
        } = w.phase.clone()
        else {
            return false;
        };
        let remaining = deadline.saturating_duration_since(cx.now);
        if status != DialStatus::NoAnswer && !left.is_empty() && remaining > HAND_OVER_MIN {
            // ring_one: the next member gets what is left of the attempt.
            let mut left = left;
            let next = left.remove(0);
            self.queue_ring(cx, vec![next], left, deadline);
        } else {
            self.queue_attempt_over(cx, rung.last().cloned());
        }
        true
    }

    /// An attempt is over (`last`: the member it rang last): leave when the queue is empty,
    /// after a round with `n`, or at the timeout; else wait `retry`.
    fn queue_attempt_over(&mut self, cx: &mut Cx<'_>, last: Option<String>) {
        let Some(w) = self.queue.as_ref() else { return };
        let (queue, id, expire, no_retry, tries) = (
            w.queue.clone(),
            w.id.clone(),
            w.expire,
            w.req.no_retry,
            w.tries,
        );
        let states = self.member_states(cx, &queue);
        let look = |i: &str| {
            states
                .get(&i.to_ascii_lowercase())
                .copied()
                .unwrap_or(DeviceState::Invalid)
        };
        let wall = cx.wall;
        let (leave, members, retry) = cx.dialplan.with_queues(|q, _| {
            q.set_pending(&queue, &id, false);
            if let Some(l) = &last {
                q.rang(&queue, &id, l);
            }
            let s = q.get(&queue);
            (
                q.must_leave(&queue, &id, wall, &look),
                s.map_or(0, |s| s.members.len()),
                s.map_or(Duration::from_secs(5), |s| s.def.retry),
            )
        });
        if leave {
            return self.queue_leave(cx, QueueResult::LeaveEmpty);
        }
        if no_retry && tries >= members {
            crate::verbose!(3, "Exiting on time-out cycle");
            return self.queue_leave(cx, QueueResult::Timeout);
        }
        if expire.is_some_and(|e| cx.now >= e) {
            return self.queue_leave(cx, QueueResult::Timeout);
        }
        if let Some(w) = self.queue.as_mut() {
            w.phase = Phase::Retry;
        }
        self.queue_timer(cx, retry);
    }

    /// A member answered (`leg`: its fork; None: a Local channel): the caller is out of
    /// the queue, its music stops, the member's counters go up.
    pub(super) fn queue_answered(&mut self, cx: &mut Cx<'_>, leg: Option<LegId>) {
        let Some(w) = self.queue.as_mut() else { return };
        let Phase::Ringing { rung, .. } = &w.phase else {
            return;
        };
        let peer = leg
            .and_then(|l| self.legs.get(l))
            .and_then(|l| l.entry.as_deref());
        let member = rung
            .iter()
            .find(|i| {
                peer.is_some_and(|p| {
                    target(i).is_some_and(|t| t.resource.eq_ignore_ascii_case(&p.name))
                })
            })
            .or(rung.first())
            .cloned()
            .unwrap_or_default();
        let held = cx.wall.duration_since(w.joined).unwrap_or_default();
        let (queue, id) = (w.queue.clone(), w.id.clone());
        w.phase = Phase::Bridged {
            member: member.clone(),
            since: cx.wall,
        };
        self.timers.stop(cx.sched, CallTimer::Queue);
        cx.dialplan.with_queues(|q, _| {
            q.rang(&queue, &id, &member);
            q.answered(&queue, &id, &member, held);
        });
        self.stop_moh(cx, Some(MohFor::Queue));
        log::info!(
            "call {}: queue '{queue}' answered by {member} after {} s",
            self.label(),
            held.as_secs()
        );
    }

    /// The bridge with a queue member is over (either side hung up, or the member with
    /// `c`): its wrap-up starts. A caller still waiting leaves, abandoned.
    pub(super) fn queue_over(&mut self, cx: &mut Cx<'_>) {
        let Some(w) = self.queue.take() else { return };
        self.timers.stop(cx.sched, CallTimer::Queue);
        let wall = cx.wall;
        cx.dialplan.with_queues(|q, _| match &w.phase {
            Phase::Bridged { member, since } => {
                let talked = wall.duration_since(*since).unwrap_or_default();
                q.call_ended(&w.queue, member, talked, wall);
            }
            _ => q.leave(&w.queue, &w.id, true),
        });
    }

    /// True while this call waits in a queue (members' early media is not passed on).
    pub(super) fn in_queue(&self) -> bool {
        self.queue
            .as_ref()
            .is_some_and(|w| !matches!(w.phase, Phase::Bridged { .. }))
    }

    /// True while the music is the queue's and the wait goes on.
    pub(in crate::call) fn queue_music_wanted(&self) -> bool {
        self.in_queue()
            && !matches!(
                self.state,
                CallState::Answered {
                    bridge: Some(_),
                    ..
                }
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_as_dial_targets() {
        let t = target("SIP/1001").unwrap();
        assert_eq!(
            (t.tech.as_str(), t.resource.as_str(), t.number),
            ("SIP", "1001", None)
        );
        let t = target("SIP/trunk/0123").unwrap();
        assert_eq!(t.number.as_deref(), Some("0123"));
        let t = target("Local/100@agents/n").unwrap();
        assert_eq!(t.resource, "100@agents/n");
        assert!(target("nothing").is_none());
    }
}
