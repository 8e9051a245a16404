//! The binary's AstDB on disk: `astdb.sqlite3` in `astdbdir` (see `config::directories`),
//! with Asterisk's own schema (table `astdb`, `key` `/family/key` and `value`, both
//! `VARCHAR(256)`), so an Asterisk `astdb.sqlite3` copied over keeps its call forwards, blacklists and the rest. All
//! rows are read at start (before the loop runs); afterwards one helper thread applies the
//! dialplan's changes in order, so a call never waits for the disk. The loop hands them over
//! in batches (`write_batch.rs`: at most [`crate::write_batch::HOLD`] after the first).
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
            for op in rx.into_iter().flatten() {
                if let Err(e) = apply(&conn, &op) {
                    log::warn!("AstDB: {op:?} not written: {e}");
                }
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
