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
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// dnsmasq in the foreground, killed (by PID, the child we started) on drop.
struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dnsmasq(port: u16, sip_port: u16, dir: &std::path::Path) -> Dnsmasq {
    // /usr/sbin is not on every PATH.
    let bin = if std::path::Path::new("/usr/sbin/dnsmasq").exists() {
        "/usr/sbin/dnsmasq"
    } else {
        "dnsmasq"
    };
    let child = Command::new(bin)
        .args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--local=/test/",
            "--user=root",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
        .arg(format!(
            "--srv-host=_sip._udp.itsp.test,sip1.itsp.test,{sip_port},10,50"
        ))
        .arg("--host-record=sip1.itsp.test,127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dnsmasq (Debian package dnsmasq) must be installed: scripts/test.sh installs it");
    Dnsmasq(child)
}

/// Waits until dnsmasq answers on `port` (a bounded number of tries).
fn wait_ready(port: u16) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // A minimal query for sip1.itsp.test A, id 0x4242.
    let mut q = vec![0x42, 0x42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["sip1", "itsp", "test"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut buf = [0u8; 512];
    for _ in 0..50 {
        let _ = sock.send_to(&q, ("127.0.0.1", port));
        if sock.recv_from(&mut buf).is_ok() {
            return;
        }
    }
    panic!("dnsmasq did not answer on 127.0.0.1:{port}");
}

#[test]
fn srv_resolved_trunk_takes_a_call_and_a_bad_name_only_logs() {
    let dir = temp_dir("sipbox-dns");
    let dns_port = sipp::free_port();
    let uas_port = sipp::free_port();
    let _dns = dnsmasq(dns_port, uas_port, &dir);
    wait_ready(dns_port);
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
