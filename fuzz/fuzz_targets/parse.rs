//! Fuzz the SIP parser: no input may panic, and whatever parses must serialize into
//! something that parses again. Run with `cargo fuzz run parse` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipbox::sip::{parse, Message};

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(Message::Request(r)) => {
            let _ = (r.contacts(), r.expires(), r.route(), r.record_route(), r.require());
            let again = parse(&r.to_bytes());
            assert!(matches!(again, Ok(Message::Request(_))));
        }
        Ok(Message::Response(r)) => {
            let _ = (r.contacts(), r.record_route());
            assert!(parse(&r.to_bytes()).is_ok());
        }
        Err(e) => {
            let _ = (e.status(), e.reason(), e.error_response(), e.top_via());
        }
    }
});
