//! sip.conf's `allowoverlap` and `language` on the fake network: a number that only begins
//! an extension is 484 Address Incomplete by default and 404 with `allowoverlap=no` (or for a
//! number nothing could complete), as chan_sip's `get_destination`; an entry's `language=`
//! (or `[general]`'s, or a `Set(CHANNEL(language)=...)`) makes Playback take the prompt from
//! the language's directory first, with Asterisk's dialect fallback (`pt_BR` → `pt`) and the
//! language-less file when the language has none.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::FakeNet;
use common::ua::*;
use sipbox::media::g711::{encode_into, Law};
use sipbox::media::sounds::MemorySounds;
use sipbox::sip::Method;
use std::time::Duration;

const SIP_CONF: &str = "\
[general]
bindaddr=127.0.0.1
bindport=0
context=default
allowguest=no
realm=sipbox

[phone](!)
type=friend
host=dynamic
context=internal

; French prompts, overlap answered 484 (the default)
[1001](phone)
secret=1001pass
language=fr

; [general]'s language (en), no overlap
[1002](phone)
secret=1002pass
allowoverlap=no

; a bad value is a warning at its line; the default stays
[1003](phone)
secret=1003pass
allowoverlap=sometimes
language=../../etc
";

const EXT: &str = "\
[general]
autofallthrough=yes

[internal]
exten => 604,1,Answer()
 same => n,Playback(tone)
 same => n,Hangup()
exten => 605,1,Answer()
 same => n,Set(CHANNEL(language)=pt_BR)
 same => n,Verbose(1,language now ${CHANNEL(language)})
 same => n,Playback(tone)
 same => n,Hangup()
exten => _2XXX,1,Answer()
 same => n,Hangup()
";

/// A 20 ms-framed sweep scaled by `gain`: each language's prompt has other bytes.
fn samples(gain: f64) -> Vec<i16> {
    (0..1600u32)
        .map(|i| (gain * 3000.0 * (f64::from(i) * 0.05).sin()) as i16)
        .collect()
}

fn frames(s: &[i16]) -> Vec<Vec<u8>> {
    s.chunks(160)
        .map(|c| {
            let mut f = vec![0u8; 160];
            encode_into(Law::Ulaw, c, &mut f);
            f
        })
        .collect()
}

fn start(lo: u16) -> FakeNet {
    let mut s = MemorySounds::new();
    s.insert("tone", wav_bytes(&samples(1.0)))
        .insert("fr/tone", wav_bytes(&samples(0.5)))
        .insert("pt/tone", wav_bytes(&samples(0.25)));
    FakeNet::with_rtp(SIP_CONF, EXT, lo, lo + 39).with_sounds(s)
}

/// The payloads `user` hears calling `exten`.
fn heard(net: &mut FakeNet, user: &str, exten: &str) -> Vec<Vec<u8>> {
    let mut ua = Ua::new(net, user, &format!("{user}pass"));
    let _d = ua.call_answered(net, exten);
    let got = ua.collect_rtp(net, 20, Duration::from_millis(600));
    let bye = ua.request(net, Method::Bye);
    ua.respond(net, &bye, 200, None);
    got.into_iter().map(|r| r.payload).collect()
}

/// The final status `user` gets calling `exten`.
fn status(net: &mut FakeNet, user: &str, exten: &str) -> u16 {
    let mut ua = Ua::new(net, user, &format!("{user}pass"));
    let offer = sdp(ua.rtp, &[0], "sendrecv");
    let (_d, r) = ua.call(net, exten, &offer);
    r.status()
}

#[test]
fn playback_takes_the_prompt_of_the_channels_language() {
    let mut net = start(34400);
    assert_eq!(
        heard(&mut net, "1001", "604"),
        frames(&samples(0.5)),
        "fr/tone for 1001"
    );
    assert_eq!(
        heard(&mut net, "1002", "604"),
        frames(&samples(1.0)),
        "tone for en"
    );
    // pt_BR has no directory of its own: pt's prompt.
    assert_eq!(
        heard(&mut net, "1002", "605"),
        frames(&samples(0.25)),
        "pt/tone"
    );
    assert!(net.logged("language now pt_BR"), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn an_incomplete_number_is_484_unless_allowoverlap_is_no() {
    let mut net = start(34440);
    assert_eq!(
        status(&mut net, "1001", "20"),
        484,
        "_2XXX could match 20.."
    );
    assert_eq!(status(&mut net, "1001", "9"), 404, "nothing begins with 9");
    assert_eq!(status(&mut net, "1002", "20"), 404, "allowoverlap=no");
    assert_eq!(
        status(&mut net, "1003", "20"),
        484,
        "a bad value keeps the default"
    );
    assert!(net.logged("is incomplete: 484"), "{:?}", net.log());
    net.assert_idle();
}

#[test]
fn bad_values_warn_at_their_lines() {
    let cfg = sipbox::config::load_str(SIP_CONF, EXT, None).expect("starts");
    let w = cfg.warnings.join("\n");
    assert!(
        w.contains("sip.conf:26: ") && w.contains("expected yes, no or dtmf"),
        "{w}"
    );
    assert!(
        w.contains("sip.conf:27: ") && w.contains("expected a language code"),
        "{w}"
    );
}
