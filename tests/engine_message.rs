//! Text messages (RFC 3428) on the fake network: an out-of-dialog MESSAGE is challenged
//! (auth_message_requests), answered 202 and runs the dialplan in outofcall_message_context
//! with MESSAGE(to/from/body); MessageSend delivers it to a registered phone and sets
//! MESSAGE_SEND_STATUS (SUCCESS, FAILURE, INVALID_PROTOCOL); 405 when not accepted, 415,
//! 413, 404; an in-dialog MESSAGE is relayed across the bridge.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use sipbox::sip::{HeaderName, Method};
use std::net::SocketAddr;

const SIP: &str = "\
[general]
bindaddr=127.0.0.1
context=default
allowguest=no
realm=sipbox
accept_outofcall_message=yes
outofcall_message_context=messages

[phone](!)
type=friend
host=dynamic
context=internal

[1001](phone)
secret=1001pass

[1002](phone)
secret=1002pass

[1003](phone)
secret=1003pass
";

const EXT: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()

[messages]
exten => _100X,1,Verbose(1,msg to ${MESSAGE(to)} from ${MESSAGE(from)} body ${MESSAGE(body)})
 same => n,Set(MESSAGE(body)=fwd: ${MESSAGE(body)})
 same => n,MessageSend(sip:${EXTEN},${CALLERID(num)})
 same => n,Verbose(1,status ${EXTEN} ${MESSAGE_SEND_STATUS})
 same => n,Hangup()
exten => 900,1,MessageSend(pjsip:1002)
 same => n,Verbose(1,status 900 ${MESSAGE_SEND_STATUS})
";

fn message_text(
    ua: &Ua,
    server: SocketAddr,
    (exten, cseq): (&str, u32),
    (ctype, body): (&str, &str),
    auth: Option<&str>,
) -> String {
    let auth = auth
        .map(|a| format!("Proxy-Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "MESSAGE sip:{exten}@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKmsg{exten}x{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:{u}@{server}>;tag=m{u}\r\n\
         To: <sip:{exten}@{server}>\r\n\
         Call-ID: msg-{u}-{exten}-{cseq}\r\n\
         CSeq: {cseq} MESSAGE\r\n\
         {auth}Content-Type: {ctype}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len(),
        u = ua.user,
        me = ua.sip,
    )
}

/// Sends a text to `exten`, answering the 407: the final status.
fn send_text(net: &mut FakeNet, ua: &Ua, exten: &str, body: &str) -> u16 {
    let sb = net.sipbox;
    let plain = ("text/plain", body);
    ua.send(net, &message_text(ua, sb, (exten, 1), plain, None));
    let ch = ua.final_response(net);
    assert_eq!(ch.status(), 407, "{ch:?}");
    let nonce = auth_param(header(&ch, HeaderName::ProxyAuthenticate).unwrap(), "nonce").unwrap();
    let uri = format!("sip:{exten}@{sb}");
    let auth = common::digest(&ua.user, &ua.password, "sipbox", &nonce, "MESSAGE", &uri, 1);
    ua.send(net, &message_text(ua, sb, (exten, 2), plain, Some(&auth)));
    ua.final_response(net).status()
}

#[test]
fn a_message_runs_the_dialplan_and_message_send_delivers_it() {
    let mut net = FakeNet::new(SIP, EXT);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let a = Ua::new(&mut net, "1001", "1001pass");
    assert_eq!(send_text(&mut net, &a, "1002", "hello there"), 202);
    assert!(
        net.logged("msg to sip:1002@") && net.logged("body hello there"),
        "{:?}",
        net.log()
    );
    assert!(net.logged("from \"Alice\" <sip:1001@"), "{:?}", net.log());
    let m = b.request(&mut net, Method::Message);
    assert_eq!(m.content_type(), Some("text/plain;charset=UTF-8"));
    assert_eq!(m.body(), b"fwd: hello there");
    assert_eq!(m.from().uri.user.as_deref(), Some("1001"));
    b.respond(&mut net, &m, 200, None);
    assert!(net.logged("status 1002 SUCCESS"));
    // Not registered: FAILURE; another technology: INVALID_PROTOCOL.
    assert_eq!(send_text(&mut net, &a, "1003", "anyone?"), 202);
    assert!(net.logged("status 1003 FAILURE"), "{:?}", net.log());
    assert_eq!(send_text(&mut net, &a, "900", "x"), 202);
    assert!(net.logged("status 900 INVALID_PROTOCOL"), "{:?}", net.log());
    // No such extension: 404.
    assert_eq!(send_text(&mut net, &a, "555", "x"), 404);
    net.assert_idle();
}

#[test]
fn refusals_405_415_413_and_a_wrong_password() {
    let mut net = FakeNet::new(SIP, EXT);
    let a = Ua::new(&mut net, "1001", "1001pass");
    let sb = net.sipbox;
    a.send(
        &mut net,
        &message_text(&a, sb, ("1002", 1), ("text/html", "<b>x</b>"), None),
    );
    assert_eq!(a.final_response(&mut net).status(), 415);
    let big = "x".repeat(5000);
    a.send(
        &mut net,
        &message_text(&a, sb, ("1002", 2), ("text/plain", &big), None),
    );
    assert_eq!(a.final_response(&mut net).status(), 413);
    let wrong = Ua::new(&mut net, "1001", "nope");
    assert_eq!(send_text(&mut net, &wrong, "1002", "x"), 403);
    // accept_outofcall_message defaults to no: 405, as chan_sip.
    let off = SIP.replace("accept_outofcall_message=yes\n", "");
    let mut net = FakeNet::new(&off, EXT);
    let a = Ua::new(&mut net, "1001", "1001pass");
    let sb = net.sipbox;
    a.send(
        &mut net,
        &message_text(&a, sb, ("1002", 1), ("text/plain", "x"), None),
    );
    let r = a.final_response(&mut net);
    assert_eq!(r.status(), 405);
    assert!(header(&r, HeaderName::Allow).unwrap().contains("MESSAGE"));
}

#[test]
fn an_in_dialog_message_crosses_the_bridge() {
    let mut net = FakeNet::new(SIP, EXT);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "1002", &sdp(a.rtp, &[0], "sendrecv"));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 200, Some(&sdp(b.rtp, &[0], "sendrecv")));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    b.request(&mut net, Method::Ack);
    a.in_dialog_typed(&mut net, &mut d, "MESSAGE", Some(("text/plain", "in call")));
    let m = b.request(&mut net, Method::Message);
    assert_eq!(m.call_id(), inv.call_id(), "in B's dialog");
    assert_eq!(m.body(), b"in call");
    b.respond(&mut net, &m, 200, None);
    assert_eq!(a.final_response(&mut net).status(), 200);
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}
