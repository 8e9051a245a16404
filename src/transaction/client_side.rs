//! The client side of [`Transactions`]: sending a request in a new client transaction,
//! feeding it responses, the CANCEL rule of §9.1, and dropping what a settled transaction
//! no longer needs (RFC 3261 §17.1).

use super::kept::Kept;
use super::layer::{machine_transport, plumb, Transactions, TxSide, TxTimer};
use super::records::{ClientEvent, ClientTx};
use super::requests::{ack_for_failure, cancel_for};
use super::{Action, ClientKey, ClientTransaction, Handle, RequestKind};
use crate::flow::{Flow, Outbox};
use crate::sched::Scheduler;
use crate::sip::{Request, Response};
use std::rc::Rc;
use std::time::Instant;

impl<P: Clone> Transactions<P> {
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
        let bytes = self.shared_bytes(|b| req.write_to(b));
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
        if self.client.is_full() {
            self.evict_client_lingering(sched);
        }
        let h = match self.client.insert(key, tx) {
            Ok(h) => h,
            Err(_) => {
                self.client_refused += 1;
                if self.client_refused.is_power_of_two() {
                    log::warn!(
                        "client transaction table full of live transactions: request not \
                         sent ({} so far)",
                        self.client_refused
                    );
                }
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

    pub(super) fn apply_client<W: From<TxTimer>>(
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

    /// Drops client transactions that terminated while their event was being handled, and
    /// the requests of those whose final response was handled.
    pub fn reap<W>(&mut self, sched: &mut Scheduler<W>) {
        for h in self.dead_clients.drain(..) {
            if let Some(mut gone) = self.client.remove(h) {
                gone.timers.stop_all(sched);
            }
        }
        let mut settled = std::mem::take(&mut self.settled);
        for h in settled.drain(..) {
            if let Some(tx) = self.client.get_mut(h) {
                tx.settle();
                self.client_lingering.push(&self.client, h);
            }
        }
        // The buffer is kept for the next round (taken only to borrow the tables beside it).
        self.settled = settled;
    }

    /// Forgets the oldest client transaction that only lingers (its final was handled: it
    /// absorbs retransmitted finals, or acknowledges a late 2xx, Timers D, K, M).
    fn evict_client_lingering<W>(&mut self, sched: &mut Scheduler<W>) {
        if let Some(h) = self.client_lingering.take_oldest(&self.client) {
            if let Some(mut gone) = self.client.remove(h) {
                gone.timers.stop_all(sched);
            }
        }
    }
}
