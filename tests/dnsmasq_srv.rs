//! DNS through the real binary: dnsmasq (Debian `dnsmasq`) on a free loopback port serves
//! `_sip._udp.itsp.test` SRV → `sip1.itsp.test:PORT` → 127.0.0.1; sipbox, pointed at it with
//! `--nameserver`, resolves the trunk on its event loop and a SIPp call through the trunk
//! reaches the SIPp UAS listening there. A second peer's name does not resolve: sipbox keeps
//! running and says so in its log.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::time::Duration;

#[test]
fn srv_resolved_trunk_takes_a_call_and_a_bad_name_only_logs() {
    let dir = temp_dir("sipbox-dns");
    let dns_port = sipp::free_port();
    let uas_port = sipp::free_port();
    let _dns = common::dnsmasq::start(
        dns_port,
        &dir,
        &[format!(
            "_sip._udp.itsp.test,sip1.itsp.test,{uas_port},10,50"
        )],
        &["sip1.itsp.test,127.0.0.1"],
    );
    let sip = format!(
        "{TEST_SIP_CONF}\n[itsp]\ntype=peer\nhost=itsp.test\ninsecure=port,invite\n\
         context=internal\n\n[broken]\ntype=peer\nhost=nothere.test\n"
    );
    let ext = "[internal]\nexten => _9X.,1,Dial(SIP/itsp/${EXTEN:1},10)\n same => n,Hangup()\n";
    std::fs::write(dir.join("sip.conf"), sip).unwrap();
    std::fs::write(dir.join("extensions.conf"), ext).unwrap();
    let ns = format!("127.0.0.1:{dns_port}");
    let mut sb = Sipbox::start_with(&dir, "debug", &["--nameserver", &ns]);
    let want = format!("peer 'itsp': host 'itsp.test' resolved (SRV) to 127.0.0.1:{uas_port}");
    assert!(sb.wait_log(&want, Duration::from_secs(5)), "{:?}", sb.log());
    assert!(
        sb.wait_log(
            "peer 'broken': host 'nothere.test' does not resolve",
            Duration::from_secs(5)
        ),
        "{:?}",
        sb.log()
    );
    assert!(sb.is_running(), "an unresolvable name never stops sipbox");

    let uas_sf = sipp::scenario("uas_answer.xml");
    let uas = sipp::spawn_on(uas_port, sb.addr, &["-sf", &uas_sf, "-m", "1"], 20);
    std::thread::sleep(Duration::from_millis(300));
    let uac_sf = sipp::scenario("uac_auth_call.xml");
    let uac = sipp::run(
        sb.addr,
        &[
            "-sf", &uac_sf, "-s", "95551234", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        20,
    );
    let uas = sipp::finish(uas);
    assert!(sipp::succeeded(&uac), "caller: {:?}", sb.log());
    assert!(sipp::succeeded(&uas), "the SRV target's UAS took the call");
    assert!(sb.is_running());
    assert_eq!(sb.stop(), Some(0));
}
