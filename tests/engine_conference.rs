//! Conferences on the fake network: three phones in a ConfBridge each hear the sum of the
//! other two (decoded from their own G.711 law) and never themselves, on a stream of their
//! own; one that says nothing adds silence; the sum saturates; one that hangs up is no longer
//! heard nor sent anything. MeetMe's static rooms, PINs (argument and typed, three tries),
//! unknown and dynamic conferences; MeetMeCount and CONFBRIDGE_INFO; max_members; Page one-way
//! and duplex, a paged callee hanging up, the caller's hang-up ending the page; SIPAddHeader
//! headers on the outgoing legs.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::rtp::Rtp;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::media::g711::Law;
use sipbox::sip::Method;
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(20);

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => 800,1,ConfBridge(room1)
 same => n,Verbose(left room1 ${CONFBRIDGE_RESULT})
exten => 801,1,MeetMe(1234,q)
exten => 802,1,MeetMe(555,q)
exten => 803,1,MeetMe(555,q,11)
exten => 804,1,MeetMe(9,q)
exten => 805,1,MeetMe(77,dq)
exten => 806,1,MeetMeCount(1234,N)
 same => n,Verbose(meetme count ${N})
 same => n,Hangup()
exten => 807,1,Set(P=${CONFBRIDGE_INFO(parties,room1)})
 same => n,Verbose(confbridge parties ${P})
 same => n,Hangup()
exten => 808,1,MeetMe(555,q,12)
exten => 810,1,SIPAddHeader(Alert-Info: <http://example.com>\\;info=alert-autoanswer)
 same => n,Page(SIP/1002&SIP/1003,,10)
exten => 811,1,Page(SIP/1002&SIP/1003,d,10)
exten => 812,1,Page(SIP/1002&SIP/1003,q,2)
exten => 820,1,ConfBridge(small,small)
 same => n,Verbose(small result ${CONFBRIDGE_RESULT})
 same => n,Hangup()
exten => 821,1,ConfBridge(boss,,leader)
exten => 822,1,ConfBridge(boss,,crowd)
 same => n,Verbose(crowd result ${CONFBRIDGE_RESULT})
 same => n,Hangup()
exten => 830,1,ConfBridge(x,nosuchprofile)
exten => 831,1,ConfBridge(small,small,quiet)
 same => n,Verbose(retry ${CONFBRIDGE_RESULT})
 same => n,Goto(1)
exten => 840,1,MeetMe(1234,qM)
exten => 850,1,MeetMe(,q)
exten => 841,1,ConfBridge(w,,waiter)
exten => 842,1,ConfBridge(w,,leader)
";

const MEETME_CONF: &str = "[rooms]\nconf => 1234\nconf => 555,11,99\n";
const CONFBRIDGE_CONF: &str = "\
[small]
type=bridge
max_members=2
[leader]
type=user
marked=yes
[crowd]
type=user
end_marked=yes
[waiter]
type=user
wait_marked=yes
[quiet]
type=user
quiet=yes
";

fn net() -> FakeNet {
    let rtp = "[general]\nrtpstart=34000\nrtpend=34099\n";
    let mut cfg = sipbox::config::load_str(TEST_SIP_CONF, EXTENSIONS, Some(rtp)).expect("cfg");
    let mut raw = Vec::new();
    let mut w = sipbox::config::values::Warnings::default();
    let s =
        sipbox::config::reader::read_str_with("meetme.conf", MEETME_CONF, None, &mut raw).unwrap();
    cfg.conference.apply_meetme(&s, &mut w);
    let s =
        sipbox::config::reader::read_str_with("confbridge.conf", CONFBRIDGE_CONF, None, &mut raw)
            .unwrap();
    cfg.conference.apply_confbridge(&s, &mut w);
    assert!(w.into_vec().is_empty());
    FakeNet::with_config(&cfg)
}

/// `user` calls `exten` (PCMU or PCMA); answered by sipbox. The phone and where its RTP goes.
fn join(net: &mut FakeNet, user: &str, exten: &str, pt: u8) -> (Ua, Dialog, SocketAddr) {
    let mut ua = Ua::new(net, user, &format!("{user}pass"));
    let offer = sdp(ua.rtp, &[pt, 101], "sendrecv");
    let (d, r) = ua.call(net, exten, &offer);
    assert_eq!(r.status(), 200, "{r:?}");
    ua.ack(net, &d, None);
    let to = d.remote_media();
    (ua, d, to)
}

/// A 20 ms frame of constant `v`, in `law`.
fn frame(law: Law, v: i16) -> Vec<u8> {
    vec![law.encode(v); 160]
}

/// The mean linear value of an RTP payload in `law`.
fn level(p: &Rtp, law: Law) -> i32 {
    let sum: i32 = p.payload.iter().map(|&b| i32::from(law.decode(b))).sum();
    sum / p.payload.len().max(1) as i32
}

/// The first packet for `ua` within `wait` whose level is not silence.
fn heard(net: &mut FakeNet, ua: &Ua, law: Law, wait: Duration) -> Option<(Rtp, i32)> {
    let end = net.now + wait;
    while net.now < end {
        let d = ua.recv_rtp(net, end - net.now)?;
        let p = Rtp::parse(&d);
        let l = level(&p, law);
        if l != 0 {
            return Some((p, l));
        }
    }
    None
}

fn drain(net: &mut FakeNet, uas: &[&Ua]) {
    for u in uas {
        net.drain(u.rtp);
    }
}

fn near(got: i32, want: i32) -> bool {
    (got - want).abs() <= want.abs() / 20 + 16
}

#[test]
fn three_in_a_confbridge_each_hear_the_others_not_themselves() {
    let mut net = net();
    let (a, _da, to_a) = join(&mut net, "1001", "800", 0);
    let (b, _db, to_b) = join(&mut net, "1002", "800", 0);
    // C speaks A-law: its audio is decoded as A-law and it is sent A-law.
    let (mut c, mut dc, to_c) = join(&mut net, "1003", "800", 8);
    net.advance(TICK * 3);
    drain(&mut net, &[&a, &b, &c]);
    let mut seq = 1;
    let mut say = |net: &mut FakeNet, who: &Ua, to, law: Law, v: i16| {
        seq += 1;
        who.send_rtp(
            net,
            to,
            &rtp_packet(
                law.payload_type(),
                seq,
                160 * u32::from(seq),
                0x1000,
                &frame(law, v),
            ),
        );
    };
    say(&mut net, &a, to_a, Law::Ulaw, 1000);
    say(&mut net, &b, to_b, Law::Ulaw, 2000);
    say(&mut net, &c, to_c, Law::Alaw, 4000);
    let (pa, la) = heard(&mut net, &a, Law::Ulaw, TICK * 3).expect("A hears");
    let (pb, lb) = heard(&mut net, &b, Law::Ulaw, TICK * 3).expect("B hears");
    let (pc, lc) = heard(&mut net, &c, Law::Alaw, TICK * 3).expect("C hears");
    assert!(near(la, 6000), "A hears B+C: {la}");
    assert!(near(lb, 5000), "B hears A+C: {lb}");
    assert!(near(lc, 3000), "C hears A+B: {lc}");
    assert_eq!((pa.pt, pb.pt, pc.pt), (0, 0, 8), "each in its own law");
    let ssrcs = [pa.ssrc, pb.ssrc, pc.ssrc];
    assert!(ssrcs[0] != ssrcs[1] && ssrcs[1] != ssrcs[2] && ssrcs[0] != ssrcs[2]);
    // Its own stream: the next packet follows on in sequence and timestamp.
    let next = Rtp::parse(&a.recv_rtp(&mut net, T).expect("the stream goes on"));
    assert_eq!(next.seq, pa.seq.wrapping_add(1));
    assert_eq!(next.ts, pa.ts.wrapping_add(160));
    assert_eq!(level(&next, Law::Ulaw), 0, "nobody spoke again: silence");

    // C says nothing: it adds silence; A hears B alone.
    drain(&mut net, &[&a, &b, &c]);
    say(&mut net, &a, to_a, Law::Ulaw, 300);
    say(&mut net, &b, to_b, Law::Ulaw, 700);
    let (_, la) = heard(&mut net, &a, Law::Ulaw, TICK * 3).expect("A hears B");
    let (_, lc) = heard(&mut net, &c, Law::Alaw, TICK * 3).expect("C hears A+B");
    assert!(near(la, 700) && near(lc, 1000), "{la} {lc}");

    // Saturation: two loud talkers do not wrap around.
    drain(&mut net, &[&a, &b, &c]);
    say(&mut net, &a, to_a, Law::Ulaw, 30_000);
    say(&mut net, &b, to_b, Law::Ulaw, 30_000);
    let (_, lc) = heard(&mut net, &c, Law::Alaw, TICK * 3).expect("C hears the clip");
    assert!(lc > 30_000, "saturated, not wrapped: {lc}");

    // CONFBRIDGE_INFO counts the three.
    let mut d = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(d.rtp, &[0], "sendrecv");
    let (_dd, _r) = d.call(&mut net, "807", &offer);
    assert!(net.wait_log("confbridge parties 3", T));

    // C hangs up: it is no longer heard nor sent anything.
    c.hang_up(&mut net, &mut dc);
    net.advance(TICK * 3);
    drain(&mut net, &[&a, &b, &c]);
    say(&mut net, &a, to_a, Law::Ulaw, 1500);
    say(&mut net, &c, to_c, Law::Alaw, 9000);
    let (_, lb) = heard(&mut net, &b, Law::Ulaw, TICK * 3).expect("B hears A");
    assert!(near(lb, 1500), "only A: {lb}");
    net.advance(TICK * 3);
    assert!(net.quiet(c.rtp), "nothing goes to a member that left");
    let mut e = Ua::new(&mut net, "1002", "1002pass");
    let offer = sdp(e.rtp, &[0], "sendrecv");
    let (_de, _r) = e.call(&mut net, "807", &offer);
    assert!(net.wait_log("confbridge parties 2", T));
}

#[test]
fn meetme_rooms_pins_counts_and_dynamic_conferences() {
    let mut net = net();
    // A static room without a PIN; MeetMeCount sees its members.
    let (_a, _da, _) = join(&mut net, "1001", "801", 0);
    let (_b, _db, _) = join(&mut net, "1002", "801", 0);
    net.advance(TICK * 2);
    let mut c = Ua::new(&mut net, "1003", "1003pass");
    let offer = sdp(c.rtp, &[0], "sendrecv");
    c.call(&mut net, "806", &offer);
    assert!(net.wait_log("meetme count 2", T));

    // The PIN as the argument: right joins, wrong hangs up after conf-invalidpin.
    let (_p, _dp, _) = join(&mut net, "1001", "803", 0);
    net.advance(TICK * 2);
    assert!(net.logged("joins meetme 555"));
    let mut w = Ua::new(&mut net, "1002", "1002pass");
    let offer = sdp(w.rtp, &[0, 101], "sendrecv");
    let (mut dw, r) = w.call(&mut net, "808", &offer);
    assert_eq!(r.status(), 200);
    w.ack(&mut net, &dw, None);
    let bye = w.request(&mut net, Method::Bye);
    w.respond(&mut net, &bye, 200, None);
    assert!(net.logged("wrong PIN"));
    assert!(
        net.logged("Service=\"MeetMe\""),
        "a wrong PIN is a security event, counted for the ban"
    );
    let _ = &mut dw;

    // Typed PINs: two wrong ones, then the admin PIN.
    let mut t = Ua::new(&mut net, "1003", "1003pass");
    let offer = sdp(t.rtp, &[0, 101], "sendrecv");
    let (dt, r) = t.call(&mut net, "802", &offer);
    assert_eq!(r.status(), 200);
    t.ack(&mut net, &dt, None);
    let to = dt.remote_media();
    let mut seq = 100u16;
    let mut ts = 8000u32;
    let mut typed = |net: &mut FakeNet, digits: &[u8]| {
        for &d in digits {
            t.send_dtmf(net, to, 101, d, seq, ts);
            seq += 6;
            ts += 800;
            net.advance(Duration::from_millis(100));
        }
    };
    typed(&mut net, &[1, 2, 11]); // 12#
    typed(&mut net, &[7, 11]); // 7#
    typed(&mut net, &[9, 9, 11]); // 99#: the admin PIN
    net.advance(TICK * 2);
    let joined = net
        .log()
        .iter()
        .filter(|l| l.contains("joins meetme 555"))
        .count();
    assert_eq!(joined, 2, "the typed admin PIN let the third caller in");
    let mut c2 = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(c2.rtp, &[0], "sendrecv");
    c2.call(&mut net, "806", &offer);
    assert!(net.wait_log("meetme count 2", T), "1234 still has its two");

    // No such room, no `d`: conf-invalid, then hang up.
    let mut u = Ua::new(&mut net, "1002", "1002pass");
    let offer = sdp(u.rtp, &[0], "sendrecv");
    let (du, r) = u.call(&mut net, "804", &offer);
    assert_eq!(r.status(), 200);
    u.ack(&mut net, &du, None);
    let bye = u.request(&mut net, Method::Bye);
    u.respond(&mut net, &bye, 200, None);
    assert!(net.logged("no conference 9"));

    // `d`: a dynamic conference starts on demand.
    let (_x, _dx, _) = join(&mut net, "1003", "805", 0);
    net.advance(TICK);
    assert!(net.logged("meetme 77 starts"));
}

#[test]
fn max_members_and_end_marked() {
    let mut net = net();
    let (_a, _da, _) = join(&mut net, "1001", "820", 0);
    let (_b, _db, _) = join(&mut net, "1002", "820", 0);
    let mut c = Ua::new(&mut net, "1003", "1003pass");
    let offer = sdp(c.rtp, &[0], "sendrecv");
    let (dc, r) = c.call(&mut net, "820", &offer);
    assert_eq!(r.status(), 200);
    c.ack(&mut net, &dc, None);
    assert!(
        net.wait_log("small result FAILED", T),
        "the third is refused"
    );
    let bye = c.request(&mut net, Method::Bye);
    c.respond(&mut net, &bye, 200, None);

    // The leader leaves: the crowd member (end_marked) is out, its dialplan goes on.
    let mut net = self::net();
    let (mut l, mut dl, _) = join(&mut net, "1001", "821", 0);
    let (m, _dm, _) = join(&mut net, "1002", "822", 0);
    net.advance(TICK * 2);
    l.hang_up(&mut net, &mut dl);
    net.advance(TICK * 3);
    assert!(net.wait_log("crowd result ENDMARKED", T));
    let bye = m.request(&mut net, Method::Bye);
    m.respond(&mut net, &bye, 200, None);
    net.advance(TICK * 3);
    assert_eq!(
        net.engine.conferences_running(),
        0,
        "nothing is left behind"
    );
}

#[test]
fn an_unknown_profile_hangs_up() {
    let mut net = net();
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(a.rtp, &[0], "sendrecv");
    let (_d, r) = a.call(&mut net, "830", &offer);
    assert!(r.status() >= 400, "{r:?}");
    assert!(net.logged("Conference bridge profile nosuchprofile does not exist"));
}

/// 1001 pages 1002 and 1003 through `exten`; both answer. The three phones, the caller's
/// dialog and RTP target, and the callees' targets.
type Paged = (
    Ua,
    Dialog,
    SocketAddr,
    Ua,
    Ua,
    [SocketAddr; 2],
    sipbox::sip::Request,
);

fn paged(net: &mut FakeNet, exten: &str) -> Paged {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let c = Ua::new(net, "1003", "1003pass").registered(net);
    let mut a = Ua::new(net, "1001", "1001pass");
    let (da, r) = a.call(net, exten, &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert_eq!(r.status(), 200, "the caller is answered: {r:?}");
    a.ack(net, &da, None);
    let to_a = da.remote_media();
    let ib = b.answer(net, &[0]);
    let ic = c.answer(net, &[8]);
    assert!(
        ib.headers()
            .get(&sipbox::sip::HeaderName::parse("Alert-Info"))
            .is_some()
            || exten != "810",
        "SIPAddHeader's header goes out on every leg"
    );
    let tb = sdp_addr(&String::from_utf8_lossy(ib.body()));
    let tc = sdp_addr(&String::from_utf8_lossy(ic.body()));
    (a, da, to_a, b, c, [tb, tc], ic)
}

#[test]
fn page_one_way_the_callees_hear_the_caller_and_are_not_heard() {
    let mut net = net();
    let (mut a, mut da, to_a, b, mut c, [tb, tc], ic) = paged(&mut net, "810");
    net.advance(TICK * 3);
    drain(&mut net, &[&a, &b, &c]);
    a.send_rtp(
        &mut net,
        to_a,
        &rtp_packet(0, 1, 160, 0xA, &frame(Law::Ulaw, 2500)),
    );
    b.send_rtp(
        &mut net,
        tb,
        &rtp_packet(0, 1, 160, 0xB, &frame(Law::Ulaw, 900)),
    );
    c.send_rtp(
        &mut net,
        tc,
        &rtp_packet(8, 1, 160, 0xC, &frame(Law::Alaw, 400)),
    );
    let (_, lb) = heard(&mut net, &b, Law::Ulaw, TICK * 3).expect("B hears the caller");
    let (pc, lc) = heard(&mut net, &c, Law::Alaw, TICK * 3).expect("C hears the caller");
    assert!(
        near(lb, 2500) && near(lc, 2500),
        "{lb} {lc}: only the caller"
    );
    assert_eq!(pc.pt, 8);
    assert!(
        heard(&mut net, &a, Law::Ulaw, TICK * 3).is_none(),
        "the callees are not heard (one-way)"
    );
    // A callee hangs up: the page goes on for the other.
    let mut dc = c.callee_dialog(&net, &ic);
    c.hang_up(&mut net, &mut dc);
    drain(&mut net, &[&a, &b]);
    a.send_rtp(
        &mut net,
        to_a,
        &rtp_packet(0, 2, 320, 0xA, &frame(Law::Ulaw, 1200)),
    );
    let (_, lb) = heard(&mut net, &b, Law::Ulaw, TICK * 3).expect("B still hears");
    assert!(near(lb, 1200));
    // The caller hangs up: the page ends, B gets its BYE.
    a.hang_up(&mut net, &mut da);
    b.answer_bye(&mut net);
    net.advance(TICK * 3);
    assert_eq!(net.engine.conferences_running(), 0);
    net.assert_idle();
    let t = net.engine.table_sizes();
    assert!(t.timers < 10, "no conference tick left on the heap: {t:?}");
}

#[test]
fn page_duplex_everybody_hears_everybody() {
    let mut net = net();
    let (a, _da, to_a, b, c, [tb, _tc], _ic) = paged(&mut net, "811");
    net.advance(TICK * 3);
    drain(&mut net, &[&a, &b, &c]);
    a.send_rtp(
        &mut net,
        to_a,
        &rtp_packet(0, 1, 160, 0xA, &frame(Law::Ulaw, 1000)),
    );
    b.send_rtp(
        &mut net,
        tb,
        &rtp_packet(0, 1, 160, 0xB, &frame(Law::Ulaw, 2000)),
    );
    let (_, la) = heard(&mut net, &a, Law::Ulaw, TICK * 3).expect("the caller hears B");
    let (_, lc) = heard(&mut net, &c, Law::Alaw, TICK * 3).expect("C hears both");
    assert!(near(la, 2000) && near(lc, 3000), "{la} {lc}");
}

/// A CLI command's answer.
fn cli(net: &mut FakeNet, line: &str) -> String {
    let now = net.now;
    net.engine
        .cli(now, line, sipbox::cli::Levels::default())
        .text
}

#[test]
fn confbridge_list_and_meetme_list_as_asterisk_prints_them() {
    let mut net = net();
    assert_eq!(
        cli(&mut net, "meetme list"),
        "No active MeetMe conferences.\n"
    );
    let (_a, _da, _) = join(&mut net, "1001", "800", 0);
    let (_b, _db, _) = join(&mut net, "1002", "821", 0);
    let (_c, _dc, _) = join(&mut net, "1003", "801", 0);
    net.advance(TICK);
    let list = cli(&mut net, "confbridge list");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(
        lines[0],
        "Conference Bridge Name           Users  Marked Locked Muted"
    );
    assert_eq!(
        lines[1],
        "================================ ====== ====== ====== ====="
    );
    assert!(
        lines.contains(&format!("{:<32} {:>6} {:>6} No     No", "boss", 1, 1).as_str()),
        "{list}"
    );
    assert!(
        lines.contains(&format!("{:<32} {:>6} {:>6} No     No", "room1", 1, 0).as_str()),
        "{list}"
    );
    let one = cli(&mut net, "confbridge list boss");
    let row = one.lines().nth(2).unwrap();
    assert!(row.starts_with("SIP/1002-") && row.contains(" M "), "{one}");
    assert!(
        row.contains(" leader           default_bridge   "),
        "the profiles: {one}"
    );
    assert_eq!(
        cli(&mut net, "confbridge list nope"),
        "No conference bridge named 'nope' found!\n"
    );
    let mm = cli(&mut net, "meetme list");
    assert!(
        mm.starts_with("Conf Num       Parties        Marked     Activity  Creation  Locked\n"),
        "{mm}"
    );
    assert!(
        mm.contains("1234           0001\t      N/A        00:00:00  Static    No"),
        "{mm}"
    );
    assert!(mm.ends_with("* Total number of MeetMe users: 1\n"), "{mm}");
    let users = cli(&mut net, "meetme list 1234");
    assert!(
        users.starts_with("User #: 01         1003 <no name>            Channel: SIP/1003-"),
        "{users}"
    );
    assert!(users.ends_with("1 users in that conference.\n"), "{users}");
    assert_eq!(cli(&mut net, "meetme list 99"), "No such conference: 99.\n");
}

#[test]
fn music_while_alone_and_waiting_for_the_marked_member() {
    let mut sounds = sipbox::media::sounds::MemorySounds::new();
    let tone: Vec<i16> = (0..4000)
        .map(|i| (8000.0 * (i as f64 * 0.3).sin()) as i16)
        .collect();
    sounds.insert(
        "/moh/default/a.wav",
        sipbox::media::wav::encode_pcm16(&tone),
    );
    let moh = sipbox::media::moh::MohLibrary::new(vec![sipbox::media::moh::MohFiles {
        name: "default".into(),
        files: vec!["/moh/default/a.wav".into()],
        ..Default::default()
    }]);
    let mut net = net().with_sounds(sounds).with_moh(moh);
    // MeetMe M: alone, the member hears music; a second member stops it.
    let (a, _da, _) = join(&mut net, "1001", "840", 0);
    let p = Rtp::parse(&a.recv_rtp(&mut net, TICK * 5).expect("music"));
    assert!(level(&p, Law::Ulaw) != 0 || p.payload.iter().any(|&b| b != 0xff));
    assert!(net.logged("music on hold 'default' to leg 0 (Conference)"));
    let (_b, _db, _) = join(&mut net, "1002", "801", 0);
    net.advance(TICK * 2);
    assert!(net.logged("music on hold to leg 0 stops"));

    // wait_marked: muted and deaf until the leader comes.
    let (w, _dw, to_w) = join(&mut net, "1003", "841", 0);
    let (l, _dl, to_l) = join(&mut net, "1001", "842", 0);
    net.advance(TICK * 2);
    drain(&mut net, &[&w, &l]);
    w.send_rtp(
        &mut net,
        to_w,
        &rtp_packet(0, 5, 800, 0xE, &frame(Law::Ulaw, 3000)),
    );
    l.send_rtp(
        &mut net,
        to_l,
        &rtp_packet(0, 5, 800, 0xF, &frame(Law::Ulaw, 1000)),
    );
    let (_, lw) = heard(&mut net, &w, Law::Ulaw, TICK * 3).expect("the waiter hears the leader");
    let (_, ll) = heard(&mut net, &l, Law::Ulaw, TICK * 3).expect("the leader hears the waiter");
    assert!(near(lw, 1000) && near(ll, 3000), "{lw} {ll}");
}

#[test]
fn a_waiting_member_is_neither_heard_nor_hears_before_the_marked_one() {
    let mut net = net();
    let (w, _dw, to_w) = join(&mut net, "1003", "841", 0);
    let (o, _do, to_o) = join(&mut net, "1002", "841", 0);
    net.advance(TICK * 2);
    drain(&mut net, &[&w, &o]);
    w.send_rtp(
        &mut net,
        to_w,
        &rtp_packet(0, 5, 800, 0xE, &frame(Law::Ulaw, 3000)),
    );
    o.send_rtp(
        &mut net,
        to_o,
        &rtp_packet(0, 5, 800, 0xF, &frame(Law::Ulaw, 1000)),
    );
    assert!(heard(&mut net, &w, Law::Ulaw, TICK * 3).is_none());
    assert!(heard(&mut net, &o, Law::Ulaw, TICK * 3).is_none());
}

#[test]
fn the_page_timeout_stops_the_ringing_callees_and_the_page_goes_on() {
    let mut net = net();
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let c = Ua::new(&mut net, "1003", "1003pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (da, r) = a.call(&mut net, "812", &sdp(a.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 200);
    a.ack(&mut net, &da, None);
    let to_a = da.remote_media();
    b.answer(&mut net, &[0]);
    let ic = c.request(&mut net, Method::Invite);
    c.respond(&mut net, &ic, 180, None);
    let cancel = c.request(&mut net, Method::Cancel);
    c.respond(&mut net, &cancel, 200, None);
    c.respond(&mut net, &ic, 487, None);
    c.request(&mut net, Method::Ack);
    drain(&mut net, &[&a, &b]);
    a.send_rtp(
        &mut net,
        to_a,
        &rtp_packet(0, 9, 1600, 0xA, &frame(Law::Ulaw, 1800)),
    );
    let (_, lb) = heard(&mut net, &b, Law::Ulaw, TICK * 3).expect("the page goes on");
    assert!(near(lb, 1800), "{lb}");
}

#[test]
fn a_dialplan_that_retries_a_full_conference_at_once_does_not_spin() {
    let mut net = net();
    let (_a, _da, _) = join(&mut net, "1001", "820", 0);
    let (_b, _db, _) = join(&mut net, "1002", "820", 0);
    let (_c, _dc, _) = join(&mut net, "1003", "831", 0);
    net.advance(Duration::from_secs(2));
    let tries = net
        .log()
        .iter()
        .filter(|l| l.contains("retry FAILED") && !l.contains("Executing"))
        .count();
    assert!(
        (5..=11).contains(&tries),
        "one try per 200 ms, not a loop: {tries}"
    );
}

#[test]
fn the_first_member_hears_conf_onlyperson_unless_quiet() {
    let mut sounds = sipbox::media::sounds::MemorySounds::new();
    let prompt: Vec<i16> = (0..1600)
        .map(|i| (6000.0 * (i as f64 * 0.5).sin()) as i16)
        .collect();
    sounds.insert("conf-onlyperson", sipbox::media::wav::encode_pcm16(&prompt));
    let mut net = net().with_sounds(sounds);
    let (a, _da, _) = join(&mut net, "1001", "800", 0);
    let first = Rtp::parse(&a.recv_rtp(&mut net, T).expect("the prompt"));
    assert!(first.payload.iter().any(|&b| b != 0xff), "not silence");
    assert!(net.logged("Playback conf-onlyperson"));
    // 10 frames of prompt, then the mix's silence: one stream at a time.
    let mut all = vec![first];
    all.extend(a.collect_rtp(&mut net, 30, TICK * 3));
    let switches = all.windows(2).filter(|w| w[0].ssrc != w[1].ssrc).count();
    assert_eq!(
        switches, 1,
        "the prompt's stream, then the mix's, never interleaved"
    );
    assert_eq!(all.iter().take_while(|p| p.ssrc == all[0].ssrc).count(), 10);
    // A second member is not alone: no prompt. A quiet first member hears none either.
    let (_b, _db, _) = join(&mut net, "1002", "800", 0);
    let (_q, _dq, _) = join(&mut net, "1003", "831", 0);
    net.advance(TICK * 3);
    let prompts = net
        .log()
        .iter()
        .filter(|l| l.contains("Playback conf-onlyperson"))
        .count();
    assert_eq!(prompts, 1);
}

#[test]
fn meetme_without_a_number_asks_for_one_and_again_after_a_wrong_one() {
    let mut net = net();
    let mut t = Ua::new(&mut net, "1001", "1001pass");
    let offer = sdp(t.rtp, &[0, 101], "sendrecv");
    let (dt, r) = t.call(&mut net, "850", &offer);
    assert_eq!(r.status(), 200);
    t.ack(&mut net, &dt, None);
    let to = dt.remote_media();
    let (mut seq, mut ts) = (100u16, 8000u32);
    let mut typed = |net: &mut FakeNet, digits: &[u8]| {
        for &d in digits {
            t.send_dtmf(net, to, 101, d, seq, ts);
            seq += 6;
            ts += 800;
            net.advance(Duration::from_millis(100));
        }
    };
    typed(&mut net, &[4, 2, 11]); // 42#: no such room
    assert!(net.logged("no conference 42"));
    assert!(!net.logged("joins meetme"));
    typed(&mut net, &[1, 2, 3, 4, 11]); // 1234#
    net.advance(TICK * 2);
    assert!(net.logged("joins meetme 1234"), "asked again, then in");
}
