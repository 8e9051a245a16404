//! SIPp scenario templates (`tests/sipp/*.xml.tmpl`) filled in per test, and small call-flow
//! helpers shared by the dialplan, peers and conformance loopback tests.
#![allow(dead_code)]

use super::sipp;
use super::temp_dir;
use std::net::SocketAddr;
use std::process::{Child, Output};

/// Writes `tests/sipp/<template>` with every `(placeholder, value)` replaced; returns the path.
pub fn fill(template: &str, subs: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(sipp::scenario(template)).unwrap();
    let mut name = template.trim_end_matches(".xml.tmpl").to_string();
    for (k, v) in subs {
        text = text.replace(k, v);
        name.push('_');
        name.push_str(v);
    }
    let path = temp_dir("sipp-scen").join(format!("{name}.xml"));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The authenticated caller scenario that expects the call to fail with `status`.
pub fn failing_caller(status: u16) -> String {
    fill("uac_auth_fail.xml.tmpl", &[("STATUS", &status.to_string())])
}

/// The unauthenticated caller (From `from_user`) that expects `status` at once.
pub fn noauth_caller(from_user: &str, status: u16) -> String {
    fill(
        "uac_noauth_fail.xml.tmpl",
        &[("FROMUSER", from_user), ("STATUS", &status.to_string())],
    )
}

/// Starts a SIPp caller (`user`/`password`) dialling `number` with scenario `sf`, once.
pub fn spawn_caller(
    sb: SocketAddr,
    sf: &str,
    number: &str,
    user: &str,
    password: &str,
    extra: &[&str],
    timeout_s: u32,
) -> Child {
    let mut args = vec![
        "-sf", sf, "-s", number, "-au", user, "-ap", password, "-m", "1",
    ];
    args.extend_from_slice(extra);
    sipp::spawn_on(sipp::free_port(), sb, &args, timeout_s)
}

/// Starts a SIPp callee scenario `sf` on `port` for `calls` calls.
pub fn spawn_callee(sb: SocketAddr, port: u16, sf: &str, calls: u32, timeout_s: u32) -> Child {
    let m = calls.to_string();
    sipp::spawn_on(port, sb, &["-sf", sf, "-m", &m], timeout_s)
}

/// Collects a SIPp child; returns (exit ok, output) and prints the output on failure under
/// `what`.
pub fn collect(what: &str, child: Child) -> (bool, Output) {
    let out = sipp::finish(child);
    let ok = out.status.success();
    if !ok {
        eprintln!("--- {what}: sipp failed ({:?})", out.status);
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    (ok, out)
}

/// [`failing_caller`] with From user `user` instead of 1001.
pub fn failing_caller_as(user: &str, status: u16) -> String {
    let path = failing_caller(status);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("<sip:1001@", &format!("<sip:{user}@"));
    let path = path.replace(".xml", &format!("_{user}.xml"));
    std::fs::write(&path, text).unwrap();
    path
}
