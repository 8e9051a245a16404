//! The status page's and /metrics' counters on the sans-IO engine with a fake clock: calls
//! counted by how they ended (answered, busy, no answer, cancelled), unanswered ones listed
//! as recent failures, a live call's duration and codecs, registrations with their expiry,
//! reloads counted, and the Prometheus text rendered from the same snapshot.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::engine_net::{answer, Net, Phone};
use sipbox::engine::ReloadScope;
use sipbox::sip::Method;
use sipbox::status::{FailureKind, Outcome, PeerState};
use std::time::Duration;

const SIP_CONF: &str = "\
[general]
context=default
allowguest=no
minexpiry=60

[phone](!)
type=friend
host=dynamic
context=internal

[1001](phone)
[1002](phone)
";

const EXTENSIONS: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 404,1,Hangup(1)
";

fn setup() -> (Net, Phone, Phone) {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    let a = Phone::new("1001", 6001);
    let mut b = Phone::new("1002", 6002);
    let reg = b.register(net.sipbox, 300);
    net.send(b.addr, &reg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    (net, a, b)
}

fn ring(net: &mut Net, a: &mut Phone, b: &Phone) -> (String, sipbox::sip::Request) {
    let (inv, _, _) = a.invite(net.sipbox, "1002");
    net.send(a.addr, &inv);
    assert_eq!(net.recv_response(a.addr).status(), 100);
    let out = net.recv_request(b.addr);
    assert_eq!(*out.method(), Method::Invite);
    (inv, out)
}

#[test]
fn calls_are_counted_by_outcome_and_failures_listed() {
    let (mut net, mut a, b) = setup();
    let s = net.engine.status_snapshot(net.now);
    assert_eq!(s.registrations.len(), 1);
    assert_eq!(s.registrations[0].aor, "1002");
    assert_eq!(s.registrations[0].expires_in, 300);
    assert_eq!(s.peers.len(), 2);
    assert!(s.peers.iter().all(|p| p.state == PeerState::Unmonitored));
    assert_eq!(net.engine.counters().registers_accepted, 1);

    // Answered, held 30 s on the fake clock: the snapshot shows it live.
    let (inv, out) = ring(&mut net, &mut a, &b);
    net.send(b.addr, &answer(&out, 200, "bt", b.addr, true));
    let ok = net.recv_response(a.addr);
    assert_eq!(ok.status(), 200);
    assert_eq!(*net.recv_request(b.addr).method(), Method::Ack);
    net.send(a.addr, &a.ack_2xx(&inv, &ok));
    net.advance(Duration::from_secs(30));
    let s = net.engine.status_snapshot(net.now);
    assert_eq!(s.calls.len(), 1);
    let call = &s.calls[0];
    assert!(call.answered);
    assert_eq!(call.exten, "1002");
    assert_eq!(call.duration, Duration::from_secs(30));
    assert_eq!(call.legs.len(), 2);
    assert!(call.legs[0].channel.starts_with("SIP/1001-"));
    assert!(call.legs.iter().all(|l| l.state == "Up"));
    assert!(call.legs.iter().all(|l| l.codec.as_deref() == Some("ulaw")));
    assert_eq!(s.registrations[0].expires_in, 270, "the expiry counts down");
    net.send(a.addr, &a.bye_as_caller(&inv, &ok));
    assert_eq!(net.recv_response(a.addr).status(), 200);
    let bye = net.recv_request(b.addr);
    net.send(b.addr, &answer(&bye, 200, "bt", b.addr, false));

    // Busy.
    let (inv, out) = ring(&mut net, &mut a, &b);
    net.send(b.addr, &answer(&out, 486, "bt", b.addr, false));
    let _ack = net.recv_request(b.addr);
    let r = net.recv_non_trying(a.addr);
    assert_eq!(r.status(), 486);
    net.send(a.addr, &a.ack_failure(&inv, &r));

    // No answer: the Dial times out.
    let (inv, out) = ring(&mut net, &mut a, &b);
    net.send(b.addr, &answer(&out, 180, "bt", b.addr, false));
    assert_eq!(net.recv_response(a.addr).status(), 180);
    net.advance(Duration::from_secs(20));
    let cancel = net.recv_request(b.addr);
    net.send(b.addr, &answer(&cancel, 200, "bt", b.addr, false));
    net.send(b.addr, &answer(&out, 487, "bt", b.addr, false));
    assert_eq!(
        *net.recv_request(b.addr).method(),
        Method::Ack,
        "of the 487"
    );
    let r = net.recv_non_trying(a.addr);
    assert_eq!(r.status(), 480);
    net.send(a.addr, &a.ack_failure(&inv, &r));

    // Cancelled by the caller while it rings.
    let (inv, out) = ring(&mut net, &mut a, &b);
    net.send(b.addr, &answer(&out, 180, "bt", b.addr, false));
    assert_eq!(net.recv_response(a.addr).status(), 180);
    net.send(a.addr, &a.cancel(&inv));
    let cancel = net.recv_request(b.addr);
    assert_eq!(*cancel.method(), Method::Cancel);
    net.send(b.addr, &answer(&cancel, 200, "bt", b.addr, false));
    net.send(b.addr, &answer(&out, 487, "bt", b.addr, false));
    net.advance(Duration::from_secs(1));

    let c = net.engine.counters();
    assert_eq!(c.calls(Outcome::Answered), 1);
    assert_eq!(c.calls(Outcome::Busy), 1);
    assert_eq!(c.calls(Outcome::NoAnswer), 1);
    assert_eq!(c.calls(Outcome::Cancelled), 1);
    assert_eq!(c.calls(Outcome::Failed) + c.calls(Outcome::Congestion), 0);
    let s = net.engine.status_snapshot(net.now);
    assert!(s.calls.is_empty());
    let failures: Vec<_> = s
        .failures
        .iter()
        .map(|f| (f.kind, f.text.as_str()))
        .collect();
    assert_eq!(
        failures.len(),
        2,
        "answered and cancelled calls are not failures: {failures:?}"
    );
    assert!(failures[0].0 == FailureKind::Call && failures[0].1.ends_with("to '1002': busy (486)"));
    assert!(
        failures[1].1.ends_with("to '1002': noanswer (480)"),
        "{failures:?}"
    );

    let text = sipbox::status::metrics::render(&s);
    for line in [
        "sipbox_calls_active 0",
        "sipbox_calls_total{outcome=\"answered\"} 1",
        "sipbox_calls_total{outcome=\"busy\"} 1",
        "sipbox_calls_total{outcome=\"noanswer\"} 1",
        "sipbox_calls_total{outcome=\"cancelled\"} 1",
        "sipbox_registrations 1",
        "sipbox_peers{status=\"unmonitored\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    let json = sipbox::status::json::render(&s);
    assert!(
        json.contains("\"calls_total\":{\"answered\":1,\"busy\":1,\"noanswer\":1,\"cancelled\":1")
    );
}

#[test]
fn reloads_are_counted_ok_and_failed() {
    let (mut net, _, _) = setup();
    net.reload(SIP_CONF, EXTENSIONS, None, ReloadScope::All)
        .expect("same config reloads");
    net.reload(SIP_CONF, EXTENSIONS, None, ReloadScope::Sip)
        .expect("sip reload");
    assert_eq!(net.engine.counters().reloads_ok, 2);
    assert_eq!(net.engine.counters().reloads_failed, 0);
    // A config file with an error never reaches the engine: the driver's reader tells it.
    net.engine.reload_refused();
    let c = net.engine.counters();
    assert_eq!((c.reloads_ok, c.reloads_failed), (2, 1));
    let text = sipbox::status::metrics::render(&net.engine.status_snapshot(net.now));
    assert!(text.contains("\nsipbox_config_reloads_total{result=\"failed\"} 1\n"));
}
