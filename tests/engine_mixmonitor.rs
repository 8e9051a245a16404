//! MixMonitor on the fake network and clock: 1001 calls 1002 through a dialplan that records;
//! the caller sends a 400 Hz tone and the callee a 1 000 Hz one, and the files rebuilt from
//! the writes the engine hands to the driver (applied here to an in-memory disk, with the
//! same WAV size fix the driver uses) hold both tones mixed, each alone in `r()`/`t()`, and
//! last as long as the recording ran on the clock. Also: relative names under the spool's
//! `monitor/`, absolute ones kept, `a` appends and its absence truncates, `b` records only
//! the bridged part, `StopMixMonitor(${ID})` by id, the post-command runs once, after the
//! files are closed, with `^{...}` substituted at MixMonitor time; GSM is refused; `v`/`W`
//! volumes; Monitor's `-in`/`-out` files (default name `<epoch>-SIP-1001-...`), `m` mixing
//! into one file or running `${MONITOR_EXEC}`, `b`, StopMonitor; a blind transfer of the other party keeps the recording going with the new one,
//! and so does a pickup, while the picker's own recording ends when its leg moves.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use common::TEST_SIP_CONF;
use sipbox::media::g711::Law;
use sipbox::media::monitor::{wav_size_fix, FileOp};
use sipbox::media::wav;
use sipbox::sip::Method;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where the fake network's config puts the spool (`Directories::under("sipbox-state")`).
const MONITOR: &str = "sipbox-state/spool/monitor";

fn extensions(body: &str) -> String {
    format!("[general]\nautofallthrough=yes\n\n[internal]\n{body}")
}

/// The driver's disk, in memory: the same operations in the same order.
#[derive(Default)]
struct Disk {
    files: HashMap<PathBuf, Vec<u8>>,
    commands: Vec<String>,
    /// Every op in order, for ordering checks.
    log: Vec<FileOp>,
}

impl Disk {
    fn apply(&mut self, ops: Vec<FileOp>) {
        for op in ops {
            self.log.push(op.clone());
            match op {
                FileOp::Open {
                    path,
                    append,
                    header,
                } => {
                    let keep = append && self.files.get(&path).is_some_and(|f| !f.is_empty());
                    if !keep {
                        self.files.insert(path, header);
                    }
                }
                FileOp::Append { path, bytes } => self
                    .files
                    .entry(path)
                    .or_default()
                    .extend_from_slice(&bytes),
                FileOp::Close { path, wav } => {
                    let f = self
                        .files
                        .get_mut(&path)
                        .expect("closing a file never opened");
                    if wav {
                        let fix = wav_size_fix(f, f.len() as u64).expect("a WAV with data");
                        for (off, v) in fix {
                            f[off..off + 4].copy_from_slice(&v.to_le_bytes());
                        }
                    }
                }
                FileOp::Command(c) => self.commands.push(c),
            }
        }
    }

    /// The samples of a WAV file (checked to parse).
    fn samples(&self, path: &str) -> Vec<i16> {
        let bytes = self
            .files
            .get(&PathBuf::from(path))
            .unwrap_or_else(|| panic!("{path} not written; have {:?}", self.files.keys()));
        let w = wav::parse(bytes).expect("a valid WAV");
        assert_eq!(w.frame_count() * 320, bytes.len() - 44, "sizes fixed");
        bytes[44..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect()
    }
}

/// The relative power of `hz` in `s` (Goertzel).
fn power(s: &[i16], hz: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
    let (mut a, mut b) = (0.0f64, 0.0f64);
    for &x in s {
        let y = f64::from(x) + k * a - b;
        b = a;
        a = y;
    }
    (a * a + b * b - k * a * b) / (s.len().max(1) as f64).powi(2)
}

/// True when `hz` stands out of `s` (against a frequency neither side sends).
fn has_tone(s: &[i16], hz: f64) -> bool {
    power(s, hz) > 100.0 * power(s, 700.0).max(1.0)
}

/// One 20 ms µ-law frame of a `hz` tone, frame `n` of the stream.
fn tone_frame(hz: f64, n: usize) -> Vec<u8> {
    (0..160)
        .map(|i| {
            let t = (n * 160 + i) as f64 / 8000.0;
            Law::Ulaw.encode((8000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16)
        })
        .collect()
}

/// A bridged call 1001 → `exten` (which Dials 1002): `frames` 20 ms frames of tones each
/// way, then the caller hangs up. Returns the ms from the INVITE to the hang-up.
fn bridged_call(net: &mut FakeNet, exten: &str, frames: usize) -> u128 {
    let callee = Ua::new(net, "1002", "1002pass").registered(net);
    let mut a = Ua::new(net, "1001", "1001pass");
    let t0 = net.now;
    let mut d = a.call_start(net, exten, &sdp(a.rtp, &[0], "sendrecv"));
    let inv = callee.request(net, Method::Invite);
    callee.respond(net, &inv, 200, Some(&sdp(callee.rtp, &[0], "sendrecv")));
    let r = a.invite_outcome(net, &mut d);
    assert_eq!(r.status(), 200, "{r:?}");
    a.ack(net, &d, None);
    callee.request(net, Method::Ack);
    let to_callee_leg = d.remote_media();
    let to_caller_leg = sdp_addr(&String::from_utf8_lossy(inv.body()));
    for n in 0..frames {
        let ts = (n * 160) as u32;
        let p = rtp_packet(0, n as u16, ts, 0xA, &tone_frame(400.0, n));
        a.send_rtp(net, to_callee_leg, &p);
        let q = rtp_packet(0, n as u16, ts, 0xB, &tone_frame(1000.0, n));
        callee.send_rtp(net, to_caller_leg, &q);
        net.advance(Duration::from_millis(20));
        net.drain(a.rtp);
        net.drain(callee.rtp);
    }
    a.hang_up(net, &mut d);
    let bye = callee.request(net, Method::Bye);
    callee.respond(net, &bye, 200, None);
    net.now.duration_since(t0).as_millis()
}

fn net(body: &str) -> FakeNet {
    FakeNet::with_rtp(TEST_SIP_CONF, &extensions(body), 32000, 32099)
}

#[test]
fn both_directions_mixed_r_and_t_alone_length_follows_the_clock_command_once() {
    let mut net = net(
        "exten => 1002,1,MixMonitor(call.wav,r(in.wav)t(/tmp/sipbox-mm-abs/out.wav),\
         /bin/echo ^{MIXMONITOR_FILENAME} ^{CALLERID(num)})\n \
         same => n,Dial(SIP/1002,10)\n same => n,Hangup()\n",
    );
    let ms = bridged_call(&mut net, "1002", 50);
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let mixed = disk.samples(&format!("{MONITOR}/call.wav"));
    let rx = disk.samples(&format!("{MONITOR}/in.wav"));
    let tx = disk.samples("/tmp/sipbox-mm-abs/out.wav");
    // The recording ran from the INVITE to the BYE: its length is that, to a frame or two.
    let got = mixed.len() as u128 / 8;
    assert!(got <= ms && got + 60 >= ms, "{got} ms recorded for {ms} ms");
    assert_eq!(rx.len(), mixed.len());
    assert_eq!(tx.len(), mixed.len());
    // The tones are in the last second (the frames before the answer are silence).
    let tail = |s: &[i16]| s[s.len() - 7200..].to_vec();
    assert!(has_tone(&tail(&mixed), 400.0) && has_tone(&tail(&mixed), 1000.0));
    assert!(has_tone(&tail(&rx), 400.0) && !has_tone(&tail(&rx), 1000.0));
    assert!(has_tone(&tail(&tx), 1000.0) && !has_tone(&tail(&tx), 400.0));
    // Sample by sample: the mix is the sum of the two legs.
    for ((m, r), t) in mixed.iter().zip(&rx).zip(&tx) {
        assert_eq!(*m, r.saturating_add(*t));
    }
    assert_eq!(
        disk.commands,
        vec![format!("/bin/echo {MONITOR}/call.wav 1001")]
    );
    assert!(
        matches!(disk.log.last(), Some(FileOp::Command(_))),
        "the command comes after the closes"
    );
    assert!(net.logged("MixMonitor"), "{:?}", net.log());
}

#[test]
fn a_appends_and_without_it_the_file_starts_again() {
    let mut net = net(
        "exten => 1002,1,MixMonitor(/tmp/sipbox-mm/app.wav,a)\n same => n,Dial(SIP/1002,10)\n\
         exten => 2002,1,MixMonitor(/tmp/sipbox-mm/app.wav)\n same => n,Dial(SIP/1002,10)\n",
    );
    let path = "/tmp/sipbox-mm/app.wav";
    let mut disk = Disk::default();
    bridged_call(&mut net, "1002", 25);
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let first = disk.samples(path).len();
    bridged_call(&mut net, "1002", 25);
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let both = disk.samples(path).len();
    assert!(
        first >= 4000 && both >= 2 * first - 160,
        "{first} then {both}"
    );
    bridged_call(&mut net, "2002", 25);
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let again = disk.samples(path).len();
    assert!(again <= first + 160, "truncated: {again} of {both}");
}

#[test]
fn b_records_only_the_bridged_part() {
    let mut net = net(
        "exten => 1002,1,Answer()\n same => n,MixMonitor(all.wav)\n \
         same => n,MixMonitor(bridged.wav,b)\n same => n,Wait(1)\n \
         same => n,Dial(SIP/1002,10)\n",
    );
    bridged_call(&mut net, "1002", 50);
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let all = disk.samples(&format!("{MONITOR}/all.wav")).len() / 8;
    let bridged = disk.samples(&format!("{MONITOR}/bridged.wav")).len() / 8;
    // The Wait(1) before the Dial is in one file only.
    assert!(
        all >= bridged + 980 && all <= bridged + 1100,
        "{all} ms in all, {bridged} ms bridged"
    );
    assert!(bridged >= 980, "{bridged}");
}

#[test]
fn stop_by_id_the_rest_at_hangup_silence_counts() {
    let mut net = net("exten => 600,1,Answer()\n \
         same => n,MixMonitor(one.wav,i(ONE),touch ^{MIXMONITOR_FILENAME}.done)\n \
         same => n,MixMonitor(two.wav,i(TWO))\n same => n,Wait(1)\n \
         same => n,StopMixMonitor(${ONE})\n same => n,StopMixMonitor(nosuchid)\n \
         same => n,Wait(1)\n same => n,Hangup()\n");
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (_d, r) = a.call(&mut net, "600", &sdp(a.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 200);
    net.advance(Duration::from_secs(3));
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    // Nothing was sent either way: the files are silence as long as they ran.
    let one = disk.samples(&format!("{MONITOR}/one.wav"));
    let two = disk.samples(&format!("{MONITOR}/two.wav"));
    assert!((980..=1020).contains(&(one.len() / 8)), "{}", one.len());
    assert!((1980..=2020).contains(&(two.len() / 8)), "{}", two.len());
    assert!(one.iter().chain(&two).all(|&s| s == 0));
    assert_eq!(
        disk.commands,
        vec![format!("touch {MONITOR}/one.wav.done")],
        "once, for the one with a command"
    );
}

#[test]
fn gsm_is_refused_and_nothing_is_written() {
    let mut net = net("exten => 600,1,Answer()\n same => n,MixMonitor(x.gsm)\n \
         same => n,Set(F=${MIXMONITOR_FILENAME})\n same => n,Wait(1)\n same => n,Hangup()\n");
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (_d, r) = a.call(&mut net, "600", &sdp(a.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 200);
    net.advance(Duration::from_secs(2));
    assert!(net.monitor_ops.is_empty(), "{:?}", net.monitor_ops);
    assert!(net.logged("GSM"), "{:?}", net.log());
}

#[test]
fn v_and_w_scale_what_the_phone_sends_on_a_call_sipbox_answered() {
    let mut net = net(
        "exten => 601,1,Answer()\n same => n,MixMonitor(plain.wav,r(loud.wav))\n \
         same => n,MixMonitor(quiet.wav,r(soft.wav)W(-1)v(1))\n \
         same => n,MixMonitor(,r(double.wav)v(1))\n same => n,Wait(1)\n \
         same => n,Hangup()\n",
    );
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (d, r) = a.call(&mut net, "601", &sdp(a.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 200);
    for n in 0..25 {
        let p = rtp_packet(0, n as u16, (n * 160) as u32, 0xA, &tone_frame(400.0, n));
        a.send_rtp(&mut net, d.remote_media(), &p);
        net.advance(Duration::from_millis(20));
    }
    net.advance(Duration::from_secs(1));
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let peak = |p: &str| {
        disk.samples(&format!("{MONITOR}/{p}"))
            .iter()
            .map(|s| i32::from(*s).abs())
            .max()
            .unwrap_or(0)
    };
    let plain = peak("loud.wav");
    assert!(plain > 7000, "the caller's tone recorded: {plain}");
    // v(1): ×2; W(-1) wins over v(1) whatever their order, as in mixmonitor_exec: ÷2.
    assert_eq!(peak("double.wav"), (2 * plain).min(32767));
    assert_eq!(peak("soft.wav"), plain / 2);
    assert!(has_tone(
        &disk.samples(&format!("{MONITOR}/plain.wav")),
        400.0
    ));
}

/// Sends a REFER to 1003 inside `d` (the transferer's dialog).
fn refer_to_1003(ua: &Ua, net: &mut FakeNet, d: &mut Dialog) {
    d.cseq += 1;
    let text = format!(
        "REFER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-mm-refer;rport\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} REFER\r\n\
         Contact: <sip:{u}@{me}>\r\nRefer-To: <sip:1003@{host}>\r\nContent-Length: 0\r\n\r\n",
        uri = d.uri,
        me = ua.sip,
        from = d.local,
        to = d.remote,
        cid = d.call_id,
        c = d.cseq,
        u = ua.user,
        host = net.sipbox,
    );
    ua.send(net, &text);
}

#[test]
fn a_blind_transfer_of_the_other_party_keeps_recording_the_channel() {
    let mut net = net(
        "exten => 1002,1,MixMonitor(xfer.wav,t(heard.wav))\n same => n,Dial(SIP/1002,10)\n\
         exten => _100X,1,Dial(SIP/${EXTEN},10)\n",
    );
    let mut b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let c = Ua::new(&mut net, "1003", "1003pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut da = a.call_start(&mut net, "1002", &sdp(a.rtp, &[0], "sendrecv"));
    let inv = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv, 200, Some(&sdp(b.rtp, &[0], "sendrecv")));
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 200);
    a.ack(&mut net, &da, None);
    b.request(&mut net, Method::Ack);
    let mut db = b.callee_dialog(&net, &inv);
    let to_b = sdp_addr(&String::from_utf8_lossy(inv.body()));
    for n in 0..25 {
        let q = rtp_packet(0, n as u16, (n * 160) as u32, 0xB, &tone_frame(1000.0, n));
        b.send_rtp(&mut net, to_b, &q);
        net.advance(Duration::from_millis(20));
    }
    // 1002 sends 1001 to 1003 and leaves.
    refer_to_1003(&b, &mut net, &mut db);
    assert_eq!(b.final_response(&mut net).status(), 202);
    let n = b.request(&mut net, Method::Notify);
    b.respond(&mut net, &n, 200, None);
    let inv_c = c.request(&mut net, Method::Invite);
    c.respond(&mut net, &inv_c, 200, Some(&sdp(c.rtp, &[0], "sendrecv")));
    c.request(&mut net, Method::Ack);
    let n = b.request(&mut net, Method::Notify);
    b.respond(&mut net, &n, 200, None);
    b.hang_up(&mut net, &mut db);
    let to_c = sdp_addr(&String::from_utf8_lossy(inv_c.body()));
    for n in 0..25 {
        let q = rtp_packet(0, n as u16, (n * 160) as u32, 0xC, &tone_frame(1600.0, n));
        c.send_rtp(&mut net, to_c, &q);
        net.advance(Duration::from_millis(20));
    }
    assert!(
        !net.monitor_ops
            .iter()
            .any(|op| matches!(op, FileOp::Close { .. })),
        "still recording after the transferer left"
    );
    a.hang_up(&mut net, &mut da);
    c.answer_bye(&mut net);
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let heard = disk.samples(&format!("{MONITOR}/heard.wav"));
    let half = heard.len() / 2;
    assert!(has_tone(&heard[..half], 1000.0) && !has_tone(&heard[..half], 1600.0));
    assert!(has_tone(&heard[half..], 1600.0) && !has_tone(&heard[half..], 1000.0));
    assert!(heard.len() >= 50 * 160, "{} samples", heard.len());
    net.assert_idle();
}

#[test]
fn a_picked_up_call_goes_on_recording_and_the_pickers_own_recording_ends_at_the_move() {
    let mut net = net(
        "exten => 1002,1,MixMonitor(ringing.wav,t(heard.wav))\n same => n,Dial(SIP/1002,20)\n\
         exten => 80,1,MixMonitor(picker.wav)\n same => n,Pickup(1002@internal)\n \
         same => n,Hangup(17)\n",
    );
    let b = Ua::new(&mut net, "1002", "1002pass").registered(&mut net);
    let mut c = Ua::new(&mut net, "1003", "1003pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut da = a.call_start(&mut net, "1002", &sdp(a.rtp, &[0], "sendrecv"));
    let inv_b = b.request(&mut net, Method::Invite);
    b.respond(&mut net, &inv_b, 180, None);
    a.response_with(&mut net, 180);
    net.advance(Duration::from_millis(500));
    let (dc, r) = c.call(&mut net, "80", &sdp(c.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 200, "{r:?}");
    let cancel = b.request(&mut net, Method::Cancel);
    b.respond(&mut net, &cancel, 200, None);
    b.respond(&mut net, &inv_b, 487, None);
    b.request(&mut net, Method::Ack);
    c.ack(&mut net, &dc, None);
    assert_eq!(a.invite_outcome(&mut net, &mut da).status(), 200);
    a.ack(&mut net, &da, None);
    let closed: Vec<String> = net
        .monitor_ops
        .iter()
        .filter_map(|op| match op {
            FileOp::Close { path, .. } => Some(path.display().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        closed,
        vec![format!("{MONITOR}/picker.wav")],
        "the picker's leg left its call"
    );
    for n in 0..25 {
        let q = rtp_packet(0, n as u16, (n * 160) as u32, 0xC, &tone_frame(1600.0, n));
        c.send_rtp(&mut net, dc.remote_media(), &q);
        net.advance(Duration::from_millis(20));
    }
    a.hang_up(&mut net, &mut da);
    c.answer_bye(&mut net);
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let heard = disk.samples(&format!("{MONITOR}/heard.wav"));
    assert!(
        heard.len() >= 8 * 1000,
        "ringing and talking: {}",
        heard.len()
    );
    assert!(
        has_tone(&heard, 1600.0),
        "the picker is heard in the caller's recording"
    );
    net.assert_idle();
}

#[test]
fn monitor_writes_in_and_out_files_stop_monitor_stops() {
    let mut net = net(
        "exten => 1002,1,Monitor(wav,calls/c1)\n same => n,Dial(SIP/1002,10)\n\
         exten => 600,1,Answer()\n same => n,StopMonitor()\n same => n,Monitor(,stopped)\n \
         same => n,Monitor(wav,second)\n same => n,Wait(1)\n same => n,StopMonitor()\n \
         same => n,StopMonitor()\n same => n,Wait(1)\n same => n,Hangup()\n",
    );
    bridged_call(&mut net, "1002", 50);
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let rx = disk.samples(&format!("{MONITOR}/calls/c1-in.wav"));
    let tx = disk.samples(&format!("{MONITOR}/calls/c1-out.wav"));
    assert_eq!(
        disk.files.len(),
        2,
        "no mixed file: {:?}",
        disk.files.keys()
    );
    assert_eq!(rx.len(), tx.len());
    let tail = |s: &[i16]| s[s.len() - 7200..].to_vec();
    assert!(
        has_tone(&tail(&rx), 400.0) && !has_tone(&tail(&rx), 1000.0),
        "-in: the caller"
    );
    assert!(
        has_tone(&tail(&tx), 1000.0) && !has_tone(&tail(&tx), 400.0),
        "-out: the callee"
    );
    // StopMonitor before a Monitor does nothing; a second Monitor keeps the first; StopMonitor
    // ends it after the Wait(1), a second StopMonitor does nothing.
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let (_d, r) = a.call(&mut net, "600", &sdp(a.rtp, &[0], "sendrecv"));
    assert_eq!(r.status(), 200);
    net.advance(Duration::from_secs(3));
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    for leg in ["in", "out"] {
        let s = disk.samples(&format!("{MONITOR}/stopped-{leg}.wav"));
        assert!((980..=1020).contains(&(s.len() / 8)), "{leg}: {}", s.len());
    }
    assert_eq!(disk.files.len(), 2, "{:?}", disk.files.keys());
    assert!(net.logged("already monitored"), "{:?}", net.log());
}

#[test]
fn monitor_m_mixes_into_one_file_named_after_the_channel_by_default() {
    let mut net = net(
        "exten => 1002,1,Answer()\n same => n,Monitor(wav,,mb)\n same => n,Wait(1)\n \
         same => n,Dial(SIP/1002,10)\n\
         exten => 2002,1,Set(MONITOR_EXEC=/usr/bin/sox -m)\n \
         same => n,Set(MONITOR_EXEC_ARGS=--norm)\n same => n,Monitor(wav,/tmp/sipbox-mon/x,m)\n \
         same => n,Dial(SIP/1002,10)\n",
    );
    bridged_call(&mut net, "1002", 50);
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    let names: Vec<String> = disk.files.keys().map(|p| p.display().to_string()).collect();
    assert_eq!(names.len(), 1, "the mix only: {names:?}");
    let name = names[0]
        .strip_prefix(&format!("{MONITOR}/"))
        .expect("under monitor/");
    let (epoch, chan) = name.split_once('-').expect("<epoch>-<channel>");
    assert!(
        epoch.parse::<u64>().is_ok_and(|e| e > 1_600_000_000),
        "{name}"
    );
    assert!(
        chan.starts_with("SIP-1001-") && chan.ends_with(".wav"),
        "{name}"
    );
    let mixed = disk.samples(&names[0]);
    assert!(has_tone(&mixed, 400.0) && has_tone(&mixed, 1000.0));
    // `b`: the Wait(1) before the Dial is left out.
    let ms = mixed.len() / 8;
    assert!((980..=1040).contains(&ms), "{ms} ms");
    // MONITOR_EXEC: the legs stay and it runs with both and the mix's name.
    bridged_call(&mut net, "2002", 10);
    let mut disk = Disk::default();
    disk.apply(std::mem::take(&mut net.monitor_ops));
    disk.samples("/tmp/sipbox-mon/x-in.wav");
    disk.samples("/tmp/sipbox-mon/x-out.wav");
    assert_eq!(disk.files.len(), 2);
    assert_eq!(
        disk.commands,
        vec![
            "/usr/bin/sox -m \"/tmp/sipbox-mon/x-in.wav\" \"/tmp/sipbox-mon/x-out.wav\" \
             \"/tmp/sipbox-mon/x.wav\" --norm"
                .to_string()
        ]
    );
}
