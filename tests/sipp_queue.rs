//! A call queue through the real binary with SIPp phones: queues.conf's `[support]` has
//! 1002 (a SIPp UAS that rings 2 s before it answers) as its member; 1001 (SIPp) dials 600
//! (`Answer()`, `Queue(support)`) and hears the music on hold of `<astdatadir>/moh` at the
//! test's socket its SDP named (RTP, byte for byte the file's µ-law) while 1002 rings; then
//! 1002 answers and streams, and what reaches 1001's socket is 1002's audio, relayed
//! unchanged; 1001 gets the BYE when 1002 hangs up.
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
exten => 600,1,Answer()
 same => n,Queue(support)
 same => n,Hangup()
";

const QUEUES: &str = "\
[general]
persistentmembers=no

[support]
strategy=ringall
timeout=15
member => SIP/1002
";

/// The byte 1002's stream is made of.
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

/// One second of a constant PCM16 sample: the music on hold, whose µ-law byte is known.
fn music_wav() -> (Vec<u8>, u8) {
    let samples = vec![-3000i16; 8000];
    let byte = sipbox::media::g711::Law::Ulaw.encode(-3000);
    (sipbox::media::wav::encode_pcm16(&samples), byte)
}

#[test]
fn sipp_caller_queues_hears_music_and_a_member_answers() {
    let dir = temp_dir("sipbox-queue");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), EXTENSIONS).unwrap();
    std::fs::write(dir.join("queues.conf"), QUEUES).unwrap();
    std::fs::write(dir.join("sipbox.conf"), LOCAL_DIRECTORIES).unwrap();
    std::fs::create_dir_all(dir.join("data/moh")).unwrap();
    let (music, music_byte) = music_wav();
    assert_ne!(music_byte, MARK);
    std::fs::write(dir.join("data/moh/hold.wav"), music).unwrap();
    let sb = Sipbox::start_in(&dir);
    let wav = dir.join("mark.wav");
    std::fs::write(&wav, ulaw_wav()).unwrap();

    let port = sipp::free_port();
    sipp::register_at(sb.addr, "1002", "1002pass", port);
    let template = std::fs::read_to_string(sipp::scenario("uas_queue_member.xml.tmpl")).unwrap();
    let member_sf = dir.join("uas_queue_member.xml");
    std::fs::write(
        &member_sf,
        template.replace("@WAV@", &wav.to_string_lossy()),
    )
    .unwrap();
    let member_sf = member_sf.to_string_lossy().into_owned();
    let member = sipp::spawn_on(port, sb.addr, &["-sf", &member_sf, "-m", "1"], 20);
    std::thread::sleep(Duration::from_millis(300));

    // 1001's media: a socket of the test's own.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let sink_port = sink.local_addr().unwrap().port().to_string();
    let caller_sf = fill("uac_wait_bye_sink.xml.tmpl", &[("@SINK@", &sink_port)]);
    let caller_args = [
        "-sf", &caller_sf, "-s", "600", "-au", "1001", "-ap", "1001pass", "-m", "1",
    ];
    let caller = sipp::spawn_on(sipp::free_port(), sb.addr, &caller_args, 20);
    assert!(
        sb.wait_log(
            "joined queue 'support' at position 1",
            Duration::from_secs(8)
        ),
        "{:#?}",
        sb.log()
    );
    // While 1002 rings: the music; then 1002's stream once it answers.
    let (mut music_seen, mut marked) = (0, 0);
    let mut music_after_mark = 0;
    let mut buf = [0u8; 2048];
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until && marked < 25 {
        if let Ok(n) = sink.recv(&mut buf) {
            let payload = &buf[12.min(n)..n];
            if payload.len() != 160 {
                continue;
            }
            if payload.iter().all(|&b| b == MARK) {
                marked += 1;
            } else if payload.iter().all(|&b| b == music_byte) {
                if marked > 0 {
                    music_after_mark += 1;
                }
                music_seen += 1;
            }
        }
    }
    assert!(
        music_seen >= 50,
        "about 2 s of music on hold while the member rings ({music_seen} packets)"
    );
    assert!(
        marked >= 25,
        "1002's audio reaches 1001 once it answered ({marked} packets)"
    );
    assert_eq!(music_after_mark, 0, "the music stopped at the answer");
    assert!(
        sipp::succeeded(&sipp::finish(member)),
        "1002: rings, answers, streams, hangs up"
    );
    assert!(
        sipp::succeeded(&sipp::finish(caller)),
        "1001 gets the BYE when 1002 hangs up"
    );
    assert!(sb.wait_log(
        "queue 'support' answered by SIP/1002",
        Duration::from_secs(1)
    ));
    assert!(sb.wait_log("0 calls up", Duration::from_secs(5)));
}
