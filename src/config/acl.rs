//! Asterisk `permit=` / `deny=` access lists (`main/acl.c`).
//!
//! A rule is `addr[/mask]`, the mask dotted (`255.255.255.0`, or a full IPv6 mask) or a prefix
//! length (`/24`, `/64`); without a mask the rule names one host. A leading `!` inverts the
//! rule (it matches addresses *outside* the range). Evaluation is `ast_apply_ha`'s: the verdict
//! starts as "allow", every rule that matches sets it to its own sense, so the last matching
//! rule wins. IPv4 rules never match IPv6 addresses and the reverse, except that an
//! IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is checked as the IPv4 address it carries.

use std::net::IpAddr;

/// Whether a rule lets matching addresses in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    /// `permit=`
    Permit,
    /// `deny=`
    Deny,
}

/// One parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Permit or deny.
    pub sense: Sense,
    /// True for a v6 rule, false for v4.
    pub v6: bool,
    /// The address with the mask applied, as a number (v4 in the low 32 bits).
    pub addr: u128,
    /// The mask as a number (v4 in the low 32 bits).
    pub mask: u128,
    /// `!addr/mask`: the rule matches addresses outside the range.
    pub negated: bool,
}

impl Rule {
    /// Parses `[!]addr[/mask]`.
    pub fn parse(sense: Sense, text: &str) -> Result<Rule, String> {
        let text = text.trim();
        let (negated, text) = match text.strip_prefix('!') {
            Some(t) => (true, t.trim()),
            None => (false, text),
        };
        let (addr_s, mask_s) = match text.split_once('/') {
            Some((a, m)) => (a.trim(), Some(m.trim())),
            None => (text, None),
        };
        let addr: IpAddr = addr_s
            .parse()
            .map_err(|_| format!("'{addr_s}' is not an IP address"))?;
        let (v6, bits, addr) = match addr {
            IpAddr::V4(a) => (false, 32u32, u128::from(u32::from(a))),
            IpAddr::V6(a) => (true, 128u32, u128::from(a)),
        };
        let full = if bits == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        let mask = match mask_s {
            None => full,
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
                let len: u32 = m
                    .parse()
                    .ok()
                    .filter(|l| *l <= bits)
                    .ok_or_else(|| format!("prefix length '/{m}' is larger than {bits}"))?;
                full & !full.checked_shr(len).unwrap_or(0)
            }
            Some(m) => match m.parse::<IpAddr>() {
                Ok(IpAddr::V4(mask)) if !v6 => u128::from(u32::from(mask)),
                Ok(IpAddr::V6(mask)) if v6 => u128::from(mask),
                _ => return Err(format!("'{m}' is not a netmask for '{addr_s}'")),
            },
        };
        Ok(Rule {
            sense,
            v6,
            addr: addr & mask,
            mask,
            negated,
        })
    }

    /// True when `ip` falls under this rule.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let (v6, n) = match ip {
            IpAddr::V4(a) => (false, u128::from(u32::from(a))),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (false, u128::from(u32::from(v4))),
                None => (true, u128::from(a)),
            },
        };
        if v6 != self.v6 {
            return false;
        }
        ((n & self.mask) == self.addr) != self.negated
    }
}

/// An ordered permit/deny list. Empty allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    rules: Vec<Rule>,
}

impl Acl {
    /// An empty list (allows everything).
    pub fn new() -> Acl {
        Acl::default()
    }

    /// Appends a rule parsed from a `permit=` / `deny=` value.
    pub fn push(&mut self, sense: Sense, text: &str) -> Result<(), String> {
        self.rules.push(Rule::parse(sense, text)?);
        Ok(())
    }

    /// The verdict for `ip`: allowed unless the last matching rule is a deny.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|r| r.matches(ip))
            .is_none_or(|r| r.sense == Sense::Permit)
    }

    /// True when no rule was given.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(rules: &[(Sense, &str)]) -> Acl {
        let mut a = Acl::new();
        for (s, t) in rules {
            a.push(*s, t).expect("valid rule");
        }
        a
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn empty_allows_all() {
        assert!(Acl::new().allows(ip("1.2.3.4")));
        assert!(Acl::new().is_empty());
    }

    #[test]
    fn deny_all_permit_lan_dotted_and_prefix() {
        for lan in [
            "192.168.1.0/255.255.255.0",
            "192.168.1.0/24",
            "192.168.1.77/24",
        ] {
            let a = acl(&[(Sense::Deny, "0.0.0.0/0.0.0.0"), (Sense::Permit, lan)]);
            assert!(a.allows(ip("192.168.1.5")), "{lan}");
            assert!(a.allows(ip("192.168.1.255")), "{lan}");
            assert!(!a.allows(ip("192.168.2.5")), "{lan}");
            assert!(!a.allows(ip("8.8.8.8")), "{lan}");
            assert!(a.allows(ip("::ffff:192.168.1.9")), "{lan}");
            // an IPv4 deny-all does not touch IPv6
            assert!(a.allows(ip("2001:db8::1")), "{lan}");
        }
    }

    #[test]
    fn last_match_wins() {
        let a = acl(&[
            (Sense::Permit, "10.0.0.0/8"),
            (Sense::Deny, "10.1.0.0/16"),
            (Sense::Permit, "10.1.2.3"),
        ]);
        assert!(a.allows(ip("10.9.9.9")));
        assert!(!a.allows(ip("10.1.9.9")));
        assert!(a.allows(ip("10.1.2.3")));
        assert!(a.allows(ip("11.0.0.1")), "no match keeps the initial allow");
    }

    #[test]
    fn ipv6_rules() {
        let a = acl(&[(Sense::Deny, "::/0"), (Sense::Permit, "2001:db8::/32")]);
        assert!(a.allows(ip("2001:db8:1::5")));
        assert!(!a.allows(ip("2001:db9::5")));
        assert!(a.allows(ip("10.0.0.1")), "v6 rules leave v4 alone");
        let host = acl(&[(Sense::Deny, "::1/128"), (Sense::Deny, "2001:db8::/0")]);
        assert!(!host.allows(ip("::1")));
        assert!(
            !host.allows(ip("2001:db8::2")),
            "/0 matches every v6 address"
        );
        assert!(host.allows(ip("127.0.0.1")));
        let b = acl(&[(Sense::Deny, "fe80::/ffff:ffff:ffff:ffff::")]);
        assert!(!b.allows(ip("fe80::1")));
        assert!(b.allows(ip("fe81::1")));
    }

    #[test]
    fn negated_rule() {
        let a = acl(&[(Sense::Deny, "!10.0.0.0/8")]);
        assert!(a.allows(ip("10.2.3.4")));
        assert!(!a.allows(ip("192.0.2.1")));
    }

    #[test]
    fn bad_rules() {
        let mut a = Acl::new();
        assert!(a.push(Sense::Permit, "10.0.0.0/33").is_err());
        assert!(a.push(Sense::Permit, "10.0.0/24").is_err());
        assert!(a.push(Sense::Permit, "10.0.0.0/255.0.0.256").is_err());
        assert!(a.push(Sense::Permit, "10.0.0.0/ffff::").is_err());
        assert!(a.push(Sense::Permit, "::1/129").is_err());
        assert!(a.push(Sense::Permit, "").is_err());
        assert!(a
            .push(Sense::Permit, "1.2.3.4/99999999999999999999")
            .is_err());
        assert!(a.is_empty());
    }
}
