//! A real softphone transfers: baresip 1001 calls baresip 1002 through sipbox, 1002 runs
//! `/transfer sip:1003@…` (sent through its ctrl_tcp module), and baresip 1003 really rings
//! and answers; 1002 hangs up by itself after the NOTIFY 200 and the 1001 ↔ 1003 call goes on
//! until 1001's file ends.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use std::time::Duration;

#[test]
fn baresip_blind_transfers_to_a_third_baresip() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let dir = temp_dir("baresip-transfer");
    // 1001 hangs up when its file ends, well after the transfer.
    let caller_tone = dir.join("caller.wav");
    write_tone(&caller_tone, 1000.0, 1.0, 9.0);
    let long = dir.join("long.wav");
    write_tone(&long, 440.0, 1.0, 20.0);
    let spec = |user, password, auto_answer, source, commands, quit_after| BaresipSpec {
        user,
        password,
        server: sb.addr,
        auto_answer,
        source,
        record: None,
        commands,
        quit_after,
    };
    let target = Baresip::start(&spec("1003", "1003pass", true, &long, &[], 30));
    let transferer = Baresip::start_controlled(&spec("1002", "1002pass", true, &long, &[], 30));
    for user in ["1002", "1003"] {
        assert!(
            sb.wait_log(&format!("registered '{user}'"), Duration::from_secs(10)),
            "{user} did not register: {:?}",
            sb.log()
        );
    }
    let dial = vec![format!("/dial sip:1002@{}", sb.addr)];
    let caller = Baresip::start(&spec("1001", "1001pass", false, &caller_tone, &dial, 30));
    assert!(
        transferer.wait_for("established", Duration::from_secs(10)),
        "1002: {:?}",
        transferer.output()
    );
    assert!(
        transferer.command("transfer", &format!("sip:1003@{}", sb.addr)),
        "ctrl_tcp took no command: {:?}",
        transferer.output()
    );
    assert!(
        sb.wait_log("transfers leg 0 to '1003@internal'", Duration::from_secs(5)),
        "no transfer: {:?}\n1002: {:?}",
        sb.log(),
        transferer.output()
    );
    assert!(
        target.wait_for("established", Duration::from_secs(10)),
        "1003 did not answer: {:?}",
        target.output()
    );
    assert!(
        sb.wait_log("transfer outcome 200", Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
    assert!(
        sb.wait_log("BYE from transferer leg 1", Duration::from_secs(5)),
        "baresip did not hang up after the NOTIFY 200: {:?}\n1002: {:?}",
        sb.log(),
        transferer.output()
    );
    assert!(
        !sb.log().iter().any(|l| l.contains(" ended (")),
        "the transferred call goes on: {:?}",
        sb.log()
    );
    assert!(
        sb.wait_log(" ended (ByeFrom(0))", Duration::from_secs(20)),
        "the call 1001 ↔ 1003 did not end with 1001's BYE: {:?}\n1001: {:?}",
        sb.log(),
        caller.output()
    );
    assert!(
        target.wait_for("closed", Duration::from_secs(5))
            || target.wait_for("terminated", Duration::from_secs(1)),
        "1003: {:?}",
        target.output()
    );
}
