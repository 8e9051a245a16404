//! sip.conf as the engine reads it: `[general]` and the entries (users, peers, friends), each
//! named by a [`PeerId`] that survives a reload.
//!
//! Live state (call-limit counters, qualify status, a leg's entry) keeps `PeerId`s, never a
//! position in the file: a reload that inserts, removes or reorders entries keeps every id of
//! an entry whose name stays ([`Settings::reloaded`]).

use super::nocase::{hash_of, PassThroughState};
use super::register_line::{RealmAuth, Registration};
use super::sip_general::General;
use super::sip_peer::SipPeer;
use crate::hash::KeyedState;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;

/// A sip.conf entry, by identity: stable for the entry's name across reloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(u32);

/// `Settings::by_id` of an id whose entry is gone.
const NONE: u32 = u32::MAX;

/// Read-only settings for one configuration generation.
pub struct Settings {
    /// sip.conf `[general]` (shared with the calls that started under it).
    pub general: Rc<General>,
    /// Entries in file order, with their ids; a call's legs keep the `Rc` of their entry
    /// as it was when the leg began, so a reload changes nothing under a running call.
    peers: Vec<(PeerId, Rc<SipPeer>)>,
    /// Keyed hash of the name without case (its low 32 bits) → index: chan_sip's
    /// `find_peer` compares names without case. A hash, not a lower-cased copy of every name
    /// (8 bytes an entry; a lookup checks the name it finds); entries whose hash an earlier
    /// entry already had are in `collided`.
    by_name: HashMap<u32, u32, PassThroughState>,
    /// Keyed (names come off the network: a REGISTER's or INVITE's user), and cheaper than
    /// SipHash for the lookups every request makes.
    hasher: KeyedState,
    collided: Vec<u32>,
    /// Id → index (`NONE` for ids of removed entries): ids are dense, given out in order.
    by_id: Vec<u32>,
    next_id: u32,
    /// Addresses of static `host=name` entries, best first (RFC 3263 order).
    resolved: HashMap<PeerId, Vec<SocketAddr>>,
    /// Addresses of entries' outbound proxies given by name, best first.
    proxies: HashMap<PeerId, Vec<SocketAddr>>,
    /// `register =>` lines, in file order (a registration's index is its position).
    pub registrations: Vec<Registration>,
    /// `[authentication]` `auth =` lines.
    pub realm_auth: Vec<RealmAuth>,
}

impl Settings {
    /// Settings for a first load.
    pub fn new(general: General, peers: Vec<SipPeer>) -> Settings {
        Settings::build(general, peers, &HashMap::new(), 1)
    }

    /// Settings for a reload after `self`: entries keep their ids by name; new names get new
    /// ids (never one a removed entry had). A static host name that did not change keeps the
    /// address it resolved to.
    pub fn reloaded(&self, general: General, peers: Vec<SipPeer>) -> Settings {
        let old: HashMap<String, PeerId> = self
            .peers
            .iter()
            .map(|(id, p)| (p.name.clone(), *id))
            .collect();
        let mut new = Settings::build(general, peers, &old, self.next_id);
        for (id, addr) in &self.resolved {
            let same_host = match (self.peer(*id), new.peer(*id)) {
                (Some(a), Some(b)) => a.host == b.host,
                _ => false,
            };
            if same_host {
                new.resolved.insert(*id, addr.clone());
            }
        }
        new
    }

    fn build(
        general: General,
        peers: Vec<SipPeer>,
        old: &HashMap<String, PeerId>,
        mut next_id: u32,
    ) -> Settings {
        // Pushed, not collected: a collect would reuse the buffer of `peers` (16 times the
        // size needed) and keep it.
        let mut table: Vec<(PeerId, Rc<SipPeer>)> = Vec::with_capacity(peers.len());
        for p in peers {
            let id = old.get(&p.name).copied().unwrap_or_else(|| {
                next_id += 1;
                PeerId(next_id - 1)
            });
            table.push((id, Rc::new(p)));
        }
        let peers = table;
        let hasher = KeyedState::new();
        let mut by_name: HashMap<u32, u32, PassThroughState> =
            HashMap::with_capacity_and_hasher(peers.len(), PassThroughState::default());
        let mut collided = Vec::new();
        let mut by_id = vec![NONE; next_id as usize];
        for (i, (id, p)) in peers.iter().enumerate() {
            let i = i as u32;
            match by_name.entry(hash_of(&hasher, &p.name) as u32) {
                Entry::Vacant(v) => {
                    v.insert(i);
                }
                // Two names of one hash: the first stays in the map, the other is where a
                // miss looks.
                Entry::Occupied(_) => collided.push(i),
            }
            by_id[id.0 as usize] = i;
        }
        Settings {
            general: Rc::new(general),
            peers,
            by_name,
            hasher,
            collided,
            by_id,
            next_id,
            resolved: HashMap::new(),
            proxies: HashMap::new(),
            registrations: Vec::new(),
            realm_auth: Vec::new(),
        }
    }

    /// The same settings with sip.conf's `register =>` and `[authentication]` lines.
    pub fn with_trunks(
        mut self,
        registrations: Vec<Registration>,
        realm_auth: Vec<RealmAuth>,
    ) -> Settings {
        self.registrations = registrations;
        self.realm_auth = realm_auth;
        self
    }

    /// The entry with this name, compared without case as chan_sip's `find_peer` does
    /// (`Dial(SIP/Alice)` and a REGISTER from `ALICE` both find `[alice]`).
    pub fn entry(&self, name: &str) -> Option<PeerId> {
        let same = |i: u32| self.peers[i as usize].1.name.eq_ignore_ascii_case(name);
        let hit = match self.by_name.get(&(hash_of(&self.hasher, name) as u32)) {
            Some(&i) if same(i) => Some(i),
            _ => self.collided.iter().copied().find(|&i| same(i)),
        };
        hit.map(|i| self.peers[i as usize].0)
    }

    fn index(&self, id: PeerId) -> Option<usize> {
        match self.by_id.get(id.0 as usize) {
            Some(&i) if i != NONE => Some(i as usize),
            _ => None,
        }
    }

    /// The entry behind an id (None after a reload removed it).
    pub fn peer(&self, id: PeerId) -> Option<&SipPeer> {
        self.index(id).map(|i| &*self.peers[i].1)
    }

    /// The entry behind an id as a shared snapshot, for what must not change under a
    /// running call.
    pub fn peer_rc(&self, id: PeerId) -> Option<Rc<SipPeer>> {
        self.index(id).map(|i| self.peers[i].1.clone())
    }

    /// Every entry in file order.
    pub fn peers(&self) -> impl Iterator<Item = (PeerId, &SipPeer)> {
        self.peers.iter().map(|(id, p)| (*id, &**p))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// True when sip.conf has no entries.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Records the address a static `host=name` resolved to.
    pub fn set_resolved(&mut self, entry: PeerId, addr: SocketAddr) {
        self.resolved.insert(entry, vec![addr]);
    }

    /// Records every address a static `host=name` resolved to, best first (the engine's
    /// resolver, `crate::dns`, fills this on the event loop); an empty list forgets them.
    pub fn set_resolved_all(&mut self, entry: PeerId, addrs: Vec<SocketAddr>) {
        if addrs.is_empty() {
            self.resolved.remove(&entry);
        } else {
            self.resolved.insert(entry, addrs);
        }
    }

    /// Records the addresses an entry's outbound proxy name resolved to.
    pub fn set_proxy_resolved(&mut self, entry: PeerId, addrs: Vec<SocketAddr>) {
        self.proxies.insert(entry, addrs);
    }

    /// The addresses of an entry's outbound proxy given by name, best first.
    pub fn proxy_resolved(&self, entry: PeerId) -> &[SocketAddr] {
        self.proxies.get(&entry).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The resolved address of a static host name (the best one).
    pub fn resolved(&self, entry: PeerId) -> Option<SocketAddr> {
        self.resolved.get(&entry).and_then(|a| a.first()).copied()
    }

    /// Every resolved address of a static host name, best first: the failover order.
    pub fn resolved_all(&self, entry: PeerId) -> &[SocketAddr] {
        self.resolved.get(&entry).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(names: &[&str]) -> Vec<SipPeer> {
        let text: String = names
            .iter()
            .map(|n| format!("[{n}]\ntype=friend\nhost=dynamic\n"))
            .collect();
        let cfg = crate::config::load_str(&text, "[default]\n", None).expect("config");
        cfg.sip.peers
    }

    #[test]
    fn ids_survive_a_reload_that_inserts_and_removes() {
        let g = General::default();
        let a = Settings::new(g.clone(), peers(&["1001", "1002", "1003"]));
        let (i1, i2) = (a.entry("1001").unwrap(), a.entry("1002").unwrap());
        let i3 = a.entry("1003").unwrap();
        let b = a.reloaded(g, peers(&["0999", "1002", "1001"]));
        assert_eq!(b.entry("1001"), Some(i1));
        assert_eq!(b.entry("1002"), Some(i2));
        assert!(b.peer(i3).is_none(), "removed");
        let new = b.entry("0999").unwrap();
        assert!(
            ![i1, i2, i3].contains(&new),
            "a new name never reuses an id"
        );
        assert_eq!(b.peer(i1).map(|p| p.name.as_str()), Some("1001"));
    }

    #[test]
    fn every_name_of_many_is_found_and_no_other() {
        let names: Vec<String> = (0..5000).map(|n| format!("U{n}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let s = Settings::new(General::default(), peers(&refs));
        for n in &names {
            let id = s.entry(&n.to_ascii_lowercase()).expect("found");
            assert_eq!(s.peer(id).map(|p| p.name.as_str()), Some(n.as_str()));
        }
        assert_eq!(s.entry("u5000"), None);
        assert_eq!(s.entry("u"), None);
    }

    #[test]
    fn names_are_found_without_case() {
        let s = Settings::new(General::default(), peers(&["Alice", "bob"]));
        let alice = s.entry("Alice").unwrap();
        assert_eq!(s.entry("alice"), Some(alice));
        assert_eq!(s.entry("ALICE"), Some(alice));
        assert!(s.entry("BOB").is_some());
        assert_eq!(s.entry("carol"), None);
    }
}
