//! The call table: a bounded slab of calls with generation-checked handles, and a map from each
//! leg's Call-ID to its call and leg. Call-IDs are attacker-chosen strings: the map hashes
//! them with the keyed [`KeyedState`] (hash-flooding resistant, cheaper than SipHash; a
//! call looks its Call-ID up for every request and response of its legs).

use crate::handle::{CallHandle, CallTag, GenSlab, LegId};
use crate::hash::KeyedState;
use std::collections::HashMap;
use std::rc::Rc;

/// A call and one of its legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegRef {
    /// The call.
    pub call: CallHandle,
    /// The leg.
    pub leg: LegId,
}

/// What the table needs to know of a call: its legs' Call-IDs.
pub trait CallIds {
    /// The Call-ID of leg `leg`, if it exists.
    fn leg_call_id(&self, leg: LegId) -> Option<&str>;
}

struct Slot<C> {
    /// Boxed: a call is kilobytes, and the slab's slots stay one pointer each, so inserting,
    /// removing and growing the slab move a pointer instead of the call.
    call: Box<C>,
    /// Shared with the map's key: one copy of each Call-ID.
    call_ids: Vec<Rc<str>>,
}

/// Why a call could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError {
    /// The table holds `maxcalls` calls: answer 503 with Retry-After.
    Full,
    /// A live call already has this Call-ID (a second INVITE reusing it is not a new call).
    Duplicate(LegRef),
}

/// Calls by handle and by Call-ID.
pub struct CallTable<C> {
    slots: GenSlab<CallTag, Slot<C>>,
    by_call_id: HashMap<Rc<str>, LegRef, KeyedState>,
    max: usize,
}

impl<C: CallIds> CallTable<C> {
    /// A table holding at most `max` calls.
    pub fn new(max: usize) -> Self {
        CallTable {
            slots: GenSlab::new(),
            by_call_id: HashMap::with_hasher(KeyedState::new()),
            max,
        }
    }

    /// Gives back the room a burst of calls left ([`crate::shrink`]).
    pub fn shrink(&mut self) {
        self.slots.shrink();
        crate::shrink::map(&mut self.by_call_id);
    }

    /// A new bound (a reload's `maxcalls`): calls already up stay; new ones wait for room.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Adds the call `make` builds from its handle; its leg 0 is indexed under `call_id`.
    pub fn insert(
        &mut self,
        call_id: &str,
        make: impl FnOnce(CallHandle) -> C,
    ) -> Result<CallHandle, InsertError> {
        if let Some(&lr) = self.by_call_id.get(call_id) {
            return Err(InsertError::Duplicate(lr));
        }
        if self.slots.len() >= self.max {
            return Err(InsertError::Full);
        }
        let id: Rc<str> = Rc::from(call_id);
        // Room for the caller's leg and a Dial's first fork without growing.
        let mut call_ids = Vec::with_capacity(2);
        call_ids.push(Rc::clone(&id));
        let h = self.slots.insert_with(|h| Slot {
            call: Box::new(make(h)),
            call_ids,
        });
        self.by_call_id.insert(id, LegRef { call: h, leg: 0 });
        Ok(h)
    }

    /// Indexes the Call-IDs of legs the call added since the last sync (a Dial's forks).
    pub fn sync_legs(&mut self, call: CallHandle) {
        let Some(slot) = self.slots.get_mut(call) else {
            return;
        };
        while let Some(id) = slot.call.leg_call_id(slot.call_ids.len()) {
            let leg = slot.call_ids.len();
            let id: Rc<str> = Rc::from(id);
            slot.call_ids.push(Rc::clone(&id));
            self.by_call_id.insert(id, LegRef { call, leg });
        }
    }

    /// The call and leg a Call-ID belongs to.
    pub fn find(&self, call_id: &str) -> Option<LegRef> {
        self.by_call_id.get(call_id).copied()
    }

    /// The call behind a handle.
    pub fn get(&self, call: CallHandle) -> Option<&C> {
        self.slots.get(call).map(|s| &*s.call)
    }

    /// The call behind a handle, mutably.
    pub fn get_mut(&mut self, call: CallHandle) -> Option<&mut C> {
        self.slots.get_mut(call).map(|s| &mut *s.call)
    }

    /// Removes a call and every Call-ID it indexed that still names it (a leg moved to
    /// another call, see [`crate::call::join`], is indexed there now).
    pub fn remove(&mut self, call: CallHandle) -> Option<Box<C>> {
        let slot = self.slots.remove(call)?;
        for id in &slot.call_ids {
            if self.by_call_id.get(&**id).is_some_and(|lr| lr.call == call) {
                self.by_call_id.remove(&**id);
            }
        }
        Some(slot.call)
    }

    /// Every call with its handle.
    pub fn iter(&self) -> impl Iterator<Item = (CallHandle, &C)> {
        self.slots.iter().map(|(h, s)| (h, &*s.call))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Vec<&'static str>);

    impl CallIds for Fake {
        fn leg_call_id(&self, leg: LegId) -> Option<&str> {
            self.0.get(leg).copied()
        }
    }

    #[test]
    fn legs_index_and_removal_frees_everything() {
        let mut t = CallTable::new(2);
        let a = t.insert("caller-1", |_| Fake(vec!["caller-1"])).unwrap();
        t.get_mut(a).unwrap().0.extend(["fork-1", "fork-2"]);
        t.sync_legs(a);
        assert_eq!(t.find("fork-2"), Some(LegRef { call: a, leg: 2 }));
        assert_eq!(
            t.insert("caller-1", |_| Fake(vec![])).err(),
            Some(InsertError::Duplicate(LegRef { call: a, leg: 0 })),
            "a live Call-ID is a duplicate, not a full table"
        );
        let _b = t.insert("caller-2", |_| Fake(vec!["caller-2"])).unwrap();
        assert_eq!(
            t.insert("caller-3", |_| Fake(vec![])).err(),
            Some(InsertError::Full),
            "bounded"
        );
        assert!(t.remove(a).is_some());
        assert!(t.find("fork-1").is_none() && t.find("caller-1").is_none());
        assert!(t.get(a).is_none());
        let c = t.insert("caller-3", |_| Fake(vec!["caller-3"])).unwrap();
        assert!(
            t.get(a).is_none(),
            "stale handle must not see the reused slot"
        );
        assert!(t.get(c).is_some());
        assert_eq!(t.indexed_call_ids(), 2);
    }
}
