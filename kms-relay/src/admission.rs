//! What the vending service accepts from the prekey owner, as one set of checks for every
//! server that runs it (the native [`crate::server`] and the Cloudflare Worker's wasm module):
//! the relay token on an owner's request, the JSON body, and the prekeys it uploads.
//!
//! Each check answers with the [`ApiError`] the server sends, so the servers' refusals are
//! the same bytes.

use kms_core::Clock;
use kms_core::envelope::{EnvelopeError, PrekeyUse, SignedPrekey};
use kms_core::signal::identity::PublicKey;
use serde::de::DeserializeOwned;

use crate::api::{ApiError, MAX_BODY, UPLOAD_SCOPE, UploadRequest};
use crate::vending::MAX_BATCH;
use crate::verify::{Rejection, VerifiedToken, Verifier};

/// The `WWW-Authenticate` challenge sent with every 401.
pub const CHALLENGE: &str = "Bearer error=\"invalid_token\"";

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn unauthorized(reason: &str, message: &str) -> ApiError {
    ApiError::Unauthorized {
        reason: reason.into(),
        message: message.into(),
    }
}

/// Checks the owner's relay token (from the `Authorization` header's value): present,
/// verifying, and carrying [`UPLOAD_SCOPE`].
///
/// # Errors
/// [`ApiError::Unauthorized`] with the verifier's rejection code, `missing_token` or
/// `missing_scope`.
pub fn authorize<C: Clock>(
    verifier: &Verifier<C>,
    authorization: Option<&str>,
) -> Result<VerifiedToken, ApiError> {
    let Some(token) = bearer(authorization) else {
        return Err(unauthorized(
            "missing_token",
            "a Bearer relay token is required",
        ));
    };
    match verifier.verify(token) {
        Ok(t) if t.scope.iter().any(|s| s == UPLOAD_SCOPE) => Ok(t),
        Ok(_) => Err(unauthorized("missing_scope", "token lacks prekeys:upload")),
        Err(r) => Err(unauthorized(r.code(), &r.to_string())),
    }
}

/// The refusal of a token whose `jti` a shared replay store has seen before (the Worker's
/// D1 table), the same answer as the verifier's own replay check.
pub fn replayed() -> ApiError {
    let r = Rejection::Replayed;
    unauthorized(r.code(), &r.to_string())
}

/// Checks a body's size against [`MAX_BODY`].
///
/// # Errors
/// [`ApiError::TooLarge`].
pub fn body_size(len: usize) -> Result<(), ApiError> {
    if len > MAX_BODY {
        return Err(ApiError::TooLarge {
            message: format!("body larger than {MAX_BODY} bytes"),
        });
    }
    Ok(())
}

/// Parses an owner's JSON body.
///
/// # Errors
/// [`ApiError::BadJson`] with the parser's message.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadJson {
        message: e.to_string(),
    })
}

/// Why an uploaded prekey is refused: the message of [`ApiError::BadPrekey`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// Uploaded for another use.
    #[error("expected use {expected:?}, got {got:?}")]
    WrongUse {
        /// The use the endpoint takes.
        expected: &'static str,
        /// The prekey's.
        got: &'static str,
    },
    /// Not signed by the owner's identity key, or malformed.
    #[error(transparent)]
    Signature(#[from] EnvelopeError),
}

/// Checks one prekey: its use is `want` and it verifies under the owner's identity key, as
/// the sender will check it (`SignedPrekey::verify`).
///
/// # Errors
/// [`Refused`].
pub fn check_prekey(p: &SignedPrekey, want: PrekeyUse, owner: &PublicKey) -> Result<(), Refused> {
    if p.use_ != want {
        return Err(Refused::WrongUse {
            expected: want.name(),
            got: p.use_.name(),
        });
    }
    p.verify(owner)?;
    Ok(())
}

/// Checks an upload: at most [`MAX_BATCH`] prekeys, each a one-time prekey signed by the
/// owner.
///
/// # Errors
/// [`ApiError::BatchTooLarge`], or [`ApiError::BadPrekey`] naming the first refused one.
pub fn check_upload(batch: &UploadRequest, owner: &PublicKey) -> Result<(), ApiError> {
    if batch.prekeys.len() > MAX_BATCH {
        return Err(ApiError::BatchTooLarge {
            message: format!("at most {MAX_BATCH} prekeys per upload"),
        });
    }
    for (index, p) in batch.prekeys.iter().enumerate() {
        check_prekey(p, PrekeyUse::OneTime, owner).map_err(|e| ApiError::BadPrekey {
            index,
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Checks an epoch key: use `epoch`, signed by the owner.
///
/// # Errors
/// [`ApiError::BadPrekey`] with index 0.
pub fn check_epoch(prekey: &SignedPrekey, owner: &PublicKey) -> Result<(), ApiError> {
    check_prekey(prekey, PrekeyUse::Epoch, owner).map_err(|e| ApiError::BadPrekey {
        index: 0,
        message: e.to_string(),
    })
}
