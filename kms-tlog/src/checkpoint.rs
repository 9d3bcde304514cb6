//! C2SP `tlog-checkpoint` (c2sp.org/tlog-checkpoint): the signed head of a log.
//!
//! The note text is the origin line, the tree size in decimal, the base64 root hash, and
//! optional non-empty extension lines, each ending in a newline:
//!
//! ```text
//! example.com/log
//! 8
//! XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=
//! ```
//!
//! The text is signed as a [signed note](crate::note). This crate signs a checkpoint only with
//! a key named like its origin, and opens one only with such a key, so a checkpoint of one log
//! cannot pass for another's.

use base64ct::{Base64, Encoding};

use crate::hash::Hash;
use crate::note::{self, NoteError, SignerKey, VerifierKey};
use crate::proof::{self, ProofError};

/// A checkpoint is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note is malformed or its signature does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note text is not a checkpoint body.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The origin is not the one expected.
    #[error("checkpoint origin mismatch: expected {expected:?}, got {got:?}")]
    OriginMismatch {
        /// The expected origin (the log key's name).
        expected: String,
        /// The origin found.
        got: String,
    },
    /// A consistency proof between two checkpoints does not verify.
    #[error("checkpoints are not consistent")]
    Inconsistent(#[from] ProofError),
}

/// The body of a checkpoint: which log, how many entries, and the Merkle root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, for example `example.com/releases`.
    pub origin: String,
    /// The number of entries.
    pub size: u64,
    /// The RFC 6962 Merkle Tree Hash of the first `size` entries.
    pub root: Hash,
    /// Extension lines (opaque, non-empty, without newline); normally none.
    pub extensions: Vec<String>,
}

fn check_line(line: &str, what: &'static str) -> Result<(), CheckpointError> {
    if line.is_empty() || line.chars().any(|c| c.is_control()) {
        Err(CheckpointError::Malformed(what))
    } else {
        Ok(())
    }
}

/// Parses a decimal `u64` with no sign and no leading zeroes (except `0` itself).
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// Decodes a standard padded base64 SHA-256 hash.
pub(crate) fn decode_hash(text: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    match Base64::decode(text, &mut out) {
        Ok(bytes) if bytes.len() == 32 => Some(out),
        _ => None,
    }
}

/// Encodes a hash as standard padded base64.
pub(crate) fn encode_hash(hash: &Hash) -> String {
    Base64::encode_string(hash)
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] if the origin or an extension line is empty or has a
    /// control character.
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        check_line(&self.origin, "origin must be a non-empty line")?;
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_hash(&self.root)
        );
        for ext in &self.extensions {
            check_line(ext, "extension lines must be non-empty lines")?;
            out.push_str(ext);
            out.push('\n');
        }
        Ok(out)
    }

    /// Parses a checkpoint note text (not a signed note: see [`Checkpoint::open`]).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] unless the text is at least three non-empty lines, each
    /// ending in a newline: origin, canonical decimal size, base64 32-byte root hash.
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("text must end in a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Malformed(
                "expected origin, size and root hash lines",
            ));
        };
        check_line(origin, "origin must be a non-empty line")?;
        let size = parse_decimal(size).ok_or(CheckpointError::Malformed(
            "size must be decimal without leading zeroes",
        ))?;
        let root = decode_hash(root).ok_or(CheckpointError::Malformed(
            "root must be base64 of 32 bytes",
        ))?;
        let extensions = lines
            .map(|l| {
                check_line(l, "extension lines must be non-empty lines").map(|()| l.to_owned())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint as a note with the log key, whose name must be the origin.
    ///
    /// # Errors
    /// [`CheckpointError::OriginMismatch`] if the key name is not the origin;
    /// [`CheckpointError::Malformed`] for a bad origin or extension line.
    pub fn sign(&self, signer: &SignerKey) -> Result<String, CheckpointError> {
        if signer.name() != self.origin {
            return Err(CheckpointError::OriginMismatch {
                expected: signer.name().to_owned(),
                got: self.origin.clone(),
            });
        }
        Ok(note::sign(&self.to_text()?, &[signer])?)
    }

    /// Verifies a signed checkpoint with the log's key and parses it. The origin must be the
    /// key's name. Signatures by other keys (witnesses, for example) are ignored.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] if the note is malformed or not validly signed by `log_key`,
    /// [`CheckpointError::Malformed`], [`CheckpointError::OriginMismatch`].
    pub fn open(msg: &[u8], log_key: &VerifierKey) -> Result<Self, CheckpointError> {
        let text = note::open(msg, std::slice::from_ref(log_key))?;
        let checkpoint = Self::parse_text(&text)?;
        if checkpoint.origin != log_key.name() {
            return Err(CheckpointError::OriginMismatch {
                expected: log_key.name().to_owned(),
                got: checkpoint.origin,
            });
        }
        Ok(checkpoint)
    }

    /// Verifies that `newer` extends this checkpoint: same origin, and `proof` is a
    /// consistency proof from this size and root to `newer`'s (RFC 9162 §2.1.4.2). Both
    /// checkpoints must already be verified with [`Checkpoint::open`].
    ///
    /// # Errors
    /// [`CheckpointError::OriginMismatch`], or [`CheckpointError::Inconsistent`] if `newer`
    /// is smaller or the proof fails.
    pub fn verify_extended_by(
        &self,
        newer: &Checkpoint,
        proof: &[Hash],
    ) -> Result<(), CheckpointError> {
        if newer.origin != self.origin {
            return Err(CheckpointError::OriginMismatch {
                expected: self.origin.clone(),
                got: newer.origin.clone(),
            });
        }
        proof::verify_consistency(self.size, newer.size, &self.root, &newer.root, proof)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{EMPTY_ROOT, leaf_hash};
    use crate::proof::prove_consistency;
    use crate::tree::Tree;

    const ORIGIN: &str = "example.com/log";

    fn key() -> SignerKey {
        SignerKey::from_seed(ORIGIN, &[5; 32]).unwrap()
    }

    #[test]
    fn text_round_trip() {
        let mut c = Checkpoint::new(ORIGIN, 8, [7; 32]);
        assert_eq!(
            c.to_text().unwrap(),
            "example.com/log\n8\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n"
        );
        c.extensions.push("ext one".into());
        assert_eq!(Checkpoint::parse_text(&c.to_text().unwrap()).unwrap(), c);
    }

    #[test]
    fn sign_and_open() {
        let c = Checkpoint::new(ORIGIN, 0, EMPTY_ROOT);
        let signed = c.sign(&key()).unwrap();
        assert_eq!(
            Checkpoint::open(signed.as_bytes(), &key().verifier()).unwrap(),
            c
        );
        let other = SignerKey::from_seed(ORIGIN, &[6; 32]).unwrap();
        assert!(matches!(
            Checkpoint::open(signed.as_bytes(), &other.verifier()),
            Err(CheckpointError::Note(NoteError::Unverified))
        ));
    }

    #[test]
    fn origin_must_be_the_key_name() {
        let c = Checkpoint::new("example.com/other", 0, EMPTY_ROOT);
        assert!(matches!(
            c.sign(&key()),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        // Signed with a key named otherwise through the note layer directly.
        let text = c.to_text().unwrap();
        let signed = note::sign(&text, &[&key()]).unwrap();
        assert!(matches!(
            Checkpoint::open(signed.as_bytes(), &key().verifier()),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let root = encode_hash(&[1; 32]);
        let cases = [
            String::new(),
            "o\n1\n".to_owned(),
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n1 \n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nAAAA\n".to_owned(),
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\next\n\n"),
        ];
        for case in &cases {
            assert!(Checkpoint::parse_text(case).is_err(), "accepted {case:?}");
        }
        assert!(Checkpoint::parse_text(&format!("o\n0\n{root}\n")).is_ok());
        assert!(Checkpoint::parse_text(&format!("o\n18446744073709551615\n{root}\n")).is_ok());
    }

    #[test]
    fn consistency_between_checkpoints() {
        let tree = Tree::from_leaf_hashes((0..10u8).map(|i| leaf_hash(&[i])));
        let old = Checkpoint::new(ORIGIN, 4, tree.root_at(4).unwrap());
        let new = Checkpoint::new(ORIGIN, 10, tree.root());
        let proof = prove_consistency(&tree, 4, 10).unwrap();
        old.verify_extended_by(&new, &proof).unwrap();
        assert!(new.verify_extended_by(&old, &proof).is_err());
        let mut forked = new.clone();
        forked.root[0] ^= 1;
        assert!(old.verify_extended_by(&forked, &proof).is_err());
        let mut renamed = new.clone();
        renamed.origin = "example.com/other".into();
        assert!(matches!(
            old.verify_extended_by(&renamed, &proof),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }
}
