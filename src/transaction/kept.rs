//! What a client transaction keeps of its request once the final response was handled
//! (issue 15's compact lingering records): an INVITE in Accepted (RFC 6026, Timer M) keeps
//! the few fields the ACK and BYE for a late 2xx are built from (RFC 3261 §13.2.2.4), every
//! other state nothing.

use crate::sip::{HeaderName, Method, Request};
use std::rc::Rc;

/// What a client transaction keeps of its request.
pub(super) enum Kept {
    /// The whole request (for ACK, CANCEL, a challenge's answer, a 422's retry).
    Request(Rc<Request>),
    /// An INVITE in Accepted: what a late 2xx needs.
    Invite(InviteIds),
    /// Nothing: Completed absorbs retransmitted responses without it.
    Nothing,
}

/// The fields of an INVITE that the ACK and BYE for a 2xx are built from (§13.2.2.4,
/// `Dialog::uac_from_2xx`): the CSeq number, then Request-URI, From, To, Call-ID and Route,
/// each length-prefixed, in one allocation.
pub(super) struct InviteIds(Box<[u8]>);

/// The CSeq number's bytes, then the five fields.
const PARTS: usize = 5;

impl InviteIds {
    pub(super) fn of(invite: &Request) -> InviteIds {
        // Printed straight (`to_string` goes through core::fmt and a second buffer).
        let mut uri = String::with_capacity(64);
        invite.uri().write_to(&mut uri);
        let h = invite.headers();
        let from = h.get(&HeaderName::From).unwrap_or_default();
        let to = h.get(&HeaderName::To).unwrap_or_default();
        let call_id = invite.call_id();
        // Several Route lines read the same as one comma-separated line (RFC 3261 §7.3.1);
        // read twice (length, then bytes) rather than collected.
        let routes = || h.get_all(&HeaderName::Route);
        let route_len = routes().map(|r| r.len() + 2).sum::<usize>();
        let parts = [uri.as_str(), from, to, call_id];
        let len = 4 + parts.iter().map(|p| 4 + p.len()).sum::<usize>() + 4 + route_len;
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&invite.cseq().seq.to_le_bytes());
        for part in parts {
            push_len(&mut b, part.len());
            b.extend_from_slice(part.as_bytes());
        }
        push_len(&mut b, route_len.saturating_sub(2));
        for (i, route) in routes().enumerate() {
            if i > 0 {
                b.extend_from_slice(b", ");
            }
            b.extend_from_slice(route.as_bytes());
        }
        InviteIds(b.into_boxed_slice())
    }

    /// Heap bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.0.len()
    }

    fn cseq(&self) -> u32 {
        self.0
            .first_chunk::<4>()
            .map_or(0, |b| u32::from_le_bytes(*b))
    }

    fn part(&self, i: usize) -> &str {
        let mut rest = self.0.get(4..).unwrap_or_default();
        for n in 0..PARTS {
            let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                break;
            };
            let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
            let (field, tail) = tail.split_at(len);
            if n == i {
                return std::str::from_utf8(field).unwrap_or_default();
            }
            rest = tail;
        }
        ""
    }

    /// The INVITE again, without Via, body or the headers no dialog reads.
    pub(super) fn request(&self) -> Request {
        let uri = crate::sip::Uri::parse(self.part(0)).unwrap_or_default();
        let mut r = Request::new(Method::Invite, uri);
        r.push_header(HeaderName::From, self.part(1));
        r.push_header(HeaderName::To, self.part(2));
        r.push_header(HeaderName::CallId, self.part(3));
        let cseq = crate::sip::CSeq {
            seq: self.cseq(),
            method: Method::Invite,
        };
        r.push_header(HeaderName::CSeq, cseq.to_string());
        let route = self.part(4);
        if !route.is_empty() {
            r.push_header(HeaderName::Route, route);
        }
        r
    }
}

fn push_len(b: &mut Vec<u8>, len: usize) {
    b.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse, Message};

    #[test]
    fn the_kept_fields_rebuild_what_a_dialog_reads() {
        let text = "INVITE sip:1002@10.0.0.2:5062;transport=udp SIP/2.0\r\n\
                    Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\nMax-Forwards: 70\r\n\
                    From: \"A\" <sip:1001@pbx>;tag=ab\r\nTo: <sip:1002@pbx>\r\n\
                    Call-ID: c1@pbx\r\nCSeq: 4711 INVITE\r\n\
                    Route: <sip:p1;lr>\r\nRoute: <sip:p2;lr>\r\n\
                    Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
        let Ok(Message::Request(inv)) = parse(text.as_bytes()) else {
            panic!("parses");
        };
        let ids = InviteIds::of(&inv);
        assert!(ids.heap_bytes() < 160, "{}", ids.heap_bytes());
        let r = ids.request();
        assert_eq!(r.uri(), inv.uri());
        assert_eq!(r.from().to_string(), inv.from().to_string());
        assert_eq!(r.to().to_string(), inv.to().to_string());
        assert_eq!((r.call_id(), r.cseq().seq), ("c1@pbx", 4711));
        assert_eq!(r.route().unwrap(), inv.route().unwrap());
    }
}
