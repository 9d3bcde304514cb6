//! The SQLite dialect's statements, one text for every server that runs them: the embedded
//! SQLite backend ([`super::sqlite`]) and the Cloudflare Worker on D1 (which is SQLite), whose
//! wasm module hands these same strings to its JavaScript entry.
//!
//! Parameters are numbered (`?1`, `?2`, …), which both rusqlite and D1 bind.

/// The tables (see [`super::schema`]): `kms_prekeys` and the one-slot `kms_epoch`.
pub const SCHEMA: &str = super::schema!("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "INTEGER");

/// Stores one uploaded prekey unless its kid is known: `?1` kid, `?2` body (the signed
/// prekey's JSON), `?3` upload time (ms). One row changed when it was new, none for a
/// duplicate.
pub const INSERT: &str = "INSERT INTO kms_prekeys (kid, body, uploaded_ms) VALUES (?1, ?2, ?3) \
                          ON CONFLICT (kid) DO NOTHING";

/// The take: one statement selects the oldest available key, marks it consumed at `?1` (ms)
/// and returns its `kid, body`; no row when none is left. The select and the mark are one
/// statement, so no other statement can run between them on the same database.
pub const TAKE: &str = "UPDATE kms_prekeys SET consumed_ms = ?1 \
                        WHERE id = (SELECT id FROM kms_prekeys WHERE consumed_ms IS NULL \
                                    ORDER BY id LIMIT 1) \
                        RETURNING kid, body";

/// `available, consumed`.
pub const COUNTS: &str = "SELECT COUNT(*) FILTER (WHERE consumed_ms IS NULL) AS available, \
                                 COUNT(*) FILTER (WHERE consumed_ms IS NOT NULL) AS consumed \
                          FROM kms_prekeys";

/// Sets or replaces the epoch key: `?1` kid, `?2` body, `?3` time (ms).
pub const SET_EPOCH: &str = "INSERT INTO kms_epoch (slot, kid, body, set_ms) VALUES (0, ?1, ?2, ?3) \
                             ON CONFLICT (slot) DO UPDATE SET kid = ?1, body = ?2, set_ms = ?3";

/// The epoch key's `kid, body`, if set.
pub const EPOCH: &str = "SELECT kid, body FROM kms_epoch WHERE slot = 0";
