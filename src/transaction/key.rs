//! Transaction keys: matching responses to client transactions (§17.1.3) and requests to
//! server transactions (§17.2.3), with the RFC 2543 fallback; branch generation (§8.1.1.7).

use rand::RngCore;
use std::fmt::Write as _;

/// The RFC 3261 branch prefix (§8.1.1.7). A branch starting with it is globally unique.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// What a request is to the transaction layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// INVITE: the INVITE machines.
    Invite,
    /// ACK: matches the INVITE server transaction, or belongs to no transaction (2xx).
    Ack,
    /// CANCEL: its own non-INVITE transaction, which must find the INVITE one.
    Cancel,
    /// Every other method: the non-INVITE machines.
    Other,
}

impl RequestKind {
    /// Classifies a method name (case-sensitive, §7.1).
    pub fn from_method(method: &str) -> Self {
        match method {
            "INVITE" => RequestKind::Invite,
            "ACK" => RequestKind::Ack,
            "CANCEL" => RequestKind::Cancel,
            _ => RequestKind::Other,
        }
    }
}

/// The method part of a key: an ACK counts as the INVITE it acknowledges.
fn key_method(method: &str) -> String {
    match RequestKind::from_method(method) {
        RequestKind::Ack => "INVITE".to_owned(),
        _ => method.to_owned(),
    }
}

/// True when the branch carries the magic cookie and something after it. A bare cookie (RFC
/// 4475 `badbranch`) is not unique, so it falls back to RFC 2543 matching.
pub(crate) fn is_rfc3261_branch(branch: &str) -> bool {
    branch.len() > MAGIC_COOKIE.len() && branch.starts_with(MAGIC_COOKIE)
}

/// The fields of a received request that server matching needs, borrowed from the parsed
/// message by the caller.
#[derive(Debug, Clone, Copy)]
pub struct RequestIds<'a> {
    /// The request method (`INVITE`, `ACK`, `CANCEL`, ...).
    pub method: &'a str,
    /// The top Via `branch` parameter, if any.
    pub branch: Option<&'a str>,
    /// The top Via sent-by host.
    pub sent_by_host: &'a str,
    /// The top Via sent-by port; absent means 5060.
    pub sent_by_port: Option<u16>,
    /// The Request-URI as received (RFC 2543 fallback only).
    pub request_uri: &'a str,
    /// The From tag (RFC 2543 fallback only).
    pub from_tag: Option<&'a str>,
    /// The Call-ID (RFC 2543 fallback only).
    pub call_id: &'a str,
    /// The CSeq number (RFC 2543 fallback only).
    pub cseq: u32,
    /// The whole top Via header value (RFC 2543 fallback only).
    pub top_via: &'a str,
}

/// The key of a server transaction (§17.2.3). An ACK gets its INVITE's key; a CANCEL keeps its
/// own and finds the INVITE through [`ServerKey::cancelled_invite`].
///
/// The RFC 2543 variant leaves the To tag out: an INVITE's retransmissions repeat the original
/// To, while its ACK carries the tag of our response, which the caller compares after lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// An RFC 3261 branch: branch, sent-by (host lowercased, port defaulted) and method.
    Branch {
        /// The branch, magic cookie included.
        branch: String,
        /// `host:port` of the top Via.
        sent_by: String,
        /// The method, ACK mapped to INVITE.
        method: String,
    },
    /// The RFC 2543 fallback for branches without the magic cookie.
    Rfc2543 {
        /// The Request-URI.
        request_uri: String,
        /// The From tag, empty if absent.
        from_tag: String,
        /// The Call-ID.
        call_id: String,
        /// The CSeq number.
        cseq: u32,
        /// The top Via value.
        top_via: String,
        /// The method, ACK mapped to INVITE.
        method: String,
    },
}

impl ServerKey {
    /// The key for a received request.
    pub fn from_request(ids: &RequestIds<'_>) -> Self {
        let method = key_method(ids.method);
        match ids.branch {
            Some(branch) if is_rfc3261_branch(branch) => ServerKey::Branch {
                branch: branch.to_owned(),
                sent_by: format!(
                    "{}:{}",
                    ids.sent_by_host.to_ascii_lowercase(),
                    ids.sent_by_port.unwrap_or(5060)
                ),
                method,
            },
            _ => ServerKey::Rfc2543 {
                request_uri: ids.request_uri.to_owned(),
                from_tag: ids.from_tag.unwrap_or("").to_owned(),
                call_id: ids.call_id.to_owned(),
                cseq: ids.cseq,
                top_via: ids.top_via.to_owned(),
                method,
            },
        }
    }

    /// The method this key was made for (ACK reads as INVITE).
    pub fn method(&self) -> &str {
        match self {
            ServerKey::Branch { method, .. } | ServerKey::Rfc2543 { method, .. } => method,
        }
    }

    /// For a CANCEL's key, the key of the INVITE transaction it cancels (§9.2: same branch
    /// and sent-by, or the same RFC 2543 fields); `None` for any other method.
    pub fn cancelled_invite(&self) -> Option<ServerKey> {
        if self.method() != "CANCEL" {
            return None;
        }
        let mut key = self.clone();
        match &mut key {
            ServerKey::Branch { method, .. } | ServerKey::Rfc2543 { method, .. } => {
                "INVITE".clone_into(method);
            }
        }
        Some(key)
    }
}

/// The key of a client transaction (§17.1.3): the branch we put in the top Via and the CSeq
/// method of the request (ACK reads as INVITE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// The top Via branch of the request we sent.
    pub branch: String,
    /// The request's method; responses carry it in CSeq.
    pub method: String,
}

impl ClientKey {
    /// The key for a request we send, or for a response's top Via branch and CSeq method.
    pub fn new(branch: &str, method: &str) -> Self {
        ClientKey {
            branch: branch.to_owned(),
            method: key_method(method),
        }
    }
}

/// A fresh branch: the magic cookie and 24 random hex digits (96 bits).
pub fn new_branch(rng: &mut impl RngCore) -> String {
    let mut random = [0u8; 12];
    rng.fill_bytes(&mut random);
    let mut branch = String::with_capacity(MAGIC_COOKIE.len() + 2 * random.len());
    branch.push_str(MAGIC_COOKIE);
    for byte in random {
        // Writing to a String cannot fail.
        let _ = write!(branch, "{byte:02x}");
    }
    branch
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn ids<'a>(method: &'a str, branch: Option<&'a str>) -> RequestIds<'a> {
        RequestIds {
            method,
            branch,
            sent_by_host: "PC33.Atlanta.com",
            sent_by_port: None,
            request_uri: "sip:bob@biloxi.com",
            from_tag: Some("1928301774"),
            call_id: "a84b4c76e66710",
            cseq: 314159,
            top_via: "SIP/2.0/UDP pc33.atlanta.com",
        }
    }

    #[test]
    fn ack_matches_invite_cancel_finds_it() {
        let b = Some("z9hG4bK776asdhds");
        let invite = ServerKey::from_request(&ids("INVITE", b));
        assert_eq!(ServerKey::from_request(&ids("ACK", b)), invite);
        let cancel = ServerKey::from_request(&ids("CANCEL", b));
        assert_ne!(cancel, invite);
        assert_eq!(cancel.cancelled_invite(), Some(invite.clone()));
        assert_eq!(invite.cancelled_invite(), None);
        assert_ne!(ServerKey::from_request(&ids("BYE", b)), invite);
        match invite {
            ServerKey::Branch { sent_by, .. } => assert_eq!(sent_by, "pc33.atlanta.com:5060"),
            other => panic!("expected a branch key, got {other:?}"),
        }
    }

    #[test]
    fn branch_and_sent_by_both_count() {
        let a = ServerKey::from_request(&ids("INVITE", Some("z9hG4bK1")));
        let b = ServerKey::from_request(&ids("INVITE", Some("z9hG4bK2")));
        assert_ne!(a, b);
        let mut other_port = ids("INVITE", Some("z9hG4bK1"));
        other_port.sent_by_port = Some(5070);
        assert_ne!(ServerKey::from_request(&other_port), a);
    }

    #[test]
    fn rfc2543_fallback_for_missing_or_bare_branch() {
        let none = ServerKey::from_request(&ids("INVITE", None));
        let bare = ServerKey::from_request(&ids("INVITE", Some("z9hG4bK")));
        let old = ServerKey::from_request(&ids("INVITE", Some("abc123")));
        assert!(matches!(none, ServerKey::Rfc2543 { .. }));
        assert_eq!(none, bare);
        assert_eq!(none, old);
        assert_eq!(ServerKey::from_request(&ids("ACK", None)), none);
        let mut later = ids("INVITE", None);
        later.cseq += 1;
        assert_ne!(ServerKey::from_request(&later), none);
        let cancel = ServerKey::from_request(&ids("CANCEL", None));
        assert_eq!(cancel.cancelled_invite(), Some(none));
    }

    #[test]
    fn client_keys_and_branches() {
        assert_eq!(
            ClientKey::new("z9hG4bKx", "INVITE"),
            ClientKey::new("z9hG4bKx", "ACK")
        );
        assert_ne!(
            ClientKey::new("z9hG4bKx", "INVITE"),
            ClientKey::new("z9hG4bKx", "CANCEL")
        );
        let mut rng = rand::rng();
        let a = new_branch(&mut rng);
        assert!(a.starts_with(MAGIC_COOKIE) && a.len() == 7 + 24);
        assert_ne!(a, new_branch(&mut rng));
    }
}
