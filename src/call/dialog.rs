//! One leg's dialog (RFC 3261 §12) between sipbox and one phone, and the rules a request inside
//! it must pass.
//!
//! Reading list: RFC 3261 §12.1.1 / §12.1.2 (the dialog a UAS / UAC creates: tags, remote
//! target, route set), §12.2.1.1 (building in-dialog requests), §12.2.2 (a UAS checks tags
//! (481) and CSeq order (500)).

use crate::flow::Flow;
use crate::sip::{Contact, HeaderName, Headers, NameAddr, Request, Response, StatusCode, Uri};

/// Which side of the dialog sipbox is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The phone sent the INVITE, sipbox answers it.
    Uas,
    /// sipbox sent the INVITE.
    Uac,
}

/// RFC 3261 §12 dialog states, plus the time before any dialog exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// INVITE sent or received, no response with a To tag yet.
    Trying,
    /// A provisional response with a To tag: an early dialog.
    Early,
    /// A 2xx: the dialog is confirmed.
    Confirmed,
    /// BYE sent or received, or the INVITE failed.
    Terminated,
}

/// One dialog's state.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// UAS or UAC.
    pub role: Role,
    /// The dialog's Call-ID (each outbound leg has its own fresh one).
    pub call_id: String,
    /// Our tag (To tag as UAS, From tag as UAC).
    pub local_tag: String,
    /// The phone's tag, once known.
    pub remote_tag: Option<String>,
    /// Our identity in this dialog, without tag.
    pub local_uri: NameAddr,
    /// The phone's identity, without tag.
    pub remote_uri: NameAddr,
    /// Where in-dialog requests are addressed: the phone's Contact.
    pub remote_target: Uri,
    /// Record-Route as seen by this side, in the order our requests must carry it.
    pub route_set: Vec<NameAddr>,
    /// Our CSeq counter for requests we send in this dialog.
    pub local_cseq: u32,
    /// The highest CSeq the phone has used.
    pub remote_cseq: u32,
    /// Where this phone's messages go (the source of its messages: rport, symmetric SIP).
    pub flow: Flow,
    /// Dialog state.
    pub state: DialogState,
    /// The CSeq number of the initial INVITE on this leg.
    pub invite_cseq: u32,
    /// The Route our INVITE carried (an entry's `outboundproxy`): the route set when the
    /// 2xx records no route of its own, so in-dialog requests still go via the proxy (as
    /// chan_sip sends every request of such a dialog there).
    pub preloaded_route: Vec<NameAddr>,
}

impl Dialog {
    /// The dialog of an INVITE we answer (§12.1.1), with our To tag.
    pub fn uas(req: &Request, local_tag: String, flow: Flow) -> Dialog {
        Dialog {
            role: Role::Uas,
            call_id: req.call_id().to_string(),
            local_tag,
            remote_tag: req.from_tag().map(str::to_string),
            // Decoded without their tags, not decoded whole and copied.
            local_uri: req.to_without_tag(),
            remote_uri: req.from_without_tag(),
            remote_target: request_target(req),
            route_set: req.record_route().unwrap_or_default(),
            local_cseq: 0,
            remote_cseq: req.cseq().seq,
            flow,
            state: DialogState::Trying,
            invite_cseq: req.cseq().seq,
            preloaded_route: Vec::new(),
        }
    }

    /// The dialog a 2xx to our INVITE `invite` creates (§12.1.2), for an answer nobody wants
    /// (it is acknowledged and hung up at once).
    pub fn uac_from_2xx(invite: &Request, resp: &Response, flow: Flow) -> Dialog {
        let mut d = Dialog {
            role: Role::Uac,
            call_id: invite.call_id().to_string(),
            local_tag: invite.from_tag().unwrap_or_default().to_string(),
            remote_tag: None,
            local_uri: invite.from_without_tag(),
            remote_uri: resp.to_without_tag(),
            remote_target: invite.uri().clone(),
            route_set: Vec::new(),
            local_cseq: invite.cseq().seq,
            remote_cseq: 0,
            flow,
            state: DialogState::Trying,
            invite_cseq: invite.cseq().seq,
            preloaded_route: invite.route().unwrap_or_default(),
        };
        d.confirm(resp);
        d
    }

    /// A 2xx confirmed this UAC dialog: the remote tag, target and route set come from it.
    pub fn confirm(&mut self, resp: &Response) {
        self.remote_tag = resp.to_tag().map(str::to_string);
        self.state = DialogState::Confirmed;
        if let Some(target) = first_contact(resp) {
            self.remote_target = target;
        }
        // A UAC's route set is the response's Record-Route reversed (§12.1.2).
        self.route_set = resp
            .record_route()
            .unwrap_or_default()
            .into_iter()
            .rev()
            .collect();
        if self.route_set.is_empty() {
            self.route_set = self.preloaded_route.clone();
        }
    }

    /// A provisional with a To tag made this UAC dialog early.
    pub fn early(&mut self, resp: &Response) {
        if let Some(tag) = resp.to_tag() {
            self.remote_tag = Some(tag.to_string());
            self.state = DialogState::Early;
        }
    }

    /// True once the phone has answered this leg.
    pub fn is_confirmed(&self) -> bool {
        self.state == DialogState::Confirmed
    }

    /// True before the INVITE got its final answer.
    pub fn is_pending(&self) -> bool {
        matches!(self.state, DialogState::Trying | DialogState::Early)
    }

    /// Takes the next local CSeq.
    pub fn next_cseq(&mut self) -> u32 {
        self.local_cseq = self.local_cseq.wrapping_add(1).max(1);
        self.local_cseq
    }

    /// The request's tags are this dialog's (To tag ours, From tag theirs).
    pub fn tags_match(&self, req: &Request) -> bool {
        req.to_tag() == Some(self.local_tag.as_str())
            && req.from_tag() == self.remote_tag.as_deref()
    }

    /// §12.2.2: a request with a To tag must match this dialog's tags (else 481) and carry a
    /// CSeq above the last one (else 500); a match records its CSeq and follows the phone to
    /// the address it now sends from (symmetric SIP, NAT rebinding).
    pub fn accept_request(&mut self, req: &Request, source: Flow) -> Result<(), StatusCode> {
        if !self.tags_match(req) || self.state == DialogState::Terminated {
            return Err(StatusCode::CALL_DOES_NOT_EXIST);
        }
        let cseq = req.cseq().seq;
        if cseq < self.remote_cseq || (cseq == self.remote_cseq && self.role == Role::Uas) {
            return Err(StatusCode::SERVER_INTERNAL_ERROR);
        }
        self.remote_cseq = cseq;
        self.flow = source;
        Ok(())
    }
}

/// A copy of a From/To without its tag.
pub fn without_tag(na: &NameAddr) -> NameAddr {
    na.without_tag()
}

/// The Contact URI of a request (its remote target), or the From URI when absent.
pub fn request_target(req: &Request) -> Uri {
    first_contact_in(req.headers()).unwrap_or_else(|| req.from().uri.clone())
}

/// The first Contact URI of a response.
pub fn first_contact(resp: &Response) -> Option<Uri> {
    first_contact_in(resp.headers())
}

/// The first address of the Contact values (as `contacts()` decodes them: None when one
/// does not parse), without collecting them into a list first or decoding more than its URI.
fn first_contact_in(h: &Headers) -> Option<Uri> {
    Contact::first_uri(h.get_all(&HeaderName::Contact))
}
