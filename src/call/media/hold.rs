//! Hold and resume between bridged legs, answered by sipbox itself as Asterisk does with
//! `directmedia=no`: the holder's re-INVITE (a=sendonly, a=inactive, or the old c=0.0.0.0)
//! is answered here with the direction RFC 3264 §8.4 gives (sendonly → recvonly, inactive →
//! inactive), the other party is not re-INVITEd and hears music on hold instead
//! ([`super::moh`]); the resuming re-INVITE (a=sendrecv) is answered the same way and the
//! relay carries both directions again. The other party keeps its session untouched, so a
//! held transferee that is then transferred simply talks to its new party.
//!
//! Reading list: RFC 3264 §8.4 (hold), RFC 2543 §B.5 / RFC 3264 §8.4 (c=0.0.0.0); Asterisk
//! `chan_sip.c` `process_sdp` (`change_hold_state`, `ast_queue_hold` with `mohsuggest`).

use super::super::state::Call;
use super::super::Cx;
use super::{allow_of, learn_from, set_codec};
use crate::handle::LegId;
use crate::media::sdp::{self, Sdp};
use crate::sip::{Method, Request, StatusCode};

impl Call {
    /// A re-INVITE from bridged leg `leg`: when it holds, or resumes a hold sipbox answered,
    /// the SDP sipbox answers it with (`Err`: the status to refuse it with). None: not a hold
    /// matter, relay it.
    pub(in crate::call) fn media_hold_answer(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        req: &Request,
    ) -> Option<Result<Vec<u8>, StatusCode>> {
        if *req.method() != Method::Invite || req.body().is_empty() {
            return None;
        }
        self.bridge()?.other(leg)?;
        let offer = Sdp::parse(req.body()).ok()?;
        let was_held = self.leg_media(leg).is_some_and(|m| m.hold);
        if !offer.is_hold() && !was_held {
            return None;
        }
        let pair = self.ensure_leg(cx, leg)?;
        // The leg's codec first: the other party's session does not change.
        let mut allow = allow_of(self, leg);
        if let Some(c) = self.leg_media(leg).and_then(|m| m.codec.clone()) {
            allow.retain(|n| *n != c);
            allow.insert(0, c);
        }
        let ip = self.media_ip_toward(cx, leg);
        let lm = self.leg_media_mut(leg)?;
        let mut answer = match sdp::answer(&offer, &allow, &mut lm.session, ip, pair.port) {
            Ok(a) => a,
            Err(_) => return Some(Err(StatusCode::NOT_ACCEPTABLE_HERE)),
        };
        answer.set_direction(offer.direction().answer());
        learn_from(lm, cx.now, &offer);
        set_codec(lm, &answer);
        let hold = lm.hold;
        log::info!(
            "call {}: leg {leg} {} ({}), answered by sipbox",
            self.label(),
            if hold { "holds" } else { "resumes" },
            offer.direction().as_str()
        );
        self.update_hold_music(cx);
        Some(Ok(answer.to_bytes()))
    }
}
