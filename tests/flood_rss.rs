//! Memory comes back after a flood: the real binary (with `timert1=100`, so Timer J/K linger
//! 6.4 s instead of 32 s) is flooded from 127.0.0.0/8 (on the default `banignore`: no rate
//! limit, every table sees everything), and its RSS (`VmRSS`) is recorded idle, at the flood's
//! peak and after the lingering transactions expired. Floods, each against a fresh process:
//! unauthenticated INVITEs, 60 KB OPTIONS, REGISTERs from 64 source addresses, 60 KB CANCELs
//! (their 481s linger, up to `MAX_LINGERING_BYTES`) and 40 000 small INFOs (the transaction
//! table's count). Each is bounded in count and time and waits for answers (lock-step per
//! socket), so what is sent is what sipbox reads. sipbox runs with glibc's allocator
//! defaults, as the packaged unit runs it. `FLOOD_RSS_ONLY=<part of a name>` runs one flood;
//! `FLOOD_RSS_SMAPS=1` prints the mappings holding more than 1 MB after it,
//! `FLOOD_RSS_TRACE=1` the RSS every second while it settles.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::*;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after the flood the "after" figure is taken: Timer J (64 × T1 = 6.4 s), the
/// forget grid's second and two rounds of the engine's sweep (every 5 s) have run. The
/// tables shrink at the first sweep after they are mostly empty, and that sweep has the
/// driver give the freed heap back (`malloc_trim`, src/heap_trim.rs). Before that trim glibc
/// kept it or not by chance: the INFO flood ended +6–7.5 MB above idle, and +17.6 MB for as
/// long as it was watched in one run out of three (a 10.4 MB free top chunk never cut);
/// with it, +0.25–0.46 MB in eight runs out of eight (2026-12-02).
const SETTLE: Duration = Duration::from_secs(21);

/// How close to idle RSS comes back after the linger, in KB: measured +0.25–0.5 MB after
/// the CANCEL and INFO floods (2026-12-02); +6–17.6 MB when the heap is not trimmed, +31 MB
/// when the transaction tables do not shrink. (The unauthenticated INVITE flood stays +3.1 MB
/// for 120 s: the nonces it was given, kept by design.)
const BACK_WITHIN_KB: u64 = 4 * 1024;

/// One flood: `threads` sockets on `ip(k)`, `per_thread` requests each, `pad` bytes of Via
/// padding (answers echo it).
struct Flood {
    name: &'static str,
    method: &'static str,
    threads: usize,
    per_thread: u64,
    pad: usize,
    /// Source address of thread `k`.
    many_sources: bool,
}

fn request(method: &str, target: SocketAddr, me: SocketAddr, i: u64, pad: usize) -> String {
    let ruri = if method == "REGISTER" {
        format!("sip:{target}")
    } else {
        format!("sip:1002@{target}")
    };
    let extra = if method == "REGISTER" {
        "Expires: 3600\r\n"
    } else {
        ""
    };
    let padding = if pad == 0 {
        String::new()
    } else {
        format!(
            "Via: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bKp;x={}\r\n",
            "a".repeat(pad)
        )
    };
    format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKr{i};rport\r\n\
         {padding}Max-Forwards: 70\r\nFrom: <sip:1001@{target}>;tag=r{i}\r\n\
         To: <sip:1002@{target}>\r\nCall-ID: rss-{i}-{me}\r\nCSeq: 1 {method}\r\n\
         Contact: <sip:1001@{me}>\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

/// Runs the flood; (sent, answered).
fn run(target: SocketAddr, f: &Flood) -> (u64, u64) {
    let hs: Vec<_> = (0..f.threads)
        .map(|k| {
            let (method, per, pad) = (f.method, f.per_thread, f.pad);
            let ip = if f.many_sources {
                format!("127.0.1.{}", 10 + k)
            } else {
                "127.0.0.1".to_string()
            };
            std::thread::spawn(move || {
                let s = UdpSocket::bind(format!("{ip}:0")).expect("loopback address");
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let me = s.local_addr().unwrap();
                let mut buf = vec![0u8; 65_536];
                let (mut sent, mut answered) = (0, 0);
                let t0 = Instant::now();
                for i in 0..per {
                    // Bounded in time as well as count.
                    if t0.elapsed() > Duration::from_secs(20) {
                        break;
                    }
                    let msg = request(method, target, me, i + (k as u64) * 1_000_000, pad);
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

fn rss_of(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// (idle, peak, after) in KB for one flood against a fresh sipbox.
fn measure(f: &Flood) -> (u64, u64, u64) {
    let conf = TEST_SIP_CONF.replace("[general]\n", "[general]\ntimert1=100\n");
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    std::thread::sleep(Duration::from_millis(300));
    let idle = sb.rss_kb().expect("RSS");
    let peak = Arc::new(AtomicU64::new(idle));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop, pid) = (peak.clone(), stop.clone(), sb.pid());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = rss_of(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let t0 = Instant::now();
    let (sent, answered) = run(sb.addr, f);
    let took = t0.elapsed();
    // FLOOD_RSS_TRACE=1: the settling RSS second by second.
    let trace = std::env::var("FLOOD_RSS_TRACE").is_ok();
    let settled = Instant::now();
    while settled.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_secs(1).min(SETTLE - settled.elapsed().min(SETTLE)));
        if trace {
            let kb = sb.rss_kb().unwrap_or(0);
            eprintln!("  {:>4.1?} after the flood: {kb} KB", settled.elapsed());
        }
    }
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let after = sb.rss_kb().expect("RSS");
    if std::env::var("FLOOD_RSS_SMAPS").is_ok() {
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", sb.pid())).unwrap();
        let mut head = "";
        for l in smaps.lines() {
            if l.contains('-') && !l.starts_with(char::is_uppercase) {
                head = l;
            } else if let Some(v) = l.strip_prefix("Rss:") {
                let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                if kb > 1024 {
                    eprintln!("  {kb} KB {head}");
                }
            }
        }
    }
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "{}: {sent} sent in {took:.1?}, {answered} answered; RSS idle {idle} KB, peak {peak} KB \
         (+{} KB), {} s after {after} KB (+{} KB)",
        f.name,
        peak - idle,
        SETTLE.as_secs(),
        after.saturating_sub(idle)
    );
    assert!(
        answered * 2 > sent && sent > 0,
        "{}: sipbox read the flood: {answered} of {sent}",
        f.name
    );
    // A phone still registers: the flood left sipbox working.
    let mut w = common::wire::UdpWire::to(&sb);
    let mut phone = common::ua::Ua::new(&mut w, "1001", "1001pass");
    assert_eq!(phone.register(&mut w, 120).status(), 200, "{}", f.name);
    (idle, peak, after)
}

/// Every flood of this file, by name.
fn floods() -> [Flood; 5] {
    [
        Flood {
            name: "unauthenticated INVITE",
            method: "INVITE",
            threads: 4,
            per_thread: 5_000,
            pad: 0,
            many_sources: false,
        },
        Flood {
            name: "60 KB OPTIONS",
            method: "OPTIONS",
            threads: 3,
            per_thread: 60,
            pad: 60_000,
            many_sources: false,
        },
        Flood {
            name: "REGISTER from 64 addresses",
            method: "REGISTER",
            threads: 64,
            per_thread: 200,
            pad: 0,
            many_sources: true,
        },
        Flood {
            name: "60 KB CANCEL (lingering 481s)",
            method: "CANCEL",
            threads: 3,
            per_thread: 200,
            pad: 60_000,
            many_sources: false,
        },
        Flood {
            name: "small INFO (lingering 481s)",
            method: "INFO",
            threads: 4,
            per_thread: 10_000,
            pad: 0,
            many_sources: false,
        },
    ]
}

/// Runs the floods whose names contain `part` (and `FLOOD_RSS_ONLY`, when set) against a
/// fresh sipbox each and checks that RSS came back to within [`BACK_WITHIN_KB`] of idle.
fn check(part: &str) {
    // glibc's defaults, as the packaged unit runs sipbox (an inherited setting would be read
    // by sipbox's glibc at its start).
    std::env::remove_var("GLIBC_TUNABLES");
    let only = std::env::var("FLOOD_RSS_ONLY").unwrap_or_default();
    let mut failures = Vec::new();
    for f in floods()
        .iter()
        .filter(|f| f.name.contains(part) && f.name.contains(only.as_str()))
    {
        let (idle, peak, after) = measure(f);
        if after > idle + BACK_WITHIN_KB {
            failures.push(format!(
                "{}: idle {idle}, peak {peak}, after {after} KB",
                f.name
            ));
        }
    }
    assert!(failures.is_empty(), "memory came back: {failures:?}");
}

// The two floods whose peak is far above the bound (+20 MB and +58 MB): the checks that fail
// when the tables keep what a flood made them. One test each, so that they run side by side.
#[test]
fn memory_returns_near_idle_after_a_flood_of_large_cancels() {
    check("CANCEL");
}

#[test]
fn memory_returns_near_idle_after_a_flood_of_small_infos() {
    check("INFO");
}

// The other three never rise 4 MB above idle (the nonces they leave are kept 120 s by
// design), so they could not fail the bound: a measurement for README, run by name
// (`cargo test --test flood_rss -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement, not a check: run it by name"]
fn rss_of_the_floods_that_stay_small() {
    check("");
}
