//! The dialplan model: contexts of extensions of priorities, built from extensions.conf
//! sections, and the lookup that walks a context and its includes as Asterisk's
//! `pbx_find_extension()` does.
//!
//! Reading list: Asterisk `pbx/pbx_config.c` (`pbx_load_config`: `exten =>`, `same =>`,
//! `n`, labels, `include =>`), `main/pbx.c` (`pbx_find_extension`). Each context keeps its
//! extensions sorted by `ext_cmp` and indexed: literals in a hash map, patterns bucketed by
//! their leading literal characters, so a lookup costs a few hash probes plus the patterns
//! sharing a prefix with the number, not a scan of the context.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use super::apps::App;
use super::pattern::{ext_cmp, strip_dashes, ExtName};
use super::time::TimeSpec;
use crate::config::raw::{ConfigError, Loc, Section};

/// Deepest include chain followed (Asterisk's `AST_PBX_MAX_STACK` is 512 frames; includes
/// this deep are always a mistake).
const MAX_INCLUDE_DEPTH: usize = 64;
/// Most contexts one lookup visits.
const MAX_VISITS: usize = 1024;

/// One priority: an application with its (unexpanded) arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priority {
    /// Application name as written.
    pub app: String,
    /// Arguments, variables not yet substituted.
    pub args: String,
    /// `n(label)` / `1(label)`.
    pub label: Option<String>,
    /// Where it was written.
    pub loc: Loc,
}

/// One extension (name and optional caller-ID match) with its priorities.
#[derive(Debug, Clone)]
pub struct Extension {
    /// The name or pattern.
    pub name: ExtName,
    /// `exten => 100/5551234,...`: only for calls from matching caller IDs.
    pub cid: Option<ExtName>,
    /// Priorities by number.
    pub prios: BTreeMap<u32, Priority>,
}

impl Extension {
    /// The priority number carrying `label`, if any.
    pub fn label(&self, label: &str) -> Option<u32> {
        self.prios
            .iter()
            .find(|(_, p)| p.label.as_deref() == Some(label))
            .map(|(n, _)| *n)
    }
}

/// `include => ctx[,times,weekdays,mdays,months]`.
#[derive(Debug, Clone)]
pub struct Include {
    /// The included context.
    pub name: String,
    /// Active only at these times, when given.
    pub when: Option<TimeSpec>,
    /// Where it was written.
    pub loc: Loc,
}

/// A context: sorted extensions, their index, and includes in order.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Extensions sorted as Asterisk sorts them.
    pub exts: Vec<Extension>,
    /// Includes in the order written.
    pub includes: Vec<Include>,
    literal: HashMap<String, Vec<u32>>,
    prefixes: HashMap<String, Vec<u32>>,
    /// While loading: `name[/cid]` as written → index in `exts`.
    by_text: HashMap<String, usize>,
}

impl Context {
    fn build_index(&mut self) {
        self.exts.sort_by(|a, b| {
            ext_cmp(&a.name, &b.name).then_with(|| match (&a.cid, &b.cid) {
                (None, None) => std::cmp::Ordering::Equal,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => ext_cmp(x, y),
            })
        });
        self.literal.clear();
        self.prefixes.clear();
        self.by_text = HashMap::new();
        for (i, e) in self.exts.iter().enumerate() {
            let map = if e.name.is_pattern() {
                &mut self.prefixes
            } else {
                &mut self.literal
            };
            map.entry(e.name.key().to_string())
                .or_default()
                .push(i as u32);
        }
    }

    /// Indices of the extensions matching `data` (dash-free) and `cid`, best first.
    pub fn matching(&self, data: &str, cid: &str, out: &mut Vec<u32>) {
        out.clear();
        let cid_ok = |i: u32| {
            self.exts
                .get(i as usize)
                .and_then(|e| e.cid.as_ref())
                .is_none_or(|c| c.matches(cid))
        };
        if let Some(v) = self.literal.get(data) {
            out.extend(v.iter().copied().filter(|&i| cid_ok(i)));
        }
        let mark = out.len();
        for (n, _) in data
            .char_indices()
            .chain(std::iter::once((data.len(), ' ')))
        {
            if let Some(v) = self.prefixes.get(&data[..n]) {
                for &i in v {
                    if self.exts[i as usize].name.matches(data) && cid_ok(i) {
                        out.push(i);
                    }
                }
            }
        }
        out[mark..].sort_unstable();
    }
}

/// The include walk of one lookup: the chain being followed (Asterisk's loop guard) and a
/// bound on contexts visited, so diamond-shaped include graphs cannot blow up.
#[derive(Default)]
struct Walk {
    path: Vec<String>,
    visits: usize,
}

impl Walk {
    /// Whether `context` may be searched now.
    fn enter(&mut self, context: &str) -> bool {
        self.visits += 1;
        self.visits <= MAX_VISITS
            && self.path.len() < MAX_INCLUDE_DEPTH
            && !self.path.iter().any(|s| s == context)
    }
}

/// What a lookup asks for in the extension it finds.
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// A priority number.
    Prio(u32),
    /// A label.
    Label(&'a str),
}

/// A lookup result: the context the extension was found in (maybe an included one), the
/// extension and the priority number.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// The context holding the extension.
    pub context: &'a str,
    /// The extension.
    pub ext: &'a Extension,
    /// The priority number found.
    pub prio: u32,
}

/// The whole dialplan: contexts, globals and `[general]` flags.
#[derive(Debug, Clone, Default)]
pub struct Dialplan {
    pub(crate) contexts: HashMap<String, Context>,
    pub(crate) order: Vec<String>,
    pub(crate) globals: HashMap<String, String>,
    pub(crate) autofallthrough: bool,
    pub(crate) utc_offset: i64,
}

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
pub fn split_app(s: &str) -> (String, String) {
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

    /// Evaluates time conditions (GotoIfTime, timed includes) at this UTC offset in seconds
    /// (default 0: UTC).
    pub fn set_utc_offset(&mut self, secs: i64) {
        self.utc_offset = secs;
    }

    /// The `[globals]` value of `name`.
    pub fn global(&self, name: &str) -> Option<&str> {
        self.globals.get(name).map(String::as_str)
    }

    /// Whether the context exists.
    pub fn has_context(&self, name: &str) -> bool {
        self.contexts.contains_key(name)
    }

    /// Is there an extension `exten` with this priority in `context` (or its includes) for a
    /// call from `callerid`? `now` decides time-restricted includes.
    pub fn exists(
        &self,
        context: &str,
        exten: &str,
        priority: u32,
        callerid: &str,
        now: SystemTime,
    ) -> bool {
        self.find(context, exten, callerid, Want::Prio(priority), now)
            .is_some()
    }

    /// Finds the first extension matching `exten` that has `want`, searching the context
    /// then its includes in order, depth first, as Asterisk does (an extension lacking the
    /// priority lets a later match supply it).
    pub fn find<'a>(
        &'a self,
        context: &str,
        exten: &str,
        cid: &str,
        want: Want<'_>,
        now: SystemTime,
    ) -> Option<Found<'a>> {
        let data = strip_dashes(exten);
        let mut stack = Walk::default();
        let mut buf = Vec::new();
        self.find_in(context, &data, cid, want, now, &mut stack, &mut buf)
    }

    #[allow(clippy::too_many_arguments)]
    fn find_in<'a>(
        &'a self,
        context: &str,
        data: &str,
        cid: &str,
        want: Want<'_>,
        now: SystemTime,
        stack: &mut Walk,
        buf: &mut Vec<u32>,
    ) -> Option<Found<'a>> {
        let (name, ctx) = self.contexts.get_key_value(context)?;
        if !stack.enter(context) {
            return None;
        }
        ctx.matching(data, cid, buf);
        for &i in buf.iter() {
            let ext = &ctx.exts[i as usize];
            let prio = match want {
                Want::Prio(p) => ext.prios.contains_key(&p).then_some(p),
                Want::Label(l) => ext.label(l),
            };
            if let Some(prio) = prio {
                return Some(Found {
                    context: name,
                    ext,
                    prio,
                });
            }
        }
        stack.path.push(context.to_string());
        for inc in &ctx.includes {
            if inc
                .when
                .as_ref()
                .is_some_and(|w| !w.matches(now, self.utc_offset))
            {
                continue;
            }
            if let Some(f) = self.find_in(&inc.name, data, cid, want, now, stack, buf) {
                stack.path.pop();
                return Some(f);
            }
        }
        stack.path.pop();
        None
    }

    /// For digit collection: does `digits` match an extension with priority 1 now, and could
    /// more digits match one (Asterisk's `ast_exists_extension` / `ast_matchmore_extension`)?
    pub fn fit(&self, context: &str, digits: &str, cid: &str, now: SystemTime) -> (bool, bool) {
        let data = strip_dashes(digits);
        let mut acc = (false, false);
        let mut stack = Walk::default();
        self.fit_in(context, &data, cid, now, &mut stack, &mut acc);
        acc
    }

    fn fit_in(
        &self,
        context: &str,
        data: &str,
        cid: &str,
        now: SystemTime,
        stack: &mut Walk,
        acc: &mut (bool, bool),
    ) {
        let Some(ctx) = self.contexts.get(context) else {
            return;
        };
        if !stack.enter(context) {
            return;
        }
        for e in &ctx.exts {
            if !e.prios.contains_key(&1) || e.cid.as_ref().is_some_and(|c| !c.matches(cid)) {
                continue;
            }
            let f = e.name.fit(data);
            acc.0 |= f.matches();
            acc.1 |= f.more();
        }
        stack.path.push(context.to_string());
        for inc in &ctx.includes {
            if inc
                .when
                .as_ref()
                .is_none_or(|w| w.matches(now, self.utc_offset))
            {
                self.fit_in(&inc.name, data, cid, now, stack, acc);
            }
        }
        stack.path.pop();
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
