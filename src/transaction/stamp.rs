//! The stamped top Via of an answer and where the answer goes (RFC 3261 §18.2.2, RFC 3581
//! `rport`, chan_sip's `nat=force_rport`).

use crate::flow::Flow;
use crate::sip::Via;

/// Stamps the top Via of a request that came over `source` the way RFC 3581 wants, and says
/// where the response goes: with `rport`, back to the exact source address and port; with
/// `force_rport` (chan_sip's `nat=force_rport`: "pretend there was an rport") the same, but
/// the Via only gains `received`; otherwise to the source IP (the `received` address) at the
/// Via's sent-by port.
pub fn stamp_via(top: &Via, source: Flow, force_rport: bool) -> (Via, Flow) {
    let mut via = top.clone();
    let from = source.remote;
    let src_ip = from.ip().to_string();
    // An IPv6 sent-by is bracketed: compared without building "[addr]" for every request.
    let unbracketed = via
        .host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&via.host);
    let wants_rport = via.rport().is_some();
    if wants_rport || (via.host != src_ip && unbracketed != src_ip) {
        via.set_param("received", Some(src_ip));
    }
    if wants_rport {
        via.set_param("rport", Some(from.port().to_string()));
        (via, source)
    } else if force_rport {
        (via, source)
    } else {
        // The source IP, never a host name from the message: answers cannot be steered
        // elsewhere by what a datagram claims.
        let port = via.port.unwrap_or(5060);
        let remote = std::net::SocketAddr::new(from.ip(), port);
        (via, Flow { remote, ..source })
    }
}
