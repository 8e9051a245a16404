//! A zero-copy view of an SDP body: the same validation as [`Sdp::parse`] (the same
//! [`SdpError`] for the same body), but nothing is copied out. The view keeps what the call
//! path reads (addresses, ports, directions, the audio stream's payload list) as slices of the
//! body; codecs are resolved on demand into a fixed-size [`CodecList`].
//!
//! Reading list, before working on this file:
//! - RFC 4566 §5 (line grammar and order) and §6 (rtpmap, fmtp, ptime, direction attributes).
//! - `parse.rs` in this module: this file must accept and refuse exactly what it does (the
//!   tests in `lean_tests.rs` check both on every fixture and on mutated bodies).
//!
//! [`Sdp::parse`]: super::Sdp::parse

use std::net::{IpAddr, SocketAddr};

use super::{AddrType, CodecName, Direction, SdpError, SdpErrorKind};

/// One more than the most payload types of an m= line the lean path handles (one slot is kept
/// for the G.711 law sipbox adds when it transcodes); a longer list (no phone sends one) goes
/// through the model.
pub const MAX_PTS: usize = 32;

/// One non-blank line: its 1-based number, type letter, value, and the whole line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawLine<'a> {
    pub n: usize,
    pub kind: char,
    pub value: &'a str,
    pub line: &'a str,
}

/// The non-blank lines of a body, as `Sdp::parse` splits them (LF, an optional CR before it).
pub(crate) struct Lines<'a> {
    rest: Option<&'a str>,
    n: usize,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        Lines {
            rest: Some(text),
            n: 0,
        }
    }

    /// The next non-blank line as text (no kind split), and whether a CR or NUL sits in it
    /// anywhere but its end. One byte loop, not `str` patterns: this runs for every line of
    /// every body on the call path.
    fn next_raw(&mut self) -> Option<(usize, &'a str, Option<usize>)> {
        loop {
            let rest = self.rest?;
            let b = rest.as_bytes();
            let mut end = b.len();
            let mut bad = None;
            let mut at = 0;
            while let Some(i) = find_control(b, at) {
                match b[i] {
                    b'\n' => {
                        end = i;
                        break;
                    }
                    // The usual CRLF end: no second search for the LF.
                    b'\r' if b.get(i + 1) == Some(&b'\n') => {
                        end = i + 1;
                        break;
                    }
                    b'\r' | 0 if bad.is_none() => bad = Some(i),
                    _ => {}
                }
                at = i + 1;
            }
            let (line, tail) = match end < b.len() {
                true => (&rest[..end], Some(&rest[end + 1..])),
                false => (rest, None),
            };
            self.rest = tail;
            self.n += 1;
            let line = match line.as_bytes().last() {
                Some(b'\r') => &line[..line.len() - 1],
                _ => line,
            };
            let blank = match line.as_bytes().first() {
                None => true,
                Some(c) if c.is_ascii_graphic() => false,
                Some(_) => line.trim().is_empty(),
            };
            if !blank {
                return Some((self.n, line, bad.filter(|i| *i < line.len())));
            }
        }
    }

    /// The next non-blank line as text.
    fn next_text(&mut self) -> Option<(usize, &'a str)> {
        self.next_raw().map(|(n, line, _)| (n, line))
    }
}

impl<'a> Iterator for Lines<'a> {
    /// `Err(n)`: line `n` is not `<letter>=<value>` or smuggles a CR or NUL.
    type Item = Result<RawLine<'a>, usize>;

    fn next(&mut self) -> Option<Self::Item> {
        let (n, line, bad) = self.next_raw()?;
        let (kind, value) = match line.as_bytes() {
            [k, b'=', ..] if k.is_ascii() => (char::from(*k), &line[2..]),
            _ => {
                let mut chars = line.chars();
                let (Some(kind), Some('=')) = (chars.next(), chars.next()) else {
                    return Some(Err(n));
                };
                (kind, chars.as_str())
            }
        };
        // Rare: only a line with a CR or NUL in it is looked at again.
        if bad.is_some() && value.bytes().any(|c| c == b'\r' || c == 0) {
            return Some(Err(n));
        }
        Some(Ok(RawLine {
            n,
            kind,
            value,
            line,
        }))
    }
}

/// The first byte at or after `from` that is below 14 (LF, CR, NUL and the other controls),
/// eight bytes at a time: a word has such a byte when `(w - 0x0e…) & !w & 0x80…` is not zero,
/// and its lowest set bit marks the first one (borrows only run upwards).
fn find_control(b: &[u8], from: usize) -> Option<usize> {
    const LOW: u64 = 0x0e0e_0e0e_0e0e_0e0e;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let t = w.wrapping_sub(LOW) & !w & HIGH;
        if t != 0 {
            return Some(i + (t.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?.iter().position(|c| *c < 14).map(|p| i + p)
}

/// `str::split_once` for an ASCII byte, without the `char` pattern machinery.
fn split_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|c| c == b)?;
    Some((&s[..i], &s[i + 1..]))
}

/// A `c=` line's address, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conn<'a> {
    /// IP4 or IP6.
    pub addr_type: AddrType,
    /// The address as written.
    pub address: &'a str,
}

impl Conn<'_> {
    /// The address as an IP literal, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

pub(crate) fn connection(v: &str) -> Option<Conn<'_>> {
    let mut it = v.split_ascii_whitespace();
    let (net, ty, address) = (it.next()?, it.next()?, it.next()?);
    if net != "IN" || it.next().is_some() {
        return None;
    }
    Some(Conn {
        addr_type: AddrType::parse(ty)?,
        address,
    })
}

fn origin_ok(v: &str) -> bool {
    let mut it = v.split_ascii_whitespace();
    let f = [
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ];
    let [Some(_), Some(id), Some(ver), Some(net), Some(ty), Some(_)] = f else {
        return false;
    };
    it.next().is_none()
        && id.parse::<u64>().is_ok()
        && ver.parse::<u64>().is_ok()
        && net == "IN"
        && AddrType::parse(ty).is_some()
}

/// An m= line's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MLine<'a> {
    pub kind: &'a str,
    pub port: u16,
    pub port_count: Option<u16>,
    pub proto: &'a str,
    /// Everything after the proto: the format tokens.
    pub formats: &'a str,
}

pub(crate) fn media_line(v: &str) -> Option<MLine<'_>> {
    let mut it = v.split_ascii_whitespace();
    let kind = it.next()?;
    let port_field = it.next()?;
    let (port, port_count) = match split_byte(port_field, b'/') {
        Some((p, n)) => (p.parse().ok()?, Some(n.parse().ok()?)),
        None => (port_field.parse().ok()?, None),
    };
    let proto = it.next()?;
    it.next()?;
    let formats = &v[offset(v, proto) + proto.len()..];
    Some(MLine {
        kind,
        port,
        port_count,
        proto,
        formats,
    })
}

/// Where `part`, a slice of `whole`, begins in it.
pub(crate) fn offset(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// An `a=` value as `Attribute::parse` types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr<'a> {
    Rtpmap {
        pt: u8,
        encoding: &'a str,
        clock: u32,
        channels: Option<u16>,
    },
    Fmtp {
        pt: u8,
        params: &'a str,
    },
    Ptime(u32),
    Dir(Direction),
    /// Kept as written; the name is what comes before the first colon.
    Other {
        name: &'a str,
    },
}

pub(crate) fn attr(s: &str) -> Attr<'_> {
    let (name, value) = match split_byte(s, b':') {
        Some((n, v)) => (n, Some(v)),
        None => (s, None),
    };
    let typed = match (name, value) {
        ("rtpmap", Some(v)) => rtpmap(v),
        ("fmtp", Some(v)) => split_byte(v, b' ').and_then(|(pt, params)| {
            Some(Attr::Fmtp {
                pt: pt.parse().ok()?,
                params,
            })
        }),
        ("ptime", Some(v)) => v.trim().parse().ok().map(Attr::Ptime),
        (n, None) => Direction::from_name(n).map(Attr::Dir),
        _ => None,
    };
    typed.unwrap_or(Attr::Other { name })
}

fn rtpmap(v: &str) -> Option<Attr<'_>> {
    let (pt, rest) = split_byte(v, b' ')?;
    let rest = rest.trim();
    let (encoding, rest) = split_byte(rest, b'/')?;
    if encoding.is_empty() {
        return None;
    }
    // Parts after the channels are ignored, as the model's parser does.
    let (clock, channels) = match split_byte(rest, b'/') {
        Some((clock, ch)) => (clock, Some(split_byte(ch, b'/').map_or(ch, |(c, _)| c))),
        None => (rest, None),
    };
    let clock = clock.parse().ok()?;
    let channels = match channels {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(Attr::Rtpmap {
        pt: pt.parse().ok().filter(|pt| *pt < 128)?,
        encoding,
        clock,
        channels,
    })
}

/// What the call path reads of the first `m=audio` section.
#[derive(Debug, Clone, Copy)]
pub struct Audio<'a> {
    /// Which m= section (0-based).
    pub index: usize,
    pub(crate) m: MLine<'a>,
    /// Its codecs, resolved while scanning.
    pub(super) codecs: CodecList<'a>,
    pub(super) conn: Option<Conn<'a>>,
    pub(super) dir: Option<Direction>,
    pub(super) rtcp_mux: bool,
    pub(super) rtcp: Option<&'a str>,
}

/// A validated SDP body, seen in place.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub(crate) text: &'a str,
    pub(super) session_conn: Option<Conn<'a>>,
    pub(super) session_dir: Option<Direction>,
    pub(super) audio: Option<Audio<'a>>,
    /// Lines come in the order `Sdp`'s printer writes them, so a copy of the lines prints the
    /// same bytes as the model would.
    pub(crate) in_order: bool,
    /// The largest format list of any m= line.
    pub(super) max_formats: usize,
    /// How many m= lines.
    pub(super) media_count: usize,
}

/// The session-level position of a line in the printer's order.
pub(crate) fn session_rank(kind: char, first: &mut [bool; 3]) -> u8 {
    let mut once = |i: usize| std::mem::replace(&mut first[i], false);
    match kind {
        'o' if once(0) => 1,
        's' if once(1) => 2,
        'i' | 'u' | 'e' | 'p' => 3,
        'c' => 4,
        'b' => 5,
        't' if once(2) => 6,
        'a' => 8,
        _ => 7,
    }
}

fn media_rank(kind: char) -> u8 {
    match kind {
        'i' => 1,
        'c' => 2,
        'a' => 4,
        _ => 3,
    }
}

impl<'a> View<'a> {
    /// Validate `body` exactly as [`super::Sdp::parse`] does and view it.
    pub fn scan(body: &'a [u8]) -> Result<View<'a>, SdpError> {
        let err = |line, kind| SdpError { line, kind };
        let text = std::str::from_utf8(body).map_err(|_| err(0, SdpErrorKind::NotUtf8))?;
        let mut lines = Lines::new(text);
        match lines.next_text() {
            Some((_, "v=0")) => {}
            Some((n, _)) => return Err(err(n, SdpErrorKind::BadVersion)),
            None => return Err(err(0, SdpErrorKind::BadVersion)),
        }
        let mut v = View {
            text,
            session_conn: None,
            session_dir: None,
            audio: None,
            in_order: true,
            max_formats: 0,
            media_count: 0,
        };
        let (mut origin, mut name, mut timing) = (false, false, false);
        let mut first = [true; 3];
        let mut rank = 0u8;
        let mut media = 0usize;
        // The first m= with a port, no c= of its own, and its line (checked at the end).
        let mut uncovered: Option<usize> = None;
        let mut current: Option<(MLine<'a>, usize, bool)> = None;
        let mut in_audio = false;
        // The audio payload types whose rtpmap / fmtp has been seen (the first one counts).
        let (mut mapped, mut with_fmtp) = (0u128, 0u128);
        for l in lines {
            let l = l.map_err(|n| err(n, SdpErrorKind::BadLine))?;
            if l.kind == 'm' {
                let m = media_line(l.value).ok_or(err(l.n, SdpErrorKind::BadMedia))?;
                if let Some((m, n, covered)) = current.take() {
                    if m.port != 0 && !covered && uncovered.is_none() {
                        uncovered = Some(n);
                    }
                }
                v.max_formats = v
                    .max_formats
                    .max(m.formats.split_ascii_whitespace().count());
                in_audio = v.audio.is_none() && m.kind == "audio";
                if in_audio {
                    // Filled where it lies: the codec list is the bulk of a view.
                    let a = v.audio.insert(Audio {
                        index: media,
                        m,
                        codecs: CodecList::new(),
                        conn: None,
                        dir: None,
                        rtcp_mux: false,
                        rtcp: None,
                    });
                    for f in m.formats.split_ascii_whitespace() {
                        if let Some(pt) = f.parse::<u8>().ok().filter(|pt| *pt < 128) {
                            a.codecs.push(Pt::fixed(pt));
                        }
                    }
                }
                current = Some((m, l.n, false));
                media += 1;
                v.media_count = media;
                rank = 0;
                continue;
            }
            if let Some((_, _, covered)) = current.as_mut() {
                let r = media_rank(l.kind);
                v.in_order &= r >= rank;
                rank = r;
                let audio = v.audio.as_mut().filter(|_| in_audio);
                match l.kind {
                    'c' => {
                        let c = connection(l.value).ok_or(err(l.n, SdpErrorKind::BadConnection))?;
                        *covered = true;
                        if let Some(a) = audio {
                            a.conn = Some(c);
                        }
                    }
                    'a' => {
                        if let Some(a) = audio {
                            match attr(l.value) {
                                Attr::Rtpmap {
                                    pt,
                                    encoding,
                                    clock,
                                    channels,
                                } if mapped & bit(pt) == 0 => {
                                    mapped |= bit(pt);
                                    for c in a.codecs.items_mut().iter_mut().filter(|c| c.pt == pt)
                                    {
                                        c.kind = Kind::from_encoding(encoding);
                                        c.encoding = Some(encoding);
                                        c.clock = clock;
                                        c.channels = channels;
                                    }
                                }
                                Attr::Fmtp { pt, params }
                                    if pt < 128 && with_fmtp & bit(pt) == 0 =>
                                {
                                    with_fmtp |= bit(pt);
                                    for c in a.codecs.items_mut().iter_mut().filter(|c| c.pt == pt)
                                    {
                                        c.fmtp = Some(params);
                                    }
                                }
                                Attr::Dir(d) if a.dir.is_none() => a.dir = Some(d),
                                Attr::Other { name: "rtcp-mux" } => a.rtcp_mux = true,
                                Attr::Other { name: "rtcp" } => {
                                    if let Some((_, val)) = split_byte(l.value, b':') {
                                        a.rtcp = Some(val);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let r = session_rank(l.kind, &mut first);
            v.in_order &= r >= rank;
            rank = r;
            match l.kind {
                'o' if !origin => {
                    if !origin_ok(l.value) {
                        return Err(err(l.n, SdpErrorKind::BadOrigin));
                    }
                    origin = true;
                }
                's' if !name => name = true,
                'c' => {
                    let c = connection(l.value).ok_or(err(l.n, SdpErrorKind::BadConnection))?;
                    v.session_conn = Some(c);
                }
                't' if !timing => {
                    let mut it = l.value.split_ascii_whitespace().map(str::parse::<u64>);
                    match (it.next(), it.next(), it.next()) {
                        (Some(Ok(_)), Some(Ok(_)), None) => timing = true,
                        _ => return Err(err(l.n, SdpErrorKind::BadTiming)),
                    }
                }
                'a' => {
                    if let Attr::Dir(d) = attr(l.value) {
                        v.session_dir = v.session_dir.or(Some(d));
                    }
                }
                _ => {}
            }
        }
        if let Some((m, n, covered)) = current {
            if m.port != 0 && !covered && uncovered.is_none() {
                uncovered = Some(n);
            }
        }
        if !origin {
            return Err(err(0, SdpErrorKind::BadOrigin));
        }
        if !name {
            return Err(err(0, SdpErrorKind::MissingSessionName));
        }
        if !timing {
            return Err(err(0, SdpErrorKind::BadTiming));
        }
        if let (Some(n), None) = (uncovered, v.session_conn) {
            return Err(err(n, SdpErrorKind::MissingConnection));
        }
        Ok(v)
    }

    /// Whether the lean rewrite can copy this body: lines in the printer's order and
    /// [`View::fits`]. Otherwise the caller takes the model path.
    pub fn lean(&self) -> bool {
        self.in_order && self.fits()
    }

    /// Whether every m= line's format list fits a [`CodecList`] (with a slot to spare), so
    /// the codec decisions on this view are exact.
    pub fn fits(&self) -> bool {
        self.max_formats < MAX_PTS
    }

    /// How many m= lines the body has.
    pub fn media_count(&self) -> usize {
        self.media_count
    }

    /// The body's text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The first `m=audio` section.
    pub fn audio(&self) -> Option<&Audio<'a>> {
        self.audio.as_ref()
    }

    /// The audio stream's direction: its own attribute, else the session's, else sendrecv.
    pub fn direction(&self) -> Direction {
        self.audio
            .and_then(|a| a.dir)
            .or(self.session_dir)
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection of the audio stream (media-level, else session-level).
    pub fn audio_connection(&self) -> Option<Conn<'a>> {
        let a = self.audio.as_ref()?;
        a.conn.or(self.session_conn)
    }

    /// As [`super::Sdp::remote_rtp`].
    pub fn remote_rtp(&self) -> Option<SocketAddr> {
        self.rtp_at(self.audio_connection()?.ip()?)
    }

    fn rtp_at(&self, ip: IpAddr) -> Option<SocketAddr> {
        let port = self.audio.as_ref()?.m.port;
        (port != 0 && !ip.is_unspecified()).then_some(SocketAddr::new(ip, port))
    }

    /// What the relay learns from a description, with one read of the address: where RTP
    /// and RTCP go ([`View::remote_rtp`], [`View::remote_rtcp`]) and [`View::is_hold`].
    pub fn media_facts(&self) -> (Option<SocketAddr>, Option<SocketAddr>, bool) {
        let ip = self.audio_connection().and_then(|c| c.ip());
        let rtp = ip.and_then(|ip| self.rtp_at(ip));
        let unspecified = ip.is_some_and(|ip| ip.is_unspecified());
        let hold = self.direction().is_hold() || unspecified;
        (rtp, rtp.and_then(|rtp| self.rtcp_from(rtp)), hold)
    }

    /// As [`super::Sdp::remote_rtcp`].
    pub fn remote_rtcp(&self) -> Option<SocketAddr> {
        self.rtcp_from(self.remote_rtp()?)
    }

    fn rtcp_from(&self, rtp: SocketAddr) -> Option<SocketAddr> {
        let audio = self.audio.as_ref()?;
        if audio.rtcp_mux {
            return Some(rtp);
        }
        let next_port = SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?);
        let Some(mut it) = audio.rtcp.map(str::split_ascii_whitespace) else {
            return Some(next_port);
        };
        let Some(port) = it.next().and_then(|p| p.parse().ok()) else {
            return Some(next_port);
        };
        let ip = match (it.next(), it.next(), it.next()) {
            (Some("IN"), Some(_), Some(addr)) => addr.parse().unwrap_or(rtp.ip()),
            _ => rtp.ip(),
        };
        Some(SocketAddr::new(ip, port))
    }

    /// The old c=0.0.0.0 hold form.
    pub fn unspecified_connection(&self) -> bool {
        self.audio_connection()
            .and_then(|c| c.ip())
            .is_some_and(|ip| ip.is_unspecified())
    }

    /// As [`super::Sdp::is_hold`].
    pub fn is_hold(&self) -> bool {
        self.direction().is_hold() || self.unspecified_connection()
    }

    /// The audio stream's codecs, in its order (empty without audio).
    pub fn codecs(&self) -> &CodecList<'a> {
        const EMPTY: &CodecList<'static> = &CodecList::new();
        self.audio.as_ref().map_or(EMPTY, Audio::codecs)
    }
}

impl<'a> Audio<'a> {
    /// The m= port.
    pub fn port(&self) -> u16 {
        self.m.port
    }

    /// The section's codecs, in the m= line's order (at most [`MAX_PTS`]).
    pub fn codecs(&self) -> &CodecList<'a> {
        &self.codecs
    }
}

/// The bit of a payload type below 128 in a `u128` set.
pub(crate) fn bit(pt: u8) -> u128 {
    1u128.checked_shl(pt.into()).unwrap_or(0)
}

/// A codec as the lean path classifies it: the names sipbox acts on, the rest by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PCMU.
    Pcmu,
    /// PCMA.
    Pcma,
    /// G722.
    G722,
    /// telephone-event.
    Te,
    /// Any other: named by its rtpmap, or by its static PT.
    Other,
}

impl Kind {
    fn from_encoding(e: &str) -> Kind {
        let is = |s: &str| e.eq_ignore_ascii_case(s);
        if is("pcmu") {
            Kind::Pcmu
        } else if is("pcma") {
            Kind::Pcma
        } else if is("g722") {
            Kind::G722
        } else if is("telephone-event") {
            Kind::Te
        } else {
            Kind::Other
        }
    }
}

/// One payload type of an m= line resolved to a codec (as `codec.rs`'s `resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pt<'a> {
    /// Payload type.
    pub pt: u8,
    /// Which codec.
    pub kind: Kind,
    /// The rtpmap encoding as written, when there is an rtpmap.
    pub encoding: Option<&'a str>,
    /// RTP clock rate.
    pub clock: u32,
    /// Channels from the rtpmap.
    pub channels: Option<u16>,
    /// fmtp parameters.
    pub fmtp: Option<&'a str>,
}

impl<'a> Pt<'a> {
    /// A payload type without rtpmap: the static assignments of RFC 3551.
    pub(crate) const fn fixed(pt: u8) -> Pt<'a> {
        let kind = match pt {
            0 => Kind::Pcmu,
            8 => Kind::Pcma,
            9 => Kind::G722,
            _ => Kind::Other,
        };
        Pt {
            pt,
            kind,
            encoding: None,
            clock: 8000,
            channels: None,
            fmtp: None,
        }
    }

    /// Whether this is the codec `name` names (as `CodecName` equality after `resolve`).
    pub fn is(&self, name: &CodecName) -> bool {
        match (self.kind, name) {
            (Kind::Pcmu, CodecName::Pcmu)
            | (Kind::Pcma, CodecName::Pcma)
            | (Kind::G722, CodecName::G722)
            | (Kind::Te, CodecName::TelephoneEvent) => true,
            (Kind::Other, CodecName::Other(s)) => match self.encoding {
                Some(e) => {
                    e.len() == s.len()
                        && e.bytes()
                            .zip(s.bytes())
                            .all(|(a, b)| a.to_ascii_lowercase() == b)
                }
                None => match self.pt {
                    3 => s == "gsm",
                    4 => s == "g723",
                    18 => s == "g729",
                    pt => s
                        .strip_prefix("pt")
                        .is_some_and(|n| n == Dec::of(pt.into()).as_str()),
                },
            },
            _ => false,
        }
    }

    /// The codec's name (allocates only for codecs sipbox does not know).
    pub fn name(&self) -> CodecName {
        match self.kind {
            Kind::Pcmu => CodecName::Pcmu,
            Kind::Pcma => CodecName::Pcma,
            Kind::G722 => CodecName::G722,
            Kind::Te => CodecName::TelephoneEvent,
            Kind::Other => match self.encoding {
                Some(e) => CodecName::Other(e.to_ascii_lowercase()),
                None => CodecName::Other(
                    match self.pt {
                        3 => "gsm",
                        4 => "g723",
                        18 => "g729",
                        pt => return CodecName::Other(format!("pt{pt}")),
                    }
                    .to_string(),
                ),
            },
        }
    }
}

/// Codecs of an m= line, at most [`MAX_PTS`], without allocating.
#[derive(Debug, Clone, Copy)]
pub struct CodecList<'a> {
    items: [Pt<'a>; MAX_PTS],
    len: usize,
}

impl<'a> CodecList<'a> {
    /// An empty list.
    pub const fn new() -> Self {
        CodecList {
            items: [Pt::fixed(0); MAX_PTS],
            len: 0,
        }
    }

    /// Appends (ignored when full; [`View::lean`] keeps the lean path below that).
    pub fn push(&mut self, p: Pt<'a>) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = p;
            self.len += 1;
        }
    }

    /// The codecs.
    pub fn items(&self) -> &[Pt<'a>] {
        &self.items[..self.len]
    }

    fn items_mut(&mut self) -> &mut [Pt<'a>] {
        &mut self.items[..self.len]
    }

    /// The first codec of a payload type.
    pub fn get(&self, pt: u8) -> Option<&Pt<'a>> {
        self.items().iter().find(|c| c.pt == pt)
    }

    /// The codec in use: the first that is not telephone-event.
    pub fn chosen(&self) -> Option<&Pt<'a>> {
        self.items().iter().find(|c| c.kind != Kind::Te)
    }

    /// The telephone-event PT (the 8000 Hz one if several).
    pub fn telephone_event_pt(&self) -> Option<u8> {
        let mut te = self.items().iter().filter(|c| c.kind == Kind::Te);
        let first = te.clone().next()?;
        Some(te.find(|c| c.clock == 8000).unwrap_or(first).pt)
    }
}

impl Default for CodecList<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// A number's decimal digits, without `core::fmt`.
pub(crate) struct Dec {
    buf: [u8; 20],
    start: usize,
}

impl Dec {
    /// The digits of `n`.
    pub fn of(mut n: u64) -> Dec {
        // Two digits per division: the o= session id and version have ten or more.
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut d = Dec {
            buf: [0; 20],
            start: 20,
        };
        while n >= 100 {
            let r = (n % 100) as usize * 2;
            n /= 100;
            d.start -= 2;
            d.buf[d.start..d.start + 2].copy_from_slice(&PAIRS[r..r + 2]);
        }
        if n >= 10 {
            let r = n as usize * 2;
            d.start -= 2;
            d.buf[d.start..d.start + 2].copy_from_slice(&PAIRS[r..r + 2]);
        } else {
            d.start -= 1;
            d.buf[d.start] = b'0' + n as u8;
        }
        d
    }

    /// As bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// A list of payload types, at most [`MAX_PTS`], without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtList {
    items: [u8; MAX_PTS],
    len: usize,
}

impl PtList {
    /// An empty list.
    pub fn new() -> Self {
        PtList {
            items: [0; MAX_PTS],
            len: 0,
        }
    }

    /// Appends (ignored when full).
    pub fn push(&mut self, pt: u8) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = pt;
            self.len += 1;
        }
    }

    /// The payload types.
    pub fn items(&self) -> &[u8] {
        &self.items[..self.len]
    }

    /// Whether `pt` is in the list.
    pub fn contains(&self, pt: u8) -> bool {
        self.items().contains(&pt)
    }

    /// The list as a set of payload types below 128.
    pub fn set(&self) -> u128 {
        self.items().iter().fold(0, |s, pt| s | bit(*pt))
    }
}

impl Default for PtList {
    fn default() -> Self {
        Self::new()
    }
}
