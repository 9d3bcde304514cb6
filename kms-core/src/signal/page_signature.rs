//! Signatures the identity key makes over a page's own data (`signal.sign`).
//!
//! The identity key certifies other keys: signed prekeys (XEdDSA over `0x05 ‖ u`), Kyber
//! prekeys (over `type ‖ ek`) and envelope and epoch prekeys (over
//! `canonical("kms:envelope-prekey:v1", …)`). A page that could have any bytes signed could
//! certify key pairs of its own and read senders' future messages without the enclave. So
//! the page never chooses the signed bytes: the enclave signs
//!
//! ```text
//! canonical("kms:page-signature:v1", [origin, message])
//!   = u32be(21) ‖ "kms:page-signature:v1" ‖ u32be(len origin) ‖ origin ‖ u32be(len m) ‖ m
//! ```
//!
//! which starts with `00 00 00 15 6b` — never `0x05` (a signed prekey), a KEM type byte (a
//! Kyber prekey), or another canonical label (an envelope or epoch prekey, whose label
//! differs in length and bytes). The calling origin is bound in, so a signature made for
//! one app does not verify as another's. Verifiers check with [`verify`].

use rand_core::CryptoRng;

use super::SignalError;
use super::identity::{IdentityKeyPair, PublicKey};
use super::xeddsa::SIGNATURE_LENGTH;
use crate::format;

/// Domain-separation label of page signatures.
pub const LABEL: &str = "kms:page-signature:v1";

/// The bytes the identity key signs for `origin`'s `message`.
pub fn message(origin: &str, message: &[u8]) -> Vec<u8> {
    format::canonical(LABEL, &[origin.as_bytes(), message])
}

/// Signs `data` for the page at `origin`.
pub fn sign<R: CryptoRng + ?Sized>(
    identity: &IdentityKeyPair,
    rng: &mut R,
    origin: &str,
    data: &[u8],
) -> [u8; SIGNATURE_LENGTH] {
    identity.sign(rng, &message(origin, data))
}

/// Checks a page signature by `identity` over `data` for `origin`.
///
/// # Errors
/// [`SignalError::VerificationFailed`] (or a length error for a malformed signature).
pub fn verify(
    identity: &PublicKey,
    origin: &str,
    data: &[u8],
    signature: &[u8],
) -> Result<(), SignalError> {
    identity.verify(&message(origin, data), signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let m = message("https://a.example", b"hi");
        let mut expected = vec![0, 0, 0, 21];
        expected.extend_from_slice(b"kms:page-signature:v1");
        expected.extend_from_slice(&[0, 0, 0, 17]);
        expected.extend_from_slice(b"https://a.example");
        expected.extend_from_slice(&[0, 0, 0, 2]);
        expected.extend_from_slice(b"hi");
        assert_eq!(m, expected);
    }
}
