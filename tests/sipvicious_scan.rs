//! SIPVicious's svwar (Debian `sipvicious`) against the real binary: its REGISTER, INVITE and
//! OPTIONS scans find no extension, both with the default config (its User-Agent,
//! friendly-scanner, gets no answer at all) and with the scanner drop turned off (then every
//! name, known or not, gets the same answers). svwar binds and reports to 127.0.0.1 only
//! (`-b`, `-x`); svcrack is not run here (see ../shared/TESTING.md: its hard-coded Contact).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::*;
use std::process::Command;

fn svwar(sb: &Sipbox, method: &str) -> String {
    let local = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap();
    let out = Command::new("timeout")
        .args([
            "60",
            "svwar",
            "-e1000-1005",
            "-m",
            method,
            "-b",
            "127.0.0.1",
        ])
        .args(["-x", "127.0.0.1", "-t", "0.5", "-P", &local.to_string()])
        .args(["-p", &sb.addr.port().to_string(), "127.0.0.1"])
        .output()
        .expect("svwar (Debian package sipvicious) runs");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Runs the three scans; returns the REGISTER scan's output.
fn assert_found_nothing(sb: &Sipbox, what: &str) -> String {
    let mut register = String::new();
    for method in ["REGISTER", "INVITE", "OPTIONS"] {
        let out = svwar(sb, method);
        assert!(
            out.contains("found nothing")
                && !out.contains("| reqauth")
                && !out.contains("| noauth"),
            "{what}, {method} scan:\n{out}"
        );
        if method == "REGISTER" {
            register = out;
        }
    }
    register
}

#[test]
fn svwar_finds_no_extension_with_or_without_the_scanner_drop() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let out = assert_found_nothing(&sb, "default");
    assert!(
        out.contains("timed out"),
        "a scanner gets no answer:\n{out}"
    );
    assert!(sb.log().iter().all(|l| !l.contains("registered")));
    drop(sb);
    let open = TEST_SIP_CONF.replace("[general]\n", "[general]\nscanneruseragents=\n");
    let sb = Sipbox::start(&open, TEST_EXTENSIONS_CONF);
    let out = assert_found_nothing(&sb, "scanneruseragents= (answered)");
    assert!(
        out.contains("authentication request for an unknown extension"),
        "every name is challenged alike:\n{out}"
    );
}
