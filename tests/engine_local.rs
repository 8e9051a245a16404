//! `Local/exten@context` Dial targets on the fake network: a ring group of two Local channels
//! each dialling a phone (first answer wins, the other is CANCELled, RTP relayed caller ↔
//! callee directly), a Local channel that answers and plays a prompt itself, follow-me (an
//! inner Dial times out, the next target answers), a nonexistent extension (CHANUNAVAIL,
//! the rest of the Dial goes on), `__VAR`/`_VAR` inheritance and the caller ID, DIALSTATUS
//! of the outer Dial from the inner outcome, the loop bounds, `SIP/number@peer`, and an
//! unsupported technology. Every scenario ends with nothing left over.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::media::sounds::MemorySounds;
use sipbox::sip::{Method, Request};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
; a ring group
exten => 600,1,Dial(Local/1002@ring&Local/1003@ring/n,20)
 same => n,Goto(st-${DIALSTATUS},1)
; a Local channel that answers itself
exten => 601,1,Dial(Local/s@selfans,20)
 same => n,Hangup()
; ... and the caller's dialplan goes on after it (g)
exten => 606,1,Dial(Local/s@selfans,20,g)
 same => n,Playback(tone)
 same => n,Hangup()
; the outer Dial's own timeout
exten => 607,1,Dial(Local/1002@ring&Local/1003@ring,3)
 same => n,Goto(st-${DIALSTATUS},1)
; follow-me: 1002 for 5 s, then 1003
exten => 602,1,Dial(Local/fm@followme,30)
 same => n,Goto(st-${DIALSTATUS},1)
; a nonexistent extension among the targets, and alone
exten => 603,1,Dial(Local/999@ring&Local/1002@ring,20)
 same => n,Goto(st-${DIALSTATUS},1)
exten => 604,1,Dial(Local/999@ring,20)
 same => n,Goto(st-${DIALSTATUS},1)
; inheritance: A twice down, B once, C never
exten => 605,1,Set(__A=va)
 same => n,Set(_B=vb)
 same => n,Set(C=vc)
 same => n,Set(CALLERID(name)=Alice)
 same => n,Dial(Local/${EXTEN}@inh,20)
 same => n,Goto(st-${DIALSTATUS},1)
; inner outcomes
exten => _61X,1,Dial(Local/${EXTEN}@inner,20)
 same => n,Goto(st-${DIALSTATUS},1)
; loops
exten => 620,1,Dial(Local/deep@loop)
 same => n,Goto(st-${DIALSTATUS},1)
exten => 621,1,Dial(Local/bomb@loop)
 same => n,Goto(st-${DIALSTATUS},1)
; other target forms
exten => 630,1,Dial(SIP/5551234@gw,20)
 same => n,Goto(st-${DIALSTATUS},1)
exten => 631,1,Dial(IAX2/box/1&DAHDI/g1/2&SIP/1002,20)
 same => n,Goto(st-${DIALSTATUS},1)
exten => 632,1,Dial(Console/dsp)
 same => n,Goto(st-${DIALSTATUS},1)
; ChanIsAvail of Local targets: the first whose extension exists
exten => 640,1,ChanIsAvail(Local/999@ring&Local/1002@ring)
 same => n,GotoIf($[\"${AVAILORIGCHAN}/${AVAILSTATUS}\"=\"Local/1002@ring/1\"]?ok)
 same => n,Hangup(1)
 same => n(ok),Hangup(21)
; what the caller is told for each DIALSTATUS
exten => st-BUSY,1,Hangup(21)
exten => st-CHANUNAVAIL,1,Hangup(1)
exten => st-NOANSWER,1,Hangup(22)
exten => st-CONGESTION,1,Hangup(28)

[ring]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()

[selfans]
exten => s,1,Answer()
 same => n,Playback(tone)
 same => n,Hangup()

[followme]
exten => fm,1,Dial(SIP/1002,5)
 same => n,Dial(SIP/1003,10)
 same => n,Hangup()

[inh]
exten => 605,1,Dial(SIP/1002/${A}-${B}-${C}&Local/two@inh,20)
exten => two,1,Dial(SIP/1003/${A}-${B}-${C},20)

[inner]
exten => 610,1,Dial(SIP/1002,20)
 same => n,Hangup()
exten => 611,1,Busy()
exten => 612,1,Congestion()
exten => 613,1,Dial(SIP/1002,2)
 same => n,Hangup()
exten => 614,1,Hangup()
exten => 615,1,Dial(SIP/1009)
 same => n,Hangup()

[loop]
exten => deep,1,Dial(Local/deep@loop)
 same => n,Hangup()
exten => bomb,1,Dial(Local/bomb@loop&Local/bomb@loop)
 same => n,Hangup()
";

fn conf() -> String {
    format!("{TEST_SIP_CONF}\n[gw]\ntype=peer\nhost=127.0.0.1\nport=59300\n")
}

fn net() -> FakeNet {
    FakeNet::with_rtp(&conf(), EXTENSIONS, 34000, 34079)
}

/// 1002 and 1003 registered, then 1001; the timer count once the REGISTERs are gone.
fn phones(net: &mut FakeNet) -> (Ua, Ua, Ua, usize) {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let c = Ua::new(net, "1003", "1003pass").registered(net);
    let a = Ua::new(net, "1001", "1001pass").registered(net);
    net.advance(Duration::from_secs(40));
    let timers = net.engine.table_sizes().timers;
    (a, b, c, timers)
}

fn offer(a: &Ua) -> String {
    sdp(a.rtp, &[0, 101], "sendrecv")
}

/// The ringing phone is cancelled.
#[track_caller]
fn cancelled(net: &mut FakeNet, b: &Ua, inv: &Request) {
    let c = b.request(net, Method::Cancel);
    b.respond(net, &c, 200, None);
    b.respond(net, inv, 487, None);
    b.request(net, Method::Ack);
}

#[track_caller]
fn rtp_flows(net: &mut FakeNet, x: &Ua, to_x_leg: SocketAddr, y: &Ua, to_y_leg: SocketAddr) {
    for i in 0..5u16 {
        let payload: Vec<u8> = (0..160).map(|b| (b as u8) ^ (i as u8)).collect();
        let p = rtp_packet(0, 100 + i, 160 * u32::from(i), 0xA11CE, &payload);
        x.send_rtp(net, to_x_leg, &p);
        let got = y.recv_rtp(net, T).expect("x→y");
        assert_eq!(got.bytes, p, "x→y #{i}");
        assert_eq!(got.from, to_y_leg, "out of y's leg port");
        let q = rtp_packet(0, 900 + i, 160 * u32::from(i), 0xB0B, &payload[..80]);
        y.send_rtp(net, to_y_leg, &q);
        let got = x.recv_rtp(net, T).expect("y→x");
        assert_eq!(got.bytes, q, "y→x #{i}");
        assert_eq!(got.from, to_x_leg);
        net.advance(Duration::from_millis(20));
    }
}

/// The caller's final answer for a call to `exten` that no phone answers.
#[track_caller]
fn outcome(net: &mut FakeNet, a: &mut Ua, exten: &str) -> u16 {
    let (_, r) = a.call(net, exten, &offer(a));
    r.status()
}

#[test]
fn a_ring_group_of_local_channels_first_answer_wins_the_other_is_cancelled() {
    let mut net = net();
    let (mut a, b, c, timers) = phones(&mut net);
    let mut da = a.call_start(&mut net, "600", &offer(&a));
    let inv_b = b.request(&mut net, Method::Invite);
    let inv_c = c.request(&mut net, Method::Invite);
    assert_eq!(inv_b.from().uri.user.as_deref(), Some("1001"), "caller ID");
    b.respond(&mut net, &inv_b, 180, None);
    a.response_with(&mut net, 180);
    c.respond(&mut net, &inv_c, 180, None);
    c.respond(
        &mut net,
        &inv_c,
        200,
        Some(&sdp(c.rtp, &[0, 101], "sendrecv")),
    );
    c.request(&mut net, Method::Ack);
    cancelled(&mut net, &b, &inv_b);
    let r = a.invite_outcome(&mut net, &mut da);
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(&mut net, &da, None);
    assert_eq!(net.engine.table_sizes().calls, 1, "one call, no Local hop");
    let dc = c.callee_dialog(&net, &inv_c);
    // Optimized away: the relay bridges the caller and 1003 directly.
    rtp_flows(&mut net, &a, da.remote_media(), &c, dc.remote_media());
    a.hang_up(&mut net, &mut da);
    c.answer_bye(&mut net);
    assert!(net.quiet(b.sip));
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn a_local_channel_answers_and_plays_a_prompt_itself() {
    let samples: Vec<i16> = (0..8000)
        .map(|i| ((i % 40) * 500 - 10_000) as i16)
        .collect();
    let mut sounds = MemorySounds::new();
    sounds.insert("tone", common::rtp::wav_bytes(&samples));
    let mut net = net().with_sounds(sounds);
    let (mut a, b, c, timers) = phones(&mut net);
    let (mut da, r) = a.call(&mut net, "601", &offer(&a));
    assert_eq!(
        r.status(),
        200,
        "answered by the Local channel's Answer: {:#?}",
        net.log()
    );
    a.ack(&mut net, &da, None);
    let frames = a.collect_rtp(&mut net, 100, Duration::from_millis(500));
    assert!(
        frames.len() >= 45,
        "the Local channel's Playback reaches the caller: {} frames",
        frames.len()
    );
    // The prompt is over: the Local channel hangs up, so does the call.
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    let _ = &mut da;
    assert!(net.quiet(b.sip) && net.quiet(c.sip));
    net.assert_idle();
    let cdr = net.cdrs.last().expect("a record");
    assert_eq!(
        cdr.disposition,
        sipbox::cdr::Disposition::Answered,
        "{cdr:?}"
    );
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn with_g_the_callers_dialplan_goes_on_after_the_local_channels() {
    let samples: Vec<i16> = (0..8000)
        .map(|i| ((i % 40) * 500 - 10_000) as i16)
        .collect();
    let mut sounds = MemorySounds::new();
    sounds.insert("tone", common::rtp::wav_bytes(&samples));
    let mut net = net().with_sounds(sounds);
    let (mut a, _b, _c, timers) = phones(&mut net);
    let (da, r) = a.call(&mut net, "606", &offer(&a));
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(&mut net, &da, None);
    // The Local channel's prompt, then the caller's own: twice the frames before the BYE.
    let frames = a.collect_rtp(&mut net, 200, Duration::from_millis(500));
    assert!(frames.len() >= 95, "{} frames", frames.len());
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn the_caller_cancelling_or_the_outer_timeout_cancels_every_local_target() {
    let mut net = net();
    let (mut a, b, c, timers) = phones(&mut net);
    for (exten, cancel) in [("600", true), ("607", false)] {
        let mut da = a.call_start(&mut net, exten, &offer(&a));
        let inv_b = b.request(&mut net, Method::Invite);
        let inv_c = c.request(&mut net, Method::Invite);
        b.respond(&mut net, &inv_b, 180, None);
        c.respond(&mut net, &inv_c, 180, None);
        a.response_with(&mut net, 180);
        if cancel {
            a.cancel(&mut net, &da);
            let ok = a.response_with(&mut net, 200);
            assert_eq!(ok.cseq().method, Method::Cancel);
        } else {
            net.advance(Duration::from_secs(3));
        }
        cancelled(&mut net, &b, &inv_b);
        cancelled(&mut net, &c, &inv_c);
        let r = a.invite_outcome(&mut net, &mut da);
        let want = if cancel { 487 } else { 410 };
        assert_eq!(r.status(), want, "{exten}: {r:?}");
    }
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn follow_me_the_inner_dial_times_out_and_the_next_target_answers() {
    let mut net = net();
    let (mut a, b, mut c, timers) = phones(&mut net);
    let mut da = a.call_start(&mut net, "602", &offer(&a));
    let inv_b = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv_b, 180, None);
    a.response_with(&mut net, 180);
    assert!(net.quiet(c.sip), "1003 is not rung yet");
    net.advance(Duration::from_secs(5));
    cancelled(&mut net, &b, &inv_b);
    let inv_c = c.request(&mut net, Method::Invite);
    c.respond(&mut net, &inv_c, 180, None);
    c.respond(
        &mut net,
        &inv_c,
        200,
        Some(&sdp(c.rtp, &[0, 101], "sendrecv")),
    );
    c.request(&mut net, Method::Ack);
    let r = a.invite_outcome(&mut net, &mut da);
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(&mut net, &da, None);
    let dc = c.callee_dialog(&net, &inv_c);
    rtp_flows(&mut net, &a, da.remote_media(), &c, dc.remote_media());
    let mut dc = dc;
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn a_nonexistent_extension_is_chanunavail_and_the_rest_of_the_dial_rings() {
    let mut net = net();
    let (mut a, b, _c, _) = phones(&mut net);
    let mut da = a.call_start(&mut net, "603", &offer(&a));
    let inv_b = b.request(&mut net, Method::Invite);
    assert!(LogCapture::contains(
        "No such extension/context 999@ring while calling Local channel"
    ));
    b.respond(&mut net, &inv_b, 486, None);
    b.request(&mut net, Method::Ack);
    let r = a.invite_outcome(&mut net, &mut da);
    assert_eq!(r.status(), 403, "DIALSTATUS=BUSY from 1002: {r:?}");
    // Alone, it makes the Dial CHANUNAVAIL at once.
    assert_eq!(outcome(&mut net, &mut a, "604"), 404);
    // ChanIsAvail: 4 (invalid) for it, 1 for an extension that exists.
    assert_eq!(outcome(&mut net, &mut a, "640"), 403);
    net.assert_idle();
}

#[test]
fn variables_with_underscores_and_the_caller_id_reach_the_local_channels() {
    let mut net = net();
    let (mut a, b, c, _) = phones(&mut net);
    let mut da = a.call_start(&mut net, "605", &offer(&a));
    let inv_b = b.request(&mut net, Method::Invite);
    let inv_c = c.request(&mut net, Method::Invite);
    // SIP/peer/number: the number is the Request-URI user.
    assert_eq!(
        inv_b.uri().user.as_deref(),
        Some("va-vb-"),
        "one level down: __A and _B, not C"
    );
    assert_eq!(
        inv_c.uri().user.as_deref(),
        Some("va--"),
        "two levels down: only __A"
    );
    for inv in [&inv_b, &inv_c] {
        assert_eq!(inv.from().uri.user.as_deref(), Some("1001"));
        assert_eq!(inv.from().display.as_deref(), Some("Alice"));
    }
    b.respond(&mut net, &inv_b, 486, None);
    b.request(&mut net, Method::Ack);
    c.respond(&mut net, &inv_c, 480, None);
    c.request(&mut net, Method::Ack);
    let r = a.invite_outcome(&mut net, &mut da);
    assert_eq!(r.status(), 403, "busy beats unavailable: {r:?}");
    net.assert_idle();
}

#[test]
fn the_outer_dialstatus_comes_from_the_local_channels_outcome() {
    let mut net = net();
    let (mut a, b, _c, timers) = phones(&mut net);
    // Its Dial busy → BUSY.
    let mut da = a.call_start(&mut net, "610", &offer(&a));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 486, None);
    b.request(&mut net, Method::Ack);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 403);
    // Busy() → BUSY; Congestion() → CONGESTION; Hangup() unanswered → NOANSWER.
    assert_eq!(outcome(&mut net, &mut a, "611"), 403);
    assert_eq!(outcome(&mut net, &mut a, "612"), 484);
    assert_eq!(outcome(&mut net, &mut a, "614"), 410);
    // Its Dial times out → NOANSWER.
    let mut da = a.call_start(&mut net, "613", &offer(&a));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 180, None);
    a.response_with(&mut net, 180);
    net.advance(Duration::from_secs(2));
    cancelled(&mut net, &b, &inv);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 410);
    // Its Dial had nobody to ring → CHANUNAVAIL.
    assert_eq!(outcome(&mut net, &mut a, "615"), 404);
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn local_loops_are_bounded_by_max_forwards_and_the_local_channel_count() {
    let mut net = net();
    let (mut a, _b, _c, timers) = phones(&mut net);
    // Local/deep dials itself: 19 levels, then the Dial at Max-Forwards 0 is BUSY.
    let status = outcome(&mut net, &mut a, "620");
    assert!(
        LogCapture::contains("Max forwards exceeded"),
        "{:?}",
        net.log()
    );
    assert_eq!(
        status,
        410,
        "the loop's end unwinds as NOANSWER: {:#?}",
        net.log()
    );
    // Local/bomb dials itself twice: at most 32 Local channels; the Dials that could
    // create none are CHANUNAVAIL, and so is the whole tree.
    let status = outcome(&mut net, &mut a, "621");
    assert!(LogCapture::contains("already 32 Local channels"));
    assert_eq!(status, 404);
    net.assert_idle();
    assert_eq!(net.engine.table_sizes().timers, timers);
}

#[test]
fn sip_number_at_peer_calls_that_number_at_that_peer() {
    let mut net = net();
    let (mut a, _b, _c, _) = phones(&mut net);
    let gw = Ua::at(
        "gw",
        "",
        "127.0.0.1:59300".parse().unwrap(),
        "127.0.0.1:59302".parse().unwrap(),
    );
    let mut da = a.call_start(&mut net, "630", &offer(&a));
    let inv = gw.request(&mut net, Method::Invite);
    assert_eq!(inv.uri().user.as_deref(), Some("5551234"), "{inv:?}");
    gw.respond(&mut net, &inv, 503, None);
    gw.request(&mut net, Method::Ack);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 484);
    net.assert_idle();
}

#[test]
fn an_unsupported_technology_is_chanunavail_with_one_warning_at_load() {
    let mut net = net();
    assert_eq!(
        LogCapture::count("Dial technology 'IAX2' is not supported"),
        1,
        "{:?}",
        net.log()
    );
    assert_eq!(
        LogCapture::count("Dial technology 'DAHDI' is not supported"),
        1
    );
    assert_eq!(
        LogCapture::count("Dial technology 'Console' is not supported"),
        1
    );
    let (mut a, b, _c, _) = phones(&mut net);
    // The SIP target of the same Dial still rings.
    let mut da = a.call_start(&mut net, "631", &offer(&a));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 486, None);
    b.request(&mut net, Method::Ack);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 403);
    // Alone: CHANUNAVAIL at once.
    assert_eq!(outcome(&mut net, &mut a, "632"), 404);
    assert_eq!(
        LogCapture::count("Dial technology 'IAX2' is not supported"),
        1,
        "no warning per call"
    );
    net.assert_idle();
}
