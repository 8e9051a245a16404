//! A validated SIP response (RFC 3261 §7.2, §8.2.6): accessors, `for_request` (the UAS
//! copies Via, From, To, Call-ID and CSeq, §8.2.6.2) and the serializer.

use super::body::Body;
use super::cseq::CSeq;
use super::error::HeaderError;
use super::essentials::Essentials;
use super::headers::Headers;
use super::method::Method;
use super::name::HeaderName;
use super::name_addr::{Contact, NameAddr};
use super::request::{write_tail, Request, NO_VIA};
use super::status::StatusCode;
use super::text::{memchr, push_decimal, split_list};
use super::via::Via;
use std::borrow::Cow;

/// A response. Parsed responses always carry Via, From, To, Call-ID and CSeq, and a status
/// in 100..=699.
///
/// Equality compares the wire content (status, reason, headers, body).
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    /// The table's phrase is borrowed: most responses sipbox builds carry it.
    reason: Cow<'static, str>,
    headers: Headers,
    body: Body,
    ess: Essentials,
}

impl PartialEq for Response {
    fn eq(&self, other: &Response) -> bool {
        self.status == other.status
            && self.reason == other.reason
            && self.headers == other.headers
            && self.body() == other.body()
    }
}

impl Eq for Response {}

impl Response {
    pub(crate) fn from_parts(
        status: u16,
        reason: &str,
        headers: Headers,
        body: Body,
        ess: Essentials,
    ) -> Response {
        Response {
            status,
            reason: reason_of(status, reason),
            headers,
            body,
            ess,
        }
    }

    /// An empty response with no headers (mostly for tests; prefer `for_request`).
    pub fn new(status: u16, reason: &str) -> Response {
        Response {
            status,
            reason: reason_of(status, reason),
            headers: Headers::with_capacity(512, 12),
            body: Body::default(),
            ess: Essentials::empty(Method::Invite),
        }
    }

    /// A response to `req`: copies every Via (verbatim; replace the top one with
    /// [`Response::set_top_via`] to add received/rport), From, To (adding `to_tag` if To
    /// has no tag yet), Call-ID and CSeq.
    pub fn for_request(req: &Request, status: u16, reason: &str, to_tag: Option<&str>) -> Response {
        Response::answer(req, status, reason, to_tag, None::<fn(&mut String)>)
    }

    /// [`Response::for_request`] with `top` in place of the request's top Via (the UAS's
    /// copy stamped with received/rport), printed straight into the response: what
    /// `for_request` + [`Response::set_top_via`] make, without the replaced copy.
    pub fn for_request_via(
        req: &Request,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        top: &Via,
    ) -> Response {
        Response::answer(
            req,
            status,
            reason,
            to_tag,
            Some(|s: &mut String| top.write_to(s)),
        )
    }

    /// [`Response::for_request_via`] with the stamped top Via already printed (a server
    /// transaction prints it once for all of its answers).
    pub fn for_request_top(
        req: &Request,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        top: &str,
    ) -> Response {
        Response::answer(
            req,
            status,
            reason,
            to_tag,
            Some(|s: &mut String| s.push_str(top)),
        )
    }

    fn answer(
        req: &Request,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        top: Option<impl FnOnce(&mut String)>,
    ) -> Response {
        let rh = req.headers();
        let mut headers = Headers::with_capacity(rh.text_len() / 2 + 128, 12);
        // One pass over the request's lines: each Via line is copied as it comes (one line
        // per value: a line holding several is split), the first From, To, Call-ID and CSeq
        // are noted and copied after them, each line as it stands in the request's text.
        let mut top = top;
        let mut first: [Option<usize>; 4] = [None; 4];
        for (i, name) in rh.names().enumerate() {
            let slot = match name {
                HeaderName::Via => {
                    // Only a Via's value is read here (the others are copied as lines).
                    let value = rh.value_at(i);
                    let several = memchr(value.as_bytes(), b',').is_some();
                    if let Some(write_top) = top.take() {
                        headers.push_with(HeaderName::Via, write_top);
                        if several {
                            for v in split_list(value).skip(1) {
                                headers.push(HeaderName::Via, v);
                            }
                        }
                    } else if !several {
                        headers.push_line_of(rh, i, HeaderName::Via, &[]);
                    } else {
                        for v in split_list(value) {
                            headers.push(HeaderName::Via, v);
                        }
                    }
                    continue;
                }
                HeaderName::From => 0,
                HeaderName::To => 1,
                HeaderName::CallId => 2,
                HeaderName::CSeq => 3,
                _ => continue,
            };
            if let Some(f) = first.get_mut(slot) {
                f.get_or_insert(i);
            }
        }
        if let Some(write_top) = top {
            // A request without a Via (a test's): the stamped one alone.
            headers.push_with(HeaderName::Via, write_top);
        }
        let [from, to, call_id, cseq] = first;
        let tag = to_tag.filter(|_| req.to_tag().is_none());
        match (from, to, call_id, cseq, tag) {
            (Some(f), Some(t), Some(c), Some(q), None) => headers.push_run_of(
                rh,
                [
                    (f, HeaderName::From),
                    (t, HeaderName::To),
                    (c, HeaderName::CallId),
                    (q, HeaderName::CSeq),
                ],
            ),
            (Some(f), Some(t), Some(c), Some(q), Some(tag)) => {
                headers.push_run_of(rh, [(f, HeaderName::From)]);
                headers.push_line_of(rh, t, HeaderName::To, &[";tag=", tag]);
                headers.push_run_of(rh, [(c, HeaderName::CallId), (q, HeaderName::CSeq)]);
            }
            _ => {
                // A built request missing one of them (a test's): each line on its own.
                let copy =
                    |h: &mut Headers, at: Option<usize>, name: HeaderName, extra: &[&str]| match at
                    {
                        Some(i) => h.push_line_of(rh, i, name, extra),
                        None => {
                            h.push_with(name, |s| extra.iter().for_each(|x| s.push_str(x)));
                        }
                    };
                copy(&mut headers, from, HeaderName::From, &[]);
                match tag {
                    Some(tag) => copy(&mut headers, to, HeaderName::To, &[";tag=", tag]),
                    None => copy(&mut headers, to, HeaderName::To, &[]),
                }
                copy(&mut headers, call_id, HeaderName::CallId, &[]);
                copy(&mut headers, cseq, HeaderName::CSeq, &[]);
            }
        }
        let ess = Essentials::for_response(req.cseq().clone());
        Response {
            status,
            reason: reason_of(status, reason),
            headers,
            body: Body::default(),
            ess,
        }
    }

    /// Status code, 100..=699.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Reason phrase (may be empty).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Every Via, top first.
    pub fn vias(&self) -> &[Via] {
        self.ess.vias(&self.headers)
    }

    /// The top Via (an empty Via only on a built response with none).
    pub fn top_via(&self) -> &Via {
        self.vias().first().unwrap_or(&NO_VIA)
    }

    super::message_common!();

    /// CSeq.
    pub fn cseq(&self) -> &CSeq {
        &self.ess.cseq
    }

    /// Replaces the top Via (e.g. with received/rport added by the UAS).
    pub fn set_top_via(&mut self, via: &Via) {
        // Written straight into one buffer: `to_string` would go through `core::fmt` and a
        // second copy, on every response sent.
        let mut text = String::with_capacity(96);
        via.write_to(&mut text);
        self.headers.replace_first_element(&HeaderName::Via, &text);
        self.ess.note(&HeaderName::Via, "");
    }

    /// Appends a header line (essentials also update the accessors; Content-Length is
    /// ignored, `to_bytes` computes it).
    /// The value is copied into the message text: a borrowed one costs no allocation.
    pub fn push_header(&mut self, name: HeaderName, value: impl AsRef<str>) {
        if name == HeaderName::ContentLength {
            return;
        }
        let value = value.as_ref();
        self.ess.note(&name, value);
        // Headers are appended: only the first Via is the top one the spans keep.
        let first_via = name == HeaderName::Via && self.headers.get(&HeaderName::Via).is_none();
        self.headers.push(name, value);
        if first_via {
            self.ess.note_built_via(&self.headers);
        }
    }

    /// Serializes with canonical header names and a computed Content-Length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.headers.text_len() + self.reason.len() + self.body().len() + 64,
        );
        self.write_to(&mut out);
        out
    }

    /// Appends what [`Response::to_bytes`] gives to `out` (a reused buffer: the transaction
    /// layer copies it once into the shared bytes it keeps for retransmission).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        // The status is three digits (100..=699): written as three bytes with the spaces.
        let s = self.status;
        let digit = |d: u16| b'0' + (d % 10) as u8;
        if (100..1000).contains(&s) {
            out.extend_from_slice(b"SIP/2.0 ");
            out.extend_from_slice(&[digit(s / 100), digit(s / 10), digit(s), b' ']);
        } else {
            out.extend_from_slice(b"SIP/2.0 ");
            push_decimal(out, usize::from(s));
            out.push(b' ');
        }
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        write_tail(out, &self.headers, self.body());
    }
}

/// `reason`, borrowed from the status table when it is the table's phrase (nearly every
/// response built or received): no String of its own.
fn reason_of(status: u16, reason: &str) -> Cow<'static, str> {
    match StatusCode::new(status) {
        Some(s) if s.reason() == reason => Cow::Borrowed(s.reason()),
        _ => Cow::Owned(reason.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_the_one_given_borrowed_or_not() {
        let text = "INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n\
                    From: <sip:a@h>;tag=1\r\nTo: <sip:1@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
                    Content-Length: 0\r\n\r\n";
        let req = match crate::sip::parse(text.as_bytes()).unwrap() {
            crate::sip::Message::Request(r) => r,
            other => panic!("{other:?}"),
        };
        let std = Response::for_request(&req, 486, "Busy Here", Some("t"));
        assert!(matches!(std.reason, Cow::Borrowed("Busy Here")));
        let own = Response::for_request(&req, 486, "Busy (DND)", Some("t"));
        assert_eq!(own.reason(), "Busy (DND)");
        assert!(own.to_bytes().starts_with(b"SIP/2.0 486 Busy (DND)\r\n"));
        assert!(std.to_bytes().starts_with(b"SIP/2.0 486 Busy Here\r\n"));
        assert_ne!(std, own);
    }

    #[test]
    fn the_copied_lines_are_the_request_lines_in_rfc_order() {
        // Lines in any order, compact and odd-case names (rewritten at parse, so not next to
        // the others), a Via line of two values, folding: the response's lines are the same.
        let text = "INVITE sip:1@h SIP/2.0\r\nt: <sip:1@h>\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKa,                     SIP/2.0/UDP b;branch=z9hG4bKb\r\nCSeq: 1 INVITE\r\nContact: <sip:x@a>\r\n\
                    Call-ID: c\r\nVIA: SIP/2.0/UDP d;branch=z9hG4bKd\r\nFrom: <sip:a@h>\r\n ;tag=1\r\n\
                    Content-Length: 0\r\n\r\n";
        let req = match crate::sip::parse(text.as_bytes()).unwrap() {
            crate::sip::Message::Request(r) => r,
            other => panic!("{other:?}"),
        };
        let tail = "Via: SIP/2.0/UDP b;branch=z9hG4bKb\r\nVia: SIP/2.0/UDP d;branch=z9hG4bKd\r\n\
                    From: <sip:a@h> ;tag=1\r\nTo: <sip:1@h>;tag=t\r\nCall-ID: c\r\n\
                    CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let top = Response::for_request_top(&req, 180, "Ringing", Some("t"), "SIP/2.0/UDP z");
        let want = format!("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP z\r\n{tail}");
        assert_eq!(String::from_utf8(top.to_bytes()).unwrap(), want);
        let all = Response::for_request(&req, 180, "Ringing", Some("t"));
        let want = format!("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKa\r\n{tail}");
        assert_eq!(String::from_utf8(all.to_bytes()).unwrap(), want);
        // In the usual order, with a To tag already: the four lines as they were.
        let text = "BYE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKa\r\nFrom: <sip:a@h>;tag=1\r\n\
                    To: <sip:1@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
        let req = match crate::sip::parse(text.as_bytes()).unwrap() {
            crate::sip::Message::Request(r) => r,
            other => panic!("{other:?}"),
        };
        let ok =
            Response::for_request_top(&req, 200, "OK", Some("t"), "SIP/2.0/UDP a;branch=z9hG4bKa");
        let want = text.replacen("BYE sip:1@h SIP/2.0", "SIP/2.0 200 OK", 1);
        assert_eq!(String::from_utf8(ok.to_bytes()).unwrap(), want);
        assert_eq!(ok.to().tag(), Some("2"));
        assert_eq!(ok.call_id(), "c");
        // Bare LF line ends (the parser accepts them): the copied lines end in CR LF and
        // take nothing of the line after them.
        let lf = text.replace("\r\n", "\n");
        let req = match crate::sip::parse(lf.as_bytes()).unwrap() {
            crate::sip::Message::Request(r) => r,
            other => panic!("{other:?}"),
        };
        let ok =
            Response::for_request_top(&req, 200, "OK", Some("t"), "SIP/2.0/UDP a;branch=z9hG4bKa");
        assert_eq!(String::from_utf8(ok.to_bytes()).unwrap(), want);
    }
}
