//! Channel listings and hang-up: chan_sip.c's `sip show channels` / `sip show channel`,
//! main/cli.c's `core show channels [concise|verbose]`, `core show calls`,
//! `channel request hangup`.

use super::format::{hms, plural, yes_no};
use super::view::{ChannelView, View};
use super::{Action, Answer};
use std::fmt::Write;

/// An empty column (account codes: sipbox has none yet).
const NONE: &str = "";

fn codec(c: &ChannelView) -> String {
    match &c.codec {
        Some(n) => format!("({n})"),
        None => "(nothing)".into(),
    }
}

pub(super) fn sip_channels(view: &View<'_>, args: &[&str]) -> Answer {
    if !args.is_empty() {
        return Answer::usage("sip show channels");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<15.15}  {:<15.15}  {:<15.15}  {:<15.15}  {:<7.7}  {:<15.15}  {:<10.10}  {:<10.10}",
        "Peer", "User/ANR", "Call ID", "Format", "Hold", "Last Message", "Expiry", "Peer"
    );
    for c in &view.channels {
        let user = c.peer.clone().unwrap_or_else(|| {
            if c.caller_num.is_empty() {
                "(None)".into()
            } else {
                c.caller_num.clone()
            }
        });
        let last = if c.incoming {
            "Rx: INVITE"
        } else {
            "Tx: INVITE"
        };
        let _ = writeln!(
            out,
            "{:<15.15}  {:<15.15}  {:<15.15}  {:<15.15}  {:<7.7}  {:<15.15}  {:<10.10}  {:<10.10}",
            c.remote.ip().to_string(),
            user,
            c.call_id,
            codec(c),
            yes_no(c.hold),
            last,
            "",
            c.peer.as_deref().unwrap_or("(None)")
        );
    }
    let n = view.channels.len() as u64;
    let _ = writeln!(
        out,
        "{} active SIP dialog{}",
        n,
        if n == 1 { "" } else { "s" }
    );
    Answer::text(out)
}

pub(super) fn sip_channel(view: &View<'_>, args: &[&str]) -> Answer {
    let [id] = args else {
        return Answer::usage("sip show channel");
    };
    let mut out = String::new();
    for c in view.channels.iter().filter(|c| c.call_id.starts_with(id)) {
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            let _ = writeln!(out, "  {:<24}{v}", format!("{k}:"));
        };
        line("* SIP Call", &"");
        line(
            "Curr. trans. direction",
            &if c.incoming { "Incoming" } else { "Outgoing" },
        );
        line("Call-ID", &c.call_id);
        line("Owner channel ID", &c.name);
        line("Format", &codec(c));
        line("T.38 support", &"No");
        line("Video support", &"No");
        line("Theoretical Address", &c.remote);
        line("Received Address", &c.remote);
        line("Audio IP", &format!("{} (local)", view.local.ip()));
        line("Our Tag", &c.our_tag);
        line("Their Tag", &c.their_tag);
        line("Peername", &c.peer.as_deref().unwrap_or("(None)"));
        line("Original uri", &c.uri);
        line("Caller-ID", &c.caller_num);
        line("State", &c.state.as_str());
        line("Bridged to", &c.bridged.as_deref().unwrap_or("(None)"));
        line("On hold", &yes_no(c.hold));
        line("Transport", &"UDP");
        line(
            "Duration",
            &hms(view.now.saturating_duration_since(c.created)),
        );
        out.push('\n');
    }
    if out.is_empty() {
        return Answer::text(format!("No such SIP Call ID starting with '{id}'"));
    }
    Answer::text(out)
}

fn location(c: &ChannelView) -> String {
    if c.context.is_empty() {
        "(None)".into()
    } else {
        format!("{}@{}:{}", c.exten, c.context, c.prio)
    }
}

fn app(c: &ChannelView) -> String {
    if c.app.is_empty() {
        "(None)".into()
    } else {
        format!("{}({})", c.app, c.data)
    }
}

/// `2 active channels`, `1 active call`.
fn active(n: usize, word: &str) -> String {
    format!("{n} active {word}{}", if n == 1 { "" } else { "s" })
}

fn totals(view: &View<'_>, out: &mut String) {
    let _ = writeln!(out, "{}", active(view.channels.len(), "channel"));
    let _ = writeln!(out, "{}", active(view.active_calls, "call"));
    let _ = writeln!(out, "{} processed", plural(view.calls_processed, "call"));
}

pub(super) fn core_channels(view: &View<'_>, args: &[&str]) -> Answer {
    let mut out = String::new();
    match args {
        [] => {
            let _ = writeln!(
                out,
                "{:<20.20} {:<20.20} {:<7.7} {:<30.30}",
                "Channel", "Location", "State", "Application"
            );
            for c in &view.channels {
                let _ = writeln!(
                    out,
                    "{:<20.20} {:<20.20} {:<7.7} {:<30.30}",
                    c.name,
                    location(c),
                    c.state.as_str(),
                    app(c)
                );
            }
            totals(view, &mut out);
        }
        ["concise"] => {
            for c in &view.channels {
                let dur = view.now.saturating_duration_since(c.created).as_secs();
                let _ = writeln!(
                    out,
                    "{}!{}!{}!{}!{}!{}!{}!{}!{}!{}!{}!{}!{}!{}",
                    c.name,
                    c.context,
                    c.exten,
                    c.prio,
                    c.state.as_str(),
                    c.app,
                    c.data,
                    c.caller_num,
                    NONE,
                    NONE,
                    3,
                    dur,
                    c.bridged.as_deref().unwrap_or("(None)"),
                    c.unique_id
                );
            }
        }
        ["verbose"] => {
            let _ = writeln!(
                out,
                "{:<20.20} {:<20.20} {:<16.16} {:<4.4} {:<7.7} {:<12.12} {:<25.25} {:<15.15} {:>8.8} {:<11.11} {:<11.11} {:<20.20}",
                "Channel", "Context", "Extension", "Priority", "State", "Application", "Data",
                "CallerID", "Duration", "Accountcode", "PeerAccount", "BridgeID"
            );
            for c in &view.channels {
                let _ = writeln!(
                    out,
                    "{:<20.20} {:<20.20} {:<16.16} {:>4} {:<7.7} {:<12.12} {:<25.25} {:<15.15} {:>8.8} {:<11.11} {:<11.11} {:<20.20}",
                    c.name,
                    c.context,
                    c.exten,
                    c.prio,
                    c.state.as_str(),
                    c.app,
                    c.data,
                    c.caller_num,
                    hms(view.now.saturating_duration_since(c.created)),
                    "",
                    "",
                    c.bridged.as_deref().unwrap_or("")
                );
            }
            totals(view, &mut out);
        }
        ["count"] => totals(view, &mut out),
        _ => return Answer::usage("core show channels"),
    }
    Answer::text(out)
}

pub(super) fn core_calls(view: &View<'_>, args: &[&str]) -> Answer {
    let mut out = String::new();
    match args {
        [] => {}
        ["uptime"] => {
            let up = view.now.saturating_duration_since(view.started);
            let _ = writeln!(out, "System uptime: {}", super::format::timestr(up));
        }
        _ => return Answer::usage("core show calls"),
    }
    let _ = writeln!(out, "{}", active(view.active_calls, "call"));
    let _ = writeln!(out, "{} processed", plural(view.calls_processed, "call"));
    Answer::text(out)
}

pub(super) fn hangup(view: &View<'_>, args: &[&str]) -> Answer {
    let [name] = args else {
        return Answer::usage("channel request hangup");
    };
    let names: Vec<String> = if name.eq_ignore_ascii_case("all") {
        view.channels.iter().map(|c| c.name.clone()).collect()
    } else {
        match view
            .channels
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
        {
            Some(c) => vec![c.name.clone()],
            None => return Answer::text(format!("{name} is not a known channel")),
        }
    };
    let mut out = String::new();
    for n in &names {
        let _ = writeln!(out, "Requested Hangup on channel '{n}'");
    }
    if names.is_empty() {
        return Answer::text("");
    }
    Answer::act(out, Action::Hangup(names))
}
