//! The zones a dialplan can use: the machine's local zone and the named zones read at load
//! or reload (bounded), plus what needs no file (UTC, fixed offsets, POSIX TZ strings).

use std::collections::HashMap;
use std::sync::Arc;

use super::{LocalType, Zone};

/// At most this many named zones are held (real dialplans name one to three).
pub const MAX_ZONES: usize = 64;
/// A zone file larger than this is refused (the largest in tzdata is under 4 KiB).
pub const MAX_ZONE_FILE: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
struct Inner {
    local: Zone,
    named: HashMap<String, Zone>,
}

/// The local zone and the named ones; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Zones {
    inner: Arc<Inner>,
}

impl Zones {
    /// Only the local zone.
    pub fn new(local: Zone) -> Zones {
        Zones {
            inner: Arc::new(Inner {
                local,
                named: HashMap::new(),
            }),
        }
    }

    /// Replaces the local zone.
    pub fn set_local(&mut self, local: Zone) {
        Arc::make_mut(&mut self.inner).local = local;
    }

    /// Holds `zone` under `name`; false when the cache is full.
    pub fn insert(&mut self, name: &str, zone: Zone) -> bool {
        let inner = Arc::make_mut(&mut self.inner);
        if inner.named.len() >= MAX_ZONES && !inner.named.contains_key(name) {
            return false;
        }
        inner.named.insert(name.to_string(), zone);
        true
    }

    /// Is `name` held?
    pub fn contains(&self, name: &str) -> bool {
        self.inner.named.contains_key(name)
    }

    /// How many named zones are held.
    pub fn len(&self) -> usize {
        self.inner.named.len()
    }

    /// No named zone held?
    pub fn is_empty(&self) -> bool {
        self.inner.named.is_empty()
    }

    /// The local type at Unix time `t` in the zone a dialplan argument names: empty is the
    /// local zone; then a zone read at load, UTC and fixed offsets, a POSIX TZ string.
    /// `Err` for anything else (Asterisk then uses UTC).
    pub fn at(&self, name: &str, t: i64) -> Result<LocalType, String> {
        let name = name.trim();
        let name = name.strip_prefix(':').unwrap_or(name);
        if name.is_empty() {
            return Ok(self.inner.local.at(t));
        }
        if let Some(z) = self.inner.named.get(name) {
            return Ok(z.at(t));
        }
        if let Some(fixed) = fixed_offset(name) {
            return fixed.map(LocalType::fixed);
        }
        match Zone::from_posix(name) {
            Ok(z) => Ok(z.at(t)),
            Err(_) if is_zone_name(name) => Err(format!(
                "time zone '{name}' was not read at load (only zones the dialplan names \
                 literally are)"
            )),
            Err(_) => Err(format!("unknown time zone '{name}'")),
        }
    }
}

/// A name that may be looked up under the zoneinfo directory: `Area/City` characters only,
/// no `..`, not absolute, bounded.
pub fn is_zone_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('/')
        && !name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
}

/// UTC's names, `Etc/GMT±N` (POSIX sign: `Etc/GMT-2` is two hours ahead) and sipbox's fixed
/// offsets `+HH[:MM]`/`-HHMM`: `None` when `tz` is none of these.
pub fn fixed_offset(tz: &str) -> Option<Result<i64, String>> {
    let up = tz.trim().to_ascii_uppercase();
    if matches!(
        up.as_str(),
        "UTC"
            | "GMT"
            | "Z"
            | "UTC0"
            | "GMT0"
            | "ETC/UTC"
            | "ETC/GMT"
            | "ETC/UCT"
            | "UCT"
            | "ETC/ZULU"
            | "ZULU"
            | "UNIVERSAL"
            | "ETC/UNIVERSAL"
    ) {
        return Some(Ok(0));
    }
    if let Some(rest) = up.strip_prefix("ETC/GMT") {
        let h = rest.parse::<i64>().ok().filter(|h| (-14..=12).contains(h));
        return Some(
            h.map(|h| -h * 3600)
                .ok_or(format!("unknown time zone '{tz}'")),
        );
    }
    let (sign, digits) = match up.as_bytes().first() {
        Some(b'+') => (1, &up[1..]),
        Some(b'-') => (-1, &up[1..]),
        _ => return None,
    };
    let d: String = digits.chars().filter(|c| *c != ':').collect();
    let bad = || Some(Err(format!("bad UTC offset '{tz}'")));
    if !d.bytes().all(|b| b.is_ascii_digit()) || !(d.len() == 2 || d.len() == 4) {
        return bad();
    }
    let h: i64 = d[..2].parse().unwrap_or(0);
    let m: i64 = d.get(2..).and_then(|m| m.parse().ok()).unwrap_or(0);
    if h > 14 || m > 59 {
        return bad();
    }
    Some(Ok(sign * (h * 3600 + m * 60)))
}
