//! A new call from an INVITE that passed the engine's checks (who is calling, digest,
//! call-limit): the caller's leg, the dialplan cursor in the caller's context.
//!
//! Reading list: RFC 3261 §13.3 (UAS processing of an INVITE); Asterisk's `chan_sip.c`
//! `handle_request_invite` (the extension is the Request-URI user) and `pbx.c` (`${UNIQUEID}`).

use super::dialog::Dialog;
use super::media::CallMedia;
use super::state::{Call, CallState, Leg};
use super::Cx;
use crate::config::settings::PeerId;
use crate::dialplan::{ChannelInfo, Execution, SipHeaders};
use crate::flow::Flow;
use crate::handle::CallHandle;
use crate::sched::TimerSlots;
use crate::sip::Request;
use crate::transaction::Handle as TxHandle;
use std::rc::Rc;

/// What the engine decided about an INVITE before it became a call.
pub struct NewCall {
    /// The INVITE.
    pub invite: Rc<Request>,
    /// Its server transaction (100 Trying already sent).
    pub tx: TxHandle,
    /// Our To tag on it.
    pub to_tag: String,
    /// Where it came from.
    pub source: Flow,
    /// The caller's sip.conf entry (None: a guest).
    pub peer: Option<PeerId>,
    /// The dialplan context it runs in.
    pub context: String,
    /// `${UNIQUEID}`.
    pub unique_id: String,
    /// The extension to run, when not the Request-URI's (a registration's `/extension`).
    pub exten: Option<String>,
}

/// Who an INVITE is from, as chan_sip decides it.
pub enum Caller {
    /// A user/friend by From name, to be authenticated.
    Entry(PeerId),
    /// A static peer matched by source address with `insecure=invite`: no challenge.
    TrustedPeer(PeerId),
    /// Nobody we know.
    Unknown,
}

impl Call {
    /// The call for `new` (not yet stepped: see [`Call::begin`]).
    pub fn new(cx: &Cx<'_>, handle: CallHandle, new: NewCall) -> Call {
        let NewCall {
            invite,
            tx,
            to_tag,
            source,
            peer,
            context,
            unique_id,
            exten,
        } = new;
        let exten = exten.unwrap_or_else(|| dialled_extension(&invite));
        let leg = Leg {
            dialog: Dialog::uas(&invite, to_tag, source),
            invite_tx: Some(tx),
            acked: false,
            peer,
            entry: peer.and_then(|p| cx.cfg.peer_rc(p)),
            media: None,
            nated: crate::nat::detect::request_behind_nat(&invite, source.remote),
            channel: String::new(),
            created: cx.now,
            session: Default::default(),
        };
        // Who is calling is worked out once: the channel's caller ID and its presentation.
        let id = caller_identity(cx, &invite, peer);
        let pres = id.pres;
        let mut exec = Execution::in_context(
            cx.dialplan,
            context,
            &exten,
            channel_info_of(cx, &invite, peer, unique_id, id),
        );
        if let Some(p) = peer.and_then(|p| cx.cfg.peer(p)) {
            exec.cdr.accountcode = p.accountcode.as_deref().unwrap_or_default().into();
            exec.cdr.amaflags = p.amaflags;
            exec.language = p.language.as_str().into();
            exec.allow_overlap = p.allow_overlap.answers_incomplete();
        } else {
            exec.language = cx.cfg.general.language.as_str().into();
            exec.allow_overlap = cx.cfg.general.allow_overlap.answers_incomplete();
        }
        let mut leg = leg;
        leg.channel = exec.channel_name();
        // The engine answered a refusal (422, 420) before the call began: Ok here.
        let st = match peer.and_then(|p| cx.cfg.peer(p)) {
            Some(p) => p.session_timers,
            None => cx.cfg.general.session_timers,
        };
        let timer = super::session_timer::negotiate_uas(&st, &invite, None, cx.now)
            .ok()
            .flatten();
        leg.session = super::session_refresh::LegSession::for_caller(&invite, timer);
        if pres != "allowed_not_screened" {
            exec.set_var("CALLERID(pres)", pres);
        }
        let exec = Some(exec);
        // Room for the caller and a Dial's first fork: a leg is large, growing moves them all.
        let mut legs = Vec::with_capacity(2);
        legs.push(leg);
        Call {
            handle,
            legs,
            caller: 0,
            invite,
            state: CallState::Routing,
            exec,
            dialer: None,
            pending_ack: None,
            dial_failure: None,
            reinvite_pending: false,
            job: None,
            agi: None,
            exten,
            media: CallMedia::default(),
            general: cx.cfg.general.clone(),
            timers: TimerSlots::default(),
            transfer: None,
            rerouted: false,
            cdr: super::cdr::CallCdr::new(cx.wall, cx.cdr_conf.clone()),
            join: None,
            owed_answer: None,
            parked: None,
            queue: None,
            xfer_rights: Default::default(),
            feature: None,
            conference: Default::default(),
        }
    }

    /// Starts the dialplan.
    pub fn begin(&mut self, cx: &mut Cx<'_>) {
        self.run_dialplan(cx, crate::dialplan::Resume::Start);
    }
}

/// The caller ID of an INVITE from `peer`: its From, replaced part by part by the entry's
/// `callerid=`, its presentation the entry's `callingpres=`; with `trustrpid=yes`, a
/// P-Asserted-Identity or Remote-Party-ID then replaces both (chan_sip's `check_peer_ok`
/// then `get_rpid`). Without trustrpid those headers are ignored.
pub(super) fn caller_identity(
    cx: &Cx<'_>,
    req: &Request,
    peer: Option<PeerId>,
) -> super::identity::Identity {
    // Read off the From text: From is not decoded for them.
    let mut id = super::identity::Identity {
        name: req.from_display().filter(|n| !n.is_empty()).map(Into::into),
        number: req.from_user().unwrap_or_default().into(),
        pres: "allowed_not_screened",
    };
    let Some(entry) = peer.and_then(|p| cx.cfg.peer(p)) else {
        return id;
    };
    if let Some(cid) = &entry.callerid {
        if let Some(n) = &cid.name {
            id.name = Some(n.as_str().into());
        }
        if let Some(n) = &cid.number {
            id.number = n.as_str().into();
        }
    }
    if let Some(p) = entry.callingpres {
        id.pres = p;
    }
    if entry.trustrpid {
        if let Some(asserted) = super::identity::asserted(req) {
            log::debug!(
                "trusting the asserted identity {:?} <{}> of '{}' ({})",
                asserted.name,
                asserted.number,
                entry.name,
                asserted.pres
            );
            id = asserted;
        }
    }
    id
}

pub(super) fn channel_info(
    cx: &Cx<'_>,
    req: &Rc<Request>,
    peer: Option<PeerId>,
    unique_id: String,
) -> ChannelInfo {
    let id = caller_identity(cx, req, peer);
    channel_info_of(cx, req, peer, unique_id, id)
}

/// [`channel_info`] with the caller's identity already worked out.
fn channel_info_of(
    cx: &Cx<'_>,
    req: &Rc<Request>,
    peer: Option<PeerId>,
    unique_id: String,
    id: super::identity::Identity,
) -> ChannelInfo {
    let (name, num) = (id.name.unwrap_or_default(), id.number);
    ChannelInfo {
        callerid_name: name,
        callerid_num: num,
        sip_call_id: req.call_id().into(),
        unique_id: unique_id.into(),
        // For ${CHANNEL(peername)}, the channel name and ${SIP_HEADER(...)}.
        peer: peer
            .and_then(|p| cx.cfg.peer(p))
            .map_or_else(Default::default, |e| e.name.as_str().into()),
        name: None,
        sip_headers: SipHeaders::Request(Rc::clone(req)),
    }
}

/// The extension an INVITE asks for: the Request-URI user (unescaped by the parser), else the
/// To user, else `s`.
pub fn dialled_extension(req: &Request) -> String {
    dialled_extension_str(req).to_string()
}

/// [`dialled_extension`], borrowed from the request.
pub fn dialled_extension_str(req: &Request) -> &str {
    // or_else: To is decoded only when the Request-URI has no user (the common case has one).
    let user = req
        .uri()
        .user
        .as_deref()
        .or_else(|| req.to().uri.user.as_deref())
        .unwrap_or("");
    if user.is_empty() {
        "s"
    } else {
        user
    }
}
