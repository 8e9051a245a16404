//! What the tables hold: a server transaction with what answers it needs, a client
//! transaction with what its user needs, their heap measures (the lingering budget of
//! [`super::Transactions`]) and what a client transaction reports.

use super::kept::{InviteIds, Kept};
use super::table::{rc_bytes, HeapBytes};
use super::{ClientKey, ClientTransaction, InviteClientState, ServerKey, ServerTransaction};
use crate::flow::Flow;
use crate::sip::Request;
use std::rc::Rc;

/// A server transaction with what is needed to answer through it.
///
/// Once the final response went out it is a compact record: the machine (which keeps the
/// final's bytes only where §17.2 resends it: non-INVITE Completed, INVITE Completed), where
/// to resend, and the To tag only while an ACK for a non-2xx may still come (INVITE
/// Completed and Confirmed).
pub struct ServerTx {
    /// The machine.
    pub machine: ServerTransaction,
    /// Where responses go (§18.2.2 with rport).
    pub dest: Flow,
    /// What responses are built from, until the final one went out.
    pub answering: Option<Box<Answering>>,
    /// The To tag our responses carry (one per transaction, so retransmitted answers agree).
    pub(super) to_tag: Box<str>,
}

impl ServerTx {
    /// True for an INVITE server transaction.
    pub fn is_invite(&self) -> bool {
        matches!(self.machine, ServerTransaction::Invite(_))
    }

    /// The To tag of our responses; empty once no ACK can need it (after a 2xx, or a final
    /// to a non-INVITE).
    pub fn to_tag(&self) -> &str {
        &self.to_tag
    }
}

impl HeapBytes for ServerTx {
    fn heap_bytes(&self) -> usize {
        let answering = self.answering.as_ref().map_or(0, |a| {
            std::mem::size_of::<Answering>() + request_bytes(&a.request) + a.via.capacity()
        });
        self.machine.held_bytes() + answering + self.to_tag.len()
    }
}

/// The bytes a server transaction counts in the lingering budget: a non-INVITE one's final
/// response, once it was sent (the machine keeps it until the transaction is removed, so
/// what is added at the final is what is taken away at the removal).
pub(super) fn lingering_share(tx: &ServerTx) -> usize {
    match &tx.machine {
        ServerTransaction::NonInvite(m) if tx.answering.is_none() => {
            m.last_response().map_or(0, |r| r.len())
        }
        _ => 0,
    }
}

/// An upper estimate of a live request's heap (only live transactions hold one; the measure
/// of lingering ones never meets it): the struct, its header text, spans and body.
fn request_bytes(r: &Request) -> usize {
    let headers: usize = r.headers().iter().map(|(_, v)| v.len() + 16).sum();
    std::mem::size_of::<Request>() + headers + r.body().len()
}

/// The request of a server transaction and its stamped top Via (boxed in [`ServerTx`], so a
/// lingering record does not carry its room).
pub struct Answering {
    /// The request.
    pub request: Rc<Request>,
    /// Its top Via stamped with received/rport, printed once for every response
    /// ([`super::stamp_request`]).
    pub via: String,
}

/// A client transaction with what its user needs for the answers.
///
/// After its final response was handled it keeps no request: an INVITE in Accepted keeps
/// the few fields an ACK (and BYE) for a late 2xx needs ([`ClientTx::invite_for_2xx`]), any
/// other only its key, purpose and timer.
pub struct ClientTx<P> {
    /// The machine.
    pub machine: ClientTransaction,
    /// Where the request went.
    pub dest: Flow,
    /// The request, until its final response was handled.
    pub(super) kept: Kept,
    /// Whose request it is, so the answer finds its way back.
    pub purpose: P,
    /// A CANCEL is owed as soon as a provisional response arrives (§9.1).
    pub(super) cancel_wanted: bool,
    /// A provisional response has arrived.
    pub(super) provisional_seen: bool,
}

impl<P> ClientTx<P> {
    /// True for an INVITE client transaction (its request may be gone: see
    /// [`ClientTx::request`]).
    pub fn is_invite(&self) -> bool {
        matches!(self.machine, ClientTransaction::Invite(_))
    }

    /// The request, until its final response was handled (then `None`).
    pub fn request(&self) -> Option<&Rc<Request>> {
        match &self.kept {
            Kept::Request(r) => Some(r),
            Kept::Invite(_) | Kept::Nothing => None,
        }
    }

    /// The INVITE a 2xx on this transaction answers, for its ACK and BYE: the request while
    /// it is kept, else rebuilt from the fields an INVITE in Accepted keeps.
    pub fn invite_for_2xx(&self) -> Option<Rc<Request>> {
        match &self.kept {
            Kept::Request(r) => Some(r.clone()),
            Kept::Invite(ids) => Some(Rc::new(ids.request())),
            Kept::Nothing => None,
        }
    }

    /// The final response was handled: keep only what the state still needs.
    pub(super) fn settle(&mut self) {
        let Kept::Request(req) = &self.kept else {
            return;
        };
        self.kept = match &self.machine {
            ClientTransaction::Invite(t) if t.state() == InviteClientState::Accepted => {
                Kept::Invite(InviteIds::of(req))
            }
            _ => Kept::Nothing,
        };
    }
}

impl<P> HeapBytes for ClientTx<P> {
    fn heap_bytes(&self) -> usize {
        let kept = match &self.kept {
            Kept::Request(r) => request_bytes(r),
            Kept::Invite(ids) => ids.heap_bytes(),
            Kept::Nothing => 0,
        };
        self.machine.held_bytes() + kept
    }
}

impl HeapBytes for ServerKey {
    fn heap_bytes(&self) -> usize {
        rc_bytes(self.as_bytes())
    }
}

impl HeapBytes for ClientKey {
    fn heap_bytes(&self) -> usize {
        rc_bytes(self.as_bytes())
    }
}

/// What a client transaction hands to its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEvent {
    /// A response with this status passed up.
    Response(u16),
    /// Timer B/F fired or the transport failed: the user acts as on a 408.
    Timeout,
}
