//! Signed checkpoints: the audit key's signature over a head.

use std::borrow::Cow;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{AUDIT_CHECKPOINT_V1, AuditError, CHECKPOINT_LABEL, HASH_LEN, Head, SIGNATURE_LEN};
use crate::format;

/// A head signed with the audit key: a commitment that the log had `size` entries ending in
/// `head`.
///
/// Anyone holding the audit verifying key can then check a copy of the log against it with
/// [`super::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Number of entries covered.
    pub size: u64,
    /// The head hash at `size`.
    pub head: [u8; HASH_LEN],
    /// Ed25519 signature over [`Checkpoint::message`].
    pub signature: [u8; SIGNATURE_LEN],
}

impl Checkpoint {
    /// Signs `head` with the audit key.
    pub fn sign(head: &Head, key: &SigningKey) -> Self {
        let signature = key.sign(&Self::message(head.size, &head.hash)).to_bytes();
        Self {
            size: head.size,
            head: head.hash,
            signature,
        }
    }

    /// The signed message: [`crate::format::canonical`] with label [`CHECKPOINT_LABEL`] over
    /// `size` (u64 big-endian) and the head hash.
    pub fn message(size: u64, head: &[u8; HASH_LEN]) -> Vec<u8> {
        format::canonical(CHECKPOINT_LABEL, &[&size.to_be_bytes(), head])
    }

    /// The signed head.
    pub fn to_head(&self) -> Head {
        Head {
            size: self.size,
            hash: self.head,
        }
    }

    /// Checks the signature (RFC 8032 verification with the stricter checks of
    /// [`VerifyingKey::verify_strict`]: no small-order keys or non-canonical `R`).
    ///
    /// # Errors
    /// [`AuditError::BadSignature`] if it does not verify under `key`.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), AuditError> {
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(&Self::message(self.size, &self.head), &signature)
            .map_err(|_| AuditError::BadSignature { size: self.size })
    }

    /// The text form: compact JSON with fields in this order: `format`
    /// ([`AUDIT_CHECKPOINT_V1`]), `size`, `head` (base64url), `signature` (base64url).
    pub fn to_json(&self) -> String {
        let stored = Stored {
            format: Cow::Borrowed(AUDIT_CHECKPOINT_V1),
            size: self.size,
            head: self.head,
            signature: self.signature,
        };
        // Serializing a string, an integer and base64 strings into a String cannot fail.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads the text form. Does not check the signature: call [`Checkpoint::verify`] or
    /// [`super::verify`].
    ///
    /// # Errors
    /// [`AuditError::Format`] for bad JSON, an unknown format id, unknown, missing or
    /// duplicated fields, or anything but the exact text [`Checkpoint::to_json`] produces.
    pub fn from_json(text: &str) -> Result<Self, AuditError> {
        let stored: Stored<'_> =
            serde_json::from_str(text).map_err(|e| AuditError::malformed(WHAT, e.to_string()))?;
        format::expect_id(&stored.format, AUDIT_CHECKPOINT_V1)?;
        let checkpoint = Self {
            size: stored.size,
            head: stored.head,
            signature: stored.signature,
        };
        if checkpoint.to_json() != text {
            return Err(AuditError::malformed(WHAT, "not the canonical encoding"));
        }
        Ok(checkpoint)
    }
}

const WHAT: &str = "audit checkpoint";

/// The JSON layout; field order here is the order on the wire.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored<'a> {
    #[serde(borrow)]
    format: Cow<'a, str>,
    size: u64,
    #[serde(with = "crate::b64::serde_array")]
    head: [u8; HASH_LEN],
    #[serde(with = "crate::b64::serde_array")]
    signature: [u8; SIGNATURE_LEN],
}
