//! The timers that only forget (D, I, J, K, L, M) on a coarse grid: a lingering transaction
//! is forgotten at its RFC 3261 deadline rounded up to the next [`FORGET_GRID`] step, and
//! all transactions of one step share one bucket with one scheduler timer, so they are
//! forgotten in one wake-up, and each costs a 12-byte bucket entry instead of a heap entry
//! and slab slot of its own.
//!
//! Forget timers are never restarted and never stopped while the transaction lives (every
//! state that runs one ends only by it or by the transaction's removal), so a bucket keeps no
//! cancellation record: an entry whose transaction went earlier finds a stale handle (the
//! table's handles are generation-checked) and is skipped.

use super::layer::TxTimer;
use crate::sched::{Scheduler, TimerId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The step of the forget timers' grid: one second, a thirty-second of Timer J.
pub const FORGET_GRID: Duration = Duration::from_secs(1);

/// One grid step's forget timers and the scheduler timer that fires them.
struct Bucket {
    id: TimerId,
    due: Vec<TxTimer>,
}

/// The buckets of forget timers, by rounded deadline.
#[derive(Default)]
pub(super) struct ForgetWheel {
    /// Where the grid starts: the first deadline ever rounded.
    origin: Option<Instant>,
    buckets: BTreeMap<Instant, Bucket>,
}

impl ForgetWheel {
    /// `at` rounded up to the grid (never earlier, less than one step later).
    pub(super) fn round_up(&mut self, at: Instant) -> Instant {
        let origin = *self.origin.get_or_insert(at);
        let step = FORGET_GRID.as_nanos();
        let nanos = |n: u128| Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX));
        if at >= origin {
            let steps = (at - origin).as_nanos().div_ceil(step);
            origin + nanos(steps * step)
        } else {
            // A shorter timer (T4) filed after a longer one (64·T1) set the origin: rounding
            // up goes towards the origin.
            let steps = (origin - at).as_nanos() / step;
            origin - nanos(steps * step)
        }
    }

    /// Files `timer` for its deadline `at` (rounded up to the grid); the first timer of a
    /// step schedules the step's wake-up. Returns the rounded deadline.
    pub(super) fn add<W: From<TxTimer>>(
        &mut self,
        sched: &mut Scheduler<W>,
        at: Instant,
        timer: TxTimer,
    ) -> Instant {
        let at = self.round_up(at);
        let bucket = self.buckets.entry(at).or_insert_with(|| Bucket {
            id: sched.schedule(at, timer.into()),
            due: Vec::new(),
        });
        bucket.due.push(timer);
        at
    }

    /// The forget timers of the step whose scheduler timer `id` fired; `None` when `id` is
    /// not a step's.
    pub(super) fn take(&mut self, id: TimerId) -> Option<Vec<TxTimer>> {
        let at = self
            .buckets
            .iter()
            .find(|(_, b)| b.id == id)
            .map(|(at, _)| *at)?;
        self.buckets.remove(&at).map(|b| b.due)
    }

    /// How many forget timers are filed.
    pub(super) fn len(&self) -> usize {
        self.buckets.values().map(|b| b.due.len()).sum()
    }

    /// Bytes the buckets hold, each step's scheduler timer counted as `per_timer`.
    pub(super) fn retained_bytes(&self, per_timer: usize) -> usize {
        // A B-tree node per handful of steps: an upper estimate of one node's share each.
        let node = std::mem::size_of::<(Instant, Bucket)>() + 2 * std::mem::size_of::<usize>();
        self.buckets
            .values()
            .map(|b| node + per_timer + b.due.capacity() * std::mem::size_of::<TxTimer>())
            .sum()
    }
}

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::transaction::{Handle, TimerKind, TxSide};

    fn timer(tx: Handle, kind: TimerKind) -> TxTimer {
        TxTimer {
            side: TxSide::Server,
            tx,
            kind,
        }
    }

    #[test]
    fn deadlines_before_the_origin_round_up_too() {
        let t0 = Instant::now();
        let mut w = ForgetWheel::default();
        // A Timer J (64·T1) sets the origin, then a Timer K (T4) ends long before it.
        assert_eq!(
            w.round_up(t0 + Duration::from_secs(32)),
            t0 + Duration::from_secs(32)
        );
        for ms in [5_000, 5_001, 5_999, 6_000, 31_999, 32_000, 32_001] {
            let at = t0 + Duration::from_millis(ms);
            let r = w.round_up(at);
            assert!(r >= at && r < at + FORGET_GRID, "{ms} ms -> {:?}", r - t0);
        }
    }

    #[test]
    fn one_wake_up_per_step_never_before_the_deadline() {
        let t0 = Instant::now();
        let mut sched: Scheduler<TxTimer> = Scheduler::new();
        let mut w = ForgetWheel::default();
        let mut table: crate::transaction::TransactionTable<u32, ()> =
            crate::transaction::TransactionTable::new(1000);
        let mut filed = Vec::new();
        for i in 0..300u32 {
            let h = table.insert(i, ()).unwrap();
            let at = t0 + Duration::from_millis(32_000 + 7 * u64::from(i));
            let rounded = w.add(&mut sched, at, timer(h, TimerKind::J));
            assert!(rounded >= at && rounded < at + FORGET_GRID);
            filed.push((h, rounded));
        }
        // 300 deadlines over 2.1 s: three or four steps, as many scheduler timers.
        assert!(sched.len() <= 4, "{}", sched.len());
        assert_eq!(w.len(), 300);
        let mut seen = 0;
        while let Some((id, _)) = sched.pop_due(t0 + Duration::from_secs(40)) {
            let due = w.take(id).expect("a step's timer");
            for t in &due {
                let (_, rounded) = filed.iter().find(|(h, _)| *h == t.tx).unwrap();
                assert!(sched.next_deadline().is_none_or(|n| n > *rounded));
            }
            seen += due.len();
        }
        assert_eq!((seen, w.len()), (300, 0));
        let other = sched.schedule(t0, timer(filed[0].0, TimerKind::A));
        assert!(w.take(other).is_none(), "not a step's timer");
    }
}
