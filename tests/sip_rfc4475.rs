//! RFC 4475 torture messages: every vector of `tests/data/rfc4475/` with the verdict this
//! parser gives (see the README there for the RFC's expectations). Application-level
//! answers (416, 420, 415, 501, ...) are the engine's business: here they parse OK.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::path::Path;

use sipbox::sip::{parse, Contact, HeaderName, Message, Method, Request};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Request,
    Response,
    Reject(u16, &'static str),
    Drop,
}
use Verdict::*;

const VECTORS: &[(&str, Verdict)] = &[
    ("wsinv", Request),
    ("intmeth", Request),
    ("esc01", Request),
    ("escnull", Request),
    ("esc02", Request),
    ("lwsdisp", Request),
    ("longreq", Request),
    ("dblreq", Request),
    ("semiuri", Request),
    ("transports", Request),
    ("mpart01", Request),
    ("unreason", Response),
    ("noreason", Response),
    ("badinv01", Reject(400, "Bad Via header")),
    ("clerr", Reject(400, "Bad Content-Length header")),
    ("ncl", Reject(400, "Bad Content-Length header")),
    ("scalar02", Reject(400, "Bad CSeq header")),
    ("scalarlg", Drop),
    ("quotbal", Reject(400, "Bad To header")),
    ("ltgtruri", Reject(400, "Bad Request-URI")),
    ("lwsruri", Reject(400, "Bad Request Line")),
    ("lwsstart", Reject(400, "Bad Request Line")),
    ("trws", Reject(400, "Bad Request Line")),
    ("escruri", Reject(400, "Bad Request-URI")),
    ("baddate", Request),
    ("regbadct", Request),
    ("badaspec", Reject(400, "Bad To header")),
    ("baddn", Reject(400, "Bad From header")),
    ("badvers", Reject(505, "Version Not Supported")),
    ("mismatch01", Reject(400, "Bad CSeq header")),
    ("mismatch02", Reject(400, "Bad CSeq header")),
    ("bigcode", Drop),
    ("badbranch", Reject(400, "Bad Via header")),
    ("insuf", Reject(400, "Missing From header")),
    ("unkscm", Request),
    ("novelsc", Request),
    ("unksm2", Request),
    ("bext01", Request),
    ("invut", Request),
    ("regaut01", Request),
    ("multi01", Reject(400, "Bad From header")),
    ("mcl01", Reject(400, "Bad Content-Length header")),
    ("bcast", Response),
    ("zeromf", Request),
    ("cparam01", Request),
    ("cparam02", Request),
    ("regescrt", Request),
    ("sdp01", Request),
    ("inv2543", Request),
];

fn load(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc4475")
        .join(format!("{name}.sip"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn request(name: &str) -> Request {
    match parse(&load(name)) {
        Ok(Message::Request(r)) => r,
        other => panic!("{name}: expected a request, got {other:?}"),
    }
}

#[test]
fn every_vector_gets_its_verdict() {
    assert_eq!(VECTORS.len(), 49);
    let mut failures = Vec::new();
    for &(name, want) in VECTORS {
        let data = load(name);
        let got = match parse(&data) {
            Ok(Message::Request(r)) => {
                // Validated at parse, so the lazily decoded essentials are there.
                assert!(!r.vias().is_empty(), "{name}");
                assert!(!r.from().uri.scheme.is_empty(), "{name}");
                assert!(!r.to().uri.scheme.is_empty(), "{name}");
                assert!(!r.call_id().is_empty(), "{name}");
                // The spans kept at parse read what decoding reads.
                assert_eq!(r.from_tag(), r.from().tag(), "{name}");
                assert_eq!(r.to_tag(), r.to().tag(), "{name}");
                assert_eq!(r.top_branch(), r.top_via().branch(), "{name}");
                let top = r.top_via();
                assert_eq!(
                    r.top_sent_by(),
                    Some((top.host.as_str(), top.port)),
                    "{name}"
                );
                // What parses must round-trip.
                let again = parse(&r.to_bytes());
                assert!(
                    matches!(again, Ok(Message::Request(_))),
                    "{name}: {again:?}"
                );
                Request
            }
            Ok(Message::Response(r)) => {
                assert_eq!(r.from_tag(), r.from().tag(), "{name}");
                assert_eq!(r.to_tag(), r.to().tag(), "{name}");
                assert_eq!(r.top_branch(), r.top_via().branch(), "{name}");
                assert!(parse(&r.to_bytes()).is_ok(), "{name}");
                Response
            }
            Err(e) => match e.status() {
                Some(s) => {
                    let reason: &'static str = VECTORS
                        .iter()
                        .find_map(|(n, v)| match v {
                            Reject(_, r) if *n == name && *r == e.reason() => Some(*r),
                            _ => None,
                        })
                        .unwrap_or("(other reason)");
                    if reason == "(other reason)" {
                        eprintln!("{name}: {e}");
                    }
                    assert!(e.error_response().is_some(), "{name}");
                    Reject(s, reason)
                }
                None => Drop,
            },
        };
        if got != want {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn wsinv_details() {
    let r = request("wsinv");
    assert_eq!(r.max_forwards(), Some(68));
    assert_eq!(r.cseq().seq, 9);
    assert_eq!(r.cseq().method, Method::Invite);
    assert_eq!(r.vias().len(), 3);
    assert_eq!(r.body().len(), 150);
    assert_eq!(r.headers().get(&HeaderName::Subject), Some(""));
}

#[test]
fn intmeth_and_escapes() {
    let r = request("intmeth");
    assert!(matches!(r.method(), Method::Extension(m) if m.starts_with("!interesting")));
    assert!(r.to().display.as_deref().is_some_and(|d| d.contains('\0')));
    let r = request("esc01");
    assert_eq!(r.uri().user.as_deref(), Some("sips:user@example.com"));
    let c = r.contacts().unwrap();
    let Some(Contact::Addr(a)) = c.first() else {
        panic!("esc01 contact")
    };
    assert_eq!(a.uri.param("name"), Some(Some("value%41")));
    let r = request("escnull");
    let c = r.contacts().unwrap();
    assert_eq!(c.len(), 2);
    assert_ne!(c[0], c[1]);
    let r = request("esc02");
    assert_eq!(r.method(), &Method::Extension("RE%47IST%45R".into()));
    assert_eq!(r.contacts().unwrap().len(), 2);
    let r = request("semiuri");
    assert_eq!(r.uri().user.as_deref(), Some("user;par=u@example.net"));
    assert!(r.uri().params.is_empty());
}

#[test]
fn framing_vectors() {
    let r = request("dblreq");
    assert_eq!(r.method(), &Method::Register);
    assert!(r.body().is_empty());
    assert_eq!(request("mpart01").body().len(), 553);
    assert_eq!(request("inv2543").body().len(), 105);
    assert_eq!(request("longreq").vias().len(), 34);
}

#[test]
fn contact_vectors() {
    assert!(request("regbadct").contacts().is_err());
    let c = request("cparam01").contacts().unwrap();
    let Some(Contact::Addr(a)) = c.first() else {
        panic!("cparam01")
    };
    assert!(a.uri.params.is_empty());
    assert_eq!(a.param("unknownparam"), Some(None));
    let c = request("cparam02").contacts().unwrap();
    let Some(Contact::Addr(a)) = c.first() else {
        panic!("cparam02")
    };
    assert_eq!(a.uri.param("unknownparam"), Some(None));
    let r = request("regescrt");
    let c = r.contacts().unwrap();
    let Some(Contact::Addr(a)) = c.first() else {
        panic!("regescrt")
    };
    assert_eq!(
        a.uri.headers,
        [("Route".into(), "<sip:sip.example.com>".into())]
    );
    assert!(a
        .uri
        .to_string()
        .ends_with("?Route=%3Csip:sip.example.com%3E"));
    assert_eq!(request("zeromf").max_forwards(), Some(0));
    assert_eq!(
        request("bext01").require(),
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    assert_eq!(request("unkscm").uri().scheme, "nobodyknowsthisscheme");
}

#[test]
fn response_vectors() {
    let response = |name: &str| match parse(&load(name)) {
        Ok(Message::Response(r)) => r,
        other => panic!("{name}: expected a response, got {other:?}"),
    };
    let r = response("noreason");
    assert_eq!((r.status(), r.reason()), (100, ""));
    let r = response("unreason");
    assert_eq!(r.status(), 200);
    assert!(r.reason().starts_with("= 2**3 * 5**2 "));
    let r = response("bcast");
    assert_eq!(r.vias()[1].host, "255.255.255.255");
}

#[test]
fn rejected_requests_echo_their_headers() {
    let e = parse(&load("badvers")).unwrap_err();
    let resp = String::from_utf8(e.error_response().unwrap()).unwrap();
    assert!(resp.starts_with("SIP/2.0 505 Version Not Supported\r\n"));
    assert!(resp.contains("\r\nCall-ID: "));
    assert!(e.raw_top_via().is_some());
}
