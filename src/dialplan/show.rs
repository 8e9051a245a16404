//! `dialplan show [context]`: the admin's view, laid out like Asterisk's.

use std::fmt::Write;

use super::model::Dialplan;

impl Dialplan {
    /// Renders every context (in file order) or just `context`, with a summary line, like
    /// Asterisk's `dialplan show`.
    pub fn show(&self, context: Option<&str>) -> String {
        self.show_filtered(context, None)
    }

    /// `dialplan show [EXT@][CTX]`: as [`Dialplan::show`], only extension `exten` (by name)
    /// when given; includes are listed only when the whole context is shown.
    pub fn show_filtered(&self, context: Option<&str>, exten: Option<&str>) -> String {
        let mut out = String::new();
        let (mut nctx, mut next, mut nprio) = (0, 0, 0);
        for name in &self.order {
            if context.is_some_and(|c| c != name) {
                continue;
            }
            let Some(ctx) = self.contexts.get(name) else {
                continue;
            };
            let shown: Vec<_> = ctx
                .exts
                .iter()
                .filter(|e| exten.is_none_or(|x| e.name.text == x))
                .collect();
            if exten.is_some() && shown.is_empty() {
                continue;
            }
            nctx += 1;
            let _ = writeln!(out, "[ Context '{name}' created by 'pbx_config' ]");
            for ext in shown {
                next += 1;
                let mut first = true;
                let shown = match &ext.cid {
                    Some(c) => format!("'{}' (CID match '{}') =>", ext.name.text, c.text),
                    None => format!("'{}' =>", ext.name.text),
                };
                for (n, p) in &ext.prios {
                    nprio += 1;
                    let left = if first { shown.clone() } else { String::new() };
                    first = false;
                    let label = p
                        .label
                        .as_ref()
                        .map(|l| format!("[{l}]"))
                        .unwrap_or_default();
                    let step = format!("{n}. {label}{}({})", p.app, p.args);
                    let _ = writeln!(out, "  {left:<17} {step:<45} [{}]", p.loc);
                }
            }
            for inc in ctx.includes.iter().filter(|_| exten.is_none()) {
                let inc_name = if inc.when.is_some() {
                    format!("'{}' (time-restricted)", inc.name)
                } else {
                    format!("'{}'", inc.name)
                };
                let _ = writeln!(out, "  {:<17} {inc_name:<45} [pbx_config]", "Include =>");
            }
            out.push('\n');
        }
        if nctx == 0 {
            // pbx_config's wording for each kind of miss.
            let miss = match (exten, context) {
                (Some(x), Some(c)) => format!("There is no existence of {x}@{c} extension"),
                (Some(x), None) => format!("There is no existence of '{x}' extension"),
                (None, Some(c)) => format!("There is no existence of '{c}' context"),
                (None, None) => String::new(),
            };
            if !miss.is_empty() {
                let _ = writeln!(out, "{miss}");
                return out;
            }
        }
        let plural = |n: usize, w: &str| {
            if n == 1 {
                format!("{n} {w}")
            } else {
                format!("{n} {w}s")
            }
        };
        let _ = writeln!(
            out,
            "-= {} ({}) in {}. =-",
            plural(next, "extension"),
            plural(nprio, "priority").replace("prioritys", "priorities"),
            plural(nctx, "context")
        );
        out
    }
}
