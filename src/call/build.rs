//! Building the requests sipbox originates, from typed parts: our Via (§18.1.1, with `rport`
//! per RFC 3581), Contact and CSeq; in-dialog requests from a leg's dialog (§12.2.1.1); and the
//! one out-of-dialog builder that serves Dial's INVITEs and qualify's OPTIONS (and, next,
//! outbound REGISTER).
//!
//! Every request a call sends passes here, so the headers are printed straight into the
//! request (`push_header_with` and the writers of `sip::write`), not built as typed values,
//! printed with `core::fmt` into temporaries and copied; the typed builders (`our_via`,
//! `contact`, ...) stay for the callers that keep the value, and print the same text.

use super::dialog::Dialog;
use crate::flow::{Flow, Transport};
use crate::nat::Advertise;
use crate::sip::write::{host_string, push_decimal, push_host, push_host_port};
use crate::sip::{CSeq, HeaderName, Method, NameAddr, Params, Request, Uri, Via, ViaMarks};
use std::net::SocketAddr;

/// What every request sipbox sends carries besides the dialog: our address, the branch and
/// the User-Agent.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Our SIP address (Via sent-by, Contact host).
    pub local: SocketAddr,
    /// The transport of the flow the request goes on.
    pub transport: Transport,
    /// The new branch (§8.1.1.7).
    pub branch: &'a str,
    /// sip.conf `useragent`.
    pub user_agent: &'a str,
}

impl<'a> Origin<'a> {
    /// An origin for a request on `flow`: our address is what `adv` advertises toward the
    /// flow's remote (externaddr outside the localnets, the local address inside).
    pub fn on(flow: Flow, adv: &Advertise, branch: &'a str, user_agent: &'a str) -> Self {
        Origin {
            local: adv.sip(flow.remote),
            transport: flow.transport,
            branch,
            user_agent,
        }
    }
}

/// Our Via for a request we originate.
pub fn our_via(o: &Origin<'_>) -> Via {
    let (host, port) = host_port(o.local);
    let mut via = Via::new(o.transport.via_token(), &host, Some(port));
    via.set_param("branch", Some(o.branch.to_string()));
    via.set_param("rport", None);
    via
}

/// Writes [`our_via`]'s value: `SIP/2.0/UDP host:port;branch=...;rport`, returning where
/// the host and branch went (so the message records its top Via's spans without rescanning
/// it).
pub(crate) fn write_our_via(out: &mut String, o: &Origin<'_>) -> ViaMarks {
    out.push_str("SIP/2.0/");
    out.push_str(o.transport.via_token());
    out.push(' ');
    let host_start = out.len();
    push_host(out, o.local.ip());
    let host = host_start..out.len();
    out.push(':');
    push_decimal(out, usize::from(o.local.port()));
    out.push_str(";branch=");
    let branch_start = out.len();
    out.push_str(o.branch);
    let branch = branch_start..out.len();
    out.push_str(";rport");
    ViaMarks {
        host,
        branch,
        port: o.local.port(),
    }
}

/// Writes [`contact`]'s value: `<sip:user@host:port>`.
pub fn write_contact(out: &mut String, user: &str, local: SocketAddr) {
    out.push_str("<sip:");
    // escape_user's characters are all allowed in a user part: nothing to escape.
    let before = out.len();
    // Nearly always every byte is kept: copied at once (a byte past ASCII is no user_char,
    // so a text that passes is ASCII and the filter would keep it all).
    if user.bytes().all(|b| user_char(char::from(b))) {
        out.push_str(user);
    } else {
        out.extend(user.chars().filter(|&c| user_char(c)));
    }
    if out.len() > before {
        out.push('@');
    }
    push_host_port(out, local);
    out.push('>');
}

/// The host text (IPv6 in brackets) and port of an address.
pub fn host_port(addr: SocketAddr) -> (String, u16) {
    (host_string(addr.ip()), addr.port())
}

/// `sip:user@addr` (the user filtered by [`escape_user`]).
pub fn sip_uri(user: Option<&str>, addr: SocketAddr) -> Uri {
    Uri {
        scheme: "sip".into(),
        user: user
            .map(escape_user)
            .filter(|u| !u.is_empty())
            .map(Into::into),
        password: None,
        host: crate::sip::write::host_compact(addr.ip()),
        port: Some(addr.port()),
        params: Params::new(),
        headers: Vec::new(),
    }
}

/// Our Contact: `<sip:user@our-address>`.
pub fn contact(user: &str, local: SocketAddr) -> NameAddr {
    NameAddr::new(sip_uri(Some(user), local))
}

/// The parts of a request outside any dialog.
pub struct OutOfDialog<'a> {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// From (without tag).
    pub from: &'a NameAddr,
    /// Our From tag.
    pub from_tag: &'a str,
    /// To (no tag).
    pub to: &'a NameAddr,
    /// A fresh Call-ID.
    pub call_id: &'a str,
    /// CSeq number.
    pub cseq: u32,
    /// Contact user for dialog-creating requests (INVITE), None otherwise.
    pub contact_user: Option<&'a str>,
    /// Max-Forwards: 70 for a request we originate, one less than the caller's for a leg
    /// of a call (RFC 3261 §16.6 step 3, as Asterisk's channel max-forwards count).
    pub max_forwards: u32,
}

/// A request outside any dialog (Dial's INVITE, qualify's OPTIONS).
pub fn out_of_dialog(r: OutOfDialog<'_>, o: &Origin<'_>) -> Request {
    let mut req = Request::new(r.method.clone(), r.uri);
    req.push_marked_via(|s| write_our_via(s, o));
    req.push_header_with(HeaderName::MaxForwards, |s| {
        push_decimal(s, r.max_forwards as usize);
    });
    req.push_header_with(HeaderName::From, |s| {
        r.from.write_with_tag(s, Some(r.from_tag));
    });
    req.push_header_with(HeaderName::To, |s| r.to.write_to(s));
    req.push_header(HeaderName::CallId, r.call_id);
    req.push_cseq(r.cseq, &r.method);
    if let Some(user) = r.contact_user {
        req.push_header_with(HeaderName::Contact, |s| write_contact(s, user, o.local));
    }
    req.push_header(HeaderName::UserAgent, o.user_agent);
    req
}

/// A request inside a leg's dialog (§12.2.1.1). `cseq` is the number to use (ACK reuses the
/// INVITE's; others take the next).
pub fn in_dialog(d: &Dialog, method: Method, cseq: u32, o: &Origin<'_>) -> Request {
    let mut r = Request::new_to(method.clone(), &d.remote_target);
    r.push_marked_via(|s| write_our_via(s, o));
    r.push_header(HeaderName::MaxForwards, "70");
    r.push_header_with(HeaderName::From, |s| {
        d.local_uri.write_with_tag(s, Some(&d.local_tag));
    });
    r.push_header_with(HeaderName::To, |s| {
        d.remote_uri.write_with_tag(s, d.remote_tag.as_deref());
    });
    r.push_header(HeaderName::CallId, d.call_id.as_str());
    r.push_cseq(cseq, &method);
    for route in &d.route_set {
        r.push_header_with(HeaderName::Route, |s| route.write_to(s));
    }
    if matches!(method, Method::Invite | Method::Update) {
        let user = d.local_uri.uri.user.as_deref().unwrap_or("sipbox");
        r.push_header_with(HeaderName::Contact, |s| write_contact(s, user, o.local));
    }
    if method != Method::Ack {
        r.push_header(HeaderName::UserAgent, o.user_agent);
    }
    r
}

/// The same request again with credentials (RFC 3261 §22.2, §8.1.3.5): a new branch, CSeq + 1,
/// the same Call-ID, From tag, To and body; `header: value` replaces credentials of that kind.
pub fn with_credentials(
    req: &Request,
    branch: &str,
    cseq: u32,
    header: HeaderName,
    value: String,
) -> Request {
    again(req, branch, cseq, &[(header, value)])
}

/// The same request again (a new branch, CSeq `cseq`, the same Call-ID, From tag, To and
/// body) with each header of `replace` in place of that header's values: credentials after
/// a 401/407, Session-Expires and Min-SE after a 422 (RFC 4028 §7.4).
pub fn again<V: AsRef<str>>(
    req: &Request,
    branch: &str,
    cseq: u32,
    replace: &[(HeaderName, V)],
) -> Request {
    let mut out = Request::new(req.method().clone(), req.uri().clone());
    let mut via = req.top_via().clone();
    via.set_param("branch", Some(branch.to_string()));
    out.push_header(HeaderName::Via, via.to_string());
    for (name, v) in req.headers().iter() {
        match name {
            HeaderName::Via | HeaderName::ContentLength | HeaderName::ContentType => {}
            HeaderName::CSeq => {
                let seq = CSeq {
                    seq: cseq,
                    method: req.method().clone(),
                };
                out.push_header(HeaderName::CSeq, seq.to_string());
            }
            n if replace.iter().any(|(r, _)| r == n) => {}
            n => out.push_header(n.clone(), v),
        }
    }
    for (name, value) in replace {
        out.push_header(name.clone(), value);
    }
    out.set_body(req.content_type(), req.body().to_vec());
    out
}

/// Max-Forwards of a request sipbox originates (RFC 3261 §8.1.1.6).
pub const MAX_FORWARDS: u32 = 70;

/// Keeps a user part safe to put in a URI we write.
pub fn escape_user(user: &str) -> String {
    // Nearly always nothing is dropped: one copy of the right size, not a char-by-char
    // collect that grows its buffer (see write_contact).
    if user.bytes().all(|b| user_char(char::from(b))) {
        return user.to_owned();
    }
    user.chars().filter(|&c| user_char(c)).collect()
}

/// The characters [`escape_user`] keeps.
fn user_char(c: char) -> bool {
    // A `matches!`, not a search of a string of them: every Contact and From prints this.
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '_'
                | '.'
                | '!'
                | '~'
                | '*'
                | '\''
                | '('
                | ')'
                | '&'
                | '='
                | '+'
                | '$'
                | ','
                | ';'
                | '?'
                | '/'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_via_contact_and_uri_print_as_before() {
        let local: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let o = Origin {
            local,
            transport: Transport::Udp,
            branch: "z9hG4bKabc",
            user_agent: "sipbox",
        };
        assert_eq!(
            our_via(&o).to_string(),
            "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport"
        );
        assert_eq!(
            contact("1001", local).to_string(),
            "<sip:1001@127.0.0.1:5060>"
        );
        let v6: SocketAddr = "[::1]:5062".parse().unwrap();
        assert_eq!(sip_uri(Some("a b"), v6).to_string(), "sip:ab@[::1]:5062");
    }

    #[test]
    fn user_characters_are_the_unreserved_and_user_unreserved_ones() {
        let kept: String = (0u8..=255)
            .map(char::from)
            .filter(|&c| user_char(c))
            .collect();
        let want: String = (0u8..=255)
            .map(char::from)
            .filter(|&c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c))
            .collect();
        assert_eq!(kept, want);
        for user in ["1001", "a b<c>@d", "\u{e9}t\u{e9}", "", "x;y=z?/", "%41"] {
            let filtered: String = user.chars().filter(|&c| user_char(c)).collect();
            assert_eq!(escape_user(user), filtered, "{user:?}");
        }
    }

    fn test_origin(local: SocketAddr) -> Origin<'static> {
        Origin {
            local,
            transport: Transport::Udp,
            branch: "z9hG4bKx1",
            user_agent: "sipbox",
        }
    }

    #[test]
    fn writers_print_what_the_typed_builders_print() {
        for (local, user) in [
            ("127.0.0.1:5060", "1001"),
            ("10.1.2.3:5070", "a b<c>@d"),
            ("[2001:db8::1]:5062", "sipbox"),
            ("192.0.2.1:1", "???"),
            ("192.0.2.1:1", "\u{e9}t\u{e9}"),
            ("192.0.2.1:1", ""),
        ] {
            let local: SocketAddr = local.parse().unwrap();
            let o = test_origin(local);
            let mut via = String::new();
            write_our_via(&mut via, &o);
            assert_eq!(via, our_via(&o).to_string());
            let mut c = String::new();
            write_contact(&mut c, user, local);
            assert_eq!(c, contact(user, local).to_string(), "{user:?}");
        }
    }

    #[test]
    fn marked_via_gives_the_spans_a_rescan_gives() {
        for local in ["127.0.0.1:5060", "[2001:db8::1]:5062"] {
            let local: SocketAddr = local.parse().unwrap();
            let o = test_origin(local);
            let uri = sip_uri(Some("a"), "192.0.2.9:5060".parse().unwrap());
            let mut marked = Request::new(Method::Options, uri.clone());
            marked.push_marked_via(|s| write_our_via(s, &o));
            let mut scanned = Request::new(Method::Options, uri);
            scanned.push_header_with(HeaderName::Via, |s| {
                write_our_via(s, &o);
            });
            assert_eq!(format!("{marked:?}"), format!("{scanned:?}"));
            assert_eq!(marked.to_bytes(), scanned.to_bytes());
            assert_eq!(marked.top_branch(), Some("z9hG4bKx1"));
        }
    }
}
