//! The engine's media side: RTP sockets per leg, the relay, and sipbox as a media endpoint.
//! (Being built: the media issue.)

use super::{Engine, SockId, Verdict};
use crate::call::{CallRef, LegRef};
use crate::config::rtp_conf::RtpConf;
use crate::dialplan::Command;
use crate::sip::Response;
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

    /// The body of the INVITE to outbound leg `leg`: the caller's offer as that callee should
    /// see it. `Err(status)` when the fork cannot be offered anything (488: no common codec).
    pub(super) fn media_offer_for_fork(
        &mut self,
        _now: Instant,
        cref: CallRef,
        _leg: usize,
    ) -> Result<Option<(String, Vec<u8>)>, u16> {
        let Some(call) = self.calls.get(cref) else {
            return Ok(None);
        };
        Ok(body_of(call.invite.content_type(), call.invite.body()))
    }

    /// The body of a callee's 18x/2xx as the caller should see it.
    pub(super) fn media_answer_from_fork(
        &mut self,
        _now: Instant,
        _lr: LegRef,
        resp: &Response,
    ) -> Option<(String, Vec<u8>)> {
        body_of(resp.content_type(), resp.body())
    }

    /// A body relayed in-dialog (re-INVITE, UPDATE, INFO and their answers) from leg `from`
    /// to leg `to`.
    pub(super) fn media_relay_body(
        &mut self,
        _now: Instant,
        _cref: CallRef,
        _from: usize,
        _to: usize,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Option<(String, Vec<u8>)> {
        body_of(content_type, body)
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
    pub(super) fn media_call_ended(&mut self, call: &mut super::call_state::Call) {
        let _ = (&call.media, &self.media);
    }

    /// A media timer fired.
    pub(super) fn media_timer(&mut self, _now: Instant, _cref: CallRef, _what: u32) {}

    /// The driver's answer to a [`super::SocketOp::Bind`].
    pub fn socket_bound(&mut self, id: SockId, ok: bool) {
        let _ = (id, ok);
    }
}

/// A body with its content type, when there is one.
fn body_of(content_type: Option<&str>, body: &[u8]) -> Option<(String, Vec<u8>)> {
    (!body.is_empty()).then(|| {
        (
            content_type.unwrap_or("application/sdp").to_string(),
            body.to_vec(),
        )
    })
}
