//! VAPID (RFC 8292): the per-shard P-256 key a Web Push application server identifies with,
//! and the signed `Authorization: vapid t=…, k=…` header.

use serde::Serialize;

use crate::jws::{self, JwsAlg, JwsError, SigningKey};
use crate::origin::Origin;
use crate::secret::Secret32;

/// Default token lifetime: 12 hours.
pub const DEFAULT_TTL_SECS: u64 = 12 * 3600;
/// Longest lifetime RFC 8292 §2 allows: 24 hours.
pub const MAX_TTL_SECS: u64 = 24 * 3600;
/// Longest `sub` accepted.
pub const MAX_SUB_LEN: usize = 256;

/// A VAPID claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VapidError {
    /// The claims did not encode.
    #[error(transparent)]
    Encode(#[from] crate::format::EncodeError),
    /// `aud` is not an https origin.
    #[error("aud: expected an https origin (https://host[:port]), got {got:?}")]
    Audience {
        /// The value given (truncated).
        got: String,
    },
    /// `exp` is in the past or more than 24 h ahead.
    #[error("exp: expected after {now} and at most {max}, got {got}")]
    Expiry {
        /// Now, seconds since the epoch.
        now: u64,
        /// Latest allowed.
        max: u64,
        /// The value given.
        got: u64,
    },
    /// `sub` is not a `mailto:` or `https:` URI.
    #[error("sub: expected a mailto: or https: URI of at most 256 bytes, got {got:?}")]
    Subject {
        /// The value given (truncated).
        got: String,
    },
    /// The key is unusable.
    #[error(transparent)]
    Key(#[from] JwsError),
}

/// The claims a caller chooses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VapidClaims {
    /// Push service origin.
    pub aud: String,
    /// Contact URI.
    pub sub: Option<String>,
    /// Expiry, seconds since the epoch (default now + 12 h).
    pub exp: Option<u64>,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
}

/// A signed VAPID authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidAuthorization {
    /// `vapid t=<jwt>, k=<applicationServerKey>`.
    pub header: String,
    /// The JWT.
    pub token: String,
    /// `exp`.
    pub expires_at: u64,
}

/// A VAPID key pair (ECDSA P-256).
#[derive(Debug)]
pub struct VapidKey(SigningKey);

impl VapidKey {
    /// A fresh key.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(SigningKey::generate(JwsAlg::ES256, rng))
    }

    /// Rebuilds a key from its private scalar.
    ///
    /// # Errors
    /// [`VapidError::Key`] for an invalid scalar.
    pub fn from_secret(secret: &Secret32) -> Result<Self, VapidError> {
        Ok(Self(SigningKey::from_secret(JwsAlg::ES256, secret)?))
    }

    /// The private scalar, for sealing.
    pub fn secret(&self) -> Secret32 {
        self.0.secret()
    }

    /// The 65-byte uncompressed public point.
    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().to_bytes()
    }

    /// `applicationServerKey`: base64url of the uncompressed point.
    pub fn application_server_key(&self) -> String {
        crate::b64::encode(self.public_key())
    }

    /// Signs an RFC 8292 JWT and builds the `Authorization` header value.
    ///
    /// # Errors
    /// [`VapidError`] naming the refused claim.
    pub fn authorization(
        &self,
        claims: &VapidClaims,
        now_secs: u64,
    ) -> Result<VapidAuthorization, VapidError> {
        let unsigned = UnsignedAuthorization::new(claims, now_secs)?;
        let signature = self.0.sign(unsigned.signing_input());
        Ok(unsigned.finish(&signature, &self.application_server_key()))
    }
}

/// A VAPID JWT with its claims checked, waiting for its ES256 signature (for a signer
/// that signs elsewhere, such as WebCrypto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedAuthorization {
    input: jws::SigningInput,
    exp: u64,
}

impl UnsignedAuthorization {
    /// Checks `claims` at `now_secs` and builds the JWT's signing input.
    ///
    /// # Errors
    /// [`VapidError`] naming the refused claim.
    pub fn new(claims: &VapidClaims, now_secs: u64) -> Result<Self, VapidError> {
        let aud = check_audience(&claims.aud)?;
        let max = now_secs + MAX_TTL_SECS;
        let exp = claims.exp.unwrap_or(now_secs + DEFAULT_TTL_SECS);
        if exp <= now_secs || exp > max {
            return Err(VapidError::Expiry {
                now: now_secs,
                max,
                got: exp,
            });
        }
        if let Some(sub) = &claims.sub {
            check_subject(sub)?;
        }
        let input = jws::SigningInput::new(
            JwsAlg::ES256,
            None,
            &Claims {
                aud: aud.as_str(),
                exp,
                sub: claims.sub.as_deref(),
            },
        )?;
        Ok(Self { input, exp })
    }

    /// The bytes the ES256 signature covers.
    pub fn signing_input(&self) -> &[u8] {
        self.input.as_bytes()
    }

    /// The `Authorization` value, with `signature` (`r ‖ s`) by the key whose
    /// `applicationServerKey` is `application_server_key`.
    pub fn finish(self, signature: &[u8; 64], application_server_key: &str) -> VapidAuthorization {
        let token = self.input.finish(signature);
        VapidAuthorization {
            header: format!("vapid t={token}, k={application_server_key}"),
            token,
            expires_at: self.exp,
        }
    }
}

fn check_audience(aud: &str) -> Result<Origin, VapidError> {
    match Origin::parse(aud) {
        Ok(o) if o.is_https() => Ok(o),
        _ => Err(VapidError::Audience {
            got: aud.chars().take(80).collect(),
        }),
    }
}

fn check_subject(sub: &str) -> Result<(), VapidError> {
    let bad = || VapidError::Subject {
        got: sub.chars().take(80).collect(),
    };
    if sub.len() > MAX_SUB_LEN || sub.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    if let Some(addr) = sub.strip_prefix("mailto:") {
        let (local, domain) = addr.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.is_empty() || !domain.contains('.') && domain != "localhost" {
            return Err(bad());
        }
        return Ok(());
    }
    match sub.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const NOW: u64 = 1_800_000_000;

    fn key() -> VapidKey {
        VapidKey::generate(&mut StdRng::seed_from_u64(5))
    }

    fn claims(aud: &str) -> VapidClaims {
        VapidClaims {
            aud: aud.into(),
            sub: Some("mailto:ops@app.example".into()),
            exp: None,
        }
    }

    #[test]
    fn header_form_and_default_expiry() {
        let k = key();
        let a = k
            .authorization(&claims("https://push.example.net"), NOW)
            .unwrap();
        assert_eq!(a.expires_at, NOW + DEFAULT_TTL_SECS);
        assert_eq!(
            a.header,
            format!("vapid t={}, k={}", a.token, k.application_server_key())
        );
        assert_eq!(k.public_key().len(), 65);
        let (h, c) = jws::verify_compact(
            &a.token,
            &jws::PublicKey::from_bytes(JwsAlg::ES256, &k.public_key()).unwrap(),
        )
        .unwrap();
        assert_eq!(h, serde_json::json!({"typ": "JWT", "alg": "ES256"}));
        assert_eq!(c["aud"], "https://push.example.net");
        assert_eq!(c["sub"], "mailto:ops@app.example");
    }

    #[test]
    fn audience_rules() {
        let k = key();
        for bad in [
            "http://push.example.net",
            "https://push.example.net/",
            "https://push.example.net/x",
            "push.example.net",
            "",
        ] {
            assert!(
                matches!(
                    k.authorization(&claims(bad), NOW),
                    Err(VapidError::Audience { .. })
                ),
                "{bad}"
            );
        }
        assert!(
            k.authorization(&claims("https://fcm.googleapis.com"), NOW)
                .is_ok()
        );
    }

    #[test]
    fn expiry_rules() {
        let k = key();
        let mut c = claims("https://push.example.net");
        c.exp = Some(NOW + MAX_TTL_SECS);
        assert!(k.authorization(&c, NOW).is_ok());
        for bad in [NOW, NOW - 1, NOW + MAX_TTL_SECS + 1] {
            c.exp = Some(bad);
            assert!(
                matches!(k.authorization(&c, NOW), Err(VapidError::Expiry { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn subject_rules() {
        let k = key();
        let mut c = claims("https://push.example.net");
        for good in ["mailto:a@b.example", "https://app.example/contact"] {
            c.sub = Some(good.into());
            assert!(k.authorization(&c, NOW).is_ok(), "{good}");
        }
        for bad in [
            "a@b.example",
            "mailto:",
            "mailto:nobody",
            "http://app.example",
            "https://",
            "mailto:a b@c.example",
        ] {
            c.sub = Some(bad.into());
            assert!(
                matches!(k.authorization(&c, NOW), Err(VapidError::Subject { .. })),
                "{bad}"
            );
        }
        c.sub = None;
        assert!(k.authorization(&c, NOW).is_ok());
    }

    #[test]
    fn key_round_trips_through_its_secret() {
        let k = key();
        let again = VapidKey::from_secret(&k.secret()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
    }
}
