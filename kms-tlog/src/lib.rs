//! `kms-tlog`: the transparency log behind verifiable releases of the key management enclave.
//!
//! Each release appends one entry to an append-only Merkle tree log and gets a proof that
//! anyone can check offline. The pieces follow public specifications so that independent tools
//! can check them too:
//!
//! - [`hash`], [`tree`], [`proof`]: RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, inclusion
//!   and consistency proofs.
//! - [`note`]: C2SP `signed-note` with Ed25519 keys, and the verifier/signer key strings.
//! - [`checkpoint`]: C2SP `tlog-checkpoint`, the signed tree head.
//! - [`cosignature`]: C2SP `tlog-cosignature` (Ed25519 `cosignature/v1`), a witness's
//!   timestamped signature on a checkpoint, and quorum counting.
//! - [`witness`]: the request and response bodies of C2SP `tlog-witness` `add-checkpoint`.
//! - [`proof_file`]: C2SP `tlog-proof`, the self-contained `.tlog-proof` file per entry.
//! - [`log`]: a file-backed log laid out per C2SP `tlog-tiles`, so its directory can be served
//!   as static files.
//! - [`statement`]: the entry format of a release.
//! - [`release`]: finding a release in its whole log, as a client checks it before trusting it.
//!
//! A verifier holds the log's verifier key and the last checkpoint it trusted; given a release
//! entry and its `.tlog-proof`, it checks the inclusion and then the consistency of the new
//! checkpoint with the old one:
//!
//! ```
//! use kms_tlog::{checkpoint::Checkpoint, hash::leaf_hash, note::SignerKey, proof, tree::Tree};
//! use kms_tlog::proof_file::TlogProof;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The log side (normally `log::Log`, which keeps its files in a directory).
//! let key = SignerKey::from_seed("releases.example/kms", &[7; 32])?;
//! let entries: Vec<Vec<u8>> = (0..5).map(|i| format!("release {i}\n").into_bytes()).collect();
//! let tree = Tree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
//! let old = Checkpoint::new(key.name(), 3, tree.root_at(3).ok_or("size")?);
//! let signed = Checkpoint::new(key.name(), 5, tree.root()).sign(&key)?;
//! let file = TlogProof {
//!     extra: None,
//!     index: 4,
//!     proof: proof::prove_inclusion(&tree, 4, 5)?,
//!     checkpoint: signed,
//! }
//! .encode();
//!
//! // The verifier side: only the verifier key, the entry, the proof file and the old checkpoint.
//! let verifier = key.verifier();
//! let new = TlogProof::parse(file.as_bytes())?.verify(&entries[4], &verifier)?;
//! old.verify_extended_by(&new, &proof::prove_consistency(&tree, 3, 5)?)?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod cosignature;
pub mod hash;
pub mod log;
pub mod note;
pub mod proof;
pub mod proof_file;
pub mod release;
pub mod statement;
pub mod tree;
pub mod witness;
