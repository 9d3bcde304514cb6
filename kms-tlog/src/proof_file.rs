//! C2SP `tlog-proof` (c2sp.org/tlog-proof): a self-contained, offline-verifiable proof that an
//! entry is in a log, stored as a `.tlog-proof` file next to the entry it proves.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64 opaque data>]
//! index <decimal entry index>
//! <base64 inclusion proof hash, from the leaf's sibling up>   (zero or more lines)
//!
//! <signed checkpoint, verbatim>
//! ```

use base64ct::{Base64, Encoding};

use crate::checkpoint::{Checkpoint, CheckpointError, decode_hash, encode_hash, parse_decimal};
use crate::hash::{Hash, leaf_hash};
use crate::note::VerifierKey;
use crate::proof::{ProofError, verify_inclusion};

/// First line of a proof file, naming its format and version.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Recommended file extension, without the dot.
pub const PROOF_EXTENSION: &str = "tlog-proof";
/// Longest inclusion proof of a tree with at most 2^64 − 1 leaves.
pub const MAX_PROOF_HASHES: usize = 64;

/// A proof file is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofFileError {
    /// The file breaks the format.
    #[error("malformed tlog-proof: {0}")]
    Malformed(&'static str),
    /// The embedded checkpoint is malformed or not signed by the log key.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not verify against the checkpoint.
    #[error("inclusion proof does not verify")]
    Inclusion(#[from] ProofError),
}

/// A parsed `.tlog-proof` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data; never trust it without checking it otherwise.
    pub extra: Option<Vec<u8>>,
    /// The entry's index in the log.
    pub index: u64,
    /// The inclusion proof of the entry in the checkpoint's tree.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim (it may carry other signatures, such as witnesses').
    pub checkpoint: String,
}

impl TlogProof {
    /// The file contents.
    pub fn encode(&self) -> String {
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&Base64::encode_string(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            out.push_str(&encode_hash(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a proof file. The checkpoint is kept verbatim, not verified: see
    /// [`TlogProof::verify`].
    ///
    /// # Errors
    /// [`ProofFileError::Malformed`] if the header, `extra`, `index` or hash lines are wrong,
    /// the blank line is missing, or the checkpoint part is empty.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProofFileError> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| ProofFileError::Malformed("not UTF-8"))?;
        let mut rest = text;
        let mut next_line = || -> Result<&str, ProofFileError> {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(ProofFileError::Malformed("unexpected end of file"))?;
            rest = after;
            Ok(line)
        };
        if next_line()? != PROOF_HEADER {
            return Err(ProofFileError::Malformed(
                "first line must be c2sp.org/tlog-proof@v1",
            ));
        }
        let mut line = next_line()?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let data = Base64::decode_vec(b64)
                .ok()
                .filter(|d| !d.is_empty())
                .ok_or(ProofFileError::Malformed("extra must be non-empty base64"))?;
            extra = Some(data);
            line = next_line()?;
        }
        let index = line.strip_prefix("index ").and_then(parse_decimal).ok_or(
            ProofFileError::Malformed("expected index <decimal, no leading zeroes>"),
        )?;
        let mut proof = Vec::new();
        loop {
            let line = next_line()?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(ProofFileError::Malformed("too many proof hashes"));
            }
            proof.push(decode_hash(line).ok_or(ProofFileError::Malformed(
                "proof lines must be base64 of 32 bytes",
            ))?);
        }
        if rest.is_empty() {
            return Err(ProofFileError::Malformed("missing checkpoint"));
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// Verifies that `entry` is entry [`TlogProof::index`] of the log whose checkpoint, signed
    /// by `log_key`, is embedded. Returns the verified checkpoint, which the caller should
    /// then check for consistency with the last checkpoint it trusts
    /// ([`Checkpoint::verify_extended_by`]).
    ///
    /// # Errors
    /// [`ProofFileError::Checkpoint`] if the checkpoint is not validly signed by `log_key`,
    /// [`ProofFileError::Inclusion`] if the entry is not proven.
    pub fn verify(
        &self,
        entry: &[u8],
        log_key: &VerifierKey,
    ) -> Result<Checkpoint, ProofFileError> {
        let checkpoint = Checkpoint::open(self.checkpoint.as_bytes(), log_key)?;
        verify_inclusion(
            &leaf_hash(entry),
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::SignerKey;
    use crate::proof::prove_inclusion;
    use crate::tree::Tree;

    const ORIGIN: &str = "example.com/log";

    fn entries() -> Vec<Vec<u8>> {
        (0..11u8).map(|i| vec![i; usize::from(i) + 1]).collect()
    }

    fn setup() -> (SignerKey, Vec<TlogProof>) {
        let key = SignerKey::from_seed(ORIGIN, &[3; 32]).unwrap();
        let tree = Tree::from_leaf_hashes(entries().iter().map(|e| leaf_hash(e)));
        let checkpoint = Checkpoint::new(ORIGIN, tree.size(), tree.root())
            .sign(&key)
            .unwrap();
        let proofs = (0..tree.size())
            .map(|i| TlogProof {
                extra: None,
                index: i,
                proof: prove_inclusion(&tree, i, tree.size()).unwrap(),
                checkpoint: checkpoint.clone(),
            })
            .collect();
        (key, proofs)
    }

    #[test]
    fn every_entry_round_trips_and_verifies() {
        let (key, proofs) = setup();
        for (entry, proof) in entries().iter().zip(&proofs) {
            let parsed = TlogProof::parse(proof.encode().as_bytes()).unwrap();
            assert_eq!(&parsed, proof);
            let c = parsed.verify(entry, &key.verifier()).unwrap();
            assert_eq!(c.size, 11);
            assert!(parsed.verify(b"other", &key.verifier()).is_err());
        }
    }

    #[test]
    fn extra_round_trips() {
        let (_, proofs) = setup();
        let mut p = proofs[3].clone();
        p.extra = Some(b"release 1.2.3".to_vec());
        let text = p.encode();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra cmVsZWFzZSAxLjIuMw==\nindex 3\n"));
        assert_eq!(TlogProof::parse(text.as_bytes()).unwrap(), p);
    }

    #[test]
    fn wrong_index_key_or_checkpoint_fails() {
        let (key, proofs) = setup();
        let entry = &entries()[4];
        let mut p = proofs[4].clone();
        p.index = 5;
        assert!(matches!(
            p.verify(entry, &key.verifier()),
            Err(ProofFileError::Inclusion(_))
        ));
        let other = SignerKey::from_seed(ORIGIN, &[4; 32]).unwrap();
        assert!(matches!(
            proofs[4].verify(entry, &other.verifier()),
            Err(ProofFileError::Checkpoint(_))
        ));
        let mut p = proofs[4].clone();
        p.checkpoint = p.checkpoint.replacen("\n11\n", "\n12\n", 1);
        assert!(p.verify(entry, &key.verifier()).is_err());
    }

    #[test]
    fn malformed_files_are_refused() {
        let (_, proofs) = setup();
        let good = proofs[0].encode();
        let cases = [
            String::new(),
            good.replacen(PROOF_HEADER, "c2sp.org/tlog-proof@v2", 1),
            good.replacen("index 0", "index 00", 1),
            good.replacen("index 0", "index", 1),
            good.replacen("index 0\n", "", 1),
            good.replacen("index 0\n", "extra \nindex 0\n", 1),
            good.replacen("index 0\n", "extra !!\nindex 0\n", 1),
            good.replacen("index 0\n", "index 0\nAAAA\n", 1),
            good.split("\n\n").next().unwrap().to_owned(),
            format!("{}\n\n", good.split("\n\n").next().unwrap()),
        ];
        for case in &cases {
            assert!(
                TlogProof::parse(case.as_bytes()).is_err(),
                "accepted {case:?}"
            );
        }
        let long = format!(
            "{PROOF_HEADER}\nindex 0\n{}\n{}",
            format!("{}\n", encode_hash(&[0; 32])).repeat(MAX_PROOF_HASHES + 1),
            proofs[0].checkpoint
        );
        assert!(TlogProof::parse(long.as_bytes()).is_err());
    }
}
