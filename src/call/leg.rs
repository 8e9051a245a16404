//! One leg of a B2BUA call: a dialog (RFC 3261 §12) between sipbox and one phone.

use crate::sip::{NameAddr, Uri};
use std::net::SocketAddr;

/// Which side of the dialog sipbox is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegRole {
    /// The caller's leg: the phone sent the INVITE, sipbox answers it.
    Uas,
    /// A callee's leg: sipbox sent the INVITE.
    Uac,
}

/// RFC 3261 §12 dialog states, plus the time before any dialog exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// INVITE sent or received, no response with a To tag yet.
    Trying,
    /// A provisional response with a To tag: an early dialog.
    Early,
    /// A 2xx: the dialog is confirmed.
    Confirmed,
    /// BYE sent or received, or the INVITE failed.
    Terminated,
}

/// One leg's dialog state.
#[derive(Debug, Clone)]
pub struct Leg {
    /// UAS (caller) or UAC (callee).
    pub role: LegRole,
    /// The dialog's Call-ID (each outbound leg has its own fresh one).
    pub call_id: String,
    /// Our tag (To tag on the UAS leg, From tag on a UAC leg).
    pub local_tag: String,
    /// The phone's tag, once known.
    pub remote_tag: Option<String>,
    /// Our identity in this dialog (the To of a UAS leg, the From of a UAC leg), without tag.
    pub local_uri: NameAddr,
    /// The phone's identity (From of a UAS leg, To of a UAC leg), without tag.
    pub remote_uri: NameAddr,
    /// Where in-dialog requests are addressed: the phone's Contact.
    pub remote_target: Uri,
    /// Record-Route as seen by this side, in the order our requests must carry it.
    pub route_set: Vec<NameAddr>,
    /// Our CSeq counter for requests we send in this dialog.
    pub local_cseq: u32,
    /// The highest CSeq the phone has used.
    pub remote_cseq: u32,
    /// Where datagrams for this phone go (the source of its messages: rport, symmetric SIP).
    pub peer: SocketAddr,
    /// Dialog state.
    pub state: DialogState,
    /// The branch of the INVITE we sent on a UAC leg (for CANCEL, §9.1).
    pub invite_branch: Option<String>,
    /// The CSeq number of the initial INVITE on this leg.
    pub invite_cseq: u32,
    /// The sip.conf entry this leg talks to, when known.
    pub entry: Option<usize>,
}

impl Leg {
    /// True once the phone has answered this leg.
    pub fn is_confirmed(&self) -> bool {
        self.state == DialogState::Confirmed
    }

    /// Takes the next local CSeq.
    pub fn next_cseq(&mut self) -> u32 {
        self.local_cseq = self.local_cseq.wrapping_add(1).max(1);
        self.local_cseq
    }
}
