//! Building the requests sipbox sends: INVITEs to callees, ACKs (§13.2.2.4 for a 2xx,
//! §17.1.1.3 for a failure), CANCEL (§9.1) and in-dialog requests (§12.2.1.1).

use crate::call::{Leg, LegRole};
use crate::sip::{HeaderName, Method, NameAddr, Request, Response};
use std::net::SocketAddr;

/// Our Via for a request we originate.
pub fn via_value(local: SocketAddr, branch: &str) -> String {
    format!("SIP/2.0/UDP {local};branch={branch};rport")
}

/// A NameAddr with a tag parameter set.
fn tagged(na: &NameAddr, tag: Option<&str>) -> String {
    let mut na = na.clone();
    if let Some(t) = tag {
        na.set_param("tag", Some(t.to_string()));
    }
    na.to_string()
}

/// The ACK for a 3xx–6xx to an INVITE we sent (§17.1.1.3): same Request-URI, Call-ID, From,
/// CSeq number and top Via as the INVITE, To from the response, the INVITE's Route.
pub fn ack_for_failure(invite: &Request, resp: &Response, _local: SocketAddr) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri().clone());
    ack.push_header(HeaderName::Via, invite.top_via().to_string());
    ack.push_header(HeaderName::MaxForwards, "70");
    ack.push_header(HeaderName::From, invite.from().to_string());
    ack.push_header(HeaderName::To, resp.to().to_string());
    ack.push_header(HeaderName::CallId, invite.call_id());
    ack.push_header(HeaderName::CSeq, format!("{} ACK", invite.cseq().seq));
    for route in invite.headers().get_all(&HeaderName::Route) {
        ack.push_header(HeaderName::Route, route);
    }
    ack
}

/// CANCEL for an INVITE we sent (§9.1).
pub fn cancel_for(invite: &Request) -> Request {
    let mut c = Request::new(Method::Cancel, invite.uri().clone());
    c.push_header(HeaderName::Via, invite.top_via().to_string());
    c.push_header(HeaderName::MaxForwards, "70");
    c.push_header(HeaderName::From, invite.from().to_string());
    c.push_header(HeaderName::To, invite.to().to_string());
    c.push_header(HeaderName::CallId, invite.call_id());
    c.push_header(HeaderName::CSeq, format!("{} CANCEL", invite.cseq().seq));
    for route in invite.headers().get_all(&HeaderName::Route) {
        c.push_header(HeaderName::Route, route);
    }
    c
}

/// A request inside a leg's dialog (§12.2.1.1). `cseq` is the number to use (ACK reuses the
/// INVITE's; others take the next).
pub fn in_dialog(
    leg: &Leg,
    method: Method,
    cseq: u32,
    local: SocketAddr,
    branch: &str,
    user_agent: &str,
) -> Request {
    let mut r = Request::new(method.clone(), leg.remote_target.clone());
    r.push_header(HeaderName::Via, via_value(local, branch));
    r.push_header(HeaderName::MaxForwards, "70");
    r.push_header(
        HeaderName::From,
        tagged(&leg.local_uri, Some(&leg.local_tag)),
    );
    r.push_header(
        HeaderName::To,
        tagged(&leg.remote_uri, leg.remote_tag.as_deref()),
    );
    r.push_header(HeaderName::CallId, leg.call_id.clone());
    r.push_header(HeaderName::CSeq, format!("{cseq} {}", method.as_str()));
    for route in &leg.route_set {
        r.push_header(HeaderName::Route, route.to_string());
    }
    if matches!(method, Method::Invite | Method::Update) {
        r.push_header(HeaderName::Contact, contact_value(leg, local));
    }
    if method != Method::Ack {
        r.push_header(HeaderName::UserAgent, user_agent);
    }
    r
}

/// Our Contact on a leg: `<sip:user@our-address>`.
pub fn contact_value(leg: &Leg, local: SocketAddr) -> String {
    let user = leg.local_uri.uri.user.as_deref().unwrap_or("sipbox");
    format!("<sip:{}@{local}>", escape_user(user))
}

/// Keeps a user part safe to put in a URI we write.
pub fn escape_user(user: &str) -> String {
    user.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(*c))
        .collect()
}

/// The route set a UAS learns from Record-Route (kept in order), and a UAC from the response's
/// Record-Route (reversed), §12.1.1 / §12.1.2.
pub fn route_set(record_route: Vec<NameAddr>, role: LegRole) -> Vec<NameAddr> {
    match role {
        LegRole::Uas => record_route,
        LegRole::Uac => record_route.into_iter().rev().collect(),
    }
}
