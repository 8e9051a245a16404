//! Either kind of client or server transaction behind one type, so an engine can keep one
//! table per side and dispatch events without matching on the kind itself.

use super::{
    Action, InviteClientState, InviteClientTransaction, InviteServerState, InviteServerTransaction,
    NonInviteClientState, NonInviteClientTransaction, NonInviteServerState,
    NonInviteServerTransaction, RequestKind, TimerConfig, TimerKind, Transport,
};
use std::rc::Rc;
use std::time::Instant;

/// A client transaction of either kind.
#[derive(Debug)]
pub enum ClientTransaction {
    /// For an INVITE.
    Invite(InviteClientTransaction),
    /// For any other request (an ACK gets no transaction: send it directly).
    NonInvite(NonInviteClientTransaction),
}

impl ClientTransaction {
    /// The machine for a request of this kind, not yet started.
    pub fn new(
        kind: RequestKind,
        config: TimerConfig,
        transport: Transport,
        request: Rc<[u8]>,
    ) -> Self {
        match kind {
            RequestKind::Invite => {
                ClientTransaction::Invite(InviteClientTransaction::new(config, transport, request))
            }
            RequestKind::Ack | RequestKind::Cancel | RequestKind::Other => {
                ClientTransaction::NonInvite(NonInviteClientTransaction::new(
                    config, transport, request,
                ))
            }
        }
    }

    /// Sends the request and arms its timers.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self {
            ClientTransaction::Invite(t) => t.start(now, out),
            ClientTransaction::NonInvite(t) => t.start(now, out),
        }
    }

    /// A matching response; `make_ack` is used only by an INVITE transaction (§17.1.1.3).
    pub fn on_response(
        &mut self,
        now: Instant,
        status: u16,
        make_ack: impl FnOnce() -> Rc<[u8]>,
        out: &mut Vec<Action>,
    ) {
        match self {
            ClientTransaction::Invite(t) => t.on_response(now, status, make_ack, out),
            ClientTransaction::NonInvite(t) => t.on_response(now, status, out),
        }
    }

    /// One of its timers fired.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        match self {
            ClientTransaction::Invite(t) => t.on_timer(now, kind, out),
            ClientTransaction::NonInvite(t) => t.on_timer(now, kind, out),
        }
    }

    /// A CANCEL for this INVITE went out (§9.1: Timer B guards the 487); nothing for others.
    pub fn on_cancel_sent(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let ClientTransaction::Invite(t) = self {
            t.on_cancel_sent(now, out);
        }
    }

    /// The transport failed.
    pub fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        match self {
            ClientTransaction::Invite(t) => t.on_transport_error(out),
            ClientTransaction::NonInvite(t) => t.on_transport_error(out),
        }
    }

    /// Heap bytes of the messages it keeps.
    pub fn held_bytes(&self) -> usize {
        match self {
            ClientTransaction::Invite(t) => t.held_bytes(),
            ClientTransaction::NonInvite(t) => t.held_bytes(),
        }
    }

    /// True once the machine has emitted [`Action::Terminated`].
    pub fn is_terminated(&self) -> bool {
        match self {
            ClientTransaction::Invite(t) => t.state() == InviteClientState::Terminated,
            ClientTransaction::NonInvite(t) => t.state() == NonInviteClientState::Terminated,
        }
    }
}

/// A server transaction of either kind.
#[derive(Debug)]
pub enum ServerTransaction {
    /// For an INVITE (its ACK for a non-2xx matches it too).
    Invite(InviteServerTransaction),
    /// For any other request but ACK.
    NonInvite(NonInviteServerTransaction),
}

impl ServerTransaction {
    /// The machine for a new request of this kind. An ACK that matches nothing belongs to no
    /// transaction (it acknowledges a 2xx, §17.2.3); don't create one for it.
    pub fn new(kind: RequestKind, config: TimerConfig, transport: Transport) -> Self {
        match kind {
            RequestKind::Invite => {
                ServerTransaction::Invite(InviteServerTransaction::new(config, transport))
            }
            RequestKind::Ack | RequestKind::Cancel | RequestKind::Other => {
                ServerTransaction::NonInvite(NonInviteServerTransaction::new(config, transport))
            }
        }
    }

    /// The request was retransmitted.
    pub fn on_retransmission(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self {
            ServerTransaction::Invite(t) => t.on_retransmission(now, out),
            ServerTransaction::NonInvite(t) => t.on_retransmission(now, out),
        }
    }

    /// The TU sends a response.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        bytes: Rc<[u8]>,
        out: &mut Vec<Action>,
    ) {
        match self {
            ServerTransaction::Invite(t) => t.send_response(now, status, bytes, out),
            ServerTransaction::NonInvite(t) => t.send_response(now, status, bytes, out),
        }
    }

    /// An ACK matched this transaction; ignored by a non-INVITE one.
    pub fn on_ack(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let ServerTransaction::Invite(t) = self {
            t.on_ack(now, out);
        }
    }

    /// One of its timers fired.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
        match self {
            ServerTransaction::Invite(t) => t.on_timer(now, kind, out),
            ServerTransaction::NonInvite(t) => t.on_timer(now, kind, out),
        }
    }

    /// The transport failed.
    pub fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        match self {
            ServerTransaction::Invite(t) => t.on_transport_error(out),
            ServerTransaction::NonInvite(t) => t.on_transport_error(out),
        }
    }

    /// Heap bytes of the messages it keeps.
    pub fn held_bytes(&self) -> usize {
        match self {
            ServerTransaction::Invite(t) => t.held_bytes(),
            ServerTransaction::NonInvite(t) => t.held_bytes(),
        }
    }

    /// True once the machine has emitted [`Action::Terminated`].
    pub fn is_terminated(&self) -> bool {
        match self {
            ServerTransaction::Invite(t) => t.state() == InviteServerState::Terminated,
            ServerTransaction::NonInvite(t) => t.state() == NonInviteServerState::Terminated,
        }
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_by_kind() {
        let t0 = Instant::now();
        let cfg = TimerConfig::default();
        let mut out = Vec::new();
        let mut c = ClientTransaction::new(
            RequestKind::Other,
            cfg,
            Transport::Unreliable,
            Rc::from(&b"BYE"[..]),
        );
        c.start(t0, &mut out);
        assert!(out.contains(&Action::StartTimer(TimerKind::E, t0 + cfg.t1)));
        c.on_response(t0, 200, || Rc::from(&b"unused"[..]), &mut out);
        c.on_timer(t0, TimerKind::K, &mut out);
        assert!(c.is_terminated());

        let mut s = ServerTransaction::new(RequestKind::Invite, cfg, Transport::Unreliable);
        out.clear();
        s.send_response(t0, 404, Rc::from(&b"404"[..]), &mut out);
        s.on_ack(t0, &mut out);
        s.on_timer(t0, TimerKind::I, &mut out);
        assert!(s.is_terminated());
        assert_eq!(out.last(), Some(&Action::Terminated));
    }
}
