//! The reader's file access: a config file read with a size bound, its canonical name (the
//! `#include` loop guard), and the files an `#include` wildcard names (Asterisk builds with
//! `AST_INCLUDE_GLOB`, so `#include sip_custom*.conf` reads every match, sorted as glob(3)).

use std::path::{Path, PathBuf};

/// Largest config file accepted, so a wrong path (a log, a device) cannot eat the memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Most files one `#include` wildcard may pull in.
const MAX_GLOB_FILES: usize = 256;

// The config reader is the library's one file access (the files and their `#include`s, read
// once at start): clippy.toml's sans-IO rule allows it here.
#[allow(clippy::disallowed_methods)]
pub(super) fn load(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(std::io::Error::other("file too large"));
    }
    let bytes = std::fs::read(path)?;
    // Valid UTF-8 (the usual case) is taken as it is, without a second copy.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

// The config reader names `#include`d files by their canonical path (loop detection).
#[allow(clippy::disallowed_methods)]
pub(super) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The files a wildcard `#include` names, sorted as glob(3) sorts them. Only the last path
/// component may hold `*` or `?` (what configs in the wild use: `sip_custom*.conf`).
#[allow(clippy::disallowed_methods)]
pub(super) fn glob(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(pat)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Ok(list) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = list
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| wild_match(pat, n)))
        .map(|e| e.path())
        // glob(3) also lists directories; Asterisk then skips them as "not a regular file".
        .filter(|p| p.is_file())
        .take(MAX_GLOB_FILES)
        .collect();
    found.sort();
    found
}

/// `*` and `?` matching of a file name (no `[...]`: not seen in configs).
fn wild_match(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    // Classic two-pointer match with one backtrack point for the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        for (p, n, want) in [
            ("*.conf", "sip.conf", true),
            ("sip_*.conf", "sip_a.conf", true),
            ("sip_*.conf", "sip.conf", false),
            ("?.c", "a.c", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("*", "", true),
        ] {
            assert_eq!(wild_match(p, n), want, "{p} {n}");
        }
    }
}
