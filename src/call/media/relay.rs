//! The per-packet path: a datagram on a leg's RTP or RTCP socket goes out of the bridged leg's
//! socket to that leg's remote, rewritten in place (DTMF payload type, µ-law ↔ A-law), or to
//! sipbox's endpoint logic when sipbox itself answered. RFC 4733 events toward a leg in
//! another `dtmfmode`, or from a leg that may transfer by DTMF, are read by [`super::dtmf`]
//! instead of relayed; an `inband` leg's audio also goes through its detector.
//!
//! Reading list: RFC 3550 §5.1 (header fields), RFC 5761 §4 and RFC 7983 (telling RTP, RTCP
//! and STUN apart: [`classify`]), RFC 4733 §2.3 (the event payload), ITU-T G.711.
//!
//! Nothing here allocates or copies: one slab lookup for the socket, one for the call, and a
//! [`Verdict::Forward`] that has the driver resend its own buffer. Which leg a packet goes to
//! is the call's bridge ([`Call::media_peer`]): any two legs, not "the caller and leg N".
//!
//! A plain relay does not even reach the call: after every event the call writes each leg's
//! forwarding record ([`Call::route_of`], kept by `media::ports`), which the engine follows
//! for the packets whose outcome here would only be a forward or a drop
//! (`media::route::Route::forward`). [`Call::take_route_times`] reads back what those packets
//! changed (`last_rx`, `last_tx`) before the call's next event.

use super::super::state::Call;
use super::super::Cx;
use super::LegMedia;
use crate::config::sip_values::DtmfMode;
use crate::flow::Verdict;
use crate::handle::LegId;
use crate::media::g711::{transcode_in_place, Law};
use crate::media::ports::Ports;
use crate::media::route::Route;
use crate::media::rtp::{classify, Class, Port, RtpPacket};
use std::net::SocketAddr;

/// What [`map_payload`] did to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mapped {
    /// Nothing the receiving leg can take: drop it.
    Drop,
    /// Sent on as it is (or with its DTMF payload type renumbered).
    Keep,
    /// Its G.711 payload was rewritten to the other law (counted for /metrics).
    Transcoded,
}

/// Maps an RTP packet from a leg using `in_te` for DTMF to the receiving leg `out`: the
/// telephone-event payload type, and the G.711 law when the legs differ.
#[inline]
pub(super) fn map_payload(data: &mut [u8], in_te: Option<u8>, out: &LegMedia) -> Mapped {
    let Ok(mut p) = RtpPacket::new_checked(data) else {
        return Mapped::Drop;
    };
    let pt = p.payload_type();
    if Some(pt) == in_te {
        return match out.te_pt {
            Some(o) => {
                p.set_payload_type(o);
                Mapped::Keep
            }
            None => Mapped::Drop,
        };
    }
    let in_law = match pt {
        0 => Law::Ulaw,
        8 => Law::Alaw,
        _ => return Mapped::Keep,
    };
    match out.law {
        Some(out_law) if out_law != in_law => {
            transcode_in_place(p.payload_mut(), in_law, out_law);
            p.set_payload_type(out_law.payload_type());
            Mapped::Transcoded
        }
        _ => Mapped::Keep,
    }
}

impl Call {
    /// The forwarding record of `leg`'s RTP socket: Some when every packet from the source
    /// strictrtp accepts now would be relayed by `relay_rtp` without anything but a
    /// payload-type mapping (no learning step, detector, recording, music, prompt, hold or
    /// tone), None when the call must see each packet.
    pub fn route_of(&self, leg: LegId) -> Option<Route> {
        let lm = self.leg_media(leg)?;
        lm.pair?;
        let source = lm.learner.settled_source()?;
        if lm.dtmf_now() == DtmfMode::Inband || !self.media.monitors.is_empty() {
            return None;
        }
        let other = self.media_peer(leg)?;
        if self.moh_to(other) || self.prompt_to(other) {
            return None;
        }
        let out = self.leg_media(other)?;
        let (pair, to) = (out.pair?, out.learner.remote()?);
        if out.hold || out.tone_playing() {
            return None;
        }
        Some(Route {
            source,
            via: pair.rtp,
            to,
            to_leg: other,
            te_in: lm.te_pt,
            te_out: out.te_pt,
            te_to_call: self.feature_watches(leg) || !out.events_pass_to_me(),
            law: out.law,
            last_rx: None,
            last_tx: None,
        })
    }

    /// Writes every leg's forwarding record (after an event: whatever it changed).
    pub fn write_routes(&self, ports: &mut Ports) {
        for (leg, l) in self.legs.iter().enumerate() {
            if let Some(pair) = l.media.as_ref().and_then(|m| m.pair) {
                ports.set_route(pair, self.handle, leg, self.route_of(leg));
            }
        }
    }

    /// Reads back when the packets that took the legs' forwarding records arrived and left
    /// (before an event: the rtptimeout watchdog and keep-alives look at these).
    pub fn take_route_times(&mut self, ports: &mut Ports) {
        for leg in 0..self.legs.len() {
            let Some(pair) = self.legs[leg].media.as_ref().and_then(|m| m.pair) else {
                continue;
            };
            let Some(r) = ports.route_mut(pair.rtp) else {
                continue;
            };
            let (rx, tx, to) = (r.last_rx.take(), r.last_tx.take(), r.to_leg);
            if let Some(lm) = self.legs[leg].media.as_mut() {
                lm.last_rx = lm.last_rx.max(rx);
            }
            if let Some(lm) = self.legs.get_mut(to).and_then(|l| l.media.as_mut()) {
                lm.last_tx = lm.last_tx.max(tx);
            }
        }
    }

    /// An RTP or RTCP datagram on `leg`'s `port` socket.
    pub fn on_media(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        port: Port,
        from: SocketAddr,
        data: &mut [u8],
    ) -> Verdict {
        let verdict = match classify(data, port) {
            Class::Rtp => self.relay_rtp(cx, leg, from, data),
            Class::Rtcp => self.relay_rtcp(cx.media.strict, leg, port, from),
            Class::Stun | Class::Other => Verdict::Consumed,
        };
        match verdict {
            Verdict::Forward { .. } => cx.media.stats.forwarded += 1,
            Verdict::Consumed => cx.media.stats.dropped += 1,
        }
        verdict
    }

    fn relay_rtp(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        from: SocketAddr,
        data: &mut [u8],
    ) -> Verdict {
        let Some(lm) = self.leg_media_mut(leg) else {
            return Verdict::Consumed;
        };
        let seq = u16::from_be_bytes([data[2], data[3]]);
        if !lm.learner.on_packet(cx.now, from, seq).0 {
            return Verdict::Consumed;
        }
        lm.last_rx = Some(cx.now);
        let in_te = lm.te_pt;
        let is_event = in_te.is_some_and(|te| data[1] & 0x7f == te);
        if !is_event && lm.dtmf_now() == DtmfMode::Inband {
            // Only inband legs pay for the detector.
            self.inband_rtp(cx, leg, data);
        }
        if !self.media.monitors.is_empty() {
            self.media.monitors.heard(leg, data);
        }
        if is_event && self.feature_watches(leg) {
            // A leg that may transfer: its digits are read here (and passed on when they
            // make no feature code).
            let Some(lm) = self.leg_media_mut(leg) else {
                return Verdict::Consumed;
            };
            if let Some(h) = super::dtmf::event_end(data, &mut lm.dtmf.last_event_ts) {
                self.digit_from(cx, leg, h);
            }
            return Verdict::Consumed;
        }
        let target = self.media_peer(leg);
        let Some(other) = target else {
            return self.endpoint_rtp(cx, leg, data);
        };
        if self.moh_to(other) || self.prompt_to(other) {
            // The other side hears music instead; a holder said it wants nothing.
            return Verdict::Consumed;
        }
        let Some(out) = self.leg_media(other) else {
            return Verdict::Consumed;
        };
        if is_event && !out.events_pass_to_me() {
            // The other leg takes digits another way: translate at the event's end.
            let Some(lm) = self.leg_media_mut(leg) else {
                return Verdict::Consumed;
            };
            if let Some(h) = super::dtmf::event_end(data, &mut lm.dtmf.last_event_ts) {
                self.digit_from(cx, leg, h);
            }
            return Verdict::Consumed;
        }
        let Some(out) = self.leg_media_mut(other) else {
            return Verdict::Consumed;
        };
        let (Some(pair), Some(to)) = (out.pair, out.learner.remote()) else {
            return Verdict::Consumed;
        };
        if out.hold || (!is_event && out.tone_playing()) {
            // RFC 3264 §8.4: a party that holds (sendonly/inactive) is sent nothing; while
            // sipbox plays it a DTMF tone, the tone replaces the other party's audio.
            return Verdict::Consumed;
        }
        match map_payload(data, in_te, out) {
            Mapped::Drop => return Verdict::Consumed,
            Mapped::Keep => {}
            Mapped::Transcoded => cx.media.stats.transcoded += 1,
        }
        out.last_tx = Some(cx.now);
        if !self.media.monitors.is_empty() {
            self.media.monitors.sent(other, data);
        }
        Verdict::Forward { via: pair.rtp, to }
    }

    fn relay_rtcp(&mut self, strict: bool, leg: LegId, port: Port, from: SocketAddr) -> Verdict {
        let target = self.media_peer(leg);
        let Some(lm) = self.leg_media_mut(leg) else {
            return Verdict::Consumed;
        };
        // RTCP follows its RTP: accept it from the RTP remote's host, and with comedia (or
        // when the SDP gave nothing) learn where to send it from what arrives.
        let expected_ip = lm.learner.source().or(lm.learner.remote()).map(|a| a.ip());
        if strict && expected_ip.is_some_and(|ip| ip != from.ip()) {
            return Verdict::Consumed;
        }
        if port == Port::Rtcp && (lm.learner.config().comedia || lm.rtcp_remote.is_none()) {
            lm.rtcp_remote = Some(from);
        }
        let Some(other) = target else {
            return Verdict::Consumed;
        };
        let Some(out) = self.leg_media(other) else {
            return Verdict::Consumed;
        };
        let to = out.rtcp_remote.or_else(|| {
            out.learner
                .remote()
                .map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
        });
        match (out.pair, to) {
            (Some(pair), Some(to)) if out.learner.remote().is_some() => {
                Verdict::Forward { via: pair.rtcp, to }
            }
            _ => Verdict::Consumed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711::{linear_to_alaw, linear_to_ulaw};
    use crate::media::learning::{Learner, LearningConfig};
    use crate::media::sdp::LocalSession;

    fn leg(law: Option<Law>, te: Option<u8>) -> LegMedia {
        LegMedia {
            pair: None,
            learner: Learner::new(LearningConfig::default()),
            rtcp_remote: None,
            law,
            codec: None,
            te_pt: te,
            session: LocalSession::new(1, 1),
            hold: false,
            last_rx: None,
            last_tx: None,
            keepalive: Default::default(),
            dtmf_mode: Default::default(),
            dtmf: Default::default(),
        }
    }

    fn packet(pt: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x80, pt, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn transcodes_ulaw_to_alaw_in_place() {
        let samples = [0i16, 1000, -1000, 32000];
        let u: Vec<u8> = samples.iter().map(|&s| linear_to_ulaw(s)).collect();
        let mut p = packet(0, &u);
        assert_eq!(
            map_payload(&mut p, Some(101), &leg(Some(Law::Alaw), Some(96))),
            Mapped::Transcoded
        );
        assert_eq!(p[1] & 0x7f, 8);
        let a: Vec<u8> = samples.iter().map(|&s| linear_to_alaw(s)).collect();
        // Transcoding goes through the table: close to a direct encode (within one step).
        for (got, want) in p[12..].iter().zip(&a) {
            let (g, w) = (Law::Alaw.decode(*got), Law::Alaw.decode(*want));
            assert!((i32::from(g) - i32::from(w)).abs() <= 128, "{g} vs {w}");
        }
    }

    #[test]
    fn same_law_is_untouched_and_dtmf_pt_is_mapped() {
        let mut p = packet(0, &[1, 2, 3]);
        let before = p.clone();
        assert_eq!(
            map_payload(&mut p, Some(101), &leg(Some(Law::Ulaw), Some(96))),
            Mapped::Keep
        );
        assert_eq!(p, before);
        let mut d = packet(0x80 | 101, &[11, 0x80, 0, 160]);
        assert_eq!(
            map_payload(&mut d, Some(101), &leg(Some(Law::Ulaw), Some(96))),
            Mapped::Keep
        );
        assert_eq!(d[1], 0x80 | 96, "marker kept, PT mapped");
        let mut d2 = packet(101, &[11, 0x80, 0, 160]);
        assert_eq!(
            map_payload(&mut d2, Some(101), &leg(Some(Law::Ulaw), None)),
            Mapped::Drop
        );
    }
}
