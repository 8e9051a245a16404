//! Dialplan lookup speed: one context with 10 000 literal extensions and 1 000 patterns.
//! Prints µs per match (target ≤ 2 µs). Run with `cargo bench --bench dialplan`.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sipbox::config::raw::{Entry, Loc, Section};
use sipbox::dialplan::model::Want;
use sipbox::dialplan::Dialplan;

fn entry(file: &Arc<str>, line: u32, value: String) -> Entry {
    Entry {
        key: "exten".into(),
        value: value.into(),
        arrow: true,
        loc: Loc {
            file: file.clone(),
            line,
        },
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it
    // (`test = false` does not keep a bench out of `--all-targets`): nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let file: Arc<str> = Arc::from("bench.conf");
    let mut entries = Vec::new();
    for i in 0..10_000u32 {
        entries.push(entry(
            &file,
            i + 1,
            format!("{},1,Dial(SIP/{})", 100_000 + i, 100_000 + i),
        ));
    }
    for i in 0..1_000u32 {
        // Patterns with a literal prefix, plus some with a class first.
        let p = if i % 10 == 0 {
            format!("_[2-9]{:03}XXXX", i)
        } else {
            format!("_2{:03}XXXX", i)
        };
        entries.push(entry(
            &file,
            20_000 + i,
            format!("{p},1,Dial(SIP/trunk/${{EXTEN}})"),
        ));
    }
    entries.push(entry(&file, 30_000, "_X.,1,Hangup()".into()));
    let section = Section {
        name: "big".into(),
        entries,
        loc: Loc {
            file: file.clone(),
            line: 1,
        },
    };
    let t0 = Instant::now();
    let (dp, _) = Dialplan::from_sections(&[section]).expect("loads");
    println!(
        "load: {:.1} ms for 11 001 extensions",
        t0.elapsed().as_secs_f64() * 1e3
    );

    let now = SystemTime::UNIX_EPOCH;
    let literal: Vec<String> = (0..1000).map(|i| (100_000 + i * 7).to_string()).collect();
    let pattern: Vec<String> = (0..1000)
        .map(|i| format!("2{:03}{:04}", (i * 37) % 1000, i))
        .collect();
    let fallback: Vec<String> = (0..1000).map(|i| format!("0{:09}", i)).collect();
    for (what, nums) in [
        ("literal", &literal),
        ("pattern", &pattern),
        ("fallback _X.", &fallback),
    ] {
        let rounds = 200;
        let t = Instant::now();
        let mut hits = 0usize;
        for _ in 0..rounds {
            for n in nums.iter() {
                if dp
                    .find("big", black_box(n), "", Want::Prio(1), now)
                    .is_some()
                {
                    hits += 1;
                }
            }
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * nums.len()) as f64;
        assert_eq!(hits, rounds * nums.len(), "{what}: every number matches");
        println!("{what:>14} match: {per:.3} µs");
    }
}
