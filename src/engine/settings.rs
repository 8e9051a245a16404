//! The configuration as the engine reads it: sip.conf's typed settings with entries indexed by
//! name, and the dialplan.

use crate::config::sip_general::General;
use crate::config::sip_peer::SipPeer;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Read-only settings for one engine lifetime.
pub struct Settings {
    /// sip.conf `[general]`.
    pub general: General,
    /// sip.conf entries (users, peers, friends).
    pub peers: Vec<SipPeer>,
    by_name: HashMap<String, usize>,
    resolved: HashMap<usize, SocketAddr>,
}

impl Settings {
    /// Indexes the entries by name.
    pub fn new(general: General, peers: Vec<SipPeer>) -> Settings {
        let by_name = peers
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        Settings {
            general,
            peers,
            by_name,
            resolved: HashMap::new(),
        }
    }

    /// The entry with this exact name.
    pub fn entry(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Records the address a static `host=name` resolved to (the driver resolves names once at
    /// start; the engine never does DNS).
    pub fn set_resolved(&mut self, entry: usize, addr: SocketAddr) {
        self.resolved.insert(entry, addr);
    }

    /// The resolved address of a static host name.
    pub fn resolved(&self, entry: usize) -> Option<SocketAddr> {
        self.resolved.get(&entry).copied()
    }
}
