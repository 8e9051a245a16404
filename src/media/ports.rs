//! RTP/RTCP port pairs: which ports of `rtpstart..=rtpend` are in use, the socket ids the
//! driver knows them by, and a small reserve of pairs already bound.
//!
//! Reading list: RFC 3550 §11 (RTP on an even port, RTCP on the next odd one); Asterisk's
//! `rtp.conf` (`rtpstart`, `rtpend`) and `res_rtp_asterisk.c` (it binds at once and tries the
//! next port on failure).
//!
//! The engine is sans-IO: it asks the driver to bind with [`SocketOp::Bind`] and learns the
//! outcome through `socket_bound`. The SDP naming a port goes out before that answer, so a
//! call takes its pairs from a *reserve* of pairs already bound and confirmed; the reserve is
//! refilled after every allocation (a failed bind tries the next free pair, a few times). Only
//! when the reserve is empty (a burst, or the very first call) is a pair handed out before its
//! bind is confirmed; if that bind fails the leg has no media and a warning says so.
//!
//! Socket ids are derived from slab keys: pair `k` is RTP `SockId(2k+1)` and RTCP
//! `SockId(2k+2)`, so the per-packet lookup is one slab index.

use crate::flow::{Outbox, SockId, SocketOp};
use crate::handle::{CallHandle as CallRef, LegId};
use crate::media::rtp::Port;
use slab::Slab;
use std::net::{IpAddr, SocketAddr};

/// Pairs kept bound and idle, so that a new call's SDP names ports known to work.
pub const RESERVE: usize = 4;
/// Binds tried per refill before giving up until the next allocation.
const BIND_ATTEMPTS: usize = 8;

/// Who a pair belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairState {
    /// Bind requested for the reserve; `confirmed` sockets answered ok so far.
    Pending {
        /// Sockets of the pair whose bind succeeded.
        confirmed: u8,
    },
    /// Bound and idle in the reserve.
    Ready,
    /// Given to a call's leg (bound, or still being bound when `confirmed < 2`).
    InUse {
        /// The call.
        call: CallRef,
        /// Its leg.
        leg: LegId,
        /// Sockets of the pair whose bind succeeded.
        confirmed: u8,
    },
}

/// One RTP/RTCP port pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSlot {
    /// The even RTP port.
    pub port: u16,
    /// Its state.
    pub state: PairState,
}

/// A pair handed to a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The RTP socket.
    pub rtp: SockId,
    /// The RTCP socket.
    pub rtcp: SockId,
    /// The even RTP port (RTCP is `port + 1`).
    pub port: u16,
}

/// The port range and every pair sipbox holds.
pub struct Ports {
    ip: IpAddr,
    start: u16,
    /// `used[i]`: pair `start + 2i` is held (reserve or call).
    used: Vec<bool>,
    cursor: usize,
    pairs: Slab<PairSlot>,
    reserve: Vec<usize>,
    /// Binds failed in a row: a failed reserve bind tries another pair only while this is
    /// below [`BIND_ATTEMPTS`] (a range full of ports held elsewhere must not spin).
    failures: usize,
}

/// The socket ids of pair key `k`.
fn ids(k: usize) -> (SockId, SockId) {
    let base = u32::try_from(k).unwrap_or(u32::MAX / 2 - 1) * 2;
    (SockId(base + 1), SockId(base + 2))
}

/// The pair key and port of a socket id.
pub fn key_of(id: SockId) -> Option<(usize, Port)> {
    let n = usize::try_from(id.0.checked_sub(1)?).ok()?;
    let port = if n % 2 == 0 { Port::Rtp } else { Port::Rtcp };
    Some((n / 2, port))
}

impl Ports {
    /// Pairs from `start` (even) to `end` inclusive, bound on `ip`.
    pub fn new(ip: IpAddr, start: u16, end: u16) -> Ports {
        let start = start.saturating_add(start % 2);
        let count = usize::from(end.saturating_sub(start).saturating_add(1)) / 2;
        Ports {
            ip,
            start,
            used: vec![false; count],
            cursor: 0,
            pairs: Slab::new(),
            reserve: Vec::new(),
            failures: 0,
        }
    }

    /// Starts the round-robin walk at pair `seed % pairs` instead of `rtpstart`, as Asterisk
    /// picks a random first port: two instances sharing a range rarely collide.
    pub fn start_walk_at(&mut self, seed: usize) {
        if !self.used.is_empty() {
            self.cursor = seed % self.used.len();
        }
    }

    /// Binds the reserve now (at start), so that even the first call's SDP names a pair whose
    /// bind is confirmed (a port held by another process is skipped before any call needs it).
    pub fn prime(&mut self, out: &mut Outbox) {
        self.refill(out);
    }

    /// The address RTP sockets bind on (and SDP names).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Pairs held (reserve and calls), for leak checks.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.pairs.len()
    }

    /// Pairs held by calls.
    pub fn in_use(&self) -> usize {
        self.pairs
            .iter()
            .filter(|(_, s)| matches!(s.state, PairState::InUse { .. }))
            .count()
    }

    /// The next free port index, round-robin from the cursor (Asterisk walks the range too, so
    /// a port just released is not reused at once).
    fn free_index(&mut self) -> Option<usize> {
        let n = self.used.len();
        for step in 0..n {
            let i = (self.cursor + step) % n;
            if !self.used[i] {
                self.cursor = (i + 1) % n;
                return Some(i);
            }
        }
        None
    }

    fn port_of_index(&self, i: usize) -> u16 {
        let offset = u16::try_from(i * 2).unwrap_or(u16::MAX);
        self.start.saturating_add(offset)
    }

    fn index_of_port(&self, port: u16) -> usize {
        usize::from(port.saturating_sub(self.start)) / 2
    }

    /// Takes a free port pair, records it in `state` and asks the driver to bind it.
    fn open(&mut self, state: PairState, out: &mut Outbox) -> Option<usize> {
        let i = self.free_index()?;
        self.used[i] = true;
        let port = self.port_of_index(i);
        let k = self.pairs.insert(PairSlot { port, state });
        let (rtp, rtcp) = ids(k);
        out.socket_op(SocketOp::Bind {
            id: rtp,
            addr: SocketAddr::new(self.ip, port),
        });
        out.socket_op(SocketOp::Bind {
            id: rtcp,
            addr: SocketAddr::new(self.ip, port.saturating_add(1)),
        });
        Some(k)
    }

    /// Gives a pair to `leg` of `call`: from the reserve when it has one, else a fresh pair
    /// whose bind is still to be confirmed. None when the range is exhausted.
    pub fn allocate(&mut self, call: CallRef, leg: LegId, out: &mut Outbox) -> Option<Pair> {
        let k = match self.reserve.pop() {
            Some(k) => {
                if let Some(s) = self.pairs.get_mut(k) {
                    s.state = PairState::InUse {
                        call,
                        leg,
                        confirmed: 2,
                    };
                }
                k
            }
            None => {
                // A reserve pair still being bound, else a fresh one: unconfirmed either way.
                let pending = self.pairs.iter_mut().find_map(|(k, s)| match s.state {
                    PairState::Pending { confirmed } => {
                        s.state = PairState::InUse {
                            call,
                            leg,
                            confirmed,
                        };
                        Some(k)
                    }
                    _ => None,
                });
                match pending {
                    Some(k) => k,
                    None => self.open(
                        PairState::InUse {
                            call,
                            leg,
                            confirmed: 0,
                        },
                        out,
                    )?,
                }
            }
        };
        self.refill(out);
        let (rtp, rtcp) = ids(k);
        Some(Pair {
            rtp,
            rtcp,
            port: self.pairs.get(k)?.port,
        })
    }

    /// Binds pairs until the reserve (with the binds in flight) holds [`RESERVE`] pairs.
    fn refill(&mut self, out: &mut Outbox) {
        let pending = self
            .pairs
            .iter()
            .filter(|(_, s)| matches!(s.state, PairState::Pending { .. }))
            .count();
        for _ in (self.reserve.len() + pending)..RESERVE {
            if self
                .open(PairState::Pending { confirmed: 0 }, out)
                .is_none()
            {
                break;
            }
        }
    }

    /// Closes a pair: both sockets, and its ports become free.
    pub fn release(&mut self, pair: Pair, out: &mut Outbox) {
        let Some((k, _)) = key_of(pair.rtp) else {
            return;
        };
        self.close_key(k, out);
    }

    fn close_key(&mut self, k: usize, out: &mut Outbox) {
        let Some(slot) = self.pairs.try_remove(k) else {
            return;
        };
        let i = self.index_of_port(slot.port);
        if let Some(u) = self.used.get_mut(i) {
            *u = false;
        }
        self.reserve.retain(|&r| r != k);
        let (rtp, rtcp) = ids(k);
        out.socket_op(SocketOp::Close { id: rtp });
        out.socket_op(SocketOp::Close { id: rtcp });
    }

    /// The driver's answer to a bind. Returns the call and leg that lost its media when a pair
    /// already handed out failed to bind.
    pub fn bound(&mut self, id: SockId, ok: bool, out: &mut Outbox) -> Option<(CallRef, LegId)> {
        let (k, _) = key_of(id)?;
        let slot = self.pairs.get_mut(k)?;
        if ok {
            match &mut slot.state {
                PairState::Pending { confirmed } => {
                    *confirmed += 1;
                    if *confirmed == 2 {
                        slot.state = PairState::Ready;
                        self.reserve.push(k);
                        self.failures = 0;
                    }
                }
                PairState::InUse { confirmed, .. } => *confirmed += 1,
                PairState::Ready => {}
            }
            return None;
        }
        log::debug!("rtp port {} (socket {id:?}) failed to bind", slot.port);
        let lost = match slot.state {
            PairState::InUse { call, leg, .. } => Some((call, leg)),
            _ => None,
        };
        // Keep the port marked used (something else holds it) until the range wraps around:
        // forget the slot, close its sibling, and let the round-robin cursor move on.
        let port = slot.port;
        self.close_key(k, out);
        let i = self.index_of_port(port);
        if let Some(u) = self.used.get_mut(i) {
            *u = false;
        }
        // Each pair fails once (its RTP or RTCP socket, whichever answers first).
        self.failures += 1;
        if lost.is_none() && self.failures < BIND_ATTEMPTS && self.reserve.len() < RESERVE {
            // A reserve pair: try the next free pair.
            self.open(PairState::Pending { confirmed: 0 }, out);
        }
        lost
    }

    /// Hands `pair` to another call's leg (a leg moved between calls keeps its ports, so
    /// its phone goes on sending to the address it knows).
    pub fn reassign(&mut self, pair: Pair, call: CallRef, leg: LegId) {
        let Some((k, _)) = key_of(pair.rtp) else {
            return;
        };
        if let Some(PairSlot {
            state: PairState::InUse {
                call: c, leg: l, ..
            },
            ..
        }) = self.pairs.get_mut(k)
        {
            *c = call;
            *l = leg;
        }
    }

    /// The owner of the socket a packet arrived on, and which of its pair it is.
    #[inline]
    pub fn owner(&self, id: SockId) -> Option<(CallRef, LegId, Port)> {
        let (k, port) = key_of(id)?;
        match self.pairs.get(k)?.state {
            PairState::InUse { call, leg, .. } => Some((call, leg, port)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::{CallTag, GenSlab};

    fn cref(n: u32) -> CallRef {
        let mut t: GenSlab<CallTag, ()> = GenSlab::new();
        let mut last = None;
        for _ in 0..=n {
            last = Some(t.insert(()));
        }
        last.unwrap()
    }

    fn bind_ops(out: &mut Outbox) -> Vec<(SockId, u16)> {
        let mut v = Vec::new();
        while let Some(op) = out.pop_socket_op() {
            if let SocketOp::Bind { id, addr } = op {
                v.push((id, addr.port()));
            }
        }
        v
    }

    #[test]
    fn ids_round_trip() {
        for k in [0usize, 1, 7, 1000] {
            let (a, b) = ids(k);
            assert_eq!(key_of(a), Some((k, Port::Rtp)));
            assert_eq!(key_of(b), Some((k, Port::Rtcp)));
        }
        assert_eq!(key_of(SockId::SIP), None);
    }

    #[test]
    fn reserve_then_exhaustion_then_release() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        // Three pairs: 10000, 10002, 10004.
        let mut p = Ports::new(ip, 10000, 10005);
        let mut out = Outbox::default();
        let c = cref(0);
        let a = p.allocate(c, 0, &mut out).unwrap();
        assert_eq!(a.port, 10000);
        let ops = bind_ops(&mut out);
        // The leg's own pair plus the reserve refill (two pairs left).
        assert_eq!(ops.len(), 6);
        for (id, _) in &ops {
            assert!(p.bound(*id, true, &mut out).is_none());
        }
        assert_eq!(p.reserve.len(), 2);
        let b = p.allocate(c, 1, &mut out).unwrap();
        let d = p.allocate(c, 2, &mut out).unwrap();
        assert_ne!(b.port, d.port);
        assert!(p.allocate(c, 3, &mut out).is_none(), "range exhausted");
        p.release(a, &mut out);
        p.release(b, &mut out);
        p.release(d, &mut out);
        let _ = bind_ops(&mut out);
        assert_eq!(p.held(), 0);
        assert!(p.used.iter().all(|u| !u));
    }

    #[test]
    fn failed_bind_of_a_handed_out_pair_is_reported() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let mut p = Ports::new(ip, 20000, 20009);
        let mut out = Outbox::default();
        let c = cref(3);
        let a = p.allocate(c, 1, &mut out).unwrap();
        assert_eq!(p.bound(a.rtp, false, &mut out), Some((c, 1)));
        assert!(p.owner(a.rtp).is_none());
    }

    #[test]
    fn a_range_of_busy_ports_does_not_spin() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        // Four pairs; every bind fails (all held by other processes).
        let mut p = Ports::new(ip, 30000, 30007);
        let mut out = Outbox::default();
        p.prime(&mut out);
        let mut binds = 0;
        while let Some(op) = out.pop_socket_op() {
            if let SocketOp::Bind { id, .. } = op {
                binds += 1;
                assert!(binds < 100, "bind retries must be bounded");
                assert!(p.bound(id, false, &mut out).is_none());
            }
        }
        assert!(p.reserve.is_empty());
        // A later success resets the count: the reserve fills again.
        p.failures = 0;
        p.prime(&mut out);
        let ops = bind_ops(&mut out);
        assert_eq!(ops.len(), 2 * RESERVE);
    }
}
