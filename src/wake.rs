//! What every timer on the engine's one heap means: a closed enum per owner, so a new timer
//! cannot be added without saying whose it is, and each owner keeps its running timers in a
//! [`crate::sched::TimerSlots`] table that it cancels in one call when it ends.

use crate::config::settings::PeerId;
use crate::handle::CallHandle;
use crate::sched::TimerKindSet;
use crate::transaction::{TimerKind, TxTimer};

/// A timer of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallTimer {
    /// A Dial's ring timeout.
    DialTimeout,
    /// A dialplan Wait().
    DialplanWait,
    /// The next Playback frame.
    Pace,
    /// rtptimeout / rtpholdtimeout.
    Watchdog,
    /// WaitExten / Read digit timeout.
    Digit,
    /// Resend our 2xx (§13.3.1.4: T1 doubling up to T2).
    Retransmit2xx,
    /// Give up on the ACK for our 2xx (64·T1).
    WaitAck,
    /// A blind transfer succeeded and the transferer has not sent its BYE (64·T1): sipbox
    /// sends one.
    TransfererBye,
    /// `rtpkeepalive`: check which legs need a comfort-noise packet.
    RtpKeepalive,
    /// The next music on hold frame.
    Moh,
    /// The next 20 ms tick of the RTP digit streams (RFC 4733 events, inband tones).
    Dtmf,
    /// The next frame of a features prompt.
    Prompt,
    /// featuredigittimeout / transferdigittimeout: the DTMF feature's next digit is late.
    FeatureDigit,
    /// The earliest deadline of the call's Local channels (a Dial timeout or a Wait()
    /// inside one).
    Local,
    /// A parked call's `parkingtime` is over.
    Park,
    /// An AGI script owes its next line (connect, write and read together).
    Agi,
    /// The earliest session-timer deadline of the call's legs (RFC 4028: our refresh, or
    /// the expiry of a leg whose end refreshes).
    SessionTimer,
    /// A conference refused the caller: its dialplan goes on (a moment later, so a dialplan
    /// that tries again at once cannot spin inside one event).
    Conference,
    /// Queue(): the next look at the queue (every second until the caller's turn, `retry`
    /// between attempts).
    Queue,
    /// The next 20 ms frame of the call's MixMonitor recordings. (Keep this kind last, or
    /// change [`CALL_TIMER_KINDS`].)
    Monitor,
}

/// How many kinds [`CallTimer`] has (its slot array's size).
pub const CALL_TIMER_KINDS: usize = CallTimer::Monitor as usize + 1;

impl TimerKindSet for CallTimer {
    fn slot(self) -> usize {
        self as usize
    }
}

impl CallTimer {
    /// The 2xx retransmitter's timer kinds as call timers.
    pub fn from_2xx(kind: TimerKind) -> Option<CallTimer> {
        match kind {
            TimerKind::Retransmit2xx => Some(CallTimer::Retransmit2xx),
            TimerKind::WaitAck => Some(CallTimer::WaitAck),
            _ => None,
        }
    }

    /// The transaction-layer kind the 2xx retransmitter knows this timer as.
    pub fn as_2xx(self) -> Option<TimerKind> {
        match self {
            CallTimer::Retransmit2xx => Some(TimerKind::Retransmit2xx),
            CallTimer::WaitAck => Some(TimerKind::WaitAck),
            _ => None,
        }
    }
}

/// A timer of a sip.conf entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerTimer {
    /// Time to send the next qualify OPTIONS.
    Qualify,
    /// The outstanding ping's answer limit (qualify=ms).
    QualifyLimit,
    /// Time to send the next `keepalive` CRLF.
    Keepalive,
}

impl TimerKindSet for PeerTimer {
    fn slot(self) -> usize {
        self as usize
    }
}

/// A timer of an outbound registration (`register =>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegTimer {
    /// Time to send (first, refresh, retry).
    Due,
    /// `registertimeout`: the outstanding REGISTER had no final answer.
    Timeout,
}

impl TimerKindSet for RegTimer {
    fn slot(self) -> usize {
        self as usize
    }
}

/// What a timer popped from the heap is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Forget expired digest nonces, lift bans that ran out, and ask the tables a burst grew
    /// to give their room back ([`crate::shrink`]).
    Sweep,
    /// A transaction's timer (A–K).
    Tx(TxTimer),
    /// A call's timer.
    Call(CallHandle, CallTimer),
    /// A sip.conf entry's timer.
    Peer(PeerId, PeerTimer),
    /// Time to resolve `externhost` again.
    ExternRefresh,
    /// An outbound registration's timer (by its [`crate::trunk::Trunk::id`]).
    Registry(u32, RegTimer),
    /// A message-waiting subscription's expiry (`engine/mwi.rs`, by timer id).
    MwiExpiry,
    /// Time to look at device states again (`engine/blf.rs`: a change noticed on a timer
    /// path is NOTIFYed at most this often).
    BlfCheck,
    /// The next 20 ms mix of a conference (`engine/conference.rs`, by its id).
    Conference(u32),
}

impl From<TxTimer> for Wake {
    fn from(t: TxTimer) -> Wake {
        Wake::Tx(t)
    }
}
