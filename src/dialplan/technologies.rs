//! The channel technologies Dial targets name, checked once at load: sipbox dials `SIP/`
//! (chan_sip) and `Local/` (core_local); a target of another technology (`IAX2/`, `DAHDI/`,
//! `PJSIP/`, ...) is CHANUNAVAIL when the Dial runs, as in Asterisk without that channel
//! driver ("Unable to create channel of type"), and the rest of the Dial goes on. One warning
//! per technology, at its first use, so a big dialplan does not flood the log.
//!
//! `PJSIP/` is sipbox's choice: an admin moving between chan_sip and chan_pjsip often has
//! dialplans naming both, and sipbox has only sip.conf, so `PJSIP/x` rings the sip.conf entry
//! `x` exactly as `SIP/x` does (chan_pjsip's `PJSIP/exten@endpoint` is chan_sip's
//! `SIP/exten@peer`; the user part of a `PJSIP/endpoint/sip:user@host` URI is the number, the
//! entry's host or contacts are where it goes). A one-time load note says so.

use super::apps::App;
use super::model::Dialplan;
use std::collections::BTreeSet;

/// Technologies a Dial can ring.
pub const SUPPORTED: &[&str] = &["SIP", "Local", "PJSIP"];

/// True when `tech` (as written before `/`) is one sipbox dials.
pub fn supported(tech: &str) -> bool {
    SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tech))
}

/// True for `PJSIP`, which sipbox dials as `SIP` (see the module docs).
pub fn is_pjsip(tech: &str) -> bool {
    tech.eq_ignore_ascii_case("PJSIP")
}

/// A `PJSIP/endpoint/...` suffix as the number to dial: the user part of a `sip:`/`sips:` URI
/// (none when the URI has none), anything else as it is.
pub fn pjsip_number(suffix: &str) -> Option<String> {
    let scheme = |p: &str| {
        suffix
            .get(..p.len())
            .filter(|s| s.eq_ignore_ascii_case(p))
            .and_then(|_| suffix.get(p.len()..))
    };
    let Some(rest) = scheme("sip:").or_else(|| scheme("sips:")) else {
        return Some(suffix.to_string()).filter(|s| !s.is_empty());
    };
    let (user, _) = rest.split_once('@')?;
    let user = user.split(';').next().unwrap_or("");
    Some(user.to_string()).filter(|u| !u.is_empty())
}

/// The literal technologies of a Dial's first argument (`${...}` ones are known only when
/// the call runs).
pub fn named(args: &str) -> impl Iterator<Item = &str> {
    let first = args.split(',').next().unwrap_or("");
    first.split('&').filter_map(|t| {
        let (tech, _) = t.trim().split_once('/')?;
        let literal = !tech.is_empty() && tech.bytes().all(|b| b.is_ascii_alphanumeric());
        literal.then_some(tech)
    })
}

/// One warning per unsupported technology the dialplan's Dial and ChanIsAvail priorities
/// name, with the `file:line` of its first use.
pub fn warn_unsupported(dp: &Dialplan, warnings: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for (_, ext) in dp.extensions() {
        for p in ext.prios.values() {
            if !matches!(App::from_name(&p.app), Some(App::Dial | App::ChanIsAvail)) {
                continue;
            }
            for tech in named(&p.args) {
                if is_pjsip(tech) && seen.insert(tech.to_ascii_uppercase()) {
                    warnings.push(format!(
                        "{}: Dial technology 'PJSIP': sipbox maps PJSIP/x to its sip.conf \
                         entry x (said once)",
                        p.loc
                    ));
                } else if !supported(tech) && seen.insert(tech.to_ascii_uppercase()) {
                    warnings.push(format!(
                        "{}: Dial technology '{tech}' is not supported (only SIP and Local): \
                         its targets are CHANUNAVAIL (said once)",
                        p.loc
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_technologies_of_the_first_argument() {
        let got: Vec<&str> = named("SIP/1001&IAX2/box/12&${T}/x&Local/1@c/n,20,tT").collect();
        assert_eq!(got, ["SIP", "IAX2", "Local"]);
        assert!(supported("sip") && supported("LOCAL") && supported("pjsip"));
        assert!(!supported("IAX2") && !supported("Console"));
    }

    #[test]
    fn a_pjsip_suffix_is_the_number_or_a_uri_user() {
        let cases = [
            ("0123", Some("0123")),
            (
                "sip:+4930123@sip.pstnhub.microsoft.com:5061",
                Some("+4930123"),
            ),
            ("SIPS:alice;x=1@host", Some("alice")),
            ("sip:host.example", None),
            ("sip:@host", None),
            ("", None),
        ];
        for (suffix, want) in cases {
            assert_eq!(pjsip_number(suffix).as_deref(), want, "{suffix}");
        }
    }
}
