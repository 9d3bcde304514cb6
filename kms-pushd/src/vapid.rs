//! Checking `Authorization: vapid t=<jwt>, k=<key>` (RFC 8292) as a push service does.
//!
//! 401 when the token itself does not stand: missing, garbled, badly signed, without `exp`,
//! expired or more than 24 h ahead. 403 when it stands but is not for this message: signed
//! by a key other than the one the subscription was created with, or for another push
//! service (`aud` is not this service's origin).

use kms_core::hazmat::b64;
use kms_core::jws::{self, JwsAlg, JwsError};

/// Longest token lifetime accepted (RFC 8292 §2: 24 hours).
pub const MAX_LIFETIME_SECS: u64 = 24 * 3600;

/// Why a VAPID authorization was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VapidRefusal {
    /// No `Authorization` header on a restricted subscription.
    #[error("no Authorization header (the subscription has an applicationServerKey)")]
    Missing,
    /// The header is not `vapid t=<jwt>, k=<key>`.
    #[error("Authorization: expected 'vapid t=<jwt>, k=<key>': {0}")]
    Malformed(&'static str),
    /// `k` is not an uncompressed P-256 public key.
    #[error("k: not an uncompressed P-256 public key")]
    Key,
    /// The token is not a well-formed ES256 JWT.
    #[error("t: {0}")]
    Token(String),
    /// The signature does not verify under `k`.
    #[error("t: the ES256 signature does not verify under k")]
    Signature,
    /// No numeric `exp` claim.
    #[error("t: no numeric exp claim")]
    NoExpiry,
    /// `exp` is not in the future.
    #[error("t: expired (exp {exp}, now {now})")]
    Expired {
        /// The claim.
        exp: u64,
        /// Now.
        now: u64,
    },
    /// `exp` is more than 24 h ahead.
    #[error("t: exp {exp} is more than 24 h after now ({now})")]
    TooLong {
        /// The claim.
        exp: u64,
        /// Now.
        now: u64,
    },
    /// `aud` is not this push service's origin.
    #[error("t: aud {got:?} is not this push service ({expected})")]
    Audience {
        /// The claim (truncated).
        got: String,
        /// This service's origin.
        expected: String,
    },
    /// `k` is not the subscription's applicationServerKey.
    #[error("k is not the applicationServerKey this subscription was created with")]
    KeyMismatch,
}

impl VapidRefusal {
    /// The HTTP status: 403 for [`VapidRefusal::Audience`] and [`VapidRefusal::KeyMismatch`],
    /// 401 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            Self::Audience { .. } | Self::KeyMismatch => 403,
            _ => 401,
        }
    }
}

/// A verified authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The sender's public key (`k`).
    pub key: Vec<u8>,
    /// `sub`, if any.
    pub sub: Option<String>,
    /// `exp`.
    pub exp: u64,
}

/// Parses `vapid t=…, k=…` into `(t, k)`.
///
/// # Errors
/// [`VapidRefusal::Malformed`].
pub fn parse_header(value: &str) -> Result<(&str, &str), VapidRefusal> {
    let value = value.trim();
    let (scheme, params) = value
        .split_once(' ')
        .ok_or(VapidRefusal::Malformed("no parameters"))?;
    if !scheme.eq_ignore_ascii_case("vapid") {
        return Err(VapidRefusal::Malformed("the scheme is not 'vapid'"));
    }
    let (mut t, mut k) = (None, None);
    for param in params.split(',') {
        let (name, v) = param
            .trim()
            .split_once('=')
            .ok_or(VapidRefusal::Malformed("a parameter without '='"))?;
        let slot = match name.trim() {
            n if n.eq_ignore_ascii_case("t") => &mut t,
            n if n.eq_ignore_ascii_case("k") => &mut k,
            _ => return Err(VapidRefusal::Malformed("a parameter other than t and k")),
        };
        if slot.replace(v.trim()).is_some() {
            return Err(VapidRefusal::Malformed("a repeated parameter"));
        }
    }
    match (t, k) {
        (Some(t), Some(k)) if !t.is_empty() && !k.is_empty() => Ok((t, k)),
        _ => Err(VapidRefusal::Malformed("t and k are both required")),
    }
}

/// Decodes a P-256 public key given as base64url, padded or not.
pub fn decode_key(text: &str) -> Option<[u8; 65]> {
    let bytes = b64::decode(text.trim_end_matches('=')).ok()?;
    let key: [u8; 65] = bytes.as_slice().try_into().ok()?;
    (key[0] == 0x04 && p256::PublicKey::from_sec1_bytes(&key).is_ok()).then_some(key)
}

/// Checks `header` for a message to a subscription created with `registered` (its
/// applicationServerKey; `None`: unrestricted, the header is then optional) at this push
/// service (`audience`, its origin) at `now` (seconds since the epoch).
///
/// # Errors
/// [`VapidRefusal`] naming the first failed check.
pub fn check(
    header: Option<&str>,
    registered: Option<&[u8; 65]>,
    audience: &str,
    now: u64,
) -> Result<Option<Verified>, VapidRefusal> {
    let Some(header) = header else {
        return match registered {
            Some(_) => Err(VapidRefusal::Missing),
            None => Ok(None),
        };
    };
    let (token, k) = parse_header(header)?;
    let key = decode_key(k).ok_or(VapidRefusal::Key)?;
    let public = jws::PublicKey::from_bytes(JwsAlg::ES256, &key).map_err(|_| VapidRefusal::Key)?;
    let (_, claims) = jws::verify_compact(token, &public).map_err(|e| match e {
        JwsError::BadSignature => VapidRefusal::Signature,
        other => VapidRefusal::Token(other.to_string()),
    })?;
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_u64)
        .ok_or(VapidRefusal::NoExpiry)?;
    if exp <= now {
        return Err(VapidRefusal::Expired { exp, now });
    }
    if exp > now + MAX_LIFETIME_SECS {
        return Err(VapidRefusal::TooLong { exp, now });
    }
    let aud = claims.get("aud").and_then(serde_json::Value::as_str);
    if aud != Some(audience) {
        return Err(VapidRefusal::Audience {
            got: aud.unwrap_or_default().chars().take(80).collect(),
            expected: audience.to_owned(),
        });
    }
    if let Some(registered) = registered
        && registered != &key
    {
        return Err(VapidRefusal::KeyMismatch);
    }
    Ok(Some(Verified {
        key: key.to_vec(),
        sub: claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        exp,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        assert_eq!(parse_header("vapid t=a.b.c, k=BA"), Ok(("a.b.c", "BA")));
        assert_eq!(parse_header("Vapid k=BA,t=a.b.c"), Ok(("a.b.c", "BA")));
        for bad in [
            "",
            "vapid",
            "Bearer t=a, k=b",
            "WebPush a.b.c",
            "vapid t=a.b.c",
            "vapid t=a.b.c, k=",
            "vapid t=a.b.c, k=b, t=d",
            "vapid t=a.b.c, k=b, x=1",
            "vapid t",
        ] {
            assert!(
                matches!(parse_header(bad), Err(VapidRefusal::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(VapidRefusal::KeyMismatch.status(), 403);
        assert_eq!(
            VapidRefusal::Audience {
                got: String::new(),
                expected: String::new()
            }
            .status(),
            403
        );
        assert_eq!(VapidRefusal::Missing.status(), 401);
        assert_eq!(VapidRefusal::Signature.status(), 401);
    }
}
