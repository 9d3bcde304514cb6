//! One audit log entry: its fields, hash and stored JSON form.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{AuditError, ENTRY_HASH_LABEL, HASH_LEN, MAX_FIELD_LEN, sha256};
use crate::format::{self, AUDIT_ENTRY_V1};

/// How an audited operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The operation was carried out.
    Ok,
    /// The operation was refused by policy (wrong origin, locked, not permitted).
    Denied,
    /// The operation was attempted and failed.
    Failed,
}

impl Outcome {
    /// The lowercase name used in the hash input and the stored form: `ok`, `denied`,
    /// `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// One entry of the audit log.
///
/// Fields are private so that every `Entry` satisfies the field rules (see [`Entry::new`]);
/// read them through the accessors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    seq: u64,
    time_ms: u64,
    origin: String,
    op: String,
    key_id: Option<String>,
    outcome: Outcome,
    prev_hash: [u8; HASH_LEN],
}

/// Key-presence marker in the hash input: `key_id` absent (`docs/formats/audit.md`).
const KEY_ID_ABSENT: u8 = 0x00;
/// Key-presence marker in the hash input: `key_id` present (`docs/formats/audit.md`).
const KEY_ID_PRESENT: u8 = 0x01;

impl Entry {
    /// Builds an entry from its fields, checking the field rules.
    ///
    /// The service creates entries with [`super::Head::append`]; this constructor is for
    /// readers and tests that rebuild entries from other sources.
    ///
    /// # Errors
    /// [`AuditError::FieldTooLong`] if `origin`, `op` or `key_id` exceeds
    /// [`MAX_FIELD_LEN`] bytes; [`AuditError::EmptyOp`] or [`AuditError::InvalidOp`] if `op`
    /// is empty or has a character outside `[a-z0-9._-]`.
    pub fn new(
        seq: u64,
        time_ms: u64,
        origin: &str,
        op: &str,
        key_id: Option<&str>,
        outcome: Outcome,
        prev_hash: [u8; HASH_LEN],
    ) -> Result<Self, AuditError> {
        check_fields(origin, op, key_id)?;
        Ok(Self {
            seq,
            time_ms,
            origin: origin.to_owned(),
            op: op.to_owned(),
            key_id: key_id.map(str::to_owned),
            outcome,
            prev_hash,
        })
    }

    /// Position in the log, counting from 0.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When the operation happened, in milliseconds since the Unix epoch (as the service's
    /// clock read it; not checked to be monotonic).
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The web origin that asked for the operation.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The operation name, e.g. `key.sign`.
    pub fn op(&self) -> &str {
        &self.op
    }

    /// The key the operation used or changed, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// How the operation ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The hash of the previous entry, or the genesis hash for entry 0.
    pub fn prev_hash(&self) -> &[u8; HASH_LEN] {
        &self.prev_hash
    }

    /// The hash input: [`crate::format::canonical`] with label [`ENTRY_HASH_LABEL`] over
    /// `seq` (u64 big-endian), `time_ms` (u64 big-endian), `origin`, `op`, a key-presence
    /// byte (`0x00` absent, `0x01` present), `key_id` (empty when absent), `outcome` (its
    /// lowercase name) and `prev_hash`.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let seq = self.seq.to_be_bytes();
        let time = self.time_ms.to_be_bytes();
        let (presence, key_id) = match &self.key_id {
            None => (KEY_ID_ABSENT, ""),
            Some(k) => (KEY_ID_PRESENT, k.as_str()),
        };
        format::canonical(
            ENTRY_HASH_LABEL,
            &[
                &seq,
                &time,
                self.origin.as_bytes(),
                self.op.as_bytes(),
                &[presence],
                key_id.as_bytes(),
                self.outcome.as_str().as_bytes(),
                &self.prev_hash,
            ],
        )
    }

    /// SHA-256 of [`Entry::canonical_bytes`].
    pub fn hash(&self) -> [u8; HASH_LEN] {
        sha256(&self.canonical_bytes())
    }

    /// The stored form: compact JSON with fields in this order:
    /// `format` ([`AUDIT_ENTRY_V1`]), `seq`, `time_ms`, `origin`, `op`, `key_id` (string or
    /// `null`), `outcome`, `prev_hash` (base64url), `hash` (base64url).
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }

    /// Reads the stored form.
    ///
    /// Refuses anything but the exact bytes [`Entry::encode`] produces for the entry, so one
    /// entry has one stored form.
    ///
    /// # Errors
    /// [`AuditError::Format`] for bad JSON, an unknown format id, unknown, missing or
    /// duplicated fields, or a non-canonical encoding; the field-rule errors of
    /// [`Entry::new`]; [`AuditError::HashMismatch`] if the stored hash is not the hash of the
    /// fields.
    pub fn decode(bytes: &[u8]) -> Result<Self, AuditError> {
        let text =
            core::str::from_utf8(bytes).map_err(|_| AuditError::malformed(WHAT, "not UTF-8"))?;
        Self::from_json(text)
    }

    pub(super) fn to_json(&self) -> String {
        self.to_json_with_hash(self.hash())
    }

    /// The stored form, given the entry's hash.
    fn to_json_with_hash(&self, hash: [u8; HASH_LEN]) -> String {
        let stored = Stored {
            format: Cow::Borrowed(AUDIT_ENTRY_V1),
            seq: self.seq,
            time_ms: self.time_ms,
            origin: Cow::Borrowed(&self.origin),
            op: Cow::Borrowed(&self.op),
            key_id: self.key_id.as_deref().map(Cow::Borrowed),
            outcome: self.outcome,
            prev_hash: self.prev_hash,
            hash,
        };
        // Serializing strings, integers and a unit enum into a String cannot fail.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    pub(super) fn from_json(text: &str) -> Result<Self, AuditError> {
        let stored: Stored<'_> =
            serde_json::from_str(text).map_err(|e| AuditError::malformed(WHAT, e.to_string()))?;
        format::expect_id(&stored.format, AUDIT_ENTRY_V1)?;
        let entry = Self::new(
            stored.seq,
            stored.time_ms,
            &stored.origin,
            &stored.op,
            stored.key_id.as_deref(),
            stored.outcome,
            stored.prev_hash,
        )?;
        let expected = entry.hash();
        if expected != stored.hash {
            return Err(AuditError::HashMismatch {
                seq: entry.seq,
                expected,
                got: stored.hash,
            });
        }
        if entry.to_json_with_hash(expected) != text {
            return Err(AuditError::malformed(WHAT, "not the canonical encoding"));
        }
        Ok(entry)
    }
}

const WHAT: &str = "audit entry";

/// The stored JSON layout; field order here is the order on the wire. Strings borrow from
/// the input unless they contain JSON escapes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored<'a> {
    #[serde(borrow)]
    format: Cow<'a, str>,
    seq: u64,
    time_ms: u64,
    #[serde(borrow)]
    origin: Cow<'a, str>,
    #[serde(borrow)]
    op: Cow<'a, str>,
    #[serde(borrow)]
    key_id: Option<Cow<'a, str>>,
    outcome: Outcome,
    #[serde(with = "crate::b64::serde_array")]
    prev_hash: [u8; HASH_LEN],
    #[serde(with = "crate::b64::serde_array")]
    hash: [u8; HASH_LEN],
}

fn check_fields(origin: &str, op: &str, key_id: Option<&str>) -> Result<(), AuditError> {
    check_len("origin", origin)?;
    check_len("op", op)?;
    if let Some(k) = key_id {
        check_len("key_id", k)?;
    }
    if op.is_empty() {
        return Err(AuditError::EmptyOp);
    }
    if let Some(index) = op
        .bytes()
        .position(|b| !matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
    {
        return Err(AuditError::InvalidOp { index });
    }
    Ok(())
}

fn check_len(field: &'static str, value: &str) -> Result<(), AuditError> {
    if value.len() > MAX_FIELD_LEN {
        Err(AuditError::FieldTooLong {
            field,
            max: MAX_FIELD_LEN,
            got: value.len(),
        })
    } else {
        Ok(())
    }
}
