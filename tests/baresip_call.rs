//! A real softphone: two baresip instances register as 1001 and 1002, and 1001 calls 1002
//! through sipbox; both must see the call established and then ended.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use std::time::Duration;

#[test]
fn baresip_calls_baresip_through_sipbox() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let dir = temp_dir("baresip-audio");
    // 1001 hangs up when its 2 s tone (plus 1 s silence) ends.
    let tone = dir.join("tone.wav");
    write_tone(&tone, 1000.0, 2.0, 1.0);
    let long = dir.join("long.wav");
    write_tone(&long, 440.0, 1.0, 14.0);
    let callee = Baresip::start(&BaresipSpec {
        user: "1002",
        password: "1002pass",
        server: sb.addr,
        auto_answer: true,
        source: &long,
        record: None,
        commands: &[],
        quit_after: 25,
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
        quit_after: 20,
    });
    assert!(
        sb.wait_log("answered by leg", Duration::from_secs(10)),
        "no answer; caller: {:?}\ncallee: {:?}",
        caller.output(),
        callee.output()
    );
    assert!(
        caller.wait_for("established", Duration::from_secs(5)),
        "caller: {:?}",
        caller.output()
    );
    assert!(
        callee.wait_for("established", Duration::from_secs(5)),
        "callee: {:?}",
        callee.output()
    );
    assert!(
        sb.wait_log(" ended (ByeFrom", Duration::from_secs(15)),
        "the call did not end: {:?}",
        sb.log()
    );
    // The shim worked: baresip saw only loopback, so nothing left the machine's loopback.
    let local = caller
        .output()
        .into_iter()
        .find(|l| l.contains("Local network address"))
        .unwrap_or_default();
    assert!(
        local.contains("127.0.0.1") && !local.contains("eth"),
        "{local}"
    );
    assert!(
        callee.wait_for("closed", Duration::from_secs(5))
            || callee.wait_for("terminated", Duration::from_secs(1)),
        "callee: {:?}",
        callee.output()
    );
}
