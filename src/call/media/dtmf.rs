//! DTMF toward and between a call's legs in each leg's `dtmfmode`: digits sipbox sends
//! (SendDTMF, and a digit that arrived on the other leg of a bridge in another carrier) go
//! out as RFC 4733 events, SIP INFO (`application/dtmf-relay` or, for `shortinfo`,
//! `application/dtmf`) or G.711 tones; `inband` legs are listened to with the Goertzel
//! detector. Between two RFC 4733 legs events stay on the relay's fast path, rewritten in
//! place; any other pair of carriers is translated here.
//!
//! Reading list: `crate::media::dtmf` (the carriers), Asterisk `channels/chan_sip.c`
//! (`sip_senddigit_begin`/`_end`: which carrier per `dtmfmode`; `process_sdp`: `auto` becomes
//! rfc2833 when the offer carries telephone-event, else inband), `main/bridge_channel.c`
//! (a digit read from one channel is written to the other, which sends it its own way).

use super::super::build::{self, Origin};
use super::super::dialog::DialogState;
use super::super::state::Call;
use super::super::{Cx, Purpose};
use super::LegMedia;
use crate::config::sip_values::DtmfMode;
use crate::handle::LegId;
use crate::media::dtmf::detect::{Detector, Heard};
use crate::media::dtmf::events::Event;
use crate::media::dtmf::outgoing::{Carrier, Outgoing};
use crate::media::dtmf::{digit_of, info};
use crate::media::player::Pacer;
use crate::media::rtp::RTP_HEADER_LEN;
use crate::sip::Method;
use crate::wake::{CallTimer, Wake};

/// A digit's duration when the carrier did not say (Asterisk's `AST_DEFAULT_EMULATE_DTMF_DURATION`).
pub const DEFAULT_DURATION_MS: u32 = 100;

/// What a leg's DTMF state holds besides its mode.
#[derive(Default)]
pub struct LegDtmf {
    /// The digits sipbox sends this leg over RTP.
    pub out: Option<Box<Outgoing>>,
    /// The inband detector of what this leg sends (inband legs on G.711 only).
    pub detector: Option<Box<Detector>>,
    /// The RTP timestamp of the last event from this leg acted on (end packets repeat).
    pub last_event_ts: Option<u32>,
}

impl LegMedia {
    /// The leg's DTMF mode now: `auto` resolved by its telephone-event.
    pub fn dtmf_now(&self) -> DtmfMode {
        self.dtmf_mode.effective(self.te_pt.is_some())
    }

    /// True when RFC 4733 events from the other leg reach this one on the relay unchanged
    /// (this leg takes rfc2833, or auto with telephone-event).
    #[inline]
    pub(super) fn events_pass_to_me(&self) -> bool {
        self.dtmf_now() == DtmfMode::Rfc2833
    }

    /// True while sipbox plays a DTMF tone to this leg (the relay holds the other party's
    /// audio back meanwhile).
    #[inline]
    pub(super) fn tone_playing(&self) -> bool {
        self.dtmf.out.as_ref().is_some_and(|o| o.tone_playing())
    }

    /// The inband detector, for an inband leg on G.711 (made on first use).
    pub(super) fn inband_detector(&mut self, relax: bool) -> Option<&mut Detector> {
        if self.dtmf_now() != DtmfMode::Inband || self.law.is_none() {
            return None;
        }
        Some(
            self.dtmf
                .detector
                .get_or_insert_with(|| Box::new(Detector::new(relax))),
        )
    }
}

/// The digit and duration (ms) an RFC 4733 packet ends, once per event (the end packet is
/// sent three times; RFC 4733 §2.5.1.4).
pub(super) fn event_end(data: &[u8], last_ts: &mut Option<u32>) -> Option<Heard> {
    let ev = Event::parse(data.get(RTP_HEADER_LEN..)?)?;
    if !ev.end {
        return None;
    }
    let ts = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    if *last_ts == Some(ts) {
        return None;
    }
    *last_ts = Some(ts);
    Some(Heard {
        digit: digit_of(ev.event)?,
        duration_ms: u32::from(ev.duration) / 8,
    })
}

impl Call {
    /// Sends `digit` to `leg` in that leg's mode; `gap_ms` of nothing follows it on RTP.
    /// False when it could not be sent (no media, no telephone-event for rfc2833, no G.711
    /// for inband, queue full).
    pub(in crate::call) fn send_digit(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        digit: char,
        duration_ms: u32,
        gap_ms: u32,
    ) -> bool {
        let Some(lm) = self.leg_media_mut(leg) else {
            return false;
        };
        let carrier = match lm.dtmf_now() {
            DtmfMode::Info | DtmfMode::ShortInfo => {
                let short = lm.dtmf_now() == DtmfMode::ShortInfo;
                return self.send_info_digit(cx, leg, digit, duration_ms, short);
            }
            DtmfMode::Rfc2833 | DtmfMode::Auto => lm.te_pt.map(Carrier::Events),
            DtmfMode::Inband => lm.law.map(Carrier::Tones),
        };
        let Some(carrier) = carrier else {
            let missing = if lm.dtmf_now() == DtmfMode::Inband {
                "G.711 for inband tones"
            } else {
                "telephone-event"
            };
            log::info!(
                "call {}: DTMF '{digit}' to leg {leg} dropped: its session has no {missing}",
                self.label()
            );
            return false;
        };
        let out = lm.dtmf.out.get_or_insert_with(|| {
            let r = &mut *cx.rng;
            Box::new(Outgoing::new(
                carrier,
                rand::Rng::random(r),
                rand::Rng::random(r),
                rand::Rng::random(r),
            ))
        });
        out.set_carrier(carrier);
        if !out.push(digit, duration_ms, gap_ms) {
            log::warn!(
                "call {}: DTMF queue of leg {leg} full; '{digit}' dropped",
                self.label()
            );
            return false;
        }
        log::debug!(
            "call {}: DTMF '{digit}' to leg {leg} ({carrier:?})",
            self.label()
        );
        self.start_dtmf_ticks(cx);
        true
    }

    /// Queues a pause on `leg`'s RTP digit stream (SendDTMF's `w`).
    pub(in crate::call) fn send_pause(&mut self, cx: &mut Cx<'_>, leg: LegId, ms: u32) {
        if let Some(out) = self.leg_media_mut(leg).and_then(|m| m.dtmf.out.as_mut()) {
            if out.push_pause(ms) {
                self.start_dtmf_ticks(cx);
            }
        }
    }

    fn start_dtmf_ticks(&mut self, cx: &mut Cx<'_>) {
        if self.media.dtmf_pacer.is_none() {
            self.media.dtmf_pacer = Some(Pacer::new(cx.now));
            let wake = Wake::Call(self.handle, CallTimer::Dtmf);
            self.timers.start(cx.sched, CallTimer::Dtmf, cx.now, wake);
        }
    }

    /// True when `leg` has no RTP digits queued or playing.
    pub(in crate::call) fn dtmf_idle(&self, leg: LegId) -> bool {
        self.leg_media(leg)
            .and_then(|m| m.dtmf.out.as_ref())
            .is_none_or(|o| o.is_idle())
    }

    /// The 20 ms tick of the RTP digit streams: sends what is due on every leg.
    pub(in crate::call) fn dtmf_tick(&mut self, cx: &mut Cx<'_>) {
        let Some(pacer) = self.media.dtmf_pacer.as_mut() else {
            return;
        };
        let due = pacer.frames_due(cx.now).clamp(1, 5);
        for _ in 0..due {
            pacer.on_sent();
        }
        let next = pacer.next_deadline();
        let mut busy = false;
        let mut packets = Vec::new();
        for lm in self.legs.iter_mut().filter_map(|l| l.media.as_mut()) {
            let Some(out) = lm.dtmf.out.as_mut() else {
                continue;
            };
            packets.clear();
            for _ in 0..due {
                out.tick(&mut packets);
            }
            busy |= !out.is_idle();
            let (Some(pair), Some(to)) = (lm.pair, lm.learner.remote()) else {
                continue;
            };
            if lm.hold || packets.is_empty() {
                continue;
            }
            for p in packets.drain(..) {
                cx.out.send(pair.rtp, to, p);
                cx.media.stats.played += 1;
            }
            lm.last_tx = Some(cx.now);
        }
        if busy {
            let wake = Wake::Call(self.handle, CallTimer::Dtmf);
            self.timers.start(cx.sched, CallTimer::Dtmf, next, wake);
        } else {
            self.media.dtmf_pacer = None;
            if let Some(leg) = self.media.senddtmf.take() {
                // SendDTMF() waited for these digits.
                log::debug!("call {}: SendDTMF to leg {leg} done", self.label());
                self.run_dialplan(cx, crate::dialplan::Resume::Done);
            }
        }
    }

    /// SendDTMF(digits, between, duration) to `leg`: each digit in the leg's mode, `w` a
    /// half-second pause, `W` a second (Asterisk's `ast_dtmf_stream`). True when the dialplan goes on now
    /// (nothing waits on RTP), false when it resumes once the digits have been sent.
    pub(in crate::call) fn send_dtmf_app(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        digits: &str,
        between_ms: u32,
        duration_ms: u32,
    ) -> bool {
        // More than the queue holds is dropped (one warning per digit at most this many).
        for c in digits
            .chars()
            .take(crate::media::dtmf::outgoing::MAX_QUEUED * 2)
        {
            match c {
                'w' => self.send_pause(cx, leg, 500),
                'W' => self.send_pause(cx, leg, 1000),
                d if crate::media::dtmf::is_digit(d.to_ascii_uppercase()) => {
                    let d = d.to_ascii_uppercase();
                    self.send_digit(cx, leg, d, duration_ms, between_ms);
                }
                // Flash ('f') has no SIP carrier; anything else is not a digit.
                _ => log::debug!("call {}: SendDTMF skips '{c}'", self.label()),
            }
        }
        if self.dtmf_idle(leg) {
            return true;
        }
        self.media.senddtmf = Some(leg);
        false
    }

    /// An INFO with the digit to a confirmed leg (chan_sip's `transmit_info_with_digit`).
    fn send_info_digit(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        digit: char,
        duration_ms: u32,
        short: bool,
    ) -> bool {
        let Some(l) = self.legs.get_mut(leg) else {
            return false;
        };
        if l.dialog.state != DialogState::Confirmed {
            return false;
        }
        let branch = cx.new_branch();
        let d = &mut l.dialog;
        let cseq = d.next_cseq();
        let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let mut req = build::in_dialog(d, Method::Info, cseq, &origin);
        let (ct, body) = info::body(digit, duration_ms, short);
        req.set_body(Some(ct), body);
        let dest = d.flow;
        cx.txs
            .open_client(cx.now, cx.sched, cx.out, req, dest, Purpose::Fire);
        log::debug!("call {}: DTMF '{digit}' to leg {leg} by INFO", self.label());
        true
    }

    /// A digit that arrived from `from` (INFO, an RFC 4733 event sipbox does not relay as
    /// it is, or an inband tone): the bridged leg gets it in its own mode; with no bridge
    /// the caller's digit goes to sipbox's endpoint (Echo's `#`, Read, WaitExten...).
    pub(in crate::call) fn digit_from(&mut self, cx: &mut Cx<'_>, from: LegId, heard: Heard) {
        if self.feature_digit(cx, from, heard) {
            return;
        }
        let Heard { digit, duration_ms } = heard;
        match self.media_peer(from) {
            Some(other) => {
                log::debug!(
                    "call {}: DTMF '{digit}' from leg {from} to leg {other}",
                    self.label()
                );
                let ms = if duration_ms == 0 {
                    DEFAULT_DURATION_MS
                } else {
                    duration_ms
                };
                self.send_digit(cx, other, digit, ms, 0);
            }
            None if from == self.caller => {
                self.endpoint_digit(cx, digit);
            }
            None => {}
        }
    }

    /// Inband detection on a G.711 packet from `leg` (only inband legs have a detector).
    pub(super) fn inband_rtp(&mut self, cx: &mut Cx<'_>, leg: LegId, data: &[u8]) {
        let relax = self.general.relax_dtmf;
        let Some(lm) = self.leg_media_mut(leg) else {
            return;
        };
        let pt = data.get(1).map(|b| b & 0x7f);
        let Some(law) = lm.law.filter(|l| Some(l.payload_type()) == pt) else {
            return;
        };
        let Some(det) = lm.inband_detector(relax) else {
            return;
        };
        let payload = data.get(RTP_HEADER_LEN..).unwrap_or(&[]);
        if let Some(h) = det.feed(payload.iter().map(|&b| law.decode(b))) {
            log::info!(
                "call {}: DTMF '{}' inband from leg {leg}",
                self.label(),
                h.digit
            );
            self.digit_from(cx, leg, h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_end_once_with_its_duration() {
        let mut p = vec![
            0x80, 101, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 11, 0x0a, 0x03, 0x20,
        ];
        let mut last = None;
        assert_eq!(event_end(&p, &mut last), None, "not ended yet");
        p[13] |= 0x80;
        let h = event_end(&p, &mut last).unwrap();
        assert_eq!((h.digit, h.duration_ms), ('#', 100));
        assert_eq!(event_end(&p, &mut last), None, "repeated end packet");
        p[7] = 200;
        p[12] = 16;
        assert_eq!(event_end(&p, &mut last), None, "not a DTMF event");
        assert_eq!(event_end(&p[..14], &mut None), None, "short");
    }
}
