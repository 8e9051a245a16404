//! AGI on the fake network, the test playing the script: the `agi_*` block, each command's
//! result line as res_agi.c writes it (table-driven), bad syntax (`520-...`), an unknown
//! command (`510`), commands that wait for the call (WAIT FOR DIGIT, STREAM FILE, GET DATA,
//! EXEC Wait) with digits sent as SIP INFO, lines sent ahead of their turn, SET
//! CONTEXT/EXTENSION/PRIORITY, HANGUP, the caller hanging up mid-script (SIGHUP asked,
//! `AGISIGHUP=no`), a script that never answers (`AGITIMEOUT`), NOTFOUND, FastAGI targets and
//! DeadAGI. No sleeps: the clock is the test's.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::engine::{AgiEvent, AgiOp, AgiTarget, JobId, JobOutcome};
use sipbox::media::sounds::MemorySounds;
use sipbox::sip::Method;
use std::time::Duration;

const EXT: &str = "\
[internal]
exten => 800,1,Answer()
 same => n,AGI(test.agi,one,two words)
 same => n,Verbose(1,agi status ${AGISTATUS} foo ${FOO})
 same => n,Hangup()
exten => 801,1,Answer()
 same => n,Set(AGITIMEOUT=3)
 same => n,AGI(/usr/local/bin/hangs.agi)
 same => n,Verbose(1,after hang ${AGISTATUS})
 same => n,AGI(missing.agi)
 same => n,Verbose(1,after missing ${AGISTATUS})
 same => n,Hangup()
exten => 802,1,Answer()
 same => n,AGI(agi://127.0.0.1:4600/calls?x=1,a)
 same => n,Hangup()
exten => 803,1,Answer()
 same => n,DeadAGI(old.agi)
 same => n,Verbose(1,never here)
 same => n,Verbose(1,landed at ${CONTEXT},${EXTEN},${PRIORITY})
 same => n,Hangup()
exten => 804,1,Answer()
 same => n,Set(AGISIGHUP=no)
 same => n,AGI(quiet.agi)
exten => h,1,Verbose(1,h ran agi ${AGISTATUS})

[other]
exten => 900,1,Verbose(1,other 1)
 same => n,Verbose(1,landed at ${CONTEXT},${EXTEN},${PRIORITY})
 same => n,Hangup()
";

/// 8 kHz, one second of a quiet tone, as a WAV.
fn tone_wav() -> Vec<u8> {
    let samples: Vec<i16> = (0..8000).map(|i| ((i % 40) as i16 - 20) * 200).collect();
    let mut w = Vec::new();
    let data_len = (samples.len() * 2) as u32;
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

fn start(lo: u16) -> FakeNet {
    let mut s = MemorySounds::new();
    s.insert("tone", tone_wav());
    FakeNet::with_rtp(TEST_SIP_CONF, EXT, lo, lo + 39).with_sounds(s)
}

/// The session the dialplan opened last: its id, target and the bytes sent at open.
fn opened(net: &mut FakeNet) -> (JobId, AgiTarget, String) {
    let i = net
        .agi_ops
        .iter()
        .rposition(|op| matches!(op, AgiOp::Open { .. }))
        .expect("an AGI session opened");
    let AgiOp::Open { id, target } = net.agi_ops.remove(i) else {
        unreachable!()
    };
    let env = sent(net, id);
    (id, target, env)
}

/// What was sent to session `id` since the last look.
fn sent(net: &mut FakeNet, id: JobId) -> String {
    let mut text = String::new();
    net.agi_ops.retain(|op| match op {
        AgiOp::Send { id: i, bytes } if *i == id => {
            text.push_str(&String::from_utf8_lossy(bytes));
            false
        }
        _ => true,
    });
    text
}

/// The script sends `line`; what it gets back at once.
fn say(net: &mut FakeNet, id: JobId, line: &str) -> String {
    net.complete_job(id, JobOutcome::Agi(AgiEvent::Line(line.into())));
    sent(net, id)
}

/// The script ends (exit status 0).
fn exit(net: &mut FakeNet, id: JobId) {
    net.complete_job(id, JobOutcome::Agi(AgiEvent::Closed { exit: Some(0) }));
}

/// The Close operation for `id`, if one was asked: (hangup, sighup).
fn closed(net: &FakeNet, id: JobId) -> Option<(bool, bool)> {
    net.agi_ops.iter().find_map(|op| match op {
        AgiOp::Close {
            id: i,
            hangup,
            sighup,
        } if *i == id => Some((*hangup, *sighup)),
        _ => None,
    })
}

fn info_digit(a: &mut Ua, net: &mut FakeNet, d: &mut Dialog, digit: &str) {
    a.in_dialog_typed(net, d, "INFO", Some(("application/dtmf", digit)));
    assert_eq!(a.final_response(net).status(), 200);
}

fn expect_bye(net: &mut FakeNet, a: &Ua) {
    let bye = a.request(net, Method::Bye);
    a.respond(net, &bye, 200, None);
}

#[test]
fn env_block_and_the_result_line_of_each_command() {
    let mut net = start(34000);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "800");
    let (id, target, env) = opened(&mut net);
    assert_eq!(
        target,
        AgiTarget::Process {
            script: "test.agi".into(),
            args: vec!["one".into(), "two words".into()]
        }
    );
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines[0], "agi_request: test.agi", "{env}");
    assert!(lines[1].starts_with("agi_channel: SIP/1001-"), "{env}");
    for want in [
        "agi_language: en",
        "agi_type: SIP",
        "agi_callerid: 1001",
        "agi_calleridname: unknown",
        "agi_callingpres: 0",
        "agi_dnid: 800",
        "agi_rdnis: unknown",
        "agi_context: internal",
        "agi_extension: 800",
        "agi_priority: 2",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_arg_1: one",
        "agi_arg_2: two words",
    ] {
        assert!(lines.contains(&want), "{want} in\n{env}");
    }
    for key in ["agi_uniqueid: ", "agi_version: ", "agi_threadid: "] {
        assert!(lines.iter().any(|l| l.starts_with(key)), "{key} in\n{env}");
    }
    assert!(
        env.ends_with("agi_arg_2: two words\n\n"),
        "a blank line ends it"
    );
    let usage = |u: &str| {
        format!("520-Invalid command syntax.  Proper usage follows:\n Usage: {u}\n520 End of proper usage.\n")
    };
    let cases: Vec<(&str, String)> = vec![
        ("ANSWER", "200 result=0\n".into()),
        ("noop", "200 result=0\n".into()),
        ("SET VARIABLE FOO \"bar baz\"", "200 result=1\n".into()),
        ("GET VARIABLE FOO", "200 result=1 (bar baz)\n".into()),
        ("GET VARIABLE NOPE", "200 result=0\n".into()),
        ("GET VARIABLE CALLERID(num)", "200 result=1 (1001)\n".into()),
        (
            "GET FULL VARIABLE ${FOO}-${EXTEN}",
            "200 result=1 (bar baz-800)\n".into(),
        ),
        ("GET FULL VARIABLE x SIP/nobody-1", "200 result=0\n".into()),
        ("DATABASE PUT cf 1001 2000", "200 result=1\n".into()),
        ("DATABASE GET cf 1001", "200 result=1 (2000)\n".into()),
        ("DATABASE DEL cf 1001", "200 result=1\n".into()),
        ("DATABASE GET cf 1001", "200 result=0\n".into()),
        ("DATABASE DEL cf 1001", "200 result=0\n".into()),
        ("DATABASE PUT cf 1002 x", "200 result=1\n".into()),
        ("DATABASE DELTREE cf", "200 result=1\n".into()),
        ("DATABASE GET cf 1002", "200 result=0\n".into()),
        ("CHANNEL STATUS", "200 result=6\n".into()),
        (
            "CHANNEL STATUS SIP/other-00000009",
            "200 result=-1\n".into(),
        ),
        ("SET CALLERID \"Front Desk <200>\"", "200 result=1\n".into()),
        (
            "GET VARIABLE CALLERID(name)",
            "200 result=1 (Front Desk)\n".into(),
        ),
        ("GET VARIABLE CALLERID(num)", "200 result=1 (200)\n".into()),
        (
            "VERBOSE \"hello from the script\" 1",
            "200 result=1\n".into(),
        ),
        ("EXEC NoSuchApp x", "200 result=-2\n".into()),
        ("EXEC Set BAR=7", "200 result=0\n".into()),
        ("GET VARIABLE BAR", "200 result=1 (7)\n".into()),
        ("SET MUSIC off", "200 result=0\n".into()),
        ("FOO BAR", "510 Invalid or unknown command\n".into()),
        ("", "510 Invalid or unknown command\n".into()),
        ("DATABASE GET cf", usage("DATABASE GET <family> <key>")),
        ("WAIT FOR DIGIT soon", usage("WAIT FOR DIGIT <timeout>")),
        (
            "SAY NUMBER twelve \"\"",
            usage("SAY NUMBER <number> <escape digits> [gender]"),
        ),
        (
            "STREAM FILE tone",
            usage("STREAM FILE <filename> <escape digits> [sample offset]"),
        ),
        ("SET PRIORITY nolabel", usage("SET PRIORITY <priority>")),
        (
            "SET VARIABLE FOO \"a \\\"quoted\\\" word\"",
            "200 result=1\n".into(),
        ),
        (
            "GET VARIABLE FOO",
            "200 result=1 (a \"quoted\" word)\n".into(),
        ),
        ("SET VARIABLE FOO done", "200 result=1\n".into()),
    ];
    for (line, want) in &cases {
        assert_eq!(&say(&mut net, id, line), want, "reply to {line:?}");
    }
    assert!(
        net.logged("test.agi: hello from the script"),
        "{:?}",
        net.log()
    );
    assert!(
        !net.logged("agi status"),
        "the dialplan waits for the script"
    );
    exit(&mut net, id);
    assert!(net.logged("agi status SUCCESS foo done"), "{:?}", net.log());
    expect_bye(&mut net, &a);
    assert_eq!(closed(&net, id), None, "a script that ended needs no close");
    net.assert_idle();
}

#[test]
fn commands_that_wait_for_the_call() {
    let mut net = start(34100);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_answered(&mut net, "800");
    let (id, _, _) = opened(&mut net);
    // WAIT FOR DIGIT: the digit's code, or 0 after the timeout.
    assert_eq!(say(&mut net, id, "WAIT FOR DIGIT 5000"), "");
    info_digit(&mut a, &mut net, &mut d, "5");
    assert_eq!(sent(&mut net, id), "200 result=53\n");
    assert_eq!(say(&mut net, id, "WAIT FOR DIGIT 1000"), "");
    net.advance(Duration::from_millis(1100));
    assert_eq!(sent(&mut net, id), "200 result=0\n");
    // STREAM FILE to its end: endpos is the samples played (1 s of tone).
    assert_eq!(say(&mut net, id, "STREAM FILE tone \"#\""), "");
    net.advance(Duration::from_millis(1500));
    assert_eq!(sent(&mut net, id), "200 result=0 endpos=8000\n");
    // ... interrupted by an escape digit, from a sample offset.
    assert_eq!(say(&mut net, id, "STREAM FILE tone 12 800"), "");
    net.advance(Duration::from_millis(400));
    info_digit(&mut a, &mut net, &mut d, "1");
    let r = sent(&mut net, id);
    let pos: u64 = r
        .strip_prefix("200 result=49 endpos=")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!((3_000..=5_000).contains(&pos), "{r:?}");
    // A missing file: nothing to play, result 0.
    assert_eq!(
        say(&mut net, id, "STREAM FILE nosuch \"\""),
        "200 result=0 endpos=0\n"
    );
    // GET DATA: digits until the timeout, or until max digits, or '#'.
    assert_eq!(say(&mut net, id, "GET DATA nosuch 2000 3"), "");
    info_digit(&mut a, &mut net, &mut d, "4");
    info_digit(&mut a, &mut net, &mut d, "2");
    net.advance(Duration::from_millis(2100));
    assert_eq!(sent(&mut net, id), "200 result=42 (timeout)\n");
    assert_eq!(say(&mut net, id, "GET DATA nosuch 2000 2"), "");
    info_digit(&mut a, &mut net, &mut d, "7");
    info_digit(&mut a, &mut net, &mut d, "8");
    assert_eq!(sent(&mut net, id), "200 result=78\n");
    assert_eq!(say(&mut net, id, "GET DATA nosuch"), "");
    info_digit(&mut a, &mut net, &mut d, "9");
    info_digit(&mut a, &mut net, &mut d, "#");
    assert_eq!(sent(&mut net, id), "200 result=9\n");
    // SAY DIGITS with no prompts installed: nothing plays, result 0.
    assert_eq!(say(&mut net, id, "SAY DIGITS 123 \"\""), "200 result=0\n");
    // EXEC of an application that waits answers when it ends.
    assert_eq!(say(&mut net, id, "EXEC Wait 2"), "");
    net.advance(Duration::from_millis(1900));
    assert_eq!(sent(&mut net, id), "");
    net.advance(Duration::from_millis(200));
    assert_eq!(sent(&mut net, id), "200 result=0\n");
    // EXEC Background: a digit ends it and is the result (no extension is collected).
    assert_eq!(say(&mut net, id, "EXEC Background tone"), "");
    info_digit(&mut a, &mut net, &mut d, "3");
    assert_eq!(sent(&mut net, id), "200 result=51\n");
    assert_eq!(say(&mut net, id, "EXEC WaitExten 1"), "");
    net.advance(Duration::from_millis(1100));
    assert_eq!(sent(&mut net, id), "200 result=0\n");
    // Lines sent ahead wait their turn, answered in order.
    assert_eq!(say(&mut net, id, "WAIT FOR DIGIT 3000"), "");
    assert_eq!(say(&mut net, id, "NOOP"), "");
    assert_eq!(say(&mut net, id, "GET VARIABLE EXTEN"), "");
    info_digit(&mut a, &mut net, &mut d, "0");
    assert_eq!(
        sent(&mut net, id),
        "200 result=48\n200 result=0\n200 result=1 (800)\n"
    );
    exit(&mut net, id);
    expect_bye(&mut net, &a);
    net.assert_idle();
}

#[test]
fn a_silent_script_is_stopped_and_a_missing_one_is_notfound() {
    let mut net = start(34200);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "801");
    let (id, target, _) = opened(&mut net);
    assert!(
        matches!(&target, AgiTarget::Process { script, .. } if script == "/usr/local/bin/hangs.agi")
    );
    net.advance(Duration::from_millis(2900));
    assert!(!net.logged("after hang"), "AGITIMEOUT=3 not over yet");
    assert_eq!(closed(&net, id), None);
    net.advance(Duration::from_millis(200));
    assert_eq!(
        closed(&net, id),
        Some((false, true)),
        "stopped, not a hang-up"
    );
    assert!(net.logged("after hang FAILURE"), "{:?}", net.log());
    assert!(net.logged("sent nothing for 3s"), "{:?}", net.log());
    // A late line from the stopped script changes nothing.
    let (id2, _, _) = opened(&mut net);
    assert_eq!(say(&mut net, id, "NOOP"), "");
    net.complete_job(id2, JobOutcome::Agi(AgiEvent::NotFound));
    assert!(net.logged("after missing NOTFOUND"), "{:?}", net.log());
    expect_bye(&mut net, &a);
    net.assert_idle();
}

#[test]
fn the_caller_hanging_up_mid_script_tells_the_script() {
    let mut net = start(34300);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_answered(&mut net, "800");
    let (id, _, _) = opened(&mut net);
    assert_eq!(say(&mut net, id, "WAIT FOR DIGIT -1"), "");
    a.hang_up(&mut net, &mut d);
    assert_eq!(closed(&net, id), Some((true, true)), "SIGHUP to the script");
    assert!(net.logged("h ran agi HANGUP"), "{:?}", net.log());
    // What the script sends afterwards goes nowhere.
    assert_eq!(say(&mut net, id, "NOOP"), "");
    net.assert_idle();
    // AGISIGHUP=no: closed without the signal.
    let mut b = Ua::new(&mut net, "1001", "1001pass");
    let mut d = b.call_answered(&mut net, "804");
    let (id, _, _) = opened(&mut net);
    b.hang_up(&mut net, &mut d);
    assert_eq!(closed(&net, id), Some((true, false)));
    net.assert_idle();
}

#[test]
fn hangup_command_ends_the_call_after_its_result() {
    let mut net = start(34400);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "800");
    let (id, _, _) = opened(&mut net);
    assert_eq!(
        say(&mut net, id, "HANGUP SIP/someone-else"),
        "200 result=-1\n"
    );
    assert_eq!(say(&mut net, id, "HANGUP"), "200 result=1\n");
    expect_bye(&mut net, &a);
    assert_eq!(closed(&net, id), Some((true, true)));
    assert!(!net.logged("agi status"), "the dialplan does not go on");
    assert!(net.logged("h ran agi HANGUP"), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn exec_of_an_application_that_ends_the_call() {
    let mut net = start(34800);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "800");
    let (id, _, _) = opened(&mut net);
    assert_eq!(say(&mut net, id, "EXEC Hangup 16"), "200 result=-1\n");
    expect_bye(&mut net, &a);
    assert_eq!(closed(&net, id), Some((true, true)));
    assert!(!net.logged("agi status"), "the dialplan does not go on");
    net.assert_idle();
}

#[test]
fn fastagi_target_and_network_block() {
    let mut net = start(34500);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "802");
    let (id, target, env) = opened(&mut net);
    assert_eq!(
        target,
        AgiTarget::Fast {
            host: "127.0.0.1".into(),
            port: 4600
        }
    );
    assert!(
        env.starts_with(
            "agi_network: yes\nagi_network_script: calls?x=1\nagi_request: agi://127.0.0.1:4600/calls?x=1\n"
        ),
        "{env}"
    );
    assert!(env.contains("\nagi_arg_1: a\n"), "{env}");
    // A connection that fails: FAILURE, and the dialplan goes on (to its Hangup).
    net.complete_job(id, JobOutcome::Agi(AgiEvent::Failed));
    expect_bye(&mut net, &a);
    net.assert_idle();
}

#[test]
fn deadagi_and_set_context_extension_priority() {
    let mut net = start(34600);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "803");
    assert!(net.logged("DeadAGI has been deprecated"), "{:?}", net.log());
    let (id, _, _) = opened(&mut net);
    // SET PRIORITY lands on that priority when the script ends (a label works too).
    assert_eq!(say(&mut net, id, "SET PRIORITY 4"), "200 result=0\n");
    exit(&mut net, id);
    assert!(!net.logged("never here"));
    assert!(net.logged("landed at internal,803,4"), "{:?}", net.log());
    expect_bye(&mut net, &a);
    // SET CONTEXT and SET EXTENSION: the dialplan goes on there, at the next priority.
    let mut b = Ua::new(&mut net, "1001", "1001pass");
    let _d = b.call_answered(&mut net, "803");
    let (id, _, _) = opened(&mut net);
    assert_eq!(say(&mut net, id, "SET CONTEXT other"), "200 result=0\n");
    assert_eq!(say(&mut net, id, "SET EXTENSION 900"), "200 result=0\n");
    assert_eq!(say(&mut net, id, "SET PRIORITY 1"), "200 result=0\n");
    exit(&mut net, id);
    assert!(net.logged("other 1"), "{:?}", net.log());
    assert!(net.logged("landed at other,900,2"));
    expect_bye(&mut net, &b);
    net.assert_idle();
}

#[test]
fn a_script_that_floods_is_ended() {
    let mut net = start(34700);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_answered(&mut net, "800");
    let (id, _, _) = opened(&mut net);
    assert_eq!(say(&mut net, id, "WAIT FOR DIGIT 10000"), "");
    for _ in 0..40 {
        say(&mut net, id, "NOOP");
    }
    info_digit(&mut a, &mut net, &mut d, "1");
    // The digit's answer, the 32 queued NOOPs, then the session is over.
    let r = sent(&mut net, id);
    assert!(r.starts_with("200 result=49\n"), "{r:?}");
    assert_eq!(r.matches("200 result=0\n").count(), 32, "{r:?}");
    assert!(net.logged("more than 32 commands ahead"));
    assert!(net.logged("agi status FAILURE"), "{:?}", net.log());
    assert_eq!(closed(&net, id), Some((false, true)));
    expect_bye(&mut net, &a);
    net.assert_idle();
}
