//! Codecs in SDP and their negotiation: the intersection of an offer with an `allow` list in
//! the entry's preference order, and the answer sipbox gives when it is the media endpoint.
//!
//! Reading list, before working on this file:
//! - RFC 3264 §5.1 and §6.1 (the offer's format list is in preference order; an answer keeps
//!   the offer's payload types and m= lines, rejected streams get port 0).
//! - RFC 3551 §6 (static payload types: 0 PCMU, 8 PCMA, 9 G722 with its 8000 Hz RTP clock).
//! - RFC 4733 §7 (telephone-event: dynamic PT, fmtp `0-16`, clock rate of the audio codec).
//! - Asterisk `sip.conf` `allow=`/`disallow=` (the names `ulaw`, `alaw`, `g722`).

use std::net::IpAddr;

use super::{Attribute, Direction, LocalSession, Media, Rtpmap, Sdp};

/// A codec as sipbox names it, for `allow` lists and for reading the chosen codec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CodecName {
    /// G.711 µ-law, PT 0.
    Pcmu,
    /// G.711 A-law, PT 8.
    Pcma,
    /// G.722, PT 9 (passed through only).
    G722,
    /// RFC 4733 DTMF events (dynamic PT).
    TelephoneEvent,
    /// Any other codec, by its rtpmap encoding name in lower case (`opus`, `speex`...), or
    /// `pt<N>` for a static payload type without an rtpmap that sipbox does not know.
    Other(String),
}

impl CodecName {
    /// From an rtpmap encoding name (case-insensitive).
    pub fn from_encoding(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "pcmu" => CodecName::Pcmu,
            "pcma" => CodecName::Pcma,
            "g722" => CodecName::G722,
            "telephone-event" => CodecName::TelephoneEvent,
            _ => CodecName::Other(lower),
        }
    }

    /// From an Asterisk `allow=` name: `ulaw`, `alaw`, `g722`, else as [`from_encoding`].
    ///
    /// [`from_encoding`]: CodecName::from_encoding
    pub fn from_allow(name: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            "ulaw" => CodecName::Pcmu,
            "alaw" => CodecName::Pcma,
            _ => Self::from_encoding(name),
        }
    }

    /// The static payload type and rtpmap for the codecs that have one.
    pub fn static_rtpmap(&self) -> Option<Rtpmap> {
        let (pt, encoding) = match self {
            CodecName::Pcmu => (0, "PCMU"),
            CodecName::Pcma => (8, "PCMA"),
            CodecName::G722 => (9, "G722"),
            _ => return None,
        };
        Some(Rtpmap {
            pt,
            encoding: encoding.to_string(),
            clock_rate: 8000,
            channels: None,
        })
    }

    /// The G.711 law of this codec, if it is G.711.
    pub fn law(&self) -> Option<crate::media::g711::Law> {
        use crate::media::g711::Law;
        match self {
            CodecName::Pcmu => Some(Law::Ulaw),
            CodecName::Pcma => Some(Law::Alaw),
            _ => None,
        }
    }
}

/// One payload type of an m= line, resolved to a codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// Which codec.
    pub name: CodecName,
    /// Payload type in this description.
    pub pt: u8,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Channels, when the rtpmap gives them.
    pub channels: Option<u16>,
    /// fmtp parameters, if any.
    pub fmtp: Option<String>,
}

/// Offer and allow list share no audio codec: the B2BUA answers 488 Not Acceptable Here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoCommonCodec;

impl std::fmt::Display for NoCommonCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no common codec")
    }
}

impl std::error::Error for NoCommonCodec {}

fn resolve(m: &Media, pt: u8) -> Codec {
    let fmtp = m.fmtp(pt).map(str::to_string);
    if let Some(map) = m.rtpmap(pt) {
        return Codec {
            name: CodecName::from_encoding(&map.encoding),
            pt,
            clock_rate: map.clock_rate,
            channels: map.channels,
            fmtp,
        };
    }
    let (name, clock_rate) = match pt {
        0 => (CodecName::Pcmu, 8000),
        8 => (CodecName::Pcma, 8000),
        9 => (CodecName::G722, 8000),
        3 => (CodecName::Other("gsm".to_string()), 8000),
        4 => (CodecName::Other("g723".to_string()), 8000),
        18 => (CodecName::Other("g729".to_string()), 8000),
        _ => (CodecName::Other(format!("pt{pt}")), 8000),
    };
    Codec {
        name,
        pt,
        clock_rate,
        channels: None,
        fmtp,
    }
}

impl Media {
    /// The codecs of this m= line, in its order.
    pub fn codecs(&self) -> Vec<Codec> {
        self.payload_types().map(|pt| resolve(self, pt)).collect()
    }

    /// Keep only the payload types in `keep` (in that order), with their rtpmap/fmtp lines.
    fn retain_payload_types(&mut self, keep: &[u8]) {
        self.formats = keep.iter().map(u8::to_string).collect();
        self.attributes.retain(|a| match a {
            Attribute::Rtpmap(m) => keep.contains(&m.pt),
            Attribute::Fmtp { pt, .. } => keep.contains(pt),
            _ => true,
        });
    }
}

/// The audio codecs (not telephone-event) of `codecs` that `allowed` names, in the order of
/// `allowed`, then for each name in the offer's order.
fn intersect<'c>(codecs: &'c [Codec], allowed: &[CodecName]) -> Vec<&'c Codec> {
    let mut out: Vec<&Codec> = Vec::new();
    for name in allowed.iter().filter(|n| **n != CodecName::TelephoneEvent) {
        for c in codecs.iter().filter(|c| c.name == *name) {
            if !out.iter().any(|o| o.pt == c.pt) {
                out.push(c);
            }
        }
    }
    out
}

/// The offered telephone-event payload types whose clock rate matches a kept codec.
fn dtmf_for<'c>(codecs: &'c [Codec], kept: &[&Codec]) -> Vec<&'c Codec> {
    codecs
        .iter()
        .filter(|c| c.name == CodecName::TelephoneEvent)
        .filter(|c| kept.iter().any(|k| k.clock_rate == c.clock_rate))
        .collect()
}

impl Sdp {
    /// The audio stream's codecs, in its order.
    pub fn codecs(&self) -> Vec<Codec> {
        self.audio().map(Media::codecs).unwrap_or_default()
    }

    /// The codec in use: the first audio codec that is not telephone-event.
    pub fn chosen_codec(&self) -> Option<Codec> {
        self.codecs()
            .into_iter()
            .find(|c| c.name != CodecName::TelephoneEvent)
    }

    /// The telephone-event payload type (the 8000 Hz one if several), if offered.
    pub fn telephone_event_pt(&self) -> Option<u8> {
        let te: Vec<Codec> = self
            .codecs()
            .into_iter()
            .filter(|c| c.name == CodecName::TelephoneEvent)
            .collect();
        te.iter()
            .find(|c| c.clock_rate == 8000)
            .or(te.first())
            .map(|c| c.pt)
    }
}

/// Intersect an offer with an entry's `allowed` list (its preference order): the audio m= keeps
/// only allowed codecs, reordered by `allowed`, plus the offered telephone-event at a kept
/// codec's clock rate. Other m= lines are left as they are (see [`Sdp::rewrite`]).
pub fn filter_offer(offer: &Sdp, allowed: &[CodecName]) -> Result<Sdp, NoCommonCodec> {
    let mut out = offer.clone();
    let audio = out.audio_mut().ok_or(NoCommonCodec)?;
    let codecs = audio.codecs();
    let kept = intersect(&codecs, allowed);
    if kept.is_empty() {
        return Err(NoCommonCodec);
    }
    let mut pts: Vec<u8> = kept.iter().map(|c| c.pt).collect();
    pts.extend(dtmf_for(&codecs, &kept).iter().map(|c| c.pt));
    audio.retain_payload_types(&pts);
    Ok(out)
}

/// The answer sipbox gives when it is the RTP endpoint (Answer, Echo, Playback): one codec, the
/// first of `allowed` that the offer has, plus the offer's telephone-event at its clock rate;
/// ptime 20; the direction answering the offer's; every other m= line rejected with port 0.
/// The o= line comes from `local`.
pub fn answer(
    offer: &Sdp,
    allowed: &[CodecName],
    local: &mut LocalSession,
    ip: IpAddr,
    rtp_port: u16,
) -> Result<Sdp, NoCommonCodec> {
    let offered = offer.audio().ok_or(NoCommonCodec)?;
    let codecs = offered.codecs();
    let kept = intersect(&codecs, allowed);
    let chosen = *kept.first().ok_or(NoCommonCodec)?;
    let mut sdp = Sdp::ours(ip);
    let mut audio_done = false;
    for m in &offer.media {
        let mut media = Media {
            kind: m.kind.clone(),
            port: 0,
            port_count: None,
            proto: m.proto.clone(),
            formats: m.formats.clone(),
            connection: None,
            extra: Vec::new(),
            attributes: Vec::new(),
        };
        if m.kind == "audio" && !audio_done {
            audio_done = true;
            media.port = if m.port == 0 { 0 } else { rtp_port };
            let mut pts = vec![chosen];
            pts.extend(dtmf_for(&codecs, &[chosen]).into_iter().take(1));
            media.formats = pts.iter().map(|c| c.pt.to_string()).collect();
            for c in pts {
                let encoding = match &c.name {
                    CodecName::TelephoneEvent => Some("telephone-event".to_string()),
                    n => n
                        .static_rtpmap()
                        .map(|m| m.encoding)
                        .or_else(|| offered.rtpmap(c.pt).map(|m| m.encoding.clone())),
                };
                // A static payload type sipbox does not know keeps the offer's (absent) rtpmap.
                if let Some(encoding) = encoding {
                    media.attributes.push(Attribute::Rtpmap(Rtpmap {
                        pt: c.pt,
                        encoding,
                        clock_rate: c.clock_rate,
                        channels: c.channels,
                    }));
                }
                if let Some(p) = &c.fmtp {
                    media.attributes.push(Attribute::Fmtp {
                        pt: c.pt,
                        params: p.clone(),
                    });
                } else if c.name == CodecName::TelephoneEvent {
                    media.attributes.push(Attribute::Fmtp {
                        pt: c.pt,
                        params: "0-16".to_string(),
                    });
                }
            }
            media.attributes.push(Attribute::Ptime(20));
            let dir = if offer.is_hold() && offer.direction() == Direction::SendRecv {
                Direction::RecvOnly // c=0.0.0.0 hold: the offerer does not want our media
            } else {
                offer.direction().answer()
            };
            media.set_direction(dir);
        }
        sdp.media.push(media);
    }
    local.stamp(&mut sdp, ip);
    Ok(sdp)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use CodecName::*;

    fn parse(s: &str) -> Sdp {
        Sdp::parse(s.as_bytes()).unwrap()
    }

    const US: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));

    fn formats(sdp: &Sdp) -> Vec<u8> {
        sdp.audio().unwrap().payload_types().collect()
    }

    #[test]
    fn codec_listing() {
        let z = parse(ZOIPER).codecs();
        let names: Vec<&CodecName> = z.iter().map(|c| &c.name).collect();
        let other = |s: &str| Other(s.to_string());
        assert_eq!(
            names,
            [
                &other("opus"),
                &G722,
                &TelephoneEvent,
                &TelephoneEvent,
                &Pcmu,
                &Pcma,
                &other("gsm")
            ]
        );
        assert_eq!(
            z[0].fmtp.as_deref().map(|f| f.contains("useinbandfec")),
            Some(true)
        );
        assert_eq!(parse(ZOIPER).telephone_event_pt(), Some(101));
        assert_eq!(parse(LINPHONE).telephone_event_pt(), Some(100));
        assert_eq!(parse(BARESIP).chosen_codec().unwrap().name, other("opus"));
        assert_eq!(parse(HOLD_ZERO).telephone_event_pt(), Some(101));
        assert_eq!(CodecName::from_allow("ULAW"), Pcmu);
        assert_eq!(CodecName::from_allow("alaw"), Pcma);
        assert_eq!(CodecName::from_allow("Opus"), other("opus"));
        assert_eq!(Pcma.law(), Some(crate::media::g711::Law::Alaw));
    }

    #[test]
    fn intersection_table() {
        let other = |s: &str| Other(s.to_string());
        // (offer, allowed in the entry's preference order, expected m= formats or 488)
        type Case = (&'static str, Vec<CodecName>, Option<Vec<u8>>);
        let cases: Vec<Case> = vec![
            (BARESIP, vec![Pcmu, Pcma], Some(vec![0, 8, 101])),
            (BARESIP, vec![Pcma, Pcmu], Some(vec![8, 0, 101])),
            (BARESIP, vec![G722, Pcma], Some(vec![9, 8, 101])),
            (BARESIP, vec![other("opus")], Some(vec![96])), // te/8000 not at opus's clock
            (BARESIP, vec![other("g729")], None),
            (BARESIP, vec![], None),
            (BARESIP, vec![TelephoneEvent], None), // DTMF alone is no codec
            (LINPHONE, vec![Pcma, Pcmu], Some(vec![8, 0, 100])),
            (LINPHONE, vec![other("g729"), Pcmu], Some(vec![18, 0, 100])),
            (LINPHONE, vec![G722], None),
            (ZOIPER, vec![Pcmu, Pcma, Pcmu], Some(vec![0, 8, 101])),
            (ZOIPER, vec![other("gsm")], Some(vec![3, 101])),
            (IPV6_DESK, vec![Pcmu], Some(vec![0, 101])),
            (HOLD_ZERO, vec![Pcma], None),
        ];
        for (i, (offer, allowed, want)) in cases.iter().enumerate() {
            let got = filter_offer(&parse(offer), allowed);
            match want {
                Some(pts) => assert_eq!(formats(&got.unwrap()), *pts, "case {i}"),
                None => assert_eq!(got, Err(NoCommonCodec), "case {i}"),
            }
        }
    }

    #[test]
    fn filter_drops_unused_rtpmap_fmtp_keeps_rest() {
        let out = filter_offer(&parse(BARESIP), &[Pcma]).unwrap();
        let text = out.to_string();
        assert!(text.contains("m=audio 10138 RTP/AVP 8 101\r\n"));
        assert!(!text.contains("opus") && !text.contains("PCMU") && !text.contains("G722"));
        assert!(text.contains("a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"));
        assert!(text.contains("a=fmtp:101 0-15\r\n") && text.contains("a=ptime:20\r\n"));
        assert_eq!(out.chosen_codec().unwrap().name, Pcma);
        // Video m= untouched by filtering (the rewrite disables it).
        let lin = filter_offer(&parse(LINPHONE), &[Pcmu]).unwrap();
        assert_eq!(lin.media[1], parse(LINPHONE).media[1]);
        let no_audio = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\
                        m=video 4000 RTP/AVP 96\r\n";
        assert_eq!(filter_offer(&parse(no_audio), &[Pcmu]), Err(NoCommonCodec));
    }

    #[test]
    fn answer_as_media_endpoint() {
        let mut leg = LocalSession::new(9, 100);
        let ans = answer(&parse(LINPHONE), &[Pcma, Pcmu], &mut leg, US, 16000).unwrap();
        let text = ans.to_string();
        assert_eq!(
            text,
            "v=0\r\no=sipbox 9 100 IN IP4 203.0.113.1\r\ns=sipbox\r\nc=IN IP4 203.0.113.1\r\n\
             t=0 0\r\nm=audio 16000 RTP/AVP 8 100\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-16\r\na=ptime:20\r\n\
             a=sendrecv\r\nm=video 0 RTP/AVP 96\r\n"
        );
        assert_eq!(ans.chosen_codec().unwrap().name, Pcma);
        assert_eq!(ans.telephone_event_pt(), Some(100));
        // Offer fmtp is kept for the DTMF PT; hold offers get the mirrored direction.
        let held = answer(&parse(HOLD_SENDONLY), &[Pcmu], &mut leg, US, 16000).unwrap();
        assert_eq!(held.direction(), Direction::RecvOnly);
        assert_eq!(held.audio().unwrap().fmtp(101), Some("0-15"));
        assert_eq!(held.origin.session_version, 101);
        let zero = answer(&parse(HOLD_ZERO), &[Pcmu], &mut leg, US, 16000).unwrap();
        assert_eq!(zero.direction(), Direction::RecvOnly);
        assert_eq!(
            answer(&parse(ZOIPER), &[Pcma], &mut leg, US, 16000).map(|a| formats(&a)),
            Ok(vec![8, 101])
        );
        assert_eq!(
            answer(&parse(LINPHONE), &[G722], &mut leg, US, 16000),
            Err(NoCommonCodec)
        );
        // Unknown static PT without rtpmap: no rtpmap invented.
        let gsm = answer(&parse(ZOIPER), &[Other("gsm".into())], &mut leg, US, 1).unwrap();
        assert!(!gsm.to_string().contains("rtpmap:3"));
    }
}
