//! Relay authorization tokens: short-lived compact JWS (JWT, RFC 7519) that let a relay accept
//! a request on behalf of a key held in the enclave.
//!
//! Header `{"typ":"JWT","alg":…,"kid":…}`; claims `iss`, `aud`, `iat`, `nbf`, `exp`, `jti`
//! (128 random bits) and an optional `scope` list. Lifetimes are short: 300 s unless asked,
//! never more than 3600 s. The relay verifies with [`verify`] against the JWK Set from
//! [`jwks`]. The layout is in `docs/formats/jws.md`.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::jwk::{Jwk, JwkError, Jwks};
use crate::jws::{self, Header, JwsError, JwsPublicKey, JwsSigner};

/// Lifetime when the request gives none, in seconds.
pub const DEFAULT_TTL_SECS: u64 = 300;
/// Longest lifetime a token may have, in seconds.
pub const MAX_TTL_SECS: u64 = 3600;
/// Random bytes in a `jti` (RFC 7519 §4.1.7: collision-resistant): 128 bits.
pub const JTI_BYTES: usize = 16;
/// Longest `kid`, in bytes.
pub const MAX_KID_LEN: usize = 128;
/// Longest `iss` or `aud`, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Most `scope` entries.
pub const MAX_SCOPES: usize = 16;
/// Longest `scope` entry, in bytes.
pub const MAX_SCOPE_LEN: usize = 64;
/// The JWT `typ` header value (RFC 7519 §5.1).
pub const JWT_TYP: &str = "JWT";

/// What to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayTokenRequest {
    /// Issuer: visible ASCII, 1–256 bytes.
    pub iss: String,
    /// Audience (the relay): visible ASCII, 1–256 bytes.
    pub aud: String,
    /// Lifetime in seconds, 1–[`MAX_TTL_SECS`]; default [`DEFAULT_TTL_SECS`].
    pub ttl_secs: Option<u64>,
    /// Permissions: 1–[`MAX_SCOPES`] distinct entries of `[A-Za-z0-9._:/-]`, each
    /// 1–[`MAX_SCOPE_LEN`] bytes. `None` leaves the claim out.
    pub scope: Option<Vec<String>>,
}

/// The claims of a relay token (RFC 7519 §4.1 registered names, plus `scope`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not before, seconds since the epoch (equal to `iat`).
    pub nbf: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Unique id: base64url of [`JTI_BYTES`] random bytes.
    pub jti: String,
    /// Permissions granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
}

/// An issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// The `kid` in its header.
    pub kid: String,
    /// The claims it carries.
    pub claims: RelayClaims,
}

/// What a relay requires of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayTokenExpectation<'a> {
    /// Required `iss`.
    pub iss: &'a str,
    /// Required `aud`.
    pub aud: &'a str,
    /// Tolerated clock skew, in seconds, applied to `iat`, `nbf` and `exp`.
    pub leeway_secs: u64,
}

/// Errors from issuing or verifying a relay token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelayTokenError {
    /// `kid` is empty, too long or outside `[A-Za-z0-9._~-]`.
    #[error("kid: expected 1-128 characters of [A-Za-z0-9._~-], got {got:?}")]
    InvalidKid {
        /// The (clipped) `kid`.
        got: String,
    },
    /// `iss` is empty, too long or not visible ASCII.
    #[error("iss: expected 1-256 visible ASCII characters, got {got:?}")]
    InvalidIssuer {
        /// The (clipped) `iss`.
        got: String,
    },
    /// `aud` is empty, too long or not visible ASCII.
    #[error("aud: expected 1-256 visible ASCII characters, got {got:?}")]
    InvalidAudience {
        /// The (clipped) `aud`.
        got: String,
    },
    /// The requested lifetime is zero.
    #[error("ttl: expected at least 1 second, got 0")]
    TtlZero,
    /// The requested lifetime exceeds [`MAX_TTL_SECS`].
    #[error("ttl: expected at most {max} seconds, got {got}")]
    TtlTooLong {
        /// [`MAX_TTL_SECS`].
        max: u64,
        /// The requested lifetime.
        got: u64,
    },
    /// `scope` is present but empty.
    #[error("scope: expected at least one entry, got none")]
    EmptyScope,
    /// `scope` has more than [`MAX_SCOPES`] entries.
    #[error("scope: expected at most {max} entries, got {got}")]
    TooManyScopes {
        /// [`MAX_SCOPES`].
        max: usize,
        /// The number given.
        got: usize,
    },
    /// A `scope` entry is empty, too long or outside `[A-Za-z0-9._:/-]`.
    #[error("scope entry: expected 1-64 characters of [A-Za-z0-9._:/-], got {got:?}")]
    InvalidScope {
        /// The (clipped) entry.
        got: String,
    },
    /// A `scope` entry repeats.
    #[error("scope entry: expected distinct entries, got {got:?} twice")]
    DuplicateScope {
        /// The repeated entry.
        got: String,
    },
    /// `now + ttl` does not fit in a `u64`.
    #[error("time overflow: now {now} is out of range")]
    TimeOverflow {
        /// The current time given.
        now: u64,
    },
    /// Signing or signature verification failed.
    #[error("JWS: {0}")]
    Jws(#[from] JwsError),
    /// The verification key in the JWK Set is invalid.
    #[error("JWK: {0}")]
    Jwk(#[from] JwkError),
    /// The token's header has no `kid`.
    #[error("kid: expected a key id in the header, got none")]
    MissingKid,
    /// No key in the JWK Set has the token's `kid`.
    #[error("kid: expected one of the JWK Set's key ids, got {got:?}")]
    UnknownKid {
        /// The (clipped) `kid`.
        got: String,
    },
    /// The header's `typ` is not `JWT`.
    #[error("typ: expected \"JWT\", got {got:?}")]
    TypMismatch {
        /// The `typ` found, if any.
        got: Option<String>,
    },
    /// The claims are missing a member or have the wrong types.
    #[error("claims: {reason}")]
    InvalidClaims {
        /// What was wrong.
        reason: String,
    },
    /// `iss` is not the expected issuer.
    #[error("iss: expected {expected:?}, got {got:?}")]
    IssuerMismatch {
        /// The expected issuer.
        expected: String,
        /// The (clipped) `iss`.
        got: String,
    },
    /// `aud` is not the expected audience.
    #[error("aud: expected {expected:?}, got {got:?}")]
    AudienceMismatch {
        /// The expected audience.
        expected: String,
        /// The (clipped) `aud`.
        got: String,
    },
    /// `nbf` or `iat` is in the future beyond the leeway.
    #[error("nbf/iat: expected at most {latest}, got {got}")]
    NotYetValid {
        /// `now + leeway`.
        latest: u64,
        /// The later of `nbf` and `iat`.
        got: u64,
    },
    /// `exp` has passed (beyond the leeway).
    #[error("exp: expected later than {earliest}, got {got}")]
    Expired {
        /// `now - leeway`.
        earliest: u64,
        /// The `exp`.
        got: u64,
    },
    /// `exp - iat` is negative or above [`MAX_TTL_SECS`].
    #[error("lifetime: expected 1-{max} seconds, got exp {exp} with iat {iat}")]
    LifetimeOutOfRange {
        /// [`MAX_TTL_SECS`].
        max: u64,
        /// The `iat`.
        iat: u64,
        /// The `exp`.
        exp: u64,
    },
    /// `jti` is not base64url of [`JTI_BYTES`] bytes.
    #[error("jti: expected base64url of 16 bytes, got {got:?}")]
    InvalidJti {
        /// The (clipped) `jti`.
        got: String,
    },
}

/// Issues a relay token signed by `signer`, with `kid` in its header, valid from `now_secs`.
///
/// # Errors
/// A [`RelayTokenError`] naming the first request member that breaks the rules of
/// [`RelayTokenRequest`], or [`RelayTokenError::InvalidKid`].
pub fn issue<R: CryptoRng + ?Sized>(
    signer: &JwsSigner,
    kid: &str,
    request: &RelayTokenRequest,
    now_secs: u64,
    rng: &mut R,
) -> Result<IssuedToken, RelayTokenError> {
    check_kid(kid)?;
    if !is_name(&request.iss) {
        return Err(RelayTokenError::InvalidIssuer {
            got: clip(&request.iss),
        });
    }
    if !is_name(&request.aud) {
        return Err(RelayTokenError::InvalidAudience {
            got: clip(&request.aud),
        });
    }
    let ttl = request.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
    if ttl == 0 {
        return Err(RelayTokenError::TtlZero);
    }
    if ttl > MAX_TTL_SECS {
        return Err(RelayTokenError::TtlTooLong {
            max: MAX_TTL_SECS,
            got: ttl,
        });
    }
    if let Some(scope) = &request.scope {
        check_scope(scope)?;
    }
    let exp = now_secs
        .checked_add(ttl)
        .ok_or(RelayTokenError::TimeOverflow { now: now_secs })?;
    let mut jti = [0u8; JTI_BYTES];
    rng.fill_bytes(&mut jti);
    let claims = RelayClaims {
        iss: request.iss.clone(),
        aud: request.aud.clone(),
        iat: now_secs,
        nbf: now_secs,
        exp,
        jti: b64::encode(jti),
        scope: request.scope.clone(),
    };
    let header = Header::new(signer.alg()).with_typ(JWT_TYP).with_kid(kid);
    let token = signer.sign_compact(&header, &claims)?;
    Ok(IssuedToken {
        token,
        kid: kid.to_owned(),
        claims,
    })
}

/// The JWK Set a relay verifies with: one JWK per `(kid, key)`, with `alg` and `use: "sig"`.
pub fn jwks<'a>(keys: impl IntoIterator<Item = (&'a str, &'a JwsPublicKey)>) -> Jwks {
    Jwks {
        keys: keys
            .into_iter()
            .map(|(kid, key)| Jwk::from_public_key(key).with_kid(kid).for_signing())
            .collect(),
    }
}

/// Verifies a relay token: picks the key by `kid`, checks the signature with the algorithm
/// that key pins, then `typ`, `iss`, `aud`, the time window and the claim formats.
///
/// # Errors
/// The first failing check, as a [`RelayTokenError`].
pub fn verify(
    token: &str,
    keys: &Jwks,
    expect: &RelayTokenExpectation<'_>,
    now_secs: u64,
) -> Result<RelayClaims, RelayTokenError> {
    let kid = jws::peek_header(token)?
        .kid
        .ok_or(RelayTokenError::MissingKid)?;
    let jwk = keys
        .find(&kid)
        .ok_or_else(|| RelayTokenError::UnknownKid { got: clip(&kid) })?;
    let key = jwk.to_public_key()?;
    let (header, payload) = jws::verify_compact(token, &key)?;
    if header.typ.as_deref() != Some(JWT_TYP) {
        return Err(RelayTokenError::TypMismatch { got: header.typ });
    }
    let claims: RelayClaims =
        serde_json::from_value(payload).map_err(|e| RelayTokenError::InvalidClaims {
            reason: e.to_string(),
        })?;
    if claims.iss != expect.iss {
        return Err(RelayTokenError::IssuerMismatch {
            expected: expect.iss.to_owned(),
            got: clip(&claims.iss),
        });
    }
    if claims.aud != expect.aud {
        return Err(RelayTokenError::AudienceMismatch {
            expected: expect.aud.to_owned(),
            got: clip(&claims.aud),
        });
    }
    // RFC 7519 §4.1.4-5: reject at or after exp and before nbf, with a small skew allowance.
    let latest = now_secs.saturating_add(expect.leeway_secs);
    let earliest = now_secs.saturating_sub(expect.leeway_secs);
    let start = claims.nbf.max(claims.iat);
    if start > latest {
        return Err(RelayTokenError::NotYetValid { latest, got: start });
    }
    if claims.exp <= earliest {
        return Err(RelayTokenError::Expired {
            earliest,
            got: claims.exp,
        });
    }
    match claims.exp.checked_sub(claims.iat) {
        Some(life) if (1..=MAX_TTL_SECS).contains(&life) => {}
        _ => {
            return Err(RelayTokenError::LifetimeOutOfRange {
                max: MAX_TTL_SECS,
                iat: claims.iat,
                exp: claims.exp,
            });
        }
    }
    if b64::decode_array::<JTI_BYTES>(&claims.jti).is_err() {
        return Err(RelayTokenError::InvalidJti {
            got: clip(&claims.jti),
        });
    }
    if let Some(scope) = &claims.scope {
        check_scope(scope)?;
    }
    Ok(claims)
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Visible ASCII (RFC 5234 VCHAR, %x21-7E), 1–[`MAX_NAME_LEN`] bytes.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// RFC 3986 §2.3 unreserved characters: safe in headers, URLs and logs.
fn check_kid(kid: &str) -> Result<(), RelayTokenError> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(RelayTokenError::InvalidKid { got: clip(kid) })
    }
}

/// A subset of the RFC 6749 §3.3 scope-token alphabet.
fn check_scope(scope: &[String]) -> Result<(), RelayTokenError> {
    if scope.is_empty() {
        return Err(RelayTokenError::EmptyScope);
    }
    if scope.len() > MAX_SCOPES {
        return Err(RelayTokenError::TooManyScopes {
            max: MAX_SCOPES,
            got: scope.len(),
        });
    }
    for (i, entry) in scope.iter().enumerate() {
        let ok = !entry.is_empty()
            && entry.len() <= MAX_SCOPE_LEN
            && entry.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-')
            });
        if !ok {
            return Err(RelayTokenError::InvalidScope { got: clip(entry) });
        }
        if scope.iter().take(i).any(|prev| prev == entry) {
            return Err(RelayTokenError::DuplicateScope { got: entry.clone() });
        }
    }
    Ok(())
}
