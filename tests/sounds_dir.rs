//! The binary's prompt source (`DirSounds`, in main.rs) through the real binary: the shipped
//! extensions.conf.example's 601 plays `hello-world` from `soundsdir`; with neither soundsdir
//! nor Debian's prompts installed it says so and hangs up. What Playback does with the bytes is
//! tested on the fake network (tests/engine_media_endpoint.rs).
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::ua::*;
use common::*;
use sipbox::sip::Method;
use std::time::Duration;

fn start_example(soundsdir: &std::path::Path) -> Sipbox {
    let ext = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("extensions.conf.example"),
    )
    .unwrap();
    let conf = TEST_SIP_CONF.replace(
        "[general]\n",
        &format!("[general]\nsoundsdir={}\n", soundsdir.display()),
    );
    Sipbox::start(&conf, &ext)
}

#[test]
fn soundsdir_prompts_play_and_missing_prompts_are_reported() {
    let sounds = temp_dir("sipbox-sounds");
    let samples: Vec<i16> = (0..4000).map(|i| ((i % 40) * 300 - 6000) as i16).collect();
    write_wav(&sounds.join("hello-world.wav"), &samples);
    let sb = start_example(&sounds);
    let mut w = UdpWire::to(&sb);
    let mut a = Ua::new(&mut w, "1001", "1001pass");
    a.call_answered(&mut w, "601");
    let got = a.collect_rtp(&mut w, 60, Duration::from_millis(600));
    assert_eq!(got.len(), 25, "0.5 s of hello-world from soundsdir");
    let bye = a.request(&mut w, Method::Bye);
    a.respond(&mut w, &bye, 200, None);
    drop(sb);

    let sb = start_example(&temp_dir("sipbox-nosounds").join("absent"));
    let mut w = UdpWire::to(&sb);
    let mut a = Ua::new(&mut w, "1001", "1001pass");
    a.call_answered(&mut w, "601");
    if std::path::Path::new("/usr/share/asterisk/sounds/en_US_f_Allison/hello-world.wav").exists() {
        // Debian's asterisk-core-sounds-en-wav is installed: the fallback path plays it.
        let got = a.collect_rtp(&mut w, 2000, Duration::from_millis(600));
        assert!(got.len() > 10, "hello-world from the fallback path");
    } else {
        assert!(
            sb.wait_log("no sound prompts installed", Duration::from_secs(5)),
            "{:?}",
            sb.log()
        );
    }
    let bye = a.request(&mut w, Method::Bye);
    a.respond(&mut w, &bye, 200, None);
}
