//! Transaction keys: matching responses to client transactions (§17.1.3) and requests to
//! server transactions (§17.2.3), with the RFC 2543 fallback; branch generation (§8.1.1.7).

use rand::RngCore;
use std::rc::Rc;

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
fn key_method(method: &str) -> &str {
    match RequestKind::from_method(method) {
        RequestKind::Ack => "INVITE",
        _ => method,
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

/// Keys are short byte strings built on the stack: a lookup allocates nothing, and a stored
/// key is one allocation shared by the table's entry and its index (an `Rc`).
const INLINE: usize = 192;

/// Writes a key's fields: each is length-prefixed, so the encoding is injective whatever
/// bytes a peer puts in them.
struct KeyBytes {
    inline: [u8; INLINE],
    len: usize,
    spill: Vec<u8>,
}

impl KeyBytes {
    fn new(tag: u8) -> Self {
        let mut k = KeyBytes {
            inline: [0; INLINE],
            len: 0,
            spill: Vec::new(),
        };
        k.push(&[tag]);
        k
    }

    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if self.spill.is_empty() && self.len + bytes.len() <= INLINE {
            self.inline[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline[..self.len]);
            }
            self.spill.extend_from_slice(bytes);
        }
    }

    fn field(&mut self, bytes: &[u8]) {
        // Messages are far below 4 GB (the parser bounds them); saturating keeps it total.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.push(&len.to_le_bytes());
        self.push(bytes);
    }

    fn lowercase_field(&mut self, text: &str) {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        self.push(&len.to_le_bytes());
        for chunk in text.as_bytes().chunks(32) {
            let mut low = [0u8; 32];
            for (d, s) in low.iter_mut().zip(chunk) {
                *d = s.to_ascii_lowercase();
            }
            self.push(&low[..chunk.len()]);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

/// Tags of the two server key forms and of client keys (the first byte of a key).
const BRANCH: u8 = b'B';
const RFC2543: u8 = b'R';
const CLIENT: u8 = b'C';

/// The key of a server transaction (§17.2.3). An ACK gets its INVITE's key; a CANCEL keeps its
/// own and finds the INVITE through [`ServerKey::cancelled_invite`].
///
/// An RFC 3261 branch keys on method, branch and sent-by (host lowercased, port defaulted to
/// 5060); the RFC 2543 fallback on method, Request-URI, From tag, Call-ID, CSeq and top Via.
/// It leaves the To tag out: an INVITE's retransmissions repeat the original To, while its
/// ACK carries the tag of our response, which the caller compares after lookup.
///
/// Stored as one byte string (the method first), compared and hashed as bytes: see
/// [`ServerKey::as_bytes`] and [`super::TransactionTable::find_bytes`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerKey(Rc<[u8]>);

impl std::borrow::Borrow<[u8]> for ServerKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.is_branch() {
            "Branch"
        } else {
            "Rfc2543"
        };
        let mut t = f.debug_tuple(kind);
        for field in fields(&self.0[1..]) {
            t.field(&String::from_utf8_lossy(field));
        }
        t.finish()
    }
}

/// The length-prefixed fields of a key (after its tag).
fn fields(mut rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
        let (field, tail) = tail.split_at(len);
        rest = tail;
        Some(field)
    })
}

/// Encodes the server key of `ids` on the stack.
fn encode_server_key(ids: &RequestIds<'_>) -> KeyBytes {
    let method = key_method(ids.method);
    match ids.branch {
        Some(branch) if is_rfc3261_branch(branch) => {
            let mut k = KeyBytes::new(BRANCH);
            k.field(method.as_bytes());
            k.field(branch.as_bytes());
            k.lowercase_field(ids.sent_by_host);
            k.field(&ids.sent_by_port.unwrap_or(5060).to_le_bytes());
            k
        }
        _ => {
            let mut k = KeyBytes::new(RFC2543);
            k.field(method.as_bytes());
            k.field(ids.request_uri.as_bytes());
            k.field(ids.from_tag.unwrap_or("").as_bytes());
            k.field(ids.call_id.as_bytes());
            k.field(&ids.cseq.to_le_bytes());
            k.field(ids.top_via.as_bytes());
            k
        }
    }
}

/// A server key encoded on the stack: what a received request is looked up under. Most
/// requests that are looked up never open a transaction (ACKs, retransmissions, requests
/// answered statelessly), so the shared [`ServerKey`] is made only by
/// [`ServerKeyBuf::to_key`], right before a transaction is opened.
pub struct ServerKeyBuf(KeyBytes);

impl ServerKeyBuf {
    /// The key of a received request.
    pub fn new(ids: &RequestIds<'_>) -> Self {
        ServerKeyBuf(encode_server_key(ids))
    }

    /// The key's bytes, for [`super::TransactionTable::find_bytes`].
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The key to store (one allocation, shared by the table's entry and its index).
    pub fn to_key(&self) -> ServerKey {
        ServerKey(Rc::from(self.as_bytes()))
    }
}

impl ServerKey {
    /// The key for a received request.
    pub fn from_request(ids: &RequestIds<'_>) -> Self {
        ServerKeyBuf::new(ids).to_key()
    }

    /// The key's bytes, for lookups by borrowed key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for an RFC 3261 (magic-cookie branch) key.
    pub fn is_branch(&self) -> bool {
        self.0.first() == Some(&BRANCH)
    }

    /// The method this key was made for (ACK reads as INVITE).
    pub fn method(&self) -> &str {
        let method = fields(&self.0[1..]).next().unwrap_or_default();
        std::str::from_utf8(method).unwrap_or_default()
    }

    /// For a CANCEL's key, the key of the INVITE transaction it cancels (§9.2: same branch
    /// and sent-by, or the same RFC 2543 fields); `None` for any other method.
    pub fn cancelled_invite(&self) -> Option<ServerKey> {
        if self.method() != "CANCEL" {
            return None;
        }
        // "CANCEL" and "INVITE" have the same length: only the method's bytes change.
        let mut bytes = self.0.to_vec();
        bytes[5..11].copy_from_slice(b"INVITE");
        Some(ServerKey(Rc::from(bytes)))
    }
}

/// The key of a client transaction (§17.1.3): the branch we put in the top Via and the CSeq
/// method of the request (ACK reads as INVITE), as one shared byte string like
/// [`ServerKey`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(Rc<[u8]>);

impl std::borrow::Borrow<[u8]> for ClientKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut t = f.debug_tuple("ClientKey");
        for field in fields(&self.0[1..]) {
            t.field(&String::from_utf8_lossy(field));
        }
        t.finish()
    }
}

/// Encodes a client key on the stack and hands the bytes to `f`.
pub(crate) fn with_client_key<R>(branch: &str, method: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut k = KeyBytes::new(CLIENT);
    k.field(key_method(method).as_bytes());
    k.field(branch.as_bytes());
    f(k.as_bytes())
}

impl ClientKey {
    /// The key for a request we send, or for a response's top Via branch and CSeq method.
    pub fn new(branch: &str, method: &str) -> Self {
        with_client_key(branch, method, |b| ClientKey(Rc::from(b)))
    }

    /// The key's bytes, for lookups by borrowed key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The request's method (ACK reads as INVITE).
    pub fn method(&self) -> &str {
        let method = fields(&self.0[1..]).next().unwrap_or_default();
        std::str::from_utf8(method).unwrap_or_default()
    }

    /// The branch.
    pub fn branch(&self) -> &str {
        let branch = fields(&self.0[1..]).nth(1).unwrap_or_default();
        std::str::from_utf8(branch).unwrap_or_default()
    }
}

/// A fresh branch: the magic cookie and 24 random hex digits (96 bits).
pub fn new_branch(rng: &mut impl RngCore) -> String {
    let mut random = [0u8; 12];
    rng.fill_bytes(&mut random);
    let mut branch = String::with_capacity(MAGIC_COOKIE.len() + 2 * random.len());
    branch.push_str(MAGIC_COOKIE);
    crate::sip::write::push_hex_bytes(&mut branch, &random);
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
        assert!(invite.is_branch(), "{invite:?}");
        let on_stack = ServerKeyBuf::new(&ids("ACK", b));
        assert_eq!(on_stack.as_bytes(), invite.as_bytes());
        assert_eq!(on_stack.to_key(), invite);
        let mut lower = ids("INVITE", b);
        lower.sent_by_host = "pc33.atlanta.com";
        lower.sent_by_port = Some(5060);
        assert_eq!(
            ServerKey::from_request(&lower),
            invite,
            "host lowercased, port 5060 by default"
        );
    }

    #[test]
    fn a_branch_key_reads_only_method_branch_and_sent_by() {
        // server_key_buf leaves the RFC 2543 fields out of a branch key's ids.
        let b = Some("z9hG4bK776asdhds");
        let bare = RequestIds {
            request_uri: "",
            from_tag: None,
            call_id: "",
            cseq: 0,
            top_via: "",
            ..ids("INVITE", b)
        };
        assert_eq!(
            ServerKey::from_request(&bare),
            ServerKey::from_request(&ids("INVITE", b))
        );
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
        assert!(!none.is_branch(), "{none:?}");
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
        assert!(a[7..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(a.starts_with(MAGIC_COOKIE) && a.len() == 7 + 24);
        assert_ne!(a, new_branch(&mut rng));
    }
}
