//! Loading extensions.conf sections into the model.
//!
//! Follows Asterisk's `pbx/pbx_config.c` (`pbx_load_config`): `exten => ext,prio,App(args)`,
//! `same => prio,...` (any key starting with `same`, as its `strncasecmp(.., 4)`), priorities
//! as numbers, `n`/`next`, `s`/`same`, `hint` (kept as the extension's device list), a label `prio(label)`, a label of
//! the same extension as priority, and `+N` offsets on any of them (`n+2`, `label+101`,
//! `1+199`), `ext/callerid` matches, `include => ctx[,timespec]`, `ignorepat` (quiet: it only
//! shapes overlap dial tone); `[general]` and `[globals]`. A context written in several
//! sections is merged in order; context names are case-sensitive, as in `main/pbx.c`.
//!
//! Like pbx_config, nothing in a context stops loading: a line it would log and skip (an empty
//! extension, a priority it cannot read, a label without `)`, `same` before any `exten`, `n`
//! on the first line, a bad include time) is a `file:line` warning and that line is skipped;
//! unknown applications, duplicate priorities and unsupported directives are warnings too.

use std::collections::BTreeMap;

use super::apps::App;
use super::model::{Context, Dialplan, Extension, Include, Priority};
use super::pattern::ExtName;
use super::time::TimeSpec;
use crate::config::raw::{ConfigError, Loc, Section};

/// Splits `ext,rest` at the first comma outside `[...]`, honouring `\` escapes, as
/// pbx_config's `pbx_strsep` does for the extension field.
fn split_ext(value: &str) -> (&str, &str) {
    let mut depth = 0i32;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => depth += 1,
            ']' => depth = (depth - 1).max(0),
            ',' if depth == 0 => return (&value[..i], &value[i + 1..]),
            _ => {}
        }
    }
    (value, "")
}

/// Splits `App(args)` (or the old `App,args`) into name and arguments.
pub(crate) fn split_app(s: &str) -> (String, String) {
    let s = s.trim();
    if let Some(open) = s.find('(') {
        let rest = &s[open + 1..];
        let args = match rest.rfind(')') {
            Some(close) => &rest[..close],
            None => rest,
        };
        (s[..open].trim().to_string(), args.to_string())
    } else if let Some((a, b)) = s.split_once(',') {
        (a.trim().to_string(), b.to_string())
    } else {
        (s.to_string(), String::new())
    }
}

/// C's `atoi`/`sscanf("%d")`: optional blanks and sign, then digits; text after them is
/// ignored; `None` when there are no digits. Saturates instead of overflowing.
fn c_int(s: &str) -> Option<i64> {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let n = digits[..end].bytes().fold(0i64, |n, d| {
        n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(if neg { -n } else { n })
}

/// Priority of a hint, as pbx_config's `PRIORITY_HINT`.
const HINT: i64 = -1;

/// What the priority field of a line says.
#[derive(Debug, PartialEq, Eq)]
struct PrioField {
    /// The priority (may be below 1 after arithmetic on a hint; such lines add nothing).
    prio: i64,
    /// `prio(label)`.
    label: Option<String>,
}

/// Reads a priority field as pbx_config does: the label `(...)` first, then a `+N` offset,
/// then `hint`, `n`/`next`, `s`/`same` (case-sensitive, as its `strcmp`), a number, or a
/// label of the same extension (`find_label`). `last` is the previous line's priority in
/// this section. `Err` is the warning text; the line is then skipped.
fn parse_prio(
    field: &str,
    last: Option<i64>,
    find_label: impl Fn(&str) -> Option<u32>,
) -> Result<PrioField, String> {
    let mut pri = field.trim();
    let mut label = None;
    if let Some(open) = pri.find('(') {
        let inner = &pri[open + 1..];
        let Some(close) = inner.find(')') else {
            return Err(format!("label missing trailing ')' in priority '{field}'"));
        };
        label = Some(inner[..close].trim().to_string()).filter(|l| !l.is_empty());
        pri = pri[..open].trim();
    }
    let mut offset = 0;
    if let Some((p, plus)) = pri.split_once('+') {
        offset = c_int(plus).unwrap_or(0);
        pri = p.trim();
    }
    let base = match pri {
        "hint" => HINT,
        "n" | "next" => match last {
            Some(l) => l + 1,
            None => return Err("can't use 'next' priority on the first entry".into()),
        },
        "s" | "same" => match last {
            Some(l) => l,
            None => return Err("can't use 'same' priority on the first entry".into()),
        },
        _ => match c_int(pri) {
            Some(n) if n < 1 => return Err(format!("invalid priority '{pri}'")),
            Some(n) => n,
            None => match find_label(pri) {
                Some(p) => i64::from(p),
                None => return Err(format!("invalid priority/label '{pri}'")),
            },
        },
    };
    Ok(PrioField {
        prio: base.saturating_add(offset),
        label,
    })
}

fn yes(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "yes" | "true" | "y" | "t" | "1" | "on"
    )
}

/// State carried from one `exten =>` line to the next (`same =>`, `n`), per section as
/// pbx_config resets it at each category.
#[derive(Default)]
struct LineState {
    last_ext: Option<String>,
    last_pri: Option<i64>,
}

impl Dialplan {
    /// Builds the dialplan from extensions.conf sections. Nothing here stops start-up any
    /// more (pbx_config loads what it can); the `Result` is kept for callers. The warnings
    /// (skipped lines, unknown applications, duplicate priorities, unsupported directives)
    /// carry `file:line`.
    pub fn from_sections(sections: &[Section]) -> Result<(Dialplan, Vec<String>), ConfigError> {
        let mut dp = Dialplan {
            autofallthrough: true,
            ..Dialplan::default()
        };
        let mut warnings = Vec::new();
        for sec in sections {
            match sec.name.to_ascii_lowercase().as_str() {
                "general" => {
                    for e in &sec.entries {
                        match e.key.to_ascii_lowercase().as_str() {
                            "autofallthrough" => dp.autofallthrough = yes(&e.value),
                            "clearglobalvars" => dp.clear_globals = yes(&e.value),
                            "static" | "writeprotect" | "extenpatternmatchnew" | "userscontext" => {
                            }
                            _ => warnings.push(format!(
                                "{}: unsupported [general] option '{}' ignored",
                                e.loc, e.key
                            )),
                        }
                    }
                }
                "globals" => {
                    for e in &sec.entries {
                        dp.globals.insert(e.key.to_string(), e.value.to_string());
                    }
                }
                _ => dp.load_context(sec, &mut warnings),
            }
        }
        for name in &dp.order {
            let ctx = &dp.contexts[name];
            for inc in &ctx.includes {
                if !dp.contexts.contains_key(&inc.name) {
                    warnings.push(format!(
                        "{}: context '{}' includes unknown context '{}'",
                        inc.loc, name, inc.name
                    ));
                }
            }
        }
        for ctx in dp.contexts.values_mut() {
            ctx.build_index();
        }
        super::technologies::warn_unsupported(&dp, &mut warnings);
        Ok((dp, warnings))
    }

    fn load_context(&mut self, sec: &Section, warnings: &mut Vec<String>) {
        if !self.contexts.contains_key(&sec.name) {
            self.order.push(sec.name.clone());
        }
        let ctx = self.contexts.entry(sec.name.clone()).or_default();
        let mut st = LineState::default();
        for e in &sec.entries {
            let key = e.key.to_ascii_lowercase();
            let skipped = |why: String| format!("{}: {why}; line skipped", e.loc);
            if key == "exten" || key.starts_with("same") {
                let same = key != "exten";
                if let Err(why) =
                    add_line(ctx, &sec.name, same, &e.value, &e.loc, &mut st, warnings)
                {
                    warnings.push(skipped(why));
                }
            } else if key == "include" {
                match parse_include(&e.value, &e.loc) {
                    Ok(inc) => ctx.includes.push(inc),
                    Err(why) => warnings.push(skipped(why)),
                }
            } else if key == "ignorepat" {
                // Only shapes the dial tone of overlap dialling, which SIP phones do not use.
            } else {
                warnings.push(format!(
                    "{}: unsupported directive '{}' in context '{}' ignored",
                    e.loc, e.key, sec.name
                ));
            }
        }
    }
}

/// `include => ctx[,times[,weekdays[,mdays[,months]]]]` (also with `|`).
fn parse_include(value: &str, loc: &Loc) -> Result<Include, String> {
    let (name, when) = match value.split_once([',', '|']) {
        Some((n, spec)) => (n.trim(), Some(TimeSpec::parse_list(spec)?)),
        None => (value.trim(), None),
    };
    if name.is_empty() {
        return Err("include without a context name".into());
    }
    Ok(Include {
        name: name.to_string(),
        when,
        loc: loc.clone(),
    })
}

/// Adds one `exten =>` / `same =>` line. `Err` is why the line is skipped.
fn add_line(
    ctx: &mut Context,
    cname: &str,
    same: bool,
    value: &str,
    loc: &Loc,
    st: &mut LineState,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let (ext_text, rest) = if same {
        let Some(last) = st.last_ext.clone() else {
            return Err(format!(
                "no previous 'exten =>' in context '{cname}' for 'same =>'"
            ));
        };
        (last, value)
    } else {
        let (e, r) = split_ext(value);
        let e = e.trim().to_string();
        // pbx_config remembers the extension before it checks the rest of the line (an
        // empty one leaves `same =>` nothing to follow).
        st.last_ext = Some(e.clone()).filter(|e| !e.is_empty());
        (e, r)
    };
    let (pri_text, app_text) = rest.split_once(',').unwrap_or((rest, ""));
    let (name_text, cid_text) = match ext_text.split_once('/') {
        Some((n, c)) => (n.trim().to_string(), Some(c.trim().to_string())),
        None => (ext_text.clone(), None),
    };
    let text_key = match &cid_text {
        Some(c) => format!("{name_text}/{c}"),
        None => name_text.clone(),
    };
    let existing = ctx.by_text.get(&text_key).map(|&i| &ctx.exts[i]);
    let field = parse_prio(pri_text, st.last_pri, |l| existing.and_then(|x| x.label(l)))?;
    st.last_pri = Some(field.prio);
    if field.prio == HINT {
        let devices = app_text.trim();
        if !devices.is_empty() && cid_text.is_none() {
            ctx.hints.insert(name_text.clone(), devices.to_string());
        }
        return Ok(());
    }
    let Ok(prio) = u32::try_from(field.prio) else {
        return Err(format!(
            "priority '{}' comes to {}",
            pri_text.trim(),
            field.prio
        ));
    };
    if prio == 0 {
        return Err(format!("priority '{}' comes to 0", pri_text.trim()));
    }
    if app_text.trim().is_empty() {
        return Err(format!("no application for extension '{ext_text}'"));
    }
    let name = ExtName::parse(&name_text)?;
    let cid = match cid_text {
        Some(c) => Some(ExtName::parse(&c)?),
        None => None,
    };
    if (name.text == "_." || name.text == "_!") && prio == 1 {
        warnings.push(format!(
            "{loc}: '{}' also matches the special extensions h, i, t; '_X{}' is usually meant",
            name.text,
            &name.text[1..]
        ));
    }
    if app_text.contains('(') && !app_text.contains(')') {
        warnings.push(format!(
            "{loc}: no closing parenthesis in '{}'",
            app_text.trim()
        ));
    }
    let (app, args) = split_app(app_text);
    if App::from_name(&app).is_none() {
        warnings.push(format!(
            "{loc}: unknown application '{app}' (calls reaching it hang up)"
        ));
    }
    let idx = match ctx.by_text.get(&text_key) {
        Some(&i) => i,
        None => {
            ctx.by_text.insert(text_key, ctx.exts.len());
            ctx.exts.push(Extension {
                name,
                cid,
                prios: BTreeMap::new(),
            });
            ctx.exts.len() - 1
        }
    };
    let ext = &mut ctx.exts[idx];
    if let Some(old) = ext.prios.get(&prio) {
        warnings.push(format!(
            "{loc}: priority {prio} of extension '{}' in context '{cname}' already used at {}; ignored",
            ext.name.text, old.loc
        ));
        return Ok(());
    }
    if let Some(l) = &field.label {
        if let Some(p) = ext.label(l) {
            warnings.push(format!(
                "{loc}: label '{l}' already on priority {p} of '{}'",
                ext.name.text
            ));
        }
    }
    ext.prios.insert(
        prio,
        Priority {
            app,
            args,
            label: field.label,
            loc: loc.clone(),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_fields_as_pbx_config() {
        let labels = |l: &str| match l {
            "start" => Some(5),
            "loop" => Some(20),
            _ => None,
        };
        let ok = |p: i64, l: Option<&str>| {
            Ok(PrioField {
                prio: p,
                label: l.map(String::from),
            })
        };
        // (field, previous priority, result)
        let cases: &[(&str, Option<i64>, Result<PrioField, String>)] = &[
            ("1", None, ok(1, None)),
            (" 2 ", None, ok(2, None)),
            ("1abc", None, ok(1, None)),
            ("n", Some(3), ok(4, None)),
            ("next", Some(3), ok(4, None)),
            ("s", Some(3), ok(3, None)),
            ("same", Some(3), ok(3, None)),
            ("n+2", Some(3), ok(6, None)),
            ("s+10", Some(3), ok(13, None)),
            ("1+199", None, ok(200, None)),
            ("start+101", None, ok(106, None)),
            ("loop", None, ok(20, None)),
            ("n(retry)", Some(1), ok(2, Some("retry"))),
            ("1(begin)", None, ok(1, Some("begin"))),
            ("n+2(x)", Some(1), ok(4, Some("x"))),
            ("n+", Some(1), ok(2, None)),
            ("n+x", Some(1), ok(2, None)),
            ("hint", None, ok(HINT, None)),
            ("n", Some(HINT), ok(0, None)),
            (
                "n",
                None,
                Err("can't use 'next' priority on the first entry".into()),
            ),
            (
                "s",
                None,
                Err("can't use 'same' priority on the first entry".into()),
            ),
            ("0", None, Err("invalid priority '0'".into())),
            ("-1", None, Err("invalid priority '-1'".into())),
            ("x", None, Err("invalid priority/label 'x'".into())),
            ("N", Some(1), Err("invalid priority/label 'N'".into())),
            ("", Some(1), Err("invalid priority/label ''".into())),
            (
                "n(oops",
                Some(1),
                Err("label missing trailing ')' in priority 'n(oops'".into()),
            ),
        ];
        for (field, last, want) in cases {
            assert_eq!(&parse_prio(field, *last, labels), want, "{field:?}");
        }
    }

    #[test]
    fn c_ints() {
        for (s, want) in [
            ("12", Some(12)),
            (" -3x", Some(-3)),
            ("+4", Some(4)),
            ("x", None),
            ("", None),
            ("-", None),
            ("99999999999999999999999", Some(i64::MAX)),
        ] {
            assert_eq!(c_int(s), want, "{s:?}");
        }
    }

    #[test]
    fn ext_field_split() {
        assert_eq!(split_ext("_[1,2]X,1,NoOp"), ("_[1,2]X", "1,NoOp"));
        assert_eq!(split_ext("a\\,b,1"), ("a\\,b", "1"));
        assert_eq!(split_ext("_X]],1"), ("_X]]", "1"));
        assert_eq!(split_ext("100"), ("100", ""));
    }
}
