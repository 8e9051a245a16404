//! What the call knows about itself: `CALLERID`, `CHANNEL`, `TIMEOUT`, `SIP_HEADER`,
//! `GROUP`, `GROUP_COUNT`, `GROUP_MATCH_COUNT`, `GROUP_LIST`, `DIALPLAN_EXISTS`, and the
//! refusal of `ENUMLOOKUP`.
//!
//! Reading list: Asterisk `funcs/func_callerid.c`, `funcs/func_channel.c`,
//! `funcs/func_timeout.c`, `funcs/func_groupcount.c`, `funcs/func_dialplan.c`,
//! `channels/chan_sip.c` (`func_header_read`, the channel name `SIP/peer-%08x`, ANI = the
//! caller's number), `funcs/func_enum.c`.

use std::time::Duration;

use super::{split_args, Ctx};
use crate::dialplan::model::Want;
use crate::dialplan::rx::Regex;

/// Hidden variables holding the caller-ID parts ChannelInfo does not carry.
pub(crate) const CID_RDNIS: &str = "~CALLERID~rdnis";
pub(crate) const CID_DNID: &str = "~CALLERID~dnid";
pub(crate) const CID_ANI: &str = "~CALLERID~ani";
pub(crate) const CID_NUM_PRES: &str = "~CALLERID~num-pres";
pub(crate) const CID_NAME_PRES: &str = "~CALLERID~name-pres";

/// The presentation names Asterisk accepts (`ast_parse_caller_presentation`).
pub(crate) const PRES: [&str; 10] = [
    "allowed_not_screened",
    "allowed_passed_screen",
    "allowed_failed_screen",
    "allowed",
    "prohib_not_screened",
    "prohib_passed_screen",
    "prohib_failed_screen",
    "prohib",
    "unavailable",
    "unavailable_not_screened",
];

fn hidden(cx: &Ctx<'_>, key: &str, default: &str) -> String {
    cx.ex
        .vars
        .get(key)
        .map(String::as_str)
        .or(cx.ex.hidden_var(key))
        .unwrap_or(default)
        .to_string()
}

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    let a = split_args(args);
    let arg = |i: usize| a.get(i).map(|s| s.trim()).unwrap_or("");
    match name {
        "CALLERID" => {
            let chan = &cx.ex.chan;
            Ok(match arg(0).to_ascii_lowercase().as_str() {
                "num" | "number" => chan.callerid_num.to_string(),
                "name" => chan.callerid_name.to_string(),
                // ast_callerid_merge: `"name" <num>`, or the one part there is.
                "all" => {
                    if chan.callerid_name.is_empty() {
                        chan.callerid_num.to_string()
                    } else if chan.callerid_num.is_empty() {
                        chan.callerid_name.to_string()
                    } else {
                        format!("\"{}\" <{}>", chan.callerid_name, chan.callerid_num)
                    }
                }
                "rdnis" => hidden(cx, CID_RDNIS, ""),
                "dnid" => hidden(cx, CID_DNID, ""),
                "ani" => hidden(cx, CID_ANI, ""),
                "num-pres" | "pres" => hidden(cx, CID_NUM_PRES, PRES[0]),
                "name-pres" => hidden(cx, CID_NAME_PRES, PRES[0]),
                other => return Err(format!("unknown CALLERID item '{other}'")),
            })
        }
        "CHANNEL" => channel(cx, &arg(0).to_ascii_lowercase()),
        "TIMEOUT" => Ok(match arg(0).to_ascii_lowercase().as_str() {
            "digit" | "d" => secs(cx.ex.digit_timeout),
            "response" | "r" => secs(cx.ex.response_timeout),
            "absolute" | "a" => match cx.ex.absolute_deadline {
                Some(at) => {
                    let left = at.duration_since(cx.ex.now).unwrap_or_default();
                    format!("{:.3}", left.as_secs_f64())
                }
                None => "0".into(),
            },
            other => return Err(format!("unknown TIMEOUT type '{other}'")),
        }),
        "SIP_HEADER" => {
            let want = arg(0);
            if want.is_empty() {
                return Err("usage: SIP_HEADER(name[,number])".into());
            }
            let n = if arg(1).is_empty() {
                1
            } else {
                arg(1)
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("bad header number '{}'", arg(1)))?
            };
            Ok(cx
                .ex
                .chan
                .sip_headers
                .nth(want, n - 1)
                .unwrap_or_default()
                .to_string())
        }
        "GROUP" => Ok(cx.ex.groups.get(arg(0)).unwrap_or("").to_string()),
        "GROUP_LIST" => Ok(cx.ex.groups.list()),
        "GROUP_COUNT" => {
            let (group, category) = group_at(arg(0));
            let group = if group.is_empty() {
                match cx.ex.groups.get(category) {
                    Some(g) => g.to_string(),
                    None => return Ok("0".into()),
                }
            } else {
                group.to_string()
            };
            Ok(cx.ex.groups.count(category, &group).to_string())
        }
        "GROUP_MATCH_COUNT" => {
            let (group, category) = group_at(arg(0));
            let grx = Regex::new(group).map_err(|e| format!("bad group pattern: {e}"))?;
            let crx = if category.is_empty() {
                None
            } else {
                Some(Regex::new(category).map_err(|e| format!("bad category pattern: {e}"))?)
            };
            let n = cx
                .ex
                .groups
                .count_matching(&|g| grx.find(g, false).is_some(), &|c| {
                    crx.as_ref().is_none_or(|r| r.find(c, false).is_some())
                });
            Ok(n.to_string())
        }
        "DIALPLAN_EXISTS" => {
            let (ctx, exten, prio) = (arg(0), arg(1), arg(2));
            if ctx.is_empty() {
                return Err("usage: DIALPLAN_EXISTS(context[,extension[,priority]])".into());
            }
            let yes = if a.len() < 2 {
                cx.dp.has_context(ctx)
            } else {
                let cid = cx.ex.chan.callerid_num.clone();
                let want = match prio.parse::<u32>() {
                    Ok(p) => Want::Prio(p),
                    Err(_) if prio.is_empty() => Want::Prio(1),
                    Err(_) => Want::Label(prio),
                };
                cx.dp.find(ctx, exten, &cid, want, cx.ex.now).is_some()
            };
            Ok(if yes { "1" } else { "0" }.into())
        }
        "ENUMLOOKUP" => Err("ENUM lookups need DNS, which sipbox's dialplan does not do".into()),
        _ => Err("unknown".into()),
    }
}

/// `group@category` (either part may be empty).
fn group_at(s: &str) -> (&str, &str) {
    s.split_once('@').unwrap_or((s, ""))
}

fn secs(d: Duration) -> String {
    crate::dialplan::expr::fmt_num(d.as_secs_f64())
}

fn channel(cx: &Ctx<'_>, item: &str) -> Result<String, String> {
    let ex = &cx.ex;
    Ok(match item {
        "name" => ex.channel_name(),
        "uniqueid" | "linkedid" => ex.chan.unique_id.to_string(),
        "state" => if ex.answered { "Up" } else { "Ring" }.into(),
        "language" => ex.language.to_string(),
        "musicclass" => ex.musicclass.clone(),
        "channeltype" | "tech" => "SIP".into(),
        "peername" => ex.chan.peer.to_string(),
        "callid" | "sipcallid" => ex.chan.sip_call_id.to_string(),
        "context" => ex.context.to_string(),
        "exten" => ex.exten.to_string(),
        "priority" => ex.prio.to_string(),
        other => return Err(format!("unknown CHANNEL item '{other}'")),
    })
}

/// A duration in seconds (fractions allowed) for `TIMEOUT()`; 0 allowed where it means off.
fn parse_secs(value: &str) -> Result<f64, String> {
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not a number of seconds"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("'{value}' is not a number of seconds"));
    }
    Ok(v.min(86_400.0 * 365.0))
}

pub(crate) fn write(cx: &mut Ctx<'_>, name: &str, args: &str, value: &str) -> Result<(), String> {
    let item = args
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match name {
        "CALLERID" => {
            let chan = &mut cx.ex.chan;
            match item.as_str() {
                "num" | "number" => chan.callerid_num = value.trim().into(),
                "name" => chan.callerid_name = value.trim().into(),
                "all" => {
                    let v = value.trim();
                    match (v.find('<'), v.rfind('>')) {
                        (Some(l), Some(r)) if l < r => {
                            chan.callerid_name = v[..l].trim().trim_matches('"').into();
                            chan.callerid_num = v[l + 1..r].trim().into();
                        }
                        _ => chan.callerid_num = v.into(),
                    }
                }
                "rdnis" | "dnid" | "ani" => {
                    let key = match item.as_str() {
                        "rdnis" => CID_RDNIS,
                        "dnid" => CID_DNID,
                        _ => CID_ANI,
                    };
                    if !cx.ex.set_hidden_var(key, value.trim()) {
                        cx.ex.vars.insert(key.into(), value.trim().to_string());
                    }
                }
                "num-pres" | "name-pres" | "pres" => {
                    let v = value.trim().to_ascii_lowercase();
                    if !PRES.contains(&v.as_str()) {
                        return Err(format!("'{value}' is not a presentation"));
                    }
                    if item != "name-pres" {
                        cx.ex.vars.insert(CID_NUM_PRES.into(), v.clone());
                    }
                    if item != "num-pres" {
                        cx.ex.vars.insert(CID_NAME_PRES.into(), v);
                    }
                }
                other => return Err(format!("unknown CALLERID item '{other}'")),
            }
        }
        "CHANNEL" => match item.as_str() {
            "language" => cx.ex.language = value.trim().into(),
            "musicclass" => cx.ex.musicclass = value.trim().to_string(),
            other => return Err(format!("CHANNEL({other}) cannot be set")),
        },
        "TIMEOUT" => {
            let v = parse_secs(value)?;
            let d = Duration::from_secs_f64(v);
            match item.as_str() {
                "digit" | "d" if v > 0.0 => cx.ex.digit_timeout = d,
                "response" | "r" if v > 0.0 => cx.ex.response_timeout = d,
                "absolute" | "a" => {
                    cx.ex.absolute_deadline = if v > 0.0 { Some(cx.ex.now + d) } else { None };
                }
                "digit" | "d" | "response" | "r" => {
                    return Err(format!("TIMEOUT({item}) must be above 0"))
                }
                other => return Err(format!("unknown TIMEOUT type '{other}'")),
            }
        }
        "GROUP" => {
            // `Set(GROUP()=group@category)` names the category in the value.
            let (group, category) = match (args.trim(), value.trim().split_once('@')) {
                ("", Some((g, c))) => (g, c),
                (c, _) => (value.trim(), c),
            };
            cx.ex.groups.set(category, group);
        }
        _ => return Err("unknown".into()),
    }
    Ok(())
}
