//! RFC 3261 §17 transactions: the four state machines, their timers, keys and a bounded table.
//!
//! Before working on this module, read:
//! - RFC 3261 §17 (all of it): §17.1.1 INVITE client (Fig. 5), §17.1.2 non-INVITE client
//!   (Fig. 6), §17.2.1 INVITE server (Fig. 7), §17.2.2 non-INVITE server (Fig. 8), §17.1.3 and
//!   §17.2.3 matching, §17.1.1.3 the ACK built inside the client transaction.
//! - RFC 3261 Appendix A (Table 4): the timer values.
//! - RFC 3261 §13.3.1.4: the UAS core retransmits its own 2xx ([`TwoHundredRetransmitter`]).
//! - RFC 3261 §8.1.3.1 and §17.1.4: timeouts and transport errors reported to the TU.
//! - RFC 6026: the Accepted states and Timers L and M of both INVITE machines.
//! - RFC 4475 §3.1.2 (`badbranch`, `inv2543`): branches without the magic cookie.
//! - `/work/shared/conformance/TIMERS.md`: the tables these machines implement.
//!
//! # Shape
//! The layer is sans-IO and knows nothing of the message format: a machine is fed status codes,
//! opaque bytes to (re)transmit and the current [`Instant`]; it never reads a clock or touches a
//! socket. Every event method appends [`Action`]s to a caller-owned `Vec` (reuse it: no
//! allocation per event). The engine owns the timer heap ([`crate::sched::Scheduler`]): it
//! schedules on [`Action::StartTimer`] (replacing a running timer of the same kind), cancels on
//! [`Action::StopTimer`], and calls the machine's `on_timer(now, kind, ..)` when one fires. On
//! [`Action::Terminated`] it drops the transaction and cancels all its timers; a machine never
//! emits anything after that.
//!
//! [`TransactionTable`] stores transactions under [`ClientKey`]s or [`ServerKey`]s with
//! generation-checked [`Handle`]s and a hard bound; [`TimerSlots`] tracks a transaction's
//! scheduled [`crate::sched::TimerId`]s. The machines do not depend on the table.
//!
//! How an engine drives a machine (here an INVITE client) with its heap and a table:
//!
//! ```
//! use sipbox::sched::Scheduler;
//! use sipbox::transaction::*;
//! use std::{rc::Rc, time::{Duration, Instant}};
//!
//! type Table = TransactionTable<ClientKey, InviteClientTransaction>;
//! #[derive(Clone, Copy)]
//! struct Txn(Handle, TimerKind); // the engine's heap payload for transaction timers
//!
//! fn apply(table: &mut Table, h: Handle, sched: &mut Scheduler<Txn>, out: &mut Vec<Action>) {
//!     for action in out.drain(..) {
//!         match action {
//!             Action::Transmit(_bytes) => { /* queue a datagram to the peer */ }
//!             Action::StartTimer(k, at) => {
//!                 if let Some((_, timers)) = table.get_with_timers_mut(h) {
//!                     timers.start(sched, k, at, Txn(h, k));
//!                 }
//!             }
//!             Action::StopTimer(k) => {
//!                 if let Some((_, timers)) = table.get_with_timers_mut(h) {
//!                     timers.stop(sched, k);
//!                 }
//!             }
//!             Action::Terminated => {
//!                 if let Some(mut gone) = table.remove(h) {
//!                     gone.timers.stop_all(sched);
//!                 }
//!             }
//!             _ => { /* PassResponse, Timeout (408), TransportError (503): to the TU */ }
//!         }
//!     }
//! }
//!
//! let (mut sched, mut table, mut out) = (Scheduler::new(), Table::new(4096), Vec::new());
//! let now = Instant::now();
//! let invite: Rc<[u8]> = Rc::from(&b"INVITE sip:1002@pbx SIP/2.0 ..."[..]);
//! let tx = InviteClientTransaction::new(TimerConfig::default(), Transport::Unreliable, invite);
//! let h = table.insert(ClientKey::new("z9hG4bK74bf9", "INVITE"), tx).expect("503 when full");
//! table.get_mut(h).expect("live").start(now, &mut out); // Transmit, A at +0.5 s, B at +32 s
//! apply(&mut table, h, &mut sched, &mut out);
//! // A response whose top Via branch and CSeq method give the same key arrives:
//! let found = table.find(&ClientKey::new("z9hG4bK74bf9", "INVITE")).expect("matched");
//! let tx = table.get_mut(found).expect("live");
//! tx.on_response(now, 486, || Rc::from(&b"ACK ..."[..]), &mut out); // A, B stop; ACK; D
//! apply(&mut table, found, &mut sched, &mut out);
//! // Later the heap pops due timers; a stale handle or id is simply ignored.
//! let later = now + Duration::from_secs(32);
//! while let Some((id, Txn(h, kind))) = sched.pop_due(later) {
//!     if let Some((tx, timers)) = table.get_with_timers_mut(h) {
//!         if timers.fired(kind, id) {
//!             tx.on_timer(later, kind, &mut out); // Timer D: Terminated
//!             apply(&mut table, h, &mut sched, &mut out);
//!         }
//!     }
//! }
//! assert!(table.is_empty() && sched.is_empty());
//! ```

mod any;
mod client_invite;
mod client_non_invite;
mod forget;
mod kept;
mod key;
mod retransmit_2xx;
mod server_invite;
mod server_non_invite;
mod table;

pub use any::{ClientTransaction, ServerTransaction};
pub use client_invite::{InviteClientState, InviteClientTransaction};
pub use client_non_invite::{NonInviteClientState, NonInviteClientTransaction};
pub use key::{
    new_branch, ClientKey, RequestIds, RequestKind, ServerKey, ServerKeyBuf, MAGIC_COOKIE,
};
pub use retransmit_2xx::{RetransmitterState, TwoHundredRetransmitter};
pub use server_invite::{InviteServerState, InviteServerTransaction};
pub use server_non_invite::{NonInviteServerState, NonInviteServerTransaction};
mod client_side;
mod layer;
mod linger_queue;
mod records;
mod requests;
mod server_side;
mod stamp;
pub use forget::FORGET_GRID;
pub use layer::{Transactions, TxSide, TxTimer};
pub use records::{Answering, ClientEvent, ClientTx, ServerTx};
pub use requests::{ack_for_failure, cancel_for, server_key, server_key_buf};
pub use stamp::{stamp_request, stamp_via};
pub use table::{Handle, HeapBytes, InsertError, Removed, TimerSlots, TransactionTable, TxTag};

use std::rc::Rc;
use std::time::{Duration, Instant};

/// Timer values (RFC 3261 Appendix A). Copy it into each transaction at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, base of every backoff (default 500 ms; sip.conf `timert1`).
    pub t1: Duration,
    /// Cap of the non-INVITE and INVITE-final retransmit interval (default 4 s).
    pub t2: Duration,
    /// Maximum time a message lingers in the network (default 5 s).
    pub t4: Duration,
    /// INVITE transaction timeout in Calling (default 64·T1; sip.conf `timerb`).
    pub timer_b: Duration,
    /// Time in Completed absorbing final retransmissions, INVITE client (≥ 32 s over UDP).
    pub timer_d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig::with_t1(Duration::from_millis(500))
    }
}

impl TimerConfig {
    /// Defaults with a custom T1; Timer B follows as 64·T1.
    pub fn with_t1(t1: Duration) -> Self {
        TimerConfig {
            t1,
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_b: t1 * 64,
            timer_d: Duration::from_secs(32),
        }
    }

    /// 64·T1: Timers F, H, J, L, M and the 2xx give-up.
    pub fn sixty_four_t1(&self) -> Duration {
        self.t1 * 64
    }

    /// The next retransmit interval after `current`: doubled, capped at T2.
    fn backoff(&self, current: Duration) -> Duration {
        (current * 2).min(self.t2)
    }
}

/// A transaction's own copy of its timer values, in whole milliseconds (sip.conf gives them
/// in ms): 20 bytes where [`TimerConfig`] takes 80, since every lingering transaction keeps
/// one. Values saturate at `u32::MAX` ms (49 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timers {
    t1: u32,
    t2: u32,
    t4: u32,
    b: u32,
    d: u32,
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

impl Timers {
    fn of(c: TimerConfig) -> Timers {
        Timers {
            t1: millis(c.t1),
            t2: millis(c.t2),
            t4: millis(c.t4),
            b: millis(c.timer_b),
            d: millis(c.timer_d),
        }
    }

    fn t1(self) -> Duration {
        ms(self.t1)
    }

    fn t2(self) -> Duration {
        ms(self.t2)
    }

    fn t4(self) -> Duration {
        ms(self.t4)
    }

    fn timer_b(self) -> Duration {
        ms(self.b)
    }

    fn timer_d(self) -> Duration {
        ms(self.d)
    }

    fn sixty_four_t1(self) -> Duration {
        self.t1() * 64
    }

    fn backoff(self, current: Duration) -> Duration {
        (current * 2).min(self.t2())
    }
}

/// Whether the transport retransmits by itself (RFC 3261 §17: A, E, G run only over unreliable
/// transports; D, I, J, K are zero over reliable ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: the transaction retransmits and lingers.
    Unreliable,
    /// TCP, TLS, SCTP: no retransmissions, no lingering.
    Reliable,
}

/// The timers of RFC 3261 §17 (C belongs to proxies and is absent), RFC 6026's L and M, and the
/// two timers of the UAS core's 2xx retransmission (§13.3.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    /// INVITE client: retransmit the INVITE (T1, doubling).
    A,
    /// INVITE client: transaction timeout in Calling.
    B,
    /// INVITE client: leave Completed.
    D,
    /// Non-INVITE client: retransmit the request.
    E,
    /// Non-INVITE client: transaction timeout.
    F,
    /// INVITE server: retransmit the 3xx–6xx final.
    G,
    /// INVITE server: give up waiting for the ACK.
    H,
    /// INVITE server: leave Confirmed.
    I,
    /// Non-INVITE server: leave Completed.
    J,
    /// Non-INVITE client: leave Completed.
    K,
    /// INVITE server: leave Accepted (RFC 6026).
    L,
    /// INVITE client: leave Accepted (RFC 6026).
    M,
    /// UAS core: retransmit the 2xx (§13.3.1.4).
    Retransmit2xx,
    /// UAS core: give up waiting for the ACK of the 2xx after 64·T1.
    WaitAck,
}

// Per-kind tables index by `kind as usize`: the last variant must be `COUNT - 1`.
const _: () = assert!(TimerKind::WaitAck as usize + 1 == TimerKind::COUNT);

impl TimerKind {
    /// Number of kinds, for per-kind tables.
    pub const COUNT: usize = 14;

    /// True for the timers that only forget (D, I, J, K, L, M): they end a transaction that
    /// lingers to absorb retransmissions, and firing one later keeps the record longer
    /// without changing anything on the wire. The layer puts them on a coarse grid.
    pub fn only_forgets(self) -> bool {
        use TimerKind::*;
        matches!(self, D | I | J | K | L | M)
    }

    /// A dense index in `0..COUNT`.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a machine asks of the engine, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// (Re)send these bytes to the transaction's peer.
    Transmit(Rc<[u8]>),
    /// Schedule this timer at this deadline, replacing a running timer of the same kind.
    StartTimer(TimerKind, Instant),
    /// Cancel this timer if it is running.
    StopTimer(TimerKind),
    /// Client: hand the response just fed to `on_response` (with this status) to the TU.
    PassResponse(u16),
    /// INVITE server in Accepted: hand the ACK just fed to `on_ack` to the TU.
    PassAck,
    /// Timer B, F or H fired: the TU sees a timeout (a 408 for the call, §8.1.3.1).
    Timeout,
    /// The transport failed (§17.1.4, §17.2.4): the TU sees an error (a 503, §8.1.3.1).
    TransportError,
    /// The 2xx was never ACKed within 64·T1 (§13.3.1.4): the TU should end the session (BYE).
    AckTimeout,
    /// The machine is done: drop it and cancel all of its timers.
    Terminated,
}

/// Schedules `kind` at `now + after`.
fn start(out: &mut Vec<Action>, kind: TimerKind, now: Instant, after: Duration) {
    out.push(Action::StartTimer(kind, now + after));
}

/// Starts a lingering timer (D, I, J, K), or terminates at once when its duration is zero as
/// on reliable transports. Returns true when the machine terminated.
fn linger(out: &mut Vec<Action>, kind: TimerKind, now: Instant, after: Duration) -> bool {
    if after.is_zero() {
        out.push(Action::Terminated);
        true
    } else {
        start(out, kind, now, after);
        false
    }
}
