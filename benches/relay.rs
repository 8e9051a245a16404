//! Per-packet cost of the media relay path: classify + learn + (optional) PT rewrite and
//! µ→A-law transcode of a 20 ms G.711 packet, and the SDP work per call.
//!
//! Run: `cargo bench --bench relay` (prints ns per operation; no harness).
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipbox::media::g711::transcode_ulaw_to_alaw_in_place;
use sipbox::media::learning::{Learner, LearningConfig};
use sipbox::media::player::RtpSender;
use sipbox::media::rtp::{classify, Class, Port, RtpPacket};
use sipbox::media::sdp::{filter_offer, CodecName, LocalSession, Sdp};

const N: u32 = 2_000_000;

fn time(name: &str, iters: u32, mut f: impl FnMut(u32)) {
    // Warm up, then measure.
    for i in 0..iters / 10 {
        f(i);
    }
    let t0 = Instant::now();
    for i in 0..iters {
        f(i);
    }
    let ns = t0.elapsed().as_nanos() as f64 / f64::from(iters);
    println!("{name:<44} {ns:>9.1} ns/op");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it
    // (`test = false` does not keep a bench out of `--all-targets`): nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut sender = RtpSender::new(0x1234_5678, 1, 0, 0);
    let mut packet = [0u8; 172];
    let n = sender.next_packet(&[0x55; 160], &mut packet);
    assert_eq!(n, 172);
    let from: SocketAddr = "192.0.2.10:4000".parse().unwrap();
    let start = Instant::now();

    time("classify (RTP, 172 B)", N, |_| {
        black_box(classify(black_box(&packet), Port::Rtp));
    });

    let mut learner = Learner::new(LearningConfig::default());
    learner.set_expected(start, Some(from));
    time("learn (strict, locked source)", N, |i| {
        let now = start + Duration::from_micros(u64::from(i));
        black_box(learner.on_packet(now, black_box(from), i as u16).0);
    });

    let mut buf = packet;
    time("classify + learn + PT rewrite", N, |i| {
        let now = start + Duration::from_micros(u64::from(i));
        if classify(&buf, Port::Rtp) == Class::Rtp {
            let mut p = RtpPacket::new_checked(&mut buf[..]).unwrap();
            if learner.on_packet(now, from, p.sequence()).0 {
                p.set_payload_type(black_box(8));
            }
        }
        black_box(&buf);
    });

    time("classify + learn + transcode µ→A (160 B)", N, |i| {
        let now = start + Duration::from_micros(u64::from(i));
        if classify(&buf, Port::Rtp) == Class::Rtp {
            let mut p = RtpPacket::new_checked(&mut buf[..]).unwrap();
            if learner.on_packet(now, from, p.sequence()).0 {
                p.set_payload_type(8);
                transcode_ulaw_to_alaw_in_place(p.payload_mut());
            }
        }
        black_box(&buf);
    });

    let mut out = [0u8; 200];
    let frame = [0xFFu8; 160];
    time("player next_packet (160 B)", N, |_| {
        black_box(sender.next_packet(black_box(&frame), black_box(&mut out)));
        black_box(&out);
    });

    let body = "v=0\r\no=- 1262637151 2146380577 IN IP4 192.168.1.23\r\ns=-\r\n\
                c=IN IP4 192.168.1.23\r\nt=0 0\r\na=tool:baresip 3.10.1\r\n\
                m=audio 10138 RTP/AVP 96 9 0 8 101\r\nb=AS:113\r\n\
                a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n\
                a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
                a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp-rsize\r\n\
                a=rtcp:10139 IN IP4 192.168.1.23\r\na=sendrecv\r\na=ptime:20\r\n";
    let ip = "203.0.113.1".parse().unwrap();
    let mut leg = LocalSession::new(1, 1);
    time("SDP parse + filter + rewrite + print", 100_000, |_| {
        let sdp = Sdp::parse(black_box(body.as_bytes())).unwrap();
        let f = filter_offer(&sdp, &[CodecName::Pcma, CodecName::Pcmu]).unwrap();
        black_box(f.rewrite(&mut leg, ip, 12000).to_bytes());
    });
}
