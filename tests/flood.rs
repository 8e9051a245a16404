//! An unauthenticated INVITE flood from one source (127.0.0.2, as fast as one sending thread
//! goes, bounded in count and time) against the real binary while phones on 127.0.0.1
//! register: every registration succeeds, the flood draws no more bytes back than it sent,
//! and sipbox's memory stays put. The flood source is not on `banignore` here, so the per-source
//! rate limit and the stateless challenge are what is tested.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::ua::*;
use common::wire::UdpWire;
use common::*;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLOOD_MAX: u64 = 200_000;
const FLOOD_FOR: Duration = Duration::from_secs(3);

/// Sends `text` and waits for a final response, retransmitting as RFC 3261's Timer E does
/// (0.5, 1, 2 s) — a datagram may be lost in a flood, as a phone knows.
fn ask(w: &mut UdpWire, phone: &mut Ua, text: &str) -> Option<sipbox::sip::Response> {
    for wait in [500u64, 1000, 2000, 2000] {
        phone.wait = Duration::from_millis(wait);
        phone.send(w, text);
        while let Some(m) = phone.recv(w) {
            if let sipbox::sip::Message::Response(r) = m {
                if r.status() >= 200 {
                    return Some(r);
                }
            }
        }
    }
    None
}

/// A digest REGISTER with retransmissions; the final status.
fn register(w: &mut UdpWire, phone: &mut Ua) -> Option<u16> {
    let server = w.sipbox();
    let first = phone.register_text(server, 300, None);
    let ch = ask(w, phone, &first)?;
    if ch.status() != 401 {
        return Some(ch.status());
    }
    let www = header(&ch, sipbox::sip::HeaderName::WwwAuthenticate)?;
    let nonce = auth_param(www, "nonce")?;
    let auth = digest(
        &phone.user,
        &phone.password,
        "sipbox",
        &nonce,
        "REGISTER",
        &format!("sip:{server}"),
        1,
    );
    let second = phone.register_text(server, 300, Some(&auth));
    ask(w, phone, &second).map(|r| r.status())
}

#[test]
fn an_invite_flood_from_one_source_does_not_stop_registrations() {
    let conf = TEST_SIP_CONF.replace("[general]\n", "[general]\nbanignore=127.0.0.1\n");
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let rss_before = sb.rss_kb().unwrap_or(0);
    let target = sb.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let flood = std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.2:0").expect("127.0.0.2 is loopback");
        s.set_nonblocking(true).unwrap();
        let me = s.local_addr().unwrap();
        let (mut sent, mut sent_bytes, mut back_bytes) = (0u64, 0u64, 0u64);
        let mut buf = [0u8; 2048];
        let t0 = Instant::now();
        while sent < FLOOD_MAX && t0.elapsed() < FLOOD_FOR && !flag.load(Ordering::Relaxed) {
            let msg = format!(
                "INVITE sip:1002@{target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKf{sent};rport\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:1001@{target}>;tag=f{sent}\r\nTo: <sip:1002@{target}>\r\n\
                 Call-ID: flood-{sent}\r\nCSeq: 1 INVITE\r\nContact: <sip:1001@{me}>\r\n\
                 Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n"
            );
            if s.send_to(msg.as_bytes(), target).is_ok() {
                sent += 1;
                sent_bytes += msg.len() as u64;
            }
            while let Ok((n, _)) = s.recv_from(&mut buf) {
                back_bytes += n as u64;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        while let Ok((n, _)) = s.recv_from(&mut buf) {
            back_bytes += n as u64;
        }
        (sent, sent_bytes, back_bytes, t0.elapsed())
    });
    // Meanwhile phones register (and refresh) over and over.
    let mut w = UdpWire::to(&sb);
    let (mut ok, mut attempted) = (0, 0);
    let tries = 40;
    let t0 = Instant::now();
    for i in 0..tries {
        let user = if i % 2 == 0 { "1001" } else { "1002" };
        let mut phone = Ua::new(&mut w, user, &format!("{user}pass"));
        attempted += 1;
        if register(&mut w, &mut phone) == Some(200) {
            ok += 1;
        }
        if t0.elapsed() > FLOOD_FOR {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (sent, sent_bytes, back_bytes, took) = flood.join().unwrap();
    let rss_after = sb.rss_kb().unwrap_or(0);
    eprintln!(
        "flood: {sent} INVITEs in {took:?} ({:.0}/s), {sent_bytes} bytes sent, {back_bytes} back \
         (x{:.3}); registrations {ok} ok; RSS {rss_before} -> {rss_after} KB",
        sent as f64 / took.as_secs_f64(),
        back_bytes as f64 / sent_bytes.max(1) as f64
    );
    assert!(sent > 1000, "the flood ran: {sent}");
    assert!(attempted >= 1, "registrations ran");
    assert_eq!(
        ok, attempted,
        "every registration during the flood succeeded"
    );
    assert!(
        back_bytes <= sent_bytes,
        "amplification: {back_bytes} back for {sent_bytes}"
    );
    assert!(
        rss_after < rss_before + 64 * 1024,
        "memory bounded: {rss_before} -> {rss_after} KB"
    );
}
