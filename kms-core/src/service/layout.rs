//! Where the service keeps each record: the one place that names the store's keys (the
//! "Store layout" table of `docs/formats.md` mirrors this module).
//!
//! | key | value |
//! |---|---|
//! | [`SETUP`] | empty; present once the enclave is set up |
//! | [`BACKOFF`] | the failed-attempt counter (not authenticated: no key material) |
//! | [`AUDIT_KEY`] | key record of the audit checkpoint key (shard `""`) |
//! | [`method`] `u/<method id>` | unlock record |
//! | [`key`] `k/<origin>/<key id>` | key record of that origin's shard (also its Signal sessions, trusted peer identities and Kyber-use marks, by peer address) |
//! | [`checkpoint`] `c/<origin>` | latest signed audit checkpoint of that shard |
//! | [`tombstone`] `e/<origin>/used/<kid>` | a shredded one-time envelope prekey (no key material) |
//! | audit log [`audit_log`] `<origin>` | that shard's audit entries |

use crate::ids::{KeyId, MethodId};
use crate::origin::Origin;

/// Marker written once by `setup` (empty value); its presence means the enclave is set up.
pub const SETUP: &str = "g/setup";
/// The failed-attempt counter shared by every unlock method.
pub const BACKOFF: &str = "g/backoff";
/// Key record of the enclave's audit checkpoint key.
pub const AUDIT_KEY: &str = "g/audit-key";
/// Prefix of every unlock-method record.
pub const METHODS: &str = "u/";
/// Prefix of every key record (all shards).
pub const KEYS: &str = "k/";

/// An unlock-method record.
pub fn method(method_id: &MethodId) -> String {
    format!("{METHODS}{method_id}")
}

/// Prefix of every key record of `shard`.
pub fn shard_keys(shard: &Origin) -> String {
    format!("{KEYS}{shard}/")
}

/// A key record of `shard`.
pub fn key(shard: &Origin, key_id: &KeyId) -> String {
    format!("{KEYS}{shard}/{key_id}")
}

/// The latest signed audit checkpoint of `shard`.
pub fn checkpoint(shard: &Origin) -> String {
    format!("c/{shard}")
}

/// The tombstone a shredded one-time envelope prekey of `shard` leaves.
pub fn tombstone(shard: &Origin, kid: &str) -> String {
    format!("e/{shard}/used/{kid}")
}

/// The audit log of `shard`.
pub fn audit_log(shard: &Origin) -> &str {
    shard.as_str()
}
