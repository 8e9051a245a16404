//! sipbox against a real ITSP stand-in, Kamailio (Debian `kamailio`) on 127.0.0.1: it
//! registers (401, then 200), calls out through Kamailio to a SIPp "PSTN" with a 407 on the
//! INVITE answered, takes an inbound DID call from Kamailio on the register line's
//! `/extension`, and unregisters (Expires: 0, challenged and answered) when stopped.
//! Skipped, with a message, when kamailio is not installed or cannot start.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp::{self, free_port};
use common::ua::*;
use common::wire::UdpWire;
use common::{temp_dir, Sipbox};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Kamailio we started, in a process group of its own; stopped with its workers on drop.
/// Its stderr log is in the file `.1`.
struct Kamailio(Child, std::path::PathBuf);

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Kamailio {
    /// SIGTERM to its whole group (the main process and the workers it forked; a SIGKILL of
    /// the main process alone leaves the workers running), then SIGKILL to the group if it
    /// has not gone within 2 s.
    fn stop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Workers may outlive the main process by a moment: the group gets SIGKILL anyway.
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// The REGISTERs it logged (its `xlog` line per REGISTER) that carried credentials.
    fn signed_registers(&self) -> Vec<String> {
        std::fs::read_to_string(&self.1)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("ITSP REGISTER") && l.contains("Digest"))
            .map(String::from)
            .collect()
    }
}

/// Starts Kamailio with the test config on `port`, sending the trunk's calls to `pstn`.
/// None (with a message) when it is missing or does not come up.
fn kamailio(port: u16, pstn: u16) -> Option<Kamailio> {
    if Command::new("kamailio").arg("-v").output().is_err() {
        eprintln!("SKIPPED: kamailio is not installed (Debian package kamailio)");
        return None;
    }
    let dir = temp_dir("kamailio");
    let cfg = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/kamailio/itsp.cfg"
    ))
    .unwrap()
    .replace("@PORT@", &port.to_string())
    .replace("@PSTN@", &pstn.to_string());
    let path = dir.join("itsp.cfg");
    std::fs::write(&path, cfg).unwrap();
    let log = dir.join("kamailio.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new("kamailio")
        .process_group(0)
        .args(["-DD", "-E", "-m", "64", "-M", "8", "-f"])
        .arg(&path)
        .args(["-Y", dir.to_str().unwrap(), "-P"])
        .arg(dir.join("kamailio.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .ok()?;
    let mut k = Kamailio(child, log);
    // Up when it answers an OPTIONS (405 from its route) on its port.
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let me = probe.local_addr().unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if let Ok(Some(_)) = k.0.try_wait() {
            eprintln!("SKIPPED: kamailio exited at start");
            return None;
        }
        let opt = format!(
            "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKprobe\r\n\
             Max-Forwards: 70\r\nFrom: <sip:probe@{me}>;tag=p\r\nTo: <sip:127.0.0.1:{port}>\r\n\
             Call-ID: probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        let _ = probe.send_to(opt.as_bytes(), ("127.0.0.1", port));
        let mut buf = [0u8; 2048];
        if probe.recv_from(&mut buf).is_ok() {
            return Some(k);
        }
    }
    eprintln!("SKIPPED: kamailio did not answer on 127.0.0.1:{port}");
    k.stop();
    None
}

const EXT: &str = "\
[internal]
exten => _9X.,1,Dial(SIP/itsp/${EXTEN:1},10)
 same => n,Verbose(1,outbound dialstatus ${DIALSTATUS})
 same => n,Hangup()

[fromitsp]
exten => 1234,1,Verbose(1,DID call landed on ${EXTEN} in ${CONTEXT})
 same => n,Answer()
 same => n,Wait(5)
 same => n,Hangup()
";

#[test]
fn registers_calls_out_and_in_through_kamailio() {
    let (kport, pstn) = (free_port(), free_port());
    let Some(_k) = kamailio(kport, pstn) else {
        return;
    };
    let sip_conf = format!(
        "[general]\ncontext=guests\n\
         register => itsp?trunk:trunkpw@127.0.0.1:{kport}/1234~120\n\n\
         [itsp]\ntype=peer\nhost=127.0.0.1\nport={kport}\nfromuser=trunk\n\
         remotesecret=trunkpw\ncontext=fromitsp\n\n\
         [1001]\ntype=friend\nhost=dynamic\ncontext=internal\nsecret=1001pass\n"
    );
    let sb = Sipbox::start(&sip_conf, EXT);
    // 401 then 200.
    assert!(
        sb.wait_log(
            "SIP registration 'trunk@127.0.0.1': Auth. Sent -> Registered",
            Duration::from_secs(5)
        ),
        "{:?}",
        sb.log()
    );
    assert!(sb
        .log()
        .iter()
        .any(|l| l.contains("Request Sent -> Auth. Sent")));
    // Out: 1001 dials 9 5551234; Kamailio challenges the INVITE (407), sipbox answers it,
    // Kamailio relays to the SIPp PSTN, which answers.
    let pstn_uas = sipp::spawn_on(
        pstn,
        "127.0.0.1:9".parse().unwrap(),
        &["-sn", "uas", "-m", "1"],
        10,
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut w = UdpWire::to(&sb);
    let mut a = Ua::new(&mut w, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let (mut d, r) = a.call(&mut w, "95551234", &offer);
    assert_eq!(r.status(), 200, "{r:?}; {:?}", sb.log());
    assert!(
        sb.log()
            .iter()
            .any(|l| l.contains(&format!("INVITE to 127.0.0.1:{kport}: answering the 407"))),
        "{:?}",
        sb.log()
    );
    std::thread::sleep(Duration::from_millis(200));
    a.hang_up(&mut w, &mut d);
    let out = sipp::finish(pstn_uas);
    assert!(sipp::succeeded(&out), "the PSTN side saw the whole call");
    // In: a SIPp caller at the ITSP calls the trunk; Kamailio finds sipbox's registration and
    // sends the call there; it lands on /extension 1234 in the peer's context.
    let kamailio: SocketAddr = format!("127.0.0.1:{kport}").parse().unwrap();
    let out = sipp::run(
        kamailio,
        &["-sn", "uac", "-s", "5550000", "-m", "1", "-d", "300"],
        10,
    );
    assert!(
        sipp::succeeded(&out),
        "inbound call through Kamailio; {:?}",
        sb.log()
    );
    assert!(
        sb.wait_log(
            "DID call landed on 1234 in fromitsp",
            Duration::from_secs(2)
        ),
        "{:?}",
        sb.log()
    );
    // Stopping: Expires: 0, challenged by Kamailio, answered, accepted.
    let (code, log) = sb.stop_logged();
    assert_eq!(code, Some(0));
    assert!(
        log.iter()
            .any(|l| l.contains("SIP registration 'trunk@127.0.0.1': Auth. Sent -> Unregistered")),
        "{log:?}"
    );
}

/// How many signed REGISTERs Kamailio has seen, waiting up to `wait` for at least `n`.
fn wait_registers(k: &Kamailio, n: usize, wait: Duration) -> usize {
    let end = Instant::now() + wait;
    loop {
        let seen = k.signed_registers().len();
        if seen >= n || Instant::now() >= end {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn srv_named_registrar_refreshes_and_registers_again_after_a_restart() {
    // dnsmasq: _sip._udp.itsp.test SRV -> sip1.itsp.test:KPORT -> 127.0.0.1; the register
    // line names only itsp.test (srvlookup=yes, no port), with a 4 s expiry.
    let (kport, pstn, dns_port) = (free_port(), free_port(), free_port());
    let Some(k) = kamailio(kport, pstn) else {
        return;
    };
    let dir = temp_dir("sipbox-kam-dns");
    let _dns = common::dnsmasq::start(
        dns_port,
        &dir,
        &[format!("_sip._udp.itsp.test,sip1.itsp.test,{kport},10,50")],
        &["sip1.itsp.test,127.0.0.1"],
    );
    let sip_conf = "[general]\ncontext=guests\nsrvlookup=yes\ndefaultexpiry=4\nregistertimeout=2\n\
         register => trunk:trunkpw@itsp.test/1234~4\n\n\
         [1001]\ntype=friend\nhost=dynamic\ncontext=internal\nsecret=1001pass\n";
    std::fs::write(dir.join("sip.conf"), sip_conf).unwrap();
    std::fs::write(
        dir.join("extensions.conf"),
        "[guests]\nexten => 1234,1,Verbose(1,DID call on ${EXTEN})\n same => n,Answer()\n \
         same => n,Wait(1)\n same => n,Hangup()\n",
    )
    .unwrap();
    let ns = format!("127.0.0.1:{dns_port}");
    let sb = Sipbox::start_with(&dir, "info", &["--nameserver", &ns]);
    let resolved = format!(
        "host 'itsp.test' (register => / outboundproxy) resolved (SRV) to 127.0.0.1:{kport}"
    );
    assert!(
        sb.wait_log(&resolved, Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
    assert!(
        sb.wait_log(
            "SIP registration 'trunk@itsp.test': Auth. Sent -> Registered",
            Duration::from_secs(5)
        ),
        "{:?}",
        sb.log()
    );
    // The refresh (at 80 % of 4 s) reaches Kamailio: a second signed REGISTER.
    let t0 = Instant::now();
    assert_eq!(
        wait_registers(&k, 2, Duration::from_secs(6)),
        2,
        "refresh seen by Kamailio"
    );
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "refreshed before expiry: {took:?}"
    );
    // Kamailio restarts with an empty location table: only a new registration lets the DID
    // call through, and it must come at sipbox's next refresh.
    drop(k);
    let Some(k2) = kamailio(kport, pstn) else {
        panic!("kamailio started once but not twice");
    };
    assert_eq!(
        wait_registers(&k2, 1, Duration::from_secs(6)),
        1,
        "sipbox registered again with the restarted Kamailio; {:?}",
        sb.log()
    );
    std::thread::sleep(Duration::from_millis(200));
    let kamailio: SocketAddr = format!("127.0.0.1:{kport}").parse().unwrap();
    let out = sipp::run(
        kamailio,
        &["-sn", "uac", "-s", "5550000", "-m", "1", "-d", "200"],
        10,
    );
    assert!(
        sipp::succeeded(&out),
        "inbound call through the restarted Kamailio; {:?}",
        sb.log()
    );
    assert!(
        sb.wait_log("DID call on 1234", Duration::from_secs(2)),
        "{:?}",
        sb.log()
    );
}
