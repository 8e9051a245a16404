//! The SDP work of one bench call (`scripts/count.sh call`: SIPp's offer, the callee's
//! answer), on the lean path the call code takes and on the model path it took before issue
//! 15: scan + learn + the callee's offer, then the callee's answer + the caller's answer.
//! Prints the allocations per call (a counting allocator); run it under callgrind for the
//! instructions:
//!   cargo bench --bench sdp                      # both paths, allocations and ns per call
//!   valgrind --tool=callgrind target/release/deps/sdp-* --bench lean 1000   # (and `model`,
//!   and `... 0` for the start-up to subtract)
#![allow(clippy::disallowed_methods)] // benches may read clocks

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use sipbox::media::negotiate;
use sipbox::media::sdp::{emit, CodecName, LocalSession, Sdp, View};

/// Counts allocations and reallocations, then leaves the work to the system allocator.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds GlobalAlloc's contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// SIPp's bodies in `uac_auth_call.xml` and `uas_answer.xml`.
const OFFER: &[u8] = b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
const ANSWER: &[u8] = b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const ALLOW: [CodecName; 2] = [CodecName::Pcmu, CodecName::Pcma];

/// What `learn_from` reads of a description.
fn learn_view(v: &View<'_>) {
    let c = v.codecs();
    black_box((
        v.media_facts(),
        c.chosen().map(|c| c.name()),
        c.telephone_event_pt(),
    ));
}

fn learn_model(s: &Sdp) {
    let codec = s.chosen_codec().map(|c| c.name);
    black_box((s.remote_rtp(), s.remote_rtcp(), s.is_hold(), codec));
    black_box(s.telephone_event_pt());
}

/// One call on the lean path, as `src/call/media/mod.rs` runs it now.
fn lean(caller: &mut LocalSession, callee: &mut LocalSession) -> usize {
    let offer = black_box(OFFER);
    let v = View::scan(offer).unwrap();
    learn_view(&v);
    let (filter, _te) = negotiate::callee_filter(&v, &ALLOW, &ALLOW).unwrap();
    let to_callee = emit::rewrite(&v, Some(&filter), callee, IP, 10000);
    let answer = View::scan(black_box(ANSWER)).unwrap();
    let v = View::scan(offer).unwrap();
    learn_view(&answer);
    let w = negotiate::answer_for_caller_lean(&v, &answer, caller, IP, 10002, false).unwrap();
    to_callee.len() + w.body.len()
}

/// One call on the model path, as the call code ran it before (the offer parsed once and
/// cloned for each use).
fn model(caller: &mut LocalSession, callee: &mut LocalSession) -> usize {
    let o = Sdp::parse(black_box(OFFER)).unwrap();
    learn_model(&o);
    let cached = o.clone();
    let f = negotiate::offer_for_callee(&cached.clone(), &ALLOW, &ALLOW).unwrap();
    let to_callee = f.rewrite(callee, IP, 10000);
    black_box(to_callee.telephone_event_pt());
    let to_callee = to_callee.to_bytes();
    let answer = Sdp::parse(black_box(ANSWER)).unwrap();
    learn_model(&answer);
    let a = negotiate::answer_for_caller(&cached.clone(), &answer, caller, IP, 10002, false);
    let a = a.unwrap();
    black_box((a.chosen_codec().map(|c| c.name), a.telephone_event_pt()));
    to_callee.len() + a.to_bytes().len()
}

fn run(name: &str, n: usize, f: fn(&mut LocalSession, &mut LocalSession) -> usize) {
    let mut legs: Vec<_> = (0..n as u64)
        .map(|i| (LocalSession::new(i, 1), LocalSession::new(i, 1)))
        .collect();
    let before = ALLOCS.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let bytes: usize = legs.iter_mut().map(|(a, b)| f(a, b)).sum();
    let ns = t0.elapsed().as_nanos() as f64 / n.max(1) as f64;
    let allocs = (ALLOCS.load(Ordering::Relaxed) - before) as f64 / n.max(1) as f64;
    println!("{name:<6} {allocs:>6.1} allocations per call, {ns:>8.0} ns per call ({bytes} bytes)");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this binary without `--bench`: nothing to measure then.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let mode = args.iter().find(|a| *a == "lean" || *a == "model");
    let n = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    match mode.map(String::as_str) {
        Some("lean") => run("lean", n, lean),
        Some(_) => run("model", n, model),
        None => {
            run("model", n, model);
            run("lean", n, lean);
        }
    }
}
