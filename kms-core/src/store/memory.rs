//! The in-memory [`Store`]: the reference implementation, used by native tests and tools.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Record, Store, StoreError, Transaction};

/// An in-memory store. Clones share the same data, like two tabs sharing one IndexedDB.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    records: BTreeMap<String, Vec<u8>>,
    logs: BTreeMap<String, Vec<Vec<u8>>>,
    fail_commits: u32,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `n` commits fail with [`StoreError::Backend`] without writing anything
    /// (fault injection for atomicity tests).
    pub fn fail_next_commits(&self, n: u32) {
        self.lock().fail_commits = n;
    }

    /// A copy of every record, for tests that inspect or tamper with stored bytes.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.lock().records.clone()
    }

    /// A copy of every audit log.
    pub fn audit_snapshot(&self) -> BTreeMap<String, Vec<Vec<u8>>> {
        self.lock().logs.clone()
    }

    /// Overwrites a record directly, bypassing transactions (tamper tests).
    pub fn raw_put(&self, key: &str, value: Vec<u8>) {
        self.lock().records.insert(key.to_owned(), value);
    }

    /// Overwrites or truncates an audit log directly (tamper tests).
    pub fn raw_set_log(&self, log: &str, entries: Vec<Vec<u8>>) {
        self.lock().logs.insert(log.to_owned(), entries);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a panicking test thread; the data is still consistent
        // because every mutation below is applied after all checks.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().records.get(key).cloned())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .lock()
            .records
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn audit_len(&self, log: &str) -> Result<u64, StoreError> {
        Ok(self.lock().logs.get(log).map_or(0, |l| l.len() as u64))
    }

    async fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let inner = self.lock();
        let Some(entries) = inner.logs.get(log) else {
            return Ok(Vec::new());
        };
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(entries.iter().skip(from).take(limit).cloned().collect())
    }

    async fn commit(&self, tx: Transaction) -> Result<(), StoreError> {
        tx.validate()?;
        let mut inner = self.lock();
        if inner.fail_commits > 0 {
            inner.fail_commits -= 1;
            return Err(StoreError::Backend("injected failure".into()));
        }
        for check in &tx.checks {
            if !check.holds(inner.records.get(check.key()).map(Vec::as_slice)) {
                return Err(StoreError::Conflict);
            }
        }
        for (log, len) in tx.expected_log_lengths() {
            if inner.logs.get(log).map_or(0, |l| l.len() as u64) != len {
                return Err(StoreError::Conflict);
            }
        }
        // All checks passed: apply everything.
        for k in tx.deletes {
            inner.records.remove(&k);
        }
        for (k, v) in tx.puts {
            inner.records.insert(k, v);
        }
        for a in tx.appends {
            inner.logs.entry(a.log).or_default().push(a.entry);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_conformance_suite() {
        let report = pollster::block_on(super::super::conformance::run(MemoryStore::new)).unwrap();
        assert!(report.checks >= 10, "{report:?}");
    }

    #[test]
    fn injected_failure_writes_nothing() {
        pollster::block_on(async {
            let s = MemoryStore::new();
            s.fail_next_commits(1);
            let mut tx = Transaction::new();
            tx.put("a", vec![1]).append("log", 0, vec![2]);
            assert!(matches!(
                s.commit(tx.clone()).await,
                Err(StoreError::Backend(_))
            ));
            assert_eq!(s.get("a").await.unwrap(), None);
            assert_eq!(s.audit_len("log").await.unwrap(), 0);
            s.commit(tx).await.unwrap();
            assert_eq!(s.get("a").await.unwrap(), Some(vec![1]));
        });
    }
}
