//! Small hand-written writers for the values sipbox prints on every message: decimal numbers,
//! fixed-width hex (tags, Call-IDs, markers, channel numbers), IP addresses and `host:port` (RFC 3261 §25.1 `hostport`, IPv6 references in brackets).
//! They append to a `String` without `core::fmt` (whose `Ipv4Addr` printing alone costs
//! over a thousand instructions) and without allocating beyond the buffer's growth.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Appends the decimal digits of `n`.
pub fn push_decimal(out: &mut String, n: usize) {
    super::text::push_decimal_str(out, n);
}

/// The lower-case hex digit of the low nibble of `d`, as a char the compiler knows is ASCII
/// (masked below 0x80): a `String` push then stores one byte, with no UTF-8 encoding.
#[inline]
fn hex_digit(d: u8) -> char {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    char::from(HEX[usize::from(d & 0xf)] & 0x7f)
}

/// Appends the low `width` hex digits of `n`, lower case and zero-padded: what
/// `format!("{n:0width$x}")` prints when `n` fits in `width` digits (at most 32): one
/// reserve, then a known-ASCII push per digit.
pub fn push_hex(out: &mut String, n: u128, width: usize) {
    let width = width.min(32);
    out.reserve(width);
    for i in (0..width).rev() {
        out.push(hex_digit((n >> (4 * i)) as u8));
    }
}

/// Appends `bytes` as lowercase hex, two digits each (what `{:02x}` prints per byte), from a
/// table: every request we send gets a branch and every dialog a tag, and `core::fmt` costs
/// about 250 instructions a byte where this costs a few.
pub fn push_hex_bytes(out: &mut String, bytes: &[u8]) {
    out.reserve(2 * bytes.len());
    for b in bytes {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(*b));
    }
}

/// `n` as 16 hex digits (a tag, a loop marker): `format!("{n:016x}")` without `core::fmt`.
pub fn hex16(n: u64) -> String {
    let mut s = String::with_capacity(16);
    push_hex(&mut s, u128::from(n), 16);
    s
}

/// Appends an IPv4 address in dotted-quad form: one reserve, then a push per digit and dot,
/// each a known ASCII char (no UTF-8 encoding, no check of a buffer's text, no copy).
pub fn push_ipv4(out: &mut String, ip: Ipv4Addr) {
    let digit = |d: u8| char::from(b'0' + d % 10);
    out.reserve(15);
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(digit(octet / 100));
        }
        if octet >= 10 {
            out.push(digit(octet / 10));
        }
        out.push(digit(octet));
    }
}

/// Prints an IPv4 address into a stack buffer and hands it to `f` (for an inline
/// `CompactString`, which takes the text whole).
fn with_ipv4<R>(ip: Ipv4Addr, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 15];
    let mut n = 0;
    let mut put = |b: u8| {
        if let Some(slot) = buf.get_mut(n) {
            *slot = b;
            n += 1;
        }
    };
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            put(b'.');
        }
        if octet >= 100 {
            put(b'0' + octet / 100);
        }
        if octet >= 10 {
            put(b'0' + octet / 10 % 10);
        }
        put(b'0' + octet % 10);
    }
    // Digits and dots only: always UTF-8.
    f(std::str::from_utf8(buf.get(..n).unwrap_or(&[])).unwrap_or(""))
}

/// Appends an address as a URI or Via host: IPv4 as is, IPv6 in brackets (RFC 3261 §19.1.1).
pub fn push_host(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => push_ipv4(out, a),
        IpAddr::V6(a) => {
            // Rare here (loopback and LAN deployments are IPv4): the standard printer keeps
            // RFC 5952's compression rules in one place.
            use std::fmt::Write as _;
            let _ = write!(out, "[{a}]");
        }
    }
}

/// Appends `host:port` (IPv6 in brackets).
pub fn push_host_port(out: &mut String, addr: SocketAddr) {
    push_host(out, addr.ip());
    out.push(':');
    push_decimal(out, usize::from(addr.port()));
}

/// The host text of an address as a new String (IPv6 in brackets), without `core::fmt` for
/// IPv4.
pub fn host_string(ip: IpAddr) -> String {
    let mut s = String::with_capacity(15);
    push_host(&mut s, ip);
    s
}

/// [`host_string`] as a URI's host field: an IPv4 address (at most 15 bytes) is kept inline,
/// with no allocation.
pub fn host_compact(ip: IpAddr) -> compact_str::CompactString {
    match ip {
        IpAddr::V4(a) => with_ipv4(a, |s| s.into()),
        IpAddr::V6(_) => host_string(ip).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_the_standard_printer_does() {
        for o in 0..=255u8 {
            let v = Ipv4Addr::new(o, 255 - o, o / 3, o.wrapping_mul(7));
            let mut s = String::new();
            push_ipv4(&mut s, v);
            assert_eq!(s, v.to_string());
        }
        for a in [
            "0.0.0.0:0",
            "127.0.0.1:5060",
            "10.20.30.40:65535",
            "255.255.255.255:1",
            "192.0.2.1:80",
            "[::1]:5062",
            "[2001:db8::9:1]:5061",
            "[::ffff:192.0.2.1]:5060",
            "[fe80::1:2:3:4]:9",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            let mut s = String::new();
            push_host_port(&mut s, addr);
            assert_eq!(s, addr.to_string(), "{a}");
            let want = match addr.ip() {
                IpAddr::V4(v) => v.to_string(),
                IpAddr::V6(v) => format!("[{v}]"),
            };
            assert_eq!(host_string(addr.ip()), want, "{a}");
            assert_eq!(host_compact(addr.ip()), want, "{a}");
            if let IpAddr::V4(v) = addr.ip() {
                let mut s = String::from("x");
                push_ipv4(&mut s, v);
                assert_eq!(s, format!("x{v}"));
            }
        }
    }

    #[test]
    fn hex_is_what_format_prints() {
        for n in [0u64, 1, 0xa, 0xdead_beef, 0x0123_4567_89ab_cdef, u64::MAX] {
            assert_eq!(hex16(n), format!("{n:016x}"));
            let mut s = String::from("x");
            push_hex(&mut s, u128::from(n as u32), 8);
            assert_eq!(s, format!("x{:08x}", n as u32));
        }
        let big = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        for n in [0u128, 42, big, u128::MAX] {
            let mut s = String::new();
            push_hex(&mut s, n, 32);
            assert_eq!(s, format!("{n:032x}"));
        }
        let bytes = [0x00, 0x0f, 0x10, 0xa5, 0xff, 0x7e];
        let mut s = String::from("x");
        push_hex_bytes(&mut s, &bytes);
        let fmt: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(s, format!("x{fmt}"));
        // Longer than one 16-byte chunk, and every byte value.
        let all: Vec<u8> = (0..=255u8).chain(0..17).collect();
        for len in [0, 15, 16, 17, 33, all.len()] {
            let mut s = String::new();
            push_hex_bytes(&mut s, &all[..len]);
            let fmt: String = all[..len].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(s, fmt, "{len} bytes");
        }
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        // What the char-by-char writer printed.
        let by_char = |s: &str| {
            let mut out = String::from("\"");
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            out
        };
        for s in [
            "",
            "Alice",
            "a\"b",
            "\\",
            "\"\"",
            "x\\\"y\u{e9}\\",
            "\u{e9}t\u{e9} \"q\"",
        ] {
            let mut out = String::from("x");
            crate::sip::text::quote_into(&mut out, s);
            assert_eq!(out, format!("x{}", by_char(s)), "{s:?}");
        }
    }

    #[test]
    fn decimals() {
        for n in [
            0usize,
            7,
            9,
            10,
            99,
            100,
            999,
            1_000,
            9_999,
            10_000,
            65_535,
            99_999,
            100_000,
            4_294_967_295,
            4_294_967_296,
            usize::MAX,
        ] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
            let mut v = b"x".to_vec();
            crate::sip::text::push_decimal(&mut v, n);
            assert_eq!(v, format!("x{n}").into_bytes());
        }
    }
}
