//! Giving freed heap back to the kernel after a burst: glibc returns the top of its heap
//! only when a `free` merges a chunk of 64 KB or more into it, and never the free pages in
//! the middle. After a flood's lingering transactions are forgotten nothing may do that free
//! (measured: `tests/flood_rss.rs`'s INFO flood stayed +17.6 MB above idle for as long as
//! it was watched, in one run out of three, with a 10.4 MB free top chunk and 6.7 MB of
//! free chunks below it; `malloc_trim(0)` gives both back). So the engine's sweep queues a
//! [`sipbox::engine::Job::TrimHeap`] when a burst's state went, and start-up and a reload
//! call [`trim`] after the config reader's temporary tables are dropped.
//!
//! The one call into C outside a bench: `malloc_trim` takes the arena locks itself and has
//! no preconditions.
#![allow(unsafe_code)]

/// `malloc_trim(0)`: free pages of every arena go back (`MADV_DONTNEED`), the heap tops are
/// cut to their last used chunk. A no-op where the C library is not glibc.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only reads and updates the allocator's
    // own state under its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
