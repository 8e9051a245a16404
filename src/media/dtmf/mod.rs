//! DTMF in its four carriers: RFC 4733 telephone-event packets ([`events`]), SIP INFO bodies
//! ([`info`]), and tones in G.711 audio, generated ([`outgoing`]) and detected ([`detect`]).
//! [`outgoing`] queues the digits sent to one leg and paces them on 20 ms ticks.
//!
//! Reading list: RFC 4733 §2.3 and §2.5 (event payload, timestamps, durations, the end packet
//! sent three times), ITU-T Q.23/Q.24 (the frequency pairs, twist), Asterisk `main/dsp.c`
//! (`dtmf_detect`: the Goertzel detector and its thresholds), `main/channel.c`
//! (`ast_senddigit`, `ast_dtmf_stream`: durations and gaps) and `channels/chan_sip.c`
//! (`sip_senddigit_begin`/`sip_senddigit_end`, `transmit_info_with_digit`, `add_digit`).

pub mod detect;
pub mod events;
pub mod info;
pub mod outgoing;

/// Row (low group) frequencies in Hz.
pub const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// Column (high group) frequencies in Hz.
pub const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad, row by row: `KEYPAD[row * 4 + col]`.
pub const KEYPAD: [char; 16] = [
    '1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D',
];

/// True for the sixteen DTMF digits (upper-case A-D).
pub fn is_digit(d: char) -> bool {
    KEYPAD.contains(&d)
}

/// The RFC 4733 event number of a digit (§3.2: 0-9, `*` 10, `#` 11, A-D 12-15).
pub fn event_of(d: char) -> Option<u8> {
    Some(match d.to_ascii_uppercase() {
        c @ '0'..='9' => c as u8 - b'0',
        '*' => 10,
        '#' => 11,
        c @ 'A'..='D' => c as u8 - b'A' + 12,
        _ => return None,
    })
}

/// The digit of an RFC 4733 event number.
pub fn digit_of(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => char::from(b'0' + event),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + event - 12),
        _ => return None,
    })
}

/// The (row, column) frequencies of a digit.
pub fn frequencies(d: char) -> Option<(f32, f32)> {
    let i = KEYPAD.iter().position(|&k| k == d.to_ascii_uppercase())?;
    Some((ROWS[i / 4], COLS[i % 4]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_numbers_and_frequencies() {
        for d in KEYPAD {
            assert_eq!(event_of(d).and_then(digit_of), Some(d));
        }
        assert_eq!(event_of('#'), Some(11));
        assert_eq!(event_of('b'), Some(13));
        assert_eq!(event_of('x'), None);
        assert_eq!(digit_of(16), None);
        assert_eq!(frequencies('5'), Some((770.0, 1336.0)));
        assert_eq!(frequencies('#'), Some((941.0, 1477.0)));
        assert_eq!(frequencies('e'), None);
    }
}
