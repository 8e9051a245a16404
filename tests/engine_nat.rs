//! NAT on the fake network, fake clock: sipbox on an office LAN (192.168.1.10) with
//! `externaddr` and `localnet` advertises its public address to outside destinations and its
//! LAN address inside (Via, Contact, SDP c=/o=); `nat=auto_force_rport` detects a phone behind
//! NAT from its Via; `keepalive` sends CRLFs on time; `rtpkeepalive` comfort noise; media
//! with and without comedia (the SDP address vs the learned source, a port change mid-call);
//! `externhost` refreshes through the driver.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{Datagram, FakeNet};
use common::ua::*;
use sipbox::engine::JobOutcome;
use sipbox::sip::{HeaderName, Method, Request, Response};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);
const SIPBOX: &str = "192.168.1.10:5060";
/// The office phone on the LAN.
const DESK: &str = "192.168.1.50:5060";
const DESK_RTP: &str = "192.168.1.50:4000";
/// The home phone's public (NAT) addresses, and what it writes (its private ones).
const HOME: &str = "198.51.100.7:40000";
const HOME_RTP: &str = "198.51.100.7:30000";
const HOME_PRIVATE: &str = "10.0.0.20:5060";
const HOME_PRIVATE_IP: &str = "10.0.0.20";

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const EXTENSIONS: &str = "\
[internal]
exten => desk,1,Dial(SIP/desk,10)
exten => home,1,Dial(SIP/home,10)
";

fn sip_conf(general: &str, home: &str) -> String {
    format!(
        "[general]\nbindaddr=192.168.1.10\ncontext=default\nrealm=sipbox\n{general}\n\
         [phone](!)\ntype=friend\nhost=dynamic\ncontext=internal\n\n\
         [desk](phone)\nsecret=deskpass\n\n[home](phone)\nsecret=homepass\n{home}\n"
    )
}

fn net(general: &str, home: &str) -> FakeNet {
    FakeNet::at(a(SIPBOX), &sip_conf(general, home), EXTENSIONS, None)
}

const NAT_GENERAL: &str = "externaddr=203.0.113.7:5080\nlocalnet=192.168.0.0/255.255.0.0\n";

/// A phone behind a NAT: its datagrams leave from the public addresses, but what it writes
/// (Via, Contact, SDP) names its private ones. Wraps the fake net as the NAT box does.
struct Nat<'a> {
    net: &'a mut FakeNet,
    /// Write `;rport` in the Via (RFC 3581 phones do; old ones do not).
    rport: bool,
}

impl Nat<'_> {
    fn rewrite(&self, text: &str) -> String {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut head = head.replace(HOME, HOME_PRIVATE);
        if !self.rport {
            head = head.replace(";rport", "");
        }
        let body = body
            .replace("IN IP4 198.51.100.7", &format!("IN IP4 {HOME_PRIVATE_IP}"))
            .replace("m=audio 30000 ", "m=audio 4000 ");
        let head: Vec<String> = head
            .split("\r\n")
            .map(|l| match l.starts_with("Content-Length:") {
                true => format!("Content-Length: {}", body.len()),
                false => l.to_string(),
            })
            .collect();
        format!("{}\r\n\r\n{body}", head.join("\r\n"))
    }
}

impl Wire for Nat<'_> {
    fn sipbox(&self) -> SocketAddr {
        self.net.sipbox
    }
    fn open(&mut self) -> SocketAddr {
        self.net.open()
    }
    fn open_pair(&mut self) -> (SocketAddr, SocketAddr) {
        self.net.open_pair()
    }
    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        let out = match (from == a(HOME), std::str::from_utf8(bytes)) {
            (true, Ok(text)) => self.rewrite(text).into_bytes(),
            _ => bytes.to_vec(),
        };
        self.net.deliver(from, to, &out);
    }
    fn recv(&mut self, at: SocketAddr, wait: Duration) -> Option<Datagram> {
        self.net.recv(at, wait)
    }
    fn pause(&mut self, d: Duration) {
        self.net.advance(d);
    }
}

fn desk() -> Ua {
    Ua::at("desk", "deskpass", a(DESK), a(DESK_RTP))
}

fn home() -> Ua {
    let mut u = Ua::at("home", "homepass", a(HOME), a(HOME_RTP));
    u.contact = Some(format!("sip:home@{HOME}"));
    u
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

fn resp_body(r: &Response) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// The sent-by of a message's top Via and the Contact URI's host:port.
fn via_and_contact(top_via: &str, contact: Option<&str>) -> (String, String) {
    let sent_by = top_via
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let contact = contact
        .and_then(|c| c.split('@').nth(1))
        .map(|h| {
            h.trim_end_matches('>')
                .split(';')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    (sent_by, contact)
}

fn o_line(sdp: &str) -> String {
    sdp.lines()
        .find(|l| l.starts_with("o="))
        .unwrap_or("")
        .to_string()
}

/// The desk phone calls the home phone (registered through the NAT) and both answer:
/// returns the INVITE home got, the 200 desk got, desk's dialog.
fn desk_calls_home(net: &mut FakeNet, rport: bool) -> (Request, Response, Dialog, Ua, Ua) {
    let mut h = home();
    let r = h.register(&mut Nat { net, rport }, 300);
    assert_eq!(r.status(), 200, "{r:?}");
    let mut d = desk().registered(net);
    let offer = sdp(d.rtp, &[0], "sendrecv");
    let mut dialog = d.call_start(net, "home", &offer);
    let inv = h.request(&mut Nat { net, rport }, Method::Invite);
    h.respond(
        &mut Nat { net, rport },
        &inv,
        200,
        Some(&sdp(h.rtp, &[0], "sendrecv")),
    );
    let ok = d.invite_outcome(net, &mut dialog);
    assert_eq!(ok.status(), 200, "{ok:?}");
    d.ack(net, &dialog, None);
    h.request(&mut Nat { net, rport }, Method::Ack);
    (inv, ok, dialog, d, h)
}

#[test]
fn outside_gets_externaddr_with_its_port_inside_gets_the_lan_address() {
    let mut net = net(NAT_GENERAL, "");
    let (inv, ok, _, _, _) = desk_calls_home(&mut net, true);
    // Toward the home phone (outside every localnet): the external address and port.
    let (via, contact) = via_and_contact(
        &inv.top_via().to_string(),
        inv.headers().get(&HeaderName::Contact),
    );
    assert_eq!(via, "203.0.113.7:5080");
    assert_eq!(contact, "203.0.113.7:5080");
    let sdp = body(&inv);
    assert!(sdp.contains("c=IN IP4 203.0.113.7\r\n"), "{sdp}");
    assert!(o_line(&sdp).ends_with("IN IP4 203.0.113.7"), "{sdp}");
    assert!(inv.from().uri.host == "203.0.113.7", "{}", inv.from());
    // Toward the desk phone (inside): the LAN address, the bound port.
    let (_, contact) = via_and_contact("", ok.headers().get(&HeaderName::Contact));
    assert_eq!(contact, SIPBOX);
    let sdp = resp_body(&ok);
    assert!(sdp.contains("c=IN IP4 192.168.1.10\r\n"), "{sdp}");
    assert!(o_line(&sdp).ends_with("IN IP4 192.168.1.10"), "{sdp}");
}

#[test]
fn externaddr_without_port_advertises_the_bound_sip_port() {
    let net = net(
        "externip=203.0.113.7\nlocalnet=192.168.0.0/16\nlocalnet=10.0.0.0/8\n",
        "",
    );
    let adv = net.engine.advertised_toward(a("198.51.100.20:5060"));
    assert_eq!(adv.sip, a("203.0.113.7:5060"));
    assert_eq!(adv.media.to_string(), "203.0.113.7");
    // The home phone's private network is now a localnet too: it is "inside".
    assert_eq!(
        net.engine.advertised_toward(a("10.0.0.20:5060")).sip,
        a(SIPBOX)
    );
}

#[test]
fn without_localnet_nothing_is_rewritten() {
    let mut net = net("externaddr=203.0.113.7:5080\n", "");
    let (inv, _, _, _, _) = desk_calls_home(&mut net, true);
    let (via, contact) = via_and_contact(
        &inv.top_via().to_string(),
        inv.headers().get(&HeaderName::Contact),
    );
    assert_eq!((via.as_str(), contact.as_str()), (SIPBOX, SIPBOX));
    assert!(body(&inv).contains("c=IN IP4 192.168.1.10\r\n"));
}

#[test]
fn auto_force_rport_answers_to_the_source_port_only_when_nat_is_detected() {
    // No ;rport in the phone's Via: nat=no answers to the Via's port at the source IP
    // (RFC 3261 §18.2.2), auto_force_rport sees the NAT and answers the source port.
    for (nat, answered_at) in [("no", "198.51.100.7:5060"), ("auto_force_rport", HOME)] {
        let mut net = net(&format!("nat={nat}\n"), "");
        let mut h = home();
        let text = h.register_text(a(SIPBOX), 300, None);
        Nat {
            net: &mut net,
            rport: false,
        }
        .send(a(HOME), a(SIPBOX), text.as_bytes());
        let got = net.recv(a(answered_at), Duration::ZERO);
        assert!(got.is_some(), "nat={nat}: the 401 goes to {answered_at}");
        let other = if answered_at == HOME {
            "198.51.100.7:5060"
        } else {
            HOME
        };
        assert!(net.quiet(a(other)), "nat={nat}: nothing at {other}");
    }
    // auto_force_rport with no NAT in the way (Via = source): the Via port, as nat=no.
    let mut net = net("nat=auto_force_rport\n", "");
    let text = desk().register_text(a(SIPBOX), 300, None);
    net.deliver(a(DESK), a(SIPBOX), text.replace(";rport", "").as_bytes());
    assert!(net.recv(a(DESK), Duration::ZERO).is_some());
}

#[test]
fn auto_force_rport_calls_a_nated_binding_at_its_source_and_trusts_a_lan_contact() {
    let mut net = net("nat=auto_force_rport\n", "");
    let mut h = home();
    let r = h.register(
        &mut Nat {
            net: &mut net,
            rport: false,
        },
        300,
    );
    assert_eq!(r.status(), 200);
    let mut d = desk().registered(&mut net);
    let offer = sdp(d.rtp, &[0], "sendrecv");
    let _dialog = d.call_start(&mut net, "home", &offer);
    // The Contact says 10.0.0.20:5060 (unreachable); the NAT was detected at REGISTER, so
    // the INVITE goes where the REGISTER came from.
    let inv = net
        .recv(a(HOME), T)
        .expect("INVITE at the NAT's public address");
    assert!(String::from_utf8_lossy(&inv.bytes).starts_with("INVITE "));
    assert!(net.quiet(a(HOME_PRIVATE)));
}

#[test]
fn keepalive_sends_a_crlf_to_the_registered_contact_every_interval() {
    let mut net = net("", "keepalive=25\n");
    let start = net.now;
    let mut h = home();
    assert_eq!(
        h.register(
            &mut Nat {
                net: &mut net,
                rport: true
            },
            3600
        )
        .status(),
        200
    );
    net.drain(a(HOME));
    net.advance(Duration::from_secs(60));
    let got = net.drain(a(HOME));
    let times: Vec<u64> = got
        .iter()
        .map(|d| {
            assert_eq!(d.bytes, b"\r\n", "only CRLF keep-alives");
            d.at.duration_since(start).as_secs()
        })
        .collect();
    assert_eq!(times, [25, 50], "every 25 s from start");
    // The desk has no keepalive: nothing was sent to it.
    let mut d = desk();
    assert_eq!(d.register(&mut net, 3600).status(), 200);
    net.drain(a(DESK));
    net.advance(Duration::from_secs(60));
    assert!(net.quiet(a(DESK)));
    assert_eq!(net.drain(a(HOME)).len(), 2, "home still every 25 s");
}

#[test]
fn keepalive_yes_is_sixty_seconds_and_general_sets_the_default() {
    let mut net = net("keepalive=yes\n", "");
    let start = net.now;
    let mut h = home();
    assert_eq!(
        h.register(
            &mut Nat {
                net: &mut net,
                rport: true
            },
            3600
        )
        .status(),
        200
    );
    net.drain(a(HOME));
    net.advance(Duration::from_secs(130));
    let times: Vec<u64> = net
        .drain(a(HOME))
        .iter()
        .map(|d| d.at.duration_since(start).as_secs())
        .collect();
    assert_eq!(times, [60, 120]);
}

/// Home calls desk; RTP from home leaves from `from` (its NAT mapping). Returns the port of
/// sipbox's home leg (where home sends) and the desk UA with its leg's port.
fn home_calls_desk(net: &mut FakeNet) -> (SocketAddr, Ua, SocketAddr) {
    let d = desk().registered(net);
    let mut h = home();
    assert_eq!(h.register(&mut Nat { net, rport: true }, 300).status(), 200);
    let offer = sdp(h.rtp, &[0], "sendrecv");
    let mut dialog = h.call_start(&mut Nat { net, rport: true }, "desk", &offer);
    let inv = d.request(net, Method::Invite);
    d.respond(net, &inv, 200, Some(&sdp(d.rtp, &[0], "sendrecv")));
    let ok = h.invite_outcome(&mut Nat { net, rport: true }, &mut dialog);
    assert_eq!(ok.status(), 200);
    h.ack(&mut Nat { net, rport: true }, &dialog, None);
    d.request(net, Method::Ack);
    let home_leg = sdp_addr(&resp_body(&ok));
    let desk_leg = sdp_addr(&body(&inv));
    // sipbox's SDP toward home (outside) would be external with externaddr; here none set.
    (home_leg, d, desk_leg)
}

/// `n` RTP packets from `from` to `to`, seq from `seq0`; then the desk sends one back.
fn stream(net: &mut FakeNet, from: SocketAddr, to: SocketAddr, seq0: u16, n: u16) {
    for i in 0..n {
        let p = rtp_packet(0, seq0 + i, 160 * u32::from(seq0 + i), 0x40AE, &[0xff; 160]);
        net.deliver(from, to, &p);
        net.advance(Duration::from_millis(20));
    }
}

fn desk_sends(net: &mut FakeNet, d: &Ua, desk_leg: SocketAddr, seq: u16) {
    let p = rtp_packet(0, seq, 160 * u32::from(seq), 0xDE5C, &[0x55; 160]);
    d.send_rtp(net, desk_leg, &p);
}

#[test]
fn with_comedia_media_follows_the_first_packet_and_a_mid_call_port_change() {
    let mut net = net("", "nat=force_rport,comedia\n");
    let (home_leg, d, desk_leg) = home_calls_desk(&mut net);
    stream(&mut net, a(HOME_RTP), home_leg, 1, 5);
    assert_eq!(net.drain(a(DESK_RTP)).len(), 5, "home → desk relayed");
    desk_sends(&mut net, &d, desk_leg, 1);
    assert!(
        net.recv(a(HOME_RTP), T).is_some(),
        "desk → home: to the learned source"
    );
    assert!(
        net.quiet(a("10.0.0.20:4000")),
        "never to the private SDP address"
    );
    // Half a minute later (past the learning window, inside rtptimeout) the NAT moves the
    // phone's RTP to another public port.
    net.advance(Duration::from_secs(30));
    let moved = a("198.51.100.7:30544");
    stream(&mut net, moved, home_leg, 6, 3);
    assert!(net.quiet(a(DESK_RTP)), "probation: not yet accepted");
    stream(&mut net, moved, home_leg, 9, 1);
    assert_eq!(
        net.drain(a(DESK_RTP)).len(),
        1,
        "4th sequential packet accepted"
    );
    desk_sends(&mut net, &d, desk_leg, 2);
    assert!(
        net.recv(moved, T).is_some(),
        "desk → home follows the new port"
    );
    assert!(net.quiet(a(HOME_RTP)));
}

#[test]
fn without_comedia_media_goes_to_the_sdp_address_and_strictrtp_only_filters() {
    let mut net = net("", "nat=force_rport\n");
    let (home_leg, d, desk_leg) = home_calls_desk(&mut net);
    // RTP leaves from a port other than the SDP's: accepted after probation (4 packets).
    stream(&mut net, a(HOME_RTP), home_leg, 1, 6);
    assert_eq!(
        net.drain(a(DESK_RTP)).len(),
        3,
        "the first 3 were on probation"
    );
    // ... but sipbox keeps sending to the SDP's address, as Asterisk does.
    for seq in 1..=5 {
        desk_sends(&mut net, &d, desk_leg, seq);
        net.advance(Duration::from_millis(20));
    }
    assert_eq!(
        net.drain(a("10.0.0.20:4000")).len(),
        5,
        "all to the SDP address"
    );
    assert!(net.quiet(a(HOME_RTP)), "never latched onto the source");
}

#[test]
fn auto_comedia_applies_to_a_caller_behind_nat_only() {
    let mut net = net("nat=auto_comedia\n", "");
    let (home_leg, d, desk_leg) = home_calls_desk(&mut net);
    stream(&mut net, a(HOME_RTP), home_leg, 1, 1);
    desk_sends(&mut net, &d, desk_leg, 1);
    assert!(
        net.recv(a(HOME_RTP), T).is_some(),
        "home's Via named 10.0.0.20: NAT detected, comedia on"
    );
    assert_eq!(net.drain(a(DESK_RTP)).len(), 1, "home → desk relayed");
}

#[test]
fn rtpkeepalive_sends_comfort_noise_when_no_rtp_was_sent() {
    let mut net = net("", "rtpkeepalive=5\nnat=force_rport,comedia\n");
    let (home_leg, d, desk_leg) = home_calls_desk(&mut net);
    // Home talks (learned); the desk is silent: sipbox sends home nothing but keep-alives.
    stream(&mut net, a(HOME_RTP), home_leg, 1, 1);
    net.drain(a(HOME_RTP));
    net.advance(Duration::from_millis(10_990));
    let cn: Vec<Rtp> = net.drain(a(HOME_RTP)).iter().map(Rtp::parse).collect();
    assert_eq!(cn.len(), 2, "one each 5 s: {cn:?}");
    assert!(cn.iter().all(|p| p.pt == 13 && p.payload == [127]));
    assert_eq!(cn[1].seq, cn[0].seq.wrapping_add(1));
    // Relayed RTP resets the clock: no keep-alive while the desk talks.
    for seq in 1..=300 {
        desk_sends(&mut net, &d, desk_leg, seq);
        net.advance(Duration::from_millis(20));
    }
    let got: Vec<Rtp> = net.drain(a(HOME_RTP)).iter().map(Rtp::parse).collect();
    assert_eq!(got.len(), 300);
    assert!(got.iter().all(|p| p.pt == 0), "no CN while media flows");
    // The desk leg has no rtpkeepalive ([general] has none).
    assert!(net
        .drain(a(DESK_RTP))
        .iter()
        .all(|p| p.bytes[1] & 0x7f != 13));
}

#[test]
fn externhost_is_resolved_again_every_externrefresh() {
    let mut net = net(
        "externhost=nat.example.org\nexternrefresh=30\nlocalnet=192.168.0.0/16\n",
        "",
    );
    let outside = a("198.51.100.20:5060");
    assert_eq!(
        net.engine.advertised_toward(outside).sip,
        a(SIPBOX),
        "not resolved yet"
    );
    net.advance(Duration::from_secs(29));
    assert!(net.resolves.is_empty());
    net.advance(Duration::from_secs(1));
    let (id, host, port) = net.resolves.pop().expect("a lookup after 30 s");
    assert_eq!((host.as_str(), port), ("nat.example.org", 5060));
    net.complete_job(
        id,
        JobOutcome::Resolved(Some("203.0.113.50".parse().unwrap())),
    );
    assert_eq!(
        net.engine.advertised_toward(outside).sip,
        a("203.0.113.50:5060")
    );
    assert_eq!(net.engine.advertised_toward(a(DESK)).sip, a(SIPBOX));
    // A failed re-lookup keeps the last address; the next one comes 30 s later.
    net.advance(Duration::from_secs(30));
    let (id, _, _) = net.resolves.pop().expect("the next lookup");
    net.complete_job(id, JobOutcome::Resolved(None));
    assert_eq!(
        net.engine.advertised_toward(outside).sip,
        a("203.0.113.50:5060")
    );
    assert!(net.logged("re-lookup failed"));
    net.advance(Duration::from_secs(30));
    let (id, _, _) = net.resolves.pop().expect("and the next");
    net.complete_job(
        id,
        JobOutcome::Resolved(Some("203.0.113.51".parse().unwrap())),
    );
    assert_eq!(
        net.engine.advertised_toward(outside).media.to_string(),
        "203.0.113.51"
    );
}
