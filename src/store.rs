//! Registrations that survive a restart: what the registrar's changes look like on disk.
//!
//! The engine turns each [`crate::registrar::Change`] into a [`StoreOp`] and hands it to the
//! driver as a [`crate::flow::Job::Store`]; the binary's writer thread (`src/store_disk.rs`)
//! applies them to `sipbox.db` in `astdbdir`, one transaction per batch. Expiry is kept as
//! absolute Unix time (the wall clock), so after a restart a binding gets back the lifetime it
//! had left, whatever the monotonic clock says.
//!
//! Asterisk's chan_sip keeps one registration per peer in the AstDB family `SIP/Registry`
//! (`reg_source_db` / `update_peer`'s `ast_db_put`), value `addr:port:expiry:username:contact`;
//! [`parse_asterisk_registry`] reads such a row so a copied Asterisk `astdb.sqlite3` brings its
//! phones along on the first start.

use std::net::{IpAddr, SocketAddr};

/// One binding as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBinding {
    /// The AOR (the sip.conf entry name).
    pub aor: String,
    /// The Contact URI.
    pub contact: String,
    /// Where the REGISTER came from (where calls go).
    pub remote: SocketAddr,
    /// The transport's name (`udp`).
    pub transport: String,
    /// When it expires, in seconds since the Unix epoch.
    pub expires_unix: u64,
    /// The phone's User-Agent.
    pub user_agent: String,
    /// The REGISTER's Path values, comma-joined.
    pub path: String,
    /// The Call-ID of the REGISTER (RFC 3261 §10.3 step 7 ordering survives too).
    pub call_id: String,
    /// Its CSeq.
    pub cseq: u32,
}

/// What the writer does to the stored bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// Insert or replace the binding of (aor, contact).
    Put(StoredBinding),
    /// Delete the binding of (aor, contact).
    Remove {
        /// The AOR.
        aor: String,
        /// The contact.
        contact: String,
    },
}

/// Reads one chan_sip `SIP/Registry/<peer>` value (`addr:port:expiry:username:contact`, an
/// IPv6 address in brackets). chan_sip re-arms such a peer for its whole `expiry` from start
/// (`reg_source_db`), so the binding gets `now_unix + expiry`. None for a value that does not
/// parse.
pub fn parse_asterisk_registry(peer: &str, value: &str, now_unix: u64) -> Option<StoredBinding> {
    let (addr, rest) = match value.strip_prefix('[') {
        Some(v6) => {
            let (a, r) = v6.split_once(']')?;
            (a, r.strip_prefix(':')?)
        }
        None => value.split_once(':')?,
    };
    let ip: IpAddr = addr.parse().ok()?;
    let mut it = rest.splitn(4, ':');
    let port: u16 = it.next()?.parse().ok()?;
    let expiry: u64 = it.next()?.parse().ok()?;
    let _username = it.next()?;
    let contact = it.next().unwrap_or("").trim();
    if expiry == 0 || port == 0 {
        return None;
    }
    let remote = SocketAddr::new(ip, port);
    let contact = if contact.is_empty() {
        format!("sip:{peer}@{remote}")
    } else {
        contact.to_string()
    };
    Some(StoredBinding {
        aor: peer.to_string(),
        contact,
        remote,
        transport: "udp".into(),
        expires_unix: now_unix.saturating_add(expiry),
        user_agent: String::new(),
        path: String::new(),
        call_id: String::new(),
        cseq: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chan_sip_registry_rows_parse() {
        let b = parse_asterisk_registry(
            "1001",
            "192.0.2.10:5062:3600:1001:sip:1001@192.0.2.10:5062;ob",
            1000,
        )
        .unwrap();
        assert_eq!(b.remote, "192.0.2.10:5062".parse().unwrap());
        assert_eq!(b.contact, "sip:1001@192.0.2.10:5062;ob");
        assert_eq!(b.expires_unix, 4600);
        let v6 = parse_asterisk_registry("1002", "[2001:db8::1]:5060:60:1002:", 0).unwrap();
        assert_eq!(v6.remote, "[2001:db8::1]:5060".parse().unwrap());
        assert_eq!(v6.contact, "sip:1002@[2001:db8::1]:5060");
        assert!(parse_asterisk_registry("x", "nonsense", 0).is_none());
        assert!(parse_asterisk_registry("x", "192.0.2.1:5060:0:x:sip:x@h", 0).is_none());
    }
}
