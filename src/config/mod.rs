//! Asterisk-dialect configuration, read once at start (and on reload) into typed settings.
//!
//! - [`reader`]: the dialect (sections, `=>`, templates, `#include`) into [`raw::Section`]s
//!   with a `file:line` on every entry; [`comments`]: `;`, `\;` and `;-- --;` as config.c
//!   scans them; [`files`]: the reader's file access and `#include` wildcards;
//! - [`sip_conf`] (with [`sip_general`], [`sip_peer`], [`sip_values`]): typed sip.conf;
//! - [`rtp_conf`]: typed rtp.conf; [`http_conf`]: the status page's http.conf;
//! - [`acl`]: permit/deny lists; [`codec`]: allow/disallow lists; [`values`]: shared value
//!   parsers and the warning collector; [`quiet`]: chan_sip options sipbox does not act on.
//!
//! extensions.conf is only read into sections here; the dialplan builds its model from them.
//! What Asterisk refuses (a line before any `[section]`, a missing `#include`, ...) stops
//! start-up with a [`ConfigError`] naming `file:line`; what Asterisk logs and skips (a bad
//! option value, a malformed `register =>`, an unknown `#` directive) is a `file:line` warning
//! in [`Config::warnings`] and that option, line or entry is ignored. Options sipbox does not
//! know are warnings; Asterisk options that change nothing observable here are accepted
//! quietly (see `quiet.rs`).

pub mod acl;
pub mod aside;
pub mod ban;
pub mod cdr_conf;
pub mod codec;
pub mod comments;
pub mod directories;
pub mod features_conf;
pub mod files;
pub mod groups;
pub mod http_conf;
pub mod indications;
pub mod meetme_conf;
pub mod moh_conf;
pub mod nocase;
pub mod parking_conf;
pub mod queues_conf;
pub mod quiet;
pub mod raw;
pub mod reader;
pub mod register_line;
pub mod rtp_conf;
mod scan;
pub mod settings;
pub mod sip_conf;
pub mod sip_dialling;
pub mod sip_general;
pub mod sip_identity;
pub mod sip_message;
pub mod sip_nat;
pub mod sip_outbound;
pub mod sip_peer;
mod sip_peer_memo;
pub mod sip_presence;
pub mod sip_session_timers;
pub mod sip_values;
pub mod text;
pub mod values;
pub mod zones;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub use directories::Directories;
pub use raw::{ConfigError, Entry, Loc, Section, Text};
pub use rtp_conf::RtpConf;
pub use sip_conf::SipConf;

use values::Warnings;

/// The sip.conf compiled into the binary, used when no config directory is given.
pub const EXAMPLE_SIP_CONF: &str = include_str!("../../sip.conf.example");
/// The extensions.conf compiled into the binary.
pub const EXAMPLE_EXTENSIONS_CONF: &str = include_str!("../../extensions.conf.example");
/// The rtp.conf example shipped beside the others (the built-in config uses its defaults).
pub const EXAMPLE_RTP_CONF: &str = include_str!("../../rtp.conf.example");
/// The http.conf compiled into the binary: the status page on 127.0.0.1:8088.
pub const EXAMPLE_HTTP_CONF: &str = include_str!("../../http.conf.example");

/// Where a [`Config`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// Files in this directory.
    Dir(PathBuf),
    /// The examples compiled into the binary.
    Embedded,
}

/// Everything read at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Typed sip.conf.
    pub sip: SipConf,
    /// Typed rtp.conf (defaults when the file is absent).
    pub rtp: RtpConf,
    /// extensions.conf as sections in file order; repeated contexts are separate sections
    /// for the dialplan to merge.
    pub extensions: Vec<Section>,
    /// Where it was read from (a reload reads the same place).
    pub source: ConfigSource,
    /// Where the socket, database, logs and spool live (`sipbox.conf` or `asterisk.conf`).
    pub dirs: Directories,
    /// Typed cdr.conf (defaults when the file is absent).
    pub cdr: cdr_conf::CdrConf,
    /// Typed voicemail.conf (defaults and no mailboxes when the file is absent).
    pub voicemail: crate::voicemail::VoicemailConf,
    /// Where voicemail.conf was read from (password changes are written back there).
    pub voicemail_file: Option<PathBuf>,
    /// musiconhold.conf (optional; without it, class `default` under `<astdatadir>/moh`).
    pub moh: moh_conf::MohConf,
    /// features.conf (optional; Asterisk's defaults without it).
    pub features: features_conf::FeaturesConf,
    /// Parking lots (features.conf `[general]` and res_parking.conf; the default lot only
    /// without them).
    pub parking: parking_conf::ParkingConf,
    /// http.conf (optional; no listener without it).
    pub http: http_conf::HttpConf,
    /// queues.conf (optional; no queues without it).
    pub queues: queues_conf::QueuesConf,
    /// The local time zone and the zones extensions.conf names (`zones.rs`; UTC only for
    /// [`load_str`]).
    pub zones: crate::tz::Zones,
    /// indications.conf (optional; without it PlayTones has the built-in US tones).
    pub indications: indications::Indications,
    /// meetme.conf and confbridge.conf (both optional).
    pub conference: meetme_conf::ConferenceConf,
    /// `file:line: ...` messages about options that were ignored, in file order.
    pub warnings: Vec<String>,
}

/// Loads `dir/sip.conf` and `dir/extensions.conf` (both required), `dir/rtp.conf`
/// (optional) and the directories of `dir/sipbox.conf` or else `dir/asterisk.conf`
/// (optional; Debian's places by default), or with `None` the built-in examples, whose
/// directories are all under `embedded_base`.
pub fn load(dir: Option<&Path>, embedded_base: &Path) -> Result<Config, ConfigError> {
    match dir {
        // sip.conf, the file that grows with the users, is read aside (`aside.rs`).
        Some(d) => aside::with_sections(d, "sip.conf", |read, w| {
            load_with(dir, embedded_base, Some((read, w)))
        }),
        None => load_with(None, embedded_base, None),
    }
}

/// sip.conf's sections as read aside, and that read's warnings.
type ReadAside<'a> = (Result<&'a [Section], &'a ConfigError>, &'a [String]);

/// [`load`], with a directory's sip.conf already read (`None`: read it here).
fn load_with(
    dir: Option<&Path>,
    embedded_base: &Path,
    sip_aside: Option<ReadAside<'_>>,
) -> Result<Config, ConfigError> {
    let mut raw = Vec::new();
    let mut cdr_sections = None;
    let mut features_sections = None;
    let mut parking_sections = None;
    let mut indications_sections = None;
    let mut conference_sections = (None, None);
    let mut queues_sections = None;
    let http_sections;
    let (sip_sections, extensions, rtp_sections, source, dir_sections, moh_sections) = match dir {
        Some(dir) => {
            // The config reader may look at the disk: rtp.conf is optional.
            #[allow(clippy::disallowed_methods)]
            let optional = |name: &str, raw: &mut Vec<String>| {
                if dir.join(name).exists() {
                    reader::read_file_with(dir, name, raw).map(Some)
                } else {
                    Ok(None)
                }
            };
            let rtp = optional("rtp.conf", &mut raw)?.unwrap_or_default();
            cdr_sections = optional("cdr.conf", &mut raw)?;
            let moh = optional("musiconhold.conf", &mut raw)?;
            features_sections = optional("features.conf", &mut raw)?;
            parking_sections = optional("res_parking.conf", &mut raw)?;
            http_sections = optional("http.conf", &mut raw)?;
            indications_sections = optional("indications.conf", &mut raw)?;
            conference_sections = (
                optional("meetme.conf", &mut raw)?,
                optional("confbridge.conf", &mut raw)?,
            );
            queues_sections = optional("queues.conf", &mut raw)?;
            let dirs = match optional("sipbox.conf", &mut raw)? {
                Some(s) => s,
                None => optional("asterisk.conf", &mut raw)?.unwrap_or_default(),
            };
            let sip = match sip_aside {
                Some((read, warnings)) => {
                    // Copies: the originals are freed where they were read.
                    raw.extend(warnings.iter().cloned());
                    Cow::Borrowed(read.map_err(Clone::clone)?)
                }
                None => Cow::Owned(reader::read_file_with(dir, "sip.conf", &mut raw)?),
            };
            (
                sip,
                reader::read_file_with(dir, "extensions.conf", &mut raw)?,
                rtp,
                ConfigSource::Dir(dir.to_path_buf()),
                dirs,
                moh,
            )
        }
        None => {
            http_sections = Some(reader::read_str_with(
                "http.conf (built-in)",
                EXAMPLE_HTTP_CONF,
                None,
                &mut raw,
            )?);
            (
                Cow::Owned(reader::read_str_with(
                    "sip.conf (built-in)",
                    EXAMPLE_SIP_CONF,
                    None,
                    &mut raw,
                )?),
                reader::read_str_with(
                    "extensions.conf (built-in)",
                    EXAMPLE_EXTENSIONS_CONF,
                    None,
                    &mut raw,
                )?,
                Vec::new(),
                ConfigSource::Embedded,
                Vec::new(),
                None,
            )
        }
    };
    let mut warnings = Warnings::default();
    let dirs = match dir {
        Some(d) => Directories::debian().apply(&dir_sections, d, &mut warnings),
        None => Directories::under(embedded_base),
    };
    let cdr = cdr_conf::CdrConf::from_sections(cdr_sections.as_deref(), &mut warnings);
    let http = http_conf::HttpConf::from_sections(http_sections.as_deref(), &mut warnings);
    raw.extend(warnings.into_vec());
    let (vm_sections, voicemail_file) = match dir {
        Some(d) => {
            #[allow(clippy::disallowed_methods)] // the config reader may look at the disk
            let exists = d.join("voicemail.conf").exists();
            if exists {
                let s = reader::read_file_with(d, "voicemail.conf", &mut raw)?;
                (s, Some(d.join("voicemail.conf")))
            } else {
                (Vec::new(), None)
            }
        }
        None => (Vec::new(), None),
    };
    let mut cfg = build(&sip_sections, extensions, rtp_sections, source, dirs, raw)?;
    // The entries' places name the files with copies of their own (see `aside.rs`).
    cfg.sip.own_file_names();
    cfg.cdr = cdr;
    cfg.http = http;
    let mut w = Warnings::default();
    cfg.voicemail = crate::voicemail::VoicemailConf::from_sections(&vm_sections, &mut w);
    cfg.voicemail_file = voicemail_file;
    cfg.warnings.extend(w.into_vec());
    if let Some(sections) = features_sections {
        let mut w = Warnings::default();
        cfg.features = features_conf::FeaturesConf::from_sections(&sections, &mut w);
        cfg.parking.apply_features(&sections, &mut w);
        cfg.warnings.extend(w.into_vec());
    }
    if let Some(sections) = parking_sections {
        let mut w = Warnings::default();
        cfg.parking.apply_res_parking(&sections, &mut w);
        cfg.warnings.extend(w.into_vec());
    }
    if let Some(sections) = moh_sections {
        let mut w = Warnings::default();
        cfg.moh = moh_conf::MohConf::from_sections(&sections, &mut w);
        cfg.warnings.extend(w.into_vec());
    }
    if let Some(sections) = indications_sections {
        let mut w = Warnings::default();
        cfg.indications = indications::Indications::from_sections(&sections, &mut w);
        cfg.warnings.extend(w.into_vec());
    }
    if let Some(sections) = queues_sections {
        let mut w = Warnings::default();
        cfg.queues = queues_conf::QueuesConf::from_sections(&sections, &mut w);
        cfg.warnings.extend(w.into_vec());
    }
    let mut w = Warnings::default();
    if let Some(sections) = &conference_sections.0 {
        cfg.conference.apply_meetme(sections, &mut w);
    }
    if let Some(sections) = &conference_sections.1 {
        cfg.conference.apply_confbridge(sections, &mut w);
    }
    let tz = std::env::var("TZ").ok();
    cfg.zones = zones::read(
        &cfg.extensions,
        &zones::zoneinfo_dir(),
        tz.as_deref(),
        &mut w,
    );
    cfg.warnings.extend(w.into_vec());
    Ok(cfg)
}

/// Builds a config from texts (tests, and embedding in other programs): `sip` and
/// `extensions` as the two files would hold them, `rtp` optional. `#include` is not available.
pub fn load_str(sip: &str, extensions: &str, rtp: Option<&str>) -> Result<Config, ConfigError> {
    let mut raw = Vec::new();
    let sip_sections = reader::read_str_with("sip.conf", sip, None, &mut raw)?;
    let extensions = reader::read_str_with("extensions.conf", extensions, None, &mut raw)?;
    let rtp_sections = match rtp {
        Some(text) => reader::read_str_with("rtp.conf", text, None, &mut raw)?,
        None => Vec::new(),
    };
    build(
        &sip_sections,
        extensions,
        rtp_sections,
        ConfigSource::Embedded,
        Directories::under(Path::new("sipbox-state")),
        raw,
    )
}

/// The typed layers over what the reader produced; `raw` holds the reader's warnings.
fn build(
    sip: &[Section],
    extensions: Vec<Section>,
    rtp: Vec<Section>,
    source: ConfigSource,
    dirs: Directories,
    raw: Vec<String>,
) -> Result<Config, ConfigError> {
    let mut warnings = Warnings::default();
    warnings.extend_lines(raw);
    Ok(Config {
        sip: SipConf::from_sections(sip, &mut warnings)?,
        rtp: RtpConf::from_sections(&rtp, &mut warnings)?,
        extensions,
        source,
        dirs,
        cdr: cdr_conf::CdrConf::default(),
        voicemail: Default::default(),
        voicemail_file: None,
        moh: moh_conf::MohConf::default(),
        features: Default::default(),
        parking: Default::default(),
        http: Default::default(),
        queues: Default::default(),
        zones: Default::default(),
        indications: Default::default(),
        conference: Default::default(),
        warnings: warnings.into_vec(),
    })
}

impl Config {
    /// extensions.conf's sections and the extensions the parking lots make (res_parking's
    /// `parkext` and positions), which merge into contexts of the same name: what the
    /// dialplan is built from.
    pub fn dialplan_sections(&self) -> Vec<Section> {
        let mut s = self.extensions.clone();
        s.extend(self.parking.dialplan_sections());
        s
    }

    /// [`Config::dialplan_sections`], moving extensions.conf's sections out instead of
    /// copying them (start-up builds the dialplan once; a reload reads the files again).
    pub fn take_dialplan_sections(&mut self) -> Vec<Section> {
        let mut s = std::mem::take(&mut self.extensions);
        s.extend(self.parking.dialplan_sections());
        s
    }

    /// Moves sip.conf's entries, `register =>` and `[authentication]` lines out (the engine's
    /// settings own them from then on: one users table, not two); a copy of `[general]` stays.
    pub fn take_sip(&mut self) -> SipConf {
        let general = self.sip.general.clone();
        std::mem::replace(
            &mut self.sip,
            SipConf {
                general,
                ..SipConf::default()
            },
        )
    }

    /// Drops what the engine took over (sip.conf's entries, extensions.conf's sections),
    /// keeping what a reload needs: where the files are and the module settings.
    pub fn shed(&mut self) {
        drop(self.take_sip());
        self.extensions = Vec::new();
    }

    /// Reads the same place again (for a reload); the running config stays if this fails.
    pub fn reload(&self) -> Result<Config, ConfigError> {
        match &self.source {
            ConfigSource::Dir(d) => load(Some(d), &self.dirs.run),
            // The embedded config's places do not change on reload.
            ConfigSource::Embedded => load(None, Path::new("")).map(|c| Config {
                dirs: self.dirs.clone(),
                ..c
            }),
        }
    }
}
