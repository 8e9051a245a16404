//! Comment removal for the Asterisk config dialect, one line at a time, as the scan in
//! `config_text_file_load()` of Asterisk's `main/config.c` does it:
//!
//! - `\;` is a literal semicolon (the backslash is dropped);
//! - `;--` opens a block comment **only when the next character is not a third `-`**, so the
//!   divider lines `;-----` and `;--- text ---` of FreePBX, Issabel and the Asterisk samples
//!   are ordinary line comments;
//! - inside a block, `;--` opens a nested block (at most [`MAX_NESTED`] deep) and `--;` closes
//!   one; other text, `;` included, is skipped;
//! - outside a block, any other `;` ends the line. A `--;` there is such a `;` (Asterisk would
//!   count the nesting below zero and silently drop the rest of the file; we do not copy that).
//!
//! The state spans lines but not files: an `#include`d file starts outside any block, as in
//! Asterisk, where the nesting counter is local to the file being read.

use super::raw::Loc;
use std::borrow::Cow;

/// Deepest block-comment nesting followed (Asterisk's `MAX_NESTED_COMMENTS`).
pub const MAX_NESTED: usize = 128;

/// The open block comments of one file: where each was opened, outermost first.
#[derive(Debug, Default)]
pub struct Blocks {
    open: Vec<Loc>,
}

impl Blocks {
    /// Where the outermost still-open block comment started, if any.
    pub fn unterminated(&self) -> Option<&Loc> {
        self.open.first()
    }

    /// `line` without its comments; `\;` becomes `;`. Borrowed when nothing but a trailing
    /// comment is removed (most lines): no copy.
    pub fn strip<'a>(&mut self, line: &'a str, loc: &Loc) -> Cow<'a, str> {
        if self.open.is_empty() {
            match line.bytes().position(|b| b == b';' || b == b'\\') {
                None => return Cow::Borrowed(line),
                Some(i) if line.as_bytes()[i] == b';' && opener(&line[i..]).is_none() => {
                    return Cow::Borrowed(&line[..i])
                }
                Some(_) => {}
            }
        }
        Cow::Owned(self.strip_slow(line, loc))
    }

    /// Character by character: escapes and block comments.
    fn strip_slow(&mut self, line: &str, loc: &Loc) -> String {
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("\\;") {
                if self.open.is_empty() {
                    out.push(';');
                }
                rest = r;
            } else if let Some(r) = opener(rest) {
                if self.open.len() < MAX_NESTED {
                    self.open.push(loc.clone());
                }
                rest = r;
            } else if !self.open.is_empty() {
                if let Some(r) = rest.strip_prefix("--;") {
                    self.open.pop();
                    rest = r;
                } else {
                    rest = skip_char(rest);
                }
            } else if rest.starts_with(';') {
                return out;
            } else {
                let next = skip_char(rest);
                out.push_str(&rest[..rest.len() - next.len()]);
                rest = next;
            }
        }
        out
    }
}

/// The text after a block opener `;--` that is not followed by a third `-`.
fn opener(s: &str) -> Option<&str> {
    let r = s.strip_prefix(";--")?;
    (!r.starts_with('-')).then_some(r)
}

fn skip_char(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Strips each line in turn; returns the kept texts and whether a block is still open.
    fn run(lines: &[&str]) -> (Vec<String>, Option<u32>) {
        let mut b = Blocks::default();
        let out = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let loc = Loc {
                    file: Arc::from("t"),
                    line: i as u32 + 1,
                };
                b.strip(l, &loc).into_owned()
            })
            .collect();
        (out, b.unterminated().map(|l| l.line))
    }

    #[test]
    fn table() {
        // (lines, kept text per line, line of the block still open at the end)
        let cases: &[(&[&str], &[&str], Option<u32>)] = &[
            (&["a=1 ; c"], &["a=1 "], None),
            (&[";---------------"], &[""], None),
            (&[";--- divider ---", "x=1"], &["", "x=1"], None),
            (&[";-- open", "x=1", "--; y=2"], &["", "", " y=2"], None),
            (&["a;--b--;c"], &["ac"], None),
            (&[";-- outer ;-- inner --; still --;z"], &["z"], None),
            (
                &[";-- a", ";-- b", "--;", "x", "--;y"],
                &["", "", "", "", "y"],
                None,
            ),
            (&[";-- never closed", "x=1"], &["", ""], Some(1)),
            (&["v=a\\;b;c"], &["v=a;b"], None),
            (&["x=a--;b"], &["x=a--"], None),
            (&[";--;"], &[""], Some(1)),
            (&[";-- -- ; --;k"], &["k"], None),
            (&["é=ü ;x"], &["é=ü "], None),
        ];
        for (lines, kept, open) in cases {
            let (out, still) = run(lines);
            assert_eq!(out, *kept, "{lines:?}");
            assert_eq!(still, *open, "{lines:?}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = ";--".repeat(MAX_NESTED + 10);
        let closes = "--;".repeat(MAX_NESTED);
        let (out, open) = run(&[&deep, &closes, "x=1"]);
        assert_eq!(out[2], "x=1");
        assert_eq!(open, None);
    }
}
