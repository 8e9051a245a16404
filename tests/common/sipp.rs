//! Running SIPp (Debian `sip-tester`) as a bounded child process against 127.0.0.1.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// Path of a scenario file under tests/sipp.
pub fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A free loopback UDP port (bound then released).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command(port: u16, target: SocketAddr, args: &[&str], timeout_s: u32) -> Command {
    let port = port.to_string();
    let timeout = format!("{timeout_s}s");
    let mut cmd = Command::new("sipp");
    cmd.args([
        "-i",
        "127.0.0.1",
        "-mi",
        "127.0.0.1",
        "-p",
        &port,
        "-nostdin",
        "-timeout",
        &timeout,
        "-timeout_error",
    ])
    .args(["-max_recv_loops", "1000", "-nr"])
    .args(args)
    .arg(target.to_string())
    .stdin(Stdio::null());
    cmd
}

/// Runs sipp with `args` against `target` from a random local port, bounded by `-timeout`.
/// Panics with a clear message when sipp is not installed (the README's test command
/// installs it).
pub fn run(target: SocketAddr, args: &[&str], timeout_s: u32) -> Output {
    run_on(free_port(), target, args, timeout_s)
}

/// As [`run`], from local port `port`.
pub fn run_on(port: u16, target: SocketAddr, args: &[&str], timeout_s: u32) -> Output {
    command(port, target, args, timeout_s)
        .output()
        .expect("sipp (Debian package sip-tester) must be installed: see README")
}

/// Starts sipp in the background on local port `port`; collect it with [`finish`].
pub fn spawn_on(port: u16, target: SocketAddr, args: &[&str], timeout_s: u32) -> Child {
    command(port, target, args, timeout_s)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp (Debian package sip-tester) must be installed: see README")
}

/// Waits for a background sipp.
pub fn finish(child: Child) -> Output {
    child.wait_with_output().expect("sipp output")
}

/// True when sipp exited 0 (every call succeeded); prints its output otherwise.
pub fn succeeded(out: &Output) -> bool {
    if !out.status.success() {
        eprintln!("sipp exit: {:?}", out.status);
        eprintln!("sipp stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        eprintln!("sipp stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

/// Registers `user` with sipp from local `port`, so calls to `user` reach a sipp later
/// started on that port.
pub fn register_at(target: SocketAddr, user: &str, password: &str, port: u16) {
    let sf = scenario("register.xml");
    let out = run_on(
        port,
        target,
        &[
            "-sf", &sf, "-s", user, "-au", user, "-ap", password, "-m", "1",
        ],
        15,
    );
    assert!(succeeded(&out), "registering {user} with sipp failed");
}
