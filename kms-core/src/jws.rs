//! Compact JWS (RFC 7515) signed directly with p256 (ES256, RFC 7518 §3.4) and
//! ed25519-dalek (EdDSA, RFC 8037), and a strict verifier with a pinned algorithm.

use core::fmt;

use ed25519_dalek::{Signer as _, Verifier as _};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::format::{EncodeError, to_json};
use crate::secret::Secret32;

/// Largest token accepted by [`verify_compact`].
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A JWS signature algorithm this crate signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwsAlg {
    /// ECDSA P-256 SHA-256, signature = r ‖ s (64 bytes).
    ES256,
    /// Ed25519.
    EdDSA,
}

impl JwsAlg {
    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// A JWS failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// The private key bytes are not a valid key for the algorithm.
    #[error("invalid {alg} private key")]
    InvalidKey {
        /// The algorithm.
        alg: &'static str,
    },
    /// A public key is not a valid point.
    #[error("invalid {alg} public key")]
    InvalidPublicKey {
        /// The algorithm.
        alg: &'static str,
    },
    /// The token is not three base64url segments of JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The token is larger than [`MAX_TOKEN_LEN`].
    #[error("token too large: expected at most {MAX_TOKEN_LEN} bytes, got {0}")]
    TooLarge(usize),
    /// The header's `alg` is not the key's algorithm.
    #[error("algorithm mismatch: expected {expected}, got {got:?}")]
    AlgorithmMismatch {
        /// The key's algorithm.
        expected: &'static str,
        /// The header's `alg`.
        got: String,
    },
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
}

/// A JWS signing key. Private bytes are reachable only through [`SigningKey::secret`].
pub enum SigningKey {
    /// P-256.
    Es256(p256::ecdsa::SigningKey),
    /// Ed25519.
    EdDsa(ed25519_dalek::SigningKey),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.alg().name())
    }
}

impl SigningKey {
    /// A fresh key.
    pub fn generate<R: CryptoRng + ?Sized>(alg: JwsAlg, rng: &mut R) -> Self {
        loop {
            let s = Secret32::random(rng);
            // A P-256 scalar must be in [1, n); retry the ~2^-32 chance it is not.
            if let Ok(k) = Self::from_secret(alg, &s) {
                return k;
            }
        }
    }

    /// Rebuilds a key from its 32 private bytes.
    ///
    /// # Errors
    /// [`JwsError::InvalidKey`] for a P-256 scalar of zero or not below the group order.
    pub fn from_secret(alg: JwsAlg, secret: &Secret32) -> Result<Self, JwsError> {
        match alg {
            JwsAlg::ES256 => p256::ecdsa::SigningKey::from_slice(secret.expose())
                .map(Self::Es256)
                .map_err(|_| JwsError::InvalidKey { alg: "ES256" }),
            JwsAlg::EdDSA => Ok(Self::EdDsa(ed25519_dalek::SigningKey::from_bytes(
                secret.expose(),
            ))),
        }
    }

    /// The 32 private bytes, for sealing under the KEK.
    pub fn secret(&self) -> Secret32 {
        match self {
            Self::Es256(k) => {
                let bytes = k.to_bytes();
                Secret32::from_slice(&bytes).unwrap_or_else(|_| Secret32::from_bytes([0; 32]))
            }
            Self::EdDsa(k) => Secret32::from_bytes(k.to_bytes()),
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> JwsAlg {
        match self {
            Self::Es256(_) => JwsAlg::ES256,
            Self::EdDsa(_) => JwsAlg::EdDSA,
        }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Es256(k) => PublicKey::Es256(*k.verifying_key()),
            Self::EdDsa(k) => PublicKey::EdDsa(k.verifying_key()),
        }
    }

    /// Signs `message`: r ‖ s for ES256 (deterministic, RFC 6979), 64 bytes for EdDSA.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        match self {
            Self::Es256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                let mut out = [0u8; 64];
                out.copy_from_slice(&sig.to_bytes());
                out
            }
            Self::EdDsa(k) => k.sign(message).to_bytes(),
        }
    }
}

/// A JWS verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// P-256.
    Es256(p256::ecdsa::VerifyingKey),
    /// Ed25519.
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// The algorithm.
    pub fn alg(&self) -> JwsAlg {
        match self {
            Self::Es256(_) => JwsAlg::ES256,
            Self::EdDsa(_) => JwsAlg::EdDSA,
        }
    }

    /// Standard encoding: the 65-byte uncompressed SEC1 point, or the 32-byte Ed25519 key.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Es256(k) => k.to_sec1_point(false).as_bytes().to_vec(),
            Self::EdDsa(k) => k.to_bytes().to_vec(),
        }
    }

    /// Parses the standard encoding.
    ///
    /// # Errors
    /// [`JwsError::InvalidPublicKey`].
    pub fn from_bytes(alg: JwsAlg, bytes: &[u8]) -> Result<Self, JwsError> {
        match alg {
            JwsAlg::ES256 => {
                if bytes.len() != 65 {
                    return Err(JwsError::InvalidPublicKey { alg: "ES256" });
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                    .map(Self::Es256)
                    .map_err(|_| JwsError::InvalidPublicKey { alg: "ES256" })
            }
            JwsAlg::EdDSA => {
                let arr: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| JwsError::InvalidPublicKey { alg: "EdDSA" })?;
                ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map(Self::EdDsa)
                    .map_err(|_| JwsError::InvalidPublicKey { alg: "EdDSA" })
            }
        }
    }

    /// Verifies a raw signature over `message`.
    ///
    /// # Errors
    /// [`JwsError::BadSignature`].
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), JwsError> {
        match self {
            Self::Es256(k) => {
                let s =
                    p256::ecdsa::Signature::from_slice(sig).map_err(|_| JwsError::BadSignature)?;
                p256::ecdsa::signature::Verifier::verify(k, message, &s)
                    .map_err(|_| JwsError::BadSignature)
            }
            Self::EdDsa(k) => {
                let arr: [u8; 64] = sig.try_into().map_err(|_| JwsError::BadSignature)?;
                k.verify(message, &ed25519_dalek::Signature::from_bytes(&arr))
                    .map_err(|_| JwsError::BadSignature)
            }
        }
    }
}

/// The protected header this crate writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Media type, `JWT`.
    pub typ: String,
    /// Algorithm.
    pub alg: String,
    /// Key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// A compact JWS before its signature: the signing input `b64(header).b64(claims)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningInput(String);

impl SigningInput {
    /// The signing input of `claims` under a JWT header naming `alg` and `kid`.
    ///
    /// # Errors
    /// [`EncodeError`] if the header or the claims do not encode (never signs empty ones).
    pub fn new<T: Serialize>(
        alg: JwsAlg,
        kid: Option<&str>,
        claims: &T,
    ) -> Result<Self, EncodeError> {
        let header = Header {
            typ: "JWT".into(),
            alg: alg.name().into(),
            kid: kid.map(str::to_owned),
        };
        let h = crate::b64::encode(to_json("JWS header", &header)?);
        let c = crate::b64::encode(to_json("JWS claims", claims)?);
        Ok(Self(format!("{h}.{c}")))
    }

    /// The bytes the signature covers.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The compact JWS with `signature` appended.
    pub fn finish(self, signature: &[u8; 64]) -> String {
        format!("{}.{}", self.0, crate::b64::encode(signature))
    }
}

/// Signs `claims` as a compact JWS `b64(header).b64(claims).b64(signature)`.
///
/// # Errors
/// [`EncodeError`] if the header or the claims do not encode (never signs empty ones).
pub fn sign_compact<T: Serialize>(
    key: &SigningKey,
    kid: Option<&str>,
    claims: &T,
) -> Result<String, EncodeError> {
    let input = SigningInput::new(key.alg(), kid, claims)?;
    let sig = key.sign(input.as_bytes());
    Ok(input.finish(&sig))
}

/// Makes JWS signatures with keys the host holds: [`RustSigner`] in WebAssembly (the
/// reference, and the fallback), or the browser's WebCrypto with each key imported
/// non-extractable for the session. Either way the signature is the 64-byte JWS form
/// (`r ‖ s` for ES256) and verifies under the key's [`PublicKey`].
pub trait Signer {
    /// A key as this signer holds it, for the session (dropped on lock).
    type Key;

    /// Takes `key` in, once per session and key.
    fn import(&self, key: &SigningKey) -> impl Future<Output = Result<Self::Key, SignerError>>;

    /// Signs `message` with `key`.
    fn sign(
        &self,
        key: &Self::Key,
        message: &[u8],
    ) -> impl Future<Output = Result<[u8; 64], SignerError>>;
}

/// A [`Signer`] failed (the browser refused an import or a signature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signer failed: {0}")]
pub struct SignerError(pub String);

/// The pure-Rust [`Signer`]: the key itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustSigner;

impl Signer for RustSigner {
    type Key = SigningKey;

    async fn import(&self, key: &SigningKey) -> Result<SigningKey, SignerError> {
        SigningKey::from_secret(key.alg(), &key.secret()).map_err(|e| SignerError(e.to_string()))
    }

    async fn sign(&self, key: &SigningKey, message: &[u8]) -> Result<[u8; 64], SignerError> {
        Ok(key.sign(message))
    }
}

/// Verifies a compact JWS against `key`, refusing any `alg` but the key's own (so `none`,
/// `HS256` and algorithm confusion fail), and returns its header and claims.
///
/// # Errors
/// [`JwsError`] naming the first failed check.
pub fn verify_compact(
    token: &str,
    key: &PublicKey,
) -> Result<(serde_json::Value, serde_json::Value), JwsError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwsError::TooLarge(token.len()));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed("expected three segments"));
    };
    let header: serde_json::Value = serde_json::from_slice(
        &crate::b64::decode(h).map_err(|_| JwsError::Malformed("header encoding"))?,
    )
    .map_err(|_| JwsError::Malformed("header JSON"))?;
    let alg = header
        .get("alg")
        .and_then(|a| a.as_str())
        .unwrap_or_default();
    if alg != key.alg().name() {
        return Err(JwsError::AlgorithmMismatch {
            expected: key.alg().name(),
            got: alg.chars().take(16).collect(),
        });
    }
    let sig = crate::b64::decode(s).map_err(|_| JwsError::Malformed("signature encoding"))?;
    key.verify(format!("{h}.{c}").as_bytes(), &sig)?;
    let claims = serde_json::from_slice(
        &crate::b64::decode(c).map_err(|_| JwsError::Malformed("claims encoding"))?,
    )
    .map_err(|_| JwsError::Malformed("claims JSON"))?;
    Ok((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn sign_verify_both_algorithms_and_reject_tampering() {
        let mut rng = StdRng::seed_from_u64(3);
        for alg in [JwsAlg::ES256, JwsAlg::EdDSA] {
            let k = SigningKey::generate(alg, &mut rng);
            let t = sign_compact(&k, Some("k1"), &serde_json::json!({"aud": "x"})).unwrap();
            let (h, c) = verify_compact(&t, &k.public_key()).unwrap();
            assert_eq!(h["kid"], "k1");
            assert_eq!(c["aud"], "x");
            let bytes = t.as_bytes();
            for i in 0..bytes.len() {
                let mut b = bytes.to_vec();
                b[i] ^= 1;
                if let Ok(s) = String::from_utf8(b) {
                    assert!(
                        verify_compact(&s, &k.public_key()).is_err(),
                        "{alg:?} byte {i}"
                    );
                }
            }
            let other = SigningKey::generate(alg, &mut rng);
            assert_eq!(
                verify_compact(&t, &other.public_key()),
                Err(JwsError::BadSignature)
            );
            let again = SigningKey::from_secret(alg, &k.secret()).unwrap();
            assert_eq!(again.public_key(), k.public_key());
            assert_eq!(
                PublicKey::from_bytes(alg, &k.public_key().to_bytes()).unwrap(),
                k.public_key()
            );
        }
    }

    #[test]
    fn refuses_none_hs256_and_confusion() {
        let mut rng = StdRng::seed_from_u64(4);
        let k = SigningKey::generate(JwsAlg::ES256, &mut rng);
        let t = sign_compact(&k, None, &serde_json::json!({})).unwrap();
        let payload = t.split('.').nth(1).unwrap();
        for alg in ["none", "HS256", "EdDSA", "ES384"] {
            let h = crate::b64::encode(format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#));
            let forged = format!("{h}.{payload}.");
            assert!(matches!(
                verify_compact(&forged, &k.public_key()),
                Err(JwsError::AlgorithmMismatch { .. })
            ));
        }
        assert!(matches!(
            verify_compact(&"a".repeat(9000), &k.public_key()),
            Err(JwsError::TooLarge(9000))
        ));
        assert!(matches!(
            verify_compact("a.b", &k.public_key()),
            Err(JwsError::Malformed(_))
        ));
    }

    #[test]
    fn zero_p256_scalar_refused_and_debug_redacted() {
        assert!(SigningKey::from_secret(JwsAlg::ES256, &Secret32::from_bytes([0; 32])).is_err());
        let k = SigningKey::from_secret(JwsAlg::EdDSA, &Secret32::from_bytes([0x5a; 32])).unwrap();
        assert_eq!(format!("{k:?}"), "SigningKey(EdDSA, <redacted>)");
    }
}
