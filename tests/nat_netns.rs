//! A real NAT, made by the test: three network namespaces — `srv` (the public side,
//! 203.0.113.1), `nat` (a Linux router that MASQUERADEs the home network behind 203.0.113.2)
//! and `home` (10.0.0.2, default route through the router) — joined by veth pairs.
//!
//! Part 1, sipbox public, phone behind the NAT: SIPp in `home` registers through the NAT
//! (sipbox sees the router's address), calls sipbox's Echo() with RTP from a UDP peer beside
//! it (RTP both ways through the NAT, comedia), and is called by a SIPp in `srv` through
//! sipbox (the INVITE crosses the NAT to the registered mapping; answered, hung up).
//! Part 2, sipbox behind the NAT (in `home`, `externaddr=203.0.113.2`,
//! `localnet=10.0.0.0/8`, the router forwarding 5060 and the RTP range): a LAN SIPp calls out
//! to a SIPp "ITSP" in `srv`, which checks that Via, Contact, SDP c= and o= name the external
//! address, while the LAN phone's answer names the LAN address.
//!
//! Part 1 also carries RTP both ways on the call from the public side to the phone, and
//! shows `keepalive=1` holding a 3 s conntrack UDP timeout (set in the router namespace)
//! open for 6 s, with a control peer without keepalive that must not be reached. Part 2 also
//! carries RTP both ways between the LAN phone and the ITSP through the router.
//!
//! Everything is created with names carrying the test's PID and deleted at the end, also on
//! failure (a guard's Drop). Without root, netns or iptables NAT support the test prints why
//! and skips. Bounded: every SIPp has a `-timeout`, sipbox is killed by PID.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs a command; true when it exits 0.
fn run(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The namespaces of one test run; deleting them removes their veths and rules too.
struct Topology {
    srv: String,
    nat: String,
    home: String,
    /// The router's public and home-side interfaces.
    nat_pub: String,
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in [&self.srv, &self.nat, &self.home] {
            run(&["ip", "netns", "del", ns]);
        }
    }
}

impl Topology {
    /// Builds the three namespaces, or says why it cannot.
    fn build() -> Result<Topology, String> {
        let pid = std::process::id();
        let t = Topology {
            srv: format!("sbx{pid}srv"),
            nat: format!("sbx{pid}nat"),
            home: format!("sbx{pid}home"),
            nat_pub: format!("sn{pid}"),
        };
        let (sa, sb) = (format!("ss{pid}"), t.nat_pub.clone());
        let (ha, hb) = (format!("hh{pid}"), format!("hn{pid}"));
        for ns in [&t.srv, &t.nat, &t.home] {
            if !run(&["ip", "netns", "add", ns]) {
                return Err("cannot create network namespaces (needs root and netns)".into());
            }
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        let steps: Vec<Vec<&str>> = vec![
            vec![
                "ip", "link", "add", &sa, "type", "veth", "peer", "name", &sb,
            ],
            vec!["ip", "link", "set", &sa, "netns", &t.srv],
            vec!["ip", "link", "set", &sb, "netns", &t.nat],
            vec![
                "ip", "link", "add", &ha, "type", "veth", "peer", "name", &hb,
            ],
            vec!["ip", "link", "set", &ha, "netns", &t.home],
            vec!["ip", "link", "set", &hb, "netns", &t.nat],
            vec![
                "ip",
                "-n",
                &t.srv,
                "addr",
                "add",
                "203.0.113.1/24",
                "dev",
                &sa,
            ],
            vec!["ip", "-n", &t.srv, "link", "set", &sa, "up"],
            vec![
                "ip",
                "-n",
                &t.nat,
                "addr",
                "add",
                "203.0.113.2/24",
                "dev",
                &sb,
            ],
            vec!["ip", "-n", &t.nat, "link", "set", &sb, "up"],
            vec!["ip", "-n", &t.nat, "addr", "add", "10.0.0.1/24", "dev", &hb],
            vec!["ip", "-n", &t.nat, "link", "set", &hb, "up"],
            vec![
                "ip",
                "-n",
                &t.home,
                "addr",
                "add",
                "10.0.0.2/24",
                "dev",
                &ha,
            ],
            vec!["ip", "-n", &t.home, "link", "set", &ha, "up"],
            vec![
                "ip", "-n", &t.home, "route", "add", "default", "via", "10.0.0.1",
            ],
            vec![
                "ip",
                "netns",
                "exec",
                &t.nat,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ],
        ];
        for s in &steps {
            if !run(s) {
                return Err(format!("cannot build the topology ({})", s.join(" ")));
            }
        }
        let masq = [
            "ip",
            "netns",
            "exec",
            &t.nat,
            "iptables",
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-o",
            &sb,
            "-j",
            "MASQUERADE",
        ];
        if !run(&masq) {
            return Err("iptables NAT (MASQUERADE) is not available".into());
        }
        Ok(t)
    }

    /// Port forwarding on the router for a sipbox behind it: SIP and the RTP range.
    fn forward_to_home(&self) -> bool {
        ["5060", "20000:20019"].iter().all(|ports| {
            run(&[
                "ip",
                "netns",
                "exec",
                &self.nat,
                "iptables",
                "-t",
                "nat",
                "-A",
                "PREROUTING",
                "-i",
                &self.nat_pub,
                "-p",
                "udp",
                "--dport",
                ports,
                "-j",
                "DNAT",
                "--to-destination",
                "10.0.0.2",
            ])
        })
    }
}

/// sipbox running in a namespace, its log collected; killed by PID on drop.
struct Sipbox {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Sipbox {
    fn start(ns: &str, bind: &str, sip_conf: &str, extensions: &str) -> Sipbox {
        let dir = common::temp_dir("sipbox-nat");
        std::fs::write(dir.join("sip.conf"), sip_conf).unwrap();
        std::fs::write(dir.join("extensions.conf"), extensions).unwrap();
        std::fs::write(
            dir.join("rtp.conf"),
            "[general]\nrtpstart=20000\nrtpend=20003\n",
        )
        .unwrap();
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                env!("CARGO_BIN_EXE_sipbox"),
                "--config-dir",
            ])
            .arg(&dir)
            .args(["--bind", bind, "-v"])
            .env("RUST_LOG", "debug")
            .env("RUST_LOG_STYLE", "never")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sipbox");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let sb = Sipbox { child, log };
        assert!(
            sb.wait_log("listening on udp", Duration::from_secs(10)),
            "{:?}",
            sb.lines()
        );
        sb
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn wait_log(&self, needle: &str, wait: Duration) -> bool {
        let end = Instant::now() + wait;
        while Instant::now() < end {
            if self.lines().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Sipbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIPp in namespace `ns` from `ip:port` toward `target`, bounded by `-timeout`.
fn sipp(ns: &str, ip: &str, port: u16, target: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, "sipp", "-i", ip, "-mi", ip, "-p"])
        .arg(port.to_string())
        .args([
            "-timeout",
            "15s",
            "-timeout_error",
            "-max_recv_loops",
            "1000",
            // No `-nr`: these phones retransmit as UDP phones must (RFC 3261 Timer E/A).
            // sipbox answers an untrusted source with no more bytes than it sent
            // (security/reflect.rs), so SIPp's bare REGISTER, smaller than its 401, is
            // challenged at its first retransmission.
        ])
        .args(["-mp", "7100"])
        .args(args)
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn ok(what: &str, out: &Output) -> bool {
    if !out.status.success() {
        eprintln!("{what}: sipp exit {:?}", out.status);
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

fn scenario_file(name: &str, text: &str) -> String {
    let dir = common::temp_dir("sipp-nat");
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// A caller that names RTP port 7078 (where the RTP peer of this test listens) and holds the
/// call `hold_ms`; `check` is a regexp the final 200 must match.
fn caller_xml(from_user: &str, hold_ms: u32, check: &str) -> String {
    let sdp = "v=0\r\no=user1 1 1 IN IP4 [local_ip]\r\ns=-\r\nc=IN IP4 [local_ip]\r\nt=0 0\r\n\
               m=audio 7078 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let invite = |cseq: u32, auth: &str| {
        format!(
            "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\r\n\
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport\r\n\
             From: <sip:{from_user}@[remote_ip]>;tag=[pid]T[call_number]\r\n\
             To: <sip:[service]@[remote_ip]:[remote_port]>\r\nCall-ID: [call_id]\r\n\
             CSeq: {cseq} INVITE\r\nContact: <sip:{from_user}@[local_ip]:[local_port]>\r\n{auth}\
             Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: [len]\r\n\r\n{sdp}"
        )
    };
    let req = |method: &str, cseq: u32| {
        format!(
            "{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0\r\n\
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport\r\n\
             From: <sip:{from_user}@[remote_ip]>;tag=[pid]T[call_number]\r\n\
             To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]\r\n\
             Call-ID: [call_id]\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller through NAT">
  <send retrans="500"><![CDATA[
{inv1}]]></send>
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
  <send><![CDATA[
{ack1}]]></send>
  <send retrans="500"><![CDATA[
{inv2}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true">
    <action><ereg regexp="{check}" search_in="msg" check_it="true" assign_to="m"/><ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="answer,rtpport"/><log message="SIPBOX_RTP_PORT=[$rtpport]"/></action>
  </recv>
  <send><![CDATA[
{ack2}]]></send>
  <pause milliseconds="{hold_ms}"/>
  <send retrans="500"><![CDATA[
{bye}]]></send>
  <recv response="200" crlf="true"/>
  <Reference variables="m,answer"/>
</scenario>
"#,
        inv1 = invite(1, ""),
        ack1 = req("ACK", 1),
        inv2 = invite(2, "[authentication]\r\n"),
        ack2 = req("ACK", 2),
        bye = req("BYE", 3),
    )
}

/// A callee that checks the INVITE against `checks` (regexps over the whole message).
fn callee_xml(checks: &[&str]) -> String {
    let actions: String = checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(r#"<ereg regexp="{c}" search_in="msg" check_it="true" assign_to="c{i}"/>"#)
        })
        .collect();
    let mut refs: Vec<String> = (0..checks.len()).map(|i| format!("c{i}")).collect();
    refs.push("offer".into());
    let refs = refs.join(",");
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callee checking addresses">
  <recv request="INVITE" crlf="true"><action>{actions}<ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="offer,rtpport"/><log message="SIPBOX_RTP_PORT=[$rtpport]"/></action></recv>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]C[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user2 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio 7090 RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <Reference variables="{refs}"/>
</scenario>
"#
    )
}

/// Runs [`rtp_peer`] in namespace `ns`: binds `bind`, sends `n` packets 20 ms apart to every
/// address in `to`, returns how many arrived back.
fn rtp_peer_in(ns: &str, bind: &str, to: &str, n: u32) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "rtp_peer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("NAT_RTP_PEER", format!("{bind};{to};{n}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the RTP peer")
}

/// SIPp's `-trace_logs` file (in a fresh temp dir) and the arguments writing it.
fn sipp_log(name: &str) -> (std::path::PathBuf, Vec<String>) {
    let path = common::temp_dir("sipp-nat-log").join(name);
    let args = vec![
        "-trace_logs".to_string(),
        "-log_file".to_string(),
        path.to_string_lossy().into_owned(),
    ];
    (path, args)
}

/// The RTP port sipbox named to a SIPp (its `SIPBOX_RTP_PORT=` log line), waiting up to 5 s.
fn logged_port(path: &std::path::Path) -> Option<u16> {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(p) = text
            .lines()
            .find_map(|l| l.split("SIPBOX_RTP_PORT=").nth(1))
            .and_then(|n| n.trim().parse().ok())
        {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// RTP both ways on a bridged call: a peer at `a` (in `a_ns`) sends to sipbox at `a_to`,
/// one at `b` (in `b_ns`) to `b_to`, 100 packets each; returns what each got back.
fn rtp_both_ways(a_ns: &str, a: &str, a_to: &str, b_ns: &str, b: &str, b_to: &str) -> (u32, u32) {
    let pa = rtp_peer_in(a_ns, a, a_to, 100);
    let pb = rtp_peer_in(b_ns, b, b_to, 100);
    let (pa, pb) = (
        pa.wait_with_output().unwrap(),
        pb.wait_with_output().unwrap(),
    );
    (received(&pa), received(&pb))
}

fn received(out: &Output) -> u32 {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.split("RTP_RECEIVED=").nth(1))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The RTP peer itself (run by [`rtp_peer_in`] inside a namespace; does nothing otherwise).
#[test]
#[ignore]
fn rtp_peer() {
    let Ok(spec) = std::env::var("NAT_RTP_PEER") else {
        return;
    };
    let parts: Vec<&str> = spec.split(';').collect();
    let sock = UdpSocket::bind(parts[0]).expect("bind the RTP peer");
    let targets: Vec<std::net::SocketAddr> =
        parts[1].split(',').map(|a| a.parse().unwrap()).collect();
    let n: u16 = parts[2].parse().unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut got = 0u32;
    let mut buf = [0u8; 2048];
    let mut drain = |sock: &UdpSocket, got: &mut u32| {
        while let Ok((len, _)) = sock.recv_from(&mut buf) {
            if len >= 12 && buf[0] >> 6 == 2 {
                *got += 1;
            }
        }
    };
    for seq in 0..n {
        let mut p = vec![0x80, 0];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        p.extend_from_slice(&0x4e41_5401u32.to_be_bytes());
        p.extend_from_slice(&[0xff; 160]);
        for t in &targets {
            let _ = sock.send_to(&p, t);
        }
        drain(&sock, &mut got);
    }
    for _ in 0..25 {
        drain(&sock, &mut got);
    }
    println!("RTP_RECEIVED={got}");
}

const PUBLIC_CONF: &str = "\
[general]
context=default
realm=sipbox
[phone](!)
type=friend
host=dynamic
context=internal
[1001](phone)
secret=1001pass
nat=force_rport,comedia
[1003](phone)
secret=1003pass
";

const PUBLIC_EXT: &str = "\
[internal]
exten => echo,1,Answer()
 same => n,Echo()
exten => 1001,1,Dial(SIP/1001,10)
";

#[test]
fn through_a_real_nat_both_sides() {
    if cannot_run() {
        return;
    }
    let topo = match Topology::build() {
        Ok(t) => t,
        Err(why) => {
            println!("SKIPPED through_a_real_nat_both_sides: {why}");
            return;
        }
    };
    phone_behind_nat(&topo);
    keepalive_holds_a_short_conntrack_timeout_open(&topo);
    sipbox_behind_nat(&topo);
}

/// Only as root (namespaces); says so otherwise.
fn cannot_run() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        println!("SKIPPED through_a_real_nat_both_sides: needs root for network namespaces");
    }
    let tools = run(&["sh", "-c", "command -v sipp && command -v iptables"]);
    if root && !tools {
        println!("SKIPPED through_a_real_nat_both_sides: sipp or iptables missing (scripts/test.sh installs them)");
    }
    !root || !tools
}

fn phone_behind_nat(t: &Topology) {
    let sb = Sipbox::start(&t.srv, "203.0.113.1:5060", PUBLIC_CONF, PUBLIC_EXT);
    let register = common::sipp::scenario("register.xml");
    // 1. REGISTER through the NAT: sipbox sees the router's public address.
    let out = sipp(
        &t.home,
        "10.0.0.2",
        5070,
        "203.0.113.1:5060",
        &[
            "-sf", &register, "-s", "1001", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
    )
    .output()
    .unwrap();
    assert!(ok("register", &out));
    assert!(
        sb.wait_log(
            "registered '1001' at sip:1001@10.0.0.2:5070 via 203.0.113.2:",
            Duration::from_secs(2)
        ),
        "{:#?}",
        sb.lines()
    );
    // 2. The phone calls Echo(): RTP from beside it goes out through the NAT and comes back
    //    (comedia learns the router's mapping, not the private SDP address).
    let caller = scenario_file(
        "echo.xml",
        &caller_xml("1001", 3000, "c=IN IP4 203.0.113.1"),
    );
    let call = sipp(
        &t.home,
        "10.0.0.2",
        5072,
        "203.0.113.1:5060",
        &[
            "-sf", &caller, "-s", "echo", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let peer = rtp_peer_in(
        &t.home,
        "10.0.0.2:7078",
        "203.0.113.1:20000,203.0.113.1:20002",
        100,
    );
    let peer = peer.wait_with_output().unwrap();
    let call = call.wait_with_output().unwrap();
    assert!(ok("call to echo", &call));
    let back = received(&peer);
    println!("RTP through the NAT: 100 sent, {back} echoed back");
    if back < 50 {
        eprintln!("peer: {}", String::from_utf8_lossy(&peer.stdout));
        eprintln!("{:#?}", sb.lines());
    }
    assert!(
        back >= 50,
        "RTP both ways through the NAT: {back} of 100 came back"
    );
    // 3. A caller on the public side calls the phone: the INVITE crosses the NAT to the
    //    registered mapping (force_rport), the phone answers; RTP flows both ways between
    //    the caller's RTP peer and the phone's (behind the NAT, learned by comedia).
    let callee = scenario_file(
        "callee.xml",
        &callee_xml(&["INVITE sip:1001@10.0.0.2:5070"]),
    );
    let (phone_log, phone_args) = sipp_log("phone.log");
    let mut args: Vec<&str> = vec!["-sf", &callee, "-m", "1"];
    args.extend(phone_args.iter().map(String::as_str));
    let phone = sipp(&t.home, "10.0.0.2", 5070, "203.0.113.1:5060", &args)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let caller = scenario_file("to_phone.xml", &caller_xml("1003", 4000, "SIP/2.0 200"));
    let (caller_log, caller_args) = sipp_log("caller.log");
    let mut args: Vec<&str> = vec![
        "-sf", &caller, "-s", "1001", "-au", "1003", "-ap", "1003pass", "-m", "1",
    ];
    args.extend(caller_args.iter().map(String::as_str));
    let call = sipp(&t.srv, "203.0.113.1", 5080, "203.0.113.1:5060", &args)
        .spawn()
        .unwrap();
    let phone_port = logged_port(&phone_log).expect("the INVITE to the phone named an RTP port");
    let caller_port = logged_port(&caller_log).expect("the 200 to the caller named an RTP port");
    let (at_phone, at_caller) = rtp_both_ways(
        &t.home,
        "10.0.0.2:7090",
        &format!("203.0.113.1:{phone_port}"),
        &t.srv,
        "203.0.113.1:7078",
        &format!("203.0.113.1:{caller_port}"),
    );
    println!("RTP on the call to the phone behind the NAT: phone got {at_phone}, caller got {at_caller} of 100");
    assert!(ok(
        "public caller to the phone",
        &call.wait_with_output().unwrap()
    ));
    assert!(ok(
        "phone behind NAT answering",
        &phone.wait_with_output().unwrap()
    ));
    assert!(
        at_phone >= 50 && at_caller >= 50,
        "RTP both ways to the phone behind the NAT: phone {at_phone}, caller {at_caller}; {:#?}",
        sb.lines()
    );
}

const KEEPALIVE_CONF: &str = "\
[general]
context=default
realm=sipbox
[phone](!)
type=friend
host=dynamic
context=internal
nat=force_rport,comedia
[1003](phone)
secret=1003pass
[1004](phone)
secret=1004pass
keepalive=1
[1005](phone)
secret=1005pass
";

const KEEPALIVE_EXT: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},3)
";

/// The router forgets a UDP mapping after 3 s of silence; sipbox's `keepalive=1` CRLFs keep
/// 1004's open, so a call reaches it 6 s after it registered; 1005 (no keepalive) is not
/// reached - the control proving that the short timeout is real.
fn keepalive_holds_a_short_conntrack_timeout_open(t: &Topology) {
    let short = [
        "nf_conntrack_udp_timeout",
        "nf_conntrack_udp_timeout_stream",
    ]
    .iter()
    .all(|k| {
        run(&[
            "ip",
            "netns",
            "exec",
            &t.nat,
            "sysctl",
            "-qw",
            &format!("net.netfilter.{k}=3"),
        ])
    });
    if !short {
        println!(
            "SKIPPED keepalive part: net.netfilter.nf_conntrack_udp_timeout is not settable in \
             the router namespace"
        );
        return;
    }
    let sb = Sipbox::start(&t.srv, "203.0.113.1:5060", KEEPALIVE_CONF, KEEPALIVE_EXT);
    let register = common::sipp::scenario("register.xml");
    for (user, port) in [("1004", 5074u16), ("1005", 5076)] {
        let pass = format!("{user}pass");
        let out = sipp(
            &t.home,
            "10.0.0.2",
            port,
            "203.0.113.1:5060",
            &[
                "-sf", &register, "-s", user, "-au", user, "-ap", &pass, "-m", "1",
            ],
        )
        .output()
        .unwrap();
        assert!(ok("register", &out));
    }
    // Twice the router's timeout with nobody listening behind it.
    std::thread::sleep(Duration::from_secs(6));
    let call = |user: &str, port: u16, n: u32| {
        let callee = scenario_file(
            &format!("ka_callee{n}.xml"),
            &callee_xml(&[&format!("INVITE sip:{user}@10.0.0.2:{port}")]),
        );
        let mut phone = sipp(
            &t.home,
            "10.0.0.2",
            port,
            "203.0.113.1:5060",
            &["-sf", &callee, "-m", "1"],
        )
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let caller = scenario_file(
            &format!("ka_caller{n}.xml"),
            &caller_xml("1003", 300, "SIP/2.0 200"),
        );
        let out = sipp(
            &t.srv,
            "203.0.113.1",
            5080 + n as u16,
            "203.0.113.1:5060",
            &[
                "-sf", &caller, "-s", user, "-au", "1003", "-ap", "1003pass", "-m", "1",
            ],
        )
        .output()
        .unwrap();
        let reached = out.status.success();
        if reached {
            assert!(ok("phone answering", &phone.wait_with_output().unwrap()));
        } else {
            let _ = phone.kill();
            let _ = phone.wait();
        }
        reached
    };
    let kept = call("1004", 5074, 1);
    assert!(
        kept,
        "keepalive=1 held the 3 s NAT mapping open for 6 s; {:#?}",
        sb.lines()
    );
    let lost = call("1005", 5076, 2);
    assert!(
        !lost,
        "without keepalive the router must have forgotten the mapping (else this test proves \
         nothing)"
    );
    println!("keepalive: 1004 (keepalive=1) reached after 6 s; 1005 (none) not reached");
    // Back to the kernel's defaults for the rest of the test.
    for (k, v) in [
        ("nf_conntrack_udp_timeout", "30"),
        ("nf_conntrack_udp_timeout_stream", "120"),
    ] {
        run(&[
            "ip",
            "netns",
            "exec",
            &t.nat,
            "sysctl",
            "-qw",
            &format!("net.netfilter.{k}={v}"),
        ]);
    }
}

const BEHIND_CONF: &str = "\
[general]
context=default
realm=sipbox
externaddr=203.0.113.2
localnet=10.0.0.0/255.0.0.0
[2001]
type=friend
host=dynamic
secret=2001pass
context=internal
[itsp]
type=peer
host=203.0.113.1
port=5090
insecure=port,invite
context=from-itsp
";

const BEHIND_EXT: &str = "\
[internal]
exten => _9X.,1,Dial(SIP/itsp/${EXTEN:1},10)
";

fn sipbox_behind_nat(t: &Topology) {
    assert!(t.forward_to_home(), "port forwarding on the router");
    let sb = Sipbox::start(&t.home, "10.0.0.2:5060", BEHIND_CONF, BEHIND_EXT);
    // The ITSP on the public side sees only the external address.
    let itsp = scenario_file(
        "itsp.xml",
        &callee_xml(&[
            "Via: SIP/2.0/UDP 203.0.113.2:5060",
            "Contact: .sip:[^@]*@203.0.113.2:5060",
            "c=IN IP4 203.0.113.2",
            "o=.* IN IP4 203.0.113.2",
        ]),
    );
    let (itsp_log, itsp_args) = sipp_log("itsp.log");
    let mut args: Vec<&str> = vec!["-sf", &itsp, "-m", "1"];
    args.extend(itsp_args.iter().map(String::as_str));
    let itsp = sipp(&t.srv, "203.0.113.1", 5090, "203.0.113.2:5060", &args)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The LAN phone (inside the localnet) gets the LAN address in the answer.
    let lan = scenario_file("lan.xml", &caller_xml("2001", 4000, "c=IN IP4 10.0.0.2"));
    let (lan_log, lan_args) = sipp_log("lan.log");
    let mut args: Vec<&str> = vec![
        "-sf", &lan, "-s", "9555", "-au", "2001", "-ap", "2001pass", "-m", "1",
    ];
    args.extend(lan_args.iter().map(String::as_str));
    let call = sipp(&t.home, "10.0.0.2", 5072, "10.0.0.2:5060", &args)
        .spawn()
        .unwrap();
    // RTP both ways: the ITSP sends to the external address (the router forwards the RTP
    // range), the LAN phone to the LAN one.
    let itsp_port = logged_port(&itsp_log).expect("the INVITE to the ITSP named an RTP port");
    let lan_port = logged_port(&lan_log).expect("the 200 to the LAN phone named an RTP port");
    let (at_itsp, at_lan) = rtp_both_ways(
        &t.srv,
        "203.0.113.1:7090",
        &format!("203.0.113.2:{itsp_port}"),
        &t.home,
        "10.0.0.2:7078",
        &format!("10.0.0.2:{lan_port}"),
    );
    println!("RTP with sipbox behind the NAT: ITSP got {at_itsp}, LAN phone got {at_lan} of 100");
    let out = call.wait_with_output().unwrap();
    assert!(ok("LAN phone calling out", &out), "{:#?}", sb.lines());
    assert!(
        at_itsp >= 50 && at_lan >= 50,
        "RTP both ways with sipbox behind the NAT: ITSP {at_itsp}, LAN {at_lan}; {:#?}",
        sb.lines()
    );
    assert!(ok(
        "ITSP checking the external address",
        &itsp.wait_with_output().unwrap()
    ));
}
