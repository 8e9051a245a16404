//! The real binary on 127.0.0.1, driven by std UdpSockets: register, refresh, unregister,
//! wrong password, unknown user, garbage, bad requests.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::*;
use std::time::Duration;

fn challenge(peer: &Peer, sb: &Sipbox, user: &str, call_id: &str, cseq: u32, expires: u32) -> Msg {
    peer.send(
        sb.addr,
        register(peer, sb.addr, user, call_id, cseq, expires, None).as_bytes(),
    );
    let r = peer.recv_final().expect("401");
    assert_eq!(r.status(), 401, "{r:?}");
    r
}

fn register_with(
    peer: &Peer,
    sb: &Sipbox,
    user: &str,
    pass: &str,
    call_id: &str,
    cseq: u32,
    expires: u32,
) -> Msg {
    let ch = challenge(peer, sb, user, call_id, cseq, expires);
    let nonce = ch.auth_param("WWW-Authenticate", "nonce").unwrap();
    let realm = ch.auth_param("WWW-Authenticate", "realm").unwrap();
    let uri = format!("sip:{}", sb.addr);
    let auth = digest(user, pass, &realm, &nonce, "REGISTER", &uri, 1);
    peer.send(
        sb.addr,
        register(peer, sb.addr, user, call_id, cseq + 1, expires, Some(&auth)).as_bytes(),
    );
    peer.recv_final().expect("final response")
}

#[test]
fn register_refresh_and_unregister() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let peer = Peer::new();
    let ch = challenge(&peer, &sb, "1001", "reg1", 1, 300);
    let www = ch.header("WWW-Authenticate").unwrap();
    assert!(www.starts_with("Digest "), "{www}");
    assert!(
        www.contains("realm=\"sipbox\"")
            && www.contains("qop=\"auth\"")
            && www.contains("algorithm=MD5"),
        "{www}"
    );
    assert!(
        ch.header("To").unwrap().contains("tag="),
        "final responses carry a To tag"
    );
    let via = ch.header("Via").unwrap();
    assert!(
        via.contains(&format!("rport={}", peer.addr.port())) && via.contains("received=127.0.0.1"),
        "{via}"
    );

    let ok = register_with(&peer, &sb, "1001", "1001pass", "reg2", 1, 300);
    assert_eq!(ok.status(), 200, "{ok:?}");
    let contact = ok.header("Contact").unwrap();
    assert!(
        contact.contains(&format!("sip:1001@{}", peer.addr)) && contact.contains("expires=300"),
        "{contact}"
    );
    assert!(sb.wait_log("registered '1001'", Duration::from_secs(2)));

    // refresh with a lifetime below minexpiry: 423 with Min-Expires
    let brief = register_with(&peer, &sb, "1001", "1001pass", "reg3", 1, 10);
    assert_eq!(brief.status(), 423);
    assert_eq!(brief.header("Min-Expires"), Some("60"));

    // above maxexpiry: clamped
    let long = register_with(&peer, &sb, "1001", "1001pass", "reg4", 1, 99999);
    assert_eq!(long.status(), 200);
    assert!(
        long.header("Contact").unwrap().contains("expires=3600"),
        "{long:?}"
    );

    // Expires: 0 removes
    let gone = register_with(&peer, &sb, "1001", "1001pass", "reg5", 1, 0);
    assert_eq!(gone.status(), 200);
    assert!(gone.header("Contact").is_none(), "{gone:?}");
    assert!(sb.wait_log("unregistered '1001'", Duration::from_secs(2)));
}

#[test]
fn wrong_password_and_unknown_user_look_alike() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let peer = Peer::new();
    let wrong = register_with(&peer, &sb, "1001", "guess", "w1", 1, 120);
    let unknown = register_with(&peer, &sb, "9999", "guess", "w2", 1, 120);
    assert_eq!(wrong.status(), 403);
    assert_eq!(unknown.status(), 403);
    assert_eq!(wrong.start, unknown.start);
    let names = |m: &Msg| {
        m.headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&wrong), names(&unknown));
    // a static peer may not register even with the right password
    let trunk = register_with(&peer, &sb, "trunk", "trunkpass", "w3", 1, 120);
    assert_eq!(trunk.status(), 403);
}

#[test]
fn garbage_does_not_stop_good_traffic() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let peer = Peer::new();
    peer.timeout(Duration::from_millis(300));
    for junk in [
        &b"\x00\x01\x02garbage"[..],
        b"",
        b"SIP/2.0",
        b"INVITE\r\n\r\n",
        &[0xffu8; 3000][..],
    ] {
        peer.send(sb.addr, junk);
    }
    while peer.recv().is_some() {}
    peer.timeout(Duration::from_secs(3));
    let ok = register_with(&peer, &sb, "1002", "1002pass", "g1", 1, 120);
    assert_eq!(ok.status(), 200);
}

#[test]
fn bad_requests_get_the_right_error() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    let peer = Peer::new();
    let base = |method: &str, cseq_method: &str, extra: &str, mf: &str| {
        format!(
            "{method} sip:1001@{s} SIP/2.0\r\nVia: SIP/2.0/UDP {p};branch=z9hG4bK{method}{mf};rport\r\nMax-Forwards: {mf}\r\n\
             From: <sip:x@{p}>;tag=1\r\nTo: <sip:1001@{s}>\r\nCall-ID: bad-{method}-{mf}\r\nCSeq: 1 {cseq_method}\r\n{extra}Content-Length: 0\r\n\r\n",
            s = sb.addr,
            p = peer.addr
        )
    };
    let ask = |text: String| {
        peer.send(sb.addr, text.as_bytes());
        peer.recv_final().expect("an answer")
    };
    let r = ask(base("OPTIONS", "OPTIONS", "", "70"));
    assert_eq!(r.status(), 200);
    assert!(r.header("Allow").unwrap().contains("INVITE"), "{r:?}");
    let r = ask(base("SUBSCRIBE", "SUBSCRIBE", "", "70"));
    assert_eq!(r.status(), 405);
    assert!(r.header("Allow").is_some());
    let r = ask(base("FOO", "FOO", "", "70"));
    assert_eq!(r.status(), 501);
    let r = ask(base("REGISTER", "REGISTER", "Require: 100rel-x\r\n", "70"));
    assert_eq!(r.status(), 420);
    assert_eq!(r.header("Unsupported"), Some("100rel-x"));
    let r = ask(base("REGISTER", "REGISTER", "", "0"));
    assert_eq!(r.status(), 483);
    let r = ask(base("REGISTER", "INVITE", "", "70"));
    assert_eq!(r.status(), 400);
    assert!(r.start.contains("CSeq"), "{}", r.start);
    let r = ask(base("REGISTER", "REGISTER", "", "70").replace("sip:1001@", "tel:+1"));
    assert_eq!(r.status(), 416);
    let r = ask(base("REGISTER", "REGISTER", "", "70").replace("Via: ", "Via: SIP/2.0/UDP ;;;, "));
    assert_eq!(r.status(), 400);
    assert!(r.start.contains("Via"), "{}", r.start);
}

#[test]
fn sigterm_stops_cleanly() {
    let sb = Sipbox::start(TEST_SIP_CONF, TEST_EXTENSIONS_CONF);
    assert_eq!(sb.stop(), Some(0));
}
