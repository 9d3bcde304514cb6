//! The service's error type: what a caller of [`crate::service::Kms`] can be told.
//!
//! Every variant has a stable [`Error::code`] that the RPC sends and the client SDK branches
//! on. Messages never contain key material, passphrases, PRF outputs or plaintext.

use serde::{Deserialize, Serialize, Serializer};

/// A request failed. Nothing stored was changed unless the variant says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The enclave has not been set up yet.
    #[error("the enclave is not set up")]
    NotInitialized,
    /// `setup` was called on an enclave that is already set up.
    #[error("the enclave is already set up")]
    AlreadyInitialized,
    /// The operation needs the KEK and the enclave is locked (or its session expired).
    #[error("the enclave is locked")]
    Locked,
    /// The passphrase or passkey did not unlock the enclave.
    #[error("bad credential")]
    BadCredential,
    /// Too many failed unlock attempts; try again later.
    #[error("too many failed attempts: retry after {retry_after_ms} ms")]
    RateLimited {
        /// Milliseconds until the next attempt is accepted.
        retry_after_ms: u64,
    },
    /// No such key in the caller's shard.
    #[error("key not found: {id}")]
    KeyNotFound {
        /// The key id asked for.
        id: String,
    },
    /// A one-time key was already used and shredded.
    #[error("key already consumed: {id}")]
    KeyConsumed {
        /// The key id.
        id: String,
    },
    /// The request is malformed or violates a rule; the reason says which.
    #[error("bad request: {reason}")]
    BadRequest {
        /// What was wrong.
        reason: String,
    },
    /// The caller's origin is not allowed.
    #[error("origin denied")]
    OriginDenied,
    /// The caller may not call this method (see [`crate::rpc::policy`]).
    #[error("{method}: not permitted for this caller; allowed: {allowed}")]
    NotPermitted {
        /// The method.
        method: &'static str,
        /// Who may call it.
        allowed: &'static str,
    },
    /// The method changes the unlock methods and needs a fresh unlock with a current method.
    #[error("confirm with a current unlock method first (a fresh unlock is needed)")]
    ReauthRequired,
    /// The deployment's settings are unsafe; the enclave refuses to start.
    #[error("the enclave is misconfigured: {reason}")]
    Misconfigured {
        /// What is wrong.
        reason: String,
    },
    /// The operation or algorithm is not supported here.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },
    /// A stored record failed its integrity check; it was not used.
    #[error("stored data failed its integrity check: {what}")]
    Tampered {
        /// Which record (never its content).
        what: String,
    },
    /// The browser blocks storage in this context.
    #[error("storage is blocked in this context")]
    StorageBlocked,
    /// Storage failed; nothing was written.
    #[error("storage failed: {reason}")]
    Storage {
        /// The backend's reason.
        reason: String,
    },
    /// Concurrent writers kept conflicting; nothing was written. Retry.
    #[error("conflicting concurrent update; retry")]
    Conflict,
    /// There is no usable Signal session with the address: start one from its bundle
    /// (`signal.startSession`). The reason says which (none, or an unanswered one too old).
    #[error("no session with this address: {reason}")]
    NoSession {
        /// Why the session cannot be used.
        reason: &'static str,
    },
    /// The peer's identity key is not one the user trusts for the address: it is not the
    /// stored one, or the user has not confirmed the stored one yet. Only the user, in the
    /// enclave's UI, can trust a key (the `ui.trust` ceremony). The reason says which.
    #[error("untrusted identity key for this address: {reason}")]
    UntrustedIdentity {
        /// Why the key is not trusted.
        reason: &'static str,
    },
    /// The message was already decrypted (a replay, or another tab got it first), or its
    /// key was dropped under the skipped-key bounds.
    #[error("duplicate message: it was already decrypted")]
    DuplicateMessage,
    /// The message did not decrypt. Deliberately carries no detail.
    #[error("decryption failed")]
    DecryptFailed,
    /// Something inside the enclave failed: not the caller's doing. The cause says what
    /// (never secret data).
    #[error("internal error: {0}")]
    Internal(#[from] InternalError),
}

/// The cause of an [`Error::Internal`]: which component or invariant failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InternalError {
    /// A record, token or associated data did not encode (nothing was written or signed).
    #[error(transparent)]
    Encode(#[from] crate::format::EncodeError),
    /// The PBKDF2 provider failed.
    #[error(transparent)]
    Kdf(#[from] crate::kdf::KdfError),
    /// The store refused a transaction the service built as malformed.
    #[error("the store refused the transaction: {0}")]
    InvalidTransaction(String),
    /// An audit entry the service built was refused by the log.
    #[error(transparent)]
    Audit(crate::audit::AuditError),
    /// The host's signer refused an import or a signature.
    #[error(transparent)]
    Signer(crate::jws::SignerError),
    /// An invariant of the service did not hold.
    #[error("{0}")]
    Invariant(&'static str),
}

/// The stable, machine-readable code of an [`Error`]: what the RPC sends and the client SDK
/// branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[non_exhaustive]
pub enum ErrorCode {
    /// See [`Error::NotInitialized`].
    NotInitialized,
    /// See [`Error::AlreadyInitialized`].
    AlreadyInitialized,
    /// See [`Error::Locked`].
    Locked,
    /// See [`Error::BadCredential`].
    BadCredential,
    /// See [`Error::RateLimited`].
    RateLimited,
    /// See [`Error::KeyNotFound`].
    KeyNotFound,
    /// See [`Error::KeyConsumed`].
    KeyConsumed,
    /// See [`Error::BadRequest`].
    BadRequest,
    /// See [`Error::OriginDenied`].
    OriginDenied,
    /// See [`Error::NotPermitted`].
    NotPermitted,
    /// See [`Error::ReauthRequired`].
    ReauthRequired,
    /// See [`Error::Misconfigured`].
    Misconfigured,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Tampered`].
    Tampered,
    /// See [`Error::StorageBlocked`].
    StorageBlocked,
    /// See [`Error::Storage`].
    Storage,
    /// See [`Error::Conflict`].
    Conflict,
    /// See [`Error::NoSession`].
    NoSession,
    /// See [`Error::UntrustedIdentity`].
    UntrustedIdentity,
    /// See [`Error::DuplicateMessage`].
    DuplicateMessage,
    /// See [`Error::DecryptFailed`].
    DecryptFailed,
    /// See [`Error::Internal`].
    Internal,
}

impl ErrorCode {
    /// The code as a string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotInitialized => "NotInitialized",
            Self::AlreadyInitialized => "AlreadyInitialized",
            Self::Locked => "Locked",
            Self::BadCredential => "BadCredential",
            Self::RateLimited => "RateLimited",
            Self::KeyNotFound => "KeyNotFound",
            Self::KeyConsumed => "KeyConsumed",
            Self::BadRequest => "BadRequest",
            Self::OriginDenied => "OriginDenied",
            Self::NotPermitted => "NotPermitted",
            Self::ReauthRequired => "ReauthRequired",
            Self::Misconfigured => "Misconfigured",
            Self::Unsupported => "Unsupported",
            Self::Tampered => "Tampered",
            Self::StorageBlocked => "StorageBlocked",
            Self::Storage => "Storage",
            Self::Conflict => "Conflict",
            Self::NoSession => "NoSession",
            Self::UntrustedIdentity => "UntrustedIdentity",
            Self::DuplicateMessage => "DuplicateMessage",
            Self::DecryptFailed => "DecryptFailed",
            Self::Internal => "Internal",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The stable code sent over the RPC.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotInitialized => ErrorCode::NotInitialized,
            Self::AlreadyInitialized => ErrorCode::AlreadyInitialized,
            Self::Locked => ErrorCode::Locked,
            Self::BadCredential => ErrorCode::BadCredential,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::KeyNotFound { .. } => ErrorCode::KeyNotFound,
            Self::KeyConsumed { .. } => ErrorCode::KeyConsumed,
            Self::BadRequest { .. } => ErrorCode::BadRequest,
            Self::OriginDenied => ErrorCode::OriginDenied,
            Self::NotPermitted { .. } => ErrorCode::NotPermitted,
            Self::ReauthRequired => ErrorCode::ReauthRequired,
            Self::Misconfigured { .. } => ErrorCode::Misconfigured,
            Self::Unsupported { .. } => ErrorCode::Unsupported,
            Self::Tampered { .. } => ErrorCode::Tampered,
            Self::StorageBlocked => ErrorCode::StorageBlocked,
            Self::Storage { .. } => ErrorCode::Storage,
            Self::Conflict => ErrorCode::Conflict,
            Self::NoSession { .. } => ErrorCode::NoSession,
            Self::UntrustedIdentity { .. } => ErrorCode::UntrustedIdentity,
            Self::DuplicateMessage => ErrorCode::DuplicateMessage,
            Self::DecryptFailed => ErrorCode::DecryptFailed,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// What the RPC sends for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
            retry_after_ms: match self {
                Self::RateLimited { retry_after_ms } => Some(*retry_after_ms),
                _ => None,
            },
        }
    }

    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        Self::BadRequest {
            reason: reason.into(),
        }
    }

    pub(crate) fn tampered(what: impl Into<String>) -> Self {
        Self::Tampered { what: what.into() }
    }
}

/// An [`Error`] as the RPC sends it: `{"code", "message"}`, plus `retryAfterMs` when rate
/// limited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The stable code.
    pub code: ErrorCode,
    /// A human-readable message (never secret data).
    pub message: String,
    /// For `RateLimited`: milliseconds until the next attempt is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub retry_after_ms: Option<u64>,
}

/// Serialized as its [`ErrorBody`].
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(s)
    }
}

impl From<crate::format::EncodeError> for Error {
    fn from(e: crate::format::EncodeError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::kdf::KdfError> for Error {
    fn from(e: crate::kdf::KdfError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError as S;
        match e {
            S::Conflict => Self::Conflict,
            S::Blocked => Self::StorageBlocked,
            S::Invalid(why) => Self::Internal(InternalError::InvalidTransaction(why)),
            S::Backend(reason) => Self::Storage { reason },
        }
    }
}

impl From<crate::origin::InvalidOrigin> for Error {
    fn from(_: crate::origin::InvalidOrigin) -> Self {
        Self::OriginDenied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_code_and_message() {
        let j = serde_json::to_string(&Error::KeyNotFound {
            id: "vapid/1".into(),
        })
        .unwrap();
        assert_eq!(
            j,
            r#"{"code":"KeyNotFound","message":"key not found: vapid/1"}"#
        );
        let j = serde_json::to_string(&Error::RateLimited { retry_after_ms: 5 }).unwrap();
        assert_eq!(
            j,
            r#"{"code":"RateLimited","message":"too many failed attempts: retry after 5 ms","retryAfterMs":5}"#
        );
    }
}
