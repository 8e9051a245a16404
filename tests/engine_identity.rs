//! Caller identity across a trunk on the fake network: `sendrpid=yes|rpid|pai`
//! (Remote-Party-ID / P-Asserted-Identity + Privacy in chan_sip's forms, restricted callers
//! Anonymous in From), the trunk's `callerid=` and the dialplan's `CALLERID(...)` on the
//! leg's From, `trustrpid` on inbound INVITEs (and the headers ignored without it), and
//! `outboundproxy` carrying a call and its in-dialog requests with `Route: <sip:proxy;lr>`.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use sipbox::sip::{HeaderName, Method, Request};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const EXT: &str = "\
[internal]
exten => _9X.,1,Dial(SIP/itsp/${EXTEN:1},10)
 same => n,Hangup()
exten => _8X.,1,Set(CALLERID(pres)=prohib)
 same => n,Dial(SIP/itsp/${EXTEN:1},10)
 same => n,Hangup()
exten => _7X.,1,Set(CALLERID(num)=5559999)
 same => n,Set(CALLERID(name)=Sales)
 same => n,Dial(SIP/itsp/${EXTEN:1},10)
 same => n,Hangup()
exten => _6X.,1,Set(CALLERPRES()=33)
 same => n,Dial(SIP/itsp/${EXTEN:1},10)
 same => n,Hangup()

[fromitsp]
exten => _X.,1,Verbose(1,caller ${CALLERID(num)} name ${CALLERID(name)} pres ${CALLERID(pres)})
 same => n,Busy()
";

fn net(itsp: &str) -> FakeNet {
    let conf = format!(
        "[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=internal\n\n\
         [1001]\ntype=friend\nhost=dynamic\ncontext=internal\nsecret=1001pass\n\
         callerid=\"Alice\" <1001>\n\n\
         [itsp]\ntype=peer\ninsecure=port,invite\ncontext=fromitsp\n{itsp}\n"
    );
    FakeNet::new(&conf, EXT)
}

fn trunk() -> Ua {
    Ua::at("itsp", "", addr("127.0.0.1:59100"), addr("127.0.0.1:59102"))
}

/// 1001 dials `number`; returns the INVITE the trunk got (refused with 486 afterwards).
fn invite_to_trunk(net: &mut FakeNet, number: &str) -> Request {
    let t = trunk();
    let mut a = Ua::new(net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(net, number, &offer);
    let inv = t.request(net, Method::Invite);
    t.respond(net, &inv, 486, None);
    t.request(net, Method::Ack);
    assert_eq!(a.invite_outcome(net, &mut d).status(), 486);
    inv
}

fn h(req: &Request, name: HeaderName) -> Option<&str> {
    req.headers().get(&name)
}

const ITSP_AT: &str = "host=127.0.0.1\nport=59100\n";

#[test]
fn sendrpid_yes_sends_remote_party_id_in_add_rpids_form() {
    let mut net = net(&format!(
        "{ITSP_AT}sendrpid=yes\nfromdomain=itsp.test\nfromuser=acct"
    ));
    let inv = invite_to_trunk(&mut net, "95551234");
    assert_eq!(
        inv.from().to_string().split(";tag").next().unwrap(),
        "\"Alice\" <sip:acct@itsp.test>"
    );
    assert_eq!(
        h(&inv, HeaderName::RemotePartyId),
        Some("\"Alice\" <sip:1001@itsp.test>;party=calling;privacy=off;screen=no")
    );
    assert_eq!(h(&inv, HeaderName::PAssertedIdentity), None);
    // Restricted: Anonymous in From, privacy=full in the RPID.
    let inv = invite_to_trunk(&mut net, "85551234");
    assert_eq!(
        inv.from().to_string().split(";tag").next().unwrap(),
        "\"Anonymous\" <sip:acct@anonymous.invalid>"
    );
    assert_eq!(
        h(&inv, HeaderName::RemotePartyId),
        Some("\"Alice\" <sip:1001@itsp.test>;party=calling;privacy=full;screen=yes")
    );
    // CALLERPRES()=33 (prohib_passed_screen) the same way.
    let inv = invite_to_trunk(&mut net, "65551234");
    assert_eq!(
        h(&inv, HeaderName::RemotePartyId),
        Some("\"Alice\" <sip:1001@itsp.test>;party=calling;privacy=full;screen=yes")
    );
    net.assert_idle();
}

#[test]
fn sendrpid_pai_sends_p_asserted_identity_and_privacy_id_when_restricted() {
    let mut net = net(&format!("{ITSP_AT}sendrpid=pai"));
    let inv = invite_to_trunk(&mut net, "95551234");
    let host = net.sipbox.ip().to_string();
    assert_eq!(
        h(&inv, HeaderName::PAssertedIdentity),
        Some(format!("\"Alice\" <sip:1001@{host}>").as_str()),
        "our address when there is no fromdomain"
    );
    assert_eq!(h(&inv, HeaderName::Privacy), None);
    assert_eq!(h(&inv, HeaderName::RemotePartyId), None);
    assert_eq!(inv.from().uri.user.as_deref(), Some("1001"));
    let inv = invite_to_trunk(&mut net, "85551234");
    assert_eq!(
        h(&inv, HeaderName::PAssertedIdentity),
        Some(format!("\"Alice\" <sip:1001@{host}>").as_str())
    );
    assert_eq!(h(&inv, HeaderName::Privacy), Some("id"));
    assert_eq!(inv.from().uri.user.as_deref(), Some("Anonymous"));
    assert_eq!(inv.from().uri.host, "anonymous.invalid");
    net.assert_idle();
}

#[test]
fn without_sendrpid_no_identity_header() {
    let mut net = net(ITSP_AT);
    let inv = invite_to_trunk(&mut net, "95551234");
    assert_eq!(h(&inv, HeaderName::RemotePartyId), None);
    assert_eq!(h(&inv, HeaderName::PAssertedIdentity), None);
    net.assert_idle();
}

#[test]
fn the_trunks_callerid_shows_unless_the_dialplan_set_one() {
    let mut net = net(&format!(
        "{ITSP_AT}callerid=\"Office\" <5550100>\nsendrpid=rpid"
    ));
    let inv = invite_to_trunk(&mut net, "95551234");
    assert_eq!(
        inv.from().to_string().split(";tag").next().unwrap(),
        format!("\"Office\" <sip:5550100@{}>", net.sipbox)
    );
    assert!(h(&inv, HeaderName::RemotePartyId)
        .unwrap()
        .starts_with("\"Office\" <sip:5550100@"));
    // Set(CALLERID(num)=...) and (name) in the dialplan win over the trunk's callerid=.
    let inv = invite_to_trunk(&mut net, "75551234");
    assert_eq!(
        inv.from().to_string().split(";tag").next().unwrap(),
        format!("\"Sales\" <sip:5559999@{}>", net.sipbox)
    );
    net.assert_idle();
}

/// The trunk calls in with `extra` header lines; returns the dialplan's log line.
fn inbound(net: &mut FakeNet, t: &mut Ua, extra: &str) -> String {
    let d = t.dialog_to(net.sipbox, "5550000");
    let text = t
        .invite_text_for(&d, &sdp(t.rtp, &[0], "sendrecv"))
        .replacen("Contact:", &format!("{extra}Contact:"), 1);
    t.send(net, &text);
    let r = t.final_response(net);
    assert_eq!(r.status(), 486, "{r:?}");
    let log = net.log();
    log.iter()
        .rev()
        .find(|l| l.contains("caller "))
        .cloned()
        .unwrap_or_else(|| panic!("no dialplan line: {log:?}"))
}

#[test]
fn trustrpid_takes_the_asserted_identity_and_ignores_it_otherwise() {
    let pai = "P-Asserted-Identity: \"Bob\" <sip:5557777@itsp.test>\r\nPrivacy: id\r\n";
    let rpid = "Remote-Party-ID: \"Carol\" <sip:5558888@itsp.test>;party=calling;privacy=off;screen=yes\r\n";
    let mut net = net(&format!("{ITSP_AT}trustrpid=yes"));
    let mut t = trunk();
    let line = inbound(&mut net, &mut t, pai);
    assert!(
        line.contains("caller 5557777 name Bob pres prohib_not_screened"),
        "{line}"
    );
    let line = inbound(&mut net, &mut t, rpid);
    assert!(
        line.contains("caller 5558888 name Carol pres allowed_passed_screen"),
        "{line}"
    );
    let mut net = self::net(ITSP_AT);
    let line = inbound(&mut net, &mut t, pai);
    assert!(
        line.contains("caller itsp name  pres allowed_not_screened"),
        "without trustrpid the From counts: {line}"
    );
    // callingpres= sets the presentation of the entry's calls.
    let mut net = self::net(&format!("{ITSP_AT}callingpres=prohib"));
    let line = inbound(&mut net, &mut t, "");
    assert!(line.contains("pres prohib"), "{line}");
}

#[test]
fn outboundproxy_carries_the_call_and_its_in_dialog_requests() {
    let proxy = Ua::at(
        "proxy",
        "",
        addr("127.0.0.1:59300"),
        addr("127.0.0.1:59302"),
    );
    // The peer's host is a name nobody resolves: the proxy does.
    let mut net = net("host=itsp.example\noutboundproxy=127.0.0.1:59300\n");
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "95551234", &offer);
    let inv = proxy.request(&mut net, Method::Invite);
    assert_eq!(inv.uri().to_string(), "sip:5551234@itsp.example");
    assert_eq!(h(&inv, HeaderName::Route), Some("<sip:127.0.0.1:59300;lr>"));
    // Answered without Record-Route: ACK and BYE still go to the proxy with the Route.
    proxy.respond(&mut net, &inv, 200, Some(&sdp(proxy.rtp, &[0], "sendrecv")));
    let ok = a.invite_outcome(&mut net, &mut d);
    assert_eq!(ok.status(), 200);
    a.ack(&mut net, &d, None);
    let ack = proxy.request(&mut net, Method::Ack);
    assert_eq!(h(&ack, HeaderName::Route), Some("<sip:127.0.0.1:59300;lr>"));
    assert_eq!(
        ack.uri().to_string(),
        "sip:proxy@127.0.0.1:59300",
        "the Contact"
    );
    a.hang_up(&mut net, &mut d);
    let bye = proxy.request(&mut net, Method::Bye);
    assert_eq!(h(&bye, HeaderName::Route), Some("<sip:127.0.0.1:59300;lr>"));
    proxy.respond(&mut net, &bye, 200, None);
    assert!(net.wait_log("", T));
    net.assert_idle();
}

#[test]
fn qualify_of_a_proxied_peer_goes_via_its_proxy() {
    let proxy = Ua::at(
        "proxy",
        "",
        addr("127.0.0.1:59300"),
        addr("127.0.0.1:59302"),
    );
    let mut net = net("host=itsp.example\noutboundproxy=127.0.0.1:59300\nqualify=yes\n");
    let d = net
        .recv(proxy.sip, Duration::from_secs(70))
        .expect("a qualify OPTIONS at the proxy");
    let opt = match sipbox::sip::parse(&d.bytes).unwrap() {
        sipbox::sip::Message::Request(r) => r,
        m => panic!("{m:?}"),
    };
    assert_eq!(*opt.method(), Method::Options);
    assert_eq!(opt.uri().to_string(), "sip:itsp@itsp.example");
    assert_eq!(h(&opt, HeaderName::Route), Some("<sip:127.0.0.1:59300;lr>"));
    proxy.respond(&mut net, &opt, 200, None);
    net.advance(Duration::from_millis(10));
    assert!(
        matches!(
            net.engine.peer_status("itsp"),
            Some(sipbox::engine::PeerStatus::Reachable(_))
        ),
        "{:?}",
        net.engine.peer_status("itsp")
    );
}
