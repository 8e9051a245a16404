//! Music on hold towards one leg of a call: the held party while the other holds, the caller
//! of a `Dial(...,m)` until a callee answers, the caller of `MusicOnHold()` and
//! `StartMusicOnHold()`. One player per call, paced on its own timer like Playback; while it
//! plays to a leg, the relay sends that leg nothing else.
//!
//! Reading list: Asterisk `res/res_musiconhold.c` (`local_ast_moh_start`: the class order;
//! `moh_files_generator`: 20 ms frames from the class's files), `channels/chan_sip.c`
//! (`sip_indicate` AST_CONTROL_HOLD: `ast_moh_start(chan, mohsuggest, mohinterpret)`),
//! RFC 3550 §5.1 (our stream's own SSRC; the marker bit on its first packet).

use super::super::state::{Call, CallState};
use super::super::Cx;
use crate::handle::LegId;
use crate::media::g711::Law;
use crate::media::moh::MohStream;
use crate::media::player::{Pacer, RtpSender};
use crate::media::rtp::RTP_HEADER_LEN;
use crate::media::wav::FRAME_BYTES;
use crate::wake::{CallTimer, Wake};

/// Why music plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MohFor {
    /// The other party of the bridge holds.
    Hold,
    /// `Dial(...,m)`: until a callee answers.
    Ringing,
    /// `MusicOnHold()`: the dialplan waits on it (its duration).
    App,
    /// `StartMusicOnHold()`: the dialplan goes on meanwhile.
    Dialplan,
    /// A DTMF transfer of this leg is in progress (the transferer dials, or consults).
    Transfer,
    /// The leg is alone in its conference (MeetMe `M`, `music_on_hold_when_empty`).
    Conference,
    /// `Queue()`: the caller waits for a member.
    Queue,
}

/// What the dialplan asks of the music.
#[derive(Debug, Clone, Copy)]
pub enum MohCommand<'a> {
    /// `MusicOnHold(class[,duration])`.
    Play(&'a str, Option<std::time::Duration>),
    /// `StartMusicOnHold(class)`.
    Start(&'a str),
    /// `StopMusicOnHold()`.
    Stop,
    /// `Dial(...,m(class))` is ringing.
    Ringing(&'a str),
}

/// Frames sent at most per wake-up when the loop fell behind.
const MAX_CATCH_UP: u32 = 5;

/// The music playing in a call.
pub struct MohPlayer {
    /// The listening leg.
    pub leg: LegId,
    /// Why it plays.
    pub why: MohFor,
    stream: MohStream,
    sender: RtpSender,
    pacer: Pacer,
    law: Law,
}

impl Call {
    /// The class candidates for `listener` as `local_ast_moh_start` orders them: the channel's
    /// `CHANNEL(musicclass)` (the caller's dialplan channel), `explicit` (an application's
    /// class argument), the holder's `mohsuggest`, the listener's `mohinterpret`.
    fn moh_candidates(
        &self,
        listener: LegId,
        holder: Option<LegId>,
        explicit: &str,
    ) -> Vec<String> {
        let mut v = Vec::new();
        if listener == self.caller {
            if let Some(e) = &self.exec {
                v.push(e.music_class().to_string());
            }
        }
        v.push(explicit.to_string());
        // As the legs and the call began (a reload changes them for new calls).
        let g = &self.general;
        let entry = |leg: LegId| self.entry_of(leg);
        if let Some(h) = holder {
            v.push(entry(h).map_or(g.moh_suggest.clone(), |e| e.moh_suggest.clone()));
        }
        v.push(entry(listener).map_or(g.moh_interpret.clone(), |e| e.moh_interpret.clone()));
        v
    }

    /// Starts music towards `leg` (replacing what played), from the class chosen for it.
    pub(in crate::call) fn start_moh(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        why: MohFor,
        holder: Option<LegId>,
        class: &str,
    ) {
        let names = self.moh_candidates(leg, holder, class);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let stream = cx.moh.start(&names, cx.rng);
        let lm = self.leg_media(leg);
        let law = match lm.and_then(|m| m.law) {
            Some(l) => l,
            None if lm.and_then(|m| m.codec.as_ref()).is_some() => {
                log::info!(
                    "call {}: music on hold needs G.711 on leg {leg}; it hears silence",
                    self.label()
                );
                Law::Ulaw
            }
            None => Law::Ulaw,
        };
        log::info!(
            "call {}: music on hold '{}' to leg {leg} ({why:?})",
            self.label(),
            stream.class()
        );
        self.media.moh = Some(MohPlayer {
            leg,
            why,
            stream,
            sender: RtpSender::random(cx.rng, law.payload_type()),
            pacer: Pacer::new(cx.now),
            law,
        });
        let wake = Wake::Call(self.handle, CallTimer::Moh);
        self.timers.start(cx.sched, CallTimer::Moh, cx.now, wake);
    }

    /// Stops the music (when it plays for `why`, or for anything when None).
    pub(in crate::call) fn stop_moh(&mut self, cx: &mut Cx<'_>, why: Option<MohFor>) {
        let Some(p) = &self.media.moh else {
            return;
        };
        if why.is_some_and(|w| w != p.why) {
            return;
        }
        log::info!(
            "call {}: music on hold to leg {} stops",
            self.label(),
            p.leg
        );
        self.media.moh = None;
        self.timers.stop(cx.sched, CallTimer::Moh);
    }

    /// True while music plays to `leg` (the relay then sends it nothing else).
    pub(in crate::call) fn moh_to(&self, leg: LegId) -> bool {
        self.media.moh.as_ref().is_some_and(|p| p.leg == leg)
    }

    /// A dialplan command about music (MusicOnHold, StartMusicOnHold, StopMusicOnHold, or a
    /// Dial with `m` that is now ringing). Returns true to keep stepping the dialplan.
    pub(in crate::call) fn moh_command(&mut self, cx: &mut Cx<'_>, cmd: MohCommand<'_>) -> bool {
        match cmd {
            MohCommand::Stop => {
                self.stop_moh(cx, Some(MohFor::Dialplan));
                self.stop_moh(cx, Some(MohFor::App));
                true
            }
            MohCommand::Ringing(class) => {
                if self.progress_if_needed(cx) {
                    let caller = self.caller;
                    self.start_moh(cx, caller, MohFor::Ringing, None, class);
                }
                true
            }
            MohCommand::Start(class) | MohCommand::Play(class, _) => {
                if !self.progress_if_needed(cx) {
                    return false;
                }
                let why = match cmd {
                    MohCommand::Play(..) => MohFor::App,
                    _ => MohFor::Dialplan,
                };
                let caller = self.caller;
                self.start_moh(cx, caller, why, None, class);
                match cmd {
                    MohCommand::Play(_, Some(d)) => {
                        let wake = Wake::Call(self.handle, CallTimer::DialplanWait);
                        self.timers
                            .start(cx.sched, CallTimer::DialplanWait, cx.now + d, wake);
                        false
                    }
                    // Until the caller hangs up.
                    MohCommand::Play(_, None) => false,
                    _ => true,
                }
            }
        }
    }

    /// True while `Dial(...,m)` music plays to the caller.
    pub(in crate::call) fn moh_ringing(&self) -> bool {
        self.media
            .moh
            .as_ref()
            .is_some_and(|p| p.why == MohFor::Ringing)
    }

    /// The bridged legs' hold state changed (or the bridge did): the listener of a holder
    /// gets music, and music for a hold that is over stops.
    pub(in crate::call) fn update_hold_music(&mut self, cx: &mut Cx<'_>) {
        let held = |c: &Call, l: LegId| c.leg_media(l).is_some_and(|m| m.hold);
        let want = match self.bridge() {
            Some(b) => match (held(self, b.a), held(self, b.b)) {
                (true, false) => Some((b.b, b.a)),
                (false, true) => Some((b.a, b.b)),
                _ => None,
            },
            None => None,
        };
        let playing = self
            .media
            .moh
            .as_ref()
            .filter(|p| p.why == MohFor::Hold)
            .map(|p| p.leg);
        match (want, playing) {
            (Some((listener, _)), Some(l)) if l == listener => {}
            (Some((listener, holder)), _) => {
                self.start_moh(cx, listener, MohFor::Hold, Some(holder), "")
            }
            (None, Some(_)) => self.stop_moh(cx, Some(MohFor::Hold)),
            (None, None) => {}
        }
    }

    /// True when the music's reason is over (the hold ended, the Dial was answered or
    /// failed): checked at every tick, so no path that changes the call can leave it playing.
    fn moh_outlived(&self) -> bool {
        let Some(p) = &self.media.moh else {
            return false;
        };
        match p.why {
            MohFor::Hold => {
                let other = self.bridge().and_then(|b| b.other(p.leg));
                !other.is_some_and(|o| self.leg_media(o).is_some_and(|m| m.hold))
            }
            MohFor::Ringing => !matches!(self.state, CallState::Dialing(_)),
            // A bridge carries the caller's media from now on.
            MohFor::App | MohFor::Dialplan => self.bridge().is_some(),
            MohFor::Transfer => !self.transfer_holds(p.leg),
            MohFor::Conference => !self.conference_wants_moh(p.leg),
            MohFor::Queue => !self.queue_music_wanted(),
        }
    }

    /// Sends the frames due now and schedules the next tick.
    pub(in crate::call) fn moh_pace(&mut self, cx: &mut Cx<'_>) {
        if self.moh_outlived() {
            return self.stop_moh(cx, None);
        }
        let Some(p) = self.media.moh.as_mut() else {
            return;
        };
        let (remote, pair) = match self.legs.get(p.leg).and_then(|l| l.media.as_ref()) {
            Some(l) => (l.learner.remote(), l.pair),
            None => (None, None),
        };
        let due = p.pacer.frames_due(cx.now).max(1);
        let mut buf = [0u8; RTP_HEADER_LEN + FRAME_BYTES];
        let mut sent = false;
        for i in 0..due {
            let frame = if i < MAX_CATCH_UP {
                p.stream.next_frame(cx.sounds, p.law)
            } else {
                None
            };
            match (frame, remote, pair) {
                (Some(f), Some(to), Some(pair)) => {
                    let n = p.sender.next_packet(&f, &mut buf);
                    cx.out.send(pair.rtp, to, buf[..n].to_vec());
                    cx.media.stats.played += 1;
                    if !self.media.monitors.is_empty() {
                        self.media.monitors.played(p.leg, p.law, &f);
                    }
                    sent = true;
                }
                // Silence, or nowhere to send yet: time still passes.
                _ => p.sender.skip_frames(1),
            }
            p.pacer.on_sent();
        }
        let (leg, silent) = (p.leg, p.stream.is_silent());
        if sent {
            // rtpkeepalive counts what sipbox sent on the leg.
            if let Some(lm) = self.leg_media_mut(leg) {
                lm.last_tx = Some(cx.now);
            }
        }
        let Some(p) = self.media.moh.as_mut() else {
            return;
        };
        if silent {
            // Nothing to play: no more ticks (the reason's end still stops the player).
            return;
        }
        let at = p.pacer.next_deadline();
        let wake = Wake::Call(self.handle, CallTimer::Moh);
        self.timers.start(cx.sched, CallTimer::Moh, at, wake);
    }
}
