//! What the dialplan knows of a call's CDR: the fields it may set (`CDR(accountcode)`,
//! `CDR(userfield)`, `CDR(amaflags)`, custom `CDR(name)` variables), `NoCDR()` and
//! `ResetCDR()`, and the last application the caller ran (the `lastapp` / `lastdata`
//! columns), which the call layer reads when it builds the records.
//!
//! Reading list: Asterisk `funcs/func_cdr.c` (the read-only fields, `u` for Unix times),
//! `apps/app_cdr.c` (NoCDR, ResetCDR), `main/cdr.c` (`base_process_party_a`: the last
//! application is kept outside `h`, with endbeforehexten).

use crate::cdr::AmaFlags;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::SystemTime;

/// Custom `CDR(name)=` variables kept per call (bounded: the rest are refused).
const MAX_VARS: usize = 32;

/// The last application the caller ran outside `h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMark {
    /// Its name as written (`Dial`).
    pub app: String,
    /// Its substituted arguments.
    pub data: String,
    /// The context it ran in.
    pub context: String,
    /// The extension it ran in.
    pub exten: String,
    /// When it ran.
    pub at: SystemTime,
    /// How many applications had run when it did (1 for the first).
    pub seq: u64,
}

/// The CDR fields of one call's channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdrVars {
    /// `CDR(accountcode)` (sip.conf `accountcode=` of the caller to begin with).
    pub accountcode: String,
    /// `CDR(userfield)`.
    pub userfield: String,
    /// `CDR(amaflags)` (sip.conf `amaflags=`, DOCUMENTATION by default).
    pub amaflags: AmaFlags,
    /// `NoCDR()` ran: nothing is written for this call.
    pub disabled: bool,
    /// `ResetCDR()` ran at this time: the record open then starts again here.
    pub reset: Option<SystemTime>,
    /// The last application (None before the first). Shared: the call's CDR records that
    /// name it hold the same mark, not copies of its four strings.
    pub last: Option<Rc<AppMark>>,
    /// When the caller was answered (for `CDR(answer)` and billsec).
    pub answered_at: Option<SystemTime>,
    /// When the call began (for `CDR(start)` and duration).
    pub started_at: Option<SystemTime>,
    /// The callee's channel once a Dial was answered (`CDR(dstchannel)`).
    pub dstchannel: String,
    /// Custom variables.
    pub vars: BTreeMap<String, String>,
}

impl CdrVars {
    /// An application is about to run at `at` with its substituted arguments `data` (not
    /// called inside `h`); the mark is returned to run it from (its data is the arguments).
    pub fn ran(
        &mut self,
        app: &str,
        data: String,
        context: &str,
        exten: &str,
        at: SystemTime,
    ) -> Rc<AppMark> {
        let seq = self.last.as_ref().map_or(1, |m| m.seq + 1);
        let mark = Rc::new(AppMark {
            app: app.to_string(),
            data,
            context: context.to_string(),
            exten: exten.to_string(),
            at,
            seq,
        });
        self.last = Some(Rc::clone(&mark));
        mark
    }

    /// Sets a custom variable; false when the per-call bound is reached.
    pub fn set_var(&mut self, name: &str, value: &str) -> bool {
        if self.vars.len() >= MAX_VARS && !self.vars.contains_key(name) {
            return false;
        }
        self.vars.insert(name.to_string(), value.to_string());
        true
    }
}
