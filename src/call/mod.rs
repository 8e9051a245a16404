//! Calls: every call sipbox is in, each a back-to-back user agent with legs (sipbox as UAS
//! towards the caller, as UAC towards each fork of a Dial), its state machine, its dialogs,
//! its media and its timers.
//!
//! Reading list: RFC 3261 §12 (dialogs: tags, remote target, route set, CSeq), §13 (INVITE,
//! 2xx and ACK), §9 (CANCEL), §15 (BYE), §16.7 (choosing among forks' answers); RFC 5407 for
//! the races between them; Asterisk's `app_dial.c` (DIALSTATUS, `r`, `g`) and `chan_sip.c`
//! (`sip_pvt`, `handle_request_invite`) for the behaviour copied.
//!
//! - [`table`]: the bounded call table (Call-ID → call and leg, generation-checked handles).
//! - [`state`]: [`Call`], its legs and the one [`CallState`] enum.
//! - [`dialog`]: one leg's RFC 3261 dialog and the rules in-dialog requests must pass.
//! - [`build`]: the requests sipbox originates, from typed Via/Contact/CSeq.
//! - [`outcome`]: the one mapping of fork failures, DIALSTATUS and Q.850 causes to SIP.
//! - [`reply`]: answers on server transactions.
//! - [`local`]: `Local/exten@context` Dial targets, run as dialplan cursors inside the call.
//! - `start`, `dial`, `in_dialog`, `answer`, `script`: what a call does, as methods on
//!   [`Call`] that take a [`Cx`] — the split borrow of what a call may touch — and change only
//!   the call and that context. A call that ends moves to [`CallState::Ended`] having freed its
//!   timers, transactions and sockets; the engine then drops it from the table.
//! - [`media`]: the call's media (RTP relay between bridged legs, sipbox as the endpoint).
//! - [`conference`]: the call's seats in conferences (ConfBridge, MeetMe) and its Page.
//! - [`park`]: call parking (Park, ParkedCall, the comeback) and the table of taken positions.
//! - [`queue`]: Queue(): the caller's wait, the attempts that ring members, the bridge.

pub mod build;
pub mod cdr;
pub mod conference;
pub mod dialog;
pub mod identity;
pub mod jobs;
pub mod media;
pub mod message;
pub mod outcome;
pub mod reply;
pub mod session_timer;
pub mod state;
pub mod table;

mod agi;
mod answer;
mod dial;
pub mod features;
mod in_dialog;
pub mod join;
pub mod local;
pub mod park;
pub mod queue;
mod script;
pub mod session_refresh;
mod start;
mod targets;
pub mod transfer;

pub use dial::dead_fork_event;
pub use dialog::{Dialog, DialogState, Role};
pub use reply::Reply;
pub use start::{dialled_extension, dialled_extension_str, Caller, NewCall};
pub use state::{Bridge, Call, CallState, DialState, EndReason, Leg};
pub use table::{CallIds, CallTable, InsertError, LegRef};

use crate::config::settings::{PeerId, Settings};
use crate::dialplan::Dialplan;
use crate::flow::Outbox;
use crate::handle::{CallHandle, LegId};
use crate::media::sounds::Sounds;
use crate::registrar::Registrar;
use crate::sched::Scheduler;
use crate::transaction::{Handle as TxHandle, Transactions};
use crate::wake::Wake;
use media::MediaState;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Instant, SystemTime};

/// The methods sipbox serves, for `Allow`.
pub const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, REFER, SUBSCRIBE, MESSAGE, PUBLISH";

/// What sipbox can receive in a body, for `Accept`.
pub const ACCEPT: &str = "application/sdp";

/// Whose a client transaction is, so its answer finds its way back.
#[derive(Debug, Clone)]
pub enum Purpose {
    /// The INVITE of an outbound leg.
    Invite(LegRef),
    /// A BYE, CANCEL or orphan's BYE whose answer changes nothing.
    Fire,
    /// An OPTIONS qualify ping to a peer.
    Qualify {
        /// The peer.
        peer: PeerId,
        /// When it was sent.
        sent: Instant,
    },
    /// A request relayed between the legs of a call.
    Relay(Relay),
    /// Our session-timer refresh (re-INVITE or UPDATE) on a leg (RFC 4028).
    Refresh(LegRef),
    /// An outbound REGISTER of registration `trunk` with this CSeq.
    Register {
        /// The registration's [`crate::trunk::Trunk::id`] (stable across reloads, unlike its
        /// index among the `register =>` lines).
        trunk: u32,
        /// The CSeq it went with (answers to older ones are ignored).
        cseq: u32,
    },
}

/// A request relayed from leg `from_leg` to leg `to_leg`; its final answer goes back on
/// `server`, the transaction of the original request.
#[derive(Debug, Clone, Copy)]
pub struct Relay {
    /// The transaction of the original request.
    pub server: TxHandle,
    /// The call.
    pub call: CallHandle,
    /// The leg that sent the request.
    pub from_leg: LegId,
    /// The leg it was relayed to.
    pub to_leg: LegId,
    /// It is a re-INVITE (its final answer ends the glare window).
    pub invite: bool,
}

/// Calls per sip.conf entry, for call-limit.
#[derive(Debug, Default)]
pub struct PeerLoad {
    active: HashMap<PeerId, u32>,
}

impl PeerLoad {
    /// True when `peer` already has as many calls as its call-limit allows.
    pub fn over_limit(&self, cfg: &Settings, peer: PeerId) -> bool {
        match cfg.peer(peer).and_then(|p| p.call_limit) {
            Some(limit) => self.active.get(&peer).copied().unwrap_or(0) >= limit,
            None => false,
        }
    }

    /// Calls counting against `peer` now.
    pub fn active(&self, peer: PeerId) -> u32 {
        self.active.get(&peer).copied().unwrap_or(0)
    }

    /// A call now counts against `peer`.
    pub fn add(&mut self, peer: PeerId) {
        *self.active.entry(peer).or_default() += 1;
    }

    /// A call no longer counts against `peer`.
    pub fn release(&mut self, peer: PeerId) {
        if let Some(n) = self.active.get_mut(&peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.active.remove(&peer);
            }
        }
    }
}

/// Call-IDs of late 2xx we already sent a BYE for (bounded).
#[derive(Debug, Default)]
pub struct Orphans(VecDeque<String>);

impl Orphans {
    const MAX: usize = 64;

    /// Records a BYE for `call_id`; false if one was already sent.
    pub fn first_bye(&mut self, call_id: &str) -> bool {
        if self.0.iter().any(|c| c == call_id) {
            return false;
        }
        self.0.push_back(call_id.to_string());
        if self.0.len() > Self::MAX {
            self.0.pop_front();
        }
        true
    }
}

/// What a call may touch while it handles an event: borrowed from the engine beside the call
/// table (a split borrow), so a call can change itself, its transactions, its timers and its
/// sockets — and nothing of other calls.
pub struct Cx<'a> {
    /// The event's time.
    pub now: Instant,
    /// The wall clock at `now`.
    pub wall: SystemTime,
    /// sip.conf.
    pub cfg: &'a Settings,
    /// extensions.conf.
    pub dialplan: &'a Dialplan,
    /// Registered contacts (where a Dial to a dynamic peer goes).
    pub registrar: &'a Registrar,
    /// Peers qualify found UNREACHABLE.
    pub unreachable: &'a HashSet<PeerId>,
    /// call-limit counters.
    pub load: &'a mut PeerLoad,
    /// Both transaction tables.
    pub txs: &'a mut Transactions<Purpose>,
    /// The heap.
    pub sched: &'a mut Scheduler<Wake>,
    /// What to send.
    pub out: &'a mut Outbox,
    /// Every random choice.
    pub rng: &'a mut StdRng,
    /// RTP ports and media counters.
    pub media: &'a mut MediaState,
    /// Playback's prompts.
    pub sounds: &'a mut dyn Sounds,
    /// Our addresses toward each destination (Via, Contact, SDP): the one place they come
    /// from.
    pub advertise: &'a crate::nat::Advertise,
    /// Late 2xx already hung up.
    pub orphans: &'a mut Orphans,
    /// This sipbox's loop marker (see [`loop_marker`]).
    pub loop_token: u64,
    /// System() commands running in the driver.
    pub jobs: &'a mut jobs::Jobs,
    /// The channel sequence (the `-0000000n` of channel names, the `.n` of UNIQUEID).
    pub seq: &'a mut u64,
    /// Music on hold classes.
    pub moh: &'a mut crate::media::moh::MohLibrary,
    /// The parking lots and who is parked where.
    pub parking: &'a mut park::Parking,
    /// cdr.conf in force (a new call keeps this one to its end).
    pub cdr_conf: &'a std::rc::Rc<crate::config::cdr_conf::CdrConf>,
    /// features.conf (the DTMF transfers).
    pub features: &'a crate::config::features_conf::FeaturesConf,
}

/// The `X-Sipbox-Loop` value for an outbound leg of `invite`: the markers it arrived with
/// (the sipboxes it passed, at most the last 7) and `ours`. Two sipboxes routing a number to
/// each other thus see their own marker come back and answer 482 on the second pass, long
/// before Max-Forwards runs out. (A PBX between them that drops unknown headers hides the
/// loop from this; Max-Forwards still stops it.)
pub fn loop_marker(invite: &crate::sip::Request, ours: u64) -> String {
    // Printed straight into the value: the kept markers then ours (no list, no `format!`).
    // One scan of the headers (an INVITE that never looped has no marker: no allocation).
    let marks: Vec<&str> = loop_markers(invite).collect();
    let mut out = String::with_capacity(17 * 8);
    for m in &marks[marks.len().saturating_sub(7)..] {
        out.push_str(m);
        out.push(',');
    }
    crate::sip::write::push_hex(&mut out, u128::from(ours), 16);
    out
}

/// The well-formed markers (16 hex digits) a request carries.
pub fn loop_markers(req: &crate::sip::Request) -> impl Iterator<Item = &str> {
    req.headers()
        .get_all(&crate::sip::HeaderName::SipboxLoop)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| t.len() == 16 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .take(64)
}

impl Cx<'_> {
    /// A fresh tag for To/From: 64 random bits in hex.
    pub fn new_tag(&mut self) -> String {
        crate::sip::write::hex16(self.rng.random::<u64>())
    }

    /// A fresh RFC 3261 branch.
    pub fn new_branch(&mut self) -> String {
        crate::transaction::new_branch(self.rng)
    }

    /// A fresh Call-ID for a request we originate.
    pub fn new_call_id(&mut self) -> String {
        let mut id = String::with_capacity(39);
        crate::sip::write::push_hex(&mut id, self.rng.random::<u128>(), 32);
        id.push_str("@sipbox");
        id
    }

    /// The name of a new channel to `who` (a peer name; empty: `unknown`), numbered as
    /// Asterisk numbers channels: one counter for every channel of the process.
    pub fn new_channel(&mut self, who: &str) -> String {
        *self.seq += 1;
        channel_name(who, *self.seq)
    }

    /// sip.conf `useragent`.
    pub fn user_agent(&self) -> &str {
        &self.cfg.general.user_agent
    }
}

/// `SIP/who-0000000n`, the way chan_sip names its channels (the dialplan's printer: one
/// format for both).
pub fn channel_name(who: &str, seq: u64) -> String {
    crate::dialplan::exec::sip_channel_name(who, seq as u32).into()
}

#[cfg(test)]
mod loop_tests {
    use super::*;

    #[test]
    fn channel_names_are_chan_sips() {
        assert_eq!(channel_name("1002", 5), "SIP/1002-00000005");
        assert_eq!(channel_name("", 0x1_0000_00ab), "SIP/unknown-000000ab");
    }

    #[test]
    fn the_marker_keeps_the_last_seven_and_adds_ours() {
        let mut text = String::from(
            "INVITE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:1@127.0.0.1>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n",
        );
        let seen: Vec<String> = (1..=9u64).map(|i| format!("{i:016x}")).collect();
        text.push_str(&format!("X-Sipbox-Loop: {}, junk\r\n", seen[..5].join(",")));
        text.push_str(&format!("X-Sipbox-Loop: {}\r\n", seen[5..].join(",")));
        text.push_str("Content-Length: 0\r\n\r\n");
        let req = match crate::sip::parse(text.as_bytes()).unwrap() {
            crate::sip::Message::Request(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(loop_markers(&req).count(), 9, "junk is ignored");
        let out = loop_marker(&req, 0xabc);
        let parts: Vec<&str> = out.split(',').collect();
        assert_eq!(parts.len(), 8);
        assert_eq!(parts[0], seen[2]);
        assert_eq!(parts[7], "0000000000000abc");
    }
}
