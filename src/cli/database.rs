//! `database show|get|put|del|deltree`: main/db.c's commands and words over the AstDB the
//! dialplan's `DB()` uses. Reads happen here; changes are [`Action`]s the engine applies (and
//! hands to the disk like the dialplan's own).

use super::view::View;
use super::{Action, Answer};
use std::fmt::Write;

/// The most rows `database show` prints.
const MAX_ROWS: usize = 10_000;

/// `family [keytree]` or `family/keytree` → `/family[/keytree]`.
fn prefix(args: &[&str]) -> Option<String> {
    let joined = args.join("/");
    let p = joined.trim_matches('/');
    (!p.is_empty()).then(|| format!("/{p}"))
}

fn full(family: &str, key: &str) -> Option<String> {
    crate::dialplan::astdb::full_key(&format!("{family}/{key}"))
}

pub(super) fn run(view: &View<'_>, lower: &[&str], args: &[&str]) -> Answer {
    let sub = lower.get(1).copied().unwrap_or("");
    let rest = args.get(2..).unwrap_or(&[]);
    let db = view.dialplan;
    match (sub, rest) {
        ("show", r) if r.len() <= 2 => {
            let pre = prefix(r).unwrap_or_default();
            // `/fam` shows `/fam/...`, not `/family/...`.
            let dir = if pre.is_empty() {
                String::new()
            } else {
                format!("{pre}/")
            };
            let rows = db.with_astdb(|d| d.entries_under(&dir, MAX_ROWS));
            let mut out = String::new();
            for (k, v) in &rows {
                let _ = writeln!(out, "{k:<50}: {v:<25}");
            }
            let n = rows.len();
            let _ = writeln!(out, "{n} result{} found.", if n == 1 { "" } else { "s" });
            Answer::text(out)
        }
        ("get", [family, key]) => {
            match full(family, key).and_then(|k| db.with_astdb(|d| d.get(&k).map(str::to_string))) {
                Some(v) => Answer::text(format!("Value: {v}")),
                None => Answer::text("Database entry not found."),
            }
        }
        ("put", [family, key, value]) => match full(family, key) {
            Some(key) => Answer::act(
                "Updated database successfully",
                Action::DbPut {
                    key,
                    value: value.to_string(),
                },
            ),
            None => Answer::text("Failed to update entry"),
        },
        ("del", [family, key]) => {
            let key = full(family, key).filter(|k| db.with_astdb(|d| d.get(k).is_some()));
            match key {
                Some(key) => Answer::act("Database entry removed.", Action::DbDel { key }),
                None => Answer::text("Database entry does not exist."),
            }
        }
        ("deltree", r) if !r.is_empty() && r.len() <= 2 => {
            let Some(pre) = prefix(r) else {
                return Answer::usage("database deltree");
            };
            let n = db.with_astdb(|d| d.entries_under(&format!("{pre}/"), usize::MAX).len());
            if n == 0 {
                return Answer::text("Database entries do not exist.");
            }
            Answer::act(
                format!("{n} database entries removed."),
                Action::DbDelTree { prefix: pre },
            )
        }
        ("show" | "get" | "put" | "del" | "deltree", _) => {
            Answer::usage(&format!("database {sub}"))
        }
        _ => super::no_such(&args.join(" "), lower),
    }
}
