//! Header names: the one table of every header sipbox knows, with its canonical spelling,
//! its compact form (RFC 3261 §7.3.3, §20; RFC 3515 for `r`; RFC 3265 for `o`/`u`; RFC 4028
//! for `x`; RFC 3841 for `j`/`d`; RFC 3892 for `b`) and whether its value is a
//! comma-separated list (RFC 3261 §7.3.1).

use std::fmt;
use std::hash::{Hash, Hasher};

fn same_compact(compact: Option<&str>, lower: u8) -> bool {
    compact.is_some_and(|c| c.as_bytes() == [lower])
}

/// For each lowercase first byte, a bit mask of the [`LONG`] entries starting with it.
static BY_FIRST: [u64; 256] = by_first();

const _: () = assert!(LONG.len() <= 64, "BY_FIRST masks hold 64 names");

const fn by_first() -> [u64; 256] {
    let mut masks = [0u64; 256];
    let mut i = 0;
    while i < LONG.len() {
        if let [b, ..] = LONG[i].0.as_bytes() {
            masks[*b as usize] |= 1 << i;
        }
        i += 1;
    }
    masks
}

macro_rules! header_names {
    ($( $(#[$doc:meta])* $variant:ident, $canon:literal, $lower:literal, $compact:expr, $list:literal; )*) => {
        /// A SIP header name. Parsing is case-insensitive and maps compact forms to their
        /// long form; unknown names are kept as [`HeaderName::Other`] with their spelling.
        #[derive(Debug, Clone, Eq)]
        pub enum HeaderName {
            $( $(#[$doc])* $variant, )*
            /// Any header not in the table, spelled as received.
            Other(String),
        }

        /// Every long name, lowercase, with its constructor (table order).
        const LONG: &[(&str, fn() -> HeaderName)] = &[ $( ($lower, || HeaderName::$variant), )* ];

        /// Every long name as [`HeaderName::as_str`] spells it (table order, as [`LONG`]).
        const CANON: &[&str] = &[ $( $canon, )* ];

        impl HeaderName {
            /// The canonical long form, e.g. `"Call-ID"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $canon, )*
                    HeaderName::Other(s) => s,
                }
            }

            /// `"Name: "` as written on the wire, for names in the table.
            pub(crate) fn wire_prefix(&self) -> Option<&'static str> {
                match self {
                    $( HeaderName::$variant => Some(concat!($canon, ": ")), )*
                    HeaderName::Other(_) => None,
                }
            }

            /// The compact form (`"i"` for Call-ID), if the header has one.
            pub fn compact(&self) -> Option<&'static str> {
                match self {
                    $( HeaderName::$variant => $compact, )*
                    HeaderName::Other(_) => None,
                }
            }

            /// True if the header's value is a comma-separated list, so one line may hold
            /// several values and several lines may be joined with commas.
            pub fn is_list(&self) -> bool {
                match self {
                    $( HeaderName::$variant => $list, )*
                    HeaderName::Other(_) => false,
                }
            }

            /// [`HeaderName::lookup`], and whether `s` is the canonical spelling: the names
            /// starting with the same letter are compared exactly first (senders write
            /// canonical names), then without case.
            fn lookup_as_written(s: &str) -> Option<(HeaderName, bool)> {
                let b = s.as_bytes();
                let first = b.first()?.to_ascii_lowercase();
                if b.len() == 1 {
                    return HeaderName::lookup(s).map(|n| (n, false));
                }
                let mut candidates = BY_FIRST.get(usize::from(first)).copied().unwrap_or(0);
                while candidates != 0 {
                    let i = candidates.trailing_zeros() as usize;
                    candidates &= candidates - 1;
                    if let (Some((name, make)), Some(canon)) = (LONG.get(i), CANON.get(i)) {
                        if name.len() == b.len() {
                            if s == *canon {
                                return Some((make(), true));
                            }
                            if s.eq_ignore_ascii_case(name) {
                                return Some((make(), false));
                            }
                        }
                    }
                }
                None
            }

            /// Case-insensitive lookup of a long name or compact form.
            fn lookup(s: &str) -> Option<HeaderName> {
                let b = s.as_bytes();
                let first = b.first()?.to_ascii_lowercase();
                if b.len() == 1 {
                    $( if same_compact($compact, first) {
                        return Some(HeaderName::$variant);
                    } )*
                    return None;
                }
                // Only the names starting with the same letter are compared.
                let mut candidates = BY_FIRST.get(usize::from(first)).copied().unwrap_or(0);
                while candidates != 0 {
                    let i = candidates.trailing_zeros() as usize;
                    candidates &= candidates - 1;
                    if let Some((name, make)) = LONG.get(i) {
                        if name.len() == b.len() && s.eq_ignore_ascii_case(name) {
                            return Some(make());
                        }
                    }
                }
                None
            }
        }
    };
}

header_names! {
    /// `Via` (`v`).
    Via, "Via", "via", Some("v"), true;
    /// `From` (`f`).
    From, "From", "from", Some("f"), false;
    /// `To` (`t`).
    To, "To", "to", Some("t"), false;
    /// `Call-ID` (`i`).
    CallId, "Call-ID", "call-id", Some("i"), false;
    /// `CSeq`.
    CSeq, "CSeq", "cseq", None, false;
    /// `Max-Forwards`.
    MaxForwards, "Max-Forwards", "max-forwards", None, false;
    /// `Content-Length` (`l`).
    ContentLength, "Content-Length", "content-length", Some("l"), false;
    /// `Content-Type` (`c`).
    ContentType, "Content-Type", "content-type", Some("c"), false;
    /// `Contact` (`m`).
    Contact, "Contact", "contact", Some("m"), true;
    /// `Expires`.
    Expires, "Expires", "expires", None, false;
    /// `Min-Expires`.
    MinExpires, "Min-Expires", "min-expires", None, false;
    /// `Authorization`.
    Authorization, "Authorization", "authorization", None, false;
    /// `Proxy-Authorization`.
    ProxyAuthorization, "Proxy-Authorization", "proxy-authorization", None, false;
    /// `WWW-Authenticate`.
    WwwAuthenticate, "WWW-Authenticate", "www-authenticate", None, false;
    /// `Proxy-Authenticate`.
    ProxyAuthenticate, "Proxy-Authenticate", "proxy-authenticate", None, false;
    /// `Authentication-Info`.
    AuthenticationInfo, "Authentication-Info", "authentication-info", None, false;
    /// `Allow`.
    Allow, "Allow", "allow", None, true;
    /// `Accept`.
    Accept, "Accept", "accept", None, true;
    /// `Accept-Encoding`.
    AcceptEncoding, "Accept-Encoding", "accept-encoding", None, true;
    /// `Accept-Language`.
    AcceptLanguage, "Accept-Language", "accept-language", None, true;
    /// `Supported` (`k`).
    Supported, "Supported", "supported", Some("k"), true;
    /// `Require`.
    Require, "Require", "require", None, true;
    /// `Proxy-Require`.
    ProxyRequire, "Proxy-Require", "proxy-require", None, true;
    /// `Unsupported`.
    Unsupported, "Unsupported", "unsupported", None, true;
    /// `Route`.
    Route, "Route", "route", None, true;
    /// `Record-Route`.
    RecordRoute, "Record-Route", "record-route", None, true;
    /// `User-Agent`.
    UserAgent, "User-Agent", "user-agent", None, false;
    /// `Server`.
    Server, "Server", "server", None, false;
    /// `Retry-After`.
    RetryAfter, "Retry-After", "retry-after", None, false;
    /// `X-Sipbox-Loop`: the loop markers of the sipboxes an INVITE passed (sipbox's own).
    SipboxLoop, "X-Sipbox-Loop", "x-sipbox-loop", None, true;
    /// `Date`.
    Date, "Date", "date", None, false;
    /// `Subject` (`s`).
    Subject, "Subject", "subject", Some("s"), false;
    /// `Event` (`o`, RFC 3265).
    Event, "Event", "event", Some("o"), false;
    /// `Allow-Events` (`u`, RFC 3265).
    AllowEvents, "Allow-Events", "allow-events", Some("u"), true;
    /// `Subscription-State` (RFC 3265).
    SubscriptionState, "Subscription-State", "subscription-state", None, false;
    /// `Refer-To` (`r`, RFC 3515).
    ReferTo, "Refer-To", "refer-to", Some("r"), false;
    /// `Remote-Party-ID` (draft-ietf-sip-privacy-04, as chan_sip sends it).
    RemotePartyId, "Remote-Party-ID", "remote-party-id", None, true;
    /// `P-Asserted-Identity` (RFC 3325).
    PAssertedIdentity, "P-Asserted-Identity", "p-asserted-identity", None, true;
    /// `Privacy` (RFC 3323).
    Privacy, "Privacy", "privacy", None, false;
    /// `Referred-By` (`b`, RFC 3892).
    ReferredBy, "Referred-By", "referred-by", Some("b"), false;
    /// `Replaces` (RFC 3891).
    Replaces, "Replaces", "replaces", None, false;
    /// `Content-Encoding` (`e`).
    ContentEncoding, "Content-Encoding", "content-encoding", Some("e"), true;
    /// `Content-Disposition`.
    ContentDisposition, "Content-Disposition", "content-disposition", None, false;
    /// `Content-Language`.
    ContentLanguage, "Content-Language", "content-language", None, true;
    /// `MIME-Version`.
    MimeVersion, "MIME-Version", "mime-version", None, false;
    /// `Organization`.
    Organization, "Organization", "organization", None, false;
    /// `Priority`.
    Priority, "Priority", "priority", None, false;
    /// `Reply-To`.
    ReplyTo, "Reply-To", "reply-to", None, false;
    /// `In-Reply-To`.
    InReplyTo, "In-Reply-To", "in-reply-to", None, true;
    /// `Timestamp`.
    Timestamp, "Timestamp", "timestamp", None, false;
    /// `Warning`.
    Warning, "Warning", "warning", None, true;
    /// `Alert-Info`.
    AlertInfo, "Alert-Info", "alert-info", None, true;
    /// `Call-Info`.
    CallInfo, "Call-Info", "call-info", None, true;
    /// `Error-Info`.
    ErrorInfo, "Error-Info", "error-info", None, true;
    /// `RSeq` (RFC 3262).
    RSeq, "RSeq", "rseq", None, false;
    /// `RAck` (RFC 3262).
    RAck, "RAck", "rack", None, false;
    /// `Session-Expires` (`x`, RFC 4028).
    SessionExpires, "Session-Expires", "session-expires", Some("x"), false;
    /// `Min-SE` (RFC 4028).
    MinSe, "Min-SE", "min-se", None, false;
    /// `Reason` (RFC 3326).
    Reason, "Reason", "reason", None, true;
    /// `Path` (RFC 3327).
    Path, "Path", "path", None, true;
    /// `Accept-Contact` (`a`, RFC 3841).
    AcceptContact, "Accept-Contact", "accept-contact", Some("a"), true;
    /// `Reject-Contact` (`j`, RFC 3841).
    RejectContact, "Reject-Contact", "reject-contact", Some("j"), true;
    /// `Request-Disposition` (`d`, RFC 3841).
    RequestDisposition, "Request-Disposition", "request-disposition", Some("d"), true;
}

impl HeaderName {
    /// Parses a header name case-insensitively, mapping compact forms to the long form.
    pub fn parse(s: &str) -> HeaderName {
        HeaderName::essential(s)
            .or_else(|| HeaderName::lookup(s))
            .unwrap_or_else(|| HeaderName::Other(s.to_owned()))
    }

    /// [`HeaderName::parse`], and whether [`HeaderName::as_str`] spells it as `s` is
    /// written (the canonical spelling, or any spelling of an unknown name).
    // Inlined into the header reader: the exact match of the usual names stays on its path,
    // the table walk of the others is a call.
    #[inline]
    pub(crate) fn parse_as_written(s: &str) -> (HeaderName, bool) {
        if let Some(n) = HeaderName::exact(s) {
            return (n, true);
        }
        HeaderName::parse_other_as_written(s)
    }

    /// [`HeaderName::parse_as_written`] past the exact match: one walk of the table answers
    /// both (no second exact match, no spelling compare).
    #[inline(never)]
    fn parse_other_as_written(s: &str) -> (HeaderName, bool) {
        match HeaderName::lookup_as_written(s) {
            Some(found) => found,
            None => (HeaderName::Other(s.to_owned()), true),
        }
    }

    /// The canonical spellings of the headers every message carries.
    fn exact(s: &str) -> Option<HeaderName> {
        match s {
            "Via" => Some(HeaderName::Via),
            "From" => Some(HeaderName::From),
            "To" => Some(HeaderName::To),
            "Call-ID" => Some(HeaderName::CallId),
            "CSeq" => Some(HeaderName::CSeq),
            "Contact" => Some(HeaderName::Contact),
            "Max-Forwards" => Some(HeaderName::MaxForwards),
            "Content-Length" => Some(HeaderName::ContentLength),
            "Content-Type" => Some(HeaderName::ContentType),
            _ => None,
        }
    }

    /// Fast path for the long forms of the headers every message carries (the table
    /// lookup gives the same answer, only slower).
    fn essential(s: &str) -> Option<HeaderName> {
        // Most senders use the canonical spelling: one exact comparison.
        let exact = HeaderName::exact(s);
        if exact.is_some() {
            return exact;
        }
        let is = |canon: &str| s.eq_ignore_ascii_case(canon);
        let name = match (s.len(), s.as_bytes().first()?.to_ascii_lowercase()) {
            (3, b'v') if is("via") => HeaderName::Via,
            (4, b'f') if is("from") => HeaderName::From,
            (2, b't') if is("to") => HeaderName::To,
            (7, b'c') if is("call-id") => HeaderName::CallId,
            (7, b'c') if is("contact") => HeaderName::Contact,
            (4, b'c') if is("cseq") => HeaderName::CSeq,
            (12, b'm') if is("max-forwards") => HeaderName::MaxForwards,
            (14, b'c') if is("content-length") => HeaderName::ContentLength,
            (12, b'c') if is("content-type") => HeaderName::ContentType,
            _ => return None,
        };
        Some(name)
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &HeaderName) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        if let HeaderName::Other(s) = self {
            for b in s.bytes() {
                state.write_u8(b.to_ascii_lowercase());
            }
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::HeaderName;

    #[test]
    fn compact_and_case() {
        for (s, n) in [
            ("i", HeaderName::CallId),
            ("CALL-id", HeaderName::CallId),
            ("m", HeaderName::Contact),
            ("v", HeaderName::Via),
            ("F", HeaderName::From),
            ("t", HeaderName::To),
            ("l", HeaderName::ContentLength),
            ("c", HeaderName::ContentType),
            ("k", HeaderName::Supported),
            ("s", HeaderName::Subject),
            ("e", HeaderName::ContentEncoding),
            ("o", HeaderName::Event),
            ("r", HeaderName::ReferTo),
            ("u", HeaderName::AllowEvents),
            ("cseq", HeaderName::CSeq),
            ("www-authenticate", HeaderName::WwwAuthenticate),
        ] {
            assert_eq!(HeaderName::parse(s), n, "{s}");
        }
        assert_eq!(HeaderName::parse("i").as_str(), "Call-ID");
        assert_eq!(HeaderName::CallId.compact(), Some("i"));
    }

    #[test]
    fn every_table_name_parses_back() {
        for (lower, make) in super::LONG {
            let name = make();
            assert_eq!(HeaderName::parse(lower), name);
            assert_eq!(HeaderName::parse(name.as_str()), name);
            assert_eq!(HeaderName::parse(&name.as_str().to_uppercase()), name);
            if let Some(c) = name.compact() {
                assert_eq!(HeaderName::parse(&c.to_uppercase()), name);
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_table() {
        for s in [
            "via",
            "VIA",
            "From",
            "to",
            "Call-ID",
            "contact",
            "CSeq",
            "Max-Forwards",
            "content-length",
            "Content-Type",
            "Allow",
            "Supported",
            "x",
            "vià",
        ] {
            if let Some(fast) = HeaderName::essential(s) {
                assert_eq!(Some(fast), HeaderName::lookup(s), "{s}");
            }
        }
        assert_eq!(HeaderName::essential("contact"), Some(HeaderName::Contact));
        assert_eq!(HeaderName::essential("call-id"), Some(HeaderName::CallId));
    }

    #[test]
    fn as_written_means_as_str_spells_it_so() {
        for s in [
            "Via",
            "via",
            "v",
            "Call-ID",
            "CALL-ID",
            "User-Agent",
            "user-agent",
            "X-Odd",
        ] {
            let (n, same) = HeaderName::parse_as_written(s);
            assert_eq!(n, HeaderName::parse(s));
            assert_eq!(same, n.as_str() == s, "{s}");
        }
    }

    #[test]
    fn table_walk_as_written_agrees_with_parse_then_compare() {
        let mut names: Vec<String> = vec!["X-Odd".into(), "x".into(), "Vi".into(), "".into()];
        for (lower, make) in super::LONG {
            let n = make();
            names.push(lower.to_string());
            names.push(n.as_str().to_string());
            names.push(n.as_str().to_uppercase());
            names.push(n.as_str().replacen('-', "_", 1));
            names.extend(n.compact().map(str::to_string));
            names.extend(n.compact().map(str::to_uppercase));
        }
        for s in names {
            let n = HeaderName::parse(&s);
            let same = matches!(n, HeaderName::Other(_)) || n.as_str() == s;
            let (got, got_same) = HeaderName::parse_as_written(&s);
            assert_eq!(got, n, "{s}");
            assert_eq!(got.as_str(), n.as_str(), "{s}");
            assert_eq!(got_same, same, "{s}");
        }
    }

    #[test]
    fn unknown_names_keep_spelling() {
        let n = HeaderName::parse("C%6Fntact");
        assert_eq!(n, HeaderName::Other("c%6fntact".into()));
        assert_eq!(n.as_str(), "C%6Fntact");
        assert_eq!(HeaderName::parse(&"x".repeat(100)).as_str().len(), 100);
        assert_ne!(HeaderName::parse("Viä"), HeaderName::Via);
    }
}
