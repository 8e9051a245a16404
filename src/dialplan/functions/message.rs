//! `MESSAGE(to|from|body)`, `MESSAGE_DATA(name)` and the `MessageSend(to[,from])`
//! application (Asterisk's `main/message.c`): a text message (RFC 3428 SIP MESSAGE) running
//! the dialplan carries its fields as hidden variables of its execution; MessageSend hands
//! them to the engine, which sets `${MESSAGE_SEND_STATUS}`.

use super::Ctx;
use crate::dialplan::command::Command;
use crate::dialplan::cursor::{Execution, Flow, State};

/// The hidden variable of a field (a NUL cannot appear in a dialplan variable name).
fn key(field: &str) -> String {
    format!("\u{0}MESSAGE({})", field.trim().to_ascii_lowercase())
}

/// Sets a field of the execution's message (the engine, for an incoming MESSAGE).
pub fn set_field(ex: &mut Execution, field: &str, value: &str) {
    ex.vars.insert(key(field), value.to_string());
}

fn field(ex: &Execution, field: &str) -> String {
    ex.vars.get(&key(field)).cloned().unwrap_or_default()
}

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    let f = args.trim().to_ascii_lowercase();
    if name == "MESSAGE" && !matches!(f.as_str(), "to" | "from" | "body") {
        return Err(format!("unknown field '{args}' (to, from or body)"));
    }
    let f = if name == "MESSAGE_DATA" {
        format!("data:{f}")
    } else {
        f
    };
    Ok(field(cx.ex, &f))
}

pub(crate) fn write(cx: &mut Ctx<'_>, name: &str, args: &str, value: &str) -> Result<(), String> {
    let f = args.trim().to_ascii_lowercase();
    if name == "MESSAGE" && !matches!(f.as_str(), "to" | "from" | "body") {
        return Err(format!("unknown field '{args}' (to, from or body)"));
    }
    let f = if name == "MESSAGE_DATA" {
        format!("data:{f}")
    } else {
        f
    };
    set_field(cx.ex, &f, value);
    Ok(())
}

/// `MessageSend(to[,from])`.
pub(crate) fn send(ex: &mut Execution, args: &str) -> Flow {
    let parts = super::split_args(args);
    let to = parts
        .first()
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let from = parts
        .get(1)
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if to.is_empty() {
        log::warn!("{}: MessageSend requires a destination", ex.here());
        ex.vars
            .insert("MESSAGE_SEND_STATUS".into(), "INVALID_URI".into());
        return Flow::Next;
    }
    let body = field(ex, "body");
    let from = if from.is_empty() {
        field(ex, "from")
    } else {
        from
    };
    Flow::Cmd(
        Command::MessageSend { to, from, body },
        State::AwaitMessageSend,
    )
}
