//! Replies the enclave page makes without the service: the failures its own code reaches.
//!
//! A ceremony runs in the enclave page's code (see [`super::ceremony`]): the user cancels
//! a passkey prompt, the authenticator has no PRF, the prompt was covered. The page names
//! such a failure by its code, `{code, message}`, and the shell turns it into the error
//! reply to the frame. [`Failure`] is that pair decoded: the code by its name
//! ([`ErrorCode::as_str`]), so a reply never carries a code the SDK does not know.
//!
//! ```text
//! page code: {"code": "BadCredential", "message": "passkey: NotAllowedError: …"}
//! ← {"v": 1, "id": 3, "err": {"code": "BadCredential", "message": "passkey: NotAllowedError: …"}}
//! ```

use serde::Deserialize;

use crate::error::{ErrorBody, ErrorCode};

/// A failure the enclave page's own code answers a frame with: `{code, message}`, and
/// `retryAfterMs` when it passes on a `RateLimited` body of the service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failure {
    /// The code, by its name.
    pub code: ErrorCode,
    /// What the page is told (never secret data).
    pub message: String,
    /// For `RateLimited`: milliseconds until the next attempt is accepted.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

impl From<Failure> for ErrorBody {
    fn from(f: Failure) -> Self {
        ErrorBody {
            code: f.code,
            message: f.message,
            retry_after_ms: f.retry_after_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::error::Error;

    fn decode(json: &str) -> Result<Failure, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn decodes_a_failure_into_the_body_the_service_would_send() {
        let f = decode(r#"{"code":"NotPermitted","message":"confirmation refused"}"#).unwrap();
        assert_eq!(
            (f.code, f.message.as_str()),
            (ErrorCode::NotPermitted, "confirmation refused")
        );
        let body = ErrorBody::from(
            decode(r#"{"code":"RateLimited","message":"m","retryAfterMs":5}"#).unwrap(),
        );
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"code":"RateLimited","message":"m","retryAfterMs":5}"#
        );
    }

    #[test]
    fn every_code_decodes_from_its_name() {
        // One error of each code, as the service sends them, decodes back to its body.
        let errors = [
            Error::NotInitialized,
            Error::AlreadyInitialized,
            Error::Locked,
            Error::BadCredential,
            Error::RateLimited { retry_after_ms: 7 },
            Error::KeyNotFound { id: "k".into() },
            Error::KeyConsumed { id: "k".into() },
            Error::BadRequest { reason: "r".into() },
            Error::OriginDenied,
            Error::NotPermitted {
                method: "setup",
                allowed: "enclave UI",
            },
            Error::ReauthRequired,
            Error::Misconfigured { reason: "r".into() },
            Error::Unsupported { what: "w".into() },
            Error::Tampered { what: "w".into() },
            Error::StorageBlocked,
            Error::Storage { reason: "r".into() },
            Error::Conflict,
            Error::Internal(crate::error::InternalError::Invariant("i")),
        ];
        for e in errors {
            let body = e.body();
            let json = serde_json::to_string(&body).unwrap();
            assert_eq!(ErrorBody::from(decode(&json).unwrap()), body, "{json}");
            assert_eq!(decode(&json).unwrap().code.as_str(), body.code.as_str());
        }
    }

    #[test]
    fn refuses_an_unknown_code_and_unknown_fields() {
        assert!(decode(r#"{"code":"Oops","message":"m"}"#).is_err());
        assert!(decode(r#"{"code":"internal","message":"m"}"#).is_err());
        assert!(decode(r#"{"code":"Internal"}"#).is_err());
        assert!(decode(r#"{"code":"Internal","message":"m","extra":1}"#).is_err());
    }
}
