//! The real binary stops cleanly on SIGTERM. The REGISTER seam over real UDP is SIPp's
//! (tests/sipp_register.rs); the registrar's behaviour (rport/received, refresh, 423, clamping,
//! unregister, look-alike failures, bad requests) is tested on the fake network
//! (tests/engine_register.rs).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::*;

#[test]
fn sigterm_stops_cleanly() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    assert_eq!(sb.stop(), Some(0));
}
