//! Busy lamps and presence on the fake network: a SUBSCRIBE (Event: dialog) to a hint sees
//! a call ring (early, with the caller for pickup), get answered (confirmed), be held
//! (notifyhold: rendering=no) and end (terminated), each NOTIFY's version one more; an
//! unregistered device is UNAVAILABLE (PIDF closed, XPIDF for old phones); 489 for unknown
//! packages, 404 without a hint, 403 with allowsubscribe=no; the per-entry bound; expiry;
//! the NOTIFY gap; DEVICE_STATE() and EXTENSION_STATE() in the dialplan.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use sipbox::presence::ExtState;
use sipbox::sip::{HeaderName, Method, Request};
use std::net::SocketAddr;
use std::time::Duration;

const SIP: &str = "\
[general]
bindaddr=127.0.0.1
context=default
allowguest=no
realm=sipbox
minexpiry=60
notifyhold=yes
notifycid=yes

[phone](!)
type=friend
host=dynamic
context=internal
callcounter=yes

[1001](phone)
secret=1001pass

[1002](phone)
secret=1002pass

[1003](phone)
secret=1003pass
subscribecontext=blf

[1004](phone)
secret=1004pass

[1005](phone)

[1006](phone)
allowsubscribe=no
";

const EXT: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 1002,hint,SIP/1002
exten => 1004,hint,SIP/1004
exten => 700,1,Verbose(1,states ${DEVICE_STATE(SIP/1002)} ${DEVICE_STATE(SIP/1004)} ${DEVICE_STATE(SIP/nobody)} ${EXTENSION_STATE(1002)} ${EXTENSION_STATE(1004@internal)} ${EXTENSION_STATE(1099)})
 same => n,Hangup()

[blf]
include => internal
";

fn subscribe_text(
    ua: &Ua,
    server: SocketAddr,
    (exten, call_id, cseq): (&str, &str, u32),
    to_tag: Option<&str>,
    (event, accept): (&str, &str),
    expires: u32,
    auth: Option<&str>,
) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "SUBSCRIBE sip:{exten}@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKblf{call_id}x{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{u}@{server}>;tag=w{u}\r\n\
         To: <sip:{exten}@{server}>{to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} SUBSCRIBE\r\n\
         Contact: <sip:{u}@{me}>\r\n\
         Event: {event}\r\n\
         Accept: {accept}\r\n\
         Expires: {expires}\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        u = ua.user,
        me = ua.sip,
    )
}

const DIALOG: (&str, &str) = ("dialog", "application/dialog-info+xml");
const PIDF: (&str, &str) = ("presence", "application/pidf+xml");

/// Subscribes `ua` to `exten` (answering the challenge when it has a password): the 200's
/// dialog tag.
fn subscribe(
    net: &mut FakeNet,
    ua: &Ua,
    exten: &str,
    call_id: &str,
    pkg: (&str, &str),
    expires: u32,
) -> String {
    let sb = net.sipbox;
    ua.send(
        net,
        &subscribe_text(ua, sb, (exten, call_id, 1), None, pkg, expires, None),
    );
    let mut r = ua.final_response(net);
    if r.status() == 401 {
        let nonce = auth_param(header(&r, HeaderName::WwwAuthenticate).unwrap(), "nonce").unwrap();
        let uri = format!("sip:{exten}@{sb}");
        let auth = common::digest(
            &ua.user,
            &ua.password,
            "sipbox",
            &nonce,
            "SUBSCRIBE",
            &uri,
            1,
        );
        ua.send(
            net,
            &subscribe_text(ua, sb, (exten, call_id, 2), None, pkg, expires, Some(&auth)),
        );
        r = ua.final_response(net);
    }
    assert_eq!(r.status(), 200, "{r:?} {:?}", net.log());
    r.to().tag().expect("a dialog tag").to_string()
}

/// The next NOTIFY to `ua`, answered 200.
#[track_caller]
fn notify(net: &mut FakeNet, ua: &Ua) -> Request {
    let n = ua.request(net, Method::Notify);
    ua.respond(net, &n, 200, None);
    n
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

fn version(b: &str) -> u32 {
    let at = b.find("<dialog-info").expect("dialog-info") + 12;
    let at = at + b[at..].find("version=\"").expect("a version") + 9;
    b[at..].split('"').next().unwrap().parse().unwrap()
}

fn dialog_state(b: &str) -> &str {
    let at = b.find("<state>").expect("a state") + 7;
    b[at..].split('<').next().unwrap()
}

#[test]
fn a_call_rings_is_answered_held_and_ends_on_the_lamp() {
    let mut net = FakeNet::with_rtp(SIP, EXT, 36100, 36139);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let w = Ua::new(&mut net, "1003", "1003pass").registered(&mut net);
    subscribe(&mut net, &w, "1002", "blf-1", DIALOG, 600);
    let n = notify(&mut net, &w);
    assert_eq!(n.headers().get(&HeaderName::Event), Some("dialog"));
    assert_eq!(n.content_type(), Some("application/dialog-info+xml"));
    assert!(n
        .headers()
        .get(&HeaderName::SubscriptionState)
        .unwrap()
        .starts_with("active;expires=600"));
    let b0 = body(&n);
    assert_eq!((version(&b0), dialog_state(&b0)), (0, "terminated"), "{b0}");
    assert!(b0.contains("entity=\"sip:1002@"));

    // Ringing: early, with the caller (notifycid).
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "1002", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 180, None);
    let b1 = body(&notify(&mut net, &w));
    assert_eq!((version(&b1), dialog_state(&b1)), (1, "early"), "{b1}");
    assert!(b1.contains("direction=\"recipient\""), "{b1}");
    assert!(b1.contains(">sip:1001@"), "the caller for pickup: {b1}");
    assert_eq!(
        net.engine.extension_state("internal", "1002"),
        Some(ExtState::Ringing)
    );

    // Answered: confirmed.
    b.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(b.rtp, &[0, 101], "sendrecv")),
    );
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    b.request(&mut net, Method::Ack);
    let b2 = body(&notify(&mut net, &w));
    assert_eq!((version(&b2), dialog_state(&b2)), (2, "confirmed"), "{b2}");
    assert!(!b2.contains("rendering"));

    // B holds (notifyhold=yes): still confirmed, its media not rendered.
    net.advance(Duration::from_millis(300));
    let mut bd = b.callee_dialog(&net, &inv);
    let mut b = b;
    b.in_dialog(
        &mut net,
        &mut bd,
        "INVITE",
        Some(&sdp(b.rtp, &[0, 101], "sendonly")),
    );
    assert_eq!(b.final_response(&mut net).status(), 200);
    b.ack(&mut net, &bd, None);
    let b3 = body(&notify(&mut net, &w));
    assert_eq!((version(&b3), dialog_state(&b3)), (3, "confirmed"), "{b3}");
    assert!(
        b3.contains("pname=\"+sip.rendering\" pvalue=\"no\""),
        "{b3}"
    );
    assert_eq!(
        net.engine.extension_state("internal", "1002"),
        Some(ExtState::OnHold)
    );

    // Resumed, then A hangs up: confirmed, then terminated.
    net.advance(Duration::from_millis(300));
    b.in_dialog(
        &mut net,
        &mut bd,
        "INVITE",
        Some(&sdp(b.rtp, &[0, 101], "sendrecv")),
    );
    assert_eq!(b.final_response(&mut net).status(), 200);
    b.ack(&mut net, &bd, None);
    let b4 = body(&notify(&mut net, &w));
    assert_eq!((version(&b4), dialog_state(&b4)), (4, "confirmed"), "{b4}");
    assert!(!b4.contains("rendering"));
    net.advance(Duration::from_millis(300));
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    let b5 = body(&notify(&mut net, &w));
    assert_eq!((version(&b5), dialog_state(&b5)), (5, "terminated"), "{b5}");
    assert_eq!(
        net.engine.extension_state("internal", "1002"),
        Some(ExtState::Idle)
    );
    assert!(net.quiet(w.sip), "one NOTIFY per change");
}

#[test]
fn changes_inside_the_gap_are_coalesced() {
    let mut net = FakeNet::with_rtp(SIP, EXT, 36200, 36239);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let w = open_phone(&mut net, "1005");
    subscribe(&mut net, &w, "1002", "gap-1", DIALOG, 600);
    let _ = notify(&mut net, &w);
    // Ringing at once after the first NOTIFY: held back until the gap ends, then sent with
    // the state of that moment; the same for the end of the call right after.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let d = a.call_start(&mut net, "1002", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 180, None);
    assert!(net.quiet(w.sip), "inside the gap");
    net.advance(Duration::from_millis(250));
    let n = notify(&mut net, &w);
    assert_eq!(dialog_state(&body(&n)), "early");
    a.cancel(&mut net, &d);
    net.advance(Duration::from_millis(250));
    let n = notify(&mut net, &w);
    assert_eq!(dialog_state(&body(&n)), "terminated");
}

#[test]
fn unavailable_presence_unknown_packages_missing_hints_and_policy() {
    let mut net = FakeNet::with_rtp(SIP, EXT, 36300, 36339);
    let w = open_phone(&mut net, "1005");
    let sb = net.sipbox;
    // An unknown package: 489 with Allow-Events.
    ua_status(&mut net, &w, "1002", "x-1", ("conference", "*/*"), 489);
    // No hint: 404.
    ua_status(&mut net, &w, "1001", "x-2", DIALOG, 404);
    // allowsubscribe=no: 403.
    let z = open_phone(&mut net, "1006");
    ua_status(&mut net, &z, "1002", "x-3", DIALOG, 403);
    // Presence of an unregistered device: closed.
    subscribe(&mut net, &w, "1004", "p-1", PIDF, 600);
    let n = notify(&mut net, &w);
    assert_eq!(n.headers().get(&HeaderName::Event), Some("presence"));
    assert_eq!(n.content_type(), Some("application/pidf+xml"));
    let p0 = body(&n);
    assert!(p0.contains("<basic>closed</basic>"), "{p0}");
    assert!(p0.contains("xmlns=\"urn:ietf:params:xml:ns:pidf\""));
    assert!(p0.contains("<tuple id=\"1004\">"));
    // It registers: open.
    let _d = Ua::new(&mut net, "1004", "1004pass").registered(&mut net);
    let p1 = body(&notify(&mut net, &w));
    assert!(p1.contains("<basic>open</basic>"), "{p1}");
    assert!(p1.contains("<note>Ready</note>"));
    // An old phone asks for XPIDF.
    subscribe(
        &mut net,
        &w,
        "1004",
        "p-2",
        ("presence", "application/xpidf+xml"),
        600,
    );
    let n = notify(&mut net, &w);
    assert_eq!(n.content_type(), Some("application/xpidf+xml"));
    assert!(body(&n).contains("status=\"open\""));
    let _ = sb;
    // The dialplan's view.
    let mut c = Ua::new(&mut net, "1001", "1001pass");
    let (_d, r) = c.call(&mut net, "700", &sdp(c.rtp, &[0], "sendrecv"));
    let _ = r;
    assert!(
        net.logged("states UNAVAILABLE NOT_INUSE INVALID UNAVAILABLE NOT_INUSE UNKNOWN"),
        "{:?}",
        net.log()
    );
}

/// A phone whose entry has no secret (registers without a challenge).
fn open_phone(net: &mut FakeNet, user: &str) -> Ua {
    let mut u = Ua::new(net, user, "");
    assert_eq!(u.register_challenge(net, 300).status(), 200);
    u
}

fn ua_status(net: &mut FakeNet, ua: &Ua, exten: &str, cid: &str, pkg: (&str, &str), want: u16) {
    let sb = net.sipbox;
    ua.send(
        net,
        &subscribe_text(ua, sb, (exten, cid, 1), None, pkg, 600, None),
    );
    let r = ua.final_response(net);
    assert_eq!(r.status(), want, "{r:?}");
    if want == 489 {
        assert!(header(&r, HeaderName::AllowEvents)
            .unwrap()
            .contains("dialog"));
    }
}

#[test]
fn subscriptions_are_bounded_per_entry_and_expire() {
    let mut net = FakeNet::with_rtp(SIP, EXT, 36400, 36439);
    let w = open_phone(&mut net, "1005");
    for i in 0..64 {
        subscribe(&mut net, &w, "1002", &format!("lim-{i}"), DIALOG, 60);
        let _ = notify(&mut net, &w);
    }
    ua_status(&mut net, &w, "1002", "lim-64", DIALOG, 503);
    assert_eq!(net.engine.mwi_subscriptions(), 64);
    net.advance(Duration::from_secs(61));
    // (Retransmitted while unanswered: counted once per subscription.)
    let mut ended = std::collections::HashSet::new();
    while let Some(n) = w.try_request(&mut net, Method::Notify) {
        assert!(n
            .headers()
            .get(&HeaderName::SubscriptionState)
            .unwrap()
            .starts_with("terminated"));
        w.respond(&mut net, &n, 200, None);
        ended.insert(n.call_id().to_string());
    }
    assert_eq!(ended.len(), 64);
    assert_eq!(net.engine.mwi_subscriptions(), 0);
}

/// The dialplan's view of a device nobody subscribes to follows its registration and its
/// calls: device states are no longer recomputed for every entry after every event, only for
/// those with calls (now or at the last look) unless the registrar, qualify or a reload moved.
#[test]
fn an_unwatched_device_follows_its_registration_and_calls() {
    let mut net = FakeNet::with_rtp(SIP, EXT, 36400, 36439);
    let state = |net: &FakeNet| net.engine.extension_state("internal", "1004");
    net.advance(Duration::from_millis(300));
    assert_eq!(state(&net), Some(ExtState::Unavailable));
    let b = Ua::new(&mut net, "1004", "1004pass").registered(&mut net);
    net.advance(Duration::from_millis(300));
    assert_eq!(state(&net), Some(ExtState::Idle));
    // A call rings it, and is refused: ringing, then idle again.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "1004", &sdp(a.rtp, &[0], "sendrecv"));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 180, None);
    net.advance(Duration::from_millis(300));
    assert_eq!(state(&net), Some(ExtState::Ringing));
    b.respond(&mut net, &inv, 486, None);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 486);
    net.advance(Duration::from_millis(300));
    assert_eq!(state(&net), Some(ExtState::Idle));
    // A second call that comes and goes inside one recompute gap leaves it idle too.
    let mut d2 = a.call_start(&mut net, "1004", &sdp(a.rtp, &[0], "sendrecv"));
    let inv2 = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv2, 486, None);
    assert_eq!(a.invite_outcome(&mut net, &mut d2).status(), 486);
    net.advance(Duration::from_millis(300));
    assert_eq!(state(&net), Some(ExtState::Idle));
}
