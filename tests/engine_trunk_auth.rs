//! Our own requests challenged by a trunk, on the fake network: a 407 to a Dial's INVITE is
//! acknowledged and answered once (CSeq + 1, same Call-ID and From tag), a 401 to our BYE
//! likewise; a second challenge for the same nonce, or one without a nonce, fails the Dial
//! with CONGESTION and never loops. Also the identity a trunk leg carries: fromuser,
//! fromdomain, the entry's callerid, sendrpid and an outbound proxy.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use sipbox::auth::{self, Credentials};
use sipbox::sip::{HeaderName, Method, Request};
use std::net::SocketAddr;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const PHONES: &str = "
[1001]
type=friend
host=dynamic
context=internal
secret=1001pass
callerid=\"Alice\" <1001>
";

const EXT: &str = "\
[internal]
exten => _9X.,1,Dial(SIP/itsp/${EXTEN:1},5)
 same => n,Verbose(1,dialstatus ${DIALSTATUS})
 same => n,Hangup()
";

fn conf(itsp: &str) -> String {
    format!(
        "[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=guests\n{PHONES}\n\
         [itsp]\ntype=peer\nhost=127.0.0.1\nport=59000\ninsecure=port,invite\n{itsp}\n"
    )
}

fn trunk() -> Ua {
    Ua::at("itsp", "", addr("127.0.0.1:59000"), addr("127.0.0.1:59002"))
}

/// The trunk answers `req` with `status` and extra header lines (To tag added).
fn reply(net: &mut FakeNet, from: SocketAddr, req: &Request, status: u16, extra: &[&str]) {
    let mut r = format!("SIP/2.0 {status} Whatever\r\n");
    for v in req.vias() {
        r.push_str(&format!("Via: {v}\r\n"));
    }
    let to = match req.to().tag() {
        Some(_) => req.to().to_string(),
        None => format!("{};tag=t{status}", req.to()),
    };
    r.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n",
        req.from(),
        req.call_id(),
        req.cseq()
    ));
    for e in extra {
        r.push_str(e);
        r.push_str("\r\n");
    }
    r.push_str("Content-Length: 0\r\n\r\n");
    let sb = net.sipbox;
    net.deliver(from, sb, r.as_bytes());
}

#[track_caller]
fn assert_signed(req: &Request, header: HeaderName, user: &str, pass: &str, nonce: &str) {
    let v = req
        .headers()
        .get(&header)
        .unwrap_or_else(|| panic!("no {header:?}: {req:?}"));
    let c = Credentials::parse(v).expect("credentials");
    assert_eq!((c.username.as_str(), c.nonce.as_str()), (user, nonce));
    assert_eq!(c.uri, req.uri().to_string());
    let ha1 = auth::ha1(user, "itsp.test", pass);
    assert_eq!(
        auth::expected_response(&ha1, req.method().as_str(), &c),
        c.response
    );
}

const PROXY_AUTH: &str =
    "Proxy-Authenticate: Digest realm=\"itsp.test\", nonce=\"abc\", qop=\"auth\"";

#[test]
fn a_407_to_our_invite_and_a_401_to_our_bye_are_answered_once() {
    let mut net = FakeNet::new(
        &conf("defaultuser=acct\nremotesecret=trunkpw\nsecret=inbound-only"),
        EXT,
    );
    let t = trunk();
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = t.request(&mut net, Method::Invite);
    assert!(inv.headers().get(&HeaderName::ProxyAuthorization).is_none());
    reply(&mut net, t.sip, &inv, 407, &[PROXY_AUTH]);
    // The ACK for the 407 (same CSeq number, the 407's To tag), then the INVITE again.
    let ack = t.request(&mut net, Method::Ack);
    assert_eq!(ack.cseq().seq, inv.cseq().seq);
    assert_eq!(ack.to().tag(), Some("t407"));
    let again = t.request(&mut net, Method::Invite);
    assert_eq!(again.cseq().seq, inv.cseq().seq + 1);
    assert_eq!(again.call_id(), inv.call_id());
    assert_eq!(again.from().tag(), inv.from().tag());
    assert_eq!(again.to().tag(), None);
    assert_ne!(again.top_via().branch(), inv.top_via().branch());
    assert_eq!(again.body(), inv.body(), "the same offer");
    assert_signed(
        &again,
        HeaderName::ProxyAuthorization,
        "acct",
        "trunkpw",
        "abc",
    );
    t.respond(&mut net, &again, 180, None);
    t.respond(&mut net, &again, 200, Some(&sdp(t.rtp, &[0], "sendrecv")));
    let ok = a.invite_outcome(&mut net, &mut d);
    assert_eq!(ok.status(), 200, "{ok:?}");
    a.ack(&mut net, &d, None);
    let ack = t.request(&mut net, Method::Ack);
    assert_eq!(
        ack.cseq().seq,
        again.cseq().seq,
        "ACK for the 2xx takes the new CSeq"
    );
    // Hang up: our BYE is challenged with a 401 and sent again signed.
    a.hang_up(&mut net, &mut d);
    let bye = t.request(&mut net, Method::Bye);
    reply(
        &mut net,
        t.sip,
        &bye,
        401,
        &["WWW-Authenticate: Digest realm=\"itsp.test\", nonce=\"b1\""],
    );
    let bye2 = t.request(&mut net, Method::Bye);
    assert_eq!(bye2.cseq().seq, bye.cseq().seq + 1);
    assert_eq!(bye2.call_id(), bye.call_id());
    assert_signed(&bye2, HeaderName::Authorization, "acct", "trunkpw", "b1");
    t.respond(&mut net, &bye2, 200, None);
    net.assert_idle();
}

#[test]
fn a_second_challenge_for_the_same_nonce_fails_the_dial_with_congestion() {
    for (second, why) in [
        (PROXY_AUTH, "same nonce"),
        (
            "Proxy-Authenticate: Digest realm=\"itsp.test\", nonce=\"other\"",
            "new nonce without stale=true",
        ),
    ] {
        let mut net = FakeNet::new(&conf("remotesecret=wrong"), EXT);
        let t = trunk();
        let mut a = Ua::new(&mut net, "1001", "1001pass");
        let offer = sdp(a.rtp, &[0], "sendrecv");
        let mut d = a.call_start(&mut net, "95551234", &offer);
        let inv = t.request(&mut net, Method::Invite);
        reply(&mut net, t.sip, &inv, 407, &[PROXY_AUTH]);
        t.request(&mut net, Method::Ack);
        let again = t.request(&mut net, Method::Invite);
        reply(&mut net, t.sip, &again, 407, &[second]);
        t.request(&mut net, Method::Ack);
        assert!(
            t.try_request(&mut net, Method::Invite).is_none(),
            "{why}: no loop"
        );
        let r = a.invite_outcome(&mut net, &mut d);
        assert_eq!(r.status(), 503, "{why}: {r:?}");
        a.ack_failure(&mut net, &d, &r);
        assert!(
            LogCapture::contains("dialstatus CONGESTION"),
            "{why}: {:?}",
            net.log()
        );
        assert!(
            LogCapture::contains("Failed to authenticate on INVITE"),
            "{why}"
        );
        net.assert_idle();
    }
}

#[test]
fn an_unanswerable_challenge_fails_cleanly() {
    for (cfg, challenge, log) in [
        (
            "remotesecret=pw",
            "Proxy-Authenticate: Digest realm=\"itsp.test\"",
            "cannot answer the 407",
        ),
        (
            "remotesecret=pw",
            "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=AKAv1-MD5",
            "unsupported digest algorithm",
        ),
        ("", PROXY_AUTH, "no credentials for it"),
    ] {
        let mut net = FakeNet::new(&conf(cfg), EXT);
        let t = trunk();
        let mut a = Ua::new(&mut net, "1001", "1001pass");
        let offer = sdp(a.rtp, &[0], "sendrecv");
        let mut d = a.call_start(&mut net, "95551234", &offer);
        let inv = t.request(&mut net, Method::Invite);
        reply(&mut net, t.sip, &inv, 407, &[challenge]);
        t.request(&mut net, Method::Ack);
        assert!(
            t.try_request(&mut net, Method::Invite).is_none(),
            "{challenge}"
        );
        let r = a.invite_outcome(&mut net, &mut d);
        assert_eq!(r.status(), 503);
        a.ack_failure(&mut net, &d, &r);
        assert!(LogCapture::contains(log), "{log}: {:?}", net.log());
        net.assert_idle();
    }
}

#[test]
fn realm_credentials_from_the_authentication_section() {
    let mut net = FakeNet::new(
        &format!(
            "{}\n[authentication]\nauth = realmacct:realmpw@itsp.test\n",
            conf("remotesecret=notthis")
        ),
        EXT,
    );
    let t = trunk();
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = t.request(&mut net, Method::Invite);
    reply(&mut net, t.sip, &inv, 407, &[PROXY_AUTH]);
    let again = t.request(&mut net, Method::Invite);
    assert_signed(
        &again,
        HeaderName::ProxyAuthorization,
        "realmacct",
        "realmpw",
        "abc",
    );
    t.respond(&mut net, &again, 486, None);
    let r = a.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 486);
    a.ack_failure(&mut net, &d, &r);
    net.assert_idle();
}
