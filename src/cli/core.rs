//! `core show uptime|settings|version|help`, `help`, `core set verbose|debug`, `core stop`:
//! main/asterisk.c and main/cli.c's words.

use super::format::timestr;
use super::view::{StopMode, View};
use super::{Action, Answer, COMMANDS};
use std::fmt::Write;

pub(super) fn uptime(view: &View<'_>, args: &[&str]) -> Answer {
    let up = view.now.saturating_duration_since(view.started);
    let reload = view.now.saturating_duration_since(view.last_reload);
    match args {
        [] => Answer::text(format!(
            "System uptime: {}\nLast reload: {}",
            timestr(up),
            timestr(reload)
        )),
        ["seconds"] => Answer::text(format!(
            "System uptime: {}\nLast reload: {}",
            up.as_secs(),
            reload.as_secs()
        )),
        _ => Answer::usage("core show uptime"),
    }
}

/// What `core show version` prints.
pub const VERSION: &str = concat!("sipbox ", env!("CARGO_PKG_VERSION"));

pub(super) fn version(args: &[&str]) -> Answer {
    if !args.is_empty() {
        return Answer::usage("core show version");
    }
    Answer::text(format!(
        "{VERSION} (a SIP PBX speaking Asterisk chan_sip's config and CLI)"
    ))
}

pub(super) fn settings(view: &View<'_>, args: &[&str]) -> Answer {
    if !args.is_empty() {
        return Answer::usage("core show settings");
    }
    let mut o = String::from("\nPBX Core settings\n-----------------\n");
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(o, "  {:<29}{v}", format!("{k}:"));
    };
    line("Version", &VERSION);
    line(
        "Maximum calls",
        &format!("{} (Current {})", view.general.max_calls, view.active_calls),
    );
    line("Current console verbosity", &view.console.verbose);
    line("Debug level", &view.console.debug);
    line(
        "Startup time",
        &timestr(view.now.saturating_duration_since(view.started)),
    );
    line(
        "Last reload time",
        &timestr(view.now.saturating_duration_since(view.last_reload)),
    );
    line("System", &"single-threaded event loop (mio)");
    line("Calls processed", &view.calls_processed);
    let stop = match view.stopping {
        None => "No",
        Some(StopMode::Gracefully) => "Gracefully (refusing new calls)",
        Some(StopMode::WhenConvenient) => "When convenient",
        Some(StopMode::Now) => "Now",
    };
    line("Shutting down", &stop);
    Answer::text(o)
}

pub(super) fn help(args: &[&str]) -> Answer {
    let topic = args.join(" ");
    if let Some(c) = COMMANDS.iter().find(|c| c.words == topic) {
        return Answer::text(c.usage);
    }
    let mut out = String::new();
    for c in COMMANDS
        .iter()
        .filter(|c| topic.is_empty() || c.words.starts_with(&format!("{topic} ")))
    {
        let _ = writeln!(out, "{:<30} -- {}", c.words, c.summary);
    }
    if out.is_empty() {
        return Answer::text(format!("No such command '{topic}'."));
    }
    Answer::text(out)
}

/// `[atleast] N | off` → the new level; None: bad arguments.
fn level(args: &[&str], current: u8) -> Option<u8> {
    let (atleast, n) = match args {
        ["atleast", n] => (true, *n),
        [n] => (false, *n),
        _ => return None,
    };
    let n: u8 = if n == "off" { 0 } else { n.parse().ok()? };
    Some(if atleast { n.max(current) } else { n })
}

fn word(n: u8) -> String {
    if n == 0 {
        "OFF".into()
    } else {
        n.to_string()
    }
}

pub(super) fn set_verbose(view: &View<'_>, args: &[&str]) -> Answer {
    let old = view.console.verbose;
    match level(args, old) {
        Some(n) => Answer::act(
            format!("Console verbose was {} and is now {}.", word(old), word(n)),
            Action::Verbose(n),
        ),
        None => Answer::usage("core set verbose"),
    }
}

pub(super) fn set_debug(view: &View<'_>, args: &[&str]) -> Answer {
    let old = view.console.debug;
    match level(args, old) {
        Some(n) => Answer::act(
            format!("Core debug was {} and is now {}.", word(old), word(n)),
            Action::Debug(n),
        ),
        None => Answer::usage("core set debug"),
    }
}

pub(super) fn stop(view: &View<'_>, args: &[&str]) -> Answer {
    let (mode, cmd) = match args {
        ["now"] => (StopMode::Now, "core stop now"),
        ["gracefully"] => (StopMode::Gracefully, "core stop gracefully"),
        ["when", "convenient"] => (StopMode::WhenConvenient, "core stop when convenient"),
        _ => {
            return Answer::text(format!(
                "No such command 'core stop {}' (type 'core show help core stop' for other possible commands)",
                args.join(" ")
            ))
        }
    };
    let _ = cmd;
    let text = match (mode, view.active_calls) {
        (StopMode::Now, n) => format!(
            "Beginning sipbox shutdown, hanging up {} now.",
            super::format::plural(n as u64, "call")
        ),
        (_, 0) => "Beginning sipbox shutdown....".to_string(),
        (StopMode::Gracefully, n) => format!(
            "Waiting for inactivity to perform halt: {} up, new calls refused (503).",
            super::format::plural(n as u64, "call")
        ),
        (StopMode::WhenConvenient, n) => format!(
            "Waiting for inactivity to perform halt: {} up, new calls still taken.",
            super::format::plural(n as u64, "call")
        ),
    };
    Answer::act(text, Action::Stop(mode))
}
