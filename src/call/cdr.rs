//! A call's chain of CDR records, kept as Asterisk 12+'s `main/cdr.c` keeps it for the
//! caller's channel (party A), and turned into [`CdrRecord`]s when the call ends.
//!
//! The rules followed (Asterisk's state machine, read in `main/cdr.c`):
//! - a record opens when the call arrives (`single_state_init_function`: start now, answered
//!   if the caller already is);
//! - a Dial's first callee becomes party B of the open record (`single_state_process_dial_begin`);
//!   every further callee (another fork, a later Dial) opens a record of its own, starting
//!   when it is called (`cdr_object_create_and_append`); the application is then locked to
//!   the Dial (`AST_CDR_LOCK_APP`);
//! - a callee's Dial outcome sets the disposition (`dial_status_to_disposition`); an
//!   unanswered callee's record ends there (`finalized_state`), an answered one when the call
//!   ends;
//! - when the caller is answered, every record still open gets that answer time
//!   (`cdr_object_check_party_a_answer`);
//! - an application the caller runs after its last record ended opens a new record
//!   (`finalized_state_process_party_a`, `check_new_cdr_needed`), not in `h`
//!   (`endbeforehexten`);
//! - at the end, a record without disposition is ANSWERED if answered, else takes the
//!   caller's hang-up cause (`cdr_object_finalize`, `cdr_object_set_disposition`);
//! - `unanswered=no` drops unanswered records without party B (`cdr_detach`'s filter).

use crate::cdr::{self, CdrRecord, Disposition};
use crate::config::cdr_conf::CdrConf;
use crate::dialplan::cdr_vars::AppMark;
use crate::dialplan::{DialStatus, Execution};
use crate::handle::LegId;
use crate::sip::StatusCode;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

/// One record of the chain.
#[derive(Debug, Clone)]
struct Segment {
    start: SystemTime,
    answer: Option<SystemTime>,
    end: Option<SystemTime>,
    /// The callee's leg and channel name.
    party_b: Option<(LegId, String)>,
    /// The application and its arguments, and where it ran.
    app: Option<Rc<AppMark>>,
    /// The application is the Dial that found party B: later ones do not change it.
    locked: bool,
    status: Option<DialStatus>,
}

impl Segment {
    fn open(start: SystemTime, answered: bool, app: Option<Rc<AppMark>>) -> Segment {
        Segment {
            start,
            answer: answered.then_some(start),
            end: None,
            party_b: None,
            app,
            locked: false,
            status: None,
        }
    }
}

/// The chain of one call.
#[derive(Debug, Clone)]
pub struct CallCdr {
    segments: Vec<Segment>,
    answered: bool,
    /// cdr.conf as it was when the call arrived: a reload applies to new calls.
    conf: Rc<CdrConf>,
}

/// At most this many records per call (a Dial loop in the dialplan cannot grow it without
/// bound); further callees are not recorded.
const MAX_SEGMENTS: usize = 64;

impl CallCdr {
    /// The chain of a call that arrived at `wall`, recorded by the rules of `conf`.
    pub fn new(wall: SystemTime, conf: Rc<CdrConf>) -> CallCdr {
        CallCdr {
            segments: vec![Segment::open(wall, false, None)],
            answered: false,
            conf,
        }
    }

    /// How the call's records are written to CSV (None: cdr.conf had no `[csv]` when the
    /// call arrived).
    pub fn csv(&self) -> Option<crate::cdr::csv::CsvOptions> {
        self.conf.csv
    }

    /// True once the caller has been answered (it stays true after the hang-up).
    pub fn was_answered(&self) -> bool {
        self.answered
    }

    /// The caller was answered (once).
    pub fn caller_answered(&mut self, wall: SystemTime) {
        if self.answered {
            return;
        }
        self.answered = true;
        for s in self.segments.iter_mut().filter(|s| s.end.is_none()) {
            s.answer.get_or_insert(wall);
        }
    }

    /// A Dial called `leg` (channel `name`); `mark` is the Dial application.
    pub fn callee_called(
        &mut self,
        wall: SystemTime,
        leg: LegId,
        name: String,
        mark: Option<&Rc<AppMark>>,
    ) {
        let reuse = self
            .segments
            .last()
            .is_some_and(|s| s.end.is_none() && s.party_b.is_none());
        if !reuse {
            if self.segments.len() >= MAX_SEGMENTS {
                return;
            }
            self.segments
                .push(Segment::open(wall, self.answered, mark.cloned()));
        }
        let Some(seg) = self.segments.last_mut() else {
            return;
        };
        if let Some(m) = mark {
            seg.app = Some(m.clone());
        }
        seg.locked = true;
        seg.party_b = Some((leg, name));
    }

    /// The Dial's outcome for callee `leg`: ANSWER keeps its record open, anything else
    /// ends it now.
    pub fn callee_outcome(&mut self, wall: SystemTime, leg: LegId, status: DialStatus) {
        let Some(s) = self
            .segments
            .iter_mut()
            .find(|s| s.end.is_none() && s.party_b.as_ref().is_some_and(|(l, _)| *l == leg))
        else {
            return;
        };
        if s.status.is_some() {
            return;
        }
        s.status = Some(status);
        if status != DialStatus::Answer {
            s.end = Some(wall);
        }
    }

    /// The callee on `old` is now tried on leg `new` (DNS failover to its next address): the
    /// record opened for `new` is dropped and `old`'s follows `new`.
    pub fn moved(&mut self, old: LegId, new: LegId) {
        let is = |s: &Segment, l: LegId| s.party_b.as_ref().is_some_and(|(b, _)| *b == l);
        if let Some(i) = self.segments.iter().rposition(|s| is(s, new)) {
            if self.segments.iter().any(|s| is(s, old)) {
                self.segments.remove(i);
            }
        }
        for s in self.segments.iter_mut().filter(|s| is(s, old)) {
            if let Some((l, _)) = s.party_b.as_mut() {
                *l = new;
            }
        }
    }

    /// The callee's channel of the answered Dial, for `CDR(dstchannel)`.
    pub fn answered_callee(&self, leg: LegId) -> Option<&str> {
        self.segments
            .iter()
            .filter_map(|s| s.party_b.as_ref())
            .find(|(l, _)| *l == leg)
            .map(|(_, n)| n.as_str())
    }

    /// The records of the call that ended at `wall` (`caller_status`: what an unanswered
    /// caller was told, standing in for its hang-up cause), by the rules of the cdr.conf the
    /// call began with.
    /// The chain is used up (taken, not copied: the call is gone); `was_answered` stays.
    pub fn finish(
        &mut self,
        wall: SystemTime,
        exec: Option<&Execution>,
        caller_status: StatusCode,
    ) -> Vec<CdrRecord> {
        let conf = self.conf.clone();
        let conf = &*conf;
        let Some(ex) = exec else {
            return Vec::new();
        };
        let vars = &ex.cdr;
        if !conf.enable || vars.disabled {
            return Vec::new();
        }
        // An application after the last record ended opens one more (not the `h` ones:
        // the mark is not moved there).
        if let (Some(last), Some(mark)) = (self.segments.last(), vars.last.as_ref()) {
            let newer = last.app.as_ref().is_none_or(|a| a.seq < mark.seq);
            if last.end.is_some() && newer && self.segments.len() < MAX_SEGMENTS {
                let mut s = Segment::open(mark.at, self.answered, Some(mark.clone()));
                if self.answered {
                    s.answer = Some(mark.at);
                }
                self.segments.push(s);
            }
        }
        if let Some(at) = vars.reset {
            if let Some(s) = self.segments.iter_mut().rev().find(|s| s.start <= at) {
                s.start = at;
                s.answer = s.answer.map(|_| at);
            }
        }
        let (name, number) = ex.callerid();
        let mut channel = ex.channel_name_text();
        let segments = std::mem::take(&mut self.segments);
        let mut out = Vec::with_capacity(segments.len());
        let last = segments.len().saturating_sub(1);
        for (i, mut s) in segments.into_iter().enumerate() {
            if !s.locked {
                if let Some(m) = &vars.last {
                    s.app = Some(m.clone());
                }
            }
            let end = s.end.unwrap_or(wall);
            let disposition = match s.status {
                Some(st) => from_dial_status(st, conf),
                None if s.answer.is_some() => Disposition::Answered,
                None => from_caller_status(caller_status, conf),
            };
            if !conf.unanswered && disposition < Disposition::Answered && s.party_b.is_none() {
                continue;
            }
            let app = s.app.as_ref();
            let (exten, context) = match app {
                Some(m) => (m.exten.as_str(), m.context.as_str()),
                None => ex.position_names(),
            };
            let f = |v: &str| cdr::bounded(v, cdr::FIELD_MAX);
            out.push(CdrRecord {
                accountcode: f(&vars.accountcode),
                src: f(number),
                dst: f(exten),
                dcontext: f(context),
                clid: cdr::bounded_owned(cdr::clid(name, number), cdr::FIELD_MAX),
                // The last record takes the name built for them, the others a copy.
                channel: if i == last {
                    cdr::bounded_owned(std::mem::take(&mut channel), cdr::FIELD_MAX)
                } else {
                    f(&channel)
                },
                dstchannel: f(s.party_b.as_ref().map_or("", |(_, n)| n)),
                lastapp: f(app.map_or("", |m| &m.app)),
                lastdata: f(app.map_or("", |m| &m.data)),
                start: s.start,
                answer: s.answer,
                end,
                duration: secs(s.start, end, false),
                billsec: s.answer.map_or(0, |a| secs(a, end, conf.initiated_seconds)),
                disposition,
                amaflags: vars.amaflags,
                uniqueid: cdr::bounded(ex.unique_id(), cdr::UNIQUEID_MAX),
                userfield: cdr::bounded(&vars.userfield, cdr::USERFIELD_MAX),
            });
        }
        out
    }
}

/// Whole seconds from `a` to `b` (`cdr_object_get_duration` / `_billsec`: truncated, or with
/// `initiatedseconds` a started second of 500 ms or more counts).
fn secs(a: SystemTime, b: SystemTime, initiated: bool) -> i64 {
    let ms = b.duration_since(a).unwrap_or(Duration::ZERO).as_millis() as i64;
    if initiated && ms % 1000 >= 500 {
        ms / 1000 + 1
    } else {
        ms / 1000
    }
}

/// `dial_status_to_disposition`.
fn from_dial_status(s: DialStatus, conf: &CdrConf) -> Disposition {
    match s {
        DialStatus::Answer => Disposition::Answered,
        DialStatus::Busy => Disposition::Busy,
        DialStatus::Cancel | DialStatus::NoAnswer => Disposition::NoAnswer,
        DialStatus::Congestion if conf.congestion => Disposition::Congestion,
        DialStatus::Congestion | DialStatus::ChanUnavail => Disposition::Failed,
    }
}

/// `cdr_object_set_disposition` for the caller's cause, which sipbox knows as the status an
/// unanswered caller got: busy (17) BUSY, congestion (34) FAILED or CONGESTION, normal
/// clearing (16) and no answer (19) NO ANSWER; other causes leave it undecided (printed NO
/// ANSWER).
fn from_caller_status(s: StatusCode, conf: &CdrConf) -> Disposition {
    match s.code() {
        486 | 600 => Disposition::Busy,
        503 if conf.congestion => Disposition::Congestion,
        503 => Disposition::Failed,
        480 | 487 | 408 => Disposition::NoAnswer,
        _ => Disposition::Null,
    }
}
