//! `Monitor([file_format[:urlbase][,fname_base[,options]]])` and `StopMonitor()` as Asterisk's
//! `res/res_monitor.c` (`start_monitor_exec`, `ast_monitor_start`, `ast_monitor_stop`), built
//! on the MixMonitor recording of the call (`src/call/media/mixmonitor.rs`): the channel's two
//! directions go to `<base>-in.<format>` (what its phone sends) and `<base>-out.<format>`
//! (what it is sent). `<base>` is `fname_base` under `<astspooldir>/monitor/` (an absolute one
//! as it is), by default `<epoch>-<channel name with / as ->` (`1733059200-SIP-1001-00000001`),
//! the name Asterisk renames its `audio-in-N` files to at the end. The format defaults to
//! `wav`; `gsm`/`WAV`/`wav49` are refused by the recording as for MixMonitor.
//!
//! Options: `m` — Asterisk runs `soxmix` on the two files at the end and deletes them; sipbox
//! writes the mix `<base>.<format>` directly and no leg files (the same files on disk
//! afterwards). With `${MONITOR_EXEC}` set, `m` keeps the legs and runs
//! `MONITOR_EXEC "<in>" "<out>" "<mixed>" ${MONITOR_EXEC_ARGS}` once they are closed, as
//! Asterisk does instead of soxmix. `b` — only while bridged (Asterisk waits for the bridge to
//! start the monitor; sipbox leaves the unbridged frames out). `i`/`o` — no `-in`/`-out` file.
//! A channel already monitored keeps its recording (Asterisk would rename it: ChangeMonitor is
//! not done). The `urlbase` (a CDR userfield) is ignored.

use super::super::command::{Command, MixMonitorSpec};
use super::super::cursor::{Execution, Flow, State};
use super::super::model::Dialplan;
use crate::config::raw::Loc;
use std::path::{Path, PathBuf};

/// The channel variable holding the running Monitor's recording id (not a dialplan name).
const ID_VAR: &str = "~MONITOR";

/// `Monitor(...)`.
pub(super) fn monitor(ex: &mut Execution, dp: &Dialplan, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).map(|s| s.trim()).unwrap_or("");
    if ex.vars.contains_key(ID_VAR) {
        log::warn!(
            "{loc}: {}: the channel is already monitored: the recording goes on under its \
             first name (ChangeMonitor is not supported by sipbox)",
            ex.here()
        );
        return Flow::Next;
    }
    let format = match arg(0).split_once(':') {
        Some((f, _url)) => f.trim(),
        None => arg(0),
    };
    let format = if format.is_empty() { "wav" } else { format };
    let options = arg(2);
    let base = base_name(&dp.monitor_dir(), arg(1), ex);
    let file = |suffix: &str| PathBuf::from(format!("{}{suffix}.{format}", base.display()));
    let mut spec = MixMonitorSpec {
        bridged_only: options.contains('b'),
        id_var: Some(ID_VAR.into()),
        ..MixMonitorSpec::default()
    };
    let exec = ex.var("MONITOR_EXEC").filter(|e| !e.trim().is_empty());
    let legs = !options.contains('m') || exec.is_some();
    if legs {
        spec.receive = (!options.contains('i')).then(|| file("-in"));
        spec.transmit = (!options.contains('o')).then(|| file("-out"));
    }
    if options.contains('m') {
        match exec {
            Some(exec) => {
                let args = ex.var("MONITOR_EXEC_ARGS").unwrap_or_default();
                let q = |p: PathBuf| format!("\"{}\"", p.display());
                spec.command = Some(
                    format!(
                        "{} {} {} {} {}",
                        exec.trim(),
                        q(file("-in")),
                        q(file("-out")),
                        q(file("")),
                        args.trim()
                    )
                    .trim_end()
                    .to_string(),
                );
            }
            None => spec.mixed = Some(file("")),
        }
    }
    if spec.mixed.is_none() && spec.receive.is_none() && spec.transmit.is_none() {
        log::info!(
            "{loc}: {}: Monitor with 'i' and 'o': nothing to record",
            ex.here()
        );
        return Flow::Next;
    }
    Flow::Cmd(
        Command::MixMonitor(Box::new(spec)),
        State::AwaitDone { answers: false },
    )
}

/// `StopMonitor()`: the Monitor's recording; nothing when the channel is not monitored.
pub(super) fn stop(ex: &mut Execution) -> Flow {
    match ex.vars.remove(ID_VAR) {
        Some(id) => Flow::Cmd(
            Command::StopMixMonitor { id },
            State::AwaitDone { answers: false },
        ),
        None => Flow::Next,
    }
}

/// The files' common name without `-in`/`-out` and format.
fn base_name(dir: &Path, given: &str, ex: &Execution) -> PathBuf {
    if given.is_empty() {
        let epoch = super::super::time::epoch_secs(ex.now);
        return dir.join(format!("{epoch}-{}", ex.channel_name().replace('/', "-")));
    }
    let p = PathBuf::from(given);
    if p.is_absolute() {
        p
    } else {
        dir.join(p)
    }
}
