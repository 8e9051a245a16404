//! The prompts the Say applications play: SayDigits, SayNumber, SayAlpha, SayPhonetic,
//! SayUnixTime (English).
//!
//! Reading list: Asterisk `main/say.c` (`ast_say_digit_str_full`, `ast_say_character_str_full`,
//! `ast_say_phonetic_str_full`, `ast_say_number_full_en`, `ast_say_enumeration_full_en`,
//! `ast_say_date_with_format_en`). Only the file names matter here: the call plays them.

/// The prompts SayDigits plays for `s`, one per character (Asterisk's `ast_say_digit_str`).
pub fn digit_files(s: &str) -> Vec<String> {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(format!("digits/{c}")),
            '*' => Some("digits/star".into()),
            '#' => Some("digits/pound".into()),
            '-' => Some("letters/dash".into()),
            c if c.is_ascii_alphabetic() => Some(format!("letters/{}", c.to_ascii_lowercase())),
            _ => None,
        })
        .collect()
}

/// The symbol prompts SayAlpha and SayPhonetic share.
fn symbol(c: char) -> Option<&'static str> {
    Some(match c {
        '*' => "digits/star",
        '#' => "digits/pound",
        '!' => "letters/exclaimation-point",
        '@' => "letters/at",
        '$' => "letters/dollar",
        '-' => "letters/dash",
        '.' => "letters/dot",
        '=' => "letters/equals",
        '+' => "letters/plus",
        '/' => "letters/slash",
        ' ' => "letters/space",
        _ => return None,
    })
}

/// SayAlpha: `letters/a`, `digits/1`, `letters/dot`, ... (case is not spoken).
pub fn alpha_files(s: &str) -> Vec<String> {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(format!("digits/{c}")),
            c if c.is_ascii_alphabetic() => Some(format!("letters/{}", c.to_ascii_lowercase())),
            c => symbol(c).map(String::from),
        })
        .collect()
}

/// SayPhonetic: `phonetic/a_p` (alfa), `digits/1`, the symbols as SayAlpha.
pub fn phonetic_files(s: &str) -> Vec<String> {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(format!("digits/{c}")),
            c if c.is_ascii_alphabetic() => Some(format!("phonetic/{}_p", c.to_ascii_lowercase())),
            c => symbol(c).map(String::from),
        })
        .collect()
}

/// English number prompts as Asterisk's `ast_say_number_full_en`.
pub fn number_files(n: i64) -> Vec<String> {
    let mut out = Vec::new();
    if n < 0 {
        out.push("digits/minus".to_string());
    }
    let mut n = n.unsigned_abs();
    if n == 0 {
        out.push("digits/0".into());
        return out;
    }
    for (unit, name) in [
        (1_000_000_000u64, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        if n >= unit {
            out.extend(number_files((n / unit) as i64));
            out.push(format!("digits/{name}"));
            n %= unit;
        }
    }
    if n >= 100 {
        out.push(format!("digits/{}", n / 100));
        out.push("digits/hundred".into());
        n %= 100;
    }
    if n >= 20 {
        out.push(format!("digits/{}", n / 10 * 10));
        n %= 10;
    }
    if n > 0 {
        out.push(format!("digits/{n}"));
    }
    out
}

/// An English ordinal day of the month (`ast_say_enumeration_full_en` for 1..=31).
fn ordinal_files(n: u32) -> Vec<String> {
    match n {
        0..=20 => vec![format!("digits/h-{n}")],
        _ if n.is_multiple_of(10) => vec![format!("digits/h-{n}")],
        _ => vec![
            format!("digits/{}", n / 10 * 10),
            format!("digits/h-{}", n % 10),
        ],
    }
}

/// The default English SayUnixTime format (`ast_say_date_with_format_en`'s caller).
pub const DEFAULT_DATE_FORMAT: &str = "ABdY 'digits/at' IMp";

/// SayUnixTime's prompts for `t` in `format`: `A`/`a` weekday, `B`/`b`/`h` month, `d`/`e`
/// ordinal day, `Y` year, `I`/`l` 12-hour, `H`/`k` 24-hour, `M`/`N` minutes, `P`/`p`
/// AM/PM, `R` (= `HM`), `'file'` a prompt by name. Other letters are a warning, skipped.
pub(crate) fn date_files(
    format: &str,
    t: &crate::dialplan::functions::strftime::Tm,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let name: String = chars.by_ref().take_while(|c| *c != '\'').collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
            'A' | 'a' => out.push(format!("digits/day-{}", t.wday)),
            'B' | 'b' | 'h' => out.push(format!("digits/mon-{}", t.month - 1)),
            'd' | 'e' => out.extend(ordinal_files(t.mday)),
            'Y' => out.extend(number_files(t.year)),
            'I' | 'l' => {
                let h = if t.hour.is_multiple_of(12) {
                    12
                } else {
                    t.hour % 12
                };
                out.push(format!("digits/{h}"));
            }
            'H' | 'k' => hour24(&mut out, t.hour, c == 'H'),
            'M' | 'N' => minutes(&mut out, t.min, c == 'M'),
            'P' | 'p' => out.push(
                if t.hour > 11 {
                    "digits/p-m"
                } else {
                    "digits/a-m"
                }
                .into(),
            ),
            'R' => {
                hour24(&mut out, t.hour, true);
                minutes(&mut out, t.min, true);
            }
            ' ' => {}
            other => log::warn!("SayUnixTime: format letter '{other}' not supported; skipped"),
        }
    }
    out
}

fn hour24(out: &mut Vec<String>, hour: u32, oh: bool) {
    // `H` says "oh eight"; `k` says "eight" (and "oh" for midnight).
    if (oh && hour < 10) || (!oh && hour == 0) {
        out.push("digits/oh".into());
    }
    if hour != 0 {
        let mut rest = hour;
        if hour > 20 {
            out.push("digits/20".into());
            rest -= 20;
        }
        out.push(format!("digits/{rest}"));
    }
}

fn minutes(out: &mut Vec<String>, min: u32, oclock: bool) {
    match min {
        0 if oclock => out.push("digits/oclock".into()),
        0 => out.push("digits/hundred".into()),
        1..=9 => {
            out.push("digits/oh".into());
            out.push(format!("digits/{min}"));
        }
        _ => out.extend(number_files(i64::from(min))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::functions::strftime::Tm;

    #[test]
    fn alpha_and_phonetic() {
        assert_eq!(
            alpha_files("Ab1.@ ~"),
            [
                "letters/a",
                "letters/b",
                "digits/1",
                "letters/dot",
                "letters/at",
                "letters/space"
            ]
        );
        assert_eq!(
            phonetic_files("aZ9!"),
            [
                "phonetic/a_p",
                "phonetic/z_p",
                "digits/9",
                "letters/exclaimation-point"
            ]
        );
        assert!(alpha_files("").is_empty());
    }

    #[test]
    fn dates() {
        // Thursday 2024-02-29 12:34 UTC.
        let t = Tm::new(1_709_210_040, 0, 0);
        assert_eq!(
            date_files(DEFAULT_DATE_FORMAT, &t),
            [
                "digits/day-4",
                "digits/mon-1",
                "digits/20",
                "digits/h-9",
                "digits/2",
                "digits/thousand",
                "digits/20",
                "digits/4",
                "digits/at",
                "digits/12",
                "digits/30",
                "digits/4",
                "digits/p-m"
            ]
        );
        let early = Tm::new(1_709_183_100, 0, 0); // 05:05
        assert_eq!(
            date_files("HM", &early),
            ["digits/oh", "digits/5", "digits/oh", "digits/5"]
        );
        assert_eq!(
            date_files("kN", &Tm::new(0, 0, 0)),
            ["digits/oh", "digits/hundred"]
        );
        assert_eq!(
            date_files("H", &Tm::new(22 * 3600, 0, 0)),
            ["digits/20", "digits/2"]
        );
        assert_eq!(date_files("'beep'x", &t), ["beep"]);
        // 1970-01-31.
        assert_eq!(
            date_files("d", &Tm::new(30 * 86_400, 0, 0)),
            ["digits/30", "digits/h-1"]
        );
    }
}
