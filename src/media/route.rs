//! The plain relay's forwarding record of one RTP socket: the per-packet path of a call whose
//! packets need nothing but a lookup (no transcoding, DTMF detection, recording, music or
//! prompt), so that a packet touches this record and not the call.
//!
//! Reading list: RFC 3550 §5.1 (the header fields read here), RFC 4733 §2.3 (the
//! telephone-event payload type that is renumbered), `src/call/media/relay.rs` (the engine's
//! full path, whose outcome for a plain relay this record reproduces).
//!
//! The call writes the record after every event the engine hands it (`Call::route_of`), so it
//! is a cache of decisions the call already made: the source strictrtp accepts now (a packet
//! from it changes no learning state), the bridged leg's socket and address, its
//! telephone-event payload type and law. Whatever the record cannot decide goes to the call:
//! another source (learning), an event the call reads, audio of the other G.711 law
//! (transcoding). What the call needs from the packets that took this path (when RTP last
//! arrived and left, for `rtptimeout` and `rtpkeepalive`) is kept here and read back by the
//! call before its next event.

use crate::flow::{SockId, Verdict};
use crate::handle::LegId;
use crate::media::g711::Law;
use crate::media::rtp::RtpPacket;
use std::net::SocketAddr;
use std::time::Instant;

/// The forwarding record of a leg's RTP socket (about 100 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The only source relayed here (strictrtp's accepted source).
    pub source: SocketAddr,
    /// The bridged leg's RTP socket.
    pub via: SockId,
    /// The bridged leg's remote.
    pub to: SocketAddr,
    /// The bridged leg (within the same call).
    pub to_leg: LegId,
    /// This leg's telephone-event payload type.
    pub te_in: Option<u8>,
    /// The bridged leg's (None: events are dropped, as the full path drops them).
    pub te_out: Option<u8>,
    /// Events go to the call (it reads digits from this leg, or translates them).
    pub te_to_call: bool,
    /// The law the bridged leg receives: audio in the other law goes to the call.
    pub law: Option<Law>,
    /// When RTP from this leg last took this path.
    pub last_rx: Option<Instant>,
    /// When RTP to the bridged leg last took this path.
    pub last_tx: Option<Instant>,
}

/// What the record decided for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fast {
    /// Send it (rewritten in place) as the verdict says.
    Forward(Verdict),
    /// Drop it (counted as dropped).
    Drop,
    /// The call decides (the packet was not touched).
    ToCall,
}

impl Route {
    /// A datagram on the RTP socket from `from` at `now`. Anything but a valid RTP packet
    /// (RTCP, STUN, garbage: `rtp::classify`'s other classes) goes to the call.
    #[inline]
    pub fn forward(&mut self, now: Instant, from: SocketAddr, data: &mut [u8]) -> Fast {
        if from != self.source {
            return Fast::ToCall;
        }
        let Ok(mut p) = RtpPacket::new_checked(data) else {
            return Fast::ToCall;
        };
        // RFC 5761 §4: these "payload types" with the marker are multiplexed RTCP.
        let second = u16::from(p.payload_type()) | if p.marker() { 0x80 } else { 0 };
        if (192..=223).contains(&second) {
            return Fast::ToCall;
        }
        let pt = p.payload_type();
        let is_event = Some(pt) == self.te_in;
        if is_event && self.te_to_call {
            return Fast::ToCall;
        }
        if !is_event && matches!((pt, self.law), (0, Some(Law::Alaw)) | (8, Some(Law::Ulaw))) {
            return Fast::ToCall;
        }
        self.last_rx = Some(now);
        if is_event {
            match self.te_out {
                Some(o) => p.set_payload_type(o),
                None => return Fast::Drop,
            }
        }
        self.last_tx = Some(now);
        Fast::Forward(Verdict::Forward {
            via: self.via,
            to: self.to,
        })
    }
}

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route {
            source: "192.0.2.1:4000".parse().unwrap(),
            via: SockId(3),
            to: "192.0.2.2:5000".parse().unwrap(),
            to_leg: 1,
            te_in: Some(101),
            te_out: Some(96),
            te_to_call: false,
            law: Some(Law::Ulaw),
            last_rx: None,
            last_tx: None,
        }
    }

    fn packet(pt: u8) -> Vec<u8> {
        let mut v = vec![0x80, pt, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        v.extend_from_slice(&[0xff; 160]);
        v
    }

    #[test]
    fn forwards_audio_and_maps_events() {
        let now = Instant::now();
        let mut r = route();
        let from = r.source;
        let mut a = packet(0);
        let before = a.clone();
        let want = Fast::Forward(Verdict::Forward {
            via: SockId(3),
            to: r.to,
        });
        assert_eq!(r.forward(now, from, &mut a), want);
        assert_eq!(a, before, "audio untouched");
        assert_eq!((r.last_rx, r.last_tx), (Some(now), Some(now)));
        let mut e = packet(0x80 | 101);
        assert_eq!(r.forward(now, from, &mut e), want);
        assert_eq!(e[1], 0x80 | 96, "marker kept, PT mapped");
        r.te_out = None;
        assert_eq!(r.forward(now, from, &mut packet(101)), Fast::Drop);
    }

    #[test]
    fn what_the_record_cannot_decide_goes_to_the_call() {
        let now = Instant::now();
        let mut r = route();
        let from = r.source;
        let stranger: SocketAddr = "198.51.100.9:4000".parse().unwrap();
        assert_eq!(r.forward(now, stranger, &mut packet(0)), Fast::ToCall);
        assert_eq!(
            r.forward(now, from, &mut packet(8)),
            Fast::ToCall,
            "transcode"
        );
        assert_eq!(r.forward(now, from, &mut packet(200)), Fast::ToCall, "RTCP");
        assert_eq!(
            r.forward(now, from, &mut [1, 0, 0, 0]),
            Fast::ToCall,
            "garbage"
        );
        r.te_to_call = true;
        assert_eq!(r.forward(now, from, &mut packet(101)), Fast::ToCall);
        assert_eq!(r.last_rx, None, "nothing recorded for the call's packets");
    }
}
