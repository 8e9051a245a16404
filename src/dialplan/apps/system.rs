//! System() and TrySystem(): run a shell command while the call waits (the driver runs it on
//! a helper thread; nothing else waits), then `${SYSTEMSTATUS}`: SUCCESS (exit 0), APPERROR
//! (another exit status), FAILURE (could not run it — exit 127, killed, or past the 60 s
//! limit). On FAILURE System() hangs up, TrySystem() goes on; both go on after APPERROR.
//!
//! Reading list: Asterisk `apps/app_system.c` (`system_exec_helper`, failmode).

use super::super::cause::Cause;
use super::super::command::Command;
use super::super::cursor::{Execution, Flow, State};
use crate::config::raw::Loc;

/// Starts System (`try_ = false`) or TrySystem.
pub(super) fn system(ex: &mut Execution, args: &str, try_: bool, loc: &Loc) -> Flow {
    let command = args.trim();
    if command.is_empty() {
        log::warn!("{loc}: {}: System requires a command", ex.here());
        return finish(ex, None, try_);
    }
    Flow::Cmd(
        Command::System {
            command: command.to_string(),
        },
        State::AwaitSystem { try_ },
    )
}

/// The command ended with `exit` (None: it could not run). Sets `${SYSTEMSTATUS}`; the
/// returned flow ends the call when System() failed.
pub(crate) fn finish(ex: &mut Execution, exit: Option<i32>, try_: bool) -> Flow {
    let status = match exit {
        Some(0) => "SUCCESS",
        Some(127) | None => "FAILURE",
        Some(_) => "APPERROR",
    };
    ex.vars.insert("SYSTEMSTATUS".into(), status.into());
    if status == "FAILURE" && !try_ {
        return super::end(Cause::NORMAL_CLEARING);
    }
    Flow::Next
}
