//! Signed, one-time and Kyber prekeys, and their public views.
//!
//! A signed prekey's signature is XEdDSA by the identity key over the 33-byte serialized
//! public key (`0x05 ‖ u`); a Kyber prekey's signature is XEdDSA by the identity key over the
//! serialized KEM public key (`type byte ‖ encapsulation key`), both as libsignal computes them.

use core::fmt;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::identity::{IdentityKeyPair, KeyPair, PublicKey};
use super::kem::{KemAlgorithm, KemKeyPair, KemPublicKey};
use super::xeddsa::SIGNATURE_LENGTH;
use super::{SignalError, check_len};
use crate::secret::Secret32;

fn signature_array(bytes: &[u8]) -> Result<[u8; SIGNATURE_LENGTH], SignalError> {
    check_len("XEdDSA signature", SIGNATURE_LENGTH, bytes)?;
    let mut out = [0u8; SIGNATURE_LENGTH];
    out.copy_from_slice(bytes);
    Ok(out)
}

/// The key pair of a prekey the identity key signs: an EC pair ([`SignedPreKey`]) or a KEM
/// pair ([`KyberPreKey`]). Its `Debug` shows the public part only.
pub trait SignedKeyPair: Clone + fmt::Debug {
    /// The prekey's name in `Debug` output.
    const NAME: &'static str;
    /// The serialized public key: what the identity key signs.
    fn signed_bytes(&self) -> Vec<u8>;
}

impl SignedKeyPair for KeyPair {
    const NAME: &'static str = "SignedPreKey";
    fn signed_bytes(&self) -> Vec<u8> {
        self.public_key().serialize().to_vec()
    }
}

impl SignedKeyPair for KemKeyPair {
    const NAME: &'static str = "KyberPreKey";
    fn signed_bytes(&self) -> Vec<u8> {
        self.public_key().serialize()
    }
}

/// A prekey signed by the identity key: its id, creation time, key pair and the identity
/// key's XEdDSA signature over the serialized public key.
#[derive(Clone)]
pub struct Signed<K> {
    /// Prekey id.
    pub id: u32,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The key pair.
    pub keypair: K,
    /// XEdDSA signature by the identity key over the serialized public key.
    pub signature: [u8; SIGNATURE_LENGTH],
}

/// A medium-term EC prekey signed by the identity key.
pub type SignedPreKey = Signed<KeyPair>;

/// A post-quantum KEM prekey signed by the identity key.
pub type KyberPreKey = Signed<KemKeyPair>;

impl<K: SignedKeyPair> Signed<K> {
    /// Signs `keypair` with `identity`.
    fn sign<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        id: u32,
        created_ms: u64,
        keypair: K,
        rng: &mut R,
    ) -> Self {
        let signature = identity.sign(rng, &keypair.signed_bytes());
        Self {
            id,
            created_ms,
            keypair,
            signature,
        }
    }

    /// The prekey with a stored signature, checked against `identity`.
    fn with_signature(
        identity: &PublicKey,
        id: u32,
        created_ms: u64,
        keypair: K,
        signature: &[u8],
    ) -> Result<Self, SignalError> {
        let key = Self {
            id,
            created_ms,
            keypair,
            signature: signature_array(signature)?,
        };
        key.verify(identity)?;
        Ok(key)
    }

    /// Checks the signature against `identity`.
    ///
    /// # Errors
    /// [`SignalError::VerificationFailed`].
    pub fn verify(&self, identity: &PublicKey) -> Result<(), SignalError> {
        identity.verify(&self.keypair.signed_bytes(), &self.signature)
    }
}

impl<K: SignedKeyPair> fmt::Debug for Signed<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(K::NAME)
            .field("id", &self.id)
            .field("created_ms", &self.created_ms)
            .field("keypair", &self.keypair)
            .finish_non_exhaustive()
    }
}

impl SignedPreKey {
    /// Generates and signs a new signed prekey.
    pub fn generate<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        id: u32,
        created_ms: u64,
        rng: &mut R,
    ) -> Self {
        let keypair = KeyPair::generate(rng);
        Self::sign(identity, id, created_ms, keypair, rng)
    }

    /// Rebuilds a signed prekey from its stored private key and signature, checking the
    /// signature against `identity`.
    ///
    /// # Errors
    /// [`SignalError::WrongLength`] for a bad signature length,
    /// [`SignalError::VerificationFailed`] if it is not `identity`'s signature.
    pub fn from_secret(
        identity: &PublicKey,
        id: u32,
        created_ms: u64,
        secret: Secret32,
        signature: &[u8],
    ) -> Result<Self, SignalError> {
        let keypair = KeyPair::from_secret(secret);
        Self::with_signature(identity, id, created_ms, keypair, signature)
    }

    /// The public view.
    pub fn public(&self) -> SignedPreKeyPublic {
        SignedPreKeyPublic {
            id: self.id,
            created_ms: self.created_ms,
            public_key: self.keypair.public_key(),
            signature: self.signature,
        }
    }
}

impl KyberPreKey {
    /// Generates and signs a new Kyber prekey.
    pub fn generate<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        algorithm: KemAlgorithm,
        id: u32,
        created_ms: u64,
        rng: &mut R,
    ) -> Self {
        let keypair = KemKeyPair::generate(algorithm, rng);
        Self::sign(identity, id, created_ms, keypair, rng)
    }

    /// Rebuilds a Kyber prekey from its stored private key (the 64-byte seed) and signature,
    /// checking the signature against `identity`.
    ///
    /// # Errors
    /// [`SignalError::WrongLength`] for a bad seed or signature length,
    /// [`SignalError::VerificationFailed`] if it is not `identity`'s signature.
    pub fn from_secret_bytes(
        identity: &PublicKey,
        algorithm: KemAlgorithm,
        id: u32,
        created_ms: u64,
        secret: &[u8],
        signature: &[u8],
    ) -> Result<Self, SignalError> {
        let keypair = KemKeyPair::from_secret_bytes(algorithm, secret)?;
        Self::with_signature(identity, id, created_ms, keypair, signature)
    }

    /// The public view.
    pub fn public(&self) -> KyberPreKeyPublic {
        KyberPreKeyPublic {
            id: self.id,
            created_ms: self.created_ms,
            public_key: self.keypair.public_key().clone(),
            signature: self.signature,
        }
    }
}

/// The public part of a [`SignedPreKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedPreKeyPublic {
    /// Prekey id.
    pub id: u32,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The public key (base64url of `0x05 ‖ u`).
    pub public_key: PublicKey,
    /// The identity key's XEdDSA signature over the serialized public key.
    #[serde(with = "crate::b64::serde_array")]
    pub signature: [u8; SIGNATURE_LENGTH],
}

/// A single-use EC prekey.
#[derive(Clone)]
pub struct OneTimePreKey {
    /// Prekey id.
    pub id: u32,
    /// The key pair.
    pub keypair: KeyPair,
}

impl OneTimePreKey {
    /// Generates one one-time prekey.
    pub fn generate<R: CryptoRng + ?Sized>(id: u32, rng: &mut R) -> Self {
        Self {
            id,
            keypair: KeyPair::generate(rng),
        }
    }

    /// Generates `count` one-time prekeys with ids `start_id, start_id + 1, …`.
    ///
    /// # Errors
    /// [`SignalError::IdOverflow`] if the last id would not fit in `u32`.
    pub fn generate_batch<R: CryptoRng + ?Sized>(
        start_id: u32,
        count: u32,
        rng: &mut R,
    ) -> Result<Vec<Self>, SignalError> {
        if count > 0 && start_id.checked_add(count - 1).is_none() {
            return Err(SignalError::IdOverflow {
                start: start_id,
                count,
            });
        }
        Ok((0..count)
            .map(|i| Self::generate(start_id + i, rng))
            .collect())
    }

    /// Rebuilds a one-time prekey from its stored private key.
    pub fn from_secret(id: u32, secret: Secret32) -> Self {
        Self {
            id,
            keypair: KeyPair::from_secret(secret),
        }
    }

    /// The public view.
    pub fn public(&self) -> OneTimePreKeyPublic {
        OneTimePreKeyPublic {
            id: self.id,
            public_key: self.keypair.public_key(),
        }
    }
}

impl fmt::Debug for OneTimePreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePreKey")
            .field("id", &self.id)
            .field("keypair", &self.keypair)
            .finish()
    }
}

/// The public part of a [`OneTimePreKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OneTimePreKeyPublic {
    /// Prekey id.
    pub id: u32,
    /// The public key (base64url of `0x05 ‖ u`).
    pub public_key: PublicKey,
}

/// The public part of a [`KyberPreKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KyberPreKeyPublic {
    /// Prekey id.
    pub id: u32,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The KEM public key (base64url of `type byte ‖ encapsulation key`).
    pub public_key: KemPublicKey,
    /// The identity key's XEdDSA signature over the serialized KEM public key.
    #[serde(with = "crate::b64::serde_array")]
    pub signature: [u8; SIGNATURE_LENGTH],
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn signed_prekey_signature_and_reconstruction() {
        let mut rng = StdRng::seed_from_u64(20);
        let id = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&id, 7, 1_700_000_000_000, &mut rng);
        spk.verify(&id.public_key()).unwrap();
        let again = SignedPreKey::from_secret(
            &id.public_key(),
            7,
            spk.created_ms,
            spk.keypair.secret().clone(),
            &spk.signature,
        )
        .unwrap();
        assert_eq!(again.public(), spk.public());
        let other = IdentityKeyPair::generate(&mut rng);
        assert_eq!(
            SignedPreKey::from_secret(
                &other.public_key(),
                7,
                0,
                spk.keypair.secret().clone(),
                &spk.signature
            )
            .unwrap_err(),
            SignalError::VerificationFailed
        );
        assert!(matches!(
            SignedPreKey::from_secret(
                &id.public_key(),
                7,
                0,
                spk.keypair.secret().clone(),
                &spk.signature[..10]
            ),
            Err(SignalError::WrongLength { .. })
        ));
    }

    #[test]
    fn kyber_prekey_signature_and_reconstruction() {
        let mut rng = StdRng::seed_from_u64(21);
        let id = IdentityKeyPair::generate(&mut rng);
        let kpk = KyberPreKey::generate(&id, KemAlgorithm::Kyber1024, 3, 5, &mut rng);
        kpk.verify(&id.public_key()).unwrap();
        let again = KyberPreKey::from_secret_bytes(
            &id.public_key(),
            KemAlgorithm::Kyber1024,
            3,
            5,
            kpk.keypair.secret_bytes().expose(),
            &kpk.signature,
        )
        .unwrap();
        assert_eq!(again.public(), kpk.public());
        let mut sig = kpk.signature;
        sig[0] ^= 1;
        assert_eq!(
            KyberPreKey::from_secret_bytes(
                &id.public_key(),
                KemAlgorithm::Kyber1024,
                3,
                5,
                kpk.keypair.secret_bytes().expose(),
                &sig
            )
            .unwrap_err(),
            SignalError::VerificationFailed
        );
    }

    #[test]
    fn batches() {
        let mut rng = StdRng::seed_from_u64(22);
        let batch = OneTimePreKey::generate_batch(100, 5, &mut rng).unwrap();
        assert_eq!(
            batch.iter().map(|k| k.id).collect::<Vec<_>>(),
            [100, 101, 102, 103, 104]
        );
        assert_eq!(
            OneTimePreKey::generate_batch(u32::MAX, 1, &mut rng)
                .unwrap()
                .len(),
            1
        );
        assert!(
            OneTimePreKey::generate_batch(u32::MAX, 0, &mut rng)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            OneTimePreKey::generate_batch(u32::MAX, 2, &mut rng).unwrap_err(),
            SignalError::IdOverflow {
                start: u32::MAX,
                count: 2
            }
        );
        let k = &batch[0];
        let again = OneTimePreKey::from_secret(k.id, k.keypair.secret().clone());
        assert_eq!(again.public(), k.public());
    }

    #[test]
    fn public_views_serde() {
        let mut rng = StdRng::seed_from_u64(23);
        let id = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&id, 1, 2, &mut rng).public();
        let json = serde_json::to_value(&spk).unwrap();
        assert_eq!(json["createdMs"], 2);
        assert_eq!(
            crate::b64::decode(json["publicKey"].as_str().unwrap()).unwrap()[0],
            0x05
        );
        assert_eq!(
            serde_json::from_value::<SignedPreKeyPublic>(json).unwrap(),
            spk
        );
        let kpk = KyberPreKey::generate(&id, KemAlgorithm::MlKem768, 1, 2, &mut rng).public();
        let json = serde_json::to_string(&kpk).unwrap();
        assert_eq!(
            serde_json::from_str::<KyberPreKeyPublic>(&json).unwrap(),
            kpk
        );
    }

    #[test]
    fn debug_is_redacted() {
        let mut rng = StdRng::seed_from_u64(24);
        let id = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&id, 1, 2, &mut rng);
        let otk = OneTimePreKey::generate(1, &mut rng);
        let kpk = KyberPreKey::generate(&id, KemAlgorithm::Kyber1024, 1, 2, &mut rng);
        for (d, secret) in [
            (format!("{spk:?}"), spk.keypair.secret().expose().to_vec()),
            (format!("{otk:?}"), otk.keypair.secret().expose().to_vec()),
            (
                format!("{kpk:?}"),
                kpk.keypair.secret_bytes().expose().to_vec(),
            ),
        ] {
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            assert!(d.contains("<redacted>"), "{d}");
            assert!(
                !d.contains(&hex[..16]) && !d.contains(&crate::b64::encode(&secret)[..16]),
                "{d}"
            );
        }
    }
}
