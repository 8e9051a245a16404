//! sip.conf's dialling options that shape how an INVITE's number meets the dialplan:
//! `allowoverlap` (chan_sip's `SIP_PAGE2_ALLOWOVERLAP_*`, `get_destination`) and `language`
//! (the channel's language, `ast_channel_language`, which chooses the prompts' directory in
//! `main/file.c`'s `fileexists_core`). Both are `[general]` defaults that entries override.

use super::raw::{ConfigError, Entry};
use super::values::{bad, parse_bool_str};

/// `allowoverlap`: what an INVITE for a number that only the start of an extension is gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// `yes` (chan_sip's default): 484 Address Incomplete when more digits could match.
    #[default]
    Yes,
    /// `no`: 404 Not Found, as for any number without an extension.
    No,
    /// `dtmf`: chan_sip leaves overlap to the dialplan (its `Incomplete` application) and
    /// answers such an INVITE as `no` does.
    Dtmf,
}

impl Overlap {
    /// Parses `yes`/`no` (and their synonyms) or `dtmf`. Anything else is an error at its line;
    /// the caller keeps the default.
    pub fn parse(e: &Entry) -> Result<Overlap, ConfigError> {
        if e.value.trim().eq_ignore_ascii_case("dtmf") {
            return Ok(Overlap::Dtmf);
        }
        match parse_bool_str(e.value.trim()) {
            Some(true) => Ok(Overlap::Yes),
            Some(false) => Ok(Overlap::No),
            None => Err(bad(e, "expected yes, no or dtmf")),
        }
    }

    /// Whether an incomplete number is answered 484.
    pub fn answers_incomplete(self) -> bool {
        self == Overlap::Yes
    }
}

/// `language=`: a language code as Asterisk takes it (`en`, `fr`, `pt_BR`, `en_GB_style`):
/// letters, digits, `_` and `-`, at most 20 bytes (`MAX_LANGUAGE`). It becomes part of a
/// sound's path, so nothing that could leave the sounds directory is accepted.
pub fn parse_language(e: &Entry) -> Result<String, ConfigError> {
    let v = e.value.trim();
    if v.is_empty()
        || v.len() > 20
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(bad(e, "expected a language code such as en, fr or pt_BR"));
    }
    Ok(v.to_string())
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
    fn allowoverlap_values() {
        let cases = [
            ("yes", Some(Overlap::Yes)),
            ("YES", Some(Overlap::Yes)),
            ("1", Some(Overlap::Yes)),
            ("no", Some(Overlap::No)),
            ("off", Some(Overlap::No)),
            ("dtmf", Some(Overlap::Dtmf)),
            (" DTMF ", Some(Overlap::Dtmf)),
            ("maybe", None),
            ("", None),
        ];
        for (v, want) in cases {
            assert_eq!(
                Overlap::parse(&entry("allowoverlap", v)).ok(),
                want,
                "{v:?}"
            );
        }
        let err = Overlap::parse(&entry("allowoverlap", "maybe")).unwrap_err();
        assert!(err.to_string().contains("sip.conf:3"), "{err}");
        assert!(Overlap::Yes.answers_incomplete());
        assert!(!Overlap::No.answers_incomplete() && !Overlap::Dtmf.answers_incomplete());
    }

    #[test]
    fn language_values() {
        for ok in ["en", "fr", "pt_BR", "en_GB_style", "zh-TW", "de"] {
            assert_eq!(parse_language(&entry("language", ok)).unwrap(), ok);
        }
        for bad in ["", "../etc", "fr/x", "a b", "en.gsm", &"x".repeat(21)] {
            assert!(parse_language(&entry("language", bad)).is_err(), "{bad:?}");
        }
    }
}
