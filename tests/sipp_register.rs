//! SIPp registers against the real binary with digest auth (the REGISTER seam; wrong
//! passwords and the rest of the registrar are tested on the fake network in
//! tests/engine_register.rs).
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
