//! Device keys: a platform-held wrapping key for the passkey-gate unlock method.
//!
//! In the browser the device key is a non-extractable WebCrypto AES-256-GCM key kept in
//! IndexedDB: script can use it but never read it, so the KEK sealed under it can be opened
//! only inside the enclave origin, and the service opens it only after a verified WebAuthn
//! assertion. Natively, [`MemoryDeviceKey`] holds the key in memory (tests, tools).

use core::future::Future;

use crate::secret::Secret32;
use crate::wrap::{self, Sealed};

/// A device key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceKeyError {
    /// This platform has no device key.
    #[error("no device key on this platform")]
    Unavailable,
    /// The sealed bytes did not open (wrong device, modified record).
    #[error("device key could not open the record")]
    Authentication,
    /// The platform failed.
    #[error("device key failure: {0}")]
    Platform(String),
}

/// Seals and opens 32-byte secrets under a key the platform keeps out of reach of script.
///
/// Both operations use `aes256gcm-v1` so sealed objects share the [`Sealed`] format.
pub trait DeviceKey {
    /// Seals `secret` with `aad` under the device key using `nonce`.
    fn seal(
        &self,
        aad: &[u8],
        secret: &Secret32,
        nonce: [u8; 12],
    ) -> impl Future<Output = Result<Sealed, DeviceKeyError>>;

    /// Opens a sealed secret.
    fn open(
        &self,
        aad: &[u8],
        sealed: &Sealed,
    ) -> impl Future<Output = Result<Secret32, DeviceKeyError>>;
}

/// No device key: the passkey-gate method is unavailable.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDeviceKey;

impl DeviceKey for NoDeviceKey {
    async fn seal(&self, _: &[u8], _: &Secret32, _: [u8; 12]) -> Result<Sealed, DeviceKeyError> {
        Err(DeviceKeyError::Unavailable)
    }
    async fn open(&self, _: &[u8], _: &Sealed) -> Result<Secret32, DeviceKeyError> {
        Err(DeviceKeyError::Unavailable)
    }
}

/// A device key held in process memory.
#[derive(Debug, Clone)]
pub struct MemoryDeviceKey(Secret32);

impl MemoryDeviceKey {
    /// Wraps a key.
    pub fn new(key: Secret32) -> Self {
        Self(key)
    }
}

impl DeviceKey for MemoryDeviceKey {
    async fn seal(
        &self,
        aad: &[u8],
        secret: &Secret32,
        nonce: [u8; 12],
    ) -> Result<Sealed, DeviceKeyError> {
        Ok(wrap::seal_with_nonce(&self.0, aad, secret.expose(), nonce))
    }
    async fn open(&self, aad: &[u8], sealed: &Sealed) -> Result<Secret32, DeviceKeyError> {
        wrap::open32(&self.0, aad, sealed).map_err(|_| DeviceKeyError::Authentication)
    }
}

impl<D: DeviceKey + ?Sized> DeviceKey for &D {
    fn seal(
        &self,
        aad: &[u8],
        secret: &Secret32,
        nonce: [u8; 12],
    ) -> impl Future<Output = Result<Sealed, DeviceKeyError>> {
        (**self).seal(aad, secret, nonce)
    }
    fn open(
        &self,
        aad: &[u8],
        sealed: &Sealed,
    ) -> impl Future<Output = Result<Secret32, DeviceKeyError>> {
        (**self).open(aad, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_device_key_round_trip() {
        pollster::block_on(async {
            let d = MemoryDeviceKey::new(Secret32::from_bytes([3; 32]));
            let s = d
                .seal(b"aad", &Secret32::from_bytes([4; 32]), [9; 12])
                .await
                .unwrap();
            assert_eq!(s.nonce, [9; 12]);
            assert_eq!(
                d.open(b"aad", &s).await.unwrap(),
                Secret32::from_bytes([4; 32])
            );
            assert_eq!(
                d.open(b"aaX", &s).await.unwrap_err(),
                DeviceKeyError::Authentication
            );
            assert_eq!(
                NoDeviceKey.open(b"", &s).await.unwrap_err(),
                DeviceKeyError::Unavailable
            );
        });
    }
}
