//! Time zones: TZif files (RFC 8536, versions 1 to 4) and POSIX TZ strings (the TZif
//! footer, or a zone argument that names no file, as Asterisk's `main/stdtime/localtime.c`
//! `ast_tzset` tries `tzparse` after `tzload`).
//!
//! Sans-IO: [`Zone::from_tzif`] takes the file's bytes; the config loader
//! (`crate::config::zones`) reads the files named in the dialplan at load and reload, off
//! the loop, into a bounded [`Zones`] the dialplan consults.

mod posix;
mod tzif;
pub mod zones;

pub use posix::Rule;
pub use zones::{Zones, MAX_ZONES, MAX_ZONE_FILE};

/// A zone abbreviation (`CET`, `EDT`, `+0530`), kept inline so a local time is `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Abbr {
    bytes: [u8; 15],
    len: u8,
}

impl Abbr {
    /// Keeps the first 15 bytes of `s` (abbreviations are 3 to 6 characters).
    pub fn new(s: &str) -> Abbr {
        let mut a = Abbr::default();
        for (i, b) in s
            .bytes()
            .filter(|b| b.is_ascii_graphic())
            .take(15)
            .enumerate()
        {
            a.bytes[i] = b;
            a.len = i as u8 + 1;
        }
        a
    }

    /// The abbreviation as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

/// A local time type: what a zone's clocks show relative to UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalType {
    /// Seconds east of UTC.
    pub offset: i64,
    /// Daylight saving time?
    pub dst: bool,
    /// `%Z`'s text.
    pub abbr: Abbr,
}

impl LocalType {
    /// UTC itself.
    pub fn utc() -> LocalType {
        LocalType {
            offset: 0,
            dst: false,
            abbr: Abbr::new("UTC"),
        }
    }

    /// A fixed offset, named as `%z` prints it (`+0200`).
    pub fn fixed(offset: i64) -> LocalType {
        if offset == 0 {
            return LocalType::utc();
        }
        let o = offset.unsigned_abs();
        let sign = if offset < 0 { '-' } else { '+' };
        LocalType {
            offset,
            dst: false,
            abbr: Abbr::new(&format!("{sign}{:02}{:02}", o / 3600, o / 60 % 60)),
        }
    }
}

/// A time zone: transitions between local time types, then a rule for later times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Transition times (Unix seconds), ascending.
    times: Vec<i64>,
    /// The local time type index taking effect at each transition.
    idx: Vec<u8>,
    /// Local time types; never empty (type 0 applies before the first transition).
    types: Vec<LocalType>,
    /// The POSIX TZ footer, for times at or after the last transition.
    rule: Option<Rule>,
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::fixed(0)
    }
}

impl Zone {
    /// A zone that is always `offset` seconds east of UTC.
    pub fn fixed(offset: i64) -> Zone {
        Zone {
            times: Vec::new(),
            idx: Vec::new(),
            types: vec![LocalType::fixed(offset)],
            rule: None,
        }
    }

    /// Reads a TZif file (RFC 8536): the 64-bit block and footer of version 2+, else the
    /// 32-bit block.
    pub fn from_tzif(bytes: &[u8]) -> Result<Zone, String> {
        tzif::parse(bytes)
    }

    /// A POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`, `EST5EDT`, `<+0530>-5:30`).
    pub fn from_posix(s: &str) -> Result<Zone, String> {
        let rule = Rule::parse(s)?;
        Ok(Zone {
            times: Vec::new(),
            idx: Vec::new(),
            types: vec![rule.std_type()],
            rule: Some(rule),
        })
    }

    /// The local time type at Unix time `t`.
    pub fn at(&self, t: i64) -> LocalType {
        let first = self.types.first().copied().unwrap_or_else(LocalType::utc);
        match self.times.partition_point(|&at| at <= t) {
            0 if !self.times.is_empty() => first,
            n if n == self.times.len() => match &self.rule {
                Some(r) => r.at(t),
                None => self
                    .idx
                    .last()
                    .and_then(|&i| self.types.get(usize::from(i)))
                    .copied()
                    .unwrap_or(first),
            },
            n => self
                .idx
                .get(n - 1)
                .and_then(|&i| self.types.get(usize::from(i)))
                .copied()
                .unwrap_or(first),
        }
    }

    /// Bytes held (for the cache's bound).
    pub fn size(&self) -> usize {
        self.times.len() * 9 + self.types.len() * std::mem::size_of::<LocalType>()
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

#[cfg(test)]
mod tests;
