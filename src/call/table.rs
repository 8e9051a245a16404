//! The call table: a bounded slab of calls with generation-checked handles, and a map from each
//! leg's Call-ID to its call and leg.

use slab::Slab;
use std::collections::HashMap;

/// A handle to a call; a stale handle (the call ended, the slot was reused) finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallRef {
    index: u32,
    generation: u32,
}

/// Which leg of a call: 0 is the caller (inbound) leg, 1.. the outbound forks in Dial order.
pub type LegId = usize;

/// A call and one of its legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegRef {
    /// The call.
    pub call: CallRef,
    /// The leg.
    pub leg: LegId,
}

struct Slot<C> {
    generation: u32,
    call: C,
    call_ids: Vec<String>,
}

/// Calls by handle and by Call-ID.
pub struct CallTable<C> {
    slots: Slab<Slot<C>>,
    by_call_id: HashMap<String, LegRef>,
    next_generation: u32,
    max: usize,
}

/// The table is at its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

impl<C> CallTable<C> {
    /// A table holding at most `max` calls.
    pub fn new(max: usize) -> Self {
        CallTable {
            slots: Slab::new(),
            by_call_id: HashMap::new(),
            next_generation: 1,
            max,
        }
    }

    /// Adds a call whose caller leg has `call_id`.
    pub fn insert(&mut self, call_id: &str, call: C) -> Result<CallRef, TableFull> {
        if self.slots.len() >= self.max || self.by_call_id.contains_key(call_id) {
            return Err(TableFull);
        }
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        let index = self.slots.insert(Slot {
            generation,
            call,
            call_ids: vec![call_id.to_string()],
        }) as u32;
        let r = CallRef { index, generation };
        self.by_call_id
            .insert(call_id.to_string(), LegRef { call: r, leg: 0 });
        Ok(r)
    }

    /// Indexes another leg's Call-ID under this call.
    pub fn index_leg(&mut self, call: CallRef, leg: LegId, call_id: &str) {
        if let Some(slot) = self.slot_mut(call) {
            slot.call_ids.push(call_id.to_string());
            self.by_call_id
                .insert(call_id.to_string(), LegRef { call, leg });
        }
    }

    /// The call and leg a Call-ID belongs to.
    pub fn find(&self, call_id: &str) -> Option<LegRef> {
        self.by_call_id.get(call_id).copied()
    }

    /// The call behind a handle.
    pub fn get(&self, call: CallRef) -> Option<&C> {
        self.slots
            .get(call.index as usize)
            .filter(|s| s.generation == call.generation)
            .map(|s| &s.call)
    }

    /// The call behind a handle, mutably.
    pub fn get_mut(&mut self, call: CallRef) -> Option<&mut C> {
        self.slot_mut(call).map(|s| &mut s.call)
    }

    fn slot_mut(&mut self, call: CallRef) -> Option<&mut Slot<C>> {
        self.slots
            .get_mut(call.index as usize)
            .filter(|s| s.generation == call.generation)
    }

    /// Removes a call and every Call-ID it indexed.
    pub fn remove(&mut self, call: CallRef) -> Option<C> {
        self.slot_mut(call)?;
        let slot = self.slots.remove(call.index as usize);
        for id in &slot.call_ids {
            self.by_call_id.remove(id);
        }
        Some(slot.call)
    }

    /// Number of calls.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are no calls.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Number of indexed Call-IDs (legs), for leak checks.
    pub fn indexed_call_ids(&self) -> usize {
        self.by_call_id.len()
    }

    /// Every live call handle.
    pub fn refs(&self) -> Vec<CallRef> {
        self.slots
            .iter()
            .map(|(i, s)| CallRef {
                index: i as u32,
                generation: s.generation,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_index_and_removal_frees_everything() {
        let mut t = CallTable::new(2);
        let a = t.insert("caller-1", "call a").unwrap();
        t.index_leg(a, 1, "fork-1");
        t.index_leg(a, 2, "fork-2");
        assert_eq!(t.find("fork-2"), Some(LegRef { call: a, leg: 2 }));
        assert_eq!(t.insert("caller-1", "dup"), Err(TableFull));
        let _b = t.insert("caller-2", "call b").unwrap();
        assert_eq!(t.insert("caller-3", "c"), Err(TableFull), "bounded");
        assert_eq!(t.remove(a), Some("call a"));
        assert!(t.find("fork-1").is_none() && t.find("caller-1").is_none());
        assert!(t.get(a).is_none());
        let c = t.insert("caller-3", "call c").unwrap();
        assert!(
            t.get(a).is_none(),
            "stale handle must not see the reused slot"
        );
        assert_eq!(t.get(c), Some(&"call c"));
        assert_eq!(t.indexed_call_ids(), 2);
    }
}
