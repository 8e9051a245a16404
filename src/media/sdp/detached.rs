//! A [`View`] kept without its borrow: every slice of the body stored as an offset and a
//! length, so the call can keep what the scan of the caller's offer found and see the stored
//! INVITE's body again without scanning it a second time (the offer is read when the callee
//! is offered it and again at every answer relayed back).
//!
//! A kept view only comes back for the very body it was made from (same address and length:
//! the call holds that INVITE for its whole life); for any other text, or a body too long for
//! 16-bit offsets, or more payload types than [`KEPT_PTS`], the caller scans again, which reads
//! the same facts (the tests below compare the two on every fixture and mutation).
//!
//! Reading list: `scan.rs` (what the view holds), RFC 4566 §5.

use super::scan::{Audio, CodecList, Conn, Kind, MLine, Pt, View};
use super::{AddrType, Direction};

/// The most audio payload types a kept view holds (offers with more are scanned again).
pub const KEPT_PTS: usize = 16;

/// Where a slice of the body starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u16,
    len: u16,
}

impl Span {
    /// `part`, a slice of `text` (`text` at most `u16::MAX` bytes long).
    fn of(text: &str, part: &str) -> Option<Span> {
        let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        (start + part.len() <= text.len()).then_some(())?;
        Some(Span {
            start: start.try_into().ok()?,
            len: part.len().try_into().ok()?,
        })
    }

    fn get(self, text: &str) -> Option<&str> {
        let start = usize::from(self.start);
        text.get(start..start + usize::from(self.len))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeptConn {
    addr_type: AddrType,
    address: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeptPt {
    pt: u8,
    kind: Kind,
    encoding: Option<Span>,
    clock: u32,
    channels: Option<u16>,
    fmtp: Option<Span>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeptAudio {
    index: u16,
    kind: Span,
    port: u16,
    port_count: Option<u16>,
    proto: Span,
    formats: Span,
    codecs: [KeptPt; KEPT_PTS],
    codec_count: u8,
    conn: Option<KeptConn>,
    dir: Option<Direction>,
    rtcp_mux: bool,
    rtcp: Option<Span>,
}

/// What [`View::scan`] found in one body, kept without borrowing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptView {
    /// The body's address and length: the only text this view is given back for.
    at: usize,
    len: usize,
    session_conn: Option<KeptConn>,
    session_dir: Option<Direction>,
    audio: Option<KeptAudio>,
    in_order: bool,
    max_formats: u16,
    media_count: u16,
}

fn conn_of(text: &str, c: Conn<'_>) -> Option<KeptConn> {
    Some(KeptConn {
        addr_type: c.addr_type,
        address: Span::of(text, c.address)?,
    })
}

fn conn_in<'a>(text: &'a str, c: KeptConn) -> Option<Conn<'a>> {
    Some(Conn {
        addr_type: c.addr_type,
        address: c.address.get(text)?,
    })
}

/// `Option<T>` mapped through a fallible `f`: `None` stays `None`, a failure fails.
fn map_opt<T, U>(o: Option<T>, f: impl FnOnce(T) -> Option<U>) -> Option<Option<U>> {
    match o {
        None => Some(None),
        Some(t) => f(t).map(Some),
    }
}

impl KeptView {
    /// Keeps `view`; `None` when it does not fit (a body over 64 KiB, more than [`KEPT_PTS`]
    /// audio payload types).
    pub fn keep(view: &View<'_>) -> Option<KeptView> {
        let text = view.text;
        u16::try_from(text.len()).ok()?;
        let audio = map_opt(view.audio.as_ref(), |a| {
            let items = a.codecs.items();
            if items.len() > KEPT_PTS {
                return None;
            }
            let blank = KeptPt {
                pt: 0,
                kind: Kind::Other,
                encoding: None,
                clock: 0,
                channels: None,
                fmtp: None,
            };
            let mut codecs = [blank; KEPT_PTS];
            for (slot, p) in codecs.iter_mut().zip(items) {
                *slot = KeptPt {
                    pt: p.pt,
                    kind: p.kind,
                    encoding: map_opt(p.encoding, |e| Span::of(text, e))?,
                    clock: p.clock,
                    channels: p.channels,
                    fmtp: map_opt(p.fmtp, |f| Span::of(text, f))?,
                };
            }
            Some(KeptAudio {
                index: a.index.try_into().ok()?,
                kind: Span::of(text, a.m.kind)?,
                port: a.m.port,
                port_count: a.m.port_count,
                proto: Span::of(text, a.m.proto)?,
                formats: Span::of(text, a.m.formats)?,
                codecs,
                codec_count: items.len() as u8,
                conn: map_opt(a.conn, |c| conn_of(text, c))?,
                dir: a.dir,
                rtcp_mux: a.rtcp_mux,
                rtcp: map_opt(a.rtcp, |r| Span::of(text, r))?,
            })
        })?;
        Some(KeptView {
            at: text.as_ptr() as usize,
            len: text.len(),
            session_conn: map_opt(view.session_conn, |c| conn_of(text, c))?,
            session_dir: view.session_dir,
            audio,
            in_order: view.in_order,
            max_formats: view.max_formats.try_into().ok()?,
            media_count: view.media_count.try_into().ok()?,
        })
    }

    /// The view of `body` again, if `body` is the body this view was kept from.
    pub fn view<'a>(&self, body: &'a [u8]) -> Option<View<'a>> {
        if body.as_ptr() as usize != self.at || body.len() != self.len {
            return None;
        }
        // The same bytes the scan checked: valid UTF-8, so this cannot fail.
        let text = std::str::from_utf8(body).ok()?;
        let audio = map_opt(self.audio.as_ref(), |a| {
            let mut codecs = CodecList::new();
            for p in &a.codecs[..usize::from(a.codec_count)] {
                codecs.push(Pt {
                    pt: p.pt,
                    kind: p.kind,
                    encoding: map_opt(p.encoding, |e| e.get(text))?,
                    clock: p.clock,
                    channels: p.channels,
                    fmtp: map_opt(p.fmtp, |f| f.get(text))?,
                });
            }
            Some(Audio {
                index: a.index.into(),
                m: MLine {
                    kind: a.kind.get(text)?,
                    port: a.port,
                    port_count: a.port_count,
                    proto: a.proto.get(text)?,
                    formats: a.formats.get(text)?,
                },
                codecs,
                conn: map_opt(a.conn, |c| conn_in(text, c))?,
                dir: a.dir,
                rtcp_mux: a.rtcp_mux,
                rtcp: map_opt(a.rtcp, |r| r.get(text))?,
            })
        })?;
        Some(View {
            text,
            session_conn: map_opt(self.session_conn, |c| conn_in(text, c))?,
            session_dir: self.session_dir,
            audio,
            in_order: self.in_order,
            max_formats: self.max_formats.into(),
            media_count: self.media_count.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::ALL;
    use super::*;

    /// Every truncation and a few single-byte changes of a body.
    fn mutations(body: &str) -> Vec<Vec<u8>> {
        let b = body.as_bytes();
        let mut out = vec![b.to_vec()];
        for n in 0..b.len() {
            out.push(b[..n].to_vec());
            for x in [b'=', b' ', b'\n', b'0', b'/'] {
                let mut m = b.to_vec();
                m[n] = x;
                out.push(m);
            }
        }
        out
    }

    /// A kept view gives back exactly the view the scan made (the same slices of the same
    /// body), and nothing for another body.
    #[test]
    fn kept_view_is_the_scanned_view() {
        let mut kept = 0;
        for body in ALL.iter().flat_map(|b| mutations(b)) {
            let Ok(v) = View::scan(&body) else {
                continue;
            };
            let Some(k) = KeptView::keep(&v) else {
                assert!(v.codecs().items().len() > KEPT_PTS);
                continue;
            };
            kept += 1;
            let again = k.view(&body).expect("same body");
            assert_eq!(format!("{again:?}"), format!("{v:?}"));
            assert_eq!(again.text().as_ptr(), v.text().as_ptr());
            let copy = body.clone();
            assert!(k.view(&copy).is_none(), "another body's address");
            assert!(k.view(&body[..body.len() - 1]).is_none());
        }
        assert!(kept > 1000, "{kept}");
    }

    #[test]
    fn too_many_payload_types_are_not_kept() {
        let pts: Vec<String> = (96..96 + KEPT_PTS as u8 + 1)
            .map(|p| p.to_string())
            .collect();
        let body = format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP {}\r\n",
            pts.join(" ")
        );
        let v = View::scan(body.as_bytes()).unwrap();
        assert!(KeptView::keep(&v).is_none());
        let fewer = body.replace(" 112\r\n", "\r\n");
        let v = View::scan(fewer.as_bytes()).unwrap();
        assert!(KeptView::keep(&v).is_some());
    }
}
