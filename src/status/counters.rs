//! The counters the engine keeps for `/metrics` beyond its older [`crate::engine::Stats`]:
//! calls by how they ended, authentication failures by reason, bans, reloads, and the loop's
//! turn times. Plain integers bumped where the event happens; reading them is a copy.

use std::time::Duration;

/// How a call ended, as the caller saw it (Asterisk's DIALSTATUS words, lower-cased).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The caller was answered (by a callee or by sipbox itself).
    Answered,
    /// 486 Busy Here / 600 Busy Everywhere.
    Busy,
    /// 480 / 408: nobody answered, or the callee is not registered or unreachable.
    NoAnswer,
    /// The caller hung up (CANCEL) before an answer.
    Cancelled,
    /// 503: no route, call limits, no RTP port.
    Congestion,
    /// Any other refusal (404, 488, 403, 5xx, ...).
    Failed,
}

impl Outcome {
    /// Every outcome, in the order /metrics lists them.
    pub const ALL: [Outcome; 6] = [
        Outcome::Answered,
        Outcome::Busy,
        Outcome::NoAnswer,
        Outcome::Cancelled,
        Outcome::Congestion,
        Outcome::Failed,
    ];

    /// The `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "noanswer",
            Outcome::Cancelled => "cancelled",
            Outcome::Congestion => "congestion",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome of an unanswered call whose caller was told `code`.
    pub fn of_refusal(code: u16) -> Outcome {
        match code {
            486 | 600 => Outcome::Busy,
            408 | 480 => Outcome::NoAnswer,
            487 => Outcome::Cancelled,
            503 => Outcome::Congestion,
            _ => Outcome::Failed,
        }
    }
}

/// Why credentials were refused (`crate::auth::Refusal`, as a label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Wrong digest response.
    WrongPassword,
    /// No such account.
    UnknownAccount,
    /// The account's permit/deny refused the source.
    AclDenied,
    /// Credentials that could not be used at all.
    BadCredentials,
    /// A wrong VoiceMailMain or Authenticate() PIN.
    WrongPin,
}

impl AuthFailure {
    /// Every reason, in the order /metrics lists them.
    pub const ALL: [AuthFailure; 5] = [
        AuthFailure::WrongPassword,
        AuthFailure::UnknownAccount,
        AuthFailure::AclDenied,
        AuthFailure::BadCredentials,
        AuthFailure::WrongPin,
    ];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            AuthFailure::WrongPassword => "wrong_password",
            AuthFailure::UnknownAccount => "unknown_account",
            AuthFailure::AclDenied => "acl_denied",
            AuthFailure::BadCredentials => "bad_credentials",
            AuthFailure::WrongPin => "wrong_pin",
        }
    }
}

/// The engine's event counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    calls: [u64; Outcome::ALL.len()],
    auth: [u64; AuthFailure::ALL.len()],
    /// Sources banned (each ban counts once, a source banned twice counts twice).
    pub bans: u64,
    /// Reloads applied.
    pub reloads_ok: u64,
    /// Reloads refused (a file:line error; nothing changed).
    pub reloads_failed: u64,
    /// REGISTERs that bound, refreshed or removed contacts.
    pub registers_accepted: u64,
}

impl Counters {
    /// One more call ended with `o`.
    pub fn call_ended(&mut self, o: Outcome) {
        self.calls[o as usize] += 1;
    }

    /// Calls ended with `o` so far.
    pub fn calls(&self, o: Outcome) -> u64 {
        self.calls[o as usize]
    }

    /// One more refused credential.
    pub fn auth_failed(&mut self, why: AuthFailure) {
        self.auth[why as usize] += 1;
    }

    /// Refusals for `why` so far.
    pub fn auth_failures(&self, why: AuthFailure) -> u64 {
        self.auth[why as usize]
    }
}

/// Upper bounds of the loop-turn histogram's buckets, in microseconds (Prometheus `le`).
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

/// How long the loop's turns took (from poll's return to its next call): the most a datagram
/// that arrived meanwhile waited. Fixed buckets, no allocation per observation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Histogram {
    /// Per bucket (not cumulative; the last counts what exceeds every bound).
    counts: [u64; LATENCY_BUCKETS_US.len() + 1],
    sum_us: u64,
}

impl Histogram {
    /// Records one turn.
    pub fn observe(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = LATENCY_BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        self.counts[i] += 1;
        self.sum_us = self.sum_us.saturating_add(us);
    }

    /// `(le in µs, cumulative count)` per bound, then `(None, total)` for `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = (Option<u64>, u64)> + '_ {
        let mut acc = 0;
        self.counts.iter().enumerate().map(move |(i, c)| {
            acc += c;
            (LATENCY_BUCKETS_US.get(i).copied(), acc)
        })
    }

    /// Turns observed.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Their total time in microseconds.
    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_callers_status() {
        assert_eq!(Outcome::of_refusal(486), Outcome::Busy);
        assert_eq!(Outcome::of_refusal(600), Outcome::Busy);
        assert_eq!(Outcome::of_refusal(480), Outcome::NoAnswer);
        assert_eq!(Outcome::of_refusal(487), Outcome::Cancelled);
        assert_eq!(Outcome::of_refusal(503), Outcome::Congestion);
        assert_eq!(Outcome::of_refusal(404), Outcome::Failed);
        let mut c = Counters::default();
        c.call_ended(Outcome::Busy);
        c.call_ended(Outcome::Busy);
        c.auth_failed(AuthFailure::AclDenied);
        assert_eq!(c.calls(Outcome::Busy), 2);
        assert_eq!(c.calls(Outcome::Answered), 0);
        assert_eq!(c.auth_failures(AuthFailure::AclDenied), 1);
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_inf_last() {
        let mut h = Histogram::default();
        h.observe(Duration::from_micros(50)); // on a bound: in it (le is <=)
        h.observe(Duration::from_micros(51));
        h.observe(Duration::from_secs(1));
        let c: Vec<_> = h.cumulative().collect();
        assert_eq!(c[0], (Some(50), 1));
        assert_eq!(c[1], (Some(100), 2));
        assert_eq!(c[LATENCY_BUCKETS_US.len() - 1], (Some(250_000), 2));
        assert_eq!(c[LATENCY_BUCKETS_US.len()], (None, 3));
        assert_eq!(h.count(), 3);
        assert_eq!(h.sum_us(), 1_000_101);
    }
}
