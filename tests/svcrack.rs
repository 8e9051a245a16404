//! SIPVicious's svcrack (Debian `sipvicious`) guessing 1001's password through the real
//! binary: it is banned within 10 guesses and never finds the password, though the password
//! is in its dictionary.
//!
//! svcrack's REGISTER carries a hard-coded `Contact: sip:123@1.1.1.1` (see
//! ../shared/TESTING.md), so it never talks to sipbox directly: it talks to a counting UDP
//! proxy of this test's own, which rewrites that Contact to a dead 127.0.0.1 port and relays
//! from 127.0.0.66 (so the ban, which ignores only 127.0.0.1 here, applies to it). The test
//! config's `contactdeny=0.0.0.0/0.0.0.0` + `contactpermit=127.0.0.0/255.0.0.0` is the second
//! line of defence: a non-loopback contact would be refused even with the right password
//! (tests/engine_register.rs checks that on its own).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp::free_port;
use common::*;
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy saw.
#[derive(Default, Debug)]
struct Seen {
    /// REGISTERs relayed, and those of them carrying credentials (guesses).
    registers: u32,
    guesses: u32,
    /// Responses relayed back, by status.
    statuses: Vec<u16>,
    /// A relayed datagram that still named 1.1.1.1 (must stay 0).
    leaked: u32,
}

/// Relays svcrack (front, 127.0.0.1) to sipbox (from 127.0.0.66) and back, rewriting the
/// hard-coded public Contact to a dead loopback port.
fn proxy(
    front: UdpSocket,
    sipbox: SocketAddr,
    dead: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
) {
    let back = UdpSocket::bind("127.0.0.66:0").expect("127.0.0.66 is loopback");
    front
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    back.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut client: Option<SocketAddr> = None;
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((n, from)) = front.recv_from(&mut buf) {
            client = Some(from);
            // svcrack's bare REGISTER is smaller than the 401 it draws, and sipbox answers an
            // untrusted source with no more bytes than it sent (security/reflect.rs): it would
            // stay silent and svcrack give up before guessing. A header of padding, as a
            // phone's User-Agent/Allow/Supported would be, lets the guesses reach the ban.
            let text = String::from_utf8_lossy(&buf[..n])
                .replace("sip:123@1.1.1.1", &format!("sip:123@127.0.0.1:{dead}"))
                .replacen(
                    "Content-Length:",
                    &format!("X-Relay-Padding: {}\r\nContent-Length:", "p".repeat(200)),
                    1,
                );
            let mut s = seen.lock().unwrap();
            if text.contains("1.1.1.1") {
                // Never relay anything naming the public address.
                s.leaked += 1;
            } else {
                if text.starts_with("REGISTER ") {
                    s.registers += 1;
                    if text.contains("\nAuthorization:") {
                        s.guesses += 1;
                    }
                }
                let _ = back.send_to(text.as_bytes(), sipbox);
            }
        }
        if let Ok((n, _)) = back.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            if let Some(code) = text
                .strip_prefix("SIP/2.0 ")
                .and_then(|r| r.get(..3))
                .and_then(|c| c.parse().ok())
            {
                seen.lock().unwrap().statuses.push(code);
            }
            if let Some(c) = client {
                let _ = front.send_to(&buf[..n], c);
            }
        }
    }
}

#[test]
fn svcrack_is_banned_within_ten_guesses_and_never_finds_the_password() {
    // The scanner drop would silence svcrack by its User-Agent before any guess: turned off
    // here so that the ban is what stops it. Only 127.0.0.1 is exempt from the ban.
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        "[general]\nscanneruseragents=\nbanignore=127.0.0.1\n",
    );
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let front_port = front.local_addr().unwrap().port();
    // A port nobody listens on: where a stored binding would point.
    let dead = free_port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let relay = {
        let (seen, stop, target) = (seen.clone(), stop.clone(), sb.addr);
        std::thread::spawn(move || proxy(front, target, dead, seen, stop))
    };
    // The right password is the 12th and the 25th word.
    let dir = temp_dir("svcrack");
    let words: Vec<String> = (1..=30)
        .map(|i| match i {
            12 | 25 => "1001pass".to_string(),
            _ => format!("guess{i}"),
        })
        .collect();
    let dict = dir.join("dict.txt");
    std::fs::write(&dict, words.join("\n") + "\n").unwrap();
    let local = free_port().to_string();
    let out = Command::new("timeout")
        .args(["40", "svcrack", "-u", "1001", "-d"])
        .arg(&dict)
        .args(["-b", "127.0.0.1", "-x", "127.0.0.1", "-P", &local])
        .args(["-t", "0.2", "--maximumtime=3"])
        .args(["-p", &front_port.to_string(), "127.0.0.1"])
        .output()
        .expect("svcrack (Debian package sipvicious) runs");
    stop.store(true, Ordering::Relaxed);
    relay.join().unwrap();
    let out =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let seen = seen.lock().unwrap();
    let log = sb.log();
    eprintln!("svcrack:\n{out}\nproxy saw {seen:?}");
    assert_eq!(seen.leaked, 0, "nothing naming 1.1.1.1 was relayed");
    assert!(
        seen.registers >= 5,
        "svcrack ran through the proxy: {seen:?}"
    );
    assert!(
        !seen.statuses.contains(&200),
        "no guess succeeded: {seen:?}"
    );
    assert!(!out.contains("1001pass"), "svcrack found nothing:\n{out}");
    // Every guess after the ban went unanswered: at most 10 answered guesses (the
    // challenges are 401, the answered wrong guesses 403 or 400).
    let answered_guesses = seen
        .statuses
        .iter()
        .filter(|&&c| c == 403 || c == 400)
        .count();
    assert!(
        (1..=10).contains(&answered_guesses),
        "banned within 10 guesses: {answered_guesses} answered, {seen:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("Banned 127.0.0.66")),
        "the ban is logged: {log:?}"
    );
    assert!(
        log.iter()
            .all(|l| !l.contains("registered") || l.contains("unregistered")),
        "no binding stored: {log:?}"
    );
}
