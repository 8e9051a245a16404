//! The queue functions of Asterisk's `apps/app_queue.c`: `QUEUE_MEMBER(queue,option[,
//! interface])` (`logged`, `free`, `ready`, `count`, `penalty`, `paused`, `ringinuse`; its
//! write side sets `penalty`, `paused`, `ringinuse`), `QUEUE_MEMBER_COUNT(queue)` (the
//! logged-in members, deprecated there), `QUEUE_WAITING_COUNT(queue)`, `QUEUE_EXISTS(queue)`,
//! `QUEUE_MEMBER_LIST(queue)`, `QUEUE_MEMBER_PENALTY(queue,interface)`. A queue that does not
//! exist counts 0 with a warning, as `queue_function_mem_read` does.

use super::Ctx;
use crate::presence::DeviceState;

fn split(args: &str) -> Vec<String> {
    args.split(',').map(|s| s.trim().to_string()).collect()
}

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    let a = split(args);
    let arg = |i: usize| a.get(i).map(String::as_str).unwrap_or("");
    if arg(0).is_empty() && name != "QUEUE_MEMBER" {
        return Err(format!("{name} requires an argument: queuename"));
    }
    let dp = cx.dp;
    let now = cx.ex.now;
    let states = dp.queue_member_states();
    let state = |i: &str| {
        states
            .get(&i.to_ascii_lowercase())
            .copied()
            .unwrap_or(DeviceState::Invalid)
    };
    dp.with_queues(|qs, _| {
        if name == "QUEUE_EXISTS" {
            return Ok(u8::from(qs.live(arg(0)).is_some()).to_string());
        }
        let Some(q) = qs.get(arg(0)) else {
            if name == "QUEUE_MEMBER" && (arg(0).is_empty() || arg(1).is_empty()) {
                return Err(
                    "Missing required argument. QUEUE_MEMBER(<queuename>,<option>[,<interface>])"
                        .into(),
                );
            }
            log::warn!("queue {} was not found", arg(0));
            return Ok(
                if name == "QUEUE_MEMBER_LIST" || name == "QUEUE_MEMBER_PENALTY" {
                    String::new()
                } else {
                    "0".into()
                },
            );
        };
        let logged = |m: &crate::dialplan::queue::Member| {
            !matches!(
                state(&m.state_interface),
                DeviceState::Unavailable | DeviceState::Invalid
            )
        };
        let free = |m: &crate::dialplan::queue::Member| {
            state(&m.state_interface) == DeviceState::NotInUse && !m.paused
        };
        let wrapping = |m: &crate::dialplan::queue::Member| {
            !q.def.wrapuptime.is_zero()
                && m.lastcall
                    .is_some_and(|t| now.duration_since(t).map_or(true, |d| d < q.def.wrapuptime))
        };
        let member = |i: &str| -> Result<&crate::dialplan::queue::Member, String> {
            if i.is_empty() {
                return Err("QUEUE_MEMBER: Missing required interface argument.".into());
            }
            q.member(i).ok_or_else(|| {
                format!(
                    "Queue member interface '{i}' not in queue '{}'.",
                    q.def.name
                )
            })
        };
        let count = |f: &dyn Fn(&crate::dialplan::queue::Member) -> bool| {
            q.members.iter().filter(|m| f(m)).count().to_string()
        };
        match name {
            "QUEUE_MEMBER_COUNT" => Ok(count(&logged)),
            "QUEUE_WAITING_COUNT" => Ok(q.callers.len().to_string()),
            "QUEUE_MEMBER_LIST" => Ok(q
                .members
                .iter()
                .map(|m| m.interface.as_str())
                .collect::<Vec<_>>()
                .join(",")),
            "QUEUE_MEMBER_PENALTY" => Ok(member(arg(1))?.penalty.to_string()),
            _ => match arg(1).to_ascii_lowercase().as_str() {
                "logged" => Ok(count(&logged)),
                "free" => Ok(count(&free)),
                "ready" => Ok(count(&|m| free(m) && !wrapping(m))),
                "count" => Ok(q.members.len().to_string()),
                "penalty" => Ok(member(arg(2))?.penalty.to_string()),
                "paused" => Ok(u8::from(member(arg(2))?.paused).to_string()),
                "ringinuse" | "ignorebusy" => {
                    Ok(u8::from(q.ringinuse(member(arg(2))?)).to_string())
                }
                "" => Err(
                    "Missing required argument. QUEUE_MEMBER(<queuename>,<option>[,<interface>])"
                        .into(),
                ),
                other => Err(format!("QUEUE_MEMBER: Invalid option '{other}' provided.")),
            },
        }
    })
}

/// `Set(QUEUE_MEMBER(queue,option,interface)=value)` and `QUEUE_MEMBER_PENALTY`'s write.
pub(crate) fn write(cx: &mut Ctx<'_>, name: &str, args: &str, value: &str) -> Result<(), String> {
    let a = split(args);
    let arg = |i: usize| a.get(i).map(String::as_str).unwrap_or("");
    let (queue, option, interface) = if name == "QUEUE_MEMBER_PENALTY" {
        (arg(0), "penalty", arg(1))
    } else {
        (arg(0), arg(1), arg(2))
    };
    if option.is_empty() || interface.is_empty() {
        return Err(format!(
            "Missing required argument. {name}([<queuename>],<option>,<interface>)"
        ));
    }
    let n: i64 = value.trim().parse().unwrap_or(0);
    let ok = cx.dp.with_queues(|qs, db| {
        let changed = match option.to_ascii_lowercase().as_str() {
            "penalty" if n >= 0 => {
                qs.set_penalty(queue, interface, n.min(i64::from(u32::MAX)) as u32)
            }
            "paused" => !qs.set_paused(queue, interface, n > 0).is_empty(),
            "ringinuse" | "ignorebusy" => qs.set_ringinuse(queue, interface, n > 0),
            _ => return Err(format!("{name}: Invalid option '{option}' provided.")),
        };
        let names: Vec<String> = qs.all().map(|q| q.def.name.clone()).collect();
        for q in names
            .iter()
            .filter(|q| queue.is_empty() || q.eq_ignore_ascii_case(queue))
        {
            qs.dump(q, db);
        }
        Ok(changed)
    })?;
    if ok {
        Ok(())
    } else {
        Err("Invalid interface, queue, or penalty".into())
    }
}
