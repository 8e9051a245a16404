//! The binary's one seam for turning a host name into an address: static `host=` names and
//! `externaddr` at start (main.rs), `externhost` refreshes on a helper thread
//! (jobs_driver.rs). Today it is the system resolver (`getaddrinfo` through
//! `ToSocketAddrs`), blocking, so it runs at start or off the loop thread; DNS with SRV on the
//! loop replaces this function and nothing else.

use std::net::{SocketAddr, ToSocketAddrs};

/// The first address `host` resolves to, for `port`, preferring IPv4 (chan_sip's
/// `ast_sockaddr_resolve_first_af(..., AST_AF_INET)` for externhost).
pub fn first_addr(host: &str, port: u16) -> Option<SocketAddr> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().ok()?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
}
