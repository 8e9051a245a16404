//! A prompt to any leg of a call (the features' `pbx-transfer` and `pbx-invalid` to a
//! transferer that may be the callee), paced like Playback on its own timer. While it plays,
//! the relay sends that leg nothing else; a digit from the leg stops it.
//!
//! Reading list: Asterisk `main/features.c` / `main/bridge_basic.c` (`ast_app_dtget` with the
//! `pbx-transfer` prompt, `pbx-invalid` for an unknown extension), RFC 3550 §5.1.

use super::super::state::Call;
use super::super::Cx;
use crate::handle::LegId;
use crate::media::g711::Law;
use crate::media::player::{Pacer, RtpSender};
use crate::media::rtp::RTP_HEADER_LEN;
use crate::media::wav::{Frame, FRAME_BYTES};
use crate::wake::{CallTimer, Wake};

/// A prompt playing to one leg.
pub struct LegPrompt {
    /// The listener.
    pub leg: LegId,
    frames: Vec<Frame>,
    next: usize,
    sender: RtpSender,
    pacer: Pacer,
}

impl Call {
    /// Plays `file` to `leg` (replacing a prompt that plays); a missing file is a log line.
    pub(in crate::call) fn start_prompt(&mut self, cx: &mut Cx<'_>, leg: LegId, file: &str) {
        let law = self.leg_media(leg).and_then(|m| m.law).unwrap_or(Law::Ulaw);
        let lang = self.language().to_string();
        let frames = super::endpoint::load_sounds(cx, &[file.to_string()], law, &lang);
        if frames.is_empty() {
            self.stop_prompt(cx);
            return;
        }
        self.media.prompt = Some(LegPrompt {
            leg,
            frames,
            next: 0,
            sender: RtpSender::random(cx.rng, law.payload_type()),
            pacer: Pacer::new(cx.now),
        });
        let wake = Wake::Call(self.handle, CallTimer::Prompt);
        self.timers.start(cx.sched, CallTimer::Prompt, cx.now, wake);
    }

    /// Stops the prompt.
    pub(in crate::call) fn stop_prompt(&mut self, cx: &mut Cx<'_>) {
        if self.media.prompt.take().is_some() {
            self.timers.stop(cx.sched, CallTimer::Prompt);
        }
    }

    /// True while a prompt plays to `leg`.
    #[inline]
    pub(in crate::call) fn prompt_to(&self, leg: LegId) -> bool {
        self.media.prompt.as_ref().is_some_and(|p| p.leg == leg)
    }

    /// Sends the prompt's frames due now; stops after the last.
    pub(in crate::call) fn prompt_pace(&mut self, cx: &mut Cx<'_>) {
        let Some(p) = self.media.prompt.as_mut() else {
            return;
        };
        let (remote, pair) = match self.legs.get(p.leg).and_then(|l| l.media.as_ref()) {
            Some(l) => (l.learner.remote(), l.pair),
            None => (None, None),
        };
        let due = p.pacer.frames_due(cx.now).clamp(1, 5);
        let mut buf = [0u8; RTP_HEADER_LEN + FRAME_BYTES];
        for _ in 0..due {
            let Some(frame) = p.frames.get(p.next) else {
                break;
            };
            if let (Some(to), Some(pair)) = (remote, pair) {
                let n = p.sender.next_packet(frame, &mut buf);
                cx.out.send(pair.rtp, to, buf[..n].to_vec());
                cx.media.stats.played += 1;
            } else {
                p.sender.skip_frames(1);
            }
            p.pacer.on_sent();
            p.next += 1;
        }
        if p.next >= p.frames.len() {
            self.media.prompt = None;
            return;
        }
        let at = p.pacer.next_deadline();
        let wake = Wake::Call(self.handle, CallTimer::Prompt);
        self.timers.start(cx.sched, CallTimer::Prompt, at, wake);
    }
}
