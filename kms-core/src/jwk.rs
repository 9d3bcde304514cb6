//! JSON Web Keys (RFC 7517) for the enclave's public signing keys, and their RFC 7638
//! thumbprints.
//!
//! Two forms exist: `{"kty":"EC","crv":"P-256","x":…,"y":…}` (RFC 7518 §6.2.1) for ES256 and
//! `{"kty":"OKP","crv":"Ed25519","x":…}` (RFC 8037 §2) for EdDSA, each optionally carrying
//! `kid`, `alg` and `use`. A JWK read from outside is only a description; turning it into a
//! [`JwsPublicKey`] with [`Jwk::to_public_key`] validates every member and the point itself.

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};

use crate::b64;
use crate::jws::{JwsAlg, JwsPublicKey};

/// `kty` of a P-256 key (RFC 7518 §6.1).
pub const KTY_EC: &str = "EC";
/// `kty` of an Ed25519 key (RFC 8037 §2).
pub const KTY_OKP: &str = "OKP";
/// `crv` of a P-256 key (RFC 7518 §6.2.1.1).
pub const CRV_P256: &str = "P-256";
/// `crv` of an Ed25519 key (RFC 8037 §2).
pub const CRV_ED25519: &str = "Ed25519";
/// `use` of a signature key (RFC 7517 §4.2).
pub const USE_SIG: &str = "sig";

/// A public JSON Web Key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type (RFC 7517 §4.1): `"EC"` or `"OKP"`.
    pub kty: String,
    /// Curve (RFC 7518 §6.2.1.1, RFC 8037 §2): `"P-256"` or `"Ed25519"`.
    pub crv: String,
    /// x coordinate (EC) or the encoded public key (OKP), base64url.
    pub x: String,
    /// y coordinate, base64url; EC only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key identifier (RFC 7517 §4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm the key is for (RFC 7517 §4.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use (RFC 7517 §4.2), `"sig"` for every key here.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Whether the input carried private material (`d`, RFC 7518 §6.2.2.1, RFC 8037 §2).
    /// Never serialized; [`Jwk::to_public_key`] refuses such a JWK.
    #[serde(default, rename = "d", deserialize_with = "present", skip_serializing)]
    has_private: bool,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The first key whose `kid` is `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

/// A JWK was not a valid public key of a supported type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    /// `kty` is not `EC` or `OKP`.
    #[error("unsupported kty: expected \"EC\" or \"OKP\", got {got:?}")]
    UnsupportedKty {
        /// The `kty` found.
        got: String,
    },
    /// `crv` does not belong with the `kty`.
    #[error("unsupported crv for kty {kty}: expected {expected:?}, got {got:?}")]
    UnsupportedCrv {
        /// The `kty`.
        kty: &'static str,
        /// The curve this `kty` takes.
        expected: &'static str,
        /// The `crv` found.
        got: String,
    },
    /// A coordinate is not base64url of the exact length.
    #[error("invalid {member}: expected base64url of {expected} bytes")]
    InvalidCoordinate {
        /// `"x"` or `"y"`.
        member: &'static str,
        /// Required decoded length.
        expected: usize,
    },
    /// `y` is missing for EC or present for OKP.
    #[error("member y: expected {expected}")]
    YMember {
        /// `"present"` or `"absent"`.
        expected: &'static str,
    },
    /// The coordinates do not form a valid point.
    #[error("invalid public key: {reason}")]
    InvalidPoint {
        /// What was wrong.
        reason: &'static str,
    },
    /// `alg` does not match the key type.
    #[error("alg mismatch: expected {expected:?}, got {got:?}")]
    AlgMismatch {
        /// The algorithm for this key type.
        expected: &'static str,
        /// The `alg` found.
        got: String,
    },
    /// `use` is not `sig`.
    #[error("use mismatch: expected \"sig\", got {got:?}")]
    UseMismatch {
        /// The `use` found.
        got: String,
    },
    /// The JWK carries a private key (`d`).
    #[error("private key material in a public JWK: expected no \"d\" member")]
    PrivateMaterial,
}

impl Jwk {
    /// The JWK of `key`, with `alg` set and no `kid` or `use`.
    pub fn from_public_key(key: &JwsPublicKey) -> Self {
        let (kty, crv, x, y) = match key {
            JwsPublicKey::Es256(k) => {
                let point = k.to_sec1_point(false);
                let bytes = point.as_bytes();
                // RFC 7518 §6.2.1.2-3: x and y are full 32-byte big-endian coordinates.
                let x = bytes.get(1..33).map(b64::encode).unwrap_or_default();
                let y = bytes.get(33..65).map(b64::encode);
                (KTY_EC, CRV_P256, x, y)
            }
            JwsPublicKey::EdDsa(k) => (KTY_OKP, CRV_ED25519, b64::encode(k.as_bytes()), None),
        };
        Self {
            kty: kty.into(),
            crv: crv.into(),
            x,
            y,
            kid: None,
            alg: Some(key.alg().name().into()),
            use_: None,
            has_private: false,
        }
    }

    /// Sets `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `use` to `"sig"`.
    #[must_use]
    pub fn for_signing(mut self) -> Self {
        self.use_ = Some(USE_SIG.into());
        self
    }

    /// The algorithm this JWK's key type signs with.
    ///
    /// # Errors
    /// [`JwkError::UnsupportedKty`] or [`JwkError::UnsupportedCrv`].
    pub fn jws_alg(&self) -> Result<JwsAlg, JwkError> {
        match self.kty.as_str() {
            KTY_EC if self.crv == CRV_P256 => Ok(JwsAlg::Es256),
            KTY_EC => Err(JwkError::UnsupportedCrv {
                kty: KTY_EC,
                expected: CRV_P256,
                got: self.crv.chars().take(32).collect(),
            }),
            KTY_OKP if self.crv == CRV_ED25519 => Ok(JwsAlg::EdDsa),
            KTY_OKP => Err(JwkError::UnsupportedCrv {
                kty: KTY_OKP,
                expected: CRV_ED25519,
                got: self.crv.chars().take(32).collect(),
            }),
            other => Err(JwkError::UnsupportedKty {
                got: other.chars().take(32).collect(),
            }),
        }
    }

    /// Validates the JWK and returns its key.
    ///
    /// # Errors
    /// A [`JwkError`] naming the first member that is wrong, or [`JwkError::InvalidPoint`]
    /// if the coordinates are not a valid point (not on the curve, identity, small order).
    pub fn to_public_key(&self) -> Result<JwsPublicKey, JwkError> {
        if self.has_private {
            return Err(JwkError::PrivateMaterial);
        }
        let alg = self.jws_alg()?;
        if let Some(got) = &self.alg
            && got != alg.name()
        {
            return Err(JwkError::AlgMismatch {
                expected: alg.name(),
                got: got.chars().take(32).collect(),
            });
        }
        if let Some(got) = &self.use_
            && got != USE_SIG
        {
            return Err(JwkError::UseMismatch {
                got: got.chars().take(32).collect(),
            });
        }
        let x: [u8; 32] = b64::decode_array(&self.x).map_err(|_| JwkError::InvalidCoordinate {
            member: "x",
            expected: 32,
        })?;
        match alg {
            JwsAlg::Es256 => {
                let y_text = self.y.as_deref().ok_or(JwkError::YMember {
                    expected: "present",
                })?;
                let y: [u8; 32] =
                    b64::decode_array(y_text).map_err(|_| JwkError::InvalidCoordinate {
                        member: "y",
                        expected: 32,
                    })?;
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                JwsPublicKey::from_bytes(alg, &sec1).map_err(|_| JwkError::InvalidPoint {
                    reason: "not a point on P-256",
                })
            }
            JwsAlg::EdDsa => {
                // RFC 8037 §2: OKP keys have no y member.
                if self.y.is_some() {
                    return Err(JwkError::YMember { expected: "absent" });
                }
                JwsPublicKey::from_bytes(alg, &x).map_err(|_| JwkError::InvalidPoint {
                    reason: "not a valid Ed25519 point",
                })
            }
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url) of the key this JWK describes.
    ///
    /// # Errors
    /// As for [`Jwk::to_public_key`]; a thumbprint is only computed for a valid key.
    pub fn thumbprint(&self) -> Result<String, JwkError> {
        Ok(thumbprint(&self.to_public_key()?))
    }
}

impl From<&JwsPublicKey> for Jwk {
    fn from(key: &JwsPublicKey) -> Self {
        Self::from_public_key(key)
    }
}

/// The RFC 7638 JWK thumbprint of `key`: base64url(SHA-256) of the required members, sorted,
/// without whitespace (RFC 7638 §3.2–3.3). Required members are `crv`, `kty`, `x`, `y` for
/// EC (RFC 7638 §3.2) and `crv`, `kty`, `x` for OKP (RFC 8037 §2).
pub fn thumbprint(key: &JwsPublicKey) -> String {
    let jwk = Jwk::from_public_key(key);
    // Every value is a fixed name or base64url, so none needs JSON escaping.
    let canonical = match &jwk.y {
        Some(y) => format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
            jwk.crv, jwk.kty, jwk.x, y
        ),
        None => format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
            jwk.crv, jwk.kty, jwk.x
        ),
    };
    b64::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8037 Appendix A.2 public key and A.3 thumbprint.
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    fn okp(x: &str) -> Jwk {
        serde_json::from_str(&format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#)).unwrap()
    }

    #[test]
    fn rfc8037_a3_thumbprint() {
        assert_eq!(okp(RFC8037_X).thumbprint().unwrap(), RFC8037_THUMBPRINT);
    }

    #[test]
    fn private_member_is_refused_and_never_echoed() {
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#,
        )
        .unwrap();
        assert_eq!(jwk.to_public_key(), Err(JwkError::PrivateMaterial));
        assert!(!serde_json::to_string(&jwk).unwrap().contains("\"d\""));
    }

    #[test]
    fn okp_with_y_and_bad_lengths() {
        let mut jwk = okp(RFC8037_X);
        jwk.y = Some(RFC8037_X.into());
        assert_eq!(
            jwk.to_public_key(),
            Err(JwkError::YMember { expected: "absent" })
        );
        assert_eq!(
            okp("AAAA").to_public_key(),
            Err(JwkError::InvalidCoordinate {
                member: "x",
                expected: 32
            })
        );
    }
}
