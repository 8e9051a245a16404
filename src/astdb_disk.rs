//! The binary's AstDB on disk: `astdb.sqlite3` in `astdbdir` (see `config::directories`),
//! with Asterisk's own schema (table `astdb`, `key` `/family/key` and `value`, both
//! `VARCHAR(256)`), so an Asterisk `astdb.sqlite3` copied over keeps its call forwards, blacklists and the rest. All
//! rows are read at start (before the loop runs); afterwards one helper thread applies the
//! dialplan's changes in order, so a call never waits for the disk. The loop hands them over
//! in batches (`write_batch.rs`: at most [`crate::write_batch::HOLD`] after the first), and
//! each batch is one transaction: a crash loses at most the batch being written and what the
//! loop still held (Asterisk commits at most once a second).
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use crate::write_batch::Batcher;
use rusqlite::{params, Connection};
use sipbox::dialplan::astdb::DbOp;
use std::path::Path;
use std::thread::JoinHandle;

/// Opens (or creates) the database; its rows and the connection for the writer.
pub fn open(path: &Path) -> rusqlite::Result<(Vec<(String, String)>, Connection)> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS astdb(key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key));",
    )?;
    let rows = {
        let mut stmt = conn.prepare("SELECT key, value FROM astdb")?;
        let it = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        it.filter_map(Result::ok).collect()
    };
    Ok((rows, conn))
}

/// Starts the writer thread; changes sent to the returned channel are applied in order. The
/// thread ends when every sender is dropped and the queue is written: join it at shutdown so
/// the last changes are on disk (the batcher's drop hands over the rest).
pub fn writer(conn: Connection) -> Option<(Batcher<DbOp>, JoinHandle<()>)> {
    let (tx, rx) = crate::write_batch::channel::<DbOp>("AstDB");
    let spawned = std::thread::Builder::new()
        .name("astdb".into())
        .spawn(move || {
            for batch in rx {
                apply_batch(&conn, &batch);
            }
        });
    match spawned {
        Ok(handle) => Some((tx, handle)),
        Err(e) => {
            log::warn!("AstDB: no writer thread ({e}); changes stay in memory");
            None
        }
    }
}

/// One transaction per batch, as `main/db.c` commits its open transaction at most once a
/// second (`db_sync_thread`): one journal write and sync for the batch, not one per change.
/// A change that fails is said and the others are kept.
fn apply_batch(conn: &Connection, batch: &[DbOp]) {
    let tx = match conn.unchecked_transaction() {
        Ok(tx) => tx,
        Err(e) => {
            log::warn!("AstDB: {} changes not written: {e}", batch.len());
            return;
        }
    };
    for op in batch {
        if let Err(e) = apply(&tx, op) {
            log::warn!("AstDB: {op:?} not written: {e}");
        }
    }
    if let Err(e) = tx.commit() {
        log::warn!("AstDB: {} changes not written: {e}", batch.len());
    }
}

fn apply(conn: &Connection, op: &DbOp) -> rusqlite::Result<usize> {
    match op {
        DbOp::Put { key, value } => conn.execute(
            "INSERT OR REPLACE INTO astdb (key, value) VALUES (?1, ?2)",
            params![key, value],
        ),
        DbOp::Del { key } => conn.execute("DELETE FROM astdb WHERE key = ?1", params![key]),
        // Every key below `prefix/`: '0' is the character after '/'.
        DbOp::DelTree { prefix } => conn.execute(
            "DELETE FROM astdb WHERE key >= ?1 AND key < ?2",
            params![format!("{prefix}/"), format!("{prefix}0")],
        ),
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests use the disk
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_applied_in_order_and_committed() {
        let dir = std::env::temp_dir().join(format!("sipbox-astdb-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("astdb.sqlite3");
        let _ = std::fs::remove_file(&path);
        let (rows, conn) = open(&path).unwrap();
        assert!(rows.is_empty());
        let put = |k: &str, v: &str| DbOp::Put {
            key: k.into(),
            value: v.into(),
        };
        apply_batch(
            &conn,
            &[
                put("/cf/1001", "2000"),
                put("/cf/1001", "3000"),
                put("/bl/1", "1"),
                put("/bl/2", "1"),
                put("/keep/1", "x"),
                DbOp::DelTree {
                    prefix: "/bl".into(),
                },
                DbOp::Del {
                    key: "/keep/1".into(),
                },
                put("/keep/2", "y"),
            ],
        );
        assert!(conn.is_autocommit(), "the transaction is over");
        drop(conn);
        let (mut rows, _) = open(&path).unwrap();
        rows.sort();
        assert_eq!(
            rows,
            [
                ("/cf/1001".to_string(), "3000".to_string()),
                ("/keep/2".to_string(), "y".to_string())
            ]
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
