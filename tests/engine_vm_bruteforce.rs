//! Wrong PINs feed the brute-force ban on the fake network: VoiceMailMain() and
//! Authenticate() failures are logged as `InvalidPassword` security events with the caller's
//! source address and counted against that address like wrong SIP passwords; enough of them
//! ban it (its next REGISTER and INVITE get no answer), a phone at another address is not
//! touched, and an address on `banignore` is never banned.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use sipbox::sip::Method;
use sipbox::voicemail::{Voicemail, VoicemailConf};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Three wrong PINs in a minute ban an address; 127.0.0.77 is the office, never banned.
const SIP: &str = "\
[general]
bindaddr=127.0.0.1
context=default
allowguest=no
realm=sipbox
banfailures=3
banwindow=60
bantime=600
banignore=127.0.0.77

[phone](!)
type=friend
host=dynamic
context=internal

[1001](phone)
secret=1001pass

[1002](phone)
secret=1002pass
";

const EXT: &str = "\
[internal]
exten => 501,1,VoiceMailMain(1001@default)
 same => n,Verbose(1,main done)
 same => n,Hangup()
exten => 503,1,Authenticate(8642)
 same => n,Verbose(1,auth done)
 same => n,Hangup()
";

const VM: &str = "\
[general]
format=wav
maxlogins=3

[default]
1001 => 4242,Alice Example
";

fn start(lo: u16) -> FakeNet {
    let mut net = FakeNet::with_rtp(SIP, EXT, lo, lo + 39);
    let (conf, warnings) = VoicemailConf::parse_str(VM).expect("voicemail.conf");
    assert!(warnings.is_empty(), "{warnings:?}");
    net.engine.set_voicemail(Voicemail::new(
        conf,
        PathBuf::from("/spool/voicemail"),
        None,
    ));
    net
}

/// A phone on loopback address `ip` (phones' ports are 50 000 and up on the fake net).
fn phone_at(ip: &str, port: u16, user: &str, password: &str) -> Ua {
    let sip: SocketAddr = format!("{ip}:{port}").parse().unwrap();
    let rtp: SocketAddr = format!("{ip}:{}", port + 2).parse().unwrap();
    Ua::at(user, password, sip, rtp)
}

/// Keys `digits` as RFC 4733 events (each its own timestamp).
fn key(net: &mut FakeNet, ua: &Ua, to: SocketAddr, digits: &str, ts: &mut u32) {
    for d in digits.chars() {
        let ev = match d {
            '*' => 10,
            '#' => 11,
            c => c.to_digit(10).expect("digit") as u8,
        };
        *ts += 8000;
        ua.send_dtmf(net, to, 101, ev, (*ts / 100) as u16, *ts);
    }
}

/// Calls `exten` from `ua` (its SIP credentials are right) and keys three wrong PINs.
fn three_wrong_pins(net: &mut FakeNet, ua: &mut Ua, exten: &str) {
    let d = ua.call_answered(net, exten);
    let to = d.remote_media();
    let mut ts = 0;
    for _ in 0..3 {
        key(net, ua, to, "1111#", &mut ts);
    }
}

/// The `InvalidPassword` security lines logged for `source` so far.
fn pin_events(source: SocketAddr) -> Vec<String> {
    let remote = format!(
        "RemoteAddress=\"IPV4/UDP/{}/{}\"",
        source.ip(),
        source.port()
    );
    LogCapture::lines()
        .into_iter()
        .filter(|l| l.contains("SecurityEvent=\"InvalidPassword\"") && l.contains(&remote))
        .collect()
}

#[test]
fn wrong_voicemail_pins_ban_the_source_and_only_that_source() {
    let mut net = start(35600);
    let mut guesser = phone_at("127.0.0.66", 50_100, "1002", "1002pass");
    let mut office = phone_at("127.0.0.88", 50_200, "1001", "1001pass");
    assert_eq!(office.register(&mut net, 300).status(), 200);
    three_wrong_pins(&mut net, &mut guesser, "501");
    assert_eq!(
        LogCapture::count("Incorrect password '****' for user '1001'"),
        3
    );
    let events = pin_events(guesser.sip);
    assert_eq!(events.len(), 3, "{:?}", net.log());
    assert!(
        events[0].contains("WARN")
            && events[0].contains("Service=\"VoiceMailMain\"")
            && events[0].contains("AccountID=\"1001@default\""),
        "{}",
        events[0]
    );
    assert!(
        net.logged("Banned 127.0.0.66 for 600 s after 3 authentication failures in 60 s"),
        "{:?}",
        net.log()
    );
    assert!(!net.logged("main done"), "a failed login hangs up");
    // Banned: neither a REGISTER nor a new INVITE from that address is answered.
    let text = guesser.register_text(net.sipbox, 300, None);
    guesser.send(&mut net, &text);
    assert!(
        guesser
            .wait_for(&mut net, |m| matches!(m, sipbox::sip::Message::Response(_)))
            .is_none(),
        "a banned source's REGISTER gets no answer"
    );
    let offer = sdp(guesser.rtp, &[0, 101], "sendrecv");
    let _ = guesser.invite_noauth(&mut net, "501", &offer);
    assert!(
        guesser
            .wait_for(&mut net, |m| matches!(m, sipbox::sip::Message::Response(_)))
            .is_none(),
        "a banned source's INVITE gets no answer"
    );
    assert!(net.engine.stats().banned >= 2);
    // The office phone at another address still registers and still calls.
    assert_eq!(office.register(&mut net, 300).status(), 200);
    let d = office.call_answered(&mut net, "501");
    let mut ts = 0;
    key(&mut net, &office, d.remote_media(), "4242#", &mut ts);
    assert!(net.wait_log("1001@default logged in", std::time::Duration::from_secs(5)));
    let m = sipbox::status::metrics::render(&net.engine.status_snapshot(net.now));
    assert!(m.contains("reason=\"wrong_pin\"} 3"), "{m}");
}

#[test]
fn the_allow_list_exempts_and_authenticate_failures_count_too() {
    let mut net = start(35700);
    // The office address keys six wrong PINs (two calls): logged, never banned.
    let mut office = phone_at("127.0.0.77", 50_300, "1001", "1001pass");
    for _ in 0..2 {
        three_wrong_pins(&mut net, &mut office, "501");
        let bye = office.request(&mut net, Method::Bye);
        office.respond(&mut net, &bye, 200, None);
    }
    assert_eq!(pin_events(office.sip).len(), 6, "{:?}", net.log());
    assert!(!net.logged("Banned"), "{:?}", net.log());
    assert_eq!(office.register(&mut net, 300).status(), 200);
    // Authenticate()'s wrong passwords from another address ban it.
    let mut guesser = phone_at("127.0.0.99", 50_400, "1002", "1002pass");
    three_wrong_pins(&mut net, &mut guesser, "503");
    let events = pin_events(guesser.sip);
    assert_eq!(events.len(), 3, "{:?}", net.log());
    assert!(
        events[0].contains("Service=\"Authenticate\"") && events[0].contains("AccountID=\"1002\""),
        "{}",
        events[0]
    );
    assert!(net.logged("Banned 127.0.0.99 for 600 s"), "{:?}", net.log());
    assert!(!net.logged("auth done"));
    let text = guesser.register_text(net.sipbox, 300, None);
    guesser.send(&mut net, &text);
    assert!(
        guesser
            .wait_for(&mut net, |m| matches!(m, sipbox::sip::Message::Response(_)))
            .is_none(),
        "banned"
    );
    assert_eq!(office.register(&mut net, 300).status(), 200);
}
