//! Where Playback's prompts come from. The engine never touches the file system: it asks a
//! [`Sounds`] source for a prompt's WAV bytes by the name the dialplan uses (`hello-world`,
//! `digits/5`, an absolute path; with or without `.wav`). The binary gives a disk-backed,
//! cached source (sip.conf `soundsdir`, then Debian's prompts); tests give [`MemorySounds`].
//!
//! Asterisk's `file.c` (`ast_streamfile`) resolves names the same way: relative names under
//! the sounds directory, absolute names as they are, the format's extension added.

use std::collections::HashMap;
use std::rc::Rc;

/// Why a sound could not be had: the text the engine logs before skipping it (Asterisk's
/// Playback warns and goes on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoundMissing(pub String);

/// A source of prompts.
pub trait Sounds {
    /// The WAV file of prompt `name`.
    fn wav(&mut self, name: &str) -> Result<Rc<[u8]>, SoundMissing>;

    /// Forgets what is cached for `name` (a voicemail message or greeting that was just
    /// written, moved or deleted). Sources without a cache do nothing.
    fn forget(&mut self, _name: &str) {}

    /// Takes `wav` as the file of `name`, read off the loop by the binary (music on hold
    /// files after a reload). Sources without a cache ignore it.
    fn adopt(&mut self, _name: &str, _wav: Rc<[u8]>) {}
}

/// Prompts held in memory, by name (a name given with or without `.wav` finds either).
#[derive(Debug, Default, Clone)]
pub struct MemorySounds {
    files: HashMap<String, Rc<[u8]>>,
}

impl MemorySounds {
    /// No prompts.
    pub fn new() -> MemorySounds {
        MemorySounds::default()
    }

    /// Adds prompt `name` (e.g. `tone`, `digits/1`).
    pub fn insert(&mut self, name: &str, wav: impl Into<Rc<[u8]>>) -> &mut MemorySounds {
        self.files.insert(strip_wav(name).to_string(), wav.into());
        self
    }
}

impl Sounds for MemorySounds {
    fn wav(&mut self, name: &str) -> Result<Rc<[u8]>, SoundMissing> {
        self.files
            .get(strip_wav(name))
            .cloned()
            .ok_or_else(|| SoundMissing(format!("file '{name}' not found")))
    }

    fn adopt(&mut self, name: &str, wav: Rc<[u8]>) {
        self.files.insert(strip_wav(name).to_string(), wav);
    }
}

/// No prompts at all (an engine built without a source).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSounds;

impl Sounds for NoSounds {
    fn wav(&mut self, name: &str) -> Result<Rc<[u8]>, SoundMissing> {
        Err(SoundMissing(format!(
            "file '{name}' not found: no sound source configured"
        )))
    }
}

/// The default language (Asterisk's `DEFAULT_LANGUAGE`), tried last.
pub const DEFAULT_LANGUAGE: &str = "en";

/// The names to try for prompt `name` on a channel speaking `language`, in Asterisk's order
/// (`main/file.c`, `fileexists_core`): the language as given, then with each `_suffix`
/// (dialect, style) dropped in turn, then no language, then [`DEFAULT_LANGUAGE`] unless it was
/// tried already. A relative name gets the language as its first directory (`fr/digits/5`,
/// Asterisk's `languageprefix=yes`); an absolute one gets it before its last component
/// (`/srv/prompts/fr/welcome`), as Asterisk's `fileexists_test` does for absolute paths.
pub fn language_candidates(name: &str, language: &str) -> Vec<String> {
    let with = |lang: &str| match name.rfind('/').filter(|_| name.starts_with('/')) {
        Some(i) => format!("{}/{lang}/{}", &name[..i], &name[i + 1..]),
        None => format!("{lang}/{name}"),
    };
    let mut out = Vec::with_capacity(4);
    let mut lang = language;
    while !lang.is_empty() {
        out.push(with(lang));
        match lang.rfind('_') {
            Some(i) => lang = &lang[..i],
            None => break,
        }
    }
    out.push(name.to_string());
    if language != DEFAULT_LANGUAGE && lang != DEFAULT_LANGUAGE {
        out.push(with(DEFAULT_LANGUAGE));
    }
    out
}

fn strip_wav(name: &str) -> &str {
    name.strip_suffix(".wav").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sounds_find_names_with_or_without_extension() {
        let mut s = MemorySounds::new();
        s.insert("tone.wav", vec![1u8, 2])
            .insert("digits/1", vec![3u8]);
        assert_eq!(&*s.wav("tone").unwrap(), &[1, 2]);
        assert_eq!(&*s.wav("digits/1.wav").unwrap(), &[3]);
        assert!(s.wav("nope").unwrap_err().0.contains("'nope' not found"));
        assert!(NoSounds.wav("x").is_err());
    }

    #[test]
    fn language_candidates_follow_asterisks_order() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("hello-world", "en", &["en/hello-world", "hello-world"]),
            (
                "digits/5",
                "fr",
                &["fr/digits/5", "digits/5", "en/digits/5"],
            ),
            (
                "vm-intro",
                "pt_BR",
                &["pt_BR/vm-intro", "pt/vm-intro", "vm-intro", "en/vm-intro"],
            ),
            (
                "x",
                "en_GB_style",
                &["en_GB_style/x", "en_GB/x", "en/x", "x"],
            ),
            ("x", "", &["x", "en/x"]),
            (
                "/srv/prompts/welcome",
                "de",
                &[
                    "/srv/prompts/de/welcome",
                    "/srv/prompts/welcome",
                    "/srv/prompts/en/welcome",
                ],
            ),
        ];
        for (name, lang, want) in cases {
            assert_eq!(language_candidates(name, lang), *want, "{name} in {lang:?}");
        }
    }
}
