//! Through the real binary: a registered phone receives a call right after a restart without
//! registering again (its binding came back from `sipbox.db`), the call's record lands in
//! `log/cdr-csv/Master.csv` quoted as cdr_csv quotes it, and a corrupt `sipbox.db` is a
//! clear log line while sipbox keeps serving from memory.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::rtp::sdp;
use common::ua::*;
use common::wire::UdpWire;
use common::*;
use std::time::Duration;

const CDR_CONF: &str = "[general]\nenable=yes\n[csv]\nusegmtime=yes\nloguniqueid=yes\n";

fn config_dir(prefix: &str) -> std::path::PathBuf {
    let dir = temp_dir(prefix);
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), TEST_EXTENSIONS_CONF).unwrap();
    std::fs::write(dir.join("cdr.conf"), CDR_CONF).unwrap();
    dir
}

#[test]
fn a_phone_registered_before_a_restart_takes_a_call_after_it() {
    let dir = config_dir("store-restart");
    let sb = Sipbox::start_in(&dir);
    let mut w = UdpWire::to(&sb);
    let callee = Ua::new(&mut w, "1002", "1002pass").registered(&mut w);
    assert_eq!(sb.stop(), Some(0));
    assert!(dir.join("sipbox.db").exists());

    let sb = Sipbox::start_in(&dir);
    assert!(
        sb.wait_log(
            "1 restored with their remaining lifetime",
            Duration::from_secs(3)
        ),
        "{:?}",
        sb.log()
    );
    w.sipbox = sb.addr;
    let mut caller = Ua::new(&mut w, "1001", "1001pass");
    let offer = sdp(caller.rtp, &[0], "sendrecv");
    let mut d = caller.call_start(&mut w, "1002", &offer);
    callee.answer(&mut w, &[0]);
    let r = caller.invite_outcome(&mut w, &mut d);
    assert_eq!(r.status(), 200, "{r:?}");
    caller.ack(&mut w, &d, None);
    caller.hang_up(&mut w, &mut d);
    callee.answer_bye(&mut w);
    assert_eq!(sb.stop(), Some(0), "the writer drains before exit");

    let csv = std::fs::read_to_string(dir.join("log/cdr-csv/Master.csv")).expect("Master.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1, "{csv}");
    let l = lines[0];
    assert!(
        l.starts_with("\"\",\"1001\",\"1002\",\"internal\",\"\"\"\"\" <1001>\",\"SIP/1001-"),
        "{l}"
    );
    assert!(l.contains(",\"SIP/1002-"), "{l}");
    assert!(l.contains(",\"Dial\",\"SIP/1002,10\",\""), "{l}");
    assert!(l.contains(",\"ANSWERED\",\"DOCUMENTATION\",\""), "{l}");
    // start, answer, end as "YYYY-MM-DD HH:MM:SS", then duration and billsec bare.
    let fields: Vec<&str> = l.split("\",").collect();
    assert!(
        fields
            .iter()
            .any(|f| f.len() == 20 && f.as_bytes()[11] == b' '),
        "{l}"
    );
    assert!(l.ends_with('"'), "uniqueid last, quoted: {l}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The loop holds records for at most `write_batch::HOLD` (100 ms): an idle sipbox wakes to
/// hand them over, it does not wait for the next call or the stop.
#[test]
fn a_call_record_is_in_master_csv_soon_after_the_call_ends() {
    let dir = config_dir("store-cdr-soon");
    let sb = Sipbox::start_in(&dir);
    let mut w = UdpWire::to(&sb);
    let callee = Ua::new(&mut w, "1002", "1002pass").registered(&mut w);
    let mut caller = Ua::new(&mut w, "1001", "1001pass");
    let offer = sdp(caller.rtp, &[0], "sendrecv");
    let mut d = caller.call_start(&mut w, "1002", &offer);
    callee.answer(&mut w, &[0]);
    let r = caller.invite_outcome(&mut w, &mut d);
    assert_eq!(r.status(), 200, "{r:?}");
    caller.ack(&mut w, &d, None);
    caller.hang_up(&mut w, &mut d);
    callee.answer_bye(&mut w);
    let path = dir.join("log/cdr-csv/Master.csv");
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let mut csv = String::new();
    while std::time::Instant::now() < deadline {
        csv = std::fs::read_to_string(&path).unwrap_or_default();
        if !csv.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        csv.lines().count(),
        1,
        "within a second, sipbox running: {csv:?}"
    );
    assert!(csv.contains(",\"ANSWERED\","), "{csv}");
    assert_eq!(sb.stop(), Some(0));
    let csv = std::fs::read_to_string(&path).expect("Master.csv");
    assert_eq!(csv.lines().count(), 1, "written once: {csv}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_corrupt_database_is_said_and_sipbox_serves_from_memory() {
    let dir = config_dir("store-corrupt");
    std::fs::write(dir.join("sipbox.db"), vec![0x5a; 8192]).unwrap();
    let sb = Sipbox::start_in(&dir);
    assert!(
        sb.wait_log(
            "registrations are kept in memory only and will not survive a restart",
            Duration::from_secs(3)
        ),
        "{:?}",
        sb.log()
    );
    let mut w = UdpWire::to(&sb);
    let _callee = Ua::new(&mut w, "1002", "1002pass").registered(&mut w);
    assert!(sb.wait_log("registered '1002'", Duration::from_secs(2)));
    assert_eq!(sb.stop(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

/// The README figure: restart-to-first-call with 10 000 stored registrations. Run with
/// `cargo test --release --test store_restart -- --ignored --nocapture restart_to_first_call`.
#[test]
#[ignore]
fn restart_to_first_call_with_10000_stored_registrations() {
    use std::net::UdpSocket;
    let dir = temp_dir("store-10k");
    let mut sip = String::from("[general]\nbindaddr=127.0.0.1\ncontext=internal\n");
    sip.push_str("[p](!)\ntype=friend\nhost=dynamic\ncontext=internal\n[caller](p)\n");
    for i in 0..10_000 {
        sip.push_str(&format!("[2{i:04}](p)\n"));
    }
    std::fs::write(dir.join("sip.conf"), sip).unwrap();
    std::fs::write(
        dir.join("extensions.conf"),
        "[internal]\nexten => _2XXXX,1,Dial(SIP/${EXTEN},10)\n",
    )
    .unwrap();
    std::fs::write(dir.join("sipbox.conf"), LOCAL_DIRECTORIES).unwrap();
    let callee = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = callee.local_addr().unwrap();
    {
        let db = rusqlite::Connection::open(dir.join("sipbox.db")).unwrap();
        db.execute_batch(
            "CREATE TABLE registrations(aor TEXT NOT NULL, contact TEXT NOT NULL,
             transport TEXT NOT NULL, remote TEXT NOT NULL, expires INTEGER NOT NULL,
             user_agent TEXT NOT NULL, path TEXT NOT NULL, call_id TEXT NOT NULL,
             cseq INTEGER NOT NULL, PRIMARY KEY(aor, contact)); BEGIN;",
        )
        .unwrap();
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        for i in 0..10_000 {
            // The last one is the phone that gets the call; the others point at it too
            // (nothing is sent to them).
            db.execute(
                "INSERT INTO registrations VALUES (?1, ?2, 'udp', ?3, ?4, 'ua', '', ?5, 1)",
                rusqlite::params![
                    format!("2{i:04}"),
                    format!("sip:2{i:04}@{target}"),
                    target.to_string(),
                    exp as i64,
                    format!("reg-{i}")
                ],
            )
            .unwrap();
        }
        db.execute_batch("COMMIT;").unwrap();
    }
    let t0 = std::time::Instant::now();
    let sb = Sipbox::start_logging(&dir, "info");
    let up = t0.elapsed();
    let caller = UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = caller.local_addr().unwrap();
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 4000 RTP/AVP 0\r\n";
    let invite = format!(
        "INVITE sip:29999@{a} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK10k;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@{a}>;tag=1\r\nTo: <sip:29999@{a}>\r\n\
         Call-ID: first-call\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{me}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len(),
        a = sb.addr
    );
    caller.send_to(invite.as_bytes(), sb.addr).unwrap();
    callee
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = callee
        .recv_from(&mut buf)
        .expect("the INVITE reaches the stored phone");
    let first_call = t0.elapsed();
    assert!(buf[..n].starts_with(b"INVITE sip:29999@"));
    assert!(
        sb.log().iter().any(|l| l.contains("10000 restored")),
        "{:?}",
        sb.log()
    );
    println!(
        "restart with 10000 stored registrations: listening after {} ms, first call at the \
         restored phone after {} ms",
        up.as_millis(),
        first_call.as_millis()
    );
    let _ = sb.stop();
    let _ = std::fs::remove_dir_all(dir);
}
