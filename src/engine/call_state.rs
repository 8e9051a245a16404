//! What the engine keeps per call: the legs (dialogs), the caller's INVITE transaction, the
//! dialplan cursor and the state of a running Dial.

use crate::call::{Leg, LegId};
use crate::dialplan::Execution;
use crate::sched::TimerId;
use crate::sip::Request;
use crate::transaction::{Handle, TimerSlots, TwoHundredRetransmitter};
use std::rc::Rc;

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// The dialplan is running (or waiting on a timer) and the caller has no final answer.
    Routing,
    /// A Dial is ringing its forks.
    Dialing,
    /// The caller is answered and bridged to callee leg `callee` (or to sipbox itself when
    /// `callee` is None: Answer/Echo/Playback).
    Answered { callee: Option<LegId> },
}

/// A Dial in progress.
pub(super) struct DialState {
    /// The forks' legs.
    pub forks: Vec<LegId>,
    /// Forks still without a final answer.
    pub pending: usize,
    /// The Dial timeout timer.
    pub timer: Option<TimerId>,
    /// The most telling failure so far, as a SIP status to give the caller.
    pub failure: Option<u16>,
    /// Continue the dialplan after the callee hangs up (`g`).
    pub continue_after: bool,
}

/// The 2xx we retransmit on one leg until its ACK (§13.3.1.4).
pub(super) struct PendingAck {
    pub leg: LegId,
    pub machine: TwoHundredRetransmitter,
    pub timers: TimerSlots,
}

/// One B2BUA call.
pub(super) struct Call {
    /// Leg 0 is the caller; the rest are Dial forks.
    pub legs: Vec<Leg>,
    /// The caller's INVITE.
    pub invite: Rc<Request>,
    /// The caller's INVITE server transaction, until a final response went out.
    pub invite_tx: Option<Handle>,
    /// The client INVITE transaction of each leg (None for the caller leg).
    pub fork_txs: Vec<Option<Handle>>,
    /// The ACK we sent for each leg's 2xx, resent when the 2xx is retransmitted.
    pub fork_acks: Vec<Option<Vec<u8>>>,
    pub phase: Phase,
    pub dial: Option<DialState>,
    /// The dialplan cursor (None once it has ended).
    pub exec: Option<Execution>,
    /// A timer the dialplan waits on (Wait, WaitExten, ...).
    pub wait_timer: Option<TimerId>,
    /// 2xx retransmission towards a leg.
    pub pending_ack: Option<PendingAck>,
    /// The sip.conf entries this call counts against for call-limit.
    pub counted: Vec<usize>,
    /// The status to give an unanswered caller when the dialplan hangs up without saying.
    pub hangup_status: u16,
    /// The extension dialled.
    pub exten: String,
    /// A Dial ran (so an unanswered end reports its failure, not "no such extension").
    pub dial_attempted: bool,
    /// Media state of the call (RTP sockets, endpoint roles).
    pub media: super::media::CallMedia,
}

impl Call {
    /// True when the caller has been answered (any 2xx sent on leg 0).
    pub fn answered(&self) -> bool {
        matches!(self.phase, Phase::Answered { .. })
    }
}
