//! DTMF carried in SIP INFO bodies, as phones in `dtmfmode=info` send it: the
//! `application/dtmf-relay` form (`Signal=5` / `Duration=160` lines, Cisco's and most phones')
//! and the bare `application/dtmf` form (the digit alone, as some Snom and Grandstream send).
//! Events 10 and 11 mean `*` and `#` (RFC 4733's numbering, which several phones use).
//!
//! [`body`] writes the INFO sipbox sends to a leg in `dtmfmode=info` (`Signal=5`,
//! `Duration=` in ms) or `shortinfo` (`application/dtmf`, the digit alone), as chan_sip's
//! `add_digit` does.
//!
//! Reading list: Asterisk `channels/chan_sip.c` `handle_request_info` (the two content types
//! and how the signal is read), `add_digit` (what is sent), RFC 4733 §3.2 (event codes).

/// The long form's content type.
pub const DTMF_RELAY: &str = "application/dtmf-relay";
/// The short form's content type.
pub const DTMF: &str = "application/dtmf";

/// The content type and body of an INFO carrying `digit` for `duration_ms`: the long form
/// (`application/dtmf-relay`) or, with `short`, `application/dtmf`.
pub fn body(digit: char, duration_ms: u32, short: bool) -> (&'static str, Vec<u8>) {
    if short {
        (DTMF, format!("{digit}\r\n").into_bytes())
    } else {
        let text = format!("Signal={digit}\r\nDuration={duration_ms}\r\n");
        (DTMF_RELAY, text.into_bytes())
    }
}

/// The `Duration=` of a long-form body in ms, when it carries one.
pub fn duration_ms(content_type: Option<&str>, body: &[u8]) -> Option<u32> {
    let ct = content_type?.split(';').next()?.trim();
    if !ct.eq_ignore_ascii_case(DTMF_RELAY) {
        return None;
    }
    std::str::from_utf8(body).ok()?.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("duration")
            .then(|| v.trim().parse().ok())?
    })
}

/// The digit an INFO body carries, if it carries one.
pub fn digit(content_type: Option<&str>, body: &[u8]) -> Option<char> {
    let ct = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body).ok()?;
    let signal = match ct.as_str() {
        "application/dtmf-relay" => text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?,
        "application/dtmf" => text.trim(),
        _ => return None,
    };
    match signal {
        "10" => Some('*'),
        "11" => Some('#'),
        s if s.len() == 1 => {
            let c = s.chars().next()?.to_ascii_uppercase();
            matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_sipbox_sends_read_back() {
        let (ct, b) = body('#', 250, false);
        assert_eq!(
            (ct, b.as_slice()),
            (DTMF_RELAY, &b"Signal=#\r\nDuration=250\r\n"[..])
        );
        assert_eq!(digit(Some(ct), &b), Some('#'));
        assert_eq!(duration_ms(Some(ct), &b), Some(250));
        let (ct, b) = body('7', 100, true);
        assert_eq!((ct, b.as_slice()), (DTMF, &b"7\r\n"[..]));
        assert_eq!(digit(Some(ct), &b), Some('7'));
        assert_eq!(duration_ms(Some(ct), &b), None);
        assert_eq!(
            duration_ms(Some(DTMF_RELAY), b"Signal=1\r\nDuration=x"),
            None
        );
    }

    #[test]
    fn both_content_types_and_the_event_numbers() {
        let relay = Some("application/dtmf-relay");
        for (body, want) in [
            ("Signal=5\r\nDuration=160\r\n", Some('5')),
            ("signal= #\r\nDuration=250\r\n", Some('#')),
            ("Signal=10\r\n", Some('*')),
            ("Signal=11\r\n", Some('#')),
            ("Signal=d\r\n", Some('D')),
            ("Duration=160\r\n", None),
            ("Signal=12\r\n", None),
            ("Signal=x\r\n", None),
        ] {
            assert_eq!(digit(relay, body.as_bytes()), want, "{body:?}");
        }
        assert_eq!(digit(Some("application/dtmf"), b"7\r\n"), Some('7'));
        assert_eq!(
            digit(Some("Application/DTMF-Relay; x=y"), b"Signal=1"),
            Some('1')
        );
        assert_eq!(digit(Some("application/sdp"), b"Signal=1"), None);
        assert_eq!(digit(None, b"Signal=1"), None);
        assert_eq!(digit(Some("application/dtmf"), &[0xff, 0xfe]), None);
    }
}
