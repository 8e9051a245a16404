//! Message-level tests: parse → serialize → parse round trips, framing, error answers.

use super::*;

pub(crate) const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn req(s: &str) -> Request {
    match parse(s.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn round_trip(s: &str) -> Message {
    let m = parse(s.as_bytes()).unwrap();
    let again = parse(&m.to_bytes()).unwrap();
    assert_eq!(again, m);
    m
}

fn err(s: &str) -> ParseError {
    parse(s.as_bytes()).expect_err("should not parse")
}

#[test]
fn typical_invite() {
    let r = req(INVITE);
    assert_eq!(r.method(), &Method::Invite);
    assert_eq!(r.uri().user.as_deref(), Some("bob"));
    assert_eq!(r.top_via().branch(), Some("z9hG4bK776asdhds"));
    assert_eq!(r.top_via().rport(), Some(None));
    assert_eq!(r.from().tag(), Some("1928301774"));
    assert_eq!(r.from().display.as_deref(), Some("Alice"));
    assert_eq!(r.to().tag(), None);
    assert_eq!(r.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
    assert_eq!(r.cseq().seq, 314159);
    assert_eq!(r.max_forwards(), Some(70));
    assert_eq!(r.body(), b"v=0\n");
    assert_eq!(r.content_type(), Some("application/sdp"));
    assert_eq!(r.contacts().unwrap().len(), 1);
    round_trip(INVITE);
    assert_eq!(String::from_utf8(r.to_bytes()).unwrap(), INVITE);
}

#[test]
fn compact_forms_and_folding() {
    let s = "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\n\
f: <sip:x@y>;tag=1\r\nt: <sip:a@b>\r\ni: cid\r\nCSEQ:  2\r\n\tOPTIONS\r\n\
m: \"A, B\" <sip:a@c>, <sip:d@e>\r\nl: 0\r\n\r\n";
    let m = round_trip(s);
    let Message::Request(r) = m else {
        panic!("request expected")
    };
    assert_eq!(r.top_via().branch(), Some("z9hG4bK1"));
    assert_eq!(r.cseq().seq, 2);
    assert_eq!(r.contacts().unwrap().len(), 2);
    let out = String::from_utf8(r.to_bytes()).unwrap();
    assert!(out.contains("\r\nCall-ID: cid\r\n"), "{out}");
    assert!(
        out.contains("\r\nVia: SIP/2.0/UDP h ;branch=z9hG4bK1\r\n"),
        "{out}"
    );
}

#[test]
fn framing() {
    let base = INVITE.replace("Content-Length: 4\r\n", "");
    let r = req(&format!("{base}extra"));
    assert_eq!(r.body(), b"v=0\nextra");
    let r = req(&INVITE.replace("Content-Length: 4", "Content-Length: 2"));
    assert_eq!(r.body(), b"v=");
    for cl in ["5", "-1", "x", "4294967296", "99999999999999999999"] {
        let e = err(&INVITE.replace("Content-Length: 4", &format!("Content-Length: {cl}")));
        assert_eq!(e.status(), Some(400), "{cl}");
        assert_eq!(e.reason(), "Bad Content-Length header", "{cl}");
    }
}

#[test]
fn request_errors_name_the_header() {
    let cases = [
        (
            "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n",
            "",
            "Missing Call-ID header",
        ),
        ("CSeq: 314159 INVITE", "CSeq: 314159 BYE", "Bad CSeq header"),
        (
            "CSeq: 314159 INVITE",
            "CSeq: 4294967296 INVITE",
            "Bad CSeq header",
        ),
        (
            "Max-Forwards: 70",
            "Max-Forwards: seventy",
            "Bad Max-Forwards header",
        ),
        (
            "branch=z9hG4bK776asdhds",
            "branch=z9hG4bK",
            "Bad Via header",
        ),
        ("Bob <sip", "Bob, Jr <sip", "Bad To header"),
        (
            "sip:bob@biloxi.example.com SIP",
            "sip:bob@biloxi.example.com?x=y SIP",
            "Bad Request-URI",
        ),
        ("INVITE sip", "INVITE  sip", "Bad Request Line"),
        ("SIP/2.0\r\nVia", "SIP/3.0\r\nVia", "Version Not Supported"),
    ];
    for (from, to, reason) in cases {
        let e = err(&INVITE.replacen(from, to, 1));
        assert_eq!(e.reason(), reason);
        let status = if reason.starts_with("Version") {
            505
        } else {
            400
        };
        assert_eq!(e.status(), Some(status), "{reason}");
        let resp = String::from_utf8(e.error_response().unwrap()).unwrap();
        assert!(
            resp.starts_with(&format!("SIP/2.0 {status} {reason}\r\n")),
            "{resp}"
        );
        assert!(resp.contains("\r\nVia: SIP/2.0/UDP pc33"), "{resp}");
        assert!(resp.ends_with("Content-Length: 0\r\n\r\n"));
    }
    let e = err(&INVITE.replace("Max-Forwards: 70", "Max-Forwards: seventy"));
    assert!(e.top_via().is_some());
    let resp = e
        .error_response_with(Some("SIP/2.0/UDP x;rport=1;received=1.2.3.4"), Some("t1"))
        .unwrap();
    let resp = String::from_utf8(resp).unwrap();
    assert!(resp.contains("Via: SIP/2.0/UDP x;rport=1;received=1.2.3.4\r\n"));
    assert!(resp.contains("To: Bob <sip:bob@biloxi.example.com>;tag=t1\r\n"));
    // ACK is never answered.
    let ack = INVITE
        .replace("INVITE sip", "ACK sip")
        .replace("314159 INVITE", "314159 ACK")
        .replace("Max-Forwards: 70", "Max-Forwards: x");
    assert_eq!(err(&ack).status(), None);
}

#[test]
fn drops() {
    for s in [
        "",
        "\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "SIP/2.0 4294967301 Huge\r\n\r\n",
        "SIP/2.0 099 Low\r\n\r\n",
        "SIP/2.0 700 High\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n",
    ] {
        assert_eq!(err(s).status(), None, "{s:?}");
    }
    let big = vec![b'a'; MAX_MESSAGE + 1];
    assert!(matches!(parse(&big), Err(ParseError::Garbage(_))));
}

#[test]
fn response_for_request() {
    let r = req(&INVITE.replace(
        "Via: SIP/2.0/UDP pc33",
        "Via: SIP/2.0/UDP p1;branch=z9hG4bKp, SIP/2.0/UDP p2;branch=z9hG4bKq\r\nVia: SIP/2.0/UDP pc33",
    ));
    assert_eq!(r.vias().len(), 3);
    let mut resp = Response::for_request(&r, 180, "Ringing", Some("abc"));
    assert_eq!(resp.to().tag(), Some("abc"));
    let mut top = resp.top_via().clone();
    top.set_param("received", Some("192.0.2.9".into()));
    resp.set_top_via(&top);
    resp.push_header(HeaderName::Contact, "<sip:pbx@192.0.2.1>");
    let bytes = resp.to_bytes();
    let Ok(Message::Response(p)) = parse(&bytes) else {
        panic!("response should parse: {}", String::from_utf8_lossy(&bytes))
    };
    assert_eq!(p.status(), 180);
    assert_eq!(p.reason(), "Ringing");
    assert_eq!(p.vias().len(), 3);
    assert_eq!(p.top_via().received(), Some("192.0.2.9"));
    assert_eq!(p.vias()[1].host, "p2");
    assert_eq!(p.to().tag(), Some("abc"));
    assert_eq!(p.cseq(), r.cseq());
    assert_eq!(p.call_id(), r.call_id());
    assert_eq!(p.vias(), resp.vias());
    // A To that already has a tag keeps it.
    let r2 = req(&INVITE.replace("biloxi.example.com>\r\n", "biloxi.example.com>;tag=x\r\n"));
    assert_eq!(
        Response::for_request(&r2, 200, "OK", Some("y")).to().tag(),
        Some("x")
    );
}

#[test]
fn builder() {
    let uri = Uri::parse("sip:1002@[2001:db8::1]:5062").unwrap();
    let mut r = Request::new(Method::Invite, uri);
    r.push_header(
        HeaderName::Via,
        "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb1;rport",
    );
    r.push_header(HeaderName::MaxForwards, "70");
    r.push_header(HeaderName::From, "<sip:1001@192.0.2.1>;tag=f1");
    r.push_header(HeaderName::To, "<sip:1002@[2001:db8::1]>");
    r.push_header(HeaderName::CallId, "c1@192.0.2.1");
    r.push_header(HeaderName::CSeq, "1 INVITE");
    r.push_header(HeaderName::ContentLength, "999");
    r.set_body(Some("application/sdp"), b"v=0\r\n".to_vec());
    assert_eq!(r.top_via().branch(), Some("z9hG4bKb1"));
    assert_eq!(r.from().tag(), Some("f1"));
    let p = req(std::str::from_utf8(&r.to_bytes()).unwrap());
    assert_eq!(p.to_bytes(), r.to_bytes());
    assert_eq!(p.vias(), r.vias());
    assert_eq!(p.uri().host, "[2001:db8::1]");
    assert_eq!(p.body(), b"v=0\r\n");
    assert_eq!(p.headers().count(&HeaderName::ContentLength), 1);
}

#[test]
fn no_blank_line_and_keepalive_prefix() {
    let s = INVITE.replace("Content-Length: 4\r\n\r\nv=0\n", "Content-Length: 0\r\n");
    assert!(req(&s).body().is_empty());
    let r = req(&format!("\r\n\r\n{INVITE}"));
    assert_eq!(r.body(), b"v=0\n");
    let e = err(&INVITE.replace("\r\n\r\nv=0\n", "\r\n"));
    assert_eq!(e.reason(), "Bad Content-Length header");
}

/// The spans kept at parse (tags, top branch and sent-by) read what decoding reads, on
/// parsed messages, on built ones (no spans: decoded) and after the header is replaced.
#[test]
fn spans_agree_with_decoding() {
    // (message, from tag, to tag, branch, sent-by host, port)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        Option<u16>,
    );
    let cases: &[Case<'_>] = &[
        // (message, from tag, to tag, branch, sent-by host, port)
        (
            INVITE,
            Some("1928301774"),
            None,
            Some("z9hG4bK776asdhds"),
            "pc33.atlanta.example.com",
            Some(5060),
        ),
        (
            "BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5062 ; BRANCH = z9hG4bKx ;rport, \
             SIP/2.0/UDP h2;branch=z9hG4bKy\r\nFrom: sip:x@y;TAG=f1;tag=f2\r\n\
             To: \"A;tag=no\" <sip:a@b;tag=uri>;tag=t1\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n\r\n",
            Some("f1"),
            Some("t1"),
            Some("z9hG4bKx"),
            "[::1]",
            Some(5062),
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\n\
             f: <sip:x@y>;tag\r\nt: <sip:a@b>;x=\"tag=q\"\r\ni: cid\r\nCSeq: 1 OPTIONS\r\n\r\n",
            None,
            None,
            Some("z9hG4bK1"),
            "h",
            None,
        ),
        (
            "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 10.0.0.1:5070;rport=5070;branch=z9hG4bKr\r\n\
             From: <sip:x@y>;tag=a\r\nTo: <sip:a@b>;tag=b\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
            Some("a"),
            Some("b"),
            Some("z9hG4bKr"),
            "10.0.0.1",
            Some(5070),
        ),
        (
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP old.example.com\r\n\
             From: <sip:x@y>;tag=a\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
            Some("a"),
            None,
            None,
            "old.example.com",
            None,
        ),
    ];
    for &(text, from_tag, to_tag, branch, host, port) in cases {
        let m = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let got = match &m {
            Message::Request(r) => {
                assert_eq!(r.from_tag(), r.from().tag(), "{text:?}");
                assert_eq!(r.to_tag(), r.to().tag(), "{text:?}");
                assert_eq!(r.top_branch(), r.top_via().branch(), "{text:?}");
                let v = r.top_via();
                assert_eq!(r.top_sent_by(), Some((v.host.as_str(), v.port)), "{text:?}");
                (r.from_tag(), r.to_tag(), r.top_branch(), r.top_sent_by())
            }
            Message::Response(r) => {
                assert_eq!(r.to_tag(), r.to().tag(), "{text:?}");
                (r.from_tag(), r.to_tag(), r.top_branch(), r.top_sent_by())
            }
        };
        assert_eq!(
            got,
            (from_tag, to_tag, branch, Some((host, port))),
            "{text:?}"
        );
    }
    // A response built from a request: no spans, decoded (the To tag added by us).
    let r = req(INVITE);
    let mut resp = Response::for_request(&r, 200, "OK", Some("ours"));
    assert_eq!(resp.to_tag(), Some("ours"));
    assert_eq!(resp.from_tag(), Some("1928301774"));
    assert_eq!(resp.top_branch(), Some("z9hG4bK776asdhds"));
    let mut via = resp.top_via().clone();
    via.set_param("branch", Some("z9hG4bKnew".into()));
    via.host = "other".into();
    resp.set_top_via(&via);
    assert_eq!(resp.top_branch(), Some("z9hG4bKnew"));
    assert_eq!(resp.top_sent_by(), Some(("other", Some(5060))));
    // A request built by hand: nothing until pushed, then what was pushed.
    let mut b = Request::new(Method::Bye, Uri::parse("sip:a@b").unwrap());
    assert_eq!(
        (b.top_branch(), b.top_sent_by(), b.to_tag()),
        (None, None, None)
    );
    b.push_header(HeaderName::Via, "SIP/2.0/UDP h:1;branch=z9hG4bKb");
    b.push_header(HeaderName::To, "<sip:a@b>;tag=tt");
    assert_eq!(b.top_branch(), Some("z9hG4bKb"));
    assert_eq!(b.top_sent_by(), Some(("h", Some(1))));
    assert_eq!(b.to_tag(), Some("tt"));
    // A second Via keeps the first as the top one; a first Via that does not scan is
    // skipped, as decoding skips it.
    b.push_header_with(HeaderName::Via, |s| {
        s.push_str("SIP/2.0/UDP h2;branch=z9hG4bKc")
    });
    assert_eq!(b.top_branch(), Some("z9hG4bKb"));
    let mut g = Request::new(Method::Bye, Uri::parse("sip:a@b").unwrap());
    g.push_header(HeaderName::Via, "not a via");
    g.push_header(HeaderName::Via, "SIP/2.0/UDP h3:7;branch=z9hG4bKd");
    assert_eq!(g.top_branch(), g.top_via().branch());
    assert_eq!(g.top_branch(), Some("z9hG4bKd"));
    assert_eq!(g.top_sent_by(), Some(("h3", Some(7))));
}

/// `for_request_via` prints what `for_request` + `set_top_via` print.
#[test]
fn response_with_stamped_via_in_one_pass() {
    let multi = INVITE.replacen(
        "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n",
        "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport, \
         SIP/2.0/UDP p2;branch=z9hG4bK2\r\nVia: SIP/2.0/TCP p3;branch=z9hG4bK3\r\n",
        1,
    );
    for text in [INVITE, multi.as_str()] {
        let r = req(text);
        let mut via = r.top_via().clone();
        via.set_param("received", Some("192.0.2.9".into()));
        via.set_param("rport", Some("5070".into()));
        for tag in [None, Some("t1")] {
            let mut old = Response::for_request(&r, 180, "Ringing", tag);
            old.set_top_via(&via);
            let new = Response::for_request_via(&r, 180, "Ringing", tag, &via);
            assert_eq!(new.to_bytes(), old.to_bytes(), "{text:?}");
            let printed = Response::for_request_top(&r, 180, "Ringing", tag, &via.to_string());
            assert_eq!(printed.to_bytes(), old.to_bytes(), "{text:?}");
            assert_eq!(new.vias(), old.vias());
            assert_eq!(new.to_tag(), old.to_tag());
        }
    }
}

#[test]
fn single_edits_never_panic_and_what_parses_round_trips() {
    let response = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport=5061\r\n\
        From: \"Alice\" <sip:1001@127.0.0.1>;tag=77SIPpTag001\r\nTo: <sip:2000@127.0.0.1:5060>;tag=x\r\n\
        Call-ID: 1-77@127.0.0.1\r\nCSeq: 2 INVITE\r\nContact: <sip:1002@127.0.0.1:5062>\r\n\
        Content-Length: 0\r\n\r\n";
    let mut parsed = 0;
    for s in super::text::single_edits(&[INVITE, response]) {
        let Ok(m) = parse(s.as_bytes()) else {
            continue;
        };
        parsed += 1;
        // Serializing is idempotent (the first pass may add a Content-Length).
        let again = parse(&m.to_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
        assert_eq!(again.to_bytes(), m.to_bytes(), "{s:?}");
        // What the spans kept at parse say is what decoding says.
        let (from_tag, to_tag, call_id, from, to) = match &m {
            Message::Request(r) => (r.from_tag(), r.to_tag(), r.call_id(), r.from(), r.to()),
            Message::Response(r) => (r.from_tag(), r.to_tag(), r.call_id(), r.from(), r.to()),
        };
        assert_eq!(from_tag, from.tag(), "{s:?}");
        assert_eq!(to_tag, to.tag(), "{s:?}");
        let raw = m_headers(&m).get(&HeaderName::CallId).unwrap_or("");
        assert_eq!(call_id, raw, "{s:?}");
    }
    assert!(parsed > 10_000, "{parsed}");
}

fn m_headers(m: &Message) -> &Headers {
    match m {
        Message::Request(r) => r.headers(),
        Message::Response(r) => r.headers(),
    }
}
