//! `Page()`: the caller (answered by sipbox) and every callee that answers sit in one
//! conference of the call's own, the callees muted unless `duplex`. The Dial machinery rings
//! the targets; unlike a Dial, an answer neither bridges nor cancels the others: each
//! answering fork is acknowledged and seated, the rest ring on until the page's timeout. A
//! callee that hangs up leaves alone; the caller hanging up ends the call, and with it every
//! callee's leg (BYE) and ringing fork (CANCEL).
//!
//! Reading list: Asterisk `apps/app_page.c` (`page_exec`: one ConfBridge, the callees
//! `quiet`, listen only without `d`; the caller `marked`), RFC 3261 §13.2.2.4 (an ACK for
//! every 2xx).

use super::super::build::{self, Origin};
use super::super::state::{Call, CallState};
use super::super::Cx;
use crate::dialplan::conference::{ConfKind, ConferenceSpec};
use crate::dialplan::{DialOptions, DialStatus, DialTarget};
use crate::handle::LegId;
use crate::sip::{Method, Response};
use std::time::Duration;

/// The Page a call runs.
pub(super) struct PageState {
    /// Its conference's name (`page-<random>`, as app_page names its ConfBridge).
    name: String,
    /// `d`: the callees talk too.
    duplex: bool,
}

impl Call {
    /// True while the call pages.
    pub(in crate::call) fn page_active(&self) -> bool {
        self.conference.page.is_some()
    }

    /// `Page(...)`: answer the caller, seat it, ring every target. The dialplan waits (the
    /// call ends when the caller hangs up).
    pub(in crate::call) fn page_command(
        &mut self,
        cx: &mut Cx<'_>,
        targets: &[DialTarget],
        timeout: Option<Duration>,
        duplex: bool,
    ) -> bool {
        if !self.answer_if_needed(cx) {
            return false;
        }
        let name = format!("page-{}", rand::Rng::random::<u32>(cx.rng));
        self.conference.page = Some(PageState {
            name: name.clone(),
            duplex,
        });
        let caller = self.caller;
        let spec = ConferenceSpec {
            kind: Some(ConfKind::ConfBridge),
            name,
            marked: true,
            quiet: true,
            ..ConferenceSpec::default()
        };
        self.take_seat(cx, caller, spec);
        if let Some(status) = self.start_dial(cx, targets, timeout, DialOptions::default()) {
            // app_page's caller joins its conference even when nobody could be called.
            log::info!(
                "call {}: Page: nobody could be called ({}); the caller stays",
                self.label(),
                status.as_str()
            );
        }
        false
    }

    /// A paged callee answered: acknowledge its 2xx, learn its media, seat it. The other
    /// forks ring on.
    pub(in crate::call) fn page_fork_answered(
        &mut self,
        cx: &mut Cx<'_>,
        leg: LegId,
        resp: &Response,
    ) {
        let branch = cx.new_branch();
        self.cdr.callee_outcome(cx.wall, leg, DialStatus::Answer);
        let d = &mut self.legs[leg].dialog;
        d.confirm(resp);
        let origin = Origin::on(d.flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let ack = build::in_dialog(d, Method::Ack, d.invite_cseq, &origin).to_bytes();
        cx.out.sip(d.flow, ack);
        self.legs[leg].acked = true;
        self.session_fork_answered(cx, leg, resp);
        self.media_learn_answer(cx, leg, resp);
        if let CallState::Dialing(dial) = &mut self.state {
            dial.pending = dial.pending.saturating_sub(1);
        }
        let Some(page) = &self.conference.page else {
            return;
        };
        crate::verbose!(3, "{} answered the page", self.legs[leg].channel);
        let spec = ConferenceSpec {
            kind: Some(ConfKind::ConfBridge),
            name: page.name.clone(),
            muted: !page.duplex,
            quiet: true,
            ..ConferenceSpec::default()
        };
        self.take_seat(cx, leg, spec);
    }

    /// True when `leg` is a callee of this call's Page.
    pub(in crate::call) fn is_page_callee(&self, leg: LegId) -> bool {
        self.page_active() && leg != self.caller
    }

    /// A BYE from a paged callee: it leaves; the page goes on.
    pub(in crate::call) fn page_callee_bye(&mut self, leg: LegId) {
        if let Some(l) = self.legs.get_mut(leg) {
            l.dialog.state = crate::call::DialogState::Terminated;
        }
        self.conference.remove(leg);
        log::info!("call {}: paged leg {leg} hung up", self.label());
    }
}
