//! Reading and printing SDP text.
//!
//! Reading list, before working on this file:
//! - RFC 4566 §5 (the `<type>=<value>` grammar, the fixed line order, which lines are
//!   session-level and which media-level) and §6 (attribute syntax: rtpmap, fmtp, ptime).
//! - RFC 3264 §5 (what an offer must carry: o=, a c= for every active stream).

use std::fmt;

use super::{
    AddrType, Attribute, Connection, Direction, Line, Media, Origin, Rtpmap, Sdp, SdpError,
    SdpErrorKind, Timing,
};

impl Attribute {
    pub(super) fn parse(s: &str) -> Attribute {
        let (name, value) = match s.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (s, None),
        };
        let typed = match (name, value) {
            ("rtpmap", Some(v)) => parse_rtpmap(v).map(Attribute::Rtpmap),
            ("fmtp", Some(v)) => v.split_once(' ').and_then(|(pt, params)| {
                Some(Attribute::Fmtp {
                    pt: pt.parse().ok()?,
                    params: params.to_string(),
                })
            }),
            ("ptime", Some(v)) => v.trim().parse().ok().map(Attribute::Ptime),
            (n, None) => Direction::from_name(n).map(Attribute::Direction),
            _ => None,
        };
        typed.unwrap_or_else(|| Attribute::Other {
            name: name.to_string(),
            value: value.map(str::to_string),
        })
    }
}

fn parse_rtpmap(v: &str) -> Option<Rtpmap> {
    let (pt, rest) = v.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?.to_string();
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(Rtpmap {
        pt: pt.parse().ok().filter(|pt| *pt < 128)?,
        encoding,
        clock_rate,
        channels,
    })
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Rtpmap(m) => {
                write!(f, "rtpmap:{} {}/{}", m.pt, m.encoding, m.clock_rate)?;
                match m.channels {
                    Some(c) => write!(f, "/{c}"),
                    None => Ok(()),
                }
            }
            Attribute::Fmtp { pt, params } => write!(f, "fmtp:{pt} {params}"),
            Attribute::Ptime(p) => write!(f, "ptime:{p}"),
            Attribute::Direction(d) => f.write_str(d.as_str()),
            Attribute::Other { name, value: None } => f.write_str(name),
            Attribute::Other {
                name,
                value: Some(v),
            } => write!(f, "{name}:{v}"),
        }
    }
}

fn parse_connection(v: &str) -> Option<Connection> {
    let mut it = v.split_ascii_whitespace();
    let (net, ty, address) = (it.next()?, it.next()?, it.next()?);
    if net != "IN" || it.next().is_some() {
        return None;
    }
    Some(Connection {
        addr_type: AddrType::parse(ty)?,
        address: address.to_string(),
    })
}

fn parse_origin(v: &str) -> Option<Origin> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    let [user, id, version, net, ty, addr] = f.as_slice() else {
        return None;
    };
    Some(Origin {
        username: user.to_string(),
        session_id: id.parse().ok()?,
        session_version: version.parse().ok()?,
        connection: parse_connection(&format!("{net} {ty} {addr}"))?,
    })
}

fn parse_media(v: &str) -> Option<Media> {
    let mut it = v.split_ascii_whitespace();
    let kind = it.next()?.to_string();
    let port_field = it.next()?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, n)) => (p.parse().ok()?, Some(n.parse().ok()?)),
        None => (port_field.parse().ok()?, None),
    };
    let proto = it.next()?.to_string();
    let formats: Vec<String> = it.map(str::to_string).collect();
    if formats.is_empty() {
        return None;
    }
    Some(Media {
        kind,
        port,
        port_count,
        proto,
        formats,
        connection: None,
        extra: Vec::new(),
        attributes: Vec::new(),
    })
}

impl Sdp {
    /// Parse an SDP body.
    pub fn parse(body: &[u8]) -> Result<Sdp, SdpError> {
        let err = |line, kind| SdpError { line, kind };
        let text = std::str::from_utf8(body).map_err(|_| err(0, SdpErrorKind::NotUtf8))?;
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, "v=0")) => {}
            Some((n, _)) => return Err(err(n, SdpErrorKind::BadVersion)),
            None => return Err(err(0, SdpErrorKind::BadVersion)),
        }
        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut timing = None;
        let mut extra = Vec::new();
        let mut attributes = Vec::new();
        let mut media: Vec<Media> = Vec::new();
        let mut media_lines = Vec::new();
        for (n, line) in lines {
            let mut chars = line.chars();
            let (Some(kind), Some('=')) = (chars.next(), chars.next()) else {
                return Err(err(n, SdpErrorKind::BadLine));
            };
            let value = chars.as_str();
            // A bare CR or a NUL inside a line could smuggle a line into what we relay.
            if value.contains(['\r', '\0']) {
                return Err(err(n, SdpErrorKind::BadLine));
            }
            if let Some(m) = media.last_mut() {
                match kind {
                    'm' => {}
                    'c' => {
                        let c = parse_connection(value);
                        m.connection = Some(c.ok_or(err(n, SdpErrorKind::BadConnection))?);
                        continue;
                    }
                    'a' => {
                        m.attributes.push(Attribute::parse(value));
                        continue;
                    }
                    _ => {
                        m.extra.push(Line {
                            kind,
                            value: value.to_string(),
                        });
                        continue;
                    }
                }
            }
            match kind {
                'o' if origin.is_none() => {
                    origin = Some(parse_origin(value).ok_or(err(n, SdpErrorKind::BadOrigin))?);
                }
                's' if session_name.is_none() => session_name = Some(value.to_string()),
                'c' => {
                    let c = parse_connection(value);
                    connection = Some(c.ok_or(err(n, SdpErrorKind::BadConnection))?);
                }
                't' if timing.is_none() => {
                    let mut it = value.split_ascii_whitespace().map(str::parse::<u64>);
                    let t = match (it.next(), it.next(), it.next()) {
                        (Some(Ok(start)), Some(Ok(stop)), None) => Timing { start, stop },
                        _ => return Err(err(n, SdpErrorKind::BadTiming)),
                    };
                    timing = Some(t);
                }
                'a' => attributes.push(Attribute::parse(value)),
                'm' => {
                    media.push(parse_media(value).ok_or(err(n, SdpErrorKind::BadMedia))?);
                    media_lines.push(n);
                }
                _ => extra.push(Line {
                    kind,
                    value: value.to_string(),
                }),
            }
        }
        let sdp = Sdp {
            origin: origin.ok_or(err(0, SdpErrorKind::BadOrigin))?,
            session_name: session_name.ok_or(err(0, SdpErrorKind::MissingSessionName))?,
            connection,
            timing: timing.ok_or(err(0, SdpErrorKind::BadTiming))?,
            extra,
            attributes,
            media,
        };
        for (m, n) in sdp.media.iter().zip(media_lines) {
            if m.port != 0 && m.connection.is_none() && sdp.connection.is_none() {
                return Err(err(n, SdpErrorKind::MissingConnection));
            }
        }
        Ok(sdp)
    }
}

impl fmt::Display for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} IN {} {}\r\ns={}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.connection.addr_type.as_str(),
            o.connection.address,
            self.session_name
        )?;
        let before_c = |l: &&Line| "iuep".contains(l.kind);
        for l in self.extra.iter().filter(before_c) {
            write!(f, "{}={}\r\n", l.kind, l.value)?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {}\r\n", c.addr_type.as_str(), c.address)?;
        }
        for l in self.extra.iter().filter(|l| l.kind == 'b') {
            write!(f, "b={}\r\n", l.value)?;
        }
        write!(f, "t={} {}\r\n", self.timing.start, self.timing.stop)?;
        for l in self.extra.iter().filter(|l| !before_c(l) && l.kind != 'b') {
            write!(f, "{}={}\r\n", l.kind, l.value)?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "m={} {}", m.kind, m.port)?;
            if let Some(n) = m.port_count {
                write!(f, "/{n}")?;
            }
            write!(f, " {}", m.proto)?;
            for fmt in &m.formats {
                write!(f, " {fmt}")?;
            }
            f.write_str("\r\n")?;
            for l in m.extra.iter().filter(|l| l.kind == 'i') {
                write!(f, "i={}\r\n", l.value)?;
            }
            if let Some(c) = &m.connection {
                write!(f, "c=IN {} {}\r\n", c.addr_type.as_str(), c.address)?;
            }
            for l in m.extra.iter().filter(|l| l.kind != 'i') {
                write!(f, "{}={}\r\n", l.kind, l.value)?;
            }
            for a in &m.attributes {
                write!(f, "a={a}\r\n")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use std::net::SocketAddr;

    fn parse(s: &str) -> Sdp {
        Sdp::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn baresip_offer() {
        let sdp = parse(BARESIP);
        assert_eq!(sdp.origin.session_id, 1262637151);
        assert_eq!(sdp.origin.session_version, 2146380577);
        assert_eq!(sdp.attributes.len(), 1);
        let a = sdp.audio().unwrap();
        assert_eq!((a.port, a.proto.as_str()), (10138, "RTP/AVP"));
        assert_eq!(a.payload_types().collect::<Vec<_>>(), [96, 9, 0, 8, 101]);
        assert_eq!(
            a.extra,
            [Line {
                kind: 'b',
                value: "AS:113".into()
            }]
        );
        assert_eq!(a.ptime(), Some(20));
        assert_eq!(a.fmtp(101), Some("0-15"));
        assert_eq!(a.rtpmap(96).unwrap().channels, Some(2));
        assert_eq!(sdp.direction(), Direction::SendRecv);
        assert_eq!(
            sdp.remote_rtp(),
            Some("192.168.1.23:10138".parse().unwrap())
        );
        assert!(!sdp.is_hold());
    }

    #[test]
    fn round_trips_byte_exact_for_crlf_bodies() {
        for body in [BARESIP, ZOIPER, IPV6_DESK, HOLD_ZERO, HOLD_SENDONLY] {
            let sdp = parse(body);
            assert_eq!(String::from_utf8(sdp.to_bytes()).unwrap(), body);
            assert_eq!(Sdp::parse(&sdp.to_bytes()).unwrap(), sdp);
        }
        // LF-only input comes back with CRLF and the same content.
        let lin = parse(LINPHONE);
        assert_eq!(lin.to_string(), LINPHONE.replace('\n', "\r\n"));
    }

    #[test]
    fn rtcp_address() {
        let rtcp = |s: &str| parse(s).remote_rtcp().map(|a| a.to_string());
        assert_eq!(rtcp(BARESIP).as_deref(), Some("192.168.1.23:10139"));
        assert_eq!(rtcp(LINPHONE).as_deref(), Some("192.168.1.50:7078")); // rtcp-mux
        assert_eq!(rtcp(IPV6_DESK).as_deref(), Some("[2001:db8::50]:5005"));
        assert_eq!(rtcp(HOLD_ZERO), None);
        let other = BARESIP.replace(
            "a=rtcp:10139 IN IP4 192.168.1.23",
            "a=rtcp:9000 IN IP4 10.1.1.1",
        );
        assert_eq!(rtcp(&other).as_deref(), Some("10.1.1.1:9000"));
        let bad = BARESIP.replace("a=rtcp:10139 IN IP4 192.168.1.23", "a=rtcp:x");
        assert_eq!(rtcp(&bad).as_deref(), Some("192.168.1.23:10139"));
    }

    #[test]
    fn linphone_keeps_opaque_attributes_in_order() {
        let sdp = parse(LINPHONE);
        let names: Vec<&str> = sdp.attributes.iter().map(Attribute::name).collect();
        assert_eq!(names, ["ice-pwd", "ice-ufrag", "rtcp-xr", "record"]);
        let a = sdp.audio().unwrap();
        let cands = a
            .attributes
            .iter()
            .filter(|a| a.name() == "candidate")
            .count();
        assert_eq!(cands, 3);
        assert_eq!(sdp.media.len(), 2);
        assert_eq!(sdp.media[1].kind, "video");
    }

    #[test]
    fn ipv6_media_level_connection() {
        let sdp = parse(IPV6_DESK);
        assert!(sdp.connection.is_none());
        let want: SocketAddr = "[2001:db8::50]:5004".parse().unwrap();
        assert_eq!(sdp.remote_rtp(), Some(want));
        assert_eq!(sdp.audio().unwrap().ptime(), Some(30));
    }

    #[test]
    fn hold_forms() {
        let zero = parse(HOLD_ZERO);
        assert_eq!(zero.remote_rtp(), None);
        assert!(zero.is_hold());
        assert_eq!(zero.direction(), Direction::SendRecv);
        let send = parse(HOLD_SENDONLY);
        assert_eq!(send.direction(), Direction::SendOnly);
        assert!(send.is_hold());
        let mut inactive = parse(BARESIP);
        inactive.set_direction(Direction::Inactive);
        assert!(inactive.is_hold());
        let a = inactive.audio().unwrap();
        assert_eq!(a.direction(), Some(Direction::Inactive));
        // Replaced in place, not appended.
        assert_eq!(
            a.attributes.len(),
            parse(BARESIP).audio().unwrap().attributes.len()
        );
        let mut port0 = parse(BARESIP);
        port0.audio_mut().unwrap().port = 0;
        assert_eq!(port0.remote_rtp(), None);
    }

    #[test]
    fn malformed_bodies_are_typed_errors() {
        use SdpErrorKind::*;
        let base = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
        let cases: &[(&[u8], usize, SdpErrorKind)] = &[
            (b"", 0, BadVersion),
            (b"v=1\r\n", 1, BadVersion),
            (b"\xff\xfe", 0, NotUtf8),
            (b"v=0\r\ns=-\r\nt=0 0\r\n", 0, BadOrigin),
            (b"v=0\r\no=- x 1 IN IP4 1.2.3.4\r\n", 2, BadOrigin),
            (
                b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nt=0 0\r\n",
                0,
                MissingSessionName,
            ),
            (b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", 0, BadTiming),
            (
                b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=now\r\n",
                4,
                BadTiming,
            ),
            (b"v=0\r\nhello\r\n", 2, BadLine),
            (b"v=0\r\na=x\rc=IN IP4 6.6.6.6\r\n", 2, BadLine),
            (b"v=0\r\na=x\0\r\n", 2, BadLine),
            (b"v=0\r\nc=IN IP5 1.2.3.4\r\n", 2, BadConnection),
            (b"v=0\r\nc=ATM NSAP 1\r\n", 2, BadConnection),
        ];
        for (i, (body, line, kind)) in cases.iter().enumerate() {
            let e = Sdp::parse(body).unwrap_err();
            assert_eq!((e.line, e.kind), (*line, *kind), "case {i}");
            assert!(!e.to_string().is_empty());
        }
        let media_cases = [
            ("m=audio\r\n", BadMedia),
            ("m=audio 70000 RTP/AVP 0\r\n", BadMedia),
            ("m=audio 4000 RTP/AVP\r\n", BadMedia),
            ("m=audio 4000/x RTP/AVP 0\r\n", BadMedia),
            ("m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n", BadConnection),
        ];
        for (m, kind) in media_cases {
            let e = Sdp::parse(format!("{base}{m}").as_bytes()).unwrap_err();
            assert_eq!(
                (e.line, e.kind),
                (6 + usize::from(kind == BadConnection), kind),
                "{m}"
            );
        }
        let no_c = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        let e = Sdp::parse(no_c.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.kind), (5, MissingConnection));
        // A disabled stream needs no c=.
        assert!(Sdp::parse(no_c.replace("4000", "0").as_bytes()).is_ok());
    }

    #[test]
    fn lenient_attributes_stay_opaque() {
        let body = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\
                    m=audio 4000 RTP/AVP 0\r\na=rtpmap:bad\r\na=ptime:20.5\r\na=fmtp:x y\r\n\
                    a=rtpmap:300 X/8000\r\n";
        let sdp = Sdp::parse(body.as_bytes()).unwrap();
        let a = sdp.audio().unwrap();
        assert!(a
            .attributes
            .iter()
            .all(|a| matches!(a, Attribute::Other { .. })));
        assert_eq!(sdp.to_string(), body);
    }

    #[test]
    fn truncations_and_mutations_never_panic() {
        for body in [BARESIP, LINPHONE, ZOIPER, IPV6_DESK] {
            let bytes = body.as_bytes();
            for n in 0..bytes.len() {
                let _ = Sdp::parse(&bytes[..n]);
                let mut m = bytes.to_vec();
                m[n] = b'=';
                let _ = Sdp::parse(&m);
                m[n] = b' ';
                if let Ok(sdp) = Sdp::parse(&m) {
                    let _ = sdp.to_string();
                    let _ = sdp.remote_rtp();
                    let _ = sdp.codecs();
                }
            }
        }
    }
}
