//! The control socket through the real binary: `sipbox -rx`, `sipbox -r` fed from a pipe, a
//! second sipbox on the same socket refused, a client that never reads does not stall SIP,
//! `core stop gracefully` with a call up.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::ua::*;
use common::wire::UdpWire;
use common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXT: &str = "\
[internal]
exten => 600,1,Answer()
 same => n,Wait(30)
 same => n,Hangup()
";

fn rx(sb: &Sipbox, cmd: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--config-dir")
        .arg(&sb.dir)
        .args(["-rx", cmd])
        .output()
        .expect("run sipbox -rx");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn options(sb: &Sipbox, ua: &Ua, w: &mut UdpWire, n: u32) -> u16 {
    let to = sb.addr;
    let text = format!(
        "OPTIONS sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKcli{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:x@{me}>;tag=1\r\nTo: <sip:{to}>\r\nCall-ID: cli{n}\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        me = ua.sip
    );
    ua.send(w, &text);
    ua.final_response(w).status()
}

#[test]
fn rx_prints_sip_show_peers_and_a_missing_socket_fails_with_asterisks_words() {
    let sb = Sipbox::start(TEST_SIP_CONF, EXT);
    let mut w = UdpWire::to(&sb);
    let _a = Ua::new(&mut w, "1001", "1001pass").registered(&mut w);
    let (code, out, _) = rx(&sb, "sip show peers");
    assert_eq!(code, 0);
    assert!(out.starts_with("Name/username             Host"), "{out}");
    assert!(
        out.contains("1001/1001") && out.contains("127.0.0.1"),
        "{out}"
    );
    assert!(out.contains("4 sip peers [Monitored:"), "{out}");
    let (code, out, _) = rx(&sb, "no such thing");
    assert_eq!(code, 0);
    assert!(out.starts_with("No such command 'no such thing'"), "{out}");

    // `-r` from a pipe: each command answered in turn, then EOF ends the console.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--config-dir")
        .arg(&sb.dir)
        .arg("-r")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"core show calls\ndatabase put t k v\ndatabase get t k\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("0 active calls") && text.contains("Value: v"),
        "{text}"
    );

    drop(sb);
    let missing = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .args(["-s", "/nonexistent/sipbox.ctl", "-rx", "core show uptime"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("Unable to connect to remote asterisk (does /nonexistent/sipbox.ctl exist?)"));
}

#[test]
fn a_second_sipbox_on_the_same_socket_refuses_to_start() {
    let sb = Sipbox::start(TEST_SIP_CONF, EXT);
    let out = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--config-dir")
        .arg(&sb.dir)
        .args(["--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another sipbox is running and answers on"),
        "{err}"
    );
    // The first one still answers.
    assert_eq!(rx(&sb, "core show calls").0, 0);
    // A stale socket file (its sipbox killed) is replaced.
    let dir = sb.dir.clone();
    drop(sb);
    std::os::unix::net::UnixListener::bind(dir.join("sipbox.ctl")).ok();
    let again = Sipbox::start_in(&dir);
    assert_eq!(
        rx(&again, "core show calls").1,
        "0 active calls\n0 calls processed\n"
    );
}

#[test]
fn a_client_that_never_reads_does_not_stall_sip_and_is_dropped() {
    let sb = Sipbox::start(TEST_SIP_CONF, EXT);
    let mut slow = UnixStream::connect(sb.dir.join("sipbox.ctl")).unwrap();
    slow.write_all(b"!console 5\n").unwrap();
    // About 8 MB of answers that nobody reads.
    for _ in 0..3000 {
        // sipbox drops the client once its answers pile up: writes fail from then on.
        if slow.write_all(b"help\n").is_err() {
            break;
        }
    }
    let mut w = UdpWire::to(&sb);
    let ua = Ua::new(&mut w, "x", "");
    let t = Instant::now();
    for n in 0..5 {
        assert_eq!(options(&sb, &ua, &mut w, n), 200);
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(
        sb.wait_log("a client stopped reading", Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
    // Others are still served.
    assert_eq!(rx(&sb, "core show calls").0, 0);
    // The dropped client sees the end of what was sent, then EOF.
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sink = Vec::new();
    let _ = slow.read_to_end(&mut sink);
    assert!(sink.len() < 3 << 20, "bounded: {} bytes", sink.len());
}

#[test]
fn core_stop_gracefully_waits_for_the_last_call_and_refuses_new_ones() {
    let mut sb = Sipbox::start(TEST_SIP_CONF, EXT);
    let mut w = UdpWire::to(&sb);
    let mut a = Ua::new(&mut w, "1001", "1001pass");
    let _d = a.call_answered(&mut w, "600");
    let (code, out, _) = rx(&sb, "core stop gracefully");
    assert_eq!(code, 0);
    assert!(out.contains("1 call up"), "{out}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(sb.is_running(), "a call is up");
    let mut b = Ua::new(&mut w, "1002", "1002pass");
    let offer = sdp(b.rtp, &[0], "sendrecv");
    let d2 = b.dialog_to(sb.addr, "600");
    let invite = b.invite_text_for(&d2, &offer);
    b.send(&mut w, &invite);
    let r = b.final_response(&mut w);
    assert_eq!(r.status(), 503, "new calls refused while stopping");
    let (code, out, _) = rx(&sb, "channel request hangup all");
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Requested Hangup on channel 'SIP/1001-"),
        "{out}"
    );
    let end = Instant::now() + Duration::from_secs(5);
    while sb.is_running() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!sb.is_running(), "stopped once the last call ended");
    assert!(
        !sb.dir.join("sipbox.ctl").exists(),
        "the socket file is removed"
    );
}

/// `sip reload` on the socket re-reads sip.conf (a new peer appears in `sip show peers`) and
/// answers with the reload's summary; a broken sip.conf answers its `file:line` and changes
/// nothing.
#[test]
fn sip_reload_on_the_socket_applies_and_answers() {
    let sb = Sipbox::start(TEST_SIP_CONF, EXT);
    let (_, before, _) = rx(&sb, "sip show peers");
    assert!(!before.contains("4242"), "{before}");
    let added = format!("{TEST_SIP_CONF}\n[4242]\ntype=friend\nhost=dynamic\nsecret=x4242\n");
    std::fs::write(sb.dir.join("sip.conf"), &added).unwrap();
    let (code, out, _) = rx(&sb, "sip reload");
    assert_eq!(code, 0);
    assert!(out.contains("1 peers added"), "{out}");
    let (_, after, _) = rx(&sb, "sip show peers");
    assert!(after.contains("4242"), "{after}");
    std::fs::write(sb.dir.join("sip.conf"), "stray line before any section\n").unwrap();
    let (_, out, _) = rx(&sb, "module reload chan_sip.so");
    assert!(
        out.contains("Reload failed, nothing changed") && out.contains("sip.conf:1"),
        "{out}"
    );
    let (_, still, _) = rx(&sb, "sip show peers");
    assert!(still.contains("4242"), "{still}");
}
