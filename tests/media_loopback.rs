//! Media through the real binary: two std-socket phones (1001 calls 1002) exchange RTP and RTCP
//! through sipbox's relay; hold via re-INVITE, µ-law ↔ A-law transcoding, 488, port exhaustion
//! (503, nothing leaked) and rtptimeout. Each test uses its own RTP port range.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
#[path = "common/media_helpers.rs"]
mod media_helpers;

use common::*;
use media_helpers::*;
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn conf(general_extra: &str, callee_extra: &str) -> String {
    TEST_SIP_CONF
        .replace("[general]\n", &format!("[general]\n{general_extra}"))
        .replace("[1002](phone)\n", &format!("[1002](phone)\n{callee_extra}"))
}

/// Callee side: wait for the INVITE, answer 200 with `pts`, wait for the ACK. Returns the
/// phone and the INVITE's SDP address (sipbox's callee-leg port).
fn answer_in_thread(
    callee: Phone,
    server: SocketAddr,
    pts: &'static [u8],
) -> thread::JoinHandle<(Phone, Msg)> {
    thread::spawn(move || {
        let inv = callee
            .wait_for(T, |m| m.start.starts_with("INVITE"))
            .expect("INVITE at the callee");
        let body = sdp(callee.rtp_addr(), pts, "sendrecv");
        callee.respond(server, &inv, 200, Some(&body));
        callee
            .wait_for(T, |m| m.start.starts_with("ACK"))
            .expect("ACK at the callee");
        (callee, inv)
    })
}

/// Sets up 1001 → 1002 with the given payload types; returns caller, callee, the caller's
/// dialog and the callee's INVITE.
fn setup_call(
    sb: &Sipbox,
    cid: &str,
    caller_pts: &[u8],
    callee_pts: &'static [u8],
) -> (Phone, Phone, Dialog, Msg) {
    let callee = Phone::new("1002", "1002pass");
    callee.register(sb.addr);
    setup_call_to(sb, callee, cid, caller_pts, callee_pts)
}

/// As [`setup_call`], to an already registered callee.
fn setup_call_to(
    sb: &Sipbox,
    callee: Phone,
    cid: &str,
    caller_pts: &[u8],
    callee_pts: &'static [u8],
) -> (Phone, Phone, Dialog, Msg) {
    let caller = Phone::new("1001", "1001pass");
    let h = answer_in_thread(callee, sb.addr, callee_pts);
    let resp = caller.call(
        sb.addr,
        "1002",
        cid,
        &sdp(caller.rtp_addr(), caller_pts, "sendrecv"),
    );
    assert_eq!(resp.status(), 200, "{resp:?}");
    caller.ack(sb.addr, &resp, cid, 2, &format!("z9hG4bK-{cid}-ack"));
    let (callee, inv) = h.join().unwrap();
    (caller, callee, Phone::dialog_of(&resp, 2), inv)
}

fn in_range(a: SocketAddr, lo: u16, hi: u16) -> bool {
    a.ip().is_loopback() && (lo..=hi).contains(&a.port()) && a.port().is_multiple_of(2)
}

#[test]
fn rtp_and_rtcp_relayed_byte_exact_both_ways_and_hold_keeps_direction() {
    let sb = start_with_rtp(&conf("", ""), TEST_EXTENSIONS_CONF, 31000, 31019);
    let (caller, callee, mut d, inv) = setup_call(&sb, "relay1", &[0, 101], &[0, 101]);
    let to_callee_leg = d.remote_media; // sipbox's port for the caller
    let to_caller_leg = sdp_addr(&inv.body); // sipbox's port for the callee
    assert!(in_range(to_callee_leg, 31000, 31019), "{to_callee_leg}");
    assert!(in_range(to_caller_leg, 31000, 31019), "{to_caller_leg}");
    assert_ne!(to_callee_leg, to_caller_leg);
    assert!(!inv.body.contains(&caller.rtp_addr().port().to_string()));

    // STUN and garbage are dropped, never forwarded.
    let mut stun = vec![0u8, 1, 0, 0];
    stun.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    stun.extend_from_slice(&[7u8; 12]);
    caller.rtp.send_to(&stun, to_callee_leg).unwrap();
    caller.rtp.send_to(b"garbage", to_callee_leg).unwrap();

    for i in 0..20u16 {
        let payload: Vec<u8> = (0..160).map(|b| (b as u8) ^ (i as u8)).collect();
        let p = rtp_packet(0, 100 + i, 160 * u32::from(i), 0xCA11E4, &payload);
        caller.rtp.send_to(&p, to_callee_leg).unwrap();
        assert_eq!(
            recv_raw(&callee.rtp).as_deref(),
            Some(&p[..]),
            "caller→callee #{i}"
        );
        let q = rtp_packet(0, 500 + i, 160 * u32::from(i), 0xCA11EE, &payload[..80]);
        callee.rtp.send_to(&q, to_caller_leg).unwrap();
        assert_eq!(
            recv_raw(&caller.rtp).as_deref(),
            Some(&q[..]),
            "callee→caller #{i}"
        );
    }
    // RTCP receiver reports, both ways, on the odd ports.
    let rr = |ssrc: u32| {
        let mut v = vec![0x80, 201, 0, 1];
        v.extend_from_slice(&ssrc.to_be_bytes());
        v
    };
    let rtcp_of = |a: SocketAddr| SocketAddr::new(a.ip(), a.port() + 1);
    caller.rtcp.send_to(&rr(1), rtcp_of(to_callee_leg)).unwrap();
    assert_eq!(recv_raw(&callee.rtcp), Some(rr(1)));
    callee.rtcp.send_to(&rr(2), rtcp_of(to_caller_leg)).unwrap();
    assert_eq!(recv_raw(&caller.rtcp), Some(rr(2)));

    // Hold: re-INVITE sendonly reaches the callee as sendonly; its recvonly comes back.
    caller.in_dialog(
        sb.addr,
        &mut d,
        "INVITE",
        Some(&sdp(caller.rtp_addr(), &[0, 101], "sendonly")),
    );
    let re = callee
        .wait_for(T, |m| m.start.starts_with("INVITE"))
        .expect("re-INVITE at the callee");
    assert_eq!(sdp_direction(&re.body), "sendonly");
    assert_eq!(
        sdp_addr(&re.body),
        to_caller_leg,
        "same port across the re-INVITE"
    );
    callee.respond(
        sb.addr,
        &re,
        200,
        Some(&sdp(callee.rtp_addr(), &[0, 101], "recvonly")),
    );
    let ok = caller
        .wait_for(T, |m| {
            m.status() == 200 && m.header("CSeq").is_some_and(|c| c.contains("INVITE"))
        })
        .expect("200 to the re-INVITE");
    assert_eq!(sdp_direction(&ok.body), "recvonly");
    d.cseq -= 1;
    caller.in_dialog(sb.addr, &mut d, "ACK", None);

    // Resume, and media flows again.
    caller.in_dialog(
        sb.addr,
        &mut d,
        "INVITE",
        Some(&sdp(caller.rtp_addr(), &[0, 101], "sendrecv")),
    );
    let re = callee
        .wait_for(T, |m| m.start.starts_with("INVITE"))
        .unwrap();
    assert_eq!(sdp_direction(&re.body), "sendrecv");
    callee.respond(
        sb.addr,
        &re,
        200,
        Some(&sdp(callee.rtp_addr(), &[0, 101], "sendrecv")),
    );
    caller
        .wait_for(T, |m| {
            m.status() == 200 && m.header("CSeq").is_some_and(|c| c.contains("INVITE"))
        })
        .unwrap();
    d.cseq -= 1;
    caller.in_dialog(sb.addr, &mut d, "ACK", None);
    let p = rtp_packet(0, 200, 99_999, 0xCA11E4, &[0x55; 160]);
    caller.rtp.send_to(&p, to_callee_leg).unwrap();
    assert_eq!(recv_raw(&callee.rtp), Some(p));

    caller.in_dialog(sb.addr, &mut d, "BYE", None);
    let bye = callee
        .wait_for(T, |m| m.start.starts_with("BYE"))
        .expect("BYE relayed");
    callee.respond(sb.addr, &bye, 200, None);
    assert!(sb.wait_log("ended (ByeFrom(0))", T));
}

#[test]
fn ulaw_caller_is_transcoded_for_an_alaw_callee() {
    let sb = start_with_rtp(
        &conf("", "disallow=all\nallow=alaw\n"),
        TEST_EXTENSIONS_CONF,
        31040,
        31059,
    );
    let (caller, callee, d, inv) = setup_call(&sb, "xcode1", &[0, 101], &[8, 101]);
    assert!(inv.body.contains("RTP/AVP 8 101"), "{}", inv.body);
    assert!(d.remote_media.port() != 0);
    let ulaw: Vec<u8> = (0..160u16).map(|b| b as u8).collect();
    let p = rtp_packet(0, 1, 0, 7, &ulaw);
    caller.rtp.send_to(&p, d.remote_media).unwrap();
    let got = recv_raw(&callee.rtp).expect("transcoded packet");
    let mut want = ulaw.clone();
    sipbox::media::g711::transcode_ulaw_to_alaw_in_place(&mut want);
    assert_eq!(got[1], 8, "PT rewritten to PCMA");
    assert_eq!(&got[12..], &want[..]);
    // And back: A-law from the callee arrives as µ-law.
    let q = rtp_packet(8, 1, 0, 9, &want);
    callee.rtp.send_to(&q, sdp_addr(&inv.body)).unwrap();
    let back = recv_raw(&caller.rtp).expect("packet back");
    assert_eq!(back[1], 0);
    let mut again = want.clone();
    sipbox::media::g711::transcode_alaw_to_ulaw_in_place(&mut again);
    assert_eq!(&back[12..], &again[..]);
}

#[test]
fn no_common_codec_is_488() {
    let sb = start_with_rtp(
        &conf("", "disallow=all\nallow=g722\n"),
        TEST_EXTENSIONS_CONF,
        31060,
        31069,
    );
    let callee = Phone::new("1002", "1002pass");
    callee.register(sb.addr);
    let caller = Phone::new("1001", "1001pass");
    let resp = caller.call(
        sb.addr,
        "1002",
        "nocodec",
        &sdp(caller.rtp_addr(), &[0, 101], "sendrecv"),
    );
    assert_eq!(resp.status(), 488, "{resp:?}");
}

#[test]
fn port_exhaustion_is_503_and_nothing_leaks() {
    // Two pairs: exactly one relayed call.
    let sb = start_with_rtp(&conf("", ""), TEST_EXTENSIONS_CONF, 31080, 31083);
    let (caller, callee, mut d, _) = setup_call(&sb, "full1", &[0, 101], &[0, 101]);
    let other = Phone::new("1003", "1003pass");
    let resp = other.call(
        sb.addr,
        "1002",
        "full2",
        &sdp(other.rtp_addr(), &[0], "sendrecv"),
    );
    assert_eq!(resp.status(), 503, "{resp:?}");
    assert!(sb.wait_log("no RTP port pair left", T));
    caller.in_dialog(sb.addr, &mut d, "BYE", None);
    let bye = callee.wait_for(T, |m| m.start.starts_with("BYE")).unwrap();
    callee.respond(sb.addr, &bye, 200, None);
    assert!(sb.wait_log("ended (ByeFrom(0))", T));
    // The ports came back: the next call gets both pairs again.
    drop(caller);
    let (_c, _e, d2, inv) = setup_call_to(&sb, callee, "full3", &[0], &[0]);
    assert!(in_range(d2.remote_media, 31080, 31083));
    assert!(in_range(sdp_addr(&inv.body), 31080, 31083));
}

#[test]
fn rtptimeout_hangs_up_both_legs() {
    let sb = start_with_rtp(
        &conf("rtptimeout=1\n", ""),
        TEST_EXTENSIONS_CONF,
        31100,
        31119,
    );
    let (caller, callee, _d, _) = setup_call(&sb, "quiet1", &[0], &[0]);
    // Nobody sends RTP: within ~1 s both legs get a BYE.
    let b1 = caller.wait_for(Duration::from_secs(4), |m| m.start.starts_with("BYE"));
    let b2 = callee.wait_for(Duration::from_secs(4), |m| m.start.starts_with("BYE"));
    assert!(b1.is_some() && b2.is_some(), "BYE on both legs");
    assert!(sb.wait_log("(rtptimeout); hanging up", T));
}
