//! The server side of [`Transactions`]: opening a server transaction for a new request,
//! its retransmissions, the responses sent through it, its ACK, and the lingering budget
//! (RFC 3261 §17.2, RFC 6026).

use super::layer::{machine_transport, plumb, Transactions, TxSide, TxTimer, MAX_LINGERING_BYTES};
use super::records::{lingering_share, Answering, ServerTx};
use super::{Action, Handle, InsertError, RequestKind, ServerKey, ServerTransaction};
use crate::flow::{Flow, Outbox};
use crate::sched::Scheduler;
use crate::sip::{Request, Response};
use std::rc::Rc;
use std::time::Instant;

impl<P: Clone> Transactions<P> {
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
        let (via, dest) = super::stamp_request(&req, source, self.nat);
        let kind = RequestKind::from_method(req.method().as_str());
        let machine = ServerTransaction::new(kind, self.config, machine_transport(source));
        if self.server.is_full() {
            // Forget the oldest transaction that only lingers to absorb retransmissions
            // (Timers J, L, and H/I): under a flood or a call rate past what the table holds
            // for 64·T1 this shortens the linger instead of refusing requests.
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
        if let Some(h) = self.lingering.take_oldest(&self.server) {
            self.remove_server(sched, h);
        }
    }

    /// Removes server transaction `h` with its timers and its share of the byte budget.
    fn remove_server<W>(&mut self, sched: &mut Scheduler<W>, h: Handle) {
        if let Some(mut gone) = self.server.remove(h) {
            gone.timers.stop_all(sched);
            self.lingering_bytes -= lingering_share(&gone.value);
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
        let bytes = self.shared_bytes(|b| resp.write_to(b));
        self.server_send_bytes(now, sched, out, h, resp.status(), bytes);
    }

    /// [`Transactions::server_send`] of a response already printed (by
    /// [`Transactions::shared_bytes`]: a 2xx to an INVITE is kept by the UAS core's
    /// retransmitter too, from the same bytes).
    pub fn server_send_bytes<W: From<TxTimer>>(
        &mut self,
        now: Instant,
        sched: &mut Scheduler<W>,
        out: &mut Outbox,
        h: Handle,
        status: u16,
        bytes: Rc<[u8]>,
    ) {
        let mut acts = std::mem::take(&mut self.actions);
        let final_ = status >= 200;
        let mut linger = false;
        if let Some(tx) = self.server.get_mut(h) {
            let first_final = final_ && tx.answering.is_some();
            linger = first_final;
            tx.machine.send_response(now, status, bytes, &mut acts);
            if first_final {
                tx.answering = None;
                // Only an ACK for an INVITE's 3xx-6xx is matched against the tag later.
                if !tx.is_invite() || status < 300 {
                    tx.to_tag = Box::default();
                }
            }
            if linger {
                // Only a non-INVITE's final counts in the byte budget (an INVITE's is dropped
                // at its ACK, so its share would not be what leaves at the removal).
                self.lingering_bytes += lingering_share(tx);
            }
        }
        if linger {
            while self.lingering_bytes > MAX_LINGERING_BYTES && self.lingering.len() > 1 {
                self.evict_lingering(sched);
            }
            self.lingering.push(&self.server, h);
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

    pub(super) fn apply_server<W: From<TxTimer>>(
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
}
