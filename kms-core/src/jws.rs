//! Compact JSON Web Signatures (RFC 7515 §7.1) with the two algorithms the enclave signs
//! with: ES256 (ECDSA P-256 + SHA-256, RFC 7518 §3.4) and EdDSA over Ed25519 (RFC 8037 §3.1).
//!
//! [`JwsSigner`] holds a private key and produces `header.payload.signature` tokens;
//! [`verify_compact`] checks one against a pinned [`JwsPublicKey`]. The verifier never takes
//! the algorithm from the token: the key decides it, and `none`, HMAC algorithms, unknown
//! algorithms and any mismatch are refused before a signature is looked at.
//!
//! The layouts of the tokens built on top of this module are in `docs/formats/jws.md`.

use core::fmt;

// One `signature` crate serves both curves: these traits also drive `p256::ecdsa`.
use ed25519_dalek::{Signer as _, Verifier as _};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::b64;
use crate::secret::Secret32;

/// Largest compact token [`verify_compact`] reads, in bytes. Tokens the enclave issues are a
/// few hundred bytes; the cap bounds decoding and JSON parsing work on hostile input.
pub const MAX_COMPACT_LEN: usize = 8 * 1024;

/// Length of an ES256 signature: `r ‖ s`, each a 32-byte big-endian integer
/// (RFC 7518 §3.4), and of an Ed25519 signature (RFC 8032 §5.1.6).
pub const SIGNATURE_LEN: usize = 64;

/// A JWS signature algorithm this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwsAlg {
    /// ECDSA using P-256 and SHA-256 (RFC 7518 §3.4), `"ES256"`.
    #[serde(rename = "ES256")]
    Es256,
    /// EdDSA with the Ed25519 curve (RFC 8037 §3.1), `"EdDSA"`.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl JwsAlg {
    /// The JOSE `alg` name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name; exact, case-sensitive match (RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

impl fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The JOSE header of a compact JWS, limited to the members the enclave writes.
///
/// Members serialize in the order `typ`, `alg`, `kid`, which reproduces the RFC 8292 §2.4
/// example header byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// Media type of the complete JWS (RFC 7515 §4.1.9), e.g. `"JWT"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Signature algorithm (RFC 7515 §4.1.1).
    pub alg: JwsAlg,
    /// Key identifier (RFC 7515 §4.1.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

impl Header {
    /// A header naming only `alg`.
    pub fn new(alg: JwsAlg) -> Self {
        Self {
            typ: None,
            alg,
            kid: None,
        }
    }

    /// Sets `typ`.
    #[must_use]
    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }
}

/// The header as read from a token, before its `alg` is checked.
#[derive(Deserialize)]
struct WireHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    /// Present only to be refused: this verifier understands no extensions (RFC 7515 §4.1.11).
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// Errors from signing or verifying a JWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// The private key bytes are not a usable key for the algorithm.
    #[error("invalid {alg} private key: {reason}")]
    InvalidPrivateKey {
        /// The algorithm the key was meant for.
        alg: JwsAlg,
        /// What was wrong.
        reason: &'static str,
    },
    /// The public key bytes are not a valid key for the algorithm.
    #[error("invalid {alg} public key: {reason}")]
    InvalidPublicKey {
        /// The algorithm the key was meant for.
        alg: JwsAlg,
        /// What was wrong.
        reason: &'static str,
    },
    /// The header asked for an algorithm other than the signer's.
    #[error("header algorithm mismatch: expected {expected}, got {got}")]
    HeaderAlgMismatch {
        /// The signer's algorithm.
        expected: JwsAlg,
        /// The header's algorithm.
        got: JwsAlg,
    },
    /// The token is longer than [`MAX_COMPACT_LEN`].
    #[error("token too large: expected at most {max} bytes, got {got}")]
    TooLarge {
        /// The cap.
        max: usize,
        /// The token's length.
        got: usize,
    },
    /// The token is not three non-empty base64url segments joined by `.`.
    #[error("malformed compact JWS: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// The header is not a JSON object with a string `alg`.
    #[error("invalid JWS header: {reason}")]
    InvalidHeader {
        /// What was wrong.
        reason: String,
    },
    /// The header names the unsecured `none` algorithm (RFC 7518 §3.6); always refused.
    #[error("unsecured JWS: expected a signature algorithm, got \"none\"")]
    AlgNone,
    /// The header names an HMAC algorithm (RFC 7518 §3.2); a public key never verifies one.
    #[error("symmetric JWS algorithm refused: expected ES256 or EdDSA, got {got:?}")]
    SymmetricAlg {
        /// The header's `alg`.
        got: String,
    },
    /// The header names an algorithm this crate does not implement.
    #[error("unsupported JWS algorithm: expected ES256 or EdDSA, got {got:?}")]
    UnsupportedAlg {
        /// The header's `alg`.
        got: String,
    },
    /// The header's algorithm is not the verification key's.
    #[error("JWS algorithm mismatch: expected {expected}, got {got}")]
    AlgMismatch {
        /// The key's algorithm.
        expected: JwsAlg,
        /// The header's algorithm.
        got: JwsAlg,
    },
    /// The header carries `crit`; no extensions are understood (RFC 7515 §4.1.11).
    #[error("JWS header lists critical extensions; none are supported")]
    CriticalHeader,
    /// The signature segment does not decode to a well-formed signature.
    #[error(
        "malformed signature: expected {expected} bytes with in-range scalars, got {got} bytes"
    )]
    MalformedSignature {
        /// Required length.
        expected: usize,
        /// Decoded length.
        got: usize,
    },
    /// The signature does not verify under the key.
    #[error("signature verification failed")]
    BadSignature,
    /// The payload is not a JSON object.
    #[error("invalid JWS payload: {reason}")]
    InvalidPayload {
        /// What was wrong.
        reason: String,
    },
    /// The claims or header could not be serialized.
    #[error("could not serialize {what}: {reason}")]
    Serialize {
        /// The object being serialized.
        what: &'static str,
        /// The serializer's message.
        reason: String,
    },
}

/// A public key that verifies JWS signatures; its variant pins the algorithm.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JwsPublicKey {
    /// A P-256 point, for ES256.
    Es256(p256::ecdsa::VerifyingKey),
    /// An Ed25519 point, for EdDSA.
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl JwsPublicKey {
    /// The algorithm this key verifies.
    pub fn alg(&self) -> JwsAlg {
        match self {
            Self::Es256(_) => JwsAlg::Es256,
            Self::EdDsa(_) => JwsAlg::EdDsa,
        }
    }

    /// The key's canonical bytes: the 65-byte uncompressed SEC1 point (SEC 1 §2.3.3) for
    /// ES256, the 32-byte encoded point (RFC 8032 §5.1.2) for EdDSA.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Es256(k) => k.to_sec1_point(false).as_bytes().to_vec(),
            Self::EdDsa(k) => k.as_bytes().to_vec(),
        }
    }

    /// Reads a key from its canonical bytes (see [`JwsPublicKey::to_bytes`]).
    ///
    /// ES256 keys must be uncompressed points on the curve; EdDSA keys must decode to a
    /// point outside the small-order subgroup.
    ///
    /// # Errors
    /// [`JwsError::InvalidPublicKey`] otherwise.
    pub fn from_bytes(alg: JwsAlg, bytes: &[u8]) -> Result<Self, JwsError> {
        let invalid = |reason| JwsError::InvalidPublicKey { alg, reason };
        match alg {
            JwsAlg::Es256 => {
                // SEC 1 §2.3.3: 0x04 ‖ X ‖ Y, 65 bytes for P-256.
                if bytes.len() != 65 || bytes.first() != Some(&0x04) {
                    return Err(invalid("expected a 65-byte uncompressed point"));
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                    .map(Self::Es256)
                    .map_err(|_| invalid("not a point on P-256"))
            }
            JwsAlg::EdDsa => {
                let arr: &[u8; 32] = bytes.try_into().map_err(|_| invalid("expected 32 bytes"))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(arr)
                    .map_err(|_| invalid("not an Ed25519 point"))?;
                if key.is_weak() {
                    return Err(invalid("small-order point"));
                }
                Ok(Self::EdDsa(key))
            }
        }
    }

    /// Checks `signature` over `message` (the JWS signing input).
    ///
    /// # Errors
    /// [`JwsError::MalformedSignature`] if the signature has the wrong length or out-of-range
    /// scalars, [`JwsError::BadSignature`] if it does not verify.
    pub fn verify_raw(&self, message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
        let malformed = JwsError::MalformedSignature {
            expected: SIGNATURE_LEN,
            got: signature.len(),
        };
        match self {
            Self::Es256(key) => {
                // RFC 7518 §3.4: exactly 64 bytes, r ‖ s; r and s in [1, n-1].
                if signature.len() != SIGNATURE_LEN {
                    return Err(malformed);
                }
                let sig = p256::ecdsa::Signature::from_slice(signature).map_err(|_| malformed)?;
                key.verify(message, &sig)
                    .map_err(|_| JwsError::BadSignature)
            }
            Self::EdDsa(key) => {
                let arr: &[u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| malformed)?;
                let sig = ed25519_dalek::Signature::from_bytes(arr);
                // Strict verification: rejects non-canonical S and small-order R and A.
                key.verify_strict(message, &sig)
                    .map_err(|_| JwsError::BadSignature)
            }
        }
    }
}

impl fmt::Debug for JwsPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "JwsPublicKey({}, {})",
            self.alg(),
            b64::encode(self.to_bytes())
        )
    }
}

enum SignerKey {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

/// A private signing key for one [`JwsAlg`]. Zeroized on drop (by the underlying key types);
/// its `Debug` shows the algorithm and public key only.
pub struct JwsSigner {
    key: SignerKey,
}

impl JwsSigner {
    /// A fresh random key.
    pub fn generate<R: CryptoRng + ?Sized>(alg: JwsAlg, rng: &mut R) -> Self {
        let key = match alg {
            JwsAlg::Es256 => {
                use p256::elliptic_curve::Generate as _;
                SignerKey::Es256(p256::ecdsa::SigningKey::generate_from_rng(rng))
            }
            JwsAlg::EdDsa => SignerKey::EdDsa(ed25519_dalek::SigningKey::generate(rng)),
        };
        Self { key }
    }

    /// Rebuilds a key from its 32 private bytes: the big-endian scalar for ES256 (SEC 1
    /// §2.3.6), the seed for EdDSA (RFC 8032 §5.1.5).
    ///
    /// # Errors
    /// [`JwsError::InvalidPrivateKey`] if the bytes are all zero, or for ES256 if they are not
    /// a scalar in `[1, n-1]`.
    pub fn from_secret(alg: JwsAlg, secret: &Secret32) -> Result<Self, JwsError> {
        if secret.is_all_zero() {
            return Err(JwsError::InvalidPrivateKey {
                alg,
                reason: "all-zero key",
            });
        }
        let key = match alg {
            JwsAlg::Es256 => SignerKey::Es256(
                p256::ecdsa::SigningKey::from_slice(secret.expose()).map_err(|_| {
                    JwsError::InvalidPrivateKey {
                        alg,
                        reason: "expected a scalar in [1, n-1]",
                    }
                })?,
            ),
            JwsAlg::EdDsa => {
                SignerKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(secret.expose()))
            }
        };
        Ok(Self { key })
    }

    /// The 32 private bytes, in the form [`JwsSigner::from_secret`] reads, for wrapping.
    pub fn secret(&self) -> Secret32 {
        match &self.key {
            SignerKey::Es256(k) => {
                let mut bytes = k.to_bytes();
                let out = Secret32::from_bytes(bytes.0);
                bytes.zeroize();
                out
            }
            SignerKey::EdDsa(k) => {
                let mut bytes = k.to_bytes();
                let out = Secret32::from_bytes(bytes);
                bytes.zeroize();
                out
            }
        }
    }

    /// The signer's algorithm.
    pub fn alg(&self) -> JwsAlg {
        match self.key {
            SignerKey::Es256(_) => JwsAlg::Es256,
            SignerKey::EdDsa(_) => JwsAlg::EdDsa,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> JwsPublicKey {
        match &self.key {
            SignerKey::Es256(k) => JwsPublicKey::Es256(*k.verifying_key()),
            SignerKey::EdDsa(k) => JwsPublicKey::EdDsa(k.verifying_key()),
        }
    }

    /// Signs `message` and returns the 64-byte JWS signature: `r ‖ s` for ES256 (RFC 7518
    /// §3.4, deterministic nonce per RFC 6979), the Ed25519 signature for EdDSA.
    pub fn sign_raw(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        match &self.key {
            SignerKey::Es256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                let mut out = [0u8; SIGNATURE_LEN];
                out.copy_from_slice(&sig.to_bytes());
                out
            }
            SignerKey::EdDsa(k) => k.sign(message).to_bytes(),
        }
    }

    /// Builds a compact JWS (RFC 7515 §7.1) over arbitrary payload bytes.
    ///
    /// # Errors
    /// [`JwsError::HeaderAlgMismatch`] if `header.alg` is not the signer's algorithm.
    pub fn sign_compact_bytes(&self, header: &Header, payload: &[u8]) -> Result<String, JwsError> {
        if header.alg != self.alg() {
            return Err(JwsError::HeaderAlgMismatch {
                expected: self.alg(),
                got: header.alg,
            });
        }
        let header_json = serde_json::to_vec(header).map_err(|e| JwsError::Serialize {
            what: "header",
            reason: e.to_string(),
        })?;
        // RFC 7515 §5.1 steps 2-8: signing input is
        // BASE64URL(UTF8(header)) ‖ '.' ‖ BASE64URL(payload).
        let mut token = b64::encode(header_json);
        token.push('.');
        token.push_str(&b64::encode(payload));
        let signature = self.sign_raw(token.as_bytes());
        token.push('.');
        token.push_str(&b64::encode(signature));
        Ok(token)
    }

    /// Builds a compact JWS whose payload is `claims` serialized as JSON.
    ///
    /// # Errors
    /// [`JwsError::HeaderAlgMismatch`] if `header.alg` is not the signer's algorithm,
    /// [`JwsError::Serialize`] if `claims` does not serialize to a JSON object.
    pub fn sign_compact<C: Serialize + ?Sized>(
        &self,
        header: &Header,
        claims: &C,
    ) -> Result<String, JwsError> {
        let value = serde_json::to_value(claims).map_err(|e| JwsError::Serialize {
            what: "claims",
            reason: e.to_string(),
        })?;
        // RFC 7519 §7.1 step 2: the claims set is a JSON object.
        if !value.is_object() {
            return Err(JwsError::Serialize {
                what: "claims",
                reason: "expected a JSON object".into(),
            });
        }
        let payload = serde_json::to_vec(claims).map_err(|e| JwsError::Serialize {
            what: "claims",
            reason: e.to_string(),
        })?;
        self.sign_compact_bytes(header, &payload)
    }
}

impl fmt::Debug for JwsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwsSigner")
            .field("alg", &self.alg())
            .field("public", &b64::encode(self.public_key().to_bytes()))
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

/// The header of a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHeader {
    /// The algorithm, equal to the verification key's.
    pub alg: JwsAlg,
    /// `typ`, if present.
    pub typ: Option<String>,
    /// `kid`, if present.
    pub kid: Option<String>,
}

/// A header read without verifying the token; untrusted until [`verify_compact`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedHeader {
    /// `alg` as written, not yet checked.
    pub alg: String,
    /// `typ`, if present.
    pub typ: Option<String>,
    /// `kid`, if present.
    pub kid: Option<String>,
}

/// Reads the header of a compact JWS without verifying anything, e.g. to pick a key by `kid`.
///
/// # Errors
/// As for [`verify_compact`], for the size, segment and header checks.
pub fn peek_header(token: &str) -> Result<UnverifiedHeader, JwsError> {
    let (header, _, _) = split(token)?;
    let wire = parse_header(header)?;
    Ok(UnverifiedHeader {
        alg: wire.alg,
        typ: wire.typ,
        kid: wire.kid,
    })
}

/// Verifies a compact JWS under `key` and returns its header and raw payload bytes.
///
/// # Errors
/// See [`verify_compact`]; the payload is not parsed.
pub fn verify_compact_bytes(
    token: &str,
    key: &JwsPublicKey,
) -> Result<(VerifiedHeader, Vec<u8>), JwsError> {
    let (header_b64, payload_b64, signature_b64) = split(token)?;
    let wire = parse_header(header_b64)?;
    let alg = check_alg(&wire.alg, key.alg())?;
    if wire.crit.is_some() {
        return Err(JwsError::CriticalHeader);
    }
    let signature = b64::decode(signature_b64).map_err(|_| JwsError::Malformed {
        reason: "signature is not base64url",
    })?;
    let payload = b64::decode(payload_b64).map_err(|_| JwsError::Malformed {
        reason: "payload is not base64url",
    })?;
    // RFC 7515 §5.2 step 8: the signature covers the segments exactly as received.
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = token
        .as_bytes()
        .get(..signing_input_len)
        .ok_or(JwsError::Malformed {
            reason: "truncated",
        })?;
    key.verify_raw(signing_input, &signature)?;
    Ok((
        VerifiedHeader {
            alg,
            typ: wire.typ,
            kid: wire.kid,
        },
        payload,
    ))
}

/// Verifies a compact JWS under `key` and returns its header and JSON-object payload.
///
/// The algorithm is pinned by the key: the header's `alg` must name it exactly.
///
/// # Errors
/// - [`JwsError::TooLarge`] above [`MAX_COMPACT_LEN`];
/// - [`JwsError::Malformed`] unless three non-empty canonical base64url segments;
/// - [`JwsError::InvalidHeader`] if the header is not a JSON object with a string `alg`
///   (duplicate members are refused);
/// - [`JwsError::AlgNone`], [`JwsError::SymmetricAlg`], [`JwsError::UnsupportedAlg`],
///   [`JwsError::AlgMismatch`] for an `alg` other than the key's;
/// - [`JwsError::CriticalHeader`] if `crit` is present;
/// - [`JwsError::MalformedSignature`], [`JwsError::BadSignature`] for signature failures;
/// - [`JwsError::InvalidPayload`] if the verified payload is not a JSON object.
pub fn verify_compact(
    token: &str,
    key: &JwsPublicKey,
) -> Result<(VerifiedHeader, serde_json::Value), JwsError> {
    let (header, payload) = verify_compact_bytes(token, key)?;
    let value: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| JwsError::InvalidPayload {
            reason: e.to_string(),
        })?;
    // RFC 7519 §7.2 step 10: a JWT claims set is a JSON object.
    if !value.is_object() {
        return Err(JwsError::InvalidPayload {
            reason: "expected a JSON object".into(),
        });
    }
    Ok((header, value))
}

fn split(token: &str) -> Result<(&str, &str, &str), JwsError> {
    if token.len() > MAX_COMPACT_LEN {
        return Err(JwsError::TooLarge {
            max: MAX_COMPACT_LEN,
            got: token.len(),
        });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        // RFC 7515 §7.1: exactly three segments (five would be a JWE, RFC 7516 §7.1).
        return Err(JwsError::Malformed {
            reason: "expected three '.'-separated segments",
        });
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(JwsError::Malformed {
            reason: "empty segment",
        });
    }
    Ok((h, p, s))
}

fn parse_header(header_b64: &str) -> Result<WireHeader, JwsError> {
    let bytes = b64::decode(header_b64).map_err(|_| JwsError::Malformed {
        reason: "header is not base64url",
    })?;
    // RFC 7515 §5.2 step 4: a JSON object; serde refuses duplicate members.
    serde_json::from_slice(&bytes).map_err(|e| JwsError::InvalidHeader {
        reason: e.to_string(),
    })
}

fn check_alg(got: &str, expected: JwsAlg) -> Result<JwsAlg, JwsError> {
    let clipped = || got.chars().take(32).collect::<String>();
    match JwsAlg::from_name(got) {
        Some(alg) if alg == expected => Ok(alg),
        Some(alg) => Err(JwsError::AlgMismatch { expected, got: alg }),
        // RFC 7518 §3.6 and RFC 8725 §3.1: never accept an unsecured JWS.
        None if got.eq_ignore_ascii_case("none") => Err(JwsError::AlgNone),
        // RFC 8725 §2.1: a public key must never be used as an HMAC secret.
        None if got.starts_with("HS") => Err(JwsError::SymmetricAlg { got: clipped() }),
        None => Err(JwsError::UnsupportedAlg { got: clipped() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip() {
        for alg in [JwsAlg::Es256, JwsAlg::EdDsa] {
            assert_eq!(JwsAlg::from_name(alg.name()), Some(alg));
            assert_eq!(
                serde_json::to_string(&alg).unwrap(),
                format!("\"{}\"", alg.name())
            );
        }
        assert_eq!(JwsAlg::from_name("es256"), None);
    }

    #[test]
    fn p256_scalar_out_of_range_is_refused() {
        // n itself (SEC 2 §2.4.2), and all-ones, are not valid scalars.
        let n = [
            0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2,
            0xFC, 0x63, 0x25, 0x51,
        ];
        for bytes in [n, [0xFF; 32], [0; 32]] {
            assert!(matches!(
                JwsSigner::from_secret(JwsAlg::Es256, &Secret32::from_bytes(bytes)),
                Err(JwsError::InvalidPrivateKey { .. })
            ));
        }
        assert!(matches!(
            JwsSigner::from_secret(JwsAlg::EdDsa, &Secret32::from_bytes([0; 32])),
            Err(JwsError::InvalidPrivateKey { .. })
        ));
    }

    #[test]
    fn secret_round_trips() {
        for alg in [JwsAlg::Es256, JwsAlg::EdDsa] {
            let s = Secret32::from_bytes([7; 32]);
            let signer = JwsSigner::from_secret(alg, &s).unwrap();
            assert_eq!(signer.secret(), s);
        }
    }

    #[test]
    fn header_alg_must_match_signer() {
        let signer = JwsSigner::from_secret(JwsAlg::EdDsa, &Secret32::from_bytes([9; 32])).unwrap();
        assert_eq!(
            signer
                .sign_compact(&Header::new(JwsAlg::Es256), &serde_json::json!({}))
                .unwrap_err(),
            JwsError::HeaderAlgMismatch {
                expected: JwsAlg::EdDsa,
                got: JwsAlg::Es256
            }
        );
        assert!(matches!(
            signer.sign_compact(&Header::new(JwsAlg::EdDsa), &[1, 2]),
            Err(JwsError::Serialize { .. })
        ));
    }
}
