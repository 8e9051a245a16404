//! System() through the real binary: the command runs on a helper thread while the loop goes
//! on (a REGISTER is answered at once while `sleep` runs), its effect and `${SYSTEMSTATUS}`
//! arrive when it ends.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::ua::*;
use common::wire::UdpWire;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn system_runs_off_the_loop_and_reports_its_status() {
    let dir = temp_dir("system");
    let marker = dir.join("ran");
    let ext = format!(
        "[internal]\nexten => 700,1,Answer()\n same => n,System(sleep 1.5 \\; echo ok > {})\n \
         same => n,Verbose(1,system said ${{SYSTEMSTATUS}})\n same => n,Hangup()\n",
        marker.display()
    );
    let sb = Sipbox::start(TEST_SIP_CONF, &ext);
    let mut w = UdpWire::to(&sb);
    let mut caller = Ua::new(&mut w, "1001", "1001pass");
    let _d = caller.call_answered(&mut w, "700");
    // (`\;`: a bare `;` starts a comment in extensions.conf, as in Asterisk.)
    // While the command sleeps, the loop serves everyone else.
    let t0 = Instant::now();
    let mut other = Ua::new(&mut w, "1002", "1002pass");
    assert_eq!(other.register(&mut w, 300).status(), 200);
    assert!(
        t0.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t0.elapsed()
    );
    assert!(!marker.exists(), "still sleeping");
    assert!(
        sb.wait_log("system said SUCCESS", Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "ok");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn shell_returns_the_commands_output_off_the_loop() {
    let ext = "[internal]\nexten => 701,1,Answer()\n \
               same => n,Set(OUT=${SHELL(sleep 1 \\; printf 'hello %s' world)})\n \
               same => n,Verbose(1,shell said [${OUT}])\n \
               same => n,Set(BIG=${LEN(${SHELL(head -c 100000 /dev/zero | tr '\\\\0' x)})})\n \
               same => n,Verbose(1,big is ${BIG})\n same => n,Hangup()\n";
    let sb = Sipbox::start(TEST_SIP_CONF, ext);
    let mut w = UdpWire::to(&sb);
    let mut caller = Ua::new(&mut w, "1001", "1001pass");
    let _d = caller.call_answered(&mut w, "701");
    let t0 = Instant::now();
    let mut other = Ua::new(&mut w, "1002", "1002pass");
    assert_eq!(other.register(&mut w, 300).status(), 200);
    assert!(
        t0.elapsed() < Duration::from_millis(800),
        "{:?}",
        t0.elapsed()
    );
    assert!(
        sb.wait_log("shell said [hello world]", Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
    // The output is bounded (Asterisk's 4 095-byte function buffer).
    assert!(
        sb.wait_log("big is 4095", Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
}
