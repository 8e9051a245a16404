//! The status page and /metrics through the real binary (http.conf on 127.0.0.1, an ephemeral
//! port): a SIPp phone registers, a SIPp caller calls it and the call is held up while the
//! test reads /metrics and /status.json, cuts off a slowloris client while a normal GET still
//! succeeds, holds `sessionlimit` idle clients (the next one is told 503) until their
//! deadline, is refused a POST (405), a malformed request (400) and an unknown path (404),
//! loads the page in a real headless browser (Debian `chromium`) to check that its script
//! shows the live call and the registration, and keeps a screenshot under
//! `target/tmp/http_status/`. Then the call is hung up from the control socket, the counters
//! move, a `core reload` moves the pages under http.conf's new `prefix`, and another one to a
//! new `bindport`.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An HTTP answer as the test reads it.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// Sends `raw` on a fresh connection and reads the answer to the end (the server closes).
fn http_raw(addr: SocketAddr, raw: &str) -> Answer {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Answer {
    http_raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n"),
    )
}

/// The value of the sample `name` (with its labels, as printed) in a /metrics text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.rsplit_once(' ').filter(|(k, _)| *k == name))
        .and_then(|(_, v)| v.parse().ok())
}

fn rx(dir: &Path, cmd: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--config-dir")
        .arg(dir)
        .args(["-rx", cmd])
        .output()
        .expect("run sipbox -rx");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs Debian's chromium headless on `url` with `args`, bounded to `limit`, killed by PID
/// when it overruns; returns its stdout. A fresh profile dir each time (removed after).
fn chromium(url: &str, args: &[&str], limit: Duration) -> String {
    let profile = temp_dir("chromium-profile");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium (Debian package chromium) must be installed: scripts/test.sh does it");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + limit;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() >= end {
            // Ours, by PID (its renderer children die with their parent's pipe).
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap_or_default()
}

/// Waits until /status.json shows one call with every leg Up; returns that JSON.
fn wait_call_up(http: SocketAddr) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let j = get(http, "/status.json").body;
        if j.contains("\"calls\":[{") && !j.contains("\"state\":\"Ring") {
            let up = j.matches("\"state\":\"Up\"").count();
            if up >= 2 {
                return j;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the call never came up: {}", get(http, "/status.json").body);
}

/// Two wrong-password REGISTERs for 1003 from 127.0.0.66: two auth failures and (with
/// `banfailures=2`) a ban of that address, never of the phones on 127.0.0.1.
fn guess_password_twice(sb: &Sipbox) {
    let sf = sipp::scenario("register_refused.xml");
    for _ in 0..2 {
        let port = sipp::free_port().to_string();
        let out = Command::new("sipp")
            .args([
                "-i",
                "127.0.0.66",
                "-p",
                &port,
                "-nostdin",
                "-timeout",
                "5s",
            ])
            .args(["-timeout_error", "-max_recv_loops", "1000", "-nr"])
            .args([
                "-sf", &sf, "-s", "1003", "-au", "1003", "-ap", "wrong", "-m", "1",
            ])
            .arg(sb.addr.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("sipp (Debian package sip-tester) must be installed: see README");
        assert!(
            sipp::succeeded(&out),
            "a wrong password is refused with 403"
        );
    }
}

fn artefact_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http_status");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn status_page_metrics_and_limits_during_a_live_call() {
    let dir = temp_dir("sipbox-http");
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        "[general]\nbanfailures=2\nbanignore=127.0.0.1\n",
    );
    std::fs::write(dir.join("sip.conf"), conf).unwrap();
    std::fs::write(dir.join("extensions.conf"), TEST_EXTENSIONS_CONF).unwrap();
    let http_conf = "[general]\nenabled=yes\nbindaddr=127.0.0.1\nbindport=0\n\
                     session_inactivity=1500\nsessionlimit=20\n";
    std::fs::write(dir.join("http.conf"), http_conf).unwrap();
    let sb = Sipbox::start_in(&dir);
    let http: SocketAddr = sb
        .log()
        .iter()
        .find_map(|l| l.split("HTTP status page on http://").nth(1))
        .and_then(|a| a.trim_end_matches('/').parse().ok())
        .expect("the HTTP listener's address in the log");

    // Before anything: zeroes, and the histogram already counts turns.
    let m0 = get(http, "/metrics");
    assert_eq!(m0.status, 200);
    assert!(m0.head.contains("Content-Type: text/plain; version=0.0.4"));
    assert_eq!(metric(&m0.body, "sipbox_calls_active"), Some(0.0));
    assert_eq!(metric(&m0.body, "sipbox_registrations"), Some(0.0));

    guess_password_twice(&sb);
    let uas_port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", uas_port);
    let uas = sipp::spawn_on(
        uas_port,
        sb.addr,
        &["-sf", &sipp::scenario("uas_answer.xml"), "-m", "1"],
        60,
    );
    std::thread::sleep(Duration::from_millis(300));
    let caller_sf = sipp::scenario("uac_auth_wait_bye.xml");
    let caller = sipp::spawn_on(
        sipp::free_port(),
        sb.addr,
        &[
            "-sf", &caller_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        60,
    );
    let json = wait_call_up(http);
    assert!(json.contains("\"channel\":\"SIP/1001-"), "{json}");
    assert!(json.contains("\"channel\":\"SIP/1002-"), "{json}");
    assert!(json.contains("\"exten\":\"1002\""), "{json}");
    assert!(json.contains("\"codec\":\"ulaw\""), "{json}");
    assert!(
        json.contains(&format!("\"contact\":\"sip:1002@127.0.0.1:{uas_port}\"")),
        "{json}"
    );
    assert!(json.contains("\"user_agent\":\"SIPp\""), "{json}");
    assert!(json.contains("\"kind\":\"auth\",\"text\":\"'1003' from 127.0.0.66:"));
    assert!(
        json.contains("(source banned)"),
        "{json}\n{:#?}",
        sb.log()
            .iter()
            .filter(|l| l.contains("127.0.0.66") || l.contains("1003"))
            .collect::<Vec<_>>()
    );

    let m = get(http, "/metrics").body;
    assert_eq!(metric(&m, "sipbox_calls_active"), Some(1.0), "{m}");
    assert_eq!(metric(&m, "sipbox_registrations"), Some(1.0));
    assert_eq!(metric(&m, "sipbox_registers_accepted_total"), Some(1.0));
    assert_eq!(
        metric(&m, "sipbox_auth_failures_total{reason=\"wrong_password\"}"),
        Some(2.0)
    );
    assert_eq!(metric(&m, "sipbox_bans_total"), Some(1.0));
    assert_eq!(metric(&m, "sipbox_banned_sources"), Some(1.0));
    assert_eq!(
        metric(&m, "sipbox_peers{status=\"unmonitored\"}"),
        Some(4.0)
    );
    assert_eq!(
        metric(&m, "sipbox_calls_total{outcome=\"answered\"}"),
        Some(0.0)
    );
    assert!(metric(&m, "sipbox_sip_datagrams_total").unwrap() >= 10.0);
    assert!(metric(&m, "sipbox_loop_turn_seconds_count").unwrap() >= 10.0);
    assert!(
        metric(&m, "sipbox_loop_turn_seconds_bucket{le=\"+Inf\"}")
            == metric(&m, "sipbox_loop_turn_seconds_count")
    );

    // A slowloris client: one header byte every 200 ms. It is cut off at the head deadline
    // (session_inactivity, 1.5 s here) although it never goes quiet that long, while a
    // normal GET started meanwhile is answered at once.
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(http).unwrap();
        let t0 = Instant::now();
        let mut buf = [0u8; 64];
        for b in "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa".bytes() {
            if s.write_all(&[b]).is_err() {
                return t0.elapsed();
            }
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            match s.read(&mut buf) {
                Ok(0) => return t0.elapsed(),
                Ok(_) => panic!("a partial request was answered"),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return t0.elapsed(),
            }
        }
        panic!("the slowloris client was never cut off");
    });
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let during = get(http, "/status.json");
    assert_eq!(during.status, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let cut = slow.join().expect("slowloris thread");
    assert!(
        cut >= Duration::from_millis(1400) && cut < Duration::from_secs(4),
        "cut off after {cut:?}"
    );

    // sessionlimit (20 here): 20 clients that connect and send nothing hold every slot, the
    // 21st is told 503 at once; at their deadline they are cut and the page answers again.
    let idle: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(http).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(http, "/metrics").status, 503);
    std::thread::sleep(Duration::from_millis(1600));
    assert_eq!(get(http, "/metrics").status, 200);
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut b = [0u8; 16];
        let closed = match s.read(&mut b) {
            Ok(n) => n == 0,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "an idle client is closed unanswered");
    }

    // Refusals.
    let post = http_raw(
        http,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(post.status, 405);
    assert!(post.head.contains("\r\nAllow: GET, HEAD"), "{}", post.head);
    assert_eq!(
        http_raw(http, "GET / HTTP/1.1\r\n\r\n").status,
        400,
        "no Host"
    );
    assert_eq!(http_raw(http, "\u{1}\u{2}garbage\r\n\r\n").status, 400);
    assert_eq!(get(http, "/nope").status, 404);
    let head = http_raw(http, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty() && head.head.contains("Content-Length: "));

    // The page in a real browser: its script fetched /status.json and filled the tables.
    let url = format!("http://{http}/");
    let dom = chromium(
        &url,
        &["--virtual-time-budget=3000", "--dump-dom"],
        Duration::from_secs(60),
    );
    assert!(dom.contains("id=\"live\""), "not the page: {dom}");
    assert!(
        dom.contains("live, updated"),
        "the script did not run: {dom}"
    );
    assert!(
        dom.contains("<td>SIP/1001-"),
        "no live call in the DOM: {dom}"
    );
    assert!(dom.contains("ulaw / ulaw"), "no codecs in the DOM: {dom}");
    assert!(
        dom.contains(&format!("<td>sip:1002@127.0.0.1:{uas_port}</td>")),
        "no registration in the DOM: {dom}"
    );
    assert!(
        dom.contains("127.0.0.66"),
        "no recent failure in the DOM: {dom}"
    );
    let shot = artefact_dir().join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &url,
        &[
            "--virtual-time-budget=3000",
            "--window-size=1280,900",
            &format!("--screenshot={}", shot.display()),
        ],
        Duration::from_secs(60),
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );

    // Hang up from the CLI: both SIPp ends get their BYE, the counters move.
    rx(&dir, "channel request hangup all");
    assert!(
        sipp::succeeded(&sipp::finish(caller)),
        "the caller got its BYE"
    );
    assert!(
        sipp::succeeded(&sipp::finish(uas)),
        "the callee got its BYE"
    );
    assert!(sb.wait_log("0 calls up", Duration::from_secs(5)));
    let m = get(http, "/metrics").body;
    assert_eq!(metric(&m, "sipbox_calls_active"), Some(0.0));
    assert_eq!(
        metric(&m, "sipbox_calls_total{outcome=\"answered\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "sipbox_config_reloads_total{result=\"ok\"}"),
        Some(0.0)
    );

    // core reload applies http.conf: the pages move under the new prefix.
    std::fs::write(dir.join("http.conf"), format!("{http_conf}prefix=sipbox\n")).unwrap();
    let answer = rx(&dir, "core reload");
    assert!(answer.contains("reload done"), "{answer}");
    assert_eq!(get(http, "/metrics").status, 404);
    let m = get(http, "/sipbox/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(
        metric(&m.body, "sipbox_config_reloads_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert_eq!(get(http, "/sipbox/").status, 200);

    // A new bindport re-opens the listener there; the old port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let moved = http_conf.replace("bindport=0", &format!("bindport={port}"));
    std::fs::write(dir.join("http.conf"), moved).unwrap();
    let answer = rx(&dir, "core reload");
    assert!(answer.contains("reload done"), "{answer}");
    let new: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(get(new, "/metrics").status, 200);
    assert!(
        TcpStream::connect_timeout(&http, Duration::from_secs(1)).is_err(),
        "the old listener is closed"
    );
}
