//! Checking a log against its chain and a signed checkpoint.

use ed25519_dalek::VerifyingKey;

use super::{AuditError, Checkpoint, Entry, Head};

/// The result of a successful [`verify`] or [`verify_from`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signed head: every entry up to `checkpoint.size` is authenticated by the audit
    /// key. Keep it as the trusted head for the next [`verify_from`].
    pub checkpoint: Head,
    /// The head after the last entry given; equal to `checkpoint` when there is no tail.
    pub head: Head,
    /// Entries after the checkpoint. They are correctly chained but not signed: whoever can
    /// write the log could have appended or rewritten them.
    pub unverified_tail: u64,
}

/// Verifies a whole log (starting at entry 0) against a signed checkpoint.
///
/// Checks the signature, then walks the chain from [`Head::genesis`]: every entry must
/// carry the next sequence number and the hash of the entry before it, the head at the
/// checkpoint's size must be the signed head, and the log must reach that size. Entries past
/// the checkpoint are chain-checked and counted in [`Verified::unverified_tail`].
///
/// # Errors
/// [`AuditError::BadSignature`] if the checkpoint does not verify; otherwise the first
/// problem along the log: [`AuditError::SeqMismatch`] or [`AuditError::PrevHashMismatch`]
/// at a bad entry, [`AuditError::HeadMismatch`] at the checkpoint's size; and
/// [`AuditError::Truncated`] if the log ends before that size.
pub fn verify(
    entries: &[Entry],
    checkpoint: &Checkpoint,
    key: &VerifyingKey,
) -> Result<Verified, AuditError> {
    verify_from(&Head::genesis(), entries, checkpoint, key)
}

/// Verifies the entries that follow a trusted head against a signed checkpoint, for a
/// verifier that checks the log incrementally.
///
/// `entries` must start at sequence number `trusted.size`. Pass only a head that was itself
/// signed (for example [`Verified::checkpoint`] from an earlier run), not one that includes
/// an unverified tail. Otherwise as [`verify`].
///
/// # Errors
/// As [`verify`], plus [`AuditError::StaleCheckpoint`] if the checkpoint covers fewer
/// entries than `trusted`, and [`AuditError::HeadMismatch`] if it covers exactly as many but
/// signs a different hash.
pub fn verify_from(
    trusted: &Head,
    entries: &[Entry],
    checkpoint: &Checkpoint,
    key: &VerifyingKey,
) -> Result<Verified, AuditError> {
    checkpoint.verify(key)?;
    if checkpoint.size < trusted.size {
        return Err(AuditError::StaleCheckpoint {
            trusted: trusted.size,
            checkpoint: checkpoint.size,
        });
    }
    let mut head = *trusted;
    check_head(&head, checkpoint)?;
    for entry in entries {
        head = step(&head, entry)?;
        check_head(&head, checkpoint)?;
    }
    if head.size < checkpoint.size {
        return Err(AuditError::Truncated {
            expected: checkpoint.size,
            got: head.size,
        });
    }
    Ok(Verified {
        checkpoint: checkpoint.to_head(),
        head,
        unverified_tail: head.size - checkpoint.size,
    })
}

/// Checks that a whole log (starting at entry 0) is correctly chained, and returns its head.
///
/// Without a checkpoint this only shows internal consistency: it catches edits that break
/// the chain, but not a log rewritten from some point on, nor truncation.
///
/// # Errors
/// [`AuditError::SeqMismatch`] or [`AuditError::PrevHashMismatch`] at the first bad entry.
pub fn verify_chain(entries: &[Entry]) -> Result<Head, AuditError> {
    verify_chain_from(&Head::genesis(), entries)
}

/// Checks that `entries` correctly extend `trusted` (starting at sequence number
/// `trusted.size`), and returns the new head.
///
/// # Errors
/// As [`verify_chain`].
pub fn verify_chain_from(trusted: &Head, entries: &[Entry]) -> Result<Head, AuditError> {
    entries
        .iter()
        .try_fold(*trusted, |head, entry| step(&head, entry))
}

/// Advances `head` over `entry`, checking the link.
fn step(head: &Head, entry: &Entry) -> Result<Head, AuditError> {
    if entry.seq() != head.size {
        return Err(AuditError::SeqMismatch {
            expected: head.size,
            got: entry.seq(),
        });
    }
    if *entry.prev_hash() != head.hash {
        return Err(AuditError::PrevHashMismatch {
            seq: entry.seq(),
            expected: head.hash,
            got: *entry.prev_hash(),
        });
    }
    let size = head
        .size
        .checked_add(1)
        .ok_or(AuditError::SequenceExhausted { size: head.size })?;
    Ok(Head {
        size,
        hash: entry.hash(),
    })
}

/// At the checkpoint's size, the head must be the signed one.
fn check_head(head: &Head, checkpoint: &Checkpoint) -> Result<(), AuditError> {
    if head.size == checkpoint.size && head.hash != checkpoint.head {
        Err(AuditError::HeadMismatch {
            size: checkpoint.size,
            expected: checkpoint.head,
            got: head.hash,
        })
    } else {
        Ok(())
    }
}
