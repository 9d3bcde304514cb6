//! SQLite backend: one database file, created with its schema on first open.
//!
//! One connection behind a mutex: SQLite allows a single writer at a time anyway, and every
//! vending operation writes. Each take is an `UPDATE … RETURNING` statement, so a key is
//! marked consumed in the same atomic step that selects it. The journal is WAL with
//! `synchronous = FULL`: a vended key's consumed mark is durable before the key leaves the
//! server, so a crash cannot vend it again.
//!
//! Takes are group-committed: a caller queues its request, then waits for the connection.
//! Whoever gets the connection serves every queued request in one transaction (one fsync for
//! the whole group) and leaves the others their results; a caller whose request was served
//! while it waited just picks up its result. The leader drains the queue only while holding
//! the connection and publishes every result before releasing it, so each request is served
//! exactly once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use kms_core::envelope::SignedPrekey;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    Counts, MAX_BATCH, UploadOutcome, VendingError, VendingStore, decode, encode, to_i64, to_u64,
};

use super::sql;
/// The schema, created on open.
pub use super::sql::SCHEMA;

/// The SQLite vending store.
pub struct SqliteVending {
    conn: Mutex<Connection>,
    /// Queued takes: (request id, time).
    queue: Mutex<Vec<(u64, u64)>>,
    /// Results left by a group leader for the requests it served.
    served: Mutex<HashMap<u64, Result<Option<SignedPrekey>, VendingError>>>,
    next_id: AtomicU64,
}

/// Most takes served in one transaction.
const MAX_GROUP: usize = 256;

impl core::fmt::Debug for SqliteVending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SqliteVending")
    }
}

impl SqliteVending {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`VendingError::Backend`] if the file cannot be opened or initialized.
    pub fn open(path: &Path) -> Result<Self, VendingError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A private in-memory database (for quick experiments; tests use real files).
    ///
    /// # Errors
    /// [`VendingError::Backend`].
    pub fn in_memory() -> Result<Self, VendingError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, VendingError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            queue: Mutex::new(Vec::new()),
            served: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock means a panicking thread; SQLite rolled back its open transaction.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves `group` (request id, time) in one transaction, oldest key first, in queue order.
fn take_group(
    conn: &mut Connection,
    group: &[(u64, u64)],
) -> Vec<Result<Option<SignedPrekey>, VendingError>> {
    let run = |conn: &mut Connection| -> Result<Vec<Option<(String, String)>>, VendingError> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut rows = Vec::with_capacity(group.len());
        {
            let mut stmt = tx.prepare_cached(sql::TAKE)?;
            for &(_, now_ms) in group {
                rows.push(
                    stmt.query_row(params![to_i64(now_ms)], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?,
                );
            }
        }
        tx.commit()?;
        Ok(rows)
    };
    match run(conn) {
        Ok(rows) => rows
            .into_iter()
            .map(|row| row.map(|(kid, body)| decode(&kid, &body)).transpose())
            .collect(),
        // Nothing was committed: every request in the group fails alike.
        Err(e) => group
            .iter()
            .map(|_| Err(VendingError::Backend(e.to_string())))
            .collect(),
    }
}

impl VendingStore for SqliteVending {
    fn upload(&self, prekeys: &[SignedPrekey], now_ms: u64) -> Result<UploadOutcome, VendingError> {
        if prekeys.len() > MAX_BATCH {
            return Err(VendingError::BatchTooLarge(prekeys.len()));
        }
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut inserted = 0;
        {
            let mut stmt = tx.prepare_cached(sql::INSERT)?;
            for p in prekeys {
                inserted += stmt.execute(params![p.kid, encode(p)?, to_i64(now_ms)])? as u64;
            }
        }
        tx.commit()?;
        Ok(UploadOutcome {
            inserted,
            duplicates: prekeys.len() as u64 - inserted,
        })
    }

    fn take(&self, now_ms: u64) -> Result<Option<SignedPrekey>, VendingError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        relock(&self.queue).push((id, now_ms));
        let mut conn = self.lock();
        loop {
            if let Some(result) = relock(&self.served).remove(&id) {
                return result;
            }
            // Not served yet, so still queued: lead a group (which includes it unless the
            // queue holds more than one group's worth ahead of it).
            let group: Vec<(u64, u64)> = {
                let mut q = relock(&self.queue);
                let n = q.len().min(MAX_GROUP);
                q.drain(..n).collect()
            };
            if group.is_empty() {
                // Unreachable by the invariant above; never spin.
                return Err(VendingError::Backend("take request lost".into()));
            }
            let results = take_group(&mut conn, &group);
            let mut served = relock(&self.served);
            for (&(req, _), r) in group.iter().zip(results) {
                served.insert(req, r);
            }
        }
    }

    fn counts(&self) -> Result<Counts, VendingError> {
        let conn = self.lock();
        let (available, consumed): (i64, i64) =
            conn.query_row(sql::COUNTS, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Counts {
            available: to_u64(available),
            consumed: to_u64(consumed),
        })
    }

    fn set_epoch(&self, prekey: &SignedPrekey, now_ms: u64) -> Result<(), VendingError> {
        self.lock().execute(
            sql::SET_EPOCH,
            params![prekey.kid, encode(prekey)?, to_i64(now_ms)],
        )?;
        Ok(())
    }

    fn epoch(&self) -> Result<Option<SignedPrekey>, VendingError> {
        let row: Option<(String, String)> = self
            .lock()
            .query_row(sql::EPOCH, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(kid, body)| decode(&kid, &body)).transpose()
    }
}
