//! Seeded random inputs through every parser of `media`: nothing may panic, and whatever
//! parses must print and re-parse to the same value.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use rand::{Rng, SeedableRng};
use sipbox::media::g711::Law;
use sipbox::media::rtp::{classify, Port, RtpPacket};
use sipbox::media::sdp::{filter_offer, CodecName, LocalSession, Sdp};
use sipbox::media::wav;

const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 192.168.1.23\r\ns=-\r\nc=IN IP4 192.168.1.23\r\n\
    t=0 0\r\nm=audio 10138 RTP/AVP 96 0 8 101\r\na=rtpmap:96 opus/48000/2\r\n\
    a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendonly\r\n";

#[test]
fn random_datagrams() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EED);
    let mut buf = [0u8; 64];
    for _ in 0..200_000 {
        let n = rng.random_range(0..buf.len());
        rng.fill(&mut buf[..n]);
        if rng.random_bool(0.5) {
            buf[0] = (buf[0] & 0x3F) | 0x80; // version 2 half the time
        }
        let _ = classify(&buf[..n], Port::Rtp);
        let _ = classify(&buf[..n], Port::Rtcp);
        if let Ok(mut p) = RtpPacket::new_checked(&mut buf[..n]) {
            assert!(p.header_len() <= n);
            let _ = p.payload_mut().len();
            p.set_payload_type(101);
        }
    }
}

#[test]
fn mutated_sdp() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC0DEC);
    let ip = "203.0.113.1".parse().unwrap();
    let mut leg = LocalSession::new(1, 1);
    let alphabet = b" =:/\r\n0123456789abcmostvIPN.-";
    let mut ok = 0;
    for _ in 0..20_000 {
        let mut body = OFFER.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..body.len());
            match rng.random_range(0..3) {
                0 => body[at] = alphabet[rng.random_range(0..alphabet.len())],
                1 => {
                    body.remove(at);
                }
                _ => body.insert(at, rng.random()),
            }
        }
        let Ok(sdp) = Sdp::parse(&body) else {
            continue;
        };
        ok += 1;
        let again = Sdp::parse(&sdp.to_bytes()).expect("printed SDP re-parses");
        assert_eq!(again, sdp);
        let _ = (sdp.remote_rtp(), sdp.remote_rtcp(), sdp.direction());
        if let Ok(f) = filter_offer(&sdp, &[CodecName::Pcma, CodecName::Pcmu]) {
            let out = f.rewrite(&mut leg, ip, 12000);
            assert!(Sdp::parse(&out.to_bytes()).is_ok());
        }
    }
    assert!(ok > 1000, "only {ok} mutants parsed");
}

#[test]
fn random_wav_bytes() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xAA);
    let header =
        b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data";
    for _ in 0..50_000 {
        let mut file = header.to_vec();
        let extra = rng.random_range(0..64);
        file.extend((0..extra).map(|_| rng.random::<u8>()));
        let at = rng.random_range(0..file.len());
        file[at] = rng.random();
        file.truncate(rng.random_range(0..=file.len()));
        let _ = wav::read_frames(&file, Law::Ulaw);
    }
}
