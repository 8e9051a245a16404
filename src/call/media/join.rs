//! Media for a leg that replaces another (INVITE with Replaces, RFC 3891): sipbox answers
//! the new phone's offer with a codec the bridged peer's unchanged session can be relayed to
//! (its own, or the other G.711 law, which the relay transcodes), on the new leg's own ports.
//! The peer is not re-INVITEd.

use super::super::state::Call;
use super::super::Cx;
use super::transfer::bridgeable;
use super::{allow_of, learn_from, set_codec, SDP};
use crate::handle::LegId;
use crate::media::sdp::{CodecName, Sdp};
use crate::sip::{Request, StatusCode};

/// A body and its content type.
type Body = (std::borrow::Cow<'static, str>, Vec<u8>);

impl Call {
    /// The SDP answer to the replacing INVITE of `leg`, bridged to `other`. `Err(488)`: no
    /// offer (sipbox needs one here), an unreadable one or no codec in common; `Err(503)`: no
    /// RTP port pair left.
    pub(in crate::call) fn media_answer_replacing(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        other: LegId,
        invite: &Request,
    ) -> Result<Body, StatusCode> {
        let offer = Sdp::parse(invite.body()).map_err(|e| {
            log::info!("call {}: replacing INVITE's SDP: {e} (488)", self.label());
            StatusCode::NOT_ACCEPTABLE_HERE
        })?;
        let own = allow_of(self, leg);
        let allow: Vec<CodecName> = match self.leg_media(other).and_then(|m| m.codec.as_ref()) {
            Some(c) => bridgeable(c)
                .into_iter()
                .filter(|c| own.contains(c))
                .collect(),
            None => own,
        };
        let Some(pair) = self.ensure_leg(cx, leg) else {
            log::warn!("call {}: no RTP port pair left (503)", self.label());
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        };
        let ip = self.media_ip_toward(cx, leg);
        let label = self.label().to_string();
        let lm = self
            .leg_media_mut(leg)
            .ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
        let sdp = crate::media::sdp::answer(&offer, &allow, &mut lm.session, ip, pair.port)
            .map_err(|_| {
                log::info!("call {label}: replacing leg has no codec of its peer (488)");
                StatusCode::NOT_ACCEPTABLE_HERE
            })?;
        learn_from(lm, cx.now, &offer);
        set_codec(lm, &sdp);
        Ok((SDP.into(), sdp.to_bytes()))
    }
}

impl Call {
    /// The two SDP answers of a pickup: to the picker's offer and to the caller's (still
    /// unanswered) offer, on one codec both offered and both entries allow. `Err(488)`: no
    /// offer from either (sipbox needs both here) or nothing in common; `Err(503)`: no RTP
    /// port pair left.
    pub(in crate::call) fn media_pickup(
        &mut self,
        cx: &mut Cx<'_>,
        picker: LegId,
        invite: &Request,
    ) -> Result<(Body, Body), StatusCode> {
        let caller = self.caller;
        let no_ports = |c: &Call| {
            log::warn!("call {}: no RTP port pair left (503)", c.label());
            StatusCode::SERVICE_UNAVAILABLE
        };
        self.ensure_leg(cx, caller).ok_or_else(|| no_ports(self))?;
        let theirs = self
            .caller_offer(cx.now)?
            .ok_or(StatusCode::NOT_ACCEPTABLE_HERE)?;
        let offer = Sdp::parse(invite.body()).map_err(|e| {
            log::info!("call {}: picker's SDP: {e} (488)", self.label());
            StatusCode::NOT_ACCEPTABLE_HERE
        })?;
        let offered: Vec<CodecName> = theirs.codecs().into_iter().map(|c| c.name).collect();
        let picker_allow = allow_of(self, picker);
        let common: Vec<CodecName> = allow_of(self, caller)
            .into_iter()
            .filter(|c| offered.contains(c) && picker_allow.contains(c))
            .collect();
        let pair = self.ensure_leg(cx, picker).ok_or_else(|| no_ports(self))?;
        let ip = self.media_ip_toward(cx, picker);
        let lm = self
            .leg_media_mut(picker)
            .ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
        let to_picker = crate::media::sdp::answer(&offer, &common, &mut lm.session, ip, pair.port)
            .map_err(|_| StatusCode::NOT_ACCEPTABLE_HERE)?;
        learn_from(lm, cx.now, &offer);
        set_codec(lm, &to_picker);
        let chosen: Vec<CodecName> = lm.codec.iter().cloned().collect();
        let pair = self.ensure_leg(cx, caller).ok_or_else(|| no_ports(self))?;
        let ip = self.media_ip_toward(cx, caller);
        let lm = self
            .leg_media_mut(caller)
            .ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
        let to_caller = crate::media::sdp::answer(&theirs, &chosen, &mut lm.session, ip, pair.port)
            .map_err(|_| StatusCode::NOT_ACCEPTABLE_HERE)?;
        set_codec(lm, &to_caller);
        let body = |s: Sdp| (SDP.into(), s.to_bytes());
        Ok((body(to_picker), body(to_caller)))
    }
}
