//! Security log lines in Asterisk's wording, so that what admins grep for and what fail2ban's
//! filters match keeps working (`contrib/fail2ban/` has sipbox's filter, tested against these
//! lines).
//!
//! Reading list: Asterisk `channels/chan_sip.c` (`handle_request_register`'s "Registration from
//! '...' failed for '...' - Wrong password" and its other reasons), `main/security_events.c`
//! and `res/res_security_log.c` (the `SecurityEvent="..."` line: event type, `EventTV`,
//! `Service`, `AccountID`, `SessionID`, `LocalAddress`/`RemoteAddress` as
//! `IPV4/UDP/addr/port`). A wrong voicemail or Authenticate() PIN is an `InvalidPassword`
//! event (the type `main/security_events.c` defines for a wrong password given in clear, as
//! a manager login's) with the application as `Service`: app_voicemail's own "Incorrect
//! password" verbose line names no address, so nothing could ban on it.

use crate::dialplan::time::{civil, epoch_secs};
use std::fmt;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Why a request's credentials were refused (logged; the answer is the same `403` for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The digest response was wrong.
    WrongPassword,
    /// No entry of that name (with `alwaysauthreject`, answered like a wrong password).
    UnknownAccount,
    /// The entry's `permit`/`deny` does not let the source in.
    AclDenied,
    /// The credentials could not be used at all (svcrack's qop without nc/cnonce, a digest
    /// `uri` naming another target): answered 400, counted as a guess all the same.
    BadCredentials,
    /// A wrong PIN keyed into VoiceMailMain or Authenticate() (never a REGISTER's).
    WrongPin,
}

impl Refusal {
    /// chan_sip's reason text after "Registration from ... failed for ... - ".
    fn register_reason(self) -> &'static str {
        match self {
            Refusal::WrongPassword | Refusal::BadCredentials | Refusal::WrongPin => {
                "Wrong password"
            }
            Refusal::UnknownAccount => "No matching peer found",
            Refusal::AclDenied => "Device does not match ACL",
        }
    }

    /// The security event type res_security_log prints.
    fn event(self) -> &'static str {
        match self {
            Refusal::WrongPassword | Refusal::BadCredentials => "ChallengeResponseFailed",
            Refusal::UnknownAccount => "InvalidAccountID",
            Refusal::AclDenied => "FailedACL",
            Refusal::WrongPin => "InvalidPassword",
        }
    }
}

/// chan_sip's line for a refused REGISTER. `from` is the From header as received.
pub fn registration_failed(from: &str, source: SocketAddr, why: Refusal) -> String {
    format!(
        "Registration from '{}' failed for '{source}' - {}",
        from.replace('\'', ""),
        why.register_reason()
    )
}

/// The `SecurityEvent=` line for a refused request of any method.
pub struct SecurityEvent<'a> {
    /// Why.
    pub why: Refusal,
    /// What refused it: `SIP`, or the dialplan application that checked a PIN.
    pub service: &'a str,
    /// When (wall clock).
    pub at: SystemTime,
    /// The name the request claimed.
    pub account: &'a str,
    /// Its Call-ID.
    pub session: &'a str,
    /// Our address.
    pub local: SocketAddr,
    /// Its source.
    pub remote: SocketAddr,
}

impl fmt::Display for SecurityEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = epoch_secs(self.at);
        let c = civil(secs);
        let millis = self
            .at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_millis())
            .unwrap_or(0);
        let sec = secs.rem_euclid(60);
        // Names and Call-IDs are the sender's: quotes would let it forge fields.
        let clean = |s: &str| s.replace(['"', '\r', '\n'], "");
        write!(
            f,
            "SecurityEvent=\"{}\",EventTV=\"{:04}-{:02}-{:02}T{:02}:{:02}:{sec:02}.{millis:03}+0000\",\
             Severity=\"Error\",Service=\"{}\",EventVersion=\"1\",AccountID=\"{}\",\
             SessionID=\"{}\",LocalAddress=\"{}\",RemoteAddress=\"{}\"",
            self.why.event(),
            c.year,
            c.month,
            c.mday,
            c.minute_of_day / 60,
            c.minute_of_day % 60,
            clean(self.service),
            clean(self.account),
            clean(self.session),
            address(self.local),
            address(self.remote),
        )
    }
}

/// `IPV4/UDP/192.0.2.1/5060`, as res_security_log writes addresses.
fn address(a: SocketAddr) -> String {
    let family = if a.is_ipv4() { "IPV4" } else { "IPV6" };
    format!("{family}/UDP/{}/{}", a.ip(), a.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lines_read_as_asterisk_writes_them() {
        let src: SocketAddr = "203.0.113.5:5070".parse().unwrap();
        assert_eq!(
            registration_failed("\"1001\" <sip:1001@pbx>;tag=x", src, Refusal::WrongPassword),
            "Registration from '\"1001\" <sip:1001@pbx>;tag=x' failed for '203.0.113.5:5070' - Wrong password"
        );
        let ev = SecurityEvent {
            why: Refusal::UnknownAccount,
            service: "SIP",
            at: UNIX_EPOCH + Duration::from_millis(1_764_586_717_250),
            account: "ad\"min",
            session: "abc@host",
            local: "192.0.2.1:5060".parse().unwrap(),
            remote: src,
        };
        assert_eq!(
            ev.to_string(),
            "SecurityEvent=\"InvalidAccountID\",EventTV=\"2025-12-01T10:58:37.250+0000\",\
             Severity=\"Error\",Service=\"SIP\",EventVersion=\"1\",AccountID=\"admin\",\
             SessionID=\"abc@host\",LocalAddress=\"IPV4/UDP/192.0.2.1/5060\",\
             RemoteAddress=\"IPV4/UDP/203.0.113.5/5070\""
        );
        let pin = SecurityEvent {
            why: Refusal::WrongPin,
            service: "VoiceMailMain",
            at: UNIX_EPOCH + Duration::from_millis(1_764_586_717_250),
            account: "1001@default",
            session: "abc@host",
            local: "192.0.2.1:5060".parse().unwrap(),
            remote: src,
        };
        assert_eq!(
            pin.to_string(),
            "SecurityEvent=\"InvalidPassword\",EventTV=\"2025-12-01T10:58:37.250+0000\",\
             Severity=\"Error\",Service=\"VoiceMailMain\",EventVersion=\"1\",\
             AccountID=\"1001@default\",SessionID=\"abc@host\",\
             LocalAddress=\"IPV4/UDP/192.0.2.1/5060\",RemoteAddress=\"IPV4/UDP/203.0.113.5/5070\""
        );
    }
}
