//! XEdDSA: EdDSA-compatible signatures made and checked with Curve25519 (X25519) keys.
//!
//! Specification: "The XEdDSA and VXEdDSA Signature Schemes", Trevor Perrin, revision 1,
//! 2016-10-20, <https://signal.org/docs/specifications/xeddsa/>.
//!
//! Signing follows §2.3 (`calculate_key_pair`) and §3.3 (`xeddsa_sign`) exactly: the private
//! scalar is negated when needed so that the Edwards public key has sign bit 0, and the
//! signature's top bit (bit 255, the unused top bit of `s`) is therefore 0.
//!
//! Verification follows §3.4 with libsignal's one extension: libsignal signers do not negate
//! the scalar and instead carry the Edwards sign bit in bit 255 of the signature. The verifier
//! takes the sign bit from there (0 for every spec-conformant signature) and clears it from `s`,
//! so signatures from both kinds of signer verify.

use core::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use super::SignalError;
use crate::secret::Secret32;

/// Length of an XEdDSA signature: `R (32) ‖ s (32)` (XEdDSA §3.3).
pub const SIGNATURE_LENGTH: usize = 64;

/// Length of the random nonce input `Z` (XEdDSA §3.3: 64 bytes of secure random data).
pub const NONCE_LENGTH: usize = 64;

/// Prefix of `hash_1` (XEdDSA §2.5: `hash_i(X) = hash(2^b - 1 - i ‖ X)` with `b = 256`, the
/// integer encoded little-endian in 32 bytes; for `i = 1` that is `0xFE` then 31 × `0xFF`).
const HASH1_PREFIX: [u8; 32] = {
    let mut p = [0xFF; 32];
    p[0] = 0xFE;
    p
};

/// `p = 2^255 - 19`, little-endian (XEdDSA §2.1, Curve25519 parameters).
const FIELD_PRIME: [u8; 32] = {
    let mut p = [0xFF; 32];
    p[0] = 0xED;
    p[31] = 0x7F;
    p
};

/// True when the little-endian 32-byte integer `u` is below `p = 2^255 - 19`.
pub(crate) fn is_canonical_u(u: &[u8; 32]) -> bool {
    // Compare from the most significant byte; public data, so a plain comparison is fine.
    for i in (0..32).rev() {
        if u[i] != FIELD_PRIME[i] {
            return u[i] < FIELD_PRIME[i];
        }
    }
    false
}

/// The Edwards key pair of XEdDSA §2.3 `calculate_key_pair(k)`: `A` with sign bit 0 and the
/// matching scalar `a` (either `k` or `-k mod q`).
struct EdKeyPair {
    a: Scalar,
    cap_a: CompressedEdwardsY,
}

impl Drop for EdKeyPair {
    fn drop(&mut self) {
        self.a.zeroize();
    }
}

impl fmt::Debug for EdKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EdKeyPair(<redacted>)")
    }
}

fn calculate_key_pair(k: &Secret32) -> EdKeyPair {
    let k = Scalar::from_bytes_mod_order(clamp_integer(*k.expose()));
    let e = EdwardsPoint::mul_base(&k);
    let mut cap_a = e.compress();
    let sign = cap_a.0[31] >> 7;
    // a = -k when E's sign bit is 1, else k; A = E with the sign bit cleared.
    let neg = -k;
    let a = Scalar::conditional_select(&k, &neg, subtle::Choice::from(sign));
    cap_a.0[31] &= 0x7F;
    EdKeyPair { a, cap_a }
}

/// Signs `message` with the X25519 private key `private` (clamped before use), using 64 fresh
/// random bytes from `rng` as `Z` (XEdDSA §3.3).
pub fn sign<R: CryptoRng + ?Sized>(
    private: &Secret32,
    message: &[u8],
    rng: &mut R,
) -> [u8; SIGNATURE_LENGTH] {
    let mut z = Zeroizing::new([0u8; NONCE_LENGTH]);
    rng.fill_bytes(&mut z[..]);
    sign_with_nonce(private, message, &z)
}

/// XEdDSA §3.3 with a caller-supplied `Z`. Only for test vectors: `Z` must be fresh and secret.
pub(crate) fn sign_with_nonce(
    private: &Secret32,
    message: &[u8],
    z: &[u8; NONCE_LENGTH],
) -> [u8; SIGNATURE_LENGTH] {
    let kp = calculate_key_pair(private);
    // r = hash_1(a ‖ M ‖ Z) (mod q)
    let mut h1 = Sha512::new();
    h1.update(HASH1_PREFIX);
    let mut a_bytes = Zeroizing::new(kp.a.to_bytes());
    h1.update(&a_bytes[..]);
    a_bytes.zeroize();
    h1.update(message);
    h1.update(z);
    let mut wide = Zeroizing::new(<[u8; 64]>::from(h1.finalize()));
    let mut r = Scalar::from_bytes_mod_order_wide(&wide);
    wide.zeroize();
    // R = rB
    let cap_r = EdwardsPoint::mul_base(&r).compress();
    // h = hash(R ‖ A ‖ M) (mod q)
    let h = challenge(&cap_r, &kp.cap_a, message);
    // s = r + h·a (mod q)
    let s = r + h * kp.a;
    r.zeroize();
    let mut sig = [0u8; SIGNATURE_LENGTH];
    sig[..32].copy_from_slice(cap_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

fn challenge(cap_r: &CompressedEdwardsY, cap_a: &CompressedEdwardsY, message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(cap_r.as_bytes());
    h.update(cap_a.as_bytes());
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&<[u8; 64]>::from(h.finalize()))
}

/// Verifies an XEdDSA signature by the Curve25519 public key `u` (XEdDSA §3.4, with the
/// Edwards sign bit read from bit 255 of the signature as libsignal does).
///
/// # Errors
/// - [`SignalError::WrongLength`] if `signature` is not 64 bytes.
/// - [`SignalError::NonCanonicalKey`] if `u >= p`.
/// - [`SignalError::VerificationFailed`] if the signature does not verify.
pub fn verify(u: &[u8; 32], message: &[u8], signature: &[u8]) -> Result<(), SignalError> {
    super::check_len("XEdDSA signature", SIGNATURE_LENGTH, signature)?;
    if !is_canonical_u(u) {
        return Err(SignalError::NonCanonicalKey {
            what: "XEdDSA public key",
        });
    }
    let mut cap_r = [0u8; 32];
    cap_r.copy_from_slice(&signature[..32]);
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    let sign_bit = s[31] >> 7;
    s[31] &= 0x7F;
    // §3.4: reject s >= 2^|q| = 2^253.
    if s[31] & 0xE0 != 0 {
        return Err(SignalError::VerificationFailed);
    }
    // A = convert_mont(u) with the chosen sign bit.
    let a_point = MontgomeryPoint(*u)
        .to_edwards(sign_bit)
        .ok_or(SignalError::VerificationFailed)?;
    let cap_a = a_point.compress();
    let h = challenge(&CompressedEdwardsY(cap_r), &cap_a, message);
    // Rcheck = sB - hA
    let r_check = EdwardsPoint::vartime_double_scalar_mul_basepoint(
        &h,
        &-a_point,
        &Scalar::from_bytes_mod_order(s),
    );
    if bool::from(r_check.compress().0[..].ct_eq(&cap_r[..])) {
        Ok(())
    } else {
        Err(SignalError::VerificationFailed)
    }
}

/// The Curve25519 public key (Montgomery u) of a private key, `clamp(k)·B`.
pub(crate) fn public_u(private: &Secret32) -> [u8; 32] {
    MontgomeryPoint::mul_base_clamped(*private.expose()).to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn key(seed: u64) -> (Secret32, [u8; 32]) {
        let mut rng = StdRng::seed_from_u64(seed);
        let k = Secret32::random(&mut rng);
        let u = public_u(&k);
        (k, u)
    }

    #[test]
    fn sign_verify_round_trip_and_sign_bit_zero() {
        let mut rng = StdRng::seed_from_u64(1);
        for seed in 0..32 {
            let (k, u) = key(seed);
            let sig = sign(&k, b"hello", &mut rng);
            assert_eq!(sig[63] & 0x80, 0, "spec signers clear bit 255");
            verify(&u, b"hello", &sig).unwrap();
            assert_eq!(
                verify(&u, b"hellO", &sig),
                Err(SignalError::VerificationFailed)
            );
        }
    }

    /// A libsignal-style signer: no negation, the Edwards sign bit carried in bit 255.
    fn libsignal_style_sign(k: &Secret32, message: &[u8], z: &[u8; 64]) -> [u8; 64] {
        let a = Scalar::from_bytes_mod_order(clamp_integer(*k.expose()));
        let cap_a = EdwardsPoint::mul_base(&a).compress();
        let sign_bit = cap_a.0[31] & 0x80;
        let mut h1 = Sha512::new();
        h1.update(HASH1_PREFIX);
        h1.update(clamp_integer(*k.expose()));
        h1.update(message);
        h1.update(z);
        let r = Scalar::from_bytes_mod_order_wide(&<[u8; 64]>::from(h1.finalize()));
        let cap_r = EdwardsPoint::mul_base(&r).compress();
        let h = challenge(&cap_r, &cap_a, message);
        let s = h * a + r;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(cap_r.as_bytes());
        sig[32..].copy_from_slice(s.as_bytes());
        sig[63] |= sign_bit;
        sig
    }

    #[test]
    fn verifies_signatures_carrying_sign_bit_one() {
        let mut seen_one = false;
        for seed in 0..32 {
            let (k, u) = key(seed);
            let sig = libsignal_style_sign(&k, b"msg", &[7; 64]);
            seen_one |= sig[63] & 0x80 != 0;
            verify(&u, b"msg", &sig).unwrap();
            let mut flipped = sig;
            flipped[63] ^= 0x80;
            assert_eq!(
                verify(&u, b"msg", &flipped),
                Err(SignalError::VerificationFailed)
            );
        }
        assert!(seen_one, "some keys must have Edwards sign bit 1");
    }

    #[test]
    fn rejects_bad_lengths_and_non_canonical_keys() {
        let (k, u) = key(3);
        let sig = sign_with_nonce(&k, b"m", &[1; 64]);
        assert!(matches!(
            verify(&u, b"m", &sig[..63]),
            Err(SignalError::WrongLength {
                expected: 64,
                got: 63,
                ..
            })
        ));
        assert!(matches!(
            verify(&FIELD_PRIME, b"m", &sig),
            Err(SignalError::NonCanonicalKey { .. })
        ));
        let mut big_s = sig;
        big_s[63] |= 0x20;
        assert_eq!(
            verify(&u, b"m", &big_s),
            Err(SignalError::VerificationFailed)
        );
    }

    #[test]
    fn canonical_u_boundaries() {
        let mut below = FIELD_PRIME;
        below[0] -= 1;
        assert!(is_canonical_u(&below));
        assert!(!is_canonical_u(&FIELD_PRIME));
        assert!(!is_canonical_u(&[0xFF; 32]));
        assert!(is_canonical_u(&[0; 32]));
    }
}
