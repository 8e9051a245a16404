//! Hold and music on hold on the fake network: a phone holds (a=sendonly, a=inactive,
//! c=0.0.0.0) and sipbox answers it itself (recvonly / inactive) while the other party hears
//! the music on hold class's frames (compared byte for byte with the file's µ-law encoding);
//! resuming (a=sendrecv) brings the relay back. Without files the call stays up in silence with
//! one log line. The class follows mohsuggest / mohinterpret; MusicOnHold(class,duration),
//! StartMusicOnHold/StopMusicOnHold and Dial's `m` play to the caller.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::media::g711::Law;
use sipbox::media::moh::{MohFiles, MohLibrary};
use sipbox::media::sounds::MemorySounds;
use sipbox::media::wav;
use sipbox::sip::{Method, Request};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _100X,1,Dial(SIP/${EXTEN},10)
 same => n,Hangup()
exten => 600,1,Answer()
 same => n,MusicOnHold(,2)
 same => n,Hangup()
exten => 601,1,Answer()
 same => n,StartMusicOnHold(jazz)
 same => n,Wait(1)
 same => n,StopMusicOnHold()
 same => n,Wait(1)
 same => n,Hangup()
exten => 602,1,Answer()
 same => n,WaitMusicOnHold(1)
 same => n,Playback(beep)
 same => n,Hangup()
exten => 603,1,Answer()
 same => n,WaitMusicOnHold()
 same => n,Playback(beep)
exten => 700,1,Dial(SIP/1002,10,m(jazz))
 same => n,Hangup()
";

fn body(r: &Request) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// A tone of `secs` seconds at `hz` as a PCM16 WAV.
fn tone(hz: f64, secs: f64, amp: f64) -> Vec<u8> {
    let n = (8000.0 * secs) as usize;
    let s: Vec<i16> = (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16)
        .collect();
    wav::encode_pcm16(&s)
}

fn class(name: &str, files: &[&str]) -> MohFiles {
    MohFiles {
        name: name.into(),
        files: files.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    }
}

/// The fake net with classes `default` (400 Hz), `jazz` (1000 Hz) and `rock` (a missing
/// file), on `sip_conf`.
fn net_with(sip_conf: &str, lo: u16) -> FakeNet {
    let mut sounds = MemorySounds::new();
    sounds
        .insert("/moh/default/a.wav", tone(400.0, 0.5, 8000.0))
        .insert("/moh/jazz/j.wav", tone(1000.0, 0.5, 8000.0))
        .insert("beep", tone(1500.0, 0.5, 8000.0));
    let moh = MohLibrary::new(vec![
        class("default", &["/moh/default/a.wav"]),
        class("jazz", &["/moh/jazz/j.wav"]),
        class("rock", &["/moh/rock/missing.wav"]),
    ]);
    FakeNet::with_rtp(sip_conf, EXTENSIONS, lo, lo + 39)
        .with_sounds(sounds)
        .with_moh(moh)
}

/// The frames of a class's file as sipbox sends them to a µ-law phone.
fn frames_of(hz: f64) -> Vec<[u8; 160]> {
    wav::read_frames(&tone(hz, 0.5, 8000.0), Law::Ulaw).unwrap()
}

/// 1001 calls 1002, answered with PCMU; returns (A, A's dialog, B, B's INVITE).
fn bridged(net: &mut FakeNet) -> (Ua, Dialog, Ua, Request) {
    let b = Ua::new(net, "1002", "1002pass").registered(net);
    let mut a = Ua::new(net, "1001", "1001pass");
    let mut d = a.call_start(net, "1002", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let inv = b.request(net, Method::Invite);
    b.respond(net, &inv, 200, Some(&sdp(b.rtp, &[0, 101], "sendrecv")));
    assert_eq!(a.invite_outcome(net, &mut d).status(), 200);
    a.ack(net, &d, None);
    b.request(net, Method::Ack);
    (a, d, b, inv)
}

/// A re-INVITE from `ua` in `d` with `dir` (and `ip` for c=), answered by sipbox: its 200's
/// SDP.
fn hold_request(net: &mut FakeNet, ua: &mut Ua, d: &mut Dialog, dir: &str) -> String {
    let offer = sdp(ua.rtp, &[0, 101], dir);
    hold_with(net, ua, d, &offer)
}

/// The same with this offer.
fn hold_with(net: &mut FakeNet, ua: &mut Ua, d: &mut Dialog, offer: &str) -> String {
    ua.in_dialog(net, d, "INVITE", Some(offer));
    let ok = ua.final_response(net);
    assert_eq!(ok.status(), 200, "{ok:?}");
    ua.ack(net, d, None);
    String::from_utf8_lossy(ok.body()).into_owned()
}

#[test]
fn hold_plays_the_class_to_the_other_party_and_resume_brings_the_relay_back() {
    let mut net = net_with(TEST_SIP_CONF, 33000);
    let (mut a, mut d, b, inv) = bridged(&mut net);
    let to_b_leg = d.remote_media();
    let to_a_leg = sdp_addr(&body(&inv));
    let answer = hold_request(&mut net, &mut a, &mut d, "sendonly");
    assert_eq!(sdp_direction(&answer), "recvonly", "RFC 3264 §8.4");
    assert_eq!(sdp_addr(&answer), to_b_leg, "the same port");
    assert!(
        b.try_request(&mut net, Method::Invite).is_none(),
        "the held party is not re-INVITEd"
    );
    // A's own audio while holding is not passed on; B hears the music.
    a.send_rtp(
        &mut net,
        to_b_leg,
        &rtp_packet(0, 1, 160, 0xA, &[0x55; 160]),
    );
    let got = b.collect_rtp(&mut net, 30, Duration::from_millis(100));
    assert_eq!(got.len(), 30, "music at 50 packets a second");
    let want = frames_of(400.0);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.pt, 0);
        assert_eq!(
            r.payload,
            want[i % want.len()].to_vec(),
            "frame {i} is the file's"
        );
        assert_eq!(r.ssrc, got[0].ssrc, "one stream");
        assert_eq!(r.seq, got[0].seq.wrapping_add(i as u16));
    }
    // What B says does not reach the holder.
    b.send_rtp(
        &mut net,
        to_a_leg,
        &rtp_packet(0, 1, 160, 0xB, &[0x66; 160]),
    );
    assert!(a.recv_rtp(&mut net, Duration::from_millis(50)).is_none());

    let answer = hold_request(&mut net, &mut a, &mut d, "sendrecv");
    assert_eq!(sdp_direction(&answer), "sendrecv");
    assert!(net.logged("leg 0 resumes"));
    b.collect_rtp(&mut net, 1000, Duration::from_millis(30));
    assert!(
        b.recv_rtp(&mut net, Duration::from_millis(200)).is_none(),
        "music stopped"
    );
    let p = rtp_packet(0, 2, 320, 0xA, &[0x12; 160]);
    a.send_rtp(&mut net, to_b_leg, &p);
    assert_eq!(b.recv_rtp(&mut net, T).map(|x| x.bytes), Some(p));
    let q = rtp_packet(0, 2, 320, 0xB, &[0x34; 160]);
    b.send_rtp(&mut net, to_a_leg, &q);
    assert_eq!(a.recv_rtp(&mut net, T).map(|x| x.bytes), Some(q));
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn the_callee_holds_with_inactive_and_old_style_c_zero() {
    let mut net = net_with(TEST_SIP_CONF, 33040);
    let (mut a, mut d, mut b, inv) = bridged(&mut net);
    let mut bd = b.callee_dialog(&net, &inv);
    let answer = hold_request(&mut net, &mut b, &mut bd, "inactive");
    assert_eq!(sdp_direction(&answer), "inactive");
    assert!(a.try_request(&mut net, Method::Invite).is_none());
    let got = a.collect_rtp(&mut net, 10, Duration::from_millis(100));
    assert_eq!(got.len(), 10, "the caller hears music");
    assert_eq!(got[0].payload, frames_of(400.0)[0].to_vec());
    // Resume, then hold the RFC 2543 way.
    let resumed = hold_request(&mut net, &mut b, &mut bd, "sendrecv");
    assert_eq!(sdp_direction(&resumed), "sendrecv");
    a.collect_rtp(&mut net, 1000, Duration::from_millis(30));
    assert!(a.recv_rtp(&mut net, Duration::from_millis(100)).is_none());
    let old = sdp(b.rtp, &[0, 101], "sendrecv").replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    assert!(old.contains("0.0.0.0"), "{old}");
    hold_with(&mut net, &mut b, &mut bd, &old);
    assert_eq!(
        a.collect_rtp(&mut net, 5, Duration::from_millis(100)).len(),
        5
    );
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn without_files_the_call_stays_up_in_silence_with_one_log_line() {
    let mut net = FakeNet::with_rtp(TEST_SIP_CONF, EXTENSIONS, 33080, 33119)
        .with_moh(MohLibrary::new(vec![class("default", &[])]));
    let (mut a, mut d, b, _inv) = bridged(&mut net);
    for _ in 0..2 {
        hold_request(&mut net, &mut a, &mut d, "sendonly");
        assert!(
            b.recv_rtp(&mut net, Duration::from_millis(300)).is_none(),
            "silence"
        );
        hold_request(&mut net, &mut a, &mut d, "sendrecv");
    }
    assert_eq!(
        LogCapture::count("music on hold class 'default': no sound files"),
        1,
        "said once"
    );
    // Still up: media flows after the resume.
    let p = rtp_packet(0, 2, 320, 0xA, &[0x12; 160]);
    a.send_rtp(&mut net, d.remote_media(), &p);
    assert_eq!(b.recv_rtp(&mut net, T).map(|x| x.bytes), Some(p));
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn the_holder_suggests_a_class_and_the_listener_interprets() {
    let conf = TEST_SIP_CONF
        .replace("[1001](phone)\n", "[1001](phone)\nmohsuggest=jazz\n")
        .replace("[1002](phone)\n", "[1002](phone)\nmohinterpret=rock\n");
    let mut net = net_with(&conf, 33120);
    let (mut a, mut d, mut b, inv) = bridged(&mut net);
    // A holds: its suggestion wins.
    hold_request(&mut net, &mut a, &mut d, "sendonly");
    let got = b.collect_rtp(&mut net, 3, Duration::from_millis(100));
    assert_eq!(got[0].payload, frames_of(1000.0)[0].to_vec(), "jazz");
    hold_request(&mut net, &mut a, &mut d, "sendrecv");
    b.collect_rtp(&mut net, 1000, Duration::from_millis(30));
    // B holds: A suggests nothing, A's mohinterpret is `default`.
    let mut bd = b.callee_dialog(&net, &inv);
    hold_request(&mut net, &mut b, &mut bd, "sendonly");
    let got = a.collect_rtp(&mut net, 3, Duration::from_millis(100));
    assert_eq!(got[0].payload, frames_of(400.0)[0].to_vec(), "default");
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn a_class_whose_files_are_missing_is_silence() {
    let conf = TEST_SIP_CONF.replace("[1001](phone)\n", "[1001](phone)\nmohsuggest=rock\n");
    let mut net = net_with(&conf, 33160);
    let (mut a, mut d, b, _inv) = bridged(&mut net);
    hold_request(&mut net, &mut a, &mut d, "sendonly");
    assert!(b.recv_rtp(&mut net, Duration::from_millis(300)).is_none());
    assert!(net.logged("music on hold: file '/moh/rock/missing.wav' not found"));
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

#[test]
fn music_on_hold_with_a_duration_then_the_dialplan_goes_on() {
    let mut net = net_with(TEST_SIP_CONF, 33200);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "600", &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let start = net.now;
    let got = a.collect_rtp(&mut net, 500, Duration::from_millis(100));
    let bye = a.request(&mut net, Method::Bye);
    let took = net.now - start;
    assert!(
        (95..=101).contains(&got.len()),
        "two seconds of music: {} frames",
        got.len()
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2300),
        "{took:?}"
    );
    let want = frames_of(400.0);
    assert_eq!(got[0].payload, want[0].to_vec());
    assert_eq!(
        got[30].payload,
        want[5].to_vec(),
        "the 25-frame file starts over"
    );
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}

#[test]
fn wait_music_on_hold_plays_the_channel_class_for_its_delay_then_goes_on() {
    let mut net = net_with(TEST_SIP_CONF, 33220);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "602", &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let got = a.collect_rtp(&mut net, 500, Duration::from_millis(100));
    let bye = a.request(&mut net, Method::Bye);
    let music = frames_of(400.0);
    let beep = frames_of(1500.0);
    let first_beep = got
        .iter()
        .position(|p| p.payload == beep[0].to_vec())
        .expect("the Playback after WaitMusicOnHold");
    assert!(
        (48..=52).contains(&first_beep),
        "one second of music first: {first_beep} frames"
    );
    assert_eq!(got[0].payload, music[0].to_vec(), "the default class");
    assert_eq!(
        got[first_beep - 1].payload,
        music[(first_beep - 1) % 25].to_vec()
    );
    assert_eq!(got.len() - first_beep, 25, "then the whole beep");
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}

#[test]
fn wait_music_on_hold_without_a_delay_ends_the_call() {
    let mut net = net_with(TEST_SIP_CONF, 33230);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "603", &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let got = a.collect_rtp(&mut net, 500, Duration::from_millis(100));
    let bye = a.request(&mut net, Method::Bye);
    assert!(got.is_empty(), "no music, no beep: {} frames", got.len());
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}

#[test]
fn start_and_stop_music_on_hold_around_a_wait() {
    let mut net = net_with(TEST_SIP_CONF, 33240);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "601", &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let got = a.collect_rtp(&mut net, 500, Duration::from_millis(300));
    assert!((48..=52).contains(&got.len()), "one second: {}", got.len());
    assert_eq!(
        got[0].payload,
        frames_of(1000.0)[0].to_vec(),
        "the class argument"
    );
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}

#[test]
fn dial_m_plays_music_until_the_callee_answers() {
    let mut net = net_with(TEST_SIP_CONF, 33280);
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "700", &sdp(a.rtp, &[0, 101], "sendrecv"));
    let progress = a.response_with(&mut net, 183);
    let ours = sdp_addr(&String::from_utf8_lossy(progress.body()));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 180, None);
    let got = a.collect_rtp(&mut net, 20, Duration::from_millis(100));
    assert_eq!(got.len(), 20);
    assert_eq!(got[0].payload, frames_of(1000.0)[0].to_vec(), "m(jazz)");
    b.respond(
        &mut net,
        &inv,
        200,
        Some(&sdp(b.rtp, &[0, 101], "sendrecv")),
    );
    let ok = a.invite_outcome(&mut net, &mut d);
    assert_eq!(ok.status(), 200);
    a.ack(&mut net, &d, None);
    b.request(&mut net, Method::Ack);
    a.collect_rtp(&mut net, 1000, Duration::from_millis(30));
    assert!(
        a.recv_rtp(&mut net, Duration::from_millis(100)).is_none(),
        "music stopped"
    );
    let p = rtp_packet(0, 1, 160, 0xB, &[0x21; 160]);
    b.send_rtp(&mut net, sdp_addr(&body(&inv)), &p);
    let relayed = a.recv_rtp(&mut net, T).expect("relayed");
    assert_eq!((relayed.from, relayed.bytes), (ours, p));
    a.hang_up(&mut net, &mut d);
    b.answer_bye(&mut net);
    net.assert_idle();
}

/// musiconhold.conf reloaded (the binary lists the classes and reads the files off the loop,
/// then hands both over): a call hearing music keeps its class's files; the next hold gets
/// the new class, whose file came only with the reload.
#[test]
fn a_moh_reload_applies_to_the_next_hold_and_a_listener_keeps_its_music() {
    let mut net = net_with(TEST_SIP_CONF, 33600);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_start(&mut net, "600", &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let before = a.collect_rtp(&mut net, 20, Duration::from_millis(100));
    let old = frames_of(400.0);
    assert_eq!(before[0].payload, old[0].to_vec());
    let line = net.engine.reload_moh(
        MohLibrary::new(vec![class("default", &["/moh/new/b.wav"])]),
        vec![("/moh/new/b.wav".to_string(), tone(700.0, 0.5, 8000.0))],
    );
    assert_eq!(line, "Reloading res_musiconhold: 1 classes");
    let after = a.collect_rtp(&mut net, 30, Duration::from_millis(100));
    assert_eq!(after.len(), 30);
    for (i, r) in after.iter().enumerate() {
        assert_eq!(
            r.payload,
            old[(20 + i) % old.len()].to_vec(),
            "frame {} still the old class's file",
            20 + i
        );
    }
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    net.drain(a.rtp); // the rest of the first call's music
    let mut d = a.call_start(&mut net, "600", &sdp(a.rtp, &[0, 101], "sendrecv"));
    assert_eq!(a.invite_outcome(&mut net, &mut d).status(), 200);
    a.ack(&mut net, &d, None);
    let next = a.collect_rtp(&mut net, 10, Duration::from_millis(100));
    let new = frames_of(700.0);
    assert_eq!(next.len(), 10);
    for (i, r) in next.iter().enumerate() {
        assert_eq!(r.payload, new[i].to_vec(), "frame {i} is the new file's");
    }
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}
