//! The RTP relay through the real binary (the seam: the driver binds the RTP sockets the
//! engine asks for and sends `Verdict::Forward` datagrams out of the right one): 1001 calls
//! 1002 with the scripted UA over real UDP, RTP and RTCP cross byte-exact both ways. Hold,
//! transcoding, 488, port exhaustion and rtptimeout run on the fake network
//! (tests/engine_media.rs).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
#[path = "common/media_helpers.rs"]
mod media_helpers;

use common::ua::*;
use common::*;
use media_helpers::start_with_rtp;
use sipbox::sip::Method;
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(3);

#[test]
fn rtp_and_rtcp_relayed_byte_exact_both_ways_through_the_binary() {
    let sb = start_with_rtp(TEST_SIP_CONF, TEST_EXTENSIONS_CONF, 31000, 31019);
    let mut w = UdpWire::to(&sb);
    let callee = Ua::new(&mut w, "1002", "1002pass").registered(&mut w);
    let mut a = Ua::new(&mut w, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0, 101], "sendrecv");
    let mut d = a.call_start(&mut w, "1002", &offer);
    let inv = callee.request(&mut w, Method::Invite);
    let inv_body = String::from_utf8_lossy(inv.body()).into_owned();
    callee.respond(
        &mut w,
        &inv,
        200,
        Some(&sdp(callee.rtp, &[0, 101], "sendrecv")),
    );
    let ok = a.invite_outcome(&mut w, &mut d);
    assert_eq!(ok.status(), 200, "{ok:?}");
    a.ack(&mut w, &d, None);
    callee.request(&mut w, Method::Ack);
    let to_callee_leg = d.remote_media();
    let to_caller_leg = sdp_addr(&inv_body);
    for at in [to_callee_leg, to_caller_leg] {
        assert!(
            (31000..=31019).contains(&at.port()) && at.ip().is_loopback(),
            "{at}"
        );
    }
    for i in 0..10u16 {
        let payload: Vec<u8> = (0..160).map(|b| (b as u8) ^ (i as u8)).collect();
        let p = rtp_packet(0, 100 + i, 160 * u32::from(i), 0xCA11E4, &payload);
        a.send_rtp(&mut w, to_callee_leg, &p);
        let got = callee.recv_rtp(&mut w, T).expect("caller→callee");
        assert_eq!(
            (got.from, got.bytes),
            (to_caller_leg, p),
            "caller→callee #{i}"
        );
        let q = rtp_packet(0, 500 + i, 160 * u32::from(i), 0xCA11EE, &payload[..80]);
        callee.send_rtp(&mut w, to_caller_leg, &q);
        let got = a.recv_rtp(&mut w, T).expect("callee→caller");
        assert_eq!(
            (got.from, got.bytes),
            (to_callee_leg, q),
            "callee→caller #{i}"
        );
    }
    let rr = |ssrc: u32| {
        let mut v = vec![0x80, 201, 0, 1];
        v.extend_from_slice(&ssrc.to_be_bytes());
        v
    };
    let rtcp_of = |a: SocketAddr| SocketAddr::new(a.ip(), a.port() + 1);
    a.send_rtcp(&mut w, rtcp_of(to_callee_leg), &rr(1));
    assert_eq!(callee.recv_rtcp(&mut w, T).map(|d| d.bytes), Some(rr(1)));
    callee.send_rtcp(&mut w, rtcp_of(to_caller_leg), &rr(2));
    assert_eq!(a.recv_rtcp(&mut w, T).map(|d| d.bytes), Some(rr(2)));

    a.hang_up(&mut w, &mut d);
    let bye = callee.request(&mut w, Method::Bye);
    callee.respond(&mut w, &bye, 200, None);
    assert!(sb.wait_log("ended (ByeFrom(0))", T));
}
