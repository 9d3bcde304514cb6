//! The vending service's HTTP API as types — its paths, bodies and error answers — shared
//! by [`crate::server`] and [`crate::client`], so the two cannot drift apart.
//!
//! | method | path | auth | success | errors |
//! |---|---|---|---|---|
//! | `POST` | [`PREKEYS`] | owner token, scope [`UPLOAD_SCOPE`] | 200 [`Uploaded`] | 401, 400, 413 |
//! | `GET` | [`PREKEY`] | — (rate limited) | 200 [`SignedPrekey`] | 503 [`ApiError::Exhausted`], 429 |
//! | `GET` | [`COUNT`] | — | 200 [`Counts`] | |
//! | `PUT` | [`EPOCH`] | owner token, scope [`UPLOAD_SCOPE`] | 204 | 401, 400 |
//! | `GET` | [`EPOCH`] | — | 200 [`SignedPrekey`] | 404 [`ApiError::NoEpochKey`] |
//! | `GET` | [`HEALTH`] | — | `ok` | |
//!
//! Every error answer is an [`ApiError`]: `{"error": "<code>", ...}`.

use kms_core::envelope::SignedPrekey;
use serde::{Deserialize, Serialize};

/// Take one one-time prekey.
pub const PREKEY: &str = "/api/v1/prekey";
/// Upload a batch of one-time prekeys.
pub const PREKEYS: &str = "/api/v1/prekeys";
/// How many prekeys are available and consumed.
pub const COUNT: &str = "/api/v1/prekeys/count";
/// Set or read the epoch key.
pub const EPOCH: &str = "/api/v1/epoch";
/// Liveness.
pub const HEALTH: &str = "/healthz";

/// Largest request body accepted (a full batch of hybrid prekeys is about 1.8 MB).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Scope an owner token needs to upload prekeys or set the epoch key.
pub const UPLOAD_SCOPE: &str = "prekeys:upload";

/// An endpoint of the API: a method on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET` [`PREKEY`].
    Take,
    /// `POST` [`PREKEYS`].
    Upload,
    /// `GET` [`COUNT`].
    Count,
    /// `PUT` [`EPOCH`].
    SetEpoch,
    /// `GET` [`EPOCH`].
    Epoch,
    /// `GET` [`HEALTH`].
    Health,
}

impl Endpoint {
    /// The endpoint `method` (upper case, as on the wire) names on `path` (without the
    /// query).
    ///
    /// # Errors
    /// [`ApiError::MethodNotAllowed`] for another method on a known path,
    /// [`ApiError::NotFound`] for an unknown path.
    pub fn route(method: &str, path: &str) -> Result<Self, ApiError> {
        match (method, path) {
            ("GET", PREKEY) => Ok(Self::Take),
            ("POST", PREKEYS) => Ok(Self::Upload),
            ("GET", COUNT) => Ok(Self::Count),
            ("PUT", EPOCH) => Ok(Self::SetEpoch),
            ("GET", EPOCH) => Ok(Self::Epoch),
            ("GET", HEALTH) => Ok(Self::Health),
            (_, PREKEY | PREKEYS | COUNT | EPOCH) => Err(ApiError::MethodNotAllowed {
                message: "method not allowed".into(),
            }),
            _ => Err(ApiError::NotFound {
                message: "no such endpoint".into(),
            }),
        }
    }
}

/// `POST` [`PREKEYS`] body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// Signed one-time prekeys, at most [`crate::vending::MAX_BATCH`].
    pub prekeys: Vec<SignedPrekey>,
}

/// `POST` [`PREKEYS`] answer: what the upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    /// New prekeys stored.
    pub inserted: u64,
    /// Already-known kids, ignored.
    pub duplicates: u64,
    /// Keys available after the upload.
    pub available: u64,
}

/// `GET` [`COUNT`] answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Prekeys not yet vended.
    pub available: u64,
    /// Prekeys vended.
    pub consumed: u64,
}

/// What a sender falls back to when the one-time prekeys are exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The owner's epoch key ([`EPOCH`]).
    Epoch,
}

/// An error answer, `{"error": "<code>", ...}`, with its HTTP status ([`ApiError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApiError {
    /// 401: no token, or the token failed verification or lacks [`UPLOAD_SCOPE`].
    Unauthorized {
        /// The verifier's rejection code (`expired`, `missing_scope`, ...).
        reason: String,
        /// Human-readable.
        message: String,
    },
    /// 400: a prekey of the upload does not verify under the owner's identity key, or has
    /// the wrong use.
    BadPrekey {
        /// Its index in the batch (0 for the epoch key).
        index: usize,
        /// Why.
        message: String,
    },
    /// 400: the body is not the expected JSON.
    BadJson {
        /// The parser's message.
        message: String,
    },
    /// 400: the body could not be read.
    BadBody {
        /// Human-readable.
        message: String,
    },
    /// 413: the body is larger than the server accepts.
    TooLarge {
        /// Human-readable.
        message: String,
    },
    /// 413: more prekeys than one upload may carry.
    BatchTooLarge {
        /// Human-readable.
        message: String,
    },
    /// 503: no one-time prekey is left (with `Retry-After`).
    Exhausted {
        /// What to use instead.
        fallback: Fallback,
    },
    /// 429: this requester is over its limit (with `Retry-After`).
    RateLimited {
        /// Human-readable.
        message: String,
    },
    /// 404: no epoch key has been set.
    NoEpochKey {
        /// Human-readable.
        message: String,
    },
    /// 404: no such endpoint.
    NotFound {
        /// Human-readable.
        message: String,
    },
    /// 405: the endpoint exists, the method does not.
    MethodNotAllowed {
        /// Human-readable.
        message: String,
    },
    /// 500: the database failed (details are in the server's log only).
    Storage {
        /// Human-readable.
        message: String,
    },
}

impl ApiError {
    /// The HTTP status this answer is sent with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized { .. } => 401,
            Self::BadPrekey { .. } | Self::BadJson { .. } | Self::BadBody { .. } => 400,
            Self::TooLarge { .. } | Self::BatchTooLarge { .. } => 413,
            Self::Exhausted { .. } => 503,
            Self::RateLimited { .. } => 429,
            Self::NoEpochKey { .. } | Self::NotFound { .. } => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Storage { .. } => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn error_answers_keep_their_wire_form() {
        let exhausted = ApiError::Exhausted {
            fallback: Fallback::Epoch,
        };
        assert_eq!(
            serde_json::to_string(&exhausted).unwrap(),
            r#"{"error":"exhausted","fallback":"epoch"}"#
        );
        assert_eq!(exhausted.status(), 503);
        let unauthorized = ApiError::Unauthorized {
            reason: "expired".into(),
            message: "m".into(),
        };
        assert_eq!(
            serde_json::to_string(&unauthorized).unwrap(),
            r#"{"error":"unauthorized","reason":"expired","message":"m"}"#
        );
        let back: ApiError =
            serde_json::from_str(r#"{"error":"bad_prekey","index":3,"message":"x"}"#).unwrap();
        assert_eq!(
            back,
            ApiError::BadPrekey {
                index: 3,
                message: "x".into()
            }
        );
    }
}
