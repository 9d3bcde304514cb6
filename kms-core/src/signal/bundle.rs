//! The prekey bundle: the public keys a peer fetches to start a session with a device.
//!
//! The fields are exactly the arguments of libsignal's `PreKeyBundle.new`; JSON uses
//! camelCase names and base64url (unpadded) bytes, keys in their libsignal serialization.

use serde::{Deserialize, Serialize};

use super::SignalError;
use super::identity::PublicKey;
use super::kem::KemPublicKey;
use super::prekeys::{KyberPreKey, OneTimePreKey, SignedPreKey};
use super::xeddsa::SIGNATURE_LENGTH;

/// A device's published prekey bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreKeyBundle {
    /// The device's registration id.
    pub registration_id: u32,
    /// The device id.
    pub device_id: u32,
    /// The identity public key.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub identity_key: PublicKey,
    /// Signed prekey id.
    pub signed_pre_key_id: u32,
    /// Signed prekey public key.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub signed_pre_key_public: PublicKey,
    /// XEdDSA signature by `identity_key` over `signed_pre_key_public.serialize()`.
    #[serde(with = "crate::b64::serde_array")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub signed_pre_key_signature: [u8; SIGNATURE_LENGTH],
    /// One-time prekey id, when the bundle carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub pre_key_id: Option<u32>,
    /// One-time prekey public key, when the bundle carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "string", optional))]
    pub pre_key_public: Option<PublicKey>,
    /// Kyber prekey id.
    pub kyber_pre_key_id: u32,
    /// Kyber prekey public key.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub kyber_pre_key_public: KemPublicKey,
    /// XEdDSA signature by `identity_key` over `kyber_pre_key_public.serialize()`.
    #[serde(with = "crate::b64::serde_array")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub kyber_pre_key_signature: [u8; SIGNATURE_LENGTH],
}

impl PreKeyBundle {
    /// Assembles a bundle from a device's keys.
    pub fn new(
        registration_id: u32,
        device_id: u32,
        identity_key: PublicKey,
        signed: &SignedPreKey,
        one_time: Option<&OneTimePreKey>,
        kyber: &KyberPreKey,
    ) -> Self {
        Self {
            registration_id,
            device_id,
            identity_key,
            signed_pre_key_id: signed.id,
            signed_pre_key_public: signed.keypair.public_key(),
            signed_pre_key_signature: signed.signature,
            pre_key_id: one_time.map(|k| k.id),
            pre_key_public: one_time.map(|k| k.keypair.public_key()),
            kyber_pre_key_id: kyber.id,
            kyber_pre_key_public: kyber.keypair.public_key().clone(),
            kyber_pre_key_signature: kyber.signature,
        }
    }

    /// The one-time prekey, if present.
    ///
    /// # Errors
    /// [`SignalError::Mismatch`] if only one of `pre_key_id` and `pre_key_public` is set.
    pub fn one_time_pre_key(&self) -> Result<Option<(u32, PublicKey)>, SignalError> {
        match (self.pre_key_id, self.pre_key_public) {
            (Some(id), Some(key)) => Ok(Some((id, key))),
            (None, None) => Ok(None),
            (id, key) => Err(SignalError::Mismatch {
                what: "one-time prekey fields",
                expected: "both preKeyId and preKeyPublic, or neither".into(),
                got: format!(
                    "preKeyId {}, preKeyPublic {}",
                    presence(id.is_some()),
                    presence(key.is_some())
                ),
            }),
        }
    }

    /// Checks the bundle as a peer would before using it: both prekey signatures verify under
    /// the identity key, and the one-time prekey fields are consistent.
    ///
    /// # Errors
    /// [`SignalError::Mismatch`] for inconsistent one-time prekey fields,
    /// [`SignalError::VerificationFailed`] if either signature does not verify.
    pub fn verify(&self) -> Result<(), SignalError> {
        self.one_time_pre_key()?;
        self.identity_key.verify(
            &self.signed_pre_key_public.serialize(),
            &self.signed_pre_key_signature,
        )?;
        self.identity_key.verify(
            &self.kyber_pre_key_public.serialize(),
            &self.kyber_pre_key_signature,
        )
    }
}

fn presence(p: bool) -> &'static str {
    if p { "present" } else { "absent" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::identity::IdentityKeyPair;
    use crate::signal::kem::KemAlgorithm;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn bundle(with_one_time: bool) -> PreKeyBundle {
        let mut rng = StdRng::seed_from_u64(30);
        let id = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&id, 1, 0, &mut rng);
        let otk = OneTimePreKey::generate(2, &mut rng);
        let kpk = KyberPreKey::generate(&id, KemAlgorithm::Kyber1024, 3, 0, &mut rng);
        PreKeyBundle::new(
            1234,
            1,
            id.public_key(),
            &spk,
            with_one_time.then_some(&otk),
            &kpk,
        )
    }

    #[test]
    fn verifies_and_round_trips_json() {
        for with in [true, false] {
            let b = bundle(with);
            b.verify().unwrap();
            let json = serde_json::to_value(&b).unwrap();
            assert_eq!(json.get("preKeyId").is_some(), with);
            assert!(json["kyberPreKeyPublic"].is_string());
            let back: PreKeyBundle = serde_json::from_value(json).unwrap();
            assert_eq!(back, b);
        }
    }

    #[test]
    fn rejects_tampering() {
        let mut b = bundle(true);
        b.signed_pre_key_signature[5] ^= 1;
        assert_eq!(b.verify(), Err(SignalError::VerificationFailed));
        let mut b = bundle(true);
        b.kyber_pre_key_signature[5] ^= 1;
        assert_eq!(b.verify(), Err(SignalError::VerificationFailed));
        let mut b = bundle(true);
        b.signed_pre_key_public = b.pre_key_public.unwrap();
        assert_eq!(b.verify(), Err(SignalError::VerificationFailed));
        let mut b = bundle(true);
        b.pre_key_public = None;
        assert_eq!(
            b.verify().unwrap_err().to_string(),
            "mismatched one-time prekey fields: expected both preKeyId and preKeyPublic, or neither, got preKeyId present, preKeyPublic absent"
        );
    }

    #[test]
    fn refuses_unknown_fields_and_bad_bytes() {
        let mut json = serde_json::to_value(bundle(false)).unwrap();
        json["extra"] = 1.into();
        assert!(serde_json::from_value::<PreKeyBundle>(json).is_err());
        let mut json = serde_json::to_value(bundle(false)).unwrap();
        json["identityKey"] = crate::b64::encode([0x05; 32]).into();
        assert!(serde_json::from_value::<PreKeyBundle>(json).is_err());
    }
}
