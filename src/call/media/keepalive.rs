//! `rtpkeepalive=N`: when sipbox has sent a leg no RTP for N seconds (a call on hold, a
//! one-way stream, a Wait in the dialplan), it sends that leg one RTP comfort-noise packet
//! (RFC 3389, payload type 13), so the NAT in front of the phone keeps the media mapping
//! open. This is chan_sip's `check_rtp_timeout` calling `ast_rtp_instance_sendcng`; the
//! packet carries the leg's own keep-alive SSRC and sequence.

use super::super::state::Call;
use super::super::Cx;
use crate::handle::LegId;
use crate::wake::{CallTimer, Wake};
use std::time::Duration;

/// RFC 3389's comfort-noise payload type.
const CN: u8 = 13;
/// The noise level byte: -127 dBov, silence (Asterisk's `sendcng` with level 0).
const SILENCE: u8 = 127;

/// A comfort-noise packet: 12-byte header and one level byte.
fn cn_packet(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(13);
    p.extend_from_slice(&[0x80, CN]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.push(SILENCE);
    p
}

impl Call {
    /// The `rtpkeepalive` of `leg`: its entry's, or `[general]`'s for a guest.
    fn rtp_keepalive_of(&self, leg: LegId) -> Option<Duration> {
        // As the leg and the call began (a reload changes it for new calls).
        match self.legs.get(leg)?.entry.as_deref() {
            Some(e) => e.rtp_keepalive,
            None => self.general.nat_addressing.rtp_keepalive,
        }
    }

    /// The shortest `rtpkeepalive` among the legs with media.
    fn rtp_keepalive_tick(&self) -> Option<Duration> {
        (0..self.legs.len())
            .filter(|&l| self.legs[l].media.is_some())
            .filter_map(|l| self.rtp_keepalive_of(l))
            .min()
    }

    /// Starts the keep-alive check once the call has media (answered, or early media).
    pub(in crate::call) fn arm_rtp_keepalive(&mut self, cx: &mut Cx<'_>) {
        let Some(every) = self.rtp_keepalive_tick() else {
            return;
        };
        if self.timers.is_running(CallTimer::RtpKeepalive) {
            return;
        }
        let wake = Wake::Call(self.handle, CallTimer::RtpKeepalive);
        self.timers
            .start(cx.sched, CallTimer::RtpKeepalive, cx.now + every, wake);
    }

    /// The check: a comfort-noise packet to every leg that has gone `rtpkeepalive` without
    /// RTP from sipbox; then the next check.
    pub(in crate::call) fn rtp_keepalive(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now;
        for leg in 0..self.legs.len() {
            let Some(every) = self.rtp_keepalive_of(leg) else {
                continue;
            };
            let Some(lm) = self.legs[leg].media.as_mut() else {
                continue;
            };
            let (Some(pair), Some(to)) = (lm.pair, lm.learner.remote()) else {
                continue;
            };
            if lm
                .last_tx
                .is_some_and(|t| now.saturating_duration_since(t) < every)
            {
                continue;
            }
            let ka = &mut lm.keepalive;
            ka.seq = ka.seq.wrapping_add(1);
            ka.ts = ka.ts.wrapping_add(every.as_millis() as u32 * 8);
            cx.out.send(pair.rtp, to, cn_packet(ka.seq, ka.ts, ka.ssrc));
            lm.last_tx = Some(now);
        }
        if let Some(every) = self.rtp_keepalive_tick() {
            let wake = Wake::Call(self.handle, CallTimer::RtpKeepalive);
            self.timers
                .start(cx.sched, CallTimer::RtpKeepalive, now + every, wake);
        }
    }
}

/// The stream a leg's keep-alives form.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepaliveStream {
    /// Its SSRC (random per leg).
    pub ssrc: u32,
    /// The last sequence number sent.
    pub seq: u16,
    /// The last timestamp sent.
    pub ts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::RtpPacket;

    #[test]
    fn a_cn_packet_is_valid_rtp() {
        let b = cn_packet(7, 160, 0xdead_beef);
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.payload_type(), p.sequence(), p.timestamp()),
            (13, 7, 160)
        );
        assert_eq!(p.ssrc(), 0xdead_beef);
        assert_eq!(p.payload(), &[127]);
    }
}
