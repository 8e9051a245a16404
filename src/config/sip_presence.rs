//! sip.conf options of presence and busy lamps (chan_sip's `reload_config` and `build_peer`,
//! `configs/samples/sip.conf.sample`): `allowsubscribe`, `subscribecontext`, `callcounter`,
//! `busylevel` (per entry, defaults from `[general]` where chan_sip has them) and
//! `notifyringing`, `notifyhold`, `notifycid` (`[general]` only, as chan_sip).

use super::raw::{ConfigError, Entry};
use super::values::{bad, bool_of, u32_of};

/// `notifyringing` (chan_sip: yes | no | notinuse; default yes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyRinging {
    /// Ringing is shown (dialog state `early`).
    Yes,
    /// Ringing is never shown.
    No,
    /// Ringing is shown only while the extension is not in use already.
    NotInUse,
}

/// `notifycid` (chan_sip: yes | no | ignore-context; default no).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyCid {
    /// The caller is not named.
    No,
    /// The ringing caller is named in the dialog-info body (for directed pickup).
    Yes,
    /// The same, whatever the subscriber's context (sipbox does not tell them apart).
    IgnoreContext,
}

/// The `[general]` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceGeneral {
    /// `allowsubscribe` (yes): default for entries.
    pub allow_subscribe: bool,
    /// `subscribecontext` (unset): default for entries.
    pub subscribe_context: Option<String>,
    /// `callcounter` (no): default for entries.
    pub call_counter: bool,
    /// `notifyringing` (yes).
    pub notify_ringing: NotifyRinging,
    /// `notifyhold` (no, as chan_sip): a held call shows as on hold rather than in use.
    pub notify_hold: bool,
    /// `notifycid` (no).
    pub notify_cid: NotifyCid,
}

impl Default for PresenceGeneral {
    fn default() -> Self {
        PresenceGeneral {
            allow_subscribe: true,
            subscribe_context: None,
            call_counter: false,
            notify_ringing: NotifyRinging::Yes,
            notify_hold: false,
            notify_cid: NotifyCid::No,
        }
    }
}

/// One entry's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPresence {
    /// `allowsubscribe`: may this entry SUBSCRIBE to dialog and presence?
    pub allow_subscribe: bool,
    /// `subscribecontext`: where its SUBSCRIBEs look hints up (unset: its `context`).
    pub subscribe_context: Option<String>,
    /// `callcounter`: its calls are counted for device state (also on with `call-limit`).
    pub call_counter: bool,
    /// `busylevel`: this many calls make the device BUSY rather than INUSE.
    pub busy_level: Option<u32>,
}

impl PeerPresence {
    /// The defaults `[general]` gives.
    pub fn from_general(g: &PresenceGeneral) -> PeerPresence {
        PeerPresence {
            allow_subscribe: g.allow_subscribe,
            subscribe_context: g.subscribe_context.clone(),
            call_counter: g.call_counter,
            busy_level: None,
        }
    }
}

fn context_of(e: &Entry) -> Result<Option<String>, ConfigError> {
    let v = e.value.trim();
    if v.is_empty() {
        return Err(bad(e, "must not be empty"));
    }
    Ok(Some(v.to_string()))
}

/// True when `key` (lower case) is an entry option of this file.
pub fn is_peer_key(key: &str) -> bool {
    matches!(
        key,
        "allowsubscribe" | "subscribecontext" | "callcounter" | "busylevel"
    )
}

/// True when `key` (lower case) is a `[general]` option of this file.
pub fn is_general_key(key: &str) -> bool {
    matches!(
        key,
        "allowsubscribe"
            | "subscribecontext"
            | "callcounter"
            | "notifyringing"
            | "notifyhold"
            | "notifycid"
    )
}

/// Applies one entry option (see [`is_peer_key`]).
pub fn peer_option(p: &mut PeerPresence, e: &Entry) -> Result<(), ConfigError> {
    match e.key.to_ascii_lowercase().as_str() {
        "allowsubscribe" => p.allow_subscribe = bool_of(e)?,
        "subscribecontext" => p.subscribe_context = context_of(e)?,
        "callcounter" => p.call_counter = bool_of(e)?,
        "busylevel" => p.busy_level = Some(u32_of(e)?).filter(|n| *n != 0),
        _ => {}
    }
    Ok(())
}

/// Applies one `[general]` option (see [`is_general_key`]).
pub fn general_option(g: &mut PresenceGeneral, e: &Entry) -> Result<(), ConfigError> {
    match e.key.to_ascii_lowercase().as_str() {
        "allowsubscribe" => g.allow_subscribe = bool_of(e)?,
        "subscribecontext" => g.subscribe_context = context_of(e)?,
        "callcounter" => g.call_counter = bool_of(e)?,
        "notifyhold" => g.notify_hold = bool_of(e)?,
        "notifyringing" => {
            g.notify_ringing = match e.value.trim().to_ascii_lowercase().as_str() {
                "notinuse" => NotifyRinging::NotInUse,
                _ => {
                    if bool_of(e)? {
                        NotifyRinging::Yes
                    } else {
                        NotifyRinging::No
                    }
                }
            }
        }
        "notifycid" => {
            g.notify_cid = match e.value.trim().to_ascii_lowercase().as_str() {
                "ignore-context" => NotifyCid::IgnoreContext,
                _ => {
                    if bool_of(e)? {
                        NotifyCid::Yes
                    } else {
                        NotifyCid::No
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}
