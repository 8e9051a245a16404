//! `Macro`, `MacroIf`, `MacroExit`: the deprecated subroutines every FreePBX dialplan uses.
//!
//! Reading list: Asterisk `apps/app_macro.c` (`_macro_exec`). `Macro(name,args...)` runs
//! `[macro-name]` from `s,1` with `${ARG1}`... set and `${MACRO_EXTEN}`, `${MACRO_CONTEXT}`,
//! `${MACRO_PRIORITY}` naming the caller, `${MACRO_DEPTH}` counting the nesting (at most
//! `${MACRO_RECURSION}`, default 7: deeper calls log an error and do nothing). The macro ends
//! when its extension runs out of priorities or at `MacroExit`: the caller goes on after the
//! `Macro` (skipping `${MACRO_OFFSET}` priorities if that one exists). A `Goto` out of the
//! macro's context ends the macro where the Goto went. The caller's `ARGn` and `MACRO_*`
//! values come back when the macro ends.
//!
//! Asterisk runs the macro inside the application; here the macro is a frame on the call's
//! stack (as Gosub's), so a macro may Dial, Playback or wait like the rest of the dialplan.

use super::{end, MAX_GOSUB};
use crate::dialplan::cause::Cause;
use crate::dialplan::cursor::{Execution, Flow, Frame, MacroFrame};
use crate::dialplan::functions::math::atoi;
use crate::dialplan::model::{Dialplan, Want};

/// `MACRO_RECURSION`'s default.
const DEFAULT_MAX_DEPTH: i64 = 7;

const SAVED: [&str; 5] = [
    "MACRO_EXTEN",
    "MACRO_CONTEXT",
    "MACRO_PRIORITY",
    "MACRO_OFFSET",
    "MACRO_DEPTH",
];

fn restore(ex: &mut Execution, saved: Vec<(String, Option<String>)>) {
    for (k, v) in saved {
        match v {
            Some(v) => ex.vars.insert(k, v),
            None => ex.vars.remove(&k),
        };
    }
}

/// `Macro(name[,arg1[,arg2...]])`.
pub(super) fn call(ex: &mut Execution, dp: &Dialplan, args: &str) -> Flow {
    let depth = ex
        .vars
        .get("MACRO_DEPTH")
        .and_then(|d| atoi(d))
        .unwrap_or(0);
    let max = ex
        .vars
        .get("MACRO_RECURSION")
        .and_then(|d| atoi(d))
        .unwrap_or(DEFAULT_MAX_DEPTH);
    if depth >= max {
        log::error!(
            "{}: Macro(): possible infinite loop detected (depth {depth}); returning early",
            ex.here()
        );
        return Flow::Next;
    }
    // app_macro splits with strsep: no quoting, every comma separates.
    let mut parts = args.split(',');
    let name = parts.next().unwrap_or("").trim();
    if name.is_empty() {
        log::warn!("{}: Macro: no macro name given", ex.here());
        return Flow::Next;
    }
    let full = format!("macro-{name}");
    let cid = ex.chan.callerid_num.clone();
    if dp.find(&full, "s", &cid, Want::Prio(1), ex.now).is_none() {
        if dp.has_context(&full) {
            log::warn!(
                "{}: context '{full}' lacks 's' extension, priority 1",
                ex.here()
            );
        } else {
            log::warn!("{}: no such context '{full}' for macro '{name}'", ex.here());
        }
        return Flow::Next;
    }
    if ex.stack.len() >= MAX_GOSUB {
        log::warn!(
            "{}: Macro nested deeper than {MAX_GOSUB}: hanging up",
            ex.here()
        );
        return end(Cause::FAILURE);
    }
    let mut saved: Vec<(String, Option<String>)> = SAVED
        .iter()
        .map(|k| (k.to_string(), ex.vars.get(*k).cloned()))
        .collect();
    ex.vars.insert("MACRO_EXTEN".into(), ex.exten.to_string());
    ex.vars
        .insert("MACRO_CONTEXT".into(), ex.context.to_string());
    ex.vars.insert("MACRO_PRIORITY".into(), ex.prio.to_string());
    ex.vars.remove("MACRO_OFFSET");
    ex.vars
        .insert("MACRO_DEPTH".into(), (depth + 1).to_string());
    // Only the arguments given are replaced; a caller's further ARGn pass through.
    for (i, a) in parts.enumerate() {
        let k = format!("ARG{}", i + 1);
        saved.push((k.clone(), ex.vars.get(&k).cloned()));
        ex.vars.insert(k, a.to_string());
    }
    ex.stack.push(Frame {
        context: std::mem::replace(&mut ex.context, full.as_str().into()),
        exten: std::mem::replace(&mut ex.exten, "s".into()),
        prio: ex.prio,
        saved_args: Vec::new(),
        saved_locals: Vec::new(),
        macro_: Some(MacroFrame {
            context: full,
            saved_vars: saved,
        }),
    });
    ex.prio = 1;
    Flow::Jumped
}

/// The macro on top of the stack ends normally (ran out of priorities, MacroExit): back to
/// the caller, after the Macro priority (plus `MACRO_OFFSET` when that priority exists).
/// Gosub frames opened inside the macro go with it. False when no macro is running.
pub(crate) fn leave(ex: &mut Execution, dp: &Dialplan) -> bool {
    let Some(i) = ex.stack.iter().rposition(|f| f.macro_.is_some()) else {
        return false;
    };
    ex.stack.truncate(i + 1);
    let Some(Frame {
        context,
        exten,
        prio,
        macro_: Some(m),
        ..
    }) = ex.stack.pop()
    else {
        return false;
    };
    let offset = ex.vars.get("MACRO_OFFSET").and_then(|o| atoi(o));
    restore(ex, m.saved_vars);
    let in_macro = ex.context == m.context;
    if in_macro {
        ex.context = context;
        ex.exten = exten;
        ex.prio = prio;
        if let Some(off) = offset {
            let target = i64::from(prio) + off + 1;
            if let Ok(t) = u32::try_from(target) {
                let cid = ex.chan.callerid_num.clone();
                if t > 0
                    && dp
                        .find(&ex.context, &ex.exten, &cid, Want::Prio(t), ex.now)
                        .is_some()
                {
                    ex.prio = t - 1;
                }
            }
        }
        ex.prio = ex.prio.saturating_add(1);
    }
    true
}

/// A Goto left the running macro's context: the macro is over, the call stays where the
/// Goto went (app_macro's "jumping out of macro").
pub(crate) fn left_by_goto(ex: &mut Execution) {
    let out =
        matches!(ex.stack.last(), Some(Frame { macro_: Some(m), .. }) if m.context != ex.context);
    if out {
        if let Some(Frame {
            macro_: Some(m), ..
        }) = ex.stack.pop()
        {
            log::debug!("{}: jumping out of macro '{}'", ex.here(), m.context);
            restore(ex, m.saved_vars);
        }
    }
}

/// The call hung up inside macros: as app_macro returns to its caller, the `h` extension
/// runs in the context that called the outermost macro.
pub(crate) fn unwind_for_hangup(ex: &mut Execution) {
    while let Some(Frame {
        macro_: Some(m), ..
    }) = ex.stack.last()
    {
        if m.context != ex.context {
            break;
        }
        if let Some(Frame {
            context,
            exten,
            prio,
            macro_: Some(m),
            ..
        }) = ex.stack.pop()
        {
            restore(ex, m.saved_vars);
            ex.context = context;
            ex.exten = exten;
            ex.prio = prio;
        }
    }
}
