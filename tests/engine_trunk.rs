//! Outbound registration (`register =>`) on the fake network and clock: 401 then 200,
//! refresh before expiry, a shorter granted Expires, no Expires (defaultexpiry), 423
//! Min-Expires, 403 stopping, a second challenge failing without a loop, timeouts with
//! backoff and registerattempts, 5xx with Retry-After, `Expires: 0` at shutdown, the
//! `sip show registry` snapshot, and an inbound DID call routed to `/extension`.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use sipbox::auth::{self, Credentials};
use sipbox::sip::{self, HeaderName, Message, Request};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const ITSP: &str = "127.0.0.1:59100";
const HOUR: Duration = Duration::from_secs(3600);

fn itsp() -> SocketAddr {
    ITSP.parse().unwrap()
}

fn conf(general: &str, rest: &str) -> String {
    format!("[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=guests\n{general}\n{rest}")
}

const EXT: &str = "\
[guests]
exten => _X.,1,Verbose(1,guest call ${EXTEN})
 same => n,Congestion()
exten => s,1,Verbose(1,guest call s)
 same => n,Congestion()

[fromitsp]
exten => _X.,1,Verbose(1,itsp call for ${EXTEN} in ${CONTEXT})
 same => n,Busy()
exten => s,1,Verbose(1,itsp call for s in ${CONTEXT})
 same => n,Busy()
";

/// The next REGISTER to the ITSP within `wait`, with when it was sent.
#[track_caller]
fn next_register(net: &mut FakeNet, wait: Duration) -> (Instant, Request) {
    let d = net
        .recv(itsp(), wait)
        .unwrap_or_else(|| panic!("no REGISTER within {wait:?}; log: {:?}", net.log()));
    match sip::parse(&d.bytes).expect("parsable") {
        Message::Request(r) if r.method().as_str() == "REGISTER" => (d.at, r),
        other => panic!("expected a REGISTER, got {other:?}"),
    }
}

/// The ITSP answers `req` with `status` and these extra header lines.
fn reply(net: &mut FakeNet, req: &Request, status: u16, extra: &[String]) {
    let mut r = format!("SIP/2.0 {status} Whatever\r\n");
    for v in req.vias() {
        r.push_str(&format!("Via: {v}\r\n"));
    }
    let to = match req.to().tag() {
        Some(_) => req.to().to_string(),
        None => format!("{};tag=itsp", req.to()),
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
    let to = net.sipbox;
    net.deliver(itsp(), to, r.as_bytes());
}

fn www(nonce: &str) -> String {
    format!("WWW-Authenticate: Digest realm=\"itsp.test\", nonce=\"{nonce}\", qop=\"auth\", algorithm=MD5")
}

/// Checks the Authorization of `req` against `user:pass` in realm itsp.test.
#[track_caller]
fn assert_signed(req: &Request, header: HeaderName, user: &str, pass: &str, nonce: &str) {
    let v = req
        .headers()
        .get(&header)
        .unwrap_or_else(|| panic!("no {header:?} in {req:?}"));
    let c = Credentials::parse(v).expect("well-formed credentials");
    assert_eq!(
        (c.username.as_str(), c.nonce.as_str()),
        (user, nonce),
        "{v}"
    );
    assert_eq!(
        c.uri,
        req.uri().to_string(),
        "digest uri is the Request-URI"
    );
    assert_eq!(c.qop.as_deref(), Some("auth"));
    assert_eq!(c.nc.as_deref(), Some("00000001"));
    let ha1 = auth::ha1(user, "itsp.test", pass);
    assert_eq!(
        auth::expected_response(&ha1, req.method().as_str(), &c),
        c.response
    );
}

fn header(req: &Request, name: HeaderName) -> &str {
    req.headers().get(&name).unwrap_or("")
}

/// Registers through a 401 and answers 200 with `extra`; returns the signed REGISTER.
fn register_ok(net: &mut FakeNet, extra: &[String]) -> Request {
    let (_, first) = next_register(net, Duration::from_secs(1));
    reply(net, &first, 401, &[www("n1")]);
    let (_, signed) = next_register(net, Duration::ZERO);
    reply(net, &signed, 200, extra);
    signed
}

fn state(net: &FakeNet) -> &'static str {
    net.engine.registry(net.now)[0].state
}

#[test]
fn registers_through_a_401_and_refreshes_before_expiry() {
    let mut net = FakeNet::new(
        &conf(&format!("register => 2000:secret@{ITSP}/1234"), ""),
        EXT,
    );
    let (t0, first) = next_register(&mut net, Duration::from_secs(1));
    assert_eq!(first.uri().to_string(), "sip:127.0.0.1:59100");
    assert_eq!(first.to().uri.to_string(), "sip:2000@127.0.0.1");
    assert_eq!(first.from().uri.to_string(), "sip:2000@127.0.0.1");
    assert!(first.from().tag().is_some() && first.to().tag().is_none());
    assert_eq!(
        header(&first, HeaderName::Contact),
        "<sip:1234@127.0.0.1:5060>"
    );
    assert_eq!(header(&first, HeaderName::Expires), "120", "defaultexpiry");
    assert!(first.headers().get(&HeaderName::Authorization).is_none());
    assert_eq!(state(&net), "Request Sent");
    reply(&mut net, &first, 401, &[www("n1")]);
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    assert_eq!(state(&net), "Auth. Sent");
    assert_eq!(
        signed.call_id(),
        first.call_id(),
        "one Call-ID per registration"
    );
    assert_eq!(signed.from().tag(), first.from().tag());
    assert_eq!(signed.cseq().seq, first.cseq().seq + 1);
    assert_ne!(signed.top_via().branch(), first.top_via().branch());
    assert_signed(&signed, HeaderName::Authorization, "2000", "secret", "n1");
    // The registrar grants 60 s to our contact: refreshed 15 s early (chan_sip's guard).
    reply(
        &mut net,
        &signed,
        200,
        &["Contact: <sip:1234@127.0.0.1:5060>;expires=60".into()],
    );
    assert_eq!(state(&net), "Registered");
    let row = &net.engine.registry(net.now)[0];
    assert_eq!((row.host.as_str(), row.username.as_str()), (ITSP, "2000"));
    assert_eq!(row.refresh, 60);
    assert!(LogCapture::contains(
        "SIP registration '2000@127.0.0.1': Auth. Sent -> Registered"
    ));
    let t1 = net.now;
    let (at, refresh) = next_register(&mut net, HOUR);
    assert_eq!(at - t1, Duration::from_secs(45), "refresh at expiry - 15 s");
    assert!(at - t0 < Duration::from_secs(46));
    assert_eq!(refresh.call_id(), first.call_id());
    assert_eq!(refresh.cseq().seq, signed.cseq().seq + 1);
    assert_eq!(
        header(&refresh, HeaderName::Expires),
        "120",
        "asks for its own expiry again"
    );
    // The refresh is challenged with a new nonce and answered again.
    reply(&mut net, &refresh, 401, &[www("n2")]);
    let (_, signed2) = next_register(&mut net, Duration::ZERO);
    assert_signed(&signed2, HeaderName::Authorization, "2000", "secret", "n2");
}

#[test]
fn granted_expiry_from_expires_header_or_defaultexpiry() {
    // Expires header only (no contact parameter): honoured.
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}~600"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    assert_eq!(header(&r, HeaderName::Expires), "600", "~expiry");
    assert_eq!(
        header(&r, HeaderName::Contact),
        "<sip:s@127.0.0.1:5060>",
        "no /extension: s"
    );
    reply(&mut net, &r, 200, &["Expires: 100".into()]);
    let t = net.now;
    let (at, _) = next_register(&mut net, HOUR);
    assert_eq!(at - t, Duration::from_secs(85));
    // Neither: defaultexpiry (here 90 s).
    let mut net = FakeNet::new(
        &conf(&format!("defaultexpiry=90\nregister => 2000:pw@{ITSP}"), ""),
        EXT,
    );
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 200, &[]);
    let t = net.now;
    let (at, _) = next_register(&mut net, HOUR);
    assert_eq!(at - t, Duration::from_secs(75));
}

#[test]
fn interval_too_brief_is_met_with_min_expires() {
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}~60"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 423, &["Min-Expires: 300".into()]);
    let (_, again) = next_register(&mut net, Duration::ZERO);
    assert_eq!(header(&again, HeaderName::Expires), "300");
    assert_eq!(again.cseq().seq, r.cseq().seq + 1);
    reply(&mut net, &again, 200, &["Expires: 300".into()]);
    assert_eq!(state(&net), "Registered");
    // A 423 without a larger Min-Expires cannot be met: Rejected, and nothing more is sent.
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}~60"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 423, &["Min-Expires: 30".into()]);
    assert_eq!(state(&net), "Rejected");
    assert!(net.recv(itsp(), HOUR).is_none());
}

#[test]
fn forbidden_stops_for_good() {
    let mut net = FakeNet::new(&conf(&format!("register => 2000:wrong@{ITSP}"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 401, &[www("n1")]);
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    reply(&mut net, &signed, 403, &[]);
    assert_eq!(state(&net), "No Authentication");
    assert!(LogCapture::contains(
        "Forbidden - wrong password on authentication for REGISTER for '2000@127.0.0.1'"
    ));
    assert!(net.recv(itsp(), HOUR * 5).is_none(), "403 stops");
    assert_eq!(net.engine.table_sizes().client_transactions, 0);
}

#[test]
fn a_second_challenge_is_a_failure_retried_with_backoff_never_a_loop() {
    let mut net = FakeNet::new(&conf(&format!("register => 2000:wrong@{ITSP}"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 401, &[www("n1")]);
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    // The same nonce again: not answered a second time.
    reply(&mut net, &signed, 401, &[www("n1")]);
    assert!(net.quiet(itsp()), "no second answer to the same nonce");
    assert_eq!(state(&net), "No Authentication");
    assert!(LogCapture::contains(
        "Failed to authenticate on REGISTER to '2000@127.0.0.1' (Tries 1)"
    ));
    // A new nonce without stale=true is a refusal of our credentials, not answered either.
    let t = net.now;
    let (at, again) = next_register(&mut net, HOUR);
    assert_eq!(
        at - t,
        Duration::from_secs(20),
        "first retry after registertimeout"
    );
    assert!(again.headers().get(&HeaderName::Authorization).is_none());
    reply(&mut net, &again, 401, &[www("n2")]);
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    reply(&mut net, &signed, 401, &[www("n3")]);
    assert!(net.quiet(itsp()));
    let t = net.now;
    let (at, _) = next_register(&mut net, HOUR);
    assert_eq!(at - t, Duration::from_secs(40), "backoff doubles");
    // stale=true with a new nonce: the credentials were right, answered again.
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 401, &[www("n1")]);
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    reply(
        &mut net,
        &signed,
        401,
        &[format!("{}, stale=true", www("n2"))],
    );
    let (_, signed2) = next_register(&mut net, Duration::ZERO);
    assert_signed(&signed2, HeaderName::Authorization, "2000", "pw", "n2");
}

#[test]
fn malformed_challenges_and_missing_credentials_fail_cleanly() {
    for bad in [
        "WWW-Authenticate: Digest realm=\"itsp.test\"".to_string(),
        "WWW-Authenticate: Digest realm=\"itsp.test\", nonce=\"x\", algorithm=MD5-sess".into(),
        "WWW-Authenticate: Basic realm=\"x\"".into(),
    ] {
        let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}"), ""), EXT);
        let (_, r) = next_register(&mut net, Duration::from_secs(1));
        reply(&mut net, &r, 401, std::slice::from_ref(&bad));
        assert!(net.quiet(itsp()), "{bad}");
        assert_eq!(state(&net), "No Authentication", "{bad}");
        assert!(LogCapture::contains("cannot answer the 401"), "{bad}");
    }
    // No secret anywhere: the challenge cannot be answered.
    let mut net = FakeNet::new(&conf(&format!("register => 2000@{ITSP}"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 401, &[www("n1")]);
    assert!(net.quiet(itsp()));
    assert!(LogCapture::contains(
        "no credentials answer realm 'itsp.test'"
    ));
}

#[test]
fn sha256_and_proxy_challenges_and_authentication_section() {
    // [authentication] credentials for the realm win over the line's; SHA-256 is preferred.
    let mut net = FakeNet::new(
        &conf(
            &format!("register => 2000:linepw@{ITSP}"),
            "[authentication]\nauth = realmuser:realmpw@itsp.test\n",
        ),
        EXT,
    );
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(
        &mut net,
        &r,
        407,
        &[
            "Proxy-Authenticate: Digest realm=\"itsp.test\", nonce=\"m\", algorithm=MD5".into(),
            "Proxy-Authenticate: Digest realm=\"itsp.test\", nonce=\"s\", algorithm=SHA-256, qop=\"auth\"".into(),
        ],
    );
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    let v = header(&signed, HeaderName::ProxyAuthorization);
    assert!(
        v.contains("username=\"realmuser\"") && v.contains("algorithm=SHA-256"),
        "{v}"
    );
    assert!(v.contains("nonce=\"s\""), "{v}");
    assert!(signed.headers().get(&HeaderName::Authorization).is_none());
}

#[test]
fn timeouts_retry_with_backoff_until_registerattempts() {
    let mut net = FakeNet::new(
        &conf(
            &format!("registerattempts=3\nregister => 2000:pw@{ITSP}"),
            "",
        ),
        EXT,
    );
    let (t0, first) = next_register(&mut net, Duration::from_secs(1));
    // Nothing answers; UDP retransmissions of the same REGISTER (timer E) are skipped.
    let mut news = vec![(t0, first.cseq().seq)];
    while let Some(d) = net.recv(itsp(), HOUR) {
        if let Ok(Message::Request(r)) = sip::parse(&d.bytes) {
            if news.last().map(|n| n.1) != Some(r.cseq().seq) {
                news.push((d.at, r.cseq().seq));
            }
        }
    }
    let gaps: Vec<u64> = news
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs())
        .collect();
    // registertimeout (20 s) then the backoff (20 s, then 40 s).
    assert_eq!(gaps, [40, 60], "{news:?}");
    assert_eq!(state(&net), "Failed");
    assert!(LogCapture::contains(
        "Registration for '2000@127.0.0.1' timed out, trying again (Attempt #2)"
    ));
    assert!(LogCapture::contains(
        "Giving up forever trying to register '2000@127.0.0.1'"
    ));
}

#[test]
fn server_errors_are_retried_after_retry_after() {
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 503, &["Retry-After: 120".into()]);
    assert_eq!(state(&net), "Unregistered");
    let t = net.now;
    let (at, again) = next_register(&mut net, HOUR);
    assert_eq!(at - t, Duration::from_secs(120));
    reply(&mut net, &again, 500, &[]);
    let t = net.now;
    let (at, _) = next_register(&mut net, HOUR);
    assert_eq!(at - t, Duration::from_secs(40));
    // A 404 is final.
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 404, &[]);
    assert_eq!(state(&net), "Rejected");
    assert!(net.recv(itsp(), HOUR).is_none());
}

#[test]
fn shutdown_unregisters_with_expires_zero_answering_its_challenge() {
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}/1234"), ""), EXT);
    register_ok(&mut net, &["Expires: 120".into()]);
    assert!(!net.engine.unregistering());
    let now = net.now;
    net.engine.begin_shutdown(now);
    let (_, bye) = next_register(&mut net, Duration::ZERO);
    assert_eq!(header(&bye, HeaderName::Expires), "0");
    assert!(net.engine.unregistering());
    reply(&mut net, &bye, 401, &[www("z")]);
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    assert_eq!(header(&signed, HeaderName::Expires), "0");
    assert_signed(&signed, HeaderName::Authorization, "2000", "pw", "z");
    reply(&mut net, &signed, 200, &[]);
    assert!(!net.engine.unregistering());
    assert_eq!(state(&net), "Unregistered");
    assert!(
        net.recv(itsp(), HOUR).is_none(),
        "no refresh after shutdown"
    );
    // Never registered: nothing to send, nothing to wait for.
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}"), ""), EXT);
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    reply(&mut net, &r, 403, &[]);
    let now = net.now;
    net.engine.begin_shutdown(now);
    assert!(!net.engine.unregistering());
    assert!(net.quiet(itsp()));
}

fn invite_from_itsp(net: &mut FakeNet, ruri_user: &str, n: u32) {
    let sb = net.sipbox;
    let text = format!(
        "INVITE sip:{ruri_user}@{sb} SIP/2.0\r\nVia: SIP/2.0/UDP {ITSP};branch=z9hG4bKdid{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:+15551234@itsp.test>;tag=f{n}\r\nTo: <sip:{ruri_user}@{sb}>\r\n\
         Call-ID: did-{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:carrier@{ITSP}>\r\nContent-Length: 0\r\n\r\n"
    );
    net.deliver(itsp(), sb, text.as_bytes());
}

fn final_status(net: &mut FakeNet) -> u16 {
    loop {
        let d = net.recv(itsp(), Duration::from_secs(5)).expect("an answer");
        if let Ok(Message::Response(r)) = sip::parse(&d.bytes) {
            if r.status() >= 200 && r.cseq().method.as_str() == "INVITE" {
                return r.status();
            }
        }
    }
}

#[test]
fn inbound_did_calls_land_on_the_registrations_extension_in_the_peers_context() {
    // peer? form: the peer's context; /extension wins over the Request-URI user.
    let mut net = FakeNet::new(
        &conf(
            &format!("register => itsp?2000:pw@{ITSP}/1234"),
            "[itsp]\ntype=peer\nhost=127.0.0.1\nport=59100\ncontext=fromitsp\nsecret=pw\n",
        ),
        EXT,
    );
    register_ok(&mut net, &[]);
    invite_from_itsp(&mut net, "1234", 1);
    assert_eq!(final_status(&mut net), 486, "{:?}", net.log());
    assert!(
        LogCapture::contains("itsp call for 1234 in fromitsp"),
        "{:?}",
        net.log()
    );
    let once = LogCapture::count("itsp call for 1234 in fromitsp");
    // The ITSP may rewrite the Request-URI to the registered user: still /extension.
    invite_from_itsp(&mut net, "2000", 2);
    assert_eq!(final_status(&mut net), 486);
    assert_eq!(
        LogCapture::count("itsp call for 1234 in fromitsp"),
        2 * once
    );
    // Another number from that address is not the registration's: it is the peer [itsp]
    // by address, challenged as chan_sip does without insecure=invite.
    invite_from_itsp(&mut net, "9999", 3);
    assert_eq!(final_status(&mut net), 407);
}

#[test]
fn inbound_did_without_extension_uses_the_request_uri_user_or_s() {
    let mut net = FakeNet::new(&conf(&format!("register => 2000:pw@{ITSP}"), ""), EXT);
    register_ok(&mut net, &[]);
    // No peer: the [general] context (here guests); no /extension: the Request-URI user.
    invite_from_itsp(&mut net, "2000", 1);
    assert_eq!(final_status(&mut net), 503);
    assert!(LogCapture::contains("guest call 2000"), "{:?}", net.log());
    invite_from_itsp(&mut net, "s", 2);
    assert_eq!(final_status(&mut net), 503);
    assert!(LogCapture::contains("guest call s"), "{:?}", net.log());
}

#[test]
fn peer_settings_serve_the_register_line() {
    // peer?: the peer's host:port is where REGISTER goes, its remotesecret answers, its
    // fromdomain names the AOR, its outbound proxy carries it with a Route.
    let mut net = FakeNet::new(
        &conf(
            "register => itsp?2000@registrar.example/1234",
            &format!(
                "[itsp]\ntype=peer\nhost=127.0.0.1\nport=59200\nremotesecret=remote\n\
                 fromdomain=itsp.test\noutboundproxy={ITSP}\n"
            ),
        ),
        EXT,
    );
    let (_, r) = next_register(&mut net, Duration::from_secs(1));
    assert_eq!(
        r.to().uri.to_string(),
        "sip:2000@itsp.test",
        "fromdomain names the AOR"
    );
    assert_eq!(r.uri().to_string(), "sip:itsp.test");
    assert_eq!(header(&r, HeaderName::Route), "<sip:127.0.0.1:59100;lr>");
    reply(&mut net, &r, 401, &[www("n")]);
    let (_, signed) = next_register(&mut net, Duration::ZERO);
    assert_signed(&signed, HeaderName::Authorization, "2000", "remote", "n");
}
