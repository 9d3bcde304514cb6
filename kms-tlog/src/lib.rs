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
//! - [`proof_file`]: C2SP `tlog-proof`, the self-contained `.tlog-proof` file per entry.
//! - [`log`]: a file-backed log laid out per C2SP `tlog-tiles`, so its directory can be served
//!   as static files.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod hash;
pub mod log;
pub mod note;
pub mod proof;
pub mod proof_file;
pub mod tree;
