//! Session timers (RFC 4028) through the real binary with SIPp phones, with rtptimeout off
//! and `session-expires=90` / `session-minse=90`: 1001 (a SIPp UAC) asks to refresh
//! (`refresher=uac`) and then never does; 1002 (a SIPp UAS without the extension, allowing
//! UPDATE) is asked for the interval on sipbox's INVITE and refreshed by UPDATE at 45 s; at
//! 60 s (90 − min(32, 90/3)) sipbox clears the call with BYE to both. About 62 s. The
//! other flows (422, re-INVITE refreshes, failed refreshes, refuse) are fake-clock scenarios
//! in tests/engine_session_timers.rs.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn sipbox_refreshes_the_callee_and_clears_a_caller_that_stopped_refreshing() {
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        "[general]\nrtptimeout=0\nrtpholdtimeout=0\nsession-expires=90\nsession-minse=90\n",
    );
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", port);
    let uas_sf = sipp::scenario("uas_session_refreshed.xml");
    let uas = sipp::spawn_on(port, sb.addr, &["-sf", &uas_sf, "-m", "1"], 90);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let uac_sf = sipp::scenario("uac_session_timer_silent.xml");
    let caller = sipp::run(
        sb.addr,
        &[
            "-sf", &uac_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        90,
    );
    let took = started.elapsed();
    assert!(
        sipp::succeeded(&caller),
        "the caller is answered with its interval and gets the BYE"
    );
    assert!(
        sipp::succeeded(&sipp::finish(uas)),
        "the callee is asked for the interval, refreshed by UPDATE, then BYE"
    );
    assert!(
        took >= Duration::from_secs(59) && took < Duration::from_secs(75),
        "cleared at expiry minus 30 s: {took:?}"
    );
    assert!(sb.wait_log("Session-Timer expired", Duration::from_secs(2)));
    assert!(sb.wait_log("0 calls up", Duration::from_secs(5)));
}
