//! A [`VendingStore`] that is a vending server's HTTP API, so the [`super::conformance`]
//! suite (and anything else written against the trait) runs against any server: the
//! native one on either backend, or the Cloudflare Worker on D1.
//!
//! The server keeps its own clock, so the `now_ms` arguments are not sent. Owner writes
//! carry a fresh relay token from the caller's issuer each time (the server refuses a
//! replayed one).

use kms_core::envelope::SignedPrekey;

use super::{Counts, UploadOutcome, VendingError, VendingStore};
use crate::api::ApiError;
use crate::client::{ClientError, Vend, VendingClient};

/// Issues an owner relay token with the upload scope for the server's audience.
pub type TokenIssuer = Box<dyn Fn() -> Result<String, VendingError> + Send + Sync>;

/// A vending store reached over HTTP.
pub struct HttpVending {
    client: VendingClient,
    token: TokenIssuer,
}

impl core::fmt::Debug for HttpVending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpVending")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl HttpVending {
    /// The store served at `base`, with owner writes authorized by tokens from `token`.
    pub fn new(base: impl Into<String>, token: TokenIssuer) -> Self {
        Self {
            client: VendingClient::new(base),
            token,
        }
    }
}

fn backend(e: ClientError) -> VendingError {
    VendingError::Backend(e.to_string())
}

impl VendingStore for HttpVending {
    fn upload(
        &self,
        prekeys: &[SignedPrekey],
        _now_ms: u64,
    ) -> Result<UploadOutcome, VendingError> {
        match self.client.upload(&(self.token)()?, prekeys) {
            Ok(u) => Ok(UploadOutcome {
                inserted: u.inserted,
                duplicates: u.duplicates,
            }),
            Err(ClientError::Api {
                error: ApiError::BatchTooLarge { .. },
                ..
            }) => Err(VendingError::BatchTooLarge(prekeys.len())),
            Err(e) => Err(backend(e)),
        }
    }

    fn take(&self, _now_ms: u64) -> Result<Option<SignedPrekey>, VendingError> {
        match self.client.take().map_err(backend)? {
            Vend::Prekey(p) => Ok(Some(p)),
            Vend::Exhausted { .. } => Ok(None),
            Vend::RateLimited { retry_after } => Err(VendingError::Backend(format!(
                "rate limited (retry after {retry_after:?} s)"
            ))),
        }
    }

    fn counts(&self) -> Result<Counts, VendingError> {
        let (available, consumed) = self.client.count().map_err(backend)?;
        Ok(Counts {
            available,
            consumed,
        })
    }

    fn set_epoch(&self, prekey: &SignedPrekey, _now_ms: u64) -> Result<(), VendingError> {
        self.client
            .put_epoch(&(self.token)()?, prekey)
            .map_err(backend)
    }

    fn epoch(&self) -> Result<Option<SignedPrekey>, VendingError> {
        self.client.epoch().map_err(backend)
    }
}
