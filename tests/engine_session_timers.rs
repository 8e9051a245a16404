//! Session timers (RFC 4028) on the fake network, 1001 calling 1002 through `Dial`, with
//! rtptimeout off (the case session timers exist for): each leg negotiates its own timer;
//! 422 below our Min-SE; a callee's 422 retried once with its Min-SE; sipbox refreshing by
//! re-INVITE (the same description, same o= version) and by UPDATE; a phone's refresh
//! answered on its own leg; a leg whose refreshes stop, or whose refresh gets 481 or no
//! answer, torn down with BYE on both legs; `session-timers=refuse`. Then the per-source call
//! caps. Minutes of call time pass in microseconds.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::sip::{HeaderName, Method, Request, Response};
use std::time::Duration;

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 600,1,Answer()
 same => n,Echo()
";

/// Session interval 120 s (refresh at 60 s), Min-SE 90 s, no RTP timeouts.
fn net_with(general: &str, rtp_lo: u16) -> FakeNet {
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        &format!(
            "[general]\nrtptimeout=0\nrtpholdtimeout=0\nsession-expires=120\nsession-minse=90\n{general}"
        ),
    );
    FakeNet::with_rtp(&conf, EXTENSIONS, rtp_lo, rtp_lo + 39)
}

fn req_header(r: &Request, name: HeaderName) -> Option<&str> {
    r.headers().get(&name)
}

/// A call up between 1001 and 1002: the caller's INVITE carries `caller_headers`, the
/// callee answers with `callee_headers`. (caller, callee, caller's dialog, callee's dialog,
/// the INVITE 1002 got, the 200 1001 got.)
struct Up {
    a: Ua,
    b: Ua,
    da: Dialog,
    db: Dialog,
    inv: Request,
    ok: Response,
}

fn up(net: &mut FakeNet, caller_headers: &str, callee_headers: &str) -> Up {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let mut a = Ua::new(net, "1001", "1001pass").registered(net);
    let offer = sdp(a.rtp, &[0, 101], "sendrecv");
    let mut da = a.call_start_with(net, "1002", caller_headers, &offer);
    let inv = b.request(net, Method::Invite);
    let answer = sdp(b.rtp, &[0, 101], "sendrecv");
    b.respond_with(net, &inv, 200, callee_headers, Some(&answer));
    b.request(net, Method::Ack);
    let ok = a.invite_outcome(net, &mut da);
    assert_eq!(ok.status(), 200, "{ok:?}");
    a.ack(net, &da, None);
    let db = b.callee_dialog(net, &inv);
    Up {
        a,
        b,
        da,
        db,
        inv,
        ok,
    }
}

/// Both phones get sipbox's BYE and answer it.
#[track_caller]
fn both_get_bye(net: &mut FakeNet, u: &Up) {
    u.a.answer_bye(net);
    u.b.answer_bye(net);
}

#[test]
fn each_leg_negotiates_its_own_timer_and_a_phones_refresh_stays_on_its_leg() {
    let mut net = net_with("", 36000);
    let mut u = up(
        &mut net,
        "Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n",
        "Require: timer\r\nSession-Expires: 120;refresher=uas\r\n",
    );
    // Toward the callee, sipbox (session-timers=originate) asks for its own interval.
    assert_eq!(req_header(&u.inv, HeaderName::SessionExpires), Some("120"));
    assert_eq!(req_header(&u.inv, HeaderName::MinSe), Some("90"));
    assert!(u.inv.headers().names_option("timer"), "{:?}", u.inv);
    // Toward the caller, its own choice: it refreshes.
    assert_eq!(
        header(&u.ok, HeaderName::SessionExpires),
        Some("120;refresher=uac")
    );
    assert_eq!(header(&u.ok, HeaderName::Require), Some("timer"));
    // Both ends refresh: sipbox sends nothing of its own at half the interval.
    net.advance(Duration::from_secs(55));
    assert!(net.quiet(u.a.sip) && net.quiet(u.b.sip));
    // The caller's refresh: the same offer again. Answered here with the same description
    // sipbox gave before (same o= version); the callee sees nothing.
    let offer = sdp(u.a.rtp, &[0, 101], "sendrecv");
    let se = "Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n";
    u.a.in_dialog_with(
        &mut net,
        &mut u.da,
        "INVITE",
        se,
        Some(("application/sdp", &offer)),
    );
    let r = u.a.final_response(&mut net);
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(String::from_utf8_lossy(r.body()), u.da.remote_sdp);
    assert_eq!(
        header(&r, HeaderName::SessionExpires),
        Some("120;refresher=uac")
    );
    u.a.ack(&mut net, &u.da, None);
    // The callee's refresh by UPDATE without a body, answered on its leg.
    u.b.in_dialog_with(
        &mut net,
        &mut u.db,
        "UPDATE",
        "Session-Expires: 120;refresher=uac\r\n",
        None,
    );
    let r = u.b.final_response(&mut net);
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(
        header(&r, HeaderName::SessionExpires),
        Some("120;refresher=uac")
    );
    assert!(net.quiet(u.a.sip) && net.quiet(u.b.sip), "nothing relayed");
    // 80 s after the refreshes (expiry would be at 88 s): the call is still up.
    net.advance(Duration::from_secs(80));
    assert!(net.quiet(u.a.sip) && net.quiet(u.b.sip));
    u.a.hang_up(&mut net, &mut u.da);
    u.b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn sipbox_refreshes_by_reinvite_with_the_same_description_and_by_update() {
    let mut net = net_with("", 36040);
    // A caller without the extension; a callee that allows UPDATE but names no interval.
    let mut u = up(&mut net, "", "Allow: INVITE, ACK, CANCEL, BYE, UPDATE\r\n");
    assert_eq!(
        header(&u.ok, HeaderName::SessionExpires),
        Some("120;refresher=uas"),
        "sipbox refreshes a caller that cannot"
    );
    assert_eq!(header(&u.ok, HeaderName::Require), None);
    let first_sdp = u.da.remote_sdp.clone();
    for round in 0..2 {
        u.a.wait = Duration::from_secs(65);
        let re = u.a.request(&mut net, Method::Invite);
        assert_eq!(
            String::from_utf8_lossy(re.body()),
            first_sdp,
            "round {round}: the description unchanged, same o= version"
        );
        assert_eq!(
            req_header(&re, HeaderName::SessionExpires),
            Some("120;refresher=uac")
        );
        let answer = sdp(u.a.rtp, &[0, 101], "sendrecv");
        u.a.respond(&mut net, &re, 200, Some(&answer));
        u.a.wait = Duration::from_secs(5);
        let ack = u.a.request(&mut net, Method::Ack);
        assert_eq!(ack.cseq().seq, re.cseq().seq);
        let upd = u.b.request(&mut net, Method::Update);
        assert!(upd.body().is_empty(), "{upd:?}");
        assert_eq!(
            req_header(&upd, HeaderName::SessionExpires),
            Some("120;refresher=uac")
        );
        u.b.respond(&mut net, &upd, 200, None);
        assert!(net.quiet(u.a.sip) && net.quiet(u.b.sip));
    }
    u.a.hang_up(&mut net, &mut u.da);
    u.b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn an_interval_below_min_se_gets_422_with_our_min_se() {
    let mut net = net_with("", 36080);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass").registered(&mut net);
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start_with(
        &mut net,
        "1002",
        "Supported: timer\r\nSession-Expires: 60\r\n",
        &offer,
    );
    let r = a.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 422, "{r:?}");
    assert_eq!(header(&r, HeaderName::MinSe), Some("90"));
    assert!(b.try_request(&mut net, Method::Invite).is_none(), "no call");
    net.assert_idle();
}

#[test]
fn a_callees_422_is_retried_once_with_its_min_se() {
    let mut net = net_with("", 36120);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass").registered(&mut net);
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "1002", &offer);
    let inv = b.request(&mut net, Method::Invite);
    b.respond_with(&mut net, &inv, 422, "Min-SE: 300\r\n", None);
    b.request(&mut net, Method::Ack);
    let again = b.request(&mut net, Method::Invite);
    assert_eq!(again.call_id(), inv.call_id());
    assert_eq!(again.cseq().seq, inv.cseq().seq + 1);
    assert_eq!(req_header(&again, HeaderName::SessionExpires), Some("300"));
    assert_eq!(req_header(&again, HeaderName::MinSe), Some("300"));
    assert_eq!(again.body(), inv.body(), "the same offer");
    // A second 422 is not asked again: the call fails.
    b.respond_with(&mut net, &again, 422, "Min-SE: 600\r\n", None);
    b.request(&mut net, Method::Ack);
    let r = a.invite_outcome(&mut net, &mut d);
    assert!(r.status() >= 400, "{r:?}");
    assert!(b.try_request(&mut net, Method::Invite).is_none());
    net.assert_idle();

    // And a retry that is answered makes the call.
    let mut d = a.call_start(&mut net, "1002", &offer);
    let inv = b.request(&mut net, Method::Invite);
    b.respond_with(&mut net, &inv, 422, "Min-SE: 300\r\n", None);
    b.request(&mut net, Method::Ack);
    let again = b.request(&mut net, Method::Invite);
    let answer = sdp(b.rtp, &[0], "sendrecv");
    b.respond_with(
        &mut net,
        &again,
        200,
        "Require: timer\r\nSession-Expires: 300;refresher=uas\r\n",
        Some(&answer),
    );
    b.request(&mut net, Method::Ack);
    let r = a.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(&mut net, &d, None);
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_caller_that_stops_refreshing_is_cleared_with_bye_on_both_legs() {
    let mut net = net_with("", 36160);
    let u = up(
        &mut net,
        "Supported: timer\r\nSession-Expires: 90;refresher=uac\r\n",
        "Require: timer\r\nSession-Expires: 120;refresher=uas\r\n",
    );
    assert_eq!(
        header(&u.ok, HeaderName::SessionExpires),
        Some("90;refresher=uac")
    );
    // Expiry minus min(32, 90/3) = 60 s: nothing before.
    net.advance(Duration::from_secs(59));
    assert!(net.quiet(u.a.sip) && net.quiet(u.b.sip));
    net.advance(Duration::from_secs(2));
    both_get_bye(&mut net, &u);
    assert!(net.logged("Session-Timer expired"), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn a_refresh_answered_481_or_not_at_all_ends_the_call() {
    let mut net = net_with("", 36200);
    let u = up(&mut net, "", "");
    let mut a = u.a;
    a.wait = Duration::from_secs(65);
    let re = a.request(&mut net, Method::Invite);
    a.respond(&mut net, &re, 481, None);
    a.wait = Duration::from_secs(5);
    a.request(&mut net, Method::Ack);
    a.answer_bye(&mut net);
    u.b.answer_bye(&mut net);
    net.assert_idle();

    // A callee that never answers the refresh: Timer B, then BYE to both.
    let u = up(&mut net, "", "");
    let mut b = u.b;
    b.wait = Duration::from_secs(65);
    let re = b.request(&mut net, Method::Invite);
    assert_eq!(re.call_id(), u.inv.call_id());
    // The caller's leg is refreshed meanwhile; it answers.
    let mut a = u.a;
    a.wait = Duration::from_secs(5);
    if let Some(r) = a.try_request(&mut net, Method::Invite) {
        a.respond(&mut net, &r, 200, Some(&sdp(a.rtp, &[0, 101], "sendrecv")));
    }
    a.wait = Duration::from_secs(40);
    a.answer_bye(&mut net);
    b.wait = Duration::from_secs(5);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn refuse_drops_the_extension() {
    let mut net = net_with("session-timers=refuse\n", 36240);
    let mut u = up(
        &mut net,
        "Supported: timer\r\nSession-Expires: 60\r\n",
        "Session-Expires: 90;refresher=uac\r\n",
    );
    assert_eq!(req_header(&u.inv, HeaderName::SessionExpires), None);
    assert_eq!(req_header(&u.inv, HeaderName::MinSe), None);
    assert!(!u.inv.headers().names_option("timer"));
    assert_eq!(
        header(&u.ok, HeaderName::SessionExpires),
        None,
        "no 422 either"
    );
    // No refreshes, no expiry: the call stays up.
    net.advance(Duration::from_secs(600));
    assert!(net.quiet(u.a.sip) && net.quiet(u.b.sip));
    u.a.hang_up(&mut net, &mut u.da);
    u.b.answer_bye(&mut net);
    net.assert_idle();
    // A phone that requires timers is told the extension is not there.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start_with(
        &mut net,
        "600",
        "Require: timer\r\nSession-Expires: 1800\r\n",
        &offer,
    );
    let r = a.invite_outcome(&mut net, &mut d);
    assert_eq!(r.status(), 420, "{r:?}");
    assert_eq!(header(&r, HeaderName::Unsupported), Some("timer"));
    net.assert_idle();
}

#[test]
fn a_call_sipbox_answers_itself_is_timed_too() {
    let mut net = net_with("", 36280);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let d = a.call_answered(&mut net, "600");
    a.wait = Duration::from_secs(65);
    let re = a.request(&mut net, Method::Invite);
    assert_eq!(String::from_utf8_lossy(re.body()), d.remote_sdp);
    a.respond(&mut net, &re, 408, None);
    a.wait = Duration::from_secs(5);
    a.request(&mut net, Method::Ack);
    a.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn an_entry_may_refuse_and_a_reload_applies_to_new_calls_only() {
    let mut net = net_with("", 36320);
    // A call up under originate keeps its timers across a reload to refuse.
    let mut u = up(&mut net, "", "");
    let conf = TEST_SIP_CONF
        .replace(
            "[general]\n",
            "[general]\nrtptimeout=0\nrtpholdtimeout=0\nsession-timers=refuse\n",
        )
        .replace("[1002](phone)\n", "[1002](phone)\nsession-timers=accept\n");
    net.reload(&conf, EXTENSIONS, None, sipbox::engine::ReloadScope::Sip)
        .unwrap();
    u.a.wait = Duration::from_secs(65);
    let re = u.a.request(&mut net, Method::Invite);
    assert_eq!(
        req_header(&re, HeaderName::SessionExpires),
        Some("120;refresher=uac"),
        "the running call keeps what it negotiated"
    );
    u.a.respond(
        &mut net,
        &re,
        200,
        Some(&sdp(u.a.rtp, &[0, 101], "sendrecv")),
    );
    u.a.wait = Duration::from_secs(5);
    u.a.request(&mut net, Method::Ack);
    let upd = u.b.try_request(&mut net, Method::Invite);
    if let Some(r) = upd {
        u.b.respond(
            &mut net,
            &r,
            200,
            Some(&sdp(u.b.rtp, &[0, 101], "sendrecv")),
        );
        u.b.request(&mut net, Method::Ack);
    }
    u.a.hang_up(&mut net, &mut u.da);
    u.b.answer_bye(&mut net);
    net.assert_idle();
    // A new call: 1001 ([general]: refuse) gets no timer; 1002 (accept) is offered
    // `Supported: timer` only.
    let mut u = up(&mut net, "Supported: timer\r\nSession-Expires: 600\r\n", "");
    assert_eq!(header(&u.ok, HeaderName::SessionExpires), None);
    assert!(u.inv.headers().names_option("timer"));
    assert_eq!(req_header(&u.inv, HeaderName::SessionExpires), None);
    net.advance(Duration::from_secs(1000));
    assert!(net.quiet(u.a.sip) && net.quiet(u.b.sip), "nothing timed");
    u.a.hang_up(&mut net, &mut u.da);
    u.b.answer_bye(&mut net);
    net.assert_idle();
}
