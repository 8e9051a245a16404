//! The engine's media side: RTP sockets per leg, the relay, and sipbox as a media endpoint.
//! (Being built: the media issue.)

use super::{Engine, SockId, Verdict};
use crate::call::CallRef;
use crate::config::rtp_conf::RtpConf;
use crate::dialplan::Command;
use std::net::SocketAddr;
use std::time::Instant;

/// Engine-wide media state: the RTP port range and the socket → leg map.
pub struct MediaState {
    _rtp_start: u16,
    _rtp_end: u16,
}

impl MediaState {
    /// Media state for this RTP config, binding on the SIP address's IP.
    pub fn new(rtp: &RtpConf, _local: SocketAddr) -> MediaState {
        MediaState {
            _rtp_start: rtp.rtp_start,
            _rtp_end: rtp.rtp_end,
        }
    }
}

/// Per-call media.
#[derive(Debug, Default)]
pub struct CallMedia {}

impl Engine {
    /// A datagram on an RTP/RTCP socket.
    pub(super) fn handle_media(
        &mut self,
        _now: Instant,
        _on: SockId,
        _from: SocketAddr,
        _data: &mut [u8],
    ) -> Verdict {
        Verdict::Consumed
    }

    /// The SDP sipbox answers with when it answers a call itself.
    pub(super) fn media_answer(
        &mut self,
        _now: Instant,
        _cref: CallRef,
    ) -> Option<(String, Vec<u8>)> {
        None
    }

    /// A dialplan command that needs media. Returns true to keep stepping the dialplan.
    pub(super) fn media_command(&mut self, _now: Instant, cref: CallRef, cmd: Command) -> bool {
        log::warn!(
            "call {}: {cmd:?} is not supported yet; skipped",
            self.call_label(cref)
        );
        true
    }

    /// A call ended: close its sockets.
    pub(super) fn media_call_ended(&mut self, _call: &mut super::call_state::Call) {}

    /// A media timer fired.
    pub(super) fn media_timer(&mut self, _now: Instant, _cref: CallRef, _what: u32) {}

    /// The driver's answer to a [`super::SocketOp::Bind`].
    pub fn socket_bound(&mut self, id: SockId, ok: bool) {
        let _ = (id, ok);
    }
}
