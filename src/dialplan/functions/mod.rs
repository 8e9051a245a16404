//! The dialplan functions behind `${NAME(args)}` and `Set(NAME(args)=value)`.
//!
//! Reading list: Asterisk `funcs/func_strings.c`, `funcs/func_cut.c`, `funcs/func_math.c`,
//! `funcs/func_rand.c`, `funcs/func_logic.c`, `funcs/func_callerid.c`,
//! `funcs/func_groupcount.c`, `funcs/func_global.c`, `funcs/func_timeout.c`,
//! `funcs/func_channel.c`, `funcs/func_strings.c` (`STRFTIME`), `apps/app_stack.c`
//! (`LOCAL`), `main/app.c` (`ast_app_separate_args`).
//!
//! Families, one file each: [`strings`] (text), [`math`] (numbers, `RAND`, `INC`),
//! [`strftime`] (`STRFTIME` and the broken-down time `SayUnixTime` also uses), [`channel`]
//! (`CALLERID`, `CHANNEL`, `TIMEOUT`, `SIP_HEADER`, `GROUP*`, `DIALPLAN_EXISTS`) and
//! [`variables`] (`GLOBAL`, `LOCAL`, `SHARED`, `ARRAY`, `HASH`), [`astdb`] (`DB`,
//! `DB_EXISTS`, `DB_DELETE`, `DB_KEYS`). A function given bad
//! arguments logs a warning naming the priority and yields an empty string, as Asterisk's
//! functions return -1 (empty) after an error.

pub(crate) mod astdb;
pub(crate) mod cdr;
pub(crate) mod channel;
pub(crate) mod math;
pub(crate) mod message;
pub(crate) mod presence;
pub(crate) mod queue;
pub(crate) mod shell;
pub(crate) mod strftime;
pub(crate) mod strings;
pub(crate) mod variables;

use super::cursor::Execution;
use super::model::Dialplan;

/// What a function sees: the call (mutable, for `INC`, `RAND` state, `LOCAL`) and the
/// dialplan.
pub(crate) struct Ctx<'a> {
    pub ex: &'a mut Execution,
    pub dp: &'a Dialplan,
}

impl Ctx<'_> {
    /// Where the call is, for warnings: `[exten@context:prio]`.
    pub fn here(&self) -> String {
        self.ex.here()
    }

    /// `${name}` as Asterisk's functions read a variable given by name (so `EXTEN:1` and
    /// `CALLERID(num)` work there too).
    pub fn value_of(&mut self, name: &str) -> String {
        let text = format!("${{{}}}", name.trim());
        self.ex.expand_mut(self.dp, &text)
    }

    /// Sets a variable as `Set()` does.
    pub fn set(&mut self, name: &str, value: &str) {
        super::apps::set_variable(self.ex, self.dp, name, value);
    }
}

/// Reads `NAME(args)`; `None` when no such function exists.
pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Option<String> {
    let r = match name {
        "CUT" | "FIELDQTY" | "FIELDNUM" | "STRREPLACE" | "TOLOWER" | "TOUPPER" | "FILTER"
        | "REGEX" | "MD5" | "LISTFILTER" | "REPLACE" | "QUOTE" | "CSV_QUOTE" | "SHA1" => {
            strings::read(cx, name, args)
        }
        "MATH" | "RAND" | "INC" | "DEC" | "MIN" | "MAX" | "ABS" => math::read(cx, name, args),
        "STRFTIME" => strftime::read(cx, args),
        "IFTIME" => strftime::iftime(cx, args),
        "CALLERID" | "CHANNEL" | "TIMEOUT" | "SIP_HEADER" | "GROUP" | "GROUP_COUNT"
        | "GROUP_MATCH_COUNT" | "GROUP_LIST" | "DIALPLAN_EXISTS" | "ENUMLOOKUP" => {
            channel::read(cx, name, args)
        }
        "GLOBAL" | "LOCAL" | "SHARED" | "HASH" | "HASHKEYS" | "ARRAY" => {
            variables::read(cx, name, args)
        }
        "DB" | "DB_EXISTS" | "DB_DELETE" | "DB_KEYS" => astdb::read(cx, name, args),
        "CDR" => cdr::read(cx, args),
        "MAILBOX_EXISTS" => Ok(crate::dialplan::apps::voicemail::mailbox_exists(
            cx.dp, args,
        )),
        "VMCOUNT" => Ok(crate::dialplan::apps::voicemail::vmcount(cx.dp, args)),
        "VM_INFO" => crate::dialplan::apps::voicemail::vm_info(cx.dp, args),
        // CALLERPRES(): the deprecated form of CALLERID(pres) (func_callerid.c).
        "CALLERPRES" => channel::read(cx, "CALLERID", "pres"),
        "DEVICE_STATE" | "EXTENSION_STATE" => presence::read(cx, name, args),
        "MESSAGE" | "MESSAGE_DATA" => message::read(cx, name, args),
        "SHELL" => shell::read(cx, args),
        "CONFBRIDGE_INFO" => super::apps::confbridge_info(cx.ex, args),
        "QUEUE_MEMBER"
        | "QUEUE_MEMBER_COUNT"
        | "QUEUE_WAITING_COUNT"
        | "QUEUE_EXISTS"
        | "QUEUE_MEMBER_LIST"
        | "QUEUE_MEMBER_PENALTY" => queue::read(cx, name, args),
        _ => return None,
    };
    Some(r.unwrap_or_else(|e| {
        log::warn!("{}: {name}({args}): {e}", cx.here());
        String::new()
    }))
}

/// `Set(NAME(args)=value)`; an error text for a warning when it cannot be done.
pub(crate) fn write(cx: &mut Ctx<'_>, name: &str, args: &str, value: &str) -> Result<(), String> {
    match name {
        "CALLERID" | "CHANNEL" | "TIMEOUT" | "GROUP" => channel::write(cx, name, args, value),
        "GLOBAL" | "LOCAL" | "SHARED" | "HASH" | "ARRAY" => variables::write(cx, name, args, value),
        "DB" => astdb::write(cx, args, value),
        "CDR" => cdr::write(cx, args, value),
        "CALLERPRES" => {
            let pres = crate::config::sip_identity::presentation(value)
                .ok_or_else(|| format!("'{value}' is not a presentation"))?;
            channel::write(cx, "CALLERID", "pres", pres)
        }
        "MESSAGE" | "MESSAGE_DATA" => message::write(cx, name, args, value),
        "QUEUE_MEMBER" | "QUEUE_MEMBER_PENALTY" => queue::write(cx, name, args, value),
        _ => Err(format!("{name}() cannot be written (or is unknown)")),
    }
}

/// Splits function or application arguments at commas as `ast_app_separate_args` does:
/// commas inside `( )`, `[ ]` or `"..."` do not split; quotes are removed and `\x` yields
/// `x`. Fields are not trimmed.
pub(crate) fn split_args(s: &str) -> Vec<String> {
    split_on(s, ',')
}

/// [`split_args`] with another separator (`?` and `:` for ExecIf).
pub(crate) fn split_on(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => cur.push(n),
                None => cur.push('\\'),
            },
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => {
                depth += 1;
                cur.push(c);
            }
            ')' | ']' if !quoted => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            c if c == sep && depth == 0 && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Like [`split_on`] but keeps quotes and backslashes (Asterisk's "raw" args, used where
/// the parts are handed on to be parsed again, as ExecIf's applications are). Splits at the
/// first `limit - 1` separators only.
pub(crate) fn split_raw(s: &str, sep: char, limit: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 && !quoted && out.len() + 1 < limit => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Asterisk's `ast_get_encoded_char`: the first character of `s`, with `\n`, `\t`, `\r`,
/// `\xHH`, `\0` and `\\` decoded (the backslash survives when a caller quoted it twice).
pub(crate) fn encoded_char(s: &str) -> Option<char> {
    let mut it = s.chars();
    match it.next()? {
        '\\' => Some(match it.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            '0' => '\0',
            'x' => {
                let hex: String = it.take(2).collect();
                char::from(u8::from_str_radix(&hex, 16).ok()?)
            }
            c => c,
        }),
        c => Some(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_splitting() {
        let cases: &[(&str, &[&str])] = &[
            ("a,b,c", &["a", "b", "c"]),
            ("a,,c", &["a", "", "c"]),
            ("", &[""]),
            ("f(a,b),c", &["f(a,b)", "c"]),
            ("\"a,b\",c", &["a,b", "c"]),
            ("a\\,b,c", &["a,b", "c"]),
            (" a , b ", &[" a ", " b "]),
            ("((,", &["((,"]),
            ("))),x", &[")))", "x"]),
            ("trailing\\", &["trailing\\"]),
        ];
        for (s, want) in cases {
            assert_eq!(split_args(s), *want, "{s:?}");
        }
        assert_eq!(split_raw("a?b(c:d):e", ':', 2), ["a?b(c:d)", "e"]);
        assert_eq!(split_raw("x:y:z", ':', 2), ["x", "y:z"]);
        assert_eq!(split_raw("\"a:b\":c", ':', 9), ["\"a:b\"", "c"]);
    }

    #[test]
    fn encoded_characters() {
        for (s, want) in [
            ("-", Some('-')),
            ("\\t", Some('\t')),
            ("\\x41", Some('A')),
            ("\\xZZ", None),
            ("\\", None),
            ("", None),
            ("ab", Some('a')),
        ] {
            assert_eq!(encoded_char(s), want, "{s:?}");
        }
    }
}
