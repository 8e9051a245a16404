//! Media across a blind transfer: the transferee keeps its session (its ports, codec and
//! remote are unchanged, it is not re-INVITEd), the target is offered that session's codec
//! (and the other G.711 law, which the relay transcodes), and once the target answers the
//! relay pairs the transferee's leg with the target's ([`Call::media_peer`] follows the new
//! bridge). The transferer's ports are freed as soon as its leg is released.
//!
//! Reading list: RFC 3264 §6 (the target's answer), RFC 3550 (the relay keeps SSRCs and
//! sequence numbers as they come); Asterisk's `chan_sip.c` keeps the transferee's RTP
//! session across a blind transfer the same way (the bridge changes, the dialog does not).

use super::super::state::Call;
use super::super::Cx;
use super::{allow_of, learn_from, SDP};
use crate::handle::LegId;
use crate::media::negotiate;
use crate::media::sdp::{CodecName, Sdp};
use crate::sip::{Response, StatusCode};

/// The codecs the transferee's session can be bridged to: its own, and the other G.711 law.
pub(in crate::call) fn bridgeable(codec: &CodecName) -> Vec<CodecName> {
    match codec {
        CodecName::Pcmu => vec![CodecName::Pcmu, CodecName::Pcma],
        CodecName::Pcma => vec![CodecName::Pcma, CodecName::Pcmu],
        other => vec![other.clone()],
    }
}

impl Call {
    /// The body of the INVITE to a transfer's target `leg`: sipbox's own offer of the
    /// transferee's codec (and what the relay can transcode it to), cut to the target's
    /// `allow`. `Err(488)`: nothing in common; `Err(503)`: no RTP port left.
    pub(in crate::call) fn media_offer_for_transfer(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
    ) -> Result<crate::call::reply::Body, StatusCode> {
        let callee_allow = allow_of(self, leg);
        let wanted = match self.leg_media(self.caller).and_then(|m| m.codec.as_ref()) {
            Some(c) => bridgeable(c),
            None => callee_allow.clone(),
        };
        let allow: Vec<CodecName> = wanted
            .into_iter()
            .filter(|c| callee_allow.contains(c))
            .collect();
        if allow.is_empty() {
            log::info!(
                "call {}: transfer target leg {leg} has no codec of the transferee (488)",
                self.label()
            );
            return Err(StatusCode::NOT_ACCEPTABLE_HERE);
        }
        let Some(pair) = self.ensure_leg(cx, leg) else {
            log::warn!("call {}: no RTP port pair left (503)", self.label());
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        };
        let ip = self.media_ip_toward(cx, leg);
        let Some(lm) = self.leg_media_mut(leg) else {
            return Ok(None);
        };
        let sdp = negotiate::our_offer(&allow, &mut lm.session, ip, pair.port);
        lm.te_pt = sdp.telephone_event_pt();
        Ok(Some((SDP.into(), sdp.to_bytes())))
    }

    /// A transfer's target answered: its description is learned for its leg; the transferee's
    /// session stays as it is.
    pub(in crate::call) fn media_transfer_answered(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        resp: &Response,
    ) {
        if !resp.body().is_empty() {
            match Sdp::parse(resp.body()) {
                Ok(answer) => {
                    if let Some(lm) = self.leg_media_mut(leg) {
                        learn_from(lm, cx.now, &answer);
                    }
                }
                Err(e) => log::info!("call {}: target SDP unreadable: {e}", self.label()),
            }
        }
        self.arm_watchdog(cx);
    }

    /// A leg left the call before it ended (a released transferer): its ports go back.
    pub(in crate::call) fn media_leg_gone(&mut self, cx: &mut Cx<'_>, leg: LegId) {
        self.end_mixmonitors(cx, Some(leg), "the channel left the call");
        let Some(l) = self.legs.get_mut(leg) else {
            return;
        };
        if let Some(p) = l.media.take().and_then(|m| m.pair) {
            cx.media.ports.release(cx.now, p, cx.out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_can_be_bridged_to_either_law_other_codecs_only_to_themselves() {
        assert_eq!(
            bridgeable(&CodecName::Pcma),
            vec![CodecName::Pcma, CodecName::Pcmu]
        );
        assert_eq!(bridgeable(&CodecName::G722), vec![CodecName::G722]);
    }
}
