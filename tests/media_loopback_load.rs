//! RTP relay load: N relayed calls through the real binary, 20 ms G.711 both ways, from a Rust
//! load generator on loopback. Prints packets/s relayed, loss, sipbox CPU per 1000 packets and
//! the end-to-end latency through sipbox (p50/p99; an upper bound of what sipbox adds).
//!
//! Ignored by default (it loads a core). Run:
//! `SIPBOX_LOAD_CALLS=500 SIPBOX_LOAD_SECS=10 cargo test --release --test media_loopback_load
//!  -- --ignored --nocapture`
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
#[path = "common/media_helpers.rs"]
mod media_helpers;

use common::*;
use media_helpers::*;
use mio::net::UdpSocket as MioUdp;
use mio::{Events, Interest, Poll, Token};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The pid of our `sipbox` child.
fn sipbox_pid() -> Option<u32> {
    for t in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        for pid in children
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
        {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sipbox" {
                return Some(pid);
            }
        }
    }
    None
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[test]
#[ignore]
fn relay_load() {
    let calls = env_num("SIPBOX_LOAD_CALLS", 200) as usize;
    let secs = env_num("SIPBOX_LOAD_SECS", 5);
    let rtp_end = (30000 + calls * 4 + 400).min(65000) as u16;
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        &format!("[general]\nmaxcalls={}\n", calls + 100),
    );
    let sb = start_with_rtp(&conf, TEST_EXTENSIONS_CONF, 30000, rtp_end);
    let callee = Phone::new("1002", "1002pass");
    callee.register(sb.addr);
    let caller = Phone::new("1001", "1001pass");
    // Per call: (caller socket, sipbox's caller-leg address, callee socket, sipbox's callee-leg).
    let mut legs: Vec<(UdpSocket, SocketAddr, UdpSocket, SocketAddr)> = Vec::new();
    let t0 = Instant::now();
    for i in 0..calls {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let cid = format!("load{i}");
        let body = sdp(a.local_addr().unwrap(), &[0], "sendrecv");
        caller.call_start(sb.addr, "1002", &cid, &body);
        let inv = callee
            .wait_for(Duration::from_secs(5), |m| m.start.starts_with("INVITE"))
            .expect("INVITE");
        let b_sdp = sdp(b.local_addr().unwrap(), &[0], "sendrecv");
        callee.respond(sb.addr, &inv, 200, Some(&b_sdp));
        let ok = caller
            .wait_for(Duration::from_secs(5), |m| m.status() >= 200)
            .expect("200");
        assert_eq!(ok.status(), 200);
        caller.ack(sb.addr, &ok, &cid, 2, &format!("z9hG4bK-{cid}-ack"));
        legs.push((a, sdp_addr(&ok.body), b, sdp_addr(&inv.body)));
    }
    eprintln!("{calls} calls set up in {:?}", t0.elapsed());
    let pid = sipbox_pid().expect("sipbox pid");

    // Receiver: every generator socket in one mio poll; latency from the send time stamped in
    // the payload.
    let mut poll = Poll::new().unwrap();
    let mut send_socks: Vec<(Arc<UdpSocket>, SocketAddr)> = Vec::new();
    let mut recv_socks: Vec<MioUdp> = Vec::new();
    for (a, a_to, b, b_to) in legs {
        for (s, to) in [(a, a_to), (b, b_to)] {
            s.set_nonblocking(true).unwrap();
            let clone = s.try_clone().unwrap();
            send_socks.push((Arc::new(s), to));
            let mut m = MioUdp::from_std(clone);
            let tok = Token(recv_socks.len());
            poll.registry()
                .register(&mut m, tok, Interest::READABLE)
                .unwrap();
            recv_socks.push(m);
        }
    }
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_rx = stop.clone();
    let receiver = std::thread::spawn(move || {
        let mut events = Events::with_capacity(1024);
        let mut lat = Vec::with_capacity(1 << 20);
        let mut buf = [0u8; 2048];
        let mut received = 0u64;
        while !stop_rx.load(Ordering::Relaxed) {
            poll.poll(&mut events, Some(Duration::from_millis(50)))
                .unwrap();
            for ev in events.iter() {
                let s = &recv_socks[ev.token().0];
                while let Ok((n, _)) = s.recv_from(&mut buf) {
                    if n >= 20 {
                        let sent = u64::from_be_bytes(buf[12..20].try_into().unwrap());
                        let now = start.elapsed().as_nanos() as u64;
                        lat.push(now.saturating_sub(sent));
                        received += 1;
                    }
                }
            }
        }
        (received, lat)
    });

    let cpu0 = cpu_ticks(pid);
    let stats0 = Instant::now();
    let mut sent = 0u64;
    let mut pkt = rtp_packet(0, 0, 0, 0x10AD, &[0xD5; 160]);
    let ticks = secs * 50;
    for tick in 0..ticks {
        let due = start + Duration::from_millis(20 * tick);
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        pkt[2..4].copy_from_slice(&(tick as u16).to_be_bytes());
        pkt[4..8].copy_from_slice(&((tick as u32) * 160).to_be_bytes());
        for (s, to) in &send_socks {
            let now = start.elapsed().as_nanos() as u64;
            pkt[12..20].copy_from_slice(&now.to_be_bytes());
            if s.send_to(&pkt, *to).is_ok() {
                sent += 1;
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let wall = stats0.elapsed();
    let cpu = cpu_ticks(pid).saturating_sub(cpu0);
    stop.store(true, Ordering::Relaxed);
    let (received, mut lat) = receiver.join().unwrap();
    lat.sort_unstable();
    let hz = 100.0; // USER_HZ on Linux
    let cpu_s = cpu as f64 / hz;
    let pps = received as f64 / wall.as_secs_f64();
    eprintln!(
        "relay load: {calls} calls, {secs}s: sent {sent}, relayed {received} ({:.3}% loss), \
         {pps:.0} packets/s, sipbox CPU {cpu_s:.2}s ({:.1}% of a core), {:.1} µs CPU per 1000 \
         packets, latency through sipbox p50 {} µs p99 {} µs",
        100.0 * (sent - received.min(sent)) as f64 / sent.max(1) as f64,
        100.0 * cpu_s / wall.as_secs_f64(),
        cpu_s * 1e6 / (received.max(1) as f64 / 1000.0),
        percentile(&lat, 0.5) / 1000,
        percentile(&lat, 0.99) / 1000,
    );
    assert!(received > sent * 9 / 10, "more than 10% loss");
}
