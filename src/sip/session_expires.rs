//! The session-timer headers of RFC 4028 §4–§5: `Session-Expires` (`x`) with its
//! `refresher=uac|uas` parameter, and `Min-SE`.
//!
//! Reading list: RFC 4028 §4 (ABNF: `delta-seconds *(SEMI se-params)`), §5 (Min-SE).

use super::error::HeaderError;
use super::headers::Headers;
use super::name::HeaderName;
use super::params::header_params;
use super::text::{find, parse_u32, trim};
use std::fmt;

/// Which end of a dialog refreshes the session (RFC 4028 §4 `refresher-param`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefresherParam {
    /// `refresher=uac`: the dialog's UAC.
    Uac,
    /// `refresher=uas`: the dialog's UAS.
    Uas,
}

impl RefresherParam {
    /// The parameter's value as written.
    pub fn as_str(self) -> &'static str {
        match self {
            RefresherParam::Uac => "uac",
            RefresherParam::Uas => "uas",
        }
    }
}

/// A `Session-Expires` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    /// The session interval in seconds.
    pub delta: u32,
    /// Who refreshes, when the sender said.
    pub refresher: Option<RefresherParam>,
}

impl SessionExpires {
    /// Parses one value; an unknown refresher value is an error, other parameters are kept
    /// out (extensions, §4).
    pub fn parse(s: &str) -> Result<SessionExpires, String> {
        let s = trim(s);
        let end = find(s, b';').unwrap_or(s.len());
        let delta = parse_u32(trim(s.get(..end).unwrap_or("")))
            .ok_or_else(|| "not a number of seconds".to_string())?;
        let mut refresher = None;
        for p in header_params(s.get(end..).unwrap_or("")) {
            let (name, value) = p?;
            if name.eq_ignore_ascii_case("refresher") {
                refresher = match value.map(str::to_ascii_lowercase).as_deref() {
                    Some("uac") => Some(RefresherParam::Uac),
                    Some("uas") => Some(RefresherParam::Uas),
                    _ => return Err("refresher must be uac or uas".into()),
                };
            }
        }
        Ok(SessionExpires { delta, refresher })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta)?;
        if let Some(r) = self.refresher {
            write!(f, ";refresher={}", r.as_str())?;
        }
        Ok(())
    }
}

impl Headers {
    /// The Session-Expires header (RFC 4028 §4).
    pub fn session_expires(&self) -> Result<Option<SessionExpires>, HeaderError> {
        self.get(&HeaderName::SessionExpires)
            .map(|v| {
                SessionExpires::parse(v).map_err(|what| HeaderError {
                    header: "Session-Expires",
                    what,
                })
            })
            .transpose()
    }

    /// The Min-SE header in seconds (RFC 4028 §5; its parameters are ignored).
    pub fn min_se(&self) -> Result<Option<u32>, HeaderError> {
        self.get(&HeaderName::MinSe)
            .map(|v| {
                let v = trim(v);
                let end = find(v, b';').unwrap_or(v.len());
                parse_u32(trim(v.get(..end).unwrap_or(""))).ok_or_else(|| HeaderError {
                    header: "Min-SE",
                    what: "not a number of seconds".into(),
                })
            })
            .transpose()
    }

    /// True when Supported or Require names `tag`.
    pub fn names_option(&self, tag: &str) -> bool {
        self.get_all(&HeaderName::Supported)
            .chain(self.get_all(&HeaderName::Require))
            .any(|t| t.trim().eq_ignore_ascii_case(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_expires_round_trips() {
        let se = SessionExpires::parse("1800 ; Refresher=UAS;x=1").unwrap();
        assert_eq!(se.delta, 1800);
        assert_eq!(se.refresher, Some(RefresherParam::Uas));
        assert_eq!(se.to_string(), "1800;refresher=uas");
        let bare = SessionExpires::parse("90").unwrap();
        assert_eq!((bare.delta, bare.refresher), (90, None));
        assert_eq!(bare.to_string(), "90");
        assert!(SessionExpires::parse("abc").is_err());
        assert!(SessionExpires::parse("90;refresher=both").is_err());
        assert!(SessionExpires::parse("99999999999").is_err());
    }

    #[test]
    fn headers_decode_on_demand_and_name_themselves() {
        let mut h = Headers::new();
        h.push(HeaderName::parse("x"), "600;refresher=uac");
        h.push(HeaderName::MinSe, "120;foo");
        h.push(HeaderName::Supported, "replaces, Timer");
        let se = h.session_expires().unwrap().unwrap();
        assert_eq!(se.refresher, Some(RefresherParam::Uac));
        assert_eq!(h.min_se().unwrap(), Some(120));
        assert!(h.names_option("timer"));
        assert!(!h.names_option("100rel"));
        let mut bad = Headers::new();
        bad.push(HeaderName::MinSe, "soon");
        assert_eq!(bad.min_se().unwrap_err().header, "Min-SE");
        assert_eq!(Headers::new().session_expires().unwrap(), None);
    }
}
