//! The INVITE server transaction: RFC 3261 §17.2.1 (Fig. 7) with RFC 6026's Accepted state.

use super::{linger, start, Action, TimerConfig, TimerKind, Timers, Transport};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// States of the INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteServerState {
    /// The INVITE was handed to the TU; provisionals may be sent.
    Proceeding,
    /// A 3xx–6xx was sent; retransmitting it on Timer G until the ACK or Timer H.
    Completed,
    /// The ACK arrived; absorbing ACK retransmissions until Timer I.
    Confirmed,
    /// A 2xx was sent; absorbing INVITE retransmissions until Timer L (RFC 6026).
    Accepted,
    /// Done.
    Terminated,
}

/// An INVITE server transaction. Created when an INVITE matches no transaction; the engine
/// hands that INVITE to the TU itself (and sends a 100 Trying through [`Self::send_response`]).
/// It keeps a response only while §17.2.1 may resend it (Proceeding and Completed): Accepted
/// absorbs INVITE retransmissions (the UAS core resends its 2xx) and Confirmed absorbs ACKs,
/// so neither holds any message.
#[derive(Debug)]
pub struct InviteServerTransaction {
    state: InviteServerState,
    timers: Timers,
    transport: Transport,
    /// The latest response sent: a provisional in Proceeding, the final afterwards.
    last_response: Option<Rc<[u8]>>,
    timer_g: Duration,
}

impl InviteServerTransaction {
    /// A transaction in Proceeding for an INVITE just received.
    pub fn new(config: TimerConfig, transport: Transport) -> Self {
        InviteServerTransaction {
            state: InviteServerState::Proceeding,
            timers: Timers::of(config),
            transport,
            last_response: None,
            timer_g: config.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> InviteServerState {
        self.state
    }

    /// Heap bytes of the messages it keeps (for the lingering-memory measure).
    pub fn held_bytes(&self) -> usize {
        self.last_response
            .as_deref()
            .map_or(0, super::table::rc_bytes)
    }

    /// The latest response sent while it may be resent (Proceeding, Completed).
    pub fn last_response(&self) -> Option<&Rc<[u8]>> {
        self.last_response.as_ref()
    }

    /// The INVITE was retransmitted: resend the latest provisional or final; absorbed (never
    /// passed to the TU) in every state.
    pub fn on_retransmission(&mut self, _now: Instant, out: &mut Vec<Action>) {
        match self.state {
            InviteServerState::Proceeding | InviteServerState::Completed => {
                if let Some(r) = &self.last_response {
                    out.push(Action::Transmit(r.clone()));
                }
            }
            InviteServerState::Confirmed
            | InviteServerState::Accepted
            | InviteServerState::Terminated => {}
        }
    }

    /// The TU sends a response. In Proceeding: 1xx are sent and remembered, a 2xx is sent and
    /// leads to Accepted (the UAS core retransmits it, see
    /// [`super::TwoHundredRetransmitter`]), a 3xx–6xx to Completed with Timers G and H. In
    /// Accepted, 2xx retransmissions from the TU are sent. Anything else is discarded.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        bytes: Rc<[u8]>,
        out: &mut Vec<Action>,
    ) {
        use InviteServerState::*;
        match (self.state, status) {
            (Proceeding, 100..=199) => {
                out.push(Action::Transmit(bytes.clone()));
                self.last_response = Some(bytes);
            }
            (Proceeding, 200..=299) => {
                self.state = Accepted;
                out.push(Action::Transmit(bytes));
                self.last_response = None;
                start(out, TimerKind::L, now, self.timers.sixty_four_t1());
            }
            (Proceeding, 300..=699) => {
                self.state = Completed;
                out.push(Action::Transmit(bytes.clone()));
                self.last_response = Some(bytes);
                if self.transport == Transport::Unreliable {
                    start(out, TimerKind::G, now, self.timer_g);
                }
                start(out, TimerKind::H, now, self.timers.sixty_four_t1());
            }
            (Accepted, 200..=299) => out.push(Action::Transmit(bytes)),
            _ => {}
        }
    }

    /// An ACK matched this transaction. In Completed it confirms the final (Timer I); in
    /// Confirmed it is absorbed; in Accepted (an ACK for the 2xx) it is passed to the TU.
    pub fn on_ack(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            InviteServerState::Completed => {
                self.state = InviteServerState::Confirmed;
                self.last_response = None;
                if self.transport == Transport::Unreliable {
                    out.push(Action::StopTimer(TimerKind::G));
                }
                out.push(Action::StopTimer(TimerKind::H));
                let i = match self.transport {
                    Transport::Unreliable => self.timers.t4(),
                    Transport::Reliable => Duration::ZERO,
                };
                if linger(out, TimerKind::I, now, i) {
                    self.state = InviteServerState::Terminated;
                }
            }
            InviteServerState::Accepted => out.push(Action::PassAck),
            InviteServerState::Proceeding
            | InviteServerState::Confirmed
            | InviteServerState::Terminated => {}
        }
    }

    /// A timer of this transaction fired. Timers that do not apply to the state are ignored.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        use InviteServerState::*;
        match (self.state, kind) {
            (Completed, TimerKind::G) => {
                if let Some(r) = &self.last_response {
                    out.push(Action::Transmit(r.clone()));
                }
                self.timer_g = self.timers.backoff(self.timer_g);
                start(out, TimerKind::G, now, self.timer_g);
            }
            (Completed, TimerKind::H) => {
                self.state = Terminated;
                self.last_response = None;
                out.push(Action::Timeout);
                out.push(Action::Terminated);
            }
            (Confirmed, TimerKind::I) | (Accepted, TimerKind::L) => {
                self.state = Terminated;
                out.push(Action::Terminated);
            }
            _ => {}
        }
    }

    /// The transport failed to send (§17.2.4): tell the TU and terminate.
    pub fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if self.state == InviteServerState::Terminated {
            return;
        }
        self.state = InviteServerState::Terminated;
        self.last_response = None;
        out.push(Action::TransportError);
        out.push(Action::Terminated);
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn b(s: &str) -> Rc<[u8]> {
        Rc::from(s.as_bytes())
    }

    fn proceeding() -> (InviteServerTransaction, Vec<Action>) {
        (
            InviteServerTransaction::new(TimerConfig::default(), Transport::Unreliable),
            Vec::new(),
        )
    }

    #[test]
    fn retransmission_resends_latest_provisional() {
        let t0 = Instant::now();
        let (mut tx, mut out) = proceeding();
        tx.on_retransmission(t0, &mut out);
        assert!(out.is_empty(), "nothing sent yet: nothing to resend");
        tx.send_response(t0, 100, b("100"), &mut out);
        tx.send_response(t0, 180, b("180"), &mut out);
        out.clear();
        tx.on_retransmission(t0, &mut out);
        assert_eq!(out, vec![Action::Transmit(b("180"))]);
    }

    #[test]
    fn failure_final_runs_g_and_h_then_ack_confirms() {
        let t0 = Instant::now();
        let (mut tx, mut out) = proceeding();
        tx.send_response(t0, 486, b("486"), &mut out);
        assert_eq!(
            out,
            vec![
                Action::Transmit(b("486")),
                Action::StartTimer(TimerKind::G, t0 + Duration::from_millis(500)),
                Action::StartTimer(TimerKind::H, t0 + Duration::from_secs(32)),
            ]
        );
        out.clear();
        tx.on_retransmission(t0, &mut out);
        assert_eq!(out, vec![Action::Transmit(b("486"))]);
        out.clear();
        tx.send_response(t0, 200, b("200"), &mut out);
        assert!(out.is_empty(), "a second final is discarded");
        tx.on_ack(t0, &mut out);
        assert_eq!(
            out,
            vec![
                Action::StopTimer(TimerKind::G),
                Action::StopTimer(TimerKind::H),
                Action::StartTimer(TimerKind::I, t0 + Duration::from_secs(5)),
            ]
        );
        out.clear();
        tx.on_ack(t0, &mut out);
        tx.on_retransmission(t0, &mut out);
        tx.on_timer(t0, TimerKind::G, &mut out);
        assert!(out.is_empty(), "Confirmed absorbs ACKs and INVITEs");
        tx.on_timer(t0, TimerKind::I, &mut out);
        assert_eq!(out, vec![Action::Terminated]);
    }

    #[test]
    fn timer_h_times_out() {
        let t0 = Instant::now();
        let (mut tx, mut out) = proceeding();
        tx.send_response(t0, 603, b("603"), &mut out);
        out.clear();
        tx.on_timer(t0, TimerKind::H, &mut out);
        assert_eq!(out, vec![Action::Timeout, Action::Terminated]);
    }

    #[test]
    fn accepted_absorbs_invites_sends_2xx_passes_ack() {
        let t0 = Instant::now();
        let (mut tx, mut out) = proceeding();
        tx.send_response(t0, 200, b("200"), &mut out);
        assert_eq!(tx.state(), InviteServerState::Accepted);
        assert_eq!(
            out[1],
            Action::StartTimer(TimerKind::L, t0 + Duration::from_secs(32))
        );
        out.clear();
        tx.on_retransmission(t0, &mut out);
        tx.send_response(t0, 180, b("180"), &mut out);
        assert!(out.is_empty());
        tx.send_response(t0, 200, b("200"), &mut out);
        tx.on_ack(t0, &mut out);
        assert_eq!(out, vec![Action::Transmit(b("200")), Action::PassAck]);
        out.clear();
        tx.on_timer(t0, TimerKind::L, &mut out);
        assert_eq!(out, vec![Action::Terminated]);
    }

    #[test]
    fn reliable_confirmed_terminates_at_once() {
        let t0 = Instant::now();
        let mut tx = InviteServerTransaction::new(TimerConfig::default(), Transport::Reliable);
        let mut out = Vec::new();
        tx.send_response(t0, 404, b("404"), &mut out);
        assert_eq!(out.len(), 2, "no Timer G over a reliable transport");
        out.clear();
        tx.on_ack(t0, &mut out);
        assert_eq!(
            out,
            vec![Action::StopTimer(TimerKind::H), Action::Terminated]
        );
    }
}
