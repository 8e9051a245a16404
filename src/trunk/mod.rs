//! Trunks to an ITSP: outbound registration (`register =>`, [`registry`]), and answering the
//! digest challenges our own requests draw ([`digest`], [`credentials`]).
//!
//! The engine drives it with the scheduler (`src/engine/trunk.rs`, `src/engine/challenge.rs`):
//! it sends the REGISTERs a [`Registry`] asks for and feeds back their answers and timeouts.
//! State changes are logged in chan_sip's wording; [`RegistryRow`] is the read-only snapshot
//! `sip show registry` prints.
//!
//! Reading list: RFC 3261 §10 (registration), §22 (authentication), RFC 8760 (SHA-256);
//! chan_sip's `transmit_register`, `handle_response_register`, `do_proxy_auth`,
//! `build_reply_digest` and `sip_show_registry`.

pub mod credentials;
pub mod digest;
pub mod registry;

pub use registry::{RegState, Registry};

use crate::flow::Flow;
use crate::sched::TimerSlots;
use crate::wake::RegTimer;
use std::time::Duration;

/// One `sip show registry` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    /// `Host`: the registrar (host:port as configured).
    pub host: String,
    /// `Username`.
    pub username: String,
    /// `Refresh`: the expiry granted (or asked for, before the first 200), seconds.
    pub refresh: u32,
    /// `State`, in chan_sip's words.
    pub state: &'static str,
    /// How long ago the last 200 came (`Reg.Time` is its wall-clock time).
    pub registered_for: Option<Duration>,
}

/// A registration as the engine runs it: the machine, the dialog-like identifiers every
/// REGISTER of it shares (RFC 3261 §10.2: one Call-ID, increasing CSeq), its timers.
pub struct Trunk {
    /// Its id: timers and REGISTER transactions name it (a reload may move it to another
    /// index when lines around it are added or removed).
    pub id: u32,
    /// The `register =>` line it registers.
    pub line: crate::config::sip_conf::Registration,
    /// A reload removed its line: it is unregistering (`Expires: 0`), then goes.
    pub retiring: bool,
    /// The state machine.
    pub machine: Registry,
    /// Call-ID of all its REGISTERs.
    pub call_id: String,
    /// From tag of all its REGISTERs.
    pub from_tag: String,
    /// The CSeq of the last REGISTER sent.
    pub cseq: u32,
    /// Where the last REGISTER went (inbound calls from there are the ITSP's).
    pub dest: Option<Flow>,
    /// Its timers.
    pub timers: TimerSlots<RegTimer>,
    /// The last challenge was a 407 (answer with Proxy-Authorization).
    pub proxy_challenge: bool,
    /// Which of the registrar's addresses (RFC 3263 order) REGISTERs go to: advanced on a
    /// timeout or 503, back to the first after the last.
    pub target: usize,
    /// Due, but waiting for the registrar's name to resolve.
    pub waiting_dns: bool,
}

/// Every registration, by its index among the `register =>` lines.
#[derive(Default)]
pub struct Trunks {
    /// The registrations.
    pub list: Vec<Trunk>,
    /// Shutdown has begun: nothing new is sent.
    pub stopping: bool,
    /// The next [`Trunk::id`].
    pub next_id: u32,
}

impl Trunks {
    /// The index of registration `id` (None: removed by a reload).
    pub fn index_of(&self, id: u32) -> Option<usize> {
        self.list.iter().position(|t| t.id == id)
    }
}
