//! One `Master.csv` line, as `cdr/cdr_csv.c`'s `build_csv_record` prints it: every text field
//! in double quotes with `"` doubled, duration and billsec bare, an unset answer time as an
//! empty unquoted field, times as `%Y-%m-%d %T` in local time (or UTC with `usegmtime`),
//! `uniqueid` and `userfield` only when `loguniqueid` / `loguserfield` ask for them. A line
//! that would not fit cdr_csv's 1024-byte buffer is not written (Asterisk logs "Unable to
//! create CSV record"): [`line`] returns None.

use super::CdrRecord;
use crate::dialplan::time::civil;
use std::time::SystemTime;

/// The `[csv]` options of cdr.conf that shape a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    /// `usegmtime` (no): times in UTC instead of local time.
    pub usegmtime: bool,
    /// `loguniqueid` (no): append the uniqueid column.
    pub loguniqueid: bool,
    /// `loguserfield` (no): append the userfield column.
    pub loguserfield: bool,
    /// `accountlogs` (yes): also append to `<accountcode>.csv`.
    pub accountlogs: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            usegmtime: false,
            loguniqueid: false,
            loguserfield: false,
            accountlogs: true,
        }
    }
}

/// cdr_csv's buffer.
const BUF: usize = 1024;

/// The line (with its newline) for `r`; `local_offset` gives the local zone's offset east of
/// UTC in seconds for a Unix time (ignored with `usegmtime`).
pub fn line(r: &CdrRecord, o: &CsvOptions, local_offset: &dyn Fn(i64) -> i64) -> Option<String> {
    let mut s = String::with_capacity(256);
    for f in [
        &r.accountcode,
        &r.src,
        &r.dst,
        &r.dcontext,
        &r.clid,
        &r.channel,
        &r.dstchannel,
        &r.lastapp,
        &r.lastdata,
    ] {
        quoted(&mut s, f);
    }
    // Dates and numbers are printed straight into the line (no `format!` per field).
    let date = |s: &mut String, t: SystemTime| {
        let secs = crate::dialplan::time::epoch_secs(t);
        let off = if o.usegmtime { 0 } else { local_offset(secs) };
        s.push('"');
        write_time(s, secs + off);
        s.push_str("\",");
    };
    date(&mut s, r.start);
    match r.answer {
        Some(t) => date(&mut s, t),
        None => s.push(','),
    }
    date(&mut s, r.end);
    push_i64(&mut s, r.duration);
    s.push(',');
    push_i64(&mut s, r.billsec);
    s.push(',');
    quoted(&mut s, r.disposition.as_str());
    quoted(&mut s, r.amaflags.as_str());
    if o.loguniqueid {
        quoted(&mut s, &r.uniqueid);
    }
    if o.loguserfield {
        quoted(&mut s, &r.userfield);
    }
    if s.len() >= BUF - 5 {
        return None;
    }
    s.pop();
    s.push('\n');
    Some(s)
}

fn quoted(s: &mut String, v: &str) {
    s.push('"');
    // Copied a run at a time: a field seldom has a `"` to double.
    let mut rest = v;
    while let Some(q) = rest.find('"') {
        s.push_str(&rest[..=q]);
        s.push('"');
        rest = &rest[q + 1..];
    }
    s.push_str(rest);
    s.push_str("\",");
}

/// `%Y-%m-%d %H:%M:%S` of local seconds since the epoch.
pub fn format_time(secs: i64) -> String {
    let mut s = String::with_capacity(19);
    write_time(&mut s, secs);
    s
}

/// Appends [`format_time`]'s text.
fn write_time(s: &mut String, secs: i64) {
    let c = civil(secs);
    let sod = secs.rem_euclid(86_400);
    push_padded(s, c.year, 4);
    s.push('-');
    push2(s, i64::from(c.month));
    s.push('-');
    push2(s, i64::from(c.mday));
    s.push(' ');
    push2(s, sod / 3600);
    s.push(':');
    push2(s, (sod / 60) % 60);
    s.push(':');
    push2(s, sod % 60);
}

/// [`push_padded`] to width 2 of a month, day, hour, minute or second (three of each per
/// record): two digits without the general loop.
fn push2(s: &mut String, n: i64) {
    if !(0..100).contains(&n) {
        return push_padded(s, n, 2);
    }
    let n = n as u8;
    s.push(char::from(b'0' + n / 10));
    s.push(char::from(b'0' + n % 10));
}

/// Appends `n` as `{n:0width$}` prints it (a sign first, counted in the width).
fn push_padded(s: &mut String, n: i64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    let len = digits.len() - i + usize::from(n < 0);
    if n < 0 {
        s.push('-');
    }
    for _ in len..width {
        s.push('0');
    }
    for &d in &digits[i..] {
        s.push(char::from(d));
    }
}

/// Appends `n` in decimal.
fn push_i64(s: &mut String, n: i64) {
    push_padded(s, n, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::{AmaFlags, Disposition};
    use std::time::Duration;

    #[test]
    fn numbers_print_as_format_does() {
        for n in [0i64, 7, -7, 42, 2024, -2024, 99_999, i64::MIN, i64::MAX] {
            for w in [0usize, 2, 4] {
                let mut s = String::new();
                push_padded(&mut s, n, w);
                assert_eq!(s, format!("{n:0w$}"), "{n} {w}");
            }
        }
        for n in (-3i64..=103).chain([i64::MIN, i64::MAX]) {
            let mut s = String::new();
            push2(&mut s, n);
            assert_eq!(s, format!("{n:02}"), "{n}");
        }
        for v in ["", "plain", "\"", "a\"b\"\"c", "é\"ü", "end\""] {
            let mut s = String::new();
            quoted(&mut s, v);
            let mut want = String::from("\"");
            for c in v.chars() {
                if c == '"' {
                    want.push('"');
                }
                want.push(c);
            }
            want.push_str("\",");
            assert_eq!(s, want, "{v:?}");
        }
        for secs in [0i64, 1_709_210_040, -86_401, 253_402_300_799] {
            let c = civil(secs);
            let sod = secs.rem_euclid(86_400);
            let want = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                c.year,
                c.month,
                c.mday,
                sod / 3600,
                (sod / 60) % 60,
                sod % 60
            );
            assert_eq!(format_time(secs), want);
        }
    }

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    fn rec() -> CdrRecord {
        CdrRecord {
            accountcode: "".into(),
            src: "1001".into(),
            dst: "1002".into(),
            dcontext: "internal".into(),
            clid: "\"Alice \"A\"\" <1001>".into(),
            channel: "SIP/1001-00000001".into(),
            dstchannel: "SIP/1002-00000002".into(),
            lastapp: "Dial".into(),
            lastdata: "SIP/1002,30".into(),
            start: at(1_767_225_600),
            answer: None,
            end: at(1_767_225_605),
            duration: 5,
            billsec: 0,
            disposition: Disposition::NoAnswer,
            amaflags: AmaFlags::Documentation,
            uniqueid: "1767225600.1".into(),
            userfield: "x".into(),
        }
    }

    #[test]
    fn cdr_csv_quoting_and_an_unset_answer_time() {
        let o = CsvOptions {
            usegmtime: true,
            ..CsvOptions::default()
        };
        assert_eq!(
            line(&rec(), &o, &|_| 3600).unwrap(),
            "\"\",\"1001\",\"1002\",\"internal\",\"\"\"Alice \"\"A\"\"\"\" <1001>\",\
             \"SIP/1001-00000001\",\"SIP/1002-00000002\",\"Dial\",\"SIP/1002,30\",\
             \"2026-01-01 00:00:00\",,\"2026-01-01 00:00:05\",5,0,\"NO ANSWER\",\"DOCUMENTATION\"\n"
        );
    }

    #[test]
    fn local_time_uniqueid_userfield_and_the_buffer_bound() {
        let o = CsvOptions {
            loguniqueid: true,
            loguserfield: true,
            ..CsvOptions::default()
        };
        let mut r = rec();
        r.answer = Some(at(1_767_225_601));
        let l = line(&r, &o, &|_| 3600).unwrap();
        assert!(
            l.ends_with(
                "\"2026-01-01 01:00:00\",\"2026-01-01 01:00:01\",\"2026-01-01 01:00:05\",5,0,\
                 \"NO ANSWER\",\"DOCUMENTATION\",\"1767225600.1\",\"x\"\n"
            ),
            "{l}"
        );
        r.userfield = "\"".repeat(600).into();
        assert!(line(&r, &o, &|_| 0).is_none(), "past cdr_csv's 1024 bytes");
    }
}
