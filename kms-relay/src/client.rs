//! A blocking client of the vending service: the owner's upload side and the sender's side
//! (take a prekey, check its identity signature, seal; fall back to the epoch key on 503).

use std::time::Duration;

use kms_core::envelope::{self, Envelope, EnvelopeError, PrekeyUse, SignedPrekey};
use kms_core::rand_core::CryptoRng;
use kms_core::signal::identity::PublicKey;
use serde::{Deserialize, Serialize};

pub use crate::api::Uploaded;
use crate::api::{self, ApiError, Counts, Fallback, UploadRequest};

/// A client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Could not reach the server or read its answer.
    #[error("HTTP: {0}")]
    Http(String),
    /// The server refused, with one of its typed error answers.
    #[error("server answered {status}: {error:?}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The answer.
        error: ApiError,
    },
    /// The server answered with an unexpected status and a body that is not an API error.
    #[error("server answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Its body (at most 1 KiB).
        body: String,
    },
    /// The answer is not the expected JSON.
    #[error("bad answer: {0}")]
    Json(String),
    /// A vended key failed verification or sealing.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// A vended key has the wrong `use`.
    #[error("vended key has use {got:?}, expected {expected:?}")]
    WrongUse {
        /// Wanted.
        expected: &'static str,
        /// Given.
        got: &'static str,
    },
    /// No one-time key and no epoch key.
    #[error("no prekey available and no epoch key set")]
    NoKey,
}

/// The result of asking for a one-time prekey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vend {
    /// A prekey (not yet verified: see [`SignedPrekey::verify`]).
    Prekey(SignedPrekey),
    /// 503: none left; use the epoch key.
    Exhausted {
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// 429: this requester is over its limit.
    RateLimited {
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
}

/// How a sealed message was addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// To a fresh one-time prekey.
    OneTime,
    /// To the epoch key, because the one-time keys were exhausted.
    Epoch,
}

/// A vending service client.
#[derive(Debug, Clone)]
pub struct VendingClient {
    base: String,
    agent: ureq::Agent,
}

type HttpResponse = ureq::http::Response<ureq::Body>;

/// Sends `body` as JSON with the owner's relay token (the owner's writes).
fn send_owner<T: Serialize + ?Sized>(
    request: ureq::RequestBuilder<ureq::typestate::WithBody>,
    token: &str,
    body: &T,
) -> Result<HttpResponse, ClientError> {
    let body = serde_json::to_string(body).map_err(|e| ClientError::Json(e.to_string()))?;
    request
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|e| ClientError::Http(e.to_string()))
}

fn retry_after(resp: &HttpResponse) -> Option<u64> {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn body(resp: &mut HttpResponse) -> Result<String, ClientError> {
    resp.body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| ClientError::Http(e.to_string()))
}

fn unexpected(resp: &mut HttpResponse) -> ClientError {
    let status = resp.status().as_u16();
    let text = match body(resp) {
        Ok(t) => t,
        Err(e) => return e,
    };
    match serde_json::from_str::<ApiError>(&text) {
        Ok(error) => ClientError::Api { status, error },
        Err(_) => ClientError::Status {
            status,
            body: text.chars().take(1024).collect(),
        },
    }
}

fn parse<T: for<'de> Deserialize<'de>>(resp: &mut HttpResponse) -> Result<T, ClientError> {
    serde_json::from_str(&body(resp)?).map_err(|e| ClientError::Json(e.to_string()))
}

impl VendingClient {
    /// A client for the service at `base` (e.g. `http://127.0.0.1:8443`).
    pub fn new(base: impl Into<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`.
    fn get(&self, path: &str) -> Result<HttpResponse, ClientError> {
        self.agent
            .get(self.url(path))
            .call()
            .map_err(|e| ClientError::Http(e.to_string()))
    }

    /// `GET /api/v1/prekey`.
    ///
    /// # Errors
    /// [`ClientError`] for transport failures and unexpected answers.
    pub fn take(&self) -> Result<Vend, ClientError> {
        let mut resp = self.get(api::PREKEY)?;
        match resp.status().as_u16() {
            200 => Ok(Vend::Prekey(parse(&mut resp)?)),
            503 => {
                let retry_after = retry_after(&resp);
                match parse(&mut resp)? {
                    ApiError::Exhausted {
                        fallback: Fallback::Epoch,
                    } => Ok(Vend::Exhausted { retry_after }),
                    error => Err(ClientError::Api { status: 503, error }),
                }
            }
            429 => {
                let retry_after = retry_after(&resp);
                let _ = body(&mut resp);
                Ok(Vend::RateLimited { retry_after })
            }
            _ => Err(unexpected(&mut resp)),
        }
    }

    /// `POST /api/v1/prekeys` with the owner's relay token.
    ///
    /// # Errors
    /// [`ClientError`]; a refused token is [`ClientError::Api`] with
    /// [`ApiError::Unauthorized`].
    pub fn upload(&self, token: &str, prekeys: &[SignedPrekey]) -> Result<Uploaded, ClientError> {
        let request = UploadRequest {
            prekeys: prekeys.to_vec(),
        };
        let mut resp = send_owner(self.agent.post(self.url(api::PREKEYS)), token, &request)?;
        match resp.status().as_u16() {
            200 => parse(&mut resp),
            _ => Err(unexpected(&mut resp)),
        }
    }

    /// `PUT /api/v1/epoch` with the owner's relay token.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn put_epoch(&self, token: &str, prekey: &SignedPrekey) -> Result<(), ClientError> {
        let mut resp = send_owner(self.agent.put(self.url(api::EPOCH)), token, prekey)?;
        match resp.status().as_u16() {
            204 => Ok(()),
            _ => Err(unexpected(&mut resp)),
        }
    }

    /// `GET /api/v1/epoch`; `None` if no epoch key is set.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn epoch(&self) -> Result<Option<SignedPrekey>, ClientError> {
        let mut resp = self.get(api::EPOCH)?;
        match resp.status().as_u16() {
            200 => parse(&mut resp).map(Some),
            404 => Ok(None),
            _ => Err(unexpected(&mut resp)),
        }
    }

    /// `GET /api/v1/prekeys/count`: `(available, consumed)`.
    ///
    /// # Errors
    /// [`ClientError`].
    pub fn count(&self) -> Result<(u64, u64), ClientError> {
        let mut resp = self.get(api::COUNT)?;
        match resp.status().as_u16() {
            200 => parse::<Counts>(&mut resp).map(|c| (c.available, c.consumed)),
            _ => Err(unexpected(&mut resp)),
        }
    }

    /// The sender's whole step: take a one-time prekey, verify it under the owner's
    /// `identity`, seal `plaintext` to it; when the service is exhausted (503), seal to the
    /// verified epoch key instead.
    ///
    /// # Errors
    /// [`ClientError`]: a key that fails verification is never used.
    pub fn seal_to_owner<R: CryptoRng + ?Sized>(
        &self,
        identity: &PublicKey,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<(Envelope, Tier), ClientError> {
        let (prekey, tier) = match self.take()? {
            Vend::Prekey(p) => (p, Tier::OneTime),
            Vend::Exhausted { .. } => (self.epoch()?.ok_or(ClientError::NoKey)?, Tier::Epoch),
            Vend::RateLimited { retry_after } => {
                return Err(ClientError::Status {
                    status: 429,
                    body: format!("rate limited; retry after {retry_after:?} s"),
                });
            }
        };
        let want = match tier {
            Tier::OneTime => PrekeyUse::OneTime,
            Tier::Epoch => PrekeyUse::Epoch,
        };
        if prekey.use_ != want {
            return Err(ClientError::WrongUse {
                expected: want.name(),
                got: prekey.use_.name(),
            });
        }
        let verified = prekey.verify(identity)?;
        Ok((envelope::seal(&verified, plaintext, rng)?, tier))
    }
}
