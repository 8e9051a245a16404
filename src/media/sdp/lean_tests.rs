//! The lean path against the model path: the scan accepts and refuses exactly what `parse`
//! does, reads the same facts, and the lean writers print the same bytes as the model's
//! rewrite/answer + `Display` — on real phones' bodies and on every mutation of them. Plus
//! byte-exact expected outputs for real phones.

use std::net::{IpAddr, Ipv4Addr};

use super::emit;
use super::fixtures::*;
use super::{answer, CodecName, LocalSession, Sdp, View};
use crate::media::negotiate::{self, Written};
use CodecName::*;

const US: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1));

fn allow_lists() -> Vec<Vec<CodecName>> {
    let opus = Other("opus".into());
    vec![
        vec![Pcmu],
        vec![Pcma],
        vec![Pcmu, Pcma],
        vec![Pcma, Pcmu, G722],
        vec![G722, Pcma],
        vec![opus.clone(), Pcmu],
        vec![Other("g729".into())],
        vec![Other("gsm".into()), Pcma],
        vec![Other("pt3".into())],
        vec![TelephoneEvent, Pcmu],
        vec![],
    ]
}

/// Mutations of a body: every truncation and single-byte replacement by bytes that matter.
fn mutations(body: &str) -> Vec<Vec<u8>> {
    let b = body.as_bytes();
    let mut out = vec![b.to_vec()];
    for n in 0..b.len() {
        out.push(b[..n].to_vec());
        // A few bytes that change the grammar; `fuzz/fuzz_targets/sdp.rs` goes further.
        for x in [b'=', b' ', b'\n', b'0'] {
            let mut m = b.to_vec();
            m[n] = x;
            out.push(m);
        }
    }
    out
}

/// Scan and parse agree on acceptance and on the error; on success the facts agree.
fn check_facts(body: &[u8]) {
    let model = Sdp::parse(body);
    let view = View::scan(body);
    match (&model, &view) {
        (Err(a), Err(b)) => assert_eq!(a, b, "{:?}", String::from_utf8_lossy(body)),
        (Ok(m), Ok(v)) => {
            let text = String::from_utf8_lossy(body);
            assert_eq!(m.remote_rtp(), v.remote_rtp(), "{text}");
            assert_eq!(m.remote_rtcp(), v.remote_rtcp(), "{text}");
            assert_eq!(m.is_hold(), v.is_hold(), "{text}");
            assert_eq!(m.direction(), v.direction(), "{text}");
            let facts = (m.remote_rtp(), m.remote_rtcp(), m.is_hold());
            assert_eq!(v.media_facts(), facts, "{text}");
            if v.fits() {
                let lean = v.codecs();
                let mc = m.codecs();
                assert_eq!(lean.items().len(), mc.len(), "{text}");
                for (l, c) in lean.items().iter().zip(&mc) {
                    assert_eq!(
                        (l.pt, l.name(), l.clock, l.channels, l.fmtp),
                        (
                            c.pt,
                            c.name.clone(),
                            c.clock_rate,
                            c.channels,
                            c.fmtp.as_deref()
                        ),
                        "{text}"
                    );
                    assert!(l.is(&c.name));
                }
                assert_eq!(m.telephone_event_pt(), lean.telephone_event_pt(), "{text}");
                assert_eq!(
                    m.chosen_codec().map(|c| c.name),
                    lean.chosen().map(|c| c.name()),
                    "{text}"
                );
            }
        }
        _ => panic!(
            "scan {:?} vs parse {:?} on {:?}",
            view.err(),
            model.err(),
            String::from_utf8_lossy(body)
        ),
    }
}

/// The in-dialog rewrite, both ways, twice (the second time the version must not move).
fn check_rewrite(body: &[u8]) {
    let (Ok(m), Ok(v)) = (Sdp::parse(body), View::scan(body)) else {
        return;
    };
    if !v.lean() {
        return;
    }
    let (mut a, mut b) = (LocalSession::new(9, 4), LocalSession::new(9, 4));
    for port in [12000, 12000, 12002] {
        let model = m.rewrite(&mut a, US, port).to_bytes();
        let lean = emit::rewrite(&v, None, &mut b, US, port);
        assert_eq!(
            String::from_utf8_lossy(&lean),
            String::from_utf8_lossy(&model),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(a, b);
    }
}

/// The offer to a callee, both ways.
fn fork_model(body: &[u8], ca: &[CodecName], cb: &[CodecName]) -> Option<(Vec<u8>, Option<u8>)> {
    let m = Sdp::parse(body).ok()?;
    let f = negotiate::offer_for_callee(&m, ca, cb).ok()?;
    let out = f.rewrite(&mut LocalSession::new(7, 1), US, 16000);
    Some((out.to_bytes(), out.telephone_event_pt()))
}

fn fork_lean(body: &[u8], ca: &[CodecName], cb: &[CodecName]) -> Option<(Vec<u8>, Option<u8>)> {
    let v = View::scan(body).ok()?;
    let (f, te) = negotiate::callee_filter(&v, ca, cb).ok()?;
    let out = emit::rewrite(&v, Some(&f), &mut LocalSession::new(7, 1), US, 16000);
    Some((out, te))
}

fn check_fork(body: &[u8], lists: &[Vec<CodecName>]) {
    if !View::scan(body).is_ok_and(|v| v.lean()) {
        return;
    }
    for ca in lists {
        for cb in lists {
            let (model, lean) = (fork_model(body, ca, cb), fork_lean(body, ca, cb));
            assert_eq!(
                lean.as_ref()
                    .map(|(b, te)| (String::from_utf8_lossy(b).into_owned(), *te)),
                model
                    .as_ref()
                    .map(|(b, te)| (String::from_utf8_lossy(b).into_owned(), *te)),
                "{ca:?} {cb:?} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

/// sipbox's own answer, both ways.
fn check_answer(body: &[u8], lists: &[Vec<CodecName>]) {
    let (Ok(m), Ok(v)) = (Sdp::parse(body), View::scan(body)) else {
        return;
    };
    if !v.fits() {
        return;
    }
    for allow in lists {
        let (mut a, mut b) = (LocalSession::new(3, 8), LocalSession::new(3, 8));
        let model = answer(&m, allow, &mut a, US, 18000).map(|s| Written {
            body: s.to_bytes(),
            codec: s.chosen_codec().map(|c| c.name),
            te_pt: s.telephone_event_pt(),
        });
        let lean = negotiate::answer_lean(&v, allow, &mut b, US, 18000);
        assert_eq!(lean, model, "{allow:?} {}", String::from_utf8_lossy(body));
        assert_eq!(a, b);
    }
}

/// The caller's answer from a callee's, both ways.
fn check_caller_answer(offer: &[u8], callee: &[u8]) {
    let (Ok(mo), Ok(vo)) = (Sdp::parse(offer), View::scan(offer)) else {
        return;
    };
    let (Ok(ma), Ok(va)) = (Sdp::parse(callee), View::scan(callee)) else {
        return;
    };
    if !vo.fits() || !va.fits() {
        return;
    }
    for te in [false, true] {
        let (mut a, mut b) = (LocalSession::new(5, 2), LocalSession::new(5, 2));
        let model =
            negotiate::answer_for_caller(&mo, &ma, &mut a, US, 20000, te).map(|s| Written {
                body: s.to_bytes(),
                codec: s.chosen_codec().map(|c| c.name),
                te_pt: s.telephone_event_pt(),
            });
        let lean = negotiate::answer_for_caller_lean(&vo, &va, &mut b, US, 20000, te);
        assert_eq!(
            lean,
            model,
            "{} / {}",
            String::from_utf8_lossy(offer),
            String::from_utf8_lossy(callee)
        );
        assert_eq!(a, b);
    }
}

#[test]
fn fixtures_agree_with_the_model() {
    let lists = allow_lists();
    for body in ALL {
        let b = body.as_bytes();
        check_facts(b);
        check_rewrite(b);
        check_fork(b, &lists);
        check_answer(b, &lists);
        for callee in ALL {
            check_caller_answer(b, callee.as_bytes());
        }
    }
    // LF-only input and the out-of-order body take the paths they should.
    assert!(View::scan(LINPHONE.as_bytes()).unwrap().lean());
    assert!(!View::scan(OUT_OF_ORDER.as_bytes()).unwrap().lean());
}

#[test]
fn mutated_fixtures_agree_with_the_model() {
    // Kept small: this runs on some 20 000 bodies, in debug builds too.
    let lists = vec![vec![Pcma, G722], vec![Other("opus".into())]];
    for body in ALL {
        for m in mutations(body) {
            check_facts(&m);
            check_rewrite(&m);
            check_fork(&m, &lists[..1]);
            check_answer(&m, &lists);
            check_caller_answer(&m, YEALINK.as_bytes());
            check_caller_answer(BARESIP.as_bytes(), &m);
        }
    }
}

#[test]
fn malformed_bodies_get_the_same_errors() {
    let base = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
    let mut cases: Vec<Vec<u8>> = [
        &b""[..],
        b"v=1\r\n",
        b"\xff\xfe",
        b"v=0\r\ns=-\r\nt=0 0\r\n",
        b"v=0\r\no=- x 1 IN IP4 1.2.3.4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4 extra\r\ns=-\r\nt=0 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nt=0 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=now\r\n",
        b"v=0\r\nhello\r\n",
        b"v=0\r\na=x\rc=IN IP4 6.6.6.6\r\n",
        b"v=0\r\na=x\0\r\n",
        b"v=0\r\nc=IN IP5 1.2.3.4\r\n",
        b"v=0\r\nc=ATM NSAP 1\r\n",
        b"\r\n\r\n  \r\nv=0\r\n",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    for m in [
        "m=audio\r\n",
        "m=audio 70000 RTP/AVP 0\r\n",
        "m=audio 4000 RTP/AVP\r\n",
        "m=audio 4000/x RTP/AVP 0\r\n",
        "m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n",
        "m=audio 4000 RTP/AVP 0\r\nm=video 5000 RTP/AVP 96\r\n",
    ] {
        cases.push(format!("{base}{m}").into_bytes());
    }
    let no_c = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n\
                m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 0\r\n";
    cases.push(no_c.as_bytes().to_vec());
    for body in &cases {
        check_facts(body);
    }
    let e = View::scan(no_c.as_bytes()).unwrap_err();
    assert_eq!(
        (e.line, e.kind),
        (6, super::SdpErrorKind::MissingConnection)
    );
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap()
}

#[test]
fn callee_offers_byte_exact() {
    // (offer, caller allow, callee allow, the INVITE body the callee gets)
    let cases: &[(&str, &[CodecName], &[CodecName], &str)] = &[
        (
            YEALINK,
            &[Pcmu, Pcma, G722],
            &[Pcma],
            "v=0\r\no=sipbox 7 1 IN IP4 203.0.113.1\r\ns=SDP data\r\nc=IN IP4 203.0.113.1\r\n\
             t=0 0\r\nm=audio 16000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
             a=fmtp:101 0-15\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n\
             a=sendrecv\r\n",
        ),
        (
            // Transcoding: only µ-law offered, the callee allows only alaw.
            ZOIPER_VIDEO,
            &[Pcmu],
            &[Pcma],
            "v=0\r\no=sipbox 7 1 IN IP4 203.0.113.1\r\ns=Zoiper\r\nc=IN IP4 203.0.113.1\r\n\
             t=0 0\r\nm=audio 16000 RTP/SAVP 8 101\r\n\
             a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Q2xlYXJseSBub3QgYSByZWFsIGtleSBhdCBhbGwh\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n\
             a=rtpmap:8 PCMA/8000\r\nm=video 0 RTP/SAVP 34 97\r\nb=AS:512\r\n\
             a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Tm90IGEgcmVhbCBrZXkgZWl0aGVyLCBzb3JyeQ==\r\n\
             a=rtpmap:34 H263/90000\r\na=fmtp:34 CIF=1;QCIF=1;SQCIF=1\r\n\
             a=rtpmap:97 H264/90000\r\na=fmtp:97 profile-level-id=42801F\r\na=sendrecv\r\n",
        ),
        (
            // Session-level direction kept; the callee's order wins.
            POLYCOM,
            &[G722, Pcmu, Pcma],
            &[Pcma, G722],
            "v=0\r\no=sipbox 7 1 IN IP4 203.0.113.1\r\ns=Polycom IP Phone\r\n\
             c=IN IP4 203.0.113.1\r\nt=0 0\r\na=sendrecv\r\nm=audio 16000 RTP/AVP 8 9 127\r\n\
             a=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:127 telephone-event/8000\r\n",
        ),
        (
            // Media-level c= dropped, ICE and a=rtcp dropped at both levels, IPv6 offer.
            BARESIP_V6_ICE,
            &[Pcmu, Pcma],
            &[Pcmu],
            "v=0\r\no=sipbox 7 1 IN IP4 203.0.113.1\r\ns=-\r\nc=IN IP4 203.0.113.1\r\n\
             t=0 0\r\na=tool:baresip 3.10.1\r\nm=audio 16000 RTP/AVP 0 101\r\n\
             a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-15\r\na=sendrecv\r\na=ptime:20\r\n",
        ),
        (
            // LF in, CRLF out; video disabled; the 8000 Hz telephone-event only.
            LINPHONE,
            &[Pcmu, Pcma],
            &[Pcmu],
            "v=0\r\no=sipbox 7 1 IN IP4 203.0.113.1\r\ns=Talk\r\nc=IN IP4 203.0.113.1\r\n\
             t=0 0\r\na=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
             a=record:off\r\nm=audio 16000 RTP/AVP 0 100\r\n\
             a=rtpmap:100 telephone-event/8000\r\na=rtcp-fb:* trr-int 5000\r\n\
             a=rtcp-fb:* ccm tmmbr\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n\
             a=rtcp-fb:96 nack pli\r\n",
        ),
        (
            // Media-level c= only (ours goes to session level), i=/b=/extra t=/r= kept in
            // place, the port count dropped, the second audio stream disabled.
            TWO_AUDIO,
            &[Pcma, Pcmu],
            &[Pcmu, Pcma],
            "v=0\r\no=sipbox 7 1 IN IP4 203.0.113.1\r\ns=gateway\r\ni=trunk call\r\n\
             c=IN IP4 203.0.113.1\r\nb=CT:128\r\nt=0 0\r\nt=3034423619 3042462419\r\n\
             r=7d 1h 0 25h\r\nm=audio 16000 RTP/AVP 0 8\r\ni=first\r\nb=AS:64\r\n\
             a=rtpmap:8 PCMA/8000\r\na=recvonly\r\nm=audio 0 RTP/AVP 0\r\n\
             a=rtpmap:0 PCMU/8000\r\n",
        ),
        (
            // Old-style hold becomes a=sendonly, appended.
            HOLD_ZERO,
            &[Pcmu],
            &[Pcmu],
            "v=0\r\no=sipbox 7 1 IN IP4 203.0.113.1\r\ns=-\r\nc=IN IP4 203.0.113.1\r\n\
             t=0 0\r\nm=audio 16000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=sendonly\r\n",
        ),
    ];
    for (offer, ca, cb, want) in cases {
        let (lean, _) = fork_lean(offer.as_bytes(), ca, cb).expect("an offer");
        assert_eq!(text(lean), *want);
        let (model, _) = fork_model(offer.as_bytes(), ca, cb).expect("an offer");
        assert_eq!(text(model), *want);
    }
    // No common codec: 488 on both paths.
    assert!(fork_lean(GRANDSTREAM.as_bytes(), &[Pcmu], &[G722]).is_none());
    assert!(fork_model(GRANDSTREAM.as_bytes(), &[Pcmu], &[G722]).is_none());
}

#[test]
fn caller_answers_byte_exact() {
    let callee = "v=0\r\no=b 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                  m=audio 5000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
                  a=sendonly\r\n";
    let offer = View::scan(GRANDSTREAM.as_bytes()).unwrap();
    let answer = View::scan(callee.as_bytes()).unwrap();
    let mut leg = LocalSession::new(42, 1);
    let w = negotiate::answer_for_caller_lean(&offer, &answer, &mut leg, US, 20000, false)
        .expect("an answer");
    assert_eq!(
        text(w.body),
        "v=0\r\no=sipbox 42 1 IN IP4 203.0.113.1\r\ns=sipbox\r\nc=IN IP4 203.0.113.1\r\n\
         t=0 0\r\nm=audio 20000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n\
         a=sendonly\r\n"
    );
    assert_eq!((w.codec, w.te_pt), (Some(Pcma), Some(101)));
    // The same answer again (a 200 after a 183): same version; a changed one: +1.
    let again = negotiate::answer_for_caller_lean(&offer, &answer, &mut leg, US, 20000, false);
    assert!(again.is_some() && leg.version() == 1);
    let other = negotiate::answer_for_caller_lean(&offer, &answer, &mut leg, US, 20002, false);
    assert!(text(other.unwrap().body).starts_with("v=0\r\no=sipbox 42 2 IN IP4"));
    // Video rejected, opus's rtpmap as offered.
    let zoiper = View::scan(ZOIPER_VIDEO.as_bytes()).unwrap();
    let w = negotiate::answer_lean(&zoiper, &[Pcma, Pcmu], &mut leg, US, 20000).unwrap();
    assert!(text(w.body).ends_with(
        "m=audio 20000 RTP/SAVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n\
         m=video 0 RTP/SAVP 34 97\r\n"
    ));
    let opus = View::scan(BARESIP.as_bytes()).unwrap();
    let w = negotiate::answer_lean(&opus, &[Other("opus".into())], &mut leg, US, 1).unwrap();
    assert!(text(w.body).contains("m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n"));
}

#[test]
fn ipv6_addresses_are_written_as_display_does() {
    for ip in [
        "2001:db8::1",
        "::1",
        "::ffff:10.0.0.1",
        "fe80::1:2:3:4",
        "1:2:3:4:5:6:7:8",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        let mut out = Vec::new();
        emit::push_ip(&mut out, ip);
        assert_eq!(text(out), ip.to_string());
    }
    for ip in ["0.0.0.0", "255.255.255.255", "10.0.100.9"] {
        let ip: IpAddr = ip.parse().unwrap();
        let mut out = Vec::new();
        emit::push_ip(&mut out, ip);
        assert_eq!(text(out), ip.to_string());
    }
    for n in [0u64, 9, 10, 99, 100, 65535, u64::MAX] {
        let mut out = Vec::new();
        emit::push_num(&mut out, n);
        assert_eq!(text(out), n.to_string());
    }
    // Every octet value in every position, and numbers of every length and digit pair.
    for o in 0..=255u8 {
        for ip in [
            [o, 0, 0, 1],
            [10, o, 2, 3],
            [1, 99, o, 100],
            [255, 10, 9, o],
        ] {
            let ip = IpAddr::from(ip);
            let mut out = Vec::new();
            emit::push_ip(&mut out, ip);
            assert_eq!(text(out), ip.to_string());
        }
    }
    let mut p = 1u64;
    for _ in 0..20 {
        for n in [
            p - 1,
            p,
            p + 1,
            p.saturating_mul(7).saturating_add(13),
            p.saturating_mul(9).saturating_add(99),
        ] {
            let mut out = Vec::new();
            emit::push_num(&mut out, n);
            assert_eq!(text(out), n.to_string());
        }
        p = p.saturating_mul(10);
    }
    for n in 0..100_000u64 {
        assert_eq!(super::scan::Dec::of(n).as_str(), n.to_string());
    }
}
