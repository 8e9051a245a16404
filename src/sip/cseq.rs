//! The CSeq header (RFC 3261 §8.1.1.5, §20.16): a 32-bit sequence number and a method.

use std::fmt;

use super::method::Method;
use super::text::{is_token, parse_u32, trim};

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
}
