//! Hang-up causes: the dialplan says why a call ends in Q.850 terms (`${HANGUPCAUSE}`,
//! `Hangup(17)`, `Hangup(USER_BUSY)`), never as a SIP status.
//!
//! Reading list: ITU-T Q.850 §2.2 (cause values); Asterisk `include/asterisk/causes.h` (the
//! names), `main/channel.c` (`ast_str2cause`), `main/pbx.c` (`pbx_builtin_hangup`); RFC 3398
//! §8.2.6.1 and Asterisk `channels/sip/sip2cause.c` (cause ↔ SIP status, done by the engine).

use std::fmt;

/// A Q.850 cause value (1–127).
///
/// The engine turns the cause a dialplan ends with ([`super::Command::End`]) into the final
/// response of a call that was never answered. The causes the runner itself ends with, and the
/// statuses they stand for:
///
/// | cause | when the dialplan ends with it | SIP status |
/// | --- | --- | --- |
/// | [`Cause::UNALLOCATED`] (1) | no such extension; never entered the dialplan; no `i` | 404 |
/// | [`Cause::INVALID_NUMBER_FORMAT`] (28) | as 1, but more digits could match and the entry has `allowoverlap=yes` | 484 |
/// | [`Cause::NORMAL_CLEARING`] (16) | ran off the end, after `Hangup()`, after an answered Dial | 480 |
/// | [`Cause::NO_ANSWER`] (19) | `WaitExten` timed out and there is no `t` extension | 480 |
/// | [`Cause::USER_BUSY`] (17) | after `Busy()`; ran off the end with `DIALSTATUS=BUSY` | 486 |
/// | [`Cause::CONGESTION`] (34) | after `Congestion()`; ran off the end with `DIALSTATUS=CONGESTION` | 503 |
/// | [`Cause::FAILURE`] (38) | a dialplan error: no such application, bad `Goto`, a `Goto` loop | 500 |
/// | [`Cause::INTERWORKING`] (127) | the caller hung up (the INVITE is answered 487) | 487 |
///
/// 1, 17, 19 and 34 map as RFC 3398 says. 16 has no SIP status in RFC 3398; sipbox answers
/// 480 as it always has. 38 → 500 is Asterisk's `hangup_cause2sip` (`AST_CAUSE_FAILURE`).
/// 127 for 487 follows Asterisk's `sip2cause.c`, which maps 487 Request Terminated to
/// `AST_CAUSE_INTERWORKING`: no Q.850 cause says "the caller cancelled".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cause(u8);

/// Asterisk's cause names (`causes.h`, `ast_str2cause`), the ones sipbox knows.
const NAMES: [(&str, Cause); 20] = [
    ("UNALLOCATED", Cause::UNALLOCATED),
    ("NO_ROUTE_TRANSIT_NET", Cause(2)),
    ("NO_ROUTE_DESTINATION", Cause::NO_ROUTE_DESTINATION),
    ("NORMAL_CLEARING", Cause::NORMAL_CLEARING),
    ("USER_BUSY", Cause::USER_BUSY),
    ("NO_USER_RESPONSE", Cause::NO_USER_RESPONSE),
    ("NO_ANSWER", Cause::NO_ANSWER),
    ("SUBSCRIBER_ABSENT", Cause::SUBSCRIBER_ABSENT),
    ("CALL_REJECTED", Cause::CALL_REJECTED),
    ("NUMBER_CHANGED", Cause(22)),
    ("DESTINATION_OUT_OF_ORDER", Cause(27)),
    ("INVALID_NUMBER_FORMAT", Cause(28)),
    ("NORMAL_UNSPECIFIED", Cause::NORMAL_UNSPECIFIED),
    ("NORMAL_CIRCUIT_CONGESTION", Cause::CONGESTION),
    ("NETWORK_OUT_OF_ORDER", Cause::FAILURE),
    ("NORMAL_TEMPORARY_FAILURE", Cause(41)),
    ("SWITCH_CONGESTION", Cause(42)),
    ("REQUESTED_CHAN_UNAVAIL", Cause::CHAN_UNAVAILABLE),
    ("BEARERCAPABILITY_NOTAVAIL", Cause(58)),
    ("INTERWORKING", Cause::INTERWORKING),
];

impl Cause {
    /// 1: unallocated (unassigned) number.
    pub const UNALLOCATED: Cause = Cause(1);
    /// 28: the number is incomplete (484 Address Incomplete).
    pub const INVALID_NUMBER_FORMAT: Cause = Cause(28);
    /// 3: no route to destination (Asterisk's `UNREGISTERED`).
    pub const NO_ROUTE_DESTINATION: Cause = Cause(3);
    /// 16: normal call clearing.
    pub const NORMAL_CLEARING: Cause = Cause(16);
    /// 17: user busy.
    pub const USER_BUSY: Cause = Cause(17);
    /// 18: no user responding.
    pub const NO_USER_RESPONSE: Cause = Cause(18);
    /// 19: no answer from user (user alerted).
    pub const NO_ANSWER: Cause = Cause(19);
    /// 20: subscriber absent.
    pub const SUBSCRIBER_ABSENT: Cause = Cause(20);
    /// 21: call rejected.
    pub const CALL_REJECTED: Cause = Cause(21);
    /// 31: normal, unspecified.
    pub const NORMAL_UNSPECIFIED: Cause = Cause(31);
    /// 34: no circuit/channel available (Asterisk's `CONGESTION`).
    pub const CONGESTION: Cause = Cause(34);
    /// 38: network out of order (Asterisk's `FAILURE`).
    pub const FAILURE: Cause = Cause(38);
    /// 44: requested circuit/channel not available.
    pub const CHAN_UNAVAILABLE: Cause = Cause(44);
    /// 127: interworking, unspecified.
    pub const INTERWORKING: Cause = Cause(127);

    /// The cause with this Q.850 value, if it is one (1–127).
    pub fn new(value: u8) -> Option<Cause> {
        (1..=127).contains(&value).then_some(Cause(value))
    }

    /// The Q.850 value.
    pub fn value(self) -> u8 {
        self.0
    }

    /// Asterisk's name (`USER_BUSY`), for the causes sipbox knows by name.
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|(_, c)| *c == self).map(|(n, _)| *n)
    }

    /// `Hangup()`'s argument: a name as Asterisk's `ast_str2cause` reads it (case-insensitive,
    /// the name may be followed by anything), else a number 1–127.
    pub fn parse(s: &str) -> Option<Cause> {
        let s = s.trim();
        let named = NAMES.iter().find(|(n, _)| {
            s.get(..n.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(n))
        });
        match named {
            Some((_, c)) => Some(*c),
            None => s.parse::<u8>().ok().and_then(Cause::new),
        }
    }
}

/// The number, as `${HANGUPCAUSE}` shows it.
impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangup_arguments_are_numbers_or_asterisk_names() {
        assert_eq!(Cause::parse("17"), Some(Cause::USER_BUSY));
        assert_eq!(Cause::parse(" user_busy "), Some(Cause::USER_BUSY));
        assert_eq!(
            Cause::parse("NORMAL_CLEARING"),
            Some(Cause::NORMAL_CLEARING)
        );
        assert_eq!(
            Cause::parse("NORMAL_CIRCUIT_CONGESTION"),
            Some(Cause::CONGESTION)
        );
        assert_eq!(Cause::parse("0"), None);
        assert_eq!(Cause::parse("128"), None);
        assert_eq!(Cause::parse("busy"), None);
        assert_eq!(Cause::parse(""), None);
        assert_eq!(Cause::INTERWORKING.name(), Some("INTERWORKING"));
        assert_eq!(Cause::NORMAL_CLEARING.to_string(), "16");
    }

    #[test]
    fn names_are_unique_and_in_range() {
        for (i, (n, c)) in NAMES.iter().enumerate() {
            assert!(Cause::new(c.value()).is_some(), "{n}");
            assert!(NAMES[i + 1..].iter().all(|(m, d)| m != n && d != c), "{n}");
            assert_eq!(Cause::parse(n), Some(*c));
        }
    }
}
