//! dnsmasq (Debian `dnsmasq`) on a free loopback port, serving the test's SRV and host
//! records for `*.test` only (no upstream, no /etc/hosts), killed by PID on drop.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// dnsmasq in the foreground; killed (the child we started) on drop.
pub struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts dnsmasq on 127.0.0.1:`port` with `--srv-host=` and `--host-record=` values, and
/// waits until it answers.
pub fn start(port: u16, dir: &std::path::Path, srv: &[String], hosts: &[&str]) -> Dnsmasq {
    // /usr/sbin is not on every PATH.
    let bin = if std::path::Path::new("/usr/sbin/dnsmasq").exists() {
        "/usr/sbin/dnsmasq"
    } else {
        "dnsmasq"
    };
    let mut cmd = Command::new(bin);
    cmd.args([
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
    .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()));
    for s in srv {
        cmd.arg(format!("--srv-host={s}"));
    }
    for h in hosts {
        cmd.arg(format!("--host-record={h}"));
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dnsmasq (Debian package dnsmasq) must be installed: scripts/test.sh installs it");
    let d = Dnsmasq(child);
    wait_ready(port);
    d
}

/// Waits until dnsmasq answers on `port` (a bounded number of tries).
fn wait_ready(port: u16) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // A minimal query for ready.test A, id 0x4242: any answer (NXDOMAIN too) means up.
    let mut q = vec![0x42, 0x42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["ready", "test"] {
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
