//! Asterisk-dialect configuration, read once at start (and on reload) into typed settings.
//!
//! - [`reader`]: the dialect (sections, `=>`, comments, templates, `#include`) into
//!   [`raw::Section`]s with a `file:line` on every entry;
//! - [`sip_conf`] (with [`sip_general`], [`sip_peer`], [`sip_values`]): typed sip.conf;
//! - [`rtp_conf`]: typed rtp.conf;
//! - [`acl`]: permit/deny lists; [`codec`]: allow/disallow lists; [`values`]: shared value
//!   parsers and the warning collector.
//!
//! extensions.conf is only read into sections here; the dialplan builds its model from them.
//! A bad value stops start-up with a [`ConfigError`] naming `file:line`; an option sipbox does
//! not know is a warning in [`Config::warnings`], never silently dropped.

pub mod acl;
pub mod ban;
pub mod codec;
pub mod raw;
pub mod reader;
pub mod rtp_conf;
pub mod settings;
pub mod sip_conf;
pub mod sip_general;
pub mod sip_peer;
pub mod sip_values;
pub mod values;

use std::path::{Path, PathBuf};

pub use raw::{ConfigError, Entry, Loc, Section};
pub use rtp_conf::RtpConf;
pub use sip_conf::SipConf;

use values::Warnings;

/// The sip.conf compiled into the binary, used when no config directory is given.
pub const EXAMPLE_SIP_CONF: &str = include_str!("../../sip.conf.example");
/// The extensions.conf compiled into the binary.
pub const EXAMPLE_EXTENSIONS_CONF: &str = include_str!("../../extensions.conf.example");
/// The rtp.conf example shipped beside the others (the built-in config uses its defaults).
pub const EXAMPLE_RTP_CONF: &str = include_str!("../../rtp.conf.example");

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
    /// `file:line: ...` messages about options that were ignored, in file order.
    pub warnings: Vec<String>,
}

/// Loads `dir/sip.conf` and `dir/extensions.conf` (both required) and `dir/rtp.conf`
/// (optional), or with `None` the built-in examples.
pub fn load(dir: Option<&Path>) -> Result<Config, ConfigError> {
    let mut warnings = Warnings::default();
    let (sip_sections, extensions, rtp_sections, source) = match dir {
        Some(dir) => {
            // The config reader may look at the disk: rtp.conf is optional.
            #[allow(clippy::disallowed_methods)]
            let rtp = if dir.join("rtp.conf").exists() {
                reader::read_file(dir, "rtp.conf")?
            } else {
                Vec::new()
            };
            (
                reader::read_file(dir, "sip.conf")?,
                reader::read_file(dir, "extensions.conf")?,
                rtp,
                ConfigSource::Dir(dir.to_path_buf()),
            )
        }
        None => (
            reader::read_str("sip.conf (built-in)", EXAMPLE_SIP_CONF, None)?,
            reader::read_str("extensions.conf (built-in)", EXAMPLE_EXTENSIONS_CONF, None)?,
            Vec::new(),
            ConfigSource::Embedded,
        ),
    };
    let sip = SipConf::from_sections(&sip_sections, &mut warnings)?;
    let rtp = RtpConf::from_sections(&rtp_sections, &mut warnings)?;
    Ok(Config {
        sip,
        rtp,
        extensions,
        source,
        warnings: warnings.into_vec(),
    })
}

/// Builds a config from texts (tests, and embedding in other programs): `sip` and
/// `extensions` as the two files would hold them, `rtp` optional. `#include` is not available.
pub fn load_str(sip: &str, extensions: &str, rtp: Option<&str>) -> Result<Config, ConfigError> {
    let mut warnings = Warnings::default();
    let sip_sections = reader::read_str("sip.conf", sip, None)?;
    let extensions = reader::read_str("extensions.conf", extensions, None)?;
    let rtp_sections = match rtp {
        Some(text) => reader::read_str("rtp.conf", text, None)?,
        None => Vec::new(),
    };
    Ok(Config {
        sip: SipConf::from_sections(&sip_sections, &mut warnings)?,
        rtp: RtpConf::from_sections(&rtp_sections, &mut warnings)?,
        extensions,
        source: ConfigSource::Embedded,
        warnings: warnings.into_vec(),
    })
}

impl Config {
    /// Reads the same place again (for a reload); the running config stays if this fails.
    pub fn reload(&self) -> Result<Config, ConfigError> {
        match &self.source {
            ConfigSource::Dir(d) => load(Some(d)),
            ConfigSource::Embedded => load(None),
        }
    }
}
