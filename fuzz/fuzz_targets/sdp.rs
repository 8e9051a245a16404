//! Fuzz SDP differentially: the zero-copy scan must accept and refuse exactly what the model's
//! parser does (with the same error), and where the lean writers run they must print the same
//! bytes as the model path (rewrite for the other leg, the callee's offer, sipbox's answer).
//! Run with `cargo fuzz run sdp` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipbox::media::negotiate;
use sipbox::media::sdp::{answer, emit, CodecName, LocalSession, Sdp, View};
use std::net::{IpAddr, Ipv4Addr};

const US: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1));

fuzz_target!(|data: &[u8]| {
    let (model, view) = (Sdp::parse(data), View::scan(data));
    let (m, v) = match (model, view) {
        (Err(a), Err(b)) => return assert_eq!(a, b),
        (Ok(m), Ok(v)) => (m, v),
        (a, b) => panic!("parse {:?} scan {:?}", a.err(), b.err()),
    };
    assert_eq!(m.remote_rtp(), v.remote_rtp());
    assert_eq!(m.remote_rtcp(), v.remote_rtcp());
    assert_eq!(m.is_hold(), v.is_hold());
    if v.lean() {
        let (mut a, mut b) = (LocalSession::new(1, 1), LocalSession::new(1, 1));
        assert_eq!(
            m.rewrite(&mut a, US, 4000).to_bytes(),
            emit::rewrite(&v, None, &mut b, US, 4000)
        );
        let (ca, cb) = ([CodecName::Pcmu], [CodecName::Pcma, CodecName::G722]);
        let model = negotiate::offer_for_callee(&m, &ca, &cb)
            .ok()
            .map(|f| f.rewrite(&mut a, US, 4000).to_bytes());
        let lean = negotiate::callee_filter(&v, &ca, &cb)
            .ok()
            .map(|(f, _)| emit::rewrite(&v, Some(&f), &mut b, US, 4000));
        assert_eq!(model, lean);
    }
    if v.fits() {
        let (mut a, mut b) = (LocalSession::new(1, 1), LocalSession::new(1, 1));
        let allow = [CodecName::Pcma, CodecName::Pcmu];
        let model = answer(&m, &allow, &mut a, US, 4000).ok().map(|s| s.to_bytes());
        let lean = negotiate::answer_lean(&v, &allow, &mut b, US, 4000)
            .ok()
            .map(|w| w.body);
        assert_eq!(model, lean);
    }
});
