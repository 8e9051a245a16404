//! The status page, `/status.json` and Prometheus `/metrics`: what a person or a scraper sees
//! of a running sipbox, rendered from one [`Snapshot`] the engine hands over (sans-IO: the
//! HTTP connection handling is [`crate::http`], the socket is the binary's).
//!
//! Asterisk has no page of its own (its `http.conf` serves the manager and ARI); the figures
//! are the ones `sip show peers`, `sip show registry` and `core show channels` print, plus
//! counters for what an operator alerts on. Reading list: Prometheus' text exposition
//! format 0.0.4; RFC 8259 (JSON).
//!
//! - [`counters`]: the counters and the loop-turn histogram the engine keeps;
//! - [`snapshot`]: the read-only picture and the bounded list of recent failures;
//! - [`metrics`], [`json`], [`page`]: the three renderings; [`serve`]: the routes.

pub mod counters;
pub mod json;
pub mod metrics;
pub mod page;
pub mod snapshot;

pub use counters::{AuthFailure, Counters, Histogram, Outcome};
pub use snapshot::{
    CallRow, Failure, FailureKind, LegRow, PeerRow, PeerState, Recent, RegistrationRow,
    RtpCounters, SipCounters, Snapshot, TrunkRow,
};

use crate::http::{Method, Request, Response, Status};

/// The answer to `req`; `snapshot` is taken only for the pages that show it. `prefix` is
/// http.conf's (`""`: none): everything lives under `/prefix/`.
pub fn serve(req: &Request, prefix: &str, snapshot: impl FnOnce() -> Snapshot) -> Response {
    if req.method == Method::Other {
        return Response::error(Status::MethodNotAllowed);
    }
    let path = if prefix.is_empty() {
        Some(req.path.as_str())
    } else {
        req.path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(prefix))
            .map(|rest| if rest.is_empty() { "/" } else { rest })
            .filter(|rest| rest.starts_with('/'))
    };
    match path {
        Some("/") | Some("/index.html") => Response::ok(page::CONTENT_TYPE, page::HTML),
        Some("/status.json") => {
            Response::ok("application/json; charset=utf-8", json::render(&snapshot()))
        }
        Some("/metrics") => Response::ok(metrics::CONTENT_TYPE, metrics::render(&snapshot())),
        _ => Response::error(Status::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn empty() -> Snapshot {
        Snapshot {
            wall: SystemTime::UNIX_EPOCH,
            uptime: Duration::ZERO,
            counters: Default::default(),
            latency: Default::default(),
            sip: Default::default(),
            rtp: Default::default(),
            transactions: (0, 0),
            banned_now: 0,
            peers: vec![],
            registrations: vec![],
            calls: vec![],
            trunks: vec![],
            failures: vec![],
        }
    }

    fn get(path: &str) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
        }
    }

    #[test]
    fn routes_methods_and_prefix() {
        assert_eq!(serve(&get("/"), "", empty).status, Status::Ok);
        assert_eq!(serve(&get("/metrics"), "", empty).status, Status::Ok);
        let j = serve(&get("/status.json"), "", empty);
        assert!(j.body.starts_with(b"{\"time\":0,"));
        assert_eq!(serve(&get("/nope"), "", empty).status, Status::NotFound);
        let post = Request {
            method: Method::Other,
            path: "/metrics".into(),
        };
        assert_eq!(serve(&post, "", empty).status, Status::MethodNotAllowed);
        assert_eq!(serve(&get("/sb/metrics"), "sb", empty).status, Status::Ok);
        assert_eq!(serve(&get("/sb"), "sb", empty).status, Status::Ok);
        assert_eq!(
            serve(&get("/metrics"), "sb", empty).status,
            Status::NotFound
        );
        assert_eq!(
            serve(&get("/sbx/metrics"), "sb", empty).status,
            Status::NotFound
        );
        let mut taken = false;
        serve(&get("/"), "", || {
            taken = true;
            empty()
        });
        assert!(
            !taken,
            "the page itself needs no snapshot: its script polls the JSON"
        );
    }
}
