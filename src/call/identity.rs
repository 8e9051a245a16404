//! Caller identity across a trunk: what an outbound leg presents (From, and with `sendrpid`
//! a `Remote-Party-ID` or `P-Asserted-Identity`), and what an inbound INVITE from an entry
//! with `trustrpid=yes` asserts.
//!
//! Reading list: RFC 3325 (P-Asserted-Identity), RFC 3323 (Privacy: id),
//! draft-ietf-sip-privacy-04 (Remote-Party-ID: party, privacy, screen); chan_sip's
//! `add_rpid` (the header forms and the presentation → privacy/screen table), `get_rpid` and
//! `get_pai` (reading them), `initreqprep` (a restricted caller is `"Anonymous"
//! <sip:Anonymous@anonymous.invalid>` in From, fromuser still naming the user).

use crate::sip::{HeaderName, NameAddr, Request};

/// chan_sip's `CALLERID_UNKNOWN` and `FROMDOMAIN_INVALID`.
pub const ANONYMOUS: &str = "Anonymous";
/// The From host of a restricted caller.
pub const ANONYMOUS_DOMAIN: &str = "anonymous.invalid";

/// A caller identity: name, number and presentation (a name of
/// [`crate::config::sip_identity::PRESENTATIONS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Display name (None: the number stands for it).
    pub name: Option<compact_str::CompactString>,
    /// Number (the user part).
    pub number: compact_str::CompactString,
    /// Presentation.
    pub pres: &'static str,
}

/// True when the presentation hides the caller (`AST_PRES_RESTRICTION` not "allowed":
/// prohibited or unavailable).
pub fn restricted(pres: &str) -> bool {
    !pres.starts_with("allowed")
}

fn quoted(name: &str) -> String {
    name.replace(['"', '\\'], "")
}

/// `"name" <sip:number@domain>` (the name defaults to the number, as in `add_rpid`).
fn party(id: &Identity, domain: &str) -> String {
    let name = id
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&id.number);
    format!(
        "\"{}\" <sip:{}@{domain}>",
        quoted(name),
        crate::call::build::escape_user(&id.number)
    )
}

/// The `Remote-Party-ID` value for a request we send as the caller (`party=calling`).
pub fn rpid(id: &Identity, domain: &str) -> String {
    let flags = match id.pres {
        "allowed_not_screened" | "allowed_failed_screen" => ";privacy=off;screen=no",
        "allowed_passed_screen" | "allowed" => ";privacy=off;screen=yes",
        "prohib_not_screened" | "prohib_failed_screen" => ";privacy=full;screen=no",
        "prohib_passed_screen" | "prohib" => ";privacy=full;screen=yes",
        "unavailable" => "",
        p if restricted(p) => ";privacy=full",
        _ => "",
    };
    format!("{};party=calling{flags}", party(id, domain))
}

/// The `P-Asserted-Identity` value, and `Privacy: id` when the caller is restricted (the
/// asserted identity goes to the trusted peer in full, RFC 3325 §7).
pub fn pai(id: &Identity, domain: &str) -> (String, Option<&'static str>) {
    (party(id, domain), restricted(id.pres).then_some("id"))
}

/// The identity an INVITE asserts: `P-Asserted-Identity` (with `Privacy: id`), else
/// `Remote-Party-ID` (`privacy=full|name|uri` hides, `screen=yes` marks it screened). None
/// when neither is there or parses.
pub fn asserted(req: &Request) -> Option<Identity> {
    let h = req.headers();
    if let Some(v) = h.get(&HeaderName::PAssertedIdentity) {
        // Several values (sip: and tel:) may be listed; the first sip/tel one counts.
        let na = NameAddr::parse(first_value(v)).ok()?;
        let private = h.get(&HeaderName::Privacy).is_some_and(|p| {
            p.split([';', ','])
                .any(|t| t.trim().eq_ignore_ascii_case("id"))
        });
        let pres = if private {
            "prohib_not_screened"
        } else {
            "allowed_not_screened"
        };
        return from_name_addr(&na, pres);
    }
    let v = h.get(&HeaderName::RemotePartyId)?;
    let na = NameAddr::parse(first_value(v)).ok()?;
    let privacy = na.param("privacy").flatten().unwrap_or("off");
    let screened = na
        .param("screen")
        .flatten()
        .is_some_and(|s| s.eq_ignore_ascii_case("yes"));
    let hidden = !privacy.eq_ignore_ascii_case("off");
    let pres = match (hidden, screened) {
        (false, false) => "allowed_not_screened",
        (false, true) => "allowed_passed_screen",
        (true, false) => "prohib_not_screened",
        (true, true) => "prohib_passed_screen",
    };
    from_name_addr(&na, pres)
}

/// The first of a comma-separated list of name-addrs (commas inside quotes or `<>` kept).
fn first_value(v: &str) -> &str {
    let (mut quoted, mut angle) = (false, false);
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => return v[..i].trim(),
            _ => {}
        }
    }
    v.trim()
}

fn from_name_addr(na: &NameAddr, pres: &'static str) -> Option<Identity> {
    let number = match na.uri.scheme.to_ascii_lowercase().as_str() {
        "tel" => na.uri.host.to_string(),
        _ => na.uri.user.as_deref()?.to_owned(),
    };
    if number.is_empty() || number.len() > 128 {
        return None;
    }
    Some(Identity {
        name: na
            .display
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(Into::into),
        number: number.into(),
        pres,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(pres: &'static str) -> Identity {
        Identity {
            name: Some("Alice".into()),
            number: "5551001".into(),
            pres,
        }
    }

    #[test]
    fn rpid_forms_follow_add_rpid() {
        assert_eq!(
            rpid(&id("allowed_not_screened"), "itsp.test"),
            "\"Alice\" <sip:5551001@itsp.test>;party=calling;privacy=off;screen=no"
        );
        assert_eq!(
            rpid(&id("prohib"), "itsp.test"),
            "\"Alice\" <sip:5551001@itsp.test>;party=calling;privacy=full;screen=yes"
        );
        assert_eq!(
            rpid(&id("unavailable"), "h"),
            "\"Alice\" <sip:5551001@h>;party=calling"
        );
        let mut nameless = id("allowed");
        nameless.name = None;
        assert_eq!(
            rpid(&nameless, "h"),
            "\"5551001\" <sip:5551001@h>;party=calling;privacy=off;screen=yes"
        );
        assert_eq!(
            pai(&id("prohib_passed_screen"), "h"),
            ("\"Alice\" <sip:5551001@h>".into(), Some("id"))
        );
        assert_eq!(pai(&id("allowed"), "h").1, None);
    }

    #[test]
    fn first_of_a_list() {
        assert_eq!(
            first_value("\"A, B\" <sip:1@h>, <tel:+1555>"),
            "\"A, B\" <sip:1@h>"
        );
    }
}
