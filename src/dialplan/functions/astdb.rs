//! `DB(family/key)` (read and write), `DB_EXISTS(family/key)` (1 or 0, and `${DB_RESULT}`),
//! `DB_DELETE(family/key)` (reads the value and deletes it), `DB_KEYS(family)` (the keys
//! under it, comma-separated): Asterisk's `funcs/func_db.c` over the in-memory AstDB.

use super::Ctx;
use crate::dialplan::astdb::full_key;
use crate::dialplan::shared::lock;

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    if name == "DB_KEYS" {
        let s = lock(&cx.dp.shared);
        return Ok(s.astdb.keys(args.trim()).join(","));
    }
    let key = full_key(args).ok_or_else(|| format!("'{args}' is not family/key"))?;
    match name {
        "DB" => Ok(lock(&cx.dp.shared)
            .astdb
            .get(&key)
            .unwrap_or_default()
            .to_string()),
        "DB_EXISTS" => {
            let v = lock(&cx.dp.shared).astdb.get(&key).map(str::to_string);
            cx.set("DB_RESULT", v.as_deref().unwrap_or(""));
            Ok(if v.is_some() { "1" } else { "0" }.into())
        }
        _ => {
            let v = lock(&cx.dp.shared).astdb.del(&key);
            cx.set("DB_RESULT", v.as_deref().unwrap_or(""));
            Ok(v.unwrap_or_default())
        }
    }
}

pub(crate) fn write(cx: &mut Ctx<'_>, args: &str, value: &str) -> Result<(), String> {
    let key = full_key(args).ok_or_else(|| format!("'{args}' is not family/key"))?;
    if lock(&cx.dp.shared).astdb.put(&key, value) {
        Ok(())
    } else {
        Err(format!(
            "cannot store '{args}' (value over 256 bytes, or the database full)"
        ))
    }
}
