//! The Asterisk config dialect, read into [`Section`]s of ordered [`Entry`]s.
//!
//! Follows Asterisk's `main/config.c` (`config_text_file_load`, `process_text_line`,
//! `ast_category_get`) and the "Asterisk Configuration Files" page of the Asterisk wiki. What
//! Asterisk refuses (the file is invalid and the module reading it does not load) is a
//! [`ConfigError`]; what Asterisk only logs and skips is a `file:line` warning here too.
//!
//! - `[section]`; a repeated name yields a second, separate [`Section`] (callers merge). Text
//!   after `]` that is not `(options)` is ignored with a warning (Asterisk ignores it);
//!   a missing `]` or `)` is an error, as in Asterisk;
//! - `key = value` and `key => value` (the latter sets [`Entry::arrow`]); duplicate keys are
//!   kept in order; `key += more` appends to the last `key` of the section (Asterisk 1.8+);
//!   a line without `=` or without a key is skipped with a warning, as Asterisk does;
//! - comments as in [`super::comments`]: `;`, `\;`, and `;-- --;` blocks (`;---` is a plain
//!   comment); an unterminated block is a warning (Asterisk warns and reads on, so the rest
//!   of that file is comment);
//! - templates: `[tmpl](!)` is never emitted itself; `[1001](tmpl1,tmpl2)` starts with copies of
//!   the entries of `tmpl1` then `tmpl2` (each keeping its own [`Loc`]); `[t2](!,tmpl)` is a
//!   template inheriting a template; a plain earlier section may be inherited from as well;
//!   inheritance copies the entries the parent has *at that point*, as Asterisk does. Names are
//!   looked up case-insensitively and the first section of that name wins, as
//!   `ast_category_get` does; an unknown parent is an error (Asterisk refuses the file);
//! - `[name](+)` appends the following entries to the first earlier section `name` (an error
//!   when there is none, as in Asterisk);
//! - `#include "file"`, `#include <file>`, `#include file`: relative to the config directory,
//!   `*`/`?` wildcards in the file name as Asterisk's glob, at most [`MAX_INCLUDE_DEPTH`] deep,
//!   loops refused; entries before the first `[section]` of the included file continue the
//!   current section. A missing file is an error (Asterisk refuses); `#tryinclude` skips it.
//!   `#exec` is ignored with a warning (sipbox runs no programs at start-up; Asterisk also
//!   ignores it unless `execincludes` is set). Any other `#` line is a warning, as in Asterisk.
//!
//! Why not the `ini` crate: it has no notion of templates or `(+)`, it folds duplicate keys
//! (we need every `allow=`, `permit=` and `exten =>` in order), it cannot report the line of
//! each entry (our errors and warnings are `file:line`), it does not know `=>`, `\;` or
//! `#include`, and it would refuse lines Asterisk only warns about. Bending it would cost more
//! code than this reader, which is a single pass over lines.

use std::borrow::Cow;
use std::collections::hash_map::{self, RandomState};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::comments::Blocks;
pub use super::files::MAX_FILE_BYTES;
use super::files::{canonical, glob, load};
use super::nocase::{hash_of, PassThroughState};
use super::raw::{ConfigError, Entry, Loc, Section, Text};
use super::scan;

/// How many templates found lately are looked at before the name index.
const RECENT_PARENTS: usize = 4;

/// Lines of its own a section inheriting templates has room for before its entries grow.
const OWN_LINES: usize = 8;

/// How deep `#include` may nest before we assume a mistake.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// Reads `dir/name` and everything it includes; the reader's warnings are dropped (tests and
/// tools that only want the sections). Start-up uses [`read_file_with`].
pub fn read_file(dir: &Path, name: &str) -> Result<Vec<Section>, ConfigError> {
    read_file_with(dir, name, &mut Vec::new())
}

/// Reads `dir/name` and everything it includes, adding `file:line` warnings to `warnings`.
pub fn read_file_with(
    dir: &Path,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Section>, ConfigError> {
    let mut reader = Reader::new(Some(dir));
    let path = dir.join(name);
    let text = load(&path).map_err(|e| ConfigError {
        loc: None,
        msg: format!("{}: cannot read: {e}", path.display()),
    })?;
    reader.stack.push(canonical(&path));
    reader.parse(&path.display().to_string(), &Arc::from(text), 0)?;
    Ok(reader.finish(warnings))
}

/// Reads config text already in memory. `file_label` names it in errors; `dir` is where
/// `#include` looks (with `None`, an `#include` is an error). Warnings are dropped.
pub fn read_str(
    file_label: &str,
    text: &str,
    dir: Option<&Path>,
) -> Result<Vec<Section>, ConfigError> {
    read_str_with(file_label, text, dir, &mut Vec::new())
}

/// [`read_str`], adding the reader's `file:line` warnings to `warnings`.
pub fn read_str_with(
    file_label: &str,
    text: &str,
    dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Section>, ConfigError> {
    let mut reader = Reader::new(dir);
    reader.parse(file_label, &Arc::from(text), 0)?;
    Ok(reader.finish(warnings))
}

/// A section under construction.
struct Cat {
    section: Section,
    template: bool,
}

/// Where the next `key = value` goes.
#[derive(Clone, Copy)]
enum Target {
    /// No `[section]` yet: an entry is an error, as in Asterisk.
    Nowhere,
    /// After a header we could not use (`[]`): entries are dropped (warned once, at the header).
    Skip,
    /// Index into `cats`.
    Cat(usize),
}

struct Reader {
    dir: Option<PathBuf>,
    cats: Vec<Cat>,
    /// Keyed hash of the name without case → the sections of names with that hash in file
    /// order (the first, then any others): templates and `(+)` find their section in
    /// constant time, so a sip.conf of 10 000 entries inheriting templates is read in linear
    /// time. No copy of the names (nothing freed in hash order at the end, which would leave
    /// blocks in use all over the heap; see `aside.rs`).
    by_name: HashMap<u64, (usize, Vec<usize>), PassThroughState>,
    hasher: RandomState,
    /// Templates found lately (`find_parent`).
    parents: Vec<usize>,
    /// The templates of the header being read (a buffer kept between headers).
    found: Vec<usize>,
    target: Target,
    /// Canonical paths of the files being read, outermost first (the loop guard).
    stack: Vec<PathBuf>,
    warnings: Vec<String>,
}

impl Reader {
    fn new(dir: Option<&Path>) -> Self {
        Reader {
            dir: dir.map(Path::to_path_buf),
            cats: Vec::new(),
            by_name: HashMap::default(),
            hasher: RandomState::new(),
            parents: Vec::new(),
            found: Vec::new(),
            target: Target::Nowhere,
            stack: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn warn(&mut self, loc: &Loc, msg: impl std::fmt::Display) {
        self.warnings.push(format!("{loc}: {msg}"));
    }

    fn finish(self, warnings: &mut Vec<String>) -> Vec<Section> {
        warnings.extend(self.warnings);
        self.cats
            .into_iter()
            .filter(|c| !c.template)
            .map(|c| c.section)
            .collect()
    }

    /// Reads the lines of `src`; entries are spans of it (`text.rs`).
    fn parse(&mut self, label: &str, src: &Arc<str>, depth: usize) -> Result<(), ConfigError> {
        let file: Arc<str> = Arc::from(label);
        let mut blocks = Blocks::default();
        let text = src.strip_prefix('\u{feff}').unwrap_or(src);
        for (i, raw_line) in scan::lines(text).enumerate() {
            let loc = Loc {
                file: file.clone(),
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            };
            let stripped = blocks.strip(raw_line, &loc);
            let line = scan::trim(&stripped);
            if line.is_empty() {
                continue;
            }
            if let Some(directive) = line.strip_prefix('#') {
                self.directive(directive, &loc, depth)?;
            } else if let Some(rest) = line.strip_prefix('[') {
                self.header(rest, &loc)?;
            } else {
                // A line the comment stripping rewrote (`\;`) is not in `src`: its key and
                // value share a copy of their own.
                match &stripped {
                    Cow::Borrowed(_) => self.entry(src, line, loc)?,
                    Cow::Owned(_) => {
                        let own: Arc<str> = Arc::from(line);
                        self.entry(&own, &own, loc)?
                    }
                }
            }
        }
        if let Some(start) = blocks.unterminated().cloned() {
            self.warn(
                &start,
                "';--' block comment never closed with '--;': the rest of the file is comment",
            );
        }
        Ok(())
    }

    fn header(&mut self, rest: &str, loc: &Loc) -> Result<(), ConfigError> {
        let Some(close) = scan::find(rest, b']') else {
            return Err(ConfigError::at(loc, "unterminated '[' (missing ']')"));
        };
        let name = scan::trim(&rest[..close]);
        let raw_after = &rest[close + 1..];
        let after = raw_after.trim();
        let spaced = !raw_after.starts_with('(');
        let opts = match after.strip_prefix('(') {
            None => {
                if !after.is_empty() {
                    self.warn(loc, format!("text '{after}' after '[{name}]' ignored"));
                }
                ""
            }
            Some(inner) => match scan::find(inner, b')') {
                // Asterisk reads options only right after `]`: a missing `)` there refuses
                // the file, after a space the whole text is ignored.
                None if spaced => {
                    self.warn(loc, format!("text '{after}' after '[{name}]' ignored"));
                    ""
                }
                None => {
                    return Err(ConfigError::at(
                        loc,
                        format!("missing ')' after the options of '[{name}]'"),
                    ))
                }
                Some(end) => {
                    if spaced {
                        // With a space Asterisk makes a plain section of a would-be
                        // template; we apply the options and say that Asterisk would not.
                        self.warn(
                            loc,
                            format!(
                                "space before '(' in '[{name}] (...)': Asterisk ignores \
                                 these options; sipbox applies them"
                            ),
                        );
                    }
                    let tail = inner[end + 1..].trim();
                    if !tail.is_empty() {
                        self.warn(loc, format!("text '{tail}' after '[{name}](...)' ignored"));
                    }
                    &inner[..end]
                }
            },
        };
        if name.is_empty() {
            self.warn(loc, "empty section name '[]': its lines are ignored");
            self.target = Target::Skip;
            return Ok(());
        }

        let mut template = false;
        let mut append = false;
        // The templates in order, in a buffer kept from header to header (no allocation
        // per section).
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        for opt in opts.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if opt == "!" {
                template = true;
            } else if opt.starts_with('+') {
                append = true;
            } else {
                let Some(idx) = self.find_parent(opt) else {
                    return Err(ConfigError::at(
                        loc,
                        format!("unknown template '{opt}' in '[{name}]'"),
                    ));
                };
                found.push(idx);
            }
        }
        // Room for the inherited lines and a few of its own from the start: the entries
        // are not reallocated as the section's lines come.
        let lines: usize = found
            .iter()
            .map(|&i| self.cats[i].section.entries.len())
            .sum();
        let mut inherited = Vec::with_capacity(lines + OWN_LINES);
        for &idx in &found {
            inherited.extend(self.cats[idx].section.entries.iter().cloned());
        }
        self.found = found;

        if append {
            let Some(idx) = self.find(name, false).or_else(|| self.find(name, true)) else {
                return Err(ConfigError::at(
                    loc,
                    format!("'[{name}](+)' appends to a section that was not defined before"),
                ));
            };
            let cat = &mut self.cats[idx];
            cat.template |= template;
            cat.section.entries.extend(inherited);
            self.target = Target::Cat(idx);
            return Ok(());
        }

        let idx = self.cats.len();
        self.cats.push(Cat {
            section: Section {
                name: name.to_string(),
                entries: inherited,
                loc: loc.clone(),
            },
            template,
        });
        match self.by_name.entry(hash_of(&self.hasher, name)) {
            hash_map::Entry::Occupied(mut o) => o.get_mut().1.push(idx),
            hash_map::Entry::Vacant(v) => {
                v.insert((idx, Vec::new()));
            }
        }
        self.target = Target::Cat(idx);
        Ok(())
    }

    /// [`Reader::find`] of a template (templates counting), the last few found looked at
    /// first: the users of a template come in runs. The first section of a name stays the
    /// first, so a section found once is the answer for that name from then on.
    fn find_parent(&mut self, name: &str) -> Option<usize> {
        let cats = &self.cats;
        if let Some(&i) = self
            .parents
            .iter()
            .find(|&&i| cats[i].section.name.eq_ignore_ascii_case(name))
        {
            return Some(i);
        }
        let found = self.find(name, true)?;
        if self.parents.len() == RECENT_PARENTS {
            self.parents.remove(0);
        }
        self.parents.push(found);
        Some(found)
    }

    /// The first section called `name` (case-insensitive, as Asterisk's `ast_category_get`);
    /// templates count only when `templates`.
    fn find(&self, name: &str, templates: bool) -> Option<usize> {
        let (first, rest) = self.by_name.get(&hash_of(&self.hasher, name))?;
        std::iter::once(first).chain(rest).copied().find(|&i| {
            let c = &self.cats[i];
            (templates || !c.template) && c.section.name.eq_ignore_ascii_case(name)
        })
    }

    /// One `key = value` line: `line` is a part of `src`, or `src` is a copy of it.
    fn entry(&mut self, src: &Arc<str>, line: &str, loc: Loc) -> Result<(), ConfigError> {
        let idx = match self.target {
            Target::Nowhere => {
                let what = line.split('=').next().unwrap_or(line).trim();
                return Err(ConfigError::at(
                    &loc,
                    format!("'{what}' is outside any [section]"),
                ));
            }
            Target::Skip => return Ok(()),
            Target::Cat(idx) => idx,
        };
        let Some(eq) = scan::find(line, b'=') else {
            self.warn(&loc, format!("no '=' in '{line}': line ignored"));
            return Ok(());
        };
        let mut key = scan::trim(&line[..eq]);
        let (arrow, value) = match line[eq + 1..].strip_prefix('>') {
            Some(v) => (true, v),
            None => (false, &line[eq + 1..]),
        };
        let plus = !arrow && key.ends_with('+');
        if plus {
            key = key[..key.len() - 1].trim_end();
        }
        if key.is_empty() {
            self.warn(
                &loc,
                format!("no option name before '=' in '{line}': line ignored"),
            );
            return Ok(());
        }
        let entries = &mut self.cats[idx].section.entries;
        if plus {
            // `key += more`: Asterisk appends the raw text to the last value of that key.
            if let Some(last) = entries.iter_mut().rev().find(|e| e.key == key) {
                last.value = Text::from(format!("{}{}", last.value, value).trim());
                return Ok(());
            }
        }
        entries.push(Entry {
            key: Text::span(src, key),
            value: Text::span(src, scan::trim(value)),
            arrow,
            loc,
        });
        Ok(())
    }

    fn directive(&mut self, text: &str, loc: &Loc, depth: usize) -> Result<(), ConfigError> {
        let word_end = text
            .find(|c: char| c.is_ascii_whitespace() || c == '"' || c == '<')
            .unwrap_or(text.len());
        let (word, arg) = text.split_at(word_end);
        let optional = match word.to_ascii_lowercase().as_str() {
            "include" => false,
            "tryinclude" => true,
            "exec" | "tryexec" => {
                self.warn(
                    loc,
                    format!("#{word} ignored: sipbox runs no programs to read its config"),
                );
                return Ok(());
            }
            _ => {
                self.warn(
                    loc,
                    format!("unknown directive '#{}' ignored", text.trim_end()),
                );
                return Ok(());
            }
        };
        let name = strip_quotes(arg.trim());
        if name.is_empty() {
            self.warn(loc, format!("#{word} without a file name ignored"));
            return Ok(());
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
        let files = if name.contains(['*', '?']) {
            glob(&path)
        } else {
            vec![path.clone()]
        };
        if files.is_empty() {
            return match optional {
                true => Ok(()),
                false => Err(ConfigError::at(
                    loc,
                    format!("no file matches the included '{}'", path.display()),
                )),
            };
        }
        for path in files {
            // Messages name the file as written, or the file a wildcard found.
            let shown = match name.contains(['*', '?']) {
                true => path
                    .file_name()
                    .map_or(name.into(), |n| n.to_string_lossy()),
                false => name.into(),
            };
            self.include(&path, (word, &shown), optional, loc, depth)?;
        }
        Ok(())
    }

    fn include(
        &mut self,
        path: &Path,
        (word, name): (&str, &str),
        optional: bool,
        loc: &Loc,
        depth: usize,
    ) -> Result<(), ConfigError> {
        let text = match load(path) {
            Ok(text) => text,
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(ConfigError::at(
                    loc,
                    format!("cannot read included file '{}': {e}", path.display()),
                ))
            }
        };
        let canon = canonical(path);
        if self.stack.contains(&canon) {
            return Err(ConfigError::at(
                loc,
                format!("#{word} '{name}' would include itself (include loop)"),
            ));
        }
        self.stack.push(canon);
        let result = self.parse(&path.display().to_string(), &Arc::from(text), depth + 1);
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
            .map(|e| (e.key.to_string(), e.value.to_string(), e.arrow, e.loc.line))
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
        // FreePBX / Asterisk sample dividers are plain comments, not block openers.
        let s = read("[a]\n;--- section ---\nx=1\n;-----------\ny=2\n");
        assert_eq!(s[0].entries.len(), 2);
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

    /// What Asterisk refuses (the file is invalid): an error naming `file:line`.
    #[test]
    fn errors_have_file_and_line() {
        let cases = [
            ("x=1\n", "t.conf:1: 'x' is outside any [section]"),
            (
                "nonsense\n",
                "t.conf:1: 'nonsense' is outside any [section]",
            ),
            ("[a\n", "t.conf:1: unterminated '[' (missing ']')"),
            (
                "[a](!\n",
                "t.conf:1: missing ')' after the options of '[a]'",
            ),
            ("[a](nope)\n", "t.conf:1: unknown template 'nope' in '[a]'"),
            (
                "[a](+)\n",
                "t.conf:1: '[a](+)' appends to a section that was not defined before",
            ),
            (
                "#include \"x.conf\"\n",
                "t.conf:1: #include 'x.conf' is not possible in the built-in config",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text:?}");
        }
    }

    /// What Asterisk logs and reads past: a warning, the line skipped, the rest kept.
    #[test]
    fn warnings_skip_the_line_only() {
        let cases: &[(&str, &str, usize)] = &[
            ("[a]\n\nnonsense\nk=v\n", "t.conf:3: no '=' in 'nonsense': line ignored", 1),
            ("[a]\n = 1\nk=v\n", "t.conf:2: no option name before '=' in '= 1': line ignored", 1),
            ("[a] junk\nk=v\n", "t.conf:1: text 'junk' after '[a]' ignored", 1),
            ("[a] (broken\nk=v\n", "t.conf:1: text '(broken' after '[a]' ignored", 1),
            (
                "[t] (!)\nq=1\n[a](t)\nk=v\n",
                "t.conf:1: space before '(' in '[t] (...)': Asterisk ignores these options; sipbox applies them",
                2,
            ),
            ("[a](!)x\n[b](a)\nk=v\n", "t.conf:1: text 'x' after '[a](...)' ignored", 1),
            ("[]\nq=1\n[a]\nk=v\n", "t.conf:1: empty section name '[]': its lines are ignored", 1),
            (
                "[a]\n#exec /bin/true\nk=v\n",
                "t.conf:2: #exec ignored: sipbox runs no programs to read its config",
                1,
            ),
            ("#frobnicate\n[a]\nk=v\n", "t.conf:1: unknown directive '#frobnicate' ignored", 1),
            (
                "[a]\n# register => u:p@h\nk=v\n",
                "t.conf:2: unknown directive '# register => u:p@h' ignored",
                1,
            ),
            ("[a]\n#include\nk=v\n", "t.conf:2: #include without a file name ignored", 1),
            (
                "[a]\nk=v\n;-- open\nx=1\n",
                "t.conf:3: ';--' block comment never closed with '--;': the rest of the file is comment",
                1,
            ),
        ];
        for (text, want, entries) in cases {
            let mut w = Vec::new();
            let s = read_str_with("t.conf", text, None, &mut w).expect(text);
            assert_eq!(w, [*want], "{text:?}");
            let last = s.last().expect("a section");
            assert_eq!(last.entries.len(), *entries, "{text:?}");
        }
    }

    #[test]
    fn names_match_case_insensitively_first_wins() {
        let s =
            read("[Tmpl](!)\na=1\n[TMPL](!)\na=2\n[u](tmpl)\n[General]\nx=1\n[general](+)\ny=2\n");
        assert_eq!(section_names(&s), ["u", "General"]);
        assert_eq!(s[0].get("a").map(|e| e.value.as_str()), Some("1"));
        assert_eq!(s[1].entries.len(), 2);
    }

    #[test]
    fn plus_equals_appends_and_combined_options() {
        let s = read("[a]\nsetvar=X=1\nsetvar +=,Y\nnew+=z\n");
        assert_eq!(
            s[0].all("setvar")
                .map(|e| e.value.as_str())
                .collect::<Vec<_>>(),
            ["X=1,Y"]
        );
        assert_eq!(s[0].get("new").map(|e| e.value.as_str()), Some("z"));
        let s = read("[t](!)\nq=1\n[a]\nx=1\n[a](+,t)\ny=2\n");
        let keys: Vec<_> = s[0].entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["x", "q", "y"]);
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
