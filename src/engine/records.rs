//! Call records, the engine's side: when a call is dropped from the table its CDR chain
//! becomes [`crate::cdr::CdrRecord`]s (by cdr.conf's rules, see [`crate::call::cdr`]) handed
//! to the driver as [`Job::Cdr`]; the binary appends them to the CSV files off the loop.

use super::Engine;
use crate::flow::Job;
use std::time::SystemTime;

impl Engine {
    /// Hands the records of a call that ended at `wall` to the driver.
    pub(super) fn emit_cdr(&mut self, call: &crate::call::Call, wall: SystemTime) {
        use crate::call::EndReason;
        use crate::sip::StatusCode;
        let caller_status = match call.state {
            crate::call::CallState::Ended(EndReason::Cancelled) => StatusCode::REQUEST_TERMINATED,
            crate::call::CallState::Ended(EndReason::Hangup(s) | EndReason::NoMedia(s)) => s,
            _ => call
                .dial_failure
                .unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE),
        };
        self.count_call_end(call, caller_status, wall);
        let records =
            call.cdr
                .clone()
                .finish(wall, call.exec.as_ref(), caller_status, &self.cdr_conf);
        for r in records {
            self.out.job(Job::Cdr(Box::new(r)));
        }
    }
}
