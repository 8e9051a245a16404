//! Asterisk-dialect configuration: the generic reader ([`reader`]) and the typed settings
//! built from it ([`sip_conf`]). Every error carries the `file:line` it came from.

pub mod acl;
pub mod codec;
pub mod raw;
pub mod reader;
pub mod values;
