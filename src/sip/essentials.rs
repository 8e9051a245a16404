//! The headers every request and response must carry (RFC 3261 §8.1.1): Via, From, To,
//! Call-ID, CSeq, plus Max-Forwards and Content-Length. Validated once at parse (without
//! copying anything), so a handler can never see a message without them. CSeq and the
//! numbers are kept decoded; Via, From and To are decoded from the raw headers on first
//! access and cached; Call-ID is read from the raw headers. What most messages need of
//! them — the top Via's branch and sent-by, the From and To tags — is kept at parse as
//! spans of the header text ([`Spans`]), so matching a message to its transaction or
//! dialog decodes and copies nothing.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::cseq::CSeq;
use super::headers::{Headers, Span};
use super::method::Method;
use super::name::HeaderName;
use super::name_addr::{decode_display, NameAddr, NameAddrParts};
use super::text::{parse_u32, split_list, trim};
use super::uri::decode_user;
use super::via::{Via, ViaParts, MAGIC_COOKIE};

/// A problem with one essential header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// Canonical header name.
    pub header: &'static str,
    /// True if the header is absent, false if present but bad.
    pub missing: bool,
    /// Detail for logs.
    pub what: String,
}

fn bad(header: &'static str, what: impl Into<String>) -> Invalid {
    Invalid {
        header,
        missing: false,
        what: what.into(),
    }
}

/// The essentials of one message. Kept inline in the message (no allocation of their own
/// per message); From and To, large once decoded (200 bytes each) and decoded only for some
/// messages, are boxed when they are, both in one box: a message that needs one nearly
/// always needs the other (a new INVITE: the caller's entry, then the dialog), so the second
/// costs no allocation.
#[derive(Debug, Clone)]
pub(crate) struct Essentials {
    vias: OnceCell<Vec<Via>>,
    from_to: OnceCell<Box<FromTo>>,
    pub cseq: CSeq,
    pub max_forwards: Option<u32>,
    pub content_length: Option<u32>,
    /// The top Via's branch is exactly the magic cookie (set at parse).
    bare_cookie: bool,
    spans: Spans,
}

/// From and To, each decoded on first use.
#[derive(Debug, Clone, Default)]
struct FromTo {
    from: OnceCell<NameAddr>,
    to: OnceCell<NameAddr>,
}

/// The top Via's sent-by and branch as spans of the header text.
#[derive(Debug, Clone, Copy)]
struct TopVia {
    branch: Option<Span>,
    host: Span,
    port: Option<u16>,
}

/// Where a builder wrote a Via's host and branch (byte ranges of the header text) and its
/// port: see [`Essentials::note_marked_via`].
#[derive(Debug, Clone)]
pub(crate) struct ViaMarks {
    pub host: std::ops::Range<usize>,
    pub branch: std::ops::Range<usize>,
    pub port: u16,
}

/// Values read at parse, as spans of the header text. `None` means not known (a message
/// being built, or the header pushed again since): the accessors then decode.
#[derive(Debug, Clone, Copy, Default)]
struct Spans {
    top_via: Option<TopVia>,
    /// `Some(None)`: known to have no tag.
    from_tag: Option<Option<Span>>,
    to_tag: Option<Option<Span>>,
    /// The Call-ID value (trimmed).
    call_id: Option<Span>,
    /// From's value, user and display name (asked of every new INVITE).
    from: Option<AddrSpans>,
    /// To's value (its user is asked only without a Request-URI user: decoded then).
    to: Option<Span>,
}

/// A From or To value and the parts of it that are read without decoding it whole, as
/// spans of the header text.
#[derive(Debug, Clone, Copy)]
struct AddrSpans {
    /// The header value (the one a parsed message has).
    value: Span,
    /// The URI's user as written, still escaped.
    user: Option<Span>,
    /// The display name as written, quotes included.
    display: Option<Span>,
}

impl AddrSpans {
    /// The spans of `parts`, scanned from `value` (None if one is not in `h`'s text).
    fn of(h: &Headers, value: &str, parts: &NameAddrParts<'_>) -> Option<AddrSpans> {
        let opt = |p: Option<&str>| match p {
            Some(p) => h.span_of(p).map(Some),
            None => Some(None),
        };
        Some(AddrSpans {
            value: h.span_of(value)?,
            user: opt(parts.raw_user())?,
            display: opt(parts.raw_display())?,
        })
    }
}

/// The last value of a single-valued header (parsed messages have exactly one).
fn last<'h>(h: &'h Headers, name: &HeaderName) -> Option<&'h str> {
    h.iter().filter(|(n, _)| *n == name).map(|(_, v)| v).last()
}

/// The last `name` header (the value's span if kept: a parsed message's only one) decoded
/// as a name-addr (the default if it does not decode; a parsed message's does).
fn decode(h: &Headers, name: &HeaderName, value: Option<Span>) -> NameAddr {
    value_of(h, name, value)
        .and_then(|v| NameAddr::parse(v).ok())
        .unwrap_or_default()
}

/// The `name` header's value: its kept span, else the last such header.
fn value_of<'h>(h: &'h Headers, name: &HeaderName, value: Option<Span>) -> Option<&'h str> {
    match value {
        Some(v) => Some(h.at(v)),
        None => last(h, name),
    }
}

/// A From or To (`name`) without its tag: copied from the decoded value if there is one,
/// else decoded from the text (the value's span if kept) leaving the tag out.
fn without_tag(
    h: &Headers,
    name: &HeaderName,
    decoded: Option<&NameAddr>,
    value: Option<Span>,
) -> NameAddr {
    if let Some(d) = decoded {
        return d.without_tag();
    }
    value_of(h, name, value)
        .and_then(|v| NameAddrParts::scan(v).ok())
        .map(NameAddrParts::to_name_addr_without_tag)
        .unwrap_or_default()
}

/// The value of a header that must appear at most once, seen while scanning.
#[derive(Default)]
struct Slot<'a> {
    first: Option<&'a str>,
    more: bool,
}

impl<'a> Slot<'a> {
    fn put(&mut self, v: &'a str) {
        if self.first.is_some() {
            self.more = true;
        } else {
            self.first = Some(v);
        }
    }

    fn at_most_one(&self, canon: &'static str) -> Result<Option<&'a str>, Invalid> {
        if self.more {
            return Err(bad(canon, "more than one"));
        }
        Ok(self.first)
    }

    fn exactly_one(&self, canon: &'static str) -> Result<&'a str, Invalid> {
        // ok_or_else: the error's String is built only when it is one (every parse passes here).
        self.at_most_one(canon)?.ok_or_else(|| Invalid {
            header: canon,
            missing: true,
            what: "missing".into(),
        })
    }
}

/// Notes the top Via: whether its branch is the bare cookie, and its spans.
fn top_via(h: &Headers, via: &ViaParts<'_>, bare_cookie: &mut bool, spans: &mut Spans) {
    *bare_cookie = via.branch() == Some(MAGIC_COOKIE);
    spans.top_via = h.span_of(via.host()).map(|host| TopVia {
        branch: via.branch().and_then(|b| h.span_of(b)),
        host,
        port: via.port(),
    });
}

/// True if no byte of `b` is a control character, SP or DEL (a Call-ID `word` may hold
/// UTF-8; RFC 3261 §25.1 is stricter, this is what the parser always accepted). Eight bytes
/// at a time: a Call-ID is 20-50 bytes.
fn is_word(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let Ok(w) = <[u8; 8]>::try_from(c) else {
            break;
        };
        let x = u64::from_le_bytes(w);
        // A byte below 0x21 (exact as a whole: a flag is only ever false above a true one),
        // or a byte 0x7f (a zero byte of x ^ 0x7f..).
        let low = x.wrapping_sub(LO * 0x21) & !x & HI;
        let d = x ^ (LO * 0x7f);
        let del = d.wrapping_sub(LO) & !d & HI;
        if low | del != 0 {
            return false;
        }
    }
    !chunks.remainder().iter().any(|&c| c <= b' ' || c == 0x7f)
}

impl Essentials {
    /// Placeholder values for a message being built.
    pub fn empty(method: Method) -> Essentials {
        Essentials {
            vias: OnceCell::new(),
            from_to: OnceCell::new(),
            cseq: CSeq { seq: 1, method },
            max_forwards: None,
            content_length: None,
            bare_cookie: false,
            spans: Spans::default(),
        }
    }

    /// For a response built from a request: CSeq copied, the rest decoded from the raw
    /// headers on demand.
    pub fn for_response(cseq: CSeq) -> Essentials {
        let mut e = Essentials::empty(cseq.method.clone());
        e.cseq = cseq;
        e
    }

    /// Checks the essentials of parsed headers, decoding only CSeq and the numbers.
    pub fn validate(h: &Headers) -> Result<Essentials, Invalid> {
        let mut n_vias = 0usize;
        let mut bare_cookie = false;
        let mut spans = Spans::default();
        let mut from = Slot::default();
        let mut to = Slot::default();
        let mut call_id = Slot::default();
        let mut cseq = Slot::default();
        let mut max_forwards = Slot::default();
        let mut content_length = Slot::default();
        for (name, value) in h.iter() {
            let slot: &mut Slot = match name {
                HeaderName::Via => {
                    // A value in the plain form holds no comma: it is one Via, what the
                    // list split would yield (no list walk for the usual single Via).
                    if let Some(via) = ViaParts::scan_plain(value) {
                        if n_vias == 0 {
                            top_via(h, &via, &mut bare_cookie, &mut spans);
                        }
                        n_vias += 1;
                        continue;
                    }
                    for v in split_list(value) {
                        let via = ViaParts::scan(v).map_err(|e| bad("Via", e))?;
                        if n_vias == 0 {
                            top_via(h, &via, &mut bare_cookie, &mut spans);
                        }
                        n_vias += 1;
                    }
                    continue;
                }
                HeaderName::From => &mut from,
                HeaderName::To => &mut to,
                HeaderName::CallId => &mut call_id,
                HeaderName::CSeq => &mut cseq,
                HeaderName::MaxForwards => &mut max_forwards,
                HeaderName::ContentLength => &mut content_length,
                _ => continue,
            };
            slot.put(value);
        }
        if n_vias == 0 {
            return Err(Invalid {
                header: "Via",
                missing: true,
                what: "missing".into(),
            });
        }
        let from_value = from.exactly_one("From")?;
        let from = NameAddrParts::scan(from_value).map_err(|e| bad("From", e))?;
        let to_value = to.exactly_one("To")?;
        let to = NameAddrParts::scan(to_value).map_err(|e| bad("To", e))?;
        spans.from = AddrSpans::of(h, from_value, &from);
        spans.to = h.span_of(to_value);
        let tag_span = |tag: Option<&str>| match tag {
            Some(t) => h.span_of(t).map(Some),
            None => Some(None),
        };
        spans.from_tag = tag_span(from.tag());
        spans.to_tag = tag_span(to.tag());
        let call_id = trim(call_id.exactly_one("Call-ID")?);
        if call_id.is_empty() || !is_word(call_id.as_bytes()) {
            return Err(bad("Call-ID", "not a word"));
        }
        spans.call_id = h.span_of(call_id);
        let cseq = CSeq::parse(cseq.exactly_one("CSeq")?).map_err(|e| bad("CSeq", e))?;
        let number = |slot: &Slot, canon: &'static str| match slot.at_most_one(canon)? {
            Some(v) => parse_u32(trim(v))
                .map(Some)
                .ok_or_else(|| bad(canon, "not a number")),
            None => Ok(None),
        };
        let max_forwards = number(&max_forwards, "Max-Forwards")?;
        let content_length = number(&content_length, "Content-Length")?;
        // Built in place, not from `for_response` and then overwritten field by field.
        Ok(Essentials {
            vias: OnceCell::new(),
            from_to: OnceCell::new(),
            cseq,
            max_forwards,
            content_length,
            bare_cookie,
            spans,
        })
    }

    /// Request-only rules: the CSeq method equals the request method (RFC 3261 §8.1.1.5)
    /// and the top branch is not the bare magic cookie (RFC 4475 §3.2.1).
    pub fn check_request(&self, method: &Method) -> Result<(), Invalid> {
        if self.cseq.method != *method {
            return Err(bad("CSeq", "method does not match the request line"));
        }
        if self.bare_cookie {
            return Err(bad("Via", "branch is only the magic cookie"));
        }
        Ok(())
    }

    /// Every Via, decoded on first use (values that do not decode are skipped; there are
    /// none in a parsed message).
    pub fn vias(&self, h: &Headers) -> &[Via] {
        self.vias.get_or_init(|| {
            h.get_all(&HeaderName::Via)
                .filter_map(|v| Via::parse(v).ok())
                .collect()
        })
    }

    /// From, decoded on first use.
    pub fn from(&self, h: &Headers) -> &NameAddr {
        let from_to = self.from_to.get_or_init(Box::default);
        from_to
            .from
            .get_or_init(|| decode(h, &HeaderName::From, self.spans.from.map(|a| a.value)))
    }

    /// To, decoded on first use.
    pub fn to(&self, h: &Headers) -> &NameAddr {
        let from_to = self.from_to.get_or_init(Box::default);
        from_to
            .to
            .get_or_init(|| decode(h, &HeaderName::To, self.spans.to))
    }

    /// From without its tag parameters, as [`NameAddr::without_tag`] of [`Self::from`]
    /// gives it: decoded from the text without the tag (and not cached) unless From was
    /// decoded already.
    // The From header without its tag, not a conversion.
    #[allow(clippy::wrong_self_convention)]
    pub fn from_without_tag(&self, h: &Headers) -> NameAddr {
        let decoded = self.from_to.get().and_then(|d| d.from.get());
        without_tag(
            h,
            &HeaderName::From,
            decoded,
            self.spans.from.map(|a| a.value),
        )
    }

    /// To without its tag parameters (see [`Self::from_without_tag`]).
    pub fn to_without_tag(&self, h: &Headers) -> NameAddr {
        let decoded = self.from_to.get().and_then(|d| d.to.get());
        without_tag(h, &HeaderName::To, decoded, self.spans.to)
    }

    /// The From URI's user, `%HH` escapes decoded (what `from().uri.user` holds), without
    /// decoding From when its span was kept at parse.
    // The From header's user, not a conversion.
    #[allow(clippy::wrong_self_convention)]
    pub fn from_user<'h>(&'h self, h: &'h Headers) -> Option<Cow<'h, str>> {
        match self.spans.from {
            Some(a) => a.user.map(|u| decode_user(h.at(u))),
            None => self.from(h).uri.user.as_deref().map(Cow::Borrowed),
        }
    }

    /// The From display name, unquoted (what `from().display` holds), without decoding
    /// From when its span was kept at parse.
    // The From header's display name, not a conversion.
    #[allow(clippy::wrong_self_convention)]
    pub fn from_display<'h>(&'h self, h: &'h Headers) -> Option<Cow<'h, str>> {
        match self.spans.from {
            Some(a) => a.display.and_then(|d| decode_display(h.at(d))),
            None => self.from(h).display.as_deref().map(Cow::Borrowed),
        }
    }

    /// The top Via's branch, from the span kept at parse (decoded otherwise).
    pub fn top_branch<'h>(&'h self, h: &'h Headers) -> Option<&'h str> {
        match self.spans.top_via {
            Some(t) => t.branch.map(|b| h.at(b)),
            None => self.vias(h).first().and_then(Via::branch),
        }
    }

    /// The top Via's sent-by host and port (None: a built message without a Via).
    pub fn top_sent_by<'h>(&'h self, h: &'h Headers) -> Option<(&'h str, Option<u16>)> {
        match self.spans.top_via {
            Some(t) => Some((h.at(t.host), t.port)),
            None => self.vias(h).first().map(|v| (v.host.as_str(), v.port)),
        }
    }

    /// The From tag, from the span kept at parse (decoded otherwise).
    // The From header's tag, not a conversion.
    #[allow(clippy::wrong_self_convention)]
    pub fn from_tag<'h>(&'h self, h: &'h Headers) -> Option<&'h str> {
        match self.spans.from_tag {
            Some(t) => t.map(|t| h.at(t)),
            None => self.from(h).tag(),
        }
    }

    /// The To tag, from the span kept at parse (decoded otherwise).
    pub fn to_tag<'h>(&'h self, h: &'h Headers) -> Option<&'h str> {
        match self.spans.to_tag {
            Some(t) => t.map(|t| h.at(t)),
            None => self.to(h).tag(),
        }
    }

    /// Call-ID, from the span kept at parse (read from the raw headers otherwise).
    pub fn call_id<'h>(&self, h: &'h Headers) -> &'h str {
        match self.spans.call_id {
            Some(c) => h.at(c),
            None => last(h, &HeaderName::CallId).map(trim).unwrap_or(""),
        }
    }

    /// After a Via was pushed on a message being built: the top Via's span again, if the
    /// first Via value scans (otherwise the accessors decode, skipping it as `vias` does).
    pub fn note_built_via(&mut self, h: &Headers) {
        self.spans.top_via = h
            .get_all(&HeaderName::Via)
            .next()
            .and_then(|v| ViaParts::scan(v).ok())
            .and_then(|via| {
                Some(TopVia {
                    branch: match via.branch() {
                        Some(b) => Some(h.span_of(b)?),
                        None => None,
                    },
                    host: h.span_of(via.host())?,
                    port: via.port(),
                })
            });
    }

    /// What [`Self::note_built_via`] finds, from the builder's own marks (byte ranges of the
    /// header text it just wrote): no rescan of a Via whose parts are known.
    pub(crate) fn note_marked_via(&mut self, marks: ViaMarks) {
        self.spans.top_via =
            Span::of(marks.host)
                .zip(Span::of(marks.branch))
                .map(|(host, branch)| TopVia {
                    branch: Some(branch),
                    host,
                    port: Some(marks.port),
                });
    }

    /// Keeps the decoded values in step after a header was pushed while building a
    /// message. Values that do not parse are left raw only.
    pub fn note(&mut self, name: &HeaderName, value: &str) {
        match name {
            HeaderName::Via => {
                self.vias.take();
                self.spans.top_via = None;
            }
            HeaderName::From => {
                if let Some(d) = self.from_to.get_mut() {
                    d.from.take();
                }
                self.spans.from_tag = None;
                self.spans.from = None;
            }
            HeaderName::To => {
                if let Some(d) = self.from_to.get_mut() {
                    d.to.take();
                }
                self.spans.to_tag = None;
                self.spans.to = None;
            }
            HeaderName::CallId => self.spans.call_id = None,
            HeaderName::CSeq => {
                if let Ok(c) = CSeq::parse(value) {
                    self.cseq = c;
                }
            }
            HeaderName::MaxForwards => self.max_forwards = parse_u32(trim(value)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::parser::{parse, Message};
    use crate::sip::Request;

    fn request(from: &str, to: &str) -> Option<Request> {
        let text = format!(
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"
        );
        match parse(text.as_bytes()) {
            Ok(Message::Request(r)) => Some(r),
            _ => None,
        }
    }

    /// What the spans kept at parse give (users, display name, tagless copies) is what
    /// decoding From and To whole gives, on tricky values and single edits of them.
    #[test]
    fn read_off_the_text_equals_the_decode() {
        let seeds = [
            r#""Bob \"B\" Smith" <sip:b%40x@example.com;lr>;tag=abc;x"#,
            "caller<SIP:caller@example.com>;tag=323",
            "sip:+1972%3b5552222@gw1.example.net;unknownparam;tag=t",
            "<sip:a@[2001:db8::1]:5060;transport=udp>;tag=1;TAG=2;q=0.5",
            "Anonymous Person <sips:%41lice@h>;Tag=x;y=\"v\"",
            "\"\" <tel:+1-201-555-0123>;tag=z",
            "<sip:h.example.com>;tag=only",
            "\"A\" <sip:1001@127.0.0.1>;tag=9SIPpTag091",
        ];
        let mut seen = 0;
        for v in crate::sip::text::single_edits(&seeds) {
            let (Some(new), Some(old)) = (request(&v, &v), request(&v, &v)) else {
                continue;
            };
            seen += 1;
            let (from, to) = (old.from(), old.to());
            assert_eq!(
                new.from_user().as_deref(),
                from.uri.user.as_deref(),
                "{v:?}"
            );
            assert_eq!(
                new.from_display().as_deref(),
                from.display.as_deref(),
                "{v:?}"
            );
            assert_eq!(new.from_without_tag(), from.without_tag(), "{v:?}");
            assert_eq!(new.to_without_tag(), to.without_tag(), "{v:?}");
            // Once decoded, the tagless copy is the decoded value's.
            assert_eq!(old.from_without_tag(), from.without_tag(), "{v:?}");
        }
        assert!(seen > 500, "{seen}");
    }

    /// A built request (no spans) reads the same through its decoded From and To.
    #[test]
    fn built_messages_read_the_decoded_values() {
        let mut r = Request::new(Method::Invite, crate::sip::Uri::parse("sip:a@b").unwrap());
        r.push_header(HeaderName::From, r#""A \"q\"" <sip:a%20b@h>;tag=1;x"#);
        r.push_header(HeaderName::To, "<sip:c@h>");
        assert_eq!(r.from_user().as_deref(), Some("a b"));
        assert_eq!(r.from_display().as_deref(), Some(r#"A "q""#));
        assert_eq!(
            r.from_without_tag().to_string(),
            r#""A \"q\"" <sip:a%20b@h>;x"#
        );
        assert_eq!(r.to_without_tag(), r.to().without_tag());
    }

    /// The word check eight bytes at a time says what the byte loop says, wherever the
    /// odd byte sits.
    #[test]
    fn call_id_word_check_matches_the_byte_loop() {
        let slow = |b: &[u8]| !b.iter().any(|&c| c <= b' ' || c == 0x7f);
        for odd in [0u8, 1, b'\t', b' ', b'!', 0x7e, 0x7f, 0x80, 0xa0, 0xff] {
            for len in 0..20usize {
                for at in 0..len {
                    for fill in [b'a', b'!', 0x80, 0x7e] {
                        let mut v = vec![fill; len];
                        v[at] = odd;
                        assert_eq!(is_word(&v), slow(&v), "{odd} {len} {at} {fill}");
                    }
                }
                let v = vec![b'x'; len];
                assert_eq!(is_word(&v), slow(&v));
            }
        }
    }
}
