//! VAPID (RFC 8292): the application server's P-256 identity for Web Push.
//!
//! A [`VapidKey`] publishes its public key as the `applicationServerKey` a browser subscribes
//! with, and signs short-lived ES256 JWTs for push requests, delivered as
//! `Authorization: vapid t=<jwt>, k=<key>` (RFC 8292 §3). Claims are checked before signing:
//! a push service refuses tokens that break the rules below, and a refusal is far easier to
//! diagnose here than as an HTTP 403.

mod audience;

use rand_core::CryptoRng;
use serde::Serialize;

use crate::b64;
use crate::jws::{Header, JwsAlg, JwsError, JwsPublicKey, JwsSigner};
use crate::secret::Secret32;

pub use audience::{MAX_AUDIENCE_LEN, normalize_audience};

/// Longest a VAPID token may live: RFC 8292 §2 says `exp` MUST NOT be more than 24 hours
/// after the request.
pub const MAX_VALIDITY_SECS: u64 = 24 * 60 * 60;
/// Lifetime used when the caller gives no `exp`: 12 hours, well inside the 24-hour limit.
pub const DEFAULT_VALIDITY_SECS: u64 = 12 * 60 * 60;
/// Longest accepted `sub` contact URI.
pub const MAX_SUBJECT_LEN: usize = 512;
/// The JWT `typ` of a VAPID token (RFC 8292 §2, RFC 7519 §5.1).
pub const JWT_TYP: &str = "JWT";
/// The HTTP authentication scheme (RFC 8292 §3).
pub const AUTH_SCHEME: &str = "vapid";

/// What to put in a VAPID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidClaims {
    /// The push resource's origin, e.g. `https://push.example.net` (RFC 8292 §2).
    pub aud: String,
    /// A contact URI, `mailto:` or `https:` (RFC 8292 §2.1).
    pub sub: Option<String>,
    /// Expiry, seconds since the epoch; default now + [`DEFAULT_VALIDITY_SECS`].
    pub exp: Option<u64>,
}

/// A signed VAPID authorization for one push service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidAuthorization {
    /// The full `Authorization` header value: `vapid t=<jwt>, k=<key>` (RFC 8292 §3).
    pub header: String,
    /// The JWT alone.
    pub token: String,
    /// The token's `exp`, seconds since the epoch.
    pub expires_at: u64,
}

/// Errors from building a VAPID authorization.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VapidError {
    /// The private key is not a valid P-256 scalar.
    #[error("invalid VAPID key: {0}")]
    InvalidKey(JwsError),
    /// `aud` does not use the https scheme.
    #[error("aud scheme: expected \"https://\", got {got:?}")]
    AudienceScheme {
        /// The (clipped) `aud`.
        got: String,
    },
    /// `aud` carries userinfo (`user@`).
    #[error("aud userinfo: expected an origin without userinfo, got {got:?}")]
    AudienceUserinfo {
        /// The (clipped) `aud`.
        got: String,
    },
    /// `aud` has a path, query or fragment.
    #[error("aud path: expected an origin without path, query or fragment, got {got:?}")]
    AudiencePath {
        /// The (clipped) `aud`.
        got: String,
    },
    /// `aud`'s host is empty or not a valid DNS name or IP literal.
    #[error("aud host: expected an ASCII DNS name or IP literal, got {got:?}")]
    AudienceHost {
        /// The (clipped) host.
        got: String,
    },
    /// `aud`'s port is not a number in 1–65535.
    #[error("aud port: expected 1-65535, got {got:?}")]
    AudiencePort {
        /// The (clipped) port text.
        got: String,
    },
    /// `exp` is not after `now`.
    #[error("exp: expected later than now ({now}), got {got}")]
    ExpiryNotInFuture {
        /// The current time.
        now: u64,
        /// The requested `exp`.
        got: u64,
    },
    /// `exp` is more than 24 hours after `now`.
    #[error("exp: expected at most {max} (now + 24 h), got {got}")]
    ExpiryTooFar {
        /// The latest allowed `exp`.
        max: u64,
        /// The requested `exp`.
        got: u64,
    },
    /// `now + validity` does not fit in a `u64`.
    #[error("time overflow: now {now} is out of range")]
    TimeOverflow {
        /// The current time given.
        now: u64,
    },
    /// `sub` is not a `mailto:` or `https:` URI.
    #[error("sub: expected a \"mailto:\" or \"https://\" URI of at most 512 bytes, got {got:?}")]
    InvalidSubject {
        /// The (clipped) `sub`.
        got: String,
    },
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(JwsError),
}

/// The claims as they go on the wire, in the order of the RFC 8292 §2.4 example.
#[derive(Serialize)]
struct WireClaims<'a> {
    aud: &'a str,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
}

/// A VAPID signing key (ECDSA P-256).
#[derive(Debug)]
pub struct VapidKey {
    signer: JwsSigner,
}

impl VapidKey {
    /// A fresh random key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            signer: JwsSigner::generate(JwsAlg::Es256, rng),
        }
    }

    /// Rebuilds a key from its 32-byte big-endian private scalar.
    ///
    /// # Errors
    /// [`VapidError::InvalidKey`] unless the bytes are a scalar in `[1, n-1]`.
    pub fn from_secret(secret: &Secret32) -> Result<Self, VapidError> {
        JwsSigner::from_secret(JwsAlg::Es256, secret)
            .map(|signer| Self { signer })
            .map_err(VapidError::InvalidKey)
    }

    /// The private scalar, for wrapping.
    pub fn secret(&self) -> Secret32 {
        self.signer.secret()
    }

    /// The public key.
    pub fn public_key(&self) -> JwsPublicKey {
        self.signer.public_key()
    }

    /// The `applicationServerKey` / `k` parameter: base64url of the 65-byte uncompressed
    /// P-256 point (RFC 8292 §3.2).
    pub fn application_server_key(&self) -> String {
        b64::encode(self.public_key().to_bytes())
    }

    /// Signs a VAPID JWT for `claims` at time `now_secs` (seconds since the epoch).
    ///
    /// # Errors
    /// A [`VapidError`] naming the first claim that breaks the rules in the module docs.
    pub fn authorization(
        &self,
        claims: &VapidClaims,
        now_secs: u64,
    ) -> Result<VapidAuthorization, VapidError> {
        let aud = normalize_audience(&claims.aud)?;
        let max = now_secs
            .checked_add(MAX_VALIDITY_SECS)
            .ok_or(VapidError::TimeOverflow { now: now_secs })?;
        let exp = match claims.exp {
            Some(exp) => exp,
            None => now_secs
                .checked_add(DEFAULT_VALIDITY_SECS)
                .ok_or(VapidError::TimeOverflow { now: now_secs })?,
        };
        if exp <= now_secs {
            return Err(VapidError::ExpiryNotInFuture {
                now: now_secs,
                got: exp,
            });
        }
        // RFC 8292 §2: no more than 24 hours from the time of the request.
        if exp > max {
            return Err(VapidError::ExpiryTooFar { max, got: exp });
        }
        if let Some(sub) = &claims.sub {
            check_subject(sub)?;
        }
        // RFC 8292 §2: a JWT signed with ES256.
        let header = Header::new(JwsAlg::Es256).with_typ(JWT_TYP);
        let token = self
            .signer
            .sign_compact(
                &header,
                &WireClaims {
                    aud: &aud,
                    exp,
                    sub: claims.sub.as_deref(),
                },
            )
            .map_err(VapidError::Sign)?;
        Ok(VapidAuthorization {
            header: authorization_header(&token, &self.application_server_key()),
            token,
            expires_at: exp,
        })
    }
}

/// Formats the `Authorization` header value (RFC 8292 §3: the `t` and `k` auth-params).
pub fn authorization_header(token: &str, application_server_key: &str) -> String {
    format!("{AUTH_SCHEME} t={token}, k={application_server_key}")
}

/// Reads the `k` parameter (or an `applicationServerKey`) as a P-256 public key.
///
/// # Errors
/// [`VapidError::InvalidKey`] unless it is base64url of a valid uncompressed P-256 point.
pub fn parse_application_server_key(k: &str) -> Result<JwsPublicKey, VapidError> {
    let bytes = b64::decode(k).map_err(|_| {
        VapidError::InvalidKey(JwsError::InvalidPublicKey {
            alg: JwsAlg::Es256,
            reason: "not base64url",
        })
    })?;
    JwsPublicKey::from_bytes(JwsAlg::Es256, &bytes).map_err(VapidError::InvalidKey)
}

/// RFC 8292 §2.1: the contact is a `mailto:` (RFC 6068) or `https:` URI.
fn check_subject(sub: &str) -> Result<(), VapidError> {
    let invalid = || VapidError::InvalidSubject {
        got: sub.chars().take(64).collect(),
    };
    if sub.len() > MAX_SUBJECT_LEN
        || sub
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || !c.is_ascii())
    {
        return Err(invalid());
    }
    let rest = if let Some(rest) = strip_prefix_ci(sub, "mailto:") {
        rest
    } else if let Some(rest) = strip_prefix_ci(sub, "https://") {
        rest
    } else {
        return Err(invalid());
    };
    if rest.is_empty() {
        return Err(invalid());
    }
    Ok(())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_rules() {
        for ok in [
            "mailto:push@example.com",
            "https://example.com/contact",
            "MAILTO:a@b",
        ] {
            assert_eq!(check_subject(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "mailto:",
            "https://",
            "http://example.com",
            "push@example.com",
            "mailto:a b@c",
            "mailto:é@example.com",
        ] {
            assert!(
                matches!(check_subject(bad), Err(VapidError::InvalidSubject { .. })),
                "{bad}"
            );
        }
        let long = format!("mailto:{}@example.com", "a".repeat(MAX_SUBJECT_LEN));
        assert!(check_subject(&long).is_err());
    }
}
