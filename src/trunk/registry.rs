//! One outbound registration's state machine (a `register =>` line), as chan_sip's
//! `sip_registry` behaves: states named as `sip show registry` prints them, refresh before
//! expiry, retries with backoff, and what each answer to our REGISTER means.
//!
//! Reading list: RFC 3261 §10.2 (REGISTER, Expires, Contact `expires`), §10.2.8 (423 and
//! Min-Expires), §22.2 (answering a 401); chan_sip's `transmit_register`,
//! `handle_response_register`, `sip_reg_timeout` and `start_register_timeout`.
//!
//! Pure: the engine feeds [`RegEvent`]s with `now` and carries out the [`Step`] it gets
//! back (send a REGISTER, wake later). Every transition is in [`Registry::step`].

use super::digest::Challenge;
use std::time::{Duration, Instant};

/// Where a registration is, with `sip show registry`'s names ([`RegState::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegState {
    /// Not registered and no REGISTER outstanding (also between retries after a 5xx).
    Unregistered,
    /// A REGISTER without credentials is outstanding.
    RequestSent,
    /// A REGISTER answering a challenge is outstanding.
    AuthSent,
    /// The registrar accepted us; a refresh is planned.
    Registered,
    /// The registrar refused for good (404, other 4xx, 6xx, a 423 we cannot meet): stopped.
    Rejected,
    /// Our credentials were refused (403: stopped) or a challenge could not be answered (a
    /// second challenge, none configured, malformed: retried with backoff).
    NoAuthentication,
    /// No answer within `registertimeout`: retried with backoff.
    Timeout,
    /// `registerattempts` failed in a row: stopped.
    Failed,
    /// The registrar's host name (or the outbound proxy's) does not resolve: retried with
    /// backoff (chan_sip logs "Probably a DNS error" and retries; sipbox also shows it).
    Unresolved,
}

impl RegState {
    /// The name chan_sip's `regstate2str` gives it.
    pub fn name(self) -> &'static str {
        match self {
            RegState::Unregistered => "Unregistered",
            RegState::RequestSent => "Request Sent",
            RegState::AuthSent => "Auth. Sent",
            RegState::Registered => "Registered",
            RegState::Rejected => "Rejected",
            RegState::NoAuthentication => "No Authentication",
            RegState::Timeout => "Timeout",
            RegState::Failed => "Failed",
            RegState::Unresolved => "Unresolved",
        }
    }
}

/// The settings a registration runs with (`[general]`'s).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `registertimeout`.
    pub timeout: Duration,
    /// `registerattempts` (0 = forever).
    pub attempts: u32,
    /// `defaultexpiry`: the expiry assumed when a 200 names none.
    pub default_expiry: u32,
}

/// The longest wait between two tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// What the registrar answered, as far as the machine cares.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// For a 401/407: the challenge to answer, or None when it cannot be answered (malformed,
    /// unknown algorithm, no credentials for its realm).
    pub challenge: Option<Challenge>,
    /// For a 200: the expiry granted to our contact (its `expires` parameter, else Expires).
    pub expires: Option<u32>,
    /// For a 423: Min-Expires.
    pub min_expires: Option<u32>,
    /// Retry-After, seconds.
    pub retry_after: Option<u32>,
}

/// What the engine tells a registration.
#[derive(Debug, Clone)]
pub enum RegEvent {
    /// Its planned time came (first registration, refresh, retry).
    Due,
    /// The final answer to its outstanding REGISTER.
    Answer(Answer),
    /// No final answer within `registertimeout` (or the transaction timed out).
    NoAnswer,
    /// sipbox is stopping: unregister (Expires: 0) if registered.
    Shutdown,
    /// The outstanding REGISTER timed out or drew a 503 and the registrar's name has another
    /// address (RFC 3263 §4.3): send it again there, without credentials (a new server's
    /// nonce is its own), and without counting a failure.
    Failover,
    /// It was due, but the registrar's name does not resolve.
    Unresolved,
}

/// What the engine must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send a REGISTER for `expiry` seconds (new CSeq), answering `answer` if given, and wait
    /// `registertimeout` for its answer.
    Send {
        /// The Expires to ask for.
        expiry: u32,
        /// The challenge to put credentials for.
        answer: Option<Challenge>,
    },
    /// Send nothing now; wake the machine with [`RegEvent::Due`] at this time.
    WakeAt(Instant),
    /// Nothing changes (a provisional answer, a late event).
    Stay,
    /// The registration is over (stopped for good, or unregistered at shutdown).
    Done,
}

/// One registration's state.
#[derive(Debug, Clone)]
pub struct Registry {
    /// `user@host`, for the log.
    pub label: String,
    /// Where it is.
    pub state: RegState,
    /// The expiry we ask for (the line's `~expiry`, raised by a 423).
    pub requested: u32,
    /// The expiry the registrar granted at the last 200.
    pub granted: Option<u32>,
    /// When the last 200 came.
    pub registered_at: Option<Instant>,
    /// Failed tries in a row.
    pub failures: u32,
    /// The nonce the outstanding REGISTER's credentials answer.
    answered_nonce: Option<String>,
    /// Stopped for good: Due events are ignored.
    halted: bool,
    /// Shutting down: the outstanding REGISTER is the Expires: 0 one.
    stopping: bool,
}

/// How long before expiry chan_sip refreshes: 15 s early, or for short expiries 20 % (at
/// least half a second) early (`EXPIRY_GUARD_*` in chan_sip.c).
pub fn refresh_after(granted: u32) -> Duration {
    let ms = u64::from(granted) * 1000;
    let early = if granted <= 30 {
        (ms / 5).max(500)
    } else {
        15_000
    };
    Duration::from_millis(ms.saturating_sub(early).max(500))
}

/// The wait after the `n`th failure in a row: `registertimeout`, doubling, at most
/// [`MAX_BACKOFF`]; never shorter than a Retry-After.
pub fn backoff(n: u32, timeout: Duration, retry_after: Option<u32>) -> Duration {
    let doubled = timeout.saturating_mul(1u32 << n.saturating_sub(1).min(16));
    let wait = doubled.min(MAX_BACKOFF.max(timeout));
    wait.max(Duration::from_secs(u64::from(retry_after.unwrap_or(0))))
}

impl Registry {
    /// A registration not yet sent, asking for `requested` seconds.
    pub fn new(label: String, requested: u32) -> Registry {
        Registry {
            label,
            state: RegState::Unregistered,
            requested,
            granted: None,
            registered_at: None,
            failures: 0,
            answered_nonce: None,
            halted: false,
            stopping: false,
        }
    }

    /// True while a REGISTER is outstanding.
    pub fn outstanding(&self) -> bool {
        matches!(self.state, RegState::RequestSent | RegState::AuthSent)
    }

    /// True while the Expires: 0 REGISTER of a shutdown is outstanding.
    pub fn unregistering(&self) -> bool {
        self.stopping && matches!(self.state, RegState::RequestSent | RegState::AuthSent)
    }

    fn set(&mut self, state: RegState) {
        if self.state != state {
            log::info!(
                "SIP registration '{}': {} -> {}",
                self.label,
                self.state.name(),
                state.name()
            );
            self.state = state;
        }
    }

    fn send(&mut self, expiry: u32, answer: Option<Challenge>) -> Step {
        self.answered_nonce = answer.as_ref().map(|c| c.nonce.clone());
        self.set(match answer {
            Some(_) => RegState::AuthSent,
            None => RegState::RequestSent,
        });
        Step::Send { expiry, answer }
    }

    /// A failed try: retry after the backoff, or give up after `registerattempts`.
    fn failed(&mut self, now: Instant, lim: Limits, retry_after: Option<u32>) -> Step {
        self.failures += 1;
        if lim.attempts > 0 && self.failures >= lim.attempts {
            log::warn!(
                "Last Registration Attempt #{} failed, Giving up forever trying to register '{}'",
                self.failures,
                self.label
            );
            self.set(RegState::Failed);
            self.halted = true;
            return Step::Done;
        }
        Step::WakeAt(now + backoff(self.failures, lim.timeout, retry_after))
    }

    fn halt(&mut self, state: RegState) -> Step {
        self.set(state);
        self.halted = true;
        Step::Done
    }

    /// The one transition function.
    pub fn step(&mut self, now: Instant, ev: RegEvent, lim: Limits) -> Step {
        let outstanding = self.outstanding();
        match ev {
            RegEvent::Due if self.halted || self.stopping => Step::Stay,
            RegEvent::Due => self.send(self.requested, None),
            RegEvent::Shutdown => {
                let bound = self.state == RegState::Registered || outstanding;
                self.stopping = true;
                if bound && !self.halted {
                    self.send(0, None)
                } else {
                    Step::Done
                }
            }
            RegEvent::Failover if !outstanding => Step::Stay,
            RegEvent::Failover => {
                let expiry = if self.stopping { 0 } else { self.requested };
                self.send(expiry, None)
            }
            RegEvent::Unresolved if self.halted || self.stopping || outstanding => Step::Stay,
            RegEvent::Unresolved => {
                log::warn!(
                    "Probably a DNS error for registration to '{}', trying REGISTER again \
                     (Attempt #{})",
                    self.label,
                    self.failures + 2
                );
                self.set(RegState::Unresolved);
                self.failed(now, lim, None)
            }
            RegEvent::NoAnswer if !outstanding => Step::Stay,
            RegEvent::NoAnswer if self.stopping => {
                self.set(RegState::Unregistered);
                Step::Done
            }
            RegEvent::NoAnswer => {
                log::warn!(
                    "Registration for '{}' timed out, trying again (Attempt #{})",
                    self.label,
                    self.failures + 2
                );
                self.set(RegState::Timeout);
                self.failed(now, lim, None)
            }
            RegEvent::Answer(_) if !outstanding => Step::Stay,
            RegEvent::Answer(a) if a.status < 200 => Step::Stay,
            RegEvent::Answer(a) => self.answered(now, a, lim),
        }
    }

    fn answered(&mut self, now: Instant, a: Answer, lim: Limits) -> Step {
        let expiry = if self.stopping { 0 } else { self.requested };
        match a.status {
            401 | 407 => match a.challenge {
                // One answer per nonce; a challenge to our credentials is answered again only
                // when it says they were right and the nonce old (stale=true).
                Some(ch)
                    if self.answered_nonce.as_deref() != Some(&ch.nonce)
                        && (self.answered_nonce.is_none() || ch.stale) =>
                {
                    self.send(expiry, Some(ch))
                }
                _ if self.stopping => {
                    self.set(RegState::Unregistered);
                    Step::Done
                }
                _ => {
                    log::warn!(
                        "Failed to authenticate on REGISTER to '{}' (Tries {})",
                        self.label,
                        self.failures + 1
                    );
                    self.set(RegState::NoAuthentication);
                    self.failed(now, lim, None)
                }
            },
            _ if self.stopping => {
                self.set(RegState::Unregistered);
                Step::Done
            }
            200..=299 => {
                let granted = a.expires.filter(|e| *e > 0).unwrap_or(lim.default_expiry);
                self.granted = Some(granted);
                self.registered_at = Some(now);
                self.failures = 0;
                self.set(RegState::Registered);
                log::info!(
                    "SIP registration '{}' accepted for {granted} s; refreshing in {} s",
                    self.label,
                    refresh_after(granted).as_secs()
                );
                Step::WakeAt(now + refresh_after(granted))
            }
            403 => {
                log::warn!(
                    "Forbidden - wrong password on authentication for REGISTER for '{}'",
                    self.label
                );
                self.halt(RegState::NoAuthentication)
            }
            423 => match a.min_expires {
                Some(min) if min > self.requested => {
                    log::warn!(
                        "Got 423 Interval too brief for service '{}', minimum is {min} seconds",
                        self.label
                    );
                    self.requested = min;
                    self.send(min, None)
                }
                _ => {
                    log::warn!(
                        "Got 423 for '{}' without a usable Min-Expires, giving up",
                        self.label
                    );
                    self.halt(RegState::Rejected)
                }
            },
            408 | 480 | 500..=599 => {
                log::warn!(
                    "Got {} on SIP register to '{}', retrying",
                    a.status,
                    self.label
                );
                self.set(RegState::Unregistered);
                self.failed(now, lim, a.retry_after)
            }
            status => {
                log::warn!(
                    "Got {status} on SIP register to service '{}', giving up",
                    self.label
                );
                self.halt(RegState::Rejected)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_timing_is_chan_sips() {
        assert_eq!(refresh_after(120), Duration::from_secs(105));
        assert_eq!(refresh_after(3600), Duration::from_secs(3585));
        assert_eq!(refresh_after(30), Duration::from_secs(24));
        assert_eq!(refresh_after(1), Duration::from_millis(500));
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let t = Duration::from_secs(20);
        let secs: Vec<u64> = (1..=7).map(|n| backoff(n, t, None).as_secs()).collect();
        assert_eq!(secs, [20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(backoff(1, t, Some(90)), Duration::from_secs(90));
        assert_eq!(backoff(40, t, None), MAX_BACKOFF);
    }
}
