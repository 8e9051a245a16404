//! Voicemail and message waiting on the fake network: VoiceMail() stopped by `#`, silence and
//! maxsecs (the WAV bytes and the .txt fields as handed to the driver), minsecs, an unknown
//! box, a full box; VoiceMailMain() with the PIN, listening (the message moves to Old),
//! delete and save by DTMF, wrong PINs; MWI NOTIFYs on register, on deposit and after
//! reading; SUBSCRIBE to message-summary (challenge, 200, NOTIFY, refresh, unsubscribe,
//! expiry) and 489 for other packages.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use sipbox::media::g711::Law;
use sipbox::sip::{HeaderName, Method, Request};
use sipbox::voicemail::{FsOp, Voicemail, VoicemailConf};
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const SIP: &str = "\
[general]
bindaddr=127.0.0.1
context=default
allowguest=no
realm=sipbox
minexpiry=60
vmexten=*97

[phone](!)
type=friend
host=dynamic
context=internal

[1001](phone)
secret=1001pass
mailbox=1001@default

[1002](phone)
secret=1002pass
";

const EXT: &str = "\
[internal]
exten => 500,1,VoiceMail(1001@default,u)
 same => n,Verbose(1,vmstatus ${VMSTATUS} count ${VMCOUNT(1001)} exists ${MAILBOX_EXISTS(1001)} name ${VM_INFO(1001,fullname)})
 same => n,Hangup()
exten => 501,1,VoiceMailMain(1001@default)
 same => n,Verbose(1,main done)
 same => n,Hangup()
exten => 502,1,VoiceMail(9999)
 same => n,Verbose(1,unknown vmstatus ${VMSTATUS})
 same => n,Hangup()
";

const VM: &str = "\
[general]
format=wav
maxsilence=2
maxsecs=4
minsecs=0
maxmsg=3
serveremail=pbx@example.com
attach=yes
mailcmd=/bin/true

[default]
1001 => 4242,Alice Example,alice@example.com
";

const SPOOL: &str = "/spool/voicemail";

fn start(lo: u16, vm_conf: &str) -> FakeNet {
    let mut net = FakeNet::with_rtp(SIP, EXT, lo, lo + 39);
    let (conf, warnings) = VoicemailConf::parse_str(vm_conf).expect("voicemail.conf");
    assert!(warnings.is_empty(), "{warnings:?}");
    net.engine
        .set_voicemail(Voicemail::new(conf, PathBuf::from(SPOOL), None));
    net
}

fn loud() -> Vec<u8> {
    (0..160u16)
        .map(|i| if i % 2 == 0 { 0x10 } else { 0x90 })
        .collect()
}

/// Sends `n` frames of `payload` from seq `from`.
fn frames(net: &mut FakeNet, ua: &Ua, to: std::net::SocketAddr, from: u16, n: u16, payload: &[u8]) {
    for i in from..from + n {
        ua.send_rtp(net, to, &rtp_packet(0, i, 160 * u32::from(i), 7, payload));
    }
}

/// Keys `digits` as RFC 4733 events (each its own timestamp).
fn key(net: &mut FakeNet, ua: &Ua, to: std::net::SocketAddr, digits: &str, ts: &mut u32) {
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

fn notify_body(req: &Request) -> String {
    String::from_utf8_lossy(req.body()).into_owned()
}

/// The next NOTIFY to `ua`, answered 200.
#[track_caller]
fn notify(net: &mut FakeNet, ua: &Ua) -> Request {
    let n = ua.request(net, Method::Notify);
    assert_eq!(n.headers().get(&HeaderName::Event), Some("message-summary"));
    assert_eq!(n.content_type(), Some("application/simple-message-summary"));
    ua.respond(net, &n, 200, None);
    n
}

fn writes(ops: &[FsOp]) -> Vec<(PathBuf, Vec<u8>)> {
    ops.iter()
        .filter_map(|o| match o {
            FsOp::Write { path, bytes } => Some((path.clone(), bytes.clone())),
            _ => None,
        })
        .collect()
}

fn msg(folder: &str, n: u32, ext: &str) -> PathBuf {
    Path::new(SPOOL).join(format!("default/1001/{folder}/msg{n:04}.{ext}"))
}

#[test]
fn a_message_left_with_hash_is_stored_in_the_spool_and_lights_the_lamp() {
    let mut net = start(35000, VM);
    let mut alice = Ua::new(&mut net, "1001", "1001pass");
    assert_eq!(alice.register(&mut net, 300).status(), 200);
    let n = notify(&mut net, &alice);
    let body = notify_body(&n);
    assert!(body.contains("Messages-Waiting: no\r\n"), "{body}");
    assert!(
        body.contains("Message-Account: sip:*97@127.0.0.1\r\n"),
        "{body}"
    );
    assert!(body.contains("Voice-Message: 0/0 (0/0)\r\n"), "{body}");

    let mut bob = Ua::new(&mut net, "1002", "1002pass");
    let d = bob.call_answered(&mut net, "500");
    let to = d.remote_media();
    frames(&mut net, &bob, to, 0, 50, &loud());
    let mut ts = 0;
    key(&mut net, &bob, to, "#", &mut ts);
    assert!(
        net.wait_log("vmstatus SUCCESS count 1 exists 1 name Alice Example", T),
        "{:?}",
        net.log()
    );
    let ops = std::mem::take(&mut net.vm_ops);
    let w = writes(&ops);
    assert_eq!(w[0].0, msg("INBOX", 0, "wav"));
    assert_eq!(w[0].1.len(), 44 + 50 * 320, "50 frames of 16-bit samples");
    assert_eq!(&w[0].1[..4], b"RIFF");
    // Every sample is the PCMU byte decoded.
    let s0 = i16::from_le_bytes([w[0].1[44], w[0].1[45]]);
    let s1 = i16::from_le_bytes([w[0].1[46], w[0].1[47]]);
    assert_eq!((s0, s1), (Law::Ulaw.decode(0x10), Law::Ulaw.decode(0x90)));
    assert_eq!(w[1].0, msg("INBOX", 0, "txt"));
    let txt = String::from_utf8(w[1].1.clone()).unwrap();
    for field in [
        "[message]\n",
        "origmailbox=1001\n",
        "context=internal\n",
        "macrocontext=\n",
        "exten=500\n",
        "rdnis=unknown\n",
        "priority=1\n",
        "callerchan=SIP/1002-",
        "callerid=1002\n",
        "origdate=Thu Jan  1 12:00:",
        "origtime=17672256",
        "category=\n",
        "msg_id=17672256",
        "flag=\n",
        "duration=1\n",
    ] {
        assert!(txt.contains(field), "{field} in {txt}");
    }
    // The e-mail goes to mailcmd with the WAV attached.
    let mail = ops.iter().find_map(|o| match o {
        FsOp::Mail { command, message } => Some((command.clone(), message.clone())),
        _ => None,
    });
    let (cmd, mail) = mail.expect("an e-mail");
    assert_eq!(cmd, "/bin/true");
    let mail = String::from_utf8(mail).unwrap();
    assert!(
        mail.contains("To: \"Alice Example\" <alice@example.com>\r\n"),
        "{mail}"
    );
    assert!(
        mail.contains("From: \"Asterisk PBX\" <pbx@example.com>\r\n"),
        "{mail}"
    );
    assert!(
        mail.contains("Content-Type: audio/x-wav; name=\"msg0000.wav\""),
        "{mail}"
    );
    assert!(mail.contains("UklGR"), "base64 of RIFF: {mail}");
    // The lamp.
    let n = notify(&mut net, &alice);
    let body = notify_body(&n);
    assert!(body.contains("Messages-Waiting: yes\r\n"), "{body}");
    assert!(body.contains("Voice-Message: 1/0 (0/0)\r\n"), "{body}");
    let bye = bob.request(&mut net, Method::Bye);
    bob.respond(&mut net, &bye, 200, None);
}

#[test]
fn silence_and_maxsecs_end_the_recording_and_minsecs_drops_short_ones() {
    let mut net = start(35100, VM);
    // Silence: 60 loud frames, then two seconds of silence (not kept).
    let mut bob = Ua::new(&mut net, "1002", "1002pass");
    let d = bob.call_answered(&mut net, "500");
    let to = d.remote_media();
    frames(&mut net, &bob, to, 0, 60, &loud());
    frames(&mut net, &bob, to, 60, 100, &[0xff; 160]);
    assert!(
        net.wait_log("INBOX/msg0000 (1 s, SILENCE)", T),
        "{:?}",
        net.log()
    );
    let w = writes(&std::mem::take(&mut net.vm_ops));
    assert_eq!(w[0].1.len(), 44 + 60 * 320);
    let bye = bob.request(&mut net, Method::Bye);
    bob.respond(&mut net, &bye, 200, None);
    // maxsecs=4: 220 frames sent, 200 kept.
    let mut carol = Ua::new(&mut net, "1002", "1002pass");
    let d = carol.call_answered(&mut net, "500");
    let to = d.remote_media();
    frames(&mut net, &carol, to, 0, 220, &loud());
    assert!(
        net.wait_log("INBOX/msg0001 (4 s, TIMEOUT)", T),
        "{:?}",
        net.log()
    );
    let w = writes(&std::mem::take(&mut net.vm_ops));
    assert_eq!(w[0].0, msg("INBOX", 1, "wav"));
    assert_eq!(w[0].1.len(), 44 + 200 * 320);
    let bye = carol.request(&mut net, Method::Bye);
    carol.respond(&mut net, &bye, 200, None);

    // minsecs=1: half a second is thrown away.
    let mut net = start(35200, &VM.replace("minsecs=0", "minsecs=1"));
    let mut bob = Ua::new(&mut net, "1002", "1002pass");
    let d = bob.call_answered(&mut net, "500");
    let to = d.remote_media();
    frames(&mut net, &bob, to, 0, 25, &loud());
    let mut ts = 0;
    key(&mut net, &bob, to, "#", &mut ts);
    assert!(
        net.wait_log("vmstatus FAILED count 0", T),
        "{:?}",
        net.log()
    );
    assert!(net.logged("needs to be at least 1 - abandoning"));
    assert!(net.vm_ops.is_empty(), "{:?}", net.vm_ops);
}

#[test]
fn unknown_box_goes_on_and_a_full_box_says_so() {
    let mut net = start(35300, VM);
    let mut bob = Ua::new(&mut net, "1002", "1002pass");
    let offer = sdp(bob.rtp, &[0, 101], "sendrecv");
    let (d, r) = bob.call(&mut net, "502", &offer);
    assert!(net.logged("unknown vmstatus FAILED"), "{:?}", net.log());
    assert!(net.logged("No entry in voicemail config file for '9999@default'"));
    // Never answered: the dialplan went on and hung up.
    assert_eq!(r.status(), 480);
    bob.ack_failure(&mut net, &d, &r);
    // maxmsg=3, three messages already there.
    net.engine.with_voicemail(|vm| {
        for n in 0..3 {
            vm.index.get_mut("default", "1001").insert("INBOX", n);
        }
    });
    let mut carol = Ua::new(&mut net, "1002", "1002pass");
    let _d = carol.call_answered(&mut net, "500");
    assert!(
        net.wait_log("vmstatus FAILED count 3", T),
        "{:?}",
        net.log()
    );
    assert!(net.logged("mailbox 1001@default is full"));
    assert!(net.vm_ops.is_empty());
}

fn with_messages(net: &mut FakeNet, n: u32) {
    net.engine.with_voicemail(|vm| {
        for i in 0..n {
            vm.index.get_mut("default", "1001").insert("INBOX", i);
        }
    });
}

#[test]
fn voicemailmain_pin_listen_delete_save_and_the_lamp_goes_out() {
    let mut net = start(35400, VM);
    with_messages(&mut net, 2);
    let mut alice = Ua::new(&mut net, "1001", "1001pass");
    assert_eq!(alice.register(&mut net, 300).status(), 200);
    let body = notify_body(&notify(&mut net, &alice));
    assert!(body.contains("Voice-Message: 2/0 (0/0)"), "{body}");
    let mut me = Ua::new(&mut net, "1001", "1001pass");
    let d = me.call_answered(&mut net, "501");
    let to = d.remote_media();
    let mut ts = 0;
    key(&mut net, &me, to, "4242#", &mut ts);
    assert!(net.wait_log("1001@default logged in", T), "{:?}", net.log());
    // 1: the first new message plays and becomes old.
    key(&mut net, &me, to, "1", &mut ts);
    let body = notify_body(&notify(&mut net, &alice));
    assert!(body.contains("Voice-Message: 1/1 (0/0)"), "{body}");
    // 7: deleted (at the end); 6: the next one (also heard); 9 2: saved to Work.
    key(&mut net, &me, to, "7", &mut ts);
    key(&mut net, &me, to, "6", &mut ts);
    let body = notify_body(&notify(&mut net, &alice));
    assert!(body.contains("Messages-Waiting: no"), "{body}");
    assert!(body.contains("Voice-Message: 0/2 (0/0)"), "{body}");
    key(&mut net, &me, to, "92", &mut ts);
    let _ = notify(&mut net, &alice);
    key(&mut net, &me, to, "#", &mut ts);
    assert!(net.wait_log("main done", T), "{:?}", net.log());
    let ops = std::mem::take(&mut net.vm_ops);
    let expected = vec![
        FsOp::Rename {
            from: msg("INBOX", 0, "wav"),
            to: msg("Old", 0, "wav"),
        },
        FsOp::Rename {
            from: msg("INBOX", 0, "txt"),
            to: msg("Old", 0, "txt"),
        },
        FsOp::Rename {
            from: msg("INBOX", 1, "wav"),
            to: msg("Old", 1, "wav"),
        },
        FsOp::Rename {
            from: msg("INBOX", 1, "txt"),
            to: msg("Old", 1, "txt"),
        },
        FsOp::Rename {
            from: msg("Old", 1, "wav"),
            to: msg("Work", 0, "wav"),
        },
        FsOp::Rename {
            from: msg("Old", 1, "txt"),
            to: msg("Work", 0, "txt"),
        },
        FsOp::Remove {
            path: msg("Old", 0, "wav"),
        },
        FsOp::Remove {
            path: msg("Old", 0, "txt"),
        },
    ];
    assert_eq!(ops, expected);
    let idx = net
        .engine
        .with_voicemail(|vm| vm.index.get("default", "1001"));
    assert_eq!(
        (idx.count("INBOX"), idx.count("Old"), idx.count("Work")),
        (0, 0, 1)
    );
    let bye = me.request(&mut net, Method::Bye);
    me.respond(&mut net, &bye, 200, None);
}

#[test]
fn wrong_pins_are_logged_and_the_third_ends_the_call() {
    let mut net = start(35500, VM);
    let mut me = Ua::new(&mut net, "1002", "1002pass");
    let d = me.call_answered(&mut net, "501");
    let to = d.remote_media();
    let mut ts = 0;
    for _ in 0..3 {
        key(&mut net, &me, to, "1111#", &mut ts);
    }
    let bye = me.request(&mut net, Method::Bye);
    me.respond(&mut net, &bye, 200, None);
    assert_eq!(
        common::fakenet::LogCapture::count("Incorrect password '****' for user '1001'"),
        3
    );
    assert!(!net.logged("logged in"));
    assert!(!net.logged("main done"), "a failed login hangs up");
}

fn subscribe_text(
    ua: &Ua,
    server: std::net::SocketAddr,
    cseq: u32,
    to_tag: Option<&str>,
    expires: u32,
    event: &str,
    auth: Option<&str>,
) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "SUBSCRIBE sip:{u}@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKsub{cseq}x{expires};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{u}@{server}>;tag=s{u}\r\n\
         To: <sip:{u}@{server}>{to_tag}\r\n\
         Call-ID: sub-{u}\r\n\
         CSeq: {cseq} SUBSCRIBE\r\n\
         Contact: <sip:{u}@{me}>\r\n\
         Event: {event}\r\n\
         Accept: application/simple-message-summary\r\n\
         Expires: {expires}\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        u = ua.user,
        me = ua.sip,
    )
}

#[test]
fn subscribe_refresh_unsubscribe_and_expiry() {
    let mut net = start(35600, VM);
    with_messages(&mut net, 1);
    let ua = Ua::new(&mut net, "1001", "1001pass");
    let sb = net.sipbox;
    // Other packages: 489.
    ua.send(
        &mut net,
        &subscribe_text(&ua, sb, 1, None, 600, "conference", None),
    );
    let r = ua.final_response(&mut net);
    assert_eq!(r.status(), 489);
    // Challenged, then accepted.
    ua.send(
        &mut net,
        &subscribe_text(&ua, sb, 2, None, 600, "message-summary", None),
    );
    let ch = ua.final_response(&mut net);
    assert_eq!(ch.status(), 401);
    let www = header(&ch, HeaderName::WwwAuthenticate).unwrap();
    let nonce = auth_param(www, "nonce").unwrap();
    let uri = format!("sip:1001@{sb}");
    let auth = common::digest("1001", "1001pass", "sipbox", &nonce, "SUBSCRIBE", &uri, 1);
    ua.send(
        &mut net,
        &subscribe_text(&ua, sb, 3, None, 600, "message-summary", Some(&auth)),
    );
    let ok = ua.final_response(&mut net);
    assert_eq!(ok.status(), 200, "{ok:?} {:?}", net.log());
    assert_eq!(header(&ok, HeaderName::Expires), Some("600"));
    let tag = ok.to().tag().expect("a dialog tag").to_string();
    let n = notify(&mut net, &ua);
    assert!(n
        .headers()
        .get(&HeaderName::SubscriptionState)
        .unwrap()
        .starts_with("active;expires=600"));
    assert_eq!(n.to().tag(), Some("s1001"));
    assert_eq!(n.from().tag(), Some(tag.as_str()));
    assert!(notify_body(&n).contains("Voice-Message: 1/0"));
    assert_eq!(net.engine.mwi_subscriptions(), 1);
    // Refresh in the dialog.
    ua.send(
        &mut net,
        &subscribe_text(&ua, sb, 4, Some(&tag), 120, "message-summary", Some(&auth)),
    );
    let ok = ua.final_response(&mut net);
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, HeaderName::Expires), Some("120"));
    let n = notify(&mut net, &ua);
    assert!(n
        .headers()
        .get(&HeaderName::SubscriptionState)
        .unwrap()
        .starts_with("active;expires=120"));
    // Unsubscribe: 200 and a terminated NOTIFY.
    ua.send(
        &mut net,
        &subscribe_text(&ua, sb, 5, Some(&tag), 0, "message-summary", Some(&auth)),
    );
    assert_eq!(ua.final_response(&mut net).status(), 200);
    let n = notify(&mut net, &ua);
    assert!(n
        .headers()
        .get(&HeaderName::SubscriptionState)
        .unwrap()
        .starts_with("terminated"));
    assert_eq!(net.engine.mwi_subscriptions(), 0);
    // Expiry: a 60 s subscription ends with a terminated NOTIFY.
    let ua2 = Ua::new(&mut net, "1001", "1001pass");
    ua2.send(
        &mut net,
        &subscribe_text(&ua2, sb, 1, None, 60, "message-summary", None),
    );
    let ch = ua2.final_response(&mut net);
    let nonce = auth_param(header(&ch, HeaderName::WwwAuthenticate).unwrap(), "nonce").unwrap();
    let auth = common::digest("1001", "1001pass", "sipbox", &nonce, "SUBSCRIBE", &uri, 1);
    ua2.send(
        &mut net,
        &subscribe_text(&ua2, sb, 2, None, 60, "message-summary", Some(&auth)),
    );
    let r = ua2.final_response(&mut net);
    assert_eq!(
        r.status(),
        200,
        "{:?}",
        net.log()
            .iter()
            .filter(|l| l.contains("WARN"))
            .collect::<Vec<_>>()
    );
    let _ = notify(&mut net, &ua2);
    net.advance(Duration::from_secs(61));
    let n = notify(&mut net, &ua2);
    assert!(n
        .headers()
        .get(&HeaderName::SubscriptionState)
        .unwrap()
        .starts_with("terminated"));
    assert_eq!(net.engine.mwi_subscriptions(), 0);
}

#[test]
fn an_unanswered_notify_is_retransmitted_then_given_up() {
    let mut net = start(35700, VM);
    let mut alice = Ua::new(&mut net, "1001", "1001pass");
    assert_eq!(alice.register(&mut net, 3600).status(), 200);
    net.advance(Duration::from_secs(40));
    let sent = net.drain(alice.sip);
    let notifies = sent
        .iter()
        .filter(|d| d.bytes.starts_with(b"NOTIFY "))
        .count();
    // Timer E doubling from T1 = 500 ms up to T2 within Timer F (32 s): 11 sends.
    assert!((8..=12).contains(&notifies), "{notifies} NOTIFYs");
    net.advance(Duration::from_secs(40));
    assert!(net.drain(alice.sip).is_empty(), "given up after timer F");
}
