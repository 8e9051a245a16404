//! Two sipboxes trunked to each other through the real binary: each one's `[other]` peer is
//! the other (static host and port, `insecure=port,invite`), and both route every `5XXX`
//! number to `[other]`. A phone of A calls 5555: A → B → A would go on forever (issue 13:
//! two PBXes made 251 calls out of one INVITE in 50 ms before Max-Forwards was kept). The
//! INVITE coming back to A carries A's own loop marker, so A answers `482`, B's Dial fails,
//! A's fails and the phone gets a failure: each box rang the other exactly once. About 1 s.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::rtp::sdp;
use common::ua::Ua;
use common::wire::UdpWire;
use common::*;
use std::time::Duration;

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _5XXX,1,Dial(SIP/${EXTEN}@other,5)
 same => n,Hangup()

[loop]
exten => _5XXX,1,Dial(SIP/${EXTEN}@other,5)
 same => n,Hangup()

[default]
exten => _X.,1,Hangup()
";

/// A box whose `[other]` trunk is 127.0.0.1:`other_port`, listening on `port`.
fn start(name: &str, port: u16, other_port: u16, fromuser: &str) -> Sipbox {
    let dir = temp_dir(name);
    // TEST_SIP_CONF's own `[trunk]` (host=127.0.0.1, with a secret) would claim the other
    // box's INVITEs by address: this config has only the phones and the trunk to the other
    // box. The trunk's `fromuser` keeps the caller's number (1001, a phone of both boxes) out
    // of the From user, which sipbox (as chan_sip) matches before the source address.
    let phones = TEST_SIP_CONF.split("[trunk]").next().unwrap();
    let conf = format!(
        "{phones}\n[other]\ntype=peer\nhost=127.0.0.1\nport={other_port}\n\
         insecure=port,invite\ncontext=loop\nfromuser={fromuser}\n"
    );
    std::fs::write(dir.join("sip.conf"), conf).unwrap();
    std::fs::write(dir.join("extensions.conf"), EXTENSIONS).unwrap();
    Sipbox::start_with(&dir, "debug", &["--bind", &format!("127.0.0.1:{port}")])
}

/// How many calls to 5555 a box took into its dialplan.
fn calls(sb: &Sipbox) -> Vec<String> {
    sb.log()
        .into_iter()
        .filter(|l| l.contains(" to '5555' in context "))
        .collect()
}

#[test]
fn a_call_between_two_boxes_that_route_to_each_other_stops_at_once() {
    let (pa, pb) = (common::sipp::free_port(), common::sipp::free_port());
    let a = start("loop-a", pa, pb, "box-a");
    let b = start("loop-b", pb, pa, "box-b");
    assert_eq!(a.addr.port(), pa, "A listens where B's trunk points");
    let mut w = UdpWire::to(&a);
    let mut phone = Ua::new(&mut w, "1001", "1001pass");
    let offer = sdp(phone.rtp, &[0], "sendrecv");
    let (_, r) = phone.call(&mut w, "5555", &offer);
    assert!(r.status() >= 400, "the looping call fails: {r:?}");
    // Give a runaway loop time to show itself, then count.
    std::thread::sleep(Duration::from_millis(500));
    let (in_a, in_b) = (calls(&a), calls(&b));
    assert_eq!(in_a.len(), 1, "A took only the phone's call: {in_a:?}");
    assert!(in_a[0].contains("from 1001"), "{in_a:?}");
    assert_eq!(in_b.len(), 1, "B took A's call once: {in_b:?}");
    assert!(in_b[0].contains("from box-a"), "{in_b:?}");
    assert!(
        a.log()
            .iter()
            .any(|l| l.contains("came back to this sipbox (X-Sipbox-Loop): 482")),
        "A refused its own INVITE back: {:?}",
        a.log()
    );
    assert!(
        b.log()
            .iter()
            .any(|l| l.contains("ended (Hangup(StatusCode(482)))")),
        "B's Dial met A's 482: {:?}",
        b.log()
    );
}
