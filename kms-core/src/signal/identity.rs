//! Curve25519 key pairs: the long-term identity key and the EC prekeys.
//!
//! Private keys are clamped X25519 scalars (RFC 7748 §5); public keys are Montgomery
//! u-coordinates, serialized the libsignal way as `0x05 ‖ u` (33 bytes). The same key pair
//! does X25519 agreement and XEdDSA signing.

use core::fmt;

use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::clamp_integer;
use rand_core::CryptoRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{SignalError, check_len, xeddsa};
use crate::secret::Secret32;

/// libsignal's type byte for Curve25519 public keys (`KeyType::Djb`).
pub const DJB_TYPE: u8 = 0x05;
/// Length of a serialized public key: type byte ‖ 32-byte u-coordinate.
pub const SERIALIZED_PUBLIC_KEY_LENGTH: usize = 33;

/// A Curve25519 public key: a canonical Montgomery u-coordinate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Wraps a raw u-coordinate.
    ///
    /// # Errors
    /// [`SignalError::NonCanonicalKey`] if `u >= 2^255 - 19`.
    pub fn from_bytes(u: [u8; 32]) -> Result<Self, SignalError> {
        if xeddsa::is_canonical_u(&u) {
            Ok(Self(u))
        } else {
            Err(SignalError::NonCanonicalKey {
                what: "Curve25519 public key",
            })
        }
    }

    /// The raw 32-byte u-coordinate.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// libsignal serialization: `0x05 ‖ u`.
    pub fn serialize(&self) -> [u8; SERIALIZED_PUBLIC_KEY_LENGTH] {
        let mut out = [0u8; SERIALIZED_PUBLIC_KEY_LENGTH];
        out[0] = DJB_TYPE;
        out[1..].copy_from_slice(&self.0);
        out
    }

    /// Parses the libsignal serialization `0x05 ‖ u`.
    ///
    /// # Errors
    /// [`SignalError::WrongLength`], [`SignalError::WrongType`] or
    /// [`SignalError::NonCanonicalKey`].
    pub fn deserialize(bytes: &[u8]) -> Result<Self, SignalError> {
        check_len("Curve25519 public key", SERIALIZED_PUBLIC_KEY_LENGTH, bytes)?;
        if bytes[0] != DJB_TYPE {
            return Err(SignalError::WrongType {
                what: "Curve25519 public key",
                expected: "0x05",
                got: bytes[0],
            });
        }
        let mut u = [0u8; 32];
        u.copy_from_slice(&bytes[1..]);
        Self::from_bytes(u)
    }

    /// Verifies an XEdDSA signature by this key over `message`.
    ///
    /// # Errors
    /// [`SignalError::WrongLength`] for a signature that is not 64 bytes,
    /// [`SignalError::VerificationFailed`] if it does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignalError> {
        xeddsa::verify(&self.0, message, signature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", crate::b64::encode(self.serialize()))
    }
}

/// Serialized as base64url of the 33-byte libsignal form.
impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode(PublicKey::serialize(self)))
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = crate::b64::decode(&text).map_err(D::Error::custom)?;
        PublicKey::deserialize(&bytes).map_err(D::Error::custom)
    }
}

/// A Curve25519 key pair (signed prekeys, one-time prekeys, ephemeral keys).
///
/// The private key is held clamped; it is zeroized on drop and never printed.
#[derive(Clone)]
pub struct KeyPair {
    secret: Secret32,
    public: PublicKey,
}

impl KeyPair {
    /// A fresh random key pair.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut bytes[..]);
        Self::from_secret(Secret32::from_bytes(*bytes))
    }

    /// Rebuilds a key pair from its private key; the scalar is clamped (RFC 7748 §5).
    pub fn from_secret(secret: Secret32) -> Self {
        let clamped = Secret32::from_bytes(clamp_integer(*secret.expose()));
        drop(secret);
        // A clamped scalar times the base point is a canonical u-coordinate.
        let public = PublicKey(xeddsa::public_u(&clamped));
        Self {
            secret: clamped,
            public,
        }
    }

    /// The clamped private scalar, for wrapping by the key service.
    pub fn secret(&self) -> &Secret32 {
        &self.secret
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// X25519 agreement with `their` public key.
    ///
    /// # Errors
    /// [`SignalError::LowOrderKey`] if the result is all zero (their key has small order).
    pub fn agree(&self, their: &PublicKey) -> Result<Secret32, SignalError> {
        agree(&self.secret, their)
    }

    /// An XEdDSA signature over `message` with fresh randomness.
    pub fn sign<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        message: &[u8],
    ) -> [u8; xeddsa::SIGNATURE_LENGTH] {
        xeddsa::sign(&self.secret, message, rng)
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// X25519 of a (clamped) private scalar and a public u-coordinate, refusing the all-zero output.
pub(crate) fn agree(secret: &Secret32, their: &PublicKey) -> Result<Secret32, SignalError> {
    let out = Zeroizing::new(
        MontgomeryPoint(their.0)
            .mul_clamped(*secret.expose())
            .to_bytes(),
    );
    if bool::from(out[..].ct_eq(&[0u8; 32][..])) {
        return Err(SignalError::LowOrderKey {
            what: "Curve25519 public key",
        });
    }
    Ok(Secret32::from_bytes(*out))
}

/// The long-term identity key pair of a Signal account or device.
#[derive(Clone)]
pub struct IdentityKeyPair(KeyPair);

impl IdentityKeyPair {
    /// A fresh random identity key pair.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(KeyPair::generate(rng))
    }

    /// Rebuilds the identity from its private key; the scalar is clamped.
    pub fn from_secret(secret: Secret32) -> Self {
        Self(KeyPair::from_secret(secret))
    }

    /// The clamped private scalar, for wrapping by the key service.
    pub fn secret(&self) -> &Secret32 {
        self.0.secret()
    }

    /// The identity public key.
    pub fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }

    /// An XEdDSA signature over `message`.
    pub fn sign<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        message: &[u8],
    ) -> [u8; xeddsa::SIGNATURE_LENGTH] {
        self.0.sign(rng, message)
    }

    /// X25519 agreement with `their` public key.
    ///
    /// # Errors
    /// [`SignalError::LowOrderKey`] if the result is all zero.
    pub fn agree(&self, their: &PublicKey) -> Result<Secret32, SignalError> {
        self.0.agree(their)
    }

    /// The underlying key pair.
    pub fn key_pair(&self) -> &KeyPair {
        &self.0
    }
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.0.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn serialization_round_trip_and_errors() {
        let mut rng = StdRng::seed_from_u64(9);
        let id = IdentityKeyPair::generate(&mut rng);
        let pk = id.public_key();
        let ser = pk.serialize();
        assert_eq!(ser[0], 0x05);
        assert_eq!(PublicKey::deserialize(&ser).unwrap(), pk);
        assert_eq!(
            PublicKey::deserialize(&ser[..32]).unwrap_err().to_string(),
            "wrong length for Curve25519 public key: expected 33 bytes, got 32"
        );
        let mut wrong = ser;
        wrong[0] = 0x06;
        assert_eq!(
            PublicKey::deserialize(&wrong).unwrap_err().to_string(),
            "wrong type byte for Curve25519 public key: expected 0x05, got 0x06"
        );
        let mut big = ser;
        big[1..].copy_from_slice(&[0xFF; 32]);
        assert!(matches!(
            PublicKey::deserialize(&big),
            Err(SignalError::NonCanonicalKey { .. })
        ));
    }

    #[test]
    fn from_secret_clamps() {
        let id = IdentityKeyPair::from_secret(Secret32::from_bytes([0xFF; 32]));
        let s = id.secret().expose();
        assert_eq!(s[0] & 7, 0);
        assert_eq!(s[31], 0x7F);
        let again = IdentityKeyPair::from_secret(id.secret().clone());
        assert_eq!(again.public_key(), id.public_key());
    }

    #[test]
    fn agreement_is_symmetric_and_refuses_low_order() {
        let mut rng = StdRng::seed_from_u64(10);
        let a = KeyPair::generate(&mut rng);
        let b = KeyPair::generate(&mut rng);
        assert_eq!(
            a.agree(&b.public_key()).unwrap(),
            b.agree(&a.public_key()).unwrap()
        );
        let zero = PublicKey::from_bytes([0; 32]).unwrap();
        assert!(matches!(
            a.agree(&zero),
            Err(SignalError::LowOrderKey { .. })
        ));
    }

    #[test]
    fn sign_and_verify() {
        let mut rng = StdRng::seed_from_u64(11);
        let id = IdentityKeyPair::generate(&mut rng);
        let sig = id.sign(&mut rng, b"abc");
        id.public_key().verify(b"abc", &sig).unwrap();
        assert_eq!(
            id.public_key().verify(b"abd", &sig),
            Err(SignalError::VerificationFailed)
        );
    }

    #[test]
    fn debug_is_redacted() {
        let id = IdentityKeyPair::from_secret(Secret32::from_bytes([0x5A; 32]));
        let secret_hex: String = id
            .secret()
            .expose()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let secret_b64 = crate::b64::encode(id.secret().expose());
        for d in [format!("{id:?}"), format!("{:?}", id.key_pair())] {
            assert!(d.contains("<redacted>"), "{d}");
            assert!(!d.contains(&secret_hex) && !d.contains(&secret_b64), "{d}");
        }
    }
}
