//! Time zones in the dialplan: STRFTIME, SayUnixTime, IFTIME, GotoIfTime, ExecIfTime and
//! timed includes with zones read by the config loader, once from the machine's tzdata
//! (skipped without it) and once from a zoneinfo directory of our own TZif files.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sipbox::config::raw::Section;
use sipbox::config::values::Warnings;
use sipbox::dialplan::{ChannelInfo, Command, Dialplan, Execution, Resume};

/// Thursday 2024-02-29 12:34 UTC: 13:34 CET in Berlin, 07:34 EST in New York.
fn noon() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_709_210_040)
}

/// 2026-03-29 01:00 UTC: Berlin goes from 02:00 CET to 03:00 CEST.
const EU_SPRING: i64 = 1_774_746_000;
/// 2026-03-08 07:00 UTC: New York goes from 02:00 EST to 03:00 EDT.
const US_SPRING: i64 = 1_772_953_200;

const CONF: &str = "
[tz]
exten => berlin,1,Set(R=${STRFTIME(${T},Europe/Berlin,%F %T %Z %z)}|${STRFTIME($[${T}-1],Europe/Berlin,%T %Z)})
exten => ny,1,Set(R=${STRFTIME(${U},America/New_York,%T %Z)}|${STRFTIME($[${U}-1],America/New_York,%T %Z)})
exten => local,1,Set(R=${STRFTIME(${EPOCH},,%H:%M %Z)})
exten => posix,1,Set(R=${STRFTIME(${EPOCH},JST-9,%H:%M %Z)})
exten => unread,1,Set(R=${STRFTIME(${EPOCH},${ZONE},%H:%M %Z)})
exten => iftime,1,Set(R=${IFTIME(13:00-14:00,*,*,*,Europe/Berlin?in:out)}${IFTIME(12:00-12:59,*,*,*,Europe/Berlin?in:out)}${IFTIME(07:00-08:00,*,*,*?local:no)})
exten => goto,1,GotoIfTime(13:30-13:40,thu,29,feb,Europe/Berlin?yes)
 same => n,Set(R=no)
 same => n,WaitExten()
 same => n(yes),Set(R=yes)
 same => n,WaitExten()
exten => exec,1,ExecIfTime(13:00-14:00,*,*,*,Europe/Berlin?Set(R=ran))
 same => n,ExecIfTime(12:00-12:59,*,*,*,Europe/Berlin?Set(R=wrong))
 same => n,ExecIfTime(nonsense?Set(R=wrong))
 same => n,WaitExten()
exten => say,1,SayUnixTime(${EPOCH},Europe/Berlin,HM)
include => berlin-day,13:00-14:00,*,*,*,Europe/Berlin
include => ny-day,13:00-14:00,*,*,*,America/New_York
[berlin-day]
exten => inc,1,Set(R=berlin)
[ny-day]
exten => inc2,1,Set(R=ny)
";

fn chan() -> ChannelInfo {
    ChannelInfo {
        callerid_num: "1001".into(),
        callerid_name: "Alice".into(),
        sip_call_id: "abc@host".into(),
        unique_id: "1700000000.7".into(),
        peer: "alice".into(),
        name: None,
        sip_headers: Default::default(),
    }
}

fn sections(text: &str) -> Vec<Section> {
    sipbox::config::reader::read_str("extensions.conf", text, None).expect("reads")
}

/// The dialplan with the zones read from `dir`, local zone New York; the load warnings.
fn load(dir: &Path) -> (Dialplan, Vec<String>) {
    let s = sections(CONF);
    let mut w = Warnings::default();
    let zones = sipbox::config::zones::read(&s, dir, Some("America/New_York"), &mut w);
    let (mut dp, dpw) = Dialplan::from_sections(&s).expect("loads");
    assert!(dpw.is_empty(), "{dpw:?}");
    dp.set_zones(zones);
    (dp, w.into_vec())
}

fn run(dp: &Dialplan, exten: &str) -> (Execution, Command) {
    let mut ex = Execution::new(dp, "tz", exten, chan());
    ex.set_var("T", &EU_SPRING.to_string());
    ex.set_var("U", &US_SPRING.to_string());
    ex.set_var("ZONE", "Asia/Tokyo");
    let cmd = ex.step(dp, noon(), Resume::Start);
    (ex, cmd)
}

fn check(dir: &Path) {
    let (dp, warnings) = load(dir);
    assert!(warnings.is_empty(), "{warnings:?}");
    let cases: &[(&str, &str)] = &[
        ("berlin", "2026-03-29 03:00:00 CEST +0200|01:59:59 CET"),
        ("ny", "03:00:00 EDT|01:59:59 EST"),
        ("local", "07:34 EST"),
        ("posix", "21:34 JST"),
        // Named only through a variable: not read at load, so UTC (with a warning).
        ("unread", "12:34 UTC"),
        ("iftime", "inoutlocal"),
        ("goto", "yes"),
        ("exec", "ran"),
        ("inc", "berlin"),
        ("inc2", ""),
    ];
    for (exten, want) in cases {
        let (ex, _) = run(&dp, exten);
        assert_eq!(
            ex.var("R").unwrap_or_default(),
            *want,
            "{exten} in {}",
            dir.display()
        );
    }
    let (_, cmd) = run(&dp, "say");
    match cmd {
        Command::Playback { files, .. } => {
            assert_eq!(
                files,
                ["digits/13", "digits/30", "digits/4"],
                "13:34 in Berlin"
            )
        }
        other => panic!("expected Playback, got {other:?}"),
    }
}

#[test]
fn zones_from_the_system_tzdata() {
    let dir = Path::new("/usr/share/zoneinfo");
    if !dir.join("Europe/Berlin").exists() || !dir.join("America/New_York").exists() {
        eprintln!("skipped: no tzdata under {}", dir.display());
        return;
    }
    check(dir);
}

/// One TZif data block (version byte `v`) with no transitions: one type and its name.
fn block(v: u8, size_bytes: usize, utoff: i32, abbr: &str) -> Vec<u8> {
    let _ = size_bytes; // no transitions: the time size does not show
    let mut b = b"TZif".to_vec();
    b.push(v);
    b.extend([0u8; 15]);
    for n in [0u32, 0, 0, 0, 1, abbr.len() as u32 + 1] {
        b.extend(n.to_be_bytes());
    }
    b.extend(utoff.to_be_bytes());
    b.extend([0, 0]);
    b.extend(abbr.as_bytes());
    b.push(0);
    b
}

/// A version 2 file whose footer carries the whole rule.
fn tzif(utoff: i32, abbr: &str, footer: &str) -> Vec<u8> {
    let mut b = block(b'2', 4, utoff, abbr);
    b.extend(block(b'2', 8, utoff, abbr));
    b.extend(format!("\n{footer}\n").into_bytes());
    b
}

#[test]
fn zones_from_our_own_zoneinfo_directory() {
    let dir: PathBuf = std::env::temp_dir().join(format!("sipbox-zoneinfo-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("Europe")).unwrap();
    std::fs::create_dir_all(dir.join("America")).unwrap();
    std::fs::write(
        dir.join("Europe/Berlin"),
        tzif(3600, "CET", "CET-1CEST,M3.5.0,M10.5.0/3"),
    )
    .unwrap();
    std::fs::write(
        dir.join("America/New_York"),
        tzif(-18000, "EST", "EST5EDT,M3.2.0,M11.1.0"),
    )
    .unwrap();
    check(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_zone_is_a_load_warning_and_utc() {
    let dir = std::env::temp_dir().join(format!("sipbox-zoneinfo-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (dp, warnings) = load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("extensions.conf:3: time zone 'Europe/Berlin'"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("extensions.conf:4: time zone 'America/New_York'"),
        "{warnings:?}"
    );
    let (ex, _) = run(&dp, "berlin");
    assert_eq!(
        ex.var("R").unwrap_or_default(),
        "2026-03-29 01:00:00 UTC +0000|00:59:59 UTC"
    );
    // The local zone could not be read either: UTC.
    let (ex, _) = run(&dp, "local");
    assert_eq!(ex.var("R").unwrap_or_default(), "12:34 UTC");
}
