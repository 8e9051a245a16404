//! Call parking through the real binary with SIPp phones and features.conf's `parkext => 700`:
//! 1001 calls 1002 (a SIPp UAS), which REFERs it to 700 (a blind transfer to the park
//! extension) and hangs up after the NOTIFY 200; 1003 dials 701 and is bridged with 1001: the
//! PCMU 1003 streams arrives, byte for byte, at the test's socket that 1001's SDP named; 1001
//! gets the BYE when 1003 hangs up.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::scen::fill;
use common::sipp;
use common::*;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const EXTENSIONS: &str = "\
[general]
autofallthrough=yes

[internal]
include => parkedcalls
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
";

const FEATURES: &str = "\
[general]
parkext => 700
parkpos => 701-720
context => parkedcalls
parkingtime => 45
comebacktoorigin = yes
";

/// The byte 1003's stream is made of.
const MARK: u8 = 0x5a;

/// A µ-law WAV (8 kHz mono) of 0.5 s of `MARK`: SIPp sends its data chunk as PCMU as is.
fn ulaw_wav() -> Vec<u8> {
    let data = vec![MARK; 4000];
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&7u16.to_le_bytes()); // µ-law
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&8u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(data.len() as u32).to_le_bytes());
    w.extend_from_slice(&data);
    w
}

#[test]
fn sipp_refer_to_700_parks_and_701_retrieves() {
    let dir = temp_dir("sipbox-park");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), EXTENSIONS).unwrap();
    std::fs::write(dir.join("features.conf"), FEATURES).unwrap();
    let sb = Sipbox::start_in(&dir);
    let wav = dir.join("mark.wav");
    std::fs::write(&wav, ulaw_wav()).unwrap();

    let port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", port);
    let uas_sf = sipp::scenario("uas_refer_park.xml");
    let uas = sipp::spawn_on(port, sb.addr, &["-sf", &uas_sf, "-m", "1"], 20);
    std::thread::sleep(Duration::from_millis(300));

    // 1001's media: a socket of the test's own.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let sink_port = sink.local_addr().unwrap().port().to_string();
    let caller_sf = fill("uac_wait_bye_sink.xml.tmpl", &[("@SINK@", &sink_port)]);
    let caller_args = [
        "-sf", &caller_sf, "-s", "1002", "-au", "1001", "-ap", "1001pass", "-m", "1",
    ];
    let caller = sipp::spawn_on(sipp::free_port(), sb.addr, &caller_args, 20);
    assert!(
        sb.wait_log("transferee parked", Duration::from_secs(8)),
        "1002's REFER to 700 parks 1001: {:#?}",
        sb.log()
    );
    assert!(sb.wait_log("parked at 701 of lot 'default'", Duration::from_secs(1)));
    assert!(
        sipp::succeeded(&sipp::finish(uas)),
        "1002: 202, NOTIFY 100 and 200, then its BYE answered"
    );

    let wav_path = wav.to_string_lossy().into_owned();
    // (`fill` names its file after the values: a path cannot be one.)
    let template = std::fs::read_to_string(sipp::scenario("uac_retrieve_stream.xml.tmpl")).unwrap();
    let retriever_sf = dir.join("uac_retrieve_stream.xml");
    std::fs::write(&retriever_sf, template.replace("@WAV@", &wav_path)).unwrap();
    let retriever_sf = retriever_sf.to_string_lossy().into_owned();
    let retriever = sipp::spawn_on(
        sipp::free_port(),
        sb.addr,
        &[
            "-sf",
            &retriever_sf,
            "-s",
            "701",
            "-au",
            "1003",
            "-ap",
            "1003pass",
            "-m",
            "1",
        ],
        20,
    );
    // What reaches 1001 once 1003 is bridged: 1003's stream, relayed unchanged.
    let mut marked = 0;
    let mut buf = [0u8; 2048];
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until && marked < 25 {
        if let Ok(n) = sink.recv(&mut buf) {
            let payload = &buf[12.min(n)..n];
            if payload.len() == 160 && payload.iter().all(|&b| b == MARK) {
                marked += 1;
            }
        }
    }
    assert!(
        marked >= 25,
        "1003's audio reaches 1001 through the bridge ({marked} packets)"
    );
    assert!(
        sipp::succeeded(&sipp::finish(retriever)),
        "1003 is answered, streams, hangs up"
    );
    assert!(
        sipp::succeeded(&sipp::finish(caller)),
        "1001 gets the BYE when 1003 hangs up"
    );
    assert!(sb.wait_log("retrieved by leg", Duration::from_secs(1)));
    assert!(sb.wait_log("0 calls up", Duration::from_secs(5)));
}
