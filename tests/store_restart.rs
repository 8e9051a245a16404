//! Through the real binary: a registered phone receives a call right after a restart without
//! registering again (its binding came back from `sipbox.db`), the call's record lands in
//! `log/cdr-csv/Master.csv` quoted as cdr_csv quotes it, and a corrupt `sipbox.db` is a
//! clear log line while sipbox keeps serving from memory.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::rtp::sdp;
use common::ua::*;
use common::wire::UdpWire;
use common::*;
use std::time::Duration;

const CDR_CONF: &str = "[general]\nenable=yes\n[csv]\nusegmtime=yes\nloguniqueid=yes\n";

fn config_dir(prefix: &str) -> std::path::PathBuf {
    let dir = temp_dir(prefix);
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), TEST_EXTENSIONS_CONF).unwrap();
    std::fs::write(dir.join("cdr.conf"), CDR_CONF).unwrap();
    dir
}

#[test]
fn a_phone_registered_before_a_restart_takes_a_call_after_it() {
    let dir = config_dir("store-restart");
    let sb = Sipbox::start_in(&dir);
    let mut w = UdpWire::to(&sb);
    let callee = Ua::new(&mut w, "1002", "1002pass").registered(&mut w);
    assert_eq!(sb.stop(), Some(0));
    assert!(dir.join("sipbox.db").exists());

    let sb = Sipbox::start_in(&dir);
    assert!(
        sb.wait_log("1 restored with their remaining lifetime", Duration::from_secs(3)),
        "{:?}",
        sb.log()
    );
    w.sipbox = sb.addr;
    let mut caller = Ua::new(&mut w, "1001", "1001pass");
    let offer = sdp(caller.rtp, &[0], "sendrecv");
    let mut d = caller.call_start(&mut w, "1002", &offer);
    callee.answer(&mut w, &[0]);
    let r = caller.invite_outcome(&mut w, &mut d);
    assert_eq!(r.status(), 200, "{r:?}");
    caller.ack(&mut w, &d, None);
    caller.hang_up(&mut w, &mut d);
    callee.answer_bye(&mut w);
    assert_eq!(sb.stop(), Some(0), "the writer drains before exit");

    let csv = std::fs::read_to_string(dir.join("log/cdr-csv/Master.csv")).expect("Master.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1, "{csv}");
    let l = lines[0];
    assert!(
        l.starts_with("\"\",\"1001\",\"1002\",\"internal\",\"\"\"\"\" <1001>\",\"SIP/1001-"),
        "{l}"
    );
    assert!(l.contains(",\"SIP/1002-"), "{l}");
    assert!(l.contains(",\"Dial\",\"SIP/1002,10\",\""), "{l}");
    assert!(l.contains(",\"ANSWERED\",\"DOCUMENTATION\",\""), "{l}");
    // start, answer, end as "YYYY-MM-DD HH:MM:SS", then duration and billsec bare.
    let fields: Vec<&str> = l.split("\",").collect();
    assert!(fields.iter().any(|f| f.len() == 20 && f.as_bytes()[11] == b' '), "{l}");
    assert!(l.ends_with('"'), "uniqueid last, quoted: {l}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_corrupt_database_is_said_and_sipbox_serves_from_memory() {
    let dir = config_dir("store-corrupt");
    std::fs::write(dir.join("sipbox.db"), vec![0x5a; 8192]).unwrap();
    let sb = Sipbox::start_in(&dir);
    assert!(
        sb.wait_log(
            "registrations are kept in memory only and will not survive a restart",
            Duration::from_secs(3)
        ),
        "{:?}",
        sb.log()
    );
    let mut w = UdpWire::to(&sb);
    let _callee = Ua::new(&mut w, "1002", "1002pass").registered(&mut w);
    assert!(sb.wait_log("registered '1002'", Duration::from_secs(2)));
    assert_eq!(sb.stop(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
