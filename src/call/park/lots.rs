//! The table of taken parking positions, engine-wide: every call reaches it through its
//! `Cx`, so parking a call needs no other call. Bounded: a lot has at most
//! [`crate::config::parking_conf::MAX_POSITIONS`] positions and a position holds one call.

use crate::config::parking_conf::{FindSlot, ParkingConf, ParkingLot};
use crate::handle::CallHandle;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// One parked call, as `parkedcalls show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEntry {
    /// The parked call.
    pub call: CallHandle,
    /// The parkee's channel (`SIP/1001-00000003`).
    pub channel: String,
    /// Who parked it, as a dial string (`SIP/1002`; empty when unknown).
    pub parker: String,
    /// When it was parked.
    pub since: Instant,
    /// How long it may stay (None: forever).
    pub timeout: Option<Duration>,
}

/// Every taken position of every lot.
#[derive(Debug, Default)]
pub struct Parking {
    conf: Rc<ParkingConf>,
    /// (lot name, lower case; position) → the call there.
    taken: BTreeMap<(String, u32), ParkedEntry>,
    /// The position last used per lot (`findslot=next`).
    last: HashMap<String, u32>,
    /// Counts changes of `taken` (busy lamps look again only after one).
    generation: u64,
}

impl Parking {
    /// The lots.
    pub fn conf(&self) -> &ParkingConf {
        &self.conf
    }

    /// New lots (a reload): parked calls stay where they are.
    pub fn set_conf(&mut self, conf: ParkingConf) {
        self.conf = Rc::new(conf);
    }

    /// A free position of `lot` by its `findslot`.
    pub fn free_slot(&self, lot: &ParkingLot) -> Option<u32> {
        let key = lot.name.to_ascii_lowercase();
        let (lo, hi) = lot.positions;
        let free = |n: &u32| !self.taken.contains_key(&(key.clone(), *n));
        match lot.find_slot {
            FindSlot::First => (lo..=hi).find(free),
            FindSlot::Next => {
                let after = self.last.get(&key).copied().filter(|l| lot.holds(*l));
                let start = after.map_or(lo, |l| l.saturating_add(1));
                (start..=hi).chain(lo..start.min(hi + 1)).find(free)
            }
        }
    }

    pub(super) fn take(&mut self, lot: &str, slot: u32, e: ParkedEntry) {
        let key = lot.to_ascii_lowercase();
        self.last.insert(key.clone(), slot);
        self.taken.insert((key, slot), e);
        self.generation += 1;
    }

    /// The call parked at `slot` of `lot` (None: the lowest taken position).
    pub fn find(&self, lot: &str, slot: Option<u32>) -> Option<CallHandle> {
        let key = lot.to_ascii_lowercase();
        match slot {
            Some(s) => self.taken.get(&(key, s)).map(|e| e.call),
            None => self
                .taken
                .range((key.clone(), 0)..=(key, u32::MAX))
                .next()
                .map(|(_, e)| e.call),
        }
    }

    /// Frees the position `call` holds.
    pub fn release(&mut self, call: CallHandle) {
        let before = self.taken.len();
        self.taken.retain(|_, e| e.call != call);
        if self.taken.len() != before {
            self.generation += 1;
        }
    }

    /// Changes so far (a new value: positions were taken or freed).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The taken positions as `park:` devices name them: `701@parkedcalls`, lower case.
    pub fn positions(&self) -> std::collections::HashSet<String> {
        self.taken
            .keys()
            .map(|(lot, slot)| {
                let context = self
                    .conf
                    .lot(lot)
                    .map_or("parkedcalls", |l| l.context.as_str());
                format!("{slot}@{}", context.to_ascii_lowercase())
            })
            .collect()
    }

    /// Every parked call by lot and position.
    pub fn entries(&self) -> impl Iterator<Item = (&str, u32, &ParkedEntry)> {
        self.taken.iter().map(|((l, s), e)| (l.as_str(), *s, e))
    }

    /// How many calls are parked.
    pub fn len(&self) -> usize {
        self.taken.len()
    }

    /// True when no call is parked.
    pub fn is_empty(&self) -> bool {
        self.taken.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(find: FindSlot) -> ParkingLot {
        ParkingLot {
            positions: (701, 703),
            find_slot: find,
            ..ParkingLot::new("default")
        }
    }

    fn entry(call: CallHandle, since: Instant) -> ParkedEntry {
        ParkedEntry {
            call,
            channel: String::new(),
            parker: String::new(),
            since,
            timeout: None,
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a fixture's instant, never compared
    fn first_and_next_free_positions() {
        let mut slab: crate::handle::GenSlab<crate::handle::CallTag, ()> = Default::default();
        let h: Vec<CallHandle> = (0..3).map(|_| slab.insert(())).collect();
        let t = Instant::now();
        let mut p = Parking::default();
        let first = lot(FindSlot::First);
        assert_eq!(p.free_slot(&first), Some(701));
        p.take("default", 701, entry(h[0], t));
        p.take("DEFAULT", 703, entry(h[2], t));
        assert_eq!(p.free_slot(&first), Some(702));
        let next = lot(FindSlot::Next);
        assert_eq!(p.free_slot(&next), Some(702), "after 703 it wraps");
        p.take("default", 702, entry(h[1], t));
        assert_eq!(p.free_slot(&first), None, "full");
        assert_eq!(p.find("Default", None), Some(h[0]));
        p.release(h[0]);
        assert_eq!(p.find("default", Some(701)), None);
        assert_eq!(p.free_slot(&next), Some(701));
        assert_eq!(p.len(), 2);
    }
}
