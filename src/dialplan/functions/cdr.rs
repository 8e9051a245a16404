//! `CDR(field[,options])`: the call's record as the dialplan sees it (Asterisk's
//! `funcs/func_cdr.c`). `accountcode`, `userfield`, `amaflags` and custom names may be set;
//! the others are read-only (a write is refused with a warning, as Asterisk's "Unable to
//! set read-only CDR variable"). Option `u` reads start/answer/end as Unix times.

use super::Ctx;
use crate::dialplan::time::epoch_secs;
use std::time::SystemTime;

/// Reads a field.
pub(crate) fn read(cx: &mut Ctx<'_>, args: &str) -> Result<String, String> {
    let mut parts = args.splitn(2, ',');
    let field = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let unix = parts.next().is_some_and(|o| o.contains('u'));
    let ex = &*cx.ex;
    let c = &ex.cdr;
    let time = |t: Option<SystemTime>| match t {
        None => String::new(),
        Some(t) if unix => epoch_secs(t).to_string(),
        Some(t) => {
            let secs = epoch_secs(t);
            let offset = cx.dp.zones().at("", secs).map_or(0, |l| l.offset);
            crate::cdr::csv::format_time(secs + offset)
        }
    };
    let secs_since = |t: Option<SystemTime>| {
        t.and_then(|t| ex.now.duration_since(t).ok())
            .map_or(0, |d| d.as_secs())
            .to_string()
    };
    Ok(match field.as_str() {
        "accountcode" => c.accountcode.to_string(),
        "userfield" => c.userfield.to_string(),
        "amaflags" => c.amaflags.as_str().to_string(),
        "src" => ex.chan.callerid_num.to_string(),
        "dst" => ex.exten.to_string(),
        "dcontext" => ex.context.to_string(),
        "clid" => crate::cdr::clid(&ex.chan.callerid_name, &ex.chan.callerid_num).into(),
        "channel" => ex.channel_name(),
        "dstchannel" => c.dstchannel.to_string(),
        "lastapp" => c
            .last
            .as_ref()
            .map(|m| m.app.to_string())
            .unwrap_or_default(),
        "lastdata" => c.last.as_ref().map(|m| m.data.clone()).unwrap_or_default(),
        "start" => time(c.started_at),
        "answer" => time(c.answered_at),
        "end" => String::new(),
        "duration" => secs_since(c.started_at),
        "billsec" => secs_since(c.answered_at),
        "disposition" => if c.answered_at.is_some() {
            "ANSWERED"
        } else {
            "NO ANSWER"
        }
        .to_string(),
        "uniqueid" => ex.chan.unique_id.to_string(),
        "linkedid" => ex.chan.unique_id.to_string(),
        other => c.vars.get(other).cloned().unwrap_or_default(),
    })
}

/// Sets a field.
pub(crate) fn write(cx: &mut Ctx<'_>, args: &str, value: &str) -> Result<(), String> {
    let field = args
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let c = &mut cx.ex.cdr;
    match field.as_str() {
        "accountcode" => c.accountcode = crate::cdr::bounded(value, crate::cdr::FIELD_MAX),
        "userfield" => c.userfield = crate::cdr::bounded(value, crate::cdr::USERFIELD_MAX),
        "amaflags" => {
            c.amaflags = crate::cdr::AmaFlags::parse(value)
                .ok_or_else(|| format!("CDR(amaflags): unknown value '{value}'"))?
        }
        "src" | "dst" | "dcontext" | "clid" | "channel" | "dstchannel" | "lastapp" | "lastdata"
        | "start" | "answer" | "end" | "duration" | "billsec" | "disposition" | "uniqueid"
        | "linkedid" | "sequence" => {
            return Err(format!("Unable to set read-only CDR variable '{field}'"))
        }
        "" => return Err("CDR() needs a field name".into()),
        other => {
            let v = crate::cdr::bounded(value, crate::cdr::FIELD_MAX);
            if !c.set_var(other, &v) {
                return Err("too many CDR variables on this call".into());
            }
        }
    }
    Ok(())
}
