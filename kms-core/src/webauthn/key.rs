//! Credential public keys: ES256 (ECDSA P-256 with SHA-256) and EdDSA (Ed25519).
//!
//! Keys arrive either as a COSE_Key (RFC 9052 §7, RFC 9053 §2 and §7) inside attested
//! credential data, or as a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), which is what
//! `AuthenticatorAttestationResponse.getPublicKey()` returns in the browser.

use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use serde::{Deserialize, Serialize};

use super::WebAuthnError;
use super::cbor::{self, Value};

/// COSE algorithm id of ES256 (RFC 9053 §2.1).
pub const COSE_ALG_ES256: i64 = -7;
/// COSE algorithm id of EdDSA (RFC 9053 §2.2).
pub const COSE_ALG_EDDSA: i64 = -8;

// COSE_Key labels and values (RFC 9052 §7.1, RFC 9053 §7).
const LABEL_KTY: i128 = 1;
const LABEL_ALG: i128 = 3;
const LABEL_CRV: i128 = -1;
const LABEL_X: i128 = -2;
const LABEL_Y: i128 = -3;
const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const CRV_P256: i128 = 1;
const CRV_ED25519: i128 = 6;

// SubjectPublicKeyInfo algorithm identifiers (RFC 5480 §2.1.1, RFC 8410 §3).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A credential's public key, validated on construction.
///
/// Stored (via serde) as `{"alg": "ES256", "key": <base64url SEC1 uncompressed point>}` or
/// `{"alg": "EdDSA", "key": <base64url 32-byte Ed25519 key>}`; both are re-validated when
/// read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredKey", into = "StoredKey")]
pub enum CredentialPublicKey {
    /// ECDSA over P-256 with SHA-256 (COSE alg -7). The point is on the curve and not the
    /// identity.
    Es256(p256::PublicKey),
    /// Ed25519 (COSE alg -8), compressed Edwards point. Verification refuses keys that do
    /// not decompress or have small order.
    Ed25519([u8; 32]),
}

impl CredentialPublicKey {
    /// Reads a COSE_Key (one CBOR map, no trailing bytes), as found in attested credential
    /// data (WebAuthn §6.5.1.1).
    ///
    /// Accepts kty 2 (EC2) / crv 1 (P-256) / alg -7 with 32-byte `x` and `y`, and kty 1 (OKP)
    /// / crv 6 (Ed25519) / alg -8 with a 32-byte `x`. Other labels are ignored.
    ///
    /// # Errors
    /// [`WebAuthnError::Unsupported`] for any other algorithm or curve,
    /// [`WebAuthnError::MalformedCbor`] or [`WebAuthnError::InvalidPublicKey`] for keys that
    /// are malformed or inconsistent.
    pub fn from_cose(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        let value = cbor::decode_exact(bytes).map_err(|e| match e {
            cbor::CborError::TrailingBytes(count) => WebAuthnError::TrailingBytes {
                what: "credentialPublicKey",
                count,
            },
            other => WebAuthnError::MalformedCbor {
                what: "credentialPublicKey",
                reason: other.reason(),
            },
        })?;
        let map = value
            .as_map()
            .ok_or(WebAuthnError::InvalidPublicKey("COSE_Key is not a map"))?;
        let int = |label: i128, missing: &'static str| match Value::int_key(map, label) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(WebAuthnError::InvalidPublicKey(missing)),
        };
        let coord = |label: i128, missing: &'static str| match Value::int_key(map, label) {
            Some(Value::Bytes(b)) => <[u8; 32]>::try_from(*b)
                .map_err(|_| WebAuthnError::InvalidPublicKey("coordinate is not 32 bytes")),
            _ => Err(WebAuthnError::InvalidPublicKey(missing)),
        };

        // WebAuthn §5.8.5 / §6.5.1.1: the key names its algorithm; only ES256 and EdDSA are
        // accepted here.
        let alg = int(LABEL_ALG, "COSE_Key has no integer alg")?;
        let kty = int(LABEL_KTY, "COSE_Key has no integer kty")?;
        if alg == i128::from(COSE_ALG_ES256) {
            if kty != KTY_EC2 {
                return Err(WebAuthnError::InvalidPublicKey("ES256 key is not kty EC2"));
            }
            let crv = int(LABEL_CRV, "EC2 key has no integer crv")?;
            if crv != CRV_P256 {
                return Err(WebAuthnError::InvalidPublicKey("ES256 key is not on P-256"));
            }
            let x = coord(LABEL_X, "EC2 key has no x coordinate")?;
            // §6.5.1.1: EC2 keys use the uncompressed form, so `y` is a byte string, not
            // the sign bit.
            let y = coord(LABEL_Y, "EC2 key has no byte-string y coordinate")?;
            let mut sec1 = Vec::with_capacity(65);
            sec1.push(0x04);
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            Self::es256_from_sec1(&sec1)
        } else if alg == i128::from(COSE_ALG_EDDSA) {
            if kty != KTY_OKP {
                return Err(WebAuthnError::InvalidPublicKey("EdDSA key is not kty OKP"));
            }
            let crv = int(LABEL_CRV, "OKP key has no integer crv")?;
            if crv != CRV_ED25519 {
                return Err(WebAuthnError::Unsupported {
                    algorithm: format!("EdDSA on COSE curve {crv}"),
                });
            }
            Self::ed25519_from_bytes(coord(LABEL_X, "OKP key has no x coordinate")?)
        } else {
            Err(WebAuthnError::Unsupported {
                algorithm: format!("COSE alg {alg}"),
            })
        }
    }

    /// Reads a DER SubjectPublicKeyInfo, as `AuthenticatorAttestationResponse.getPublicKey()`
    /// returns it: id-ecPublicKey on secp256r1, or id-Ed25519.
    ///
    /// # Errors
    /// [`WebAuthnError::Unsupported`] for other algorithms or curves (RSA, P-384, …),
    /// [`WebAuthnError::InvalidPublicKey`] for malformed DER or invalid points.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, WebAuthnError> {
        let spki = SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|_| WebAuthnError::InvalidPublicKey("malformed SubjectPublicKeyInfo"))?;
        let (oid, params) = spki
            .algorithm
            .oids()
            .map_err(|_| WebAuthnError::InvalidPublicKey("malformed algorithm parameters"))?;
        if oid == OID_EC_PUBLIC_KEY {
            match params {
                Some(curve) if curve == OID_SECP256R1 => {}
                Some(curve) => {
                    return Err(WebAuthnError::Unsupported {
                        algorithm: format!("EC curve {curve}"),
                    });
                }
                None => {
                    return Err(WebAuthnError::InvalidPublicKey("EC key names no curve"));
                }
            }
            let point =
                spki.subject_public_key
                    .as_bytes()
                    .ok_or(WebAuthnError::InvalidPublicKey(
                        "key bit string is not whole bytes",
                    ))?;
            Self::es256_from_sec1(point)
        } else if oid == OID_ED25519 {
            let bytes = ed25519_dalek::pkcs8::PublicKeyBytes::try_from(spki)
                .map_err(|_| WebAuthnError::InvalidPublicKey("malformed Ed25519 key"))?;
            Self::ed25519_from_bytes(bytes.to_bytes())
        } else {
            Err(WebAuthnError::Unsupported {
                algorithm: format!("SPKI algorithm {oid}"),
            })
        }
    }

    /// The COSE algorithm id: [`COSE_ALG_ES256`] or [`COSE_ALG_EDDSA`].
    pub fn cose_algorithm(&self) -> i64 {
        match self {
            Self::Es256(_) => COSE_ALG_ES256,
            Self::Ed25519(_) => COSE_ALG_EDDSA,
        }
    }

    /// Verifies a WebAuthn assertion signature over `message` (authenticatorData ‖
    /// SHA-256(clientDataJSON)), as WebAuthn §6.3.3 step 11 and §7.2 describe.
    ///
    /// ES256 signatures are ASN.1 DER `ECDSA-Sig-Value` (§6.5.5) and must be strict DER: the
    /// bytes must equal the canonical re-encoding of the parsed `(r, s)`. Both low and high
    /// `s` are accepted: authenticators are not required to normalise `s`, and a second
    /// encoding of the same signature gains an attacker nothing here, because each assertion
    /// answers a fresh, single-use challenge. EdDSA signatures are the raw 64 bytes and are
    /// checked with the strict Ed25519 rules (canonical `s`, no small-order key or `R`).
    ///
    /// # Errors
    /// [`WebAuthnError::SignatureEncoding`] or [`WebAuthnError::BadSignature`].
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), WebAuthnError> {
        match self {
            Self::Es256(key) => {
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| {
                    WebAuthnError::SignatureEncoding("ES256 signature is not DER ECDSA-Sig-Value")
                })?;
                if sig.to_der().as_bytes() != signature {
                    return Err(WebAuthnError::SignatureEncoding(
                        "ES256 signature is not strict DER",
                    ));
                }
                p256::ecdsa::VerifyingKey::from(key)
                    .verify(message, &sig)
                    .map_err(|_| WebAuthnError::BadSignature)
            }
            Self::Ed25519(key) => {
                let sig: [u8; 64] = signature.try_into().map_err(|_| {
                    WebAuthnError::SignatureEncoding("EdDSA signature is not 64 bytes")
                })?;
                let sig = ed25519_dalek::Signature::from_bytes(&sig);
                let vk = ed25519_dalek::VerifyingKey::from_bytes(key).map_err(|_| {
                    WebAuthnError::InvalidPublicKey("Ed25519 key does not decompress")
                })?;
                vk.verify_strict(message, &sig)
                    .map_err(|_| WebAuthnError::BadSignature)
            }
        }
    }

    fn es256_from_sec1(sec1: &[u8]) -> Result<Self, WebAuthnError> {
        p256::PublicKey::from_sec1_bytes(sec1)
            .map(Self::Es256)
            .map_err(|_| WebAuthnError::InvalidPublicKey("not a valid P-256 point"))
    }

    fn ed25519_from_bytes(bytes: [u8; 32]) -> Result<Self, WebAuthnError> {
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| WebAuthnError::InvalidPublicKey("Ed25519 key does not decompress"))?;
        if vk.is_weak() {
            return Err(WebAuthnError::InvalidPublicKey(
                "Ed25519 key has small order",
            ));
        }
        Ok(Self::Ed25519(bytes))
    }
}

const STORED_ES256: &str = "ES256";
const STORED_EDDSA: &str = "EdDSA";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    alg: String,
    #[serde(with = "crate::b64::serde_bytes")]
    key: Vec<u8>,
}

impl From<CredentialPublicKey> for StoredKey {
    fn from(key: CredentialPublicKey) -> Self {
        match key {
            CredentialPublicKey::Es256(pk) => StoredKey {
                alg: STORED_ES256.to_owned(),
                key: p256::ecdsa::VerifyingKey::from(pk)
                    .to_sec1_point(false)
                    .as_bytes()
                    .to_vec(),
            },
            CredentialPublicKey::Ed25519(bytes) => StoredKey {
                alg: STORED_EDDSA.to_owned(),
                key: bytes.to_vec(),
            },
        }
    }
}

impl TryFrom<StoredKey> for CredentialPublicKey {
    type Error = WebAuthnError;

    fn try_from(stored: StoredKey) -> Result<Self, Self::Error> {
        match stored.alg.as_str() {
            STORED_ES256 if stored.key.len() == 65 => Self::es256_from_sec1(&stored.key),
            STORED_EDDSA => {
                let bytes = <[u8; 32]>::try_from(stored.key.as_slice())
                    .map_err(|_| WebAuthnError::InvalidPublicKey("Ed25519 key is not 32 bytes"))?;
                Self::ed25519_from_bytes(bytes)
            }
            STORED_ES256 => Err(WebAuthnError::InvalidPublicKey(
                "stored ES256 key is not an uncompressed point",
            )),
            other => Err(WebAuthnError::Unsupported {
                algorithm: format!(
                    "stored alg {:?}",
                    other.chars().take(16).collect::<String>()
                ),
            }),
        }
    }
}
