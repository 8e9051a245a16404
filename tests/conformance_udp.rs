//! Conformance over UDP through the real binary: every RFC 4475 vector (top Via rewritten to
//! the test's own 127.0.0.1 socket, so every answer stays on loopback) gets the expected
//! answer or is dropped; a flood of random and mutated datagrams leaves the process up. (A REGISTER
//! binding a non-loopback contact is refused: tests/engine_register.rs.)
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::*;
use rand::{Rng, SeedableRng};

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// What sipbox must do with a vector.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// A final answer with this status (provisional answers before it are skipped).
    Status(u16),
    /// No answer at all (responses, and what cannot be answered).
    Silence,
}
use Want::*;

/// The verdicts of tests/data/rfc4475/README.md for a registrar/B2BUA that authenticates
/// (TEST_SIP_CONF: allowguest=no, alwaysauthreject=yes), over UDP.
const VECTORS: &[(&str, Want)] = &[
    // Well-formed: what the handler says. INVITEs from names we don't know are challenged.
    ("wsinv", Status(481)), // it carries a To tag: no such dialog
    ("intmeth", Status(501)),
    ("esc01", Status(407)),
    ("escnull", Status(401)),
    ("esc02", Status(501)),
    ("lwsdisp", Status(200)),
    ("longreq", Status(407)),
    ("dblreq", Status(401)),
    ("semiuri", Status(200)),
    ("transports", Status(200)),
    ("mpart01", Status(405)),
    ("unreason", Silence),
    ("noreason", Silence),
    // Bad syntax: 400 (505 for the version).
    ("badinv01", Status(400)),
    ("clerr", Status(400)),
    ("ncl", Status(400)),
    ("scalar02", Status(400)),
    ("scalarlg", Silence),
    ("quotbal", Status(400)),
    ("ltgtruri", Status(400)),
    ("lwsruri", Status(400)),
    ("lwsstart", Status(400)),
    ("trws", Status(400)),
    ("escruri", Status(400)),
    ("baddate", Status(407)),
    ("regbadct", Status(401)), // parses (lenient); challenged first
    ("badaspec", Status(400)),
    ("baddn", Status(400)),
    ("badvers", Status(505)),
    ("mismatch01", Status(400)),
    ("mismatch02", Status(400)),
    ("bigcode", Silence),
    ("badbranch", Status(400)),
    // No From/To/Call-ID: nothing to build an answer from that the sender could match.
    ("insuf", Status(400)),
    // Application layer.
    ("unkscm", Status(416)),
    ("novelsc", Status(416)),
    ("unksm2", Status(400)),
    ("bext01", Status(420)),
    // invut/sdp01: sipbox authenticates before it looks at the body (as chan_sip does);
    // the From of these vectors is nobody we know, so the challenge is the answer.
    ("invut", Status(407)),
    ("regaut01", Status(401)),
    ("multi01", Status(400)),
    ("mcl01", Status(400)),
    ("bcast", Silence),
    ("zeromf", Status(200)),
    ("cparam01", Status(401)),
    ("cparam02", Status(401)),
    ("regescrt", Status(401)),
    ("sdp01", Status(407)),
    ("inv2543", Status(407)),
];

fn load(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc4475")
        .join(format!("{name}.sip"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rewrites the sent-by of the first Via header field (long or compact name, folded or not)
/// to `to`, and disarms `received`/`maddr` in it, so that §18.2.2 sends any answer to `to`.
/// Returns None when the message has no Via the rewriter understands.
fn rewrite_top_via(msg: &[u8], to: SocketAddr) -> Option<Vec<u8>> {
    let head_end = find(msg, b"\r\n\r\n").unwrap_or(msg.len());
    // Header field starts: after each CRLF not followed by SP/HT.
    let mut pos = find(msg, b"\r\n")? + 2;
    while pos < head_end {
        let line_end = find(&msg[pos..], b"\r\n").map_or(msg.len(), |i| pos + i);
        // The field runs on through continuation lines.
        let mut field_end = line_end;
        while field_end + 2 < msg.len() && matches!(msg[field_end + 2], b' ' | b'\t') {
            field_end =
                find(&msg[field_end + 2..], b"\r\n").map_or(msg.len(), |i| field_end + 2 + i);
        }
        let field = &msg[pos..field_end];
        if let Some(colon) = field.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&field[..colon]);
            let name = name.trim();
            if name.eq_ignore_ascii_case("via") || name.eq_ignore_ascii_case("v") {
                let start = pos + colon + 1;
                return rewrite_via_value(msg, start, field_end, to);
            }
        }
        pos = field_end + 2;
    }
    None
}

fn rewrite_via_value(msg: &[u8], start: usize, end: usize, to: SocketAddr) -> Option<Vec<u8>> {
    let lws = |mut i: usize| {
        while i < end && matches!(msg[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        i
    };
    let token = |mut i: usize| {
        while i < end && !matches!(msg[i], b' ' | b'\t' | b'\r' | b'\n' | b'/' | b';' | b',') {
            i += 1;
        }
        i
    };
    // SIP / 2.0 / transport
    let mut i = lws(start);
    for k in 0..3 {
        i = lws(token(i));
        if k < 2 {
            if msg.get(i) != Some(&b'/') {
                return None;
            }
            i = lws(i + 1);
        }
    }
    // sent-by: host[:port] up to ';', ',' or LWS
    let mut j = i;
    while j < end && !matches!(msg[j], b' ' | b'\t' | b'\r' | b'\n' | b';' | b',') {
        j += 1;
    }
    if j == i {
        return None;
    }
    // The params of the first via-parm: up to the first ',' of the field.
    let pend = msg[j..end]
        .iter()
        .position(|&b| b == b',')
        .map_or(end, |k| j + k);
    let mut params = msg[j..pend].to_vec();
    for p in [&b"received="[..], b"maddr="] {
        if let Some(k) = find_ci(&params, p) {
            params[k] = b'x';
        }
    }
    let mut out = msg[..i].to_vec();
    out.extend_from_slice(to.to_string().as_bytes());
    out.extend_from_slice(&params);
    out.extend_from_slice(&msg[pend..]);
    Some(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Every answer `peer` gets within `wait`.
fn answers(peer: &Peer, wait: Duration) -> Vec<Msg> {
    peer.timeout(Duration::from_millis(50));
    let end = Instant::now() + wait;
    let mut got = Vec::new();
    while Instant::now() < end {
        if let Some(m) = peer.recv() {
            got.push(m);
        }
    }
    got
}

#[test]
fn rewriter_moves_only_the_top_via() {
    let to: SocketAddr = "127.0.0.1:4242".parse().unwrap();
    let out = rewrite_top_via(&load("wsinv"), to).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("127.0.0.1:4242;branch=390skdjuw"), "{text}");
    assert!(text.contains("192.0.2.1"), "later Vias stay");
    let out = rewrite_top_via(&load("scalarlg"), to).unwrap();
    assert!(String::from_utf8_lossy(&out)
        .contains("127.0.0.1:4242;branch=z9hG4bKzzxdiwo34sw;xeceived="));
    let out = rewrite_top_via(&load("longreq"), to).unwrap();
    assert!(String::from_utf8_lossy(&out).contains("SIP/2.0/TCP 127.0.0.1:4242"));
}

#[test]
fn every_rfc4475_vector_over_udp() {
    assert_eq!(VECTORS.len(), 49);
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    // Each vector from its own socket, all at once; then collect.
    let sent: Vec<_> = VECTORS
        .iter()
        .map(|&(name, want)| {
            let peer = Peer::new();
            let data = rewrite_top_via(&load(name), peer.addr)
                .unwrap_or_else(|| panic!("{name}: no Via to rewrite"));
            peer.send(sb.addr, &data);
            (name, want, peer)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut failures = Vec::new();
    for (name, want, peer) in &sent {
        let got = answers(peer, Duration::from_millis(20));
        let finals: Vec<u16> = got.iter().map(Msg::status).filter(|s| *s >= 200).collect();
        let first = finals.first().copied();
        match want {
            Silence if !got.is_empty() => {
                failures.push(format!("{name}: want silence, got {:?}", got[0].start))
            }
            Status(code) if first != Some(*code) => failures.push(format!(
                "{name}: want {code}, got {:?}",
                got.iter().map(|m| m.start.clone()).collect::<Vec<_>>()
            )),
            _ => {}
        }
        // Whatever the verdict, never a server error.
        if finals
            .iter()
            .any(|s| *s >= 500 && !matches!(want, Status(c) if *c == *s))
        {
            failures.push(format!("{name}: 5xx {finals:?}"));
        }
        // dblreq: only the REGISTER is answered, never the INVITE glued behind it.
        if *name == "dblreq"
            && got
                .iter()
                .any(|m| m.header("CSeq").is_some_and(|c| c.contains("INVITE")))
        {
            failures.push("dblreq: the trailing INVITE was answered".into());
        }
    }
    // Still alive: a good REGISTER gets its 401.
    let peer = Peer::new();
    peer.send(
        sb.addr,
        register(&peer, sb.addr, "1001", "after-4475", 1, 120, None).as_bytes(),
    );
    let r = peer.recv_final().expect("answer to a good REGISTER");
    if r.status() != 401 {
        failures.push(format!("good REGISTER after the vectors: {}", r.start));
    }
    if !failures.is_empty() {
        let path = std::env::temp_dir().join("sipbox-conformance-udp.log");
        std::fs::write(&path, sb.log().join("\n")).unwrap();
        panic!("{}\nlog in {}", failures.join("\n"), path.display());
    }
}

/// A request from `peer` whose first header is a Via to `peer` with rport, so whatever
/// follows it, every answer comes back to `peer`.
fn base_requests(peer: &Peer, server: SocketAddr) -> Vec<Vec<u8>> {
    let via = format!(
        "Via: SIP/2.0/UDP {};branch=z9hG4bKflood;rport\r\n",
        peer.addr
    );
    let mut out = Vec::new();
    let own = [
        format!(
            "OPTIONS sip:{server} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:x@{server}>;tag=1\r\n\
             To: <sip:{server}>\r\nCall-ID: flood-o\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ),
        format!(
            "INVITE sip:1002@{server} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:1001@{server}>;tag=2\r\n\
             To: <sip:1002@{server}>\r\nCall-ID: flood-i\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:1001@{p}>\r\nContent-Type: application/sdp\r\nContent-Length: 58\r\n\r\n\
             v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n",
            p = peer.addr
        ),
        register(peer, server, "1001", "flood-r", 1, 120, None),
    ];
    for m in own {
        out.push(m.into_bytes());
    }
    for &(name, _) in VECTORS {
        if let Some(m) = rewrite_top_via(&load(name), peer.addr) {
            out.push(m);
        }
    }
    // Put our Via first: after the start line.
    out.into_iter()
        .map(|m| {
            let cut = find(&m, b"\r\n").map_or(m.len(), |i| i + 2);
            let mut v = m[..cut].to_vec();
            v.extend_from_slice(via.as_bytes());
            v.extend_from_slice(&m[cut..]);
            v
        })
        .collect()
}

/// A random mutation of `base` that keeps its start line and first (Via) header intact.
fn mutate(rng: &mut rand::rngs::StdRng, base: &[u8]) -> Vec<u8> {
    let keep = find(base, b"\r\n")
        .and_then(|a| find(&base[a + 2..], b"\r\n").map(|b| a + 2 + b + 2))
        .unwrap_or(base.len());
    let (head, tail) = base.split_at(keep);
    let mut tail = tail.to_vec();
    for _ in 0..rng.random_range(1..6) {
        let len = tail.len();
        match rng.random_range(0..6) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                tail[i] = rng.random();
            }
            1 => {
                let i = rng.random_range(0..=len);
                let junk: Vec<u8> = (0..rng.random_range(1..40)).map(|_| rng.random()).collect();
                tail.splice(i..i, junk);
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                let j = (i + rng.random_range(1..64)).min(len);
                tail.drain(i..j);
            }
            3 => tail.truncate(rng.random_range(0..=len)),
            4 if len > 0 => {
                // a line doubled
                let i = rng.random_range(0..len);
                let j = find(&tail[i..], b"\r\n").map_or(len, |k| i + k + 2);
                let line = tail[i..j].to_vec();
                tail.splice(i..i, line);
            }
            _ => {
                // a structural character where it hurts
                let chars = b":;,<>\"\\ \r\n\t%@=0";
                if len > 0 {
                    let i = rng.random_range(0..len);
                    tail[i] = chars[rng.random_range(0..chars.len())];
                }
            }
        }
    }
    let mut out = head.to_vec();
    out.extend_from_slice(&tail);
    out.truncate(65_535);
    out
}

#[test]
fn flood_of_random_and_mutated_datagrams_leaves_it_answering() {
    let mut sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let seed: u64 = rand::random();
    eprintln!("flood seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let peer = Peer::new();
    let bases = base_requests(&peer, sb.addr);
    let t0 = Instant::now();
    for i in 0..5_000u32 {
        let data = if rng.random_range(0..5) == 0 {
            // pure noise, sometimes starting like SIP
            let mut d: Vec<u8> = (0..rng.random_range(0..1500))
                .map(|_| rng.random())
                .collect();
            if rng.random() {
                d.splice(0..0, b"INVITE sip:x SIP/2.0\r\n".iter().copied());
            }
            d
        } else {
            let b = rng.random_range(0..bases.len());
            mutate(&mut rng, &bases[b])
        };
        peer.send(sb.addr, &data);
        // a breath now and then so most datagrams are read, not dropped by the kernel
        if i % 200 == 199 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "the flood is bounded"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(sb.is_running(), "sipbox died in the flood (seed {seed})");
    let probe = Peer::new();
    let opts = format!(
        "OPTIONS sip:{s} SIP/2.0\r\nVia: SIP/2.0/UDP {p};branch=z9hG4bKprobe;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{s}>;tag=p\r\nTo: <sip:{s}>\r\nCall-ID: probe\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        s = sb.addr,
        p = probe.addr
    );
    probe.send(sb.addr, opts.as_bytes());
    let r = probe
        .recv_final()
        .expect("OPTIONS answered after the flood");
    assert_eq!(r.status(), 200, "seed {seed}");
    assert!(
        !sb.log().iter().any(|l| l.contains("panicked")),
        "seed {seed}"
    );
    // The flood did reach it: some of it was answered (400s, 401s, 407s, ...).
    let answered = answers(&peer, Duration::from_millis(200));
    assert!(answered.len() > 50, "only {} answers", answered.len());
}
