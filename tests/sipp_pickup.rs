//! Call pickup through the real binary with SIPp phones: 1001 calls 1002 (a SIPp UAS that
//! rings and expects CANCEL), 1003 dials `*8` while it rings and is answered; 1001 is answered
//! too and gets the BYE when 1003 hangs up. (baresip 1.0.0 has no attended transfer — no
//! Replaces — so the transfer flows are fake-network scenarios: tests/engine_attended_transfer.rs.)
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::time::Duration;

#[test]
fn sipp_picks_up_a_ringing_call_with_star_8() {
    let conf = TEST_SIP_CONF
        .replace("[1002](phone)\n", "[1002](phone)\ncallgroup=2\n")
        .replace("[1003](phone)\n", "[1003](phone)\npickupgroup=1-3\n");
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", port);
    let ringing_sf = sipp::scenario("uas_ring_cancelled.xml");
    let uas = sipp::spawn_on(port, sb.addr, &["-sf", &ringing_sf, "-m", "1"], 15);
    std::thread::sleep(Duration::from_millis(300));
    let caller_sf = sipp::scenario("uac_auth_wait_bye.xml");
    let caller_args = [
        "-sf", &caller_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "1",
    ];
    let caller = sipp::spawn_on(sipp::free_port(), sb.addr, &caller_args, 15);
    assert!(
        sb.wait_log("in context 'internal'", Duration::from_secs(5)),
        "the call rings"
    );
    std::thread::sleep(Duration::from_millis(300));
    let picker_sf = sipp::scenario("uac_pickup.xml");
    let picker = sipp::run(
        sb.addr,
        &[
            "-sf", &picker_sf, "-s", "*8", "-au", "1003", "-ap", "1003pass", "-m", "1",
        ],
        15,
    );
    assert!(
        sipp::succeeded(&picker),
        "the picker is answered and hangs up"
    );
    assert!(
        sipp::succeeded(&sipp::finish(caller)),
        "the caller is answered, then BYE"
    );
    assert!(
        sipp::succeeded(&sipp::finish(uas)),
        "the ringing phone is cancelled"
    );
    assert!(sb.wait_log("picked up by leg", Duration::from_secs(2)));
    assert!(sb.wait_log("0 calls up", Duration::from_secs(5)));
}
