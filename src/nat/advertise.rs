//! "What address do we advertise toward destination D": the one answer every Via, Contact and
//! SDP `c=`/`o=` sipbox writes is built from.
//!
//! chan_sip's rule (`ast_sip_ouraddrfor`): the address is remapped to the external one when
//! (1) at least one `localnet` is configured, (2) the external address is known, and (3) D is
//! an IPv4 destination outside every `localnet`. Remapped, SIP names `externaddr`'s port, or
//! the bound SIP port when `externaddr` has none; media names the external address with the
//! RTP socket's own port (chan_sip does not remap RTP ports either). Otherwise the local
//! address (the bound one, or the one the binary found for a wildcard bind) is used. Without
//! any `localnet`, nothing is remapped: sip.conf.sample's "IF LOCALNET IS NOT SET, THE
//! EXTERNAL ADDRESS WILL NOT BE SET CORRECTLY". IPv6 destinations are never remapped.

use crate::config::sip_nat::NatAddressing;
use std::net::{IpAddr, SocketAddr};

/// Our addresses toward one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toward {
    /// Via sent-by and Contact host:port.
    pub sip: SocketAddr,
    /// SDP `c=` and `o=` address.
    pub media: IpAddr,
}

/// The local and external addresses and the inside networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertise {
    local: SocketAddr,
    media: IpAddr,
    extern_ip: Option<IpAddr>,
    extern_port: Option<u16>,
    nat: NatAddressing,
}

impl Advertise {
    /// Advertises `local` everywhere (no NAT settings).
    pub fn local_only(local: SocketAddr) -> Advertise {
        Advertise::new(local, &NatAddressing::default())
    }

    /// The rule for a SIP socket at `local` (also the RTP sockets' IP) under `nat`. An
    /// `externaddr` given by name has no address until [`Advertise::set_extern_ip`].
    pub fn new(local: SocketAddr, nat: &NatAddressing) -> Advertise {
        let x = nat.extern_addr.as_ref();
        Advertise {
            local,
            media: local.ip(),
            extern_ip: x.and_then(|x| x.ip),
            extern_port: x.and_then(|x| x.port),
            nat: nat.clone(),
        }
    }

    /// The external address, once resolved (`externhost`, or `externaddr` by name).
    pub fn set_extern_ip(&mut self, ip: IpAddr) {
        self.extern_ip = Some(ip);
    }

    /// The external address now used, if any.
    pub fn extern_ip(&self) -> Option<IpAddr> {
        self.extern_ip
    }

    /// Our local SIP address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// True when `dest` gets the external address.
    fn remaps(&self, dest: IpAddr) -> bool {
        let v4 = match dest {
            IpAddr::V4(_) => true,
            IpAddr::V6(a) => a.to_ipv4_mapped().is_some(),
        };
        v4 && self.extern_ip.is_some() && !self.nat.localnet.is_empty() && !self.nat.is_local(dest)
    }

    /// Our SIP and media addresses toward `dest`.
    pub fn toward(&self, dest: SocketAddr) -> Toward {
        match self.extern_ip.filter(|_| self.remaps(dest.ip())) {
            Some(ip) => Toward {
                sip: SocketAddr::new(ip, self.extern_port.unwrap_or(self.local.port())),
                media: ip,
            },
            None => Toward {
                sip: self.local,
                media: self.media,
            },
        }
    }

    /// Our SIP address toward `dest` (Via sent-by, Contact).
    pub fn sip(&self, dest: SocketAddr) -> SocketAddr {
        self.toward(dest).sip
    }

    /// Our SDP address toward the device whose signalling goes to `dest`.
    pub fn media(&self, dest: SocketAddr) -> IpAddr {
        self.toward(dest).media
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::acl::Sense;
    use crate::config::sip_nat::ExternAddr;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn nat(ext: Option<(&str, Option<u16>)>, nets: &[&str]) -> NatAddressing {
        let mut n = NatAddressing {
            extern_addr: ext.map(|(ip, port)| ExternAddr {
                host: ip.into(),
                ip: ip.parse().ok(),
                port,
                refresh: false,
            }),
            ..NatAddressing::default()
        };
        for net in nets {
            n.localnet.push(Sense::Deny, net).unwrap();
        }
        n
    }

    const LOCAL: &str = "192.168.1.10:5060";

    #[test]
    fn outside_gets_extern_inside_gets_local() {
        let adv = Advertise::new(
            a(LOCAL),
            &nat(Some(("203.0.113.7", None)), &["192.168.0.0/16"]),
        );
        let out = adv.toward(a("198.51.100.20:5060"));
        assert_eq!(
            out.sip,
            a("203.0.113.7:5060"),
            "no extern port: the bound SIP port"
        );
        assert_eq!(out.media, "203.0.113.7".parse::<IpAddr>().unwrap());
        let inside = adv.toward(a("192.168.1.50:5062"));
        assert_eq!(inside.sip, a(LOCAL));
        assert_eq!(inside.media, a(LOCAL).ip());
    }

    #[test]
    fn extern_port_is_the_sip_port_outside() {
        let adv = Advertise::new(
            a(LOCAL),
            &nat(
                Some(("203.0.113.7", Some(9900))),
                &["192.168.0.0/16", "10.0.0.0/8"],
            ),
        );
        assert_eq!(adv.sip(a("198.51.100.20:5060")), a("203.0.113.7:9900"));
        assert_eq!(adv.sip(a("10.1.2.3:5060")), a(LOCAL));
    }

    #[test]
    fn no_localnet_or_no_extern_means_no_rewrite() {
        let adv = Advertise::new(a(LOCAL), &nat(Some(("203.0.113.7", None)), &[]));
        assert_eq!(adv.sip(a("198.51.100.20:5060")), a(LOCAL));
        let adv = Advertise::new(a(LOCAL), &nat(None, &["192.168.0.0/16"]));
        assert_eq!(adv.sip(a("198.51.100.20:5060")), a(LOCAL));
        // An externhost not resolved yet: local until the binary hands the address over.
        let mut n = nat(None, &["192.168.0.0/16"]);
        n.extern_addr = Some(ExternAddr {
            host: "nat.example.org".into(),
            ip: None,
            port: None,
            refresh: true,
        });
        let mut adv = Advertise::new(a(LOCAL), &n);
        assert_eq!(adv.sip(a("198.51.100.20:5060")), a(LOCAL));
        adv.set_extern_ip("203.0.113.99".parse().unwrap());
        assert_eq!(adv.sip(a("198.51.100.20:5060")), a("203.0.113.99:5060"));
    }

    #[test]
    fn ipv6_destinations_are_not_remapped() {
        let adv = Advertise::new(
            a(LOCAL),
            &nat(Some(("203.0.113.7", None)), &["192.168.0.0/16"]),
        );
        assert_eq!(adv.sip(a("[2001:db8::1]:5060")), a(LOCAL));
        assert_eq!(
            adv.sip(a("[::ffff:198.51.100.20]:5060")),
            a("203.0.113.7:5060")
        );
    }
}
