//! The loop's side of a writer thread: the changes and records the engine hands over are
//! collected for a short while and given to the thread in one channel send, so the writer
//! wakes (a futex wake on the loop, a futex wait, and its disk syscalls: open, write, close)
//! a few times a second under load instead of once per call. This is Asterisk's CDR batch
//! mode (`main/cdr.c`; `cdr.conf` `[general]` `batch`, `size`, `time`, `safeshutdown`) with a
//! short time, and what `main/db.c` does for the AstDB (its `db_sync_thread` commits the open
//! transaction at most once a second): a batch leaves when it holds [`BATCH_ITEMS`] items or
//! [`HOLD`] after its first item.
//!
//! Durability: what a crash (SIGKILL, power) loses grows by at most the last [`HOLD`] of
//! records and registration changes, still in the loop's memory. A stop (SIGTERM, SIGINT,
//! `core stop`) loses nothing: dropping the batch hands the rest over, waiting for room if
//! need be (Asterisk's `safeshutdown=yes`), and `main` joins the writers after the driver.
//!
//! The bound is kept: a disk that stalls costs at most [`QUEUED_BATCHES`] batches in the
//! channel and one held here; past that new items are dropped and said so, and the loop never
//! waits.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// How long the first item of a batch waits for others: short enough that a record is on
/// disk well within a second of its call's end.
pub const HOLD: Duration = Duration::from_millis(100);
/// Items in a full batch (handed over at once).
pub const BATCH_ITEMS: usize = 256;
/// Batches the channel holds (with [`BATCH_ITEMS`]: the 1 024 queued items of before).
pub const QUEUED_BATCHES: usize = crate::jobs_driver::WRITER_QUEUE / BATCH_ITEMS;

/// Items collected for one writer thread.
pub struct Batcher<T> {
    tx: SyncSender<Vec<T>>,
    items: Vec<T>,
    /// When the held batch is due (None: nothing held).
    due: Option<Instant>,
    /// What the writer is, for the log.
    what: &'static str,
}

/// A batcher and the receiving end its writer thread reads.
pub fn channel<T>(what: &'static str) -> (Batcher<T>, Receiver<Vec<T>>) {
    let (tx, rx) = sync_channel(QUEUED_BATCHES);
    let b = Batcher {
        tx,
        items: Vec::new(),
        due: None,
        what,
    };
    (b, rx)
}

impl<T> Batcher<T> {
    /// Holds `item` (received at `now`); a full batch is handed over at once.
    pub fn push(&mut self, item: T, now: Instant) {
        if self.items.len() >= BATCH_ITEMS {
            // The channel was full at the last try and still is: the disk is not keeping up.
            self.send();
            if self.items.len() >= BATCH_ITEMS {
                log::warn!(
                    "{}: the disk is not keeping up ({} changes queued); a change was not persisted",
                    self.what,
                    (QUEUED_BATCHES + 1) * BATCH_ITEMS
                );
                return;
            }
        }
        self.items.push(item);
        self.due.get_or_insert(now + HOLD);
        if self.items.len() >= BATCH_ITEMS {
            self.send();
        }
    }

    /// When the held batch should be handed over (the loop's poll wakes then).
    pub fn deadline(&self) -> Option<Instant> {
        self.due
    }

    /// Hands the held batch over if it is due at `now`.
    pub fn flush_due(&mut self, now: Instant) {
        if self.due.is_some_and(|d| d <= now) {
            self.send();
            if self.due.is_some() {
                // The channel was full: try again a moment later, not on every turn.
                self.due = Some(now + HOLD);
            }
        }
    }

    /// Tries to hand the held items over; they stay held when the channel is full.
    fn send(&mut self) {
        if self.items.is_empty() {
            self.due = None;
            return;
        }
        let items = std::mem::take(&mut self.items);
        match self.tx.try_send(items) {
            Ok(()) => self.due = None,
            Err(TrySendError::Full(items)) => self.items = items,
            Err(TrySendError::Disconnected(items)) => {
                log::error!(
                    "{}: the writer thread has stopped; {} changes were not persisted",
                    self.what,
                    items.len()
                );
                self.due = None;
            }
        }
    }
}

impl<T> Drop for Batcher<T> {
    /// A stop hands everything over, waiting for the writer if its queue is full.
    fn drop(&mut self) {
        let items = std::mem::take(&mut self.items);
        if !items.is_empty() && self.tx.send(items).is_err() {
            log::error!(
                "{}: the writer thread has stopped; changes at shutdown were not persisted",
                self.what
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an origin for the fake times
mod tests {
    use super::*;

    #[test]
    fn items_wait_for_the_hold_then_leave_in_one_send() {
        let t0 = Instant::now();
        let (mut b, rx) = channel::<u32>("test");
        assert_eq!(b.deadline(), None);
        b.push(1, t0);
        b.push(2, t0 + Duration::from_millis(30));
        assert_eq!(
            b.deadline(),
            Some(t0 + HOLD),
            "the first item sets the time"
        );
        b.flush_due(t0 + HOLD - Duration::from_millis(1));
        assert!(rx.try_recv().is_err(), "not yet due");
        b.flush_due(t0 + HOLD);
        assert_eq!(rx.try_recv().unwrap(), vec![1, 2]);
        assert_eq!(b.deadline(), None);
        b.push(3, t0 + Duration::from_secs(1));
        assert_eq!(b.deadline(), Some(t0 + Duration::from_secs(1) + HOLD));
    }

    #[test]
    fn a_full_batch_leaves_at_once_and_a_stop_hands_over_the_rest() {
        let t0 = Instant::now();
        let (mut b, rx) = channel::<usize>("test");
        for i in 0..BATCH_ITEMS + 3 {
            b.push(i, t0);
        }
        assert_eq!(rx.try_recv().unwrap().len(), BATCH_ITEMS);
        assert!(rx.try_recv().is_err());
        drop(b);
        assert_eq!(
            rx.try_recv().unwrap(),
            (BATCH_ITEMS..BATCH_ITEMS + 3).collect::<Vec<_>>()
        );
        assert!(rx.try_recv().is_err(), "and the channel is closed");
    }

    #[test]
    fn a_stalled_writer_bounds_what_is_held_and_nothing_is_reordered() {
        let t0 = Instant::now();
        let (mut b, rx) = channel::<usize>("test");
        let total = (QUEUED_BATCHES + 2) * BATCH_ITEMS;
        for i in 0..total {
            b.push(i, t0);
        }
        // The channel's batches and one held; the last batch's items were dropped.
        assert_eq!(b.items.len(), BATCH_ITEMS);
        b.flush_due(t0 + HOLD);
        assert_eq!(b.deadline(), Some(t0 + HOLD + HOLD), "retried a hold later");
        let mut got: Vec<usize> = rx.try_iter().flatten().collect();
        assert_eq!(got.len(), QUEUED_BATCHES * BATCH_ITEMS);
        // The writer caught up: the held batch follows, in order.
        b.flush_due(t0 + HOLD + HOLD);
        got.extend(rx.try_iter().flatten());
        assert_eq!(
            got,
            (0..(QUEUED_BATCHES + 1) * BATCH_ITEMS).collect::<Vec<_>>()
        );
        assert_eq!(b.deadline(), None);
    }
}
