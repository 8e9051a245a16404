//! A ring group through Local channels with the real binary and SIPp phones: 1001 calls 600,
//! `Dial(Local/1002@ring&Local/1003@ring,10)`; each Local channel dials its phone. 1002 (a
//! SIPp UAS) rings and expects CANCEL, 1003 rings and answers; 1001 is answered, holds the
//! call 300 ms and hangs up, 1003 gets the BYE. About 2 s.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::time::Duration;

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => 600,1,Dial(Local/1002@ring&Local/1003@ring,10)
 same => n,Hangup()

[ring]
exten => _100X,1,Dial(SIP/${EXTEN},10)
 same => n,Hangup()
";

#[test]
fn sipp_ring_group_of_local_channels_first_answer_wins() {
    let sb = Sipbox::start(TEST_SIP_CONF, EXTENSIONS);
    let (p2, p3) = (sipp::free_port(), sipp::free_port());
    sipp::register_at(sb.addr, "1002", "1002pass", p2);
    sipp::register_at(sb.addr, "1003", "1003pass", p3);
    let ringing_sf = sipp::scenario("uas_ring_cancelled.xml");
    let ringing = sipp::spawn_on(p2, sb.addr, &["-sf", &ringing_sf, "-m", "1"], 15);
    let answer_sf = sipp::scenario("uas_answer.xml");
    let answering = sipp::spawn_on(p3, sb.addr, &["-sf", &answer_sf, "-m", "1"], 15);
    std::thread::sleep(Duration::from_millis(300));
    let caller_sf = sipp::scenario("uac_auth_call.xml");
    let caller = sipp::run(
        sb.addr,
        &[
            "-sf", &caller_sf, "-s", "600", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        15,
    );
    assert!(
        sipp::succeeded(&caller),
        "the caller is answered and hangs up"
    );
    assert!(
        sipp::succeeded(&sipp::finish(answering)),
        "1003 answers and gets the BYE"
    );
    assert!(sipp::succeeded(&sipp::finish(ringing)), "1002 is cancelled");
    assert!(sb.wait_log("0 calls up", Duration::from_secs(5)));
    let (_, lines) = sb.stop_logged();
    let logged = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        logged("Local/1002@ring") && logged("Local/1003@ring"),
        "{lines:#?}"
    );
    // Optimized: the caller is bridged to 1003's SIP leg itself.
    assert!(logged("answered by leg"), "{lines:#?}");
}
