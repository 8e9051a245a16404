//! Caller identity options of sip.conf: `sendrpid`, `trustrpid`, `callingpres`
//! (chan_sip's `handle_common_options` and `sip.conf.sample`).

use super::raw::{ConfigError, Entry};
use super::values::{bad, parse_bool_str};

/// `sendrpid=`: which identity header requests to the entry carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendRpid {
    /// `no` (the default): none.
    #[default]
    No,
    /// `yes` or `rpid`: `Remote-Party-ID`.
    Rpid,
    /// `pai`: `P-Asserted-Identity` (RFC 3325), with `Privacy: id` when restricted.
    Pai,
}

impl SendRpid {
    /// Parses `yes|no|rpid|pai`.
    pub fn parse(e: &Entry) -> Result<SendRpid, ConfigError> {
        match e.value.trim().to_ascii_lowercase().as_str() {
            "pai" => Ok(SendRpid::Pai),
            "rpid" => Ok(SendRpid::Rpid),
            v => match parse_bool_str(v) {
                Some(true) => Ok(SendRpid::Rpid),
                Some(false) => Ok(SendRpid::No),
                None => Err(bad(e, "expected yes, no, rpid or pai")),
            },
        }
    }
}

/// The presentation names Asterisk accepts, with their numeric codes
/// (`ast_parse_caller_presentation`, `AST_PRES_*`).
pub const PRESENTATIONS: [(&str, u8); 10] = [
    ("allowed_not_screened", 0),
    ("allowed_passed_screen", 1),
    ("allowed_failed_screen", 2),
    ("allowed", 3),
    ("prohib_not_screened", 32),
    ("prohib_passed_screen", 33),
    ("prohib_failed_screen", 34),
    ("prohib", 35),
    ("unavailable", 67),
    ("unavailable_not_screened", 64),
];

/// A presentation by name or number, as its name (None: not one).
pub fn presentation(value: &str) -> Option<&'static str> {
    let v = value.trim().to_ascii_lowercase();
    PRESENTATIONS
        .iter()
        .find(|(name, code)| *name == v || code.to_string() == v)
        .map(|(name, _)| *name)
}

/// `callingpres=`: the presentation of calls from the entry.
pub fn parse_callingpres(e: &Entry) -> Result<&'static str, ConfigError> {
    presentation(&e.value).ok_or_else(|| {
        bad(
            e,
            "expected a presentation (allowed_not_screened, prohib, 0, 32 ...)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presentations_by_name_and_number() {
        assert_eq!(presentation("PROHIB"), Some("prohib"));
        assert_eq!(presentation("33"), Some("prohib_passed_screen"));
        assert_eq!(presentation("nonsense"), None);
    }
}
