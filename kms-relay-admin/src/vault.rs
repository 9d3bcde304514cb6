//! The admin CLI's encrypted local vault: kms-core's [`Store`] on a SQLite file.
//!
//! The vault holds exactly what the enclave's IndexedDB holds — key records sealed under a
//! KEK, the KEK sealed under the passphrase (PBKDF2-SHA256 600 000 → HKDF), the hash-chained
//! audit log — because it is the same [`kms_core::Kms`] running over this store. A
//! transaction is one SQLite `IMMEDIATE` transaction: checks, audit sequence numbers, writes
//! and appends all or nothing. It passes kms-core's store conformance suite.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use kms_core::store::{Record, Store, StoreError, Transaction};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    log   TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    entry BLOB NOT NULL,
    PRIMARY KEY (log, seq)
);
";

/// A kms-core store in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn seq_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens (creating if needed) the vault file at `path`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path).map_err(backend)?)
    }

    /// An in-memory vault (for the conformance suite).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn apply(&self, tx: &Transaction) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let t = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        for check in &tx.checks {
            let stored: Option<Vec<u8>> = t
                .query_row(
                    "SELECT value FROM records WHERE key = ?1",
                    [check.key()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if !check.holds(stored.as_deref()) {
                return Err(StoreError::Conflict);
            }
        }
        for (log, len) in tx.expected_log_lengths() {
            let n: i64 = t
                .query_row("SELECT COUNT(*) FROM audit WHERE log = ?1", [log], |r| {
                    r.get(0)
                })
                .map_err(backend)?;
            if u64::try_from(n).ok() != Some(len) {
                return Err(StoreError::Conflict);
            }
        }
        for k in &tx.deletes {
            t.execute("DELETE FROM records WHERE key = ?1", [k])
                .map_err(backend)?;
        }
        for (k, v) in &tx.puts {
            t.execute(
                "INSERT INTO records (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = ?2",
                params![k, v],
            )
            .map_err(backend)?;
        }
        for a in &tx.appends {
            t.execute(
                "INSERT INTO audit (log, seq, entry) VALUES (?1, ?2, ?3)",
                params![a.log, seq_i64(a.seq), a.entry],
            )
            .map_err(backend)?;
        }
        t.commit().map_err(backend)
    }
}

impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.lock()
            .query_row("SELECT value FROM records WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Record>, StoreError> {
        let conn = self.lock();
        // A substring comparison is exact for any prefix (no LIKE wildcards to escape).
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, value FROM records
                 WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(backend)?;
        rows.collect::<Result<Vec<Record>, _>>().map_err(backend)
    }

    async fn audit_len(&self, log: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .lock()
            .query_row("SELECT COUNT(*) FROM audit WHERE log = ?1", [log], |r| {
                r.get(0)
            })
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT entry FROM audit WHERE log = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![log, seq_i64(from), seq_i64(limit)], |r| r.get(0))
            .map_err(backend)?;
        rows.collect::<Result<Vec<Vec<u8>>, _>>().map_err(backend)
    }

    async fn commit(&self, tx: Transaction) -> Result<(), StoreError> {
        tx.validate()?;
        self.apply(&tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_kms_core_store_conformance() {
        let report = pollster::block_on(kms_core::store::conformance::run(|| {
            SqliteStore::in_memory().unwrap()
        }))
        .unwrap();
        assert_eq!(report.checks, kms_core::store::conformance::CHECKS.len());
    }
}
