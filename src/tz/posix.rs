//! POSIX TZ strings (POSIX.1-2017 §8.3, with RFC 8536 §3.3.1's extensions: hours up to
//! 167 and negative rule times): `std offset [dst [offset] [,start[/time],end[/time]]]`.
//! Offsets are west of UTC (`CET-1` is one hour ahead); a zone with daylight time but no
//! rule uses the US rule `M3.2.0,M11.1.0`, as tzcode's `TZDEFRULESTRING` does.

use super::{days_from_civil, is_leap, Abbr, LocalType};

/// The day a change happens in a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Jn`: 1..=365, February 29 never counted.
    Julian(u16),
    /// `n`: 0..=365, counting February 29.
    Zero(u16),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { m: u8, w: u8, d: u8 },
}

/// Daylight time: its type and the two changes (day, seconds after local midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Daylight {
    ty: LocalType,
    start: (Day, i64),
    end: (Day, i64),
}

/// A parsed POSIX TZ string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    std: LocalType,
    dst: Option<Daylight>,
}

struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }
    fn num(&mut self, max: i64) -> Result<i64, String> {
        let start = self.i;
        let mut v = 0i64;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v * 10 + i64::from(c - b'0');
            self.i += 1;
            if self.i - start > 3 || v > max {
                return Err("number out of range".into());
            }
        }
        if self.i == start {
            return Err("number expected".into());
        }
        Ok(v)
    }
    /// A zone name: `<...>` or three or more letters.
    fn name(&mut self) -> Result<&str, String> {
        let (start, end) = if self.eat(b'<') {
            let start = self.i;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-')
            {
                self.i += 1;
            }
            let end = self.i;
            if !self.eat(b'>') {
                return Err("unterminated '<' zone name".into());
            }
            (start, end)
        } else {
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.i += 1;
            }
            (start, self.i)
        };
        if end - start < 3 {
            return Err("zone name shorter than three characters".into());
        }
        std::str::from_utf8(&self.s[start..end]).map_err(|_| "bad zone name".into())
    }
    /// `[+-]hh[:mm[:ss]]` in seconds, hours up to `max_h`.
    fn hms(&mut self, max_h: i64) -> Result<i64, String> {
        let sign = if self.eat(b'-') {
            -1
        } else {
            self.eat(b'+');
            1
        };
        let mut v = self.num(max_h)? * 3600;
        if self.eat(b':') {
            v += self.num(59)? * 60;
            if self.eat(b':') {
                v += self.num(59)?;
            }
        }
        Ok(sign * v)
    }
    fn day(&mut self) -> Result<Day, String> {
        if self.eat(b'J') {
            let n = self.num(365)?;
            if n == 0 {
                return Err("J0 is no day".into());
            }
            Ok(Day::Julian(n as u16))
        } else if self.eat(b'M') {
            let m = self.num(12)?;
            let w = if self.eat(b'.') { self.num(5)? } else { -1 };
            let d = if self.eat(b'.') { self.num(6)? } else { -1 };
            if m < 1 || w < 1 || d < 0 {
                return Err("bad Mm.w.d rule".into());
            }
            Ok(Day::Month {
                m: m as u8,
                w: w as u8,
                d: d as u8,
            })
        } else {
            Ok(Day::Zero(self.num(365)? as u16))
        }
    }
    fn change(&mut self) -> Result<(Day, i64), String> {
        let d = self.day()?;
        let t = if self.eat(b'/') { self.hms(167)? } else { 7200 };
        Ok((d, t))
    }
}

impl Rule {
    /// Parses a TZ string; `:`-prefixed names are file names, not rules.
    pub fn parse(s: &str) -> Result<Rule, String> {
        let mut c = Cur {
            s: s.trim().as_bytes(),
            i: 0,
        };
        let std_name = Abbr::new(c.name()?);
        let std_off = -c.hms(24)?;
        let std = LocalType {
            offset: std_off,
            dst: false,
            abbr: std_name,
        };
        if c.peek().is_none() {
            return Ok(Rule { std, dst: None });
        }
        let dst_name = Abbr::new(c.name()?);
        let dst_off = match c.peek() {
            Some(b',') | None => std_off + 3600,
            _ => -c.hms(24)?,
        };
        let (start, end) = if c.eat(b',') {
            let start = c.change()?;
            if !c.eat(b',') {
                return Err("daylight rule needs an end".into());
            }
            (start, c.change()?)
        } else {
            (
                (Day::Month { m: 3, w: 2, d: 0 }, 7200),
                (Day::Month { m: 11, w: 1, d: 0 }, 7200),
            )
        };
        if c.peek().is_some() {
            return Err(format!("trailing text in TZ string '{s}'"));
        }
        Ok(Rule {
            std,
            dst: Some(Daylight {
                ty: LocalType {
                    offset: dst_off,
                    dst: true,
                    abbr: dst_name,
                },
                start,
                end,
            }),
        })
    }

    /// The standard time type.
    pub fn std_type(&self) -> LocalType {
        self.std
    }

    /// The local time type at Unix time `t`.
    pub fn at(&self, t: i64) -> LocalType {
        let Some(d) = &self.dst else {
            return self.std;
        };
        let year = year_of(t.saturating_add(self.std.offset));
        // Start is given in standard time, end in daylight time.
        let start = change_utc(year, d.start) - self.std.offset;
        let end = change_utc(year, d.end) - d.ty.offset;
        let in_dst = if start < end {
            (start..end).contains(&t)
        } else {
            !(end..start).contains(&t)
        };
        if in_dst {
            d.ty
        } else {
            self.std
        }
    }
}

/// Local seconds since the epoch of a change in `year`.
fn change_utc(year: i64, (day, secs): (Day, i64)) -> i64 {
    let jan1 = days_from_civil(year, 1, 1);
    let days = match day {
        Day::Julian(n) => jan1 + i64::from(n) - 1 + i64::from(is_leap(year) && n >= 60),
        Day::Zero(n) => jan1 + i64::from(n),
        Day::Month { m, w, d } => {
            let first = days_from_civil(year, u32::from(m), 1);
            let wday_first = (first + 4).rem_euclid(7);
            let mut mday = 1 + (i64::from(d) - wday_first).rem_euclid(7) + 7 * (i64::from(w) - 1);
            let next = if m == 12 {
                days_from_civil(year + 1, 1, 1)
            } else {
                days_from_civil(year, u32::from(m) + 1, 1)
            };
            while first + mday > next {
                mday -= 7;
            }
            first + mday - 1
        }
    };
    days * 86_400 + secs
}

/// The Gregorian year holding Unix time `t`.
fn year_of(t: i64) -> i64 {
    let days = t.div_euclid(86_400);
    // 146,097 days per 400 years: the estimate is off by at most a year.
    let mut y = 1970 + days.saturating_mul(400).div_euclid(146_097);
    while days_from_civil(y, 1, 1) > days {
        y -= 1;
    }
    while days_from_civil(y + 1, 1, 1) <= days {
        y += 1;
    }
    y
}
