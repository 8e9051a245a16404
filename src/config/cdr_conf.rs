//! cdr.conf: whether and which call records are written (`[general]`) and how the CSV
//! backend writes them (`[csv]`), with Asterisk's defaults (`main/cdr.c` `DEFAULT_*`,
//! `cdr/cdr_csv.c` `load_config`).
//!
//! Without a cdr.conf sipbox writes `Master.csv` with the defaults (its one backend; Asterisk
//! needs the file). With a cdr.conf, CSV records are written only when it has a `[csv]`
//! section, as cdr_csv declines to load without one. Other backends' sections are warned
//! about: sipbox has only the CSV one.

use super::raw::Section;
use super::values::{bool_of, Warnings};
pub use crate::cdr::csv::CsvOptions;

/// Typed cdr.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrConf {
    /// `enable` (yes): no records at all with `no`.
    pub enable: bool,
    /// `unanswered` (no): also write unanswered records that have no callee (calls that
    /// never reached a Dial's callee).
    pub unanswered: bool,
    /// `congestion` (no): CONGESTION rather than FAILED for congested calls.
    pub congestion: bool,
    /// `endbeforehexten` (yes): the `h` extension's applications do not change the record.
    pub end_before_h_exten: bool,
    /// `initiatedseconds` (no): billsec rounds a started second of at least 500 ms up.
    pub initiated_seconds: bool,
    /// `batch` (no): accepted; sipbox's writes are always batched behind the loop.
    pub batch: bool,
    /// `[csv]`: None when cdr.conf has no such section.
    pub csv: Option<CsvOptions>,
}

impl Default for CdrConf {
    fn default() -> Self {
        CdrConf {
            enable: true,
            unanswered: false,
            congestion: false,
            end_before_h_exten: true,
            initiated_seconds: false,
            batch: false,
            csv: Some(CsvOptions::default()),
        }
    }
}

/// Backends Asterisk has and sipbox does not.
const OTHER_BACKENDS: &[&str] = &[
    "custom",
    "manager",
    "odbc",
    "pgsql",
    "radius",
    "sqlite",
    "tds",
    "mysql",
    "adaptive_odbc",
    "beanstalkd",
];

impl CdrConf {
    /// The settings of cdr.conf's sections (None: there is no cdr.conf).
    pub fn from_sections(sections: Option<&[Section]>, warnings: &mut Warnings) -> CdrConf {
        let mut c = CdrConf::default();
        let Some(sections) = sections else {
            return c;
        };
        c.csv = None;
        for s in sections {
            let name = s.name.to_ascii_lowercase();
            match name.as_str() {
                "general" => c.general(s, warnings),
                "csv" => c.csv = Some(csv(s, warnings)),
                n if OTHER_BACKENDS.contains(&n) => warnings.at(
                    &s.loc,
                    format!("cdr.conf [{}]: sipbox writes CSV records only", s.name),
                ),
                _ => warnings.at(&s.loc, format!("section [{}] ignored", s.name)),
            }
        }
        c
    }

    fn general(&mut self, s: &Section, warnings: &mut Warnings) {
        for e in &s.entries {
            let flag = match e.key.to_ascii_lowercase().as_str() {
                "enable" => &mut self.enable,
                "unanswered" => &mut self.unanswered,
                "congestion" => &mut self.congestion,
                "endbeforehexten" => &mut self.end_before_h_exten,
                "initiatedseconds" => &mut self.initiated_seconds,
                "batch" => &mut self.batch,
                // Batch sizes and threads: the writer thread batches whatever is queued.
                "size"
                | "time"
                | "scheduleronly"
                | "safeshutdown"
                | "debug"
                | "channeldefaultenabled"
                | "ignorestatechanges"
                | "ignoredialchanges" => continue,
                _ => {
                    warnings.at(&e.loc, format!("unknown cdr.conf option '{}'", e.key));
                    continue;
                }
            };
            match bool_of(e) {
                Ok(b) => *flag = b,
                Err(err) => warnings.ignored(err),
            }
        }
    }
}

fn csv(s: &Section, warnings: &mut Warnings) -> CsvOptions {
    let mut o = CsvOptions::default();
    for e in &s.entries {
        let flag = match e.key.to_ascii_lowercase().as_str() {
            "usegmtime" => &mut o.usegmtime,
            "loguniqueid" => &mut o.loguniqueid,
            "loguserfield" => &mut o.loguserfield,
            "accountlogs" => &mut o.accountlogs,
            _ => {
                warnings.at(&e.loc, format!("unknown [csv] option '{}'", e.key));
                continue;
            }
        };
        match bool_of(e) {
            Ok(b) => *flag = b,
            Err(err) => warnings.ignored(err),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader;

    fn conf(text: &str) -> (CdrConf, Vec<String>) {
        let mut raw = Vec::new();
        let s = reader::read_str_with("cdr.conf", text, None, &mut raw).unwrap();
        let mut w = Warnings::default();
        let c = CdrConf::from_sections(Some(&s), &mut w);
        (c, w.into_vec())
    }

    #[test]
    fn asterisk_defaults_and_options() {
        let none = CdrConf::from_sections(None, &mut Warnings::default());
        assert_eq!(none, CdrConf::default());
        let (c, w) = conf("[general]\nenable=yes\nunanswered=yes\nbatch=yes\nsize=100\n");
        assert!(c.unanswered && c.batch && c.end_before_h_exten);
        assert_eq!(c.csv, None, "no [csv] section: cdr_csv declines");
        assert!(w.is_empty(), "{w:?}");
        let (c, w) = conf("[csv]\nusegmtime=yes\nloguniqueid=yes\nbogus=1\n[mysql]\n");
        let csv = c.csv.unwrap();
        assert!(csv.usegmtime && csv.loguniqueid && !csv.loguserfield && csv.accountlogs);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("cdr.conf:4:"), "{w:?}");
    }
}
