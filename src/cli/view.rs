//! What the CLI may read: snapshots and borrowed views of the engine's state, built by the
//! engine for each command (the CLI is rare; a snapshot costs less than a borrow puzzle).

use crate::config::settings::PeerId;
use crate::config::sip_general::General;
use crate::config::sip_peer::SipPeer;
use crate::dialplan::Dialplan;
use crate::registrar::Binding;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

/// Everything a command may look at.
pub struct View<'a> {
    /// The time of the command.
    pub now: Instant,
    /// The wall clock at `now`.
    pub wall: SystemTime,
    /// sip.conf `[general]`.
    pub general: &'a General,
    /// Every sip.conf entry, in file order, with its live state.
    pub peers: Vec<PeerView<'a>>,
    /// Every live channel (one per call leg).
    pub channels: Vec<ChannelView>,
    /// Outbound registrations (`register =>` lines).
    pub registry: Vec<RegistryView>,
    /// extensions.conf and the AstDB.
    pub dialplan: &'a Dialplan,
    /// Our SIP address.
    pub local: SocketAddr,
    /// When the engine started.
    pub started: Instant,
    /// When the config was last (re)loaded.
    pub last_reload: Instant,
    /// Calls taken since start.
    pub calls_processed: u64,
    /// Calls up now.
    pub active_calls: usize,
    /// `sip set debug` now.
    pub sip_debug: SipDebug,
    /// The asking console's levels.
    pub console: Levels,
    /// A `core stop` in progress.
    pub stopping: Option<StopMode>,
    /// The parking lots.
    pub parking: &'a crate::config::parking_conf::ParkingConf,
    /// The parked calls, by lot and position.
    pub parked: Vec<ParkedView>,
    /// The running conferences (ConfBridge, MeetMe), by name.
    pub conferences: Vec<super::conference::ConferenceView>,
}

/// One parked call for `parking show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedView {
    /// Its lot's name, lower case.
    pub lot: String,
    /// Its position.
    pub slot: u32,
    /// The parkee's channel.
    pub channel: String,
    /// Who parked it (`SIP/1002`).
    pub parker: String,
}

/// A console's verbosity and debug level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Levels {
    /// `core set verbose` / `-v` count.
    pub verbose: u8,
    /// `core set debug` / `-d` count.
    pub debug: u8,
}

/// A qualified peer's reachability, as `sip show peers` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// No `qualify=`.
    Unmonitored,
    /// Qualified, no answer yet (or nothing to ping).
    Unknown,
    /// Answered in this time.
    Ok(Duration),
    /// Did not answer in time.
    Unreachable,
}

/// One sip.conf entry and its live state.
pub struct PeerView<'a> {
    /// Its id.
    pub id: PeerId,
    /// Its settings.
    pub conf: &'a SipPeer,
    /// Where calls to it go now (registered contact's source, or its static host).
    pub addr: Option<SocketAddr>,
    /// Its registered contacts (host=dynamic).
    pub bindings: &'a [Binding],
    /// Its reachability.
    pub reach: Reach,
    /// Calls counting against its call-limit.
    pub in_use: u32,
}

/// A channel's state, Asterisk's `ast_state2str` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChanState {
    /// An outbound leg not ringing yet.
    Down,
    /// An inbound leg not answered yet.
    Ring,
    /// An outbound leg that rings.
    Ringing,
    /// Answered.
    Up,
}

impl ChanState {
    /// The word `core show channels` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ChanState::Down => "Down",
            ChanState::Ring => "Ring",
            ChanState::Ringing => "Ringing",
            ChanState::Up => "Up",
        }
    }
}

/// One live channel (a leg of a call).
#[derive(Debug, Clone)]
pub struct ChannelView {
    /// `SIP/1001-00000001`.
    pub name: String,
    /// The leg's Call-ID.
    pub call_id: String,
    /// Its sip.conf entry.
    pub peer: Option<String>,
    /// Its remote address.
    pub remote: SocketAddr,
    /// True for the caller's leg (we are the UAS).
    pub incoming: bool,
    /// Its state.
    pub state: ChanState,
    /// Dialplan position: context (empty for an outbound leg).
    pub context: String,
    /// Extension.
    pub exten: String,
    /// Priority.
    pub prio: u32,
    /// Application running (`AppDial` for an outbound leg).
    pub app: String,
    /// Its data.
    pub data: String,
    /// Caller number.
    pub caller_num: String,
    /// When it was created.
    pub created: Instant,
    /// Its codec, when known.
    pub codec: Option<String>,
    /// The channel it is bridged to.
    pub bridged: Option<String>,
    /// `${UNIQUEID}` of the call.
    pub unique_id: String,
    /// Our tag.
    pub our_tag: String,
    /// Their tag.
    pub their_tag: String,
    /// The remote target (Contact) URI.
    pub uri: String,
    /// On hold (its last SDP said so).
    pub hold: bool,
}

/// One outbound registration.
#[derive(Debug, Clone)]
pub struct RegistryView {
    /// `host:port`.
    pub host: String,
    /// The user registered.
    pub username: String,
    /// Refresh interval in seconds.
    pub refresh: u32,
    /// `Registered`, `Unregistered`, `Request Sent`, `Rejected`, ...
    pub state: String,
    /// When it last registered.
    pub reg_time: Option<SystemTime>,
}

/// What `sip set debug` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SipDebug {
    /// Nothing.
    #[default]
    Off,
    /// Every message (`sip set debug on`, `-vvv`).
    All,
    /// Messages to or from this address (`ip ADDR[:PORT]`, `peer NAME`).
    Addr {
        /// The address.
        ip: IpAddr,
        /// The port, when given: then both must match (chan_sip's `sip_debug_test_addr`).
        port: Option<u16>,
    },
}

impl SipDebug {
    /// True when a message to or from `addr` is printed.
    pub fn matches(self, addr: SocketAddr) -> bool {
        match self {
            SipDebug::Off => false,
            SipDebug::All => true,
            SipDebug::Addr { ip, port } => addr.ip() == ip && port.is_none_or(|p| p == addr.port()),
        }
    }
}

/// `core stop ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Hang up every call and stop.
    Now,
    /// Refuse new calls (503) and stop when the last call ends.
    Gracefully,
    /// Stop when no call is up; new calls are still taken meanwhile.
    WhenConvenient,
}

/// What a reload command asks to re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// sip.conf (`sip reload`, `module reload chan_sip.so`).
    Sip,
    /// extensions.conf (`dialplan reload`, `module reload pbx_config.so`).
    Dialplan,
    /// Everything (`core reload`, `module reload`).
    All,
}
