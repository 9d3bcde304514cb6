//! The one-time prekey vending machine's storage: one trait, two backends.
//!
//! A vending store holds uploaded prekeys (their signed public parts, as JSON) and hands each
//! out **exactly once**: [`VendingStore::take`] atomically picks one available key, marks it
//! consumed with a timestamp and returns it, also under any number of concurrent callers.
//! Consumed rows are kept (with their timestamp) as the record of what was vended.
//!
//! - [`sqlite::SqliteVending`]: one file, created on first start; the embedded default.
//! - [`postgres::PostgresVending`]: for operators who outgrow one machine.
//! - The Cloudflare Worker on D1 (`kms-relay/worker`), which runs the statements of [`sql`].
//!
//! All of them run the same [`conformance`] suite: the first two in process, the Worker
//! (and any server) over HTTP through [`http::HttpVending`].

/// The store's tables, one layout for every backend: `$id` is the type of the
/// auto-incrementing key (it orders takes oldest first), `$int` the 64-bit integer type of
/// the timestamps and `$slot` the type of the epoch key's single slot.
macro_rules! schema {
    ($id:literal, $int:literal, $slot:literal) => {
        concat!(
            "
CREATE TABLE IF NOT EXISTS kms_prekeys (
    id          ",
            $id,
            ",
    kid         TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    uploaded_ms ",
            $int,
            " NOT NULL,
    consumed_ms ",
            $int,
            "
);
CREATE INDEX IF NOT EXISTS kms_prekeys_available ON kms_prekeys (id) WHERE consumed_ms IS NULL;
CREATE TABLE IF NOT EXISTS kms_epoch (
    slot   ",
            $slot,
            " PRIMARY KEY CHECK (slot = 0),
    kid    TEXT NOT NULL,
    body   TEXT NOT NULL,
    set_ms ",
            $int,
            " NOT NULL
);
"
        )
    };
}
pub(crate) use schema;

pub mod conformance;
#[cfg(feature = "client")]
pub mod http;
#[cfg(feature = "server")]
pub mod postgres;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use kms_core::envelope::SignedPrekey;

/// Largest batch one upload may carry.
pub const MAX_BATCH: usize = 1000;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VendingError {
    /// The database failed.
    #[error("vending store: {0}")]
    Backend(String),
    /// A stored row does not parse (the database was modified outside the service).
    #[error("vending store: stored prekey {kid:?} is corrupt")]
    Corrupt {
        /// The row's kid.
        kid: String,
    },
    /// A batch larger than [`MAX_BATCH`].
    #[error("batch too large: expected at most {MAX_BATCH} prekeys, got {0}")]
    BatchTooLarge(usize),
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for VendingError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Backend(e.to_string())
    }
}

#[cfg(feature = "server")]
impl From<::postgres::Error> for VendingError {
    fn from(e: ::postgres::Error) -> Self {
        Self::Backend(e.to_string())
    }
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UploadOutcome {
    /// New prekeys stored.
    pub inserted: u64,
    /// Prekeys whose kid was already known (stored earlier, possibly consumed): ignored, so a
    /// consumed key can never be uploaded again.
    pub duplicates: u64,
}

/// Counts, for the owner's low-water refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Keys not yet vended.
    pub available: u64,
    /// Keys vended so far.
    pub consumed: u64,
}

/// Storage of a vending service. Implementations are shared between request threads.
pub trait VendingStore: Send + Sync {
    /// Stores a batch of one-time prekeys (all or nothing). Kids already present are skipped.
    ///
    /// # Errors
    /// [`VendingError::BatchTooLarge`] or a backend failure.
    fn upload(&self, prekeys: &[SignedPrekey], now_ms: u64) -> Result<UploadOutcome, VendingError>;

    /// Atomically takes one available prekey (oldest first), marking it consumed at `now_ms`;
    /// `None` when none is left. No prekey is ever returned twice.
    ///
    /// # Errors
    /// A backend failure, or [`VendingError::Corrupt`] for an unreadable row.
    fn take(&self, now_ms: u64) -> Result<Option<SignedPrekey>, VendingError>;

    /// Available and consumed counts.
    ///
    /// # Errors
    /// A backend failure.
    fn counts(&self) -> Result<Counts, VendingError>;

    /// Replaces the epoch key (the fallback when one-time keys run out).
    ///
    /// # Errors
    /// A backend failure.
    fn set_epoch(&self, prekey: &SignedPrekey, now_ms: u64) -> Result<(), VendingError>;

    /// The current epoch key, if one was set.
    ///
    /// # Errors
    /// A backend failure, or [`VendingError::Corrupt`].
    fn epoch(&self) -> Result<Option<SignedPrekey>, VendingError>;
}

/// A prekey as its row's `body`: the signed prekey's JSON.
///
/// # Errors
/// [`VendingError::Backend`] if it cannot be encoded.
pub fn encode(prekey: &SignedPrekey) -> Result<String, VendingError> {
    serde_json::to_string(prekey).map_err(|e| VendingError::Backend(e.to_string()))
}

/// A row's `body` back as the signed prekey.
///
/// # Errors
/// [`VendingError::Corrupt`] naming `kid` when it does not parse.
pub fn decode(kid: &str, body: &str) -> Result<SignedPrekey, VendingError> {
    serde_json::from_str(body).map_err(|_| VendingError::Corrupt {
        kid: kid.to_owned(),
    })
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(feature = "sqlite")]
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// An SQL script importing `prekeys` into either backend's `kms_prekeys` table (for an
/// offline import: `sqlite3 vending.db < script.sql` or `psql -f script.sql`), in one
/// transaction. Kids already present are skipped, as in [`VendingStore::upload`]. The schema
/// must exist (start the server once, or run [`sql::SCHEMA`]).
///
/// # Errors
/// [`VendingError::Backend`] if a prekey cannot be encoded.
pub fn sql_script(prekeys: &[SignedPrekey], now_ms: u64) -> Result<String, VendingError> {
    Ok(format!("BEGIN;\n{}COMMIT;\n", inserts(prekeys, now_ms)?))
}

/// The same import for the Worker's D1 database (`wrangler d1 execute DB --file script.sql`):
/// the inserts of [`sql_script`] without `BEGIN`/`COMMIT`, which D1 refuses because it runs
/// the whole file as one transaction itself.
///
/// # Errors
/// [`VendingError::Backend`] if a prekey cannot be encoded.
pub fn d1_script(prekeys: &[SignedPrekey], now_ms: u64) -> Result<String, VendingError> {
    inserts(prekeys, now_ms)
}

/// One `INSERT … ON CONFLICT (kid) DO NOTHING` line per prekey, values inlined as SQL
/// string literals.
fn inserts(prekeys: &[SignedPrekey], now_ms: u64) -> Result<String, VendingError> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut out = String::new();
    for p in prekeys {
        out.push_str(&format!(
            "INSERT INTO kms_prekeys (kid, body, uploaded_ms) VALUES ({}, {}, {}) \
             ON CONFLICT (kid) DO NOTHING;\n",
            quote(&p.kid),
            quote(&encode(p)?),
            to_i64(now_ms)
        ));
    }
    Ok(out)
}
