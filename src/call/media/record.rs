//! Record(): sipbox as the caller's media endpoint, keeping what the caller says as 8 kHz
//! 16-bit samples until a terminating digit, trailing silence or the time limit, then handing
//! the WAV file to the driver to write (the loop never touches the disk).
//!
//! Reading list: Asterisk `apps/app_record.c` (terminators, silence, maxduration,
//! `RECORD_STATUS`; a hang-up discards the file unless `k`), `main/dsp.c` (silence detection
//! by average energy).

use super::super::state::Call;
use super::super::Cx;
use super::endpoint::Endpoint;
use crate::dialplan::Resume;
use crate::flow::Job;
use crate::media::g711::Law;
use crate::media::rtp::RtpPacket;
use crate::media::wav::{encode_pcm16, FRAME_BYTES};
use crate::wake::{CallTimer, Wake};
use std::path::PathBuf;
use std::time::Duration;

/// The longest recording kept (10 minutes: 9.6 MB of samples).
pub const MAX_RECORDING: Duration = Duration::from_secs(600);
/// A 20 ms frame whose mean absolute sample is below this is silence (about -40 dBm0).
const SILENCE_LEVEL: u32 = 256;

/// A Record() in progress.
pub struct Recording {
    /// None: a voicemail recording, whose samples go back to the dialplan.
    path: Option<PathBuf>,
    /// The silence level (mean absolute sample of a frame).
    level: u32,
    law: Law,
    samples: Vec<i16>,
    max_samples: usize,
    silence_frames: Option<usize>,
    silent_run: usize,
    terminators: String,
}

impl Recording {
    /// True when `d` ends the recording.
    pub fn ends_on(&self, d: char) -> bool {
        self.terminators.contains(d)
    }
}

impl Call {
    /// Starts recording the caller into `path` (relative: under soundsdir).
    pub(in crate::call) fn start_recording(
        &mut self,
        cx: &mut Cx<'_>,
        path: String,
        silence: Option<Duration>,
        max: Option<Duration>,
        terminators: String,
        law: Law,
    ) {
        let mut full = PathBuf::from(&path);
        if full.is_relative() {
            full = cx.cfg.general.sounds_dir.join(full);
        }
        log::info!("call {}: Record {}", self.label(), full.display());
        self.record_into(
            cx,
            Some(full),
            silence,
            max,
            SILENCE_LEVEL,
            terminators,
            law,
        );
    }

    /// Starts recording a voicemail message or greeting: the samples go back to the
    /// dialplan (`Resume::Message`), which stores them.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::call) fn record_into(
        &mut self,
        cx: &mut Cx<'_>,
        path: Option<PathBuf>,
        silence: Option<Duration>,
        max: Option<Duration>,
        level: u32,
        terminators: String,
        law: Law,
    ) {
        let max = max.unwrap_or(MAX_RECORDING).min(MAX_RECORDING);
        let rec = Recording {
            path,
            level,
            law,
            samples: Vec::new(),
            max_samples: (max.as_millis() as usize) * 8,
            silence_frames: silence.map(|s| (s.as_millis() as usize / 20).max(1)),
            silent_run: 0,
            terminators,
        };
        self.media.endpoint = Endpoint::Recording(Box::new(rec));
        let wake = Wake::Call(self.handle, CallTimer::Digit);
        self.timers
            .start(cx.sched, CallTimer::Digit, cx.now + max, wake);
    }

    /// An audio packet from the caller while recording.
    pub(in crate::call) fn record_rtp(&mut self, cx: &mut Cx<'_>, data: &[u8]) {
        let Endpoint::Recording(rec) = &mut self.media.endpoint else {
            return;
        };
        let Ok(p) = RtpPacket::new_checked(data) else {
            return;
        };
        if p.payload_type() != rec.law.payload_type() || p.payload().len() > 4 * FRAME_BYTES {
            return;
        }
        let mut energy = 0u32;
        for &b in p.payload() {
            let s = rec.law.decode(b);
            energy += u32::from(s.unsigned_abs());
            rec.samples.push(s);
        }
        let n = p.payload().len().max(1) as u32;
        if energy / n < rec.level {
            rec.silent_run += 1;
        } else {
            rec.silent_run = 0;
        }
        if rec.samples.len() >= rec.max_samples {
            rec.samples.truncate(rec.max_samples);
            return self.finish_recording(cx, "TIMEOUT");
        }
        if rec.silence_frames.is_some_and(|f| rec.silent_run >= f) {
            // The trailing silence is not kept.
            let keep = rec
                .samples
                .len()
                .saturating_sub(rec.silent_run * FRAME_BYTES);
            rec.samples.truncate(keep);
            self.finish_recording(cx, "SILENCE");
        }
    }

    /// The recording is over: the file goes to the driver, the dialplan goes on.
    pub(in crate::call) fn finish_recording(&mut self, cx: &mut Cx<'_>, status: &'static str) {
        self.finish_recording_with(cx, status, None);
    }

    /// The recording ends on `status`; `digit` is the one that ended it (`DTMF`).
    pub(in crate::call) fn finish_recording_with(
        &mut self,
        cx: &mut Cx<'_>,
        status: &'static str,
        digit: Option<char>,
    ) {
        let Endpoint::Recording(rec) = std::mem::take(&mut self.media.endpoint) else {
            return;
        };
        let Some(path) = rec.path else {
            log::info!(
                "call {}: recorded a {} ms message ({status})",
                self.label(),
                rec.samples.len() / 8
            );
            let samples = rec.samples;
            return self.endpoint_done(cx, Resume::Message { status, samples });
        };
        log::info!(
            "call {}: recorded {} ms to {} ({status})",
            self.label(),
            rec.samples.len() / 8,
            path.display()
        );
        let samples = rec.samples.len();
        cx.out.job(Job::WriteFile {
            path,
            bytes: encode_pcm16(&rec.samples),
        });
        self.endpoint_done(
            cx,
            Resume::Recorded {
                status,
                digit,
                samples,
            },
        );
    }

    /// The caller hung up: a voicemail recording in progress is kept (app_voicemail saves
    /// what was said before the hang-up); a Record() one is dropped.
    pub(in crate::call) fn take_message_recording(&mut self) -> Option<Vec<i16>> {
        match &mut self.media.endpoint {
            Endpoint::Recording(rec) if rec.path.is_none() => {
                Some(std::mem::take(&mut rec.samples))
            }
            _ => None,
        }
    }
}
