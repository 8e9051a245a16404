//! NAT on both sides: what address sipbox advertises toward a destination ([`advertise`]),
//! and whether a device is behind NAT ([`detect`]).
//!
//! Reading list, before working on this folder:
//! - RFC 3581 (rport) and RFC 4961 (symmetric RTP); RFC 3261 §18.2.2 (where responses go).
//! - Asterisk's `channels/chan_sip.c`: `ast_sip_ouraddrfor` (externaddr/localnet remapping,
//!   the SIP port vs the extern port) and `check_via` (`nat=auto_force_rport`/`auto_comedia`),
//!   and the "NAT SUPPORT" part of `configs/samples/sip.conf.sample`.
//!
//! Pure functions of the config and the addresses involved; the binary resolves `externhost`
//! and hands the engine the address (`Engine::set_extern_ip`).

pub mod advertise;
pub mod detect;

pub use advertise::{Advertise, Toward};
