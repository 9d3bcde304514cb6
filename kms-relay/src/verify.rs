//! Verification of the enclave's relay tokens (compact JWS, ES256 or EdDSA), as a relay
//! operator calls it.
//!
//! The checks, in order, each with its own [`Rejection`]:
//!
//! 1. size cap ([`Policy::max_token_len`]), three base64url segments, a JSON header;
//! 2. header `alg` is ES256 or EdDSA (so `none` and HS256 never reach a key), `typ` is
//!    `JWT`, `kid` present;
//! 3. `kid` is a registered key (unknown → one single-flight JWKS refresh), and the key's
//!    pinned algorithm equals the header's `alg`;
//! 4. signature and claims with jwt-simple: `exp`, `nbf`, `iat` (with at most 60 s leeway),
//!    `iss`, `aud`;
//! 5. `iat`, `nbf`, `exp`, `jti` all present, lifetime at most [`Policy::max_lifetime_secs`],
//!    the required scope if any;
//! 6. `jti` not seen before within the token's lifetime ([`crate::replay`]).

use std::collections::HashSet;

use jwt_simple::JWTError;
use jwt_simple::prelude::{
    Duration, ECDSAP256PublicKeyLike, EdDSAPublicKeyLike, JWTClaims, UnixTimeStamp,
    VerificationOptions,
};
use kms_core::Clock;
use serde::Deserialize;

use crate::jwks::{JwksError, KeyStore, PinnedKey};
use crate::replay::{ReplayError, ReplayGuard};

/// Largest leeway a policy may allow on `exp`/`nbf`/`iat`.
pub const MAX_LEEWAY_SECS: u64 = 60;
/// Default token size cap.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 4096;

/// Why a token was refused. Each reason is distinct and has a stable [`Rejection::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Larger than the size cap.
    #[error("token too large: expected at most {max} bytes, got {got}")]
    TooLarge {
        /// The cap.
        max: usize,
        /// The token's length.
        got: usize,
    },
    /// Not a compact JWS with a JSON header and claims.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg` is not ES256 or EdDSA (e.g. `none`, HS256).
    #[error("unsupported algorithm: expected ES256 or EdDSA, got {0:?}")]
    UnsupportedAlgorithm(String),
    /// `typ` is not `JWT`.
    #[error("wrong token type: expected \"JWT\", got {0:?}")]
    WrongType(Option<String>),
    /// No `kid` in the header.
    #[error("missing kid")]
    MissingKid,
    /// The `kid` is not registered, even after a refresh.
    #[error("unknown kid {0:?}")]
    UnknownKid(String),
    /// The registered key is pinned to another algorithm.
    #[error("algorithm mismatch: key is {expected}, token says {got}")]
    AlgorithmMismatch {
        /// The key's algorithm.
        expected: &'static str,
        /// The header's algorithm.
        got: String,
    },
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// A required claim is missing.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// `exp - iat` exceeds the policy's maximum lifetime.
    #[error("lifetime too long: expected at most {max} s, got {got} s")]
    LifetimeTooLong {
        /// The maximum.
        max: u64,
        /// The token's lifetime.
        got: u64,
    },
    /// `iss` is not an accepted issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not name this relay.
    #[error("wrong audience")]
    WrongAudience,
    /// The required scope is missing.
    #[error("missing scope {0:?}")]
    MissingScope(String),
    /// The `jti` was already used.
    #[error("token replayed")]
    Replayed,
    /// Too many live tokens remembered; refused rather than admitted unchecked.
    #[error("replay cache full")]
    ReplayCacheFull,
    /// The key set could not be refreshed.
    #[error("key source unavailable: {0}")]
    KeySource(String),
}

impl Rejection {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm(_) => "unsupported_alg",
            Self::WrongType(_) => "wrong_typ",
            Self::MissingKid => "missing_kid",
            Self::UnknownKid(_) => "unknown_kid",
            Self::AlgorithmMismatch { .. } => "alg_mismatch",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::MissingClaim(_) => "missing_claim",
            Self::LifetimeTooLong { .. } => "lifetime_too_long",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingScope(_) => "missing_scope",
            Self::Replayed => "replayed",
            Self::ReplayCacheFull => "replay_cache_full",
            Self::KeySource(_) => "key_source",
        }
    }
}

impl From<JwksError> for Rejection {
    fn from(e: JwksError) -> Self {
        Self::KeySource(e.to_string())
    }
}

/// What a relay accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Accepted `iss` values (the owner's origin).
    pub issuers: Vec<String>,
    /// This relay's identifier, required in `aud`.
    pub audience: String,
    /// A scope the token must carry, if any (e.g. `prekeys:upload`).
    pub required_scope: Option<String>,
    /// Clock leeway on `exp`/`nbf`/`iat`, at most [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// Size cap.
    pub max_token_len: usize,
    /// Longest accepted `exp - iat`.
    pub max_lifetime_secs: u64,
}

impl Policy {
    /// A policy for `issuer` and `audience` with the defaults: 30 s leeway, 4 KiB cap, 1 h
    /// maximum lifetime, no scope requirement.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuers: vec![issuer.into()],
            audience: audience.into(),
            required_scope: None,
            leeway_secs: 30,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            max_lifetime_secs: kms_core::relay_token::MAX_TTL_SECS,
        }
    }

    /// Requires `scope`.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.required_scope = Some(scope.into());
        self
    }
}

/// The claims of an accepted token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The key that signed it.
    pub kid: String,
    /// Issuer.
    pub iss: String,
    /// Token id.
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Scopes.
    pub scope: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Extra {
    #[serde(default)]
    scope: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<serde_json::Value>,
    typ: Option<serde_json::Value>,
    kid: Option<serde_json::Value>,
}

/// A relay-token verifier: keys, policy, replay guard and clock.
pub struct Verifier<C> {
    keys: KeyStore,
    policy: Policy,
    replay: ReplayGuard,
    clock: C,
}

impl<C> core::fmt::Debug for Verifier<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

fn text(v: Option<serde_json::Value>) -> Option<String> {
    match v {
        Some(serde_json::Value::String(s)) => Some(s.chars().take(64).collect()),
        Some(other) => Some(other.to_string().chars().take(64).collect()),
        None => None,
    }
}

impl<C: Clock> Verifier<C> {
    /// A verifier; the leeway is capped at [`MAX_LEEWAY_SECS`].
    pub fn new(keys: KeyStore, mut policy: Policy, clock: C) -> Self {
        policy.leeway_secs = policy.leeway_secs.min(MAX_LEEWAY_SECS);
        Self {
            keys,
            policy,
            replay: ReplayGuard::default(),
            clock,
        }
    }

    /// Replaces the replay guard (e.g. with another capacity).
    pub fn with_replay_guard(mut self, replay: ReplayGuard) -> Self {
        self.replay = replay;
        self
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The registered keys.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Verifies `token` and records its `jti`.
    ///
    /// # Errors
    /// The first failed check, as a [`Rejection`].
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, Rejection> {
        let p = &self.policy;
        if token.len() > p.max_token_len {
            return Err(Rejection::TooLarge {
                max: p.max_token_len,
                got: token.len(),
            });
        }
        let mut parts = token.split('.');
        let (Some(h), Some(_), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed("expected three segments"));
        };
        let header_bytes = kms_core::hazmat::b64::decode(h)
            .map_err(|_| Rejection::Malformed("header is not base64url"))?;
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|_| Rejection::Malformed("header is not a JSON object"))?;
        let alg = text(header.alg).unwrap_or_default();
        if alg != "ES256" && alg != "EdDSA" {
            return Err(Rejection::UnsupportedAlgorithm(alg));
        }
        let typ = text(header.typ);
        if typ.as_deref() != Some("JWT") {
            return Err(Rejection::WrongType(typ));
        }
        let kid = match header.kid {
            Some(serde_json::Value::String(k)) if !k.is_empty() => k,
            _ => return Err(Rejection::MissingKid),
        };
        // Both algorithms have 64-byte signatures (ES256: r ‖ s, RFC 7518 §3.4).
        if kms_core::hazmat::b64::decode(sig).map(|s| s.len()) != Ok(64) {
            return Err(Rejection::BadSignature);
        }
        let now = self.clock.now_secs();
        let key = self
            .keys
            .get_or_refresh(&kid, now)?
            .ok_or_else(|| Rejection::UnknownKid(kid.chars().take(64).collect()))?;
        if key.alg().name() != alg {
            return Err(Rejection::AlgorithmMismatch {
                expected: key.alg().name(),
                got: alg,
            });
        }
        let options = VerificationOptions {
            allowed_issuers: Some(p.issuers.iter().cloned().collect::<HashSet<_>>()),
            allowed_audiences: Some(HashSet::from([p.audience.clone()])),
            time_tolerance: Some(Duration::from_secs(p.leeway_secs)),
            max_token_length: Some(p.max_token_len),
            artificial_time: Some(UnixTimeStamp::from_secs(now)),
            required_key_id: Some(kid.clone()),
            ..VerificationOptions::default()
        };
        let claims: JWTClaims<Extra> = match &key {
            PinnedKey::Es256(k) => k.verify_token(token, Some(options)),
            PinnedKey::EdDsa(k) => k.verify_token(token, Some(options)),
        }
        .map_err(|e| map_jwt_error(&e, token.len(), p.max_token_len, key.alg().name()))?;
        let iat = claims
            .issued_at
            .ok_or(Rejection::MissingClaim("iat"))?
            .as_secs();
        claims
            .invalid_before
            .ok_or(Rejection::MissingClaim("nbf"))?;
        let exp = claims
            .expires_at
            .ok_or(Rejection::MissingClaim("exp"))?
            .as_secs();
        let jti = claims
            .jwt_id
            .filter(|j| !j.is_empty())
            .ok_or(Rejection::MissingClaim("jti"))?;
        let iss = claims.issuer.ok_or(Rejection::WrongIssuer)?;
        let lifetime = exp.saturating_sub(iat);
        if lifetime > p.max_lifetime_secs {
            return Err(Rejection::LifetimeTooLong {
                max: p.max_lifetime_secs,
                got: lifetime,
            });
        }
        let scope = claims.custom.scope.unwrap_or_default();
        if let Some(required) = &p.required_scope
            && !scope.contains(required)
        {
            return Err(Rejection::MissingScope(required.clone()));
        }
        self.replay
            .check_and_record(&iss, &jti, exp.saturating_add(p.leeway_secs), now)
            .map_err(|e| match e {
                ReplayError::Replayed => Rejection::Replayed,
                ReplayError::Full => Rejection::ReplayCacheFull,
            })?;
        Ok(VerifiedToken {
            kid,
            iss,
            jti,
            exp,
            scope,
        })
    }
}

/// Maps jwt-simple's error to our reason. Size and algorithm are checked before jwt-simple
/// runs, so those two arms only restate the same facts.
fn map_jwt_error(e: &jwt_simple::Error, len: usize, max: usize, alg: &'static str) -> Rejection {
    match e.downcast_ref::<JWTError>() {
        Some(JWTError::InvalidSignature) => Rejection::BadSignature,
        Some(JWTError::TokenHasExpired) => Rejection::Expired,
        Some(JWTError::TokenNotValidYet) => Rejection::NotYetValid,
        Some(JWTError::ClockDrift) => Rejection::IssuedInFuture,
        Some(JWTError::RequiredIssuerMismatch | JWTError::RequiredIssuerMissing) => {
            Rejection::WrongIssuer
        }
        Some(JWTError::RequiredAudienceMismatch | JWTError::RequiredAudienceMissing) => {
            Rejection::WrongAudience
        }
        Some(JWTError::TokenTooLong) => Rejection::TooLarge { max, got: len },
        Some(JWTError::AlgorithmMismatch) => Rejection::AlgorithmMismatch {
            expected: alg,
            got: "another algorithm".into(),
        },
        _ => Rejection::Malformed("signature or claims do not parse"),
    }
}
