//! A call's seats in conferences: the call's side of ConfBridge, MeetMe and Page.
//!
//! A conference spans calls, so its mixer lives in the engine (`src/engine/conference.rs`);
//! each member is one leg of a call (the caller of a ConfBridge/MeetMe call, or the caller
//! and every answered callee of a Page). The call keeps, per seated leg, what only it may
//! touch: the frames that leg said since the last 20 ms tick (decoded from its G.711 law to
//! 16-bit linear, at most [`MAX_INBOX`]), and the RTP stream sipbox sends it (its own SSRC,
//! sequence and timestamp, in the leg's law). The engine asks to join through
//! [`Seats::requests`] after the event, takes the frames at each tick, and hands each
//! member its mix to send. A seat that is gone (the call ended, a page callee hung up) is
//! dropped from its conference at the next tick.
//!
//! Reading list: Asterisk `apps/app_confbridge.c`, `bridges/bridge_softmix.c`,
//! `apps/app_meetme.c`; RFC 3550 §5.1 (each stream sipbox sends has its own SSRC), RFC 3551
//! §4.5.14 (G.711 at 8 kHz: 160 samples per 20 ms).

mod page;

use super::state::Call;
use super::Cx;
use crate::dialplan::conference::{ConfLeft, ConferenceSpec};
use crate::dialplan::Resume;
use crate::flow::{Outbox, Verdict};
use crate::handle::LegId;
use crate::media::g711::Law;
use crate::media::mixer::{Pcm, SAMPLES};
use crate::media::player::RtpSender;
use crate::media::rtp::{RtpPacket, RTP_HEADER_LEN};
use crate::media::wav::FRAME_BYTES;
use crate::wake::{CallTimer, Wake};
use std::collections::VecDeque;
use std::time::Instant;

/// Frames a seat keeps between two ticks (the mixer's own queue is bounded the same way).
pub const MAX_INBOX: usize = 2;

/// What the call asks of the engine's conferences after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfJoin {
    /// The leg that joins.
    pub leg: LegId,
    /// Where and how.
    pub spec: ConferenceSpec,
}

/// One leg in a conference.
struct Seat {
    leg: LegId,
    /// Music while alone (`M`, `music_on_hold_when_empty`): the class.
    moh: Option<String>,
    /// No prompts (`q`, `quiet`).
    quiet: bool,
    /// The leg's law (None: it settled on a codec sipbox cannot mix; it is sent nothing).
    law: Option<Law>,
    sender: RtpSender,
    /// Whole 20 ms frames said since the last tick.
    inbox: VecDeque<Pcm>,
    /// Samples of a frame not yet whole (a phone packetizing at 10 or 30 ms).
    partial: Vec<i16>,
}

/// The call's seats, and its Page.
#[derive(Default)]
pub struct Seats {
    seats: Vec<Seat>,
    /// Joins for the engine to do (taken after each event).
    pub requests: Vec<ConfJoin>,
    /// The Page this call runs, if any.
    page: Option<page::PageState>,
    /// Why the caller was refused, until its dialplan hears of it.
    refused: Option<ConfLeft>,
}

/// How long a refused caller waits before its dialplan goes on (a `Goto` back to the
/// conference then polls at this pace, not in a loop inside one event).
const REFUSED_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

impl Seats {
    /// True when `leg` has a seat.
    pub fn has(&self, leg: LegId) -> bool {
        self.seats.iter().any(|s| s.leg == leg)
    }

    fn get_mut(&mut self, leg: LegId) -> Option<&mut Seat> {
        self.seats.iter_mut().find(|s| s.leg == leg)
    }

    fn remove(&mut self, leg: LegId) {
        self.seats.retain(|s| s.leg != leg);
    }
}

impl Call {
    /// Seats `leg` and asks the engine to join it to `spec`'s conference.
    fn take_seat(&mut self, cx: &mut Cx<'_>, leg: LegId, spec: ConferenceSpec) {
        let lm = self.leg_media(leg);
        let law = match lm.and_then(|m| m.law) {
            Some(l) => Some(l),
            None if lm.and_then(|m| m.codec.as_ref()).is_some() => {
                log::info!(
                    "call {}: leg {leg} is not on G.711: it is not mixed",
                    self.label()
                );
                None
            }
            // Nothing known yet: PCMU, sipbox's first codec.
            None => Some(Law::Ulaw),
        };
        self.conference.remove(leg);
        self.conference.seats.push(Seat {
            leg,
            moh: spec.moh_when_alone.clone(),
            quiet: spec.quiet,
            law,
            sender: RtpSender::random(cx.rng, law.unwrap_or(Law::Ulaw).payload_type()),
            inbox: VecDeque::with_capacity(MAX_INBOX),
            partial: Vec::new(),
        });
        log::info!(
            "call {}: leg {leg} joins {} {}",
            self.label(),
            spec.kind.map_or("?", |k| k.as_str()),
            spec.name
        );
        self.conference.requests.push(ConfJoin { leg, spec });
    }

    /// `ConfBridge()` / `MeetMe()`: answer, then the caller takes its seat. The dialplan
    /// waits (false).
    pub(in crate::call) fn conference_command(
        &mut self,
        cx: &mut Cx<'_>,
        spec: ConferenceSpec,
    ) -> bool {
        if !self.answer_if_needed(cx) {
            return false;
        }
        self.stop_moh(cx, None);
        let caller = self.caller;
        self.take_seat(cx, caller, spec);
        false
    }

    /// The engine took `leg` out of its conference (or never let it in): the caller's
    /// dialplan goes on; a page callee is hung up.
    pub fn conference_left(&mut self, cx: &mut Cx<'_>, leg: LegId, why: ConfLeft) {
        if !self.conference.has(leg) {
            return;
        }
        self.conference.remove(leg);
        if self.moh_to(leg) {
            self.stop_moh(cx, None);
        }
        log::info!(
            "call {}: leg {leg} out of its conference ({why:?})",
            self.label()
        );
        if leg == self.caller && matches!(why, ConfLeft::Full | ConfLeft::NoRoom) {
            self.conference.refused = Some(why);
            let wake = Wake::Call(self.handle, CallTimer::Conference);
            let at = cx.now + REFUSED_PAUSE;
            self.timers.start(cx.sched, CallTimer::Conference, at, wake);
        } else if leg == self.caller {
            self.run_dialplan(cx, Resume::ConferenceLeft { why });
        } else if self.legs.get(leg).is_some_and(|l| l.dialog.is_confirmed()) {
            self.send_bye(cx, leg);
        }
    }

    /// The pause after a refusal is over: the dialplan goes on.
    pub(in crate::call) fn conference_refused_due(&mut self, cx: &mut Cx<'_>) {
        if let Some(why) = self.conference.refused.take() {
            self.run_dialplan(cx, Resume::ConferenceLeft { why });
        }
    }

    /// `leg` is in: the first member hears music when it asked for it, else
    /// `conf-onlyperson` unless quiet (app_confbridge and app_meetme say it on joining an
    /// empty conference).
    pub fn conference_joined(&mut self, cx: &mut Cx<'_>, leg: LegId, first: bool) {
        let Some(seat) = self.conference.seats.iter().find(|s| s.leg == leg) else {
            return;
        };
        if !first {
            return;
        }
        match (seat.moh.is_some(), seat.quiet) {
            (true, _) => self.conference_alone(cx, leg, true),
            (false, false) if leg == self.caller => {
                let play = crate::dialplan::Command::Playback {
                    files: vec!["conf-onlyperson".into()],
                    interrupt_digits: None,
                };
                self.media_command(cx, play);
            }
            _ => {}
        }
    }

    /// `leg` is alone in its conference now (or no longer): music when it asked for it.
    pub fn conference_alone(&mut self, cx: &mut Cx<'_>, leg: LegId, alone: bool) {
        let Some(class) = self
            .conference
            .seats
            .iter()
            .find(|s| s.leg == leg)
            .and_then(|s| s.moh.clone())
        else {
            return;
        };
        let playing = self.moh_to(leg);
        if alone && !playing {
            use super::media::moh::MohFor;
            self.start_moh(cx, leg, MohFor::Conference, None, &class);
        } else if !alone && playing {
            self.stop_moh(cx, Some(super::media::moh::MohFor::Conference));
        }
    }

    /// True while `leg` is seated and wants music (the music's reason is still there).
    pub(in crate::call) fn conference_wants_moh(&self, leg: LegId) -> bool {
        self.conference
            .seats
            .iter()
            .any(|s| s.leg == leg && s.moh.is_some())
    }

    /// An RTP packet from seated `leg`: its G.711 audio becomes 20 ms linear frames for the
    /// next tick (telephone-events and other payloads are not mixed).
    pub(in crate::call) fn conference_rtp(&mut self, leg: LegId, data: &[u8]) -> Verdict {
        let Ok(p) = RtpPacket::new_checked(data) else {
            return Verdict::Consumed;
        };
        let law = match p.payload_type() {
            0 => Law::Ulaw,
            8 => Law::Alaw,
            _ => return Verdict::Consumed,
        };
        let Some(seat) = self.conference.get_mut(leg) else {
            return Verdict::Consumed;
        };
        for &b in p.payload().iter().take(SAMPLES * 4) {
            seat.partial.push(law.decode(b));
            if seat.partial.len() == SAMPLES {
                let mut frame = [0i16; SAMPLES];
                frame.copy_from_slice(&seat.partial);
                seat.partial.clear();
                if seat.inbox.len() >= MAX_INBOX {
                    seat.inbox.pop_front();
                }
                seat.inbox.push_back(frame);
            }
        }
        Verdict::Consumed
    }

    /// The frames seated `leg` said since the last tick (None: it has no seat any more).
    pub fn conference_take(&mut self, leg: LegId) -> Option<Vec<Pcm>> {
        let seat = self.conference.get_mut(leg)?;
        Some(seat.inbox.drain(..).collect())
    }

    /// Sends seated `leg` its mix for this tick, in its law on its own stream. Nothing goes
    /// while music plays to it or before its address is known (time still passes).
    pub fn conference_send(
        &mut self,
        now: Instant,
        out: &mut Outbox,
        stats: &mut crate::call::media::MediaStats,
        leg: LegId,
        mix: &Pcm,
    ) {
        // Music, or a prompt to the caller, instead of the mix.
        let moh = self.moh_to(leg) || (leg == self.caller && self.media.is_playing());
        let (remote, pair) = match self.leg_media(leg) {
            Some(m) => (m.learner.remote(), m.pair),
            None => (None, None),
        };
        let Some(seat) = self.conference.get_mut(leg) else {
            return;
        };
        let (Some(to), Some(pair), false, Some(law)) = (remote, pair, moh, seat.law) else {
            seat.sender.skip_frames(1);
            return;
        };
        let mut payload = [0u8; FRAME_BYTES];
        crate::media::g711::encode_into(law, mix, &mut payload);
        let mut buf = [0u8; RTP_HEADER_LEN + FRAME_BYTES];
        let n = seat.sender.next_packet(&payload, &mut buf);
        out.send(pair.rtp, to, buf[..n].to_vec());
        stats.played += 1;
        if let Some(lm) = self.leg_media_mut(leg) {
            lm.last_tx = Some(now);
        }
    }
}
