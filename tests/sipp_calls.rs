//! Calls through the real binary between SIPp phones: caller (1001, digest-authenticated) →
//! sipbox → callee (1002, registered by SIPp on the port its UAS scenario then listens on).
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

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
    let timeout = if extra.contains(&"-lost") { 15 } else { 40 };
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
fn answered_call_caller_hangs_up() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let (uac, uas) = call_flow(&sb, "uas_answer.xml", "uac_auth_call.xml", 3, &[]);
    assert!(sipp::succeeded(&uac), "caller side failed");
    assert!(sipp::succeeded(&uas), "callee side failed");
    assert!(sb.wait_log("answered by leg", Duration::from_secs(2)));
    assert!(sb.wait_log("ended (ByeFrom(0))", Duration::from_secs(2)));
}

/// Writes the failure-expecting caller scenario for `status` and returns its path.
fn failing_caller(status: u16) -> String {
    let tmpl = std::fs::read_to_string(sipp::scenario("uac_auth_fail.xml.tmpl")).unwrap();
    let dir = temp_dir("sipp-scen");
    let path = dir.join(format!("uac_fail_{status}.xml"));
    std::fs::write(&path, tmpl.replace("STATUS", &status.to_string())).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn answered_call_callee_hangs_up() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let (uac, uas) = call_flow(&sb, "uas_hangup.xml", "uac_auth_wait_bye.xml", 2, &[]);
    assert!(sipp::succeeded(&uac), "caller side failed");
    assert!(sipp::succeeded(&uas), "callee side failed");
    assert!(sb.wait_log("ended (ByeFrom(1))", Duration::from_secs(2)));
}

#[test]
fn busy_callee_gives_486() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let caller = failing_caller(486);
    let (uac, uas) = call_flow(&sb, "uas_busy.xml", &caller, 2, &[]);
    assert!(sipp::succeeded(&uac), "caller side failed");
    assert!(sipp::succeeded(&uas), "callee side failed");
}

#[test]
fn caller_cancel_while_ringing() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let (uac, uas) = call_flow(&sb, "uas_ring_cancelled.xml", "uac_auth_cancel.xml", 2, &[]);
    assert!(sipp::succeeded(&uac), "caller side failed");
    assert!(sipp::succeeded(&uas), "callee side failed");
    assert!(sb.wait_log("cancelled by the caller", Duration::from_secs(2)));
}

#[test]
fn unregistered_callee_gives_480_and_unknown_extension_404() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let caller = failing_caller(480);
    let out = sipp::run(
        sb.addr,
        &[
            "-sf", &caller, "-s", "1003", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        20,
    );
    assert!(sipp::succeeded(&out), "1003 is not registered: 480");
    let caller = failing_caller(404);
    let out = sipp::run(
        sb.addr,
        &[
            "-sf", &caller, "-s", "777", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        20,
    );
    assert!(sipp::succeeded(&out), "no extension 777: 404");
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
    let ended = |log: &[String]| log.iter().filter(|l| l.contains(" ended (")).count();
    let started = |log: &[String]| {
        log.iter()
            .filter(|l| l.contains("in context 'internal'"))
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let log = sb.log();
        if started(&log) > 0
            && ended(&log) == started(&log)
            && log.iter().rev().any(|l| l.contains("0 calls up"))
        {
            break;
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
