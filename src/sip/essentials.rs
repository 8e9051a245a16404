//! The headers every request and response must carry (RFC 3261 §8.1.1): Via, From, To,
//! Call-ID, CSeq, plus Max-Forwards and Content-Length. Validated once at parse, so a
//! handler can never see a message without them; kept in step with the raw headers by
//! `note` when a message is built.

use super::cseq::CSeq;
use super::headers::Headers;
use super::method::Method;
use super::name::HeaderName;
use super::name_addr::NameAddr;
use super::text::{parse_u32, split_list, trim};
use super::via::Via;

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

/// The decoded essential headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Essentials {
    pub vias: Vec<Via>,
    pub from: NameAddr,
    pub to: NameAddr,
    pub call_id: String,
    pub cseq: CSeq,
    pub max_forwards: Option<u32>,
    pub content_length: Option<u32>,
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
        self.at_most_one(canon)?.ok_or(Invalid {
            header: canon,
            missing: true,
            what: "missing".into(),
        })
    }
}

impl Essentials {
    /// Placeholder values for a message being built.
    pub fn empty(method: Method) -> Essentials {
        Essentials {
            vias: Vec::new(),
            from: NameAddr::default(),
            to: NameAddr::default(),
            call_id: String::new(),
            cseq: CSeq { seq: 1, method },
            max_forwards: None,
            content_length: None,
        }
    }

    /// Decodes and checks the essentials of parsed headers.
    pub fn validate(h: &Headers) -> Result<Box<Essentials>, Invalid> {
        let mut vias = Vec::with_capacity(2);
        let mut from = Slot::default();
        let mut to = Slot::default();
        let mut call_id = Slot::default();
        let mut cseq = Slot::default();
        let mut max_forwards = Slot::default();
        let mut content_length = Slot::default();
        for (name, value) in h.iter() {
            let slot: &mut Slot = match name {
                HeaderName::Via => {
                    for v in split_list(value) {
                        vias.push(Via::parse(v).map_err(|e| bad("Via", e))?);
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
        if vias.is_empty() {
            return Err(Invalid {
                header: "Via",
                missing: true,
                what: "missing".into(),
            });
        }
        let from = NameAddr::parse(from.exactly_one("From")?).map_err(|e| bad("From", e))?;
        let to = NameAddr::parse(to.exactly_one("To")?).map_err(|e| bad("To", e))?;
        let call_id = trim(call_id.exactly_one("Call-ID")?);
        if call_id.is_empty() || call_id.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("Call-ID", "not a word"));
        }
        let cseq = CSeq::parse(cseq.exactly_one("CSeq")?).map_err(|e| bad("CSeq", e))?;
        let max_forwards = match max_forwards.at_most_one("Max-Forwards")? {
            Some(v) => Some(parse_u32(trim(v)).ok_or_else(|| bad("Max-Forwards", "not a number"))?),
            None => None,
        };
        let content_length = match content_length.at_most_one("Content-Length")? {
            Some(v) => {
                Some(parse_u32(trim(v)).ok_or_else(|| bad("Content-Length", "not a number"))?)
            }
            None => None,
        };
        Ok(Box::new(Essentials {
            vias,
            from,
            to,
            call_id: call_id.to_owned(),
            cseq,
            max_forwards,
            content_length,
        }))
    }

    /// Request-only rules: the CSeq method equals the request method (RFC 3261 §8.1.1.5)
    /// and the top branch is not the bare magic cookie (RFC 4475 §3.2.1).
    pub fn check_request(&self, method: &Method) -> Result<(), Invalid> {
        if self.cseq.method != *method {
            return Err(bad("CSeq", "method does not match the request line"));
        }
        if self.vias.first().and_then(Via::branch) == Some(super::via::MAGIC_COOKIE) {
            return Err(bad("Via", "branch is only the magic cookie"));
        }
        Ok(())
    }

    /// Updates the decoded value after a header was pushed while building a message.
    /// Values that do not parse are left raw only.
    pub fn note(&mut self, name: &HeaderName, value: &str) {
        match name {
            HeaderName::Via => {
                let list = split_list(value);
                self.vias.extend(list.filter_map(|v| Via::parse(v).ok()));
            }
            HeaderName::From => {
                if let Ok(a) = NameAddr::parse(value) {
                    self.from = a;
                }
            }
            HeaderName::To => {
                if let Ok(a) = NameAddr::parse(value) {
                    self.to = a;
                }
            }
            HeaderName::CallId => self.call_id = trim(value).to_owned(),
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
