//! A real softphone watches a hint through the binary: baresip 1001 (modules `contact` and
//! `presence`, its contact 1002 marked `;presence=p2p`) subscribes to 1002's hint (Event:
//! presence); 1002 is not registered, so the lamp is off (`<basic>closed</basic>`); baresip
//! 1002 then registers and 1001's lamp turns on (`open`). What baresip 1.0.0 shows is
//! online/offline only: its parser looks for `<rpid:on-the-phone/>` with that literal
//! prefix, and sipbox writes chan_sip's `<ep:on-the-phone/>`, so "busy" is not seen here
//! (the in-use sequence is tested with SIPp in tests/sipp_blf.rs and on the fake network).
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use std::time::Duration;

#[test]
fn baresip_sees_the_presence_lamp_turn_on_when_the_watched_phone_registers() {
    let ext =
        TEST_EXTENSIONS_CONF.replace("[internal]\n", "[internal]\nexten => 1002,hint,SIP/1002\n");
    let sb = Sipbox::start(TEST_SIP_CONF, &ext);
    let dir = temp_dir("baresip-presence");
    let silence = dir.join("silence.wav");
    write_tone(&silence, 440.0, 0.0, 1.0);
    let spec = |user, password| BaresipSpec {
        user,
        password,
        server: sb.addr,
        auto_answer: false,
        source: &silence,
        record: None,
        commands: &[],
        quit_after: 20,
    };
    let contacts = format!("\"Bob\" <sip:1002@{}>;presence=p2p\n", sb.addr);
    let watcher =
        Baresip::start_with_contacts(&spec("1001", "1001pass"), &contacts, &["presence.so"]);
    assert!(
        sb.wait_log("subscribed to presence", Duration::from_secs(10)),
        "no subscription: {:?}\n1001: {:?}",
        sb.log(),
        watcher.output()
    );
    // The first NOTIFY (closed) goes at once; baresip prints no change from its initial
    // 'unknown', so the "from 'offline'" below is what shows it arrived.
    std::thread::sleep(Duration::from_secs(1));
    let phone = Baresip::start(&spec("1002", "1002pass"));
    assert!(
        sb.wait_log("registered '1002'", Duration::from_secs(10)),
        "{:?}",
        sb.log()
    );
    assert!(
        watcher.wait_for("changed status from", Duration::from_secs(5)),
        "1001 saw no lamp change: {:?}\nsipbox: {:?}",
        watcher.output(),
        sb.log()
    );
    // `<sip:1002@…> changed status from Offline to Online`, with colour codes.
    let raw = watcher
        .output()
        .into_iter()
        .find(|l| l.contains("changed status from"))
        .unwrap_or_default();
    let mut parts = raw.split('\u{1b}');
    let mut line = parts.next().unwrap_or_default().to_string();
    for part in parts {
        line.push_str(part.split_once('m').map_or(part, |(_, rest)| rest));
    }
    assert!(
        line.contains("sip:1002@") && line.ends_with("from Offline to Online"),
        "{line}"
    );
    drop(phone);
}
