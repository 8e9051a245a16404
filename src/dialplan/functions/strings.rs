//! Text functions: `CUT`, `FIELDQTY`, `FIELDNUM`, `LISTFILTER`, `STRREPLACE`, `REPLACE`,
//! `FILTER`, `TOLOWER`, `TOUPPER`, `REGEX`, `MD5`, `QUOTE`, `CSV_QUOTE`.
//!
//! Reading list: Asterisk `funcs/func_cut.c` (CUT), `funcs/func_strings.c` (the rest),
//! `funcs/func_md5.c`. Functions that take a variable *name* read it as `${name}`.

use md5::{Digest, Md5};

use super::{encoded_char, split_args, Ctx};
use crate::dialplan::rx::Regex;

/// Most fields CUT selects from (guards `CUT(x,-,1-99999999)`).
const MAX_FIELDS: usize = 10_000;

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    // REGEX and FILTER take their string raw: commas in it are data.
    match name {
        "REGEX" => return regex(args),
        "FILTER" => {
            let (allowed, s) = args
                .split_once(',')
                .ok_or("usage: FILTER(allowed-chars,string)")?;
            return Ok(filter(allowed, s));
        }
        "TOLOWER" => return Ok(args.to_ascii_lowercase()),
        "TOUPPER" => return Ok(args.to_ascii_uppercase()),
        "MD5" => {
            if args.is_empty() {
                return Err("MD5 needs a string".into());
            }
            return Ok(Md5::digest(args.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect());
        }
        "SHA1" => return Err("SHA1 is not available (no SHA-1 code in sipbox)".into()),
        "QUOTE" => {
            return Ok(format!(
                "\"{}\"",
                args.replace('\\', "\\\\").replace('"', "\\\"")
            ))
        }
        "CSV_QUOTE" => return Ok(format!("\"{}\"", args.replace('"', "\"\""))),
        _ => {}
    }
    let a = split_args(args);
    let arg = |i: usize| a.get(i).map(String::as_str).unwrap_or("");
    match name {
        "CUT" => {
            if a.len() < 3 {
                return Err("usage: CUT(varname,delimiter,fields)".into());
            }
            let value = cx.value_of(arg(0));
            let delim = encoded_char(arg(1)).unwrap_or('-');
            cut(&value, delim, arg(2))
        }
        "FIELDQTY" => {
            let value = cx.value_of(arg(0));
            if a.len() < 2 {
                return Ok("1".into());
            }
            let delim = encoded_char(arg(1)).unwrap_or(',');
            Ok(if value.is_empty() {
                0
            } else {
                value.split(delim).count()
            }
            .to_string())
        }
        "FIELDNUM" => {
            if a.len() < 3 {
                return Err("usage: FIELDNUM(varname,delimiter,value)".into());
            }
            let value = cx.value_of(arg(0));
            let Some(delim) = encoded_char(arg(1)).filter(|_| !value.is_empty()) else {
                return Ok("0".into());
            };
            let pos = value
                .split(delim)
                .position(|f| f.eq_ignore_ascii_case(arg(2)))
                .map_or(0, |i| i + 1);
            Ok(pos.to_string())
        }
        "LISTFILTER" => {
            if a.len() < 3 {
                return Err("usage: LISTFILTER(varname,delimiter,value)".into());
            }
            let value = cx.value_of(arg(0));
            let delim = if arg(1).is_empty() { "," } else { arg(1) };
            Ok(value
                .split(delim)
                .filter(|f| *f != arg(2))
                .collect::<Vec<_>>()
                .join(delim))
        }
        "STRREPLACE" => {
            if a.len() < 2 || arg(0).is_empty() {
                return Err("usage: STRREPLACE(varname,find[,replace[,max]])".into());
            }
            if arg(1).is_empty() {
                return Err("no find-string".into());
            }
            let value = cx.value_of(arg(0));
            let max = arg(3)
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map_or(usize::MAX, |n| n as usize);
            Ok(value.replacen(arg(1), arg(2), max))
        }
        "REPLACE" => {
            if a.len() < 2 || arg(0).is_empty() || arg(1).is_empty() {
                return Err("usage: REPLACE(varname,find-chars[,replace-char])".into());
            }
            let value = cx.value_of(arg(0));
            let with = encoded_char(arg(2));
            Ok(value
                .chars()
                .filter_map(|c| if arg(1).contains(c) { with } else { Some(c) })
                .collect())
        }
        _ => Err("unknown".into()),
    }
}

/// `CUT`'s field selection: `N`, `N-M`, `N-`, `-M`, joined with `&`; fields are 1-based and
/// the selected ones are rejoined with the delimiter.
pub(crate) fn cut(value: &str, delim: char, spec: &str) -> Result<String, String> {
    let fields: Vec<&str> = value.split(delim).collect();
    let mut out: Vec<&str> = Vec::new();
    for range in spec.split('&') {
        let range = range.trim();
        let num = |s: &str| -> Result<usize, String> {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad field range '{range}'"))
        };
        let (from, to) = match range.split_once('-') {
            Some(("", "")) => return Err(format!("bad field range '{range}'")),
            Some(("", b)) => (1, num(b)?),
            Some((a, "")) => (num(a)?, fields.len()),
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(range)?;
                (n, n)
            }
        };
        if from == 0 {
            return Err(format!("fields start at 1, not '{range}'"));
        }
        let to = to.min(fields.len()).min(from.saturating_add(MAX_FIELDS));
        for i in from..=to {
            if let Some(f) = fields.get(i - 1) {
                out.push(f);
            }
        }
    }
    Ok(out.join(&delim.to_string()))
}

/// `FILTER(allowed,string)`: keeps the characters of `s` in `allowed`, where `a-z` is a
/// range and `\x41`-style escapes name a character.
pub(crate) fn filter(allowed: &str, s: &str) -> String {
    let mut set = [false; 256];
    let mut rest = allowed;
    let take = |r: &mut &str| -> Option<char> {
        let c = encoded_char(r)?;
        let used = if r.starts_with("\\x") {
            4.min(r.len())
        } else if r.starts_with('\\') {
            2.min(r.len())
        } else {
            c.len_utf8()
        };
        *r = r.get(used..).unwrap_or("");
        Some(c)
    };
    while let Some(c1) = take(&mut rest) {
        let lo = u32::from(c1).min(255) as usize;
        if let Some(after) = rest.strip_prefix('-') {
            rest = after;
            let hi = take(&mut rest).map_or(lo, |c| u32::from(c).min(255) as usize);
            // Asterisk walks up from c1 with a byte that wraps: `z-a` covers z..255, 0..a.
            let mut i = lo;
            loop {
                set[i] = true;
                if i == hi {
                    break;
                }
                i = (i + 1) % 256;
            }
        } else {
            set[lo] = true;
        }
    }
    s.chars()
        .filter(|c| (*c as u32) < 256 && set[*c as usize])
        .collect()
}

/// `REGEX("pattern" string)`: `1` if the POSIX extended pattern matches anywhere in the
/// string (the sipbox subset, see [`crate::dialplan::rx`]).
fn regex(args: &str) -> Result<String, String> {
    let parts: Vec<&str> = args.splitn(3, '"').collect();
    let [before, pattern, s] = parts.as_slice() else {
        return Err("usage: REGEX(\"pattern\" string)".into());
    };
    if !before.trim().is_empty() {
        return Err("usage: REGEX(\"pattern\" string)".into());
    }
    let s = s.strip_prefix([' ', '\t']).unwrap_or(s);
    let re = Regex::new(pattern).map_err(|e| format!("bad pattern: {e}"))?;
    Ok(if re.find(s, false).is_some() {
        "1"
    } else {
        "0"
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_table() {
        let cases: &[(&str, char, &str, Result<&str, ()>)] = &[
            ("a-b-c-d", '-', "2", Ok("b")),
            ("a-b-c-d", '-', "2-3", Ok("b-c")),
            ("a-b-c-d", '-', "3-", Ok("c-d")),
            ("a-b-c-d", '-', "-2", Ok("a-b")),
            ("a-b-c-d", '-', "1&4", Ok("a-d")),
            ("a-b-c-d", '-', "9", Ok("")),
            ("a,b", ',', "2", Ok("b")),
            ("abc", '-', "1", Ok("abc")),
            ("", '-', "1", Ok("")),
            ("a-b", '-', "0", Err(())),
            ("a-b", '-', "x", Err(())),
            ("a-b", '-', "-", Err(())),
            ("a-b", '-', "1-99999999999", Ok("a-b")),
        ];
        for (v, d, spec, want) in cases {
            let got = cut(v, *d, spec).map_err(|_| ());
            assert_eq!(got, want.map(String::from), "{v} {d} {spec}");
        }
    }

    #[test]
    fn filter_table() {
        for (allowed, s, want) in [
            ("0-9", "+1 (555) 123-4567", "15551234567"),
            ("0123456789*#", "12*#ab", "12*#"),
            ("a-c\\x41", "abcdA-B", "abcA"),
            ("", "abc", ""),
            ("-", "a-b", "-"),
        ] {
            assert_eq!(filter(allowed, s), want, "{allowed} {s}");
        }
    }

    #[test]
    fn regex_function() {
        assert_eq!(regex("\"^[0-9]+$\" 12345").unwrap(), "1");
        assert_eq!(regex("\"^[0-9]+$\" 12a45").unwrap(), "0");
        assert_eq!(regex("\"b\" abc").unwrap(), "1");
        assert!(regex("no quotes").is_err());
        assert!(regex("\"(\" x").is_err());
    }
}
