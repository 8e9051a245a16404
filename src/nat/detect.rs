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
    sent_by_behind_nat(&top_via.host, top_via.port, source)
}

/// [`behind_nat`] for a request's top Via, read from the spans of the received text (no Via
/// decoded).
pub fn request_behind_nat(req: &crate::sip::Request, source: SocketAddr) -> bool {
    match req.top_sent_by() {
        Some((host, port)) => sent_by_behind_nat(host, port, source),
        None => behind_nat(req.top_via(), source),
    }
}

/// [`behind_nat`] from the top Via's sent-by host and port (spans of a received request:
/// no Via decoded).
pub fn sent_by_behind_nat(host: &str, port: Option<u16>, source: SocketAddr) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port.unwrap_or(5060)) != source,
        Err(_) => true,
    }
}

/// Whether answers to a request from `source` go to the source port under `nat`.
pub fn force_rport(nat: Nat, top_via: &Via, source: SocketAddr) -> bool {
    force_rport_at(nat, &top_via.host, top_via.port, source)
}

/// [`force_rport`] from the top Via's sent-by host and port.
pub fn force_rport_at(nat: Nat, host: &str, port: Option<u16>, source: SocketAddr) -> bool {
    match nat.auto_force_rport {
        true => sent_by_behind_nat(host, port, source),
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

    #[test]
    fn a_request_reads_as_its_decoded_top_via() {
        let src: SocketAddr = "198.51.100.7:5060".parse().unwrap();
        for top in [
            "198.51.100.7",
            "198.51.100.7:5060",
            "198.51.100.7:5062",
            "10.0.0.1",
        ] {
            let text = format!(
                "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP {top};branch=z9hG4bK1\r\n\
                 From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n\
                 CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            );
            let Ok(crate::sip::Message::Request(req)) = crate::sip::parse(text.as_bytes()) else {
                panic!("{text}");
            };
            assert_eq!(
                request_behind_nat(&req, src),
                behind_nat(req.top_via(), src),
                "{top}"
            );
        }
    }
}
