//! The binary's side of music on hold: at start, each `mode=files` class of musiconhold.conf
//! has its directory listed (the WAV files in it, by name), and the files are read into the
//! prompt cache, so that holding a call never waits for the disk. The engine gets the names
//! ([`MohLibrary`]); the bytes come through its [`sipbox::media::sounds::Sounds`] source.
//!
//! Asterisk's `moh_scan_files` does the same listing (files of a supported format in the
//! directory, `sort=alpha` sorting them; a relative directory is under astdatadir).
//!
//! This is the binary's (declared by `src/main.rs`), like the driver: the library reads no files.

use crate::sounds_disk::DiskSounds;
use sipbox::config::moh_conf::{MohConf, MohSort};
use sipbox::media::moh::{MohFiles, MohLibrary};
use sipbox::media::sounds::Sounds;
use std::path::Path;

/// Files listed per class at most.
const MAX_FILES: usize = 1000;

/// Lists every class's files and preloads them into `sounds` (at start).
pub fn load(conf: &MohConf, data: &Path, sounds: &mut DiskSounds) -> MohLibrary {
    let (library, files) = scan(conf, data);
    for (name, bytes) in files {
        sounds.adopt(&name, bytes.into());
    }
    library
}

/// Lists every class's files and reads them (at most the prompt cache's size; the rest are
/// read on first use): what a reload does on its helper thread, off the loop.
pub fn scan(conf: &MohConf, data: &Path) -> (MohLibrary, Vec<(String, Vec<u8>)>) {
    let mut read = Vec::new();
    let mut budget = crate::sounds_disk::CACHE_BYTES;
    let mut classes = Vec::new();
    for c in &conf.classes {
        let dir = c.dir(data);
        let mut files = MohFiles {
            name: c.name.clone(),
            shuffle: c.sort == MohSort::Random,
            random_start: c.sort == MohSort::RandStart,
            ..Default::default()
        };
        if !c.files_mode {
            files.silent_because = Some(format!("mode={} is not supported", c.mode));
            classes.push(files);
            continue;
        }
        files.files = list_wavs(&dir);
        let (mut n, mut bytes) = (0, 0);
        for f in &files.files {
            let Some(b) = crate::sounds_disk::read_file(Path::new(f)) else {
                continue;
            };
            if b.len() > budget {
                break;
            }
            budget -= b.len();
            n += 1;
            bytes += b.len();
            read.push((f.clone(), b));
        }
        if files.files.is_empty() {
            // Said once, when a call first needs the class.
            files.silent_because = Some(format!("no WAV files in {}", dir.display()));
            classes.push(files);
            continue;
        }
        log::info!(
            "music on hold class '{}': {n} files from {} ({} KiB)",
            c.name,
            dir.display(),
            bytes >> 10
        );
        classes.push(files);
    }
    (MohLibrary::new(classes), read)
}

/// The `.wav` files of `dir` (absolute paths), sorted by name.
// The binary's disk access, once at start.
#[allow(clippy::disallowed_methods)]
fn list_wavs(dir: &Path) -> Vec<String> {
    let Ok(list) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = list
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("wav"))
        })
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let p = if p.is_absolute() {
                p
            } else {
                std::env::current_dir().ok()?.join(p)
            };
            p.to_str().map(str::to_string)
        })
        .take(MAX_FILES)
        .collect();
    out.sort();
    out
}
