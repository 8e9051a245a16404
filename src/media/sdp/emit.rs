//! The lean writers: a description for the other leg made by copying the received lines with
//! targeted rewrites (o=, c=, the audio m= port and payload list, the rtpmap/fmtp of dropped
//! payload types, transport attributes, the direction of an old-style hold), and sipbox's own
//! answer written straight from a [`View`]. Numbers and addresses are written by hand, not
//! through `core::fmt`; one output buffer, sized up front.
//!
//! They print byte for byte what the model path (`Sdp::rewrite`, `answer`, `Display`) prints
//! for the same input — `lean_tests.rs` checks that on every fixture and on mutated bodies —
//! for bodies whose lines come in the printer's order ([`View::lean`]); other bodies take the
//! model path.
//!
//! Reading list: RFC 4566 §5 (line order), RFC 3264 §6 and §8 (answers, hold), RFC 3605 /
//! RFC 5761 / RFC 8839 (the transport attributes dropped, see `rewrite.rs`).

use std::net::IpAddr;
use std::ops::Range;

use super::rewrite::TRANSPORT_ATTRIBUTES;
use super::scan::{
    attr, bit, media_line, session_rank, Attr, Dec, Kind, Lines, Pt, PtList, RawLine, View,
};
use super::{Direction, LocalSession};

/// Writes a number in decimal.
pub(crate) fn push_num(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=9 => out.push(b'0' + n as u8),
        10..=99 => out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]),
        100..=999 => out.extend_from_slice(&[
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ]),
        _ => out.extend_from_slice(Dec::of(n).as_bytes()),
    }
}

/// Writes an address as `Display` does (IPv4 by hand, into one stack buffer; IPv6's
/// compression rules through std).
pub(crate) fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = [0u8; 16];
            let mut n = 0;
            for o in v4.octets() {
                if o >= 100 {
                    buf[n] = b'0' + o / 100;
                    n += 1;
                }
                if o >= 10 {
                    buf[n] = b'0' + o / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + o % 10;
                buf[n + 1] = b'.';
                n += 2;
            }
            out.extend_from_slice(&buf[..n - 1]);
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// `c=IN IP4|IP6 <ip>` and its CRLF, the address copied from where the o= line has it
/// (`addr`, from [`LocalSession::begin`]): written once per body.
fn push_connection(out: &mut Vec<u8>, ip: IpAddr, addr: &Range<usize>) {
    out.extend_from_slice(match ip {
        IpAddr::V4(_) => b"c=IN IP4 ",
        IpAddr::V6(_) => b"c=IN IP6 ",
    });
    out.extend_from_within(addr.clone());
    out.extend_from_slice(b"\r\n");
}

fn push_line(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_rtpmap(out: &mut Vec<u8>, pt: u8, encoding: &str, clock: u32, channels: Option<u16>) {
    out.extend_from_slice(b"a=rtpmap:");
    push_num(out, pt.into());
    out.push(b' ');
    out.extend_from_slice(encoding.as_bytes());
    out.push(b'/');
    push_num(out, clock.into());
    if let Some(c) = channels {
        out.push(b'/');
        push_num(out, c.into());
    }
    out.extend_from_slice(b"\r\n");
}

fn push_fmtp(out: &mut Vec<u8>, pt: u8, params: &str) {
    out.extend_from_slice(b"a=fmtp:");
    push_num(out, pt.into());
    out.push(b' ');
    out.extend_from_slice(params.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_direction(out: &mut Vec<u8>, d: Direction) {
    out.extend_from_slice(b"a=");
    out.extend_from_slice(d.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// An `a=` line as `Attribute`'s `Display` prints it: typed ones from their fields, the rest
/// as written.
fn push_attr(out: &mut Vec<u8>, l: &RawLine<'_>, a: Attr<'_>) {
    match a {
        Attr::Rtpmap {
            pt,
            encoding,
            clock,
            channels,
        } => push_rtpmap(out, pt, encoding, clock, channels),
        Attr::Fmtp { pt, params } => push_fmtp(out, pt, params),
        Attr::Ptime(p) => {
            out.extend_from_slice(b"a=ptime:");
            push_num(out, p.into());
            out.extend_from_slice(b"\r\n");
        }
        Attr::Dir(d) => push_direction(out, d),
        Attr::Other { .. } => push_line(out, l.line),
    }
}

fn is_transport(a: &Attr<'_>) -> bool {
    matches!(a, Attr::Other { name } if TRANSPORT_ATTRIBUTES.contains(name))
}

/// `m=<kind> <port>[/<n>] <proto>` and the format tokens joined by single spaces.
fn push_m(out: &mut Vec<u8>, kind: &str, port: u16, count: Option<u16>, proto: &str) {
    out.extend_from_slice(b"m=");
    out.extend_from_slice(kind.as_bytes());
    out.push(b' ');
    push_num(out, port.into());
    if let Some(n) = count {
        out.push(b'/');
        push_num(out, n.into());
    }
    out.push(b' ');
    out.extend_from_slice(proto.as_bytes());
}

fn push_tokens(out: &mut Vec<u8>, formats: &str) {
    for f in formats.split_ascii_whitespace() {
        out.push(b' ');
        out.extend_from_slice(f.as_bytes());
    }
}

fn push_pts(out: &mut Vec<u8>, pts: &PtList) {
    for pt in pts.items() {
        out.push(b' ');
        push_num(out, (*pt).into());
    }
}

/// What a lean rewrite does to the audio m= line's payload types.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    /// The payload list the audio m= carries.
    pub pts: PtList,
    /// Payload types (below 128) whose own rtpmap/fmtp lines stay.
    pub keep: u128,
    /// A static G.711 payload type (0 or 8) added for transcoding: its rtpmap goes last.
    pub added: Option<u8>,
}

/// As `Sdp::rewrite` (after `filter`, when given, has cut the audio payload types): our o= and
/// c=, our port on the first audio m=, other streams at port 0, transport attributes and
/// media-level c= dropped, an old-style c=0.0.0.0 hold turned into a direction. Only for a
/// [`View::lean`] body.
pub fn rewrite(
    view: &View<'_>,
    filter: Option<&Filter>,
    local: &mut LocalSession,
    ip: IpAddr,
    rtp_port: u16,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(view.text.len() + 96);
    let addr = local.begin(&mut out, ip);
    let hold_dir = view
        .unspecified_connection()
        .then(|| match view.direction() {
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
            _ => Direction::SendOnly,
        });
    let audio_index = view.audio().map(|a| a.index);
    let mut first = [true; 3];
    let mut c_done = false;
    // (is the first audio section, a direction line written in it)
    let mut section: Option<(bool, bool)> = None;
    let mut media = 0usize;
    let close = |out: &mut Vec<u8>, section: Option<(bool, bool)>| {
        let Some((true, dir_seen)) = section else {
            return;
        };
        if let Some(pt) = filter.and_then(|f| f.added) {
            push_rtpmap(out, pt, if pt == 0 { "PCMU" } else { "PCMA" }, 8000, None);
        }
        if let (Some(d), false) = (hold_dir, dir_seen) {
            push_direction(out, d);
        }
    };
    for l in Lines::new(view.text).flatten().skip(1) {
        if l.kind == 'm' {
            close(&mut out, section);
            let Some(m) = media_line(l.value) else {
                continue; // validated by the scan
            };
            if !c_done {
                push_connection(&mut out, ip, &addr);
                c_done = true;
            }
            let is_audio = Some(media) == audio_index;
            media += 1;
            section = Some((is_audio, false));
            if is_audio {
                let port = if m.port == 0 { 0 } else { rtp_port };
                push_m(&mut out, m.kind, port, None, m.proto);
                match filter {
                    Some(f) => push_pts(&mut out, &f.pts),
                    None => push_tokens(&mut out, m.formats),
                }
            } else {
                push_m(&mut out, m.kind, 0, m.port_count, m.proto);
                push_tokens(&mut out, m.formats);
            }
            out.extend_from_slice(b"\r\n");
            continue;
        }
        let Some((is_audio, dir_seen)) = section.as_mut() else {
            // Session level.
            let rank = session_rank(l.kind, &mut first);
            if rank >= 4 && !c_done {
                push_connection(&mut out, ip, &addr);
                c_done = true;
            }
            match (rank, l.kind) {
                (1, _) | (_, 'c') => {}
                (6, _) => {
                    let mut it = l.value.split_ascii_whitespace();
                    out.extend_from_slice(b"t=");
                    push_num(
                        &mut out,
                        it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
                    );
                    out.push(b' ');
                    push_num(
                        &mut out,
                        it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
                    );
                    out.extend_from_slice(b"\r\n");
                }
                (_, 'a') => {
                    let a = attr(l.value);
                    if !is_transport(&a) {
                        push_attr(&mut out, &l, a);
                    }
                }
                _ => push_line(&mut out, l.line),
            }
            continue;
        };
        match l.kind {
            'c' => {}
            'a' => {
                let a = attr(l.value);
                if is_transport(&a) {
                    continue;
                }
                if *is_audio {
                    match (a, filter) {
                        (Attr::Rtpmap { pt, .. } | Attr::Fmtp { pt, .. }, Some(f))
                            if f.keep & bit(pt) == 0 =>
                        {
                            continue
                        }
                        (Attr::Dir(_), _) if hold_dir.is_some() => {
                            if !*dir_seen {
                                *dir_seen = true;
                                push_direction(&mut out, hold_dir.unwrap_or(Direction::SendOnly));
                            }
                            continue;
                        }
                        _ => {}
                    }
                }
                push_attr(&mut out, &l, a);
            }
            _ => push_line(&mut out, l.line),
        }
    }
    close(&mut out, section);
    if !c_done {
        push_connection(&mut out, ip, &addr);
    }
    local.seal(&mut out, ip);
    out
}

/// The answer sipbox writes as `answer` does: `chosen` (and `te`) on the first audio m= at
/// `rtp_port` (0 if the offer disabled it), with their rtpmap/fmtp, ptime 20 and `dir`; every
/// other m= rejected with port 0.
pub fn answer(
    offer: &View<'_>,
    chosen: &Pt<'_>,
    te: Option<&Pt<'_>>,
    dir: Direction,
    local: &mut LocalSession,
    ip: IpAddr,
    rtp_port: u16,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    let addr = local.begin(&mut out, ip);
    out.extend_from_slice(b"s=sipbox\r\n");
    push_connection(&mut out, ip, &addr);
    out.extend_from_slice(b"t=0 0\r\n");
    let audio_index = offer.audio().map(|a| a.index);
    let mut media = 0usize;
    // Most offers have their audio m= only: no need to read the body again for that one.
    let only = match (offer.audio(), offer.media_count()) {
        (Some(a), 1) => Some(a.m),
        _ => None,
    };
    let others = only.is_none().then(|| {
        Lines::new(offer.text)
            .flatten()
            .filter(|l| l.kind == 'm')
            .filter_map(|l| media_line(l.value))
    });
    let lines = only.into_iter().chain(others.into_iter().flatten());
    for m in lines {
        if Some(media) != audio_index {
            push_m(&mut out, m.kind, 0, None, m.proto);
            push_tokens(&mut out, m.formats);
            out.extend_from_slice(b"\r\n");
            media += 1;
            continue;
        }
        media += 1;
        let port = if m.port == 0 { 0 } else { rtp_port };
        push_m(&mut out, m.kind, port, None, m.proto);
        for c in std::iter::once(chosen).chain(te) {
            out.push(b' ');
            push_num(&mut out, c.pt.into());
        }
        out.extend_from_slice(b"\r\n");
        for c in std::iter::once(chosen).chain(te) {
            let encoding = match c.kind {
                Kind::Te => Some("telephone-event"),
                Kind::Pcmu => Some("PCMU"),
                Kind::Pcma => Some("PCMA"),
                Kind::G722 => Some("G722"),
                Kind::Other => c.encoding,
            };
            if let Some(e) = encoding {
                push_rtpmap(&mut out, c.pt, e, c.clock, c.channels);
            }
            match (c.fmtp, c.kind) {
                (Some(p), _) => push_fmtp(&mut out, c.pt, p),
                (None, Kind::Te) => push_fmtp(&mut out, c.pt, "0-16"),
                _ => {}
            }
        }
        out.extend_from_slice(b"a=ptime:20\r\n");
        push_direction(&mut out, dir);
    }
    local.seal(&mut out, ip);
    out
}
