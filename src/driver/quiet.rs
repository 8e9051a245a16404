//! Which RTP/RTCP sockets are known to hold no datagram, so that the engine's
//! [`sipbox::engine::SocketOp::Drain`] of a pooled socket given to a new call costs no
//! recvfrom (an EAGAIN) when nothing can be queued: two syscalls a call once the pool is warm.
//!
//! A socket is known empty once a read of it returned WouldBlock (or it was just bound) and
//! no readable event has come for it since. The driver marks every socket of a turn's events
//! before handling any of them: a SIP datagram handled first may give a socket to a new call
//! whose own event comes later in the list, and that socket's Drain must read.
//!
//! What can then reach the new call that a read would have dropped: a datagram that arrived
//! during this turn, after its `epoll_wait` returned and before the Drain (at most one turn).
//! One arriving just after the Drain always reached the new call, so the boundary moves by
//! at most a turn; what queued up earlier (the ended call's late packets, over the pool's
//! quarantine) raised an event and was read and dropped then.

use sipbox::engine::SockId;

/// Known-empty flags by RTP/RTCP socket index (`SockId.0 - 1`); the SIP and DNS sockets are
/// never known empty.
#[derive(Default)]
pub struct Quiet {
    empty: Vec<bool>,
}

impl Quiet {
    /// A readable event came for `id` (or its read stopped before WouldBlock).
    pub fn event(&mut self, id: SockId) {
        self.set(id, false);
    }

    /// `id` was read to WouldBlock, or bound just now.
    pub fn empty(&mut self, id: SockId) {
        self.set(id, true);
    }

    /// Whether a Drain of `id` must read.
    pub fn needs_read(&self, id: SockId) -> bool {
        index(id).is_none_or(|i| self.empty.get(i) != Some(&true))
    }

    fn set(&mut self, id: SockId, empty: bool) {
        let Some(i) = index(id) else { return };
        if self.empty.len() <= i {
            self.empty.resize(i + 1, false);
        }
        self.empty[i] = empty;
    }
}

/// The index of RTP/RTCP socket `id` (None: the SIP or DNS socket).
fn index(id: SockId) -> Option<usize> {
    if id == SockId::DNS {
        return None;
    }
    usize::try_from(id.0.checked_sub(1)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_reads_unless_the_socket_was_read_dry_since_its_last_event() {
        let mut q = Quiet::default();
        let (a, b) = (SockId(3), SockId(4));
        assert!(q.needs_read(a), "never seen: read");
        q.empty(a);
        assert!(!q.needs_read(a), "bound or read to WouldBlock");
        assert!(q.needs_read(b), "its neighbour is not");
        q.event(a);
        assert!(q.needs_read(a), "an event since");
        q.empty(a);
        assert!(!q.needs_read(a));
        q.empty(SockId::SIP);
        q.empty(SockId::DNS);
        assert!(q.needs_read(SockId::SIP) && q.needs_read(SockId::DNS));
    }
}
