//! The engine's NAT chores: `keepalive=N` (a CRLF every N seconds to each registered contact
//! and to a static host, chan_sip's `sip_send_keepalive`, which holds a NAT's UDP mapping
//! open without the cost of OPTIONS) and the `externhost` refresh (every `externrefresh`
//! seconds the binary is asked to resolve the name again, [`Job::Resolve`]; the answer comes
//! back through `job_done` and becomes the advertised external address).

use super::{Engine, PeerId};
use crate::config::sip_values::Host;
use crate::flow::{Flow, Job, JobId, JobOutcome};
use crate::wake::{PeerTimer, Wake};
use std::net::SocketAddr;
use std::time::Instant;

/// The job id of the `externhost` lookup (call jobs never use it: see `call::jobs`).
pub const EXTERN_JOB: JobId = JobId(0);

/// The CRLF keep-alive chan_sip sends (RFC 5626 §3.5.1 calls the double CRLF a "ping"; a
/// server answers neither, so a bare CRLF costs the phone nothing).
pub const KEEPALIVE: &[u8] = b"\r\n";

impl Engine {
    /// Starts the keep-alive timer of every entry with `keepalive`, and the `externhost`
    /// refresh.
    pub(super) fn schedule_nat(&mut self, now: Instant) {
        let peers: Vec<(PeerId, std::time::Duration)> = self
            .cfg
            .peers()
            .filter_map(|(id, p)| p.keepalive.map(|k| (id, k)))
            .collect();
        for (id, every) in peers {
            self.start_peer_timer(id, PeerTimer::Keepalive, now + every);
        }
        if self.extern_host().is_some() {
            let every = self.cfg.general.nat_addressing.extern_refresh;
            self.sched.schedule(now + every, Wake::ExternRefresh);
        }
    }

    /// `externhost`'s name and port, when one is configured.
    fn extern_host(&self) -> Option<(String, u16)> {
        let x = self.cfg.general.nat_addressing.extern_addr.as_ref()?;
        x.refresh.then(|| {
            (
                x.host.clone(),
                x.port.unwrap_or(self.advertise.local().port()),
            )
        })
    }

    /// An entry's keep-alive is due: a CRLF to each of its addresses, and the next one.
    pub(super) fn keepalive_due(&mut self, now: Instant, peer: PeerId) {
        let Some(p) = self.cfg.peer(peer) else {
            return;
        };
        let Some(every) = p.keepalive else {
            return;
        };
        let flows: Vec<Flow> = match &p.host {
            Host::Dynamic => self
                .registrar
                .bindings(&p.name)
                .iter()
                .map(|b| b.flow)
                .collect(),
            Host::Static { ip, port, .. } => ip
                .map(|ip| SocketAddr::new(ip, *port))
                .or_else(|| self.cfg.resolved(peer))
                .map(Flow::udp)
                .into_iter()
                .collect(),
            Host::Unset => Vec::new(),
        };
        for flow in flows {
            self.out.sip(flow, KEEPALIVE.to_vec());
        }
        self.start_peer_timer(peer, PeerTimer::Keepalive, now + every);
    }

    /// Time to look `externhost` up again.
    pub(super) fn extern_refresh_due(&mut self, now: Instant) {
        let Some((host, port)) = self.extern_host() else {
            return;
        };
        self.out.job(Job::Resolve {
            id: EXTERN_JOB,
            host,
            port,
        });
        let every = self.cfg.general.nat_addressing.extern_refresh;
        self.sched.schedule(now + every, Wake::ExternRefresh);
    }

    /// The answer to the `externhost` lookup.
    pub(super) fn extern_resolved(&mut self, outcome: JobOutcome) {
        match outcome {
            JobOutcome::Resolved(Some(ip)) => self.set_extern_ip(ip),
            _ => {
                let name = self.extern_host().map(|(h, _)| h).unwrap_or_default();
                log::warn!("externhost '{name}': re-lookup failed; keeping the last address");
            }
        }
    }

    /// The external address to advertise outside the `localnet`s (from `externhost`, or an
    /// `externaddr` given by name, resolved by the binary).
    pub fn set_extern_ip(&mut self, ip: std::net::IpAddr) {
        if self.advertise.extern_ip() != Some(ip) {
            log::info!("external address is now {ip}");
            self.advertise.set_extern_ip(ip);
        }
    }

    /// The address sipbox advertises toward `dest` (Via, Contact; for inspection and tests).
    pub fn advertised_toward(&self, dest: SocketAddr) -> crate::nat::Toward {
        self.advertise.toward(dest)
    }
}
