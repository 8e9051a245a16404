//! Presence and busy lamps, the parts that know nothing of SIP transactions: device and
//! extension states ([`state`]) and the NOTIFY bodies that describe them ([`body`]).
//!
//! Reading list: Asterisk `include/asterisk/devicestate.h` and `pbx.h` (the states and
//! their names), `main/devicestate.c` (`ast_devstate_aggregate`), `main/pbx.c`
//! (`ast_extension_state2`); RFC 4235 (dialog-info), RFC 3863 (PIDF), RFC 3856 (presence
//! event package); chan_sip.c `state_notify_build_xml` (the bodies phones expect).

pub mod body;
pub mod state;

pub use state::{DeviceState, ExtState};
