//! What one source may hold, on the fake network: `maxcallspersource` refuses the N+1th call
//! from one address (503, Retry-After) while another address still gets through; an entry's
//! own `maxcallspersource` overrides `[general]`'s for calls from that entry; and a call
//! re-dialled over and over stops at `MAX_LEGS` legs instead of growing without end.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::sip::{HeaderName, Method};
use std::net::SocketAddr;

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => 600,1,Answer()
 same => n,Echo()
exten => 700,1,Dial(SIP/1002,5)
 same => n,GotoIf($[\"${DIALSTATUS}\" = \"CHANUNAVAIL\"]?done)
 same => n,Goto(700,1)
 same => n(done),Hangup(34)
";

fn net_with(general: &str, entry: &str, rtp_lo: u16) -> FakeNet {
    let conf = TEST_SIP_CONF
        .replace("[general]\n", &format!("[general]\nbanignore=\n{general}"))
        .replace("[1001](phone)\n", &format!("[1001](phone)\n{entry}"));
    FakeNet::with_rtp(&conf, EXTENSIONS, rtp_lo, rtp_lo + 79)
}

/// A phone on another loopback address (another source as far as sipbox can tell).
fn elsewhere(user: &str, password: &str, port: u16) -> Ua {
    let ip = std::net::Ipv4Addr::new(127, 0, 0, 2);
    Ua::at(
        user,
        password,
        SocketAddr::from((ip, port)),
        SocketAddr::from((ip, port + 2)),
    )
}

#[test]
fn one_address_is_capped_while_another_still_calls() {
    let mut net = net_with("maxcallspersource=2\n", "", 37000);
    let mut up = Vec::new();
    for _ in 0..2 {
        let mut a = Ua::new(&mut net, "1001", "1001pass");
        let d = a.call_answered(&mut net, "600");
        up.push((a, d));
    }
    let mut third = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(third.rtp, &[0], "sendrecv");
    let (_d, r) = third.call(&mut net, "600", &offer);
    assert_eq!(r.status(), 503, "{r:?}");
    assert_eq!(header(&r, HeaderName::RetryAfter), Some("60"));
    // Another address, even the same account, is not held back by the first one's calls.
    let mut other = elsewhere("1001", "1001pass", 47000);
    let mut d = other.call_answered(&mut net, "600");
    other.hang_up(&mut net, &mut d);
    for (mut a, mut d) in up {
        a.hang_up(&mut net, &mut d);
    }
    net.assert_idle();
}

#[test]
fn an_entry_may_set_its_own_cap() {
    let mut net = net_with("", "maxcallspersource=1\n", 37080);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_answered(&mut net, "600");
    let mut again = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(again.rtp, &[0], "sendrecv");
    let (_d, r) = again.call(&mut net, "600", &offer);
    assert_eq!(r.status(), 503, "1001's own cap: {r:?}");
    // 1002 from the same address follows [general]'s cap (100).
    let mut b = Ua::new(&mut net, "1002", "1002pass");
    let mut db = b.call_answered(&mut net, "600");
    b.hang_up(&mut net, &mut db);
    a.hang_up(&mut net, &mut d);
    net.assert_idle();
}

#[test]
fn a_call_redialled_forever_stops_at_max_legs() {
    let mut net = net_with("", "", 37160);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "700", &offer);
    let mut rung = 0;
    while let Some(inv) = b.try_request(&mut net, Method::Invite) {
        rung += 1;
        b.respond(&mut net, &inv, 486, None);
        b.request(&mut net, Method::Ack);
        assert!(rung < 100, "the call keeps growing");
    }
    assert_eq!(
        rung,
        sipbox::call::state::MAX_LEGS - 1,
        "every leg but the caller's"
    );
    let r = a.invite_outcome(&mut net, &mut d);
    assert!(r.status() >= 400, "{r:?}");
    assert!(net.logged("legs already; no new fork"), "{:?}", net.log());
    net.assert_idle();
}
