//! Memory per registration binding: starts the release binary with N users (default 100 000),
//! registers each once with digest auth from a pipelined loopback client, and prints the RSS
//! growth per binding and the registrations per second the client achieved (one core for the
//! client, one for sipbox). `SIPBOX_BINDINGS=N cargo bench --bench bindings`.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use md5::{Digest, Md5};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn register(
    user: u32,
    server: SocketAddr,
    me: SocketAddr,
    cseq: u32,
    auth: Option<&str>,
) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{user}x{cseq};rport\r\nMax-Forwards: 70\r\n\
         From: <sip:{user}@{server}>;tag=t{user}\r\nTo: <sip:{user}@{server}>\r\nCall-ID: reg{user}\r\nCSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{user}@{me}>\r\nExpires: 3600\r\n{auth}Content-Length: 0\r\n\r\n"
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it
    // (`test = false` does not keep a bench out of `--all-targets`): nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: u32 = std::env::var("SIPBOX_BINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("sipbox-bindings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut conf = format!("[general]\nbindaddr=127.0.0.1\nallowguest=no\nmaxregistrations={}\n[u](!)\ntype=friend\nhost=dynamic\ncontext=internal\n", n + 10);
    for i in 0..n {
        conf += &format!("[{}](u)\nsecret=pw{}\n", 200_000 + i, 200_000 + i);
    }
    std::fs::write(dir.join("sip.conf"), conf).unwrap();
    std::fs::write(
        dir.join("extensions.conf"),
        "[internal]\nexten => 1,1,Hangup()\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--config-dir")
        .arg(&dir)
        .args(["--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipbox");
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let server: SocketAddr = loop {
        let line = lines.next().expect("sipbox exited").unwrap();
        if let Some(a) = line.split("listening on udp ").nth(1) {
            break a.trim().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    std::thread::sleep(Duration::from_millis(300));
    let rss0 = rss_kb(pid);
    let cpu0 = cpu_secs(pid);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let me = sock.local_addr().unwrap();
    let window = 200u32;
    let mut next = 0u32;
    let mut inflight: HashMap<u32, Instant> = HashMap::new();
    let mut done = 0u32;
    let start = Instant::now();
    let mut buf = vec![0u8; 65535];
    while done < n && start.elapsed() < Duration::from_secs(300) {
        while next < n && (inflight.len() as u32) < window {
            let user = 200_000 + next;
            sock.send_to(register(user, server, me, 1, None).as_bytes(), server)
                .unwrap();
            inflight.insert(user, Instant::now());
            next += 1;
        }
        let Ok((len, _)) = sock.recv_from(&mut buf) else {
            // resend anything stuck (loss under load)
            for (user, t) in inflight.iter_mut() {
                if t.elapsed() > Duration::from_secs(1) {
                    sock.send_to(register(*user, server, me, 1, None).as_bytes(), server)
                        .unwrap();
                    *t = Instant::now();
                }
            }
            continue;
        };
        let msg = String::from_utf8_lossy(&buf[..len]);
        let Some(user) = header(&msg, "Call-ID")
            .and_then(|c| c.strip_prefix("reg"))
            .and_then(|u| u.parse::<u32>().ok())
        else {
            continue;
        };
        if msg.starts_with("SIP/2.0 401") {
            let www = header(&msg, "WWW-Authenticate").unwrap_or("");
            let nonce = www
                .split("nonce=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("");
            let uri = format!("sip:{server}");
            let ha1 = md5_hex(&format!("{user}:sipbox:pw{user}"));
            let ha2 = md5_hex(&format!("REGISTER:{uri}"));
            let resp = md5_hex(&format!("{ha1}:{nonce}:00000001:abc:auth:{ha2}"));
            let auth = format!("Digest username=\"{user}\", realm=\"sipbox\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\"");
            sock.send_to(
                register(user, server, me, 2, Some(&auth)).as_bytes(),
                server,
            )
            .unwrap();
        } else if msg.starts_with("SIP/2.0 200") && inflight.remove(&user).is_some() {
            done += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs(pid) - cpu0;
    let rss1 = rss_kb(pid);
    println!("bindings: {done} users registered (401 + 200 each) in {secs:.1} s = {:.0} registrations/s from one client", done as f64 / secs);
    println!(
        "sipbox CPU {cpu:.2} s = {:.1} ms per 1000 REGISTERs",
        cpu * 1_000_000.0 / done.max(1) as f64
    );
    println!("RSS {rss0} KB (idle, {n} users configured) -> {rss1} KB right after = {:.0} bytes per binding + its two lingering transactions", (rss1.saturating_sub(rss0)) as f64 * 1024.0 / done.max(1) as f64);
    // The transactions behind those REGISTERs linger 32 s (RFC 3261 Timer J) to absorb
    // retransmissions; measure again once they are gone.
    std::thread::sleep(Duration::from_secs(36));
    let rss2 = rss_kb(pid);
    println!(
        "after the transactions' 32 s linger: RSS {rss2} KB = {:.0} bytes per binding",
        (rss2.saturating_sub(rss0)) as f64 * 1024.0 / done.max(1) as f64
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
