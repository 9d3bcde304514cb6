//! Relay authorization tokens: short-lived compact JWS (ES256 or EdDSA) that relay servers
//! verify against the shard's published JWKS.

use rand_core::CryptoRng;
use serde::Serialize;

use crate::jws::{self, JwsAlg, SigningKey};

/// Default lifetime: 5 minutes.
pub const DEFAULT_TTL_SECS: u64 = 300;
/// Longest lifetime: 1 hour.
pub const MAX_TTL_SECS: u64 = 3600;
/// Most scopes per token.
pub const MAX_SCOPES: usize = 16;
/// Longest `iss`, `aud` or scope.
pub const MAX_CLAIM_LEN: usize = 256;

/// What the caller asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayTokenRequest {
    /// Issuer.
    pub iss: String,
    /// Audience (the relay).
    pub aud: String,
    /// Optional scopes (`[A-Za-z0-9:._/-]`).
    pub scope: Option<Vec<String>>,
    /// Lifetime; default [`DEFAULT_TTL_SECS`], at most [`MAX_TTL_SECS`].
    pub ttl_secs: Option<u64>,
}

/// A refused token request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelayTokenError {
    /// The claims did not encode.
    #[error(transparent)]
    Encode(#[from] crate::format::EncodeError),
    /// A claim is empty, too long, or has characters it may not have.
    #[error("{claim}: expected 1 to 256 printable characters without spaces")]
    Claim {
        /// Which claim.
        claim: &'static str,
    },
    /// The lifetime is zero or too long.
    #[error("ttlSecs: expected 1 to {MAX_TTL_SECS}, got {0}")]
    Lifetime(u64),
    /// Too many scopes, or a scope with other characters.
    #[error("scope: expected at most 16 entries of [A-Za-z0-9:._/-]")]
    Scope,
}

/// An issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// Compact JWS.
    pub token: String,
    /// Its unique id.
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a [String]>,
}

fn check_claim(claim: &'static str, v: &str) -> Result<(), RelayTokenError> {
    if v.is_empty()
        || v.len() > MAX_CLAIM_LEN
        || v.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(RelayTokenError::Claim { claim });
    }
    Ok(())
}

/// Issues a token signed by `key` with header `kid`.
///
/// # Errors
/// [`RelayTokenError`] naming the refused input.
pub fn issue<R: CryptoRng + ?Sized>(
    key: &SigningKey,
    kid: &str,
    req: &RelayTokenRequest,
    now_secs: u64,
    rng: &mut R,
) -> Result<IssuedToken, RelayTokenError> {
    let unsigned = UnsignedToken::new(key.alg(), kid, req, now_secs, rng)?;
    let signature = key.sign(unsigned.signing_input());
    Ok(unsigned.finish(&signature))
}

/// A relay token with its claims checked, waiting for its signature (for a signer that
/// signs elsewhere, such as WebCrypto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedToken {
    input: jws::SigningInput,
    jti: String,
    exp: u64,
}

impl UnsignedToken {
    /// Checks `req` at `now_secs`, draws a `jti`, and builds the signing input of a token
    /// for a key of algorithm `alg` with header `kid`.
    ///
    /// # Errors
    /// [`RelayTokenError`] naming the refused input.
    pub fn new<R: CryptoRng + ?Sized>(
        alg: JwsAlg,
        kid: &str,
        req: &RelayTokenRequest,
        now_secs: u64,
        rng: &mut R,
    ) -> Result<Self, RelayTokenError> {
        check_claim("iss", &req.iss)?;
        check_claim("aud", &req.aud)?;
        let ttl = req.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
        if ttl == 0 || ttl > MAX_TTL_SECS {
            return Err(RelayTokenError::Lifetime(ttl));
        }
        if let Some(scopes) = &req.scope {
            let ok_char = |c: char| c.is_ascii_alphanumeric() || ":._/-".contains(c);
            if scopes.len() > MAX_SCOPES
                || scopes
                    .iter()
                    .any(|s| s.is_empty() || s.len() > MAX_CLAIM_LEN || !s.chars().all(ok_char))
            {
                return Err(RelayTokenError::Scope);
            }
        }
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let jti = crate::b64::encode(id);
        let exp = now_secs + ttl;
        let input = jws::SigningInput::new(
            alg,
            Some(kid),
            &Claims {
                iss: &req.iss,
                aud: &req.aud,
                iat: now_secs,
                nbf: now_secs,
                exp,
                jti: &jti,
                scope: req.scope.as_deref(),
            },
        )?;
        Ok(Self { input, jti, exp })
    }

    /// The bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        self.input.as_bytes()
    }

    /// The token, with `signature` by the key named in its header.
    pub fn finish(self, signature: &[u8; 64]) -> IssuedToken {
        IssuedToken {
            token: self.input.finish(signature),
            jti: self.jti,
            expires_at: self.exp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::JwsAlg;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn req() -> RelayTokenRequest {
        RelayTokenRequest {
            iss: "https://app.example".into(),
            aud: "relay.example".into(),
            scope: Some(vec!["prekeys:upload".into()]),
            ttl_secs: None,
        }
    }

    #[test]
    fn claims_and_unique_jti() {
        let mut rng = StdRng::seed_from_u64(1);
        let k = SigningKey::generate(JwsAlg::EdDSA, &mut rng);
        let a = issue(&k, "kid-1", &req(), 1000, &mut rng).unwrap();
        let b = issue(&k, "kid-1", &req(), 1000, &mut rng).unwrap();
        assert_ne!(a.jti, b.jti);
        let (h, c) = jws::verify_compact(&a.token, &k.public_key()).unwrap();
        assert_eq!(h["kid"], "kid-1");
        assert_eq!(h["typ"], "JWT");
        assert_eq!(
            (c["iat"].as_u64(), c["nbf"].as_u64(), c["exp"].as_u64()),
            (Some(1000), Some(1000), Some(1300))
        );
        assert_eq!(c["scope"][0], "prekeys:upload");
        assert_eq!(c["jti"], a.jti.as_str());
    }

    #[test]
    fn refusals() {
        let mut rng = StdRng::seed_from_u64(2);
        let k = SigningKey::generate(JwsAlg::ES256, &mut rng);
        let mut r = req();
        r.ttl_secs = Some(3601);
        assert_eq!(
            issue(&k, "k", &r, 0, &mut rng).unwrap_err(),
            RelayTokenError::Lifetime(3601)
        );
        r.ttl_secs = Some(0);
        assert!(issue(&k, "k", &r, 0, &mut rng).is_err());
        let mut r = req();
        r.aud = "has space".into();
        assert_eq!(
            issue(&k, "k", &r, 0, &mut rng).unwrap_err(),
            RelayTokenError::Claim { claim: "aud" }
        );
        let mut r = req();
        r.scope = Some(vec!["bad scope".into()]);
        assert_eq!(
            issue(&k, "k", &r, 0, &mut rng).unwrap_err(),
            RelayTokenError::Scope
        );
    }
}
