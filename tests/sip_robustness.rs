//! Property-style robustness test: random bytes and mutated valid messages (bit flips,
//! truncations, insertions, header duplication) fed to `parse`. Nothing may panic, and
//! whatever parses must serialize into bytes that parse again to an equal message.
//! Seeded and bounded, so it is deterministic and fast in debug builds.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sipbox::sip::{parse, Message};

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "sip"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.push(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP [::1]:5060;branch=z9hG4bK1;rport=5060;received=::1\r\n\
From: <sip:a@b>;tag=1\r\nTo: \"B, b\" <sip:b@c>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\
Contact: <sip:b@[::1]:5062>;expires=60, *\r\nl: 3\r\n\r\nabc"
            .to_vec(),
    );
    out
}

fn mutate(rng: &mut StdRng, msg: &[u8]) -> Vec<u8> {
    let mut m = msg.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let len = m.len();
        match rng.random_range(0..6) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                m[i] ^= 1 << rng.random_range(0..8);
            }
            1 => m.truncate(rng.random_range(0..=len)),
            2 => {
                let i = rng.random_range(0..=len);
                let b = *b"\r\n :;,<>\"\\%@[]=0123456789\x00\xff"
                    .get(rng.random_range(0..29))
                    .unwrap_or(&b'x');
                m.insert(i, b);
            }
            3 => {
                // Duplicate a whole line somewhere else.
                let lines: Vec<&[u8]> = m.split(|&b| b == b'\n').collect();
                if lines.len() > 2 {
                    let line = lines[rng.random_range(1..lines.len())].to_vec();
                    let at = rng.random_range(0..=len);
                    m.splice(at..at, line.into_iter().chain(*b"\n"));
                }
            }
            4 if len > 0 => {
                let i = rng.random_range(0..len);
                m.remove(i);
            }
            _ => {
                let i = rng.random_range(0..=len);
                m.insert(i, rng.random());
            }
        }
    }
    m
}

fn check(data: &[u8]) {
    match parse(data) {
        Ok(msg) => {
            let bytes = msg.to_bytes();
            let again = parse(&bytes).unwrap_or_else(|e| {
                panic!("re-parse failed: {e}\n{}", String::from_utf8_lossy(&bytes))
            });
            assert_eq!(again.to_bytes(), bytes);
            match (&msg, &again) {
                (Message::Request(r), Message::Request(a)) => {
                    // Validated at parse, so lazy decoding must succeed.
                    assert!(!r.vias().is_empty());
                    assert!(!r.from().uri.scheme.is_empty());
                    assert!(!r.to().uri.scheme.is_empty());
                    assert!(!r.call_id().is_empty());
                    assert!(!r.uri().scheme.is_empty());
                    assert_eq!(a.vias(), r.vias());
                    assert_eq!(a.from(), r.from());
                    assert_eq!(a.to(), r.to());
                    assert_eq!(a.uri(), r.uri());
                    let _ = (r.contacts(), r.expires(), r.route(), r.record_route());
                    let _ = r.require();
                }
                (Message::Response(r), Message::Response(a)) => {
                    assert!(!r.vias().is_empty());
                    assert!(!r.from().uri.scheme.is_empty());
                    assert!(!r.to().uri.scheme.is_empty());
                    assert_eq!(a.vias(), r.vias());
                    assert_eq!(a.to(), r.to());
                }
                _ => panic!("message kind changed in the round trip"),
            }
        }
        Err(e) => {
            let _ = (e.status(), e.reason(), e.top_via());
            if let Some(resp) = e.error_response() {
                assert!(resp.starts_with(b"SIP/2.0 "));
            }
        }
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(0x5195_b0c5);
    let seeds = seeds();
    assert!(seeds.len() >= 50);
    // SIPBOX_ROBUSTNESS_ITERS runs a longer soak (e.g. in release) without editing the test.
    let iters: u32 = std::env::var("SIPBOX_ROBUSTNESS_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for i in 0..iters {
        if i % 10 == 0 {
            let n = rng.random_range(0..300);
            let data: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            check(&data);
        } else {
            let seed = &seeds[rng.random_range(0..seeds.len())];
            check(&mutate(&mut rng, seed));
        }
    }
}

#[test]
fn huge_integers_and_sizes() {
    let big = format!(
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n\
To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: {0}\r\nExpires: {0}\r\n\r\n",
        "9".repeat(5000)
    );
    check(big.as_bytes());
    check(&vec![b'\n'; 70_000]);
    check(&vec![b' '; 65_535]);
}
