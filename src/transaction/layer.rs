//! The transaction layer as the transaction user sees it: two bounded tables of machines
//! (server and client), their timers on the owner's heap, the responses and requests they put
//! on the wire, and the CANCEL rule of §9.1. The engine and the call layer call these methods;
//! nothing above re-implements a machine's plumbing. This file holds the tables, the timers
//! and the plumbing both sides share; [`super::server_side`] and [`super::client_side`] the
//! methods of each side, [`super::records`] what the tables hold.
//!
//! Reading list: RFC 3261 §17 (the machines), §17.1.1.3 (the ACK for a failure is the
//! transaction's), §9.1 (CANCEL only after a provisional), §17.2.3 (matching), RFC 6026
//! (the INVITE server's Accepted state).

use super::forget::ForgetWheel;
use super::linger_queue::LingerQueue;
use super::records::{ClientEvent, ClientTx, ServerTx};
use super::stamp::stamp_via;
use super::TimerSlots;
use super::{
    Action, ClientKey, Handle, ServerKey, ServerKeyBuf, TimerConfig, TimerKind, TransactionTable,
    Transport,
};
use crate::flow::{Flow, Outbox};
use crate::sched::{Scheduler, TimerId};
use crate::sip::{Response, Via};
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

pub(super) fn machine_transport(flow: Flow) -> Transport {
    if flow.transport.is_reliable() {
        Transport::Reliable
    } else {
        Transport::Unreliable
    }
}

/// Both tables, bounded, with the plumbing between machines, heap and wire. `P` says whose a
/// client transaction is.
pub struct Transactions<P> {
    pub(super) server: TransactionTable<ServerKey, ServerTx>,
    pub(super) client: TransactionTable<ClientKey, ClientTx<P>>,
    pub(super) config: TimerConfig,
    /// Reused buffer for machine actions.
    pub(super) actions: Vec<Action>,
    /// Client transactions that terminated while their event was handled.
    pub(super) dead_clients: Vec<Handle>,
    /// Server transactions that have sent their final response, oldest first: the first to
    /// go when the table is full (a new request is worth more than absorbing a late
    /// retransmission of an old one's; under load past the table's size this shortens the
    /// RFC's linger instead of refusing requests).
    pub(super) lingering: LingerQueue,
    /// Client transactions whose final response was handled, oldest first: the first to go
    /// when the client table is full, as on the server side.
    pub(super) client_lingering: LingerQueue,
    /// Requests not sent because the client table held only live transactions (the warning
    /// is logged at the 1st, 2nd, 4th, 8th... so a storm of them cannot flood the log).
    pub(super) client_refused: u64,
    /// Bytes the lingering transactions keep (their final responses, which echo the
    /// request's Via, From, To and Call-ID and so can be as large as it was).
    pub(super) lingering_bytes: usize,
    /// `[general]` `nat=`: whether answers go to the source port without `;rport`.
    pub(super) nat: crate::config::sip_values::Nat,
    /// Client transactions whose final response is being handled: they drop their request
    /// at the next [`Transactions::reap`].
    pub(super) settled: Vec<Handle>,
    /// The forget timers (D, I, J, K, L, M) by grid step.
    pub(super) wheel: ForgetWheel,
    /// Reused buffer a message is printed into before its one copy into the shared bytes a
    /// machine keeps and the outbox sends ([`Transactions::shared_bytes`]).
    scratch: Vec<u8>,
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
            lingering: LingerQueue::default(),
            client_lingering: LingerQueue::default(),
            client_refused: 0,
            lingering_bytes: 0,
            nat: crate::config::sip_values::Nat::DEFAULT,
            settled: Vec::new(),
            wheel: ForgetWheel::default(),
            scratch: Vec::new(),
        }
    }

    /// A message in the form a machine keeps and the outbox sends: printed into the reused
    /// buffer, then copied once into shared bytes (one allocation for the message's life;
    /// printing into a fresh `Vec` and converting took two and a copy more).
    pub fn shared_bytes(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Rc<[u8]> {
        self.scratch.clear();
        write(&mut self.scratch);
        Rc::from(&self.scratch[..])
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

    /// [`super::stamp_request`] under the `nat=` setting: a received request's stamped top
    /// Via, printed, and where its answers go.
    pub fn stamp_request(&self, req: &crate::sip::Request, source: Flow) -> (String, Flow) {
        super::stamp_request(req, source, self.nat)
    }

    /// New timer values (a reload's `timert1`/`timerb`) for transactions opened from now on;
    /// running ones keep theirs.
    pub fn set_timer_config(&mut self, config: TimerConfig) {
        self.config = config;
    }

    /// The reused action buffer, lent (empty) to a machine run outside the layer — a call's
    /// 2xx retransmitter — so its few actions need no vector of their own; give it back with
    /// [`Transactions::give_actions`].
    pub fn take_actions(&mut self) -> Vec<Action> {
        let mut v = std::mem::take(&mut self.actions);
        v.clear();
        v
    }

    /// Gives back a buffer from [`Transactions::take_actions`] (the larger one is kept).
    pub fn give_actions(&mut self, mut v: Vec<Action>) {
        v.clear();
        if v.capacity() > self.actions.capacity() {
            self.actions = v;
        }
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

    /// The server transaction a request matches (its [`super::server_key_buf`]).
    pub fn find_server(&self, key: &ServerKeyBuf) -> Option<Handle> {
        self.server.find_bytes(key.as_bytes())
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
            + (self.lingering.capacity() + self.client_lingering.capacity()) * h
            + (self.dead_clients.capacity() + self.settled.capacity()) * h
            + self.actions.capacity() * std::mem::size_of::<Action>()
            + self.wheel.retained_bytes(per_timer)
            + self.scratch.capacity()
    }

    /// How many forget timers (D, I, J, K, L, M) are filed on the grid.
    pub fn forget_timers(&self) -> usize {
        self.wheel.len()
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

    /// Gives back the room a burst of transactions left ([`crate::shrink`]); called on the
    /// engine's 5 s sweep timer.
    pub fn shrink(&mut self) {
        self.server.shrink();
        self.client.shrink();
        self.lingering.shrink();
        self.client_lingering.shrink();
        crate::shrink::vec(&mut self.actions);
        crate::shrink::vec(&mut self.dead_clients);
        crate::shrink::vec(&mut self.settled);
        crate::shrink::vec(&mut self.scratch);
    }
}

/// The plumbing both sides share: puts a transmission on the wire and a timer on the owner's
/// heap (a forget timer on the grid); hands back the actions that mean something to the side
/// that asked.
pub(super) fn plumb<W: From<TxTimer>>(
    act: Action,
    (side, tx, dest): (TxSide, Handle, Flow),
    wheel: &mut ForgetWheel,
    timers: &mut TimerSlots,
    sched: &mut Scheduler<W>,
    out: &mut Outbox,
) -> Option<Action> {
    match act {
        // Shared with the machine that keeps it for retransmission: no copy.
        Action::Transmit(bytes) => out.sip_shared(dest, bytes),
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

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::super::records::ClientEvent;
    use super::super::{server_key, InsertError, ServerTransaction};
    use super::*;
    use crate::sip::{parse, Message, Request};
    use std::rc::Rc;

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
    fn the_kept_answer_is_the_sent_one_not_a_copy() {
        let now = Instant::now();
        let mut sched: Scheduler<TxTimer> = Scheduler::new();
        let mut out = Outbox::default();
        let mut txs: Transactions<()> = Transactions::new(TimerConfig::default(), 10);
        let from = Flow::udp("127.0.0.1:5070".parse().unwrap());
        let req = options(1, 0);
        let h = txs
            .open_server(&mut sched, server_key(&req), req.clone(), from, "t")
            .unwrap();
        let resp = Response::for_request(&req, 200, "OK", Some("t"));
        txs.server_send(now, &mut sched, &mut out, h, &resp);
        let sent = out.pop_transmit().expect("sent");
        let crate::flow::Datagram::Shared(bytes) = &sent.bytes else {
            panic!("copied: {sent:?}");
        };
        assert_eq!(&bytes[..], &resp.to_bytes()[..]);
        let ServerTransaction::NonInvite(m) = &txs.server(h).unwrap().machine else {
            panic!("non-INVITE");
        };
        assert!(Rc::ptr_eq(bytes, m.last_response().unwrap()), "one buffer");
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

    fn invite(i: usize) -> Rc<Request> {
        let text = format!(
            "INVITE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKi{i}\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: inv-{i}\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes()) {
            Ok(Message::Request(r)) => Rc::new(r),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_table_forgets_its_oldest_lingering_transaction_never_a_live_one() {
        let now = Instant::now();
        let mut sched: Scheduler<TxTimer> = Scheduler::new();
        let mut out = Outbox::default();
        let mut txs: Transactions<()> = Transactions::new(TimerConfig::default(), 4);
        let from = Flow::udp("127.0.0.1:5070".parse().unwrap());
        // Server side: four INVITEs answered (2xx: Accepted, Timer L), then a fifth comes.
        let mut answered = Vec::new();
        for i in 0..4 {
            let req = invite(i);
            let h = txs
                .open_server(&mut sched, server_key(&req), req.clone(), from, "t")
                .unwrap();
            let resp =
                Response::for_request(&req, if i % 2 == 0 { 200 } else { 486 }, "", Some("t"));
            txs.server_send(now, &mut sched, &mut out, h, &resp);
            answered.push(h);
        }
        let req = invite(4);
        let fifth = txs
            .open_server(&mut sched, server_key(&req), req.clone(), from, "t")
            .expect("the oldest lingering INVITE makes room");
        assert!(txs.server(answered[0]).is_none(), "the oldest went");
        assert!(answered[1..].iter().all(|h| txs.server(*h).is_some()));
        // Four live ones (no final yet): the next is refused.
        let mut live = vec![fifth];
        for i in 5..8 {
            let req = invite(i);
            live.push(
                txs.open_server(&mut sched, server_key(&req), req.clone(), from, "t")
                    .expect("room from the lingering ones"),
            );
        }
        let req = invite(8);
        assert_eq!(
            txs.open_server(&mut sched, server_key(&req), req.clone(), from, "t"),
            Err(InsertError::Full),
            "only live transactions left"
        );
        assert!(live.iter().all(|h| txs.server(*h).is_some()));

        // Client side: four requests answered and settled, then a fifth is sent.
        let mut settled = Vec::new();
        for i in 10..14 {
            let req = Rc::try_unwrap(options(i, 0)).unwrap();
            let h = txs
                .open_client(now, &mut sched, &mut out, req.clone(), from, ())
                .unwrap();
            let resp = Response::for_request(&req, 200, "OK", Some("x"));
            txs.client_response(now, &mut sched, &mut out, h, &resp);
            txs.reap(&mut sched);
            settled.push(h);
        }
        let req = Rc::try_unwrap(options(14, 0)).unwrap();
        let h = txs.open_client(now, &mut sched, &mut out, req, from, ());
        assert!(h.is_some(), "the oldest settled one makes room");
        assert!(txs.client(settled[0]).is_none());
        assert!(settled[1..].iter().all(|h| txs.client(*h).is_some()));
        for i in 15..18 {
            let req = Rc::try_unwrap(options(i, 0)).unwrap();
            assert!(txs
                .open_client(now, &mut sched, &mut out, req, from, ())
                .is_some());
        }
        let req = Rc::try_unwrap(options(18, 0)).unwrap();
        assert!(
            txs.open_client(now, &mut sched, &mut out, req, from, ())
                .is_none(),
            "four requests in flight: no room"
        );
        assert_eq!(txs.client_len(), 4);
    }
}
