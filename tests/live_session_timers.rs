//! Session timers (RFC 4028) through the real binary, with real peers. Both tests need
//! real time (Min-SE is at least 90 s, so the first refresh is at 45 s): they live in one
//! test binary so that they run side by side (about 62 s for both, not 115 s).
//!
//! SIPp:
//! Session timers (RFC 4028) through the real binary with SIPp phones, with rtptimeout off
//! and `session-expires=90` / `session-minse=90`: 1001 (a SIPp UAC) asks to refresh
//! (`refresher=uac`) and then never does; 1002 (a SIPp UAS without the extension, allowing
//! UPDATE) is asked for the interval on sipbox's INVITE and refreshed by UPDATE at 45 s; at
//! 60 s (90 − min(32, 90/3)) sipbox clears the call with BYE to both. About 62 s. The
//! other flows (422, re-INVITE refreshes, failed refreshes, refuse) are fake-clock scenarios
//! in tests/engine_session_timers.rs.
//!
//! baresip:
//! Session timers with real softphones: two baresip instances (baresip 1.0.0 asks for no
//! session timer and lists no UPDATE) talk through sipbox with `session-expires=90` and
//! rtptimeout off. sipbox refreshes both legs by re-INVITE (the same SDP) at 45 s, both
//! phones answer 200, and the call goes on until the caller's 52 s file ends and it hangs up
//! itself: no teardown by the timer. About 53 s.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::baresip::{write_tone, Baresip, BaresipSpec};
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

#[test]
fn baresip_answers_sipboxs_refreshes_and_the_call_goes_on() {
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        "[general]\nrtptimeout=0\nrtpholdtimeout=0\nsession-expires=90\nsession-minse=90\n",
    );
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let dir = temp_dir("baresip-stimer");
    let tone = dir.join("tone.wav");
    write_tone(&tone, 1000.0, 50.0, 2.0);
    let long = dir.join("long.wav");
    write_tone(&long, 440.0, 60.0, 10.0);
    let callee = Baresip::start(&BaresipSpec {
        user: "1002",
        password: "1002pass",
        server: sb.addr,
        auto_answer: true,
        source: &long,
        record: None,
        commands: &[],
        quit_after: 80,
    });
    assert!(
        sb.wait_log("registered '1002'", Duration::from_secs(10)),
        "1002 did not register: {:?}",
        callee.output()
    );
    let dial = vec![format!("/dial sip:1002@{}", sb.addr)];
    let caller = Baresip::start(&BaresipSpec {
        user: "1001",
        password: "1001pass",
        server: sb.addr,
        auto_answer: false,
        source: &tone,
        record: None,
        commands: &dial,
        quit_after: 75,
    });
    assert!(
        sb.wait_log("answered by leg", Duration::from_secs(10)),
        "no answer; caller: {:?}\ncallee: {:?}",
        caller.output(),
        callee.output()
    );
    assert!(
        sb.wait_log("leg 0 refreshed", Duration::from_secs(55))
            && sb.wait_log("leg 1 refreshed", Duration::from_secs(5)),
        "both phones answer the refresh: {:?}",
        sb.log()
    );
    assert!(
        sb.wait_log(" ended (ByeFrom", Duration::from_secs(20)),
        "the caller hangs up at the end of its file: {:?}",
        sb.log()
    );
    let log = sb.log();
    assert!(
        !log.iter()
            .any(|l| l.contains("Session-Timer expired") || l.contains("refresh of leg")),
        "{log:?}"
    );
}
