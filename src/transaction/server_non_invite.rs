//! The non-INVITE server transaction: RFC 3261 §17.2.2 (Fig. 8).

use super::{linger, Action, TimerConfig, TimerKind, Timers, Transport};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// States of the non-INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonInviteServerState {
    /// The request was handed to the TU; nothing sent yet.
    Trying,
    /// A provisional was sent.
    Proceeding,
    /// A final was sent; answering retransmissions with it until Timer J.
    Completed,
    /// Done.
    Terminated,
}

/// A non-INVITE server transaction. Created when a request (not INVITE, not ACK) matches no
/// transaction; the engine hands that request to the TU itself. In Completed it keeps only
/// what §17.2.2 needs: the final response, to answer retransmissions with.
#[derive(Debug)]
pub struct NonInviteServerTransaction {
    state: NonInviteServerState,
    timers: Timers,
    transport: Transport,
    last_response: Option<Rc<[u8]>>,
}

impl NonInviteServerTransaction {
    /// A transaction in Trying for a request just received.
    pub fn new(config: TimerConfig, transport: Transport) -> Self {
        NonInviteServerTransaction {
            state: NonInviteServerState::Trying,
            timers: Timers::of(config),
            transport,
            last_response: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> NonInviteServerState {
        self.state
    }

    /// Heap bytes of the messages it keeps (for the lingering-memory measure).
    pub fn held_bytes(&self) -> usize {
        self.last_response
            .as_deref()
            .map_or(0, super::table::rc_bytes)
    }

    /// The latest response sent, kept to answer retransmissions (the final in Completed).
    pub fn last_response(&self) -> Option<&Rc<[u8]>> {
        self.last_response.as_ref()
    }

    /// The request was retransmitted: discarded in Trying, answered with the latest
    /// response in Proceeding and Completed. Never passed to the TU.
    pub fn on_retransmission(&mut self, _now: Instant, out: &mut Vec<Action>) {
        match self.state {
            NonInviteServerState::Proceeding | NonInviteServerState::Completed => {
                if let Some(r) = &self.last_response {
                    out.push(Action::Transmit(r.clone()));
                }
            }
            NonInviteServerState::Trying | NonInviteServerState::Terminated => {}
        }
    }

    /// The TU sends a response: 1xx are sent in Trying/Proceeding, the first 200–699 completes
    /// the transaction (Timer J); later responses are discarded.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        bytes: Rc<[u8]>,
        out: &mut Vec<Action>,
    ) {
        use NonInviteServerState::*;
        match (self.state, status) {
            (Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                out.push(Action::Transmit(bytes.clone()));
                self.last_response = Some(bytes);
            }
            (Trying | Proceeding, 200..=699) => {
                self.state = Completed;
                out.push(Action::Transmit(bytes.clone()));
                self.last_response = Some(bytes);
                let j = match self.transport {
                    Transport::Unreliable => self.timers.sixty_four_t1(),
                    Transport::Reliable => Duration::ZERO,
                };
                if linger(out, TimerKind::J, now, j) {
                    self.state = Terminated;
                }
            }
            _ => {}
        }
    }

    /// A timer of this transaction fired. Timers that do not apply to the state are ignored.
    pub fn on_timer(&mut self, _now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        if self.state == NonInviteServerState::Completed && kind == TimerKind::J {
            self.state = NonInviteServerState::Terminated;
            out.push(Action::Terminated);
        }
    }

    /// The transport failed to send (§17.2.4): tell the TU and terminate.
    pub fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if self.state == NonInviteServerState::Terminated {
            return;
        }
        self.state = NonInviteServerState::Terminated;
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

    #[test]
    fn retransmissions_get_the_latest_response() {
        let t0 = Instant::now();
        let mut tx = NonInviteServerTransaction::new(TimerConfig::default(), Transport::Unreliable);
        let mut out = Vec::new();
        tx.on_retransmission(t0, &mut out);
        assert!(out.is_empty(), "Trying discards retransmissions");
        tx.send_response(t0, 100, b("100"), &mut out);
        out.clear();
        tx.on_retransmission(t0, &mut out);
        assert_eq!(out, vec![Action::Transmit(b("100"))]);
        out.clear();
        tx.send_response(t0, 200, b("200"), &mut out);
        assert_eq!(
            out,
            vec![
                Action::Transmit(b("200")),
                Action::StartTimer(TimerKind::J, t0 + Duration::from_secs(32)),
            ]
        );
        out.clear();
        tx.send_response(t0, 500, b("500"), &mut out);
        tx.on_retransmission(t0, &mut out);
        assert_eq!(out, vec![Action::Transmit(b("200"))]);
        out.clear();
        tx.on_timer(t0, TimerKind::J, &mut out);
        assert_eq!(out, vec![Action::Terminated]);
        assert_eq!(tx.state(), NonInviteServerState::Terminated);
    }

    #[test]
    fn reliable_final_terminates_at_once() {
        let t0 = Instant::now();
        let mut tx = NonInviteServerTransaction::new(TimerConfig::default(), Transport::Reliable);
        let mut out = Vec::new();
        tx.send_response(t0, 200, b("200"), &mut out);
        assert_eq!(out, vec![Action::Transmit(b("200")), Action::Terminated]);
    }
}
