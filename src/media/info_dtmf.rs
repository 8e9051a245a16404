//! DTMF carried in SIP INFO bodies, as phones in `dtmfmode=info` send it: the
//! `application/dtmf-relay` form (`Signal=5` / `Duration=160` lines, Cisco's and most phones')
//! and the bare `application/dtmf` form (the digit alone, as some Snom and Grandstream send).
//! Events 10 and 11 mean `*` and `#` (RFC 4733's numbering, which several phones use).
//!
//! Reading list: Asterisk `channels/chan_sip.c` `handle_request_info` (the two content types
//! and how the signal is read), RFC 4733 §3.2 (event codes).

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
    use super::digit;

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
