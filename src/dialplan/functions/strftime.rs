//! `STRFTIME(epoch,timezone,format)`, `IFTIME(timespec?true:false)` and the broken-down time
//! STRFTIME and `SayUnixTime` use.
//!
//! Reading list: Asterisk `funcs/func_strings.c` (`acf_strftime`), `main/stdtime/localtime.c`
//! (`ast_strftime`: C's strftime plus `%q`/`%1q`..`%6q` for fractions of a second),
//! `funcs/func_logic.c` (`iftime`).
//!
//! Time zones ([`crate::tz::Zones`]): an empty zone is the machine's local zone; a named
//! zone (`Europe/Berlin`) is the TZif file read with the config (the core does no file I/O:
//! zones named literally in extensions.conf are read at load and reload); `UTC`, a fixed
//! offset (`+02:00`, `-0530`), `Etc/GMT±N` and a POSIX TZ string (`EST5EDT`) need no file.
//! Anything else is a warning and UTC, as in Asterisk.

use std::time::SystemTime;

use super::{split_args, Ctx};
use crate::dialplan::time::epoch_secs;

/// A broken-down time, as C's `struct tm` (fields 0-based where C's are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tm {
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    pub mday: u32,
    /// 0 = Sunday.
    pub wday: u32,
    /// 0..=365.
    pub yday: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// Microseconds.
    pub usec: u32,
    /// Seconds east of UTC.
    pub offset: i64,
    /// `%Z`'s zone abbreviation.
    pub abbr: crate::tz::Abbr,
    /// Seconds since the epoch (UTC).
    pub epoch: i64,
}

impl Tm {
    /// `epoch` (with `usec`) seen at `offset` seconds east of UTC.
    pub fn new(epoch: i64, usec: u32, offset: i64) -> Tm {
        Tm::in_zone(epoch, usec, crate::tz::LocalType::fixed(offset))
    }

    /// `epoch` (with `usec`) seen in local time type `local`.
    pub fn in_zone(epoch: i64, usec: u32, zone: crate::tz::LocalType) -> Tm {
        let offset = zone.offset;
        let local = epoch.saturating_add(offset);
        let c = crate::dialplan::time::civil(local);
        let days_before = |y: i64, m: u32| -> u32 {
            const CUM: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            CUM[(m as usize - 1).min(11)] + u32::from(leap && m > 2)
        };
        let rem = local.rem_euclid(86_400) as u32;
        Tm {
            year: c.year,
            month: c.month,
            mday: c.mday,
            wday: c.wday,
            yday: days_before(c.year, c.month) + c.mday - 1,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            usec,
            offset,
            abbr: zone.abbr,
            epoch,
        }
    }
}

const WDAY: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MON: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The local time type of zone argument `tz` at `epoch`; a zone that cannot be resolved is
/// a warning (naming `who` at `here()`) and UTC, as Asterisk's `ast_localtime` falls back.
pub(crate) fn local_type(
    zones: &crate::tz::Zones,
    tz: &str,
    epoch: i64,
    here: impl FnOnce() -> String,
    who: &str,
) -> crate::tz::LocalType {
    zones.at(tz, epoch).unwrap_or_else(|e| {
        log::warn!("{}: {who}: {e}; using UTC", here());
        crate::tz::LocalType::utc()
    })
}

/// Seconds (and microseconds) of an epoch argument; empty is `now`.
pub(crate) fn epoch_arg(s: &str, now: SystemTime) -> Result<(i64, u32), String> {
    let s = s.trim();
    if s.is_empty() {
        let us = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_micros());
        return Ok((epoch_secs(now), us));
    }
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a time in seconds since the epoch"))?;
    if !v.is_finite() || v.abs() > 1e15 {
        return Err(format!("time '{s}' out of range"));
    }
    let secs = v.floor();
    Ok((secs as i64, ((v - secs) * 1e6) as u32))
}

pub(crate) fn read(cx: &mut Ctx<'_>, args: &str) -> Result<String, String> {
    let a = split_args(args);
    let arg = |i: usize| a.get(i).map(String::as_str).unwrap_or("");
    let (epoch, usec) = epoch_arg(arg(0), cx.ex.now)?;
    let local = local_type(cx.dp.zones(), arg(1), epoch, || cx.here(), "STRFTIME");
    let fmt = if arg(2).is_empty() { "%c" } else { arg(2) };
    Ok(strftime(fmt, &Tm::in_zone(epoch, usec, local)))
}

/// `IFTIME(times,weekdays,mdays,months[,timezone]?[true][:false])` (`funcs/func_logic.c`).
pub(crate) fn iftime(cx: &mut Ctx<'_>, args: &str) -> Result<String, String> {
    let (cond, branches) = args
        .split_once('?')
        .ok_or("syntax is IFTIME(<timespec>?[<true>][:<false>])")?;
    let spec = crate::dialplan::time::TimeSpec::parse_list(cond)?;
    if let Some(e) = spec.zone_error(cx.ex.now, cx.dp.zones()) {
        log::warn!("{}: IFTIME: {e}; using UTC", cx.here());
    }
    let (t, f) = branches.split_once(':').unwrap_or((branches, ""));
    let pick = if spec.matches(cx.ex.now, cx.dp.zones()) {
        t
    } else {
        f
    };
    Ok(pick.trim().to_string())
}

/// C's `strftime` in the C locale, with Asterisk's `%q` (milliseconds) and `%1q`..`%6q`.
pub(crate) fn strftime(fmt: &str, t: &Tm) -> String {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let h12 = if t.hour.is_multiple_of(12) {
        12
    } else {
        t.hour % 12
    };
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut digits = None;
        if let Some(d) = it.peek().and_then(|d| d.to_digit(10)) {
            digits = Some(d);
            it.next();
        }
        let Some(spec) = it.next() else {
            out.push('%');
            break;
        };
        let wd = WDAY[t.wday as usize % 7];
        let mo = MON[(t.month as usize + 11) % 12];
        let s = match spec {
            'a' => wd[..3].to_string(),
            'A' => wd.to_string(),
            'b' | 'h' => mo[..3].to_string(),
            'B' => mo.to_string(),
            'c' => format!(
                "{} {} {:>2} {:02}:{:02}:{:02} {}",
                &wd[..3],
                &mo[..3],
                t.mday,
                t.hour,
                t.min,
                t.sec,
                t.year
            ),
            'C' => format!("{:02}", t.year.div_euclid(100)),
            'd' => format!("{:02}", t.mday),
            'D' => format!("{:02}/{:02}/{:02}", t.month, t.mday, t.year.rem_euclid(100)),
            'e' => format!("{:>2}", t.mday),
            'F' => format!("{}-{:02}-{:02}", t.year, t.month, t.mday),
            'H' => format!("{:02}", t.hour),
            'I' => format!("{h12:02}"),
            'j' => format!("{:03}", t.yday + 1),
            'k' => format!("{:>2}", t.hour),
            'l' => format!("{h12:>2}"),
            'm' => format!("{:02}", t.month),
            'M' => format!("{:02}", t.min),
            'n' => "\n".into(),
            'p' => if t.hour < 12 { "AM" } else { "PM" }.into(),
            'P' => if t.hour < 12 { "am" } else { "pm" }.into(),
            'q' => {
                let n = digits.unwrap_or(3).clamp(1, 6);
                let v = t.usec / 10u32.pow(6 - n);
                format!("{v:0width$}", width = n as usize)
            }
            'r' => format!(
                "{h12:02}:{:02}:{:02} {}",
                t.min,
                t.sec,
                if t.hour < 12 { "AM" } else { "PM" }
            ),
            'R' => format!("{:02}:{:02}", t.hour, t.min),
            's' => t.epoch.to_string(),
            'S' => format!("{:02}", t.sec),
            't' => "\t".into(),
            'T' => format!("{:02}:{:02}:{:02}", t.hour, t.min, t.sec),
            'u' => (if t.wday == 0 { 7 } else { t.wday }).to_string(),
            'w' => t.wday.to_string(),
            'y' => format!("{:02}", t.year.rem_euclid(100)),
            'Y' => t.year.to_string(),
            'z' => {
                let o = t.offset.abs();
                format!(
                    "{}{:02}{:02}",
                    if t.offset < 0 { '-' } else { '+' },
                    o / 3600,
                    o / 60 % 60
                )
            }
            // The zone's abbreviation (`CET`; `+0530` for a fixed offset).
            'Z' => t.abbr.as_str().into(),
            'x' => format!("{:02}/{:02}/{:02}", t.month, t.mday, t.year.rem_euclid(100)),
            'X' => format!("{:02}:{:02}:{:02}", t.hour, t.min, t.sec),
            '%' => "%".into(),
            other => {
                // C leaves unknown conversions alone.
                let mut s = String::from('%');
                if let Some(d) = digits {
                    s.push(char::from_digit(d, 10).unwrap_or('0'));
                }
                s.push(other);
                s
            }
        };
        out.push_str(&s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_table() {
        // Thursday 2024-02-29 12:34:00 UTC, 250 ms.
        let t = Tm::new(1_709_210_040, 250_000, 0);
        let cases: &[(&str, &str)] = &[
            ("%Y-%m-%d %H:%M:%S", "2024-02-29 12:34:00"),
            ("%c", "Thu Feb 29 12:34:00 2024"),
            ("%a %A %b %B", "Thu Thursday Feb February"),
            ("%j %u %w %y %C", "060 4 4 24 20"),
            ("%I %l %p %P", "12 12 PM pm"),
            ("%D %F %R %T", "02/29/24 2024-02-29 12:34 12:34:00"),
            ("%e|%k", "29|12"),
            ("%s", "1709210040"),
            ("%q %1q %6q", "250 2 250000"),
            ("%z %Z", "+0000 UTC"),
            ("100%%", "100%"),
            ("%Q %", "%Q %"),
            ("", ""),
        ];
        for (f, want) in cases {
            assert_eq!(strftime(f, &t), *want, "{f}");
        }
        let east = Tm::new(1_709_210_040, 0, 5 * 3600 + 1800);
        assert_eq!(strftime("%H:%M %z %Z", &east), "18:04 +0530 +0530");
        let before = Tm::new(-1, 0, 0);
        assert_eq!(strftime("%F %T", &before), "1969-12-31 23:59:59");
        // 2023-12-31 and leap 2024-12-31.
        assert_eq!(strftime("%j", &Tm::new(1_704_067_199, 0, 0)), "365");
        assert_eq!(strftime("%j", &Tm::new(1_735_689_599, 0, 0)), "366");
    }
}
