//! The binary's CDR files: each record's `Master.csv` line (`sipbox::cdr::csv`) is appended
//! to `astlogdir/cdr-csv/Master.csv` and, with `accountlogs`, to `<accountcode>.csv` beside
//! it, as `cdr/cdr_csv.c` does (an accountcode with `/` or a leading `.` is refused). The
//! files are opened, appended and closed per batch of records, on the writer thread of
//! `store_disk.rs`, never on the loop.
//!
//! Local time (cdr_csv's default, `usegmtime=no`) comes from the TZif file of `$TZ` or
//! `/etc/localtime`, read once at start; its transitions (64-bit block when present) give
//! the offset at each record's time. A zone that cannot be read is UTC, said once in the log.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use sipbox::cdr::csv::{self, CsvOptions};
use sipbox::cdr::CdrRecord;
use std::io::Write;
use std::path::PathBuf;

/// Where records are written. How (cdr.conf `[csv]`) comes with each record: a reload
/// applies to the records of calls that arrive after it.
pub struct CdrSink {
    dir: PathBuf,
    /// The local zone, read on the first record that needs it (`usegmtime=no`).
    zone: std::cell::OnceCell<Zone>,
}

impl CdrSink {
    /// A sink writing into `dir` (created on the first record).
    pub fn new(dir: PathBuf) -> CdrSink {
        CdrSink {
            dir,
            zone: std::cell::OnceCell::new(),
        }
    }

    /// Appends the records' lines (one open, write and close per file per batch).
    #[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: the disk
    pub fn write(&self, records: &[(CdrRecord, CsvOptions)]) {
        let mut master = String::new();
        let mut accounts: Vec<(String, String)> = Vec::new();
        let utc = Zone::default();
        for (r, opts) in records {
            let zone = if opts.usegmtime {
                &utc
            } else {
                self.zone.get_or_init(Zone::local)
            };
            let Some(line) = csv::line(r, opts, &|t| zone.offset_at(t)) else {
                log::warn!("CDR: unable to create CSV record in 1024 bytes; CDR not recorded");
                continue;
            };
            master.push_str(&line);
            if opts.accountlogs && !r.accountcode.is_empty() {
                if r.accountcode.contains('/') || r.accountcode.starts_with('.') {
                    log::warn!(
                        "CDR: account code '{}' insecure for writing file",
                        r.accountcode
                    );
                } else {
                    match accounts.iter_mut().find(|(a, _)| *a == r.accountcode) {
                        Some((_, text)) => text.push_str(&line),
                        None => accounts.push((r.accountcode.clone(), line)),
                    }
                }
            }
        }
        if master.is_empty() {
            return;
        }
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            log::error!("CDR: cannot create {}: {e}", self.dir.display());
            return;
        }
        append(&self.dir.join("Master.csv"), &master);
        for (acct, text) in accounts {
            append(&self.dir.join(format!("{acct}.csv")), &text);
        }
    }
}

#[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: the disk
fn append(path: &std::path::Path, text: &str) {
    let r = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = r {
        log::error!("CDR: unable to write {}: {e}", path.display());
    }
}

/// A time zone as TZif transitions: (from Unix time, offset east of UTC).
#[derive(Default)]
struct Zone {
    transitions: Vec<(i64, i64)>,
    /// Before the first transition.
    initial: i64,
}

impl Zone {
    /// `$TZ` (`:Area/City`, `Area/City`, a path) or `/etc/localtime`.
    #[allow(clippy::disallowed_methods)] // the binary reads the zone file once at start
    fn local() -> Zone {
        let path = match std::env::var("TZ") {
            Ok(tz) if !tz.trim().is_empty() => {
                let tz = tz.trim().trim_start_matches(':').to_string();
                if tz.starts_with('/') {
                    PathBuf::from(tz)
                } else {
                    PathBuf::from("/usr/share/zoneinfo").join(tz)
                }
            }
            _ => PathBuf::from("/etc/localtime"),
        };
        match std::fs::read(&path).ok().and_then(|b| parse_tzif(&b)) {
            Some(z) => z,
            None => {
                log::warn!(
                    "CDR: cannot read the time zone {}; CSV times are UTC",
                    path.display()
                );
                Zone::default()
            }
        }
    }

    fn offset_at(&self, t: i64) -> i64 {
        match self.transitions.partition_point(|(at, _)| *at <= t) {
            0 => self.initial,
            i => self.transitions[i - 1].1,
        }
    }
}

/// Reads a TZif file (RFC 8536): the 64-bit block of version 2+, else the 32-bit one.
fn parse_tzif(b: &[u8]) -> Option<Zone> {
    let (v1, rest) = block(b, 4)?;
    match b.get(4) {
        Some(b'2'..=b'9') => block(rest, 8).map(|(z, _)| z),
        _ => Some(v1),
    }
}

/// One header and data block with `size`-byte times; the zone and what follows.
fn block(b: &[u8], size: usize) -> Option<(Zone, &[u8])> {
    if b.get(..4)? != b"TZif" {
        return None;
    }
    let n = |i: usize| -> Option<usize> {
        let s = b.get(20 + 4 * i..24 + 4 * i)?;
        Some(u32::from_be_bytes(s.try_into().ok()?) as usize)
    };
    let (isut, isstd, leap, time, typ, chars) = (n(0)?, n(1)?, n(2)?, n(3)?, n(4)?, n(5)?);
    let times = b.get(44..44 + time * size)?;
    let idx = b.get(44 + time * size..44 + time * (size + 1))?;
    let types_at = 44 + time * (size + 1);
    let types = b.get(types_at..types_at + typ * 6)?;
    let end = types_at + typ * 6 + chars + leap * (size + 4) + isstd + isut;
    let utoff = |i: usize| -> Option<i64> {
        let t = types.get(i * 6..i * 6 + 4)?;
        Some(i64::from(i32::from_be_bytes(t.try_into().ok()?)))
    };
    let mut transitions = Vec::with_capacity(time);
    for i in 0..time {
        let raw = times.get(i * size..(i + 1) * size)?;
        let at = if size == 8 {
            i64::from_be_bytes(raw.try_into().ok()?)
        } else {
            i64::from(i32::from_be_bytes(raw.try_into().ok()?))
        };
        transitions.push((at, utoff(usize::from(*idx.get(i)?))?));
    }
    let initial = utoff(0).unwrap_or(0);
    Some((
        Zone {
            transitions,
            initial,
        },
        b.get(end..)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn a_tzif_zone_gives_summer_and_winter_offsets() {
        let Ok(b) = std::fs::read("/usr/share/zoneinfo/Europe/Paris") else {
            return; // no tzdata here: nothing to read
        };
        let z = parse_tzif(&b).expect("tzif");
        assert_eq!(z.offset_at(1_767_225_600), 3600, "January: CET");
        assert_eq!(z.offset_at(1_782_864_000), 7200, "July: CEST");
    }
}
