//! The one place where call outcomes become SIP statuses: how forks' failures rank (§16.7),
//! what DIALSTATUS a failed Dial reports, what an unanswered caller is told after it, and which
//! status a Q.850 hang-up cause gives (RFC 3398 §8.2.6.1, as chan_sip's `hangup_cause2sip`).
//!
//! The dialplan speaks causes and DIALSTATUS; the call layer speaks SIP; nothing else converts.

use crate::dialplan::{Cause, DialStatus};
use crate::sip::StatusCode;

/// Q.850 cause → SIP status (RFC 3398 §8.2.6.1), for a hang-up before an answer. None for
/// causes the table does not name (the call's own default applies).
pub fn cause_to_sip(cause: u16) -> Option<StatusCode> {
    let code = match cause {
        1..=3 => 404,
        17 => 486,
        18 => 408,
        19 | 20 => 480,
        21 => 403,
        22 => 410,
        27 => 502,
        28 => 484,
        29 => 501,
        31 => 480,
        34 | 38 | 41 | 42 | 47 => 503,
        55 | 57 => 403,
        58 | 65 | 79 | 88 => 488,
        102 => 504,
        _ => return None,
    };
    StatusCode::new(code)
}

/// What an unanswered caller is told when the dialplan ends the call with `cause` (and no Dial
/// ran): the RFC 3398 table, except that the dialplan's own ending causes keep the statuses
/// chan_sip gives them — running off the end (16) is 480, a dialplan error (38) is 500
/// (`hangup_cause2sip`), the caller's own hang-up (127) is 487.
pub fn end_status(cause: Cause) -> StatusCode {
    match cause {
        Cause::NORMAL_CLEARING => StatusCode::TEMPORARILY_UNAVAILABLE,
        Cause::FAILURE => StatusCode::SERVER_INTERNAL_ERROR,
        Cause::INTERWORKING => StatusCode::REQUEST_TERMINATED,
        c => cause_to_sip(c.value().into()).unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE),
    }
}

/// Picks the failure to report among forks (§16.7 step 6, simplified): 6xx beats everything,
/// then busy (486/600), then the lowest class seen.
pub fn better_failure(current: Option<StatusCode>, new: StatusCode) -> StatusCode {
    let rank = |s: StatusCode| match s.code() {
        600..=699 => 0,
        486 => 1,
        487 => 5,
        408 | 480 => 4,
        500..=599 => 3,
        _ => 2,
    };
    match current {
        Some(c) if rank(c) <= rank(new) => c,
        _ => new,
    }
}

/// Asterisk's DIALSTATUS for the final failure of a Dial.
pub fn dial_status_for(failure: StatusCode) -> DialStatus {
    match failure.code() {
        486 | 600 | 603 => DialStatus::Busy,
        408 | 480 | 487 => DialStatus::NoAnswer,
        // A challenge we could not answer: chan_sip queues CONGESTION (do_proxy_auth failed).
        401 | 407 => DialStatus::Congestion,
        500..=599 => DialStatus::Congestion,
        _ => DialStatus::ChanUnavail,
    }
}

/// What an unanswered caller is told after a failed Dial (see README: chosen over chan_sip's
/// 603/503 so phones show the real reason).
pub fn failure_to_caller(failure: StatusCode) -> StatusCode {
    match failure.code() {
        // 482/483: a loop or a too-long chain upstream must learn of it, not retry elsewhere.
        482 | 483 | 486 | 488 | 600..=699 => failure,
        401 | 407 | 500..=599 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::TEMPORARILY_UNAVAILABLE,
    }
}

/// What an unanswered caller is told when a Dial could not ring anyone (DIALSTATUS BUSY,
/// CONGESTION; otherwise what the failed forks said, or 480).
pub fn dial_status_to_caller(status: DialStatus, current: StatusCode) -> StatusCode {
    match status {
        DialStatus::Busy => StatusCode::BUSY_HERE,
        DialStatus::Congestion => StatusCode::SERVICE_UNAVAILABLE,
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(c: u16) -> StatusCode {
        StatusCode::new(c).unwrap()
    }

    #[test]
    fn failure_choice_and_mapping() {
        assert_eq!(better_failure(None, s(480)), s(480));
        assert_eq!(better_failure(Some(s(480)), s(486)), s(486));
        assert_eq!(better_failure(Some(s(486)), s(503)), s(486));
        assert_eq!(better_failure(Some(s(486)), s(603)), s(603));
        assert_eq!(failure_to_caller(s(486)), s(486));
        assert_eq!(failure_to_caller(s(408)), s(480));
        assert_eq!(failure_to_caller(s(503)), s(503));
        assert_eq!(failure_to_caller(s(502)), s(503));
        assert_eq!(failure_to_caller(s(404)), s(480));
        assert_eq!(failure_to_caller(s(603)), s(603));
        assert_eq!(dial_status_for(s(486)), DialStatus::Busy);
        assert_eq!(dial_status_for(s(408)), DialStatus::NoAnswer);
        assert_eq!(dial_status_for(s(503)), DialStatus::Congestion);
        assert_eq!(dial_status_for(s(404)), DialStatus::ChanUnavail);
        assert_eq!(cause_to_sip(17), Some(StatusCode::BUSY_HERE));
        assert_eq!(cause_to_sip(16), None);
        assert_eq!(end_status(Cause::UNALLOCATED), s(404));
        assert_eq!(end_status(Cause::NORMAL_CLEARING), s(480));
        assert_eq!(end_status(Cause::USER_BUSY), s(486));
        assert_eq!(end_status(Cause::CONGESTION), s(503));
        assert_eq!(end_status(Cause::FAILURE), s(500));
        assert_eq!(end_status(Cause::INTERWORKING), s(487));
    }
}
