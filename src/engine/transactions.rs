//! Glue between the engine and the RFC 3261 §17 machines in [`crate::transaction`]: the two
//! bounded transaction tables, their timers on the engine's heap, and carrying out the actions
//! the machines return.

use super::{Engine, EngineTimer};
use crate::call::LegRef;
use crate::sip::{Request, Response};
use crate::transaction::{
    Action, ClientKey, Handle, InsertError, InviteClientTransaction, InviteServerTransaction,
    NonInviteClientTransaction, NonInviteServerTransaction, RequestIds, ServerKey, TimerKind,
    Transport,
};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// A server machine of either kind.
pub(super) enum ServerMachine {
    Invite(InviteServerTransaction),
    NonInvite(NonInviteServerTransaction),
}

/// A server transaction with what the engine needs to answer through it.
pub(super) struct ServerTx {
    pub machine: ServerMachine,
    /// Where responses go (§18.2.2 with rport).
    pub dest: SocketAddr,
    /// What responses are built from, until the final one went out; after that only the
    /// response bytes inside the machine are needed (to answer retransmissions), so a
    /// lingering transaction stays small.
    pub answering: Option<Answering>,
    /// The To tag our responses carry (one per transaction, so retransmitted answers agree).
    pub to_tag: String,
}

/// The request of a server transaction and its stamped top Via.
pub(super) struct Answering {
    /// The request.
    pub request: Rc<Request>,
    /// Its top Via stamped with received/rport, for every response.
    pub via: crate::sip::Via,
}

/// Why sipbox sent a request, so its response finds its way back.
#[derive(Debug, Clone)]
pub(super) enum ClientPurpose {
    /// The INVITE of an outbound leg.
    Invite(LegRef),
    /// A BYE or CANCEL whose answer changes nothing.
    Fire,
    /// An OPTIONS qualify ping to a peer.
    Qualify { entry: usize, sent: Instant },
    /// A request relayed between the legs of a call.
    Relay(Relay),
}

/// A request relayed from leg `from_leg` to leg `to_leg`; its final answer goes back on
/// `server`, the transaction of the original request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Relay {
    pub server: Handle,
    pub call: crate::call::CallRef,
    pub from_leg: usize,
    pub to_leg: usize,
}

/// A client machine of either kind.
pub(super) enum ClientMachine {
    Invite(InviteClientTransaction),
    NonInvite(NonInviteClientTransaction),
}

/// A client transaction with what the engine needs for its answers.
pub(super) struct ClientTx {
    pub machine: ClientMachine,
    /// Where the request went.
    pub dest: SocketAddr,
    /// The request (for building ACK and CANCEL).
    pub request: Rc<Request>,
    pub purpose: ClientPurpose,
    /// A CANCEL is owed as soon as a provisional response arrives (§9.1).
    pub cancel_wanted: bool,
    /// A provisional response has arrived.
    pub provisional_seen: bool,
}

/// What a client transaction hands to the transaction user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientEvent {
    Response(u16),
    Timeout,
}

/// The key a received request is matched under.
pub(super) fn server_key(req: &Request) -> ServerKey {
    let via = req.top_via();
    let uri = req.uri().to_string();
    let top = via.to_string();
    ServerKey::from_request(&RequestIds {
        method: req.method().as_str(),
        branch: via.branch(),
        sent_by_host: &via.host,
        sent_by_port: via.port,
        request_uri: &uri,
        from_tag: req.from().tag(),
        call_id: req.call_id(),
        cseq: req.cseq().seq,
        top_via: &top,
    })
}

/// The key a received response is matched under.
pub(super) fn client_key(resp: &Response) -> Option<ClientKey> {
    let branch = resp.vias().first()?.branch()?;
    Some(ClientKey::new(branch, resp.cseq().method.as_str()))
}

impl Engine {
    /// Opens a server transaction for a new request.
    pub(super) fn open_server_tx(
        &mut self,
        req: Rc<Request>,
        source: SocketAddr,
    ) -> Result<Handle, InsertError> {
        let key = server_key(&req);
        let (via, dest) = super::respond::stamp_via(req.top_via(), source);
        let machine = if *req.method() == crate::sip::Method::Invite {
            ServerMachine::Invite(InviteServerTransaction::new(
                self.timers,
                Transport::Unreliable,
            ))
        } else {
            ServerMachine::NonInvite(NonInviteServerTransaction::new(
                self.timers,
                Transport::Unreliable,
            ))
        };
        let to_tag = match req.to().tag() {
            Some(t) => t.to_string(),
            None => self.new_tag(),
        };
        if self.server_txs.is_full() {
            // Forget the oldest transaction that only lingers to absorb retransmissions
            // (Timer J): under a flood this shortens the linger instead of refusing requests.
            self.evict_lingering();
        }
        let tx = ServerTx {
            machine,
            dest,
            to_tag,
            answering: Some(Answering { request: req, via }),
        };
        self.server_txs.insert(key, tx)
    }

    /// Removes the oldest server transaction that is only lingering after its final response.
    fn evict_lingering(&mut self) {
        while let Some(h) = self.lingering.pop_front() {
            if let Some(mut gone) = self.server_txs.remove(h) {
                gone.timers.stop_all(&mut self.sched);
                return;
            }
        }
    }

    /// A retransmitted request matched `h`: the machine resends or absorbs.
    pub(super) fn server_retransmission(&mut self, now: Instant, h: Handle) {
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(tx) = self.server_txs.get_mut(h) {
            match &mut tx.machine {
                ServerMachine::Invite(m) => m.on_retransmission(now, &mut acts),
                ServerMachine::NonInvite(m) => m.on_retransmission(now, &mut acts),
            }
        }
        self.apply_server_actions(h, &mut acts);
        self.actions = acts;
    }

    /// Sends a response through server transaction `h`.
    pub(super) fn server_send(&mut self, now: Instant, h: Handle, resp: &Response) {
        let bytes: Rc<[u8]> = resp.to_bytes().into();
        let mut acts = std::mem::take(&mut self.actions);
        let final_ = resp.status() >= 200;
        let mut linger = false;
        if let Some(tx) = self.server_txs.get_mut(h) {
            match &mut tx.machine {
                ServerMachine::Invite(m) => m.send_response(now, resp.status(), bytes, &mut acts),
                ServerMachine::NonInvite(m) => {
                    m.send_response(now, resp.status(), bytes, &mut acts);
                    linger = final_;
                }
            }
            if final_ {
                tx.answering = None;
            }
        }
        if linger {
            // Entries whose transaction already ended leave from the front, so the queue stays
            // about as long as the lingering transactions themselves.
            while let Some(&old) = self.lingering.front() {
                if self.server_txs.get(old).is_some() {
                    break;
                }
                self.lingering.pop_front();
            }
            self.lingering.push_back(h);
        }
        self.apply_server_actions(h, &mut acts);
        self.actions = acts;
    }

    /// An ACK matched INVITE server transaction `h`. Returns true when the ACK belongs to the
    /// TU (an ACK for a 2xx, RFC 6026 Accepted).
    pub(super) fn server_ack(&mut self, now: Instant, h: Handle) -> bool {
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(ServerTx {
            machine: ServerMachine::Invite(m),
            ..
        }) = self.server_txs.get_mut(h)
        {
            m.on_ack(now, &mut acts);
        }
        let pass = acts.contains(&Action::PassAck);
        self.apply_server_actions(h, &mut acts);
        self.actions = acts;
        pass
    }

    pub(super) fn server_timer(
        &mut self,
        now: Instant,
        h: Handle,
        kind: TimerKind,
        id: crate::sched::TimerId,
    ) {
        let mut acts = std::mem::take(&mut self.actions);
        if let Some((tx, timers)) = self.server_txs.get_with_timers_mut(h) {
            if timers.fired(kind, id) {
                match &mut tx.machine {
                    ServerMachine::Invite(m) => m.on_timer(now, kind, &mut acts),
                    ServerMachine::NonInvite(m) => m.on_timer(now, kind, &mut acts),
                }
            }
        }
        self.apply_server_actions(h, &mut acts);
        self.actions = acts;
    }

    fn apply_server_actions(&mut self, h: Handle, acts: &mut Vec<Action>) {
        for act in acts.drain(..) {
            let Some((tx, timers)) = self.server_txs.get_with_timers_mut(h) else {
                break;
            };
            match act {
                Action::Transmit(bytes) => self.out.sip(tx.dest, bytes.to_vec()),
                Action::StartTimer(kind, at) => {
                    timers.start(&mut self.sched, kind, at, EngineTimer::ServerTx(h, kind))
                }
                Action::StopTimer(kind) => timers.stop(&mut self.sched, kind),
                Action::Timeout => {
                    log::debug!("no ACK for the final response sent to {}", tx.dest)
                }
                Action::Terminated => {
                    if let Some(mut gone) = self.server_txs.remove(h) {
                        gone.timers.stop_all(&mut self.sched);
                    }
                }
                Action::PassAck
                | Action::PassResponse(_)
                | Action::TransportError
                | Action::AckTimeout => {}
            }
        }
    }

    /// Sends a request in a new client transaction.
    pub(super) fn open_client_tx(
        &mut self,
        now: Instant,
        req: Request,
        dest: SocketAddr,
        purpose: ClientPurpose,
    ) -> Option<Handle> {
        let branch = req.top_via().branch().unwrap_or_default().to_string();
        let key = ClientKey::new(&branch, req.method().as_str());
        let bytes: Rc<[u8]> = req.to_bytes().into();
        let invite = *req.method() == crate::sip::Method::Invite;
        let machine = if invite {
            ClientMachine::Invite(InviteClientTransaction::new(
                self.timers,
                Transport::Unreliable,
                bytes,
            ))
        } else {
            ClientMachine::NonInvite(NonInviteClientTransaction::new(
                self.timers,
                Transport::Unreliable,
                bytes,
            ))
        };
        let tx = ClientTx {
            machine,
            dest,
            request: Rc::new(req),
            purpose,
            cancel_wanted: false,
            provisional_seen: false,
        };
        let h = match self.client_txs.insert(key, tx) {
            Ok(h) => h,
            Err(_) => {
                log::warn!("client transaction table full: request not sent");
                return None;
            }
        };
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(tx) = self.client_txs.get_mut(h) {
            match &mut tx.machine {
                ClientMachine::Invite(m) => m.start(now, &mut acts),
                ClientMachine::NonInvite(m) => m.start(now, &mut acts),
            }
        }
        self.apply_client_actions(h, &mut acts);
        self.actions = acts;
        Some(h)
    }

    /// Feeds a response to client transaction `h`; returns what the TU must see.
    pub(super) fn client_response(
        &mut self,
        now: Instant,
        h: Handle,
        resp: &Response,
    ) -> Option<ClientEvent> {
        let mut acts = std::mem::take(&mut self.actions);
        let local = self.local;
        if let Some(tx) = self.client_txs.get_mut(h) {
            let status = resp.status();
            match &mut tx.machine {
                ClientMachine::Invite(m) => {
                    let req = tx.request.clone();
                    m.on_response(
                        now,
                        status,
                        || {
                            super::build::ack_for_failure(&req, resp, local)
                                .to_bytes()
                                .into()
                        },
                        &mut acts,
                    )
                }
                ClientMachine::NonInvite(m) => m.on_response(now, status, &mut acts),
            }
        }
        let ev = self.apply_client_actions(h, &mut acts);
        self.actions = acts;
        ev
    }

    pub(super) fn client_timer(
        &mut self,
        now: Instant,
        h: Handle,
        kind: TimerKind,
        id: crate::sched::TimerId,
    ) -> Option<ClientEvent> {
        let mut acts = std::mem::take(&mut self.actions);
        if let Some((tx, timers)) = self.client_txs.get_with_timers_mut(h) {
            if timers.fired(kind, id) {
                match &mut tx.machine {
                    ClientMachine::Invite(m) => m.on_timer(now, kind, &mut acts),
                    ClientMachine::NonInvite(m) => m.on_timer(now, kind, &mut acts),
                }
            }
        }
        let ev = self.apply_client_actions(h, &mut acts);
        self.actions = acts;
        ev
    }

    /// Applies actions a client machine produced outside `client_response`/`client_timer`.
    pub(super) fn apply_client_actions_pub(&mut self, h: Handle, acts: &mut Vec<Action>) {
        let _ = self.apply_client_actions(h, acts);
    }

    fn apply_client_actions(&mut self, h: Handle, acts: &mut Vec<Action>) -> Option<ClientEvent> {
        let mut event = None;
        for act in acts.drain(..) {
            let Some((tx, timers)) = self.client_txs.get_with_timers_mut(h) else {
                break;
            };
            match act {
                Action::Transmit(bytes) => self.out.sip(tx.dest, bytes.to_vec()),
                Action::StartTimer(kind, at) => {
                    timers.start(&mut self.sched, kind, at, EngineTimer::ClientTx(h, kind))
                }
                Action::StopTimer(kind) => timers.stop(&mut self.sched, kind),
                Action::PassResponse(status) => event = Some(ClientEvent::Response(status)),
                Action::Timeout | Action::TransportError => event = Some(ClientEvent::Timeout),
                Action::Terminated => {
                    // Keep the entry until the event is handled: the TU may still need it.
                    self.dead_client_txs.push(h);
                }
                Action::PassAck | Action::AckTimeout => {}
            }
        }
        event
    }

    /// Drops client transactions that terminated while their event was being handled.
    pub(super) fn reap_client_txs(&mut self) {
        for h in std::mem::take(&mut self.dead_client_txs) {
            if let Some(mut gone) = self.client_txs.remove(h) {
                gone.timers.stop_all(&mut self.sched);
            }
        }
    }
}
