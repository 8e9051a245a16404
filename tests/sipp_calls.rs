//! Calls through the real binary between SIPp phones under 10 % loss: caller (1001,
//! digest-authenticated) → sipbox → callee (1002, registered by SIPp on the port its UAS
//! scenario then listens on). The loss-free call flows (answered both ways, 486, CANCEL,
//! 480/404) run as scripted-UA scenarios on the fake network (tests/engine_call_flows.rs).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::time::Duration;

/// Runs one call flow: register 1002 on a port, start the callee scenario there, run the
/// caller scenario, and return both outputs. `extra` goes to both SIPp instances.
fn call_flow(
    sb: &Sipbox,
    callee: &str,
    caller: &str,
    calls: u32,
    extra: &[&str],
) -> (std::process::Output, std::process::Output) {
    let timeout = if extra.contains(&"-lost") {
        15 + calls / 20
    } else {
        40
    };
    let port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", port);
    let callee_sf = sipp::scenario(callee);
    let m = calls.to_string();
    let mut uas_args = vec!["-sf", callee_sf.as_str(), "-m", &m];
    uas_args.extend_from_slice(extra);
    let uas = sipp::spawn_on(port, sb.addr, &uas_args, timeout);
    std::thread::sleep(Duration::from_millis(300));
    let caller_sf = sipp::scenario(caller);
    let mut args = vec![
        "-sf",
        caller_sf.as_str(),
        "-s",
        "1002",
        "-au",
        "1001",
        "-ap",
        "1001pass",
        "-m",
        &m,
        "-r",
        "10",
    ];
    args.extend_from_slice(extra);
    let uac = sipp::run(sb.addr, &args, timeout);
    let uas = sipp::finish(uas);
    (uac, uas)
}

#[test]
fn lossy_links_leave_no_stuck_calls() {
    // A SIPp caller that gives up after a loss sends at most one unretransmitted BYE, which
    // may be lost too; as on any PBX, rtptimeout is what clears such a dead call (SIPp sends
    // no RTP, and these calls last 300 ms).
    let conf = TEST_SIP_CONF.replace("[general]\n", "[general]\nrtptimeout=3\n");
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    // 10 % loss on both SIPp sides; each call must complete or fail cleanly.
    let (uac, uas) = call_flow(
        &sb,
        "uas_answer.xml",
        "uac_auth_call.xml",
        10,
        &["-lost", "10"],
    );
    let _ = (uac, uas);
    // Whatever SIPp concluded, sipbox must end every call: no call may stay up.
    assert_every_call_ends(&sb, Duration::from_secs(40));
}

/// Calls started and ended, from the log, once every call started has ended and sipbox says
/// `0 calls up`; panics after `within` with the log saved.
fn assert_every_call_ends(sb: &Sipbox, within: Duration) -> (usize, usize) {
    let ended = |log: &[String]| log.iter().filter(|l| l.contains(" ended (")).count();
    let started = |log: &[String]| {
        log.iter()
            .filter(|l| l.contains("in context 'internal'"))
            .count()
    };
    let deadline = std::time::Instant::now() + within;
    loop {
        let log = sb.log();
        if started(&log) > 0
            && ended(&log) == started(&log)
            && log.iter().rev().any(|l| l.contains("0 calls up"))
        {
            return (started(&log), ended(&log));
        }
        if std::time::Instant::now() > deadline {
            let path = std::env::temp_dir().join("sipbox-lossy.log");
            std::fs::write(&path, log.join("\n")).unwrap();
            panic!(
                "stuck calls: {} started, {} ended; log in {}",
                started(&log),
                ended(&log),
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_hundred_calls_at_ten_percent_loss_all_end() {
    // The soak issue 13 asks for: the test config with sipbox's defaults, except rtptimeout
    // (default 60 s) shortened to 3 s so that the calls whose BYE was lost end within the
    // test's bound. SIPp sends no RTP: every call that loses its BYE is cleared by it.
    let conf = TEST_SIP_CONF.replace("[general]\n", "[general]\nrtptimeout=3\n");
    let sb = Sipbox::start(&conf, TEST_EXTENSIONS_CONF);
    let t0 = std::time::Instant::now();
    let (uac, _) = call_flow(
        &sb,
        "uas_answer.xml",
        "uac_auth_call.xml",
        100,
        &["-lost", "10", "-r", "25"],
    );
    let (started, ended) = assert_every_call_ends(&sb, Duration::from_secs(40));
    let log = sb.log();
    let by_rtptimeout = log
        .iter()
        .filter(|l| l.contains("RTP timeout") || l.contains("rtptimeout"))
        .count();
    eprintln!(
        "loss soak: {started} calls started, {ended} ended, {by_rtptimeout} log lines about the \
         RTP timeout, all ended {:?} after the first; sipp caller: {}",
        t0.elapsed(),
        String::from_utf8_lossy(&uac.stdout)
            .lines()
            .filter(|l| l.contains("Successful call") || l.contains("Failed call"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    assert!(
        started >= 50,
        "most of the 100 calls reached sipbox: {started}"
    );
}
