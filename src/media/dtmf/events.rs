//! The RFC 4733 telephone-event payload (§2.3): event number, end bit, volume, duration.
//!
//! Reading list: RFC 4733 §2.3 (the four bytes), §2.5.1 (the sender: one timestamp for the
//! whole event, the duration growing, the end packet sent three times).

/// The payload of one telephone-event packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The event number (0-15 for DTMF).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in -dBm0 (0-63); phones send 10 typically.
    pub volume: u8,
    /// Samples since the event began (8 kHz clock).
    pub duration: u16,
}

/// The length of the payload.
pub const EVENT_LEN: usize = 4;

/// The volume sipbox sends (-10 dBm0, what Asterisk and most phones use).
pub const VOLUME: u8 = 10;

impl Event {
    /// Reads the first four bytes of a payload; None when shorter.
    pub fn parse(payload: &[u8]) -> Option<Event> {
        let b = payload.get(..EVENT_LEN)?;
        Some(Event {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The four bytes (the R bit is zero).
    pub fn emit(self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        let e = if self.end { 0x80 } else { 0 };
        [self.event, e | (self.volume & 0x3f), d[0], d[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = Event {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(e.emit(), [11, 0x8a, 0x03, 0x20]);
        assert_eq!(Event::parse(&e.emit()), Some(e));
        assert_eq!(Event::parse(&[1, 2, 3]), None);
        // The reserved bit is ignored on input.
        assert_eq!(Event::parse(&[5, 0x4a, 0, 160]).map(|e| e.volume), Some(10));
    }
}
