//! The real binary stops cleanly on SIGTERM, and at trace level (`-vv`, or `RUST_LOG=sip=trace`)
//! prints every SIP message it reads and sends, in chan_sip's `sip set debug on` wording. The
//! REGISTER seam over real UDP is SIPp's
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

#[test]
fn trace_logging_shows_every_sip_message_as_chan_sip_debug_does() {
    let dir = temp_dir("sipdebug");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), TEST_EXTENSIONS_CONF).unwrap();
    let sb = Sipbox::start_logging(&dir, "debug,sip=trace");
    let mut w = common::wire::UdpWire::to(&sb);
    let ua = common::ua::Ua::new(&mut w, "x", "");
    let to = sb.addr;
    let options = format!(
        "OPTIONS sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKdbg;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:x@{me}>;tag=1\r\nTo: <sip:{to}>\r\nCall-ID: dbg\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        me = ua.sip
    );
    ua.send(&mut w, &options);
    assert_eq!(ua.final_response(&mut w).status(), 200);
    let d = std::time::Duration::from_secs(2);
    assert!(
        sb.wait_log(&format!("<--- SIP read from UDP:{} --->", ua.sip), d),
        "{:?}",
        sb.log()
    );
    assert!(sb.wait_log(&format!("<--- Transmitting to UDP:{} --->", ua.sip), d));
    assert!(
        sb.wait_log("Call-ID: dbg", d),
        "the message itself is printed"
    );
}
