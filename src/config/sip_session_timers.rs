//! sip.conf session-timer options (RFC 4028), in `[general]` and per entry, as chan_sip
//! reads them (`reload_config` / `build_peer`, `configs/samples/sip.conf.sample`):
//! `session-timers=accept|originate|refuse`, `session-expires` (1800 s), `session-minse`
//! (90 s), `session-refresher=uas|uac` (uas).
//!
//! sipbox's default mode is `originate`, not chan_sip's `accept`: every answered call is
//! refreshed, so a leg whose phone vanished is found and the call cleared (README, security
//! defaults). A bad value is a `file:line` warning and the option keeps its value, as in
//! chan_sip.

use super::raw::{ConfigError, Entry};
use super::values::{bad, u32_of};

/// RFC 4028 §4: no Min-SE below 90 seconds.
pub const RFC_MIN_SE: u32 = 90;

/// `session-timers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StMode {
    /// Use timers when the other side asks for them (chan_sip's default).
    Accept,
    /// Ask for them on our INVITEs and answers too (sipbox's default).
    Originate,
    /// Never: `timer` is not in our Supported, a `Require: timer` gets 420.
    Refuse,
}

/// `session-refresher`: who refreshes when the other side does not say (chan_sip's meaning:
/// `uas` is sipbox on the calls it answers, the callee on the calls it places).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StRefresher {
    /// The UAS of the dialog.
    Uas,
    /// The UAC of the dialog.
    Uac,
}

/// The session-timer settings of `[general]` or of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimers {
    /// `session-timers`.
    pub mode: StMode,
    /// `session-expires` (1800 s): the interval we ask for.
    pub expires: u32,
    /// `session-minse` (90 s): the shortest interval we take (shorter: 422).
    pub min_se: u32,
    /// `session-refresher` (uas).
    pub refresher: StRefresher,
}

impl Default for SessionTimers {
    fn default() -> Self {
        SessionTimers {
            mode: StMode::Originate,
            expires: 1800,
            min_se: RFC_MIN_SE,
            refresher: StRefresher::Uas,
        }
    }
}

/// True when `key` (lower case) is one of these options.
pub fn is_key(key: &str) -> bool {
    matches!(
        key,
        "session-timers" | "session-expires" | "session-minse" | "session-refresher"
    )
}

/// Applies one option (see [`is_key`]); `Err` keeps the old value (a warning).
pub fn option(st: &mut SessionTimers, e: &Entry) -> Result<(), ConfigError> {
    let value = e.value.trim().to_ascii_lowercase();
    match e.key.to_ascii_lowercase().as_str() {
        "session-timers" => {
            st.mode = match value.as_str() {
                "accept" => StMode::Accept,
                "originate" => StMode::Originate,
                "refuse" => StMode::Refuse,
                _ => return Err(bad(e, "expected accept, originate or refuse")),
            }
        }
        "session-expires" => {
            let n = u32_of(e)?;
            if n < RFC_MIN_SE {
                return Err(bad(e, "must be at least 90 seconds (RFC 4028)"));
            }
            st.expires = n;
            st.min_se = st.min_se.min(n);
        }
        "session-minse" => {
            let n = u32_of(e)?;
            if n < RFC_MIN_SE {
                return Err(bad(e, "must be at least 90 seconds (RFC 4028)"));
            }
            st.min_se = n;
            st.expires = st.expires.max(n);
        }
        "session-refresher" => {
            st.refresher = match value.as_str() {
                "uas" => StRefresher::Uas,
                "uac" => StRefresher::Uac,
                _ => return Err(bad(e, "expected uas or uac")),
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::Loc;

    fn entry(key: &str, value: &str) -> Entry {
        Entry {
            key: key.into(),
            value: value.into(),
            arrow: false,
            loc: Loc {
                file: "sip.conf".into(),
                line: 3,
            },
        }
    }

    #[test]
    fn options_parse_and_bad_values_keep_the_old_one() {
        let mut st = SessionTimers::default();
        option(&mut st, &entry("session-timers", "Refuse")).unwrap();
        assert_eq!(st.mode, StMode::Refuse);
        option(&mut st, &entry("session-refresher", "uac")).unwrap();
        assert_eq!(st.refresher, StRefresher::Uac);
        option(&mut st, &entry("session-expires", "600")).unwrap();
        option(&mut st, &entry("session-minse", "120")).unwrap();
        assert_eq!((st.expires, st.min_se), (600, 120));
        let err = option(&mut st, &entry("session-minse", "30")).unwrap_err();
        assert!(err.to_string().contains("sip.conf:3"), "{err}");
        assert_eq!(st.min_se, 120);
        assert!(option(&mut st, &entry("session-timers", "sometimes")).is_err());
        assert_eq!(st.mode, StMode::Refuse);
        option(&mut st, &entry("session-minse", "900")).unwrap();
        assert_eq!(
            st.expires, 900,
            "Min-SE never exceeds the interval asked for"
        );
    }
}
