//! Memory comes back after a flood: the real binary (with `timert1=100`, so Timer J/K linger
//! 6.4 s instead of 32 s) is flooded from 127.0.0.0/8 (on the default `banignore`: no rate
//! limit, every table sees everything), and its RSS (`VmRSS`) is recorded idle, at the flood's
//! peak and after the lingering transactions expired. Floods, each against a fresh process:
//! unauthenticated INVITEs, 60 KB OPTIONS, REGISTERs from 64 source addresses, 60 KB CANCELs
//! (their 481s linger, up to `MAX_LINGERING_BYTES`) and 40 000 small INFOs (the transaction
//! table's count). Each is bounded in count and time and waits for answers (lock-step per
//! socket), so what is sent is what sipbox reads. sipbox runs with the allocator settings of
//! the packaged systemd unit (`GLIBC_TUNABLES`). `FLOOD_RSS_ONLY=<part of a name>` runs one
//! flood; `FLOOD_RSS_SMAPS=1` prints the mappings holding more than 1 MB after it.
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
/// tables shrink at the first sweep after they are mostly empty, and glibc gives the top of
/// the heap back only at a later `free`: 13 s left the INFO flood's figure bimodal (+6 MB or
/// +17 MB from one run to the next on a quiet machine, [heap] holding the difference),
/// 21 s gave +6.7–7.0 MB in four runs out of four (2026-12-02).
const SETTLE: Duration = Duration::from_secs(21);

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
    std::thread::sleep(SETTLE);
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

/// The allocator settings the packaged unit gives sipbox (`Environment=GLIBC_TUNABLES=...` in
/// contrib/debian/sipbox.service), so that the test measures what ships.
fn unit_tunables() -> String {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/debian/sipbox.service"
    ))
    .expect("unit file");
    unit.lines()
        .find_map(|l| l.strip_prefix("Environment=GLIBC_TUNABLES="))
        .expect("the unit sets GLIBC_TUNABLES")
        .to_string()
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
/// fresh sipbox each and checks that RSS came back to within 10 MB of idle.
fn check(part: &str) {
    // Read by sipbox's glibc at its start (not by this process, already running).
    std::env::set_var("GLIBC_TUNABLES", unit_tunables());
    let only = std::env::var("FLOOD_RSS_ONLY").unwrap_or_default();
    let mut failures = Vec::new();
    for f in floods()
        .iter()
        .filter(|f| f.name.contains(part) && f.name.contains(only.as_str()))
    {
        let (idle, peak, after) = measure(f);
        // After the linger, within 10 MB of idle (measured: 0.6-5.2 MB; 31 MB when the
        // transaction tables do not shrink).
        if after > idle + 10 * 1024 {
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

// The other three never rise 10 MB above idle (the nonces they leave are kept 120 s by
// design), so they could not fail the bound: a measurement for README, run by name
// (`cargo test --test flood_rss -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement, not a check: run it by name"]
fn rss_of_the_floods_that_stay_small() {
    check("");
}
