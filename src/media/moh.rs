//! Music on hold: the classes and their files as the engine knows them, and a stream of 20 ms
//! frames cycling through a class's files.
//!
//! The engine lists no directories and reads no files: the binary scans each `mode=files`
//! class's directory at start (`src/moh_disk.rs`) and hands over the file names
//! ([`MohLibrary`]); the frames come through the same [`Sounds`] source as Playback's prompts
//! (which the binary has preloaded). The class a listener hears is chosen as Asterisk's
//! `local_ast_moh_start` does: the listener's `CHANNEL(musicclass)`, the class the holder
//! suggests (`mohsuggest`), the listener's `mohinterpret`, then `default` — the first that
//! exists.
//!
//! Reading list: Asterisk `res/res_musiconhold.c` (`moh_files_alloc`, `ast_moh_files_next`:
//! files in order or shuffled, starting over at the end; a file that cannot be read is
//! skipped).

use super::g711::Law;
use super::sounds::Sounds;
use super::wav::{self, Frame, FRAME_BYTES};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::HashSet;
use std::rc::Rc;

/// The files of one class, as the binary found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MohFiles {
    /// The class name.
    pub name: String,
    /// The WAV files (absolute paths, in `sort=alpha` order).
    pub files: Vec<String>,
    /// `sort=random`: shuffled for every listener.
    pub shuffle: bool,
    /// `sort=randstart`: in order, from a random first file.
    pub random_start: bool,
    /// Why the class has no music (mode not supported, directory empty): logged once.
    pub silent_because: Option<String>,
}

/// Every class the engine can play, and which silent ones it already said so about.
#[derive(Debug, Default)]
pub struct MohLibrary {
    classes: Vec<MohFiles>,
    warned: HashSet<String>,
}

/// Most silent classes remembered as warned about (each is warned once).
const MAX_WARNED: usize = 256;

impl MohLibrary {
    /// A library of these classes.
    pub fn new(classes: Vec<MohFiles>) -> MohLibrary {
        MohLibrary {
            classes,
            warned: HashSet::new(),
        }
    }

    /// How many classes there are.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// True without any class.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// The class of `name` (case-insensitive).
    pub fn class(&self, name: &str) -> Option<&MohFiles> {
        self.classes
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The first of `candidates` (empty ones skipped) that is a class, else `default`.
    pub fn choose(&self, candidates: &[&str]) -> Option<&MohFiles> {
        candidates
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .find_map(|c| self.class(c))
            .or_else(|| self.class("default"))
    }

    /// Starts a stream for a listener from `candidates`. A class without music (or no class
    /// at all) gives an empty stream — silence — and one log line per class.
    pub fn start<R: Rng + ?Sized>(&mut self, candidates: &[&str], rng: &mut R) -> MohStream {
        let (name, files, why) = match self.choose(candidates) {
            Some(c) => {
                let mut files = c.files.clone();
                if c.shuffle {
                    files.shuffle(rng);
                } else if c.random_start && !files.is_empty() {
                    let at = rng.random_range(0..files.len());
                    files.rotate_left(at);
                }
                let why = match &c.silent_because {
                    Some(w) => Some(w.clone()),
                    None if files.is_empty() => Some("no sound files".to_string()),
                    None => None,
                };
                (c.name.clone(), files, why)
            }
            None => (
                candidates
                    .iter()
                    .find(|c| !c.trim().is_empty())
                    .unwrap_or(&"default")
                    .to_string(),
                Vec::new(),
                Some("no such class (and no class 'default')".to_string()),
            ),
        };
        if let Some(why) = why {
            let key = name.to_ascii_lowercase();
            if !self.warned.contains(&key) && self.warned.len() < MAX_WARNED {
                log::warn!("music on hold class '{name}': {why}; the listener hears silence");
                self.warned.insert(key);
            }
        }
        MohStream {
            class: name,
            files,
            file: 0,
            current: None,
            frame: 0,
            failures: 0,
        }
    }
}

/// Frames from a class's files, file after file, starting over at the end.
#[derive(Debug, Clone)]
pub struct MohStream {
    class: String,
    files: Vec<String>,
    file: usize,
    current: Option<Rc<[u8]>>,
    frame: usize,
    /// Files in a row that could not be played (all of them: the stream is silent).
    failures: usize,
}

impl MohStream {
    /// The class playing.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// True when the stream has nothing to play (silence).
    pub fn is_silent(&self) -> bool {
        self.files.is_empty() || self.failures >= self.files.len()
    }

    /// The next 20 ms frame in `law`; None while silent.
    pub fn next_frame(&mut self, sounds: &mut dyn Sounds, law: Law) -> Option<Frame> {
        while !self.is_silent() {
            if self.current.is_none() {
                let name = &self.files[self.file];
                match sounds.wav(name) {
                    Ok(bytes) if wav::parse(&bytes).is_ok() => self.current = Some(bytes),
                    Ok(_) => {
                        log::warn!("music on hold: {name} is not a playable WAV; skipped");
                        self.skip_file(true);
                        continue;
                    }
                    Err(missing) => {
                        log::warn!("music on hold: {}; skipped", missing.0);
                        self.skip_file(true);
                        continue;
                    }
                }
            }
            let bytes = self.current.clone()?;
            let frame = wav::parse(&bytes)
                .ok()
                .and_then(|w| frame_at(&w, self.frame, law));
            match frame {
                Some(f) => {
                    self.frame += 1;
                    self.failures = 0;
                    return Some(f);
                }
                None => self.skip_file(false),
            }
        }
        None
    }

    fn skip_file(&mut self, failed: bool) {
        if failed {
            self.failures += 1;
        }
        self.current = None;
        self.frame = 0;
        self.file = (self.file + 1) % self.files.len().max(1);
    }
}

/// Frame `i` of a WAV in `law`, decoded on its own (a long file is never decoded whole).
fn frame_at(w: &wav::Wav<'_>, i: usize, law: Law) -> Option<Frame> {
    let per = match w.encoding {
        wav::WavEncoding::Pcm16 => FRAME_BYTES * 2,
        wav::WavEncoding::G711(_) => FRAME_BYTES,
    };
    let start = i.checked_mul(per)?;
    if start >= w.data.len() {
        return None;
    }
    let end = (start + per).min(w.data.len());
    let part = wav::Wav {
        encoding: w.encoding,
        data: &w.data[start..end],
    };
    part.frames(law).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::sounds::MemorySounds;
    use rand::SeedableRng;

    fn tone(n: usize, v: i16) -> Vec<u8> {
        wav::encode_pcm16(&vec![v; n])
    }

    fn lib(files: &[&str]) -> MohLibrary {
        MohLibrary::new(vec![MohFiles {
            name: "default".into(),
            files: files.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }])
    }

    #[test]
    fn frames_cycle_through_the_files_and_start_over() {
        let mut s = MemorySounds::new();
        s.insert("/m/a.wav", tone(320, 1000))
            .insert("/m/b.wav", tone(160, -1000));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut stream = lib(&["/m/a.wav", "/m/b.wav"]).start(&["", "nope"], &mut rng);
        assert_eq!(stream.class(), "default", "an unknown class falls back");
        let a = Law::Ulaw.encode(1000);
        let b = Law::Ulaw.encode(-1000);
        let got: Vec<u8> = (0..5)
            .map(|_| stream.next_frame(&mut s, Law::Ulaw).unwrap()[0])
            .collect();
        assert_eq!(got, vec![a, a, b, a, a]);
    }

    #[test]
    fn missing_files_are_skipped_and_all_missing_is_silence() {
        let mut s = MemorySounds::new();
        s.insert("/m/b.wav", tone(160, 500));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut stream = lib(&["/m/a.wav", "/m/b.wav"]).start(&[], &mut rng);
        assert!(stream.next_frame(&mut s, Law::Alaw).is_some());
        let mut none = lib(&["/m/x.wav"]).start(&[], &mut rng);
        assert!(none.next_frame(&mut s, Law::Alaw).is_none());
        assert!(none.is_silent());
        let mut empty = MohLibrary::default().start(&["jazz"], &mut rng);
        assert!(empty.next_frame(&mut s, Law::Alaw).is_none());
        assert_eq!(empty.class(), "jazz");
    }

    #[test]
    fn the_channel_class_comes_first_then_the_suggestion() {
        let l = MohLibrary::new(vec![
            MohFiles {
                name: "default".into(),
                ..Default::default()
            },
            MohFiles {
                name: "Jazz".into(),
                ..Default::default()
            },
        ]);
        assert_eq!(l.choose(&["", "jazz", "default"]).unwrap().name, "Jazz");
        assert_eq!(l.choose(&["rock", "", ""]).unwrap().name, "default");
    }
}
