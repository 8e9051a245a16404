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

use crate::config::codec::Codec;
use crate::media::g711::Law;
use crate::media::sdp::{
    self, Attribute, CodecName, Direction, LocalSession, Media, NoCommonCodec, Rtpmap, Sdp,
};
use std::net::IpAddr;

/// The payload type sipbox offers telephone-event at when it makes the offer itself.
pub const OUR_TELEPHONE_EVENT_PT: u8 = 101;

/// A sip.conf `allow` list as SDP codec names, in its order.
pub fn allow_names(codecs: &[Codec]) -> Vec<CodecName> {
    codecs
        .iter()
        .map(|c| match c {
            Codec::Ulaw => CodecName::Pcmu,
            Codec::Alaw => CodecName::Pcma,
            Codec::G722 => CodecName::G722,
        })
        .collect()
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
