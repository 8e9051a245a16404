//! sipbox as the caller's media endpoint: Echo, Playback, WaitDigit, and the rtptimeout /
//! rtpholdtimeout watchdog of every call.
//!
//! Reading list: RFC 4733 §2.3 (event payload: event, E bit, volume, duration; the end packet
//! is sent three times), RFC 3550 §5.1 and RFC 3551 §4.1 (our stream's header fields), Asterisk's
//! `app_echo.c`, `app_playback.c` (missing file: warning, continue) and `chan_sip.c`
//! `check_rtp_timeout`.
//!
//! Pacing runs off the scheduler: one `CallTimer::Pace` per playing call, deadlines computed
//! from the start ([`Pacer`]) so late wake-ups never drift. Prompts come from the injected
//! [`crate::media::sounds::Sounds`] source: the core reads no files.

use super::super::state::{Call, CallState, EndReason};
use super::super::transfer::TransferEvent;
use super::super::{Cx, Reply};
use crate::dialplan::{Command, Resume};
use crate::flow::Verdict;
use crate::handle::LegId;
use crate::media::g711::Law;
use crate::media::player::{Pacer, RtpSender};
use crate::media::rtp::RTP_HEADER_LEN;
use crate::media::sounds::language_candidates;
use crate::media::wav::{self, Frame, FRAME_BYTES};
use crate::sip::StatusCode;
use crate::wake::{CallTimer, Wake};
use std::time::Duration;

/// What sipbox does as the caller's media endpoint.
#[derive(Default)]
pub enum Endpoint {
    /// Nothing: incoming media is dropped.
    #[default]
    Idle,
    /// Echo(): every packet goes back, re-stamped.
    Echo(RtpSender),
    /// Playback(): frames paced on the scheduler.
    Playback(Box<Playing>),
    /// WaitDigit: the next RFC 4733 digit resumes the dialplan.
    WaitDigit,
    /// PlayTones(): frames paced like Playback's while the dialplan goes on; the cycle
    /// repeats until StopPlayTones() or another media application.
    Tones(Box<Playing>),
    /// Record(): the caller's audio is kept until a terminator, silence or the limit.
    Recording(Box<super::record::Recording>),
}

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
    /// Tones: where the repeating part starts (None for Playback: it ends).
    loop_from: Option<usize>,
    /// Who hears it: the caller, or (a parking announcement) another leg.
    to: Option<LegId>,
}

impl Playing {
    /// The law the frames are encoded in.
    pub fn law(&self) -> Law {
        self.law
    }

    /// The files being played.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// True when the caller hears it (not a parking announcement to another leg).
    pub fn to_caller(&self) -> bool {
        self.to.is_none()
    }

    /// The caller turned out to receive `law` (a late offer's answer in the ACK): the frames
    /// still to play switch to `reloaded` (the same files read in `law`) or, should the files
    /// have changed meanwhile, are transcoded; the payload type follows.
    pub fn set_law(&mut self, law: Law, reloaded: Vec<Frame>) {
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

/// Reads the files of a Playback as frames in `law`, each in the channel's `language` where
/// it exists ([`language_candidates`]); missing or unusable files are warned about and
/// skipped (Asterisk's behaviour).
pub(super) fn load_sounds(
    cx: &mut Cx<'_>,
    files: &[String],
    law: Law,
    language: &str,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    for name in files {
        let in_language = language_candidates(name, language)
            .iter()
            .find_map(|n| cx.sounds.wav(n).ok());
        // None found: the plain name's miss is what the warning names.
        let found = match in_language {
            Some(bytes) => Ok(bytes),
            None => cx.sounds.wav(name),
        };
        match found {
            Ok(bytes) => match wav::read_frames(&bytes, law) {
                Ok(f) => frames.extend(f),
                Err(e) => log::warn!("Playback: {name}: {e}; skipped"),
            },
            Err(missing) => log::warn!("Playback: {}; skipped", missing.0),
        }
    }
    frames
}

impl Call {
    /// The channel's language (`CHANNEL(language)`), which picks the prompts' directory.
    pub(in crate::call) fn language(&self) -> &str {
        self.exec
            .as_ref()
            .map_or(crate::media::sounds::DEFAULT_LANGUAGE, |e| {
                e.language.as_str()
            })
    }

    /// Answers the caller (with sipbox's SDP) unless already answered; false when the call
    /// had to be refused instead (no codec, no port).
    pub(in crate::call) fn answer_if_needed(&mut self, cx: &mut Cx<'_>) -> bool {
        if !self.answered() {
            match self.media_answer(cx) {
                Ok(body) => self.answer_caller(cx, body),
                Err(status) => {
                    self.end(cx, EndReason::NoMedia(status));
                    return false;
                }
            }
        }
        true
    }

    /// Media on an unanswered call (Playback with `noanswer`, after `Progress()`, SayDigits):
    /// early media, as chan_sip's `sip_write` does: a 183 with sipbox's SDP unless the call is
    /// answered or sipbox has already sent its SDP.
    pub(in crate::call) fn progress_if_needed(&mut self, cx: &mut Cx<'_>) -> bool {
        if self.answered() || self.media.own_answer.is_some() {
            return true;
        }
        match self.media_answer(cx) {
            Ok(body) => {
                self.reply_caller(cx, Reply::new(StatusCode::SESSION_PROGRESS), body);
                true
            }
            Err(status) => {
                self.end(cx, EndReason::NoMedia(status));
                false
            }
        }
    }

    /// The caller leg's law (µ-law when unknown).
    fn caller_law(&self) -> Law {
        self.leg_media(self.caller)
            .and_then(|l| l.law)
            .unwrap_or(Law::Ulaw)
    }

    /// The caller turned out to receive `law` (a late offer's answer in the ACK): a Playback
    /// in progress switches to it.
    pub(super) fn playback_law_changed(&mut self, cx: &mut Cx<'_>, law: Law) {
        let reload = match &self.media.endpoint {
            Endpoint::Playback(p) if p.law() != law => p.files().to_vec(),
            _ => return,
        };
        let lang = self.language().to_string();
        let frames = load_sounds(cx, &reload, law, &lang);
        if let Endpoint::Playback(p) = &mut self.media.endpoint {
            p.set_law(law, frames);
        }
    }

    /// A dialplan command that needs media. Returns true to keep stepping the dialplan.
    pub(in crate::call) fn media_command(&mut self, cx: &mut Cx<'_>, cmd: Command) -> bool {
        use super::moh::MohCommand;
        if matches!(
            cmd,
            Command::Echo
                | Command::Playback { .. }
                | Command::PlayTones { .. }
                | Command::Record { .. }
                | Command::MusicOnHold { .. }
                | Command::StartMusicOnHold { .. }
        ) {
            // Another sound for the caller replaces the dialplan's music (Asterisk's streams
            // deactivate the channel's generator).
            self.stop_moh(cx, None);
        }
        match cmd {
            Command::MusicOnHold { class, duration } => {
                self.moh_command(cx, MohCommand::Play(&class, duration))
            }
            Command::StartMusicOnHold { class } => self.moh_command(cx, MohCommand::Start(&class)),
            Command::StopMusicOnHold => self.moh_command(cx, MohCommand::Stop),
            Command::Echo => {
                if !self.answer_if_needed(cx) {
                    return false;
                }
                let pt = self.caller_law().payload_type();
                let sender = RtpSender::random(cx.rng, pt);
                self.media.endpoint = Endpoint::Echo(sender);
                log::info!("call {}: Echo", self.label());
                false
            }
            Command::Playback {
                files,
                interrupt_digits,
            } => {
                // The dialplan sends Answer first unless told not to (`noanswer`, `n`):
                // otherwise this is early media.
                if !self.progress_if_needed(cx) {
                    return false;
                }
                let law = self.caller_law();
                let lang = self.language().to_string();
                let frames = load_sounds(cx, &files, law, &lang);
                if frames.is_empty() {
                    return true;
                }
                log::info!(
                    "call {}: Playback {} ({} frames)",
                    self.label(),
                    files.join("&"),
                    frames.len()
                );
                let playing = Playing {
                    frames,
                    next: 0,
                    sender: RtpSender::random(cx.rng, law.payload_type()),
                    pacer: Pacer::new(cx.now),
                    interrupt: interrupt_digits,
                    law,
                    files,
                    loop_from: None,
                    to: None,
                };
                self.media.endpoint = Endpoint::Playback(Box::new(playing));
                let wake = Wake::Call(self.handle, CallTimer::Pace);
                self.timers.start(cx.sched, CallTimer::Pace, cx.now, wake);
                false
            }
            Command::PlayTones { tone } => {
                if !self.progress_if_needed(cx) {
                    return false;
                }
                let law = self.caller_law();
                match crate::media::tones::render(&tone, law) {
                    Ok(t) => {
                        let playing = Playing {
                            frames: t.frames,
                            next: 0,
                            sender: RtpSender::random(cx.rng, law.payload_type()),
                            pacer: Pacer::new(cx.now),
                            interrupt: None,
                            law,
                            files: Vec::new(),
                            loop_from: Some(t.loop_from),
                            to: None,
                        };
                        self.media.endpoint = Endpoint::Tones(Box::new(playing));
                        let wake = Wake::Call(self.handle, CallTimer::Pace);
                        self.timers.start(cx.sched, CallTimer::Pace, cx.now, wake);
                    }
                    Err(e) => log::warn!("call {}: PlayTones: {e}", self.label()),
                }
                true
            }
            Command::SendDtmf {
                digits,
                between,
                duration,
                channel,
            } => {
                let leg = match &channel {
                    None => Some(self.caller),
                    Some(name) => self
                        .legs
                        .iter()
                        .position(|l| l.channel.eq_ignore_ascii_case(name)),
                };
                let Some(leg) = leg else {
                    log::warn!(
                        "call {}: SendDTMF: no such channel: {}",
                        self.label(),
                        channel.unwrap_or_default()
                    );
                    return true;
                };
                let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
                self.send_dtmf_app(cx, leg, &digits, ms(between), ms(duration))
            }
            Command::StopPlayTones => {
                if matches!(self.media.endpoint, Endpoint::Tones(_)) {
                    self.media.endpoint = Endpoint::Idle;
                    self.timers.stop(cx.sched, CallTimer::Pace);
                }
                true
            }
            Command::Record {
                path,
                silence,
                max,
                terminators,
            } => {
                // The dialplan answered first unless told not to (`n`): then early media.
                if !self.progress_if_needed(cx) {
                    return false;
                }
                let law = self.caller_law();
                self.start_recording(cx, path, silence, max, terminators, law);
                false
            }
            Command::RecordMessage {
                silence,
                max,
                threshold,
                terminators,
            } => {
                if !self.answer_if_needed(cx) {
                    return false;
                }
                let law = self.caller_law();
                self.record_into(cx, None, silence, max, threshold, terminators, law);
                false
            }
            Command::WaitDigit { timeout } => {
                self.media.endpoint = Endpoint::WaitDigit;
                let wake = Wake::Call(self.handle, CallTimer::Digit);
                self.timers
                    .start(cx.sched, CallTimer::Digit, cx.now + timeout, wake);
                false
            }
            // Nothing new: keep doing what the endpoint does.
            Command::Keep => false,
            // Queue() as the first thing a Local channel does (it answered to run it).
            Command::Queue(req) => {
                if let Some(r) = self.queue_join(cx, *req) {
                    self.run_dialplan(cx, r);
                }
                false
            }
            other => {
                log::warn!(
                    "call {}: {other:?} is not supported yet; skipped",
                    self.label()
                );
                true
            }
        }
    }

    /// Stops what the endpoint does (timers too) and resumes the dialplan with `resume`.
    pub(in crate::call) fn endpoint_done(&mut self, cx: &mut Cx<'_>, resume: Resume) {
        self.media.endpoint = Endpoint::Idle;
        self.timers.stop(cx.sched, CallTimer::Pace);
        self.timers.stop(cx.sched, CallTimer::Digit);
        self.run_dialplan(cx, resume);
    }

    /// A digit from the caller (an RFC 4733 event or a SIP INFO) while sipbox is its
    /// endpoint: `#` ends Echo, any digit ends WaitDigit, an interrupt digit ends Playback.
    /// True when it resumed the dialplan.
    pub(in crate::call) fn endpoint_digit(&mut self, cx: &mut Cx<'_>, d: char) -> bool {
        if matches!(&self.media.endpoint, Endpoint::Recording(r) if r.ends_on(d)) {
            self.finish_recording_with(cx, "DTMF", Some(d));
            return true;
        }
        let resume = match &self.media.endpoint {
            Endpoint::Echo(_) if d == '#' => true,
            Endpoint::WaitDigit => true,
            Endpoint::Playback(p) => p.interrupt.as_deref().is_some_and(|i| i.contains(d)),
            _ => false,
        };
        log::debug!("call {}: DTMF '{d}'", self.label());
        if resume {
            self.endpoint_done(cx, Resume::Digit(d));
        }
        resume
    }

    /// An RTP packet from the caller while sipbox is its endpoint.
    pub(super) fn endpoint_rtp(&mut self, cx: &mut Cx<'_>, leg: LegId, data: &mut [u8]) -> Verdict {
        if self.conference.has(leg) {
            return self.conference_rtp(leg, data);
        }
        if leg != self.caller {
            return Verdict::Consumed;
        }
        let Some(lm) = self.leg_media_mut(leg) else {
            return Verdict::Consumed;
        };
        let (te, remote, pair) = (lm.te_pt, lm.learner.remote(), lm.pair);
        if te.is_some_and(|te| data[1] & 0x7f == te) {
            if let Some(h) = super::dtmf::event_end(data, &mut lm.dtmf.last_event_ts) {
                if self.endpoint_digit(cx, h.digit) {
                    return Verdict::Consumed;
                }
            }
        }
        if matches!(self.media.endpoint, Endpoint::Recording(_)) {
            self.record_rtp(cx, data);
            return Verdict::Consumed;
        }
        match (&mut self.media.endpoint, remote, pair) {
            (Endpoint::Echo(sender), Some(to), Some(pair)) => match sender.restamp(data) {
                Ok(()) => Verdict::Forward { via: pair.rtp, to },
                Err(_) => Verdict::Consumed,
            },
            _ => Verdict::Consumed,
        }
    }

    /// Plays `files` to `leg`, not the caller (the parker hears its parking position while
    /// the parked caller hears music); the call's transfer hears `Announced` when it ends.
    pub(in crate::call) fn announce_to(&mut self, cx: &mut Cx<'_>, leg: LegId, files: Vec<String>) {
        let law = self.leg_media(leg).and_then(|l| l.law).unwrap_or(Law::Ulaw);
        let lang = self.language().to_string();
        let frames = load_sounds(cx, &files, law, &lang);
        if frames.is_empty() {
            return self.transfer_event(cx, TransferEvent::Announced);
        }
        log::info!(
            "call {}: announcing {} to leg {leg}",
            self.label(),
            files.join("&")
        );
        let playing = Playing {
            frames,
            next: 0,
            sender: RtpSender::random(cx.rng, law.payload_type()),
            pacer: Pacer::new(cx.now),
            interrupt: None,
            law,
            files,
            loop_from: None,
            to: Some(leg),
        };
        self.media.endpoint = Endpoint::Playback(Box::new(playing));
        let wake = Wake::Call(self.handle, CallTimer::Pace);
        self.timers.start(cx.sched, CallTimer::Pace, cx.now, wake);
    }

    /// Stops an announcement to `leg` (it hung up).
    pub(in crate::call) fn stop_announcement(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        if matches!(&self.media.endpoint, Endpoint::Playback(p) if p.to == Some(leg)) {
            self.media.endpoint = Endpoint::Idle;
            self.timers.stop(cx.sched, CallTimer::Pace);
        }
    }

    /// Sends the Playback frames due now and schedules the next.
    pub(in crate::call) fn pace(&mut self, cx: &mut Cx<'_>) {
        let listener = match &self.media.endpoint {
            Endpoint::Playback(p) | Endpoint::Tones(p) => p.to.unwrap_or(self.caller),
            _ => return,
        };
        let (remote, pair) = match self.leg_media(listener) {
            Some(l) => (l.learner.remote(), l.pair),
            None => (None, None),
        };
        let (Endpoint::Playback(p) | Endpoint::Tones(p)) = &mut self.media.endpoint else {
            return;
        };
        // The last frame went out one interval ago: it has played, the dialplan goes on.
        // (Ending in the tick that sent it would also let a Hangup close the socket before
        // the driver has sent that frame.) Tones start their cycle again, or, when nothing
        // repeats, just stop: the dialplan never waited for them.
        if p.next >= p.frames.len() {
            match p.loop_from {
                None if p.to.is_some() => {
                    // A parking announcement: the parked call's dialplan does not wait on it.
                    self.media.endpoint = Endpoint::Idle;
                    return self.transfer_event(cx, TransferEvent::Announced);
                }
                None => return self.endpoint_done(cx, Resume::Done),
                Some(from) if from < p.frames.len() => p.next = from,
                Some(_) => {
                    self.media.endpoint = Endpoint::Idle;
                    return;
                }
            }
        }
        let due = p.pacer.frames_due(cx.now).max(1);
        let mut buf = [0u8; RTP_HEADER_LEN + FRAME_BYTES];
        let mut sent = false;
        for i in 0..due {
            let Some(frame) = p.frames.get(p.next) else {
                break;
            };
            if i >= MAX_CATCH_UP {
                p.sender.skip_frames(1);
            } else if let (Some(to), Some(pair)) = (remote, pair) {
                let n = p.sender.next_packet(frame, &mut buf);
                cx.out.send(pair.rtp, to, buf[..n].to_vec());
                cx.media.stats.played += 1;
                if !self.media.monitors.is_empty() {
                    self.media.monitors.played(self.caller, p.law, frame);
                }
                sent = true;
            } else {
                // Nowhere to send yet (or on hold): time still passes.
                p.sender.skip_frames(1);
            }
            p.pacer.on_sent();
            p.next += 1;
            if p.next >= p.frames.len() {
                match p.loop_from {
                    Some(from) if from < p.frames.len() => p.next = from,
                    _ => break,
                }
            }
        }
        let at = p.pacer.next_deadline();
        let wake = Wake::Call(self.handle, CallTimer::Pace);
        self.timers.start(cx.sched, CallTimer::Pace, at, wake);
        if let Some(lm) = self.leg_media_mut(listener).filter(|_| sent) {
            lm.last_tx = Some(cx.now);
        }
    }

    /// Starts the rtptimeout watchdog of the call (once).
    pub(in crate::call) fn arm_watchdog(&mut self, cx: &mut Cx<'_>) {
        self.arm_rtp_keepalive(cx);
        let g = &cx.cfg.general;
        let Some(first) = g.rtp_timeout.or(g.rtp_hold_timeout) else {
            return;
        };
        if self.timers.is_running(CallTimer::Watchdog) {
            return;
        }
        let now = cx.now;
        for lm in self.legs.iter_mut().filter_map(|l| l.media.as_mut()) {
            lm.last_rx.get_or_insert(now);
        }
        let wake = Wake::Call(self.handle, CallTimer::Watchdog);
        self.timers
            .start(cx.sched, CallTimer::Watchdog, now + first, wake);
    }

    /// rtptimeout / rtpholdtimeout: hang up when a leg of the call has sent no RTP for that
    /// long; otherwise check again when the oldest leg would time out.
    pub(in crate::call) fn watchdog(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now;
        let hold = self.on_hold();
        let g = &cx.cfg.general;
        let timeout = if hold {
            g.rtp_hold_timeout
        } else {
            g.rtp_timeout
        };
        // The legs that carry media now: the caller and the bridged callee.
        let active: Vec<LegId> = match &self.state {
            CallState::Answered {
                bridge: Some(b), ..
            } => vec![b.a, b.b],
            _ => vec![self.caller],
        };
        let oldest = active
            .iter()
            .filter_map(|&l| self.leg_media(l).map(|m| (l, m.last_rx.unwrap_or(now))))
            .min_by_key(|&(_, t)| t);
        let next = match (timeout, oldest) {
            (Some(limit), Some((leg, last))) => {
                let idle = now.saturating_duration_since(last);
                if idle >= limit {
                    let which = if hold { "rtpholdtimeout" } else { "rtptimeout" };
                    log::warn!(
                        "call {}: no RTP from leg {leg} for {}s ({which}); hanging up",
                        self.label(),
                        idle.as_secs()
                    );
                    return self.end(cx, EndReason::Hangup(StatusCode::REQUEST_TIMEOUT));
                }
                last + limit
            }
            // Not applicable now (e.g. on hold without rtpholdtimeout): look again later.
            _ => now + Duration::from_secs(1),
        };
        let wake = Wake::Call(self.handle, CallTimer::Watchdog);
        self.timers.start(cx.sched, CallTimer::Watchdog, next, wake);
    }
}
