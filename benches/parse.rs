//! Parse and parse+serialize throughput of a typical ~800-byte INVITE.
//! Run: `cargo bench --bench parse` (plain `fn main`, std::time::Instant).
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::hint::black_box;
use std::time::Instant;

use sipbox::sip::{parse, Message};

const INVITE: &str = "INVITE sip:1002@pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---b1ff5ba2ec3d2d4c;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:1001@192.0.2.10:5060;transport=udp>\r\n\
To: <sip:1002@pbx.example.com>\r\n\
From: \"Alice\" <sip:1001@pbx.example.com>;tag=6d1c4f3a\r\n\
Call-ID: ZDk4YTFhMDU0NzM0ZTgyNGU2YjY4ODI1NzQ5NmM1YTM\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Content-Type: application/sdp\r\n\
Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri\r\n\
User-Agent: Softphone 5.1.2 rv.2.10.9.2\r\n\
Allow-Events: presence, kpml, talk\r\n\
Content-Length: 229\r\n\
\r\n\
v=0\r\n\
o=- 1700000000 1700000001 IN IP4 192.0.2.10\r\n\
s=softphone\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n";

/// Runs `f` `iters` times in each of three rounds and prints the best round (the machine
/// is shared: the best round is the least disturbed one).
fn run(label: &str, iters: u32, mut f: impl FnMut()) {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{label:<18} {:>10.0} msg/s  ({:.0} ns/msg)",
        f64::from(iters) / best,
        best * 1e9 / f64::from(iters)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it
    // (`test = false` does not keep a bench out of `--all-targets`): nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let data = INVITE.as_bytes();
    assert!(matches!(parse(data), Ok(Message::Request(_))));
    println!("message: {} bytes", data.len());
    // SIPBOX_BENCH_ITERS overrides the round size (e.g. small, under valgrind).
    let iters = std::env::var("SIPBOX_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    run("parse", iters, || {
        black_box(parse(black_box(data)).is_ok());
    });
    run("parse+serialize", iters, || {
        if let Ok(m) = parse(black_box(data)) {
            black_box(m.to_bytes());
        }
    });
    // What an engine does with every message: read the essentials (Via, From, To, Call-ID,
    // CSeq, Request-URI are decoded on first access) and send something out.
    run("parse+decode+ser", iters, || {
        if let Ok(Message::Request(r)) = parse(black_box(data)) {
            black_box((r.top_via().branch(), r.from().tag(), r.to().tag()));
            black_box((r.call_id(), r.cseq().seq, r.uri().user.as_deref()));
            black_box(r.to_bytes());
        }
    });
    pieces(iters / 2);
}

/// Typed decoders on their own (each includes allocating and freeing the result).
fn pieces(n: u32) {
    use sipbox::sip::{CSeq, HeaderName, NameAddr, Uri, Via};
    run("uri", n, || {
        black_box(Uri::parse(black_box("sip:1002@pbx.example.com")).is_ok());
    });
    run("from", n, || {
        black_box(
            NameAddr::parse(black_box(
                "\"Alice\" <sip:1001@pbx.example.com>;tag=6d1c4f3a",
            ))
            .is_ok(),
        );
    });
    run("to", n, || {
        black_box(NameAddr::parse(black_box("<sip:1002@pbx.example.com>")).is_ok());
    });
    run("via", n, || {
        black_box(
            Via::parse(black_box(
                "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---b1ff5ba2ec3d2d4c;rport",
            ))
            .is_ok(),
        );
    });
    run("cseq", n, || {
        black_box(CSeq::parse(black_box("1 INVITE")).is_ok());
    });
    run("14 names", n, || {
        for s in [
            "Via",
            "Max-Forwards",
            "Contact",
            "To",
            "From",
            "Call-ID",
            "CSeq",
            "Allow",
            "Content-Type",
            "Supported",
            "User-Agent",
            "Allow-Events",
            "Content-Length",
            "X-Foo",
        ] {
            black_box(HeaderName::parse(black_box(s)));
        }
    });
}
