//! NOTIFY bodies for an extension's state, shaped as chan_sip's `state_notify_build_xml`
//! writes them (the phones' parsers were tested against those): RFC 4235 dialog-info, RFC
//! 3863 PIDF, and the older XPIDF.

use super::ExtState;
use crate::config::sip_presence::{NotifyCid, NotifyRinging};
use std::fmt::Write;

/// The notifyhold/notifyringing/notifycid choices.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    /// `notifyringing`.
    pub ringing: NotifyRinging,
    /// `notifycid`.
    pub cid: NotifyCid,
}

/// The ringing caller, for pickup (`notifycid`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Display name.
    pub name: String,
    /// Number (user part).
    pub number: String,
}

/// What one NOTIFY describes.
pub struct View<'a> {
    /// The extension.
    pub exten: &'a str,
    /// The host in its URI.
    pub host: &'a str,
    /// Its state.
    pub state: ExtState,
    /// The body version (increases by one per NOTIFY of a subscription).
    pub version: u32,
    /// Who rings it, if known.
    pub caller: Option<&'a Caller>,
}

/// Escapes text for XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// The state as `notifyringing` lets it be shown.
pub fn shown_state(state: ExtState, ringing: NotifyRinging) -> ExtState {
    match (state, ringing) {
        (ExtState::Ringing, NotifyRinging::No) => ExtState::Idle,
        (ExtState::RingInUse, NotifyRinging::No | NotifyRinging::NotInUse) => ExtState::InUse,
        (s, _) => s,
    }
}

/// RFC 4235 `application/dialog-info+xml`: one dialog named after the extension, `early`
/// while it rings, `confirmed` while in use, busy or held, `terminated` otherwise.
pub fn dialog_info(v: &View<'_>, shown: Shown) -> String {
    let state = shown_state(v.state, shown.ringing);
    let exten = escape(v.exten);
    let host = escape(v.host);
    let dstate = match state {
        ExtState::Ringing | ExtState::RingInUse => "early",
        ExtState::InUse | ExtState::Busy | ExtState::HoldInUse | ExtState::OnHold => "confirmed",
        ExtState::Idle | ExtState::Unavailable => "terminated",
    };
    let mut b = String::new();
    let _ = write!(
        b,
        "<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" \
         version=\"{}\" state=\"full\" entity=\"sip:{exten}@{host}\">\n",
        v.version
    );
    let caller = v
        .caller
        .filter(|_| state.ringing() && shown.cid != NotifyCid::No);
    match caller {
        Some(c) => {
            let _ = writeln!(
                b,
                "<dialog id=\"{exten}\" direction=\"recipient\">\n<state>{dstate}</state>"
            );
            let _ = write!(
                b,
                "<remote>\n<identity display=\"{}\">sip:{}@{host}</identity>\n\
                 <target uri=\"sip:{}@{host}\"/>\n</remote>\n\
                 <local>\n<identity>sip:{exten}@{host}</identity>\n\
                 <target uri=\"sip:{exten}@{host}\"/>\n</local>\n",
                escape(&c.name),
                escape(&c.number),
                escape(&c.number)
            );
        }
        None => {
            let _ = writeln!(b, "<dialog id=\"{exten}\">\n<state>{dstate}</state>");
            if state == ExtState::OnHold {
                // RFC 4235 §4.1.6: the held media is "not rendered" at the phone.
                let _ = writeln!(
                    b,
                    "<local>\n<target uri=\"sip:{exten}@{host}\">\n\
                     <param pname=\"+sip.rendering\" pvalue=\"no\"/>\n</target>\n</local>"
                );
            }
        }
    }
    b.push_str("</dialog>\n</dialog-info>\n");
    b
}

/// The PIDF note and RPID activity chan_sip uses per state; `open` unless unavailable.
fn pidf_parts(state: ExtState) -> (&'static str, Option<&'static str>, bool) {
    match state {
        ExtState::Idle => ("Ready", None, true),
        ExtState::Ringing | ExtState::RingInUse => ("Ringing", Some("on-the-phone"), true),
        ExtState::InUse | ExtState::HoldInUse => ("On the phone", Some("on-the-phone"), true),
        ExtState::Busy => ("On the phone", Some("busy"), true),
        ExtState::OnHold => ("On hold", Some("on-the-phone"), true),
        ExtState::Unavailable => ("Unavailable", Some("away"), false),
    }
}

/// RFC 3863 `application/pidf+xml` with RPID's activities.
pub fn pidf(v: &View<'_>, shown: Shown) -> String {
    let state = shown_state(v.state, shown.ringing);
    let (note, activity, open) = pidf_parts(state);
    let exten = escape(v.exten);
    let host = escape(v.host);
    let mut b = String::new();
    let _ = write!(
        b,
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \
         xmlns:pp=\"urn:ietf:params:xml:ns:pidf:person\" \
         xmlns:es=\"urn:ietf:params:xml:ns:pidf:rpid:status:rpid-status\" \
         xmlns:ep=\"urn:ietf:params:xml:ns:pidf:rpid:rpid-person\" \
         entity=\"sip:{exten}@{host}\">\n<pp:person><status>\n"
    );
    if let Some(a) = activity {
        let _ = writeln!(b, "<ep:activities><ep:{a}/></ep:activities>");
    }
    let _ = write!(
        b,
        "</status></pp:person>\n<note>{note}</note>\n<tuple id=\"{exten}\">\n\
         <contact priority=\"1\">sip:{exten}@{host}</contact>\n\
         <status><basic>{}</basic></status>\n</tuple>\n</presence>\n",
        if open { "open" } else { "closed" }
    );
    b
}

/// `application/xpidf+xml` for older phones (the draft format chan_sip still sends).
pub fn xpidf(v: &View<'_>, shown: Shown) -> String {
    let state = shown_state(v.state, shown.ringing);
    let (status, sub) = match state {
        ExtState::Idle => ("open", "online"),
        ExtState::Unavailable => ("closed", "offline"),
        _ => ("inuse", "onthephone"),
    };
    let exten = escape(v.exten);
    let host = escape(v.host);
    format!(
        "<?xml version=\"1.0\"?>\n\
         <!DOCTYPE presence PUBLIC \"-//IETF//DTD RFCxxxx XPIDF 1.0//EN\" \"xpidf.dtd\">\n\
         <presence>\n<presentity uri=\"sip:{exten}@{host};method=SUBSCRIBE\" />\n\
         <atom id=\"{exten}\">\n<address uri=\"sip:{exten}@{host};user=ip\" priority=\"0.800000\">\n\
         <status status=\"{status}\" />\n<msnsubstatus substatus=\"{sub}\" />\n\
         </address>\n</atom>\n</presence>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOWN: Shown = Shown {
        ringing: NotifyRinging::Yes,
        cid: NotifyCid::Yes,
    };

    fn view(state: ExtState, caller: Option<&Caller>) -> View<'_> {
        View {
            exten: "1001",
            host: "127.0.0.1",
            state,
            version: 3,
            caller,
        }
    }

    #[test]
    fn dialog_states() {
        let c = Caller {
            name: "A <&> B".into(),
            number: "1002".into(),
        };
        let b = dialog_info(&view(ExtState::Ringing, Some(&c)), SHOWN);
        assert!(b.contains("version=\"3\""));
        assert!(b.contains("<state>early</state>"));
        assert!(b.contains("display=\"A &lt;&amp;&gt; B\">sip:1002@127.0.0.1"));
        assert!(dialog_info(&view(ExtState::InUse, None), SHOWN).contains("confirmed"));
        assert!(dialog_info(&view(ExtState::Idle, None), SHOWN).contains("terminated"));
        let held = dialog_info(&view(ExtState::OnHold, None), SHOWN);
        assert!(held.contains("+sip.rendering") && held.contains("confirmed"));
        let no_ring = Shown {
            ringing: NotifyRinging::No,
            cid: NotifyCid::No,
        };
        assert!(dialog_info(&view(ExtState::Ringing, None), no_ring).contains("terminated"));
    }

    #[test]
    fn pidf_open_and_closed() {
        assert!(pidf(&view(ExtState::Idle, None), SHOWN).contains("<basic>open</basic>"));
        assert!(pidf(&view(ExtState::Unavailable, None), SHOWN).contains("<basic>closed</basic>"));
        assert!(xpidf(&view(ExtState::InUse, None), SHOWN).contains("status=\"inuse\""));
    }
}
