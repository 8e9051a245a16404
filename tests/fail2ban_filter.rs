//! contrib/fail2ban's filter, run by `fail2ban-regex` (Debian's fail2ban) against what the real
//! binary logged for wrong passwords on REGISTER and INVITE and an unknown account: every
//! failure line is matched with the right address, nothing else is.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::rtp::sdp;
use common::ua::*;
use common::wire::UdpWire;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn the_fail2ban_filter_matches_every_failure_line_sipbox_writes() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let mut w = UdpWire::to(&sb);
    let mut guesser = Ua::new(&mut w, "1001", "guess");
    for _ in 0..3 {
        assert_eq!(guesser.register(&mut w, 300).status(), 403);
    }
    let mut nobody = Ua::new(&mut w, "9999", "guess");
    assert_eq!(nobody.register(&mut w, 300).status(), 403);
    let offer = sdp(guesser.rtp, &[0], "sendrecv");
    let mut d = guesser.call_start(&mut w, "1002", &offer);
    assert_eq!(guesser.invite_outcome(&mut w, &mut d).status(), 403);
    let mut good = Ua::new(&mut w, "1002", "1002pass");
    assert_eq!(good.register(&mut w, 300).status(), 200);
    assert!(sb.wait_log("registered '1002'", Duration::from_secs(2)));

    let dir = temp_dir("f2b");
    let log = dir.join("sipbox.log");
    std::fs::write(&log, sb.log().join("\n") + "\n").unwrap();
    let filter = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/fail2ban/filter.d/sipbox.conf"
    );
    let out = Command::new("fail2ban-regex")
        .args([
            "--print-all-matched",
            "--print-no-missed",
            log.to_str().unwrap(),
            filter,
        ])
        .output()
        .expect("fail2ban-regex (Debian package fail2ban) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // 3 wrong passwords + 1 unknown account (REGISTER) + 1 wrong password (INVITE).
    let matched = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Lines: "))
        .and_then(|l| l.split(", ").find_map(|p| p.strip_suffix(" matched")))
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert_eq!(matched, Some(5), "{text}");
    assert!(
        text.contains("127.0.0.1") && !text.contains("registered '1002'"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
