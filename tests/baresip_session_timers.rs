//! Session timers with real softphones: two baresip instances (baresip 1.0.0 asks for no
//! session timer and lists no UPDATE) talk through sipbox with `session-expires=90` and
//! rtptimeout off. sipbox refreshes both legs by re-INVITE (the same SDP) at 45 s, both
//! phones answer 200, and the call goes on until the caller's 52 s file ends and it hangs up
//! itself: no teardown by the timer. About 53 s.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use std::time::Duration;

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
