//! Applications and Dial forms that came from the corpus's missing list (issue 9), on the fake
//! network: `Dial(PJSIP/...)` mapped to the sip.conf entry of that name (PJSIP/1002 rings
//! 1002, `PJSIP/gw/sip:number@host` calls that number at gw, an unknown entry is CHANUNAVAIL,
//! one load note), and PrivacyManager driven through the runner the way the call layer drives
//! it (with and without a caller ID, a short entry retried, FAILED after the retries, a number
//! checked against a context), and once on a call: the pause, the two prompts, "5551#" as
//! RFC 4733 events, the thank-you, and the Dial's From carrying `"Privacy Manager" <sip:5551@`.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::dialplan::{ChannelInfo, Command, Dialplan, Execution, Resume};
use sipbox::media::sounds::MemorySounds;
use sipbox::sip::{HeaderName, Method};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => 700,1,Dial(PJSIP/1002,10)
 same => n,Hangup()
exten => 701,1,Dial(PJSIP/nobody,10)
 same => n,GotoIf($[\"${DIALSTATUS}\"=\"CHANUNAVAIL\"]?un)
 same => n,Hangup(1)
 same => n(un),Hangup(21)
exten => 702,1,Dial(PJSIP/gw/sip:+4930123@sip.example.com:5061,10)
 same => n,Hangup()
exten => 703,1,Dial(PJSIP/5551234@gw,10)
 same => n,Hangup()
exten => 720,1,Set(CALLERID(num)=)
 same => n,PrivacyManager(3,4)
 same => n,Dial(SIP/1002,10)
";

fn conf() -> String {
    format!("{TEST_SIP_CONF}\n[gw]\ntype=peer\nhost=127.0.0.1\nport=59400\n")
}

fn net() -> FakeNet {
    FakeNet::with_rtp(&conf(), EXTENSIONS, 34400, 34479)
}

fn offer(a: &Ua) -> String {
    sdp(a.rtp, &[0, 101], "sendrecv")
}

/// 0.2 s of a tone at `hz` as a PCM16 WAV.
fn prompt(hz: f64) -> Vec<u8> {
    let s: Vec<i16> = (0..1600)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * f64::from(i) / 8000.0).sin()) as i16)
        .collect();
    sipbox::media::wav::encode_pcm16(&s)
}

#[test]
fn privacy_manager_on_a_call_reads_rfc4733_digits_and_the_dial_carries_the_number() {
    let mut sounds = MemorySounds::new();
    for (name, hz) in [
        ("privacy-unident", 500.0),
        ("privacy-prompt", 600.0),
        ("privacy-incorrect", 700.0),
        ("privacy-thankyou", 800.0),
    ] {
        sounds.insert(name, prompt(hz));
    }
    let mut net = net().with_sounds(sounds);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "720", &offer(&a));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200, "answered");
    a.ack(&mut net, &d, None);
    // The second of silence, then privacy-unident and privacy-prompt (10 frames each).
    let silence = a.collect_rtp(&mut net, 200, Duration::from_millis(900));
    assert!(silence.is_empty(), "{} packets in the pause", silence.len());
    let got = a.collect_rtp(&mut net, 200, Duration::from_millis(600));
    assert_eq!(got.len(), 20, "two prompts of 0.2 s");
    // "5551#" as RFC 4733 events.
    for (i, ev) in [5u8, 5, 5, 1, 11].into_iter().enumerate() {
        let n = i as u16;
        a.send_dtmf(
            &mut net,
            d.remote_media(),
            101,
            ev,
            500 + 10 * n,
            16000 + 1600 * u32::from(n),
        );
        net.advance(Duration::from_millis(200));
    }
    let thanks = a.collect_rtp(&mut net, 200, Duration::from_millis(300));
    assert_eq!(thanks.len(), 10, "privacy-thankyou");
    let inv = b.request(&mut net, Method::Invite);
    let from = inv
        .headers()
        .get(&HeaderName::From)
        .unwrap_or_default()
        .to_string();
    assert!(
        from.contains("\"Privacy Manager\"") && from.contains("sip:5551@"),
        "{from}"
    );
    b.respond(&mut net, &inv, 486, None);
    b.request(&mut net, Method::Ack);
    let r = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &r, 200, None);
    net.assert_idle();
}

#[test]
fn pjsip_names_the_sip_conf_entry_with_one_note_at_load() {
    let mut net = net();
    assert_eq!(
        LogCapture::count("sipbox maps PJSIP/x to its sip.conf entry x"),
        1,
        "{:?}",
        net.log()
    );
    assert_eq!(
        LogCapture::count("Dial technology 'PJSIP' is not supported"),
        0
    );
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "700", &offer(&a));
    let inv = b.request(&mut net, Method::Invite);
    assert_eq!(inv.uri().user.as_deref(), Some("1002"), "{inv:?}");
    b.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(b.rtp, &[0, 101], "sendrecv")),
    );
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    b.request(&mut net, Method::Ack);
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn pjsip_to_an_unknown_entry_is_chanunavail() {
    let mut net = net();
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (_, r) = a.call(&mut net, "701", &offer(&a));
    assert_eq!(r.status(), 403, "Hangup(21) after DIALSTATUS=CHANUNAVAIL");
    net.assert_idle();
}

#[test]
fn pjsip_uri_and_exten_at_endpoint_forms_call_that_number_at_the_entry() {
    let mut net = net();
    let gw = Ua::at(
        "gw",
        "",
        "127.0.0.1:59400".parse().unwrap(),
        "127.0.0.1:59402".parse().unwrap(),
    );
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    for (exten, user) in [("702", "+4930123"), ("703", "5551234")] {
        let mut d = a.call_start(&mut net, exten, &offer(&a));
        let inv = gw.request(&mut net, Method::Invite);
        assert_eq!(inv.uri().user.as_deref(), Some(user), "{exten}: {inv:?}");
        assert_eq!(
            inv.uri().host,
            "127.0.0.1",
            "the entry's host, not the URI's"
        );
        gw.respond(&mut net, &inv, 486, None);
        gw.request(&mut net, Method::Ack);
        assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486, "{exten}");
    }
    net.assert_idle();
}

const PRIVACY: &str = r#"
[t]
exten => 1,1,Set(CALLERID(num)=)
 same => n,PrivacyManager(${TRIES},${MIN},,${CTX})
 same => n,Set(R=${PRIVACYMGRSTATUS}/${CALLERID(num)}/${CALLERID(name)})
 same => n,Wait(1)
exten => 2,1,PrivacyManager()
 same => n,Set(R=${PRIVACYMGRSTATUS}/${CALLERID(num)})
 same => n,Wait(1)

[valid]
exten => _555XXXX,1,NoOp()
"#;

fn privacy_dialplan() -> Dialplan {
    let sections = sipbox::config::reader::read_str("t.conf", PRIVACY, None).expect("reads");
    let (dp, warnings) = Dialplan::from_sections(&sections).expect("loads");
    assert!(warnings.is_empty(), "{warnings:?}");
    dp
}

fn epoch() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_709_210_040)
}

fn caller() -> ChannelInfo {
    ChannelInfo {
        callerid_num: "1001".into(),
        callerid_name: "Alice".into(),
        sip_call_id: "abc@host".into(),
        unique_id: "1700000000.7".into(),
        peer: "1001".into(),
        name: None,
        sip_headers: Default::default(),
    }
}

fn played(cmd: &Command) -> String {
    match cmd {
        Command::Playback {
            files,
            interrupt_digits,
        } => {
            assert_eq!(interrupt_digits, &None, "the prompts cannot be interrupted");
            files.join("&")
        }
        other => panic!("expected Playback, got {other:?}"),
    }
}

/// One PrivacyManager() run: each entry is the digits the caller keys after a
/// `privacy-prompt` (`None`: nothing, the 5 s first-digit timeout).
#[track_caller]
fn privacy(tries: &str, min: &str, ctx: &str, entries: &[Option<&str>]) -> (Vec<String>, String) {
    let dp = privacy_dialplan();
    let mut ex = Execution::new(&dp, "t", "1", caller());
    ex.set_var("TRIES", tries);
    ex.set_var("MIN", min);
    ex.set_var("CTX", ctx);
    let mut heard = Vec::new();
    let now = epoch();
    assert_eq!(
        ex.step(&dp, now, Resume::Start),
        Command::Answer,
        "answers first"
    );
    assert_eq!(
        ex.step(&dp, now, Resume::Done),
        Command::Wait(Duration::from_secs(1))
    );
    let mut cmd = ex.step(&dp, now, Resume::Done);
    heard.push(played(&cmd));
    let mut entries = entries.iter();
    loop {
        cmd = ex.step(&dp, now, Resume::Done);
        match &cmd {
            Command::Playback { .. } => heard.push(played(&cmd)),
            Command::WaitDigit { timeout } => {
                assert_eq!(*timeout, Duration::from_millis(5000), "first digit");
                let entry = entries
                    .next()
                    .expect("an entry for each prompt")
                    .unwrap_or("");
                let mut it = entry.chars();
                let mut last = match it.next() {
                    None => ex.step(&dp, now, Resume::TimedOut),
                    Some(first) => ex.step(&dp, now, Resume::Digit(first)),
                };
                if !entry.is_empty() {
                    for c in it {
                        assert_eq!(
                            last,
                            Command::WaitDigit {
                                timeout: Duration::from_millis(3200)
                            },
                            "between digits"
                        );
                        last = ex.step(&dp, now, Resume::Digit(c));
                    }
                    if !entry.ends_with('#') {
                        last = ex.step(&dp, now, Resume::TimedOut);
                    }
                }
                heard.push(played(&last));
            }
            Command::Wait(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(entries.next().is_none(), "every entry was asked for");
    (heard, ex.var("R").unwrap_or_default())
}

/// (maxretries, minlength, context, entries, prompts heard, `${R}`).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [Option<&'static str>],
    &'static [&'static str],
    &'static str,
);

#[test]
fn privacy_manager_asks_for_a_number_as_app_privacy_does() {
    let cases: &[Case] = &[
        (
            "",
            "",
            "",
            &[Some("0301234567#")],
            &["privacy-unident", "privacy-prompt", "privacy-thankyou"],
            "SUCCESS/0301234567/Privacy Manager",
        ),
        (
            "",
            "4",
            "",
            &[Some("12"), None, Some("5551234")],
            &[
                "privacy-unident",
                "privacy-prompt",
                "privacy-incorrect",
                "privacy-prompt",
                "privacy-incorrect",
                "privacy-prompt",
                "privacy-thankyou",
            ],
            "SUCCESS/5551234/Privacy Manager",
        ),
        (
            "2",
            "4",
            "",
            &[Some("1#"), Some("123#")],
            &[
                "privacy-unident",
                "privacy-prompt",
                "privacy-incorrect",
                "privacy-prompt",
                "privacy-incorrect",
            ],
            "FAILED//Alice",
        ),
        (
            "2",
            "7",
            "valid",
            &[Some("6661234"), Some("5551234#")],
            &[
                "privacy-unident",
                "privacy-prompt",
                "privacy-incorrect",
                "privacy-prompt",
                "privacy-thankyou",
            ],
            "SUCCESS/5551234/Privacy Manager",
        ),
        // Junk arguments take the defaults (3 tries, 10 digits).
        (
            "x",
            "-1",
            "",
            &[Some("123456789#"), Some("1234567890#")],
            &[
                "privacy-unident",
                "privacy-prompt",
                "privacy-incorrect",
                "privacy-prompt",
                "privacy-thankyou",
            ],
            "SUCCESS/1234567890/Privacy Manager",
        ),
    ];
    for (tries, min, ctx, entries, want_heard, want_r) in cases {
        let (heard, r) = privacy(tries, min, ctx, entries);
        assert_eq!(&heard, want_heard, "{tries}/{min}/{ctx}: {entries:?}");
        assert_eq!(&r, want_r, "{tries}/{min}/{ctx}: {entries:?}");
    }
}

#[test]
fn privacy_manager_with_a_caller_id_succeeds_at_once() {
    let dp = privacy_dialplan();
    let mut ex = Execution::new(&dp, "t", "2", caller());
    assert_eq!(
        ex.step(&dp, epoch(), Resume::Start),
        Command::Wait(Duration::from_secs(1)),
        "no answer, no prompt"
    );
    // Asterisk sets no PRIVACYMGRSTATUS when it skips.
    assert_eq!(ex.var("R").as_deref(), Some("/1001"));
}

#[test]
fn privacy_manager_with_an_endless_stream_of_digits_stops_at_29() {
    let dp = privacy_dialplan();
    let mut ex = Execution::new(&dp, "t", "1", caller());
    ex.set_var("MIN", "5");
    let now = epoch();
    ex.step(&dp, now, Resume::Start);
    for _ in 0..3 {
        // Answer, the second of silence, privacy-unident.
        ex.step(&dp, now, Resume::Done);
    }
    let mut cmd = ex.step(&dp, now, Resume::Done);
    assert!(matches!(cmd, Command::WaitDigit { .. }), "{cmd:?}");
    let mut n = 0;
    while matches!(cmd, Command::WaitDigit { .. }) && n < 1000 {
        cmd = ex.step(&dp, now, Resume::Digit('7'));
        n += 1;
    }
    assert_eq!(n, 29);
    assert_eq!(played(&cmd), "privacy-thankyou");
    ex.step(&dp, now, Resume::Done);
    assert_eq!(
        ex.var("R").unwrap(),
        format!("SUCCESS/{}/Privacy Manager", "7".repeat(29))
    );
}
