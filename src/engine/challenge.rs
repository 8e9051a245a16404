//! A 401/407 to a request sipbox sent (a Dial's INVITE, a BYE, a relayed re-INVITE or REFER,
//! a qualify OPTIONS) is answered once with credentials, as chan_sip's `do_proxy_auth`:
//! the same request again with a new branch, CSeq + 1, the same Call-ID and From tag, and an
//! Authorization (401) or Proxy-Authorization (407). The ACK for a 401/407 to an INVITE is the
//! transaction layer's (§17.1.1.3). A second challenge for the nonce we answered, a challenge
//! to our credentials that does not say `stale=true`, or one we cannot answer (no nonce, an
//! unknown algorithm, no credentials for its realm) is passed up as the failure it is (a Dial
//! then ends with CONGESTION), with a log line: never a loop.
//!
//! REGISTER answers its own challenges in its state machine (`src/trunk/registry.rs`).
//!
//! Reading list: RFC 3261 §22.2–22.3, §8.1.3.5; chan_sip's `do_proxy_auth`, `handle_response_invite`.

use super::{Engine, PeerId};
use crate::call::build;
use crate::call::Purpose;
use crate::config::sip_values::Host;
use crate::flow::Flow;
use crate::sip::{HeaderName, Response};
use crate::transaction::Handle;
use crate::trunk::credentials;
use crate::trunk::digest::{self, Answering};
use rand::Rng;
use std::time::Instant;

impl Engine {
    /// The sip.conf entry whose credentials answer a challenge to a request of `purpose`
    /// that went to `dest`.
    fn challenged_peer(&self, purpose: &Purpose, call_id: &str, dest: Flow) -> Option<PeerId> {
        let leg_peer = |call, leg: usize| {
            self.calls
                .get(call)
                .and_then(|c| c.legs.get(leg))
                .and_then(|l| l.peer)
        };
        let known = match purpose {
            Purpose::Invite(lr) | Purpose::Refresh(lr) => leg_peer(lr.call, lr.leg),
            Purpose::Relay(r) => leg_peer(r.call, r.to_leg),
            Purpose::Qualify { peer, .. } => Some(*peer),
            Purpose::Fire => self
                .calls
                .find(call_id)
                .and_then(|lr| leg_peer(lr.call, lr.leg)),
            Purpose::Register { .. } => None,
        };
        // A BYE of a call already gone: the entry at the address it went to.
        known.or_else(|| {
            self.cfg.peers().find_map(|(id, p)| match &p.host {
                Host::Static { ip, port, .. } => {
                    let addr = ip
                        .map(|ip| std::net::SocketAddr::new(ip, *port))
                        .or_else(|| self.cfg.resolved(id));
                    (addr == Some(dest.remote)).then_some(id)
                }
                _ => None,
            })
        })
    }

    /// Answers the 401/407 `resp` to client transaction `h` if it may be; true when the
    /// request went out again (the response is then not passed up).
    pub(super) fn answer_challenge(
        &mut self,
        now: Instant,
        h: Handle,
        purpose: &Purpose,
        resp: &Response,
    ) -> bool {
        let status = resp.status();
        let Some(tx) = self.txs.client(h) else {
            return false;
        };
        let Some(req) = tx.request().cloned() else {
            return false;
        };
        let dest = tx.dest;
        if let Purpose::Invite(lr) = purpose {
            // A fork cancelled (or a call ended) meanwhile is not called again.
            let live = self
                .calls
                .get(lr.call)
                .and_then(|c| c.legs.get(lr.leg))
                .is_some_and(|l| l.dialog.is_pending() && l.invite_tx == Some(h));
            if !live {
                return false;
            }
        }
        let method = req.method().as_str().to_string();
        let (challenge_header, credentials_header) = if status == 407 {
            (
                HeaderName::ProxyAuthenticate,
                HeaderName::ProxyAuthorization,
            )
        } else {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        };
        let ch = match digest::pick(resp.headers().get_all(&challenge_header)) {
            Ok(ch) => ch,
            Err(e) => {
                log::warn!("{method} to {dest}: cannot answer the {status} ({e}); failing it");
                return false;
            }
        };
        let ours = req
            .headers()
            .get(&credentials_header)
            .and_then(digest::nonce_of);
        if ours.as_deref() == Some(ch.nonce.as_str()) || (ours.is_some() && !ch.stale) {
            log::warn!(
                "Failed to authenticate on {method} to {dest}: our credentials for realm '{}' \
                 were refused ({status} again)",
                ch.realm
            );
            return false;
        }
        let peer_id = self.challenged_peer(purpose, req.call_id(), dest);
        let peer = peer_id.and_then(|p| self.cfg.peer(p));
        let Some(id) = credentials::for_realm(&ch.realm, peer, None, &self.cfg.realm_auth) else {
            log::warn!(
                "{method} to {dest}: {status} for realm '{}' and no credentials for it \
                 (secret/remotesecret of the peer, or [authentication] auth=)",
                ch.realm
            );
            return false;
        };
        let cnonce = format!("{:016x}", self.rng.random::<u64>());
        let uri = req.uri().to_string();
        let answering = Answering {
            method: &method,
            uri: &uri,
            cnonce: &cnonce,
            nc: 1,
        };
        let Some(value) = digest::authorization(&ch, id.user, id.secret, answering) else {
            log::warn!(
                "{method} to {dest}: md5secret cannot answer a {} challenge",
                ch.algorithm.token()
            );
            return false;
        };
        let cseq = req.cseq().seq.wrapping_add(1);
        let branch = crate::transaction::new_branch(&mut self.rng);
        let again = build::with_credentials(&req, &branch, cseq, credentials_header, value);
        log::debug!(
            "{method} to {dest}: answering the {status} for realm '{}'",
            ch.realm
        );
        let Some(new_h) = self.txs.open_client(
            now,
            &mut self.sched,
            &mut self.out,
            again,
            dest,
            purpose.clone(),
        ) else {
            return false;
        };
        let call_leg = match purpose {
            Purpose::Invite(lr) | Purpose::Refresh(lr) => Some((lr.call, lr.leg)),
            Purpose::Relay(r) => Some((r.call, r.to_leg)),
            Purpose::Fire => self.calls.find(req.call_id()).map(|lr| (lr.call, lr.leg)),
            Purpose::Qualify { .. } | Purpose::Register { .. } => None,
        };
        if let Some((call, leg)) = call_leg {
            let invite = matches!(purpose, Purpose::Invite(_));
            if let Some(c) = self.calls.get_mut(call) {
                c.request_reauthenticated(leg, cseq, invite.then_some(new_h));
            }
        }
        true
    }
}
