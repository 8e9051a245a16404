//! AGI through the real binary with SIPp callers on 127.0.0.1:
//! - a shell script as process AGI (found in `astagidir`) answers, plays a prompt, reads two
//!   RFC 2833 digits SIPp sends (GET DATA), sets a variable and runs an application (EXEC);
//!   the dialplan goes on with what it set;
//! - a FastAGI server of the test's own (a std `TcpListener` on 127.0.0.1, a thread) gets the
//!   `agi_*` block and drives the call;
//! - a script that never answers is killed at `AGITIMEOUT` and the call goes on;
//! - a caller hanging up mid-script sends the script SIGHUP.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::rtp::write_wav;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

/// A config dir with `astagidir => agi` and a 0.4 s prompt `tone` in `sounds/`.
fn config_dir(ext: &str) -> std::path::PathBuf {
    let dir = temp_dir("sipbox-agi");
    std::fs::create_dir_all(dir.join("agi")).unwrap();
    std::fs::create_dir_all(dir.join("sounds")).unwrap();
    let samples: Vec<i16> = (0..3200).map(|i| ((i % 40) * 300 - 6000) as i16).collect();
    write_wav(&dir.join("sounds/tone.wav"), &samples);
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        &format!("[general]\nsoundsdir={}\n", dir.join("sounds").display()),
    );
    std::fs::write(dir.join("sip.conf"), conf).unwrap();
    std::fs::write(dir.join("extensions.conf"), ext).unwrap();
    std::fs::write(
        dir.join("sipbox.conf"),
        format!("{LOCAL_DIRECTORIES}astagidir => agi\n"),
    )
    .unwrap();
    dir
}

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join("agi").join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn sipp_call(sb: &Sipbox, scenario: &str, exten: &str) -> std::process::Output {
    let sf = common::sipp::scenario(scenario);
    common::sipp::run(
        sb.addr,
        &[
            "-sf", &sf, "-s", exten, "-au", "1001", "-ap", "1001pass", "-m", "1",
        ],
        30,
    )
}

/// STREAM FILE's `endpos` on a real clock: the 0.4 s prompt's 3 200 samples, give or take the
/// loop's pacing; replaced by `~` once checked.
fn endpos_checked(text: &str) -> String {
    let Some((head, rest)) = text.split_once("endpos=") else {
        return text.to_string();
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u64 = digits.parse().unwrap_or(0);
    assert!((3_200..=4_000).contains(&n), "endpos {n} in {text}");
    format!("{head}endpos=~{}", &rest[digits.len()..])
}

/// A /bin/sh AGI script: reads the block, then each command and its reply into `log`.
const DRIVE: &str = r#"#!/bin/sh
out="$1"
while read -r line; do
  [ -z "$line" ] && break
  echo "$line" >> "$out/env"
done
cmd() {
  echo "$1"
  read -r reply
  echo "$1 => $reply" >> "$out/replies"
}
cmd "ANSWER"
cmd "STREAM FILE tone \"\""
cmd "GET DATA nosuch 4000 2"
digits=$(echo "$reply" | sed -n 's/^200 result=\([0-9]*\).*/\1/p')
cmd "SET VARIABLE PICKED $digits"
cmd "EXEC Verbose \"1,exec from the script\""
cmd "GET VARIABLE EXTEN"
exit 0
"#;

#[test]
fn a_shell_script_drives_a_sipp_call_with_rfc2833_digits() {
    let ext = "[internal]\nexten => 810,1,AGI(drive.agi,OUT)\n \
               same => n,Verbose(1,picked ${PICKED} status ${AGISTATUS})\n same => n,Hangup()\n";
    let dir = config_dir("");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        dir.join("extensions.conf"),
        ext.replace("OUT", &out.display().to_string()),
    )
    .unwrap();
    script(&dir, "drive.agi", DRIVE);
    let sb = Sipbox::start_in(&dir);
    let res = sipp_call(&sb, "uac_auth_agi_dtmf.xml", "810");
    assert!(common::sipp::succeeded(&res), "{:?}", sb.log());
    assert!(sb.wait_log("picked 42 status SUCCESS", T), "{:?}", sb.log());
    let env = std::fs::read_to_string(out.join("env")).unwrap();
    assert!(env.starts_with("agi_request: drive.agi\n"), "{env}");
    for want in [
        "agi_type: SIP",
        "agi_callerid: 1001",
        "agi_calleridname: Alice",
        "agi_context: internal",
        "agi_extension: 810",
        "agi_priority: 1",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} in\n{env}");
    }
    assert!(env.contains(&format!("agi_arg_1: {}\n", out.display())));
    let replies = std::fs::read_to_string(out.join("replies")).unwrap();
    let replies = endpos_checked(&replies);
    let want = "ANSWER => 200 result=0\n\
                STREAM FILE tone \"\" => 200 result=0 endpos=~\n\
                GET DATA nosuch 4000 2 => 200 result=42\n\
                SET VARIABLE PICKED 42 => 200 result=1\n\
                EXEC Verbose \"1,exec from the script\" => 200 result=0\n\
                GET VARIABLE EXTEN => 200 result=1 (810)\n";
    assert_eq!(replies, want);
    assert!(sb.wait_log("exec from the script", T));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_fastagi_server_gets_the_block_and_drives_the_call() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || -> (Vec<String>, Vec<String>) {
        let end = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("no FastAGI connection: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut env = Vec::new();
        loop {
            let mut l = String::new();
            if r.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            let l = l.trim_end_matches('\n').to_string();
            if l.is_empty() {
                break;
            }
            env.push(l);
        }
        let mut replies = Vec::new();
        for c in [
            "ANSWER",
            "GET VARIABLE CALLERID(num)",
            "SET VARIABLE FROMFAST yes",
            "STREAM FILE tone \"\"",
            "EXEC Verbose 1,fast exec",
            "DATABASE PUT agi test 1",
            "DATABASE GET agi test",
        ] {
            writeln!(w, "{c}").unwrap();
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            replies.push(format!("{c} => {}", l.trim_end()));
        }
        (env, replies)
    });
    // A port nobody listens on: the connection is refused, FAILURE at once.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let ext = format!(
        "[internal]\nexten => 820,1,AGI(agi://127.0.0.1:{port}/route?x=1,first)\n \
         same => n,Verbose(1,fast status ${{AGISTATUS}} set ${{FROMFAST}})\n \
         same => n,AGI(agi://127.0.0.1:{closed_port})\n \
         same => n,Verbose(1,refused ${{AGISTATUS}})\n same => n,Hangup()\n"
    );
    let dir = config_dir(&ext);
    let sb = Sipbox::start_in(&dir);
    let res = sipp_call(&sb, "uac_auth_wait_bye.xml", "820");
    let (env, replies) = server.join().unwrap();
    let replies: Vec<String> = replies.iter().map(|r| endpos_checked(r)).collect();
    assert!(common::sipp::succeeded(&res), "{:?}", sb.log());
    assert_eq!(env[0], "agi_network: yes");
    assert_eq!(env[1], "agi_network_script: route?x=1");
    assert_eq!(
        env[2],
        format!("agi_request: agi://127.0.0.1:{port}/route?x=1")
    );
    assert!(env.iter().any(|l| l == "agi_arg_1: first"), "{env:?}");
    assert!(env.iter().any(|l| l == "agi_extension: 820"), "{env:?}");
    assert_eq!(
        replies,
        [
            "ANSWER => 200 result=0",
            "GET VARIABLE CALLERID(num) => 200 result=1 (1001)",
            "SET VARIABLE FROMFAST yes => 200 result=1",
            "STREAM FILE tone \"\" => 200 result=0 endpos=~",
            "EXEC Verbose 1,fast exec => 200 result=0",
            "DATABASE PUT agi test 1 => 200 result=1",
            "DATABASE GET agi test => 200 result=1 (1)",
        ]
    );
    assert!(
        sb.wait_log("fast status SUCCESS set yes", T),
        "{:?}",
        sb.log()
    );
    assert!(sb.wait_log("refused FAILURE", T), "{:?}", sb.log());
    assert!(sb.wait_log("FastAGI: connect failed", T));
    let _ = std::fs::remove_dir_all(dir);
}

/// True while `/proc/PID` exists.
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_hanging_script_is_killed_at_the_timeout_and_the_call_goes_on() {
    let dir = config_dir("");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let ext = format!(
        "[internal]\nexten => 830,1,Answer()\n same => n,Set(AGITIMEOUT=2)\n \
         same => n,AGI(hangs.agi,{})\n same => n,Verbose(1,after hang ${{AGISTATUS}})\n \
         same => n,Hangup()\n",
        out.display()
    );
    std::fs::write(dir.join("extensions.conf"), ext).unwrap();
    script(
        &dir,
        "hangs.agi",
        "#!/bin/sh\necho $$ > \"$1/pid\"\nexec sleep 30\n",
    );
    let sb = Sipbox::start_in(&dir);
    let t0 = Instant::now();
    let res = sipp_call(&sb, "uac_auth_wait_bye.xml", "830");
    assert!(common::sipp::succeeded(&res), "{:?}", sb.log());
    assert!(sb.wait_log("after hang FAILURE", T), "{:?}", sb.log());
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(8), "{took:?}");
    let pid: u32 = std::fs::read_to_string(out.join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(6);
    while alive(pid) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "the script's process was killed");
    assert!(sb.wait_log("still running: killed", T), "{:?}", sb.log());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_caller_hanging_up_sends_the_script_sighup() {
    let dir = config_dir("");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let ext = format!(
        "[internal]\nexten => 840,1,Answer()\n same => n,AGI(hup.agi,{})\n\
         exten => h,1,Verbose(1,h agi ${{AGISTATUS}})\n",
        out.display()
    );
    std::fs::write(dir.join("extensions.conf"), ext).unwrap();
    script(
        &dir,
        "hup.agi",
        "#!/bin/sh\ntrap 'echo hup > \"$1/hup\"; exit 0' HUP\necho \"WAIT FOR DIGIT -1\"\n\
         n=0\nwhile [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done\n",
    );
    let sb = Sipbox::start_in(&dir);
    let res = sipp_call(&sb, "uac_auth_call.xml", "840");
    assert!(common::sipp::succeeded(&res), "{:?}", sb.log());
    assert!(sb.wait_log("h agi HANGUP", T), "{:?}", sb.log());
    let marker = out.join("hup");
    let end = Instant::now() + Duration::from_secs(5);
    while !marker.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(marker.exists(), "the script got SIGHUP");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn stopping_sipbox_kills_running_scripts() {
    let dir = config_dir("");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let ext = format!(
        "[internal]\nexten => 850,1,Answer()\n same => n,AGI(sleeps.agi,{})\n",
        out.display()
    );
    std::fs::write(dir.join("extensions.conf"), ext).unwrap();
    script(
        &dir,
        "sleeps.agi",
        "#!/bin/sh\necho $$ > \"$1/pid\"\nexec sleep 30\n",
    );
    let sb = Sipbox::start_in(&dir);
    let mut w = common::wire::UdpWire::to(&sb);
    let mut a = common::ua::Ua::new(&mut w, "1001", "1001pass");
    let _d = a.call_answered(&mut w, "850");
    let pid_file = out.join("pid");
    let end = Instant::now() + T;
    while !pid_file.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));
    sb.stop();
    let end = Instant::now() + Duration::from_secs(3);
    while alive(pid) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "the script did not outlive sipbox");
    let _ = std::fs::remove_dir_all(dir);
}
