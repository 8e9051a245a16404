//! Where sipbox keeps what is not configuration: the control socket, the database, logs and
//! CDRs, the spool (voicemail, recordings) and data (music on hold), named as Asterisk names
//! them in `asterisk.conf` (`main/asterisk.c` `ast_readconfig`, `configs/samples/asterisk.conf.sample`).
//!
//! `[directories]` and `[files]` come from `sipbox.conf` in the config directory, or, when an
//! admin copied an Asterisk config directory over and there is no `sipbox.conf`, from its
//! `asterisk.conf`. As in Asterisk, a template section (`[directories](!)`, how Asterisk's own
//! sample ships) is ignored and the built-in defaults apply. Relative paths are taken relative
//! to the config directory (Asterisk would take them relative to its working directory, which
//! a daemon does not choose). `astagidir` is where `AGI(name)` finds a relative script name
//! (Debian's default `/usr/share/sipbox/agi-bin`). Options Asterisk has that name its own
//! program's places (`astmoddir`, `astsbindir`, `astkeydir`, `astcachedir`, `astetcdir`,
//! `astvarlibdir`) are accepted quietly: sipbox has no modules or keys.

use super::raw::{Entry, Section};
use super::values::Warnings;
use std::path::{Path, PathBuf};

/// The directories and the control socket file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directories {
    /// `astrundir`: the control socket (and nothing else).
    pub run: PathBuf,
    /// `astdbdir`: `astdb.sqlite3` (AstDB) and the store of registrations.
    pub db: PathBuf,
    /// `astlogdir`: logs and `cdr-csv/`.
    pub log: PathBuf,
    /// `astspooldir`: `voicemail/`, `monitor/`.
    pub spool: PathBuf,
    /// `astdatadir`: `moh/`, `sounds/`.
    pub data: PathBuf,
    /// `astagidir`: AGI scripts named without a leading `/`.
    pub agi: PathBuf,
    /// `[files] astctl`: the control socket's path (a bare name lives in `run`).
    pub ctl: PathBuf,
    /// `[files] astctlpermissions`: the socket's mode (default 0660).
    pub ctl_mode: u32,
    /// `[files] astctlowner` / `astctlgroup`, as written (applied by the driver when it can).
    pub ctl_owner: Option<String>,
    /// See `ctl_owner`.
    pub ctl_group: Option<String>,
}

/// The socket file's name when `[files] astctl` does not say.
pub const CTL_NAME: &str = "sipbox.ctl";

impl Directories {
    /// Debian's places for an installed sipbox: `/run/sipbox`, `/var/lib/sipbox`,
    /// `/var/log/sipbox`, `/var/spool/sipbox`, `/usr/share/sipbox`.
    pub fn debian() -> Directories {
        Directories::with(
            "/run/sipbox".into(),
            "/var/lib/sipbox".into(),
            "/var/log/sipbox".into(),
            "/var/spool/sipbox".into(),
            "/usr/share/sipbox".into(),
        )
    }

    /// Everything under one directory (`run/`, `db/`, `log/`, `spool/`, `data/`): what the
    /// embedded example config uses, in a place an unprivileged user may write.
    pub fn under(base: &Path) -> Directories {
        Directories::with(
            base.join("run"),
            base.join("db"),
            base.join("log"),
            base.join("spool"),
            base.join("data"),
        )
    }

    fn with(run: PathBuf, db: PathBuf, log: PathBuf, spool: PathBuf, data: PathBuf) -> Self {
        Directories {
            agi: data.join("agi-bin"),
            ctl: run.join(CTL_NAME),
            run,
            db,
            log,
            spool,
            data,
            ctl_mode: 0o660,
            ctl_owner: None,
            ctl_group: None,
        }
    }

    /// Applies `[directories]` and `[files]` of `sections` (sipbox.conf or asterisk.conf)
    /// over `self`; `dir` is the config directory relative paths start from.
    pub fn apply(mut self, sections: &[Section], dir: &Path, warnings: &mut Warnings) -> Self {
        let mut ctl_name = None;
        for s in sections {
            if s.name.eq_ignore_ascii_case("directories") {
                for e in &s.entries {
                    let path = || dir.join(e.value.as_str());
                    match e.key.to_ascii_lowercase().as_str() {
                        _ if e.value.is_empty() => warnings.at(&e.loc, "empty path ignored"),
                        "astrundir" => self.run = path(),
                        "astdbdir" => self.db = path(),
                        "astlogdir" => self.log = path(),
                        "astspooldir" => self.spool = path(),
                        "astdatadir" => self.data = path(),
                        "astagidir" => self.agi = path(),
                        "astmoddir" | "astsbindir" | "astkeydir" | "astcachedir" | "astetcdir"
                        | "astvarlibdir" => {}
                        _ => warnings.unknown(e),
                    }
                }
            } else if s.name.eq_ignore_ascii_case("files") {
                for e in &s.entries {
                    match e.key.to_ascii_lowercase().as_str() {
                        "astctl" if !e.value.is_empty() => ctl_name = Some(e.value.clone()),
                        "astctlpermissions" => match mode_of(e) {
                            Some(m) => self.ctl_mode = m,
                            None => warnings.at(
                                &e.loc,
                                format!("astctlpermissions '{}' is not an octal mode", e.value),
                            ),
                        },
                        "astctlowner" => self.ctl_owner = Some(e.value.to_string()),
                        "astctlgroup" => self.ctl_group = Some(e.value.to_string()),
                        _ => warnings.unknown(e),
                    }
                }
            }
        }
        // astctl is a file name in astrundir (an absolute one stands alone), read after
        // astrundir wherever the two lines are.
        self.ctl = self.run.join(ctl_name.as_deref().unwrap_or(CTL_NAME));
        self
    }
}

impl Directories {
    /// Only the directories of a config dir (`sipbox.conf`, else `asterisk.conf`, else
    /// Debian's), or with `None` those of the embedded config under `embedded_base`: what
    /// `sipbox -r` / `-rx` need to find the control socket without reading sip.conf.
    pub fn load(
        dir: Option<&Path>,
        embedded_base: &Path,
    ) -> Result<Directories, super::ConfigError> {
        let Some(dir) = dir else {
            return Ok(Directories::under(embedded_base));
        };
        // The config reader may look at the disk.
        #[allow(clippy::disallowed_methods)]
        let name = ["sipbox.conf", "asterisk.conf"]
            .into_iter()
            .find(|n| dir.join(n).exists());
        let sections = match name {
            Some(n) => super::reader::read_file(dir, n)?,
            None => Vec::new(),
        };
        let mut w = Warnings::default();
        Ok(Directories::debian().apply(&sections, dir, &mut w))
    }
}

fn mode_of(e: &Entry) -> Option<u32> {
    u32::from_str_radix(e.value.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader;

    fn dirs(text: &str) -> (Directories, Vec<String>) {
        let sections = reader::read_str("sipbox.conf", text, None).unwrap();
        let mut w = Warnings::default();
        let d = Directories::debian().apply(&sections, Path::new("/etc/sipbox"), &mut w);
        (d, w.into_vec())
    }

    #[test]
    fn defaults_are_debian() {
        let (d, w) = dirs("");
        assert_eq!(d, Directories::debian());
        assert_eq!(d.ctl, PathBuf::from("/run/sipbox/sipbox.ctl"));
        assert_eq!(d.ctl_mode, 0o660);
        assert_eq!(d.agi, PathBuf::from("/usr/share/sipbox/agi-bin"));
        assert!(w.is_empty());
    }

    #[test]
    fn asterisk_names_and_relative_paths() {
        let (d, w) = dirs(
            "[directories]\nastrundir => /var/run/asterisk\nastdbdir => db\nastlogdir => /l\n\
             astspooldir => /s\nastdatadir => /d\nastmoddir => /usr/lib/asterisk/modules\n\
             astagidir => agi\n[files]\nastctl = asterisk.ctl\nastctlpermissions = 0600\nastctlgroup = apache\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(d.run, PathBuf::from("/var/run/asterisk"));
        assert_eq!(d.db, PathBuf::from("/etc/sipbox/db"));
        assert_eq!(d.log, PathBuf::from("/l"));
        assert_eq!(d.spool, PathBuf::from("/s"));
        assert_eq!(d.data, PathBuf::from("/d"));
        assert_eq!(d.agi, PathBuf::from("/etc/sipbox/agi"));
        assert_eq!(d.ctl, PathBuf::from("/var/run/asterisk/asterisk.ctl"));
        assert_eq!(d.ctl_mode, 0o600);
        assert_eq!(d.ctl_group.as_deref(), Some("apache"));
    }

    #[test]
    fn template_directories_are_ignored_as_in_asterisk() {
        // Asterisk's own asterisk.conf.sample ships `[directories](!)` so that it does not
        // override the built-in defaults.
        let (d, _) = dirs("[directories](!)\nastrundir => /var/run/asterisk\n");
        assert_eq!(d, Directories::debian());
    }

    #[test]
    fn bad_values_warn_with_file_line() {
        let (d, w) = dirs("[directories]\nastfoo => /x\n[files]\nastctlpermissions = rw\n");
        assert_eq!(d, Directories::debian());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("sipbox.conf:2:"), "{w:?}");
        assert!(w[1].starts_with("sipbox.conf:4:"), "{w:?}");
    }

    #[test]
    fn absolute_astctl_stands_alone() {
        let (d, _) = dirs("[files]\nastctl = /tmp/x.ctl\n[directories]\nastrundir = /r\n");
        assert_eq!(d.ctl, PathBuf::from("/tmp/x.ctl"));
        assert_eq!(d.run, PathBuf::from("/r"));
    }
}
