//! What is in each mailbox, in memory: the message numbers of each folder and which greetings
//! are recorded. The binary builds it from the spool before the loop runs; the engine keeps it
//! current as it hands writes, moves and deletes to the driver, so counting messages (MWI,
//! `VMCOUNT`, "you have 2 new messages") never touches the disk.
//!
//! Layout as app_voicemail's file storage: `<spool>/voicemail/CTX/BOX/FOLDER/msgNNNN.{wav,txt}`
//! and the greetings `unavail`, `busy`, `greet` (name) and `temp` beside the folders.

use std::collections::{BTreeSet, HashMap};

/// The folders Asterisk knows, in its numbering (`mbox()`): 0 INBOX ... 9 Cust5, then Urgent.
pub const FOLDERS: [&str; 11] = [
    "INBOX", "Old", "Work", "Family", "Friends", "Cust1", "Cust2", "Cust3", "Cust4", "Cust5",
    "Urgent",
];

/// Greetings a box may have.
pub const GREETINGS: [&str; 4] = ["unavail", "busy", "greet", "temp"];

/// Messages kept per folder at most, whatever maxmsg says (`MAXMSGLIMIT`).
pub const MAX_PER_FOLDER: usize = 9999;

/// The canonical name of a folder (case-insensitive), if it is one.
pub fn folder_name(name: &str) -> Option<&'static str> {
    FOLDERS
        .iter()
        .find(|f| f.eq_ignore_ascii_case(name.trim()))
        .copied()
}

/// One box's folders and greetings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoxIndex {
    folders: HashMap<&'static str, BTreeSet<u32>>,
    greetings: BTreeSet<&'static str>,
}

impl BoxIndex {
    /// Message numbers in `folder`, ascending.
    pub fn messages(&self, folder: &str) -> Vec<u32> {
        folder_name(folder)
            .and_then(|f| self.folders.get(f))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// How many messages `folder` holds.
    pub fn count(&self, folder: &str) -> usize {
        folder_name(folder)
            .and_then(|f| self.folders.get(f))
            .map_or(0, BTreeSet::len)
    }

    /// The first free message number of `folder` (app_voicemail's numbering: gaps are
    /// filled first), None when the folder holds `limit` messages.
    pub fn next_free(&self, folder: &str, limit: usize) -> Option<u32> {
        let set = folder_name(folder).and_then(|f| self.folders.get(f));
        let n = set.map_or(0, BTreeSet::len);
        if n >= limit.min(MAX_PER_FOLDER) {
            return None;
        }
        (0..MAX_PER_FOLDER as u32).find(|i| set.is_none_or(|s| !s.contains(i)))
    }

    /// Records message `n` in `folder`.
    pub fn insert(&mut self, folder: &str, n: u32) {
        if let Some(f) = folder_name(folder) {
            self.folders.entry(f).or_default().insert(n);
        }
    }

    /// Forgets message `n` of `folder`.
    pub fn remove(&mut self, folder: &str, n: u32) -> bool {
        folder_name(folder)
            .and_then(|f| self.folders.get_mut(f))
            .is_some_and(|s| s.remove(&n))
    }

    /// True when greeting `g` (`unavail`, `busy`, `greet`, `temp`) is recorded.
    pub fn has_greeting(&self, g: &str) -> bool {
        self.greetings.contains(g)
    }

    /// Records that greeting `g` exists.
    pub fn set_greeting(&mut self, g: &str) {
        if let Some(g) = GREETINGS.iter().find(|x| **x == g) {
            self.greetings.insert(g);
        }
    }
}

/// Every box's index, by (lower-case context, box).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    boxes: HashMap<(String, String), BoxIndex>,
}

impl Index {
    /// The box's index (empty for a box never seen).
    pub fn get(&self, context: &str, mailbox: &str) -> BoxIndex {
        self.boxes
            .get(&(context.to_ascii_lowercase(), mailbox.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// The box's index, to change.
    pub fn get_mut(&mut self, context: &str, mailbox: &str) -> &mut BoxIndex {
        self.boxes
            .entry((context.to_ascii_lowercase(), mailbox.to_string()))
            .or_default()
    }

    /// Takes the boxes of `other` this index does not have (mailboxes a reload added, their
    /// spool read off the loop); boxes it has stay as the loop keeps them.
    pub fn adopt_missing(&mut self, other: Index) {
        for (key, b) in other.boxes {
            self.boxes.entry(key).or_insert(b);
        }
    }

    /// Boxes indexed.
    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    /// True when no box is indexed.
    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }
}

/// The message number of a spool file name (`msg0007.wav` → 7).
pub fn message_number(file_name: &str) -> Option<u32> {
    let stem = file_name.strip_prefix("msg")?;
    let (digits, ext) = stem.split_once('.')?;
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) || ext.is_empty() {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_fills_gaps_and_stops_at_the_limit() {
        let mut b = BoxIndex::default();
        assert_eq!(b.next_free("INBOX", 3), Some(0));
        b.insert("INBOX", 0);
        b.insert("inbox", 2);
        assert_eq!(b.next_free("INBOX", 3), Some(1));
        b.insert("INBOX", 1);
        assert_eq!(b.next_free("INBOX", 3), None);
        assert_eq!(b.count("INBOX"), 3);
        assert!(b.remove("INBOX", 1));
        assert_eq!(b.messages("INBOX"), vec![0, 2]);
    }

    #[test]
    fn spool_names() {
        assert_eq!(message_number("msg0007.wav"), Some(7));
        assert_eq!(message_number("msg0007.txt"), Some(7));
        assert_eq!(message_number("msg07.wav"), None);
        assert_eq!(message_number("greet.wav"), None);
        assert_eq!(folder_name("old"), Some("Old"));
    }
}
