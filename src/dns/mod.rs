//! DNS for SIP, sans-IO: finding a peer's addresses without blocking the event loop.
//!
//! Reading list: RFC 3263 §4 (locating a SIP server: SRV `_sip._udp.NAME` unless the URI names
//! a port, else A/AAAA of the name; failover to the next address on a timeout or 503),
//! RFC 2782 (SRV: priority order, weighted random choice within a priority), RFC 1035 §4
//! (messages; ids; TTLs), RFC 2308 (negative answers cached by the SOA minimum), RFC 1034
//! §3.6.2 (CNAME chains). Asterisk: `main/srv.c` (`ast_get_srv`, the weight walk),
//! `main/dnsmgr.c` (periodic re-resolution), chan_sip.c's `srvlookup`.
//!
//! The [`Resolver`] builds queries and parses answers with the `simple-dns` crate (no hand
//! parsing), sends them as ordinary datagrams from one UDP socket ([`crate::flow::SockId::DNS`])
//! through the engine's [`crate::flow::Outbox`], and takes the answers back with `now`. Each
//! name being resolved is a small state machine ([`lookup`]): SRV first, then the addresses of
//! every target in RFC 2782 order. Answers are cached by TTL in a cache bounded in entries and
//! bytes ([`cache`]). Queries time out and are retried on the next nameserver of
//! `/etc/resolv.conf` ([`resolv_conf`]). An answer is accepted only from the server asked,
//! with the query's id and question; a truncated, malformed or mismatched answer or a CNAME
//! loop fails that query, never panics or hangs.

mod cache;
mod lookup;
pub mod resolv_conf;
mod resolver;
pub mod srv;
pub mod wire;

#[cfg(test)]
mod tests;

pub use resolv_conf::ResolverConfig;
pub use resolver::{DnsStats, Family, LookupError, LookupId, Resolved, Resolver};
