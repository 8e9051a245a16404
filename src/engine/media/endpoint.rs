//! sipbox as the caller's media endpoint: Echo, Playback, WaitDigit, and the rtptimeout /
//! rtpholdtimeout watchdog of every call.
//!
//! Reading list: RFC 4733 §2.3 (event payload: event, E bit, volume, duration; the end packet
//! is sent three times), RFC 3550 §5.1 and RFC 3551 §4.1 (our stream's header fields), Asterisk's
//! `app_echo.c`, `app_playback.c` (missing file: warning, continue) and `chan_sip.c`
//! `check_rtp_timeout`.
//!
//! Pacing runs off the engine's scheduler: one `EngineTimer::Media(call, PACE)` per playing
//! call, deadlines computed from the start ([`Pacer`]) so late wake-ups never drift.

use super::super::call_state::Phase;
use super::super::dialog::EndReason;
use super::super::{Engine, EngineTimer, Reply, Verdict};
use super::Endpoint;
use crate::call::{CallRef, LegId};
use crate::dialplan::{Command, Resume};
use crate::media::g711::Law;
use crate::media::player::{Pacer, RtpSender};
use crate::media::rtp::RTP_HEADER_LEN;
use crate::media::wav::{self, Frame, FRAME_BYTES};
use std::time::{Duration, Instant};

/// `EngineTimer::Media` kinds.
const PACE: u32 = 1;
const WATCHDOG: u32 = 2;
const DIGIT: u32 = 3;

/// Frames sent at most per wake-up when the loop fell behind (the rest are skipped).
const MAX_CATCH_UP: u32 = 5;

/// A Playback in progress.
pub struct Playing {
    frames: Vec<Frame>,
    next: usize,
    sender: RtpSender,
    pacer: Pacer,
    interrupt: Option<String>,
    /// The law `frames` are encoded in.
    law: Law,
    /// The files, to read again should the law change.
    files: Vec<String>,
}

impl Playing {
    /// The law the frames are encoded in.
    pub(super) fn law(&self) -> Law {
        self.law
    }

    /// The files being played.
    pub(super) fn files(&self) -> &[String] {
        &self.files
    }

    /// The caller turned out to receive `law` (a late offer's answer in the ACK): the frames
    /// still to play switch to `reloaded` (the same files read in `law`) or, should the files
    /// have changed meanwhile, are transcoded; the payload type follows.
    pub(super) fn set_law(&mut self, law: Law, reloaded: Vec<Frame>) {
        if law == self.law {
            return;
        }
        if reloaded.len() == self.frames.len() {
            self.frames = reloaded;
        } else {
            for f in self.frames.iter_mut().skip(self.next) {
                crate::media::g711::transcode_in_place(f, self.law, law);
            }
        }
        self.law = law;
        self.sender.set_payload_type(law.payload_type());
    }
}

/// The digit of an RFC 4733 event number.
fn event_digit(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => char::from(b'0' + event),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + event - 12),
        _ => return None,
    })
}

/// The digit an RTP packet ends, if it is the first end packet of an RFC 4733 event.
fn dtmf_end(data: &[u8], te_pt: Option<u8>, last_ts: &mut Option<u32>) -> Option<char> {
    let te = te_pt?;
    if data.len() < RTP_HEADER_LEN + 4 || data[1] & 0x7f != te {
        return None;
    }
    let payload = &data[RTP_HEADER_LEN..];
    if payload[1] & 0x80 == 0 {
        return None;
    }
    let ts = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    if *last_ts == Some(ts) {
        return None;
    }
    *last_ts = Some(ts);
    event_digit(payload[0])
}

impl Engine {
    /// Answers the caller (with sipbox's SDP) unless already answered.
    fn answer_if_needed(&mut self, now: Instant, cref: CallRef) {
        if self.calls.get(cref).is_some_and(|c| !c.answered()) {
            let body = self.media_answer(now, cref);
            self.answer_caller(now, cref, body);
        }
    }

    /// Media on an unanswered call (Playback with `noanswer`, after `Progress()`, SayDigits):
    /// early media, as chan_sip's `sip_write` does: a 183 with sipbox's SDP unless the call is
    /// answered or sipbox has already sent its SDP.
    fn progress_if_needed(&mut self, now: Instant, cref: CallRef) {
        let Some(c) = self.calls.get(cref) else {
            return;
        };
        if c.answered() || c.media.own_answer.is_some() {
            return;
        }
        let body = self.media_answer(now, cref);
        self.reply_caller(now, cref, Reply::status(183, "Session Progress"), body);
    }

    /// The caller leg's law (µ-law when unknown).
    fn caller_law(&self, cref: CallRef) -> Law {
        self.calls
            .get(cref)
            .and_then(|c| c.media.leg(0))
            .and_then(|l| l.law)
            .unwrap_or(Law::Ulaw)
    }

    /// Reads the files of a Playback as frames in `law`; missing or unusable files are warned
    /// about and skipped (Asterisk's behaviour).
    pub(super) fn load_sounds(&mut self, files: &[String], law: Law) -> Vec<Frame> {
        let mut frames = Vec::new();
        for name in files {
            match self.sounds.wav(name) {
                Ok(bytes) => match wav::read_frames(&bytes, law) {
                    Ok(f) => frames.extend(f),
                    Err(e) => log::warn!("Playback: {name}: {e}; skipped"),
                },
                Err(missing) => log::warn!("Playback: {}; skipped", missing.0),
            }
        }
        frames
    }

    /// A dialplan command that needs media. Returns true to keep stepping the dialplan.
    pub(in crate::engine) fn media_command(
        &mut self,
        now: Instant,
        cref: CallRef,
        cmd: Command,
    ) -> bool {
        match cmd {
            Command::Echo => {
                self.answer_if_needed(now, cref);
                let pt = self.caller_law(cref).payload_type();
                let sender = RtpSender::random(&mut self.rng, pt);
                self.set_endpoint(cref, Endpoint::Echo(sender));
                log::info!("call {}: Echo", self.call_label(cref));
                false
            }
            Command::Playback {
                files,
                interrupt_digits,
            } => {
                // The dialplan sends Answer first unless told not to (`noanswer`, `n`):
                // otherwise this is early media.
                self.progress_if_needed(now, cref);
                let law = self.caller_law(cref);
                let frames = self.load_sounds(&files, law);
                if frames.is_empty() {
                    return true;
                }
                log::info!(
                    "call {}: Playback {} ({} frames)",
                    self.call_label(cref),
                    files.join("&"),
                    frames.len()
                );
                let playing = Playing {
                    frames,
                    next: 0,
                    sender: RtpSender::random(&mut self.rng, law.payload_type()),
                    pacer: Pacer::new(now),
                    interrupt: interrupt_digits,
                    law,
                    files,
                };
                self.set_endpoint(cref, Endpoint::Playback(Box::new(playing)));
                let t = self.sched.schedule(now, EngineTimer::Media(cref, PACE));
                if let Some(c) = self.calls.get_mut(cref) {
                    c.media.pace_timer = Some(t);
                }
                false
            }
            Command::WaitDigit { timeout } => {
                self.set_endpoint(cref, Endpoint::WaitDigit);
                let t = self
                    .sched
                    .schedule(now + timeout, EngineTimer::Media(cref, DIGIT));
                if let Some(c) = self.calls.get_mut(cref) {
                    c.media.digit_timer = Some(t);
                }
                false
            }
            // Nothing new: keep doing what the endpoint does.
            Command::Keep => false,
            other => {
                log::warn!(
                    "call {}: {other:?} is not supported yet; skipped",
                    self.call_label(cref)
                );
                true
            }
        }
    }

    fn set_endpoint(&mut self, cref: CallRef, e: Endpoint) {
        if let Some(c) = self.calls.get_mut(cref) {
            c.media.endpoint = e;
        }
    }

    /// Stops what the endpoint does (timers too) and resumes the dialplan with `resume`.
    fn endpoint_done(&mut self, now: Instant, cref: CallRef, resume: Resume) {
        let Some(c) = self.calls.get_mut(cref) else {
            return;
        };
        c.media.endpoint = Endpoint::Idle;
        for t in [c.media.pace_timer.take(), c.media.digit_timer.take()]
            .into_iter()
            .flatten()
        {
            self.sched.cancel(t);
        }
        self.run_dialplan(now, cref, Some(resume));
    }

    /// An RTP packet from the caller while sipbox is its endpoint.
    pub(super) fn endpoint_rtp(
        &mut self,
        now: Instant,
        cref: CallRef,
        leg: LegId,
        data: &mut [u8],
    ) -> Verdict {
        if leg != 0 {
            return Verdict::Consumed;
        }
        let Some(call) = self.calls.get_mut(cref) else {
            return Verdict::Consumed;
        };
        let m = &mut call.media;
        let Some(lm) = m.leg(0) else {
            return Verdict::Consumed;
        };
        let (te, remote, pair) = (lm.te_pt, lm.learner.remote(), lm.pair);
        if let Some(d) = dtmf_end(data, te, &mut m.last_event_ts) {
            let resume = match &m.endpoint {
                Endpoint::Echo(_) if d == '#' => true,
                Endpoint::WaitDigit => true,
                Endpoint::Playback(p) => p.interrupt.as_deref().is_some_and(|i| i.contains(d)),
                _ => false,
            };
            log::debug!("call {}: DTMF '{d}'", self.call_label(cref));
            if resume {
                self.endpoint_done(now, cref, Resume::Digit(d));
                return Verdict::Consumed;
            }
        }
        let Some(call) = self.calls.get_mut(cref) else {
            return Verdict::Consumed;
        };
        match (&mut call.media.endpoint, remote, pair) {
            (Endpoint::Echo(sender), Some(to), Some(pair)) => match sender.restamp(data) {
                Ok(()) => Verdict::Forward { via: pair.rtp, to },
                Err(_) => Verdict::Consumed,
            },
            _ => Verdict::Consumed,
        }
    }

    /// A media timer fired.
    pub(in crate::engine) fn media_timer(&mut self, now: Instant, cref: CallRef, what: u32) {
        match what {
            PACE => self.pace(now, cref),
            WATCHDOG => self.watchdog(now, cref),
            DIGIT => {
                if let Some(c) = self.calls.get_mut(cref) {
                    c.media.digit_timer = None;
                }
                self.endpoint_done(now, cref, Resume::TimedOut);
            }
            _ => {}
        }
    }

    /// Sends the Playback frames due at `now` and schedules the next.
    fn pace(&mut self, now: Instant, cref: CallRef) {
        let Some(call) = self.calls.get_mut(cref) else {
            return;
        };
        call.media.pace_timer = None;
        let (remote, pair) = match call.media.leg(0) {
            Some(l) => (l.learner.remote(), l.pair),
            None => (None, None),
        };
        let Endpoint::Playback(p) = &mut call.media.endpoint else {
            return;
        };
        // The last frame went out one interval ago: it has played, the dialplan goes on.
        // (Ending in the tick that sent it would also let a Hangup close the socket before
        // the driver has sent that frame.)
        if p.next >= p.frames.len() {
            return self.endpoint_done(now, cref, Resume::Done);
        }
        let due = p.pacer.frames_due(now).max(1);
        let mut buf = [0u8; RTP_HEADER_LEN + FRAME_BYTES];
        for i in 0..due {
            let Some(frame) = p.frames.get(p.next) else {
                break;
            };
            if i >= MAX_CATCH_UP {
                p.sender.skip_frames(1);
            } else if let (Some(to), Some(pair)) = (remote, pair) {
                let n = p.sender.next_packet(frame, &mut buf);
                self.out.send(pair.rtp, to, buf[..n].to_vec());
                self.media.stats.played += 1;
            } else {
                // Nowhere to send yet (or on hold): time still passes.
                p.sender.skip_frames(1);
            }
            p.pacer.on_sent();
            p.next += 1;
        }
        let at = p.pacer.next_deadline();
        let t = self.sched.schedule(at, EngineTimer::Media(cref, PACE));
        call.media.pace_timer = Some(t);
    }

    /// Starts the rtptimeout watchdog of a call (once).
    pub(super) fn arm_watchdog(&mut self, now: Instant, cref: CallRef) {
        let g = &self.cfg.general;
        let Some(first) = g.rtp_timeout.or(g.rtp_hold_timeout) else {
            return;
        };
        let Some(call) = self.calls.get_mut(cref) else {
            return;
        };
        if call.media.watchdog.is_some() {
            return;
        }
        for lm in call.media.legs.iter_mut().flatten() {
            lm.last_rx.get_or_insert(now);
        }
        let t = self
            .sched
            .schedule(now + first, EngineTimer::Media(cref, WATCHDOG));
        call.media.watchdog = Some(t);
    }

    /// rtptimeout / rtpholdtimeout: hang up when a leg of the call has sent no RTP for that
    /// long; otherwise check again when the oldest leg would time out.
    fn watchdog(&mut self, now: Instant, cref: CallRef) {
        let (timeout, hold) = {
            let Some(call) = self.calls.get_mut(cref) else {
                return;
            };
            call.media.watchdog = None;
            let hold = call.media.on_hold();
            let g = &self.cfg.general;
            (
                if hold {
                    g.rtp_hold_timeout
                } else {
                    g.rtp_timeout
                },
                hold,
            )
        };
        let Some(call) = self.calls.get_mut(cref) else {
            return;
        };
        // The legs that carry media now: the caller and the bridged callee.
        let active: Vec<LegId> = match call.phase {
            Phase::Answered { callee: Some(c) } => vec![0, c],
            _ => vec![0],
        };
        let oldest = active
            .iter()
            .filter_map(|&l| call.media.leg(l).map(|m| (l, m.last_rx.unwrap_or(now))))
            .min_by_key(|&(_, t)| t);
        let next = match (timeout, oldest) {
            (Some(limit), Some((leg, last))) => {
                let idle = now.saturating_duration_since(last);
                if idle >= limit {
                    let which = if hold { "rtpholdtimeout" } else { "rtptimeout" };
                    log::warn!(
                        "call {}: no RTP from leg {leg} for {}s ({which}); hanging up",
                        self.call_label(cref),
                        idle.as_secs()
                    );
                    return self.end_call(now, cref, EndReason::Hangup(408));
                }
                last + limit
            }
            // Not applicable now (e.g. on hold without rtpholdtimeout): look again later.
            _ => now + Duration::from_secs(1),
        };
        let t = self
            .sched
            .schedule(next, EngineTimer::Media(cref, WATCHDOG));
        if let Some(c) = self.calls.get_mut(cref) {
            c.media.watchdog = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_end_once_per_event() {
        let mut p = vec![0x80, 101, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 11, 0x0a, 0, 160];
        let mut last = None;
        assert_eq!(dtmf_end(&p, Some(101), &mut last), None, "not ended yet");
        p[13] |= 0x80;
        assert_eq!(dtmf_end(&p, Some(101), &mut last), Some('#'));
        assert_eq!(
            dtmf_end(&p, Some(101), &mut last),
            None,
            "repeated end packet"
        );
        p[7] = 200;
        p[12] = 5;
        assert_eq!(dtmf_end(&p, Some(101), &mut last), Some('5'));
        assert_eq!(dtmf_end(&p, None, &mut last), None);
    }

    #[test]
    fn event_digits() {
        assert_eq!(event_digit(15), Some('D'));
        assert_eq!(event_digit(16), None);
    }
}
