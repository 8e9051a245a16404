//! Variables by another name: `GLOBAL`, `LOCAL`, `SHARED`, `ARRAY`, `HASH`, `HASHKEYS`.
//!
//! Reading list: Asterisk `funcs/func_global.c` (GLOBAL, SHARED), `apps/app_stack.c`
//! (`local_read`, `local_write`), `funcs/func_strings.c` (`array`, `hash_read`,
//! `hashkeys_read`: hash entries are the variables `~HASH~name~key~`).
//!
//! `SHARED(var[,channel])` names a variable another channel can read in Asterisk; sipbox's
//! calls do not reach into each other, so it is a per-call variable kept apart from the
//! ordinary ones, and naming another channel is a warning and an empty value.

use super::{split_args, Ctx};
use crate::dialplan::shared::lock;

fn hash_var(name: &str, key: &str) -> String {
    format!("~HASH~{name}~{key}~")
}

fn shared_var(name: &str) -> String {
    format!("~SHARED~{name}")
}

fn check_other_channel(cx: &Ctx<'_>, chan: &str) -> Result<(), String> {
    let chan = chan.trim();
    if chan.is_empty() || chan == cx.ex.channel_name() {
        Ok(())
    } else {
        Err(format!(
            "channel '{chan}': sipbox's SHARED() reaches only the call's own channel"
        ))
    }
}

/// The keys of hash `name`, sorted (Asterisk lists them in its variable order).
fn hash_keys(cx: &Ctx<'_>, name: &str) -> Vec<String> {
    let prefix = format!("~HASH~{name}~");
    let mut keys: Vec<String> = cx
        .ex
        .vars
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix)?.strip_suffix('~'))
        .map(String::from)
        .collect();
    keys.sort();
    keys
}

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    let a = split_args(args);
    let arg = |i: usize| a.get(i).map(|s| s.trim()).unwrap_or("");
    let var = arg(0);
    if var.is_empty() && name != "ARRAY" {
        return Err("needs a variable name".into());
    }
    match name {
        "GLOBAL" => Ok(cx.global(var).unwrap_or_default()),
        "LOCAL" => Ok(cx.ex.vars.get(var).cloned().unwrap_or_default()),
        "SHARED" => {
            check_other_channel(cx, arg(1))?;
            Ok(cx
                .ex
                .vars
                .get(&shared_var(var))
                .cloned()
                .unwrap_or_default())
        }
        "HASH" if a.len() >= 2 => Ok(cx
            .ex
            .vars
            .get(&hash_var(var, arg(1)))
            .cloned()
            .unwrap_or_default()),
        "HASH" => {
            let keys = hash_keys(cx, var);
            Ok(keys
                .iter()
                .map(|k| {
                    cx.ex
                        .vars
                        .get(&hash_var(var, k))
                        .cloned()
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(","))
        }
        "HASHKEYS" => Ok(hash_keys(cx, var).join(",")),
        "ARRAY" => Err("ARRAY() can only be written".into()),
        _ => Err("unknown".into()),
    }
}

impl Ctx<'_> {
    /// A global: run-time `GLOBAL()` writes first, then `[globals]`.
    pub fn global(&self, name: &str) -> Option<String> {
        lock(&self.dp.shared)
            .globals
            .get(name)
            .cloned()
            .or_else(|| self.dp.globals.get(name).cloned())
    }
}

pub(crate) fn write(cx: &mut Ctx<'_>, name: &str, args: &str, value: &str) -> Result<(), String> {
    let a = split_args(args);
    let arg = |i: usize| a.get(i).map(|s| s.trim()).unwrap_or("");
    let var = arg(0).trim_start_matches('_');
    if var.is_empty() {
        return Err("needs a variable name".into());
    }
    match name {
        "GLOBAL" => {
            lock(&cx.dp.shared)
                .globals
                .insert(var.to_string(), value.to_string());
        }
        "LOCAL" => {
            let old = cx.ex.vars.get(var).cloned();
            let Some(frame) = cx.ex.stack.last_mut() else {
                return Err(format!("LOCAL({var}) outside a Gosub"));
            };
            if !frame.saved_locals.iter().any(|(k, _)| k == var) {
                frame.saved_locals.push((var.to_string(), old));
            }
            cx.ex.vars.insert(var.to_string(), value.to_string());
        }
        "SHARED" => {
            check_other_channel(cx, arg(1))?;
            cx.ex.vars.insert(shared_var(var), value.to_string());
        }
        "HASH" => {
            if a.len() < 2 {
                return Err(
                    "HASH(name)= needs a database row (HASH(name,key)= sets one key)".into(),
                );
            }
            cx.ex.vars.insert(hash_var(var, arg(1)), value.to_string());
        }
        "ARRAY" => {
            let values = split_args(value);
            for (i, v) in a.iter().enumerate() {
                let v_name = v.trim();
                if v_name.is_empty() {
                    continue;
                }
                // A name without a value is emptied, as Asterisk does.
                let val = values.get(i).map(String::as_str).unwrap_or("");
                cx.set(v_name, val);
            }
        }
        _ => return Err("unknown".into()),
    }
    Ok(())
}
