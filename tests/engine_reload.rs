//! Reload on the fake network: the sip.conf diff by name (added, removed, changed peers) with
//! calls up and phones registered, calls keeping the settings they began with, a changed
//! secret for the next REGISTER, the new dialplan at a running call's next priority, and a
//! broken config changing nothing.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::rtp::rtp_packet;
use common::ua::*;
use sipbox::engine::{PeerStatus, ReloadScope};
use sipbox::sip::{Method, Request};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn sip_conf(peers: &str) -> String {
    format!(
        "[general]\nbindaddr=127.0.0.1\nbindport=0\ncontext=default\nallowguest=no\n\
         realm=sipbox\nqualifyfreq=1\n\n\
         [phone](!)\ntype=friend\nhost=dynamic\ncontext=internal\n\
         contactdeny=0.0.0.0/0.0.0.0\ncontactpermit=127.0.0.0/255.0.0.0\n\n{peers}"
    )
}

const BASE_PEERS: &str = "\
[1001](phone)
secret=1001pass
disallow=all
allow=ulaw
nat=force_rport,comedia

[1002](phone)
secret=1002pass

[1003](phone)
secret=1003pass
qualify=500
";

const EXTENSIONS: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},10)
exten => 700,1,Wait(2)
 same => n,Dial(SIP/1002,10)
exten => 800,1,Answer()
 same => n,Wait(2)
 same => n,Hangup()

[default]
exten => _X.,1,Hangup()
";

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

fn bindings(net: &FakeNet, aor: &str) -> usize {
    net.engine.registrar().bindings(aor).len()
}

#[test]
fn peers_added_removed_and_changed_keep_the_registrations_of_those_that_stay() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::new(&base, EXTENSIONS);
    let _p2 = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let p3 = Ua::new(&mut net, "1003", "1003pass").registered(&mut net);
    // 1003 is qualified: it answers its first ping.
    let ping = p3.request(&mut net, Method::Options);
    p3.respond(&mut net, &ping, 200, None);
    assert!(matches!(
        net.engine.peer_status("1003"),
        Some(PeerStatus::Reachable(_))
    ));
    assert!(net.engine.is_qualifying("1003"));
    // 1003 goes, 1002 changes (a new secret), 2001 arrives with qualify.
    let next = sip_conf(
        "[1001](phone)\nsecret=1001pass\ndisallow=all\nallow=ulaw\nnat=force_rport,comedia\n\n\
         [1002](phone)\nsecret=new2002\n\n[2001](phone)\nsecret=2001pass\nqualify=500\n",
    );
    let report = net
        .reload(&next, EXTENSIONS, None, ReloadScope::All)
        .expect("valid config");
    assert_eq!(report.added, ["2001"]);
    assert_eq!(report.removed, ["1003"]);
    assert_eq!(report.changed, ["1002"]);
    assert_eq!(report.unchanged, 1);
    assert_eq!(report.bindings_dropped, 1, "1003's binding");
    assert!(
        report.needs_restart.is_empty(),
        "{:?}",
        report.needs_restart
    );
    assert!(net.logged(
        "Reloading chan_sip: 1 peers added, 1 removed, 1 changed, 1 unchanged; 1 registrations dropped"
    ));
    assert_eq!(bindings(&net, "1002"), 1, "a changed peer stays registered");
    assert_eq!(
        bindings(&net, "1003"),
        0,
        "a removed peer's binding is dropped"
    );
    assert!(
        net.store_ops.iter().any(|op| matches!(
            op,
            sipbox::store::StoreOp::Remove { aor, .. } if aor == "1003"
        )),
        "and deleted from the store"
    );
    assert!(
        net.engine.peer_status("1003").is_none(),
        "the removed peer is gone"
    );
    assert_eq!(net.engine.table_sizes().bindings, 1);
    // 1003's qualify timer is gone: it is never pinged again.
    net.advance(Duration::from_secs(5));
    assert!(
        p3.try_request(&mut net, Method::Options).is_none(),
        "no ping to a removed peer"
    );
    // 2001, new with qualify=500, is pinged once it registers.
    let p21 = Ua::new(&mut net, "2001", "2001pass").registered(&mut net);
    assert!(net.engine.is_qualifying("2001"));
    let ping = p21.request(&mut net, Method::Options);
    p21.respond(&mut net, &ping, 200, None);
    assert!(net.logged("Peer '2001' is now Reachable"));
    // A Dial to the removed peer finds no such peer (CHANUNAVAIL) and never reaches its old
    // contact.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (_, r) = a.call(&mut net, "1003", &sdp(a.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 480, "1003 is no longer a peer: {r:?}");
    assert!(p3.try_request(&mut net, Method::Invite).is_none());
}

#[test]
fn a_changed_secret_applies_to_the_next_register() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::new(&base, EXTENSIONS);
    let mut old = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let next = sip_conf(&BASE_PEERS.replace("secret=1002pass", "secret=fresh"));
    let report = net
        .reload(&next, EXTENSIONS, None, ReloadScope::Sip)
        .unwrap();
    assert_eq!(report.changed, ["1002"]);
    assert_eq!(report.contexts, None, "sip reload leaves the dialplan");
    assert_eq!(bindings(&net, "1002"), 1, "the binding stays");
    // The refresh with the old password is refused; the new one is accepted.
    let r = old.register(&mut net, 300);
    assert_eq!(r.status(), 403, "old secret: {r:?}");
    let mut new = Ua::new(&mut net, "1002", "fresh");
    assert_eq!(new.register(&mut net, 300).status(), 200);
}

/// 1001 calls 700 (Wait, then Dial 1002, no Answer before: the caller's media is set up at
/// the Dial); the reload during the Wait narrows 1001 to A-law and turns its comedia off.
#[test]
fn a_running_call_keeps_its_codec_and_nat_new_calls_get_the_new_ones() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::with_rtp(&base, EXTENSIONS, 34000, 34019);
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    // The caller's SDP names a port it does not send from: only comedia finds it.
    let advertised = net.open();
    let offer = sdp(advertised, &[0], "sendrecv");
    let mut d = a.call_start(&mut net, "700", &offer);
    net.advance(Duration::from_millis(500));
    let next = sip_conf(
        &BASE_PEERS
            .replace("allow=ulaw", "allow=alaw")
            .replace("nat=force_rport,comedia", "nat=no"),
    );
    let report = net
        .reload(&next, EXTENSIONS, None, ReloadScope::All)
        .unwrap();
    assert_eq!(report.changed, ["1001"]);
    // The Dial after the Wait: offered PCMU, as 1001 allowed when the call began.
    let inv = callee.request(&mut net, Method::Invite);
    assert!(
        body(&inv).contains("RTP/AVP 0"),
        "PCMU offered: {}",
        body(&inv)
    );
    callee.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(callee.rtp, &[0], "sendrecv")),
    );
    callee.request(&mut net, Method::Ack);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    // comedia as the call began: the caller's first packet teaches sipbox where it is.
    let p = rtp_packet(0, 1, 160, 0xA1, &[0x11; 160]);
    a.send_rtp(&mut net, d.remote_media(), &p);
    assert!(callee.recv_rtp(&mut net, T).is_some(), "relayed to 1002");
    let back = rtp_packet(0, 1, 160, 0xB2, &[0x22; 160]);
    callee.send_rtp(&mut net, sdp_addr(&body(&inv)), &back);
    let got = a.recv_rtp(&mut net, T).expect("to the learned address");
    assert_eq!(got.bytes, back);
    assert!(
        net.quiet(advertised),
        "nothing to the SDP's address: comedia"
    );
    // A new call from 1001 follows the new settings: PCMU alone has no common codec.
    let mut b = Ua::new(&mut net, "1001", "1001pass");
    let (_, r) = b.call(&mut net, "1002", &sdp(b.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 488, "A-law only now: {r:?}");
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_removed_callers_call_goes_on_and_ends_cleanly() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::with_rtp(&base, EXTENSIONS, 34020, 34039);
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass").registered(&mut net);
    let mut d = a.call_start(&mut net, "1002", &sdp(a.rtp, &[0], "sendrecv"));
    let inv = callee.answer(&mut net, &[0]);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let next = sip_conf("[1002](phone)\nsecret=1002pass\n");
    let report = net
        .reload(&next, EXTENSIONS, None, ReloadScope::Sip)
        .unwrap();
    assert_eq!(report.removed, ["1001", "1003"]);
    assert_eq!(bindings(&net, "1001"), 0);
    // Media still flows both ways, and the BYE ends the call with nothing left behind.
    let p = rtp_packet(0, 1, 160, 0xC3, &[0x33; 160]);
    a.send_rtp(&mut net, d.remote_media(), &p);
    assert_eq!(callee.recv_rtp(&mut net, T).map(|g| g.bytes), Some(p));
    let back = rtp_packet(0, 1, 160, 0xD4, &[0x44; 160]);
    callee.send_rtp(&mut net, sdp_addr(&body(&inv)), &back);
    assert_eq!(a.recv_rtp(&mut net, T).map(|g| g.bytes), Some(back));
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn the_new_dialplan_applies_to_a_running_call_at_its_next_priority() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::with_rtp(&base, EXTENSIONS, 34040, 34059);
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    // 800: Answer, Wait(2), Hangup. The edit makes priority 3 a Dial to 1002.
    let d = a.call_answered(&mut net, "800");
    let edited = EXTENSIONS.replace(
        " same => n,Wait(2)\n same => n,Hangup()",
        " same => n,Wait(2)\n same => n,Dial(SIP/1002,10)",
    );
    let report = net
        .reload(&base, &edited, None, ReloadScope::Dialplan)
        .unwrap();
    assert_eq!(report.contexts, Some(2));
    assert!(!report.sip, "dialplan reload leaves sip.conf");
    assert!(net.logged("Reloading pbx_config: 2 contexts"));
    let inv = callee.request(&mut net, Method::Invite);
    assert_eq!(inv.uri().user.as_deref(), Some("1002"));
    callee.respond(&mut net, &inv, 486, None);
    let bye = a.request(&mut net, Method::Bye);
    assert_eq!(
        bye.call_id(),
        d.call_id,
        "the Dial failed, the dialplan ended"
    );
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}

#[test]
fn a_running_call_whose_extension_vanished_hangs_up_at_its_next_step() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::with_rtp(&base, EXTENSIONS, 34060, 34079);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let d = a.call_answered(&mut net, "800");
    let without_800 = EXTENSIONS.replace(
        "exten => 800,1,Answer()\n same => n,Wait(2)\n same => n,Hangup()\n",
        "",
    );
    net.reload(&base, &without_800, None, ReloadScope::Dialplan)
        .unwrap();
    // As Asterisk: no 'i' extension in the context, so the channel is hung up.
    let bye = a.request(&mut net, Method::Bye);
    assert_eq!(bye.call_id(), d.call_id);
    assert!(
        net.logged("no 'i' extension in context 'internal': hanging up"),
        "{:?}",
        net.log()
    );
}

#[test]
fn a_broken_config_changes_nothing() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::new(&base, EXTENSIONS);
    let _p2 = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let peers_before = net.engine.settings().len();
    // A line before any section is refused by Asterisk's config reader too.
    let broken = format!("oops=1\n{}", sip_conf("[1002](phone)\nsecret=other\n"));
    let err = net
        .reload(&broken, EXTENSIONS, None, ReloadScope::All)
        .expect_err("refused");
    assert!(err.to_string().contains("sip.conf:1"), "file:line: {err}");
    assert_eq!(net.engine.settings().len(), peers_before);
    assert_eq!(bindings(&net, "1002"), 1);
    assert!(net.engine.settings().entry("1003").is_some());
    let mut again = Ua::new(&mut net, "1002", "1002pass");
    assert_eq!(again.register(&mut net, 300).status(), 200, "old secret");
}

#[test]
fn options_bound_to_sockets_are_kept_until_a_restart() {
    let base = sip_conf(BASE_PEERS);
    let mut net = FakeNet::with_rtp(&base, EXTENSIONS, 34080, 34099);
    let moved = base.replace("bindport=0", "bindport=5999");
    let rtp = "[general]\nrtpstart=40000\nrtpend=40100\n";
    let report = net
        .reload(&moved, EXTENSIONS, Some(rtp), ReloadScope::All)
        .unwrap();
    assert_eq!(report.needs_restart.len(), 2, "{:?}", report.needs_restart);
    assert!(report.needs_restart[0].starts_with("bindaddr/bindport"));
    assert!(report.needs_restart[1].starts_with("rtpstart/rtpend"));
    assert!(net.logged("needs a restart"));
    assert_eq!(net.engine.settings().general.bind.port(), 0, "kept");
    // Calls still get ports from the range bound at start.
    let callee = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "1002", &sdp(a.rtp, &[0], "sendrecv"));
    callee.answer(&mut net, &[0]);
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    assert!((34080..=34099).contains(&d.remote_media().port()));
    a.hang_up(&mut net, &mut d);
    callee.answer_bye(&mut net);
    net.assert_idle();
}

/// The README's figure: a reload of a sip.conf with 10 000 peers (1 000 of them registered,
/// one changed) on the engine, read and applied. Run with
/// `cargo test --release --test engine_reload -- --ignored --nocapture reload_time`.
#[test]
#[ignore = "a measurement, not a check: run it by name"]
fn reload_time_with_10000_peers() {
    let peers = |secret7: &str| -> String {
        let mut s = String::new();
        for n in 0..10_000 {
            let secret = if n == 7 {
                secret7.to_string()
            } else {
                format!("p{n}")
            };
            s.push_str(&format!("[{}](phone)\nsecret={secret}\n\n", 100_000 + n));
        }
        sip_conf(&s)
    };
    let first = peers("p7");
    let mut net = FakeNet::new(&first, EXTENSIONS);
    for n in 0..1000 {
        let user = (100_000 + n).to_string();
        let _ = Ua::new(&mut net, &user, &format!("p{n}")).registered(&mut net);
    }
    assert_eq!(net.engine.table_sizes().bindings, 1000);
    let next = peers("changed");
    let runs = 5;
    let (mut read, mut apply) = (Duration::ZERO, Duration::ZERO);
    for i in 0..runs {
        let text = if i % 2 == 0 { &next } else { &first };
        let t0 = std::time::Instant::now();
        let cfg = sipbox::config::load_str(text, EXTENSIONS, None).unwrap();
        let t1 = std::time::Instant::now();
        let report = net
            .engine
            .reload_config(net.now, &cfg, ReloadScope::All)
            .unwrap();
        let t2 = std::time::Instant::now();
        assert_eq!(report.changed.len(), 1);
        read += t1 - t0;
        apply += t2 - t1;
    }
    assert_eq!(
        net.engine.table_sizes().bindings,
        1000,
        "registrations kept"
    );
    println!(
        "reload of 10000 peers (1000 registered): read+parse {:.1} ms, apply {:.1} ms (mean of {runs})",
        read.as_secs_f64() * 1000.0 / f64::from(runs),
        apply.as_secs_f64() * 1000.0 / f64::from(runs)
    );
}

/// `register =>` lines to one ITSP, one per user (`user` or `user:secret`).
fn with_lines(itsp: std::net::SocketAddr, users: &[&str]) -> String {
    let lines: String = users
        .iter()
        .map(|u| {
            let (user, secret) = u.split_once(':').unwrap_or((u, "pw"));
            format!("register => {user}:{secret}@{itsp}\n")
        })
        .collect();
    sip_conf(BASE_PEERS).replace("qualifyfreq=1\n", &format!("qualifyfreq=1\n{lines}"))
}

/// The REGISTERs the ITSP has received by now, without moving the clock; retransmissions
/// (the same Call-ID and CSeq) once.
fn registers_at(net: &mut FakeNet, itsp: std::net::SocketAddr) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    for d in net.drain(itsp) {
        if let Ok(sipbox::sip::Message::Request(r)) = sipbox::sip::parse(&d.bytes) {
            let seen = out
                .iter()
                .any(|o| o.call_id() == r.call_id() && o.cseq().seq == r.cseq().seq);
            if *r.method() == Method::Register && !seen {
                out.push(r);
            }
        }
    }
    out
}

fn user_of(r: &Request) -> String {
    r.from().uri.user.as_deref().unwrap_or_default().to_owned()
}

fn registry(net: &FakeNet) -> Vec<(String, &'static str)> {
    net.engine
        .registry(net.now)
        .into_iter()
        .map(|r| (r.username, r.state))
        .collect()
}

/// Unchanged `register =>` lines keep their registration through a reload even when a new
/// line before them moves them down: no new REGISTER, a REGISTER in flight across the reload
/// is still theirs when answered, and the refresh goes on with the same Call-ID and the next
/// CSeq. The new line registers at once.
#[test]
fn unchanged_register_lines_keep_their_registrations_and_a_new_one_registers() {
    let itsp: std::net::SocketAddr = "127.0.0.1:59150".parse().unwrap();
    let provider = Ua::at("itsp", "", itsp, "127.0.0.1:59152".parse().unwrap());
    let mut net = FakeNet::new(&with_lines(itsp, &["2000", "2001"]), EXTENSIONS);
    net.advance(Duration::from_millis(300));
    let first = registers_at(&mut net, itsp);
    let users: Vec<String> = first.iter().map(user_of).collect();
    assert_eq!(users, ["2000", "2001"]);
    provider.respond(&mut net, &first[0], 200, None);
    // 2001's REGISTER stays unanswered across the reload.
    let report = net
        .reload(
            &with_lines(itsp, &["2002", "2000", "2001"]),
            EXTENSIONS,
            None,
            ReloadScope::Sip,
        )
        .unwrap();
    let r = report.registrations.clone().expect("sip.conf reloaded");
    assert_eq!(
        (r.kept, r.started.len(), r.stopped.len()),
        (2, 1, 0),
        "{r:?}"
    );
    assert!(
        report.needs_restart.is_empty(),
        "{:?}",
        report.needs_restart
    );
    net.advance(Duration::from_millis(300));
    let known: Vec<&str> = first.iter().map(|r| r.call_id()).collect();
    let fresh: Vec<Request> = registers_at(&mut net, itsp)
        .into_iter()
        .filter(|r| !known.contains(&r.call_id()))
        .collect();
    let users: Vec<String> = fresh.iter().map(user_of).collect();
    assert_eq!(users, ["2002"], "only the new line registers");
    provider.respond(&mut net, &first[1], 200, None);
    provider.respond(&mut net, &fresh[0], 200, None);
    assert_eq!(
        registry(&net),
        [
            ("2002".to_string(), "Registered"),
            ("2000".to_string(), "Registered"),
            ("2001".to_string(), "Registered"),
        ],
        "2001's answer, sent for a REGISTER from before the reload, found its line"
    );
    // The refreshes continue each registration's dialog.
    net.advance(Duration::from_secs(115));
    let refreshes = registers_at(&mut net, itsp);
    for old in &first {
        let again = refreshes
            .iter()
            .find(|r| r.call_id() == old.call_id())
            .unwrap_or_else(|| panic!("{} refreshed on its Call-ID", user_of(old)));
        assert_eq!(again.cseq().seq, old.cseq().seq + 1, "{}", user_of(old));
    }
    assert_eq!(refreshes.len(), 3, "one refresh each: {refreshes:?}");
}

fn expires_of(r: &Request) -> Option<&str> {
    r.headers().get(&sipbox::sip::HeaderName::Expires)
}

/// A changed `register =>` line (here its secret) is registered afresh at once, with a new
/// Call-ID, and the old registration is no longer refreshed (nor unregistered: the new
/// REGISTER replaces its binding); a removed line unregisters (`Expires: 0` on its Call-ID)
/// and goes, and an answer to a REGISTER of a line gone changes nothing.
#[test]
fn changed_register_lines_are_sent_again_and_removed_ones_unregister() {
    let itsp: std::net::SocketAddr = "127.0.0.1:59160".parse().unwrap();
    let provider = Ua::at("itsp", "", itsp, "127.0.0.1:59162".parse().unwrap());
    let mut net = FakeNet::new(&with_lines(itsp, &["2000", "2001"]), EXTENSIONS);
    net.advance(Duration::from_millis(300));
    let first = registers_at(&mut net, itsp);
    assert_eq!(first.len(), 2);
    provider.respond(&mut net, &first[0], 200, None);
    provider.respond(&mut net, &first[1], 200, None);

    let report = net
        .reload(
            &with_lines(itsp, &["2000:newpw", "2001"]),
            EXTENSIONS,
            None,
            ReloadScope::All,
        )
        .unwrap();
    let r = report.registrations.clone().expect("sip.conf reloaded");
    assert_eq!(
        (r.kept, r.started.len(), r.stopped.len()),
        (1, 1, 1),
        "{r:?}"
    );
    assert!(
        r.unregistered.is_empty(),
        "the same user at the same registrar: {r:?}"
    );
    assert!(
        report
            .summary()
            .iter()
            .any(|l| l
                == "Reloading registrations: 1 kept, 1 (re)started, 1 stopped (0 unregistering)"),
        "{:?}",
        report.summary()
    );
    net.advance(Duration::from_millis(50));
    let sent = registers_at(&mut net, itsp);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(user_of(&sent[0]), "2000");
    assert_ne!(
        sent[0].call_id(),
        first[0].call_id(),
        "a fresh registration"
    );
    assert_eq!(expires_of(&sent[0]), Some("120"));
    provider.respond(&mut net, &sent[0], 200, None);
    // Over the next refresh period only the new 2000 and the kept 2001 refresh.
    net.advance(Duration::from_secs(115));
    let refreshes = registers_at(&mut net, itsp);
    let mut ids: Vec<&str> = refreshes.iter().map(|r| r.call_id()).collect();
    ids.sort();
    let mut want = vec![sent[0].call_id(), first[1].call_id()];
    want.sort();
    assert_eq!(
        ids, want,
        "the old 2000 is neither refreshed nor unregistered"
    );
    for r in &refreshes {
        provider.respond(&mut net, r, 200, None);
    }

    // Removing a line: it unregisters on its own Call-ID and goes; 2000 goes on.
    let report = net
        .reload(
            &with_lines(itsp, &["2000:newpw"]),
            EXTENSIONS,
            None,
            ReloadScope::All,
        )
        .unwrap();
    let r = report.registrations.unwrap();
    assert_eq!(
        (r.kept, r.started.len(), r.stopped.len()),
        (1, 0, 1),
        "{r:?}"
    );
    assert_eq!(r.unregistered, r.stopped);
    assert!(r.stopped[0].contains("2001"), "{r:?}");
    assert_eq!(registry(&net), [("2000".to_string(), "Registered")]);
    let bye = registers_at(&mut net, itsp);
    assert_eq!(bye.len(), 1, "{bye:?}");
    assert_eq!(user_of(&bye[0]), "2001");
    assert_eq!(
        bye[0].call_id(),
        first[1].call_id(),
        "the registration's own dialog"
    );
    assert_eq!(expires_of(&bye[0]), Some("0"));
    provider.respond(&mut net, &bye[0], 200, None);
    assert!(net.logged("unregistered, gone"), "{:?}", net.log());
    net.advance(Duration::from_secs(115));
    let last = registers_at(&mut net, itsp);
    let users: Vec<String> = last.iter().map(user_of).collect();
    assert_eq!(users, ["2000"], "2001 is gone");

    // No lines while 2000's refresh is in flight: it unregisters (a new CSeq), and the late
    // answer to the refresh changes nothing.
    net.reload(&with_lines(itsp, &[]), EXTENSIONS, None, ReloadScope::All)
        .unwrap();
    assert!(registry(&net).is_empty());
    provider.respond(&mut net, &last[0], 200, None);
    let bye = registers_at(&mut net, itsp);
    assert_eq!(bye.len(), 1, "{bye:?}");
    assert_eq!(expires_of(&bye[0]), Some("0"));
    assert_eq!(bye[0].cseq().seq, last[0].cseq().seq + 1);
    provider.respond(&mut net, &bye[0], 200, None);
    net.advance(Duration::from_secs(600));
    assert!(registers_at(&mut net, itsp).is_empty());
    assert!(!net.engine.unregistering());
}

/// A registration whose line is removed while its REGISTER goes unanswered gives up after
/// the transaction's timeout, as at shutdown, and is gone.
#[test]
fn a_removed_line_whose_registrar_is_silent_goes_after_the_timeout() {
    let itsp: std::net::SocketAddr = "127.0.0.1:59180".parse().unwrap();
    let provider = Ua::at("itsp", "", itsp, "127.0.0.1:59182".parse().unwrap());
    let mut net = FakeNet::new(&with_lines(itsp, &["2000"]), EXTENSIONS);
    net.advance(Duration::from_millis(300));
    let first = registers_at(&mut net, itsp);
    provider.respond(&mut net, &first[0], 200, None);
    net.reload(&with_lines(itsp, &[]), EXTENSIONS, None, ReloadScope::Sip)
        .unwrap();
    assert!(net.engine.unregistering(), "the Expires: 0 is out");
    net.advance(Duration::from_secs(60));
    assert!(!net.engine.unregistering());
    let sent = registers_at(&mut net, itsp);
    assert!(sent.iter().all(|r| expires_of(r) == Some("0")), "{sent:?}");
    net.advance(Duration::from_secs(600));
    assert!(registers_at(&mut net, itsp).is_empty(), "nothing more");
}

/// `dialplan reload` leaves the registrations alone.
#[test]
fn dialplan_reload_leaves_register_lines_alone() {
    let itsp: std::net::SocketAddr = "127.0.0.1:59170".parse().unwrap();
    let mut net = FakeNet::new(&with_lines(itsp, &["2000"]), EXTENSIONS);
    net.advance(Duration::from_millis(300));
    assert_eq!(registers_at(&mut net, itsp).len(), 1);
    let report = net
        .reload(
            &with_lines(itsp, &["2001"]),
            EXTENSIONS,
            None,
            ReloadScope::Dialplan,
        )
        .unwrap();
    assert_eq!(report.registrations, None);
    assert_eq!(registry(&net)[0].0, "2000");
}

/// A full reload (`core reload`, SIGHUP) with this cdr.conf and voicemail.conf text.
fn reload_modules(
    net: &mut FakeNet,
    extensions: &str,
    cdr: sipbox::config::cdr_conf::CdrConf,
    voicemail: &str,
) -> sipbox::engine::ReloadReport {
    let mut cfg = sipbox::config::load_str(&sip_conf(BASE_PEERS), extensions, None).unwrap();
    cfg.cdr = cdr;
    let sections = sipbox::config::reader::read_str("voicemail.conf", voicemail, None).unwrap();
    let mut w = sipbox::config::values::Warnings::default();
    cfg.voicemail = sipbox::voicemail::VoicemailConf::from_sections(&sections, &mut w);
    let report = net
        .engine
        .reload_config(net.now, &cfg, ReloadScope::All)
        .unwrap();
    net.service();
    report
}

/// 1001 calls 800 (Answer, Wait(2), Hangup) and is hung up on.
fn call_800_start(net: &mut FakeNet, a: &mut Ua) -> String {
    a.call_answered(net, "800").call_id
}

fn call_800_end(net: &mut FakeNet, a: &mut Ua, call_id: &str) {
    let bye = a.request(net, Method::Bye);
    assert_eq!(bye.call_id(), call_id);
    a.respond(net, &bye, 200, None);
}

/// cdr.conf is applied on reload: calls that arrive after it are recorded by it (its rules
/// and its `[csv]` format); a call up across the reload keeps the cdr.conf it arrived with.
#[test]
fn cdr_conf_applies_to_calls_after_the_reload_and_a_call_up_keeps_its_own() {
    use sipbox::cdr::csv::CsvOptions;
    use sipbox::config::cdr_conf::CdrConf;
    let mut net = FakeNet::with_rtp(&sip_conf(BASE_PEERS), EXTENSIONS, 34100, 34119);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let first = call_800_start(&mut net, &mut a);
    let gmt = CsvOptions {
        usegmtime: true,
        loguniqueid: true,
        ..CsvOptions::default()
    };
    let report = reload_modules(
        &mut net,
        EXTENSIONS,
        CdrConf {
            csv: Some(gmt),
            ..CdrConf::default()
        },
        "",
    );
    assert!(
        report
            .summary()
            .iter()
            .any(|l| l.starts_with("Reloading cdr: records to Master.csv")),
        "{:?}",
        report.summary()
    );
    call_800_end(&mut net, &mut a, &first);
    let second = call_800_start(&mut net, &mut a);
    call_800_end(&mut net, &mut a, &second);
    assert_eq!(net.cdrs.len(), 2);
    assert_eq!(
        net.cdr_csv,
        [CsvOptions::default(), gmt],
        "the first call kept its [csv]"
    );

    // enable=no: a call up at the reload is still recorded, the next one is not.
    let third = call_800_start(&mut net, &mut a);
    let report = reload_modules(
        &mut net,
        EXTENSIONS,
        CdrConf {
            enable: false,
            ..CdrConf::default()
        },
        "",
    );
    assert!(report.modules.iter().any(|l| l.contains("off (enable=no)")));
    call_800_end(&mut net, &mut a, &third);
    let fourth = call_800_start(&mut net, &mut a);
    call_800_end(&mut net, &mut a, &fourth);
    assert_eq!(
        net.cdrs.len(),
        3,
        "the call that arrived with records on is recorded"
    );
    net.assert_idle();
}

/// voicemail.conf is applied on reload: a mailbox added exists for the dialplan at once
/// (`MAILBOX_EXISTS()`, seen here through `CDR(userfield)`), one removed is gone, and the
/// spool index of mailboxes that stay is kept.
#[test]
fn voicemail_conf_applies_on_reload() {
    use sipbox::config::cdr_conf::CdrConf;
    let ext = format!(
        "{EXTENSIONS}\n[internal]\nexten => 900,1,Set(CDR(userfield)=${{MAILBOX_EXISTS(2000@default)}}${{MAILBOX_EXISTS(2001@default)}})\n same => n,Answer()\n same => n,Wait(1)\n same => n,Hangup()\n"
    );
    let mut net = FakeNet::with_rtp(&sip_conf(BASE_PEERS), &ext, 34120, 34139);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let userfield = |net: &mut FakeNet, a: &mut Ua| {
        let d = a.call_answered(net, "900");
        call_800_end(net, a, &d.call_id);
        net.cdrs.last().expect("a record").userfield.clone()
    };
    reload_modules(
        &mut net,
        &ext,
        CdrConf::default(),
        "[default]\n2001 => 1234,Bob\n",
    );
    net.engine
        .with_voicemail(|vm| vm.index.get_mut("default", "2001").insert("INBOX", 0));
    assert_eq!(userfield(&mut net, &mut a), "01");
    let report = reload_modules(
        &mut net,
        &ext,
        CdrConf::default(),
        "[default]\n2000 => 4321,Alice\n2001 => 1234,Bob\n",
    );
    assert!(
        report
            .modules
            .iter()
            .any(|l| l == "Reloading app_voicemail: 2 mailboxes"),
        "{:?}",
        report.modules
    );
    assert_eq!(userfield(&mut net, &mut a), "11");
    assert_eq!(
        net.engine
            .with_voicemail(|vm| vm.index.get("default", "2001").count("INBOX")),
        1,
        "the index of a mailbox that stays is kept"
    );
    reload_modules(
        &mut net,
        &ext,
        CdrConf::default(),
        "[default]\n2000 => 4321,Alice\n",
    );
    assert_eq!(userfield(&mut net, &mut a), "10");
}
