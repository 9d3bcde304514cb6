//! Sending one push message (RFC 8030 §5) over HTTP with `ureq`: the body encrypted to the
//! subscription, `Content-Encoding: aes128gcm`, `TTL`, optional `Urgency` and `Topic`, and
//! the `Authorization: vapid t=…, k=…` value the enclave signed.
//!
//! Every answer is typed: 201/202 is a [`Delivery`]; 400, 401, 403, 404, 410, 413 and 429
//! each have a [`SendError`] variant with the push service's body text.

use std::time::Duration;

use super::ece::{self, EceError, MAX_PLAINTEXT_LEN};
use super::subscription::Subscription;

/// The longest response body kept in an error.
const MAX_ERROR_BODY: usize = 4096;

/// `Urgency` (RFC 8030 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// `very-low`.
    VeryLow,
    /// `low`.
    Low,
    /// `normal`.
    Normal,
    /// `high`.
    High,
}

impl Urgency {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VeryLow => "very-low",
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// The message's headers besides the encryption and authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// `TTL`: seconds the push service may keep the message.
    pub ttl: u32,
    /// `Urgency`, if any.
    pub urgency: Option<Urgency>,
    /// `Topic` (replaces an undelivered message with the same topic), if any.
    pub topic: Option<String>,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            ttl: 60,
            urgency: None,
            topic: None,
        }
    }
}

/// A push service accepted the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// 201 or 202.
    pub status: u16,
    /// The message's URL (`Location`), if given.
    pub location: Option<String>,
}

/// A message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The payload does not fit one 4096-byte push message; nothing was sent.
    #[error("payload of {len} bytes: at most {max} fit one push message (not sent)")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// [`MAX_PLAINTEXT_LEN`].
        max: usize,
    },
    /// The request never got an answer (connection, TLS, timeout).
    #[error("push service unreachable: {0}")]
    Transport(String),
    /// 400: the request is malformed (a header, the encoding).
    #[error("400 bad request: {body}")]
    BadRequest {
        /// The push service's answer.
        body: String,
    },
    /// 401: the VAPID authorization is missing, malformed, expired or badly signed.
    #[error("401 unauthorized: {body}")]
    Unauthorized {
        /// The push service's answer.
        body: String,
    },
    /// 403: the VAPID key is not the subscription's (or the token is not for this service).
    #[error("403 forbidden: {body}")]
    Forbidden {
        /// The push service's answer.
        body: String,
    },
    /// 404: no such subscription.
    #[error("404 not found: {body}")]
    NotFound {
        /// The push service's answer.
        body: String,
    },
    /// 410: the subscription was removed; stop sending to it.
    #[error("410 gone: {body}")]
    Gone {
        /// The push service's answer.
        body: String,
    },
    /// 413: the push service refused the body as too large.
    #[error("413 payload too large: {body}")]
    TooLarge {
        /// The push service's answer.
        body: String,
    },
    /// 429: too many messages; retry later.
    #[error("429 too many requests: {body}")]
    TooManyRequests {
        /// `Retry-After` seconds, if given.
        retry_after: Option<u64>,
        /// The push service's answer.
        body: String,
    },
    /// Any other status.
    #[error("unexpected status {status}: {body}")]
    Other {
        /// The status.
        status: u16,
        /// The push service's answer.
        body: String,
    },
}

impl SendError {
    /// The HTTP status, for refusals by the push service.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Self::PayloadTooLarge { .. } | Self::Transport(_) => return None,
            Self::BadRequest { .. } => 400,
            Self::Unauthorized { .. } => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::Gone { .. } => 410,
            Self::TooLarge { .. } => 413,
            Self::TooManyRequests { .. } => 429,
            Self::Other { status, .. } => *status,
        })
    }

    /// A short name: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `gone`,
    /// `payload_too_large`, `too_many_requests`, `other`, `too_large_to_send`, `transport`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::PayloadTooLarge { .. } => "too_large_to_send",
            Self::Transport(_) => "transport",
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Gone { .. } => "gone",
            Self::TooLarge { .. } => "payload_too_large",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Other { .. } => "other",
        }
    }

    /// The push service's answer, for refusals by it.
    pub fn body(&self) -> Option<&str> {
        match self {
            Self::PayloadTooLarge { .. } | Self::Transport(_) => None,
            Self::BadRequest { body }
            | Self::Unauthorized { body }
            | Self::Forbidden { body }
            | Self::NotFound { body }
            | Self::Gone { body }
            | Self::TooLarge { body }
            | Self::TooManyRequests { body, .. }
            | Self::Other { body, .. } => Some(body),
        }
    }
}

/// Encrypts `payload` to `subscription` and POSTs it to its endpoint with `authorization`
/// (`vapid t=<jwt>, k=<key>`, as `vapid.authorization` returns it).
///
/// # Errors
/// [`SendError`]: refused locally (too large), unreachable, or the push service's refusal.
pub fn send(
    subscription: &Subscription,
    authorization: &str,
    payload: &[u8],
    options: &SendOptions,
) -> Result<Delivery, SendError> {
    let body = match ece::encrypt(&subscription.keys, payload, &mut rand::rng()) {
        Ok(b) => b,
        Err(EceError::PayloadTooLarge { len, max }) => {
            return Err(SendError::PayloadTooLarge { len, max });
        }
        // The keys were checked when the subscription was parsed.
        Err(e) => return Err(SendError::Transport(e.to_string())),
    };
    debug_assert!(payload.len() <= MAX_PLAINTEXT_LEN);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut request = agent
        .post(&subscription.endpoint)
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/octet-stream")
        .header("TTL", options.ttl.to_string())
        .header("Authorization", authorization);
    if let Some(u) = options.urgency {
        request = request.header("Urgency", u.as_str());
    }
    if let Some(t) = &options.topic {
        request = request.header("Topic", t);
    }
    let mut resp = request
        .send(&body[..])
        .map_err(|e| SendError::Transport(e.to_string()))?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = header("location");
    let retry_after = header("retry-after").and_then(|v| v.trim().parse().ok());
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    let body: String = text.chars().take(MAX_ERROR_BODY).collect();
    match status {
        201 | 202 => Ok(Delivery { status, location }),
        400 => Err(SendError::BadRequest { body }),
        401 => Err(SendError::Unauthorized { body }),
        403 => Err(SendError::Forbidden { body }),
        404 => Err(SendError::NotFound { body }),
        410 => Err(SendError::Gone { body }),
        413 => Err(SendError::TooLarge { body }),
        429 => Err(SendError::TooManyRequests { retry_after, body }),
        _ => Err(SendError::Other { status, body }),
    }
}
