//! Media: the pure building blocks of sipbox's media path. Nothing here opens a socket or
//! reads a clock; the engine feeds bytes and `now` in and sends what comes out.
//!
//! - [`sdp`]: the session description model (RFC 4566), its parser and printer, and the B2BUA
//!   operations: [`sdp::Sdp::rewrite`] for the other leg (our address and port, per-leg o=
//!   versions in [`sdp::LocalSession`]), [`sdp::filter_offer`] (codec intersection in the
//!   entry's `allow` order, `Err(NoCommonCodec)` → 488), [`sdp::answer`] when sipbox is the
//!   endpoint, direction for hold/resume, the remote RTP address, the telephone-event PT.
//! - [`g711`]: µ-law and A-law encode/decode and the direct µ↔A transcoding tables (ITU-T
//!   G.711), built at compile time; a transcode is one table load per byte.
//! - [`rtp`]: the wire format (RFC 3550): [`rtp::classify`] a datagram as RTP, RTCP, STUN or
//!   garbage following RFC 5761/7983 (only RTP and RTCP are ever forwarded), a zero-copy
//!   [`rtp::RtpPacket`] view with in-place setters (PT mapping for DTMF, re-stamping), and
//!   [`rtp::RtpHeader`] to write one.
//! - [`learning`]: each leg's remote address: the SDP's, confirmed or replaced by what arrives
//!   (comedia), with strictrtp dropping other sources outside the learning window.
//! - [`negotiate`]: the offer/answer decisions of a B2BUA call (codec intersection, transcoding,
//!   488, sipbox's own offer).
//! - [`ports`]: RTP/RTCP port pairs of `rtpstart..rtpend`, their socket ids, bound reserve and
//!   the pool of released pairs (quarantine, idle cap).
//! - [`route`]: the plain relay's forwarding record of an RTP socket (the per-packet fast path).
//! - [`moh`]: music on hold classes and the frame stream of a class's files.
//! - [`monitor`]: MixMonitor's feeds, volume, mix, file formats and writes.
//! - [`mixer`]: conferences: each member hears the saturating sum of the others (20 ms ticks).
//! - [`player`]: sipbox as an RTP source (Playback, Echo): SSRC, sequence, timestamp, marker,
//!   and the drift-free 20 ms pacing deadlines for the scheduler.
//! - [`sounds`]: where Playback's prompts come from (the [`sounds::Sounds`] trait; in-memory source).
//! - [`wav`]: WAV files (8 kHz mono PCM16, µ-law, A-law) cut into 20 ms frames in a leg's law.
//!
//! Reading list for the whole module: RFC 3550 (RTP/RTCP), RFC 3551 (the A/V profile: static
//! payload types, G.711 at 8 kHz), RFC 4566 and RFC 3264 (SDP, offer/answer), RFC 4733
//! (telephone-event), RFC 5761 (RTP/RTCP multiplexing), RFC 7983 (demultiplexing STUN), ITU-T
//! G.711, and Asterisk's `res_rtp_asterisk.c` (strictrtp, probation) and `sip.conf` (`nat=`,
//! `allow=`) for the behaviour we copy. Each file opens with its own list.

#![deny(missing_docs)]

pub mod dtmf;
pub mod g711;
pub mod learning;
pub mod mixer;
pub mod moh;
pub mod monitor;
pub mod negotiate;
pub mod player;
pub mod ports;
pub mod route;
pub mod rtp;
pub mod sdp;
pub mod sounds;
pub mod tones;
pub mod wav;
