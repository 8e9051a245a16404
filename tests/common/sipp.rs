//! Running SIPp (Debian `sip-tester`) as a bounded child process against 127.0.0.1.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Path of a scenario file under tests/sipp.
pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// A free loopback UDP port (bound then released).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs sipp with `args` against `target`, bounded by `-timeout`; returns its output.
/// Panics with a clear message when sipp is not installed (the README's test command
/// installs it).
pub fn run(target: SocketAddr, args: &[&str], timeout_s: u32) -> Output {
    let port = free_port().to_string();
    let timeout = format!("{timeout_s}s");
    let mut cmd = Command::new("sipp");
    cmd.args([
        "-i",
        "127.0.0.1",
        "-p",
        &port,
        "-nostdin",
        "-timeout",
        &timeout,
        "-timeout_error",
    ])
    .args(args)
    .arg(target.to_string())
    .stdin(Stdio::null());
    let out = cmd
        .output()
        .expect("sipp (Debian package sip-tester) must be installed: see README");
    out
}

/// True when sipp exited 0 (every call succeeded); prints its output otherwise.
pub fn succeeded(out: &Output) -> bool {
    if !out.status.success() {
        eprintln!("sipp stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        eprintln!("sipp stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}
