//! One name being resolved, RFC 3263 §4.2 as a state machine: SRV of `_sip._udp.NAME` first
//! (unless a port was given or `srvlookup=no`); with SRV records, the addresses of every target
//! in RFC 2782 order; without (NXDOMAIN/NODATA), the addresses of NAME itself on the given or
//! default port.

use super::cache::Cached;
use super::resolver::{Family, LookupError, Resolved};
use super::srv;
use super::wire::Qtype;
use rand::Rng;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// SRV targets looked at per name.
const MAX_TARGETS: usize = 8;
/// Addresses kept per name.
const MAX_ADDRS: usize = 16;
/// RFC 3261 §19.1.2: the port when none is named.
pub const DEFAULT_PORT: u16 = 5060;

/// What the resolver should do for this lookup next.
#[derive(Debug)]
pub enum Step {
    /// Ask this question (from the cache or the network) and feed the answer back.
    Ask(String, Qtype),
    /// The lookup ended.
    Done(Result<Resolved, LookupError>),
}

/// The stage a lookup is in.
#[derive(Debug)]
enum Stage {
    /// Waiting for the SRV answer.
    Srv,
    /// Resolving `hosts[next]`.
    Hosts {
        hosts: Vec<(String, u16)>,
        next: usize,
        via_srv: bool,
    },
}

/// One lookup.
#[derive(Debug)]
pub struct Lookup {
    name: String,
    port: Option<u16>,
    family: Family,
    stage: Stage,
    addrs: Vec<SocketAddr>,
    expires: Option<Instant>,
    last_error: Option<LookupError>,
}

impl Lookup {
    /// A lookup of `name` (a port given skips SRV, as does `srv == false`) and its first step.
    pub fn start(
        name: &str,
        port: Option<u16>,
        service: &str,
        srv: bool,
        family: Family,
    ) -> (Lookup, Step) {
        let name = super::wire::normalize(name);
        let (stage, step) = if srv && port.is_none() {
            (
                Stage::Srv,
                Step::Ask(format!("{service}.{name}"), Qtype::Srv),
            )
        } else {
            let port = port.unwrap_or(DEFAULT_PORT);
            (
                Stage::Hosts {
                    hosts: vec![(name.clone(), port)],
                    next: 0,
                    via_srv: false,
                },
                Step::Ask(name.clone(), family.qtype()),
            )
        };
        let l = Lookup {
            name,
            port,
            family,
            stage,
            addrs: Vec::new(),
            expires: None,
            last_error: None,
        };
        (l, step)
    }

    /// The name looked up.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Feeds the answer to the last [`Step::Ask`] (`expires`: when it stops being valid).
    pub fn on_answer<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        answer: Result<(Cached, Instant), LookupError>,
    ) -> Step {
        if let Ok((_, exp)) = &answer {
            self.expires = Some(self.expires.map_or(*exp, |e| e.min(*exp)));
        }
        match &mut self.stage {
            Stage::Srv => match answer {
                Ok((Cached::Srv(records), _)) => {
                    let ordered = srv::order(&records, rng);
                    if ordered.is_empty() {
                        return Step::Done(Err(LookupError::NotFound));
                    }
                    let hosts = ordered
                        .into_iter()
                        .take(MAX_TARGETS)
                        .map(|r| (r.target, r.port))
                        .collect();
                    self.stage = Stage::Hosts {
                        hosts,
                        next: 0,
                        via_srv: true,
                    };
                    self.next_host()
                }
                Ok(_) => {
                    // No SRV records: the name's own addresses (RFC 3263 §4.2).
                    self.stage = Stage::Hosts {
                        hosts: vec![(self.name.clone(), self.port.unwrap_or(DEFAULT_PORT))],
                        next: 0,
                        via_srv: false,
                    };
                    self.next_host()
                }
                Err(e) => Step::Done(Err(e)),
            },
            Stage::Hosts { hosts, next, .. } => {
                let port = hosts.get(*next).map_or(DEFAULT_PORT, |h| h.1);
                *next += 1;
                match answer {
                    Ok((Cached::Addrs(ips), _)) => {
                        for ip in ips {
                            let a = SocketAddr::new(ip, port);
                            if self.addrs.len() < MAX_ADDRS && !self.addrs.contains(&a) {
                                self.addrs.push(a);
                            }
                        }
                    }
                    Ok(_) => self.last_error = Some(LookupError::NotFound),
                    // One target's failure leaves the others (RFC 3263 §4.3 failover).
                    Err(e) => self.last_error = Some(e),
                }
                self.next_host()
            }
        }
    }

    /// Asks for the next host's addresses, or ends.
    fn next_host(&mut self) -> Step {
        let Stage::Hosts {
            hosts,
            next,
            via_srv,
        } = &mut self.stage
        else {
            return Step::Done(Err(LookupError::NotFound));
        };
        while let Some((host, port)) = hosts.get(*next) {
            // A target written as an address (some servers allow it) needs no question.
            match host.parse::<IpAddr>() {
                Ok(ip) => {
                    let a = SocketAddr::new(ip, *port);
                    if self.addrs.len() < MAX_ADDRS && !self.addrs.contains(&a) {
                        self.addrs.push(a);
                    }
                    *next += 1;
                }
                Err(_) => return Step::Ask(host.clone(), self.family.qtype()),
            }
        }
        if self.addrs.is_empty() {
            return Step::Done(Err(self.last_error.unwrap_or(LookupError::NotFound)));
        }
        Step::Done(Ok(Resolved {
            addrs: std::mem::take(&mut self.addrs),
            expires: self.expires,
            via_srv: *via_srv,
        }))
    }
}
