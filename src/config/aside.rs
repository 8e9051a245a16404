//! Reading a large config file where its raw memory can be given back.
//!
//! A sip.conf of 10 000 users is ~1.6 KB of raw sections per user (every line's key and
//! value, the template lines copied into each user) but ~0.3 KB once typed. Read on the
//! event loop's thread, the raw blocks and the typed ones interleave in one heap, and
//! glibc keeps the freed raw blocks as free heap under the typed ones (16 MB resident for
//! nothing). So the file is read on a short-lived helper thread, whose allocations come
//! from an arena of its own; the caller types the sections where it runs (its own heap, in
//! the final size) and hands them back; the helper frees them and asks the allocator to
//! return that arena's pages before it ends.
//!
//! Without a thread (one could not be started) the file is read in place: the same result,
//! only the memory differs.

use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TryRecvError};

use super::raw::{ConfigError, Section};
use super::reader;

/// What the helper read: the sections (or the error) and the reader's warnings.
type Read = (Result<Vec<Section>, ConfigError>, Vec<String>);

/// Reads `dir/name` (with its includes) on a helper thread and calls `f` with its sections
/// and warnings on this one; `f` must copy what it keeps (its result outlives them).
pub fn with_sections<R>(
    dir: &Path,
    name: &str,
    f: impl FnOnce(Result<&[Section], &ConfigError>, &[String]) -> R,
) -> R {
    std::thread::scope(|scope| {
        let (give, take) = sync_channel::<Read>(1);
        let (back, returned) = sync_channel::<Read>(1);
        let helper = std::thread::Builder::new()
            .name("config-read".into())
            .spawn_scoped(scope, move || {
                let mut warnings = Vec::new();
                let read = reader::read_file_with(dir, name, &mut warnings);
                // Neither this send (room for one) nor the wait below blocks in a channel:
                // a blocked receive allocates the thread's wait context, which would be the
                // one live block above the raw sections and keep the arena from shrinking.
                if give.send((read, warnings)).is_ok() {
                    // Freed here, in the arena they came from, then that arena's free top
                    // is handed back.
                    loop {
                        match returned.try_recv() {
                            Ok(read) => break drop(read),
                            Err(TryRecvError::Empty) => std::thread::park(),
                            Err(TryRecvError::Disconnected) => break,
                        }
                    }
                }
                give_back();
            });
        let Ok(helper) = helper else {
            return in_place(dir, name, f);
        };
        let back = Back {
            back: Some(back),
            helper: helper.thread().clone(),
        };
        match take.recv() {
            Ok((sections, warnings)) => {
                let result = f(sections.as_deref(), &warnings);
                back.give((sections, warnings));
                let _ = helper.join();
                result
            }
            Err(_) => in_place(dir, name, f),
        }
    })
}

/// The way back to the helper: what is sent, then a wake-up (also when `f` panics, so the
/// helper is never left parked).
struct Back {
    back: Option<SyncSender<Read>>,
    helper: std::thread::Thread,
}

impl Back {
    fn give(self, read: Read) {
        if let Some(back) = &self.back {
            let _ = back.send(read);
        }
    }
}

impl Drop for Back {
    fn drop(&mut self) {
        // The channel closes first: a woken helper then sees the sections or the end.
        self.back = None;
        self.helper.unpark();
    }
}

/// Asks glibc to return the helper's arena: a request of a large-bin size (over 1 KB) merges
/// the fast bins' freed blocks into the top of the arena, and freeing a block of 64 KB or more
/// (`FASTBIN_CONSOLIDATION_THRESHOLD`), under the mmap threshold so it comes from the arena,
/// trims that top (`heap_trim`). The blocks this thread's cache still holds are the first it
/// freed, at the bottom of the arena.
fn give_back() {
    drop(std::hint::black_box(Vec::<u8>::with_capacity(4096)));
    drop(std::hint::black_box(Vec::<u8>::with_capacity(96 * 1024)));
}

/// Without a helper: the same read on this thread.
fn in_place<R>(
    dir: &Path,
    name: &str,
    f: impl FnOnce(Result<&[Section], &ConfigError>, &[String]) -> R,
) -> R {
    let mut warnings = Vec::new();
    let sections = reader::read_file_with(dir, name, &mut warnings);
    f(sections.as_deref(), &warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections and warnings come back as the reader gives them, and the helper ends
    /// also when `f` panics (it is woken, not left parked: the scope would wait forever).
    #[test]
    #[allow(clippy::disallowed_methods)] // the test writes its own config directory
    fn read_aside_and_back_even_when_the_caller_panics() {
        let dir = std::env::temp_dir().join(format!("sipbox-aside-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s.conf"), "[t](!)\nk=v\n[a](t)\nx=1\nnonsense\n").unwrap();
        let got = with_sections(&dir, "s.conf", |read, warnings| {
            let sections = read.expect("reads");
            let names: Vec<String> = sections.iter().map(|s| s.name.clone()).collect();
            let lines: Vec<String> = sections[0]
                .entries
                .iter()
                .map(|e| format!("{}={}", e.key, e.value))
                .collect();
            (names, lines, warnings.len())
        });
        let panicked = std::panic::catch_unwind(|| {
            with_sections(&dir, "s.conf", |_, _| -> () {
                panic!("typed layer failed")
            })
        });
        let missing = with_sections(&dir, "none.conf", |read, _| read.is_err());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            got,
            (
                vec!["a".to_string()],
                vec!["k=v".to_string(), "x=1".to_string()],
                1
            )
        );
        assert!(panicked.is_err());
        assert!(missing);
    }
}
