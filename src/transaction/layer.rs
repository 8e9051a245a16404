//! The transaction layer as the transaction user sees it: two bounded tables of machines
//! (server and client), their timers on the owner's heap, the responses and requests they put
//! on the wire, and the CANCEL rule of §9.1. The engine and the call layer call these methods;
//! nothing above re-implements a machine's plumbing.
//!
//! Reading list: RFC 3261 §17 (the machines), §17.1.1.3 (the ACK for a failure is the
//! transaction's), §9.1 (CANCEL only after a provisional), §17.2.3 (matching), RFC 6026
//! (the INVITE server's Accepted state).

use super::forget::ForgetWheel;
use super::kept::{InviteIds, Kept};
use super::table::{rc_bytes, HeapBytes};
use super::TimerSlots;
use super::{
    Action, ClientKey, ClientTransaction, Handle, InsertError, InviteClientState, RequestIds,
    RequestKind, ServerKey, ServerTransaction, TimerConfig, TimerKind, TransactionTable, Transport,
};
use crate::flow::{Flow, Outbox};
use crate::sched::{Scheduler, TimerId};
use crate::sip::{HeaderName, Method, Request, Response, Via};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

/// Which side a transaction timer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxSide {
    /// A server transaction (a request we received).
    Server,
    /// A client transaction (a request we sent).
    Client,
}

/// A transaction timer as the owner's heap carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxTimer {
    /// Server or client.
    pub side: TxSide,
    /// The transaction.
    pub tx: Handle,
    /// Which of A–K.
    pub kind: TimerKind,
}

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
    to_tag: Box<str>,
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
            std::mem::size_of::<Answering>() + request_bytes(&a.request) + a.via.to_string().len()
        });
        self.machine.held_bytes() + answering + self.to_tag.len()
    }
}

/// The bytes a server transaction counts in the lingering budget: a non-INVITE one's final
/// response, once it was sent (the machine keeps it until the transaction is removed, so
/// what is added at the final is what is taken away at the removal).
fn lingering_share(tx: &ServerTx) -> usize {
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
    /// Its top Via stamped with received/rport, for every response.
    pub via: Via,
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
    kept: Kept,
    /// Whose request it is, so the answer finds its way back.
    pub purpose: P,
    /// A CANCEL is owed as soon as a provisional response arrives (§9.1).
    cancel_wanted: bool,
    /// A provisional response has arrived.
    provisional_seen: bool,
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
    fn settle(&mut self) {
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

/// The key a received request is matched under.
pub fn server_key(req: &Request) -> ServerKey {
    // Branch and sent-by are spans of the received text: the Via is not decoded. The
    // Request-URI and top Via only key RFC 2543 requests (no magic-cookie branch): most
    // requests never pay for printing them.
    let branch = req.top_branch();
    let (host, port) = req.top_sent_by().unwrap_or(("", None));
    let rfc3261 = branch.is_some_and(super::key::is_rfc3261_branch);
    let (uri, top) = if rfc3261 {
        (String::new(), String::new())
    } else {
        (req.uri().to_string(), req.top_via().to_string())
    };
    ServerKey::from_request(&RequestIds {
        method: req.method().as_str(),
        branch,
        sent_by_host: host,
        sent_by_port: port,
        request_uri: &uri,
        from_tag: req.from_tag(),
        call_id: req.call_id(),
        cseq: req.cseq().seq,
        top_via: &top,
    })
}

/// The ACK for a 3xx–6xx to an INVITE we sent (§17.1.1.3): same Request-URI, Call-ID, From,
/// CSeq number and top Via as the INVITE, To from the response, the INVITE's Route.
pub fn ack_for_failure(invite: &Request, resp: &Response) -> Request {
    derived_request(Method::Ack, invite, resp.to().to_string())
}

/// CANCEL for an INVITE we sent (§9.1).
pub fn cancel_for(invite: &Request) -> Request {
    derived_request(Method::Cancel, invite, invite.to().to_string())
}

fn derived_request(method: Method, invite: &Request, to: String) -> Request {
    let mut r = Request::new(method.clone(), invite.uri().clone());
    r.push_header(HeaderName::Via, invite.top_via().to_string());
    r.push_header(HeaderName::MaxForwards, "70");
    r.push_header(HeaderName::From, invite.from().to_string());
    r.push_header(HeaderName::To, to);
    r.push_header(HeaderName::CallId, invite.call_id());
    let cseq = crate::sip::CSeq {
        seq: invite.cseq().seq,
        method,
    };
    r.push_header(HeaderName::CSeq, cseq.to_string());
    for route in invite.headers().get_all(&HeaderName::Route) {
        r.push_header(HeaderName::Route, route);
    }
    r
}

fn machine_transport(flow: Flow) -> Transport {
    if flow.transport.is_reliable() {
        Transport::Reliable
    } else {
        Transport::Unreliable
    }
}

/// Both tables, bounded, with the plumbing between machines, heap and wire. `P` says whose a
/// client transaction is.
pub struct Transactions<P> {
    server: TransactionTable<ServerKey, ServerTx>,
    client: TransactionTable<ClientKey, ClientTx<P>>,
    config: TimerConfig,
    /// Reused buffer for machine actions.
    actions: Vec<Action>,
    /// Client transactions that terminated while their event was handled.
    dead_clients: Vec<Handle>,
    /// Non-INVITE server transactions that have sent their final response, oldest first:
    /// the first to go when the table is full.
    lingering: VecDeque<Handle>,
    /// Bytes the lingering transactions keep (their final responses, which echo the
    /// request's Via, From, To and Call-ID and so can be as large as it was).
    lingering_bytes: usize,
    /// `[general]` `nat=`: whether answers go to the source port without `;rport`.
    nat: crate::config::sip_values::Nat,
    /// Client transactions whose final response is being handled: they drop their request
    /// at the next [`Transactions::reap`].
    settled: Vec<Handle>,
    /// The forget timers (D, I, J, K, L, M) by grid step.
    wheel: ForgetWheel,
}

/// The most bytes lingering transactions may keep: past it the oldest are forgotten (a
/// retransmission of their request is then handled as new, which for the non-INVITE requests
/// that linger is harmless). 32 MB is 50 000 ordinary 600-byte answers.
pub const MAX_LINGERING_BYTES: usize = 32 << 20;

impl<P: Clone> Transactions<P> {
    /// Tables of at most `max` transactions each, with these timer values.
    pub fn new(config: TimerConfig, max: usize) -> Self {
        Transactions {
            server: TransactionTable::new(max),
            client: TransactionTable::new(max),
            config,
            actions: Vec::new(),
            dead_clients: Vec::new(),
            lingering: VecDeque::new(),
            lingering_bytes: 0,
            nat: crate::config::sip_values::Nat::DEFAULT,
            settled: Vec::new(),
            wheel: ForgetWheel::default(),
        }
    }

    /// Sets the `nat=` that decides where answers go (`force_rport`, `auto_force_rport`).
    pub fn set_nat(&mut self, nat: crate::config::sip_values::Nat) {
        self.nat = nat;
    }

    /// [`stamp_via`] under the `nat=` setting: with `force_rport` (or `auto_force_rport` and
    /// NAT detected) answers go to the source address and port as if `;rport` were present.
    pub fn stamp_via(&self, top: &Via, source: Flow) -> (Via, Flow) {
        let force = crate::nat::detect::force_rport(self.nat, top, source.remote);
        stamp_via(top, source, force)
    }

    /// New timer values (a reload's `timert1`/`timerb`) for transactions opened from now on;
    /// running ones keep theirs.
    pub fn set_timer_config(&mut self, config: TimerConfig) {
        self.config = config;
    }

    /// Bytes kept by lingering transactions (for the byte budget's tests and the admin view).
    pub fn lingering_bytes(&self) -> usize {
        self.lingering_bytes
    }

    /// The timer values.
    pub fn config(&self) -> TimerConfig {
        self.config
    }

    /// Number of server transactions.
    pub fn server_len(&self) -> usize {
        self.server.len()
    }

    /// Number of client transactions.
    pub fn client_len(&self) -> usize {
        self.client.len()
    }

    /// The server transaction a request matches.
    pub fn find_server(&self, key: &ServerKey) -> Option<Handle> {
        self.server.find(key)
    }

    /// A server transaction.
    pub fn server(&self, h: Handle) -> Option<&ServerTx> {
        self.server.get(h)
    }

    /// The server transaction a CANCEL on `h` is for.
    pub fn cancelled_invite(&self, h: Handle) -> Option<Handle> {
        let k = self.server.key(h)?.cancelled_invite()?;
        self.server.find(&k)
    }

    /// A client transaction.
    pub fn client(&self, h: Handle) -> Option<&ClientTx<P>> {
        self.client.get(h)
    }

    /// Gives client transaction `h` a new owner (a leg moved to another call).
    pub fn set_client_purpose(&mut self, h: Handle, purpose: P) {
        if let Some(t) = self.client.get_mut(h) {
            t.purpose = purpose;
        }
    }

    /// The client transaction a response matches, found without building a key (its top Via
    /// branch and CSeq method, §17.1.3).
    pub fn find_client_for(&self, resp: &Response) -> Option<Handle> {
        let branch = resp.top_branch()?;
        super::key::with_client_key(branch, resp.cseq().method.as_str(), |k| {
            self.client.find_bytes(k)
        })
    }

    /// Bytes both tables hold (see [`TransactionTable::retained_bytes`]), the queues beside
    /// them, and `per_timer` bytes for each running timer: the measure of what lingering
    /// transactions cost.
    pub fn retained_bytes(&self, per_timer: usize) -> usize {
        let h = std::mem::size_of::<Handle>();
        self.server.retained_bytes(per_timer)
            + self.client.retained_bytes(per_timer)
            + self.lingering.capacity() * h
            + (self.dead_clients.capacity() + self.settled.capacity()) * h
            + self.actions.capacity() * std::mem::size_of::<Action>()
            + self.wheel.retained_bytes(per_timer)
    }

    /// How many forget timers (D, I, J, K, L, M) are filed on the grid.
    pub fn forget_timers(&self) -> usize {
        self.wheel.len()
    }

    /// Opens a server transaction under `key` (the request's [`server_key`], computed once
    /// per request by the caller) for a new request from `source`; its responses carry
    /// `to_tag` (the request's own when it has one).
    pub fn open_server<W: From<TxTimer>>(
        &mut self,
        sched: &mut Scheduler<W>,
        key: ServerKey,
        req: Rc<Request>,
        source: Flow,
        to_tag: &str,
    ) -> Result<Handle, InsertError> {
        let (via, dest) = self.stamp_via(req.top_via(), source);
        let kind = RequestKind::from_method(req.method().as_str());
        let machine = ServerTransaction::new(kind, self.config, machine_transport(source));
        if self.server.is_full() {
            // Forget the oldest transaction that only lingers to absorb retransmissions
            // (Timer J): under a flood this shortens the linger instead of refusing requests.
            self.evict_lingering(sched);
        }
        let tx = ServerTx {
            machine,
            dest,
            to_tag: to_tag.into(),
            answering: Some(Box::new(Answering { request: req, via })),
        };
        self.server.insert(key, tx)
    }

    fn evict_lingering<W>(&mut self, sched: &mut Scheduler<W>) {
        while let Some(h) = self.lingering.pop_front() {
            if self.remove_server(sched, h) {
                return;
            }
        }
    }

    /// Removes server transaction `h` with its timers and its share of the byte budget.
    fn remove_server<W>(&mut self, sched: &mut Scheduler<W>, h: Handle) -> bool {
        match self.server.remove(h) {
            Some(mut gone) => {
                gone.timers.stop_all(sched);
                self.lingering_bytes -= lingering_share(&gone.value);
                true
            }
            None => false,
        }
    }

    /// A retransmitted request matched `h`: the machine resends or absorbs.
    pub fn server_retransmission<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
    ) {
        self.drive_server(sched, out, h, |tx, acts| {
            tx.machine.on_retransmission(now, acts)
        });
    }

    /// Feeds server transaction `h`'s machine through `feed` (which may look at the actions
    /// it produced) and carries out what the machine asked for.
    fn drive_server<W: From<TxTimer>, R>(
        &mut self,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        feed: impl FnOnce(&mut ServerTx, &mut Vec<Action>) -> R,
    ) -> Option<R> {
        let mut acts = std::mem::take(&mut self.actions);
        let r = self.server.get_mut(h).map(|tx| feed(tx, &mut acts));
        self.apply_server(sched, out, h, &mut acts);
        self.actions = acts;
        r
    }

    /// Sends a response through server transaction `h`.
    pub fn server_send<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        resp: &Response,
    ) {
        let bytes: Rc<[u8]> = resp.to_bytes().into();
        let mut acts = std::mem::take(&mut self.actions);
        let final_ = resp.status() >= 200;
        let mut linger = false;
        if let Some(tx) = self.server.get_mut(h) {
            let first_final = final_ && tx.answering.is_some();
            linger = first_final && !tx.is_invite();
            tx.machine
                .send_response(now, resp.status(), bytes, &mut acts);
            if first_final {
                tx.answering = None;
                // Only an ACK for an INVITE's 3xx-6xx is matched against the tag later.
                if !tx.is_invite() || resp.status() < 300 {
                    tx.to_tag = Box::default();
                }
            }
            if linger {
                self.lingering_bytes += lingering_share(tx);
            }
        }
        if linger {
            while self.lingering_bytes > MAX_LINGERING_BYTES && self.lingering.len() > 1 {
                self.evict_lingering(sched);
            }
            // Entries whose transaction already ended leave from the front, so the queue stays
            // about as long as the lingering transactions themselves.
            while let Some(&old) = self.lingering.front() {
                if self.server.get(old).is_some() {
                    break;
                }
                self.lingering.pop_front();
            }
            self.lingering.push_back(h);
        }
        self.apply_server(sched, out, h, &mut acts);
        self.actions = acts;
    }

    /// An ACK matched INVITE server transaction `h`. Returns true when the ACK belongs to the
    /// user (an ACK for a 2xx, RFC 6026 Accepted).
    pub fn server_ack<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
    ) -> bool {
        self.drive_server(sched, out, h, |tx, acts| {
            tx.machine.on_ack(now, acts);
            acts.contains(&Action::PassAck)
        })
        .unwrap_or(false)
    }

    /// A timer fired (`side` says which table `h` is in).
    pub fn on_timer<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        timer: TxTimer,
        id: TimerId,
    ) -> Option<ClientEvent> {
        // Only a forget timer can be a grid step's: the others skip the wheel's scan.
        let step = timer
            .kind
            .only_forgets()
            .then(|| self.wheel.take(id))
            .flatten();
        if let Some(due) = step {
            // A grid step: every transaction whose forget timer it holds ends now.
            for TxTimer { side, tx: h, kind } in due {
                let mut acts = std::mem::take(&mut self.actions);
                match side {
                    TxSide::Server => {
                        if let Some(tx) = self.server.get_mut(h) {
                            tx.machine.on_timer(now, kind, &mut acts);
                        }
                        self.apply_server(sched, out, h, &mut acts);
                    }
                    TxSide::Client => {
                        if let Some(tx) = self.client.get_mut(h) {
                            tx.machine.on_timer(now, kind, &mut acts);
                        }
                        // Forgetting tells the user nothing.
                        let _ = self.apply_client(sched, out, h, &mut acts);
                    }
                }
                self.actions = acts;
            }
            return None;
        }
        let TxTimer { side, tx: h, kind } = timer;
        let mut acts = std::mem::take(&mut self.actions);
        let ev = match side {
            TxSide::Server => {
                if let Some((tx, timers)) = self.server.get_with_timers_mut(h) {
                    if timers.fired(kind, id) {
                        tx.machine.on_timer(now, kind, &mut acts);
                    }
                }
                self.apply_server(sched, out, h, &mut acts);
                None
            }
            TxSide::Client => {
                if let Some((tx, timers)) = self.client.get_with_timers_mut(h) {
                    if timers.fired(kind, id) {
                        tx.machine.on_timer(now, kind, &mut acts);
                    }
                }
                self.apply_client(sched, out, h, &mut acts)
            }
        };
        self.actions = acts;
        ev
    }

    fn apply_server<W: From<TxTimer>>(
        &mut self,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        acts: &mut Vec<Action>,
    ) {
        for act in acts.drain(..) {
            let Some((tx, timers)) = self.server.get_with_timers_mut(h) else {
                break;
            };
            let side = (TxSide::Server, h, tx.dest);
            let Some(act) = plumb(act, side, &mut self.wheel, timers, sched, out) else {
                continue;
            };
            match act {
                Action::Timeout => {
                    log::debug!("no ACK for the final response sent to {}", tx.dest)
                }
                Action::Terminated => {
                    self.remove_server(sched, h);
                }
                // Plumbing (handled above) and what only a client sees.
                Action::Transmit(_)
                | Action::StartTimer(..)
                | Action::StopTimer(_)
                | Action::PassAck
                | Action::PassResponse(_)
                | Action::TransportError
                | Action::AckTimeout => {}
            }
        }
    }

    /// Sends a request in a new client transaction.
    pub fn open_client<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        req: Request,
        dest: Flow,
        purpose: P,
    ) -> Option<Handle> {
        // A span of the request's own text: the Via we just printed is not decoded again.
        let key = ClientKey::new(req.top_branch().unwrap_or_default(), req.method().as_str());
        let bytes: Rc<[u8]> = req.to_bytes().into();
        let kind = RequestKind::from_method(req.method().as_str());
        let machine = ClientTransaction::new(kind, self.config, machine_transport(dest), bytes);
        let tx = ClientTx {
            machine,
            dest,
            kept: Kept::Request(Rc::new(req)),
            purpose,
            cancel_wanted: false,
            provisional_seen: false,
        };
        let h = match self.client.insert(key, tx) {
            Ok(h) => h,
            Err(_) => {
                log::warn!("client transaction table full: request not sent");
                return None;
            }
        };
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(tx) = self.client.get_mut(h) {
            tx.machine.start(now, &mut acts);
        }
        self.apply_client(sched, out, h, &mut acts);
        self.actions = acts;
        Some(h)
    }

    /// Feeds a response to client transaction `h`; returns what the user must see.
    pub fn client_response<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        resp: &Response,
    ) -> Option<ClientEvent> {
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(tx) = self.client.get_mut(h) {
            let req = tx.request().cloned();
            tx.machine.on_response(
                now,
                resp.status(),
                || match &req {
                    Some(req) => ack_for_failure(req, resp).to_bytes().into(),
                    // A settled INVITE is in Completed or Accepted: it builds no ACK again.
                    None => Rc::from(&b""[..]),
                },
                &mut acts,
            );
        }
        let ev = self.apply_client(sched, out, h, &mut acts);
        self.actions = acts;
        ev
    }

    fn apply_client<W: From<TxTimer>>(
        &mut self,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        acts: &mut Vec<Action>,
    ) -> Option<ClientEvent> {
        let mut event = None;
        for act in acts.drain(..) {
            let Some((tx, timers)) = self.client.get_with_timers_mut(h) else {
                break;
            };
            let side = (TxSide::Client, h, tx.dest);
            let Some(act) = plumb(act, side, &mut self.wheel, timers, sched, out) else {
                continue;
            };
            match act {
                Action::PassResponse(status) => {
                    if status >= 200 {
                        self.settled.push(h);
                    }
                    event = Some(ClientEvent::Response(status));
                }
                Action::Timeout | Action::TransportError => event = Some(ClientEvent::Timeout),
                Action::Terminated => {
                    // Keep the entry until the event is handled: the user may still need it.
                    self.dead_clients.push(h);
                }
                Action::Transmit(_)
                | Action::StartTimer(..)
                | Action::StopTimer(_)
                | Action::PassAck
                | Action::AckTimeout => {}
            }
        }
        event
    }

    /// A provisional response arrived on INVITE transaction `h` (§9.1 allows a CANCEL now).
    pub fn provisional_seen(&mut self, h: Handle) {
        if let Some(tx) = self.client.get_mut(h) {
            tx.provisional_seen = true;
        }
    }

    /// The user wants INVITE transaction `h` cancelled: now if a provisional has arrived,
    /// else as soon as one does ([`Transactions::send_owed_cancel`]).
    pub fn want_cancel<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        purpose: P,
    ) {
        if let Some(tx) = self.client.get_mut(h) {
            tx.cancel_wanted = true;
        }
        self.send_owed_cancel(now, sched, out, h, purpose);
    }

    /// Sends the CANCEL owed on INVITE transaction `h` if a provisional has arrived. Returns
    /// true if one is owed (sent now or waiting for a provisional).
    pub fn send_owed_cancel<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        purpose: P,
    ) -> bool {
        let Some(tx) = self.client.get_mut(h) else {
            return false;
        };
        if !tx.cancel_wanted || !tx.provisional_seen {
            return tx.cancel_wanted;
        }
        tx.cancel_wanted = false;
        let Some(invite) = tx.request().cloned() else {
            return false;
        };
        let cancel = cancel_for(&invite);
        let dest = tx.dest;
        let mut acts = std::mem::take(&mut self.actions);
        tx.machine.on_cancel_sent(now, &mut acts);
        let _ = self.apply_client(sched, out, h, &mut acts);
        self.actions = acts;
        self.open_client(now, sched, out, cancel, dest, purpose);
        true
    }

    /// Gives back the room a burst of transactions left ([`crate::shrink`]); called on the
    /// engine's 5 s sweep timer.
    pub fn shrink(&mut self) {
        self.server.shrink();
        self.client.shrink();
        crate::shrink::deque(&mut self.lingering);
        crate::shrink::vec(&mut self.actions);
        crate::shrink::vec(&mut self.dead_clients);
        crate::shrink::vec(&mut self.settled);
    }

    /// Drops client transactions that terminated while their event was being handled, and
    /// the requests of those whose final response was handled.
    pub fn reap<W>(&mut self, sched: &mut Scheduler<W>) {
        for h in self.dead_clients.drain(..) {
            if let Some(mut gone) = self.client.remove(h) {
                gone.timers.stop_all(sched);
            }
        }
        for h in self.settled.drain(..) {
            if let Some(tx) = self.client.get_mut(h) {
                tx.settle();
            }
        }
    }
}

/// The plumbing both sides share: puts a transmission on the wire and a timer on the owner's
/// heap (a forget timer on the grid); hands back the actions that mean something to the side
/// that asked.
fn plumb<W: From<TxTimer>>(
    act: Action,
    (side, tx, dest): (TxSide, Handle, Flow),
    wheel: &mut ForgetWheel,
    timers: &mut TimerSlots,
    sched: &mut Scheduler<W>,
    out: &mut Outbox,
) -> Option<Action> {
    match act {
        Action::Transmit(bytes) => out.sip(dest, bytes.to_vec()),
        Action::StartTimer(kind, at) if kind.only_forgets() => {
            wheel.add(sched, at, TxTimer { side, tx, kind });
        }
        Action::StartTimer(kind, at) => {
            timers.start(sched, kind, at, TxTimer { side, tx, kind }.into())
        }
        Action::StopTimer(kind) => timers.stop(sched, kind),
        other => return Some(other),
    }
    None
}

/// Stamps the top Via of a request that came over `source` the way RFC 3581 wants, and says
/// where the response goes: with `rport`, back to the exact source address and port; with
/// `force_rport` (chan_sip's `nat=force_rport`: "pretend there was an rport") the same, but
/// the Via only gains `received`; otherwise to the source IP (the `received` address) at the
/// Via's sent-by port.
pub fn stamp_via(top: &Via, source: Flow, force_rport: bool) -> (Via, Flow) {
    let mut via = top.clone();
    let from = source.remote;
    let src_ip = from.ip().to_string();
    // An IPv6 sent-by is bracketed: compared without building "[addr]" for every request.
    let unbracketed = via
        .host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&via.host);
    let wants_rport = via.rport().is_some();
    if wants_rport || (via.host != src_ip && unbracketed != src_ip) {
        via.set_param("received", Some(src_ip));
    }
    if wants_rport {
        via.set_param("rport", Some(from.port().to_string()));
        (via, source)
    } else if force_rport {
        (via, source)
    } else {
        // The source IP, never a host name from the message: answers cannot be steered
        // elsewhere by what a datagram claims.
        let port = via.port.unwrap_or(5060);
        let remote = std::net::SocketAddr::new(from.ip(), port);
        (via, Flow { remote, ..source })
    }
}

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::sip::{parse, Message};

    fn options(i: usize, pad: usize) -> Rc<Request> {
        let text = format!(
            "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{i}\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: {i}-{}\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            "x".repeat(pad)
        );
        match parse(text.as_bytes()) {
            Ok(Message::Request(r)) => Rc::new(r),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forget_timers_round_up_to_the_grid_and_retransmissions_stay_exact() {
        use crate::transaction::FORGET_GRID;
        let t0 = Instant::now();
        let mut sched: Scheduler<TxTimer> = Scheduler::new();
        let mut out = Outbox::default();
        let mut txs: Transactions<()> = Transactions::new(TimerConfig::default(), 100);
        let from = Flow::udp("127.0.0.1:5070".parse().unwrap());
        let j = TimerConfig::default().sixty_four_t1();
        let last = t0 + std::time::Duration::from_millis(23 * 49);
        for i in 0..50u32 {
            // Finals 23 ms apart: 50 of them span more than one grid step.
            let now = t0 + std::time::Duration::from_millis(23 * u64::from(i));
            let req = options(i as usize, 0);
            let key = server_key(&req);
            let h = txs
                .open_server(&mut sched, key, req.clone(), from, "t")
                .unwrap();
            let resp = Response::for_request(&req, 200, "OK", Some("t"));
            txs.server_send(now, &mut sched, &mut out, h, &resp);
        }
        assert_eq!(txs.forget_timers(), 50);
        // One scheduler timer per grid step, none before the first Timer J's 64·T1, the last
        // less than a step after the last one's.
        assert!(sched.len() <= 3, "{} wake-ups", sched.len());
        let mut gone = 0;
        while let Some(at) = sched.next_deadline() {
            assert!(at >= t0 + j && at < last + j + FORGET_GRID);
            let before = txs.server_len();
            while let Some((id, t)) = sched.pop_due(at) {
                txs.on_timer(at, &mut sched, &mut out, t, id);
            }
            gone += before - txs.server_len();
        }
        assert_eq!((gone, txs.server_len(), txs.forget_timers()), (50, 0, 0));
        // A retransmission timer (Timer E of a client transaction) keeps its exact deadline.
        let now = t0 + std::time::Duration::from_millis(7);
        let req = Rc::try_unwrap(options(99, 0)).unwrap();
        let h = txs
            .open_client(now, &mut sched, &mut out, req, from, ())
            .unwrap();
        let (_, timers) = txs.client.get_with_timers_mut(h).unwrap();
        let e = sched.deadline(timers.get(TimerKind::E).unwrap()).unwrap();
        assert_eq!(e, now + TimerConfig::default().t1);
    }

    #[test]
    fn keys_are_found_by_borrowed_bytes_and_settled_clients_drop_their_request() {
        let now = Instant::now();
        let mut sched: Scheduler<TxTimer> = Scheduler::new();
        let mut out = Outbox::default();
        let mut txs: Transactions<()> = Transactions::new(TimerConfig::default(), 100);
        let to = Flow::udp("127.0.0.1:5070".parse().unwrap());
        let req = Rc::try_unwrap(options(7, 0)).unwrap();
        let h = txs
            .open_client(now, &mut sched, &mut out, req.clone(), to, ())
            .unwrap();
        let resp = Response::for_request(&req, 200, "OK", Some("x"));
        assert_eq!(txs.find_client_for(&resp), Some(h));
        assert!(txs.client(h).unwrap().request().is_some());
        let ev = txs.client_response(now, &mut sched, &mut out, h, &resp);
        assert_eq!(ev, Some(ClientEvent::Response(200)));
        assert!(
            txs.client(h).unwrap().request().is_some(),
            "kept while the event is handled"
        );
        txs.reap(&mut sched);
        let tx = txs.client(h).expect("Completed lingers (Timer K)");
        assert!(tx.request().is_none() && tx.invite_for_2xx().is_none());
        assert_eq!(tx.machine.held_bytes(), 0, "Completed keeps no message");
        // A retransmitted 200 is absorbed.
        let ev = txs.client_response(now, &mut sched, &mut out, h, &resp);
        assert_eq!(ev, None);
        assert!(out.pop_transmit().is_some(), "the request went out once");
        assert!(out.pop_transmit().is_none(), "nothing else");
    }

    #[test]
    fn lingering_answers_are_bounded_in_bytes_not_only_in_count() {
        let now = Instant::now();
        let mut sched: Scheduler<TxTimer> = Scheduler::new();
        let mut out = Outbox::default();
        let mut txs: Transactions<()> = Transactions::new(
            TimerConfig::with_t1(std::time::Duration::from_millis(500)),
            50_000,
        );
        let from = Flow::udp("127.0.0.1:5070".parse().unwrap());
        // 60 KB Call-IDs, echoed in every answer: 2 000 of them would keep 120 MB.
        for i in 0..2_000 {
            let req = options(i, 60_000);
            let key = server_key(&req);
            let h = txs
                .open_server(&mut sched, key, req.clone(), from, "t")
                .unwrap();
            let resp = Response::for_request(&req, 200, "OK", Some("t"));
            txs.server_send(now, &mut sched, &mut out, h, &resp);
            while out.pop_transmit().is_some() {}
            assert!(txs.lingering_bytes() <= MAX_LINGERING_BYTES, "at {i}");
        }
        assert!(txs.server_len() < 2_000, "the oldest were forgotten");
        assert!(
            txs.server_len() >= MAX_LINGERING_BYTES / 70_000,
            "but not more than needed"
        );
    }
}
