//! The INVITE client transaction: RFC 3261 §17.1.1 (Fig. 5) with RFC 6026's Accepted state.

use super::{linger, start, Action, TimerConfig, TimerKind, Timers, Transport};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// States of the INVITE client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteClientState {
    /// Created, `start` not yet called.
    Idle,
    /// INVITE sent, retransmitting on Timer A until a response or Timer B.
    Calling,
    /// A provisional arrived; waiting for the final without retransmitting or timing out.
    Proceeding,
    /// A 3xx–6xx arrived and was ACKed; absorbing retransmissions until Timer D.
    Completed,
    /// A 2xx arrived; passing further 2xx to the TU until Timer M (RFC 6026).
    Accepted,
    /// Done.
    Terminated,
}

/// An INVITE client transaction. The TU builds the INVITE; the transaction retransmits it and
/// builds (via a callback) and resends the ACK for a non-2xx final (§17.1.1.3). The INVITE's
/// bytes are kept only in Calling (Timer A); Completed keeps the ACK it resends, Accepted
/// nothing.
#[derive(Debug)]
pub struct InviteClientTransaction {
    state: InviteClientState,
    timers: Timers,
    transport: Transport,
    /// The INVITE in Calling (Timer A resends it), the ACK in Completed (resent for each
    /// retransmitted final), nothing otherwise.
    bytes: Option<Rc<[u8]>>,
    timer_a: Duration,
    /// A CANCEL was sent: Timer B was re-armed to bound Proceeding (§9.1).
    cancelled: bool,
}

impl InviteClientTransaction {
    /// A transaction for this INVITE, not yet sent.
    pub fn new(config: TimerConfig, transport: Transport, request: Rc<[u8]>) -> Self {
        InviteClientTransaction {
            state: InviteClientState::Idle,
            timers: Timers::of(config),
            transport,
            bytes: Some(request),
            timer_a: config.t1,
            cancelled: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> InviteClientState {
        self.state
    }

    /// Heap bytes of the messages it keeps (for the lingering-memory measure).
    pub fn held_bytes(&self) -> usize {
        self.bytes.as_deref().map_or(0, super::table::rc_bytes)
    }

    /// The ACK this transaction built for a non-2xx final, if any.
    pub fn ack(&self) -> Option<&Rc<[u8]>> {
        match self.state {
            InviteClientState::Completed => self.bytes.as_ref(),
            _ => None,
        }
    }

    /// Sends the INVITE: Transmit, Timer A (unreliable only) and Timer B. Idempotent.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != InviteClientState::Idle {
            return;
        }
        self.state = InviteClientState::Calling;
        if let Some(r) = &self.bytes {
            out.push(Action::Transmit(r.clone()));
        }
        if self.transport == Transport::Unreliable {
            start(out, TimerKind::A, now, self.timer_a);
        }
        start(out, TimerKind::B, now, self.timers.timer_b());
    }

    /// A response matched this transaction (§17.1.3). `make_ack` is called at most once, when
    /// the first 3xx–6xx arrives, to build the ACK of §17.1.1.3; retransmissions of that final
    /// resend it and are not passed to the TU. Statuses outside 100–699 are ignored.
    pub fn on_response(
        &mut self,
        now: Instant,
        status: u16,
        make_ack: impl FnOnce() -> Rc<[u8]>,
        out: &mut Vec<Action>,
    ) {
        use InviteClientState::*;
        if !(100..=699).contains(&status) {
            return;
        }
        match (self.state, status) {
            (Calling | Proceeding, 100..=199) => {
                if self.state == Calling {
                    // Stop retransmitting; Timer B covers only Calling (§17.1.1.2), so a
                    // ringing phone is not timed out here: the TU's own timer (Dial) is.
                    self.stop_calling_timers(out);
                    self.state = Proceeding;
                }
                out.push(Action::PassResponse(status));
            }
            (Calling | Proceeding, 200..=299) => {
                if self.state == Calling {
                    self.stop_calling_timers(out);
                }
                self.state = Accepted;
                out.push(Action::PassResponse(status));
                start(out, TimerKind::M, now, self.timers.sixty_four_t1());
            }
            (Calling | Proceeding, _) => {
                if self.state == Calling {
                    self.stop_calling_timers(out);
                }
                self.state = Completed;
                out.push(Action::PassResponse(status));
                let ack = make_ack();
                out.push(Action::Transmit(ack.clone()));
                self.bytes = Some(ack);
                if linger(
                    out,
                    TimerKind::D,
                    now,
                    self.lingering(self.timers.timer_d()),
                ) {
                    self.state = Terminated;
                }
            }
            (Completed, 300..=699) => {
                if let Some(ack) = &self.bytes {
                    out.push(Action::Transmit(ack.clone()));
                }
            }
            (Accepted, 200..=299) => out.push(Action::PassResponse(status)),
            (Idle | Completed | Accepted | Terminated, _) => {}
        }
    }

    /// A timer of this transaction fired. Timers that do not apply to the state are ignored.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        use InviteClientState::*;
        match (self.state, kind) {
            (Calling, TimerKind::A) => {
                if let Some(r) = &self.bytes {
                    out.push(Action::Transmit(r.clone()));
                }
                // Timer A doubles without a cap (§17.1.1.2); Timer B bounds it.
                self.timer_a *= 2;
                start(out, TimerKind::A, now, self.timer_a);
            }
            (Proceeding, TimerKind::B) if !self.cancelled => {}
            (Calling | Proceeding, TimerKind::B) => {
                self.state = Terminated;
                out.push(Action::Timeout);
                out.push(Action::Terminated);
            }
            (Completed, TimerKind::D) | (Accepted, TimerKind::M) => {
                self.state = Terminated;
                self.bytes = None;
                out.push(Action::Terminated);
            }
            _ => {}
        }
    }

    /// The TU sent a CANCEL for this INVITE. If no final arrives within 64·T1, the transaction
    /// times out as if on Timer B (§9.1), so a lost 487 cannot keep it alive forever.
    pub fn on_cancel_sent(&mut self, now: Instant, out: &mut Vec<Action>) {
        if matches!(
            self.state,
            InviteClientState::Calling | InviteClientState::Proceeding
        ) {
            self.cancelled = true;
            start(out, TimerKind::B, now, self.timers.sixty_four_t1());
        }
    }

    /// The transport failed to send (§17.1.4): tell the TU and terminate.
    pub fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if matches!(
            self.state,
            InviteClientState::Idle | InviteClientState::Terminated
        ) {
            return;
        }
        self.state = InviteClientState::Terminated;
        self.bytes = None;
        out.push(Action::TransportError);
        out.push(Action::Terminated);
    }

    /// Leaves Calling: Timer A and B stop, and the INVITE is no longer resent, so its bytes
    /// go (in every later state).
    fn stop_calling_timers(&mut self, out: &mut Vec<Action>) {
        self.bytes = None;
        if self.transport == Transport::Unreliable {
            out.push(Action::StopTimer(TimerKind::A));
        }
        out.push(Action::StopTimer(TimerKind::B));
    }

    fn lingering(&self, d: Duration) -> Duration {
        match self.transport {
            Transport::Unreliable => d,
            Transport::Reliable => Duration::ZERO,
        }
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> Rc<[u8]> {
        Rc::from(s.as_bytes())
    }

    fn calling(now: Instant) -> (InviteClientTransaction, Vec<Action>) {
        let mut tx = InviteClientTransaction::new(
            TimerConfig::default(),
            Transport::Unreliable,
            bytes("INVITE"),
        );
        let mut out = Vec::new();
        tx.start(now, &mut out);
        (tx, out)
    }

    #[test]
    fn start_sends_and_arms_a_and_b() {
        let t0 = Instant::now();
        let (tx, out) = calling(t0);
        assert_eq!(tx.state(), InviteClientState::Calling);
        assert_eq!(
            out,
            vec![
                Action::Transmit(bytes("INVITE")),
                Action::StartTimer(TimerKind::A, t0 + Duration::from_millis(500)),
                Action::StartTimer(TimerKind::B, t0 + Duration::from_secs(32)),
            ]
        );
    }

    #[test]
    fn provisional_stops_retransmission_and_timeout() {
        let t0 = Instant::now();
        let (mut tx, mut out) = calling(t0);
        out.clear();
        tx.on_response(t0, 180, || unreachable!(), &mut out);
        assert_eq!(
            out,
            vec![
                Action::StopTimer(TimerKind::A),
                Action::StopTimer(TimerKind::B),
                Action::PassResponse(180),
            ]
        );
        assert_eq!(tx.state(), InviteClientState::Proceeding);
        out.clear();
        tx.on_timer(t0, TimerKind::A, &mut out);
        tx.on_timer(t0, TimerKind::B, &mut out);
        assert!(out.is_empty(), "stale timers are ignored");
    }

    #[test]
    fn final_failure_builds_ack_once_and_resends_it() {
        let t0 = Instant::now();
        let (mut tx, mut out) = calling(t0);
        tx.on_response(t0, 100, || unreachable!(), &mut out);
        out.clear();
        let mut built = 0;
        tx.on_response(
            t0,
            486,
            || {
                built += 1;
                bytes("ACK")
            },
            &mut out,
        );
        assert_eq!(built, 1);
        assert_eq!(
            out,
            vec![
                Action::PassResponse(486),
                Action::Transmit(bytes("ACK")),
                Action::StartTimer(TimerKind::D, t0 + Duration::from_secs(32)),
            ]
        );
        out.clear();
        tx.on_response(t0, 486, || unreachable!(), &mut out);
        assert_eq!(out, vec![Action::Transmit(bytes("ACK"))]);
        out.clear();
        tx.on_response(t0, 200, || unreachable!(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn accepted_passes_every_2xx_until_m() {
        let t0 = Instant::now();
        let (mut tx, mut out) = calling(t0);
        out.clear();
        tx.on_response(t0, 200, || unreachable!(), &mut out);
        assert_eq!(tx.state(), InviteClientState::Accepted);
        assert!(out.contains(&Action::StartTimer(
            TimerKind::M,
            t0 + Duration::from_secs(32)
        )));
        out.clear();
        tx.on_response(t0, 200, || unreachable!(), &mut out);
        tx.on_response(t0, 183, || unreachable!(), &mut out);
        assert_eq!(out, vec![Action::PassResponse(200)]);
        out.clear();
        tx.on_timer(t0, TimerKind::M, &mut out);
        assert_eq!(out, vec![Action::Terminated]);
    }

    #[test]
    fn reliable_transport_skips_a_and_d() {
        let t0 = Instant::now();
        let mut tx =
            InviteClientTransaction::new(TimerConfig::default(), Transport::Reliable, bytes("I"));
        let mut out = Vec::new();
        tx.start(t0, &mut out);
        assert_eq!(out.len(), 2);
        out.clear();
        tx.on_response(t0, 404, || bytes("ACK"), &mut out);
        assert_eq!(out.last(), Some(&Action::Terminated));
        assert_eq!(tx.state(), InviteClientState::Terminated);
    }

    #[test]
    fn cancel_bounds_proceeding_with_timer_b() {
        let t0 = Instant::now();
        let (mut tx, mut out) = calling(t0);
        tx.on_response(t0, 180, || unreachable!(), &mut out);
        out.clear();
        tx.on_cancel_sent(t0, &mut out);
        assert_eq!(
            out,
            vec![Action::StartTimer(
                TimerKind::B,
                t0 + Duration::from_secs(32)
            )]
        );
        out.clear();
        tx.on_timer(t0, TimerKind::B, &mut out);
        assert_eq!(out, vec![Action::Timeout, Action::Terminated]);
    }

    #[test]
    fn transport_error_terminates() {
        let t0 = Instant::now();
        let (mut tx, mut out) = calling(t0);
        out.clear();
        tx.on_transport_error(&mut out);
        assert_eq!(out, vec![Action::TransportError, Action::Terminated]);
        out.clear();
        tx.on_response(t0, 200, || unreachable!(), &mut out);
        assert!(out.is_empty());
    }
}
