//! Loading extensions.conf sections into the model.
//!
//! Reading list: Asterisk `pbx/pbx_config.c` (`pbx_load_config`). `exten => ext,prio,App(args)`,
//! `same => prio,...`, priorities as numbers, `n`, `s`, `n(label)`, `1(label)`, `hint` (ignored),
//! `ext/callerid` matches, `include => ctx[,timespec]`; `[general]` and `[globals]`. A context
//! written in several sections is merged in order. Bad lines are errors with `file:line`;
//! unknown applications, duplicate priorities and unsupported directives are warnings.

use std::collections::BTreeMap;

use super::apps::App;
use super::model::{Context, Dialplan, Extension, Include, Priority};
use super::pattern::ExtName;
use super::time::TimeSpec;
use crate::config::raw::{ConfigError, Loc, Section};

fn split_ext(value: &str) -> (&str, &str) {
    let mut depth = 0i32;
    for (i, c) in value.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth <= 0 => return (&value[..i], &value[i + 1..]),
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

fn yes(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "yes" | "true" | "y" | "t" | "1" | "on"
    )
}

/// State carried from one `exten =>` line to the next (`same =>`, `n`).
#[derive(Default)]
struct LineState {
    last_ext: Option<String>,
    last_pri: Option<u32>,
}

impl Dialplan {
    /// Builds the dialplan from extensions.conf sections. Errors stop start-up; the warnings
    /// (unknown applications, duplicate priorities, unsupported directives) carry
    /// `file:line`.
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
                            "static"
                            | "writeprotect"
                            | "clearglobalvars"
                            | "extenpatternmatchnew"
                            | "userscontext" => {}
                            _ => warnings.push(format!(
                                "{}: unsupported [general] option '{}' ignored",
                                e.loc, e.key
                            )),
                        }
                    }
                }
                "globals" => {
                    for e in &sec.entries {
                        dp.globals.insert(e.key.clone(), e.value.clone());
                    }
                }
                _ => dp.load_context(sec, &mut warnings)?,
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
        Ok((dp, warnings))
    }

    fn load_context(
        &mut self,
        sec: &Section,
        warnings: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        if !self.contexts.contains_key(&sec.name) {
            self.order.push(sec.name.clone());
        }
        let ctx = self.contexts.entry(sec.name.clone()).or_default();
        let mut st = LineState::default();
        for e in &sec.entries {
            let key = e.key.to_ascii_lowercase();
            match key.as_str() {
                "exten" | "same" => {
                    add_line(ctx, &sec.name, &key, &e.value, &e.loc, &mut st, warnings)?
                }
                "include" => {
                    let (name, when) = match e.value.split_once([',', '|']) {
                        Some((n, spec)) => (
                            n.trim(),
                            Some(
                                TimeSpec::parse_list(spec)
                                    .map_err(|m| ConfigError::at(&e.loc, m))?,
                            ),
                        ),
                        None => (e.value.trim(), None),
                    };
                    if name.is_empty() {
                        return Err(ConfigError::at(&e.loc, "include without a context name"));
                    }
                    ctx.includes.push(Include {
                        name: name.to_string(),
                        when,
                        loc: e.loc.clone(),
                    });
                }
                _ => warnings.push(format!(
                    "{}: unsupported directive '{}' in context '{}' ignored",
                    e.loc, e.key, sec.name
                )),
            }
        }
        Ok(())
    }
}

fn add_line(
    ctx: &mut Context,
    cname: &str,
    key: &str,
    value: &str,
    loc: &Loc,
    st: &mut LineState,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let (ext_text, rest) = if key == "same" {
        let Some(last) = st.last_ext.clone() else {
            return Err(ConfigError::at(
                loc,
                "'same =>' without a preceding 'exten =>'",
            ));
        };
        (last, value)
    } else {
        let (e, r) = split_ext(value);
        (e.trim().to_string(), r)
    };
    let (pri_text, app_text) = rest.split_once(',').unwrap_or((rest, ""));
    let mut pri_text = pri_text.trim();
    if pri_text.eq_ignore_ascii_case("hint") {
        st.last_ext = Some(ext_text);
        return Ok(());
    }
    let mut label = None;
    if let Some(open) = pri_text.find('(') {
        let l = pri_text[open + 1..].trim_end_matches(')').trim();
        if !l.is_empty() {
            label = Some(l.to_string());
        }
        pri_text = pri_text[..open].trim();
    }
    let prio = match pri_text.to_ascii_lowercase().as_str() {
        "n" | "next" => st
            .last_pri
            .map(|p| p.saturating_add(1))
            .ok_or_else(|| ConfigError::at(loc, "can't use 'n' priority on the first entry"))?,
        "s" | "same" => st
            .last_pri
            .ok_or_else(|| ConfigError::at(loc, "can't use 's' priority on the first entry"))?,
        p => match p.parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(ConfigError::at(
                    loc,
                    format!("invalid priority '{pri_text}'"),
                ))
            }
        },
    };
    if app_text.trim().is_empty() {
        return Err(ConfigError::at(
            loc,
            format!("no application for extension '{ext_text}'"),
        ));
    }
    let (name_text, cid_text) = match ext_text.split_once('/') {
        Some((n, c)) => (n.trim().to_string(), Some(c.trim().to_string())),
        None => (ext_text.clone(), None),
    };
    let name = ExtName::parse(&name_text).map_err(|m| ConfigError::at(loc, m))?;
    let cid = match cid_text {
        Some(c) => Some(ExtName::parse(&c).map_err(|m| ConfigError::at(loc, m))?),
        None => None,
    };
    if name.text == "_." && prio == 1 {
        warnings.push(format!(
            "{loc}: '_.' also matches the special extensions h, i, t; '_X.' is usually meant"
        ));
    }
    let (app, args) = split_app(app_text);
    if App::from_name(&app).is_none() {
        warnings.push(format!(
            "{loc}: unknown application '{app}' (calls reaching it hang up)"
        ));
    }
    st.last_ext = Some(ext_text);
    st.last_pri = Some(prio);
    let text_key = match &cid {
        Some(c) => format!("{}/{}", name.text, c.text),
        None => name.text.clone(),
    };
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
    if let Some(l) = &label {
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
            label,
            loc: loc.clone(),
        },
    );
    Ok(())
}
