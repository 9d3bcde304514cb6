//! SQLite backend: one database file, created with its schema on first open.
//!
//! One connection behind a mutex: SQLite allows a single writer at a time anyway, and every
//! vending operation writes. `take` is a single `UPDATE … RETURNING` statement, so a key is
//! marked consumed in the same atomic step that selects it. The journal is WAL with
//! `synchronous = FULL`: a vended key's consumed mark is durable before the key leaves the
//! server, so a crash cannot vend it again.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use kms_core::envelope::SignedPrekey;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    Counts, MAX_BATCH, UploadOutcome, VendingError, VendingStore, decode, encode, to_i64, to_u64,
};

/// The schema, created on open.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kms_prekeys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kid         TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    uploaded_ms INTEGER NOT NULL,
    consumed_ms INTEGER
);
CREATE INDEX IF NOT EXISTS kms_prekeys_available ON kms_prekeys (id) WHERE consumed_ms IS NULL;
CREATE TABLE IF NOT EXISTS kms_epoch (
    slot   INTEGER PRIMARY KEY CHECK (slot = 0),
    kid    TEXT NOT NULL,
    body   TEXT NOT NULL,
    set_ms INTEGER NOT NULL
);
";

/// The SQLite vending store.
pub struct SqliteVending {
    conn: Mutex<Connection>,
}

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
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock means a panicking thread; SQLite rolled back its open transaction.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
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
            let mut stmt = tx.prepare_cached(
                "INSERT INTO kms_prekeys (kid, body, uploaded_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kid) DO NOTHING",
            )?;
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
        let conn = self.lock();
        let row: Option<(String, String)> = conn
            .prepare_cached(
                "UPDATE kms_prekeys SET consumed_ms = ?1
                 WHERE id = (SELECT id FROM kms_prekeys WHERE consumed_ms IS NULL ORDER BY id LIMIT 1)
                 RETURNING kid, body",
            )?
            .query_row(params![to_i64(now_ms)], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(kid, body)| decode(&kid, &body)).transpose()
    }

    fn counts(&self) -> Result<Counts, VendingError> {
        let conn = self.lock();
        let (available, consumed): (i64, i64) = conn.query_row(
            "SELECT COUNT(*) FILTER (WHERE consumed_ms IS NULL),
                    COUNT(*) FILTER (WHERE consumed_ms IS NOT NULL) FROM kms_prekeys",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Counts {
            available: to_u64(available),
            consumed: to_u64(consumed),
        })
    }

    fn set_epoch(&self, prekey: &SignedPrekey, now_ms: u64) -> Result<(), VendingError> {
        self.lock().execute(
            "INSERT INTO kms_epoch (slot, kid, body, set_ms) VALUES (0, ?1, ?2, ?3)
             ON CONFLICT (slot) DO UPDATE SET kid = ?1, body = ?2, set_ms = ?3",
            params![prekey.kid, encode(prekey)?, to_i64(now_ms)],
        )?;
        Ok(())
    }

    fn epoch(&self) -> Result<Option<SignedPrekey>, VendingError> {
        let row: Option<(String, String)> = self
            .lock()
            .query_row("SELECT kid, body FROM kms_epoch WHERE slot = 0", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(kid, body)| decode(&kid, &body)).transpose()
    }
}
