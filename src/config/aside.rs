//! Reading a large config file where its raw memory can be given back.
//!
//! A sip.conf of 10 000 users is ~1.6 KB of raw sections per user (every line's key and
//! value, the template lines copied into each user) but ~0.3 KB once typed. Read on the
//! event loop's thread, the raw blocks and the typed ones interleave in one heap, and
//! glibc keeps the freed raw blocks as free heap under the typed ones (16 MB resident for
//! nothing). So the file is read on a short-lived helper thread, whose allocations come
//! from an arena of its own; the caller types the sections where it runs (its own heap, in
//! the final size) and hands them back; the helper frees them and ends, and a second short
//! thread asks the allocator to return that arena's pages ([`crate::shrink::nudge_allocator`]).
//!
//! Without a thread (one could not be started) the file is read in place: the same result,
//! only the memory differs.

use std::path::Path;
use std::sync::mpsc::sync_channel;

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
                if give.send((read, warnings)).is_ok() {
                    // Freed here, in the arena they came from.
                    drop(returned.recv());
                }
            });
        let Ok(helper) = helper else {
            return in_place(dir, name, f);
        };
        match take.recv() {
            Ok((sections, warnings)) => {
                let result = f(sections.as_deref(), &warnings);
                let _ = back.send((sections, warnings));
                // Once it has ended (its cache of freed blocks is back in the arena), a second
                // thread, which glibc gives the arena the first one left, merges the freed
                // blocks and returns the pages.
                let _ = helper.join();
                let _ = std::thread::Builder::new()
                    .name("config-free".into())
                    .spawn_scoped(scope, || {
                        crate::shrink::nudge_allocator();
                        drop(std::hint::black_box(vec![1u8; 70_000]));
                    })
                    .map(|t| t.join());
                result
            }
            Err(_) => in_place(dir, name, f),
        }
    })
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
