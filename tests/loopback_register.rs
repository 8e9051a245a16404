//! The real binary on 127.0.0.1: one digest REGISTER over real UDP (the SIP socket seam) and a
//! clean stop on SIGTERM. The registrar's behaviour (refresh, 423, clamping, unregister,
//! look-alike failures, bad requests) is tested on the fake network (tests/engine_register.rs).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::ua::*;
use common::*;
use std::time::Duration;

#[test]
fn register_over_udp() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let mut w = UdpWire::to(&sb);
    let mut ua = Ua::new(&mut w, "1001", "1001pass");
    let ok = ua.register(&mut w, 300);
    assert_eq!(ok.status(), 200, "{ok:?}");
    let via = ok.top_via().to_string();
    assert!(
        via.contains(&format!("rport={}", ua.sip.port())) && via.contains("received=127.0.0.1"),
        "{via}"
    );
    assert!(sb.wait_log("registered '1001'", Duration::from_secs(2)));
}

#[test]
fn sigterm_stops_cleanly() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    assert_eq!(sb.stop(), Some(0));
}
