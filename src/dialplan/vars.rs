//! Variable substitution in application arguments: `${VAR}`, `${VAR:offset:length}`,
//! `${FUNC(args)}`, `$[expression]`, nested to any depth.
//!
//! Reading list: Asterisk `main/pbx.c` (`pbx_substitute_variables_helper_full`,
//! `parse_variable_name`, `substring`, `pbx_checkcondition`) and `funcs/func_logic.c`.
//! Values are not re-expanded: a variable holding `${X}` yields that text, as in Asterisk.
//! Functions handled here: `LEN`, `IF`, `ISNULL`, `EXISTS`; the channel answers the rest (`super::functions`) through [`Scope::function`].

use super::expr;

/// Deepest `${...${...}}` nesting expanded.
const MAX_DEPTH: usize = 16;
/// Longest result kept; longer output is truncated with a warning.
const MAX_LEN: usize = 16 * 1024;

/// Where substitution looks up names.
pub trait Scope {
    /// A variable (built-in, channel, then global).
    fn var(&self, name: &str) -> Option<String>;
    /// Appends the variable's value to `out` (nothing when unset): [`Scope::var`] without
    /// the copy, for a scope that can lend its values.
    fn var_into(&self, name: &str, out: &mut String) {
        if let Some(v) = self.var(name) {
            out.push_str(&v);
        }
    }
    /// A function the channel provides, by upper-case name; `None` if unknown. Mutable:
    /// some functions change the call (`INC`, `RAND`'s generator).
    fn function(&mut self, name: &str, args: &str) -> Option<String>;
    /// Where substitution happens, for warnings (`[exten@context:prio]`).
    fn here(&self) -> String {
        String::new()
    }
}

/// Asterisk's `pbx_checkcondition`: empty is false, a leading integer is its value, any
/// other text is true.
pub fn truthy(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return false;
    }
    let b = t.as_bytes();
    let mut end = usize::from(b[0] == b'-' || b[0] == b'+');
    let start = end;
    while b.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if end == start {
        return true;
    }
    t[start..end].bytes().any(|c| c != b'0')
}

/// Asterisk's `substring()`: negative offsets count from the end; a negative length drops
/// that many characters from the end.
pub fn substring(value: &str, offset: i64, length: i64) -> String {
    let chars: Vec<char> = value.chars().collect();
    let lr = chars.len() as i64;
    let mut offset = offset;
    if offset < 0 {
        offset = (lr + offset).max(0);
    }
    if offset >= lr {
        return String::new();
    }
    let end = if length >= 0 {
        offset.saturating_add(length).min(lr)
    } else {
        (lr + length).max(offset)
    };
    chars[offset as usize..end as usize].iter().collect()
}

/// Leading `-?digits` of `s` (like `sscanf("%d")`), with the rest.
fn leading_int(s: &str) -> (Option<i64>, &str) {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut end = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = end;
    while b.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if end == digits {
        return (None, t);
    }
    let n = t[..end].parse::<i64>().unwrap_or(if b[0] == b'-' {
        i64::MIN / 2
    } else {
        i64::MAX / 2
    });
    (Some(n), &t[end..])
}

/// Splits `NAME:offset:length` at the first `:` outside parentheses.
fn split_name(name: &str) -> (&str, Option<(i64, i64)>) {
    let mut depth = 0i32;
    for (i, c) in name.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ':' if depth == 0 => {
                let (off, rest) = leading_int(&name[i + 1..]);
                let len = rest
                    .strip_prefix(':')
                    .and_then(|r| leading_int(r).0)
                    .unwrap_or(i64::MAX);
                return (&name[..i], Some((off.unwrap_or(0), len)));
            }
            _ => {}
        }
    }
    (name, None)
}

fn builtin_function(name: &str, args: &str, scope: &mut dyn Scope) -> Option<String> {
    let bool_s = |b: bool| if b { "1" } else { "0" }.to_string();
    Some(match name {
        "LEN" => args.chars().count().to_string(),
        "ISNULL" => bool_s(args.is_empty()),
        "EXISTS" => bool_s(!args.is_empty()),
        "IF" => {
            let Some((cond, branches)) = args.split_once('?') else {
                log::warn!("{}IF() needs a '?': IF({args})", scope.here());
                return Some(String::new());
            };
            let (t, f) = branches.split_once(':').unwrap_or((branches, ""));
            if truthy(cond) { t } else { f }.trim().to_string()
        }
        other => return scope.function(other, args),
    })
}

/// Expands every `${...}` and `$[...]` in `input`.
pub fn substitute(input: &str, scope: &mut dyn Scope) -> String {
    // Room for a few substituted names: most arguments grow little (`SIP/${EXTEN},30`).
    let mut out = String::with_capacity(input.len() + 16);
    expand(input, scope, 0, &mut out);
    if out.len() > MAX_LEN {
        log::warn!("substitution result longer than {MAX_LEN} bytes truncated");
        let mut cut = MAX_LEN;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// Finds the end of a `${`/`$[` group whose body starts at `from`; returns the index of the
/// closing byte and whether the body holds nested substitutions.
fn closing(s: &[u8], from: usize, open: u8, close: u8) -> Option<(usize, bool)> {
    let mut depth = 1;
    let mut nested = false;
    let mut i = from;
    while i < s.len() {
        let c = s[i];
        if c == b'$' && matches!(s.get(i + 1), Some(b'{' | b'[')) {
            nested = true;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some((i, nested));
            }
        }
        i += 1;
    }
    None
}

fn expand(input: &str, scope: &mut dyn Scope, depth: usize, out: &mut String) {
    if depth > MAX_DEPTH {
        log::warn!(
            "{}variable nesting deeper than {MAX_DEPTH}; left unexpanded",
            scope.here()
        );
        out.push_str(input);
        return;
    }
    let b = input.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if out.len() > MAX_LEN {
            return;
        }
        let Some(rel) = input[i..].find('$') else {
            out.push_str(&input[i..]);
            return;
        };
        let at = i + rel;
        out.push_str(&input[i..at]);
        let (open, close) = match b.get(at + 1) {
            Some(b'{') => (b'{', b'}'),
            Some(b'[') => (b'[', b']'),
            _ => {
                out.push('$');
                i = at + 1;
                continue;
            }
        };
        let Some((end, nested)) = closing(b, at + 2, open, close) else {
            log::warn!("{}missing '{}' in '{input}'", scope.here(), close as char);
            i = b.len();
            continue;
        };
        let body = &input[at + 2..end];
        let body = if nested {
            let mut inner = String::new();
            expand(body, scope, depth + 1, &mut inner);
            std::borrow::Cow::Owned(inner)
        } else {
            std::borrow::Cow::Borrowed(body)
        };
        if open == b'[' {
            out.push_str(&expr::eval(&body));
        } else {
            lookup(&body, scope, out);
        }
        i = end + 1;
    }
}

/// The value of a `${...}` body, appended to `out`: variable or function, then the
/// substring if any.
fn lookup(body: &str, scope: &mut dyn Scope, out: &mut String) {
    let (name, sub) = split_name(body);
    if sub.is_none() && !name.contains('(') {
        // A plain variable: its value lent, not copied.
        scope.var_into(name, out);
        return;
    }
    let value = match name.find('(') {
        Some(open) => {
            let fname = name[..open].trim().to_ascii_uppercase();
            let rest = &name[open + 1..];
            let args = rest.strip_suffix(')').unwrap_or(rest);
            builtin_function(&fname, args, scope).unwrap_or_else(|| {
                log::warn!("{}unknown function {fname}()", scope.here());
                String::new()
            })
        }
        None => scope.var(name).unwrap_or_default(),
    };
    match sub {
        Some((off, len)) => out.push_str(&substring(&value, off, len)),
        None => out.push_str(&value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);
    impl Scope for Map {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|s| s.to_string())
        }
        fn function(&mut self, name: &str, args: &str) -> Option<String> {
            (name == "CALLERID" && args == "num").then(|| "5551234".to_string())
        }
    }

    #[test]
    fn substring_table() {
        let cases: &[(&str, i64, i64, &str)] = &[
            ("0123456789", 1, i64::MAX, "123456789"),
            ("0123456789", -4, i64::MAX, "6789"),
            ("0123456789", 1, 3, "123"),
            ("0123456789", 0, -2, "01234567"),
            ("0123456789", -4, 2, "67"),
            ("0123456789", 2, -2, "234567"),
            ("0123456789", 20, 2, ""),
            ("0123456789", -20, 2, "01"),
            ("0123456789", 8, -5, ""),
            ("", 0, 1, ""),
        ];
        for (s, o, l, want) in cases {
            assert_eq!(substring(s, *o, *l), *want, "{s}:{o}:{l}");
        }
    }

    #[test]
    fn expansion_table() {
        let mut m = Map(HashMap::from([
            ("EXTEN", "95551234"),
            ("A", "B"),
            ("B", "final"),
            ("EMPTY", ""),
            ("N", "3"),
            ("RAW", "${A}"),
        ]));
        let cases: &[(&str, &str)] = &[
            ("${EXTEN}", "95551234"),
            ("${EXTEN:1}", "5551234"),
            ("${EXTEN:-4}", "1234"),
            ("${EXTEN:1:3}", "555"),
            ("${EXTEN:${N}}", "51234"),
            ("x${A}y", "xBy"),
            ("${${A}}", "final"),
            ("${UNSET}", ""),
            ("${RAW}", "${A}"),
            ("${LEN(${EXTEN})}", "8"),
            ("${IF($[${N} > 2]?big:small)}", "big"),
            ("${IF(0?yes:no)}", "no"),
            ("${IF(${EMPTY}?yes)}", ""),
            ("${ISNULL(${EMPTY})}", "1"),
            ("${EXISTS(${A})}", "1"),
            ("${CALLERID(num)}", "5551234"),
            ("${CALLERID(num):-4}", "1234"),
            ("$[${N} + 1]", "4"),
            ("$[${N} * $[2 + 1]]", "9"),
            ("cost $5", "cost $5"),
            ("${EXTEN", ""),
            ("${NOSUCH(1)}", ""),
            ("$[]", ""),
        ];
        for (input, want) in cases {
            assert_eq!(substitute(input, &mut m), *want, "{input}");
        }
    }

    #[test]
    fn conditions() {
        for (s, want) in [
            ("", false),
            ("0", false),
            ("00", false),
            ("1", true),
            ("abc", true),
            (" 2 ", true),
            ("-0", false),
        ] {
            assert_eq!(truthy(s), want, "{s:?}");
        }
    }
}
