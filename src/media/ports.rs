//! RTP/RTCP port pairs: which ports of `rtpstart..=rtpend` are in use, the socket ids the
//! driver knows them by, a small reserve of pairs already bound, and the pool of released pairs
//! kept open for reuse.
//!
//! Reading list: RFC 3550 §11 (RTP on an even port, RTCP on the next odd one); Asterisk's
//! `rtp.conf` (`rtpstart`, `rtpend`) and `res_rtp_asterisk.c` (it binds at once and tries the
//! next port on failure; it closes a call's sockets at its end — sipbox keeps them, see below).
//!
//! The engine is sans-IO: it asks the driver to bind with [`SocketOp::Bind`] and learns the
//! outcome through `socket_bound`. The SDP naming a port goes out before that answer, so a
//! call takes its pairs from a *reserve* of pairs already bound and confirmed; the reserve is
//! refilled after every allocation (a failed bind tries the next free pair, a few times). Only
//! when the reserve is empty (a burst, or the very first call) is a pair handed out before its
//! bind is confirmed; if that bind fails the leg has no media and a warning says so.
//!
//! The pool: a call's released pair is not closed but kept bound in *quarantine* for
//! [`QUARANTINE`]; whatever arrives on it meanwhile (the late packets of the call that ended)
//! belongs to no leg and is dropped. Then it joins the reserve; when a call takes it the
//! driver first drains what is queued on its RTP socket ([`SocketOp::Drain`]), so nothing sent
//! to the previous call's RTP reaches the next. Idle pairs (reserve and quarantine) are capped at
//! [`Ports::idle_cap`] (half the range, at most [`IDLE_MAX`]): a pair released beyond the
//! cap is closed, as before. A call thus costs no socket, bind, close or epoll syscall once
//! the pool holds the pairs the call rate needs (rate × [`QUARANTINE`]). Which pair of the
//! reserve a call gets is drawn at random (the caller's random number), and a fresh pair comes
//! from the round-robin walk that starts at a random port, so ports stay as hard to guess as
//! they were.
//!
//! Socket ids are derived from slab keys: pair `k` is RTP `SockId(2k+1)` and RTCP
//! `SockId(2k+2)`, so the per-packet lookup is one slab index. Each slot holds the RTP
//! socket's forwarding record ([`Route`]), the plain relay's whole per-packet state.

use crate::flow::{Outbox, SockId, SocketOp};
use crate::handle::{CallHandle as CallRef, LegId};
use crate::media::route::Route;
use crate::media::rtp::Port;
use slab::Slab;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Pairs kept bound and idle, so that a new call's SDP names ports known to work.
pub const RESERVE: usize = 4;
/// Binds tried per refill before giving up until the next allocation.
const BIND_ATTEMPTS: usize = 8;
/// How long a released pair drops everything before a call may take it again: far longer
/// than a late packet of the ended call can be in flight (the phone stops at the BYE).
pub const QUARANTINE: Duration = Duration::from_secs(2);
/// The most idle pairs kept open (8 192 sockets): enough for 2 000 released pairs a second
/// (1 000 calls/s of two legs) over [`QUARANTINE`].
pub const IDLE_MAX: usize = 4096;

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
    /// Released by a call, bound, dropping what arrives until it may be reused.
    Quarantine,
}

/// One RTP/RTCP port pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSlot {
    /// The even RTP port.
    pub port: u16,
    /// Its state.
    pub state: PairState,
    /// A call has had it: its sockets may hold that call's datagrams.
    pub used: bool,
    /// The RTP socket's forwarding record while the plain relay serves the leg.
    pub route: Option<Route>,
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
    /// `used[i]`: pair `start + 2i` is held (reserve, pool or call).
    used: Vec<bool>,
    cursor: usize,
    pairs: Slab<PairSlot>,
    /// Ready pairs.
    reserve: Vec<usize>,
    /// Pairs being bound for the reserve, oldest first.
    pending: VecDeque<usize>,
    /// Released pairs and when each may be reused, oldest first.
    quarantine: VecDeque<(usize, Instant)>,
    /// Pairs held by calls.
    in_use: usize,
    /// At most this many idle pairs (reserve and quarantine) stay open.
    idle_cap: usize,
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
#[inline]
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
            pending: VecDeque::new(),
            quarantine: VecDeque::new(),
            in_use: 0,
            idle_cap: (count / 2).min(IDLE_MAX),
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

    /// The most idle pairs kept open.
    pub fn idle_cap(&self) -> usize {
        self.idle_cap
    }

    /// Lowers (or raises, up to half the range and [`IDLE_MAX`]) the idle cap: the driver
    /// keeps the pool within its share of the process's file descriptors. Idle pairs beyond
    /// the new cap are closed, the oldest released first.
    pub fn set_idle_cap(&mut self, cap: usize, out: &mut Outbox) {
        self.idle_cap = cap.min(self.used.len() / 2).min(IDLE_MAX);
        while self.idle() > self.idle_cap {
            let k = match self.quarantine.pop_front() {
                Some((k, _)) => k,
                None => match self.reserve.pop() {
                    Some(k) => k,
                    None => break,
                },
            };
            self.close_key(k, out);
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

    /// Pairs held (reserve, pool and calls), for leak checks.
    pub fn held(&self) -> usize {
        self.pairs.len()
    }

    /// Idle pairs kept open: the reserve and the quarantine.
    pub fn idle(&self) -> usize {
        self.reserve.len() + self.quarantine.len()
    }

    /// Pairs held by calls.
    pub fn in_use(&self) -> usize {
        self.in_use
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
        let k = self.pairs.insert(PairSlot {
            port,
            state,
            used: false,
            route: None,
        });
        if matches!(state, PairState::Pending { .. }) {
            self.pending.push_back(k);
        }
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

    /// Moves the pairs whose quarantine is over into the reserve.
    fn promote(&mut self, now: Instant) {
        while let Some(&(k, until)) = self.quarantine.front() {
            if until > now {
                break;
            }
            self.quarantine.pop_front();
            if let Some(s) = self.pairs.get_mut(k) {
                s.state = PairState::Ready;
                self.reserve.push(k);
            }
        }
    }

    /// Gives a pair to `leg` of `call`: from the reserve when it has one (the one `pick`, a
    /// random number, lands on), else a fresh pair whose bind is still to be confirmed, else
    /// (the range exhausted) the pair longest in quarantine. None when every pair is taken.
    pub fn allocate(
        &mut self,
        now: Instant,
        pick: u32,
        call: CallRef,
        leg: LegId,
        out: &mut Outbox,
    ) -> Option<Pair> {
        self.promote(now);
        let in_use = |confirmed| PairState::InUse {
            call,
            leg,
            confirmed,
        };
        let k = if !self.reserve.is_empty() {
            let i = pick as usize % self.reserve.len();
            let k = self.reserve.swap_remove(i);
            if let Some(s) = self.pairs.get_mut(k) {
                s.state = in_use(2);
            }
            k
        } else if let Some(k) = self.pending.pop_front() {
            // A reserve pair still being bound: unconfirmed.
            if let Some(s) = self.pairs.get_mut(k) {
                if let PairState::Pending { confirmed } = s.state {
                    s.state = in_use(confirmed);
                }
            }
            k
        } else if let Some(k) = self.open(in_use(0), out) {
            k
        } else {
            // A call without media is worse than a shortened quarantine.
            let (k, _) = self.quarantine.pop_front()?;
            self.pairs.get_mut(k)?.state = in_use(2);
            k
        };
        self.in_use += 1;
        let slot = self.pairs.get_mut(k)?;
        slot.route = None;
        let port = slot.port;
        let (rtp, rtcp) = ids(k);
        if slot.used {
            // What the previous call's phone sent since the last read is not for this one.
            // RTCP is left alone (one syscall a call saved): a stale report is not audio, and
            // the call's RTCP learning follows the next report anyway.
            out.socket_op(SocketOp::Drain { id: rtp });
        }
        slot.used = true;
        self.refill(out);
        Some(Pair { rtp, rtcp, port })
    }

    /// Binds pairs until the reserve (with the binds in flight) holds [`RESERVE`] pairs.
    fn refill(&mut self, out: &mut Outbox) {
        for _ in (self.reserve.len() + self.pending.len())..RESERVE {
            if self
                .open(PairState::Pending { confirmed: 0 }, out)
                .is_none()
            {
                break;
            }
        }
    }

    /// A leg is done with `pair`: into quarantine while the pool has room, else closed (both
    /// sockets, and its ports become free).
    pub fn release(&mut self, now: Instant, pair: Pair, out: &mut Outbox) {
        let Some((k, _)) = key_of(pair.rtp) else {
            return;
        };
        let Some(slot) = self.pairs.get_mut(k) else {
            return;
        };
        let PairState::InUse { confirmed, .. } = slot.state else {
            return;
        };
        if confirmed < 2 || self.reserve.len() + self.quarantine.len() >= self.idle_cap {
            self.close_key(k, out);
            return;
        }
        self.in_use -= 1;
        slot.state = PairState::Quarantine;
        slot.route = None;
        self.quarantine.push_back((k, now + QUARANTINE));
    }

    fn close_key(&mut self, k: usize, out: &mut Outbox) {
        let Some(slot) = self.pairs.try_remove(k) else {
            return;
        };
        match slot.state {
            PairState::InUse { .. } => self.in_use -= 1,
            PairState::Ready => self.reserve.retain(|&r| r != k),
            PairState::Pending { .. } => self.pending.retain(|&r| r != k),
            PairState::Quarantine => self.quarantine.retain(|&(r, _)| r != k),
        }
        let i = self.index_of_port(slot.port);
        if let Some(u) = self.used.get_mut(i) {
            *u = false;
        }
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
                        self.pending.retain(|&r| r != k);
                        self.reserve.push(k);
                        self.failures = 0;
                    }
                }
                PairState::InUse { confirmed, .. } => *confirmed += 1,
                PairState::Ready | PairState::Quarantine => {}
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
    /// its phone goes on sending to the address it knows). Its forwarding record goes: the
    /// new call writes its own.
    pub fn reassign(&mut self, pair: Pair, call: CallRef, leg: LegId) {
        let Some((k, _)) = key_of(pair.rtp) else {
            return;
        };
        if let Some(PairSlot {
            state: PairState::InUse {
                call: c, leg: l, ..
            },
            route,
            ..
        }) = self.pairs.get_mut(k)
        {
            *c = call;
            *l = leg;
            *route = None;
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

    /// The forwarding record of RTP socket `id` (None: the call decides each packet).
    #[inline]
    pub fn route_mut(&mut self, id: SockId) -> Option<&mut Route> {
        let (k, Port::Rtp) = key_of(id)? else {
            return None;
        };
        self.pairs.get_mut(k)?.route.as_mut()
    }

    /// Sets (or clears) the forwarding record of `pair`'s RTP socket, which `call`'s `leg`
    /// must hold.
    pub fn set_route(&mut self, pair: Pair, call: CallRef, leg: LegId, route: Option<Route>) {
        let Some((k, _)) = key_of(pair.rtp) else {
            return;
        };
        if let Some(slot) = self.pairs.get_mut(k) {
            if matches!(slot.state, PairState::InUse { call: c, leg: l, .. } if c == call && l == leg)
            {
                slot.route = route;
            }
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

    /// Answers every bind in `out` with ok; returns all the operations seen.
    fn confirm(p: &mut Ports, out: &mut Outbox) -> Vec<SocketOp> {
        let mut seen = Vec::new();
        while let Some(op) = out.pop_socket_op() {
            if let SocketOp::Bind { id, .. } = op {
                assert!(p.bound(id, true, out).is_none());
            }
            seen.push(op);
        }
        seen
    }

    fn t0() -> Instant {
        // Tests may read the real clock (clippy.toml's sans-IO rule); only as an origin.
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    #[test]
    fn reserve_then_exhaustion_then_release() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        // Three pairs: 10000, 10002, 10004; at most one idle.
        let mut p = Ports::new(ip, 10000, 10005);
        assert_eq!(p.idle_cap(), 1);
        let mut out = Outbox::default();
        let c = cref(0);
        let now = t0();
        let a = p.allocate(now, 0, c, 0, &mut out).unwrap();
        assert_eq!(a.port, 10000);
        let ops = bind_ops(&mut out);
        // The leg's own pair plus the reserve refill (two pairs left).
        assert_eq!(ops.len(), 6);
        for (id, _) in &ops {
            assert!(p.bound(*id, true, &mut out).is_none());
        }
        assert_eq!(p.reserve.len(), 2);
        let b = p.allocate(now, 0, c, 1, &mut out).unwrap();
        let d = p.allocate(now, 0, c, 2, &mut out).unwrap();
        assert_ne!(b.port, d.port);
        assert!(
            p.allocate(now, 0, c, 3, &mut out).is_none(),
            "range exhausted"
        );
        let _ = confirm(&mut p, &mut out);
        p.release(now, a, &mut out);
        p.release(now, b, &mut out);
        p.release(now, d, &mut out);
        let closes = confirm(&mut p, &mut out)
            .iter()
            .filter(|op| matches!(op, SocketOp::Close { .. }))
            .count();
        // The first released pair waits in quarantine; the cap closes the other two.
        assert_eq!(closes, 4);
        assert_eq!((p.held(), p.idle(), p.in_use()), (1, 1, 0));
        assert_eq!(p.used.iter().filter(|u| **u).count(), 1);
        assert!(
            p.owner(a.rtp).is_none(),
            "a quarantined pair belongs to no leg"
        );
    }

    #[test]
    fn a_released_pair_is_reused_after_its_quarantine_and_drained_first() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let mut p = Ports::new(ip, 40000, 40099);
        let mut out = Outbox::default();
        let (c1, c2) = (cref(1), cref(2));
        let now = t0();
        p.prime(&mut out);
        let _ = confirm(&mut p, &mut out);
        let a = p.allocate(now, 0, c1, 0, &mut out).unwrap();
        let _ = confirm(&mut p, &mut out);
        p.release(now, a, &mut out);
        assert!(out.pop_socket_op().is_none(), "kept open: no close");
        assert!(p.owner(a.rtp).is_none());
        // During the quarantine no call gets it, however many ask.
        let mut during = Vec::new();
        for leg in 0..8 {
            let q = p
                .allocate(now + QUARANTINE / 2, leg as u32, c2, leg, &mut out)
                .unwrap();
            assert_ne!(q.port, a.port, "reused during its quarantine");
            during.push(q);
        }
        let _ = confirm(&mut p, &mut out);
        // After it, the pair is in the reserve: some allocation takes it, with drains and
        // without a new bind.
        let later = now + QUARANTINE;
        let mut found = false;
        for pick in 0..30 {
            let q = p.allocate(later, pick, c2, 10, &mut out).unwrap();
            let ops = confirm(&mut p, &mut out);
            if q.port == a.port {
                assert!(ops.contains(&SocketOp::Drain { id: q.rtp }));
                assert!(!ops
                    .iter()
                    .any(|op| matches!(op, SocketOp::Bind { addr, .. } if addr.port() == a.port)));
                assert_eq!(p.owner(q.rtp), Some((c2, 10, Port::Rtp)));
                found = true;
                break;
            }
            // A pair never used by a call needs no drain.
            assert!(!ops.iter().any(|op| matches!(op, SocketOp::Drain { .. })));
        }
        assert!(found, "the quarantined pair came back");
    }

    #[test]
    fn the_idle_cap_closes_pairs_beyond_it() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        // 20 pairs: at most 10 idle.
        let mut p = Ports::new(ip, 50000, 50039);
        assert_eq!(p.idle_cap(), 10);
        let mut out = Outbox::default();
        let c = cref(0);
        let now = t0();
        let pairs: Vec<Pair> = (0..14)
            .map(|leg| {
                let q = p.allocate(now, 0, c, leg, &mut out).unwrap();
                let _ = confirm(&mut p, &mut out);
                q
            })
            .collect();
        assert_eq!(p.in_use(), 14);
        for q in pairs {
            p.release(now, q, &mut out);
        }
        let ops = confirm(&mut p, &mut out);
        let closed = ops
            .iter()
            .filter(|op| matches!(op, SocketOp::Close { .. }))
            .count();
        assert_eq!(p.idle(), 10, "the pool is full");
        assert_eq!(p.held(), 10);
        // The reserve's RESERVE pairs count: 14 released, 10 - RESERVE kept.
        assert_eq!(closed, 2 * (14 - (10 - RESERVE)));
        // A lower cap (the driver's file descriptors) closes the oldest idle pairs.
        p.set_idle_cap(3, &mut out);
        let closed = confirm(&mut p, &mut out)
            .iter()
            .filter(|op| matches!(op, SocketOp::Close { .. }))
            .count();
        assert_eq!((p.idle(), closed), (3, 14));
        assert_eq!(p.used.iter().filter(|u| **u).count(), 3);
    }

    #[test]
    fn an_exhausted_range_takes_a_pair_from_quarantine_early() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        // Four pairs, two idle at most.
        let mut p = Ports::new(ip, 60000, 60007);
        let mut out = Outbox::default();
        let c = cref(0);
        let now = t0();
        let all: Vec<Pair> = (0..4)
            .map(|leg| {
                let q = p.allocate(now, 0, c, leg, &mut out).unwrap();
                let _ = confirm(&mut p, &mut out);
                q
            })
            .collect();
        assert!(p.allocate(now, 0, c, 9, &mut out).is_none());
        p.release(now, all[0], &mut out);
        let q = p
            .allocate(now, 0, c, 9, &mut out)
            .expect("the quarantined pair");
        assert_eq!(q.port, all[0].port);
        assert!(confirm(&mut p, &mut out).contains(&SocketOp::Drain { id: q.rtp }));
    }

    #[test]
    fn failed_bind_of_a_handed_out_pair_is_reported() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let mut p = Ports::new(ip, 20000, 20009);
        let mut out = Outbox::default();
        let c = cref(3);
        let a = p.allocate(t0(), 0, c, 1, &mut out).unwrap();
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
