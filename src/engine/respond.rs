//! Building responses and deciding where they go.
//!
//! Reading list: RFC 3261 §8.2.6 (what a UAS response copies), §18.2.2 (where a UDP response
//! is sent), RFC 3581 §4 (`received` and `rport` on the top Via).

use crate::sip::{Request, Response, Via};
use std::net::SocketAddr;

/// Stamps the top Via of a request that came from `source` the way RFC 3581 wants, and says
/// where the response goes: with `rport`, back to the exact source address and port; without,
/// to the source IP (the `received` address) at the Via's sent-by port.
pub fn stamp_via(top: &Via, source: SocketAddr) -> (Via, SocketAddr) {
    let mut via = top.clone();
    let src_ip = source.ip().to_string();
    let bracketed = format!("[{src_ip}]");
    let wants_rport = via.rport().is_some();
    if wants_rport || (via.host != src_ip && via.host != bracketed) {
        via.set_param("received", Some(src_ip));
    }
    if wants_rport {
        via.set_param("rport", Some(source.port().to_string()));
        (via, source)
    } else {
        // The source IP, never a host name from the message: answers cannot be steered
        // elsewhere by what a datagram claims.
        let port = via.port.unwrap_or(5060);
        (via, SocketAddr::new(source.ip(), port))
    }
}

/// A response to `req` with its top Via stamped, and where to send it.
pub fn response_to(
    req: &Request,
    source: SocketAddr,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> (Response, SocketAddr) {
    let (via, dest) = stamp_via(req.top_via(), source);
    let mut resp = Response::for_request(req, status, reason, to_tag);
    resp.set_top_via(via);
    (resp, dest)
}

/// The reason phrase sipbox uses for a status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        603 => "Decline",
        _ => "Unknown",
    }
}
