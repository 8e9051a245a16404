//! Is this device behind NAT? chan_sip's `check_via` answer for `nat=auto_force_rport` and
//! `auto_comedia`: a request whose top Via sent-by (host and port, 5060 when absent) is not
//! the address the packet came from has passed a NAT. A sent-by given as a host name cannot
//! be compared without DNS (chan_sip resolves it); sipbox counts it as NAT detected, the
//! safe side for a device that names itself.

use crate::config::sip_values::Nat;
use crate::sip::Via;
use std::net::{IpAddr, SocketAddr};

/// True when the top Via of a request from `source` says the device is behind NAT.
pub fn behind_nat(top_via: &Via, source: SocketAddr) -> bool {
    let host = top_via.host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, top_via.port.unwrap_or(5060)) != source,
        Err(_) => true,
    }
}

/// Whether answers to a request from `source` go to the source port under `nat`.
pub fn force_rport(nat: Nat, top_via: &Via, source: SocketAddr) -> bool {
    match nat.auto_force_rport {
        true => behind_nat(top_via, source),
        false => nat.force_rport,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via(host: &str, port: Option<u16>) -> Via {
        Via::new("UDP", host, port)
    }

    #[test]
    fn sent_by_against_source() {
        let src: SocketAddr = "198.51.100.7:5060".parse().unwrap();
        assert!(!behind_nat(&via("198.51.100.7", Some(5060)), src));
        assert!(!behind_nat(&via("198.51.100.7", None), src));
        assert!(behind_nat(&via("192.168.1.20", Some(5060)), src));
        assert!(
            behind_nat(&via("198.51.100.7", Some(5062)), src),
            "port rewritten"
        );
        assert!(behind_nat(&via("phone.local", Some(5060)), src));
        let v6: SocketAddr = "[2001:db8::1]:5070".parse().unwrap();
        assert!(!behind_nat(&via("[2001:db8::1]", Some(5070)), v6));
    }
}
