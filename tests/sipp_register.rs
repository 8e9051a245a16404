//! SIPp registers against the real binary with digest auth.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::sipp;
use common::*;

#[test]
fn sipp_registers_with_digest_auth() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let sf = sipp::scenario("register.xml");
    let sf = sf.as_str();
    let out = sipp::run(
        sb.addr,
        &[
            "-sf", sf, "-s", "1001", "-au", "1001", "-ap", "1001pass", "-m", "20", "-r", "50",
            "-l", "5",
        ],
        30,
    );
    assert!(sipp::succeeded(&out), "sipp failed");
    assert!(sb.log().iter().any(|l| l.contains("registered '1001'")));
}

#[test]
fn sipp_with_the_wrong_password_is_refused() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let sf = sipp::scenario("register.xml");
    let sf = sf.as_str();
    let out = sipp::run(
        sb.addr,
        &[
            "-sf",
            sf,
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            "wrong",
            "-m",
            "1",
            "-recv_timeout",
            "3000",
        ],
        15,
    );
    assert!(!out.status.success(), "a wrong password must not get a 200");
    assert!(!sb.log().iter().any(|l| l.contains("registered '1001'")));
}
