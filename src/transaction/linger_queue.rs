//! Transactions past their final response, oldest first: what a full table forgets before it
//! refuses a request (server side: Timers J, L, H/I; client side: D, K, M), and what the
//! server's byte budget forgets first ([`super::layer::MAX_LINGERING_BYTES`]).

use super::{Handle, TransactionTable};
use std::collections::VecDeque;
use std::hash::Hash;

/// Handles in the order their transactions began to linger. A handle whose transaction
/// already went (its forget timer fired) is skipped and dropped when met.
#[derive(Default)]
pub(super) struct LingerQueue(VecDeque<Handle>);

impl LingerQueue {
    /// Files `h`, first dropping from the front the entries whose transaction went, so the
    /// queue stays about as long as the lingering transactions themselves.
    pub(super) fn push<K: Clone + Eq + Hash, T>(
        &mut self,
        table: &TransactionTable<K, T>,
        h: Handle,
    ) {
        while let Some(&old) = self.0.front() {
            if table.get(old).is_some() {
                break;
            }
            self.0.pop_front();
        }
        self.0.push_back(h);
    }

    /// The oldest filed transaction still in `table`, taken off the queue.
    pub(super) fn take_oldest<K: Clone + Eq + Hash, T>(
        &mut self,
        table: &TransactionTable<K, T>,
    ) -> Option<Handle> {
        while let Some(h) = self.0.pop_front() {
            if table.get(h).is_some() {
                return Some(h);
            }
        }
        None
    }

    /// Entries filed (some may name transactions that went).
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Room held, in entries (for the retained-bytes measure).
    pub(super) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Gives back the room a burst left ([`crate::shrink`]).
    pub(super) fn shrink(&mut self) {
        crate::shrink::deque(&mut self.0);
    }
}
