//! contrib/fail2ban's filter, run by `fail2ban-regex` (Debian's fail2ban) against what the real
//! binary logged for wrong passwords on REGISTER and INVITE and an unknown account: every
//! failure line is matched with the right address, nothing else is; and against the
//! `InvalidPassword` security events of wrong VoiceMailMain PINs keyed into the binary.
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

    let (matched, text) = fail2ban_regex(&sb.log());
    assert_eq!(matched, Some(5), "{text}");
    assert!(
        text.contains("127.0.0.1") && !text.contains("registered '1002'"),
        "{text}"
    );
}

/// Runs `fail2ban-regex` with contrib's filter over `log`: lines matched, its report.
fn fail2ban_regex(log_lines: &[String]) -> (Option<u32>, String) {
    let dir = temp_dir("f2b");
    let log = dir.join("sipbox.log");
    std::fs::write(&log, log_lines.join("\n") + "\n").unwrap();
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
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let matched = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Lines: "))
        .and_then(|l| l.split(", ").find_map(|p| p.strip_suffix(" matched")))
        .and_then(|n| n.trim().parse::<u32>().ok());
    let _ = std::fs::remove_dir_all(dir);
    (matched, text)
}

/// Keys `digits` as RFC 4733 events towards `to`.
fn key(w: &mut UdpWire, ua: &Ua, to: std::net::SocketAddr, digits: &str, ts: &mut u32) {
    for d in digits.chars() {
        let ev = match d {
            '#' => 11,
            c => c.to_digit(10).expect("digit") as u8,
        };
        *ts += 8000;
        ua.send_dtmf(w, to, 101, ev, (*ts / 100) as u16, *ts);
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn the_fail2ban_filter_matches_wrong_voicemail_pins() {
    let dir = temp_dir("f2b-vm");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(
        dir.join("extensions.conf"),
        "[internal]\nexten => 501,1,VoiceMailMain(1001@default)\n same => n,Hangup()\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("voicemail.conf"),
        "[general]\nformat=wav\nmaxlogins=3\n\n[default]\n1001 => 4242,Alice Example\n",
    )
    .unwrap();
    let sb = Sipbox::start_in(&dir);
    let mut w = UdpWire::to(&sb);
    let mut caller = Ua::new(&mut w, "1002", "1002pass");
    let d = caller.call_answered(&mut w, "501");
    let to = d.remote_media();
    let mut ts = 0;
    for _ in 0..3 {
        key(&mut w, &caller, to, "1111#", &mut ts);
    }
    assert!(
        sb.wait_log("Service=\"VoiceMailMain\"", Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
    // The call ends after the third; its BYE is answered so nothing is left running.
    if let Some(bye) = caller.try_request(&mut w, sipbox::sip::Method::Bye) {
        caller.respond(&mut w, &bye, 200, None);
    }
    let log = sb.log();
    let pins = log
        .iter()
        .filter(|l| l.contains("SecurityEvent=\"InvalidPassword\""))
        .count();
    assert_eq!(pins, 3, "{log:?}");
    let (matched, text) = fail2ban_regex(&log);
    assert_eq!(matched, Some(3), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
