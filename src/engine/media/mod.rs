//! The engine's media side: an RTP/RTCP port pair per leg, the relay between the legs of a
//! bridged call, SDP rewriting at every offer/answer crossing sipbox, and sipbox itself as the
//! media endpoint (Answer, Echo, Playback, digit collection).
//!
//! Reading list: `src/media/mod.rs` (the pure building blocks and their RFCs); RFC 3264 (offer/
//! answer, hold); RFC 3550 (RTP/RTCP); RFC 4733 (DTMF events); Asterisk's `chan_sip.c`
//! `process_sdp`/`add_sdp` and `res_rtp_asterisk.c` for the behaviour copied.
//!
//! - [`ports`]: which ports are held, socket ids, the bound reserve.
//! - [`negotiate`]: the offer/answer decisions (codec intersection, transcoding, 488).
//! - [`relay`]: the per-packet path (no allocation, no copy: `Verdict::Forward`).
//! - [`endpoint`]: Echo, Playback, WaitDigit, the rtptimeout watchdog.

mod endpoint;
mod negotiate;
mod ports;
mod relay;

use super::call_state::Call;
use super::{Engine, SockId};
use crate::call::{CallRef, LegId, LegRef};
use crate::config::rtp_conf::RtpConf;
use crate::config::sip_values::Nat;
use crate::media::g711::Law;
use crate::media::learning::{Learner, LearningConfig};
use crate::media::sdp::{CodecName, LocalSession, Sdp};
use crate::sched::TimerId;
use crate::sip::{Request, Response};
use negotiate::law_of;
pub(super) use ports::Pair;
use ports::Ports;
use std::net::SocketAddr;
use std::time::Instant;

/// The content type of every body sipbox writes.
const SDP: &str = "application/sdp";

/// Media counters, for the log and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaStats {
    /// RTP and RTCP packets forwarded (relay and echo).
    pub forwarded: u64,
    /// Packets dropped: STUN, garbage, unknown source (strictrtp), no destination.
    pub dropped: u64,
    /// Packets sipbox sent as the source (Playback).
    pub played: u64,
}

/// Engine-wide media state: the RTP port range and the socket → leg map.
pub struct MediaState {
    ports: Ports,
    strict: bool,
    stats: MediaStats,
}

impl MediaState {
    /// Media state for this RTP config, binding on the SIP address's IP.
    pub fn new(rtp: &RtpConf, local: SocketAddr, walk_seed: u32) -> MediaState {
        if local.ip().is_unspecified() {
            log::warn!("bindaddr is unspecified: SDP will name {}", local.ip());
        }
        let mut ports = Ports::new(local.ip(), rtp.rtp_start, rtp.rtp_end);
        ports.start_walk_at(walk_seed as usize);
        MediaState {
            ports,
            strict: rtp.strict_rtp,
            stats: MediaStats::default(),
        }
    }
}

/// The media of one leg: its sockets, its remote, its codec.
pub(super) struct LegMedia {
    pub pair: Option<Pair>,
    pub learner: Learner,
    /// Where this leg's RTCP goes (its SDP's, or learned).
    pub rtcp_remote: Option<SocketAddr>,
    /// The G.711 law this leg's phone receives (None: not G.711 or not known yet).
    pub law: Option<Law>,
    /// The telephone-event payload type of this leg.
    pub te_pt: Option<u8>,
    /// Our o= session towards this leg.
    pub session: LocalSession,
    /// This leg's last description put the stream on hold (sendonly/inactive/c=0.0.0.0).
    pub hold: bool,
    /// When RTP last arrived from this leg.
    pub last_rx: Option<Instant>,
}

/// What sipbox does as the caller's media endpoint.
pub(super) enum Endpoint {
    /// Nothing: incoming media is dropped.
    Idle,
    /// Echo(): every packet goes back, re-stamped.
    Echo(crate::media::player::RtpSender),
    /// Playback(): frames paced on the scheduler.
    Playback(Box<endpoint::Playing>),
    /// WaitDigit: the next RFC 4733 digit resumes the dialplan.
    WaitDigit,
}

/// Per-call media.
pub struct CallMedia {
    legs: Vec<Option<LegMedia>>,
    /// The caller's offer, parsed once.
    caller_offer: Option<Sdp>,
    /// The fork whose early media (18x with SDP) the caller hears.
    early: Option<LegId>,
    /// sipbox's own answer to the caller (Answer/Progress), sent unchanged if asked again.
    own_answer: Option<Vec<u8>>,
    endpoint: Endpoint,
    /// The RTP timestamp of the last DTMF event acted on (RFC 4733 end packets repeat).
    last_event_ts: Option<u32>,
    /// Late offer: the caller's answer (in its ACK) has been read.
    late_answer_seen: bool,
    pace_timer: Option<TimerId>,
    watchdog: Option<TimerId>,
    digit_timer: Option<TimerId>,
}

impl Default for CallMedia {
    fn default() -> Self {
        CallMedia {
            legs: Vec::new(),
            caller_offer: None,
            early: None,
            own_answer: None,
            endpoint: Endpoint::Idle,
            last_event_ts: None,
            late_answer_seen: false,
            pace_timer: None,
            watchdog: None,
            digit_timer: None,
        }
    }
}

impl CallMedia {
    fn leg(&self, leg: LegId) -> Option<&LegMedia> {
        self.legs.get(leg).and_then(Option::as_ref)
    }

    fn leg_mut(&mut self, leg: LegId) -> Option<&mut LegMedia> {
        self.legs.get_mut(leg).and_then(Option::as_mut)
    }

    /// True when any leg put the call on hold.
    fn on_hold(&self) -> bool {
        self.legs.iter().flatten().any(|l| l.hold)
    }
}

/// Records what a description says about the leg that sent it (address, codec, DTMF, hold).
fn learn_from(lm: &mut LegMedia, now: Instant, sdp: &Sdp) {
    lm.learner.set_expected(now, sdp.remote_rtp());
    lm.rtcp_remote = sdp.remote_rtcp();
    lm.hold = sdp.is_hold();
    set_codec(lm, sdp);
}

/// Takes the codec and telephone-event PT of `sdp` for this leg.
fn set_codec(lm: &mut LegMedia, sdp: &Sdp) {
    lm.law = sdp.chosen_codec().and_then(|c| law_of(&c.name));
    lm.te_pt = sdp.telephone_event_pt();
}

impl Engine {
    /// Media counters.
    pub fn media_stats(&self) -> MediaStats {
        self.media.stats
    }

    /// Binds the idle reserve of RTP port pairs (once, at start).
    pub(super) fn media_prime(&mut self) {
        self.media.ports.prime(&mut self.out);
    }

    /// RTP port pairs held by calls (leak checks; the idle reserve is not counted).
    pub fn media_pairs_in_use(&self) -> usize {
        self.media.ports.in_use()
    }

    /// The `allow` list of an entry (or `[general]`'s for guests).
    fn allow_of(&self, entry: Option<usize>) -> Vec<CodecName> {
        let codecs = match entry {
            Some(e) => &self.cfg.peers[e].codecs,
            None => &self.cfg.general.codecs,
        };
        negotiate::allow_names(codecs)
    }

    /// The sip.conf entry of a leg (the caller's entry for leg 0).
    fn entry_of(call: &Call, leg: LegId) -> Option<usize> {
        if leg == 0 {
            call.legs[0].entry
        } else {
            call.legs.get(leg).and_then(|l| l.entry)
        }
    }

    /// Creates the media of leg `leg` with its pair, if it has none yet. None when the port
    /// range is exhausted.
    fn ensure_leg(&mut self, cref: CallRef, leg: LegId) -> Option<Pair> {
        let call = self.calls.get(cref)?;
        if let Some(p) = call.media.leg(leg).and_then(|l| l.pair) {
            return Some(p);
        }
        let nat: Nat = match Self::entry_of(call, leg) {
            Some(e) => self.cfg.peers[e].nat,
            None => self.cfg.general.nat,
        };
        let config = LearningConfig {
            comedia: nat.comedia,
            strict: self.media.strict,
            ..LearningConfig::default()
        };
        let pair = self.media.ports.allocate(cref, leg, &mut self.out)?;
        let session = LocalSession::new(rand::Rng::random::<u32>(&mut self.rng).into(), 1);
        let call = self.calls.get_mut(cref)?;
        if call.media.legs.len() <= leg {
            call.media.legs.resize_with(leg + 1, || None);
        }
        call.media.legs[leg] = Some(LegMedia {
            pair: Some(pair),
            learner: Learner::new(config),
            rtcp_remote: None,
            law: None,
            te_pt: None,
            session,
            hold: false,
            last_rx: None,
        });
        Some(pair)
    }

    /// The caller's offer (parsed once). `Err(488)` when it is not SDP sipbox can read.
    fn caller_offer(&mut self, now: Instant, cref: CallRef) -> Result<Option<Sdp>, u16> {
        let Some(call) = self.calls.get_mut(cref) else {
            return Ok(None);
        };
        if let Some(o) = &call.media.caller_offer {
            return Ok(Some(o.clone()));
        }
        let body = call.invite.body();
        if body.is_empty() {
            return Ok(None);
        }
        let offer = Sdp::parse(body).map_err(|e| {
            log::info!("call {}: caller SDP unreadable: {e}", call.legs[0].call_id);
            488u16
        })?;
        if let Some(lm) = call.media.leg_mut(0) {
            learn_from(lm, now, &offer);
        }
        call.media.caller_offer = Some(offer.clone());
        Ok(Some(offer))
    }

    /// The body of the INVITE to outbound leg `leg`: the caller's offer as that callee should
    /// see it. `Err(488)`: no common codec; `Err(503)`: no RTP port left.
    pub(super) fn media_offer_for_fork(
        &mut self,
        now: Instant,
        cref: CallRef,
        leg: usize,
    ) -> Result<Option<(String, Vec<u8>)>, u16> {
        let Some(call) = self.calls.get(cref) else {
            return Ok(None);
        };
        let caller_allow = self.allow_of(call.legs[0].entry);
        let callee_allow = self.allow_of(Self::entry_of(call, leg));
        if self.ensure_leg(cref, 0).is_none() {
            log::warn!(
                "call {}: no RTP port pair left (503)",
                self.call_label(cref)
            );
            return Err(503);
        }
        let offer = self.caller_offer(now, cref)?;
        let filtered = match &offer {
            Some(o) => Some(
                negotiate::offer_for_callee(o, &caller_allow, &callee_allow).map_err(|_| {
                    log::info!(
                        "call {}: no codec in common with leg {leg} (488)",
                        cref_label(cref)
                    );
                    488u16
                })?,
            ),
            None => None,
        };
        let Some(pair) = self.ensure_leg(cref, leg) else {
            log::warn!(
                "call {}: no RTP port pair left (503)",
                self.call_label(cref)
            );
            return Err(503);
        };
        let ip = self.media.ports.ip();
        let Some(lm) = self.calls.get_mut(cref).and_then(|c| c.media.leg_mut(leg)) else {
            return Ok(None);
        };
        let sdp = match filtered {
            Some(f) => f.rewrite(&mut lm.session, ip, pair.port),
            // Late offer: sipbox offers the callee's codecs itself.
            None => negotiate::our_offer(&callee_allow, &mut lm.session, ip, pair.port),
        };
        lm.te_pt = sdp.telephone_event_pt();
        Ok(Some((SDP.to_string(), sdp.to_bytes())))
    }

    /// The body of a callee's 18x/2xx as the caller should see it.
    pub(super) fn media_answer_from_fork(
        &mut self,
        now: Instant,
        lr: LegRef,
        resp: &Response,
    ) -> Option<(String, Vec<u8>)> {
        if resp.body().is_empty() {
            return None;
        }
        let answer = match Sdp::parse(resp.body()) {
            Ok(a) => a,
            Err(e) => {
                log::info!(
                    "call {}: callee SDP unreadable: {e}",
                    self.call_label(lr.call)
                );
                return None;
            }
        };
        let caller_pair = self.ensure_leg(lr.call, 0)?;
        let offer = self.caller_offer(now, lr.call).ok().flatten();
        let caller_allow = self
            .calls
            .get(lr.call)
            .map(|c| self.allow_of(c.legs[0].entry))
            .unwrap_or_default();
        let ip = self.media.ports.ip();
        let call = self.calls.get_mut(lr.call)?;
        learn_from(call.media.leg_mut(lr.leg)?, now, &answer);
        call.media.early = Some(lr.leg);
        let caller = call.media.leg_mut(0)?;
        let sdp = match &offer {
            Some(o) => {
                negotiate::answer_for_caller(o, &answer, &mut caller.session, ip, caller_pair.port)?
            }
            None => {
                // Late offer: our offer to the caller, the callee's codec first.
                let mut allow = caller_allow;
                if let Some(c) = answer.chosen_codec() {
                    allow.retain(|n| *n != c.name);
                    allow.insert(0, c.name);
                }
                negotiate::our_offer(&allow, &mut caller.session, ip, caller_pair.port)
            }
        };
        set_codec(caller, &sdp);
        if (200..300).contains(&resp.status()) {
            self.arm_watchdog(now, lr.call);
        }
        Some((SDP.to_string(), sdp.to_bytes()))
    }

    /// A body relayed in-dialog (re-INVITE, UPDATE, INFO and their answers) from leg `from`
    /// to leg `to`: SDP is rewritten for `to` (hold and resume keep their direction), other
    /// bodies (INFO dtmf-relay) pass unchanged.
    pub(super) fn media_relay_body(
        &mut self,
        now: Instant,
        cref: CallRef,
        from: usize,
        to: usize,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Option<(String, Vec<u8>)> {
        if body.is_empty() {
            return None;
        }
        let is_sdp = content_type.is_none_or(|c| c.eq_ignore_ascii_case(SDP));
        if !is_sdp {
            return Some((content_type.unwrap_or(SDP).to_string(), body.to_vec()));
        }
        let sdp = match Sdp::parse(body) {
            Ok(s) => s,
            Err(e) => {
                log::info!(
                    "call {}: in-dialog SDP unreadable: {e}",
                    self.call_label(cref)
                );
                return None;
            }
        };
        let pair = self.ensure_leg(cref, to)?;
        self.ensure_leg(cref, from)?;
        let ip = self.media.ports.ip();
        let media = &mut self.calls.get_mut(cref)?.media;
        learn_from(media.leg_mut(from)?, now, &sdp);
        let to_leg = media.leg_mut(to)?;
        // Codecs pass through unchanged, so both legs end up on what this description says.
        set_codec(to_leg, &sdp);
        let out = sdp.rewrite(&mut to_leg.session, ip, pair.port);
        log::debug!(
            "call {}: SDP from leg {from} to leg {to}: {}",
            cref_label(cref),
            sdp.direction().as_str()
        );
        Some((SDP.to_string(), out.to_bytes()))
    }

    /// The SDP sipbox answers with when it answers a call itself (Answer, Progress): the
    /// caller's first allowed codec, or sipbox's own offer for an offer-less INVITE.
    pub(super) fn media_answer(
        &mut self,
        now: Instant,
        cref: CallRef,
    ) -> Option<(String, Vec<u8>)> {
        if let Some(a) = self.calls.get(cref)?.media.own_answer.clone() {
            return Some((SDP.to_string(), a));
        }
        let Some(pair) = self.ensure_leg(cref, 0) else {
            log::warn!(
                "call {}: no RTP port pair left; answering without media",
                self.call_label(cref)
            );
            return None;
        };
        let offer = self.caller_offer(now, cref).ok().flatten();
        let allow = self.allow_of(self.calls.get(cref)?.legs[0].entry);
        let ip = self.media.ports.ip();
        let call = self.calls.get_mut(cref)?;
        let lm = call.media.leg_mut(0)?;
        let sdp = match &offer {
            Some(o) => match crate::media::sdp::answer(o, &allow, &mut lm.session, ip, pair.port) {
                Ok(s) => s,
                Err(_) => {
                    log::info!("call {}: no common codec to answer with", cref_label(cref));
                    return None;
                }
            },
            None => negotiate::our_offer(&allow, &mut lm.session, ip, pair.port),
        };
        set_codec(lm, &sdp);
        let bytes = sdp.to_bytes();
        call.media.own_answer = Some(bytes.clone());
        self.arm_watchdog(now, cref);
        Some((SDP.to_string(), bytes))
    }

    /// The ACK of the caller's 2xx. After a late offer (an INVITE without SDP, RFC 3261
    /// §13.2.1) sipbox's 2xx carried the offer and this ACK carries the caller's answer: its
    /// address, codec and telephone-event PT become leg 0's, and a Playback in progress
    /// switches to the law the caller chose. Other ACKs (and retransmissions) change nothing.
    pub(super) fn media_caller_ack(&mut self, now: Instant, lr: LegRef, req: &Request) {
        if lr.leg != 0 || req.body().is_empty() {
            return;
        }
        let Some(call) = self.calls.get_mut(lr.call) else {
            return;
        };
        let m = &mut call.media;
        if m.caller_offer.is_some() || m.late_answer_seen || m.leg(0).is_none() {
            return;
        }
        m.late_answer_seen = true;
        let sdp = match Sdp::parse(req.body()) {
            Ok(s) => s,
            Err(e) => {
                log::info!(
                    "call {}: SDP answer in the ACK unreadable: {e}",
                    cref_label(lr.call)
                );
                return;
            }
        };
        let Some(lm) = m.leg_mut(0) else {
            return;
        };
        learn_from(lm, now, &sdp);
        let law = lm.law;
        log::debug!(
            "call {}: late offer answered in the ACK ({:?})",
            cref_label(lr.call),
            sdp.chosen_codec().map(|c| c.name)
        );
        let Some(law) = law else {
            return;
        };
        let reload = match &m.endpoint {
            Endpoint::Playback(p) if p.law() != law => p.files().to_vec(),
            _ => return,
        };
        let frames = self.load_sounds(&reload, law);
        if let Some(Endpoint::Playback(p)) =
            self.calls.get_mut(lr.call).map(|c| &mut c.media.endpoint)
        {
            p.set_law(law, frames);
        }
    }

    /// A call ended: close its sockets, cancel its timers.
    pub(super) fn media_call_ended(&mut self, call: &mut Call) {
        let m = &mut call.media;
        for t in [m.pace_timer.take(), m.watchdog.take(), m.digit_timer.take()]
            .into_iter()
            .flatten()
        {
            self.sched.cancel(t);
        }
        for lm in m.legs.iter_mut().flatten() {
            if let Some(p) = lm.pair.take() {
                self.media.ports.release(p, &mut self.out);
            }
        }
        m.endpoint = Endpoint::Idle;
    }

    /// The driver's answer to a [`super::SocketOp::Bind`].
    pub fn socket_bound(&mut self, id: SockId, ok: bool) {
        let Some((cref, leg)) = self.media.ports.bound(id, ok, &mut self.out) else {
            return;
        };
        log::warn!(
            "call {}: RTP port of leg {leg} could not be bound; that leg has no media",
            self.call_label(cref)
        );
        if let Some(lm) = self.calls.get_mut(cref).and_then(|c| c.media.leg_mut(leg)) {
            lm.pair = None;
        }
    }
}

/// A short label for a call handle in log lines where the engine is borrowed.
fn cref_label(cref: CallRef) -> String {
    format!("{cref:?}")
}
