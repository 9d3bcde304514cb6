//! Key derivation: PBKDF2-HMAC-SHA256 for passphrases (behind [`Pbkdf2Provider`], so the
//! browser can use native WebCrypto) and HKDF-SHA256 with a distinct context per use.

use core::future::Future;

use hkdf::Hkdf;
use sha2::Sha256;

use crate::secret::Secret32;

/// PBKDF2 iteration count for passphrases (OWASP 2023 recommendation for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Lower bound accepted when reading a stored record: refuses downgraded parameters.
pub const PBKDF2_MIN_ITERATIONS: u32 = 600_000;

/// Upper bound accepted when reading a stored record: refuses parameters that would hang.
pub const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;

/// A PBKDF2 computation failed (only a foreign provider can fail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PBKDF2 provider failed: {0}")]
pub struct KdfError(pub String);

/// Computes PBKDF2-HMAC-SHA256 with a 32-byte output.
///
/// [`RustPbkdf2`] is the reference. Any other provider (the browser shell backs one with
/// `crypto.subtle.deriveBits`) must return identical bytes; the test suites check this.
pub trait Pbkdf2Provider {
    /// PBKDF2-HMAC-SHA256(`password`, `salt`, `iterations`, dkLen = 32).
    fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> impl Future<Output = Result<Secret32, KdfError>>;
}

/// The pure-Rust PBKDF2 provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustPbkdf2;

impl Pbkdf2Provider for RustPbkdf2 {
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Secret32, KdfError> {
        Ok(pbkdf2_sha256(password, salt, iterations))
    }
}

/// Synchronous pure-Rust PBKDF2-HMAC-SHA256 with a 32-byte output.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Secret32 {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    Secret32::from_bytes(out)
}

/// HKDF-SHA256 (RFC 5869) with a 32-byte output; `info` is one of the context constants in
/// [`crate::hazmat::format`].
pub fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &str) -> Secret32 {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand(info.as_bytes(), &mut out);
    Secret32::from_bytes(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 7914 §11: PBKDF2-HMAC-SHA256 ("passwd", "salt", c = 1, dkLen = 64): first 32 bytes.
    #[test]
    fn pbkdf2_rfc7914_vector() {
        let k = pbkdf2_sha256(b"passwd", b"salt", 1);
        assert_eq!(
            k.expose().to_vec(),
            hex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
        );
    }

    /// RFC 7914 §11: ("Password", "NaCl", c = 80000): first 32 bytes.
    #[test]
    fn pbkdf2_rfc7914_vector_80000() {
        let k = pbkdf2_sha256(b"Password", b"NaCl", 80_000);
        assert_eq!(
            k.expose().to_vec(),
            hex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56")
        );
    }

    /// RFC 5869 Appendix A.1 (first 32 bytes of OKM).
    #[test]
    fn hkdf_rfc5869_case1() {
        let ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let hk = Hkdf::<Sha256>::new(Some(&salt), &ikm);
        let mut okm = [0u8; 42];
        hk.expand(&info, &mut okm).unwrap();
        assert_eq!(
            okm.to_vec(),
            hex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
        );
        // Our helper is the same function with a text context.
        let ours = hkdf_sha256(&ikm, &salt, "kms:test");
        let mut expected = [0u8; 32];
        hk.expand(b"kms:test", &mut expected).unwrap();
        assert_eq!(ours.expose(), &expected);
    }

    #[test]
    fn provider_matches_reference() {
        let p = pollster::block_on(RustPbkdf2.pbkdf2_sha256(b"pw", b"salt", 1000)).unwrap();
        assert_eq!(p, pbkdf2_sha256(b"pw", b"salt", 1000));
    }
}
