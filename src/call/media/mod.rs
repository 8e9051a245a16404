//! A call's media: an RTP/RTCP port pair per leg, the relay between the bridged legs, SDP
//! rewriting at every offer/answer crossing sipbox, and sipbox itself as the media endpoint
//! (Answer, Echo, Playback, digit collection).
//!
//! Reading list: `src/media/mod.rs` (the pure building blocks and their RFCs); RFC 3264 (offer/
//! answer, hold); RFC 3550 (RTP/RTCP); RFC 4733 (DTMF events); Asterisk's `chan_sip.c`
//! `process_sdp`/`add_sdp` and `res_rtp_asterisk.c` for the behaviour copied.
//!
//! - [`relay`]: the per-packet path (no allocation, no copy: `Verdict::Forward`).
//! - [`endpoint`]: Echo, Playback, WaitDigit, the rtptimeout watchdog.
//! - [`mixmonitor`]: MixMonitor's taps on both directions and its 20 ms clock.
//!
//! Media code reports what happened to the call (a digit, the end of a Playback, an RTP
//! timeout) by calling the call's own methods; it never reaches past its call.

pub mod dtmf;
pub mod endpoint;
mod hold;
mod join;
mod keepalive;
pub mod mixmonitor;
pub mod moh;
pub mod prompt;
pub mod record;
pub mod relay;
mod transfer;

pub(in crate::call) use transfer::bridgeable;

use super::state::Call;
use super::Cx;
use crate::config::rtp_conf::RtpConf;
use crate::config::sip_values::Nat;
use crate::handle::LegId;
use crate::media::g711::Law;
use crate::media::learning::{Learner, LearningConfig};
use crate::media::negotiate::{self, law_of, AllowList, Written};
use crate::media::ports::{Pair, Ports};
use crate::media::sdp::{emit, CodecName, KeptView, LocalSession, Sdp, View};
use crate::sip::{Request, Response, StatusCode};
use endpoint::Endpoint;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// The content type of every body sipbox writes.
pub(super) const SDP: &str = "application/sdp";
/// The same, for the call layer's own answers.
pub(in crate::call) const SDP_TYPE: &str = SDP;

/// Media counters, for the log and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaStats {
    /// RTP and RTCP packets forwarded (relay and echo).
    pub forwarded: u64,
    /// Packets dropped: STUN, garbage, unknown source (strictrtp), no destination.
    pub dropped: u64,
    /// Packets sipbox sent as the source (Playback).
    pub played: u64,
    /// Relayed packets whose G.711 payload was rewritten to the other law (a subset of
    /// `forwarded`).
    pub transcoded: u64,
}

/// Engine-wide media state: the RTP port range and the socket → leg map.
pub struct MediaState {
    /// The port pairs.
    pub ports: Ports,
    /// rtp.conf `strictrtp`.
    pub strict: bool,
    /// Counters.
    pub stats: MediaStats,
}

impl MediaState {
    /// Media state for this RTP config, binding on the SIP address's IP; the port walk starts
    /// at `walk_seed` (random, as Asterisk's, so a restart does not reuse the last ports).
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
pub struct LegMedia {
    /// Its port pair (None after a failed bind).
    pub pair: Option<Pair>,
    /// Where its RTP goes (the SDP's, or learned).
    pub learner: Learner,
    /// Where this leg's RTCP goes (its SDP's, or learned).
    pub rtcp_remote: Option<SocketAddr>,
    /// The G.711 law this leg's phone receives (None: not G.711 or not known yet).
    pub law: Option<Law>,
    /// The codec this leg's session settled on, when known.
    pub codec: Option<CodecName>,
    /// The telephone-event payload type of this leg.
    pub te_pt: Option<u8>,
    /// Our o= session towards this leg.
    pub session: LocalSession,
    /// This leg's last description put the stream on hold (sendonly/inactive/c=0.0.0.0).
    pub hold: bool,
    /// When RTP last arrived from this leg.
    pub last_rx: Option<Instant>,
    /// When sipbox last sent this leg RTP (relayed, played or a keep-alive).
    pub last_tx: Option<Instant>,
    /// The `rtpkeepalive` comfort-noise stream toward this leg.
    pub keepalive: keepalive::KeepaliveStream,
    /// The leg's `dtmfmode` as its entry (or `[general]`) had it when the leg began.
    pub dtmf_mode: crate::config::sip_values::DtmfMode,
    /// Digits sent to it, its inband detector, its last event.
    pub dtmf: dtmf::LegDtmf,
}

/// Call-wide media state.
#[derive(Default)]
pub struct CallMedia {
    /// The caller's offer has been read (and what it says learned for the caller's leg);
    /// it is read again from the stored INVITE whenever needed, nothing of it is copied.
    caller_offer_read: bool,
    /// What the scan of the caller's offer found, so later reads of the stored INVITE's body
    /// do not scan it again (None: not read yet, or too large to keep).
    caller_offer: Option<KeptView>,
    /// sipbox's own answer to the caller (Answer/Progress), sent unchanged if asked again.
    own_answer: Option<Vec<u8>>,
    /// What sipbox does as the caller's endpoint.
    endpoint: Endpoint,
    /// Late offer: the caller's answer (in its ACK) has been read.
    late_answer_seen: bool,
    /// Music on hold playing to one leg.
    moh: Option<moh::MohPlayer>,
    /// MixMonitor recordings.
    monitors: mixmonitor::Monitors,
    /// The 20 ms pacing of the legs' RTP digit streams while any plays.
    dtmf_pacer: Option<crate::media::player::Pacer>,
    /// SendDTMF() waits for this leg's digits to be sent.
    senddtmf: Option<LegId>,
    /// A features prompt playing to one leg.
    prompt: Option<prompt::LegPrompt>,
}

impl CallMedia {
    /// True while Record() is recording the caller.
    pub fn is_recording(&self) -> bool {
        matches!(self.endpoint, endpoint::Endpoint::Recording(_))
    }

    /// True while a Playback plays to the caller (a conference prompt: the mix waits).
    pub fn is_playing(&self) -> bool {
        matches!(&self.endpoint, endpoint::Endpoint::Playback(p) if p.to_caller())
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
    lm.codec = sdp.chosen_codec().map(|c| c.name);
    lm.law = lm.codec.as_ref().and_then(law_of);
    lm.te_pt = sdp.telephone_event_pt();
}

/// [`learn_from`] for a body seen in place (through the model if its format list is too long
/// for the lean path's fixed-size codec list).
fn learn_from_view(lm: &mut LegMedia, now: Instant, v: &View<'_>) {
    if !v.fits() {
        if let Ok(sdp) = Sdp::parse(v.text().as_bytes()) {
            learn_from(lm, now, &sdp);
        }
        return;
    }
    let (rtp, rtcp, hold) = v.media_facts();
    lm.learner.set_expected(now, rtp);
    lm.rtcp_remote = rtcp;
    lm.hold = hold;
    set_codec_view(lm, v);
}

/// [`set_codec`] for a body seen in place ([`View::fits`]).
fn set_codec_view(lm: &mut LegMedia, v: &View<'_>) {
    let codecs = v.codecs();
    lm.codec = codecs.chosen().map(|c| c.name());
    lm.law = lm.codec.as_ref().and_then(law_of);
    lm.te_pt = codecs.telephone_event_pt();
}

/// Takes what a body written on the lean path settled.
fn set_written(lm: &mut LegMedia, w: Written) -> Vec<u8> {
    lm.law = w.codec.as_ref().and_then(law_of);
    lm.codec = w.codec;
    lm.te_pt = w.te_pt;
    w.body
}

/// The `allow` list of a leg's entry (or `[general]`'s for guests), as the leg and the call
/// began with them: a reload does not change codecs under a running call.
fn allow_of(call: &Call, leg: LegId) -> Vec<CodecName> {
    let codecs = match call.entry_of(leg) {
        Some(e) => &e.codecs,
        None => &call.general.codecs,
    };
    negotiate::allow_names(codecs)
}

/// [`allow_of`] without allocating, for the call path.
fn allow_list_of(call: &Call, leg: LegId) -> AllowList {
    let codecs = match call.entry_of(leg) {
        Some(e) => &e.codecs,
        None => &call.general.codecs,
    };
    AllowList::of(codecs)
}

impl Call {
    /// The address our SDP names toward `leg`: what [`crate::nat::Advertise`] answers for
    /// the leg's signalling destination (externaddr outside the localnets).
    fn media_ip_toward(&self, cx: &Cx<'_>, leg: LegId) -> std::net::IpAddr {
        let dest = self.legs.get(leg).map(|l| l.dialog.flow.remote);
        match dest {
            Some(d) => cx.advertise.media(d),
            None => cx.media.ports.ip(),
        }
    }

    /// True when any leg put the call on hold.
    fn on_hold(&self) -> bool {
        self.legs
            .iter()
            .filter_map(|l| l.media.as_ref())
            .any(|l| l.hold)
    }

    /// Creates the media of `leg` with its pair, if it has none yet. None when the port
    /// range is exhausted.
    fn ensure_leg(&mut self, cx: &mut Cx<'_>, leg: LegId) -> Option<Pair> {
        let l = self.legs.get_mut(leg)?;
        if let Some(p) = l.media.as_ref().and_then(|m| m.pair) {
            return Some(p);
        }
        let nat: Nat = match l.entry.as_deref() {
            Some(e) => e.nat,
            None => self.general.nat,
        }
        .applied(l.nated);
        let dtmf_mode = match l.entry.as_deref() {
            Some(e) => e.dtmfmode,
            None => self.general.dtmfmode,
        };
        let config = LearningConfig {
            comedia: nat.comedia,
            strict: cx.media.strict,
            ..LearningConfig::default()
        };
        let pick = rand::Rng::random::<u32>(cx.rng);
        let pair = cx
            .media
            .ports
            .allocate(cx.now, pick, self.handle, leg, cx.out)?;
        let session = LocalSession::new(rand::Rng::random::<u32>(cx.rng).into(), 1);
        l.media = Some(LegMedia {
            pair: Some(pair),
            learner: Learner::new(config),
            rtcp_remote: None,
            law: None,
            codec: None,
            te_pt: None,
            session,
            hold: false,
            last_rx: None,
            last_tx: None,
            keepalive: keepalive::KeepaliveStream {
                ssrc: rand::Rng::random(cx.rng),
                ..Default::default()
            },
            dtmf_mode,
            dtmf: dtmf::LegDtmf::default(),
        });
        Some(pair)
    }

    /// The caller's offer as a model (for the paths that need one). `Err(488)` when it is
    /// not SDP sipbox can read.
    fn caller_offer(&mut self, now: Instant) -> Result<Option<Sdp>, StatusCode> {
        let invite = Rc::clone(&self.invite);
        if self.caller_view(now, invite.body())?.is_none() {
            return Ok(None);
        }
        Sdp::parse(invite.body())
            .map(Some)
            .map_err(|_| StatusCode::NOT_ACCEPTABLE_HERE)
    }

    /// The caller's offer seen in `body` (the stored INVITE's), learned for the caller's leg
    /// the first time. `Ok(None)`: no offer; `Err(488)`: not SDP sipbox can read.
    fn caller_view<'b>(
        &mut self,
        now: Instant,
        body: &'b [u8],
    ) -> Result<Option<View<'b>>, StatusCode> {
        if body.is_empty() {
            return Ok(None);
        }
        if let Some(v) = self.media.caller_offer.as_ref().and_then(|k| k.view(body)) {
            return Ok(Some(v));
        }
        let view = View::scan(body).map_err(|e| {
            log::info!("call {}: caller SDP unreadable: {e}", self.label());
            StatusCode::NOT_ACCEPTABLE_HERE
        })?;
        if !self.media.caller_offer_read {
            let caller = self.caller;
            if let Some(lm) = self.leg_media_mut(caller) {
                learn_from_view(lm, now, &view);
            }
            self.media.caller_offer_read = true;
            self.media.caller_offer = KeptView::keep(&view);
        }
        Ok(Some(view))
    }

    /// The body of the INVITE to outbound leg `leg`: the caller's offer as that callee should
    /// see it. `Err(488)`: no common codec; `Err(503)`: no RTP port left.
    pub(super) fn media_offer_for_fork(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
    ) -> Result<crate::call::reply::Body, StatusCode> {
        let caller_allow = allow_list_of(self, self.caller);
        let callee_allow = allow_list_of(self, leg);
        if self.ensure_leg(cx, self.caller).is_none() {
            log::warn!("call {}: no RTP port pair left (503)", self.label());
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        let invite = Rc::clone(&self.invite);
        let no_common = |c: &Call| {
            log::info!(
                "call {}: no codec in common with leg {leg} (488)",
                c.label()
            );
            StatusCode::NOT_ACCEPTABLE_HERE
        };
        // What the callee is offered: the lean rewrite of the view (held by reference:
        // moving a view copies its codec list), or the model's offer.
        enum Offer<'v, 'b> {
            Late,
            Lean(&'v View<'b>, emit::Filter, Option<u8>),
            Model(Sdp),
        }
        let view = self.caller_view(cx.now, invite.body())?;
        let offer = match &view {
            None => Offer::Late,
            Some(v) if v.lean() => {
                let (f, te) = negotiate::callee_filter(v, &caller_allow, &callee_allow)
                    .map_err(|_| no_common(self))?;
                Offer::Lean(v, f, te)
            }
            Some(_) => {
                let o = self
                    .caller_offer(cx.now)?
                    .ok_or(StatusCode::NOT_ACCEPTABLE_HERE)?;
                let f = negotiate::offer_for_callee(&o, &caller_allow, &callee_allow)
                    .map_err(|_| no_common(self))?;
                Offer::Model(f)
            }
        };
        let Some(pair) = self.ensure_leg(cx, leg) else {
            log::warn!("call {}: no RTP port pair left (503)", self.label());
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        };
        let ip = self.media_ip_toward(cx, leg);
        let Some(lm) = self.leg_media_mut(leg) else {
            return Ok(None);
        };
        let model = |sdp: Sdp| (sdp.telephone_event_pt(), sdp.to_bytes());
        let (te, bytes) = match offer {
            Offer::Lean(v, f, te) => (
                te,
                emit::rewrite(v, Some(&f), &mut lm.session, ip, pair.port),
            ),
            Offer::Model(f) => model(f.rewrite(&mut lm.session, ip, pair.port)),
            // Late offer: sipbox offers the callee's codecs itself.
            Offer::Late => model(negotiate::our_offer(
                &callee_allow,
                &mut lm.session,
                ip,
                pair.port,
            )),
        };
        lm.te_pt = te;
        Ok(Some((SDP.into(), bytes)))
    }

    /// A callee's 2xx answered sipbox's offer on `leg` while sipbox is that leg's endpoint
    /// (a Page): its address, codec and DTMF become the leg's.
    pub(in crate::call) fn media_learn_answer(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        resp: &Response,
    ) {
        let Ok(answer) = Sdp::parse(resp.body()) else {
            log::info!(
                "call {}: paged leg {leg} answered without SDP",
                self.label()
            );
            return;
        };
        if let Some(lm) = self.leg_media_mut(leg) {
            learn_from(lm, cx.now, &answer);
        }
    }

    /// The body of a callee's 18x/2xx as the caller should see it.
    pub(super) fn media_answer_from_fork(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        resp: &Response,
    ) -> crate::call::reply::Body {
        if resp.body().is_empty() {
            return None;
        }
        let answer = match View::scan(resp.body()) {
            Ok(a) => a,
            Err(e) => {
                log::info!("call {}: callee SDP unreadable: {e}", self.label());
                return None;
            }
        };
        let caller = self.caller;
        let caller_pair = self.ensure_leg(cx, caller)?;
        let invite = Rc::clone(&self.invite);
        let offer = self.caller_view(cx.now, invite.body()).ok().flatten();
        let caller_allow = allow_list_of(self, caller);
        let ip = self.media_ip_toward(cx, caller);
        let callee = self.leg_media_mut(leg)?;
        learn_from_view(callee, cx.now, &answer);
        // A callee that takes digits by INFO or inband: sipbox reads the caller's events.
        let translate_te = callee.dtmf_now() != crate::config::sip_values::DtmfMode::Rfc2833;
        if let Some(d) = self.dial_mut() {
            d.early = Some(leg);
        }
        let lm = self.leg_media_mut(caller)?;
        let port = caller_pair.port;
        let bytes = match &offer {
            Some(o) if o.fits() && answer.fits() => {
                let w = negotiate::answer_for_caller_lean(
                    o,
                    &answer,
                    &mut lm.session,
                    ip,
                    port,
                    translate_te,
                )?;
                set_written(lm, w)
            }
            Some(_) => {
                let o = Sdp::parse(invite.body()).ok()?;
                let a = Sdp::parse(resp.body()).ok()?;
                let sdp =
                    negotiate::answer_for_caller(&o, &a, &mut lm.session, ip, port, translate_te)?;
                set_codec(lm, &sdp);
                sdp.to_bytes()
            }
            None => {
                // Late offer: our offer to the caller, the callee's codec first.
                let mut allow = caller_allow.to_vec();
                let chosen = match answer.fits() {
                    true => answer.codecs().chosen().map(|c| c.name()),
                    false => Sdp::parse(resp.body())
                        .ok()
                        .and_then(|a| a.chosen_codec())
                        .map(|c| c.name),
                };
                if let Some(c) = chosen {
                    allow.retain(|n| *n != c);
                    allow.insert(0, c);
                }
                let sdp = negotiate::our_offer(&allow, &mut lm.session, ip, port);
                set_codec(lm, &sdp);
                sdp.to_bytes()
            }
        };
        if (200..300).contains(&resp.status()) {
            self.arm_watchdog(cx);
        }
        Some((SDP.into(), bytes))
    }

    /// A body relayed in-dialog (re-INVITE, UPDATE, INFO and their answers) from leg `from`
    /// to leg `to`: SDP is rewritten for `to` (hold and resume keep their direction), other
    /// bodies (INFO dtmf-relay) pass unchanged.
    pub(super) fn media_relay_body(
        &mut self,
        cx: &mut Cx<'_>,
        from: LegId,
        to: LegId,
        content_type: Option<&str>,
        body: &[u8],
    ) -> crate::call::reply::Body {
        if body.is_empty() {
            return None;
        }
        let is_sdp = content_type.is_none_or(|c| c.eq_ignore_ascii_case(SDP));
        if !is_sdp {
            return Some((
                content_type.unwrap_or(SDP).to_string().into(),
                body.to_vec(),
            ));
        }
        let sdp = match View::scan(body) {
            Ok(s) => s,
            Err(e) => {
                log::info!("call {}: in-dialog SDP unreadable: {e}", self.label());
                return None;
            }
        };
        let pair = self.ensure_leg(cx, to)?;
        self.ensure_leg(cx, from)?;
        let ip = self.media_ip_toward(cx, to);
        learn_from_view(self.leg_media_mut(from)?, cx.now, &sdp);
        let to_leg = self.leg_media_mut(to)?;
        // Codecs pass through unchanged, so both legs end up on what this description says.
        let out = if sdp.lean() {
            set_codec_view(to_leg, &sdp);
            emit::rewrite(&sdp, None, &mut to_leg.session, ip, pair.port)
        } else {
            let model = Sdp::parse(body).ok()?;
            set_codec(to_leg, &model);
            model.rewrite(&mut to_leg.session, ip, pair.port).to_bytes()
        };
        log::debug!(
            "call {}: SDP from leg {from} to leg {to}: {}",
            self.label(),
            sdp.direction().as_str()
        );
        Some((SDP.into(), out))
    }

    /// The SDP sipbox answers with when it answers a call itself (Answer, Progress): the
    /// caller's first allowed codec, or sipbox's own offer for an offer-less INVITE. `Err`:
    /// the status to refuse the call with (488 no common codec, 503 no RTP port pair).
    pub(super) fn media_answer(
        &mut self,
        cx: &mut Cx<'_>,
    ) -> Result<crate::call::reply::Body, StatusCode> {
        if let Some(a) = self.media.own_answer.clone() {
            return Ok(Some((SDP.into(), a)));
        }
        let caller = self.caller;
        let Some(pair) = self.ensure_leg(cx, caller) else {
            log::warn!(
                "call {}: no RTP port pair left; refusing with 503",
                self.label()
            );
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        };
        let invite = Rc::clone(&self.invite);
        let offer = self.caller_view(cx.now, invite.body()).ok().flatten();
        let allow = allow_of(self, caller);
        let ip = self.media_ip_toward(cx, caller);
        let no_common = |c: &Call| {
            log::info!("call {}: no common codec to answer with: 488", c.label());
            StatusCode::NOT_ACCEPTABLE_HERE
        };
        let model = match &offer {
            Some(o) if o.fits() => None,
            Some(_) => Sdp::parse(invite.body()).ok(),
            None => None,
        };
        let Some(lm) = self.leg_media_mut(caller) else {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        };
        let (session, port) = (&mut lm.session, pair.port);
        let bytes = match (&offer, model) {
            (Some(o), None) => match negotiate::answer_lean(o, &allow, session, ip, port) {
                Ok(w) => set_written(lm, w),
                Err(_) => return Err(no_common(self)),
            },
            (_, Some(o)) => match crate::media::sdp::answer(&o, &allow, session, ip, port) {
                Ok(s) => {
                    set_codec(lm, &s);
                    s.to_bytes()
                }
                Err(_) => return Err(no_common(self)),
            },
            (None, None) => {
                let s = negotiate::our_offer(&allow, session, ip, port);
                set_codec(lm, &s);
                s.to_bytes()
            }
        };
        self.media.own_answer = Some(bytes.clone());
        self.arm_watchdog(cx);
        Ok(Some((SDP.into(), bytes)))
    }

    /// The ACK of the caller's 2xx. After a late offer (an INVITE without SDP, RFC 3261
    /// §13.2.1) sipbox's 2xx carried the offer and this ACK carries the caller's answer: its
    /// address, codec and telephone-event PT become the caller leg's, and a Playback in
    /// progress switches to the law the caller chose. Other ACKs (and retransmissions) change
    /// nothing.
    pub fn media_caller_ack(&mut self, cx: &mut Cx<'_>, leg: LegId, req: &Request) {
        let caller = self.caller;
        if leg != caller || req.body().is_empty() {
            return;
        }
        if self.media.caller_offer_read
            || self.media.late_answer_seen
            || self.leg_media(caller).is_none()
        {
            return;
        }
        self.media.late_answer_seen = true;
        let sdp = match Sdp::parse(req.body()) {
            Ok(s) => s,
            Err(e) => {
                log::info!(
                    "call {}: SDP answer in the ACK unreadable: {e}",
                    self.label()
                );
                return;
            }
        };
        let Some(lm) = self.leg_media_mut(caller) else {
            return;
        };
        learn_from(lm, cx.now, &sdp);
        let law = lm.law;
        log::debug!(
            "call {}: late offer answered in the ACK ({:?})",
            self.label(),
            sdp.chosen_codec().map(|c| c.name)
        );
        if let Some(law) = law {
            self.playback_law_changed(cx, law);
        }
    }

    /// The call ended: close its sockets, stop the endpoint.
    pub(super) fn media_ended(&mut self, cx: &mut Cx<'_>) {
        self.end_mixmonitors(cx, None, "hangup");
        for lm in self.legs.iter_mut().filter_map(|l| l.media.as_mut()) {
            if let Some(p) = lm.pair.take() {
                cx.media.ports.release(cx.now, p, cx.out);
            }
        }
        self.media.endpoint = Endpoint::Idle;
        self.media.moh = None;
        self.media.dtmf_pacer = None;
        self.media.senddtmf = None;
        self.media.prompt = None;
    }

    /// The driver could not bind the RTP port of `leg`: that leg has no media.
    pub fn media_bind_failed(&mut self, leg: LegId) {
        log::warn!(
            "call {}: RTP port of leg {leg} could not be bound; that leg has no media",
            self.label()
        );
        if let Some(lm) = self.leg_media_mut(leg) {
            lm.pair = None;
        }
    }
}
