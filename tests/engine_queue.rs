//! Call queues (queues.conf, Queue(), the member applications and functions) on the fake
//! network with a fake clock: a caller queues, hears the queue's music on hold (compared
//! frame by frame with the class's file), the members ring by the strategy (ringall at once;
//! rrmemory and linear one after the other, attempt by attempt), a member answering is
//! bridged with the caller (RTP both ways, the music stopped); the Queue() timeout is
//! `QUEUESTATUS=TIMEOUT` and the dialplan goes on; joinempty, maxlen and an unknown queue
//! return at once; AddQueueMember / RemoveQueueMember / PauseQueueMember /
//! UnpauseQueueMember set their statuses (the dynamic members kept in AstDB); a member in
//! its wrap-up time is not rung; a reload keeps the waiting caller. Every scenario ends with
//! nothing left over.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::config::queues_conf::QueuesConf;
use sipbox::config::values::Warnings;
use sipbox::media::g711::Law;
use sipbox::media::moh::{MohFiles, MohLibrary};
use sipbox::media::sounds::MemorySounds;
use sipbox::media::wav;
use sipbox::sip::{Method, Request};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 500,1,Answer()
 same => n,Queue(sales,t)
 same => n,Verbose(0,after sales ${QUEUESTATUS})
 same => n,Hangup()
exten => 501,1,Answer()
 same => n,Queue(rr,,,,${QT})
 same => n,Verbose(0,after rr ${QUEUESTATUS})
 same => n,Hangup()
exten => 502,1,Answer()
 same => n,Queue(lin,n)
 same => n,Verbose(0,after lin ${QUEUESTATUS})
 same => n,Hangup()
exten => 503,1,Answer()
 same => n,Queue(closed)
 same => n,Verbose(0,after closed ${QUEUESTATUS})
 same => n,Hangup()
exten => 504,1,Answer()
 same => n,Queue(small)
 same => n,Verbose(0,after small ${QUEUESTATUS})
 same => n,Hangup()
exten => 505,1,Answer()
 same => n,Queue(nosuch,z,,,abc)
 same => n,Verbose(0,after nosuch ${QUEUESTATUS})
 same => n,Queue()
 same => n,Verbose(0,never here)
exten => 506,1,Answer()
 same => n,Queue(wrap,c)
 same => n,Verbose(0,after wrap ${QUEUESTATUS})
 same => n,Hangup()
exten => 507,1,Queue(sales)
 same => n,Hangup()
exten => 508,1,Queue(sales,r)
 same => n,Hangup()
exten => 509,1,Dial(Local/507@internal)
 same => n,Hangup()
exten => 510,1,AddQueueMember(dyn,SIP/1003,2)
 same => n,Verbose(0,aqm1 ${AQMSTATUS})
 same => n,AddQueueMember(dyn,SIP/1003)
 same => n,Verbose(0,aqm2 ${AQMSTATUS})
 same => n,AddQueueMember(nosuch,SIP/1003)
 same => n,Verbose(0,aqm3 ${AQMSTATUS})
 same => n,AddQueueMember(dyn)
 same => n,Verbose(0,aqm4 ${AQMSTATUS} count ${QUEUE_MEMBER(dyn,count)} list ${QUEUE_MEMBER_LIST(dyn)})
 same => n,PauseQueueMember(dyn,SIP/1003)
 same => n,Verbose(0,pqm1 ${PQMSTATUS} paused ${QUEUE_MEMBER(dyn,paused,SIP/1003)})
 same => n,PauseQueueMember(,SIP/9999)
 same => n,Verbose(0,pqm2 ${PQMSTATUS})
 same => n,UnpauseQueueMember(,SIP/1003)
 same => n,Verbose(0,upqm1 ${UPQMSTATUS} paused ${QUEUE_MEMBER(dyn,paused,SIP/1003)} penalty ${QUEUE_MEMBER(dyn,penalty,SIP/1003)})
 same => n,Verbose(0,counts logged ${QUEUE_MEMBER_COUNT(dyn)} ${QUEUE_MEMBER(dyn,logged)} free ${QUEUE_MEMBER(dyn,free)} ready ${QUEUE_MEMBER(dyn,ready)})
 same => n,RemoveQueueMember(dyn,SIP/1003)
 same => n,Verbose(0,rqm1 ${RQMSTATUS})
 same => n,RemoveQueueMember(dyn,SIP/1003)
 same => n,Verbose(0,rqm2 ${RQMSTATUS})
 same => n,RemoveQueueMember(dyn,SIP/1002)
 same => n,Verbose(0,rqm3 ${RQMSTATUS})
 same => n,RemoveQueueMember(nosuch,SIP/1002)
 same => n,Verbose(0,rqm4 ${RQMSTATUS} waiting ${QUEUE_WAITING_COUNT(dyn)} exists ${QUEUE_EXISTS(dyn)}${QUEUE_EXISTS(nosuch)})
 same => n,Hangup()
";

const QUEUES: &str = "\
[general]
persistentmembers=yes

[sales]
strategy=ringall
timeout=10
member => SIP/1002
member => SIP/1003

[rr]
strategy=rrmemory
timeout=2
retry=1
member => SIP/1002
member => SIP/1003
member => SIP/1004

[lin]
strategy=linear
timeout=2
retry=1
member => SIP/1002
member => SIP/1003

[closed]
joinempty=strict
member => SIP/1004

[small]
maxlen=1
member => SIP/1004

[wrap]
wrapuptime=10
timeout=3
retry=1
ringinuse=no
member => SIP/1002

[dyn]
member => SIP/1002
";

const MUSIC_HZ: f64 = 400.0;

/// A tone of `secs` seconds at `hz` as a PCM16 WAV.
fn tone(hz: f64, secs: f64) -> Vec<u8> {
    let n = (8000.0 * secs) as usize;
    let s: Vec<i16> = (0..n)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16)
        .collect();
    wav::encode_pcm16(&s)
}

fn queues_conf(text: &str) -> QueuesConf {
    let mut raw = Vec::new();
    let sections =
        sipbox::config::reader::read_str_with("queues.conf", text, None, &mut raw).unwrap();
    let mut w = Warnings::default();
    let conf = QueuesConf::from_sections(&sections, &mut w);
    assert!(w.into_vec().is_empty(), "queues.conf warnings");
    conf
}

fn config(queues: &str, lo: u16) -> sipbox::config::Config {
    let rtp = format!("[general]\nrtpstart={lo}\nrtpend={}\n", lo + 59);
    let sip = format!("{TEST_SIP_CONF}\n[1004](phone)\nsecret=1004pass\n");
    let mut cfg = sipbox::config::load_str(&sip, EXTENSIONS, Some(&rtp)).unwrap();
    cfg.queues = queues_conf(queues);
    cfg
}

fn net_with(queues: &str, lo: u16) -> FakeNet {
    let mut sounds = MemorySounds::new();
    sounds.insert("/moh/default/a.wav", tone(MUSIC_HZ, 0.5));
    let moh = MohLibrary::new(vec![MohFiles {
        name: "default".into(),
        files: vec!["/moh/default/a.wav".into()],
        ..Default::default()
    }]);
    FakeNet::with_config(&config(queues, lo))
        .with_sounds(sounds)
        .with_moh(moh)
}

fn net(lo: u16) -> FakeNet {
    net_with(QUEUES, lo)
}

/// 1002, 1003 and 1004 registered; 1001 calls.
fn phones(net: &mut FakeNet) -> (Ua, Ua, Ua, Ua) {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let c = Ua::new(net, "1003", "1003pass").registered(net);
    let d = Ua::new(net, "1004", "1004pass").registered(net);
    let a = Ua::new(net, "1001", "1001pass");
    (a, b, c, d)
}

/// The µ-law frames of the music class.
fn music() -> Vec<Vec<u8>> {
    wav::read_frames(&tone(MUSIC_HZ, 0.5), Law::Ulaw)
        .unwrap()
        .into_iter()
        .map(|f| f.to_vec())
        .collect()
}

/// `ua` hears the music on hold from the class's start.
#[track_caller]
fn hears_music(net: &mut FakeNet, ua: &Ua) {
    let want = music();
    let got = ua.collect_rtp(net, 10, Duration::from_millis(200));
    assert_eq!(got.len(), 10, "music on hold");
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.payload, want[i], "music frame {i}");
    }
}

/// `ua` dials `exten` and is answered (Answer() before Queue()): its dialog.
#[track_caller]
fn queued(net: &mut FakeNet, ua: &mut Ua, exten: &str) -> Dialog {
    let (d, r) = ua.call(net, exten, &sdp(ua.rtp, &[0, 101], "sendrecv"));
    assert_eq!(r.status(), 200, "{exten}: {r:?}");
    ua.ack(net, &d, None);
    d
}

/// The INVITE a member gets, answered 180.
#[track_caller]
fn rings(net: &mut FakeNet, ua: &Ua) -> Request {
    let inv = ua.request(net, Method::Invite);
    ua.respond(net, &inv, 180, None);
    inv
}

/// The member's ringing is cancelled (the attempt's time is up, or another answered).
#[track_caller]
fn cancelled(net: &mut FakeNet, ua: &Ua, inv: &Request) {
    let c = ua.request(net, Method::Cancel);
    ua.respond(net, &c, 200, None);
    ua.respond(net, inv, 487, None);
    ua.request(net, Method::Ack);
}

/// The member answers `inv`: its dialog.
fn answers(net: &mut FakeNet, ua: &Ua, inv: &Request) -> Dialog {
    ua.respond(net, inv, 200, Some(&sdp(ua.rtp, &[0, 101], "sendrecv")));
    ua.request(net, Method::Ack);
    ua.callee_dialog(net, inv)
}

/// RTP both ways between `x` (sending to sipbox's `to_x`) and `y`, byte-exact.
#[track_caller]
fn rtp_flows(net: &mut FakeNet, x: &Ua, to_x: SocketAddr, y: &Ua, to_y: SocketAddr) {
    net.drain(x.rtp);
    net.drain(y.rtp);
    for i in 0..5u16 {
        let payload: Vec<u8> = (0..160).map(|b| (b as u8) ^ (i as u8)).collect();
        let p = rtp_packet(0, 100 + i, 160 * u32::from(i), 0xA11CE, &payload);
        x.send_rtp(net, to_x, &p);
        assert_eq!(y.recv_rtp(net, T).expect("x→y").bytes, p, "x→y #{i}");
        let q = rtp_packet(0, 900 + i, 160 * u32::from(i), 0xB0B, &payload[..80]);
        y.send_rtp(net, to_y, &q);
        assert_eq!(x.recv_rtp(net, T).expect("y→x").bytes, q, "y→x #{i}");
        net.advance(Duration::from_millis(20));
    }
}

fn cli(net: &mut FakeNet, line: &str) -> String {
    let now = net.now;
    net.engine
        .cli(now, line, sipbox::cli::Levels::default())
        .text
}

/// The user part of an INVITE's Request-URI (which member it rings).
fn user_of(inv: &Request) -> String {
    inv.uri().user.as_deref().unwrap_or_default().to_owned()
}

#[test]
fn ringall_rings_every_member_and_the_first_to_answer_is_bridged() {
    let mut net = net(36000);
    let (mut a, b, c, _d) = phones(&mut net);
    let mut da = queued(&mut net, &mut a, "500");
    hears_music(&mut net, &a);
    let ib = rings(&mut net, &b);
    let ic = rings(&mut net, &c);
    let show = cli(&mut net, "queue show sales");
    assert!(
        show.starts_with("sales has 1 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0"),
        "{show}"
    );
    assert!(show.contains("      1. SIP/1001-"), "{show}");
    assert!(show.contains("(wait: 0:0"), "{show}");
    hears_music(&mut net, &a);
    let db = answers(&mut net, &b, &ib);
    cancelled(&mut net, &c, &ic);
    // The music stops; caller and member talk.
    rtp_flows(&mut net, &a, da.remote_media(), &b, db.remote_media());
    let show = cli(&mut net, "queue show sales");
    assert!(show.contains("C:1, A:0"), "{show}");
    assert!(show.contains("   No Callers\n"), "{show}");
    assert!(
        show.contains("      SIP/1002 (ringinuse enabled) (in call)"),
        "{show}"
    );
    a.hang_up(&mut net, &mut da);
    b.answer_bye(&mut net);
    net.advance(Duration::from_secs(2));
    let show = cli(&mut net, "queue show sales");
    assert!(
        show.contains("      SIP/1002 (ringinuse enabled) (Not in use) has taken 1 calls (last was 2 secs ago)\n"),
        "{show}"
    );
    assert!(
        show.contains("      SIP/1003 (ringinuse enabled) (Not in use) has taken no calls yet\n"),
        "{show}"
    );
    net.assert_idle();
}

#[test]
fn rrmemory_rings_one_member_per_attempt_and_remembers_where_it_stopped() {
    let mut net = net(36060);
    let (mut a, b, mut c, d) = phones(&mut net);
    let da = queued(&mut net, &mut a, "501");
    // Each attempt rings one member for timeout=2, then retry=1.
    let ib = rings(&mut net, &b);
    assert_eq!(user_of(&ib), "1002");
    cancelled(&mut net, &b, &ib);
    let ic = rings(&mut net, &c);
    assert_eq!(user_of(&ic), "1003");
    let mut dc = answers(&mut net, &c, &ic);
    rtp_flows(&mut net, &a, da.remote_media(), &c, dc.remote_media());
    c.hang_up(&mut net, &mut dc);
    a.answer_bye(&mut net);
    // The next caller starts after the member that answered: the memory is the queue's.
    let mut da = queued(&mut net, &mut a, "501");
    let mut order = Vec::new();
    for ua in [&d, &b] {
        let inv = rings(&mut net, ua);
        order.push(user_of(&inv));
        cancelled(&mut net, ua, &inv);
    }
    assert_eq!(order, ["1004", "1002"], "on from 1003, then round");
    let ic = rings(&mut net, &c);
    a.hang_up(&mut net, &mut da);
    cancelled(&mut net, &c, &ic);
    let show = cli(&mut net, "queue show rr");
    assert!(show.contains("in 'rrmemory' strategy"), "{show}");
    assert!(show.contains("C:1, A:1"), "{show}");
    net.assert_idle();
}

#[test]
fn linear_with_n_rings_each_member_once_then_timeout() {
    let mut net = net(36120);
    let (mut a, b, c, _d) = phones(&mut net);
    let mut da = queued(&mut net, &mut a, "502");
    hears_music(&mut net, &a);
    let ib = rings(&mut net, &b);
    cancelled(&mut net, &b, &ib);
    let ic = rings(&mut net, &c);
    cancelled(&mut net, &c, &ic);
    // `n`: after one round the dialplan goes on with TIMEOUT.
    assert!(net.wait_log("after lin TIMEOUT", T), "{:?}", net.log());
    a.answer_bye(&mut net);
    let _ = &mut da;
    net.assert_idle();
}

#[test]
fn a_caller_hanging_up_while_members_ring_is_abandoned() {
    let mut net = net(36180);
    let (mut a, b, _c, _d) = phones(&mut net);
    let mut da = queued(&mut net, &mut a, "501");
    let ib = rings(&mut net, &b);
    a.hang_up(&mut net, &mut da);
    cancelled(&mut net, &b, &ib);
    let show = cli(&mut net, "queue show rr");
    assert!(show.contains("rr has 0 calls"), "{show}");
    assert!(show.contains("C:0, A:1"), "{show}");
    net.assert_idle();
}

#[test]
fn a_timed_queue_ends_with_timeout() {
    let ext = EXTENSIONS.replace("Queue(rr,,,,${QT})", "Queue(rr,,,,4)");
    let mut cfg = config(QUEUES, 36240);
    let fresh = sipbox::config::load_str(
        &format!("{TEST_SIP_CONF}\n[1004](phone)\nsecret=1004pass\n"),
        &ext,
        None,
    )
    .unwrap();
    cfg.extensions = fresh.extensions;
    let mut sounds = MemorySounds::new();
    sounds.insert("/moh/default/a.wav", tone(MUSIC_HZ, 0.5));
    let mut net = FakeNet::with_config(&cfg).with_sounds(sounds);
    let (mut a, b, c, _d) = phones(&mut net);
    let da = queued(&mut net, &mut a, "501");
    let start = net.now;
    // Queue(rr,,,,4): 1002 rings timeout=2, retry=1, then 1003 rings what is left (1 s).
    let ib = rings(&mut net, &b);
    cancelled(&mut net, &b, &ib);
    let ic = rings(&mut net, &c);
    let second = net.now;
    cancelled(&mut net, &c, &ic);
    let rang = net.now - second;
    assert!(
        rang >= Duration::from_millis(900) && rang <= Duration::from_millis(1100),
        "{rang:?}"
    );
    assert!(net.wait_log("after rr TIMEOUT", T), "{:?}", net.log());
    let waited = net.now - start;
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    a.answer_bye(&mut net);
    let _ = da;
    net.assert_idle();
}

#[test]
fn joinempty_full_and_unknown_queues_return_at_once() {
    let mut net = net(36300);
    // Nobody registered: `closed` (joinempty=strict) is empty.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _da = queued(&mut net, &mut a, "503");
    assert!(net.wait_log("after closed JOINEMPTY", T), "{:?}", net.log());
    a.answer_bye(&mut net);
    // `small` takes one caller (maxlen=1): the second is FULL.
    let mut x = Ua::new(&mut net, "1002", "1002pass");
    let mut dx = queued(&mut net, &mut x, "504");
    hears_music(&mut net, &x);
    let _da = queued(&mut net, &mut a, "504");
    assert!(net.wait_log("after small FULL", T), "{:?}", net.log());
    a.answer_bye(&mut net);
    assert!(cli(&mut net, "queue show small").contains("small has 1 calls (max 1)"));
    x.hang_up(&mut net, &mut dx);
    // A queue that does not exist: UNKNOWN, then Queue() without a name hangs up.
    let _da = queued(&mut net, &mut a, "505");
    assert!(net.wait_log("after nosuch UNKNOWN", T), "{:?}", net.log());
    a.answer_bye(&mut net);
    assert!(
        net.logged("[505@internal:4]: Queue requires an argument"),
        "{:?}",
        net.log()
    );
    assert!(!net.logged("never here"));
    assert!(cli(&mut net, "queue show nosuch").contains("No such queue: nosuch."));
    net.assert_idle();
}

#[test]
fn member_applications_set_their_statuses_and_persist_dynamic_members() {
    let mut net = net(36360);
    let _b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    // The functions count members by the device states DEVICE_STATE() sees (refreshed
    // at most every 100 ms).
    net.advance(Duration::from_millis(200));
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (_d, r) = a.call(&mut net, "510", &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert!(r.status() >= 400, "{r:?}");
    for line in [
        "aqm1 ADDED",
        "aqm2 MEMBERALREADY",
        "aqm3 NOSUCHQUEUE",
        "aqm4 ADDED count 3 list SIP/1002,SIP/1003,SIP/1001",
        "pqm1 PAUSED paused 1",
        "pqm2 NOTFOUND",
        "upqm1 UNPAUSED paused 0 penalty 2",
        "counts logged 1 1 free 1 ready 1",
        "rqm1 REMOVED",
        "rqm2 NOTINQUEUE",
        "rqm3 NOTDYNAMIC",
        "rqm4 NOSUCHQUEUE waiting 0 exists 10",
    ] {
        assert!(net.logged(line), "{line}: {:?}", net.log());
    }
    // SIP/1001 (the caller's own interface) stays, dynamic, and is in AstDB.
    let show = cli(&mut net, "queue show dyn");
    assert!(
        show.contains("      SIP/1001 (ringinuse enabled) (dynamic)"),
        "{show}"
    );
    assert!(!show.contains("SIP/1003"), "{show}");
    let db = cli(&mut net, "database show Queue");
    assert!(db.contains("/Queue/PersistentMembers/dyn"), "{db}");
    assert!(db.contains("SIP/1001;0;0;SIP/1001;SIP/1001"), "{db}");
    net.assert_idle();
    // A restart reads them back from AstDB (persistentmembers=yes).
    let rows = vec![(
        "/Queue/PersistentMembers/dyn".to_string(),
        "SIP/1001;0;0;SIP/1001;SIP/1001|SIP/1003;4;1;Carol;SIP/1003".to_string(),
    )];
    let mut again = net_with(QUEUES, 36360);
    assert_eq!(again.engine.load_astdb(rows), 1);
    let show = cli(&mut again, "queue show dyn");
    assert!(
        show.contains("      SIP/1001 (ringinuse enabled) (dynamic)"),
        "{show}"
    );
    assert!(
        show.contains(
            "      Carol (SIP/1003) with penalty 4 (ringinuse enabled) (dynamic) (paused)"
        ),
        "{show}"
    );
}

#[test]
fn wrapuptime_keeps_the_member_from_the_next_caller_and_c_goes_on() {
    let mut net = net(36420);
    let (mut a, mut b, mut c, _d) = phones(&mut net);
    let _da = queued(&mut net, &mut a, "506");
    let ib = rings(&mut net, &b);
    let mut db = answers(&mut net, &b, &ib);
    // The member hangs up: with `c` the caller goes on (QUEUESTATUS=CONTINUE).
    b.hang_up(&mut net, &mut db);
    let ended = net.now;
    assert!(net.wait_log("after wrap CONTINUE", T), "{:?}", net.log());
    a.answer_bye(&mut net);
    // The next caller waits out the member's 10 s of wrap-up: no INVITE before.
    let mut dc = queued(&mut net, &mut c, "506");
    hears_music(&mut net, &c);
    while net.now - ended < Duration::from_millis(9500) {
        net.advance(Duration::from_millis(500));
        assert!(net.quiet(b.sip), "rung in its wrap-up time");
    }
    let inv = rings(&mut net, &b);
    assert!(
        net.now - ended >= Duration::from_secs(10),
        "{:?}",
        net.now - ended
    );
    let db2 = answers(&mut net, &b, &inv);
    rtp_flows(&mut net, &c, dc.remote_media(), &b, db2.remote_media());
    c.hang_up(&mut net, &mut dc);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_reload_keeps_the_waiting_caller_and_new_members_ring() {
    let without = QUEUES.replace(
        "[sales]\nstrategy=ringall\ntimeout=10\nmember => SIP/1002\nmember => SIP/1003\n",
        "[sales]\nstrategy=ringall\ntimeout=10\n",
    );
    assert_ne!(without, QUEUES);
    let mut net = net_with(&without, 36480);
    let (mut a, _b, _c, d) = phones(&mut net);
    let mut da = queued(&mut net, &mut a, "500");
    hears_music(&mut net, &a);
    net.advance(Duration::from_secs(3));
    assert!(cli(&mut net, "queue show sales").contains("   No Members\n"));
    // queues.conf gains a member: `core reload`.
    let with = without.replace("timeout=10\n", "timeout=10\nmember => SIP/1004\n");
    let cfg = config(&with, 36480);
    let now = net.now;
    let report = net
        .engine
        .reload_config(now, &cfg, sipbox::engine::ReloadScope::All)
        .unwrap();
    assert!(
        report
            .modules
            .iter()
            .any(|m| m == "Reloading app_queue: 7 queues"),
        "{:?}",
        report.modules
    );
    let inv = rings(&mut net, &d);
    let show = cli(&mut net, "queue show sales");
    assert!(show.contains("sales has 1 calls"), "{show}");
    let dd = answers(&mut net, &d, &inv);
    rtp_flows(&mut net, &a, da.remote_media(), &d, dd.remote_media());
    a.hang_up(&mut net, &mut da);
    d.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn an_unanswered_caller_hears_music_as_early_media_or_ringing_with_r() {
    let mut net = net(36540);
    let (mut a, b, c, _d) = phones(&mut net);
    // Queue() does not answer: the music is early media (183 with sipbox's SDP).
    let mut da = a.call_start(&mut net, "507", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let progress = a.response_with(&mut net, 183);
    a.learn_from(&mut da, &progress);
    hears_music(&mut net, &a);
    let ib = rings(&mut net, &b);
    let ic = rings(&mut net, &c);
    assert!(
        a.collect_rtp(&mut net, 5, Duration::from_millis(100)).len() == 5,
        "the members' 180 do not stop the music"
    );
    let db = answers(&mut net, &b, &ib);
    let ok = a.invite_outcome(&mut net, &mut da);
    assert_eq!(ok.status(), 200, "the member's answer answers the caller");
    a.ack(&mut net, &da, None);
    cancelled(&mut net, &c, &ic);
    rtp_flows(&mut net, &a, da.remote_media(), &b, db.remote_media());
    let mut db = db;
    let mut b = b;
    b.hang_up(&mut net, &mut db);
    a.answer_bye(&mut net);
    // `r`: 180 Ringing and no music.
    let mut da = a.call_start(&mut net, "508", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let ringing = a.response_with(&mut net, 180);
    a.learn_from(&mut da, &ringing);
    let ib = rings(&mut net, &b);
    let ic = rings(&mut net, &c);
    assert!(
        a.collect_rtp(&mut net, 5, Duration::from_millis(200))
            .is_empty(),
        "no music with r"
    );
    let db = answers(&mut net, &b, &ib);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 200);
    a.ack(&mut net, &da, None);
    cancelled(&mut net, &c, &ic);
    rtp_flows(&mut net, &a, da.remote_media(), &b, db.remote_media());
    a.hang_up(&mut net, &mut da);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn ringinuse_no_skips_a_member_in_a_call_until_it_hangs_up() {
    let mut net = net(36600);
    let (mut a, mut b, _c, mut d) = phones(&mut net);
    // 1002 calls 1004 directly and they talk.
    let mut dbd = b.call_start(&mut net, "1004", &sdp(b.rtp, &[0, 101], "sendrecv"));
    let inv = d.request(&mut net, Method::Invite);
    let mut dd = answers(&mut net, &d, &inv);
    assert_eq!(b.invite_outcome(&mut net, &mut dbd).status(), 200);
    b.ack(&mut net, &dbd, None);
    // `wrap` has ringinuse=no: its only member is in a call, so it is not rung.
    let mut da = queued(&mut net, &mut a, "506");
    hears_music(&mut net, &a);
    for _ in 0..6 {
        net.advance(Duration::from_millis(500));
        assert!(net.quiet(b.sip), "a member in a call was rung");
    }
    d.hang_up(&mut net, &mut dd);
    b.answer_bye(&mut net);
    // Free again: the next look rings it.
    let ib = rings(&mut net, &b);
    let db = answers(&mut net, &b, &ib);
    rtp_flows(&mut net, &a, da.remote_media(), &b, db.remote_media());
    a.hang_up(&mut net, &mut da);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_local_channel_that_starts_with_queue_answers_and_queues() {
    let mut net = net(36660);
    let (mut a, mut b, c, _d) = phones(&mut net);
    let mut da = queued(&mut net, &mut a, "509");
    hears_music(&mut net, &a);
    let ib = rings(&mut net, &b);
    let ic = rings(&mut net, &c);
    let mut db = answers(&mut net, &b, &ib);
    cancelled(&mut net, &c, &ic);
    rtp_flows(&mut net, &a, da.remote_media(), &b, db.remote_media());
    assert!(cli(&mut net, "queue show sales").contains("C:1, A:0"));
    b.hang_up(&mut net, &mut db);
    a.answer_bye(&mut net);
    let _ = &mut da;
    net.assert_idle();
}
