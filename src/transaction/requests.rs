//! Requests as the transaction layer reads and builds them: the key a received request is
//! matched under (§17.2.3), and the ACK (§17.1.1.3) and CANCEL (§9.1) built for a request we
//! sent.

use super::{RequestIds, ServerKey, ServerKeyBuf};
use crate::sip::{HeaderName, Method, Request, Response};

/// The key a received request is matched under, to store with a new transaction.
pub fn server_key(req: &Request) -> ServerKey {
    server_key_buf(req).to_key()
}

/// The key a received request is matched under, on the stack: a lookup allocates nothing
/// (the RFC 2543 fallback prints its Request-URI and Via, as it always did).
pub fn server_key_buf(req: &Request) -> ServerKeyBuf {
    // Branch and sent-by are spans of the received text: the Via is not decoded. The
    // Request-URI and top Via only key RFC 2543 requests (no magic-cookie branch): most
    // requests never pay for printing them.
    let branch = req.top_branch();
    let (host, port) = req.top_sent_by().unwrap_or(("", None));
    let rfc3261 = branch.is_some_and(super::key::is_rfc3261_branch);
    if rfc3261 {
        // A branch key reads method, branch and sent-by only: the Call-ID (a scan of every
        // header), From tag and CSeq are not looked up.
        return ServerKeyBuf::new(&RequestIds {
            method: req.method().as_str(),
            branch,
            sent_by_host: host,
            sent_by_port: port,
            request_uri: "",
            from_tag: None,
            call_id: "",
            cseq: 0,
            top_via: "",
        });
    }
    let (uri, top) = (req.uri().to_string(), req.top_via().to_string());
    ServerKeyBuf::new(&RequestIds {
        method: req.method().as_str(),
        branch,
        sent_by_host: host,
        sent_by_port: port,
        request_uri: &uri,
        from_tag: req.from_tag(),
        call_id: req.call_id(),
        cseq: req.cseq().seq,
        top_via: &top,
    })
}

/// The ACK for a 3xx–6xx to an INVITE we sent (§17.1.1.3): same Request-URI, Call-ID, From,
/// CSeq number and top Via as the INVITE, To from the response, the INVITE's Route.
pub fn ack_for_failure(invite: &Request, resp: &Response) -> Request {
    derived_request(Method::Ack, invite, resp.to().to_string())
}

/// CANCEL for an INVITE we sent (§9.1).
pub fn cancel_for(invite: &Request) -> Request {
    derived_request(Method::Cancel, invite, invite.to().to_string())
}

fn derived_request(method: Method, invite: &Request, to: String) -> Request {
    let mut r = Request::new(method.clone(), invite.uri().clone());
    r.push_header(HeaderName::Via, invite.top_via().to_string());
    r.push_header(HeaderName::MaxForwards, "70");
    r.push_header(HeaderName::From, invite.from().to_string());
    r.push_header(HeaderName::To, to);
    r.push_header(HeaderName::CallId, invite.call_id());
    let cseq = crate::sip::CSeq {
        seq: invite.cseq().seq,
        method,
    };
    r.push_header(HeaderName::CSeq, cseq.to_string());
    for route in invite.headers().get_all(&HeaderName::Route) {
        r.push_header(HeaderName::Route, route);
    }
    r
}
