//! The hash-chained, tamper-evident audit log.
//!
//! Each origin shard has its own log. Every state-changing or key-using operation appends an
//! [`Entry`] `{seq, time, origin, op, key_id, outcome, prev_hash}` in the same store
//! transaction as the change it records. An entry's hash covers a domain-separated canonical
//! encoding of all its fields, including the previous entry's hash, so changing, removing,
//! inserting or reordering entries breaks the chain. A [`Checkpoint`] — an Ed25519 signature
//! by the enclave's audit key over `(size, head hash)` — pins the log so that truncation is
//! detected too. Entries hold no secrets: there is no field that could carry one.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::format::{self, AUDIT_ENTRY_V1, EncodeError};

/// Domain-separation label of an entry hash.
pub const ENTRY_HASH_LABEL: &str = "kms:audit:entry:v1";
/// Domain-separation label of a checkpoint signature.
pub const CHECKPOINT_LABEL: &str = "kms:audit:checkpoint:v1";
/// Label whose SHA-256 is the `prev_hash` of entry 0.
pub const GENESIS_LABEL: &str = "kms:audit:genesis:v1";
/// Longest origin, op or key id accepted in an entry.
pub const MAX_FIELD_LEN: usize = 512;

/// How an audited operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It was refused (bad credential, rate limit, policy).
    Denied,
    /// It failed.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// An audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When, ms since the epoch.
    pub time_ms: u64,
    /// The calling origin.
    pub origin: String,
    /// The operation (`[a-z0-9._-]+`).
    pub op: String,
    /// The key or method involved, if any.
    pub key_id: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Hash of the previous entry ([`Head::genesis`]'s for entry 0).
    pub prev_hash: [u8; 32],
}

/// An audit entry or log failed a check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A field is too long or has characters it may not have.
    #[error("invalid audit field {field}: {reason}")]
    InvalidField {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Stored or exported bytes do not parse.
    #[error("malformed audit entry at {at}: {reason}")]
    Malformed {
        /// Where (seq or line).
        at: String,
        /// Why.
        reason: String,
    },
    /// An entry's stored hash does not match its contents.
    #[error("audit entry {seq} was modified: hash mismatch")]
    HashMismatch {
        /// Which entry.
        seq: u64,
    },
    /// Entries are missing, duplicated or out of order.
    #[error("audit log sequence broken: expected seq {expected}, got {got}")]
    Sequence {
        /// Expected seq.
        expected: u64,
        /// Seq found.
        got: u64,
    },
    /// An entry does not chain to its predecessor.
    #[error("audit entry {seq} does not chain to entry {prev}")]
    Chain {
        /// Which entry.
        seq: u64,
        /// Its predecessor.
        prev: u64,
    },
    /// Fewer entries than the checkpoint covers.
    #[error("audit log truncated: expected at least {expected} entries, got {got}")]
    Truncated {
        /// Entries the checkpoint covers.
        expected: u64,
        /// Entries present.
        got: u64,
    },
    /// The log's hash at the checkpoint's size differs from the checkpoint's.
    #[error("audit log does not match its checkpoint at size {size}")]
    CheckpointMismatch {
        /// Checkpoint size.
        size: u64,
    },
    /// The checkpoint's signature is invalid.
    #[error("audit checkpoint signature invalid")]
    BadSignature,
}

fn check_field(field: &'static str, value: &str, op_charset: bool) -> Result<(), AuditError> {
    if value.is_empty() || value.len() > MAX_FIELD_LEN {
        return Err(AuditError::InvalidField {
            field,
            reason: "expected 1 to 512 bytes",
        });
    }
    let ok = if op_charset {
        value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    } else {
        !value.chars().any(char::is_control)
    };
    if ok {
        Ok(())
    } else {
        Err(AuditError::InvalidField {
            field,
            reason: if op_charset {
                "expected [a-z0-9._-]"
            } else {
                "control characters not allowed"
            },
        })
    }
}

impl Entry {
    fn validate(&self) -> Result<(), AuditError> {
        check_field("origin", &self.origin, false)?;
        check_field("op", &self.op, true)?;
        if let Some(k) = &self.key_id {
            check_field("key_id", k, false)?;
        }
        Ok(())
    }

    /// SHA-256 over the canonical encoding (see `docs/formats.md`):
    /// `canonical("kms:audit:entry:v1", [u64be seq, u64be time, origin, op, key flag ‖ key,
    /// outcome, prev_hash])`.
    pub fn hash(&self) -> [u8; 32] {
        let (flag, key) = match &self.key_id {
            Some(k) => (1u8, k.as_bytes()),
            None => (0u8, &[][..]),
        };
        let mut key_field = Vec::with_capacity(1 + key.len());
        key_field.push(flag);
        key_field.extend_from_slice(key);
        let bytes = format::canonical(
            ENTRY_HASH_LABEL,
            &[
                &self.seq.to_be_bytes(),
                &self.time_ms.to_be_bytes(),
                self.origin.as_bytes(),
                self.op.as_bytes(),
                &key_field,
                self.outcome.as_str().as_bytes(),
                &self.prev_hash,
            ],
        );
        Sha256::digest(&bytes).into()
    }

    /// Stored form: one JSON object with the format id and the entry's hash.
    ///
    /// # Errors
    /// [`EncodeError`] (never empty bytes).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        format::to_json("audit entry", &Stored::from(self))
    }

    /// Decodes a stored entry, checking its format id, its fields and its hash.
    ///
    /// # Errors
    /// [`AuditError::Malformed`], [`AuditError::InvalidField`] or [`AuditError::HashMismatch`].
    pub fn decode(bytes: &[u8]) -> Result<Self, AuditError> {
        let s: Stored = serde_json::from_slice(bytes).map_err(|e| AuditError::Malformed {
            at: "entry".into(),
            reason: e.to_string(),
        })?;
        s.into_entry()
    }
}

/// The stored and exported JSON form of an entry.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Stored {
    format: String,
    seq: u64,
    time_ms: u64,
    origin: String,
    op: String,
    key_id: Option<String>,
    outcome: Outcome,
    #[serde(with = "crate::b64::serde_array")]
    prev_hash: [u8; 32],
    #[serde(with = "crate::b64::serde_array")]
    hash: [u8; 32],
}

impl From<&Entry> for Stored {
    fn from(e: &Entry) -> Self {
        Self {
            format: AUDIT_ENTRY_V1.into(),
            seq: e.seq,
            time_ms: e.time_ms,
            origin: e.origin.clone(),
            op: e.op.clone(),
            key_id: e.key_id.clone(),
            outcome: e.outcome,
            prev_hash: e.prev_hash,
            hash: e.hash(),
        }
    }
}

impl Stored {
    fn into_entry(self) -> Result<Entry, AuditError> {
        format::expect_id(&self.format, AUDIT_ENTRY_V1).map_err(|e| AuditError::Malformed {
            at: format!("seq {}", self.seq),
            reason: e.to_string(),
        })?;
        let entry = Entry {
            seq: self.seq,
            time_ms: self.time_ms,
            origin: self.origin,
            op: self.op,
            key_id: self.key_id,
            outcome: self.outcome,
            prev_hash: self.prev_hash,
        };
        entry.validate()?;
        if entry.hash() != self.hash {
            return Err(AuditError::HashMismatch { seq: entry.seq });
        }
        Ok(entry)
    }
}

/// The state of a log: how many entries, and the hash of the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Number of entries.
    pub size: u64,
    /// Hash of the last entry, or the genesis hash for an empty log.
    pub hash: [u8; 32],
}

impl Head {
    /// The head of an empty log: size 0, hash SHA-256(`kms:audit:genesis:v1`).
    pub fn genesis() -> Self {
        Self {
            size: 0,
            hash: Sha256::digest(GENESIS_LABEL.as_bytes()).into(),
        }
    }

    /// The head after `entry`.
    pub fn after(entry: &Entry) -> Self {
        Self {
            size: entry.seq.saturating_add(1),
            hash: entry.hash(),
        }
    }

    /// The next entry and the head after it.
    ///
    /// # Errors
    /// [`AuditError::InvalidField`] for an empty, overlong or ill-formed field.
    pub fn append(
        &self,
        time_ms: u64,
        origin: &str,
        op: &str,
        key_id: Option<&str>,
        outcome: Outcome,
    ) -> Result<(Entry, Head), AuditError> {
        let entry = Entry {
            seq: self.size,
            time_ms,
            origin: origin.to_owned(),
            op: op.to_owned(),
            key_id: key_id.map(str::to_owned),
            outcome,
            prev_hash: self.hash,
        };
        entry.validate()?;
        let head = Head::after(&entry);
        Ok((entry, head))
    }
}

/// A signed statement that a log had `size` entries ending in `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Checkpoint {
    /// Number of entries covered.
    pub size: u64,
    /// Head hash at that size.
    #[serde(with = "crate::b64::serde_array")]
    pub head: [u8; 32],
    /// Ed25519 signature over [`Checkpoint::message`].
    #[serde(with = "crate::b64::serde_array")]
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The signed message: `canonical("kms:audit:checkpoint:v1", [u64be size, head])`.
    pub fn message(size: u64, head: &[u8; 32]) -> Vec<u8> {
        format::canonical(CHECKPOINT_LABEL, &[&size.to_be_bytes(), head])
    }

    /// Signs `head` with the audit key.
    pub fn sign(head: &Head, key: &SigningKey) -> Self {
        let sig = key.sign(&Self::message(head.size, &head.hash));
        Self {
            size: head.size,
            head: head.hash,
            signature: sig.to_bytes(),
        }
    }

    /// Checks the signature.
    ///
    /// # Errors
    /// [`AuditError::BadSignature`].
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), AuditError> {
        let sig = Signature::from_bytes(&self.signature);
        key.verify(&Self::message(self.size, &self.head), &sig)
            .map_err(|_| AuditError::BadSignature)
    }
}

/// What a successful [`verify`] established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The head of the whole log given.
    pub head: Head,
    /// Entries covered by the checkpoint.
    pub checkpointed: u64,
    /// Entries after the checkpoint: chain-checked but not yet signed.
    pub unverified_tail: u64,
}

/// Checks that `entries` form one unbroken chain starting from `from`.
///
/// # Errors
/// [`AuditError::Sequence`] or [`AuditError::Chain`] at the first break.
pub fn verify_chain_from(from: Head, entries: &[Entry]) -> Result<Head, AuditError> {
    let mut head = from;
    for e in entries {
        if e.seq != head.size {
            return Err(AuditError::Sequence {
                expected: head.size,
                got: e.seq,
            });
        }
        e.validate()?;
        if e.prev_hash != head.hash {
            return Err(AuditError::Chain {
                seq: e.seq,
                prev: head.size.saturating_sub(1),
            });
        }
        head = Head::after(e);
    }
    Ok(head)
}

/// Checks that `entries` (a whole log from seq 0) form one chain.
///
/// # Errors
/// As [`verify_chain_from`].
pub fn verify_chain(entries: &[Entry]) -> Result<Head, AuditError> {
    verify_chain_from(Head::genesis(), entries)
}

/// Checks a whole log against a checkpoint signed by `key`: the chain is unbroken, the log is
/// at least as long as the checkpoint, and its hash at the checkpoint's size is the
/// checkpoint's head.
///
/// # Errors
/// [`AuditError::BadSignature`], [`AuditError::Truncated`],
/// [`AuditError::CheckpointMismatch`], or a chain error.
pub fn verify(
    entries: &[Entry],
    checkpoint: &Checkpoint,
    key: &VerifyingKey,
) -> Result<Verified, AuditError> {
    checkpoint.verify(key)?;
    let got = entries.len() as u64;
    if got < checkpoint.size {
        return Err(AuditError::Truncated {
            expected: checkpoint.size,
            got,
        });
    }
    let cut = usize::try_from(checkpoint.size).map_err(|_| AuditError::Truncated {
        expected: checkpoint.size,
        got,
    })?;
    let (signed, tail) = entries.split_at(cut);
    let at_checkpoint = verify_chain(signed)?;
    if at_checkpoint.hash != checkpoint.head {
        return Err(AuditError::CheckpointMismatch {
            size: checkpoint.size,
        });
    }
    let head = verify_chain_from(at_checkpoint, tail)?;
    Ok(Verified {
        head,
        checkpointed: checkpoint.size,
        unverified_tail: tail.len() as u64,
    })
}

/// Exports entries as JSON lines (the stored form, one per line), followed by
/// `{"checkpoint": {...}}` when a checkpoint is given.
///
/// # Errors
/// [`EncodeError`] if an entry or the checkpoint does not encode.
pub fn export_jsonl(
    entries: &[Entry],
    checkpoint: Option<&Checkpoint>,
) -> Result<String, EncodeError> {
    let mut out = String::new();
    for e in entries {
        out.push_str(&String::from_utf8_lossy(&e.encode()?));
        out.push('\n');
    }
    if let Some(c) = checkpoint {
        let line = format::to_json("audit checkpoint", &serde_json::json!({ "checkpoint": c }))?;
        out.push_str(&String::from_utf8_lossy(&line));
        out.push('\n');
    }
    Ok(out)
}

/// Parses an export made by [`export_jsonl`]. The checkpoint line, if any, must be last.
///
/// # Errors
/// [`AuditError::Malformed`] naming the line, or an entry's own error.
pub fn import_jsonl(text: &str) -> Result<(Vec<Entry>, Option<Checkpoint>), AuditError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CheckpointLine {
        checkpoint: Checkpoint,
    }
    let mut entries = Vec::new();
    let mut checkpoint = None;
    for (n, line) in text.lines().enumerate() {
        let at = || format!("line {}", n + 1);
        if line.is_empty() {
            continue;
        }
        if checkpoint.is_some() {
            return Err(AuditError::Malformed {
                at: at(),
                reason: "content after the checkpoint line".into(),
            });
        }
        if line.starts_with("{\"checkpoint\"") {
            let c: CheckpointLine =
                serde_json::from_str(line).map_err(|e| AuditError::Malformed {
                    at: at(),
                    reason: e.to_string(),
                })?;
            checkpoint = Some(c.checkpoint);
            continue;
        }
        let s: Stored = serde_json::from_str(line).map_err(|e| AuditError::Malformed {
            at: at(),
            reason: e.to_string(),
        })?;
        entries.push(s.into_entry()?);
    }
    Ok((entries, checkpoint))
}

mod op;
pub use op::Op;

#[cfg(test)]
mod tests;
