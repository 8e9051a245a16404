use super::*;

/// One header + data block: `size`-byte times, types as (utoff, isdst, abbr index).
fn block(
    version: u8,
    size: usize,
    times: &[i64],
    idx: &[u8],
    types: &[(i32, u8, u8)],
    chars: &[u8],
) -> Vec<u8> {
    let mut b = b"TZif".to_vec();
    b.push(version);
    b.extend([0u8; 15]);
    for n in [0, 0, 0, times.len(), types.len(), chars.len()] {
        b.extend((n as u32).to_be_bytes());
    }
    for &t in times {
        if size == 8 {
            b.extend(t.to_be_bytes());
        } else {
            b.extend((t as i32).to_be_bytes());
        }
    }
    b.extend(idx);
    for &(off, dst, ai) in types {
        b.extend(off.to_be_bytes());
        b.push(dst);
        b.push(ai);
    }
    b.extend(chars);
    b
}

/// A version 2 file: a minimal v1 block, then the 64-bit block and the footer.
fn v2(times: &[i64], idx: &[u8], types: &[(i32, u8, u8)], chars: &[u8], footer: &str) -> Vec<u8> {
    let mut b = block(b'2', 4, &[], &[], &[(0, 0, 0)], b"UTC\0");
    b.extend(block(b'2', 8, times, idx, types, chars));
    b.extend(format!("\n{footer}\n").into_bytes());
    b
}

/// 2026-03-29 01:00 UTC (EU spring change), 2026-10-25 01:00 UTC (autumn change).
const EU_SPRING: i64 = 1_774_746_000;
const EU_AUTUMN: i64 = 1_792_890_000;
/// 2026-03-08 07:00 UTC (US spring change, 02:00 EST), 2026-11-01 06:00 UTC (02:00 EDT).
const US_SPRING: i64 = 1_772_953_200;
const US_AUTUMN: i64 = 1_793_512_800;

fn show(z: &Zone, t: i64) -> (i64, bool, String) {
    let l = z.at(t);
    (l.offset, l.dst, l.abbr.as_str().to_string())
}

#[test]
fn a_handcrafted_v2_file_uses_its_transitions_then_its_footer() {
    // LMT until 1000, then CET/CEST flips at 2000 and 3000, then the EU rule.
    let chars = b"LMT\0CET\0CEST\0";
    let types = [(3208, 0, 0), (3600, 0, 4), (7200, 1, 8)];
    let b = v2(
        &[1000, 2000, 3000],
        &[1, 2, 1],
        &types,
        chars,
        "CET-1CEST,M3.5.0,M10.5.0/3",
    );
    let z = Zone::from_tzif(&b).expect("parses");
    let cases: &[(i64, (i64, bool, &str))] = &[
        (-5_000_000_000, (3208, false, "LMT")),
        (999, (3208, false, "LMT")),
        (1000, (3600, false, "CET")),
        (2500, (7200, true, "CEST")),
        (3000, (3600, false, "CET")),
        // Past the last transition: the footer.
        (EU_SPRING - 1, (3600, false, "CET")),
        (EU_SPRING, (7200, true, "CEST")),
        (EU_AUTUMN - 1, (7200, true, "CEST")),
        (EU_AUTUMN, (3600, false, "CET")),
    ];
    for &(t, (off, dst, abbr)) in cases {
        assert_eq!(show(&z, t), (off, dst, abbr.to_string()), "t={t}");
    }
}

#[test]
fn version_1_files_and_an_empty_footer() {
    let chars = b"AAA\0BBB\0";
    let types = [(0, 0, 0), (-3600, 1, 4)];
    let mut b = block(0, 4, &[100, 200], &[1, 0], &types, chars);
    b[4] = 0;
    let z = Zone::from_tzif(&b).expect("v1");
    assert_eq!(show(&z, 150), (-3600, true, "BBB".into()));
    assert_eq!(show(&z, 10_000), (0, false, "AAA".into()));
    // v2 with no footer rule: the last transition's type stays.
    let z = Zone::from_tzif(&v2(&[100], &[1], &types, chars, "")).expect("v2");
    assert_eq!(show(&z, 1 << 40), (-3600, true, "BBB".into()));
}

#[test]
fn bad_tzif_is_refused_never_a_panic() {
    let good = v2(
        &[1000],
        &[1],
        &[(0, 0, 0), (3600, 0, 4)],
        b"UTC\0CET\0",
        "CET-1",
    );
    assert!(Zone::from_tzif(&good).is_ok());
    for n in 0..good.len() {
        // Every truncation is an error (the footer's last newline included).
        assert!(Zone::from_tzif(&good[..n]).is_err(), "cut at {n}");
    }
    let bad: &[Vec<u8>] = &[
        b"TZjf".to_vec(),
        v2(&[1000], &[7], &[(0, 0, 0)], b"UTC\0", ""),
        v2(&[2000, 1000], &[0, 0], &[(0, 0, 0)], b"UTC\0", ""),
        v2(&[], &[], &[(0, 0, 9)], b"UTC\0", ""),
        v2(&[], &[], &[(i32::MIN, 0, 0)], b"UTC\0", ""),
        v2(&[], &[], &[(0, 0, 0)], b"UTC\0", "CET-1CEST,M3.5.0"),
    ];
    for b in bad {
        assert!(Zone::from_tzif(b).is_err(), "{b:?}");
    }
}

#[test]
fn posix_tz_strings() {
    // (string, time, offset, dst, abbr)
    let cases: &[(&str, i64, i64, bool, &str)] = &[
        (
            "CET-1CEST,M3.5.0,M10.5.0/3",
            EU_SPRING - 1,
            3600,
            false,
            "CET",
        ),
        ("CET-1CEST,M3.5.0,M10.5.0/3", EU_SPRING, 7200, true, "CEST"),
        ("CET-1CEST,M3.5.0,M10.5.0/3", EU_AUTUMN, 3600, false, "CET"),
        (
            "EST5EDT,M3.2.0,M11.1.0",
            US_SPRING - 1,
            -18000,
            false,
            "EST",
        ),
        ("EST5EDT,M3.2.0,M11.1.0", US_SPRING, -14400, true, "EDT"),
        ("EST5EDT,M3.2.0,M11.1.0", US_AUTUMN - 1, -14400, true, "EDT"),
        ("EST5EDT,M3.2.0,M11.1.0", US_AUTUMN, -18000, false, "EST"),
        // No rule: the US default.
        ("EST5EDT", US_SPRING, -14400, true, "EDT"),
        ("<+0530>-5:30", 0, 19800, false, "+0530"),
        ("JST-9", 0, 32400, false, "JST"),
        // Southern hemisphere: daylight time spans the new year (AEDT in January).
        (
            "AEST-10AEDT,M10.1.0,M4.1.0/3",
            1_767_225_600,
            39600,
            true,
            "AEDT",
        ),
        (
            "AEST-10AEDT,M10.1.0,M4.1.0/3",
            1_782_864_000,
            36000,
            false,
            "AEST",
        ),
        // Julian days: J60 is March 1 in every year.
        ("XXX0YYY,J60/0,J300/0", 1_772_323_200, 3600, true, "YYY"),
        ("XXX0YYY,J60/0,J300/0", 1_772_323_199, 0, false, "XXX"),
        // All-year daylight time (RFC 8536 §3.3.1's example).
        ("EST5EDT,0/0,J365/25", 1_782_864_000, -14400, true, "EDT"),
    ];
    for &(s, t, off, dst, abbr) in cases {
        let z = Zone::from_posix(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(show(&z, t), (off, dst, abbr.to_string()), "{s} at {t}");
    }
    for bad in [
        "",
        "AB1",
        "CET",
        "CET-1CEST,M3.5.0",
        "CET-1CEST,M13.5.0,M10.5.0",
        "CET-1x",
        "<abc",
        "CET-1CEST,J0,J1",
    ] {
        assert!(Zone::from_posix(bad).is_err(), "{bad}");
    }
}

#[test]
fn zones_resolve_names_offsets_and_rules() {
    let mut zones = Zones::new(Zone::fixed(3600));
    assert!(zones.insert("Test/Zone", Zone::fixed(-7200)));
    let off = |n: &str| zones.at(n, 0).map(|l| l.offset).map_err(|_| ());
    let cases: &[(&str, Result<i64, ()>)] = &[
        ("", Ok(3600)),
        ("Test/Zone", Ok(-7200)),
        (":Test/Zone", Ok(-7200)),
        ("UTC", Ok(0)),
        ("gmt", Ok(0)),
        ("Etc/GMT-2", Ok(7200)),
        ("Etc/GMT+5", Ok(-18000)),
        ("+02:00", Ok(7200)),
        ("-0530", Ok(-19800)),
        ("+01", Ok(3600)),
        ("JST-9", Ok(32400)),
        ("Europe/Berlin", Err(())),
        ("+25", Err(())),
        ("+1", Err(())),
        ("Etc/GMT+99", Err(())),
        ("nonsense!", Err(())),
    ];
    for (name, want) in cases {
        assert_eq!(off(name), *want, "{name}");
    }
    for i in 0..MAX_ZONES + 5 {
        zones.insert(&format!("Z/{i}"), Zone::fixed(0));
    }
    assert_eq!(zones.len(), MAX_ZONES, "the cache is bounded");
}

#[test]
fn zone_names_that_may_be_looked_up() {
    for ok in [
        "Europe/Berlin",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+5",
        "EST5EDT",
        "UTC",
    ] {
        assert!(zones::is_zone_name(ok), "{ok}");
    }
    for bad in [
        "",
        "/etc/passwd",
        "../x",
        "Europe/../../etc",
        "a//b",
        "Europe/Berlin ",
        "${TZ}",
        "+01",
    ] {
        assert!(!zones::is_zone_name(bad), "{bad}");
    }
}

/// The real tzdata files around their 2026 changes, when the machine has them.
#[test]
#[allow(clippy::disallowed_methods)] // reads the machine's tzdata, as the loader does
fn the_system_zoneinfo_around_dst_changes() {
    let cases: &[(&str, i64, i64, &str)] = &[
        ("Europe/Berlin", EU_SPRING - 1, 3600, "CET"),
        ("Europe/Berlin", EU_SPRING, 7200, "CEST"),
        ("Europe/Berlin", EU_AUTUMN - 1, 7200, "CEST"),
        ("Europe/Berlin", EU_AUTUMN, 3600, "CET"),
        ("Europe/Berlin", 2_000_000_000, 7200, "CEST"), // May 2033: the footer
        ("Europe/Berlin", -1_000_000_000, 3600, "CET"), // 1938
        ("America/New_York", US_SPRING - 1, -18000, "EST"),
        ("America/New_York", US_SPRING, -14400, "EDT"),
        ("America/New_York", US_AUTUMN - 1, -14400, "EDT"),
        ("America/New_York", US_AUTUMN, -18000, "EST"),
        ("America/New_York", 4_102_444_800, -18000, "EST"), // 2100-01-01
    ];
    for &(name, t, off, abbr) in cases {
        let Ok(b) = std::fs::read(format!("/usr/share/zoneinfo/{name}")) else {
            eprintln!("skipped: no /usr/share/zoneinfo/{name} (tzdata not installed)");
            return;
        };
        let z = Zone::from_tzif(&b).unwrap_or_else(|e| panic!("{name}: {e}"));
        let l = z.at(t);
        assert_eq!((l.offset, l.abbr.as_str()), (off, abbr), "{name} at {t}");
    }
}
