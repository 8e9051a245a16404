//! Typed musiconhold.conf: the music on hold classes (Asterisk's `res/res_musiconhold.c`
//! `load_moh_classes`, `configs/samples/musiconhold.conf.sample`).
//!
//! Each section but `[general]` is a class. sipbox plays `mode=files` classes: the WAV files
//! of `directory` (a relative directory is under `astdatadir`, as `moh_scan_files` takes it),
//! in `sort=alpha` order (also the default here: Asterisk leaves it undefined) or shuffled
//! (`sort=random`; `randstart` starts at a random file in alphabetical order). Other modes
//! (`custom`, `mp3`, `playlist`, ...) need external programs or decoders sipbox does not have:
//! the class is kept (so a channel asking for it finds it) with no music, and a `file:line`
//! warning says so once. Without the file sipbox behaves as Asterisk's shipped sample does:
//! one class `default` playing `<astdatadir>/moh`.

use super::raw::{Loc, Section};
use super::values::Warnings;
use std::path::{Path, PathBuf};

/// How a class orders its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MohSort {
    /// File names in byte order (the default).
    #[default]
    Alpha,
    /// Shuffled for every listener.
    Random,
    /// Alphabetical, starting at a random file.
    RandStart,
}

/// One `[class]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MohClass {
    /// The section name (looked up case-insensitively, as `get_mohbyname`).
    pub name: String,
    /// `mode=files` (anything else has no music here).
    pub files_mode: bool,
    /// `mode` as written.
    pub mode: String,
    /// `directory` as written (`moh` by default).
    pub directory: String,
    /// `sort`.
    pub sort: MohSort,
    /// Where the `[class]` line is.
    pub loc: Loc,
}

impl MohClass {
    /// The directory on disk: absolute as written, else under `data` (astdatadir).
    pub fn dir(&self, data: &Path) -> PathBuf {
        if self.directory.starts_with('/') {
            PathBuf::from(&self.directory)
        } else {
            data.join(&self.directory)
        }
    }
}

/// musiconhold.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MohConf {
    /// The classes in file order.
    pub classes: Vec<MohClass>,
}

impl Default for MohConf {
    /// No musiconhold.conf: one class `default` of files under `<astdatadir>/moh`.
    fn default() -> Self {
        MohConf {
            classes: vec![MohClass {
                name: "default".into(),
                files_mode: true,
                mode: "files".into(),
                directory: "moh".into(),
                sort: MohSort::Alpha,
                loc: Loc {
                    file: "musiconhold.conf (built-in)".into(),
                    line: 0,
                },
            }],
        }
    }
}

impl MohConf {
    /// The classes of musiconhold.conf's sections; bad values are `file:line` warnings.
    pub fn from_sections(sections: &[Section], warnings: &mut Warnings) -> MohConf {
        let mut classes: Vec<MohClass> = Vec::new();
        for s in sections {
            if s.name.eq_ignore_ascii_case("general") {
                for e in &s.entries {
                    match e.key.to_ascii_lowercase().as_str() {
                        // Realtime caching and the channel-class preference change nothing
                        // here (sipbox already prefers the channel's class).
                        "cachertclasses" | "preferchannelclass" => {}
                        _ => warnings.unknown(e),
                    }
                }
                continue;
            }
            let mut c = MohClass {
                name: s.name.clone(),
                files_mode: false,
                mode: String::new(),
                directory: "moh".into(),
                sort: MohSort::Alpha,
                loc: s.loc.clone(),
            };
            let mut mode_loc = s.loc.clone();
            for e in &s.entries {
                let v = e.value.trim();
                match e.key.to_ascii_lowercase().as_str() {
                    "mode" => {
                        c.mode = v.to_ascii_lowercase();
                        mode_loc = e.loc.clone();
                    }
                    "directory" => c.directory = v.to_string(),
                    "sort" => match v.to_ascii_lowercase().as_str() {
                        "alpha" => c.sort = MohSort::Alpha,
                        "random" => c.sort = MohSort::Random,
                        "randstart" => c.sort = MohSort::RandStart,
                        _ => warnings.at(
                            &e.loc,
                            format!("sort '{v}' is not alpha, random or randstart; ignored"),
                        ),
                    },
                    // Options of the modes sipbox does not play, or of features it has not:
                    // harmless to ignore, said once per line.
                    "application"
                    | "format"
                    | "digit"
                    | "announcement"
                    | "kill_escalation_delay"
                    | "kill_method"
                    | "loop_last"
                    | "answeredonly"
                    | "entry" => warnings.at(
                        &e.loc,
                        format!("'{}' is not supported by sipbox; ignored", e.key),
                    ),
                    _ => warnings.unknown(e),
                }
            }
            if c.mode.is_empty() {
                c.mode = "files".into();
            }
            c.files_mode = c.mode == "files";
            if !c.files_mode {
                warnings.at(
                    &mode_loc,
                    format!(
                        "class [{}]: mode={} is not supported (only mode=files): it plays silence",
                        c.name, c.mode
                    ),
                );
            }
            if classes.iter().any(|o| o.name.eq_ignore_ascii_case(&c.name)) {
                warnings.at(
                    &s.loc,
                    format!("class [{}] defined again; the first one is used", c.name),
                );
                continue;
            }
            classes.push(c);
        }
        MohConf { classes }
    }

    /// The class named `name` (case-insensitive).
    pub fn class(&self, name: &str) -> Option<&MohClass> {
        self.classes
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader;

    fn parse(text: &str) -> (MohConf, Vec<String>) {
        let mut raw = Vec::new();
        let sections = reader::read_str_with("musiconhold.conf", text, None, &mut raw).unwrap();
        let mut w = Warnings::default();
        let c = MohConf::from_sections(&sections, &mut w);
        (c, w.into_vec())
    }

    #[test]
    fn classes_modes_directories_and_sorts() {
        let (c, w) = parse(
            "[general]\ncachertclasses=yes\n[default]\nmode=files\ndirectory=moh\n\
             [Jazz]\nmode=files\ndirectory=/srv/jazz\nsort=random\n\
             [radio]\nmode=custom\napplication=/usr/bin/streamplayer\n",
        );
        assert_eq!(c.classes.len(), 3);
        let jazz = c.class("jazz").unwrap();
        assert_eq!(jazz.sort, MohSort::Random);
        assert_eq!(jazz.dir(Path::new("/d")), PathBuf::from("/srv/jazz"));
        let def = c.class("default").unwrap();
        assert_eq!(def.dir(Path::new("/d")), PathBuf::from("/d/moh"));
        assert!(!c.class("radio").unwrap().files_mode);
        assert!(
            w.iter()
                .any(|l| l.starts_with("musiconhold.conf:11:") && l.contains("mode=custom")),
            "{w:?}"
        );
        assert!(w.iter().any(|l| l.contains("'application'")), "{w:?}");
    }

    #[test]
    fn without_the_file_one_default_class() {
        let c = MohConf::default();
        assert_eq!(
            c.class("DEFAULT").unwrap().dir(Path::new("/x")),
            PathBuf::from("/x/moh")
        );
    }

    #[test]
    fn a_bad_sort_is_a_warning() {
        let (c, w) = parse("[a]\nsort=sideways\nbogus=1\n");
        assert_eq!(c.class("a").unwrap().sort, MohSort::Alpha);
        assert!(w.iter().any(|l| l.starts_with("musiconhold.conf:2:")));
        assert!(w.iter().any(|l| l.starts_with("musiconhold.conf:3:")));
    }
}
