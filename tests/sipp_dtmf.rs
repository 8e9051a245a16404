//! DTMF translated by the real binary between SIPp phones: 1001 (rfc2833) sends the digit 1
//! as RFC 2833 events (SIPp's dtmf_2833_1.pcap) to 1002, whose entry says `dtmfmode=info`;
//! the SIPp callee must receive it as SIP INFO `application/dtmf-relay` `Signal=1`,
//! `Duration=280`. About 3 s.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::time::Duration;

#[test]
fn sipp_rfc2833_digit_reaches_an_info_peer_as_sip_info() {
    let conf = TEST_SIP_CONF.replace("[1002](phone)\n", "[1002](phone)\ndtmfmode=info\n");
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", port);
    let uas_sf = sipp::scenario("uas_answer_info.xml");
    let uas_mp = sipp::free_port().to_string();
    let uas = sipp::spawn_on(
        port,
        sb.addr,
        &["-sf", &uas_sf, "-m", "1", "-mp", &uas_mp],
        15,
    );
    std::thread::sleep(Duration::from_millis(300));
    let uac_sf = sipp::scenario("uac_auth_dtmf_2833.xml");
    let uac_mp = sipp::free_port().to_string();
    let caller = sipp::run(
        sb.addr,
        &[
            "-sf", &uac_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "1", "-mp",
            &uac_mp,
        ],
        15,
    );
    assert!(
        sipp::succeeded(&caller),
        "the caller sends its digit and hangs up"
    );
    assert!(
        sipp::succeeded(&sipp::finish(uas)),
        "the info callee got INFO Signal=1"
    );
    assert!(sb.wait_log("0 calls up", Duration::from_secs(5)));
}
