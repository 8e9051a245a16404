//! Asterisk's small formatting habits: `1 hour, 2 minutes, 3 seconds`, plurals, Yes/No.

use std::time::Duration;

/// `main/asterisk.c` `print_uptimestr`: years, weeks, days, hours, minutes, seconds, the
/// zero ones left out.
pub fn timestr(d: Duration) -> String {
    const UNITS: [(&str, u64); 6] = [
        ("year", 365 * 86_400),
        ("week", 7 * 86_400),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ];
    let mut left = d.as_secs();
    let mut parts = Vec::new();
    for (name, secs) in UNITS {
        let n = left / secs;
        left %= secs;
        if n > 0 {
            parts.push(plural(n, name));
        }
    }
    if parts.is_empty() {
        "<1 second".into()
    } else {
        parts.join(", ")
    }
}

/// `1 call`, `2 calls`.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `AST_CLI_YESNO`.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// `HH:MM:SS` of a duration (`core show channels verbose`).
pub fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The codec list as chan_sip prints it: `(ulaw|alaw)`.
pub fn codecs(list: &[crate::config::codec::Codec]) -> String {
    let names: Vec<&str> = list.iter().map(|c| c.name()).collect();
    format!(
        "({})",
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join("|")
        }
    )
}

/// `Thu, 01 Jan 2026 00:00:00` (UTC), the `%a, %d %b %Y %T` chan_sip prints.
pub fn date(t: std::time::SystemTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = crate::dialplan::time::epoch_secs(t);
    let c = crate::dialplan::time::civil(secs);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02}",
        DAYS[c.wday as usize % 7],
        c.mday,
        MONTHS[(c.month as usize + 11) % 12],
        c.year,
        c.minute_of_day / 60,
        c.minute_of_day % 60,
        secs.rem_euclid(60)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_words_as_asterisk_prints_them() {
        assert_eq!(
            timestr(Duration::from_secs(3_723)),
            "1 hour, 2 minutes, 3 seconds"
        );
        assert_eq!(timestr(Duration::from_secs(60)), "1 minute");
        assert_eq!(timestr(Duration::ZERO), "<1 second");
        assert_eq!(hms(Duration::from_secs(3_723)), "01:02:03");
    }
}
