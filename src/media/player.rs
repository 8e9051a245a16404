//! sipbox as an RTP sender: the stream state (SSRC, sequence, timestamp, marker) for Playback
//! and Echo, and the 20 ms pacing arithmetic.
//!
//! Reading list, before working on this file:
//! - RFC 3550 §5.1 (random initial sequence number and timestamp, SSRC) and §8 (SSRC choice).
//! - RFC 3551 §4.1 (marker bit on the first packet of a talk spurt) and §4.5.14 (G.711:
//!   8000 Hz clock, so 160 timestamp units per 20 ms frame).
//!
//! Nothing here reads a clock or a random generator on its own: the SSRC and the random starts
//! are passed in (see [`RtpSender::random`] for the one helper that takes an `Rng`), and
//! the pacing deadlines are computed from a start `Instant` the caller supplies.

use std::time::{Duration, Instant};

use super::rtp::{RtpError, RtpHeader, RtpPacket, RTP_HEADER_LEN};

/// Samples per 20 ms frame at 8 kHz: the timestamp step between consecutive G.711 packets.
pub const SAMPLES_PER_FRAME: u32 = 160;
/// The packetization interval sipbox sends at.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(20);

/// The state of one outgoing RTP stream where sipbox is the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpSender {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    payload_type: u8,
    /// The next packet starts a talk spurt and carries the marker bit.
    marker_next: bool,
    /// For Echo: offset added to the received timestamps, fixed on the first echoed packet.
    echo_ts_offset: Option<u32>,
}

impl RtpSender {
    /// A sender with the given SSRC, initial sequence number and timestamp (all should be
    /// random, RFC 3550 §5.1) and payload type. The first packet carries the marker bit.
    pub fn new(ssrc: u32, first_sequence: u16, first_timestamp: u32, payload_type: u8) -> Self {
        RtpSender {
            ssrc,
            sequence: first_sequence,
            timestamp: first_timestamp,
            payload_type: payload_type & 0x7F,
            marker_next: true,
            echo_ts_offset: None,
        }
    }

    /// A sender with SSRC, sequence and timestamp drawn from `rng`.
    pub fn random<R: rand::Rng + ?Sized>(rng: &mut R, payload_type: u8) -> Self {
        Self::new(rng.random(), rng.random(), rng.random(), payload_type)
    }

    /// The SSRC of this stream.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }
    /// The sequence number the next packet will carry.
    pub fn sequence(&self) -> u16 {
        self.sequence
    }
    /// The timestamp the next packet will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }
    /// The payload type written into packets.
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }
    /// Change the payload type (e.g. after a re-INVITE changed the codec).
    pub fn set_payload_type(&mut self, pt: u8) {
        self.payload_type = pt & 0x7F;
    }

    /// Write one RTP packet (header + `payload`) into `buf` and advance the stream: sequence +1,
    /// timestamp + one sample per payload byte (160 for a 20 ms G.711 frame).
    ///
    /// Returns the packet length, or 0 when `buf` is too small (the stream is then not advanced).
    pub fn next_packet(&mut self, payload: &[u8], buf: &mut [u8]) -> usize {
        let len = RTP_HEADER_LEN + payload.len();
        let Some(out) = buf.get_mut(..len) else {
            return 0;
        };
        let header = RtpHeader {
            marker: self.marker_next,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        if header.emit(out).is_err() {
            return 0;
        }
        out[RTP_HEADER_LEN..].copy_from_slice(payload);
        self.marker_next = false;
        self.sequence = self.sequence.wrapping_add(1);
        // G.711: one sample per byte. Saturate the step for absurd payload sizes.
        let step = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.timestamp = self.timestamp.wrapping_add(step);
        len
    }

    /// Record `frames` 20 ms frames of silence that were not sent (between two files, during a
    /// `Wait`): the timestamp advances by 160 per frame, the sequence does not, and the next
    /// packet carries the marker bit (RFC 3551 §4.1).
    pub fn skip_frames(&mut self, frames: u32) {
        self.timestamp = self
            .timestamp
            .wrapping_add(frames.wrapping_mul(SAMPLES_PER_FRAME));
        self.marker_next = true;
    }

    /// Echo: re-stamp a received RTP packet in place as a packet of our own stream: our SSRC,
    /// our next sequence number, the received timestamp shifted by a fixed offset (chosen on
    /// the first echoed packet so it continues our timeline), marker on our first packet.
    /// The payload type is kept. Invalid packets are left untouched and reported.
    pub fn restamp(&mut self, packet: &mut [u8]) -> Result<(), RtpError> {
        let mut p = RtpPacket::new_checked(packet)?;
        let their_ts = p.timestamp();
        let offset = *self
            .echo_ts_offset
            .get_or_insert(self.timestamp.wrapping_sub(their_ts));
        let ts = their_ts.wrapping_add(offset);
        p.set_ssrc(self.ssrc);
        p.set_sequence(self.sequence);
        p.set_timestamp(ts);
        if self.marker_next {
            p.set_marker(true);
        }
        self.marker_next = false;
        self.sequence = self.sequence.wrapping_add(1);
        let samples = u32::try_from(p.payload().len()).unwrap_or(0);
        self.timestamp = ts.wrapping_add(samples);
        Ok(())
    }
}

/// The deadline of the next 20 ms frame when `frames_sent` frames have gone out since `start`:
/// `start + frames_sent × 20 ms` (never accumulates drift; saturates to `start` on overflow).
pub fn frame_deadline(start: Instant, frames_sent: u32) -> Instant {
    Pacer::new(start).deadline_of(frames_sent)
}

/// Deadlines for a paced stream: frame `n` is due at `start + n × interval`, computed from the
/// start each time so that late wake-ups never accumulate drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacer {
    start: Instant,
    interval: Duration,
    sent: u32,
}

impl Pacer {
    /// A pacer whose frame 0 is due at `start`, one frame every 20 ms.
    pub fn new(start: Instant) -> Self {
        Self::with_interval(start, FRAME_INTERVAL)
    }

    /// A pacer with another packetization interval (e.g. ptime 30).
    pub fn with_interval(start: Instant, interval: Duration) -> Self {
        Pacer {
            start,
            interval,
            sent: 0,
        }
    }

    /// Frames sent so far.
    pub fn frames_sent(&self) -> u32 {
        self.sent
    }

    /// The deadline of frame `n`: `start + n × interval` (saturating far in the future).
    pub fn deadline_of(&self, n: u32) -> Instant {
        self.start
            .checked_add(self.interval.saturating_mul(n))
            .unwrap_or(self.start)
    }

    /// When the next frame is due.
    pub fn next_deadline(&self) -> Instant {
        self.deadline_of(self.sent)
    }

    /// Record that one frame was sent.
    pub fn on_sent(&mut self) {
        self.sent = self.sent.saturating_add(1);
    }

    /// How many frames are due at `now` and not yet sent (after a late wake-up, more than one).
    pub fn frames_due(&self, now: Instant) -> u32 {
        let elapsed = now.saturating_duration_since(self.start);
        let nanos = self.interval.as_nanos().max(1);
        let due = elapsed.as_nanos() / nanos + 1;
        u32::try_from(due)
            .unwrap_or(u32::MAX)
            .saturating_sub(self.sent)
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn fifty_packets_per_second() {
        let start = Instant::now();
        let mut s = RtpSender::new(0x1122_3344, 65530, 0xFFFF_FF00, 0);
        let mut pacer = Pacer::new(start);
        let payload = [0xFFu8; 160];
        let mut buf = [0u8; 200];
        let mut now = start;
        let mut sent = Vec::new();
        // One second of virtual time, woken exactly at each deadline.
        while now < start + Duration::from_secs(1) {
            for _ in 0..pacer.frames_due(now) {
                let n = s.next_packet(&payload, &mut buf);
                assert_eq!(n, 172);
                let p = RtpPacket::new_checked(&buf[..n]).unwrap();
                sent.push((p.sequence(), p.timestamp(), p.marker(), p.ssrc()));
                pacer.on_sent();
            }
            now = pacer.next_deadline();
        }
        assert_eq!(sent.len(), 50);
        assert_eq!(pacer.next_deadline(), start + Duration::from_secs(1));
        assert!(sent[0].2 && sent[1..].iter().all(|p| !p.2));
        for w in sent.windows(2) {
            assert_eq!(w[1].0, w[0].0.wrapping_add(1));
            assert_eq!(w[1].1, w[0].1.wrapping_add(160));
            assert_eq!(w[1].3, 0x1122_3344);
        }
        assert_eq!(sent[6].0, 0); // sequence wrapped
    }

    #[test]
    fn pacing_does_not_drift_after_late_wakeups() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        assert_eq!(pacer.frames_due(start), 1);
        pacer.on_sent();
        // Woken 7 ms late for frame 1: the next deadline is still start + 40 ms.
        let late = start + Duration::from_millis(27);
        assert_eq!(pacer.frames_due(late), 1);
        pacer.on_sent();
        assert_eq!(pacer.next_deadline(), start + Duration::from_millis(40));
        // Woken at 105 ms: frames 2, 3, 4 and 5 (due at 100 ms) are due at once.
        assert_eq!(pacer.frames_due(start + Duration::from_millis(105)), 4);
        assert_eq!(pacer.deadline_of(50), start + Duration::from_secs(1));
        assert_eq!(frame_deadline(start, 3), start + Duration::from_millis(60));
        assert_eq!(pacer.frames_due(start - Duration::from_millis(5)), 0);
    }

    #[test]
    fn marker_after_silence_gap_and_small_buffer() {
        let mut s = RtpSender::new(1, 10, 1000, 8);
        let mut buf = [0u8; 172];
        assert_eq!(s.next_packet(&[0xD5; 160], &mut buf[..100]), 0);
        assert_eq!(s.sequence(), 10);
        assert_eq!(s.next_packet(&[0xD5; 160], &mut buf), 172);
        s.skip_frames(50);
        assert_eq!(s.next_packet(&[0xD5; 160], &mut buf), 172);
        let p = RtpPacket::new_checked(&buf[..]).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 8);
        assert_eq!(p.sequence(), 11);
        assert_eq!(p.timestamp(), 1000 + 160 + 50 * 160);
    }

    #[test]
    fn echo_restamps_as_our_stream() {
        let mut s = RtpSender::new(0xAAAA_AAAA, 500, 90_000, 0);
        let mut rx = [0u8; 172];
        let mut them = RtpSender::new(0xBBBB_BBBB, 7, 4_000_000_000, 0);
        let mut out = Vec::new();
        for i in 0..3u8 {
            let n = them.next_packet(&[i; 160], &mut rx);
            s.restamp(&mut rx[..n]).unwrap();
            let p = RtpPacket::new_checked(&rx[..n]).unwrap();
            out.push((
                p.ssrc(),
                p.sequence(),
                p.timestamp(),
                p.marker(),
                p.payload()[0],
            ));
        }
        assert_eq!(out[0], (0xAAAA_AAAA, 500, 90_000, true, 0));
        assert_eq!(out[1], (0xAAAA_AAAA, 501, 90_160, false, 1));
        assert_eq!(out[2], (0xAAAA_AAAA, 502, 90_320, false, 2));
        assert_eq!(s.restamp(&mut [0u8; 4]), Err(RtpError::Truncated));
    }

    #[test]
    fn random_sender_uses_rng() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = RtpSender::random(&mut rng, 0);
        let b = RtpSender::random(&mut rng, 0);
        assert_ne!(a.ssrc(), b.ssrc());
    }
}
