//! sip.conf `[general]` options of SIP MESSAGE (RFC 3428) as chan_sip reads them
//! (`reload_config`, `configs/samples/sip.conf.sample`): `accept_outofcall_message` (no),
//! `outofcall_message_context` (unset: the sender's context), `auth_message_requests` (yes).

use super::raw::{ConfigError, Entry};
use super::values::{bad, bool_of};

/// The options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageGeneral {
    /// `accept_outofcall_message` (no): out-of-dialog MESSAGEs get 405 unless set.
    pub accept_outofcall: bool,
    /// `outofcall_message_context`: where they run (unset: the sender's entry's context).
    pub context: Option<String>,
    /// `auth_message_requests` (yes): they are challenged as INVITEs are.
    pub auth: bool,
}

impl Default for MessageGeneral {
    fn default() -> Self {
        MessageGeneral {
            accept_outofcall: false,
            context: None,
            auth: true,
        }
    }
}

/// True when `key` (lower case) is one of these options.
pub fn is_key(key: &str) -> bool {
    matches!(
        key,
        "accept_outofcall_message" | "outofcall_message_context" | "auth_message_requests"
    )
}

/// Applies one option (see [`is_key`]).
pub fn option(m: &mut MessageGeneral, e: &Entry) -> Result<(), ConfigError> {
    match e.key.to_ascii_lowercase().as_str() {
        "accept_outofcall_message" => m.accept_outofcall = bool_of(e)?,
        "auth_message_requests" => m.auth = bool_of(e)?,
        "outofcall_message_context" => {
            let v = e.value.trim();
            if v.is_empty() {
                return Err(bad(e, "must not be empty"));
            }
            m.context = Some(v.to_string());
        }
        _ => {}
    }
    Ok(())
}
