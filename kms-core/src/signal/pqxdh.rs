//! PQXDH: the post-quantum extended triple Diffie-Hellman handshake that starts a Signal
//! session.
//!
//! Specification: "The PQXDH Key Agreement Protocol", Ehren Kret and Rolfe Schmidt, revision 3,
//! <https://signal.org/docs/specifications/pqxdh/>, §2.2 (the KDF), §3.3 (sending the initial
//! message) and §3.4 (receiving it). With Alice the initiator and Bob the responder:
//!
//! ```text
//! DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   DH4 = DH(EK_A, OPK_B)
//! (CT, SS) = PQKEM-ENC(PQPK_B)
//! SK = HKDF-SHA-256(salt = 32 zero bytes, ikm = F ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS, info, L = 32)
//! ```
//!
//! `F` is 32 `0xFF` bytes and `info` is libsignal's constant [`INFO`]. libsignal expands more
//! than 32 bytes from the same HKDF; `SK` equals its first 32 bytes (the initial root key),
//! because HKDF-Expand output is a prefix-stable stream.

use core::fmt;

use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::SignalError;
use super::bundle::PreKeyBundle;
use super::identity::{IdentityKeyPair, KeyPair, PublicKey};
use super::prekeys::{KyberPreKey, OneTimePreKey, SignedPreKey};
use crate::secret::Secret32;

/// PQXDH §2.2: `F`, 32 `0xFF` bytes prepended to the KDF input (for X25519), so the input can
/// never be mistaken for an XEdDSA private key.
pub const F: [u8; 32] = [0xFF; 32];

/// PQXDH §2.1 `info`: libsignal's application name, curve, hash and KEM
/// (`rust/protocol/src/pqxdh.rs` in libsignal).
pub const INFO: &[u8] = b"WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024";

/// PQXDH §2.2: the HKDF salt is a zero-filled string as long as the hash output.
const SALT: [u8; 32] = [0u8; 32];

/// What the initiator sends in its first message and keeps.
pub struct Initiation {
    /// The 32-byte shared secret `SK`.
    pub shared_secret: Secret32,
    /// The initiator's identity key `IK_A`.
    pub identity_key: PublicKey,
    /// The ephemeral public key `EK_A` (libsignal's "base key").
    pub ephemeral_public: PublicKey,
    /// The serialized KEM ciphertext (`type byte ‖ CT`).
    pub kem_ciphertext: Vec<u8>,
    /// Id of the signed prekey used.
    pub signed_pre_key_id: u32,
    /// Id of the one-time prekey used, if the bundle had one.
    pub one_time_pre_key_id: Option<u32>,
    /// Id of the Kyber prekey used.
    pub kyber_pre_key_id: u32,
}

impl fmt::Debug for Initiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Initiation")
            .field("shared_secret", &self.shared_secret)
            .field("identity_key", &self.identity_key)
            .field("ephemeral_public", &self.ephemeral_public)
            .field("kem_ciphertext_len", &self.kem_ciphertext.len())
            .field("signed_pre_key_id", &self.signed_pre_key_id)
            .field("one_time_pre_key_id", &self.one_time_pre_key_id)
            .field("kyber_pre_key_id", &self.kyber_pre_key_id)
            .finish()
    }
}

/// The three keys libsignal expands from the PQXDH secret: the initial root key (`SK`),
/// the first chain key and the key that starts the post-quantum ratchet.
pub(crate) struct HandshakeKeys {
    pub(crate) root: Secret32,
    pub(crate) chain: Secret32,
    pub(crate) pq: Secret32,
}

/// PQXDH §2.2 KDF over `F ‖ KM`, expanded to 96 bytes as libsignal does
/// (`HandshakeKeys::derive`: root key ‖ chain key ‖ PQ ratchet key).
pub(crate) fn kdf_keys(dhs: &[&Secret32], ss: &Secret32) -> Result<HandshakeKeys, SignalError> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * (dhs.len() + 2)));
    ikm.extend_from_slice(&F);
    for dh in dhs {
        ikm.extend_from_slice(dh.expose());
    }
    ikm.extend_from_slice(ss.expose());
    let mut okm = Zeroizing::new([0u8; 96]);
    Hkdf::<Sha256>::new(Some(&SALT), &ikm)
        .expand(INFO, &mut okm[..])
        // 96 bytes is always a valid HKDF-SHA-256 output length.
        .map_err(|_| SignalError::VerificationFailed)?;
    let part = |i: usize| {
        Secret32::from_slice(&okm[32 * i..32 * (i + 1)])
            .map_err(|_| SignalError::VerificationFailed)
    };
    Ok(HandshakeKeys {
        root: part(0)?,
        chain: part(1)?,
        pq: part(2)?,
    })
}

/// PQXDH §2.2 KDF over `F ‖ KM`: `SK`, the first 32 bytes.
#[cfg(test)]
pub(crate) fn kdf(dhs: &[&Secret32], ss: &Secret32) -> Result<Secret32, SignalError> {
    Ok(kdf_keys(dhs, ss)?.root)
}

/// The initiator side (PQXDH §3.3): checks the bundle's signatures, then derives `SK` and the
/// values the first message carries.
///
/// # Errors
/// [`SignalError::VerificationFailed`] or [`SignalError::Mismatch`] for a bundle that fails
/// [`PreKeyBundle::verify`]; [`SignalError::LowOrderKey`] for a degenerate bundle key.
pub fn initiate<R: CryptoRng + ?Sized>(
    our_identity: &IdentityKeyPair,
    bundle: &PreKeyBundle,
    rng: &mut R,
) -> Result<Initiation, SignalError> {
    Ok(initiate_keys(our_identity, bundle, rng)?.0)
}

/// [`initiate`], also returning all three handshake keys.
pub(crate) fn initiate_keys<R: CryptoRng + ?Sized>(
    our_identity: &IdentityKeyPair,
    bundle: &PreKeyBundle,
    rng: &mut R,
) -> Result<(Initiation, HandshakeKeys), SignalError> {
    bundle.verify()?;
    let one_time = bundle.one_time_pre_key()?;
    let ephemeral = KeyPair::generate(rng);
    let dh1 = our_identity.agree(&bundle.signed_pre_key_public)?;
    let dh2 = ephemeral.agree(&bundle.identity_key)?;
    let dh3 = ephemeral.agree(&bundle.signed_pre_key_public)?;
    let dh4 = match &one_time {
        Some((_, key)) => Some(ephemeral.agree(key)?),
        None => None,
    };
    let (kem_ciphertext, ss) = bundle.kyber_pre_key_public.encapsulate(rng)?;
    let keys = match &dh4 {
        Some(dh4) => kdf_keys(&[&dh1, &dh2, &dh3, dh4], &ss)?,
        None => kdf_keys(&[&dh1, &dh2, &dh3], &ss)?,
    };
    let initiation = Initiation {
        shared_secret: keys.root.clone(),
        identity_key: our_identity.public_key(),
        ephemeral_public: ephemeral.public_key(),
        kem_ciphertext,
        signed_pre_key_id: bundle.signed_pre_key_id,
        one_time_pre_key_id: one_time.map(|(id, _)| id),
        kyber_pre_key_id: bundle.kyber_pre_key_id,
    };
    Ok((initiation, keys))
}

/// The responder side (PQXDH §3.4): derives `SK` from our keys and the initiator's identity
/// key, ephemeral key and KEM ciphertext.
///
/// The signed and Kyber prekeys must carry valid signatures by `identity` (so a prekey from
/// another identity, or a corrupted record, is refused).
///
/// # Errors
/// - [`SignalError::VerificationFailed`] if a prekey signature does not verify under
///   `identity`.
/// - [`SignalError::WrongLength`], [`SignalError::WrongType`] or [`SignalError::KemMismatch`]
///   for a ciphertext that does not belong to `kyber`'s algorithm.
/// - [`SignalError::LowOrderKey`] for a degenerate peer key.
pub fn respond(
    identity: &IdentityKeyPair,
    signed_pre_key: &SignedPreKey,
    one_time_pre_key: Option<&OneTimePreKey>,
    kyber_pre_key: &KyberPreKey,
    kem_ciphertext: &[u8],
    their_identity: &PublicKey,
    their_ephemeral: &PublicKey,
) -> Result<Secret32, SignalError> {
    Ok(respond_keys(
        identity,
        signed_pre_key,
        one_time_pre_key,
        kyber_pre_key,
        kem_ciphertext,
        their_identity,
        their_ephemeral,
    )?
    .root)
}

/// [`respond`], returning all three handshake keys.
pub(crate) fn respond_keys(
    identity: &IdentityKeyPair,
    signed_pre_key: &SignedPreKey,
    one_time_pre_key: Option<&OneTimePreKey>,
    kyber_pre_key: &KyberPreKey,
    kem_ciphertext: &[u8],
    their_identity: &PublicKey,
    their_ephemeral: &PublicKey,
) -> Result<HandshakeKeys, SignalError> {
    let ours = identity.public_key();
    signed_pre_key.verify(&ours)?;
    kyber_pre_key.verify(&ours)?;
    let ss = kyber_pre_key.keypair.decapsulate(kem_ciphertext)?;
    let dh1 = signed_pre_key.keypair.agree(their_identity)?;
    let dh2 = identity.agree(their_ephemeral)?;
    let dh3 = signed_pre_key.keypair.agree(their_ephemeral)?;
    match one_time_pre_key {
        Some(otk) => {
            let dh4 = otk.keypair.agree(their_ephemeral)?;
            kdf_keys(&[&dh1, &dh2, &dh3, &dh4], &ss)
        }
        None => kdf_keys(&[&dh1, &dh2, &dh3], &ss),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::kem::KemAlgorithm;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    struct Bob {
        identity: IdentityKeyPair,
        spk: SignedPreKey,
        otk: OneTimePreKey,
        kyber: KyberPreKey,
    }

    fn bob(alg: KemAlgorithm, rng: &mut StdRng) -> Bob {
        let identity = IdentityKeyPair::generate(rng);
        let spk = SignedPreKey::generate(&identity, 1, 0, rng);
        let otk = OneTimePreKey::generate(2, rng);
        let kyber = KyberPreKey::generate(&identity, alg, 3, 0, rng);
        Bob {
            identity,
            spk,
            otk,
            kyber,
        }
    }

    #[test]
    fn agreement_with_and_without_one_time_prekey() {
        let mut rng = StdRng::seed_from_u64(40);
        for alg in [
            KemAlgorithm::Kyber1024,
            KemAlgorithm::MlKem1024,
            KemAlgorithm::MlKem768,
        ] {
            let alice = IdentityKeyPair::generate(&mut rng);
            let b = bob(alg, &mut rng);
            for with in [true, false] {
                let otk = with.then_some(&b.otk);
                let bundle =
                    PreKeyBundle::new(7, 1, b.identity.public_key(), &b.spk, otk, &b.kyber);
                let init = initiate(&alice, &bundle, &mut rng).unwrap();
                assert_eq!(init.one_time_pre_key_id, with.then_some(2));
                assert_eq!(init.kem_ciphertext[0], alg.type_byte());
                let sk = respond(
                    &b.identity,
                    &b.spk,
                    otk,
                    &b.kyber,
                    &init.kem_ciphertext,
                    &alice.public_key(),
                    &init.ephemeral_public,
                )
                .unwrap();
                assert_eq!(sk, init.shared_secret, "{alg} one-time={with}");
                // Forgetting (or inventing) the one-time prekey changes the secret.
                let other = respond(
                    &b.identity,
                    &b.spk,
                    if with { None } else { Some(&b.otk) },
                    &b.kyber,
                    &init.kem_ciphertext,
                    &alice.public_key(),
                    &init.ephemeral_public,
                )
                .unwrap();
                assert_ne!(other, init.shared_secret);
            }
        }
    }

    #[test]
    fn wrong_keys_give_different_secrets() {
        let mut rng = StdRng::seed_from_u64(41);
        let alice = IdentityKeyPair::generate(&mut rng);
        let mallory = IdentityKeyPair::generate(&mut rng);
        let b = bob(KemAlgorithm::Kyber1024, &mut rng);
        let bundle = PreKeyBundle::new(
            7,
            1,
            b.identity.public_key(),
            &b.spk,
            Some(&b.otk),
            &b.kyber,
        );
        let init = initiate(&alice, &bundle, &mut rng).unwrap();
        let respond_with = |their_identity: &PublicKey, ct: &[u8], otk: &OneTimePreKey| {
            respond(
                &b.identity,
                &b.spk,
                Some(otk),
                &b.kyber,
                ct,
                their_identity,
                &init.ephemeral_public,
            )
            .unwrap()
        };
        assert_ne!(
            respond_with(&mallory.public_key(), &init.kem_ciphertext, &b.otk),
            init.shared_secret
        );
        let mut ct = init.kem_ciphertext.clone();
        ct[100] ^= 1;
        assert_ne!(
            respond_with(&alice.public_key(), &ct, &b.otk),
            init.shared_secret
        );
        let other_otk = OneTimePreKey::generate(2, &mut rng);
        assert_ne!(
            respond_with(&alice.public_key(), &init.kem_ciphertext, &other_otk),
            init.shared_secret
        );
    }

    #[test]
    fn respond_rejects_unsigned_or_mismatched_inputs() {
        let mut rng = StdRng::seed_from_u64(42);
        let alice = IdentityKeyPair::generate(&mut rng);
        let b = bob(KemAlgorithm::Kyber1024, &mut rng);
        let bundle = PreKeyBundle::new(7, 1, b.identity.public_key(), &b.spk, None, &b.kyber);
        let init = initiate(&alice, &bundle, &mut rng).unwrap();
        let ct = &init.kem_ciphertext;
        let (a, e) = (alice.public_key(), init.ephemeral_public);

        // Prekeys signed by someone else.
        let other = IdentityKeyPair::generate(&mut rng);
        assert_eq!(
            respond(&other, &b.spk, None, &b.kyber, ct, &a, &e).unwrap_err(),
            SignalError::VerificationFailed
        );
        let mut bad_spk = b.spk.clone();
        bad_spk.signature[0] ^= 1;
        assert_eq!(
            respond(&b.identity, &bad_spk, None, &b.kyber, ct, &a, &e).unwrap_err(),
            SignalError::VerificationFailed
        );
        let mut bad_kyber = b.kyber.clone();
        bad_kyber.signature[0] ^= 1;
        assert_eq!(
            respond(&b.identity, &b.spk, None, &bad_kyber, ct, &a, &e).unwrap_err(),
            SignalError::VerificationFailed
        );
        // A ciphertext for another KEM or of the wrong size.
        let ml = KyberPreKey::generate(&b.identity, KemAlgorithm::MlKem1024, 4, 0, &mut rng);
        assert!(matches!(
            respond(&b.identity, &b.spk, None, &ml, ct, &a, &e),
            Err(SignalError::KemMismatch { .. })
        ));
        assert!(matches!(
            respond(&b.identity, &b.spk, None, &b.kyber, &ct[..500], &a, &e),
            Err(SignalError::WrongLength { .. })
        ));
        // A low-order ephemeral key.
        let zero = PublicKey::from_bytes([0; 32]).unwrap();
        assert!(matches!(
            respond(&b.identity, &b.spk, None, &b.kyber, ct, &a, &zero),
            Err(SignalError::LowOrderKey { .. })
        ));
    }

    #[test]
    fn initiate_rejects_bad_bundles() {
        let mut rng = StdRng::seed_from_u64(43);
        let alice = IdentityKeyPair::generate(&mut rng);
        let b = bob(KemAlgorithm::Kyber1024, &mut rng);
        let mut bundle = PreKeyBundle::new(7, 1, b.identity.public_key(), &b.spk, None, &b.kyber);
        bundle.kyber_pre_key_signature[1] ^= 1;
        assert_eq!(
            initiate(&alice, &bundle, &mut rng).unwrap_err(),
            SignalError::VerificationFailed
        );
    }

    #[test]
    fn debug_is_redacted() {
        let mut rng = StdRng::seed_from_u64(44);
        let alice = IdentityKeyPair::generate(&mut rng);
        let b = bob(KemAlgorithm::Kyber1024, &mut rng);
        let bundle = PreKeyBundle::new(7, 1, b.identity.public_key(), &b.spk, None, &b.kyber);
        let init = initiate(&alice, &bundle, &mut rng).unwrap();
        let d = format!("{init:?}");
        let hex: String = init
            .shared_secret
            .expose()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(d.contains("redacted") && !d.contains(&hex[..16]), "{d}");
        assert!(
            !d.contains(&crate::b64::encode(init.shared_secret.expose())[..16]),
            "{d}"
        );
    }
}
