//! Call parking on the fake network with features.conf's chan_sip-era options (`parkext =>
//! 700`, `parkpos`, `context => parkedcalls`, `parkingtime`, `comebacktoorigin`): dialling 700
//! parks the caller, which hears its position (SayDigits) then music; a blind transfer
//! (REFER) to 700 parks the transferee while the transferer hears the position, then NOTIFY
//! 200; dialling 701 (in `parkedcalls`, which `internal` includes) retrieves the call and the
//! two talk (RTP byte-exact both ways). An empty position is `pbx-invalidpark` and BYE; the
//! `parkingtime` runs out into the comeback (the parker's phone rings, or `comebackcontext`);
//! a parked caller hanging up frees its position; a full lot is `pbx-parkingfailed` for
//! `Park()` and NOTIFY 503 (the call stays bridged) for a REFER; a reload keeps the parked
//! calls. Every scenario ends with nothing left over.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::config::parking_conf::ParkingConf;
use sipbox::media::g711::Law;
use sipbox::media::moh::{MohFiles, MohLibrary};
use sipbox::media::sounds::MemorySounds;
use sipbox::media::wav;
use sipbox::sip::{HeaderName, Method, Request};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
include => parkedcalls
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 711,1,Park(default,st(3)c(internal,1003,1))
exten => 799,1,Verbose(0,lamp 701 ${EXTENSION_STATE(701@parkedcalls)} 702 ${DEVICE_STATE(park:702@parkedcalls)})
 same => n,Hangup()

[parkedcallstimeout]
exten => SIP_1002,1,Dial(SIP/1003,20)
 same => n,Hangup()
";

/// The chan_sip-era features.conf of the brief, two positions.
const FEATURES: &str = "\
[general]
parkext => 700
parkpos => 701-702
context => parkedcalls
parkingtime => 45
comebacktoorigin = yes
";

/// A tone of `secs` seconds at `hz` as a PCM16 WAV.
fn tone(hz: f64, secs: f64) -> Vec<u8> {
    let n = (8000.0 * secs) as usize;
    let s: Vec<i16> = (0..n)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16)
        .collect();
    wav::encode_pcm16(&s)
}

/// `digits/N` is a 0.1 s tone of 500 + 100·N Hz.
fn digit_hz(d: u32) -> f64 {
    500.0 + 100.0 * f64::from(d)
}

const MUSIC_HZ: f64 = 400.0;
const INVALID_HZ: f64 = 2000.0;
const FAILED_HZ: f64 = 2500.0;

/// The µ-law frames a prompt of `hz` (`secs` long) is sent as.
fn frames(hz: f64, secs: f64) -> Vec<Vec<u8>> {
    wav::read_frames(&tone(hz, secs), Law::Ulaw)
        .unwrap()
        .into_iter()
        .map(|f| f.to_vec())
        .collect()
}

/// The frames of SayDigits(`n`).
fn said(n: u32) -> Vec<Vec<u8>> {
    n.to_string()
        .chars()
        .flat_map(|c| frames(digit_hz(c.to_digit(10).unwrap()), 0.1))
        .collect()
}

/// The test phones and a fourth, 1004.
fn sip_conf() -> String {
    format!("{TEST_SIP_CONF}\n[1004](phone)\nsecret=1004pass\n")
}

fn net_with(features: &str, res_parking: &str, lo: u16) -> FakeNet {
    let rtp = format!("[general]\nrtpstart={lo}\nrtpend={}\n", lo + 39);
    let mut cfg = sipbox::config::load_str(&sip_conf(), EXTENSIONS, Some(&rtp)).unwrap();
    let (parking, warnings) = ParkingConf::from_texts(features, res_parking).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    cfg.parking = parking;
    let mut sounds = MemorySounds::new();
    for d in 0..10 {
        sounds.insert(&format!("digits/{d}"), tone(digit_hz(d), 0.1));
    }
    sounds
        .insert("pbx-invalidpark", tone(INVALID_HZ, 0.2))
        .insert("pbx-parkingfailed", tone(FAILED_HZ, 0.2))
        .insert("/moh/default/a.wav", tone(MUSIC_HZ, 0.5));
    let moh = MohLibrary::new(vec![MohFiles {
        name: "default".into(),
        files: vec!["/moh/default/a.wav".into()],
        ..Default::default()
    }]);
    FakeNet::with_config(&cfg).with_sounds(sounds).with_moh(moh)
}

fn net(lo: u16) -> FakeNet {
    net_with(FEATURES, "", lo)
}

/// 1002 and 1003 registered, 1001 not (it only calls).
fn phones(net: &mut FakeNet) -> (Ua, Ua, Ua) {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let c = Ua::new(net, "1003", "1003pass").registered(net);
    let a = Ua::new(net, "1001", "1001pass");
    (a, b, c)
}

/// `caller` calls `callee` (a registered phone), which answers: (caller's dialog, callee's
/// dialog, the INVITE the callee got).
fn bridged(net: &mut FakeNet, caller: &mut Ua, callee: &Ua) -> (Dialog, Dialog, Request) {
    let mut d = caller.call_start(net, &callee.user, &sdp(caller.rtp, &[0, 101], "sendrecv"));
    let inv = callee.request(net, Method::Invite);
    callee.respond(
        net,
        &inv,
        200,
        Some(&sdp(callee.rtp, &[0, 101], "sendrecv")),
    );
    assert_eq!(caller.invite_outcome(net, &mut d).status(), 200);
    caller.ack(net, &d, None);
    callee.request(net, Method::Ack);
    let dc = callee.callee_dialog(net, &inv);
    (d, dc, inv)
}

/// Sends a REFER to `exten` inside `d`.
fn refer(ua: &Ua, net: &mut FakeNet, d: &mut Dialog, exten: &str) {
    static N: AtomicU32 = AtomicU32::new(0);
    d.cseq += 1;
    let n = N.fetch_add(1, Ordering::Relaxed);
    let text = format!(
        "REFER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-park-{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} REFER\r\n\
         Contact: <sip:{u}@{me}>\r\nRefer-To: <sip:{exten}@{host}>\r\nContent-Length: 0\r\n\r\n",
        uri = d.uri,
        me = ua.sip,
        from = d.local,
        to = d.remote,
        cid = d.call_id,
        c = d.cseq,
        u = ua.user,
        host = net.sipbox(),
    );
    ua.send(net, &text);
    assert_eq!(ua.final_response(net).status(), 202);
}

/// The next NOTIFY of the refer subscription, answered: (Subscription-State, sipfrag).
#[track_caller]
fn notify(ua: &Ua, net: &mut FakeNet) -> (String, String) {
    let n = ua.request(net, Method::Notify);
    ua.respond(net, &n, 200, None);
    let state = n.headers().get(&HeaderName::SubscriptionState);
    (
        state.unwrap_or_default().to_string(),
        String::from_utf8_lossy(n.body()).into_owned(),
    )
}

/// The next `want.len()` packets `ua` gets carry exactly these frames.
#[track_caller]
fn hears(net: &mut FakeNet, ua: &Ua, want: &[Vec<u8>], what: &str) {
    let got = ua.collect_rtp(net, want.len(), Duration::from_millis(200));
    assert_eq!(got.len(), want.len(), "{what}: every frame");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(&g.payload, w, "{what}: frame {i}");
    }
}

/// Music on hold: the class's frames from its start.
#[track_caller]
fn hears_music(net: &mut FakeNet, ua: &Ua) {
    let music = frames(MUSIC_HZ, 0.5);
    hears(net, ua, &music[..10], "music on hold");
}

/// Drops what `ua` was sent so far (music still in flight), the clock standing still.
fn drain_rtp(net: &mut FakeNet, ua: &Ua) {
    net.drain(ua.rtp);
}

/// RTP both ways between `x` (sending to sipbox's `to_x_leg`) and `y`, byte-exact.
#[track_caller]
fn rtp_flows(net: &mut FakeNet, x: &Ua, to_x_leg: SocketAddr, y: &Ua, to_y_leg: SocketAddr) {
    drain_rtp(net, x);
    drain_rtp(net, y);
    for i in 0..10u16 {
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

/// A CLI command's answer.
fn cli(net: &mut FakeNet, line: &str) -> String {
    let now = net.now;
    net.engine
        .cli(now, line, sipbox::cli::Levels::default())
        .text
}

/// `ua` dials `exten` and is answered: its dialog.
#[track_caller]
fn dial_answered(net: &mut FakeNet, ua: &mut Ua, exten: &str) -> Dialog {
    let (d, r) = ua.call(net, exten, &sdp(ua.rtp, &[0, 101], "sendrecv"));
    assert_eq!(r.status(), 200, "{exten}: {r:?}");
    ua.ack(net, &d, None);
    d
}

/// `ua` parks itself by dialling 700 and hears `slot`, then music.
#[track_caller]
fn self_park(net: &mut FakeNet, ua: &mut Ua, slot: u32) -> Dialog {
    let d = dial_answered(net, ua, "700");
    hears(net, ua, &said(slot), "the position");
    hears_music(net, ua);
    d
}

#[test]
fn dialling_700_parks_the_caller_and_701_retrieves_it() {
    let mut net = net(34000);
    let (mut a, _b, mut c) = phones(&mut net);
    let da = self_park(&mut net, &mut a, 701);
    assert!(net.logged("on 701@parkedcalls"), "{:?}", net.log());
    let show = cli(&mut net, "parking show default");
    assert!(show.contains("Parking Extension   :  700\n"), "{show}");
    assert!(show.contains("Parking Spaces      :  701-702\n"), "{show}");
    assert!(show.contains("  Space               :  701\n"), "{show}");
    assert!(
        show.contains("  Channel             :  SIP/1001-"),
        "{show}"
    );
    assert!(
        show.contains("  Parker Dial String  :  SIP/1001\n"),
        "{show}"
    );
    assert_eq!(
        cli(&mut net, "parkedcalls show default"),
        show,
        "the 1.8 name"
    );
    assert!(cli(&mut net, "parking show").contains("Parking Lot: default\n"));
    assert!(cli(&mut net, "parking show nosuch").contains("Could not find parking lot 'nosuch'"));
    let dc = dial_answered(&mut net, &mut c, "701");
    assert!(cli(&mut net, "parking show default").contains("  (none)\n"));
    assert!(net.logged("retrieved by leg"));
    rtp_flows(&mut net, &a, da.remote_media(), &c, dc.remote_media());
    let mut dc = dc;
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_blind_transfer_to_700_parks_the_transferee_and_tells_the_transferer() {
    let mut net = net(34040);
    let (mut a, b, mut c) = phones(&mut net);
    let (da, mut db, _inv) = bridged(&mut net, &mut a, &b);
    let mut b = b;
    refer(&b, &mut net, &mut db, "700");
    assert_eq!(
        notify(&b, &mut net),
        (
            "active;expires=60".to_string(),
            "SIP/2.0 100 Trying\r\n".to_string()
        )
    );
    // The transferer hears where its call went; then NOTIFY 200 releases it.
    hears(&mut net, &b, &said(701), "the position, to the transferer");
    let (state, frag) = notify(&b, &mut net);
    assert_eq!(frag, "SIP/2.0 200 OK\r\n");
    assert!(state.starts_with("terminated"), "{state}");
    b.hang_up(&mut net, &mut db);
    // The transferee hears music, not an announcement.
    hears_music(&mut net, &a);
    let mut dc = dial_answered(&mut net, &mut c, "701");
    rtp_flows(&mut net, &a, da.remote_media(), &c, dc.remote_media());
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn an_empty_position_is_pbx_invalidpark_and_a_hang_up() {
    let mut net = net(34080);
    let (_a, _b, mut c) = phones(&mut net);
    let _dc = dial_answered(&mut net, &mut c, "702");
    hears(&mut net, &c, &frames(INVALID_HZ, 0.2), "pbx-invalidpark");
    c.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn parkingtime_over_rings_the_parker_back() {
    let features = FEATURES.replace("parkingtime => 45", "parkingtime => 10");
    let mut net = net_with(&features, "", 34120);
    let (mut a, b, _c) = phones(&mut net);
    let (da, mut db, _inv) = bridged(&mut net, &mut a, &b);
    let mut b = b;
    refer(&b, &mut net, &mut db, "700");
    notify(&b, &mut net);
    hears(&mut net, &b, &said(701), "the position");
    notify(&b, &mut net);
    b.hang_up(&mut net, &mut db);
    drain_rtp(&mut net, &a);
    assert!(
        !net.logged("timed out"),
        "not before parkingtime: {:?}",
        net.log()
    );
    net.advance(Duration::from_secs(10));
    // The comeback: Dial(SIP/1002,30) from park-dial,SIP_1002.
    let inv = b.request(&mut net, Method::Invite);
    assert!(net.logged("timed out (parker SIP/1002)"), "{:?}", net.log());
    b.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(b.rtp, &[0, 101], "sendrecv")),
    );
    b.request(&mut net, Method::Ack);
    let to_b_leg = sdp_addr(&String::from_utf8_lossy(inv.body()));
    rtp_flows(&mut net, &a, da.remote_media(), &b, to_b_leg);
    let mut db2 = b.callee_dialog(&net, &inv);
    b.hang_up(&mut net, &mut db2);
    a.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn without_comebacktoorigin_the_call_goes_to_comebackcontext() {
    let features = FEATURES
        .replace("parkingtime => 45", "parkingtime => 5")
        .replace("comebacktoorigin = yes", "comebacktoorigin = no");
    let mut net = net_with(&features, "", 34160);
    let (mut a, b, c) = phones(&mut net);
    let (da, mut db, _inv) = bridged(&mut net, &mut a, &b);
    let mut b = b;
    refer(&b, &mut net, &mut db, "700");
    notify(&b, &mut net);
    hears(&mut net, &b, &said(701), "the position");
    notify(&b, &mut net);
    b.hang_up(&mut net, &mut db);
    net.advance(Duration::from_secs(6));
    // parkedcallstimeout,SIP_1002,1: Dial(SIP/1003).
    let inv = c.request(&mut net, Method::Invite);
    c.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(c.rtp, &[0, 101], "sendrecv")),
    );
    c.request(&mut net, Method::Ack);
    let to_c_leg = sdp_addr(&String::from_utf8_lossy(inv.body()));
    rtp_flows(&mut net, &a, da.remote_media(), &c, to_c_leg);
    let mut dc = c.callee_dialog(&net, &inv);
    let mut c = c;
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn park_options_s_t_and_c_silence_the_time_and_the_comeback() {
    let mut net = net(34360);
    let (mut a, _b, c) = phones(&mut net);
    let da = dial_answered(&mut net, &mut a, "711");
    // `s`: straight to the music, no position said.
    hears_music(&mut net, &a);
    assert!(net.logged("parked at 701 of lot 'default'"));
    drain_rtp(&mut net, &a);
    assert!(!net.logged("timed out"), "not before t(3)");
    net.advance(Duration::from_secs(3));
    // `t(3)` then `c(internal,1003,1)`: Dial(SIP/1003) there.
    let inv = c.request(&mut net, Method::Invite);
    c.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(c.rtp, &[0, 101], "sendrecv")),
    );
    c.request(&mut net, Method::Ack);
    let to_c_leg = sdp_addr(&String::from_utf8_lossy(inv.body()));
    rtp_flows(&mut net, &a, da.remote_media(), &c, to_c_leg);
    let mut dc = c.callee_dialog(&net, &inv);
    let mut c = c;
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_parked_caller_hanging_up_frees_its_position() {
    let mut net = net(34200);
    let (mut a, _b, mut c) = phones(&mut net);
    let mut da = self_park(&mut net, &mut a, 701);
    a.hang_up(&mut net, &mut da);
    // Nothing at 701 any more, and the next caller parks there again.
    let _dc = dial_answered(&mut net, &mut c, "701");
    hears(&mut net, &c, &frames(INVALID_HZ, 0.2), "pbx-invalidpark");
    c.answer_bye(&mut net);
    let mut dc = self_park(&mut net, &mut c, 701);
    c.hang_up(&mut net, &mut dc);
    net.assert_idle();
}

#[test]
fn a_full_lot_is_parkingfailed_for_park_and_503_for_a_refer() {
    let mut net = net(34240);
    let (mut a, mut b, mut c) = phones(&mut net);
    let d = Ua::new(&mut net, "1004", "1004pass").registered(&mut net);
    let mut da = self_park(&mut net, &mut a, 701);
    let mut dc = self_park(&mut net, &mut c, 702);
    // Park() with no free position: pbx-parkingfailed, and the dialplan goes on (here it
    // runs off the end: BYE).
    let _db = dial_answered(&mut net, &mut b, "700");
    hears(&mut net, &b, &frames(FAILED_HZ, 0.2), "pbx-parkingfailed");
    b.answer_bye(&mut net);
    // A REFER to the full lot: NOTIFY 503, and the call stays bridged.
    let (db, mut dd, inv) = bridged(&mut net, &mut b, &d);
    let mut d = d;
    refer(&d, &mut net, &mut dd, "700");
    // As for an unknown extension, the one NOTIFY is the outcome.
    let (state, frag) = notify(&d, &mut net);
    assert_eq!(frag, "SIP/2.0 503 Service Unavailable\r\n");
    assert!(state.starts_with("terminated"), "{state}");
    let to_d_leg = sdp_addr(&String::from_utf8_lossy(inv.body()));
    rtp_flows(&mut net, &b, db.remote_media(), &d, to_d_leg);
    d.hang_up(&mut net, &mut dd);
    b.answer_bye(&mut net);
    a.hang_up(&mut net, &mut da);
    c.hang_up(&mut net, &mut dc);
    net.assert_idle();
}

/// The lamp line extension 799 logs next.
#[track_caller]
fn lamps(net: &mut FakeNet, ua: &mut Ua) -> String {
    let before = net.log().len();
    let (_, r) = ua.call(net, "799", &sdp(ua.rtp, &[0, 101], "sendrecv"));
    assert!(r.status() >= 400, "{r:?}");
    let log = net.log();
    log[before..]
        .iter()
        .filter(|l| !l.contains("Executing"))
        .find_map(|l| l.split_once("lamp ").map(|(_, rest)| rest.to_string()))
        .expect("the lamp line")
}

#[test]
fn parkinghints_light_the_positions_lamps() {
    let features = format!("{FEATURES}parkinghints = yes\n");
    let mut net = net_with(&features, "", 34320);
    let (mut a, mut b, _c) = phones(&mut net);
    assert_eq!(lamps(&mut net, &mut b), "701 NOT_INUSE 702 NOT_INUSE");
    let mut da = self_park(&mut net, &mut a, 701);
    assert_eq!(lamps(&mut net, &mut b), "701 INUSE 702 NOT_INUSE");
    a.hang_up(&mut net, &mut da);
    assert_eq!(lamps(&mut net, &mut b), "701 NOT_INUSE 702 NOT_INUSE");
    net.assert_idle();
}

#[test]
fn a_reload_keeps_parked_calls() {
    let mut net = net(34280);
    let (mut a, _b, mut c) = phones(&mut net);
    let da = self_park(&mut net, &mut a, 701);
    let rtp = "[general]\nrtpstart=34280\nrtpend=34319\n";
    let mut cfg = sipbox::config::load_str(&sip_conf(), EXTENSIONS, Some(rtp)).unwrap();
    let features = FEATURES.replace("parkingtime => 45", "parkingtime => 90");
    cfg.parking = ParkingConf::from_texts(&features, "").unwrap().0;
    net.engine
        .reload_config(net.now, &cfg, sipbox::engine::ReloadScope::All)
        .unwrap();
    let mut dc = dial_answered(&mut net, &mut c, "701");
    rtp_flows(&mut net, &a, da.remote_media(), &c, dc.remote_media());
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    net.assert_idle();
}
