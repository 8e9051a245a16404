//! Small applications: `ExecIf`, `ExecIfTime`, `MSet`, `WaitUntil`, `SIPAddHeader`, `SIPRemoveHeader`,
//! `SetCallerPres`, `UserEvent`, `StackPop`.
//!
//! Reading list: Asterisk `apps/app_exec.c` (`execif_exec`), `main/pbx_builtins.c`
//! (`pbx_builtin_setvar_multiple`), `main/pbx_builtins.c` / `apps/app_waituntil.c`,
//! `channels/chan_sip.c` (`sip_addheader`, `sip_removeheader`: headers are kept as the
//! variables `__SIPADDHEADER01`... for the outgoing INVITE of a later Dial),
//! `apps/app_setcallerid.c`, `apps/app_userevent.c`, `apps/app_stack.c` (StackPop).

use std::time::Duration;

use super::{end, set_variable};
use crate::config::raw::Loc;
use crate::dialplan::cause::Cause;
use crate::dialplan::command::Command;
use crate::dialplan::cursor::{Execution, Flow, State};
use crate::dialplan::functions::{split_args, split_raw, strftime::epoch_arg};
use crate::dialplan::model::Dialplan;
use crate::dialplan::time::epoch_secs;
use crate::dialplan::vars::truthy;

/// chan_sip's limit on added headers.
const MAX_ADDED_HEADERS: usize = 50;

/// `ExecIf(expr?app(args)[:app(args)])`.
pub(super) fn exec_if(ex: &mut Execution, dp: &Dialplan, args: &str, loc: &Loc) -> Flow {
    let parts = split_raw(args, '?', 2);
    let [cond, apps] = parts.as_slice() else {
        log::warn!(
            "{}: usage: ExecIf(<expr>?<appiftrue>(<args>)[:<appiffalse>(<args>)]): hanging up",
            ex.here()
        );
        return end(Cause::FAILURE);
    };
    let branches = split_raw(apps, ':', 2);
    let pick = if truthy(cond) {
        branches.first()
    } else {
        branches.get(1)
    };
    let Some(call) = pick.map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Flow::Next;
    };
    run_call(ex, dp, call, loc, "ExecIf")
}

/// `ExecIfTime(times,weekdays,mdays,months[,timezone]?app[(args)])` (`pbx_builtins.c`): a
/// bad condition or a missing `?` is a warning and the dialplan goes on.
pub(super) fn exec_if_time(ex: &mut Execution, dp: &Dialplan, args: &str, loc: &Loc) -> Flow {
    let Some((cond, call)) = args.split_once('?') else {
        log::warn!(
            "{}: ExecIfTime requires an argument: <timespec>?<appname>[(<appargs>)]",
            ex.here()
        );
        return Flow::Next;
    };
    let spec = match crate::dialplan::time::TimeSpec::parse_list(cond) {
        Ok(spec) => spec,
        Err(e) => {
            log::warn!("{}: ExecIfTime: {e}", ex.here());
            return Flow::Next;
        }
    };
    if let Some(e) = spec.zone_error(ex.now, dp.zones()) {
        log::warn!("{}: ExecIfTime: {e}; using UTC", ex.here());
    }
    if !spec.matches(ex.now, dp.zones()) {
        return Flow::Next;
    }
    let call = call.trim();
    if call.is_empty() {
        log::warn!("{}: ExecIfTime: no application", ex.here());
        return Flow::Next;
    }
    run_call(ex, dp, call, loc, "ExecIfTime")
}

/// Runs `app(args)` (or a bare `app`) as ExecIf's branches are run.
fn run_call(ex: &mut Execution, dp: &Dialplan, call: &str, loc: &Loc, who: &str) -> Flow {
    let (app, app_args) = match call.find('(') {
        Some(open) => {
            let rest = &call[open + 1..];
            let inner = match rest.rfind(')') {
                Some(close) => &rest[..close],
                None => {
                    log::warn!("{}: {who}: application missing ')'", ex.here());
                    rest
                }
            };
            (&call[..open], inner)
        }
        None => (call, ""),
    };
    super::run(ex, dp, app.trim(), app_args, loc)
}

/// `MSet(name1=value1,name2=value2,...)`: quotes and backslashes protect commas.
pub(super) fn mset(ex: &mut Execution, dp: &Dialplan, args: &str) -> Flow {
    for pair in split_args(args) {
        if pair.trim().is_empty() {
            continue;
        }
        match pair.split_once('=') {
            Some((k, v)) => set_variable(ex, dp, k.trim(), v),
            None => log::warn!("{}: MSet: '{pair}' is not name=value", ex.here()),
        }
    }
    Flow::Next
}

/// `WaitUntil(epoch)`: `${WAITUNTILSTATUS}` is OK, PAST or FAILURE.
pub(super) fn wait_until(ex: &mut Execution, args: &str) -> Flow {
    let when = match epoch_arg(args, ex.now) {
        Ok(w) if !args.trim().is_empty() => w,
        _ => {
            log::warn!(
                "{}: WaitUntil needs a time in seconds since the epoch",
                ex.here()
            );
            ex.vars.insert("WAITUNTILSTATUS".into(), "FAILURE".into());
            return Flow::Next;
        }
    };
    let (secs, usec) = when;
    let now = epoch_secs(ex.now);
    let now_us = ex
        .now
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros());
    let left_us = (secs - now) as i128 * 1_000_000 + i128::from(usec) - i128::from(now_us);
    if left_us <= 0 {
        ex.vars.insert("WAITUNTILSTATUS".into(), "PAST".into());
        return Flow::Next;
    }
    ex.vars.insert("WAITUNTILSTATUS".into(), "OK".into());
    // A day at most: further is a mistake that would hold the call for ever.
    let d = Duration::from_micros(left_us.min(86_400_000_000) as u64);
    Flow::Cmd(Command::Wait(d), State::AwaitDone { answers: false })
}

fn header_var(n: usize) -> String {
    format!("SIPADDHEADER{n:02}")
}

/// `SIPAddHeader(Name: value)`: the next free `SIPADDHEADERnn` (chan_sip writes it as
/// `__SIPADDHEADERnn`, inherited by the callee's channel; the prefix is dropped as `Set`
/// drops it).
pub(super) fn add_header(ex: &mut Execution, args: &str) -> Flow {
    if !args.contains(':') {
        log::warn!(
            "{}: SIPAddHeader needs 'Name: value', got '{args}'",
            ex.here()
        );
        return Flow::Next;
    }
    match (1..=MAX_ADDED_HEADERS).find(|n| !ex.vars.contains_key(&header_var(*n))) {
        Some(n) => {
            ex.vars.insert(header_var(n), args.to_string());
        }
        None => log::warn!(
            "{}: SIPAddHeader: too many headers (at most {MAX_ADDED_HEADERS})",
            ex.here()
        ),
    }
    Flow::Next
}

/// `SIPRemoveHeader([prefix])`: drops the added headers starting with `prefix`, compared
/// case-insensitively (all of them without one).
pub(super) fn remove_header(ex: &mut Execution, args: &str) -> Flow {
    let prefix = args.trim();
    ex.vars.retain(|k, v| {
        let is_header = k
            .strip_prefix("SIPADDHEADER")
            .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()));
        let matches = v
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix));
        !(is_header && matches)
    });
    Flow::Next
}

/// SetCallerPres(presentation): the deprecated form of `CALLERID(pres)=` (app_setcallerid.c);
/// numeric values (0, 1, 3, 32, 33, 35, 67) are read as Asterisk's presentation codes.
pub(super) fn set_caller_pres(ex: &mut Execution, args: &str, loc: &Loc) -> Flow {
    use crate::dialplan::functions::channel::{CID_NAME_PRES, CID_NUM_PRES, PRES};
    let v = args.trim().to_ascii_lowercase();
    let name = match v.as_str() {
        "0" => "allowed_not_screened",
        "1" => "allowed_passed_screen",
        "2" => "allowed_failed_screen",
        "3" => "allowed",
        "32" => "prohib_not_screened",
        "33" => "prohib_passed_screen",
        "34" => "prohib_failed_screen",
        "35" => "prohib",
        "67" => "unavailable",
        other => other,
    };
    if !PRES.contains(&name) {
        log::warn!(
            "{loc}: {}: SetCallerPres: '{args}' is not a presentation",
            ex.here()
        );
        return Flow::Next;
    }
    ex.vars.insert(CID_NUM_PRES.into(), name.into());
    ex.vars.insert(CID_NAME_PRES.into(), name.into());
    Flow::Next
}

/// UserEvent(name[,body]): Asterisk sends it to manager (AMI) clients; sipbox has no manager
/// interface, so the event goes to the log (debug), where a script can still see it.
pub(super) fn user_event(ex: &Execution, args: &str, loc: &Loc) -> Flow {
    let (name, body) = args.split_once(',').unwrap_or((args, ""));
    if name.trim().is_empty() {
        log::warn!("{loc}: {}: UserEvent requires a name", ex.here());
        return Flow::Next;
    }
    log::debug!("UserEvent {}: {}", name.trim(), body.trim());
    Flow::Next
}

/// StackPop(): forgets the innermost Gosub return address without returning (app_stack.c).
pub(super) fn stack_pop(ex: &mut Execution, loc: &Loc) -> Flow {
    match ex.stack.last() {
        Some(f) if f.macro_.is_none() => {
            ex.stack.pop();
        }
        _ => log::warn!("{loc}: {}: StackPop with no Gosub to forget", ex.here()),
    }
    Flow::Next
}
