//! The stamped top Via of an answer and where the answer goes (RFC 3261 §18.2.2, RFC 3581
//! `rport`, chan_sip's `nat=force_rport`).

use crate::config::sip_values::Nat;
use crate::flow::Flow;
use crate::sip::{HeaderName, RawVia, Request, Via};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// The top Via of `req` (from `source`) as its answers carry it, printed once, and where they
/// go: what [`stamp_via`] under `nat` gives for the request's top Via, read from the received
/// text ([`RawVia`]) instead of an owned [`Via`], so a new transaction decodes no Via (one
/// allocation, the text, where the owned copy took one per field and parameter).
pub fn stamp_request(req: &Request, source: Flow, nat: Nat) -> (String, Flow) {
    let mut text = String::with_capacity(128);
    // The first Via value is the top Via when it scans; otherwise the decoded list (which
    // skips what does not parse) decides, as before.
    // The first Via line's first value: what `get_all(Via).next()` gives, without its
    // iterator over every line.
    let raw = req
        .headers()
        .get(&HeaderName::Via)
        .and_then(|v| crate::sip::text::split_list(v).next());
    let Some(top) = raw.and_then(RawVia::scan) else {
        let top = req.top_via();
        let force = crate::nat::detect::force_rport(nat, top, source.remote);
        let (via, dest) = stamp_via(top, source, force);
        via.write_to(&mut text);
        return (text, dest);
    };
    let from = source.remote;
    let force = crate::nat::detect::force_rport_at(nat, top.host(), top.port(), from);
    let ip = StackText::ip(from.ip());
    let src_ip = ip.as_str();
    let host = top.host();
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let wants_rport = top.has_rport();
    let received = wants_rport || (host != src_ip && unbracketed != src_ip);
    let port = StackText::decimal(from.port());
    let stamp: &[(&str, &str)] = match (received, wants_rport) {
        (true, true) => &[("received", src_ip), ("rport", port.as_str())],
        (true, false) => &[("received", src_ip)],
        (false, _) => &[],
    };
    if !write_in_place(raw.unwrap_or(""), &top, stamp, &mut text) {
        top.write_with(stamp, &mut text);
    }
    let dest = if wants_rport || force {
        source
    } else {
        // The source IP, never a host name from the message (as in stamp_via).
        let remote = SocketAddr::new(from.ip(), top.port().unwrap_or(5060));
        Flow { remote, ..source }
    };
    (text, dest)
}

/// Writes what [`RawVia::write_with`] writes for `raw` (the value `top` scanned from) and
/// `set` by copying `raw` around the stamped values, when `raw` is in the form that printer
/// gives (what phones and SIPp send): `SIP/2.0/` and an upper-case transport, one space, the
/// sent-by as scanned (a port without leading zeros), then parameters with no blank, quote
/// or angle bracket. The printer would give those bytes back unchanged; only the values of
/// `set` differ (the first parameter of each name takes it, keeping its spelling; the names
/// not present follow). False, with nothing written, for any other form.
fn write_in_place(raw: &str, top: &RawVia<'_>, set: &[(&str, &str)], out: &mut String) -> bool {
    let b = raw.as_bytes();
    let Some(sp) = b.iter().position(|&c| c == b' ') else {
        return false;
    };
    let transport = b.get(8..sp).unwrap_or(&[]);
    let host = top.host();
    let h_start = sp + 1;
    let canonical = b.starts_with(b"SIP/2.0/")
        && !transport.is_empty()
        && transport
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        // The scanned host is this very slice of `raw` (an address compare, nothing read).
        && raw.get(h_start..).map(str::as_ptr) == Some(host.as_ptr());
    if !canonical {
        return false;
    }
    let after_host = h_start + host.len();
    let p_start = match (top.port(), b.get(after_host)) {
        (Some(_), Some(b':')) => {
            let d_end = crate::sip::text::digits_end(b, after_host + 1);
            let digits = b.get(after_host + 1..d_end).unwrap_or(&[]);
            if digits.is_empty() || (digits.len() > 1 && digits.first() == Some(&b'0')) {
                return false;
            }
            d_end
        }
        (None, None | Some(b';')) => after_host,
        _ => return false,
    };
    let params = b.get(p_start..).unwrap_or(&[]);
    if !matches!(params.first(), None | Some(b';')) {
        return false;
    }
    // One pass over the parameters: no blank, quote or angle bracket, and where each one's
    // `;` and first `=` are (at most 8 parameters: more are left to the printer).
    const NONE: usize = usize::MAX;
    let mut semis = [0usize; 8];
    let mut eqs = [NONE; 8];
    let mut count = 0;
    for (k, &c) in params.iter().enumerate() {
        match c {
            b';' => {
                let Some(slot) = semis.get_mut(count) else {
                    return false;
                };
                *slot = p_start + k;
                count += 1;
            }
            b'=' => {
                if let Some(eq) = count.checked_sub(1).and_then(|last| eqs.get_mut(last)) {
                    if *eq == NONE {
                        *eq = p_start + k;
                    }
                }
            }
            b'"' | b'<' => return false,
            c if c.is_ascii_whitespace() => return false,
            _ => {}
        }
    }
    let mut done = [false; 4];
    if set.len() > done.len() {
        return false;
    }
    out.reserve(
        raw.len()
            + set
                .iter()
                .map(|(n, v)| n.len() + v.len() + 2)
                .sum::<usize>(),
    );
    // Copied up to here; each parameter runs from its `;` to the next.
    let mut copied = 0;
    for j in 0..count {
        let at = semis.get(j).copied().unwrap_or(b.len());
        let end = semis
            .get(j + 1)
            .copied()
            .filter(|_| j + 1 < count)
            .unwrap_or(b.len());
        let name_end = eqs.get(j).copied().filter(|&e| e != NONE).unwrap_or(end);
        let name = b.get(at + 1..name_end).unwrap_or(&[]);
        let hit = set
            .iter()
            .zip(done.iter_mut())
            .find(|((n, _), d)| !**d && name.eq_ignore_ascii_case(n.as_bytes()));
        if let Some(((_, value), d)) = hit {
            *d = true;
            out.push_str(raw.get(copied..name_end).unwrap_or(""));
            out.push('=');
            out.push_str(value);
            copied = end;
        }
    }
    out.push_str(raw.get(copied..).unwrap_or(""));
    crate::sip::push_unset(out, set, &done);
    true
}

/// A short text on the stack (an address, a port): compared and copied without a String.
struct StackText {
    buf: [u8; 48],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        StackText {
            buf: [0; 48],
            len: 0,
        }
    }

    /// What `ip.to_string()` gives (IPv4 without `core::fmt`).
    fn ip(ip: IpAddr) -> Self {
        let mut t = StackText::new();
        match ip {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        t.push(b'.');
                    }
                    t.push_decimal(u16::from(octet));
                }
            }
            // The longest IPv6 text is 45 bytes: it fits.
            IpAddr::V6(v6) => {
                let _ = write!(t, "{v6}");
            }
        }
        t
    }

    fn decimal(n: u16) -> Self {
        let mut t = StackText::new();
        t.push_decimal(n);
        t
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_decimal(&mut self, n: u16) {
        let mut digits = [0u8; 5];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[i..] {
            self.push(d);
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Stamps the top Via of a request that came over `source` the way RFC 3581 wants, and says
/// where the response goes: with `rport`, back to the exact source address and port; with
/// `force_rport` (chan_sip's `nat=force_rport`: "pretend there was an rport") the same, but
/// the Via only gains `received`; otherwise to the source IP (the `received` address) at the
/// Via's sent-by port.
pub fn stamp_via(top: &Via, source: Flow, force_rport: bool) -> (Via, Flow) {
    let mut via = top.clone();
    let from = source.remote;
    let src_ip = from.ip().to_string();
    // An IPv6 sent-by is bracketed: compared without building "[addr]" for every request.
    let unbracketed = via
        .host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&via.host);
    let wants_rport = via.rport().is_some();
    if wants_rport || (via.host != src_ip && unbracketed != src_ip) {
        via.set_param("received", Some(src_ip));
    }
    if wants_rport {
        via.set_param("rport", Some(from.port().to_string()));
        (via, source)
    } else if force_rport {
        (via, source)
    } else {
        // The source IP, never a host name from the message: answers cannot be steered
        // elsewhere by what a datagram claims.
        let port = via.port.unwrap_or(5060);
        let remote = std::net::SocketAddr::new(from.ip(), port);
        (via, Flow { remote, ..source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{parse, Message};

    fn request(vias: &str) -> Request {
        let text = format!(
            "OPTIONS sip:b@127.0.0.1 SIP/2.0\r\n{vias}From: <sip:a@h>;tag=1\r\n\
             To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_stamped_text_is_what_the_owned_via_prints() {
        let vias = [
            "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1\r\n",
            "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1;rport\r\n",
            "Via: SIP/2.0/udp 198.51.100.7;branch=z9hG4bK1;RPORT=9;received=x\r\n",
            "Via: SIP/2.0/UDP phone.local;branch=z9hG4bK1\r\n",
            "Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1\r\n",
            "Via: SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bK1, SIP/2.0/UDP b\r\n",
            "Via: SIP/2.0/UDP 192.0.2.1 ; branch = z9hG4bK1 ; rport\r\nVia: SIP/2.0/TCP c\r\n",
            // Forms the in-place copy must leave to the printer, or copy exactly.
            "Via: SIP/2.0/UDP 192.0.2.1:05070;branch=z9hG4bK1;rport\r\n",
            "Via: SIP/2.0/UDP 192.0.2.1:0;branch=z9hG4bK1\r\n",
            "Via: SIP/2.0/Udp 192.0.2.1:5070;branch=z9hG4bK1;rport\r\n",
            "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK1;Received=192.0.2.9;RPORT\r\n",
            "Via: SIP/2.0/UDP 198.51.100.7:5060;rport;branch=z9hG4bK1;x=a;received=q;lr\r\n",
            "Via: SIP/2.0/TLS [2001:db8::1];branch=z9hG4bK1;rport\r\n",
            "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1;x=\"a b\";rport\r\n",
            "Via: SIP/2.0/UDP 192.0.2.1:5070\r\n",
        ];
        let sources = [
            "192.0.2.1:5070",
            "198.51.100.7:5060",
            "[2001:db8::1]:5060",
            "[::1]:7",
        ];
        let nats = [
            Nat::DEFAULT,
            Nat {
                force_rport: true,
                ..Nat::DEFAULT
            },
            Nat {
                auto_force_rport: true,
                ..Nat::DEFAULT
            },
        ];
        for v in vias {
            let req = request(v);
            for s in sources {
                let source = Flow::udp(s.parse().unwrap());
                for nat in nats {
                    let force = crate::nat::detect::force_rport(nat, req.top_via(), source.remote);
                    let (via, dest) = stamp_via(req.top_via(), source, force);
                    let (text, got) = stamp_request(&req, source, nat);
                    assert_eq!((text, got), (via.to_string(), dest), "{v} {s} {nat:?}");
                }
            }
        }
    }

    #[test]
    fn addresses_print_as_to_string_does() {
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.20.3.4",
            "::1",
            "2001:db8::8:800:200c:417a",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(StackText::ip(ip).as_str(), ip.to_string());
        }
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(StackText::ip(mapped).as_str(), mapped.to_string());
        for n in [0, 7, 10, 5060, 65535] {
            assert_eq!(StackText::decimal(n).as_str(), n.to_string());
        }
    }
}
