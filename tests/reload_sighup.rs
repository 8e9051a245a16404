//! SIGHUP through the real binary under SIPp load: 200 authenticated calls at 50 a second
//! from a SIPp caller (1001) to a SIPp callee (1002, registered) while sip.conf (1 000 extra
//! peers, one added and removed, one secret changed) and extensions.conf are edited and
//! reloaded every 0.5 s. No call may fail, 1002's registration must survive every reload, and
//! a broken config must change nothing (its error names `file:line`).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::sipp;
use common::*;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sip_conf(generation: u32) -> String {
    let mut s = TEST_SIP_CONF.to_string();
    for n in 0..1000 {
        s.push_str(&format!("\n[{}](phone)\nsecret=p{n}\n", 20000 + n));
    }
    // Odd generations add a peer and change another's secret.
    if generation % 2 == 1 {
        s.push_str("\n[3999](phone)\nsecret=new\n");
        s = s.replace("secret=p7\n", "secret=changed\n");
    }
    s
}

fn extensions(generation: u32) -> String {
    format!("{TEST_EXTENSIONS_CONF}\n[gen]\nexten => {generation},1,Hangup()\n")
}

fn hup(sb: &Sipbox) {
    let ok = Command::new("kill")
        .args(["-HUP", &sb.pid().to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -HUP");
}

fn count(sb: &Sipbox, needle: &str) -> usize {
    sb.log().iter().filter(|l| l.contains(needle)).count()
}

/// One call 1001 → 1002 to a SIPp callee on `port`: true when both sides succeeded.
fn one_call(sb: &Sipbox, port: u16) -> bool {
    let uas_sf = sipp::scenario("uas_answer.xml");
    let uas = sipp::spawn_on(port, sb.addr, &["-sf", &uas_sf, "-m", "1"], 15);
    std::thread::sleep(Duration::from_millis(300));
    let uac_sf = sipp::scenario("uac_auth_call.xml");
    let uac = sipp::run(
        sb.addr,
        &[
            "-sf", &uac_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        15,
    );
    let uas = sipp::finish(uas);
    sipp::succeeded(&uac) && sipp::succeeded(&uas)
}

#[test]
fn sighup_under_sipp_load_loses_no_call_and_no_registration() {
    let dir = temp_dir("reload");
    std::fs::write(dir.join("sip.conf"), sip_conf(0)).unwrap();
    std::fs::write(dir.join("extensions.conf"), extensions(0)).unwrap();
    let sb = Sipbox::start_logging(&dir, "info");
    let port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", port);

    let uas_sf = sipp::scenario("uas_answer.xml");
    let uas = sipp::spawn_on(port, sb.addr, &["-sf", &uas_sf, "-m", "200"], 40);
    std::thread::sleep(Duration::from_millis(300));
    // Edit and SIGHUP every 0.5 s while the calls run.
    let done = Arc::new(AtomicBool::new(false));
    let reloader = {
        let done = done.clone();
        let dir = dir.clone();
        let pid = sb.pid();
        std::thread::spawn(move || {
            let mut generation = 0;
            while !done.load(Ordering::Relaxed) && generation < 40 {
                std::thread::sleep(Duration::from_millis(500));
                generation += 1;
                std::fs::write(dir.join("sip.conf"), sip_conf(generation)).unwrap();
                std::fs::write(dir.join("extensions.conf"), extensions(generation)).unwrap();
                let _ = Command::new("kill")
                    .args(["-HUP", &pid.to_string()])
                    .status();
            }
            generation
        })
    };
    let uac_sf = sipp::scenario("uac_auth_call.xml");
    let uac = sipp::run(
        sb.addr,
        &[
            "-sf", &uac_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "200", "-r", "50",
        ],
        40,
    );
    done.store(true, Ordering::Relaxed);
    let generations = reloader.join().unwrap();
    let uas = sipp::finish(uas);
    assert!(sipp::succeeded(&uac), "every call of the caller succeeded");
    assert!(sipp::succeeded(&uas), "every call of the callee succeeded");
    assert!(
        generations >= 6,
        "reloaded {generations} times during the run"
    );
    // Every reload was applied (the last one may still be on its way).
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&sb, "reload done:") < generations as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let applied = count(&sb, "reload done:");
    assert!(
        applied >= 6 && applied <= generations as usize,
        "{applied} of {generations} reloads applied"
    );
    assert!(
        count(
            &sb,
            "Reloading chan_sip: 1 peers added, 0 removed, 1 changed, 1003 unchanged"
        ) >= 1
            || count(
                &sb,
                "Reloading chan_sip: 0 peers added, 1 removed, 1 changed, 1003 unchanged"
            ) >= 1,
        "the diff is logged: {:?}",
        sb.log()
            .iter()
            .filter(|l| l.contains("Reloading"))
            .collect::<Vec<_>>()
    );
    assert_eq!(count(&sb, "reload failed"), 0);
    assert_eq!(
        count(&sb, "registration of '1002'"),
        0,
        "1002 never expired"
    );
    // 1002's binding survived every reload: a call reaches it without a new REGISTER.
    assert!(one_call(&sb, port), "1002 is still registered");

    // A broken sip.conf: the error with file:line, and nothing changes.
    let before = applied;
    std::fs::write(dir.join("sip.conf"), format!("oops=1\n{}", sip_conf(0))).unwrap();
    hup(&sb);
    assert!(
        sb.wait_log("reload failed, nothing changed:", Duration::from_secs(10)),
        "{:?}",
        sb.log()
    );
    assert!(
        sb.log()
            .iter()
            .any(|l| l.contains("reload failed") && l.contains("sip.conf:1")),
        "names file:line"
    );
    assert_eq!(count(&sb, "reload done:"), before);
    assert!(one_call(&sb, port), "calls and the binding are as before");
}

/// `core reload` through the real binary applies cdr.conf, voicemail.conf and
/// musiconhold.conf (the binary lists the new music directory off the loop), and answers
/// with a line for each; SIGHUP does the same.
#[test]
fn core_reload_applies_cdr_voicemail_and_music_on_hold() {
    let dir = temp_dir("reload-modules");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), TEST_EXTENSIONS_CONF).unwrap();
    std::fs::write(dir.join("cdr.conf"), "[general]\nenable=no\n").unwrap();
    let sb = Sipbox::start_logging(&dir, "info");
    assert!(sb.wait_log("CDR: off (cdr.conf enable=no)", Duration::from_secs(5)));

    std::fs::write(dir.join("cdr.conf"), "[general]\nenable=yes\n[csv]\n").unwrap();
    std::fs::write(
        dir.join("voicemail.conf"),
        "[default]\n2000 => 1234,Alice\n",
    )
    .unwrap();
    let moh = dir.join("data/moh"); // class default without musiconhold.conf
    std::fs::create_dir_all(&moh).unwrap();
    let tone: Vec<i16> = (0..4000).map(|i| ((i % 20) * 800 - 8000) as i16).collect();
    std::fs::write(moh.join("a.wav"), sipbox::media::wav::encode_pcm16(&tone)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("-s")
        .arg(dir.join("sipbox.ctl"))
        .args(["-rx", "core reload"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "Reloading cdr: records to Master.csv",
        "Reloading app_voicemail: 1 mailboxes",
        "Reloading res_musiconhold: 1 classes",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert!(
        sb.wait_log(
            "music on hold class 'default': 1 files",
            Duration::from_secs(5)
        ),
        "{:?}",
        sb.log()
    );
    // SIGHUP: the same, in the log.
    std::fs::write(dir.join("voicemail.conf"), "[default]\n").unwrap();
    hup(&sb);
    assert!(
        sb.wait_log(
            "Reloading app_voicemail: 0 mailboxes",
            Duration::from_secs(5)
        ),
        "{:?}",
        sb.log()
    );
    assert_eq!(sb.stop(), Some(0));
}
