//! PostgreSQL backend, for operators who run several vending servers against one database.
//!
//! `take` is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING` statement:
//! concurrent takers lock different rows instead of queueing on the same one, and a row is
//! marked consumed in the statement that selects it, so no key is vended twice across any
//! number of connections or servers.
//!
//! Connections come from a small pool opened at start; a connection the server closed is
//! dropped and replaced by a new one when next needed.

use std::sync::{Condvar, Mutex};

use kms_core::envelope::SignedPrekey;
use postgres::{Client, NoTls, Row};

use super::{
    Counts, MAX_BATCH, UploadOutcome, VendingError, VendingStore, decode, encode, to_i64, to_u64,
};

const SCHEMA: &str = super::schema!("BIGSERIAL PRIMARY KEY", "BIGINT", "INT");

/// The PostgreSQL vending store.
pub struct PostgresVending {
    url: String,
    size: usize,
    pool: Mutex<Pool>,
    ready: Condvar,
}

/// Idle connections, and how many exist in all (idle or lent out).
struct Pool {
    idle: Vec<Client>,
    live: usize,
}

impl core::fmt::Debug for PostgresVending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PostgresVending")
    }
}

/// A pooled connection, returned on drop.
struct Pooled<'a> {
    owner: &'a PostgresVending,
    client: Option<Client>,
}

impl Pooled<'_> {
    fn client(&mut self) -> Result<&mut Client, VendingError> {
        self.client
            .as_mut()
            .ok_or_else(|| VendingError::Backend("connection lost".into()))
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut pool = self.owner.lock();
        match self.client.take() {
            Some(c) if !c.is_closed() => pool.idle.push(c),
            // Closed (or never handed out): its slot is free for a new connection.
            _ => pool.live = pool.live.saturating_sub(1),
        }
        self.owner.ready.notify_one();
    }
}

impl PostgresVending {
    /// Connects `connections` clients to `url` (a libpq-style connection string or URL) and
    /// creates the schema if needed.
    ///
    /// # Errors
    /// [`VendingError::Backend`] if the server cannot be reached.
    pub fn connect(url: &str, connections: usize) -> Result<Self, VendingError> {
        let size = connections.max(1);
        let mut pool = Vec::new();
        for _ in 0..size {
            pool.push(Client::connect(url, NoTls)?);
        }
        if let Some(c) = pool.first_mut() {
            // Serialize concurrent schema creation by several servers starting at once.
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock(7215)", &[])?;
            tx.batch_execute(SCHEMA)?;
            tx.commit()?;
        }
        Ok(Self {
            url: url.to_owned(),
            size,
            pool: Mutex::new(Pool {
                idle: pool,
                live: size,
            }),
            ready: Condvar::new(),
        })
    }

    /// Deletes every prekey and the epoch key (for tests and load tests).
    ///
    /// # Errors
    /// [`VendingError::Backend`].
    pub fn reset(&self) -> Result<(), VendingError> {
        self.get()?
            .client()?
            .batch_execute("TRUNCATE kms_prekeys, kms_epoch RESTART IDENTITY")?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self) -> Result<Pooled<'_>, VendingError> {
        let mut pool = self.lock();
        loop {
            if let Some(c) = pool.idle.pop() {
                return Ok(Pooled {
                    owner: self,
                    client: Some(c),
                });
            }
            if pool.live < self.size {
                // Replace a connection that was closed; connect without holding the lock.
                pool.live += 1;
                drop(pool);
                let mut lent = Pooled {
                    owner: self,
                    client: None,
                };
                lent.client = Some(Client::connect(&self.url, NoTls)?);
                return Ok(lent);
            }
            let (guard, timeout) = self
                .ready
                .wait_timeout(pool, std::time::Duration::from_secs(30))
                .unwrap_or_else(|e| e.into_inner());
            pool = guard;
            if timeout.timed_out() && pool.idle.is_empty() && pool.live >= self.size {
                return Err(VendingError::Backend(
                    "no database connection available".into(),
                ));
            }
        }
    }
}

impl VendingStore for PostgresVending {
    fn upload(&self, prekeys: &[SignedPrekey], now_ms: u64) -> Result<UploadOutcome, VendingError> {
        if prekeys.len() > MAX_BATCH {
            return Err(VendingError::BatchTooLarge(prekeys.len()));
        }
        let mut conn = self.get()?;
        let mut tx = conn.client()?.transaction()?;
        let stmt = tx.prepare(
            "INSERT INTO kms_prekeys (kid, body, uploaded_ms) VALUES ($1, $2, $3)
             ON CONFLICT (kid) DO NOTHING",
        )?;
        let mut inserted = 0;
        for p in prekeys {
            inserted += tx.execute(&stmt, &[&p.kid, &encode(p)?, &to_i64(now_ms)])?;
        }
        tx.commit()?;
        Ok(UploadOutcome {
            inserted,
            duplicates: prekeys.len() as u64 - inserted,
        })
    }

    fn take(&self, now_ms: u64) -> Result<Option<SignedPrekey>, VendingError> {
        let mut conn = self.get()?;
        let row = conn.client()?.query_opt(
            "UPDATE kms_prekeys SET consumed_ms = $1
             WHERE id = (SELECT id FROM kms_prekeys WHERE consumed_ms IS NULL
                         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING kid, body",
            &[&to_i64(now_ms)],
        )?;
        prekey_of(row)
    }

    fn counts(&self) -> Result<Counts, VendingError> {
        let mut conn = self.get()?;
        let row = conn.client()?.query_one(
            "SELECT COUNT(*) FILTER (WHERE consumed_ms IS NULL),
                    COUNT(*) FILTER (WHERE consumed_ms IS NOT NULL) FROM kms_prekeys",
            &[],
        )?;
        Ok(Counts {
            available: to_u64(row.try_get(0)?),
            consumed: to_u64(row.try_get(1)?),
        })
    }

    fn set_epoch(&self, prekey: &SignedPrekey, now_ms: u64) -> Result<(), VendingError> {
        let mut conn = self.get()?;
        conn.client()?.execute(
            "INSERT INTO kms_epoch (slot, kid, body, set_ms) VALUES (0, $1, $2, $3)
             ON CONFLICT (slot) DO UPDATE SET kid = $1, body = $2, set_ms = $3",
            &[&prekey.kid, &encode(prekey)?, &to_i64(now_ms)],
        )?;
        Ok(())
    }

    fn epoch(&self) -> Result<Option<SignedPrekey>, VendingError> {
        let mut conn = self.get()?;
        let row = conn
            .client()?
            .query_opt("SELECT kid, body FROM kms_epoch WHERE slot = 0", &[])?;
        prekey_of(row)
    }
}

/// The prekey of a `(kid, body)` row, if there is one.
fn prekey_of(row: Option<Row>) -> Result<Option<SignedPrekey>, VendingError> {
    let Some(r) = row else {
        return Ok(None);
    };
    let kid: String = r.try_get(0)?;
    let body: String = r.try_get(1)?;
    decode(&kid, &body).map(Some)
}
