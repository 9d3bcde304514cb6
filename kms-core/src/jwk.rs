//! JSON Web Keys (RFC 7517/7518 §6.2 for P-256, RFC 8037 for Ed25519) and JWK thumbprints
//! (RFC 7638), used to publish relay-token verification keys.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::jws::{JwsAlg, JwsError, PublicKey};

/// A public JWK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
pub struct Jwk {
    /// `EC` or `OKP`.
    pub kty: String,
    /// `P-256` or `Ed25519`.
    pub crv: String,
    /// x coordinate (EC) or the public key (OKP), base64url.
    pub x: String,
    /// y coordinate (EC only), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
    /// Key id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kid: Option<String>,
    /// Algorithm (`ES256`, `EdDSA`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alg: Option<String>,
    /// Intended use, `sig`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none", default)]
    pub use_: Option<String>,
}

/// A JWK set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// The JWK of a public key, with `alg`, `use: sig` and the given `kid`.
    pub fn from_public_key(key: &PublicKey, kid: Option<&str>) -> Self {
        let bytes = key.to_bytes();
        let (kty, crv, x, y) = match key {
            PublicKey::Es256(_) => (
                "EC",
                "P-256",
                crate::b64::encode(bytes.get(1..33).unwrap_or_default()),
                Some(crate::b64::encode(bytes.get(33..65).unwrap_or_default())),
            ),
            PublicKey::EdDsa(_) => ("OKP", "Ed25519", crate::b64::encode(&bytes), None),
        };
        Self {
            kty: kty.into(),
            crv: crv.into(),
            x,
            y,
            kid: kid.map(str::to_owned),
            alg: Some(key.alg().name().into()),
            use_: Some("sig".into()),
        }
    }

    /// The public key this JWK describes (points are validated).
    ///
    /// # Errors
    /// [`JwsError::InvalidPublicKey`] for an unsupported `kty`/`crv` or an invalid point.
    pub fn to_public_key(&self) -> Result<PublicKey, JwsError> {
        match (self.kty.as_str(), self.crv.as_str(), &self.y) {
            ("EC", "P-256", Some(y)) => {
                let x = crate::b64::decode_array::<32>(&self.x)
                    .map_err(|_| JwsError::InvalidPublicKey { alg: "ES256" })?;
                let y = crate::b64::decode_array::<32>(y)
                    .map_err(|_| JwsError::InvalidPublicKey { alg: "ES256" })?;
                let mut point = vec![0x04];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                PublicKey::from_bytes(JwsAlg::ES256, &point)
            }
            ("OKP", "Ed25519", None) => {
                let x = crate::b64::decode(&self.x)
                    .map_err(|_| JwsError::InvalidPublicKey { alg: "EdDSA" })?;
                PublicKey::from_bytes(JwsAlg::EdDSA, &x)
            }
            _ => Err(JwsError::InvalidPublicKey {
                alg: "unsupported kty/crv",
            }),
        }
    }

    /// RFC 7638 thumbprint: base64url(SHA-256 of the required members in lexicographic order).
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.y {
            Some(y) => format!(
                r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
                self.crv, self.kty, self.x, y
            ),
            None => format!(
                r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
                self.crv, self.kty, self.x
            ),
        };
        crate::b64::encode(Sha256::digest(canonical.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::SigningKey;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// RFC 8037 §A.3: thumbprint of the Ed25519 example key.
    #[test]
    fn rfc8037_thumbprint() {
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            y: None,
            kid: None,
            alg: None,
            use_: None,
        };
        assert_eq!(
            jwk.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert!(jwk.to_public_key().is_ok());
    }

    #[test]
    fn round_trip_both_kinds() {
        let mut rng = StdRng::seed_from_u64(9);
        for alg in [JwsAlg::ES256, JwsAlg::EdDSA] {
            let k = SigningKey::generate(alg, &mut rng).public_key();
            let jwk = Jwk::from_public_key(&k, Some("kid"));
            let json = serde_json::to_string(&jwk).unwrap();
            let back: Jwk = serde_json::from_str(&json).unwrap();
            assert_eq!(back.to_public_key().unwrap(), k);
        }
    }

    #[test]
    fn off_curve_point_refused() {
        let mut rng = StdRng::seed_from_u64(10);
        let k = SigningKey::generate(JwsAlg::ES256, &mut rng).public_key();
        let mut jwk = Jwk::from_public_key(&k, None);
        jwk.y = Some(crate::b64::encode([1u8; 32]));
        assert!(jwk.to_public_key().is_err());
    }
}
