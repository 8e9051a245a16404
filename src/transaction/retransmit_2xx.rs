//! The UAS core's 2xx retransmission (RFC 3261 §13.3.1.4): not a transaction, but the same
//! kind of small timed machine, kept here beside its timers.

use super::{start, Action, TimerConfig, TimerKind};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// States of the 2xx retransmitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetransmitterState {
    /// Created, `start` not yet called.
    Idle,
    /// Retransmitting the 2xx until the ACK arrives or 64·T1 pass.
    Retransmitting,
    /// ACKed or given up.
    Terminated,
}

/// Retransmits a 2xx to an INVITE every T1, doubling up to T2, on every transport, until the
/// ACK arrives; after 64·T1 without one it emits [`Action::AckTimeout`] (the TU should send
/// BYE). The first copy of the 2xx goes out through the INVITE server transaction.
#[derive(Debug)]
pub struct TwoHundredRetransmitter {
    state: RetransmitterState,
    config: TimerConfig,
    response: Rc<[u8]>,
    interval: Duration,
}

impl TwoHundredRetransmitter {
    /// A retransmitter for this 2xx, not yet started.
    pub fn new(config: TimerConfig, response: Rc<[u8]>) -> Self {
        TwoHundredRetransmitter {
            state: RetransmitterState::Idle,
            config,
            response,
            interval: config.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> RetransmitterState {
        self.state
    }

    /// Arms the retransmission and give-up timers; call right after the first copy was sent.
    /// Idempotent.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != RetransmitterState::Idle {
            return;
        }
        self.state = RetransmitterState::Retransmitting;
        start(out, TimerKind::Retransmit2xx, now, self.interval);
        start(out, TimerKind::WaitAck, now, self.config.sixty_four_t1());
    }

    /// The ACK for the 2xx arrived: stop and terminate.
    pub fn on_ack(&mut self, out: &mut Vec<Action>) {
        if self.state == RetransmitterState::Terminated {
            return;
        }
        self.state = RetransmitterState::Terminated;
        out.push(Action::StopTimer(TimerKind::Retransmit2xx));
        out.push(Action::StopTimer(TimerKind::WaitAck));
        out.push(Action::Terminated);
    }

    /// A timer fired. Timers that do not apply to the state are ignored.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        if self.state != RetransmitterState::Retransmitting {
            return;
        }
        match kind {
            TimerKind::Retransmit2xx => {
                out.push(Action::Transmit(self.response.clone()));
                self.interval = self.config.backoff(self.interval);
                start(out, TimerKind::Retransmit2xx, now, self.interval);
            }
            TimerKind::WaitAck => {
                self.state = RetransmitterState::Terminated;
                out.push(Action::AckTimeout);
                out.push(Action::Terminated);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_and_stops_on_ack() {
        let t0 = Instant::now();
        let ok: Rc<[u8]> = Rc::from(&b"200"[..]);
        let mut r = TwoHundredRetransmitter::new(TimerConfig::default(), ok.clone());
        let mut out = Vec::new();
        r.start(t0, &mut out);
        assert_eq!(
            out,
            vec![
                Action::StartTimer(TimerKind::Retransmit2xx, t0 + Duration::from_millis(500)),
                Action::StartTimer(TimerKind::WaitAck, t0 + Duration::from_secs(32)),
            ]
        );
        out.clear();
        r.on_timer(t0, TimerKind::Retransmit2xx, &mut out);
        assert_eq!(
            out,
            vec![
                Action::Transmit(ok),
                Action::StartTimer(TimerKind::Retransmit2xx, t0 + Duration::from_secs(1)),
            ]
        );
        out.clear();
        r.on_ack(&mut out);
        assert_eq!(out.last(), Some(&Action::Terminated));
        out.clear();
        r.on_timer(t0, TimerKind::WaitAck, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn gives_up_after_64_t1() {
        let t0 = Instant::now();
        let mut r = TwoHundredRetransmitter::new(TimerConfig::default(), Rc::from(&b"200"[..]));
        let mut out = Vec::new();
        r.start(t0, &mut out);
        out.clear();
        r.on_timer(t0, TimerKind::WaitAck, &mut out);
        assert_eq!(out, vec![Action::AckTimeout, Action::Terminated]);
    }
}
