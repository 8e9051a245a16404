//! The non-INVITE client transaction: RFC 3261 §17.1.2 (Fig. 6).

use super::{linger, start, Action, TimerConfig, TimerKind, Timers, Transport};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// States of the non-INVITE client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonInviteClientState {
    /// Created, `start` not yet called.
    Idle,
    /// Request sent, retransmitting on Timer E (T1 doubling, capped at T2).
    Trying,
    /// A provisional arrived; retransmitting every T2 until a final or Timer F.
    Proceeding,
    /// A final arrived; absorbing retransmissions until Timer K.
    Completed,
    /// Done.
    Terminated,
}

/// A non-INVITE client transaction (REGISTER, OPTIONS, BYE, CANCEL, ...). Completed only
/// absorbs retransmitted responses, so the request's bytes go with the final.
#[derive(Debug)]
pub struct NonInviteClientTransaction {
    state: NonInviteClientState,
    timers: Timers,
    transport: Transport,
    request: Option<Rc<[u8]>>,
    timer_e: Duration,
}

impl NonInviteClientTransaction {
    /// A transaction for this request, not yet sent.
    pub fn new(config: TimerConfig, transport: Transport, request: Rc<[u8]>) -> Self {
        NonInviteClientTransaction {
            state: NonInviteClientState::Idle,
            timers: Timers::of(config),
            transport,
            request: Some(request),
            timer_e: config.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> NonInviteClientState {
        self.state
    }

    /// Heap bytes of the messages it keeps (for the lingering-memory measure).
    pub fn held_bytes(&self) -> usize {
        self.request.as_deref().map_or(0, super::table::rc_bytes)
    }

    /// Sends the request: Transmit, Timer E (unreliable only) and Timer F. Idempotent.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != NonInviteClientState::Idle {
            return;
        }
        self.state = NonInviteClientState::Trying;
        if let Some(r) = &self.request {
            out.push(Action::Transmit(r.clone()));
        }
        if self.transport == Transport::Unreliable {
            start(out, TimerKind::E, now, self.timer_e);
        }
        start(out, TimerKind::F, now, self.timers.sixty_four_t1());
    }

    /// A response matched this transaction (§17.1.3). Retransmitted finals are absorbed.
    /// Statuses outside 100–699 are ignored.
    pub fn on_response(&mut self, now: Instant, status: u16, out: &mut Vec<Action>) {
        use NonInviteClientState::*;
        if !(100..=699).contains(&status) {
            return;
        }
        match (self.state, status) {
            (Trying | Proceeding, 100..=199) => {
                // Timer E keeps running; its next interval is T2 (see `on_timer`).
                self.state = Proceeding;
                out.push(Action::PassResponse(status));
            }
            (Trying | Proceeding, _) => {
                self.state = Completed;
                self.request = None;
                if self.transport == Transport::Unreliable {
                    out.push(Action::StopTimer(TimerKind::E));
                }
                out.push(Action::StopTimer(TimerKind::F));
                out.push(Action::PassResponse(status));
                let k = match self.transport {
                    Transport::Unreliable => self.timers.t4(),
                    Transport::Reliable => Duration::ZERO,
                };
                if linger(out, TimerKind::K, now, k) {
                    self.state = Terminated;
                }
            }
            (Idle | Completed | Terminated, _) => {}
        }
    }

    /// A timer of this transaction fired. Timers that do not apply to the state are ignored.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        use NonInviteClientState::*;
        match (self.state, kind) {
            (Trying | Proceeding, TimerKind::E) => {
                if let Some(r) = &self.request {
                    out.push(Action::Transmit(r.clone()));
                }
                self.timer_e = if self.state == Proceeding {
                    self.timers.t2()
                } else {
                    self.timers.backoff(self.timer_e)
                };
                start(out, TimerKind::E, now, self.timer_e);
            }
            (Trying | Proceeding, TimerKind::F) => {
                self.state = Terminated;
                self.request = None;
                out.push(Action::Timeout);
                out.push(Action::Terminated);
            }
            (Completed, TimerKind::K) => {
                self.state = Terminated;
                out.push(Action::Terminated);
            }
            _ => {}
        }
    }

    /// The transport failed to send (§17.1.4): tell the TU and terminate.
    pub fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if matches!(
            self.state,
            NonInviteClientState::Idle | NonInviteClientState::Terminated
        ) {
            return;
        }
        self.state = NonInviteClientState::Terminated;
        self.request = None;
        out.push(Action::TransportError);
        out.push(Action::Terminated);
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn trying(now: Instant) -> (NonInviteClientTransaction, Vec<Action>) {
        let mut tx = NonInviteClientTransaction::new(
            TimerConfig::default(),
            Transport::Unreliable,
            Rc::from(&b"OPTIONS"[..]),
        );
        let mut out = Vec::new();
        tx.start(now, &mut out);
        (tx, out)
    }

    #[test]
    fn start_arms_e_and_f() {
        let t0 = Instant::now();
        let (_, out) = trying(t0);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[1],
            Action::StartTimer(TimerKind::E, t0 + Duration::from_millis(500))
        );
        assert_eq!(
            out[2],
            Action::StartTimer(TimerKind::F, t0 + Duration::from_secs(32))
        );
    }

    #[test]
    fn e_doubles_to_t2_then_stays_at_t2_in_proceeding() {
        let t0 = Instant::now();
        let (mut tx, mut out) = trying(t0);
        out.clear();
        tx.on_timer(t0, TimerKind::E, &mut out);
        assert_eq!(
            out[1],
            Action::StartTimer(TimerKind::E, t0 + Duration::from_secs(1))
        );
        out.clear();
        tx.on_response(t0, 100, &mut out);
        assert_eq!(out, vec![Action::PassResponse(100)]);
        out.clear();
        tx.on_timer(t0, TimerKind::E, &mut out);
        assert_eq!(
            out[1],
            Action::StartTimer(TimerKind::E, t0 + Duration::from_secs(4))
        );
    }

    #[test]
    fn final_completes_and_absorbs_retransmissions_until_k() {
        let t0 = Instant::now();
        let (mut tx, mut out) = trying(t0);
        out.clear();
        tx.on_response(t0, 200, &mut out);
        assert_eq!(
            out,
            vec![
                Action::StopTimer(TimerKind::E),
                Action::StopTimer(TimerKind::F),
                Action::PassResponse(200),
                Action::StartTimer(TimerKind::K, t0 + Duration::from_secs(5)),
            ]
        );
        out.clear();
        tx.on_response(t0, 200, &mut out);
        tx.on_timer(t0, TimerKind::E, &mut out);
        tx.on_timer(t0, TimerKind::F, &mut out);
        assert!(out.is_empty());
        tx.on_timer(t0, TimerKind::K, &mut out);
        assert_eq!(out, vec![Action::Terminated]);
        assert_eq!(tx.state(), NonInviteClientState::Terminated);
    }

    #[test]
    fn timer_f_times_out() {
        let t0 = Instant::now();
        let (mut tx, mut out) = trying(t0);
        out.clear();
        tx.on_timer(t0, TimerKind::F, &mut out);
        assert_eq!(out, vec![Action::Timeout, Action::Terminated]);
    }
}
