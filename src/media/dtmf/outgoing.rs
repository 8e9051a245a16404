//! The digits sipbox sends to one leg over RTP, queued and paced on 20 ms ticks: as RFC 4733
//! events (one timestamp per event, the duration growing by 160 each tick, the end packet
//! three times) or as tones in the leg's G.711 law. The stream has its own SSRC, sequence
//! and timestamp clock (advancing 160 per tick, sent or not), like sipbox's other streams.
//!
//! Reading list: RFC 4733 §2.5.1 (sending events), RFC 3550 §5.1 (header fields), Asterisk
//! `res/res_rtp_asterisk.c` (`ast_rtp_dtmf_begin`/`_continuation`/`_end_with_duration`).

use super::events::{Event, EVENT_LEN, VOLUME};
use crate::media::g711::Law;
use crate::media::player::SAMPLES_PER_FRAME;
use crate::media::rtp::{RtpHeader, RTP_HEADER_LEN};
use crate::media::wav::{Frame, FRAME_BYTES};
use std::collections::VecDeque;

/// Digits queued at most per leg (more are dropped with the caller told so).
pub const MAX_QUEUED: usize = 64;
/// Shortest and longest digit sipbox sends (ms).
pub const MIN_DURATION_MS: u32 = 40;
/// RFC 4733's 16-bit duration holds 8 s; sipbox stops at 5.
pub const MAX_DURATION_MS: u32 = 5_000;
/// Silence after each digit, so that two equal digits stay two (ms).
pub const MIN_GAP_MS: u32 = 40;

/// How the digits travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// RFC 4733 with this payload type.
    Events(u8),
    /// Tones in this law.
    Tones(Law),
}

#[derive(Debug, Clone, Copy)]
struct Queued {
    /// None: a pause (SendDTMF's `w`).
    digit: Option<char>,
    frames: u32,
    gap: u32,
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    Playing {
        digit: char,
        /// The RTP timestamp of the event's first packet.
        start_ts: u32,
        done: u32,
        total: u32,
        gap: u32,
        tone: Vec<Frame>,
    },
    Gap(u32),
}

/// The digit stream toward one leg.
#[derive(Debug, Clone)]
pub struct Outgoing {
    carrier: Carrier,
    queue: VecDeque<Queued>,
    state: State,
    ssrc: u32,
    seq: u16,
    ts: u32,
}

fn frames_of(ms: u32) -> u32 {
    ms.div_ceil(20)
}

impl Outgoing {
    /// An idle stream with these (random) header starts.
    pub fn new(carrier: Carrier, ssrc: u32, seq: u16, ts: u32) -> Outgoing {
        Outgoing {
            carrier,
            queue: VecDeque::new(),
            state: State::Idle,
            ssrc,
            seq,
            ts,
        }
    }

    /// The carrier (a re-INVITE may change the leg's payload type or law).
    pub fn set_carrier(&mut self, carrier: Carrier) {
        self.carrier = carrier;
    }

    /// Queues a digit for `duration_ms`, then `gap_ms` of nothing. False when the queue is
    /// full or `digit` is no DTMF digit.
    pub fn push(&mut self, digit: char, duration_ms: u32, gap_ms: u32) -> bool {
        if self.queue.len() >= MAX_QUEUED || !super::is_digit(digit) {
            return false;
        }
        self.queue.push_back(Queued {
            digit: Some(digit),
            frames: frames_of(duration_ms.clamp(MIN_DURATION_MS, MAX_DURATION_MS)),
            gap: frames_of(gap_ms.clamp(MIN_GAP_MS, MAX_DURATION_MS)),
        });
        true
    }

    /// Queues `ms` of nothing (SendDTMF's `w`: half a second). False when the queue is full.
    pub fn push_pause(&mut self, ms: u32) -> bool {
        if self.queue.len() >= MAX_QUEUED {
            return false;
        }
        self.queue.push_back(Queued {
            digit: None,
            frames: 0,
            gap: frames_of(ms.min(MAX_DURATION_MS)).max(1),
        });
        true
    }

    /// True while nothing is playing or queued.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle) && self.queue.is_empty()
    }

    /// True while a tone occupies the leg's audio (the relay holds the other party's back).
    pub fn tone_playing(&self) -> bool {
        matches!(self.carrier, Carrier::Tones(_)) && matches!(self.state, State::Playing { .. })
    }

    /// One 20 ms tick: the packets to send now (none, one, or the three end packets).
    pub fn tick(&mut self, out: &mut Vec<Vec<u8>>) {
        if matches!(self.state, State::Idle) {
            self.state = match self.queue.pop_front() {
                Some(Queued {
                    digit: Some(digit),
                    frames,
                    gap,
                }) => State::Playing {
                    digit,
                    start_ts: self.ts,
                    done: 0,
                    total: frames,
                    gap,
                    tone: match self.carrier {
                        Carrier::Tones(law) => render_tone(digit, frames, law),
                        Carrier::Events(_) => Vec::new(),
                    },
                },
                Some(Queued { gap, .. }) => State::Gap(gap),
                None => State::Idle,
            };
        }
        let tick_ts = self.ts;
        self.ts = self.ts.wrapping_add(SAMPLES_PER_FRAME);
        let mut packet = Packet {
            ssrc: self.ssrc,
            seq: &mut self.seq,
            out,
        };
        let next = match &mut self.state {
            State::Idle => None,
            State::Gap(n) => {
                *n = n.saturating_sub(1);
                (*n == 0).then_some(State::Idle)
            }
            State::Playing {
                digit,
                start_ts,
                done,
                total,
                gap,
                tone,
            } => {
                let first = *done == 0;
                *done += 1;
                let finished = *done >= *total;
                match self.carrier {
                    Carrier::Events(pt) => {
                        let ev = Event {
                            event: super::event_of(*digit).unwrap_or(0),
                            end: finished,
                            volume: VOLUME,
                            duration: (*done * SAMPLES_PER_FRAME).min(u32::from(u16::MAX)) as u16,
                        };
                        let payload: [u8; EVENT_LEN] = ev.emit();
                        // RFC 4733 §2.5.1.4: the end packet goes three times.
                        for i in 0..if finished { 3 } else { 1 } {
                            packet.emit(first && i == 0, pt, *start_ts, &payload);
                        }
                    }
                    Carrier::Tones(law) => {
                        let silence = [law.silence(); FRAME_BYTES];
                        let frame = tone.get(*done as usize - 1).unwrap_or(&silence);
                        packet.emit(first, law.payload_type(), tick_ts, frame);
                    }
                }
                finished.then_some(State::Gap(*gap))
            }
        };
        if let Some(n) = next {
            self.state = n;
        }
    }
}

/// Writes the stream's packets.
struct Packet<'a> {
    ssrc: u32,
    seq: &'a mut u16,
    out: &'a mut Vec<Vec<u8>>,
}

impl Packet<'_> {
    fn emit(&mut self, marker: bool, pt: u8, ts: u32, payload: &[u8]) {
        let mut p = vec![0u8; RTP_HEADER_LEN + payload.len()];
        let h = RtpHeader {
            marker,
            payload_type: pt,
            sequence: *self.seq,
            timestamp: ts,
            ssrc: self.ssrc,
        };
        // The buffer holds the header: emit cannot fail.
        let _ = h.emit(&mut p);
        p[RTP_HEADER_LEN..].copy_from_slice(payload);
        *self.seq = self.seq.wrapping_add(1);
        self.out.push(p);
    }
}

/// The frames of a digit's tone, `frames` long.
fn render_tone(digit: char, frames: u32, law: Law) -> Vec<Frame> {
    let Some((r, c)) = super::frequencies(digit) else {
        return Vec::new();
    };
    // indications syntax: `!` plays once; the tone module renders it at -16 dBm0-ish levels.
    let spec = format!("!{r}+{c}/{}", frames * 20);
    crate::media::tones::render(&spec, law)
        .map(|t| t.frames)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::detect::Detector;

    fn run(o: &mut Outgoing, ticks: usize) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        for _ in 0..ticks {
            o.tick(&mut all);
        }
        all
    }

    #[test]
    fn events_share_a_timestamp_grow_and_end_three_times() {
        let mut o = Outgoing::new(Carrier::Events(101), 7, 100, 1000);
        assert!(o.push('5', 100, 60));
        assert!(o.push('#', 60, 40));
        let p = run(&mut o, 20);
        assert!(o.is_idle());
        // '5': 100 ms = 5 ticks: 4 updates + 3 ends; '#': 3 ticks: 2 + 3.
        assert_eq!(p.len(), 7 + 5);
        let seqs: Vec<u16> = p.iter().map(|p| u16::from_be_bytes([p[2], p[3]])).collect();
        assert_eq!(seqs, (100..112).collect::<Vec<u16>>(), "one sequence each");
        let ts = |p: &Vec<u8>| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        assert!(p[..7].iter().all(|x| ts(x) == 1000));
        assert_eq!(p[0][1], 0x80 | 101, "marker on the first packet only");
        assert_eq!(p[1][1], 101);
        let ev: Vec<Event> = p.iter().map(|x| Event::parse(&x[12..]).unwrap()).collect();
        assert_eq!(
            ev[..7].iter().map(|e| e.duration).collect::<Vec<_>>(),
            [160, 320, 480, 640, 800, 800, 800]
        );
        assert_eq!(ev.iter().filter(|e| e.end).count(), 6);
        assert!(ev[..7].iter().all(|e| e.event == 5 && e.volume == 10));
        // '#' starts after 5 ticks of '5' and 3 of gap: 8 ticks later.
        assert_eq!(ts(&p[7]), 1000 + 8 * 160);
        assert_eq!(p[7][1], 0x80 | 101, "each event starts with the marker");
        assert_eq!(ev[7].event, 11);
    }

    #[test]
    fn tones_are_detected_and_the_queue_is_bounded() {
        let mut o = Outgoing::new(Carrier::Tones(Law::Alaw), 1, 1, 1);
        for d in "19*#".chars() {
            assert!(o.push(d, 100, 100));
        }
        assert!(!o.push('x', 100, 100));
        let mut det = Detector::new(false);
        let mut heard = String::new();
        let mut ticks = 0;
        while !o.is_idle() {
            let mut p = Vec::new();
            o.tick(&mut p);
            ticks += 1;
            for pkt in p {
                assert_eq!(pkt[1] & 0x7f, 8);
                let s = pkt[12..].iter().map(|&b| Law::Alaw.decode(b));
                heard.extend(det.feed(s).map(|h| h.digit));
            }
        }
        heard.extend(det.feed(std::iter::repeat_n(0, 800)).map(|h| h.digit));
        assert_eq!(heard, "19*#");
        assert_eq!(ticks, 40);
        // A pause: 500 ms of nothing between two digits.
        let mut o = Outgoing::new(Carrier::Events(101), 1, 1, 0);
        assert!(o.push('1', 40, 40) && o.push_pause(500) && o.push('2', 40, 40));
        let p = run(&mut o, 40);
        let ts = |p: &Vec<u8>| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        assert_eq!(p.len(), 8, "one update and three ends each");
        assert_eq!(
            ts(&p[4]),
            (2 + 2 + 25) * 160,
            "second digit after the pause"
        );
        let mut full = Outgoing::new(Carrier::Events(101), 1, 1, 1);
        assert!((0..MAX_QUEUED).all(|_| full.push('1', 100, 100)));
        assert!(!full.push('1', 100, 100));
    }
}
