//! `jti` replay protection: a token id seen once is refused until the token expires.
//!
//! Entries live until their token's expiry (plus the verifier's leeway), after which the
//! token is refused as expired anyway. The cache is bounded: when it is full of live entries,
//! new tokens are refused ([`ReplayError::Full`]) rather than admitted unchecked — fail
//! closed. Process-local: several relay servers behind one balancer need a shared store
//! (see `docs/relay.md`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Default bound on remembered tokens.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// Why a token id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// This `(iss, jti)` was already accepted and has not expired.
    #[error("token replayed")]
    Replayed,
    /// The cache is full of unexpired entries.
    #[error("replay cache full")]
    Full,
}

#[derive(Default)]
struct Inner {
    /// `(iss, jti)` → expiry.
    seen: HashMap<(String, String), u64>,
    /// expiry → ids expiring then, for pruning in order.
    by_expiry: BTreeMap<u64, Vec<(String, String)>>,
}

/// Remembers accepted token ids until they expire.
pub struct ReplayGuard {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl core::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl ReplayGuard {
    /// A guard remembering at most `capacity` live tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    /// Records `(iss, jti)` valid until `expires_secs`; refuses it if already recorded.
    ///
    /// # Errors
    /// [`ReplayError::Replayed`] or [`ReplayError::Full`].
    pub fn check_and_record(
        &self,
        iss: &str,
        jti: &str,
        expires_secs: u64,
        now_secs: u64,
    ) -> Result<(), ReplayError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Prune everything that expired.
        let live = inner.by_expiry.split_off(&now_secs);
        let dead = core::mem::replace(&mut inner.by_expiry, live);
        for id in dead.into_values().flatten() {
            inner.seen.remove(&id);
        }
        let id = (iss.to_owned(), jti.to_owned());
        if inner.seen.contains_key(&id) {
            return Err(ReplayError::Replayed);
        }
        if inner.seen.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        inner.seen.insert(id.clone(), expires_secs);
        inner.by_expiry.entry(expires_secs).or_default().push(id);
        Ok(())
    }

    /// Number of remembered tokens.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_until_expiry_then_pruned() {
        let g = ReplayGuard::new(10);
        g.check_and_record("i", "a", 100, 50).unwrap();
        assert_eq!(
            g.check_and_record("i", "a", 100, 60),
            Err(ReplayError::Replayed)
        );
        // Same jti from another issuer is another token.
        g.check_and_record("j", "a", 100, 60).unwrap();
        assert_eq!(g.len(), 2);
        g.check_and_record("i", "b", 200, 101).unwrap();
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn full_cache_fails_closed() {
        let g = ReplayGuard::new(2);
        g.check_and_record("i", "a", 100, 0).unwrap();
        g.check_and_record("i", "b", 100, 0).unwrap();
        assert_eq!(g.check_and_record("i", "c", 100, 0), Err(ReplayError::Full));
        g.check_and_record("i", "c", 200, 101).unwrap();
    }
}
