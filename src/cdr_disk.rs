//! The binary's CDR files: each record's `Master.csv` line (`sipbox::cdr::csv`) is appended
//! to `astlogdir/cdr-csv/Master.csv` and, with `accountlogs`, to `<accountcode>.csv` beside
//! it, as `cdr/cdr_csv.c` does (an accountcode with `/` or a leading `.` is refused). The
//! files are opened, appended and closed per batch of records, on the writer thread of
//! `store_disk.rs`, never on the loop.
//!
//! Local time (cdr_csv's default, `usegmtime=no`) comes from the TZif file of `$TZ` or
//! `/etc/localtime` (`sipbox::tz`: transitions and the POSIX footer), read on the first
//! record that needs it. A zone that cannot be read is UTC, said once in the log.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use sipbox::cdr::csv::{self, CsvOptions};
use sipbox::cdr::CdrRecord;
use sipbox::tz::Zone;
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
                self.zone.get_or_init(local_zone)
            };
            let Some(line) = csv::line(r, opts, &|t| zone.at(t).offset) else {
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
                        None => accounts.push((r.accountcode.to_string(), line)),
                    }
                }
            }
        }
        if master.is_empty() {
            return;
        }
        append(&self.dir, "Master.csv", &master);
        for (acct, text) in accounts {
            append(&self.dir, &format!("{acct}.csv"), &text);
        }
    }
}

/// Appends `text` to `dir/name`, creating the directory only when it is missing (as
/// cdr_csv's fopen "a" per record: a file logrotate moved away is started afresh), so a
/// batch costs an open, a write and a close, not also a mkdir and a stat.
#[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line: the disk
fn append(dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(name);
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    };
    let file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir_all(dir) {
            Ok(()) => open(),
            Err(e) => {
                log::error!("CDR: cannot create {}: {e}", dir.display());
                return;
            }
        },
        other => other,
    };
    if let Err(e) = file.and_then(|mut f| f.write_all(text.as_bytes())) {
        log::error!("CDR: unable to write {}: {e}", path.display());
    }
}

/// The local zone (`$TZ`, else `/etc/localtime`), read by the library's TZif reader.
fn local_zone() -> Zone {
    let tz = std::env::var("TZ").ok();
    sipbox::config::zones::local_zone(&sipbox::config::zones::zoneinfo_dir(), tz.as_deref())
}
