//! Call detail records as Asterisk (12 and later) writes them: one record per party-A/party-B
//! pairing of a call, in the fields and the order of `cdr/cdr_csv.c`.
//!
//! Reading list: Asterisk `main/cdr.c` (the CDR state machine: a record is opened when the
//! channel appears, a Dial gives it a party B, each further fork opens another record,
//! `dial_status_to_disposition`, `cdr_object_finalize`, the `unanswered` filter),
//! `cdr/cdr_csv.c` (columns, quoting, times), `main/callerid.c` (`ast_callerid_merge`,
//! the `clid` column).
//!
//! - [`CdrRecord`]: one finished record, with wall-clock times (the engine's `wall`).
//! - [`csv`]: the `Master.csv` line of a record, byte for byte as cdr_csv prints it.
//! - The call layer keeps a call's chain of records (`crate::call::cdr`); the engine turns it
//!   into records when the call ends and hands them to the driver as
//!   [`crate::flow::Job::Cdr`]; the binary appends them off the loop thread.

pub mod csv;

use std::time::SystemTime;

use compact_str::CompactString;

/// How a record ended (`ast_cdr_disposition`, with Asterisk's order: `unanswered=no` skips
/// records below [`Disposition::Answered`] that have no party B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Disposition {
    /// NO ANSWER.
    NoAnswer,
    /// Nothing decided it (printed as NO ANSWER, as `ast_cdr_disp2str` does).
    Null,
    /// FAILED.
    Failed,
    /// BUSY.
    Busy,
    /// ANSWERED.
    Answered,
    /// CONGESTION (only with `congestion=yes`; FAILED otherwise).
    Congestion,
}

impl Disposition {
    /// The text in the disposition column.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::NoAnswer | Disposition::Null => "NO ANSWER",
            Disposition::Failed => "FAILED",
            Disposition::Busy => "BUSY",
            Disposition::Answered => "ANSWERED",
            Disposition::Congestion => "CONGESTION",
        }
    }
}

/// `amaflags` (Asterisk's default for a channel is DOCUMENTATION).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AmaFlags {
    /// OMIT.
    Omit,
    /// BILLING.
    Billing,
    /// DOCUMENTATION.
    #[default]
    Documentation,
}

impl AmaFlags {
    /// The text in the amaflags column.
    pub fn as_str(self) -> &'static str {
        match self {
            AmaFlags::Omit => "OMIT",
            AmaFlags::Billing => "BILLING",
            AmaFlags::Documentation => "DOCUMENTATION",
        }
    }

    /// `amaflags=` of sip.conf or `CDR(amaflags)=` (`ast_channel_string2amaflag`: names, any
    /// case, or their numbers 1-3; `default` is DOCUMENTATION).
    pub fn parse(s: &str) -> Option<AmaFlags> {
        match s.trim().to_ascii_lowercase().as_str() {
            "omit" | "1" => Some(AmaFlags::Omit),
            "billing" | "2" => Some(AmaFlags::Billing),
            "documentation" | "default" | "3" => Some(AmaFlags::Documentation),
            _ => None,
        }
    }
}

/// One finished call detail record. The text columns are inline strings: each is at most
/// 24 bytes in the common case (`1001`, `from-internal`, `SIP/1002-0000002a`), so a record
/// costs one allocation (its box), not eleven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrRecord {
    /// The caller's `accountcode` (sip.conf, or `CDR(accountcode)=`).
    pub accountcode: CompactString,
    /// Caller ID number.
    pub src: CompactString,
    /// The extension the caller was in.
    pub dst: CompactString,
    /// Its context.
    pub dcontext: CompactString,
    /// `"name" <number>`.
    pub clid: CompactString,
    /// The caller's channel, `SIP/1001-00000001`.
    pub channel: CompactString,
    /// The callee's channel, empty without one.
    pub dstchannel: CompactString,
    /// The last application the caller ran (Dial for a record with a callee).
    pub lastapp: CompactString,
    /// Its arguments.
    pub lastdata: CompactString,
    /// When the record began.
    pub start: SystemTime,
    /// When it was answered.
    pub answer: Option<SystemTime>,
    /// When it ended.
    pub end: SystemTime,
    /// Whole seconds from start to end.
    pub duration: i64,
    /// Whole seconds from answer to end (0 unanswered).
    pub billsec: i64,
    /// How it ended.
    pub disposition: Disposition,
    /// AMA flags.
    pub amaflags: AmaFlags,
    /// The caller's `${UNIQUEID}`.
    pub uniqueid: CompactString,
    /// `CDR(userfield)`.
    pub userfield: CompactString,
}

/// Asterisk's `ast_cdr` field sizes (`AST_MAX_EXTENSION` 80, `AST_MAX_ACCOUNT_CODE` 80,
/// `AST_MAX_UNIQUEID` 150, `AST_MAX_USER_FIELD` 256), less the terminating NUL: longer values
/// are cut there, as `ast_copy_string` cuts them.
pub const FIELD_MAX: usize = 79;
/// See [`FIELD_MAX`].
pub const UNIQUEID_MAX: usize = 149;
/// See [`FIELD_MAX`].
pub const USERFIELD_MAX: usize = 255;

/// `s` cut to at most `max` bytes at a character boundary.
pub fn bounded(s: &str, max: usize) -> CompactString {
    if s.len() <= max {
        return CompactString::from(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    CompactString::from(&s[..end])
}

/// The `clid` column: `"name" <number>` (`ast_callerid_merge`; Asterisk's channel snapshots
/// hold empty strings, never NULL, so an empty name still gives `"" <1001>`).
pub fn clid(name: &str, number: &str) -> CompactString {
    let mut s = CompactString::with_capacity(name.len() + number.len() + 5);
    s.push('"');
    s.push_str(name);
    s.push_str("\" <");
    s.push_str(number);
    s.push('>');
    s
}

/// [`bounded`] of a string the caller gives up: kept as it is when it fits (no copy).
pub fn bounded_owned(s: CompactString, max: usize) -> CompactString {
    if s.len() <= max {
        s
    } else {
        bounded(&s, max)
    }
}
