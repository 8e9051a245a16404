//! The time zones a dialplan uses, read with the config (at start and on every reload,
//! which runs on the reload helper thread): the local zone (`$TZ`, else `/etc/localtime`) and
//! each zone extensions.conf names literally — `STRFTIME(epoch,ZONE,...)`,
//! `SayUnixTime(t,ZONE,...)`, the fifth field of `GotoIfTime`/`ExecIfTime`/`IFTIME` and of a
//! timed `include`, and `[globals]` values that name a zone file (`TZ=Europe/Berlin`, used as
//! `${TZ}`; the same for a `Set(NAME=Area/City)` value). A zone reached only through another
//! variable at run time is not read then
//! (the call never waits on the disk): it is a warning and UTC, as an unknown zone is in
//! Asterisk (`main/stdtime/localtime.c`).
//!
//! Files come from `$TZDIR` or `/usr/share/zoneinfo`, at most [`MAX_ZONES`] of them, each at
//! most [`MAX_ZONE_FILE`] bytes.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::raw::{Loc, Section};
use super::values::Warnings;
use crate::tz::{zones::fixed_offset, zones::is_zone_name, Zone, Zones, MAX_ZONES, MAX_ZONE_FILE};

/// Where zone files are looked up: `$TZDIR` or Debian's `/usr/share/zoneinfo`.
pub fn zoneinfo_dir() -> PathBuf {
    match std::env::var_os("TZDIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/usr/share/zoneinfo"),
    }
}

/// The local zone and the zones `extensions` names, from `dir`; `tz` is `$TZ`.
pub fn read(extensions: &[Section], dir: &Path, tz: Option<&str>, w: &mut Warnings) -> Zones {
    let mut zones = Zones::new(local_zone(dir, tz));
    for (name, loc, literal) in zone_names(extensions) {
        if zones.contains(&name) {
            continue;
        }
        if zones.len() >= MAX_ZONES {
            w.at(
                &loc,
                format!("more than {MAX_ZONES} time zones; '{name}' is UTC"),
            );
            continue;
        }
        let read = is_zone_name(&name).then(|| read_file(&dir.join(&name)));
        match read {
            Some(Ok(z)) => {
                zones.insert(&name, z);
            }
            Some(Err(e)) if literal && Zone::from_posix(&name).is_err() => {
                w.at(&loc, format!("time zone '{name}': {e}; UTC is used"));
            }
            None if literal && Zone::from_posix(&name).is_err() => {
                w.at(&loc, format!("unknown time zone '{name}'; UTC is used"));
            }
            _ => {}
        }
    }
    zones
}

/// `$TZ` (`:path`, a zone name, or a POSIX TZ string), else `/etc/localtime`; UTC when
/// neither can be read, with a log line.
pub fn local_zone(dir: &Path, tz: Option<&str>) -> Zone {
    let (path, posix) = match tz.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => {
            let name = t.strip_prefix(':').unwrap_or(t);
            if name.starts_with('/') {
                (PathBuf::from(name), None)
            } else if is_zone_name(name) {
                (dir.join(name), Some(name))
            } else {
                return Zone::from_posix(name).unwrap_or_else(|e| {
                    log::warn!("TZ='{t}': {e}; local time is UTC");
                    Zone::default()
                });
            }
        }
        None => (PathBuf::from("/etc/localtime"), None),
    };
    match read_file(&path) {
        Ok(z) => z,
        Err(e) => match posix.map(Zone::from_posix) {
            Some(Ok(z)) => z,
            _ => {
                log::warn!("local time zone {}: {e}; local time is UTC", path.display());
                Zone::default()
            }
        },
    }
}

#[allow(clippy::disallowed_methods)] // the config reader reads zone files off the loop
fn read_file(path: &Path) -> Result<Zone, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ZONE_FILE as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() > MAX_ZONE_FILE {
        return Err(format!(
            "{} is larger than {MAX_ZONE_FILE} bytes",
            path.display()
        ));
    }
    Zone::from_tzif(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The zone names extensions.conf gives literally: (name, where, named in a zone argument
/// — false for a `[globals]` value that only looks like one).
pub fn zone_names(extensions: &[Section]) -> Vec<(String, Loc, bool)> {
    let mut out: Vec<(String, Loc, bool)> = Vec::new();
    let mut push = |name: &str, loc: &Loc, literal: bool| {
        let name = name.trim();
        let name = name.strip_prefix(':').unwrap_or(name);
        if name.is_empty() || name.contains('$') || fixed_offset(name).is_some() {
            return;
        }
        // Bounded: a dialplan of many `Set(A=b/c)` lines costs at most this many lookups.
        if out.len() < 4 * MAX_ZONES && !out.iter().any(|(n, _, _)| n == name) {
            out.push((name.to_string(), loc.clone(), literal));
        }
    };
    for sec in extensions {
        let globals = sec.name.eq_ignore_ascii_case("globals");
        for e in &sec.entries {
            if globals {
                if e.value.contains('/') && is_zone_name(e.value.trim()) {
                    push(&e.value, &e.loc, false);
                }
                continue;
            }
            if e.key.eq_ignore_ascii_case("include") {
                // ast_build_timing keeps a zone only with exactly five time fields.
                let f: Vec<&str> = e.value.split([',', '|']).collect();
                if f.len() == 6 {
                    push(f[5], &e.loc, true);
                }
                continue;
            }
            let upper = e.value.to_ascii_uppercase();
            // `Set(TZ=Europe/Berlin)` then `${STRFTIME(,${TZ})}`: a value that names a zone
            // file is read too (silently when there is no such file).
            for (at, _) in upper.match_indices("SET(") {
                let arg = e.value[at + 4..].split(')').next().unwrap_or("");
                if let Some((_, v)) = arg.split_once('=') {
                    if v.contains('/') && is_zone_name(v.trim()) {
                        push(v, &e.loc, false);
                    }
                }
            }
            for (marker, stop, field) in [
                ("STRFTIME(", ')', 1),
                ("SAYUNIXTIME(", ')', 1),
                ("DATETIME(", ')', 1),
                // GotoIfTime, ExecIfTime and IFTIME: times,days,dates,months,zone?...
                ("IFTIME(", '?', 4),
            ] {
                for (at, _) in upper.match_indices(marker) {
                    let args = &e.value[at + marker.len()..];
                    let args = args.split(stop).next().unwrap_or("");
                    let f: Vec<&str> = args.split([',', '|']).collect();
                    if field == 1 && f.len() > 1 || f.len() == 5 {
                        push(f[field], &e.loc, true);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> Vec<Section> {
        crate::config::reader::read_str_with("extensions.conf", text, None, &mut Vec::new())
            .expect("parses")
    }

    #[test]
    fn the_zones_a_dialplan_names() {
        let s = sections(
            "[globals]\nTZ=America/New_York\nX=foo/bar baz\n\
             [in]\n\
             exten => 1,1,Set(T=${STRFTIME(${EPOCH},Europe/Berlin,%H)})\n\
             same => n,SayUnixTime(,Asia/Tokyo,ABdY)\n\
             same => n,GotoIfTime(09:00-17:00,mon-fri,*,*,Europe/Paris?open)\n\
             same => n,ExecIfTime(*,*,*,*|Europe/London?NoOp())\n\
             same => n,Set(A=${IFTIME(*,*,*,*,Australia/Sydney?a:b)})\n\
             same => n,Set(B=${STRFTIME(,${ZONE},%H)})\n\
             same => n,Set(C=${STRFTIME(,UTC,%H)}${STRFTIME(,Europe/Berlin,%M)})\n\
             same => n,Set(__ZONE=Asia/Kolkata)\n\
             same => n,Set(X=SIP/peer)\n\
             include => day,08:00-18:00,*,*,*,Europe/Madrid\n\
             include => night\n",
        );
        let names: Vec<(String, bool)> =
            zone_names(&s).into_iter().map(|(n, _, l)| (n, l)).collect();
        let want = [
            ("America/New_York", false),
            ("Europe/Berlin", true),
            ("Asia/Tokyo", true),
            ("Europe/Paris", true),
            ("Europe/London", true),
            ("Australia/Sydney", true),
            ("Asia/Kolkata", false),
            ("SIP/peer", false),
            ("Europe/Madrid", true),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(n, l)| (n.to_string(), *l)).collect();
        assert_eq!(names, want);
    }

    /// A zone file of our own in a temporary zoneinfo directory: read at load, bad and
    /// missing zones are `file:line` warnings.
    #[test]
    #[allow(clippy::disallowed_methods)] // the test writes its own zoneinfo directory
    fn zones_are_read_from_the_zoneinfo_directory() {
        let dir = std::env::temp_dir().join(format!("sipbox-tz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("Test")).unwrap();
        // A version 1 file: always +03:00 "TST".
        let mut b = b"TZif".to_vec();
        b.extend([0u8; 16]);
        for n in [0u32, 0, 0, 0, 1, 4] {
            b.extend(n.to_be_bytes());
        }
        b.extend(10_800i32.to_be_bytes());
        b.extend([0, 0]);
        b.extend(b"TST\0");
        std::fs::write(dir.join("Test/Zone"), &b).unwrap();
        std::fs::write(dir.join("Test/Bad"), b"not a zone").unwrap();
        let s = sections(
            "[in]\nexten => 1,1,Set(A=${STRFTIME(,Test/Zone,%H)})\n\
             same => n,Set(B=${STRFTIME(,Test/Bad,%H)})\n\
             same => n,Set(C=${STRFTIME(,Test/Missing,%H)})\n\
             same => n,Set(D=${STRFTIME(,EST5EDT,%H)})\n\
             same => n,Set(E=${STRFTIME(,bad zone!,%H)})\n",
        );
        let mut w = Warnings::default();
        let zones = read(&s, &dir, Some("Test/Zone"), &mut w);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(zones.at("Test/Zone", 0).unwrap().offset, 10_800);
        assert_eq!(zones.at("Test/Zone", 0).unwrap().abbr.as_str(), "TST");
        assert_eq!(
            zones.at("", 0).unwrap().offset,
            10_800,
            "TZ names the local zone"
        );
        assert!(zones.at("Test/Bad", 0).is_err());
        assert_eq!(
            zones.at("EST5EDT", 0).unwrap().offset,
            -18_000,
            "a POSIX string"
        );
        let w = w.into_vec();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(
            w[0].starts_with("extensions.conf:3: time zone 'Test/Bad'"),
            "{w:?}"
        );
        assert!(
            w[1].starts_with("extensions.conf:4: time zone 'Test/Missing'"),
            "{w:?}"
        );
        assert!(
            w[2].starts_with("extensions.conf:6: unknown time zone 'bad zone!'"),
            "{w:?}"
        );
    }

    #[test]
    fn the_local_zone_from_tz() {
        let dir = Path::new("/nonexistent-zoneinfo");
        assert_eq!(local_zone(dir, Some("JST-9")).at(0).offset, 32_400);
        assert_eq!(local_zone(dir, Some("nonsense!")).at(0).offset, 0);
        assert_eq!(local_zone(dir, Some(":/nonexistent")).at(0).offset, 0);
        // A name that is also a POSIX string, with no file: the string.
        assert_eq!(local_zone(dir, Some("EST5")).at(0).offset, -18_000);
    }
}
