//! The binary's prompt source: WAV files read from sip.conf's `soundsdir`, then from where
//! Debian's `asterisk-core-sounds-en-wav` installs them, kept in a bounded cache.
//!
//! Names are the dialplan's (`hello-world`, `digits/5`, an absolute path), with or without
//! `.wav`: `name.wav` is tried before `name`, in each directory in turn (Asterisk's
//! `ast_streamfile` resolves names the same way). The engine calls [`Sounds::wav`] on the loop
//! thread, so what was read is cached (least recently used out, bounded in bytes and entries),
//! misses too (bounded on their own), and [`DiskSounds::preload`] reads at start what the
//! dialplan names literally: the first Playback of a call does not wait for the disk. A miss is
//! remembered for [`MISS_TTL`], so a prompt installed while sipbox runs is found within a
//! minute, and a dialplan naming a missing prompt on every call costs one directory lookup a
//! minute, not one per call.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver: the library reads no files.

use sipbox::media::sounds::{SoundMissing, Sounds};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Where Debian's `asterisk-core-sounds-en-wav` puts the prompts, tried after `soundsdir`.
pub const FALLBACK_SOUNDS: &str = "/usr/share/asterisk/sounds/en_US_f_Allison";
/// Bytes of prompts kept (Debian's whole English set is about 60 MiB of WAV).
const MAX_CACHED_BYTES: usize = 64 << 20;
/// Prompts kept.
const MAX_CACHED_FILES: usize = 4096;
/// Names remembered as missing.
const MAX_CACHED_MISSES: usize = 1024;
/// How long a miss is believed.
pub const MISS_TTL: Duration = Duration::from_secs(60);
/// A larger file is not read (about 35 minutes of 8 kHz 16-bit mono).
const MAX_FILE_BYTES: u64 = 32 << 20;

/// Prompts from `soundsdir`, then [`FALLBACK_SOUNDS`], cached.
pub struct DiskSounds {
    dirs: [PathBuf; 2],
    found: Lru<Rc<[u8]>>,
    missing: Lru<(SoundMissing, Instant)>,
}

impl DiskSounds {
    /// Prompts from `sounds_dir` (sip.conf `soundsdir`), then Debian's.
    pub fn new(sounds_dir: PathBuf) -> DiskSounds {
        DiskSounds::with_dirs(sounds_dir, PathBuf::from(FALLBACK_SOUNDS))
    }

    fn with_dirs(first: PathBuf, fallback: PathBuf) -> DiskSounds {
        DiskSounds {
            dirs: [first, fallback],
            found: Lru::new(MAX_CACHED_BYTES, MAX_CACHED_FILES),
            missing: Lru::new(usize::MAX, MAX_CACHED_MISSES),
        }
    }

    /// Reads `names` into the cache now. Returns how many were found and their bytes.
    pub fn preload<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> (usize, usize) {
        let (mut files, mut bytes) = (0, 0);
        for name in names {
            match self.wav(name) {
                Ok(b) => {
                    files += 1;
                    bytes += b.len();
                }
                Err(SoundMissing(why)) => log::debug!("preload: {why}"),
            }
        }
        (files, bytes)
    }

    /// The candidate paths of `name`, in the order tried.
    fn paths(&self, name: &str) -> Vec<PathBuf> {
        let names: Vec<String> = if name.ends_with(".wav") {
            vec![name.to_string()]
        } else {
            vec![format!("{name}.wav"), name.to_string()]
        };
        if name.starts_with('/') {
            return names.into_iter().map(PathBuf::from).collect();
        }
        self.dirs
            .iter()
            .flat_map(|d| names.iter().map(move |n| d.join(n)))
            .collect()
    }

    fn read(&self, name: &str) -> Result<Rc<[u8]>, SoundMissing> {
        for path in self.paths(name) {
            match read_bounded(&path) {
                Ok(Some(bytes)) => return Ok(bytes.into()),
                Ok(None) => {
                    return Err(SoundMissing(format!(
                        "file '{name}': {} is larger than {} MiB",
                        path.display(),
                        MAX_FILE_BYTES >> 20
                    )))
                }
                Err(_) => continue,
            }
        }
        let (dir, fallback) = (self.dirs[0].display(), self.dirs[1].display());
        // The library's rule: the binary alone reads the disk.
        #[allow(clippy::disallowed_methods)]
        let any_dir = self.dirs.iter().any(|d| d.is_dir());
        Err(SoundMissing(if any_dir {
            format!("file '{name}' not found in {dir} or {fallback}")
        } else {
            format!(
                "file '{name}' not found: no sound prompts installed (neither soundsdir {dir} \
                 nor {fallback} exists); install Debian's asterisk-core-sounds-en-wav or set \
                 soundsdir in sip.conf [general]"
            )
        }))
    }
}

impl DiskSounds {
    /// [`Sounds::wav`] at the instant `now` (misses older than [`MISS_TTL`] are looked up
    /// again).
    fn wav_at(&mut self, name: &str, now: Instant) -> Result<Rc<[u8]>, SoundMissing> {
        if let Some(b) = self.found.get(name) {
            return Ok(b.clone());
        }
        match self.missing.get(name) {
            Some((m, at)) if now.saturating_duration_since(*at) < MISS_TTL => return Err(m.clone()),
            Some(_) => self.missing.remove(name),
            None => {}
        }
        match self.read(name) {
            Ok(bytes) => {
                self.found.insert(name, bytes.clone(), bytes.len());
                Ok(bytes)
            }
            Err(missing) => {
                self.missing.insert(name, (missing.clone(), now), 0);
                Err(missing)
            }
        }
    }
}

impl Sounds for DiskSounds {
    fn wav(&mut self, name: &str) -> Result<Rc<[u8]>, SoundMissing> {
        #[allow(clippy::disallowed_methods)] // the binary's side of the sans-IO line
        let now = Instant::now();
        self.wav_at(name, now)
    }

    fn forget(&mut self, name: &str) {
        let bare = name.strip_suffix(".wav").unwrap_or(name);
        for key in [bare.to_string(), format!("{bare}.wav")] {
            self.found.remove(&key);
            self.missing.remove(&key);
        }
    }

    fn adopt(&mut self, name: &str, wav: Rc<[u8]>) {
        self.missing.remove(name);
        let len = wav.len();
        self.found.insert(name, wav, len);
    }
}

/// The bytes of the file at `path` (None: unreadable or larger than the largest prompt
/// read); for reads off the loop (music on hold on reload).
pub fn read_file(path: &Path) -> Option<Vec<u8>> {
    read_bounded(path).ok().flatten()
}

/// Bytes of prompts the cache holds (what a reload reads ahead at most).
pub const CACHE_BYTES: usize = MAX_CACHED_BYTES;

/// The file's bytes; `None` when it is larger than [`MAX_FILE_BYTES`].
fn read_bounded(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    // The binary's disk access: the library never opens a file for a prompt.
    #[allow(clippy::disallowed_methods)]
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_FILE_BYTES).then_some(bytes))
}

/// A least-recently-used map bounded in total weight and in entries.
struct Lru<V> {
    map: HashMap<String, (V, usize, u64)>,
    order: BTreeMap<u64, String>,
    tick: u64,
    weight: usize,
    max_weight: usize,
    max_entries: usize,
}

impl<V> Lru<V> {
    fn new(max_weight: usize, max_entries: usize) -> Lru<V> {
        Lru {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            weight: 0,
            max_weight,
            max_entries,
        }
    }

    fn get(&mut self, key: &str) -> Option<&V> {
        self.tick += 1;
        let (_, _, used) = self.map.get_mut(key)?;
        self.order.remove(used);
        *used = self.tick;
        self.order.insert(self.tick, key.to_string());
        self.map.get(key).map(|(v, _, _)| v)
    }

    /// Keeps `value` unless it alone outweighs the cache; drops the least recently used until
    /// both bounds hold.
    fn insert(&mut self, key: &str, value: V, weight: usize) {
        if weight > self.max_weight || self.max_entries == 0 {
            return;
        }
        self.remove(key);
        while self.map.len() >= self.max_entries || self.weight + weight > self.max_weight {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, w, _)) = self.map.remove(&oldest) {
                self.weight -= w;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key.to_string());
        self.map.insert(key.to_string(), (value, weight, self.tick));
        self.weight += weight;
    }

    fn remove(&mut self, key: &str) {
        if let Some((_, w, used)) = self.map.remove(key) {
            self.order.remove(&used);
            self.weight -= w;
        }
    }
}

#[cfg(test)]
// Tests may read the real clock, the disk and OS entropy (clippy.toml's sans-IO rule).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sipbox-sounds-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("digits")).unwrap();
        d
    }

    #[test]
    fn names_resolve_in_soundsdir_then_the_fallback() {
        let (a, b) = (temp_dir("a"), temp_dir("b"));
        std::fs::write(a.join("hello.wav"), b"A").unwrap();
        std::fs::write(b.join("hello.wav"), b"B").unwrap();
        std::fs::write(b.join("digits/5.wav"), b"5").unwrap();
        std::fs::write(b.join("raw"), b"R").unwrap();
        let mut s = DiskSounds::with_dirs(a.clone(), b.clone());
        assert_eq!(&*s.wav("hello").unwrap(), b"A");
        assert_eq!(&*s.wav("digits/5").unwrap(), b"5");
        assert_eq!(&*s.wav("digits/5.wav").unwrap(), b"5");
        assert_eq!(&*s.wav("raw").unwrap(), b"R");
        let abs = b.join("hello.wav");
        assert_eq!(&*s.wav(abs.to_str().unwrap()).unwrap(), b"B");
        let why = s.wav("nope").unwrap_err().0;
        assert!(why.contains("'nope' not found in"), "{why}");
        let _ = (std::fs::remove_dir_all(a), std::fs::remove_dir_all(b));
    }

    #[test]
    fn no_directory_says_how_to_install_prompts() {
        let gone = std::env::temp_dir().join("sipbox-sounds-absent-dir");
        let mut s = DiskSounds::with_dirs(gone.clone(), gone.join("also"));
        let why = s.wav("hello-world").unwrap_err().0;
        assert!(why.contains("no sound prompts installed"), "{why}");
        assert!(why.contains("asterisk-core-sounds-en-wav"), "{why}");
    }

    #[test]
    fn hits_and_misses_are_cached() {
        let a = temp_dir("c");
        std::fs::write(a.join("x.wav"), b"1").unwrap();
        let mut s = DiskSounds::with_dirs(a.clone(), a.join("none"));
        assert_eq!(s.preload(["x", "y"]), (1, 1));
        std::fs::remove_file(a.join("x.wav")).unwrap();
        std::fs::write(a.join("y.wav"), b"2").unwrap();
        assert_eq!(&*s.wav("x").unwrap(), b"1", "served from the cache");
        assert!(s.wav("y").is_err(), "the miss is remembered");
        let _ = std::fs::remove_dir_all(a);
    }

    #[test]
    fn a_miss_is_believed_for_a_minute() {
        let a = temp_dir("ttl");
        let mut s = DiskSounds::with_dirs(a.clone(), a.join("none"));
        let t0 = Instant::now();
        assert!(s.wav_at("late", t0).is_err());
        std::fs::write(a.join("late.wav"), b"3").unwrap();
        assert!(
            s.wav_at("late", t0 + MISS_TTL - Duration::from_secs(1))
                .is_err(),
            "still within the miss's lifetime"
        );
        assert_eq!(&*s.wav_at("late", t0 + MISS_TTL).unwrap(), b"3");
        let _ = std::fs::remove_dir_all(a);
    }

    #[test]
    fn lru_bounds_bytes_and_entries() {
        let mut l: Lru<u8> = Lru::new(10, 3);
        l.insert("a", 1, 4);
        l.insert("b", 2, 4);
        assert!(l.get("a").is_some());
        l.insert("c", 3, 4); // 12 bytes > 10: b, the least recently used, goes
        assert!(l.get("b").is_none());
        assert!(l.get("a").is_some() && l.get("c").is_some());
        l.insert("big", 9, 11); // alone over the bound: not kept, nothing evicted
        assert_eq!(l.map.len(), 2);
        l.insert("d", 4, 0);
        l.insert("e", 5, 0); // 4 entries > 3: a goes (c was used after it)
        assert!(l.get("a").is_none());
        assert_eq!(l.map.len(), 3);
        assert_eq!(l.weight, 4);
        assert_eq!(l.order.len(), 3);
    }
}
