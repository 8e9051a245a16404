//! The binary's `sipbox.db` (SQLite, in `astdbdir`): the registrations that survive a
//! restart, table `registrations` (one row per AOR and contact; expiry as absolute Unix
//! seconds). Read once at start (expired rows deleted then); afterwards one writer thread
//! applies the engine's [`StoreOp`]s and appends the call records, so the loop never waits
//! on the disk.
//!
//! The loop hands changes and records over in batches (`write_batch.rs`: at most
//! [`crate::write_batch::HOLD`] after the first). The writer takes whatever is queued (up to
//! [`BATCH`]) and applies it in one transaction (WAL journal, `synchronous=NORMAL`): a crash
//! loses at most the batch being written and what the loop still held. A failure is logged
//! and the registrations stay in memory only.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use crate::cdr_disk::CdrSink;
use crate::write_batch::Batcher;
use rusqlite::{params, Connection};
use sipbox::cdr::csv::CsvOptions;
use sipbox::cdr::CdrRecord;
use sipbox::store::{StoreOp, StoredBinding};
use std::path::Path;
use std::thread::JoinHandle;

/// Most operations applied in one transaction.
pub const BATCH: usize = 2_000;

/// What the writer thread is handed.
pub enum Write {
    /// A registration change.
    Store(StoreOp),
    /// A call record and the `[csv]` options of the cdr.conf its call began with.
    Cdr(Box<CdrRecord>, CsvOptions),
}

/// The database as read at start.
pub struct Opened {
    /// Unexpired bindings.
    pub rows: Vec<StoredBinding>,
    /// Rows deleted because their time had run out.
    pub expired: usize,
    /// The table was created now (a first start: chan_sip's `SIP/Registry` may be imported).
    pub fresh: bool,
    /// The connection for the writer.
    pub conn: Connection,
}

/// Opens (or creates) `path`, deletes expired rows and reads the others.
pub fn open(path: &Path, now_unix: u64) -> rusqlite::Result<Opened> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    // journal_mode answers with a row.
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
    let existed: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='registrations'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS registrations(
            aor TEXT NOT NULL, contact TEXT NOT NULL, transport TEXT NOT NULL,
            remote TEXT NOT NULL, expires INTEGER NOT NULL, user_agent TEXT NOT NULL,
            path TEXT NOT NULL, call_id TEXT NOT NULL, cseq INTEGER NOT NULL,
            PRIMARY KEY(aor, contact));",
    )?;
    let expired = conn.execute(
        "DELETE FROM registrations WHERE expires <= ?1",
        params![now_unix as i64],
    )?;
    let rows = {
        let mut stmt = conn.prepare(
            "SELECT aor, contact, transport, remote, expires, user_agent, path, call_id, cseq
             FROM registrations",
        )?;
        let it = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })?;
        it.filter_map(Result::ok)
            .filter_map(
                |(aor, contact, transport, remote, exp, ua, path, cid, cseq)| {
                    Some(StoredBinding {
                        aor,
                        contact,
                        remote: remote.parse().ok()?,
                        transport,
                        expires_unix: u64::try_from(exp).ok()?,
                        user_agent: ua,
                        path,
                        call_id: cid,
                        cseq: u32::try_from(cseq).unwrap_or(0),
                    })
                },
            )
            .collect()
    };
    Ok(Opened {
        rows,
        expired,
        fresh: !existed,
        conn,
    })
}

/// Starts the writer thread: registration changes go to `conn` (None: not persisted),
/// records to `cdr` (None: CDRs off). It ends when every sender is gone and the queue is
/// written: join it at shutdown (after dropping the batcher, which hands over the rest).
pub fn writer(
    conn: Option<Connection>,
    cdr: Option<CdrSink>,
) -> Option<(Batcher<Write>, JoinHandle<()>)> {
    let (tx, rx) = crate::write_batch::channel::<Write>("sipbox.db and CDR");
    let spawned = std::thread::Builder::new()
        .name("store".into())
        .spawn(move || {
            let mut conn = conn;
            while let Ok(first) = rx.recv() {
                let mut ops = Vec::new();
                let mut records = Vec::new();
                let mut next = Some(first);
                while let Some(batch) = next.take() {
                    for w in batch {
                        match w {
                            Write::Store(op) => ops.push(op),
                            Write::Cdr(r, csv) => records.push((*r, csv)),
                        }
                    }
                    if ops.len() + records.len() < BATCH {
                        next = rx.try_recv().ok();
                    }
                }
                if let (Some(c), false) = (conn.as_mut(), ops.is_empty()) {
                    if let Err(e) = apply(c, &ops) {
                        log::error!(
                            "sipbox.db: {} registration changes not written ({e}); \
                             registrations are kept in memory only",
                            ops.len()
                        );
                    }
                }
                if let (Some(sink), false) = (cdr.as_ref(), records.is_empty()) {
                    sink.write(&records);
                }
            }
        });
    match spawned {
        Ok(handle) => Some((tx, handle)),
        Err(e) => {
            log::warn!("store: no writer thread ({e}); registrations and CDRs are not written");
            None
        }
    }
}

/// One transaction for a batch.
pub fn apply(conn: &mut Connection, ops: &[StoreOp]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO registrations
             (aor, contact, transport, remote, expires, user_agent, path, call_id, cseq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut del =
            tx.prepare_cached("DELETE FROM registrations WHERE aor = ?1 AND contact = ?2")?;
        for op in ops {
            match op {
                StoreOp::Put(b) => {
                    put.execute(params![
                        b.aor,
                        b.contact,
                        b.transport,
                        b.remote.to_string(),
                        b.expires_unix as i64,
                        b.user_agent,
                        b.path,
                        b.call_id,
                        i64::from(b.cseq),
                    ])?;
                }
                StoreOp::Remove { aor, contact } => {
                    del.execute(params![aor, contact])?;
                }
            }
        }
    }
    tx.commit()
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests use the disk
mod tests {
    use super::*;

    fn b(i: u32, exp: u64) -> StoredBinding {
        StoredBinding {
            aor: format!("{i}"),
            contact: format!("sip:{i}@127.0.0.1:5060"),
            remote: "127.0.0.1:5060".parse().unwrap(),
            transport: "udp".into(),
            expires_unix: exp,
            user_agent: "ua".into(),
            path: String::new(),
            call_id: "c".into(),
            cseq: i,
        }
    }

    #[test]
    fn a_batch_is_one_transaction_and_expired_rows_go_at_open() {
        let dir = std::env::temp_dir().join(format!("sipbox-store-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("sipbox.db");
        let _ = std::fs::remove_file(&path);
        let mut o = open(&path, 1000).unwrap();
        assert!(o.fresh && o.rows.is_empty());
        let mut ops: Vec<StoreOp> = (0..1500).map(|i| StoreOp::Put(b(i, 2000))).collect();
        ops.push(StoreOp::Put(b(7, 1500)));
        ops.push(StoreOp::Remove {
            aor: "8".into(),
            contact: "sip:8@127.0.0.1:5060".into(),
        });
        apply(&mut o.conn, &ops).unwrap();
        drop(o);
        let o = open(&path, 1600).unwrap();
        assert!(!o.fresh);
        assert_eq!((o.rows.len(), o.expired), (1498, 1), "7 expired, 8 removed");
        assert!(o.rows.iter().any(|r| *r == b(9, 2000)));
        drop(o);
        std::fs::write(&path, vec![0x5a; 4096]).unwrap();
        assert!(open(&path, 0).is_err(), "not a database");
        let _ = std::fs::remove_dir_all(dir);
    }
}
