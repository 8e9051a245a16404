//! The Asterisk config dialect, read into [`Section`]s of ordered [`Entry`]s.
//!
//! Before changing this file, read Asterisk's `main/config.c` (`process_text_line`) and the
//! "Asterisk Configuration Files" page of the Asterisk wiki (templates, `(+)`, `#include`).
//!
//! What is understood (as in Asterisk's `main/config.c`):
//!
//! - `[section]`; a repeated name yields a second, separate [`Section`] (callers merge);
//! - `key = value` and `key => value` (the latter sets [`Entry::arrow`]); duplicate keys are
//!   kept in order;
//! - `;` starts a comment, `\;` is a literal semicolon, `;-- ... --;` is a block comment that
//!   may span lines; blank lines are skipped, keys and values are trimmed;
//! - templates: `[tmpl](!)` is never emitted itself; `[1001](tmpl1,tmpl2)` starts with copies of
//!   the entries of `tmpl1` then `tmpl2` (each keeping its own [`Loc`]); `[t2](!,tmpl)` is a
//!   template inheriting a template; a plain earlier section may be inherited from as well;
//!   inheritance copies the entries the parent has *at that point*, as Asterisk does;
//! - `[name](+)` appends the following entries to the most recent section or template `name`;
//! - `#include "file"`, `#include <file>`, `#include file`: relative to the config directory,
//!   at most [`MAX_INCLUDE_DEPTH`] deep, loops refused; entries before the first `[section]` of
//!   the included file continue the current section. `#tryinclude` is the same but a missing
//!   file is skipped. `#exec` is refused (sipbox runs no programs at start-up).
//!
//! Why not the `ini` crate: it has no notion of templates or `(+)`, it folds duplicate keys
//! (we need every `allow=`, `permit=` and `exten =>` in order), it cannot report the line of
//! each entry (our errors and warnings are `file:line`), it does not know `=>`, `\;` or
//! `#include`, and it would accept lines Asterisk refuses. Bending it would cost more code than
//! this reader, which is a single pass over lines with no allocation beyond the result.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::raw::{ConfigError, Entry, Loc, Section};

/// How deep `#include` may nest before we assume a mistake.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// Largest config file accepted, so a wrong path (a log, a device) cannot eat the memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads `dir/name` and everything it includes.
pub fn read_file(dir: &Path, name: &str) -> Result<Vec<Section>, ConfigError> {
    let mut reader = Reader::new(Some(dir));
    let path = dir.join(name);
    let text = load(&path).map_err(|e| ConfigError {
        loc: None,
        msg: format!("{}: cannot read: {e}", path.display()),
    })?;
    reader.stack.push(canonical(&path));
    reader.parse(&path.display().to_string(), &text, 0)?;
    reader.finish()
}

/// Reads config text already in memory. `file_label` names it in errors; `dir` is where
/// `#include` looks (with `None`, an `#include` is an error).
pub fn read_str(
    file_label: &str,
    text: &str,
    dir: Option<&Path>,
) -> Result<Vec<Section>, ConfigError> {
    let mut reader = Reader::new(dir);
    reader.parse(file_label, text, 0)?;
    reader.finish()
}

// The config reader is the library's one file access (the files and their `#include`s, read
// once at start): clippy.toml's sans-IO rule allows it here.
#[allow(clippy::disallowed_methods)]
fn load(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(std::io::Error::other("file too large"));
    }
    let bytes = std::fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

// The config reader names `#include`d files by their canonical path (loop detection).
#[allow(clippy::disallowed_methods)]
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A section under construction.
struct Cat {
    section: Section,
    template: bool,
}

struct Reader {
    dir: Option<PathBuf>,
    cats: Vec<Cat>,
    /// Index into `cats` of the section entries go to.
    current: Option<usize>,
    /// Canonical paths of the files being read, outermost first (the loop guard).
    stack: Vec<PathBuf>,
}

impl Reader {
    fn new(dir: Option<&Path>) -> Self {
        Reader {
            dir: dir.map(Path::to_path_buf),
            cats: Vec::new(),
            current: None,
            stack: Vec::new(),
        }
    }

    fn finish(self) -> Result<Vec<Section>, ConfigError> {
        Ok(self
            .cats
            .into_iter()
            .filter(|c| !c.template)
            .map(|c| c.section)
            .collect())
    }

    fn parse(&mut self, label: &str, text: &str, depth: usize) -> Result<(), ConfigError> {
        let file: Arc<str> = Arc::from(label);
        let mut comment: Option<Loc> = None;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw_line) in text.lines().enumerate() {
            let loc = Loc {
                file: file.clone(),
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            };
            let line = strip_comments(raw_line, &mut comment, &loc);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(directive) = line.strip_prefix('#') {
                self.directive(directive, &loc, depth)?;
            } else if let Some(rest) = line.strip_prefix('[') {
                self.header(rest, &loc)?;
            } else {
                self.entry(line, &loc)?;
            }
        }
        match comment {
            Some(start) => Err(ConfigError::at(&start, "unterminated ';--' block comment")),
            None => Ok(()),
        }
    }

    fn header(&mut self, rest: &str, loc: &Loc) -> Result<(), ConfigError> {
        let Some(close) = rest.find(']') else {
            return Err(ConfigError::at(loc, "unterminated '[' (missing ']')"));
        };
        let name = rest[..close].trim();
        if name.is_empty() {
            return Err(ConfigError::at(loc, "empty section name '[]'"));
        }
        let after = rest[close + 1..].trim();
        let opts = if after.is_empty() {
            ""
        } else if let Some(inner) = after.strip_prefix('(').and_then(|a| a.strip_suffix(')')) {
            inner
        } else {
            return Err(ConfigError::at(
                loc,
                format!("unexpected text '{after}' after '[{name}]'"),
            ));
        };

        let mut template = false;
        let mut append = false;
        let mut parents = Vec::new();
        for opt in opts.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match opt {
                "!" => template = true,
                "+" => append = true,
                parent => parents.push(parent),
            }
        }

        if append {
            if template || !parents.is_empty() {
                return Err(ConfigError::at(
                    loc,
                    format!("'(+)' cannot be combined with other options in '[{name}]'"),
                ));
            }
            let Some(idx) = self.find(name) else {
                return Err(ConfigError::at(
                    loc,
                    format!("'[{name}](+)' appends to a section that was not defined before"),
                ));
            };
            self.current = Some(idx);
            return Ok(());
        }

        let mut entries = Vec::new();
        for parent in parents {
            let Some(idx) = self.find(parent) else {
                return Err(ConfigError::at(
                    loc,
                    format!("unknown template '{parent}' in '[{name}]'"),
                ));
            };
            entries.extend(self.cats[idx].section.entries.iter().cloned());
        }
        self.cats.push(Cat {
            section: Section {
                name: name.to_string(),
                entries,
                loc: loc.clone(),
            },
            template,
        });
        self.current = Some(self.cats.len() - 1);
        Ok(())
    }

    /// The most recent section or template called `name`.
    fn find(&self, name: &str) -> Option<usize> {
        self.cats.iter().rposition(|c| c.section.name == name)
    }

    fn entry(&mut self, line: &str, loc: &Loc) -> Result<(), ConfigError> {
        let Some(eq) = line.find('=') else {
            return Err(ConfigError::at(
                loc,
                format!("expected 'key = value', found '{line}'"),
            ));
        };
        let key = line[..eq].trim();
        let (arrow, value) = match line[eq + 1..].strip_prefix('>') {
            Some(v) => (true, v),
            None => (false, &line[eq + 1..]),
        };
        if key.is_empty() {
            return Err(ConfigError::at(loc, "missing key before '='"));
        }
        let Some(idx) = self.current else {
            return Err(ConfigError::at(
                loc,
                format!("'{key}' is outside any [section]"),
            ));
        };
        self.cats[idx].section.entries.push(Entry {
            key: key.to_string(),
            value: value.trim().to_string(),
            arrow,
            loc: loc.clone(),
        });
        Ok(())
    }

    fn directive(&mut self, text: &str, loc: &Loc, depth: usize) -> Result<(), ConfigError> {
        let text = text.trim();
        let word_end = text
            .find(|c: char| c.is_ascii_whitespace() || c == '"' || c == '<')
            .unwrap_or(text.len());
        let (word, arg) = text.split_at(word_end);
        let optional = match word.to_ascii_lowercase().as_str() {
            "include" => false,
            "tryinclude" => true,
            "exec" | "tryexec" => {
                return Err(ConfigError::at(
                    loc,
                    format!("#{word} is not supported: sipbox runs no programs to read config"),
                ))
            }
            _ => return Err(ConfigError::at(loc, format!("unknown directive '#{word}'"))),
        };
        let arg = arg.trim();
        let name = strip_quotes(arg);
        if name.is_empty() {
            return Err(ConfigError::at(loc, format!("#{word} needs a file name")));
        }
        let Some(dir) = self.dir.clone() else {
            return Err(ConfigError::at(
                loc,
                format!("#{word} '{name}' is not possible in the built-in config"),
            ));
        };
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(ConfigError::at(
                loc,
                format!("#{word} '{name}' nests deeper than {MAX_INCLUDE_DEPTH} files"),
            ));
        }
        let path = dir.join(name);
        let text = match load(&path) {
            Ok(text) => text,
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(ConfigError::at(
                    loc,
                    format!("cannot read included file '{}': {e}", path.display()),
                ))
            }
        };
        let canon = canonical(&path);
        if self.stack.contains(&canon) {
            return Err(ConfigError::at(
                loc,
                format!("#{word} '{name}' would include itself (include loop)"),
            ));
        }
        self.stack.push(canon);
        let result = self.parse(&path.display().to_string(), &text, depth + 1);
        self.stack.pop();
        result
    }
}

fn strip_quotes(arg: &str) -> &str {
    let inner = arg
        .strip_prefix('"')
        .and_then(|a| a.strip_suffix('"'))
        .or_else(|| arg.strip_prefix('<').and_then(|a| a.strip_suffix('>')));
    inner.unwrap_or(arg).trim()
}

/// Removes `;` comments and `;-- --;` block comments, turns `\;` into `;`. `block` is the
/// start of a block comment still open from an earlier line.
fn strip_comments(line: &str, block: &mut Option<Loc>, loc: &Loc) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        if block.is_some() {
            match rest.find("--;") {
                Some(end) => {
                    *block = None;
                    rest = &rest[end + 3..];
                }
                None => return out,
            }
        } else if let Some(r) = rest.strip_prefix("\\;") {
            out.push(';');
            rest = r;
        } else if let Some(r) = rest.strip_prefix(";--") {
            *block = Some(loc.clone());
            rest = r;
        } else if rest.starts_with(';') {
            return out;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

/// Names of sections, for tests and diagnostics.
pub fn section_names(sections: &[Section]) -> Vec<&str> {
    sections.iter().map(|s| s.name.as_str()).collect()
}

/// Names that occur more than once, in first-seen order (extensions.conf merges them;
/// sip.conf callers may want to warn).
pub fn repeated_names(sections: &[Section]) -> Vec<&str> {
    let mut seen = HashSet::new();
    let mut rep = Vec::new();
    for s in sections {
        if !seen.insert(s.name.as_str()) && !rep.contains(&s.name.as_str()) {
            rep.push(s.name.as_str());
        }
    }
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Section> {
        read_str("t.conf", text, None).expect("parses")
    }

    fn err(text: &str) -> String {
        read_str("t.conf", text, None)
            .expect_err("must fail")
            .to_string()
    }

    fn kv(s: &Section) -> Vec<(String, String, bool, u32)> {
        s.entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone(), e.arrow, e.loc.line))
            .collect()
    }

    #[test]
    fn sections_entries_arrows_comments() {
        let s = read(
            "; top comment\n\n[general]\n  bindport = 5060 ; trailing\nallow=ulaw\nallow=alaw\n\
             [internal]\nexten => 600,1,Answer()\nsame=>n,Echo() ;x\n",
        );
        assert_eq!(section_names(&s), ["general", "internal"]);
        assert_eq!(
            kv(&s[0]),
            [
                ("bindport".into(), "5060".into(), false, 4),
                ("allow".into(), "ulaw".into(), false, 5),
                ("allow".into(), "alaw".into(), false, 6),
            ]
        );
        assert_eq!(
            kv(&s[1]),
            [
                ("exten".into(), "600,1,Answer()".into(), true, 8),
                ("same".into(), "n,Echo()".into(), true, 9),
            ]
        );
        assert_eq!(s[1].loc.line, 7);
    }

    #[test]
    fn escaped_semicolon_and_block_comment() {
        let s = read("[a]\nx = one\\;two ; gone\n;-- a\nb = c\n--; y = 2\nz=1;--c--;\n");
        assert_eq!(
            kv(&s[0]),
            [
                ("x".into(), "one;two".into(), false, 2),
                ("y".into(), "2".into(), false, 5),
                ("z".into(), "1".into(), false, 6),
            ]
        );
        assert_eq!(
            err("[a]\n;-- open\nx=1\n"),
            "t.conf:2: unterminated ';--' block comment"
        );
    }

    #[test]
    fn crlf_bom_and_value_with_equals() {
        let s = read("\u{feff}[a]\r\nx = a=b\r\n");
        assert_eq!(kv(&s[0]), [("x".into(), "a=b".into(), false, 2)]);
    }

    #[test]
    fn templates_in_order_and_nested() {
        let s = read("[t1](!)\na=1\n[t2](!,t1)\nb=2\n[t3](!)\nc=3\n[u](t2,t3)\nd=4\n[v](t3, t1)\n");
        assert_eq!(section_names(&s), ["u", "v"]);
        let lines: Vec<_> = kv(&s[0]).into_iter().map(|e| (e.0, e.3)).collect();
        assert_eq!(
            lines,
            [
                ("a".into(), 2),
                ("b".into(), 4),
                ("c".into(), 6),
                ("d".into(), 8)
            ]
        );
        let keys: Vec<_> = s[1].entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["c", "a"]);
    }

    #[test]
    fn append_and_duplicates() {
        let s = read("[a]\nx=1\n[b]\ny=1\n[a](+)\nx=2\n[b]\nz=1\n");
        assert_eq!(section_names(&s), ["a", "b", "b"]);
        assert_eq!(
            s[0].all("x").map(|e| e.value.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(repeated_names(&s), ["b"]);
        assert_eq!(
            err("[a](+)\n"),
            "t.conf:1: '[a](+)' appends to a section that was not defined before"
        );
    }

    #[test]
    fn errors_have_file_and_line() {
        assert_eq!(err("x=1\n"), "t.conf:1: 'x' is outside any [section]");
        assert_eq!(
            err("[a]\n\nnonsense\n"),
            "t.conf:3: expected 'key = value', found 'nonsense'"
        );
        assert_eq!(err("[a]\n = 1\n"), "t.conf:2: missing key before '='");
        assert_eq!(err("[a\n"), "t.conf:1: unterminated '[' (missing ']')");
        assert_eq!(err("[]\n"), "t.conf:1: empty section name '[]'");
        assert_eq!(
            err("[a](nope)\n"),
            "t.conf:1: unknown template 'nope' in '[a]'"
        );
        assert_eq!(
            err("[a] junk\n"),
            "t.conf:1: unexpected text 'junk' after '[a]'"
        );
        assert_eq!(
            err("[a]\n#exec /bin/true\n"),
            "t.conf:2: #exec is not supported: sipbox runs no programs to read config"
        );
        assert_eq!(
            err("#include \"x.conf\"\n"),
            "t.conf:1: #include 'x.conf' is not possible in the built-in config"
        );
        assert_eq!(
            err("#frobnicate\n"),
            "t.conf:1: unknown directive '#frobnicate'"
        );
    }

    #[test]
    fn no_panic_on_odd_bytes() {
        for text in [
            "[",
            "]",
            "[(",
            "[a](",
            "[a]()",
            "=",
            "=>",
            "[a]\n=>",
            "\\",
            "\\;",
            ";--",
            "#",
            "#include",
            "[a](!,+)",
            "[\u{e9}]\n\u{e9}=\u{e9}",
            "[a]\nk=>>v",
        ] {
            let _ = read_str("t.conf", text, None);
        }
    }
}
