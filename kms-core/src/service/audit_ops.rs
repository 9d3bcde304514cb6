//! Audit export and verification for a shard.

use super::layout;
use rand_core::CryptoRng;

use ed25519_dalek::VerifyingKey;

use super::{AuditExportResponse, AuditVerifiedResponse, Kms};
use crate::audit::{self, Checkpoint, Entry, Head};
use crate::clock::Clock;
use crate::device::DeviceKey;
use crate::error::Error;
use crate::jws::Signer;
use crate::kdf::Pbkdf2Provider;
use crate::origin::Origin;
use crate::store::Store;

/// Stored form of a checkpoint.
pub(super) fn encode_checkpoint(c: &Checkpoint) -> Result<Vec<u8>, crate::format::EncodeError> {
    crate::format::to_json("audit checkpoint", c)
}

/// Entries read per store call.
const PAGE: u64 = 1000;

impl<S: Store, C: Clock, R: CryptoRng, P: Pbkdf2Provider, D: DeviceKey, E: Signer>
    Kms<S, C, R, P, D, E>
{
    async fn shard_entries(&self, o: &Origin) -> Result<Vec<Entry>, Error> {
        let len = self.store.audit_len(o.as_str()).await?;
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut from = 0;
        while from < len {
            let page = self.store.audit_read(o.as_str(), from, PAGE).await?;
            if page.is_empty() {
                return Err(Error::tampered(format!("audit log truncated at {from}")));
            }
            for bytes in page {
                let entry = Entry::decode(&bytes)
                    .map_err(|_| Error::tampered(format!("audit entry {from}")))?;
                out.push(entry);
                from += 1;
            }
        }
        Ok(out)
    }

    pub(super) async fn stored_checkpoint(&self, o: &Origin) -> Result<Option<Checkpoint>, Error> {
        match self.store.get(&layout::checkpoint(o)).await? {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(&raw)
                .map(Some)
                .map_err(|_| Error::tampered("audit checkpoint")),
        }
    }

    /// The audit public key: the session's while unlocked, else the one in the audit key
    /// record's header (readable without the KEK, so a locked enclave can still verify).
    pub(super) async fn audit_verifying_key(&self) -> Result<VerifyingKey, Error> {
        if let Some(s) = &self.session {
            return Ok(s.audit_key.verifying_key());
        }
        let rec = self.audit_key_record().await?;
        let bytes: [u8; 32] = rec
            .header
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| Error::tampered("audit key"))?;
        VerifyingKey::from_bytes(&bytes).map_err(|_| Error::tampered("audit key"))
    }

    /// The shard's log as evidence: every entry, and either a fresh checkpoint (unlocked,
    /// and the log extends its stored checkpoint) or the stored one. A log that fails the
    /// check is still exported, with the failure named in `tampered`: the user keeps the
    /// evidence, and no new signature covers it. Works while locked.
    pub(super) async fn audit_export(&self, o: &Origin) -> Result<AuditExportResponse, Error> {
        // The checkpoint before the entries (see `Kms::audit_head`).
        let stored = self.stored_checkpoint(o).await?;
        let entries = self.shard_entries(o).await?;
        let key = self.audit_verifying_key().await?;
        let tampered = match &stored {
            Some(cp) => audit::verify(&entries, cp, &key)
                .err()
                .map(|e| format!("audit log: {e}")),
            None => audit::verify_chain(&entries)
                .err()
                .map(|e| format!("audit log: {e}")),
        };
        let head = entries.last().map_or_else(Head::genesis, Head::after);
        let fresh = match (&self.session, &tampered) {
            (Some(s), None) => Some(Checkpoint::sign(&head, &s.audit_key)),
            _ => None,
        };
        Ok(AuditExportResponse {
            jsonl: audit::export_jsonl(&entries, fresh.as_ref().or(stored.as_ref()))?,
            size: entries.len() as u64,
            audit_public_key: crate::b64::encode(key.to_bytes()),
            tampered,
        })
    }

    pub(super) async fn audit_verify(&self, o: &Origin) -> Result<AuditVerifiedResponse, Error> {
        // The checkpoint before the entries (see `Kms::audit_head`).
        let checkpoint = self
            .stored_checkpoint(o)
            .await?
            .ok_or_else(|| Error::tampered("audit checkpoint missing"))?;
        let entries = self.shard_entries(o).await?;
        let key = self.audit_verifying_key().await?;
        let verified = audit::verify(&entries, &checkpoint, &key)
            .map_err(|e| Error::tampered(format!("audit log: {e}")))?;
        Ok(AuditVerifiedResponse {
            size: entries.len() as u64,
            checkpoint_size: checkpoint.size,
            head: crate::b64::encode(verified.head.hash),
        })
    }
}
