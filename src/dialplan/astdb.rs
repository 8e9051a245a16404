//! AstDB: Asterisk's persistent key/value families (`DB(family/key)`, `DB_EXISTS`,
//! `DB_DELETE`, `DB_KEYS`, `DBdel`, `DBdeltree`), kept in memory for the dialplan and written
//! behind to disk by the binary. The dialplan reads and writes the map at once; every change
//! is also queued as a [`DbOp`] that the engine hands the driver as a job, so a call never
//! waits for the disk. Keys are Asterisk's `/family/key` strings, which is how its
//! `astdb.sqlite3` (table `astdb`, columns `key` and `value`) stores them: a copied Asterisk
//! database loads as it is.
//!
//! Reading list: Asterisk `main/db.c` (`ast_db_put`, `ast_db_get`, `ast_db_del`,
//! `ast_db_deltree`, the sqlite schema), `funcs/func_db.c`, `apps/app_db.c`.

use std::collections::BTreeMap;

/// Entries kept at most (a runaway dialplan loop writing keys stops growing here).
pub const MAX_ENTRIES: usize = 100_000;
/// Longest key or value, as Asterisk's `VARCHAR(256)` columns.
pub const MAX_LEN: usize = 256;
/// Changes queued for the disk at most before the oldest are dropped (with a warning).
const MAX_PENDING: usize = 10_000;

/// A change to write behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbOp {
    /// Insert or replace `key` (`/family/key`).
    Put {
        /// The full key.
        key: String,
        /// Its value.
        value: String,
    },
    /// Delete `key`.
    Del {
        /// The full key.
        key: String,
    },
    /// Delete every key under `prefix` (`/family` or `/family/sub`).
    DelTree {
        /// The prefix, without the trailing `/`.
        prefix: String,
    },
}

/// The in-memory database.
#[derive(Debug, Default)]
pub struct AstDb {
    entries: BTreeMap<String, String>,
    pending: Vec<DbOp>,
}

/// `family/key` (as the dialplan writes it) → `/family/key`; None when either part is
/// missing or too long.
pub fn full_key(family_key: &str) -> Option<String> {
    let (family, key) = family_key.trim().trim_start_matches('/').split_once('/')?;
    if family.is_empty() || key.is_empty() {
        return None;
    }
    let k = format!("/{family}/{key}");
    (k.len() <= MAX_LEN).then_some(k)
}

impl AstDb {
    /// Loads rows read from disk at start (`/family/key`, value); malformed rows are skipped.
    pub fn load(&mut self, rows: impl IntoIterator<Item = (String, String)>) -> usize {
        for (k, v) in rows {
            if k.starts_with('/') && k.len() <= MAX_LEN && v.len() <= MAX_LEN {
                if self.entries.len() >= MAX_ENTRIES {
                    break;
                }
                self.entries.insert(k, v);
            }
        }
        self.entries.len()
    }

    /// The value of `/family/key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Sets `/family/key`; false when the value is too long or the database full.
    pub fn put(&mut self, key: &str, value: &str) -> bool {
        if value.len() > MAX_LEN
            || (!self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES)
        {
            return false;
        }
        self.entries.insert(key.to_string(), value.to_string());
        self.queue(DbOp::Put {
            key: key.to_string(),
            value: value.to_string(),
        });
        true
    }

    /// Deletes `/family/key`; its old value.
    pub fn del(&mut self, key: &str) -> Option<String> {
        let old = self.entries.remove(key)?;
        self.queue(DbOp::Del {
            key: key.to_string(),
        });
        Some(old)
    }

    /// Deletes every key under `prefix` (`/family[/sub]`); how many went.
    pub fn del_tree(&mut self, prefix: &str) -> usize {
        let dir = format!("{}/", prefix.trim_end_matches('/'));
        let gone: Vec<String> = self
            .entries
            .range(dir.clone()..)
            .take_while(|(k, _)| k.starts_with(&dir))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            self.entries.remove(k);
        }
        self.queue(DbOp::DelTree {
            prefix: prefix.trim_end_matches('/').to_string(),
        });
        gone.len()
    }

    /// The keys directly under `/family` (DB_KEYS), sorted.
    pub fn keys(&self, family: &str) -> Vec<String> {
        let dir = format!("/{}/", family.trim_matches('/'));
        let mut out: Vec<String> = self
            .entries
            .range(dir.clone()..)
            .take_while(|(k, _)| k.starts_with(&dir))
            .filter_map(|(k, _)| k[dir.len()..].split('/').next().map(str::to_string))
            .collect();
        out.dedup();
        out
    }

    /// Every entry whose key starts with `prefix` (`/family`, `/family/sub`, or "" for all),
    /// sorted, at most `max` (`database show`).
    pub fn entries_under(&self, prefix: &str, max: usize) -> Vec<(String, String)> {
        self.entries
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(max)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The changes not yet handed to the disk.
    pub fn take_pending(&mut self) -> Vec<DbOp> {
        std::mem::take(&mut self.pending)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn queue(&mut self, op: DbOp) {
        if self.pending.len() >= MAX_PENDING {
            log::warn!("AstDB: the disk is {MAX_PENDING} changes behind; dropping the oldest");
            self.pending.remove(0);
        }
        self.pending.push(op);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_keys_trees_and_bounds() {
        let mut db = AstDb::default();
        assert_eq!(
            full_key("cidname/5551234").as_deref(),
            Some("/cidname/5551234")
        );
        assert_eq!(full_key("/cf/1001").as_deref(), Some("/cf/1001"));
        for bad in ["nokey", "/x", "fam/", "/"] {
            assert_eq!(full_key(bad), None, "{bad}");
        }
        assert!(db.put("/cf/1001", "2000"));
        assert!(db.put("/cf/1002", "3000"));
        assert!(db.put("/cf/sub/x", "y"));
        assert!(db.put("/cfb/1001", "other family"));
        assert_eq!(db.get("/cf/1001"), Some("2000"));
        assert_eq!(db.keys("cf"), ["1001", "1002", "sub"]);
        assert_eq!(db.del("/cf/1002").as_deref(), Some("3000"));
        assert_eq!(db.del("/cf/1002"), None);
        assert_eq!(db.del_tree("/cf"), 2);
        assert_eq!(
            db.get("/cfb/1001"),
            Some("other family"),
            "a prefix is not a family"
        );
        assert!(!db.put("/cf/long", &"x".repeat(MAX_LEN + 1)));
        let ops = db.take_pending();
        assert_eq!(ops.len(), 6);
        assert_eq!(
            ops[5],
            DbOp::DelTree {
                prefix: "/cf".into()
            }
        );
        assert!(db.take_pending().is_empty());
        assert_eq!(
            db.load([("/a/b".into(), "c".into()), ("bad".into(), "x".into())]),
            2
        );
    }
}
