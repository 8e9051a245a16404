//! The media building blocks composed as the engine will use them, with a fake clock and
//! in-memory datagrams: a relayed call with transcoding and DTMF PT mapping, comedia learning,
//! STUN dropped, hold, and a paced Playback of a generated WAV file.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sipbox::media::g711::{linear_to_alaw, transcode_in_place, Law, ULAW_TO_ALAW};
use sipbox::media::learning::{Accept, Learner, LearningConfig};
use sipbox::media::player::{Pacer, RtpSender};
use sipbox::media::rtp::{classify, Class, Port, RtpPacket};
use sipbox::media::sdp::{answer, filter_offer, CodecName, Direction, LocalSession, Sdp};
use sipbox::media::wav;

const CALLER_OFFER: &str = "v=0\r\no=- 3 3 IN IP4 192.168.1.23\r\ns=-\r\n\
    c=IN IP4 192.168.1.23\r\nt=0 0\r\nm=audio 10138 RTP/AVP 0 8 101\r\n\
    a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
    a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";

const CALLEE_ANSWER: &str = "v=0\r\no=- 9 9 IN IP4 10.0.0.7\r\ns=-\r\n\
    c=IN IP4 10.0.0.7\r\nt=0 0\r\nm=audio 7078 RTP/AVP 8 96\r\n\
    a=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n";

const STUN: [u8; 20] = [
    0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn relayed_call_with_transcoding_dtmf_mapping_and_comedia() {
    let us: IpAddr = "203.0.113.1".parse().unwrap();
    let t0 = Instant::now();
    // Caller offers µ-law first; the callee's entry allows A-law only.
    let offer = Sdp::parse(CALLER_OFFER.as_bytes()).unwrap();
    let to_callee = filter_offer(&offer, &[CodecName::Pcma]).unwrap();
    let mut leg_b = LocalSession::new(2, 2);
    let sent_b = to_callee.rewrite(&mut leg_b, us, 12002);
    assert!(sent_b
        .to_string()
        .contains("m=audio 12002 RTP/AVP 8 101\r\n"));
    // The callee answers with PCMA and its own DTMF PT; the caller gets it rewritten.
    let ans = Sdp::parse(CALLEE_ANSWER.as_bytes()).unwrap();
    let mut leg_a = LocalSession::new(1, 1);
    let sent_a = ans.rewrite(&mut leg_a, us, 12000);
    assert_eq!(sent_a.remote_rtp(), Some(addr("203.0.113.1:12000")));
    let (law_a, law_b) = (Law::Ulaw, Law::Alaw); // the caller sends its first choice, PCMU
    assert_eq!(ans.chosen_codec().unwrap().name.law(), Some(law_b));
    let (dtmf_a, dtmf_b) = (offer.telephone_event_pt(), ans.telephone_event_pt());
    assert_eq!((dtmf_a, dtmf_b), (Some(101), Some(96)));

    // Leg A is behind NAT (comedia); leg B is strict on its SDP address.
    let mut learn_a = Learner::new(LearningConfig {
        comedia: true,
        ..LearningConfig::default()
    });
    learn_a.set_expected(t0, offer.remote_rtp());
    let mut learn_b = Learner::new(LearningConfig::default());
    learn_b.set_expected(t0, ans.remote_rtp());
    let nat = addr("198.51.100.9:40000");

    let mut caller = RtpSender::new(0xCA11, 100, 0, law_a.payload_type());
    let mut delivered = Vec::new();
    let mut buf = [0u8; 1500];
    for i in 0..10u16 {
        let now = t0 + Duration::from_millis(20 * u64::from(i));
        // A STUN binding request from the phone's media port is dropped, never forwarded.
        assert_eq!(classify(&STUN, Port::Rtp), Class::Stun);
        if i == 5 {
            caller.set_payload_type(101);
        }
        let n = caller.next_packet(&[0x80; 160], &mut buf);
        caller.set_payload_type(0);
        // The relay path on leg A's socket.
        assert_eq!(classify(&buf[..n], Port::Rtp), Class::Rtp);
        let mut p = RtpPacket::new_checked(&mut buf[..n]).unwrap();
        assert_eq!(learn_a.on_packet(now, nat, p.sequence()), Accept(true));
        if Some(p.payload_type()) == dtmf_a {
            p.set_payload_type(dtmf_b.unwrap());
        } else {
            p.set_payload_type(law_b.payload_type());
            transcode_in_place(p.payload_mut(), law_a, law_b);
        }
        delivered.push((learn_b.remote().unwrap(), buf[..n].to_vec()));
    }
    assert_eq!(learn_a.remote(), Some(nat));
    assert_eq!(delivered.len(), 10);
    for (i, (to, pkt)) in delivered.iter().enumerate() {
        assert_eq!(*to, addr("10.0.0.7:7078"));
        let p = RtpPacket::new_checked(&pkt[..]).unwrap();
        if i == 5 {
            assert_eq!((p.payload_type(), p.payload()[0]), (96, 0x80));
        } else {
            assert_eq!(p.payload_type(), 8);
            assert_eq!(p.payload()[0], ULAW_TO_ALAW[0x80]);
        }
    }
    // A stranger sending to leg B's socket is dropped (strictrtp, outside the window).
    let late = t0 + Duration::from_secs(30);
    assert_eq!(
        learn_b.on_packet(late, addr("10.0.0.7:7078"), 1),
        Accept(true)
    );
    assert_eq!(learn_b.on_packet(late, nat, 2), Accept(false));

    // Hold from the caller: re-INVITE with sendonly; leg B sees sendonly, version bumped.
    let mut hold = offer.clone();
    hold.set_direction(Direction::SendOnly);
    let held = filter_offer(&hold, &[CodecName::Pcma])
        .unwrap()
        .rewrite(&mut leg_b, us, 12002);
    assert_eq!(held.direction(), Direction::SendOnly);
    assert_eq!(
        held.origin.session_version,
        sent_b.origin.session_version + 1
    );
}

#[test]
fn playback_of_generated_wav_is_paced_at_50_pps() {
    // One second of a 1 kHz tone, 8 kHz mono PCM16.
    let samples: Vec<i16> = (0..8000)
        .map(|i| ((f64::from(i) * std::f64::consts::PI / 4.0).sin() * 8000.0) as i16)
        .collect();
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut file =
        b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data"
            .to_vec();
    file.extend_from_slice(&(data.len() as u32).to_le_bytes());
    file.extend_from_slice(&data);

    let offer = Sdp::parse(CALLER_OFFER.as_bytes()).unwrap();
    let us: IpAddr = "203.0.113.1".parse().unwrap();
    let mut session = LocalSession::new(5, 5);
    let allowed = [CodecName::Pcma, CodecName::Pcmu];
    let ans = answer(&offer, &allowed, &mut session, us, 12000).unwrap();
    let law = ans.chosen_codec().unwrap().name.law().unwrap();
    assert_eq!(law, Law::Alaw);
    let frames = wav::read_frames(&file, law).unwrap();
    assert_eq!(frames.len(), 50);
    assert_eq!(frames[0][2], linear_to_alaw(samples[2]));

    let t0 = Instant::now();
    let mut pacer = Pacer::new(t0);
    let mut sender = RtpSender::new(7, 1000, 5000, law.payload_type());
    let mut buf = [0u8; 200];
    let mut sent = Vec::new();
    let mut now = t0;
    let mut next = frames.iter();
    'play: loop {
        for _ in 0..pacer.frames_due(now) {
            let Some(frame) = next.next() else {
                break 'play;
            };
            let n = sender.next_packet(frame, &mut buf);
            sent.push((now, buf[..n].to_vec()));
            pacer.on_sent();
        }
        now = pacer.next_deadline();
    }
    assert_eq!(sent.len(), 50);
    assert_eq!(sent.last().unwrap().0 - t0, Duration::from_millis(980));
    for (i, (_, pkt)) in sent.iter().enumerate() {
        let p = RtpPacket::new_checked(&pkt[..]).unwrap();
        assert_eq!(p.sequence(), 1000 + i as u16);
        assert_eq!(p.timestamp(), 5000 + 160 * i as u32);
        assert_eq!(p.marker(), i == 0);
        assert_eq!(p.payload(), &frames[i][..]);
    }
}
