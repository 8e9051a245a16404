//! The offer/answer decisions of a B2BUA call, as pure functions over [`Sdp`]: what the callee
//! is offered, what the caller is answered, and sipbox's own offer for a late-offer INVITE.
//!
//! Reading list: RFC 3264 §6 (an answer picks from the offer), §8 (re-offers); RFC 3551 §6
//! (static PTs 0 PCMU and 8 PCMA); RFC 4733 §7.1.1 (telephone-event in SDP); Asterisk's
//! `allow=`/`disallow=` (the offer follows the entry's order).
//!
//! sipbox transcodes between the two G.711 laws, so a caller offering only PCMU may be bridged
//! to a callee that only allows alaw: the callee's offer then carries PCMA as well. Nothing else
//! is transcoded; G.722 passes only when both ends have it.
//!
//! Each decision exists twice: over the model ([`Sdp`]) for the bodies the lean path does not
//! take, and over a [`View`] of the received bytes (the `*_lean` functions, and
//! [`callee_filter`]), which write the body straight from the view. They decide the same, and
//! the tests of `src/media/sdp/lean_tests.rs` compare their bytes.

use crate::config::codec::Codec;
use crate::media::g711::Law;
use crate::media::sdp::emit::{self, Filter};
use crate::media::sdp::scan::{CodecList, Kind, Pt, PtList};
use crate::media::sdp::{
    self, Attribute, CodecName, Direction, LocalSession, Media, NoCommonCodec, Rtpmap, Sdp, View,
};
use std::net::IpAddr;

/// The payload type sipbox offers telephone-event at when it makes the offer itself.
pub const OUR_TELEPHONE_EVENT_PT: u8 = 101;

/// A sip.conf `allow` list as SDP codec names, in its order.
pub fn allow_names(codecs: &[Codec]) -> Vec<CodecName> {
    allow_iter(codecs).collect()
}

/// A sip.conf `allow` list as SDP codec names, in its order, without allocating: the call
/// path asks for one per leg. It holds each of the three codecs sipbox knows at most once (a
/// codec listed twice changes no decision: its first place sets the order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    names: [CodecName; 3],
    len: usize,
}

impl AllowList {
    /// The list of an entry's `allow`.
    pub fn of(codecs: &[Codec]) -> AllowList {
        let mut list = AllowList {
            names: [CodecName::Pcmu, CodecName::Pcma, CodecName::G722],
            len: 0,
        };
        for name in allow_iter(codecs) {
            if !list.contains(&name) && list.len < list.names.len() {
                list.names[list.len] = name;
                list.len += 1;
            }
        }
        list
    }
}

impl std::ops::Deref for AllowList {
    type Target = [CodecName];

    fn deref(&self) -> &[CodecName] {
        &self.names[..self.len]
    }
}

fn allow_iter(codecs: &[Codec]) -> impl Iterator<Item = CodecName> + '_ {
    codecs.iter().map(|c| match c {
        Codec::Ulaw => CodecName::Pcmu,
        Codec::Alaw => CodecName::Pcma,
        Codec::G722 => CodecName::G722,
    })
}

/// The law a codec name carries, for transcoding.
pub fn law_of(name: &CodecName) -> Option<Law> {
    match name {
        CodecName::Pcmu => Some(Law::Ulaw),
        CodecName::Pcma => Some(Law::Alaw),
        _ => None,
    }
}

fn other_law(name: &CodecName) -> Option<CodecName> {
    match name {
        CodecName::Pcmu => Some(CodecName::Pcma),
        CodecName::Pcma => Some(CodecName::Pcmu),
        _ => None,
    }
}

/// The offer a callee gets: the caller's offer cut to the caller's own `allow` list, with the
/// other G.711 law added when the caller has one (sipbox transcodes), then cut and ordered by
/// the callee's `allow` list. `Err` → 488.
pub fn offer_for_callee(
    offer: &Sdp,
    caller_allow: &[CodecName],
    callee_allow: &[CodecName],
) -> Result<Sdp, NoCommonCodec> {
    let mut ok = sdp::filter_offer(offer, caller_allow)?;
    let names: Vec<CodecName> = ok.codecs().into_iter().map(|c| c.name).collect();
    if let Some(audio) = ok.audio_mut() {
        for law in [CodecName::Pcmu, CodecName::Pcma] {
            let missing = !names.contains(&law);
            let partner = other_law(&law).is_some_and(|o| names.contains(&o));
            if missing && partner {
                add_static(audio, &law);
            }
        }
    }
    sdp::filter_offer(&ok, callee_allow)
}

/// Appends a static codec (PCMU/PCMA) to an m= line, with its rtpmap.
fn add_static(audio: &mut Media, name: &CodecName) {
    let Some(map) = name.static_rtpmap() else {
        return;
    };
    if audio.payload_types().any(|pt| pt == map.pt) {
        return;
    }
    audio.formats.push(map.pt.to_string());
    audio.attributes.push(Attribute::Rtpmap(map));
}

/// The codec the caller is answered with when the callee chose `chosen`: the same codec when
/// the caller offered it, else the other G.711 law (transcoded), else None.
pub fn caller_codec(caller_offer: &Sdp, chosen: &CodecName) -> Option<CodecName> {
    let offered: Vec<CodecName> = caller_offer.codecs().into_iter().map(|c| c.name).collect();
    if offered.contains(chosen) {
        return Some(chosen.clone());
    }
    other_law(chosen).filter(|o| offered.contains(o))
}

/// The answer the caller gets from the callee's `callee_answer`: one codec compatible with the
/// callee's choice, the caller's telephone-event when the callee took one (or when sipbox
/// takes the caller's events itself, `translate_te`: the callee's digits travel by INFO or
/// inband), the callee's direction, our address and port. None when the answer names no codec
/// the caller can have.
pub fn answer_for_caller(
    caller_offer: &Sdp,
    callee_answer: &Sdp,
    local: &mut LocalSession,
    ip: IpAddr,
    port: u16,
    translate_te: bool,
) -> Option<Sdp> {
    let chosen = callee_answer.chosen_codec()?;
    let name = caller_codec(caller_offer, &chosen.name)?;
    // A scratch session: only the final description is stamped with our o= version.
    let mut scratch = local.clone();
    let mut ans = sdp::answer(caller_offer, &[name], &mut scratch, ip, port).ok()?;
    let callee_dir = callee_answer.direction();
    let te = translate_te || callee_answer.telephone_event_pt().is_some();
    if let Some(audio) = ans.audio_mut() {
        if !te {
            let keep: Vec<u8> = audio
                .codecs()
                .iter()
                .filter(|c| c.name != CodecName::TelephoneEvent)
                .map(|c| c.pt)
                .collect();
            audio.formats = keep.iter().map(u8::to_string).collect();
            audio.attributes.retain(|a| match a {
                Attribute::Rtpmap(m) => keep.contains(&m.pt),
                Attribute::Fmtp { pt, .. } => keep.contains(pt),
                _ => true,
            });
        }
        if audio.port != 0 {
            audio.set_direction(callee_dir);
        }
    }
    local.stamp(&mut ans, ip);
    Some(ans)
}

/// sipbox's own offer (late-offer INVITE, or an answer to an offer-less INVITE): the `allow`
/// codecs in order, telephone-event at [`OUR_TELEPHONE_EVENT_PT`], ptime 20, sendrecv.
pub fn our_offer(allow: &[CodecName], local: &mut LocalSession, ip: IpAddr, port: u16) -> Sdp {
    let mut sdp = Sdp::ours(ip);
    let mut media = Media {
        kind: "audio".to_string(),
        port,
        port_count: None,
        proto: "RTP/AVP".to_string(),
        formats: Vec::new(),
        connection: None,
        extra: Vec::new(),
        attributes: Vec::new(),
    };
    for name in allow {
        add_static(&mut media, name);
    }
    media.formats.push(OUR_TELEPHONE_EVENT_PT.to_string());
    media.attributes.push(Attribute::Rtpmap(Rtpmap {
        pt: OUR_TELEPHONE_EVENT_PT,
        encoding: "telephone-event".to_string(),
        clock_rate: 8000,
        channels: None,
    }));
    media.attributes.push(Attribute::Fmtp {
        pt: OUR_TELEPHONE_EVENT_PT,
        params: "0-16".to_string(),
    });
    media.attributes.push(Attribute::Ptime(20));
    media.set_direction(Direction::SendRecv);
    sdp.media.push(media);
    local.stamp(&mut sdp, ip);
    sdp
}

/// A body sipbox wrote on the lean path, and what it settles for the leg it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The SDP.
    pub body: Vec<u8>,
    /// The codec in use (the first that is not telephone-event), if any.
    pub codec: Option<CodecName>,
    /// The telephone-event payload type, if any.
    pub te_pt: Option<u8>,
}

/// `intersect` of `codec.rs` over a [`CodecList`]: the payload types of the audio codecs
/// `allowed` names, in its order, then the offer's.
fn intersect_lean(codecs: &CodecList<'_>, allowed: &[CodecName]) -> PtList {
    let mut out = PtList::new();
    for name in allowed.iter().filter(|n| **n != CodecName::TelephoneEvent) {
        for c in codecs.items().iter().filter(|c| c.is(name)) {
            if !out.contains(c.pt) {
                out.push(c.pt);
            }
        }
    }
    out
}

/// `dtmf_for` of `codec.rs`: appends the offered telephone-events at a kept codec's clock.
fn dtmf_lean(codecs: &CodecList<'_>, kept: &PtList, out: &mut PtList) {
    let clocks = |clock| {
        kept.items()
            .iter()
            .any(|pt| codecs.get(*pt).is_some_and(|k| k.clock == clock))
    };
    for c in codecs.items().iter().filter(|c| c.kind == Kind::Te) {
        if clocks(c.clock) {
            out.push(c.pt);
        }
    }
}

/// The codecs of `pts`, each resolved as the first of its payload type in `codecs`.
fn resolve_lean<'a>(codecs: &CodecList<'a>, pts: &PtList) -> CodecList<'a> {
    let mut out = CodecList::new();
    for c in pts.items().iter().filter_map(|pt| codecs.get(*pt)) {
        out.push(*c);
    }
    out
}

/// [`offer_for_callee`] on a view: what [`emit::rewrite`] must do to the audio m= line, and the
/// telephone-event PT the callee is offered. `Err` → 488.
pub fn callee_filter(
    offer: &View<'_>,
    caller_allow: &[CodecName],
    callee_allow: &[CodecName],
) -> Result<(Filter, Option<u8>), NoCommonCodec> {
    let audio = offer.audio().ok_or(NoCommonCodec)?;
    let codecs = audio.codecs();
    // filter_offer(caller_allow)
    let mut pts1 = intersect_lean(codecs, caller_allow);
    if pts1.items().is_empty() {
        return Err(NoCommonCodec);
    }
    let kept1 = pts1;
    dtmf_lean(codecs, &kept1, &mut pts1);
    let mut codecs2 = resolve_lean(codecs, &pts1);
    // The other G.711 law, which sipbox transcodes to.
    let has = |list: &CodecList<'_>, n: &CodecName| list.items().iter().any(|c| c.is(n));
    let mut added = None;
    for law in [CodecName::Pcmu, CodecName::Pcma] {
        let missing = !has(&codecs2, &law);
        let partner = other_law(&law).is_some_and(|o| has(&codecs2, &o));
        let pt = if law == CodecName::Pcmu { 0 } else { 8 };
        if missing && partner && !pts1.contains(pt) && added.is_none() {
            codecs2.push(Pt::fixed(pt));
            added = Some(pt);
        }
    }
    // filter_offer(callee_allow)
    let mut pts3 = intersect_lean(&codecs2, callee_allow);
    if pts3.items().is_empty() {
        return Err(NoCommonCodec);
    }
    let kept3 = pts3;
    dtmf_lean(&codecs2, &kept3, &mut pts3);
    // `resolve_lean(&codecs2, &pts3).telephone_event_pt()`, without building the list.
    let mut tes = pts3
        .items()
        .iter()
        .filter_map(|pt| codecs2.get(*pt))
        .filter(|c| c.kind == Kind::Te);
    let te = tes
        .clone()
        .next()
        .map(|first| tes.find(|c| c.clock == 8000).unwrap_or(first).pt);
    let filter = Filter {
        pts: pts3,
        keep: pts1.set() & pts3.set(),
        added: added.filter(|pt| pts3.contains(*pt)),
    };
    Ok((filter, te))
}

/// The direction `answer` gives: the offer's answered, recvonly for an old-style hold.
fn answer_direction(offer: &View<'_>) -> Direction {
    if offer.is_hold() && offer.direction() == Direction::SendRecv {
        Direction::RecvOnly
    } else {
        offer.direction().answer()
    }
}

/// The codec `answer` picks for `allowed` and the telephone-event at its clock.
fn pick<'a>(codecs: &CodecList<'a>, allowed: &[CodecName]) -> Option<(Pt<'a>, Option<Pt<'a>>)> {
    let kept = intersect_lean(codecs, allowed);
    let chosen = *codecs.get(*kept.items().first()?)?;
    let te = codecs
        .items()
        .iter()
        .find(|c| c.kind == Kind::Te && c.clock == chosen.clock)
        .copied();
    Some((chosen, te))
}

/// [`sdp::answer`] on a view.
pub fn answer_lean(
    offer: &View<'_>,
    allowed: &[CodecName],
    local: &mut LocalSession,
    ip: IpAddr,
    rtp_port: u16,
) -> Result<Written, NoCommonCodec> {
    let audio = offer.audio().ok_or(NoCommonCodec)?;
    let (chosen, te) = pick(audio.codecs(), allowed).ok_or(NoCommonCodec)?;
    let dir = answer_direction(offer);
    let body = emit::answer(offer, &chosen, te.as_ref(), dir, local, ip, rtp_port);
    Ok(Written {
        body,
        codec: Some(chosen.name()),
        te_pt: te.map(|t| t.pt),
    })
}

/// [`answer_for_caller`] on views.
pub fn answer_for_caller_lean(
    caller_offer: &View<'_>,
    callee_answer: &View<'_>,
    local: &mut LocalSession,
    ip: IpAddr,
    port: u16,
    translate_te: bool,
) -> Option<Written> {
    let callee = callee_answer.codecs();
    let chosen = callee.chosen()?.name();
    let audio = caller_offer.audio()?;
    let codecs = audio.codecs();
    let offered = |n: &CodecName| codecs.items().iter().any(|c| c.is(n));
    let name = if offered(&chosen) {
        chosen
    } else {
        other_law(&chosen).filter(|o| offered(o))?
    };
    let (chosen, te) = pick(codecs, std::slice::from_ref(&name))?;
    let te = te.filter(|_| translate_te || callee.telephone_event_pt().is_some());
    let dir = if audio.port() != 0 {
        callee_answer.direction()
    } else {
        answer_direction(caller_offer)
    };
    let body = emit::answer(caller_offer, &chosen, te.as_ref(), dir, local, ip, port);
    Some(Written {
        body,
        codec: Some(name),
        te_pt: te.map(|t| t.pt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CodecName::*;

    const OFFER_ULAW: &str = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
        t=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-16\r\na=sendrecv\r\n";
    const OFFER_BOTH: &str = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
        t=0 0\r\nm=audio 4000 RTP/AVP 9 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn parse(s: &str) -> Sdp {
        Sdp::parse(s.as_bytes()).unwrap()
    }

    fn pts(s: &Sdp) -> Vec<u8> {
        s.audio().unwrap().payload_types().collect()
    }

    #[test]
    fn callee_offer_intersection_table() {
        let all = [Pcmu, Pcma, G722];
        // (caller offer, caller allow, callee allow) → offered PTs or 488.
        type Case<'a> = (&'a str, &'a [CodecName], &'a [CodecName], Option<&'a [u8]>);
        let cases: &[Case] = &[
            (OFFER_BOTH, &all, &[Pcma, Pcmu], Some(&[8, 0, 101])),
            (OFFER_BOTH, &all, &[G722], Some(&[9, 101])),
            (OFFER_BOTH, &[Pcmu], &[G722], None),
            // Transcoding: only µ-law offered, callee allows only alaw.
            (OFFER_ULAW, &all, &[Pcma], Some(&[8, 101])),
            (OFFER_ULAW, &all, &[G722], None),
            (OFFER_ULAW, &[Pcma], &[Pcma], None),
        ];
        for (offer, ca, cb, want) in cases {
            let got = offer_for_callee(&parse(offer), ca, cb).ok();
            assert_eq!(got.as_ref().map(pts).as_deref(), *want, "{ca:?} {cb:?}");
        }
    }

    #[test]
    fn caller_answer_follows_callee_choice_and_transcodes() {
        let offer = parse(OFFER_ULAW);
        let callee = parse(
            "v=0\r\no=b 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
             m=audio 5000 RTP/AVP 8\r\na=sendonly\r\n",
        );
        let mut ls = LocalSession::new(7, 1);
        let ans = answer_for_caller(&offer, &callee, &mut ls, IP, 10000, false).unwrap();
        // µ-law towards the caller (transcoded), no telephone-event: the callee took none.
        assert_eq!(pts(&ans), vec![0]);
        assert_eq!(ans.direction(), Direction::SendOnly);
        assert_eq!(ans.remote_rtp(), Some("127.0.0.1:10000".parse().unwrap()));
        assert_eq!(caller_codec(&offer, &G722), None);
        // A callee whose digits sipbox translates (INFO, inband): the caller keeps its PT.
        let ans = answer_for_caller(&offer, &callee, &mut ls, IP, 10000, true).unwrap();
        assert_eq!(ans.telephone_event_pt(), offer.telephone_event_pt());
        assert!(offer.telephone_event_pt().is_some());
    }

    #[test]
    fn our_offer_lists_allow_then_dtmf() {
        let mut ls = LocalSession::new(7, 1);
        let o = our_offer(&[Pcma, Pcmu], &mut ls, IP, 10002);
        assert_eq!(pts(&o), vec![8, 0, 101]);
        assert_eq!(o.telephone_event_pt(), Some(101));
        let reparsed = Sdp::parse(&o.to_bytes()).unwrap();
        assert_eq!(
            reparsed.remote_rtp(),
            Some("127.0.0.1:10002".parse().unwrap())
        );
    }
}
