//! `Page(Technology/Resource&Technology2/Resource2[,options[,timeout]])` as Asterisk's
//! `apps/app_page.c`: every target is dialled at once; each that answers joins a conference
//! with the caller, hearing the caller only (one-way) unless `d` (duplex: everybody hears
//! everybody). The caller is answered and stays until it hangs up, which ends the page.
//! `timeout` (seconds) stops the targets still ringing. Options: `d` duplex, `q` quiet (sipbox
//! plays no beep anyway), `i` ignore call forwarding (sipbox follows none), `s` dial only the
//! targets whose device state is NOT_INUSE; `A(x)`, `n`, `r` are warned about and ignored.
//! Whether a phone answers by itself is up to it: Asterisk leaves that to `SIPAddHeader()`
//! (`Alert-Info`, `Call-Info`) before the Page, and sipbox sends those headers on each leg.

use super::super::command::Command;
use super::super::cursor::{Execution, Flow, State};
use crate::config::raw::Loc;

/// `Page(...)`.
pub(super) fn page(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    let mut targets = super::parse_targets(arg(0), loc);
    if targets.is_empty() {
        log::warn!("{loc}: {}: Page requires at least one target", ex.here());
        return Flow::Next;
    }
    let (mut duplex, mut only_idle) = (false, false);
    let mut depth = 0;
    for c in arg(1).chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth > 0 => {}
            'd' => duplex = true,
            's' => only_idle = true,
            'q' | 'i' | ' ' => {}
            other => log::warn!(
                "{loc}: {}: Page option '{other}' is not supported; ignored",
                ex.here()
            ),
        }
    }
    if only_idle {
        let dp = crate::dialplan::Dialplan {
            shared: ex.shared.clone(),
            ..Default::default()
        };
        targets.retain(|t| {
            let dev = format!("{}/{}", t.tech, t.resource);
            let idle = dp.device_state(&dev) == crate::presence::DeviceState::NotInUse;
            if !idle {
                log::info!("Page: {dev} is not idle; not dialled (s)");
            }
            idle
        });
    }
    let cmd = Command::Page {
        targets,
        timeout: super::secs(arg(2)),
        duplex,
    };
    super::answered_then(ex, false, cmd, State::AwaitDone { answers: true })
}
