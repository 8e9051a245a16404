//! A call: its legs (one slot each: dialog, transaction, stored ACK, entry, media), the one
//! state machine of the call, and its timers.

use super::dialog::Dialog;
use super::media::{CallMedia, LegMedia};
use super::table::CallIds;
use super::transfer::Transfer;
use crate::config::settings::PeerId;
use crate::config::sip_general::General;
use crate::config::sip_peer::SipPeer;
use crate::dialplan::Execution;
use crate::handle::{CallHandle, LegId};
use crate::sched::TimerSlots;
use crate::sip::{Request, StatusCode};
use crate::transaction::{Handle as TxHandle, TwoHundredRetransmitter};
use crate::wake::CallTimer;
use std::rc::Rc;

/// One leg of a call.
pub struct Leg {
    /// Its dialog.
    pub dialog: Dialog,
    /// The INVITE transaction: the caller's server transaction until its final response, or
    /// the client transaction of an outbound leg's INVITE.
    pub invite_tx: Option<TxHandle>,
    /// We acknowledged this leg's 2xx: a retransmitted 2xx then needs only another ACK
    /// (the bytes sent are not kept: that ACK is built again from the transaction).
    pub acked: bool,
    /// The sip.conf entry this leg talks to, when known; the call counts against its
    /// call-limit while it lives.
    pub peer: Option<PeerId>,
    /// That entry's settings as they were when the leg began: a reload changes the entry for
    /// new legs, never under this one (its codecs, nat, transfer rights stay).
    pub entry: Option<Rc<SipPeer>>,
    /// Its media (sockets, remote, codec), once it has any.
    pub media: Option<LegMedia>,
    /// The device is behind NAT (its INVITE's or REGISTER's Via sent-by was not its source):
    /// what `nat=auto_force_rport` / `auto_comedia` decide on.
    pub nated: bool,
    /// Its Asterisk channel name, `SIP/1001-00000001` (the CLI and verbose lines name it).
    pub channel: String,
    /// When the leg was created (`core show channels verbose` shows its duration).
    pub created: std::time::Instant,
    /// Its session timer (RFC 4028).
    pub session: super::session_refresh::LegSession,
}

/// Two legs whose media and in-dialog requests are passed between each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bridge {
    /// One leg (the caller's, for a Dial).
    pub a: LegId,
    /// The other.
    pub b: LegId,
}

impl Bridge {
    /// The leg bridged to `leg`, if `leg` is one of the two.
    pub fn other(self, leg: LegId) -> Option<LegId> {
        if leg == self.a {
            Some(self.b)
        } else if leg == self.b {
            Some(self.a)
        } else {
            None
        }
    }
}

/// A Dial in progress.
pub struct DialState {
    /// The forks' legs.
    pub forks: Vec<LegId>,
    /// Forks still without a final answer.
    pub pending: usize,
    /// The most telling failure so far.
    pub failure: Option<StatusCode>,
    /// Continue the dialplan after the callee hangs up (`g`).
    pub continue_after: bool,
    /// The fork whose early media (18x with SDP) the caller hears.
    pub early: Option<LegId>,
    /// Forks with more addresses of their host to try after a timeout or 503 (RFC 3263
    /// §4.3): the leg and the addresses left, best first.
    pub failover: Vec<(LegId, Vec<std::net::SocketAddr>)>,
    /// The Local channels of this Dial and of their own Dials (by index; see
    /// [`super::local`]).
    pub locals: Vec<super::local::LocalChan>,
    /// Forks that a Local channel's Dial rang: the leg and that channel's index.
    pub owners: Vec<(LegId, usize)>,
    /// The Dial is still starting its targets: a Local target failing at once does not end
    /// it yet (the start reports the outcome itself).
    pub starting: bool,
}

impl DialState {
    /// A Dial with nothing rung yet (`g`: `continue_after`).
    pub fn new(continue_after: bool) -> DialState {
        DialState {
            forks: Vec::new(),
            pending: 0,
            failure: None,
            continue_after,
            early: None,
            failover: Vec::new(),
            locals: Vec::new(),
            owners: Vec::new(),
            starting: true,
        }
    }
}

/// The 2xx we retransmit on one leg until its ACK (§13.3.1.4).
pub struct PendingAck {
    /// The leg the 2xx went to.
    pub leg: LegId,
    /// The retransmission machine.
    pub machine: TwoHundredRetransmitter,
}

/// Where a call is in its life.
pub enum CallState {
    /// The dialplan is running (or waiting on a timer) and the caller has no final answer.
    Routing,
    /// A Dial is ringing its forks.
    Dialing(DialState),
    /// The caller is answered; bridged to a callee, or to sipbox itself when `bridge` is None
    /// (Answer, Echo, Playback).
    Answered {
        /// The bridged legs.
        bridge: Option<Bridge>,
        /// Continue the dialplan when the bridged callee hangs up (Dial's `g`).
        continue_after: bool,
    },
    /// Over: every leg was told, every timer, transaction and socket freed. The engine drops
    /// the call from the table (and logs why).
    Ended(EndReason),
}

/// Why a call ends, for the log and for what each side is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// A BYE came from this leg.
    ByeFrom(LegId),
    /// The caller sent CANCEL.
    Cancelled,
    /// The dialplan (or a media timeout) hung up; an unanswered caller gets this status.
    Hangup(StatusCode),
    /// A 2xx was never acknowledged.
    NoAck,
    /// sipbox could not answer with media (488 no common codec, 503 no RTP port): refused,
    /// never a 200 without SDP (RFC 3264 §6).
    NoMedia(StatusCode),
}

/// One B2BUA call.
pub struct Call {
    /// Its own handle (timers and sockets name it).
    pub handle: CallHandle,
    /// The legs; the caller's is [`Call::caller`].
    pub legs: Vec<Leg>,
    /// The caller's leg.
    pub caller: LegId,
    /// The caller's INVITE.
    pub invite: Rc<Request>,
    /// The state machine.
    pub state: CallState,
    /// The dialplan cursor (None once it has ended).
    pub exec: Option<Execution>,
    /// The caller's own cursor while a Local channel that answered runs its dialplan in
    /// `exec` (the caller's waits in its Dial, as behind Asterisk's `Local/...;1`).
    pub dialer: Option<Execution>,
    /// 2xx retransmission towards a leg.
    pub pending_ack: Option<PendingAck>,
    /// What an unanswered caller is told once a Dial ran and failed (None: no Dial ran, the
    /// dialplan's own outcome applies).
    pub dial_failure: Option<StatusCode>,
    /// A re-INVITE relayed from one leg to the other awaits its final answer: another
    /// re-INVITE from either side meanwhile is glare (RFC 3261 §14.2: 491).
    pub reinvite_pending: bool,
    /// The System() job the dialplan waits for.
    pub job: Option<crate::flow::JobId>,
    /// The AGI session the dialplan runs, if any (its transport in the driver).
    pub agi: Option<crate::flow::JobId>,
    /// The extension dialled.
    pub exten: String,
    /// Call-wide media state.
    pub media: CallMedia,
    /// sip.conf `[general]` as it was when the call began (what guest legs follow).
    pub general: Rc<General>,
    /// Running timers.
    pub timers: TimerSlots<CallTimer, { crate::wake::CALL_TIMER_KINDS }>,
    /// The last blind transfer (REFER) of this call, while it matters.
    pub transfer: Option<Transfer>,
    /// A transfer re-routed the call: the caller leg ([`Call::caller`]) is the transferee,
    /// answered long ago, and new callees are offered its session rather than the original
    /// INVITE's offer.
    pub rerouted: bool,
    /// Its CDR records so far.
    pub cdr: super::cdr::CallCdr,
    /// A join of this call with another that only the engine can do (attended transfer).
    pub join: Option<super::join::JoinRequest>,
    /// A picked-up caller's 200, sent once the picker's phone ACKs its own (one 2xx is
    /// retransmitted at a time).
    pub owed_answer: Option<super::reply::Body>,
    /// Where the caller is parked, while it is.
    pub parked: Option<super::park::Parked>,
    /// Where the caller waits in a call queue (Queue()), while it does.
    pub queue: Option<super::queue::QueueWait>,
    /// Who may transfer by DTMF (the last Dial's `T`/`t`).
    pub xfer_rights: super::features::XferRights,
    /// A DTMF feature (transfer) in progress.
    pub feature: Option<super::features::Feature>,
    /// Its legs' seats in conferences, and its Page.
    pub conference: super::conference::Seats,
}

impl CallIds for Call {
    fn leg_call_id(&self, leg: LegId) -> Option<&str> {
        self.legs.get(leg).map(|l| l.dialog.call_id.as_str())
    }
}

/// The most legs one call may have (forks, their failovers, transfer targets, joined legs;
/// a left leg stays as a placeholder so leg ids do not move). A call that is transferred or
/// re-dialled over and over would otherwise grow without end: each leg keeps a dialog (with
/// its peer's route set, up to a message's size) and a CDR entry. 32 legs of at most 64 KB
/// each bound a call to about 2 MB.
pub const MAX_LEGS: usize = 32;

impl Call {
    /// True while the call may take one more leg ([`MAX_LEGS`]).
    pub fn has_room_for_leg(&self) -> bool {
        self.legs.len() < MAX_LEGS
    }

    /// True when the caller has been answered (a 2xx sent on its leg; after a transfer, the
    /// transferee's leg is the caller's and was answered long ago).
    pub fn answered(&self) -> bool {
        matches!(self.state, CallState::Answered { .. })
            || self
                .legs
                .get(self.caller)
                .is_some_and(|l| l.dialog.is_confirmed())
    }

    /// True once the call has ended.
    pub fn is_over(&self) -> bool {
        matches!(self.state, CallState::Ended(_))
    }

    /// The legs media and in-dialog requests pass between now.
    pub fn bridge(&self) -> Option<Bridge> {
        match &self.state {
            CallState::Answered { bridge, .. } => *bridge,
            _ => None,
        }
    }

    /// The Dial in progress.
    pub fn dial_mut(&mut self) -> Option<&mut DialState> {
        match &mut self.state {
            CallState::Dialing(d) => Some(d),
            _ => None,
        }
    }

    /// The leg a packet or request from `leg` goes to: the bridged leg, or during a Dial the
    /// fork whose early media the caller hears (and back).
    pub fn media_peer(&self, leg: LegId) -> Option<LegId> {
        match &self.state {
            CallState::Answered {
                bridge: Some(b), ..
            } => b.other(leg),
            CallState::Dialing(d) => {
                let early = d.early?;
                Bridge {
                    a: self.caller,
                    b: early,
                }
                .other(leg)
            }
            _ => None,
        }
    }

    /// The caller's Call-ID (the call's name in the log).
    pub fn label(&self) -> &str {
        &self.legs[self.caller].dialog.call_id
    }

    /// The media of a leg.
    pub fn leg_media(&self, leg: LegId) -> Option<&LegMedia> {
        self.legs.get(leg).and_then(|l| l.media.as_ref())
    }

    /// The settings of a leg's entry, as the leg began with them (None for a guest).
    pub fn entry_of(&self, leg: LegId) -> Option<&SipPeer> {
        self.legs.get(leg).and_then(|l| l.entry.as_deref())
    }

    /// The media of a leg, mutably.
    pub fn leg_media_mut(&mut self, leg: LegId) -> Option<&mut LegMedia> {
        self.legs.get_mut(leg).and_then(|l| l.media.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_names_any_two_legs() {
        let b = Bridge { a: 0, b: 2 };
        assert_eq!(b.other(0), Some(2));
        assert_eq!(b.other(2), Some(0));
        assert_eq!(b.other(1), None, "a leg outside the bridge goes nowhere");
        let transferred = Bridge { a: 2, b: 3 };
        assert_eq!(transferred.other(3), Some(2), "no leg is special");
        assert_eq!(transferred.other(0), None);
    }
}
