//! Asterisk's verbose messages (`ast_verb(level, ...)`, `main/logger.c`): the lines an admin
//! reads on the console (`-- Executing [600@internal:1] Answer(...)`), each with a level 0-4.
//!
//! The library logs them through the `log` crate at `Info` with the target `verbose<N>`
//! ([`verbose!`]); the binary's logger shows a line when its level is at most the verbosity of
//! the place it prints to (`-v` count on stderr, `core set verbose N` on a console) and puts
//! Asterisk's prefix for the level before it ([`prefix`]).

/// Logs a verbose message of level `$level` (a literal 0-4): `verbose!(3, "Called {x}")`.
#[macro_export]
macro_rules! verbose {
    // Asked first: the log crate's global level lets every Info record through, and the
    // arguments (a channel name, an application's data) would be built for a level nobody
    // reads. The sink's `enabled` answers for the verbose level.
    ($level:literal, $($arg:tt)+) => {
        if ::log::log_enabled!(target: concat!("verbose", $level), ::log::Level::Info) {
            ::log::info!(target: concat!("verbose", $level), $($arg)+)
        }
    };
}

/// The verbose level of a log target (`verbose3` -> 3), None for other targets.
pub fn level_of(target: &str) -> Option<u8> {
    let n = target.strip_prefix("verbose")?;
    match n.as_bytes() {
        [d @ b'0'..=b'9'] => Some(d - b'0'),
        _ => None,
    }
}

/// What Asterisk prints before a message of `level` (`VERBOSE_PREFIX_1` .. `_4`).
pub fn prefix(level: u8) -> &'static str {
    match level {
        0 => "",
        1 => " ",
        2 => "  == ",
        3 => "    -- ",
        _ => "       > ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_prefixes() {
        assert_eq!(level_of("verbose3"), Some(3));
        assert_eq!(level_of("verbose"), None);
        assert_eq!(level_of("verbose33"), None);
        assert_eq!(level_of("sipbox::engine"), None);
        assert_eq!(prefix(3), "    -- ");
        assert_eq!(prefix(2), "  == ");
    }
}
