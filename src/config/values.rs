//! Value parsers shared by the typed config layers (Asterisk's `ast_true`, numbers, ports),
//! and the warning collector. Every parser takes the [`Entry`] so its error names `file:line`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::quiet::{self, Verdict};
use super::raw::{ConfigError, Entry, Loc};

/// Asterisk's `ast_true` / `ast_false`: `yes true y t 1 on` and `no false n f 0 off`.
pub fn parse_bool_str(value: &str) -> Option<bool> {
    match super::nocase::lowered(value).as_ref() {
        "yes" | "true" | "y" | "t" | "1" | "on" => Some(true),
        "no" | "false" | "n" | "f" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// A yes/no option.
pub fn bool_of(e: &Entry) -> Result<bool, ConfigError> {
    parse_bool_str(&e.value).ok_or_else(|| bad(e, "expected yes or no"))
}

/// A non-negative whole number.
pub fn u32_of(e: &Entry) -> Result<u32, ConfigError> {
    e.value
        .parse::<u32>()
        .map_err(|_| bad(e, "expected a whole number"))
}

/// A UDP port, 0 allowed (ephemeral) when `allow_zero`.
pub fn port_of(e: &Entry, allow_zero: bool) -> Result<u16, ConfigError> {
    match e.value.parse::<u16>() {
        Ok(0) if !allow_zero => Err(bad(e, "port 0 is not allowed here")),
        Ok(p) => Ok(p),
        Err(_) => Err(bad(e, "expected a port number 0-65535")),
    }
}

/// Whole seconds.
pub fn secs_of(e: &Entry) -> Result<Duration, ConfigError> {
    u32_of(e).map(|s| Duration::from_secs(u64::from(s)))
}

/// Whole milliseconds.
pub fn millis_of(e: &Entry) -> Result<Duration, ConfigError> {
    u32_of(e).map(|s| Duration::from_millis(u64::from(s)))
}

/// `file:line: bad value 'v' for 'key': why`.
pub fn bad(e: &Entry, why: &str) -> ConfigError {
    ConfigError::at(
        &e.loc,
        format!("bad value '{}' for '{}': {why}", e.value, e.key),
    )
}

/// Warnings for the admin, each `file:line` at most once (an option in a template is seen
/// again by every section inheriting it).
#[derive(Debug, Default)]
pub struct Warnings {
    seen: HashSet<(Arc<str>, u32)>,
    /// Option names already warned about as missed (said once, not at every peer).
    missed: HashSet<String>,
    list: Vec<String>,
    /// Warnings asked for, said or not (see [`Warnings::asked`]).
    asked: usize,
}

impl Warnings {
    /// Records `file:line: msg` unless that line was warned about already.
    pub fn at(&mut self, loc: &Loc, msg: impl AsRef<str>) {
        self.asked += 1;
        if self.seen.insert((loc.file.clone(), loc.line)) {
            self.list.push(format!("{loc}: {}", msg.as_ref()));
        }
    }

    /// `file:line: unknown option 'key' ignored`.
    pub fn unknown(&mut self, e: &Entry) {
        self.at(&e.loc, format!("unknown option '{}' ignored", e.key));
    }

    /// An option the typed layer does not act on, sorted by [`quiet::sip_option`]: nothing for a
    /// quiet one, one warning per option name for one the admin would miss, a warning at
    /// each line for an unknown one.
    pub fn other(&mut self, e: &Entry) {
        let key = e.key.to_ascii_lowercase();
        match quiet::sip_option(&key, &e.value) {
            Verdict::Quiet => {}
            Verdict::Missed(why) => {
                if self.missed.insert(key) {
                    self.at(&e.loc, format!("'{}' ignored: {why} (said once)", e.key));
                }
            }
            Verdict::Unknown => self.unknown(e),
        }
    }

    /// A bad value Asterisk would log and skip: `file:line: <why>; ignored`.
    pub fn ignored(&mut self, e: ConfigError) {
        match &e.loc {
            Some(loc) => self.at(loc, format!("{}; ignored", e.msg)),
            None => {
                self.asked += 1;
                self.list.push(format!("{}; ignored", e.msg))
            }
        }
    }

    /// How many warnings were asked for so far, including those not said again (a line
    /// already warned about): reading that asked for none would ask for none again with
    /// the same keys and values (`sip_peer_memo.rs`).
    pub fn asked(&self) -> usize {
        self.asked
    }

    /// Warnings already formatted `file:line: ...` (from the reader), kept in order.
    pub fn extend_lines(&mut self, lines: impl IntoIterator<Item = String>) {
        self.list.extend(lines);
    }

    /// The warnings in the order they were found.
    pub fn into_vec(self) -> Vec<String> {
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str) -> Entry {
        Entry {
            key: key.into(),
            value: value.into(),
            arrow: false,
            loc: Loc {
                file: Arc::from("s.conf"),
                line: 7,
            },
        }
    }

    #[test]
    fn bools_as_asterisk() {
        for v in ["yes", "YES", "true", "y", "t", "1", "on"] {
            assert_eq!(parse_bool_str(v), Some(true), "{v}");
        }
        for v in ["no", "false", "n", "f", "0", "off", "Off"] {
            assert_eq!(parse_bool_str(v), Some(false), "{v}");
        }
        assert_eq!(
            bool_of(&entry("allowguest", "maybe"))
                .unwrap_err()
                .to_string(),
            "s.conf:7: bad value 'maybe' for 'allowguest': expected yes or no"
        );
    }

    #[test]
    fn ports_and_numbers() {
        assert_eq!(port_of(&entry("p", "0"), true), Ok(0));
        assert!(port_of(&entry("p", "0"), false).is_err());
        assert!(port_of(&entry("p", "65536"), true).is_err());
        assert!(port_of(&entry("p", "x"), true).is_err());
        assert!(u32_of(&entry("n", "-1")).is_err());
        assert_eq!(secs_of(&entry("n", "60")), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn warnings_once_per_line() {
        let mut w = Warnings::default();
        let e = entry("transport", "udp");
        w.unknown(&e);
        w.unknown(&e);
        assert_eq!(
            w.into_vec(),
            ["s.conf:7: unknown option 'transport' ignored"]
        );
    }
}
