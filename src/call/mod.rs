//! The private-call table: every call sipbox is in, each a back-to-back user agent with an
//! inbound leg (sipbox as UAS towards the caller) and outbound legs (sipbox as UAC towards each
//! fork of a Dial).
//!
//! Reading list: RFC 3261 §12 (dialogs: tags, remote target, route set, CSeq), §13 (INVITE,
//! 2xx and ACK), §9 (CANCEL), §15 (BYE); RFC 5407 for the races between them.
//!
//! Like chan_sip's `sip_pvt` list, but as data: a slab of [`Call`]s addressed by generation-
//! checked [`CallRef`]s, and a map from each leg's Call-ID (attacker-chosen strings: a SipHash
//! `HashMap`) to the call and leg it belongs to. The table is bounded; when full a new INVITE is
//! answered 503.

mod leg;
mod table;

pub use leg::{DialogState, Leg, LegRole};
pub use table::{CallRef, CallTable, LegId, LegRef, TableFull};
