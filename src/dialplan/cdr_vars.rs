//! What the dialplan knows of a call's CDR: the fields it may set (`CDR(accountcode)`,
//! `CDR(userfield)`, `CDR(amaflags)`, custom `CDR(name)` variables), `NoCDR()` and
//! `ResetCDR()`, and the last application the caller ran (the `lastapp` / `lastdata`
//! columns), which the call layer reads when it builds the records.
//!
//! Reading list: Asterisk `funcs/func_cdr.c` (the read-only fields, `u` for Unix times),
//! `apps/app_cdr.c` (NoCDR, ResetCDR), `main/cdr.c` (`base_process_party_a`: the last
//! application is kept outside `h`, with endbeforehexten).

use crate::cdr::AmaFlags;
use compact_str::CompactString;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::SystemTime;

/// Custom `CDR(name)=` variables kept per call (bounded: the rest are refused).
const MAX_VARS: usize = 32;

/// The last application the caller ran outside `h` (names inline: no allocation for them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMark {
    /// Its name as written (`Dial`).
    pub app: CompactString,
    /// Its substituted arguments.
    pub data: String,
    /// The context it ran in.
    pub context: CompactString,
    /// The extension it ran in.
    pub exten: CompactString,
    /// When it ran.
    pub at: SystemTime,
    /// How many applications had run when it did (1 for the first).
    pub seq: u64,
}

/// The CDR fields of one call's channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdrVars {
    /// `CDR(accountcode)` (sip.conf `accountcode=` of the caller to begin with).
    pub accountcode: CompactString,
    /// `CDR(userfield)`.
    pub userfield: CompactString,
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
    pub dstchannel: CompactString,
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
            app: app.into(),
            data,
            context: context.into(),
            exten: exten.into(),
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
