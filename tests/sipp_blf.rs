//! A busy lamp through the real binary: a SIPp watcher subscribes to extension 1002's hint
//! (Event: dialog) and sees, in order, idle, ringing, answered and hung up while a SIPp
//! caller calls a SIPp callee (the whole NOTIFY sequence is asserted by the scenario,
//! tests/sipp/subscribe_dialog.xml). The states and bodies in detail are tested on the fake
//! network (tests/engine_blf.rs).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::time::Duration;

#[test]
fn sipp_watcher_sees_the_lamp_follow_a_call() {
    let conf = TEST_SIP_CONF.replace("[phone](!)\n", "[phone](!)\ncallcounter=yes\n")
        + "\n[1005](phone)\n";
    let ext =
        TEST_EXTENSIONS_CONF.replace("[internal]\n", "[internal]\nexten => 1002,hint,SIP/1002\n");
    let sb = Sipbox::start(&conf, &ext);
    let callee_port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", callee_port);
    let watch_sf = sipp::scenario("subscribe_dialog.xml");
    let watcher = sipp::spawn_on(
        sipp::free_port(),
        sb.addr,
        &["-sf", &watch_sf, "-s", "1002", "-m", "1"],
        20,
    );
    assert!(
        sb.wait_log("subscribed to dialog", Duration::from_secs(10)),
        "{:?}",
        sb.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    let uas_sf = sipp::scenario("uas_answer.xml");
    let uas = sipp::spawn_on(callee_port, sb.addr, &["-sf", &uas_sf, "-m", "1"], 20);
    std::thread::sleep(Duration::from_millis(300));
    let uac_sf = sipp::scenario("uac_auth_call.xml");
    let uac = sipp::run(
        sb.addr,
        &[
            "-sf", &uac_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        20,
    );
    assert!(sipp::succeeded(&uac), "the call failed");
    assert!(sipp::succeeded(&sipp::finish(uas)), "the callee failed");
    assert!(
        sipp::succeeded(&sipp::finish(watcher)),
        "the watcher did not see idle, ringing, answered, idle: {:?}",
        sb.log()
            .iter()
            .filter(|l| l.contains("device") || l.contains("subscri"))
            .collect::<Vec<_>>()
    );
}
