//! The channel technologies Dial targets name, checked once at load: sipbox dials `SIP/`
//! (chan_sip) and `Local/` (core_local); a target of another technology (`IAX2/`, `DAHDI/`,
//! `PJSIP/`, ...) is CHANUNAVAIL when the Dial runs, as in Asterisk without that channel
//! driver ("Unable to create channel of type"), and the rest of the Dial goes on. One warning
//! per technology, at its first use, so a big dialplan does not flood the log.

use super::apps::App;
use super::model::Dialplan;
use std::collections::BTreeSet;

/// Technologies a Dial can ring.
pub const SUPPORTED: &[&str] = &["SIP", "Local"];

/// True when `tech` (as written before `/`) is one sipbox dials.
pub fn supported(tech: &str) -> bool {
    SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tech))
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
                if !supported(tech) && seen.insert(tech.to_ascii_uppercase()) {
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
        assert!(supported("sip") && supported("LOCAL") && !supported("PJSIP"));
    }
}
