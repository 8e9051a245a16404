//! Bytes through the real binary: every unauthenticated request kind (INVITE, REGISTER,
//! OPTIONS, SUBSCRIBE, MESSAGE, an unknown method) draws no more bytes back than its source
//! sent (amplification <= 1.0 per source), and floods of large datagrams (60 KB INVITE,
//! REGISTER, OPTIONS, SUBSCRIBE, CANCEL and INFO from many source ports, bounded in count) keep sipbox's
//! RSS under the documented ceiling (idle + 64 MB) and let it settle afterwards.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::*;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const METHODS: [&str; 6] = [
    "INVITE",
    "REGISTER",
    "OPTIONS",
    "SUBSCRIBE",
    "MESSAGE",
    "FOO",
];

/// A request as a phone (or an attacker imitating one) sends it, with `pad` bytes of padding
/// in a second Via (which every answer echoes, so kept answers are as large as the request).
fn request(method: &str, target: SocketAddr, me: SocketAddr, i: u64, pad: usize) -> String {
    let ruri = if method == "REGISTER" {
        format!("sip:{target}")
    } else {
        format!("sip:1002@{target}")
    };
    let extra = match method {
        "SUBSCRIBE" => "Event: message-summary\r\nExpires: 3600\r\nAccept: application/simple-message-summary\r\n",
        "REGISTER" => "Expires: 3600\r\n",
        "MESSAGE" => "Content-Type: text/plain\r\n",
        _ => "",
    };
    let body = if method == "MESSAGE" { "hello" } else { "" };
    format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKb{i};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@{target}>;tag=b{i}\r\nTo: <sip:1001@{target}>\r\n\
         Call-ID: bytes-{i}-{me}\r\nCSeq: 1 {method}\r\nContact: <sip:1001@{me}>\r\n{extra}\
         {}Content-Length: {}\r\n\r\n{body}",
        if pad == 0 {
            String::new()
        } else {
            format!(
                "Via: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bKp;x={}\r\n",
                "a".repeat(pad)
            )
        },
        body.len()
    )
}

/// Sends `count` requests of `method` from a fresh socket on `ip`, each retransmitted once
/// (as a lost answer would make a phone do); returns (bytes sent, bytes back).
fn exchange(target: SocketAddr, ip: &str, method: &str, count: u64) -> (u64, u64) {
    let s = UdpSocket::bind(format!("{ip}:0")).expect("loopback address");
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let me = s.local_addr().unwrap();
    let (mut sent, mut back) = (0u64, 0u64);
    let mut buf = vec![0u8; 65_536];
    for i in 0..count {
        let msg = request(method, target, me, i, 0);
        for _ in 0..2 {
            s.send_to(msg.as_bytes(), target).unwrap();
            sent += msg.len() as u64;
        }
        while let Ok((n, _)) = s.recv_from(&mut buf) {
            back += n as u64;
        }
    }
    // Anything sipbox would send on its own initiative (retransmissions: Timer G/E, T1 = 0.5 s).
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            back += n as u64;
        }
    }
    (sent, back)
}

#[test]
fn no_unauthenticated_request_draws_more_bytes_than_it_brought() {
    // Only 127.0.0.1 is trusted; each method's source is its own address, as on the internet.
    let conf = TEST_SIP_CONF.replace("[general]\n", "[general]\nbanignore=127.0.0.1\n");
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let mut worst = 0.0f64;
    let handles: Vec<_> = METHODS
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let (target, m) = (sb.addr, m.to_string());
            std::thread::spawn(move || {
                let ip = format!("127.0.0.{}", 20 + k);
                let (sent, back) = exchange(target, &ip, &m, 3);
                (m, sent, back)
            })
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        let (m, sent, back) = h.join().unwrap();
        let ratio = back as f64 / sent as f64;
        eprintln!("amplification {m}: {back} bytes back for {sent} sent (x{ratio:.3})");
        worst = worst.max(ratio);
        if back > sent || back == 0 {
            failures.push(format!("{m}: {back} back for {sent}"));
        }
    }
    eprintln!("worst amplification x{worst:.3}");
    assert!(
        failures.is_empty(),
        "answered, amplification <= 1.0: {failures:?}"
    );
}

/// Floods `method` with `per_socket` datagrams of about 60 KB from each of `sockets` source
/// ports on 127.0.0.1 (trusted: no rate limit, so the tables see everything). Each socket
/// waits up to 100 ms for an answer before its next request, so that what is sent is what
/// sipbox reads (the kernel would drop the rest); returns (sent, answered).
fn big_flood(target: SocketAddr, method: &str, sockets: usize, per_socket: u64) -> (u64, u64) {
    let hs: Vec<_> = (0..sockets)
        .map(|k| {
            let m = method.to_string();
            std::thread::spawn(move || {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let me = s.local_addr().unwrap();
                let mut buf = vec![0u8; 65_536];
                let (mut sent, mut answered) = (0, 0);
                for i in 0..per_socket {
                    let msg = request(&m, target, me, i + (k as u64) * 1_000_000, 60_000);
                    if s.send_to(msg.as_bytes(), target).is_ok() {
                        sent += 1;
                    }
                    if s.recv_from(&mut buf).is_ok() {
                        answered += 1;
                    }
                }
                (sent, answered)
            })
        })
        .collect();
    hs.into_iter()
        .map(|h| h.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

#[test]
fn floods_of_large_datagrams_keep_memory_under_the_ceiling() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    std::thread::sleep(Duration::from_millis(300));
    let idle = sb.rss_kb().expect("RSS");
    let peak = Arc::new(AtomicU64::new(idle));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        let pid_status = format!("/proc/{}/status", sb.pid());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = std::fs::read_to_string(&pid_status).ok().and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                }) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let t0 = Instant::now();
    let mut total = 0;
    // CANCEL and INFO outside a dialog open a transaction whose 481 lingers for 32 s.
    for m in [
        "INVITE",
        "REGISTER",
        "OPTIONS",
        "SUBSCRIBE",
        "CANCEL",
        "INFO",
    ] {
        // A 60 KB datagram costs sipbox about 12 ms in a debug build: the stateless kinds
        // get a few hundred, CANCEL enough to pass the 32 MB the lingering 481s may keep.
        let per_socket = if m == "CANCEL" { 200 } else { 15 };
        let (n, answered) = big_flood(sb.addr, m, 3, per_socket);
        eprintln!(
            "{m}: {n} datagrams of ~60 KB, {answered} answered; RSS now {} KB",
            sb.rss_kb().unwrap_or(0)
        );
        assert!(
            answered * 2 > n,
            "{m}: sipbox read the flood: {answered} of {n}"
        );
        total += n;
    }
    let flood_time = t0.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let after_flood = sb.rss_kb().unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    // A phone still registers: the flood left sipbox working.
    let mut w = common::wire::UdpWire::to(&sb);
    let mut phone = common::ua::Ua::new(&mut w, "1001", "1001pass");
    let status = phone.register(&mut w, 120).status();
    eprintln!(
        "{total} datagrams (~{} MB) in {flood_time:?}: RSS idle {idle} KB, peak {peak} KB \
         (+{} KB), 0.5 s after {after_flood} KB",
        total * 60 / 1000,
        peak - idle
    );
    assert_eq!(status, 200, "a phone registers after the flood");
    assert!(
        peak < idle + 64 * 1024,
        "ceiling idle + 64 MB: idle {idle} KB, peak {peak} KB"
    );
}
