//! `queue show [name]`, as Asterisk's `apps/app_queue.c` (`__queues_show`) prints it: per
//! queue one summary line (callers, maxlen, strategy, hold and talk time, weight, completed,
//! abandoned, service level), its members with their state and calls, its waiting callers.
//! `queue reload [all|members|parameters|rules]` re-reads the configuration as `core reload`
//! does (waiting callers stay).

use super::{Action, Answer, Reload, View};
use crate::dialplan::queue::QueueState;
use crate::presence::DeviceState;
use std::fmt::Write;

/// `ast_devstate2str`.
fn devstate(s: DeviceState) -> &'static str {
    match s {
        DeviceState::Unknown => "Unknown",
        DeviceState::NotInUse => "Not in use",
        DeviceState::InUse => "In use",
        DeviceState::Busy => "Busy",
        DeviceState::Invalid => "Invalid",
        DeviceState::Unavailable => "Unavailable",
        DeviceState::Ringing => "Ringing",
        DeviceState::RingInUse => "Ring+Inuse",
        DeviceState::OnHold => "On Hold",
    }
}

type States = std::collections::HashMap<String, DeviceState>;

fn queue_text(out: &mut String, view: &View<'_>, states: &States, q: &QueueState) {
    let max = match q.def.maxlen {
        0 => "unlimited".to_string(),
        n => n.to_string(),
    };
    let sl = if q.completed > 0 {
        100.0 * f64::from(q.completed_in_sl) / f64::from(q.completed)
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "{} has {} calls (max {max}) in '{}' strategy ({}s holdtime, {}s talktime), W:{}, C:{}, A:{}, SL:{sl:.1}% within {}s",
        q.def.name,
        q.callers.len(),
        q.def.strategy.name(),
        q.holdtime,
        q.talktime,
        q.def.weight,
        q.completed,
        q.abandoned,
        q.def.servicelevel
    );
    if q.members.is_empty() {
        out.push_str("   No Members\n");
    } else {
        out.push_str("   Members: \n");
        for m in &q.members {
            let _ = write!(out, "      {}", m.name);
            if !m.name.eq_ignore_ascii_case(&m.interface) {
                let _ = write!(out, " ({}", m.interface);
                if m.state_interface != m.interface {
                    let _ = write!(out, " from {}", m.state_interface);
                }
                out.push(')');
            }
            if m.penalty > 0 {
                let _ = write!(out, " with penalty {}", m.penalty);
            }
            let ring = if q.ringinuse(m) {
                "enabled"
            } else {
                "disabled"
            };
            let _ = write!(out, " (ringinuse {ring})");
            if m.dynamic {
                out.push_str(" (dynamic)");
            }
            if m.in_call > 0 {
                out.push_str(" (in call)");
            }
            if m.paused {
                out.push_str(" (paused)");
            }
            let _ = write!(
                out,
                " ({})",
                devstate(
                    states
                        .get(&m.state_interface.to_ascii_lowercase())
                        .copied()
                        .unwrap_or(DeviceState::Invalid)
                )
            );
            match m.lastcall.filter(|_| m.calls > 0) {
                Some(t) => {
                    let ago = view.wall.duration_since(t).map_or(0, |d| d.as_secs());
                    let _ = writeln!(
                        out,
                        " has taken {} calls (last was {ago} secs ago)",
                        m.calls
                    );
                }
                None => out.push_str(" has taken no calls yet\n"),
            }
        }
    }
    if q.callers.is_empty() {
        out.push_str("   No Callers\n");
    } else {
        out.push_str("   Callers: \n");
        for (i, c) in q.callers.iter().enumerate() {
            let wait = view.wall.duration_since(c.since).map_or(0, |d| d.as_secs());
            let _ = writeln!(
                out,
                "      {}. {} (wait: {}:{:02}, prio: {})",
                i + 1,
                c.channel,
                wait / 60,
                wait % 60,
                c.prio
            );
        }
    }
    out.push('\n');
}

/// `queue show [name]`.
pub(super) fn show(view: &View<'_>, args: &[&str]) -> Answer {
    let mut out = String::new();
    let states = view.dialplan.queue_member_states();
    match args {
        [] => view.dialplan.with_queues(|qs, _| {
            let mut any = false;
            for q in qs.all() {
                any = true;
                queue_text(&mut out, view, &states, q);
            }
            if !any {
                out.push_str("No queues.\n");
            }
        }),
        [name] => {
            let found = view.dialplan.with_queues(|qs, _| match qs.get(name) {
                Some(q) => {
                    queue_text(&mut out, view, &states, q);
                    true
                }
                None => false,
            });
            if !found {
                return Answer::text(format!("No such queue: {name}."));
            }
        }
        _ => return Answer::usage("queue show"),
    }
    Answer::text(out)
}

/// `queue reload [all|members|parameters|rules]`: the whole configuration, as `core reload`.
pub(super) fn reload(args: &[&str]) -> Answer {
    match args {
        [] | ["all" | "members" | "parameters" | "rules"] => {
            Answer::act("", Action::Reload(Reload::All))
        }
        _ => Answer::usage("queue reload"),
    }
}
