//! The CSeq header (RFC 3261 §8.1.1.5, §20.16): a 32-bit sequence number and a method.

use std::fmt;

use super::method::Method;
use super::text::{digits_end, is_token, parse_u32, token_end, trim};

/// `CSeq: <seq> <method>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number; values past `u32::MAX` are a parse error.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses a CSeq value (leading zeros allowed, LWS between the parts).
    pub fn parse(s: &str) -> Result<CSeq, String> {
        let s = trim(s);
        if let Some(c) = Self::parse_plain(s) {
            return Ok(c);
        }
        let split = s
            .bytes()
            .position(|b| b == b' ' || b == b'\t')
            .ok_or("missing method")?;
        let seq = parse_u32(s.get(..split).unwrap_or("")).ok_or("bad sequence number")?;
        let method = trim(s.get(split..).unwrap_or(""));
        if !is_token(method) {
            return Err("bad method".into());
        }
        Ok(CSeq {
            seq,
            method: Method::parse(method),
        })
    }

    /// `DIGITS SP token`, what nearly every sender writes, in one pass: the general parse
    /// reads the same number and method from it. `None` for anything else (and for a number
    /// past `u32::MAX`, which the general parse then rejects).
    fn parse_plain(s: &str) -> Option<CSeq> {
        let b = s.as_bytes();
        let d = digits_end(b, 0);
        if d == 0 || b.get(d) != Some(&b' ') || d + 1 == b.len() || token_end(b, d + 1) != b.len() {
            return None;
        }
        Some(CSeq {
            seq: parse_u32(s.get(..d)?)?,
            method: Method::parse(s.get(d + 1..)?),
        })
    }

    /// Writes `<seq> <method>` (what `Display` prints, without `core::fmt`).
    pub fn write_to(&self, out: &mut String) {
        write_cseq(out, self.seq, &self.method);
    }
}

/// Writes a CSeq value `<seq> <method>` without building a [`CSeq`].
pub fn write_cseq(out: &mut String, seq: u32, method: &Method) {
    super::text::push_decimal_str(out, seq as usize);
    out.push(' ');
    out.push_str(method.as_str());
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let c = CSeq::parse(" 0009 \t INVITE ").unwrap();
        assert_eq!((c.seq, &c.method), (9, &Method::Invite));
        assert_eq!(c.to_string(), "9 INVITE");
        for c in [
            CSeq {
                seq: 0,
                method: Method::Ack,
            },
            CSeq {
                seq: u32::MAX,
                method: Method::parse("FOO-BAR"),
            },
        ] {
            let mut s = String::new();
            c.write_to(&mut s);
            assert_eq!(s, c.to_string());
            assert_eq!(CSeq::parse(&s).unwrap(), c);
        }
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("1").is_err());
        assert!(CSeq::parse("x INVITE").is_err());
        assert!(CSeq::parse("1 IN VITE").is_err());
    }

    /// What the general parse (split at the first blank, then trim) reads, for any text.
    fn general(s: &str) -> Result<CSeq, String> {
        let s = trim(s);
        let split = s
            .bytes()
            .position(|b| b == b' ' || b == b'\t')
            .ok_or("missing method")?;
        let seq = parse_u32(&s[..split]).ok_or("bad sequence number")?;
        let method = trim(&s[split..]);
        if !is_token(method) {
            return Err("bad method".into());
        }
        Ok(CSeq {
            seq,
            method: Method::parse(method),
        })
    }

    #[test]
    fn one_pass_form_reads_what_the_general_parse_reads() {
        let seeds = ["1 INVITE", "4294967295 ACK", "0009 FOO-bar.x", "12 BYE"];
        let mut n = 0;
        for s in crate::sip::text::single_edits(&seeds)
            .iter()
            .map(String::as_str)
            .chain([
                "4294967296 INVITE",
                "1  INVITE",
                "1\tINVITE",
                " 1 INVITE ",
                "1 ",
                "1",
                "",
            ])
        {
            let got = CSeq::parse(s);
            assert_eq!(got.is_ok(), general(s).is_ok(), "{s:?}");
            if let (Ok(a), Ok(b)) = (got, general(s)) {
                assert_eq!(a, b, "{s:?}");
                n += 1;
            }
        }
        assert!(n > 100, "{n}");
    }
}
