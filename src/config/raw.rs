//! What the Asterisk-dialect reader hands to the typed layers: sections of ordered
//! `key = value` / `key => value` entries, each remembering where it was written.

use std::fmt;
use std::sync::Arc;

pub use super::text::Text;

/// A place in a config file, for `file:line` messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// The file as the user would recognise it (the path it was opened with).
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One `key = value` or `key => value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key, trimmed, case kept as written (callers compare case-insensitively).
    pub key: Text,
    /// The value, trimmed, comments removed and `\;` unescaped.
    pub value: Text,
    /// True when written with `=>` (as `exten =>`, `register =>`).
    pub arrow: bool,
    /// Where it was written.
    pub loc: Loc,
}

/// One `[name]` section with its entries in file order. Templates a section inherits from
/// (`[1001](tmpl)`) have already been applied: their entries come first, in template order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name between the brackets.
    pub name: String,
    /// Entries in order, inherited ones first.
    pub entries: Vec<Entry>,
    /// Where the `[name]` line was.
    pub loc: Loc,
}

impl Section {
    /// The last value given for `key` (case-insensitive), as Asterisk takes the last one
    /// for single-valued options.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        // The length first: it is known without reading the key's text.
        self.entries
            .iter()
            .rev()
            .find(|e| e.key.len() == key.len() && e.key.eq_ignore_ascii_case(key))
    }

    /// Every value given for `key` in order (`allow=`, `permit=`, `exten =>`).
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |e| e.key.len() == key.len() && e.key.eq_ignore_ascii_case(key))
    }
}

/// A config error that stops start-up: `file:line: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where, when known (a missing file has no line).
    pub loc: Option<Loc>,
    /// What is wrong, in words for the admin.
    pub msg: String,
}

impl ConfigError {
    /// An error at a place in a file.
    pub fn at(loc: &Loc, msg: impl Into<String>) -> Self {
        ConfigError {
            loc: Some(loc.clone()),
            msg: msg.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for ConfigError {}
