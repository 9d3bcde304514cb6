//! Persistence, as the service needs it: a small async key-value store with atomic,
//! conditional transactions and append-only audit logs.
//!
//! A [`Transaction`] carries the records one operation writes *and* the audit entries that
//! record it; a store applies all of it or none of it. Its [`Check`]s and the sequence numbers
//! of its audit appends make it a compare-and-swap: when another tab changed the same state
//! first, the commit fails with [`StoreError::Conflict`] and the service retries from fresh
//! reads. This is what keeps two tabs from consuming the same one-time prekey.
//!
//! Implementations: [`MemoryStore`] here, IndexedDB in the browser shell, SQLite in the
//! native tools. Each runs the same [`conformance`] suite.

use core::future::Future;

pub mod conformance;
mod memory;

pub use memory::MemoryStore;

/// Record keys are UTF-8 strings; records and audit entries are opaque bytes.
pub type Record = (String, Vec<u8>);

/// A precondition of a [`Transaction`], checked atomically with its writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The record must not exist.
    Absent(String),
    /// The record must exist with exactly these bytes.
    Equals(String, Vec<u8>),
}

impl Check {
    /// The record the check reads.
    pub fn key(&self) -> &str {
        match self {
            Self::Absent(k) | Self::Equals(k, _) => k,
        }
    }

    /// Whether the check holds for the record's stored bytes (`None`: no such record),
    /// read inside the committing backend transaction.
    pub fn holds(&self, stored: Option<&[u8]>) -> bool {
        match self {
            Self::Absent(_) => stored.is_none(),
            Self::Equals(_, expected) => stored == Some(expected.as_slice()),
        }
    }
}

/// One audit entry to append: `seq` must equal the log's length at commit time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAppend {
    /// Which audit log (one per origin shard).
    pub log: String,
    /// Position in that log, starting at 0.
    pub seq: u64,
    /// The encoded entry.
    pub entry: Vec<u8>,
}

/// How durable a committed transaction must be before the store reports it committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// On stable storage (IndexedDB `"strict"`: flushed to disk).
    #[default]
    Strict,
    /// Handed to the operating system, not yet flushed (IndexedDB `"relaxed"`): lost only
    /// if the machine itself fails before the flush, never by the browser or the page.
    Relaxed,
}

/// Everything one operation writes, applied atomically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    /// Preconditions; if any fails, nothing is written.
    pub checks: Vec<Check>,
    /// Records to create or overwrite.
    pub puts: Vec<Record>,
    /// Records to delete (deleting a missing record is not an error).
    pub deletes: Vec<String>,
    /// Audit entries to append, in order.
    pub appends: Vec<AuditAppend>,
    /// How durable the commit must be (a hint: stores without the choice are strict).
    pub durability: Durability,
}

impl Transaction {
    /// True when the transaction puts or deletes a record whose key starts with `prefix`.
    pub fn writes_under(&self, prefix: &str) -> bool {
        self.puts.iter().any(|(key, _)| key.starts_with(prefix))
            || self.deletes.iter().any(|k| k.starts_with(prefix))
    }

    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a precondition.
    pub fn check(&mut self, check: Check) -> &mut Self {
        self.checks.push(check);
        self
    }

    /// Adds a record write.
    pub fn put(&mut self, key: impl Into<String>, value: Vec<u8>) -> &mut Self {
        self.puts.push((key.into(), value));
        self
    }

    /// Adds a record deletion.
    pub fn delete(&mut self, key: impl Into<String>) -> &mut Self {
        self.deletes.push(key.into());
        self
    }

    /// Adds an audit append.
    pub fn append(&mut self, log: impl Into<String>, seq: u64, entry: Vec<u8>) -> &mut Self {
        self.appends.push(AuditAppend {
            log: log.into(),
            seq,
            entry,
        });
        self
    }

    /// Each audit log this transaction appends to, once, with the length it must have at
    /// commit time (its first append's `seq`; [`Self::validate`] makes the rest follow).
    pub fn expected_log_lengths(&self) -> Vec<(&str, u64)> {
        let mut out: Vec<(&str, u64)> = Vec::new();
        for a in &self.appends {
            if !out.iter().any(|(log, _)| *log == a.log) {
                out.push((&a.log, a.seq));
            }
        }
        out
    }

    /// Checks the transaction's own consistency (no key both written and deleted, no key
    /// written twice, appends contiguous per log). Stores call this before applying.
    ///
    /// The commit rule every [`Store`] follows, inside one atomic backend transaction:
    /// [`Self::validate`]; every check [`Check::holds`] for the stored record; every log
    /// has its [`Self::expected_log_lengths`] (else [`StoreError::Conflict`], nothing
    /// written); then the puts, deletes and appends, all or none.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming the problem.
    pub fn validate(&self) -> Result<(), StoreError> {
        let mut seen = std::collections::BTreeSet::new();
        for key in self.puts.iter().map(|(k, _)| k).chain(&self.deletes) {
            if !seen.insert(key.as_str()) {
                return Err(StoreError::Invalid(format!(
                    "record {key:?} is written more than once in one transaction"
                )));
            }
        }
        let mut next: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for a in &self.appends {
            if let Some(expected) = next.get(a.log.as_str())
                && *expected != a.seq
            {
                return Err(StoreError::Invalid(format!(
                    "audit appends to {:?} not contiguous: expected seq {expected}, got {}",
                    a.log, a.seq
                )));
            }
            next.insert(a.log.as_str(), a.seq.saturating_add(1));
        }
        Ok(())
    }
}

/// A store failure. None of them leaves a partial write behind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A [`Check`] failed or an audit `seq` was taken: someone else wrote first. Retry.
    #[error("conflict: the stored state changed since it was read")]
    Conflict,
    /// The browser refuses storage to this context (e.g. a cross-site iframe).
    #[error("storage is blocked in this context")]
    Blocked,
    /// The transaction itself is malformed.
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// The backend failed.
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// An async, transactional key-value store with per-shard audit logs.
///
/// Futures need not be `Send`: the browser's are not.
pub trait Store {
    /// Reads one record.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>>;

    /// Reads every record whose key starts with `prefix`, sorted by key.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<Record>, StoreError>>;

    /// Number of entries in audit log `log` (0 for a log never written).
    fn audit_len(&self, log: &str) -> impl Future<Output = Result<u64, StoreError>>;

    /// Up to `limit` entries of audit log `log` starting at `from`, in order.
    fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>>;

    /// Applies `tx` atomically: all checks hold and every append's `seq` equals its log's
    /// length, then every put, delete and append is applied; otherwise nothing is.
    fn commit(&self, tx: Transaction) -> impl Future<Output = Result<(), StoreError>>;
}

impl<S: Store + ?Sized> Store for &S {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> {
        (**self).get(key)
    }
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<Record>, StoreError>> {
        (**self).list(prefix)
    }
    fn audit_len(&self, log: &str) -> impl Future<Output = Result<u64, StoreError>> {
        (**self).audit_len(log)
    }
    fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> {
        (**self).audit_read(log, from, limit)
    }
    fn commit(&self, tx: Transaction) -> impl Future<Output = Result<(), StoreError>> {
        (**self).commit(tx)
    }
}
