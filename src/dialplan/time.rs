//! Time conditions for `GotoIfTime`, `ExecIfTime`-style checks and time-restricted
//! `include => ctx,times,weekdays,mdays,months`.
//!
//! Reading list: Asterisk `main/pbx.c` (`ast_build_timing`, `ast_check_timing`). Each field
//! is `*` or a `&`-separated list of single values or ranges; ranges may wrap (`fri-mon`,
//! `22:00-06:00`, `nov-feb`). A time range includes its end minute, as Asterisk's does.
//!
//! The clock is never read here: the caller passes `now`. Times are evaluated in the
//! optional fifth field's zone (`Europe/Berlin`, a POSIX TZ string, `UTC`, `+02:00`), or
//! without it in the machine's local zone, as `ast_check_timing2` does with
//! `ast_localtime(..., zone)`; the zones come read with the config (`crate::tz::Zones`). A
//! zone that was not read is UTC (the load warned about it).

use std::time::{SystemTime, UNIX_EPOCH};

/// A parsed time condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSpec {
    /// Minute-of-day ranges, inclusive, possibly wrapping; empty means any.
    minutes: Vec<(u16, u16)>,
    /// Bit `d` for weekday `d` (Sunday = 0).
    weekdays: u8,
    /// Bit `d` for day of month `d` (1..=31).
    mdays: u32,
    /// Bit `m` for month `m` (1..=12).
    months: u16,
    /// The fifth field (empty: local time).
    zone: Box<str>,
}

/// A broken-down date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year, e.g. 2024.
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub mday: u32,
    /// 0 = Sunday.
    pub wday: u32,
    /// 0..1440.
    pub minute_of_day: u32,
}

/// Breaks seconds since the epoch into a civil date (proleptic Gregorian, UTC).
pub fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let mday = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month: month as u32,
        mday: mday as u32,
        wday: (days + 4).rem_euclid(7) as u32,
        minute_of_day: (rem / 60) as u32,
    }
}

/// Seconds since the epoch of `now` (negative before 1970).
pub fn epoch_secs(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn named(s: &str, names: &[&str], base: u32) -> Result<u32, String> {
    let l = s.trim().to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| l.starts_with(n)) {
        return Ok(i as u32 + base);
    }
    l.parse::<u32>()
        .map_err(|_| format!("bad value '{}'", s.trim()))
}

/// Parses a `&`-list of values or wrapping ranges into a bit mask over `lo..=hi`.
fn mask(field: &str, names: &[&str], lo: u32, hi: u32) -> Result<u64, String> {
    let field = field.trim();
    let all = ((1u64 << (hi + 1)) - 1) & !((1u64 << lo) - 1);
    if field.is_empty() || field == "*" {
        return Ok(all);
    }
    let base = if names.len() == 7 { 0 } else { 1 };
    let mut m = 0u64;
    for part in field.split('&') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (named(a, names, base)?, named(b, names, base)?),
            None => {
                let v = named(part, names, base)?;
                (v, v)
            }
        };
        if !(lo..=hi).contains(&a) || !(lo..=hi).contains(&b) {
            return Err(format!("value out of range in '{part}'"));
        }
        let mut x = a;
        loop {
            m |= 1 << x;
            if x == b {
                break;
            }
            x = if x == hi { lo } else { x + 1 };
        }
    }
    Ok(m)
}

fn hhmm(s: &str) -> Result<u16, String> {
    let (h, m) = s.trim().split_once(':').ok_or(format!("bad time '{s}'"))?;
    let h: u16 = h.trim().parse().map_err(|_| format!("bad time '{s}'"))?;
    let m: u16 = m.trim().parse().map_err(|_| format!("bad time '{s}'"))?;
    if h > 23 || m > 59 {
        return Err(format!("bad time '{s}'"));
    }
    Ok(h * 60 + m)
}

impl TimeSpec {
    /// Parses the four fields (times, weekdays, month days, months).
    pub fn parse(times: &str, weekdays: &str, mdays: &str, months: &str) -> Result<Self, String> {
        let mut minutes = Vec::new();
        let t = times.trim();
        if !t.is_empty() && t != "*" {
            for part in t.split('&') {
                match part.split_once('-') {
                    Some((a, b)) => minutes.push((hhmm(a)?, hhmm(b)?)),
                    None => {
                        let v = hhmm(part)?;
                        minutes.push((v, v));
                    }
                }
            }
        }
        Ok(TimeSpec {
            minutes,
            weekdays: mask(weekdays, &DAYS, 0, 6)? as u8,
            mdays: mask(mdays, &[], 1, 31)? as u32,
            months: mask(months, &MONTHS, 1, 12)? as u16,
            zone: Box::from(""),
        })
    }

    /// Parses `times,weekdays,mdays,months[,tz]` (`|` also accepted as the separator).
    /// The zone is kept only when exactly five fields are given, as `ast_build_timing` does.
    pub fn parse_list(spec: &str) -> Result<Self, String> {
        let f: Vec<&str> = spec.split([',', '|']).collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("*");
        let mut spec = TimeSpec::parse(get(0), get(1), get(2), get(3))?;
        // As ast_build_timing: a zone only when there are exactly five fields.
        if f.len() == 5 {
            spec.zone = Box::from(f[4].trim());
        }
        Ok(spec)
    }

    /// The zone field (empty: local time).
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// Does `now`, seen in this condition's zone, fall inside it?
    pub fn matches(&self, now: SystemTime, zones: &crate::tz::Zones) -> bool {
        let t = epoch_secs(now);
        let offset = zones.at(&self.zone, t).map_or(0, |l| l.offset);
        self.matches_at(t, offset)
    }

    /// Why this condition's zone cannot be used at `now` (it is then UTC), for a warning.
    pub fn zone_error(&self, now: SystemTime, zones: &crate::tz::Zones) -> Option<String> {
        zones.at(&self.zone, epoch_secs(now)).err()
    }

    /// Does Unix time `t` at `offset` seconds east of UTC fall inside this condition?
    pub fn matches_at(&self, t: i64, offset: i64) -> bool {
        let c = civil(t.saturating_add(offset));
        let m = c.minute_of_day as u16;
        let in_time = self.minutes.is_empty()
            || self.minutes.iter().any(|&(a, b)| {
                if a <= b {
                    (a..=b).contains(&m)
                } else {
                    m >= a || m <= b
                }
            });
        in_time
            && self.weekdays & (1 << c.wday) != 0
            && self.mdays & (1 << c.mday) != 0
            && self.months & (1 << c.month) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn civil_dates() {
        // 2024-02-29 12:34 UTC was a Thursday.
        let c = civil(1_709_210_040);
        assert_eq!((c.year, c.month, c.mday, c.wday), (2024, 2, 29, 4));
        assert_eq!(c.minute_of_day, 12 * 60 + 34);
        assert_eq!(civil(0).wday, 4);
        assert_eq!(civil(-86_400).mday, 31);
    }

    #[test]
    fn time_table() {
        // Thursday 2024-02-29 12:34 UTC.
        let t = at(1_709_210_040);
        let cases: &[(&str, bool)] = &[
            ("*,*,*,*", true),
            ("09:00-17:00,mon-fri,*,*", true),
            ("09:00-12:33,*,*,*", false),
            ("09:00-12:34,*,*,*", true),
            ("22:00-13:00,*,*,*", true),
            ("13:00-22:00,*,*,*", false),
            ("*,fri-mon,*,*", false),
            ("*,wed-fri,*,*", true),
            ("*,sat&thu,*,*", true),
            ("*,*,29,*", true),
            ("*,*,1-28,*", false),
            ("*,*,*,nov-feb", true),
            ("*,*,*,mar-oct", false),
            ("*|thu|*|feb", true),
        ];
        for (spec, want) in cases {
            let s = TimeSpec::parse_list(spec).unwrap();
            assert_eq!(s.matches(t, &crate::tz::Zones::default()), *want, "{spec}");
        }
        let s = TimeSpec::parse_list("13:00-14:00,*,*,*").unwrap();
        assert!(s.matches(t, &crate::tz::Zones::new(crate::tz::Zone::fixed(3600))));
        // The fifth field: a zone (here fixed or a POSIX string) beats the local zone.
        let utc = crate::tz::Zones::default();
        for (spec, want) in [
            ("13:00-14:00,*,*,*,+01:00", true),
            // Seven fields: no zone (Asterisk's rule), so UTC here.
            ("13:00-14:00,*,*,*,CET-1CEST,M3.5.0,M10.5.0/3", false),
            ("07:00-08:00,*,*,*,EST5EDT", true),
            ("13:00-14:00,*,*,*|CET-1", true),
            ("21:00-22:00,*,*,*,JST-9", true),
            ("12:00-13:00,*,*,*,Nowhere/Land", true),
        ] {
            let s = TimeSpec::parse_list(spec).unwrap();
            assert_eq!(s.matches(t, &utc), want, "{spec}");
        }
    }

    #[test]
    fn bad_specs() {
        for bad in ["25:00-26:00", "*,funday", "*,*,32", "*,*,*,13", "9-10"] {
            assert!(TimeSpec::parse_list(bad).is_err(), "{bad}");
        }
    }
}
