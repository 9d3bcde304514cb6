//! Secret byte containers: zeroized on drop, never printed.
//!
//! Key material inside the enclave lives in these types only. They implement neither
//! `Serialize` nor a `Debug` that shows bytes; the only way out is [`Secret32::expose`],
//! used where the bytes feed a primitive or get wrapped.

use core::fmt;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A 32-byte secret (a KEK, an unlock key, a private scalar, a shared secret).
///
/// Boxed so moves do not leave copies on the stack; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret32(Box<[u8; 32]>);

impl Secret32 {
    /// Takes ownership of `bytes`; the caller's copy should itself be zeroized.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = Zeroizing::new(bytes);
        Self(Box::new(core::mem::take(&mut *bytes)))
    }

    /// Copies a 32-byte slice.
    ///
    /// # Errors
    /// [`WrongLength`] if `bytes` is not exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, WrongLength> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| WrongLength {
            expected: 32,
            got: bytes.len(),
        })?;
        Ok(Self::from_bytes(arr))
    }

    /// Fresh random bytes.
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = Box::new([0u8; 32]);
        rng.fill_bytes(&mut b[..]);
        Self(b)
    }

    /// The secret bytes. Callers must not copy them anywhere that outlives the call.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// True when every byte is zero (an unusable key: refused wherever a secret is accepted).
    pub fn is_all_zero(&self) -> bool {
        self.0.ct_eq(&[0u8; 32]).into()
    }
}

impl PartialEq for Secret32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0[..]).into()
    }
}
impl Eq for Secret32 {}

impl fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret32(<redacted>)")
    }
}

/// A variable-length secret (a passphrase, a PRF output, an unwrapped private key encoding).
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for SecretBytes {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<redacted {} bytes>)", self.0.len())
    }
}

/// A byte string had the wrong length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("wrong length: expected {expected} bytes, got {got}")]
pub struct WrongLength {
    /// Required length.
    pub expected: usize,
    /// Length given.
    pub got: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret32::from_bytes([0xAB; 32]);
        let d = format!("{s:?}");
        assert!(
            !d.contains("171") && !d.to_lowercase().contains("ab"),
            "{d}"
        );
        let v = SecretBytes::new(vec![0xCD; 5]);
        assert_eq!(format!("{v:?}"), "SecretBytes(<redacted 5 bytes>)");
    }

    #[test]
    fn zero_detection_and_equality() {
        assert!(Secret32::from_bytes([0; 32]).is_all_zero());
        assert!(!Secret32::from_bytes([1; 32]).is_all_zero());
        assert_eq!(Secret32::from_bytes([7; 32]), Secret32::from_bytes([7; 32]));
        assert_ne!(Secret32::from_bytes([7; 32]), Secret32::from_bytes([8; 32]));
    }

    #[test]
    fn from_slice_checks_length() {
        assert_eq!(
            Secret32::from_slice(&[0; 31]).unwrap_err(),
            WrongLength {
                expected: 32,
                got: 31
            }
        );
    }
}
