//! The registrar's location service: address-of-record → contact bindings with expiry.
//!
//! Reading list: RFC 3261 §10.3 (processing REGISTER: `*`, Expires, Call-ID/CSeq ordering),
//! §20.19 and §20.10 (Expires header and contact param), RFC 3581 (the source address behind a
//! NAT, remembered as the binding's `flow` for calls: with a connection-oriented transport,
//! the connection it came over).
//!
//! Pure state with time as a parameter. Expiry runs off the registrar's own deadline heap
//! (a [`Scheduler`] keyed by binding), whose earliest deadline the engine folds into its poll
//! timeout. The number of bindings is bounded; a REGISTER that would exceed it is refused.

use crate::flow::Flow;
use crate::sched::{Scheduler, TimerId};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One contact bound to an AOR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI as the phone wrote it (without the name-addr brackets/params).
    pub contact: String,
    /// Where the REGISTER came from (received + rport, our socket, the transport): where
    /// calls go behind a NAT.
    pub flow: Flow,
    /// When it expires.
    pub expires_at: Instant,
    /// The Call-ID of the REGISTER that made it (§10.3 step 7 ordering).
    pub call_id: String,
    /// The CSeq of that REGISTER.
    pub cseq: u32,
    /// The REGISTER had passed a NAT (its Via sent-by was not its source): what
    /// `nat=auto_force_rport` / `auto_comedia` decide on for calls to this contact.
    pub nated: bool,
    /// The phone's `User-Agent` (for the admin view and the store).
    pub user_agent: String,
    /// The REGISTER's `Path` header values, comma-joined (RFC 3327; stored, not yet routed on).
    pub path: String,
    timer: TimerId,
}

/// A change to the bindings, for the store that keeps them across a restart
/// ([`Registrar::take_changes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Added or refreshed: write it.
    Bound {
        /// The AOR.
        aor: String,
        /// The contact.
        contact: String,
    },
    /// Removed (unregistered, replaced, expired): delete it.
    Unbound {
        /// The AOR.
        aor: String,
        /// The contact.
        contact: String,
    },
}

/// What a REGISTER asks for one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactUpdate {
    /// The Contact URI.
    pub contact: String,
    /// Granted lifetime; zero removes the binding.
    pub expires: Duration,
    /// The REGISTER came through a NAT ([`Binding::nated`]).
    pub nated: bool,
}

/// Why the registrar refused an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// Same Call-ID with a CSeq not above the stored one (§10.3 step 7): 500.
    OutOfOrder,
    /// The binding table is full: 503.
    Full,
}

/// A binding that expired, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The AOR (sip.conf entry name).
    pub aor: String,
    /// The contact that went.
    pub contact: String,
}

/// Contacts one AOR may hold. chan_sip keeps exactly one per peer; a few let a user have a
/// desk phone and a softphone ring together. A REGISTER adding more replaces the binding that
/// would expire first, so a phone that rebooted with a new contact is never locked out.
pub const MAX_CONTACTS_PER_AOR: usize = 10;

/// AOR → bindings, bounded, with expiry timers.
pub struct Registrar {
    aors: HashMap<String, Vec<Binding>>,
    expiry: Scheduler<(String, String)>,
    count: usize,
    max: usize,
    /// Changes since the last [`Registrar::take_changes`].
    changes: Vec<Change>,
    /// Bumped on every change: device states need a walk over the entries only when it
    /// moved (`engine::blf`).
    generation: u64,
}

impl Registrar {
    /// A registrar holding at most `max` bindings in total.
    pub fn new(max: usize) -> Self {
        Registrar {
            aors: HashMap::new(),
            expiry: Scheduler::new(),
            count: 0,
            max,
            changes: Vec::new(),
            generation: 0,
        }
    }

    /// A new bound (a reload's `maxregistrations`): bindings held stay; new ones wait for
    /// room.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// The live bindings of an AOR.
    pub fn bindings(&self, aor: &str) -> &[Binding] {
        self.aors.get(aor).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Total bindings held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Applies one REGISTER's contacts atomically (all or nothing), per §10.3 steps 7–8.
    pub fn update(
        &mut self,
        now: Instant,
        aor: &str,
        flow: Flow,
        call_id: &str,
        cseq: u32,
        updates: &[ContactUpdate],
    ) -> Result<(), RegisterError> {
        self.generation += 1;
        let existing = self.bindings(aor);
        let mut added = 0usize;
        for u in updates {
            match existing.iter().find(|b| b.contact == u.contact) {
                Some(b) if b.call_id == call_id && cseq <= b.cseq => {
                    return Err(RegisterError::OutOfOrder)
                }
                Some(_) => {}
                None if !u.expires.is_zero() => added += 1,
                None => {}
            }
        }
        if self.count + added > self.max {
            return Err(RegisterError::Full);
        }
        for u in updates {
            self.apply_one(now, aor, flow, call_id, cseq, u);
        }
        self.trim_aor(aor);
        Ok(())
    }

    fn apply_one(
        &mut self,
        now: Instant,
        aor: &str,
        flow: Flow,
        call_id: &str,
        cseq: u32,
        u: &ContactUpdate,
    ) {
        let list = self.aors.entry(aor.to_string()).or_default();
        let pos = list.iter().position(|b| b.contact == u.contact);
        if let Some(i) = pos {
            let old = list.remove(i);
            self.expiry.cancel(old.timer);
            self.count -= 1;
            if u.expires.is_zero() {
                self.changes.push(Change::Unbound {
                    aor: aor.to_string(),
                    contact: old.contact,
                });
            }
        }
        if !u.expires.is_zero() {
            let expires_at = now + u.expires;
            let timer = self
                .expiry
                .schedule(expires_at, (aor.to_string(), u.contact.clone()));
            list.push(Binding {
                contact: u.contact.clone(),
                flow,
                expires_at,
                call_id: call_id.to_string(),
                cseq,
                nated: u.nated,
                user_agent: String::new(),
                path: String::new(),
                timer,
            });
            self.count += 1;
            self.changes.push(Change::Bound {
                aor: aor.to_string(),
                contact: u.contact.clone(),
            });
        }
        if list.is_empty() {
            self.aors.remove(aor);
        }
    }

    /// Keeps at most [`MAX_CONTACTS_PER_AOR`] bindings on `aor`, dropping those that expire
    /// first.
    fn trim_aor(&mut self, aor: &str) {
        let Some(list) = self.aors.get_mut(aor) else {
            return;
        };
        while list.len() > MAX_CONTACTS_PER_AOR {
            let Some((i, _)) = list.iter().enumerate().min_by_key(|(_, b)| b.expires_at) else {
                break;
            };
            let old = list.remove(i);
            self.expiry.cancel(old.timer);
            self.count -= 1;
            self.changes.push(Change::Unbound {
                aor: aor.to_string(),
                contact: old.contact,
            });
        }
    }

    /// Removes every binding of an AOR (`Contact: *`, `Expires: 0`).
    pub fn remove_all(&mut self, aor: &str) -> usize {
        self.generation += 1;
        let list = self.aors.remove(aor).unwrap_or_default();
        for b in &list {
            self.expiry.cancel(b.timer);
            self.changes.push(Change::Unbound {
                aor: aor.to_string(),
                contact: b.contact.clone(),
            });
        }
        self.count -= list.len();
        list.len()
    }

    /// Records the phone's User-Agent and Path on a binding just made.
    pub fn set_details(&mut self, aor: &str, contact: &str, user_agent: &str, path: &str) {
        if let Some(b) = self
            .aors
            .get_mut(aor)
            .and_then(|l| l.iter_mut().find(|b| b.contact == contact))
        {
            b.user_agent = user_agent.to_string();
            b.path = path.to_string();
        }
    }

    /// The binding of `aor` at `contact`.
    pub fn binding(&self, aor: &str, contact: &str) -> Option<&Binding> {
        self.bindings(aor).iter().find(|b| b.contact == contact)
    }

    /// A number that changes whenever a binding may have been made, refreshed or removed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every change since the last call, oldest first (the engine turns them into store
    /// operations after each REGISTER and timer run, so this never grows past one burst).
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// The earliest binding expiry, for the engine's poll timeout.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.expiry.next_deadline()
    }

    /// Removes and reports every binding that has expired by `now`.
    pub fn expire_due(&mut self, now: Instant) -> Vec<Expired> {
        let mut out = Vec::new();
        while let Some((_, (aor, contact))) = self.expiry.pop_due(now) {
            if let Some(list) = self.aors.get_mut(&aor) {
                if let Some(i) = list.iter().position(|b| b.contact == contact) {
                    list.remove(i);
                    self.count -= 1;
                    self.changes.push(Change::Unbound {
                        aor: aor.clone(),
                        contact: contact.clone(),
                    });
                }
                if list.is_empty() {
                    self.aors.remove(&aor);
                }
            }
            out.push(Expired { aor, contact });
        }
        if !out.is_empty() {
            self.generation += 1;
        }
        out
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn src() -> Flow {
        Flow::udp("127.0.0.1:5070".parse().unwrap())
    }

    fn up(contact: &str, secs: u64) -> ContactUpdate {
        ContactUpdate {
            contact: contact.into(),
            expires: Duration::from_secs(secs),
            nated: false,
        }
    }

    #[test]
    fn register_refresh_expire_with_fake_clock() {
        let t0 = Instant::now();
        let mut r = Registrar::new(10);
        r.update(
            t0,
            "1001",
            src(),
            "c1",
            1,
            &[up("sip:1001@127.0.0.1:5070", 60)],
        )
        .unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r.next_expiry(), Some(t0 + Duration::from_secs(60)));
        // refresh at 50 s pushes expiry to 110 s
        r.update(
            t0 + Duration::from_secs(50),
            "1001",
            src(),
            "c1",
            2,
            &[up("sip:1001@127.0.0.1:5070", 60)],
        )
        .unwrap();
        assert!(r.expire_due(t0 + Duration::from_secs(61)).is_empty());
        assert_eq!(r.len(), 1);
        let gone = r.expire_due(t0 + Duration::from_secs(110));
        assert_eq!(
            gone,
            vec![Expired {
                aor: "1001".into(),
                contact: "sip:1001@127.0.0.1:5070".into()
            }]
        );
        assert!(r.is_empty());
        assert!(r.bindings("1001").is_empty());
    }

    #[test]
    fn several_contacts_unregister_and_star() {
        let t0 = Instant::now();
        let mut r = Registrar::new(10);
        r.update(
            t0,
            "1001",
            src(),
            "c1",
            1,
            &[up("sip:a@127.0.0.1", 60), up("sip:b@127.0.0.1", 60)],
        )
        .unwrap();
        assert_eq!(r.bindings("1001").len(), 2);
        r.update(t0, "1001", src(), "c1", 2, &[up("sip:a@127.0.0.1", 0)])
            .unwrap();
        assert_eq!(r.bindings("1001").len(), 1);
        assert_eq!(r.remove_all("1001"), 1);
        assert!(r.is_empty());
        assert!(r.expire_due(t0 + Duration::from_secs(3600)).is_empty());
    }

    #[test]
    fn contacts_per_aor_are_bounded_oldest_replaced() {
        let t0 = Instant::now();
        let mut r = Registrar::new(100);
        for i in 0..(MAX_CONTACTS_PER_AOR as u64 + 5) {
            let c = format!("sip:{i}@127.0.0.1");
            r.update(
                t0 + Duration::from_secs(i),
                "1001",
                src(),
                &format!("c{i}"),
                1,
                &[up(&c, 60)],
            )
            .unwrap();
        }
        assert_eq!(r.bindings("1001").len(), MAX_CONTACTS_PER_AOR);
        assert_eq!(r.len(), MAX_CONTACTS_PER_AOR);
        assert!(
            r.bindings("1001")
                .iter()
                .all(|b| b.contact != "sip:0@127.0.0.1"),
            "the oldest went"
        );
        assert!(
            r.bindings("1001")
                .iter()
                .any(|b| b.contact == "sip:14@127.0.0.1"),
            "the newest stays"
        );
    }

    #[test]
    fn every_change_is_reported_once_for_the_store() {
        let t0 = Instant::now();
        let mut r = Registrar::new(10);
        r.update(t0, "1001", src(), "c1", 1, &[up("sip:a@127.0.0.1", 60)])
            .unwrap();
        r.update(t0, "1001", src(), "c1", 2, &[up("sip:a@127.0.0.1", 60)])
            .unwrap();
        let bound = Change::Bound {
            aor: "1001".into(),
            contact: "sip:a@127.0.0.1".into(),
        };
        let unbound = Change::Unbound {
            aor: "1001".into(),
            contact: "sip:a@127.0.0.1".into(),
        };
        assert_eq!(r.take_changes(), vec![bound.clone(), bound.clone()]);
        assert!(r.take_changes().is_empty());
        r.update(t0, "1001", src(), "c1", 3, &[up("sip:a@127.0.0.1", 0)])
            .unwrap();
        assert_eq!(r.take_changes(), vec![unbound.clone()]);
        r.update(t0, "1001", src(), "c1", 4, &[up("sip:a@127.0.0.1", 60)])
            .unwrap();
        r.remove_all("1001");
        assert_eq!(r.take_changes(), vec![bound.clone(), unbound.clone()]);
        r.update(t0, "1001", src(), "c1", 5, &[up("sip:a@127.0.0.1", 60)])
            .unwrap();
        let _ = r.take_changes();
        r.expire_due(t0 + Duration::from_secs(60));
        assert_eq!(r.take_changes(), vec![unbound]);
    }

    #[test]
    fn out_of_order_and_full() {
        let t0 = Instant::now();
        let mut r = Registrar::new(1);
        r.update(t0, "1001", src(), "c1", 5, &[up("sip:a@127.0.0.1", 60)])
            .unwrap();
        assert_eq!(
            r.update(t0, "1001", src(), "c1", 5, &[up("sip:a@127.0.0.1", 60)]),
            Err(RegisterError::OutOfOrder)
        );
        assert_eq!(
            r.update(t0, "1002", src(), "c2", 1, &[up("sip:b@127.0.0.1", 60)]),
            Err(RegisterError::Full)
        );
        // a different Call-ID (phone rebooted) may replace with any CSeq
        r.update(t0, "1001", src(), "c9", 1, &[up("sip:a@127.0.0.1", 60)])
            .unwrap();
        assert_eq!(r.len(), 1);
    }
}
