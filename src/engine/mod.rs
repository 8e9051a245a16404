//! The sans-IO engine: every protocol decision in sipbox happens here, and none of it touches a
//! socket or reads the clock.
//!
//! In: `(now, socket, source, bytes)` through [`Engine::handle_datagram`] and `now` through
//! [`Engine::handle_timeout`]. Out: datagrams through [`Engine::poll_transmit`], RTP socket
//! requests through [`Engine::poll_socket_op`], and the next deadline through
//! [`Engine::poll_timeout`]. Tests drive it with a fake clock; the driver drives it with mio.
//!
//! Requests go through RFC 3261 §8.2's checks ([`validate`]) and then to a handler by method:
//! REGISTER ([`register`]), OPTIONS, and the call handlers in [`crate::call`].

mod respond;
mod validate;

use crate::sched::Scheduler;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// Which local socket a datagram came in on or goes out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SockId(pub u32);

impl SockId {
    /// The SIP UDP socket.
    pub const SIP: SockId = SockId(0);
}

/// What the driver should do with a datagram it handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The engine took it (and may have queued datagrams).
    Consumed,
    /// Resend the same (possibly rewritten in place) buffer out of `via` to `to`: the RTP relay's
    /// per-packet path, which copies and queues nothing.
    Forward {
        /// The socket to send from.
        via: SockId,
        /// The destination.
        to: SocketAddr,
    },
}

/// A datagram the engine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The socket to send from.
    pub via: SockId,
    /// The destination.
    pub to: SocketAddr,
    /// The datagram.
    pub bytes: Vec<u8>,
}

/// A request to open or close an RTP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketOp {
    /// Bind a UDP socket at `addr` and report back with [`Engine::socket_bound`].
    Bind {
        /// The id the engine will use for it.
        id: SockId,
        /// Where to bind.
        addr: SocketAddr,
    },
    /// Close it.
    Close {
        /// Which.
        id: SockId,
    },
}

/// What a timer on the engine's heap means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineTimer {
    /// Sweep expired digest nonces.
    NonceSweep,
}

/// The engine's outputs, kept apart so handlers can borrow them beside other state.
#[derive(Default)]
pub struct Outbox {
    transmits: VecDeque<Transmit>,
    socket_ops: VecDeque<SocketOp>,
}

impl Outbox {
    /// Queues a datagram from the SIP socket.
    pub fn sip(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            via: SockId::SIP,
            to,
            bytes,
        });
    }
}

/// The protocol core.
pub struct Engine {
    sched: Scheduler<EngineTimer>,
    out: Outbox,
}

impl Engine {
    /// Handles one datagram that arrived on `on` from `from`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        on: SockId,
        from: SocketAddr,
        data: &mut [u8],
    ) -> Verdict {
        let _ = (now, on, from, data);
        Verdict::Consumed
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, timer)) = self.sched.pop_due(now) {
            match timer {
                EngineTimer::NonceSweep => {}
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next socket to open or close.
    pub fn poll_socket_op(&mut self) -> Option<SocketOp> {
        self.out.socket_ops.pop_front()
    }

    /// The driver's answer to a [`SocketOp::Bind`].
    pub fn socket_bound(&mut self, id: SockId, ok: bool) {
        let _ = (id, ok);
    }

    /// The earliest deadline the engine needs to be woken at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sched.next_deadline()
    }
}
