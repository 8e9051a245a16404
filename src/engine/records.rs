//! Call records, the engine's side: when a call is dropped from the table its CDR chain
//! becomes [`crate::cdr::CdrRecord`]s (by cdr.conf's rules, see [`crate::call::cdr`]) handed
//! to the driver as [`Job::Cdr`]; the binary appends them to the CSV files off the loop.

use super::Engine;
use crate::call::{Call, CallState, EndReason};
use crate::flow::Job;
use crate::sip::StatusCode;
use std::time::SystemTime;

/// What the caller of a call that ended was told (if it was never answered).
pub(super) fn caller_status(call: &Call) -> StatusCode {
    match call.state {
        CallState::Ended(EndReason::Cancelled) => StatusCode::REQUEST_TERMINATED,
        CallState::Ended(EndReason::Hangup(s) | EndReason::NoMedia(s)) => s,
        _ => call
            .dial_failure
            .unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE),
    }
}

impl Engine {
    /// Hands the records of a call that ended at `wall` to the driver.
    /// The call's chain is used up (the call is gone: nothing is copied).
    pub(super) fn emit_cdr(&mut self, call: &mut Call, wall: SystemTime) {
        let Some(csv) = call.cdr.csv() else {
            return; // cdr.conf without [csv]: cdr_csv is not loaded, nothing is written
        };
        let status = caller_status(call);
        let records = call.cdr.finish(wall, call.exec.as_ref(), status);
        for r in records {
            self.out.job(Job::Cdr(Box::new(r), csv));
        }
    }
}
