//! The head of the log: its size and the hash of its last entry.

use super::{AuditError, Entry, HASH_LEN, Outcome};

/// The state of a log: how many entries it has and the hash that commits to all of them.
///
/// For an empty log the hash is [`Head::GENESIS_HASH`]; otherwise it is the hash of the
/// last entry. The service stores the current head next to the log and advances it with
/// [`Head::append`] in the same transaction as the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Head {
    /// Number of entries; also the sequence number of the next entry.
    pub size: u64,
    /// Hash of entry `size - 1`, or [`Head::GENESIS_HASH`] when `size` is 0.
    pub hash: [u8; HASH_LEN],
}

impl Head {
    /// SHA-256 of the ASCII bytes of [`super::GENESIS_LABEL`] (`kms:audit:genesis:v1`), the hash
    /// of the empty log and the `prev_hash` of entry 0 (`docs/formats/audit.md`,
    /// "Genesis head"); checked against a fresh computation in the tests.
    pub const GENESIS_HASH: [u8; HASH_LEN] = [
        0x04, 0x54, 0x70, 0xea, 0xac, 0x45, 0x67, 0x45, 0xaf, 0x17, 0xb6, 0x29, 0x18, 0xd9, 0x08,
        0x99, 0xdc, 0xef, 0x52, 0x4a, 0x2c, 0xe0, 0x85, 0x95, 0x11, 0x0b, 0x1b, 0x63, 0xb4, 0x94,
        0xef, 0xa4,
    ];

    /// The head of the empty log.
    pub const fn genesis() -> Self {
        Self {
            size: 0,
            hash: Self::GENESIS_HASH,
        }
    }

    /// Creates the next entry (sequence number `self.size`, `prev_hash` `self.hash`) and
    /// returns it with the head after it.
    ///
    /// # Errors
    /// The field-rule errors of [`Entry::new`]; [`AuditError::SequenceExhausted`] if the log
    /// already holds `u64::MAX` entries.
    pub fn append(
        &self,
        time_ms: u64,
        origin: &str,
        op: &str,
        key_id: Option<&str>,
        outcome: Outcome,
    ) -> Result<(Entry, Head), AuditError> {
        let next = self
            .size
            .checked_add(1)
            .ok_or(AuditError::SequenceExhausted { size: self.size })?;
        let entry = Entry::new(self.size, time_ms, origin, op, key_id, outcome, self.hash)?;
        let head = Head {
            size: next,
            hash: entry.hash(),
        };
        Ok((entry, head))
    }

    /// The head of a log whose last entry is `entry`: size `seq + 1`, hash `entry.hash()`.
    ///
    /// Does not check that `entry` belongs to any particular log; use [`super::verify`]
    /// for that. An entry with `seq == u64::MAX` (which [`Head::append`] never produces)
    /// gives size `u64::MAX`.
    pub fn after(entry: &Entry) -> Head {
        Head {
            size: entry.seq().saturating_add(1),
            hash: entry.hash(),
        }
    }
}

impl Default for Head {
    fn default() -> Self {
        Self::genesis()
    }
}
