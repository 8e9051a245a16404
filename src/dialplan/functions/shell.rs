//! `SHELL(command)`: the command's standard output, as is (trailing newline included), at
//! most [`SHELL_MAX`](crate::flow::SHELL_MAX) bytes — Asterisk's `funcs/func_shell.c`. The command runs off the loop
//! like System(): the first substitution that meets it records the command and reads empty;
//! the runner then waits for the output and substitutes the same priority again, where the
//! function reads the result ([`super::super::cursor::Execution`]'s `shell` results). Other
//! functions in that priority's arguments are therefore evaluated twice.

use super::Ctx;

/// SHELL() calls one priority may wait for; past it a SHELL() reads empty.
pub(crate) const MAX_PER_PRIORITY: usize = 8;

pub(crate) fn read(cx: &mut Ctx<'_>, args: &str) -> Result<String, String> {
    if args.trim().is_empty() {
        return Err("missing argument, e.g. Set(foo=${SHELL(echo bar)})".into());
    }
    let shell = &mut cx.ex.shell;
    if let Some((_, out)) = shell.done.iter().find(|(c, _)| c == args) {
        return Ok(out.clone());
    }
    if shell.done.len() >= MAX_PER_PRIORITY {
        return Err(format!("more than {MAX_PER_PRIORITY} in one priority"));
    }
    if shell.wanted.is_none() {
        shell.wanted = Some(args.to_string());
    }
    Ok(String::new())
}
