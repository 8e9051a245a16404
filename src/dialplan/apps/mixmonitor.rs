//! `MixMonitor(file.ext[,options[,command]])` and `StopMixMonitor([id])`: the arguments as
//! app_mixmonitor.c reads them. A relative file name goes under `<astspooldir>/monitor/`
//! (`filename_parse`), `${MIXMONITOR_FILENAME}` is the mixed file's full name, and the
//! post-command's `^{X}` become `${X}` substituted now, when MixMonitor runs — "All variables
//! will be evaluated at the time MixMonitor is called" (its documentation). The recording
//! itself is the call's (`src/call/media/mixmonitor.rs`).
//!
//! Reading list: Asterisk `apps/app_mixmonitor.c` (`mixmonitor_exec`, `launch_monitor_thread`,
//! `stop_mixmonitor_full`, the option table), `main/app.c` (`ast_app_parse_options`: a letter,
//! then an optional `(argument)`).

use super::super::command::{Command, MixMonitorSpec};
use super::super::cursor::{Execution, Flow, State};
use super::super::model::Dialplan;
use crate::config::raw::Loc;
use crate::media::monitor::volume_factor;
use std::path::PathBuf;

/// The longest post-command kept (Asterisk's buffer is 1 024 bytes).
const MAX_COMMAND: usize = 1024;

/// `MixMonitor(...)`.
pub(super) fn mixmonitor(ex: &mut Execution, dp: &Dialplan, args: &str, loc: &Loc) -> Flow {
    // Three arguments at most: the command keeps its own commas (AST_STANDARD_APP_ARGS).
    let mut parts = args.splitn(3, ',');
    let file = parts.next().unwrap_or("").trim();
    let options = parts.next().unwrap_or("").trim();
    let command = parts.next().unwrap_or("").trim();
    let dir = dp.monitor_dir();
    let mut spec = MixMonitorSpec::default();
    // v, V, W: as mixmonitor_exec checks them, W (both) wins over v and V in any order.
    let mut volumes: [Option<i32>; 3] = [None; 3];
    for (letter, arg) in parse_options(options) {
        match letter {
            'a' => spec.append = true,
            'b' => spec.bridged_only = true,
            'v' | 'V' | 'W' => match volume(arg) {
                Some(f) => {
                    volumes[usize::from(letter != 'v') + usize::from(letter == 'W')] = Some(f)
                }
                None => log::warn!(
                    "{loc}: {}: MixMonitor volume '{letter}({})' must be a number between -4 and 4",
                    ex.here(),
                    arg.unwrap_or("")
                ),
            },
            'r' | 't' => match arg.filter(|a| !a.trim().is_empty()) {
                Some(name) => {
                    let p = Some(resolve(&dir, name.trim()));
                    if letter == 'r' {
                        spec.receive = p;
                    } else {
                        spec.transmit = p;
                    }
                }
                None => log::warn!(
                    "{loc}: {}: No file name was provided for MixMonitor's '{letter}' option",
                    ex.here()
                ),
            },
            'i' => {
                spec.id_var = arg
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(String::from)
            }
            // Beeps and voicemail copies are not done: said, not silently dropped.
            'B' | 'p' | 'P' | 'm' => log::warn!(
                "{loc}: {}: MixMonitor option '{letter}' is not supported by sipbox; ignored",
                ex.here()
            ),
            other => log::debug!("{loc}: MixMonitor option '{other}' ignored"),
        }
    }
    spec.read_volume = volumes[2].or(volumes[0]).unwrap_or(0);
    spec.write_volume = volumes[2].or(volumes[1]).unwrap_or(0);
    if file.is_empty() && spec.receive.is_none() && spec.transmit.is_none() {
        log::warn!(
            "{loc}: {}: MixMonitor requires an argument (filename)",
            ex.here()
        );
        // Asterisk returns -1: the channel hangs up.
        return super::end(super::super::cause::Cause::NORMAL_CLEARING);
    }
    if !file.is_empty() {
        spec.mixed = Some(resolve(&dir, file));
    }
    let shown = spec
        .mixed
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    ex.vars.insert("MIXMONITOR_FILENAME".into(), shown);
    if !command.is_empty() {
        let unescaped = command.replace("^{", "${");
        let mut c = ex.expand_mut(dp, &unescaped);
        if c.len() > MAX_COMMAND {
            let mut end = MAX_COMMAND;
            while !c.is_char_boundary(end) {
                end -= 1;
            }
            c.truncate(end);
        }
        spec.command = Some(c);
    }
    Flow::Cmd(
        Command::MixMonitor(Box::new(spec)),
        State::AwaitDone { answers: false },
    )
}

/// `StopMixMonitor([id])`.
pub(super) fn stop(args: &str) -> Flow {
    Flow::Cmd(
        Command::StopMixMonitor {
            id: args.trim().to_string(),
        },
        State::AwaitDone { answers: false },
    )
}

/// An absolute name as it is, a relative one under the monitor directory.
fn resolve(dir: &std::path::Path, name: &str) -> PathBuf {
    let p = PathBuf::from(name);
    if p.is_absolute() {
        p
    } else {
        dir.join(p)
    }
}

/// A volume argument (-4..=4) as its factor; None when missing or out of range.
fn volume(arg: Option<&str>) -> Option<i32> {
    let x: i32 = arg?.trim().parse().ok()?;
    (-4..=4).contains(&x).then(|| volume_factor(x))
}

/// `ast_app_parse_options`: each letter, with the text of a `(...)` right after it.
fn parse_options(s: &str) -> Vec<(char, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        let mut arg = None;
        if let Some(inner) = rest.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    arg = Some(&inner[..end]);
                    rest = &inner[end + 1..];
                }
                None => {
                    arg = Some(inner);
                    rest = "";
                }
            }
        }
        out.push((c, arg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_with_arguments() {
        assert_eq!(
            parse_options("abr(in.wav)t(/x/out.wav)i(ID)W(-2)"),
            vec![
                ('a', None),
                ('b', None),
                ('r', Some("in.wav")),
                ('t', Some("/x/out.wav")),
                ('i', Some("ID")),
                ('W', Some("-2")),
            ]
        );
        assert_eq!(parse_options("v(3"), vec![('v', Some("3"))]);
        assert_eq!(volume(Some("2")), Some(4));
        assert_eq!(volume(Some("-1")), Some(-2));
        assert_eq!(volume(Some("5")), None);
        assert_eq!(volume(None), None);
        assert_eq!(
            resolve(std::path::Path::new("/s/monitor"), "a/b.wav"),
            PathBuf::from("/s/monitor/a/b.wav")
        );
        assert_eq!(
            resolve(std::path::Path::new("/s/monitor"), "/t/b.wav"),
            PathBuf::from("/t/b.wav")
        );
    }
}
