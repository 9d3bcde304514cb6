//! Signal identity keys, prekeys, prekey bundles and the PQXDH key agreement, compatible with
//! libsignal.
//!
//! - [`xeddsa`]: XEdDSA signatures with Curve25519 (Montgomery) keys.
//! - [`identity`]: Curve25519 key pairs, the identity key pair and the `0x05 ‖ u` public key
//!   encoding.
//! - [`kem`]: the post-quantum KEM keys of Kyber prekeys (Kyber-1024 as libsignal ships it,
//!   ML-KEM-1024 and ML-KEM-768).
//! - [`prekeys`]: signed, one-time and Kyber prekeys.
//! - [`bundle`]: the public prekey bundle a peer fetches to start a session.
//! - [`pqxdh`]: the PQXDH handshake secret, initiator and responder sides.
//! - [`page_signature`]: identity-key signatures over a page's own data, under a domain
//!   that no certified format can start with.
//! - [`session`]: sessions with a peer device (the Double Ratchet started by PQXDH, with
//!   libsignal's session record behaviour), in a versioned [`SessionRecord`].
//! - [`wire`]: libsignal's `SignalMessage` and `PreKeySignalMessage`.
//! - [`ratchet`]: the Double Ratchet's bounds (skipped keys, chains).
//! - [`pq_ratchet`]: libsignal's post-quantum ratchet (SPQR) bounds and version.
//! - [`fingerprint`]: safety numbers for identity trust decisions.
//!
//! Every encoding, with test vectors, is described in `docs/formats/signal.md`.

pub mod bundle;
pub mod fingerprint;
pub mod identity;
pub mod kem;
pub mod page_signature;
pub mod pq_ratchet;
pub mod pqxdh;
pub mod prekeys;
mod proto;
pub mod ratchet;
pub mod session;
pub mod wire;
pub mod xeddsa;

pub use bundle::PreKeyBundle;
pub use fingerprint::SafetyNumber;
pub use identity::{IdentityKeyPair, KeyPair, PublicKey};
pub use kem::{KemAlgorithm, KemKeyPair, KemPublicKey};
pub use prekeys::{KyberPreKey, OneTimePreKey, Signed, SignedKeyPair, SignedPreKey};
pub use session::{
    Address, Decrypted, Encrypted, IdentityChange, OurPreKeys, PreKeysUsed, RecordError,
    SessionError, SessionRecord, Trust,
};
pub use wire::{CiphertextMessage, PreKeySignalMessage, SignalMessage};

/// Everything that can go wrong in the Signal module.
///
/// Encoding problems name what was expected and what was found. Failed cryptographic checks
/// (a signature that does not verify) share the single opaque variant
/// [`SignalError::VerificationFailed`], so callers learn nothing about why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// A byte string had the wrong length.
    #[error("wrong length for {what}: expected {expected} bytes, got {got}")]
    WrongLength {
        /// The object being read.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A serialized key or ciphertext started with the wrong type byte.
    #[error("wrong type byte for {what}: expected {expected}, got {got:#04x}")]
    WrongType {
        /// The object being read.
        what: &'static str,
        /// The accepted type byte(s), as text.
        expected: &'static str,
        /// The type byte found.
        got: u8,
    },
    /// Two inputs that must use the same KEM use different ones.
    #[error("KEM mismatch: expected {expected}, got {got}")]
    KemMismatch {
        /// The algorithm of the key.
        expected: KemAlgorithm,
        /// The algorithm of the other input.
        got: KemAlgorithm,
    },
    /// A Curve25519 public key was not a canonical u-coordinate (`u < 2^255 - 19`).
    #[error("invalid {what}: expected a canonical Curve25519 u-coordinate, got a value >= p")]
    NonCanonicalKey {
        /// The key being read.
        what: &'static str,
    },
    /// An encapsulation key failed the FIPS 203 modulus check.
    #[error("invalid {what}: expected coefficients below q = 3329, got an out-of-range one")]
    InvalidKemKey {
        /// The key being read.
        what: &'static str,
    },
    /// A Diffie-Hellman with a peer key gave the all-zero output (a low-order point).
    #[error("invalid {what}: expected a contributory public key, got a low-order point")]
    LowOrderKey {
        /// The peer key involved.
        what: &'static str,
    },
    /// A run of prekey ids does not fit in `u32`.
    #[error("prekey ids out of range: expected {start} + {count} <= 2^32, got an overflow")]
    IdOverflow {
        /// First id requested.
        start: u32,
        /// Number of ids requested.
        count: u32,
    },
    /// Two inputs that must match do not (for example a prekey id in a message and the
    /// prekey supplied).
    #[error("mismatched {what}: expected {expected}, got {got}")]
    Mismatch {
        /// What was compared.
        what: &'static str,
        /// The value required.
        expected: String,
        /// The value given.
        got: String,
    },
    /// A signature did not verify. Deliberately carries no detail.
    #[error("verification failed")]
    VerificationFailed,
}

pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    bytes: &[u8],
) -> Result<(), SignalError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(SignalError::WrongLength {
            what,
            expected,
            got: bytes.len(),
        })
    }
}

#[cfg(test)]
mod tests;
