//! DTMF-driven transfers (Dial's `t`: the callee may transfer, `T`: the caller may), for
//! phones without a transfer key. While two legs are bridged, digits from a leg that may
//! transfer are matched against features.conf's `blindxfer` (`#`) and `atxfer` (`*2`);
//! digits that turn out to be no feature code go on to the other leg after
//! `featuredigittimeout` (or at once when they cannot begin one), as Asterisk's bridge does.
//!
//! - Blind: the transferee hears music on hold, the transferer hears `pbx-transfer` and dials
//!   the target in `TRANSFER_CONTEXT`, else its entry's `transfercontext`, else its own
//!   context (each digit within `transferdigittimeout`, ending early when no longer
//!   extension can match). The transferee is sent there through the dialplan, as a REFER
//!   sends it ([`super::transfer`]), and the transferer is hung up. An empty or unknown
//!   number plays `pbx-invalid` and restores the bridge.
//! - Attended: the same digits start a consultation call from the transferer to the target
//!   while the transferee hears music. The transferer hanging up (or `atxfercomplete`, `*2`)
//!   joins transferee and target; `atxferabort` (`*1`), the target hanging up or failing
//!   (busy, no answer, unknown number) returns the transferer to the transferee
//!   (Asterisk's `atxferdropcall=no`). When the transferer hangs up while the target still
//!   rings, the target is bridged to the transferee once it answers.
//!
//! Reading list: Asterisk `main/bridge_basic.c` (`feature_blind_transfer`,
//! `feature_attended_transfer`, `grab_transfer`: the digit collection and its context),
//! `main/features_config.c` (defaults), `main/bridge_channel.c` (`bridge_channel_feature`:
//! digits that match no feature are written to the other channel),
//! `configs/samples/features.conf.sample`.

use super::media::dtmf::DEFAULT_DURATION_MS;
use super::media::moh::MohFor;
use super::state::{Bridge, Call, CallState};
use super::Cx;
use crate::dialplan::{Execution, Resume};
use crate::handle::LegId;
use crate::media::dtmf::detect::Heard;
use crate::wake::{CallTimer, Wake};

mod attended;

/// The longest target number (Asterisk's `AST_MAX_EXTENSION`).
const MAX_NUMBER: usize = 80;

/// Who may start a transfer by DTMF (the last Dial's `T` and `t`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XferRights {
    /// `T`: the caller.
    pub caller: bool,
    /// `t`: the callee.
    pub callee: bool,
}

/// Which transfer the code asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XferKind {
    /// `blindxfer`.
    Blind,
    /// `atxfer`.
    Attended,
}

/// The DTMF feature state machine of a call (transitions in this file).
pub enum Feature {
    /// Digits from `leg` that begin a feature code, held back until they make one or not.
    Matching {
        /// The leg pressing them.
        leg: LegId,
        /// The digits so far.
        digits: String,
    },
    /// The transferer dials the target; the bridge is down, the transferee hears music.
    Collecting {
        /// Blind or attended.
        kind: XferKind,
        /// Who dials.
        transferer: LegId,
        /// Who waits.
        transferee: LegId,
        /// The number so far.
        digits: String,
        /// The bridge to restore on failure, and its Dial `g`.
        bridge: Bridge,
        /// Dial's `g` of the bridge.
        continue_after: bool,
    },
    /// Attended: the transferer's consultation call.
    Consulting(Box<Consult>),
}

/// An attended transfer's consultation.
pub struct Consult {
    /// The leg that dialled the target.
    pub transferer: LegId,
    /// The leg on hold.
    pub transferee: LegId,
    /// The dialplan run the consultation replaced, back on abort.
    saved_exec: Option<Execution>,
    saved_caller: LegId,
    saved_rerouted: bool,
    saved_rights: XferRights,
    continue_after: bool,
    /// A partial `atxferabort`/`atxfercomplete` from the transferer.
    matching: String,
}

/// What a code is, among `codes`: a full match, a prefix of one, or nothing.
fn classify<T: Copy>(digits: &str, codes: &[(&str, T)]) -> Option<Option<T>> {
    if let Some((_, t)) = codes.iter().find(|(c, _)| !c.is_empty() && *c == digits) {
        return Some(Some(*t));
    }
    codes
        .iter()
        .any(|(c, _)| c.len() > digits.len() && c.starts_with(digits))
        .then_some(None)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConsultCode {
    Abort,
    Complete,
}

impl Call {
    /// True when `leg` may start a DTMF transfer now (bridged, and the Dial allowed it).
    fn may_transfer(&self, leg: LegId) -> bool {
        let Some(b) = self.bridge() else {
            return false;
        };
        if b.other(leg).is_none() {
            return false;
        }
        if leg == self.caller {
            self.xfer_rights.caller
        } else {
            self.xfer_rights.callee
        }
    }

    /// True when RFC 4733 events from `leg` must be read here rather than relayed as they
    /// are (a leg that may transfer, or the transferer of a transfer in progress).
    #[inline]
    pub(in crate::call) fn feature_watches(&self, leg: LegId) -> bool {
        match &self.feature {
            Some(Feature::Collecting {
                transferer,
                transferee,
                ..
            }) => leg == *transferer || leg == *transferee,
            Some(Feature::Consulting(c)) => leg == c.transferer || leg == c.transferee,
            _ => self.xfer_rights != XferRights::default() && self.may_transfer(leg),
        }
    }

    /// True while music plays to `leg` because of a transfer in progress.
    pub(in crate::call) fn transfer_holds(&self, leg: LegId) -> bool {
        match &self.feature {
            Some(Feature::Collecting { transferee, .. }) => *transferee == leg,
            Some(Feature::Consulting(c)) => c.transferee == leg,
            _ => false,
        }
    }

    fn arm_feature_timer(&mut self, cx: &mut Cx<'_>, after: std::time::Duration) {
        let wake = Wake::Call(self.handle, CallTimer::FeatureDigit);
        self.timers
            .start(cx.sched, CallTimer::FeatureDigit, cx.now + after, wake);
    }

    /// Sends held-back digits on to the other party of `from`.
    fn flush_digits(&mut self, cx: &mut Cx<'_>, from: LegId, digits: &str) {
        let Some(other) = self.media_peer(from) else {
            return;
        };
        for d in digits.chars() {
            self.send_digit(cx, other, d, DEFAULT_DURATION_MS, 0);
        }
    }

    /// A digit from `from` while features may want it. True when it was taken here.
    pub(in crate::call) fn feature_digit(
        &mut self,
        cx: &mut Cx<'_>,
        from: LegId,
        h: Heard,
    ) -> bool {
        let d = h.digit;
        match self.feature.take() {
            Some(Feature::Collecting {
                kind,
                transferer,
                transferee,
                mut digits,
                bridge,
                continue_after,
            }) => {
                if from == transferer && digits.len() < MAX_NUMBER {
                    self.stop_prompt(cx);
                    digits.push(d);
                }
                let context = self.transfer_context_of(transferer);
                let cid = self.channel_for(cx, transferee).callerid_num;
                let (exists, more) = cx.dialplan.fit(&context, &digits, &cid, cx.wall);
                // Done when no longer number can match (ast_matchmore_extension).
                let _ = exists;
                let ready = from == transferer && (!more || digits.len() >= MAX_NUMBER);
                self.feature = Some(Feature::Collecting {
                    kind,
                    transferer,
                    transferee,
                    digits,
                    bridge,
                    continue_after,
                });
                if ready {
                    self.timers.stop(cx.sched, CallTimer::FeatureDigit);
                    self.finish_collecting(cx);
                } else if from == transferer {
                    self.arm_feature_timer(cx, cx.features.transfer_digit_timeout);
                }
                true
            }
            Some(Feature::Consulting(mut c)) => {
                if from != c.transferer {
                    // The target's digits go to the transferer; the transferee's nowhere.
                    let target = from != c.transferee;
                    self.feature = Some(Feature::Consulting(c));
                    return !target;
                }
                c.matching.push(d);
                let codes = [
                    (cx.features.atxfer_abort.as_str(), ConsultCode::Abort),
                    (cx.features.atxfer_complete.as_str(), ConsultCode::Complete),
                ];
                let verdict = classify(&c.matching, &codes);
                let held = std::mem::take(&mut c.matching);
                match verdict {
                    Some(Some(ConsultCode::Abort)) => {
                        self.timers.stop(cx.sched, CallTimer::FeatureDigit);
                        log::info!("call {}: attended transfer aborted", self.label());
                        self.back_to_transferee(cx, c);
                    }
                    Some(Some(ConsultCode::Complete)) => {
                        self.timers.stop(cx.sched, CallTimer::FeatureDigit);
                        self.complete_attended(cx, c, true);
                    }
                    Some(None) => {
                        c.matching = held;
                        self.feature = Some(Feature::Consulting(c));
                        self.arm_feature_timer(cx, cx.features.feature_digit_timeout);
                    }
                    None => {
                        self.feature = Some(Feature::Consulting(c));
                        self.flush_digits(cx, from, &held);
                    }
                }
                true
            }
            Some(Feature::Matching { leg, mut digits }) if leg == from => {
                digits.push(d);
                self.match_feature(cx, from, digits);
                true
            }
            other => {
                self.feature = other;
                if self.feature.is_none() && self.may_transfer(from) {
                    self.match_feature(cx, from, d.to_string());
                    return true;
                }
                false
            }
        }
    }

    /// `digits` from `from` against blindxfer and atxfer.
    fn match_feature(&mut self, cx: &mut Cx<'_>, from: LegId, digits: String) {
        let codes = [
            (cx.features.blind_xfer.as_str(), XferKind::Blind),
            (cx.features.at_xfer.as_str(), XferKind::Attended),
        ];
        match classify(&digits, &codes) {
            Some(Some(kind)) => {
                self.timers.stop(cx.sched, CallTimer::FeatureDigit);
                self.start_collecting(cx, from, kind);
            }
            Some(None) => {
                self.feature = Some(Feature::Matching { leg: from, digits });
                self.arm_feature_timer(cx, cx.features.feature_digit_timeout);
            }
            None => {
                self.timers.stop(cx.sched, CallTimer::FeatureDigit);
                self.flush_digits(cx, from, &digits);
            }
        }
    }

    /// featuredigittimeout or transferdigittimeout ran out.
    pub(in crate::call) fn feature_timeout(&mut self, cx: &mut Cx<'_>) {
        match self.feature.take() {
            Some(Feature::Matching { leg, digits }) => self.flush_digits(cx, leg, &digits),
            Some(Feature::Consulting(mut c)) => {
                let held = std::mem::take(&mut c.matching);
                let from = c.transferer;
                self.feature = Some(Feature::Consulting(c));
                self.flush_digits(cx, from, &held);
            }
            collecting @ Some(Feature::Collecting { .. }) => {
                self.feature = collecting;
                self.finish_collecting(cx);
            }
            None => {}
        }
    }

    /// The context the transferer's target number is looked up in: `TRANSFER_CONTEXT`, the
    /// entry's `transfercontext`, the caller's current dialplan context, the entry's context.
    fn transfer_context_of(&self, transferer: LegId) -> String {
        if let Some(c) = self.exec.as_ref().and_then(|e| e.var("TRANSFER_CONTEXT")) {
            if !c.is_empty() {
                return c;
            }
        }
        let g = &self.general;
        let (tc, ctx) = match self.entry_of(transferer) {
            Some(e) => (e.transfer_context.clone(), e.context.clone()),
            None => (g.transfer_context.clone(), g.context.clone()),
        };
        if let Some(tc) = tc {
            return tc;
        }
        if transferer == self.caller {
            if let Some(c) = self.exec.as_ref().and_then(|e| e.var("CONTEXT")) {
                return c;
            }
        }
        ctx
    }

    /// A feature code matched: the transferee hears music, the transferer is prompted.
    fn start_collecting(&mut self, cx: &mut Cx<'_>, transferer: LegId, kind: XferKind) {
        let CallState::Answered {
            bridge: Some(bridge),
            continue_after,
        } = self.state
        else {
            return;
        };
        let Some(transferee) = bridge.other(transferer) else {
            return;
        };
        log::info!(
            "call {}: leg {transferer} starts {} transfer of leg {transferee} by DTMF",
            self.label(),
            if kind == XferKind::Blind {
                "a blind"
            } else {
                "an attended"
            }
        );
        self.feature = Some(Feature::Collecting {
            kind,
            transferer,
            transferee,
            digits: String::new(),
            bridge,
            continue_after,
        });
        self.state = CallState::Answered {
            bridge: None,
            continue_after,
        };
        self.start_moh(cx, transferee, MohFor::Transfer, Some(transferer), "");
        self.start_prompt(cx, transferer, "pbx-transfer");
        self.arm_feature_timer(cx, cx.features.transfer_digit_timeout);
    }

    /// The number is complete (or its time ran out): transfer, or back to the bridge.
    fn finish_collecting(&mut self, cx: &mut Cx<'_>) {
        let Some(Feature::Collecting {
            kind,
            transferer,
            transferee,
            digits,
            bridge,
            continue_after,
        }) = self.feature.take()
        else {
            return;
        };
        self.stop_prompt(cx);
        let context = self.transfer_context_of(transferer);
        let cid = self.channel_for(cx, transferee).callerid_num;
        let exists = !digits.is_empty() && cx.dialplan.exists(&context, &digits, 1, &cid, cx.wall);
        if !exists {
            log::info!(
                "call {}: DTMF transfer to '{digits}@{context}': no such extension; back to the bridge",
                self.label()
            );
            self.stop_moh(cx, Some(MohFor::Transfer));
            self.state = CallState::Answered {
                bridge: Some(bridge),
                continue_after,
            };
            self.start_prompt(cx, transferer, "pbx-invalid");
            return;
        }
        self.stop_moh(cx, Some(MohFor::Transfer));
        match kind {
            XferKind::Blind => self.blind_by_dtmf(cx, transferer, transferee, &context, digits),
            XferKind::Attended => {
                let c = Consult {
                    transferer,
                    transferee,
                    saved_exec: self.exec.take(),
                    saved_caller: self.caller,
                    saved_rerouted: self.rerouted,
                    saved_rights: self.xfer_rights,
                    continue_after,
                    matching: String::new(),
                };
                self.feature = Some(Feature::Consulting(Box::new(c)));
                // The transferee keeps hearing music through the consultation.
                self.start_moh(cx, transferee, MohFor::Transfer, Some(transferer), "");
                log::info!(
                    "call {}: leg {transferer} consults '{digits}@{context}'",
                    self.label()
                );
                let chan = self.channel_for(cx, transferer);
                self.caller = transferer;
                self.rerouted = true;
                self.dial_failure = None;
                self.state = CallState::Routing;
                let exec = Execution::new(cx.dialplan, &context, &digits, chan);
                self.exec = Some(exec);
                self.exten = digits;
                self.run_dialplan(cx, Resume::Start);
            }
        }
    }

    /// Blind: the transferer is hung up, the transferee runs the dialplan at the target.
    fn blind_by_dtmf(
        &mut self,
        cx: &mut Cx<'_>,
        transferer: LegId,
        transferee: LegId,
        context: &str,
        exten: String,
    ) {
        log::info!(
            "call {}: leg {transferer} transfers leg {transferee} to '{exten}@{context}' (DTMF)",
            self.label()
        );
        let chan = self.channel_for(cx, transferee);
        let blind = self.legs[transferer].channel.clone();
        if let Some(mut old) = self.exec.take() {
            if transferer == self.caller {
                // The caller's channel is the one that goes: its `h` runs.
                old.hangup(cx.dialplan, cx.wall, None);
                super::script::hand_db_ops_to_driver(cx);
            }
        }
        self.release_transferer(cx, transferer, true);
        self.caller = transferee;
        self.rerouted = true;
        self.dial_failure = None;
        self.state = CallState::Routing;
        let mut exec = Execution::new(cx.dialplan, context, &exten, chan);
        exec.set_var("BLINDTRANSFER", &blind);
        self.exec = Some(exec);
        self.exten = exten;
        self.run_dialplan(cx, Resume::Start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_fully_partly_or_not() {
        let codes = [("#", XferKind::Blind), ("*2", XferKind::Attended)];
        assert_eq!(classify("#", &codes), Some(Some(XferKind::Blind)));
        assert_eq!(classify("*", &codes), Some(None));
        assert_eq!(classify("*2", &codes), Some(Some(XferKind::Attended)));
        assert_eq!(classify("*5", &codes), None);
        assert_eq!(classify("5", &codes), None);
        assert_eq!(
            classify("", &[("", XferKind::Blind)]),
            None,
            "an empty code never matches"
        );
    }
}
