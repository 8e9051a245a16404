//! `While`, `EndWhile`, `ExitWhile`, `ContinueWhile`.
//!
//! Reading list: Asterisk `apps/app_while.c`. A true `While` enters the loop and remembers
//! where it is; `EndWhile` and `ContinueWhile` go back to it to test again; a false `While`
//! or `ExitWhile` goes past the matching `EndWhile`, found by scanning the extension's
//! following priorities with nesting counted, as `find_matching_endwhile` does.

use super::{end, App};
use crate::dialplan::cause::Cause;
use crate::dialplan::cursor::{Execution, Flow, Loop};
use crate::dialplan::model::{Dialplan, Want};
use crate::dialplan::vars::truthy;

/// Priorities scanned for a matching EndWhile.
const MAX_SCAN: u32 = 10_000;

/// The priority of the EndWhile matching the While at `from`, in the current extension.
fn matching_end(ex: &Execution, dp: &Dialplan, from: u32) -> Option<u32> {
    let mut depth = 0u32;
    let cid = &ex.chan.callerid_num;
    for p in from.saturating_add(1)..from.saturating_add(MAX_SCAN) {
        let found = dp.find(&ex.context, &ex.exten, cid, Want::Prio(p), ex.now)?;
        let app = found
            .ext
            .prios
            .get(&found.prio)
            .and_then(|pr| App::from_name(&pr.app));
        match app {
            Some(App::While) => depth += 1,
            Some(App::EndWhile) if depth == 0 => return Some(p),
            Some(App::EndWhile) => depth -= 1,
            _ => {}
        }
    }
    None
}

fn exit_past_end(ex: &mut Execution, dp: &Dialplan, while_prio: u32, app: &str) -> Flow {
    match matching_end(ex, dp, while_prio) {
        Some(p) => {
            ex.prio = p.saturating_add(1);
            Flow::Jumped
        }
        None => {
            log::warn!("{}: {app}: no matching EndWhile: hanging up", ex.here());
            end(Cause::FAILURE)
        }
    }
}

pub(super) fn run(ex: &mut Execution, dp: &Dialplan, app: App, args: &str) -> Flow {
    let here = Loop {
        context: ex.context.to_string(),
        exten: ex.exten.to_string(),
        prio: ex.prio,
    };
    match app {
        App::While => {
            let open = ex.loops.iter().rposition(|l| *l == here);
            if truthy(args) {
                match open {
                    // Loops opened inside this one and left by a Goto are forgotten.
                    Some(i) => ex.loops.truncate(i + 1),
                    None => ex.loops.push(here),
                }
                Flow::Next
            } else {
                if let Some(i) = open {
                    ex.loops.truncate(i);
                }
                exit_past_end(ex, dp, here.prio, "While")
            }
        }
        App::EndWhile | App::ContinueWhile => match ex.loops.last() {
            Some(l) if l.context == here.context && l.exten == here.exten => {
                ex.prio = l.prio;
                Flow::Jumped
            }
            _ => {
                log::warn!("{}: {app:?} outside a While loop", ex.here());
                Flow::Next
            }
        },
        App::ExitWhile => match ex.loops.pop() {
            Some(l) if l.context == here.context && l.exten == here.exten => {
                exit_past_end(ex, dp, l.prio, "ExitWhile")
            }
            _ => {
                log::warn!("{}: ExitWhile outside a While loop", ex.here());
                Flow::Next
            }
        },
        _ => Flow::Next,
    }
}
