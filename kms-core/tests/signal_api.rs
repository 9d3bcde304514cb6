//! Public-API tests of `kms_core::signal`: XEdDSA properties, PQXDH agreement across the
//! KEMs, and redacted Debug output.

use kms_core::Secret32;
use kms_core::signal::identity::{IdentityKeyPair, PublicKey};
use kms_core::signal::kem::KemAlgorithm;
use kms_core::signal::prekeys::{KyberPreKey, OneTimePreKey, SignedPreKey};
use kms_core::signal::{PreKeyBundle, SignalError, pqxdh};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn xeddsa_round_trip(secret in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..200), seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let id = IdentityKeyPair::from_secret(Secret32::from_bytes(secret));
        let sig = id.sign(&mut rng, &msg);
        prop_assert_eq!(sig[63] & 0x80, 0);
        prop_assert!(id.public_key().verify(&msg, &sig).is_ok());
        let again = PublicKey::deserialize(&id.public_key().serialize()).unwrap();
        prop_assert!(again.verify(&msg, &sig).is_ok());
    }

    #[test]
    fn xeddsa_rejects_any_bit_flip(secret in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 1..64), bit in 0usize..512, msg_bit in 0usize..8) {
        let mut rng = StdRng::seed_from_u64(1);
        let id = IdentityKeyPair::from_secret(Secret32::from_bytes(secret));
        let sig = id.sign(&mut rng, &msg);
        let mut bad = sig;
        bad[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(id.public_key().verify(&msg, &bad), Err(SignalError::VerificationFailed));
        let mut bad_msg = msg.clone();
        bad_msg[0] ^= 1 << msg_bit;
        prop_assert_eq!(id.public_key().verify(&bad_msg, &sig), Err(SignalError::VerificationFailed));
    }

    #[test]
    fn xeddsa_wrong_key_fails(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let mut rng = StdRng::seed_from_u64(2);
        let ka = IdentityKeyPair::from_secret(Secret32::from_bytes(a));
        let kb = IdentityKeyPair::from_secret(Secret32::from_bytes(b));
        prop_assume!(ka.public_key() != kb.public_key());
        let sig = ka.sign(&mut rng, b"m");
        prop_assert_eq!(kb.public_key().verify(b"m", &sig), Err(SignalError::VerificationFailed));
    }
}

#[test]
fn pqxdh_agrees_through_json_bundles_for_every_kem() {
    let mut rng = StdRng::seed_from_u64(77);
    for alg in [
        KemAlgorithm::Kyber1024,
        KemAlgorithm::MlKem1024,
        KemAlgorithm::MlKem768,
    ] {
        let alice = IdentityKeyPair::generate(&mut rng);
        let bob = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&bob, 1, 1_700_000_000_000, &mut rng);
        let otks = OneTimePreKey::generate_batch(10, 3, &mut rng).unwrap();
        let kyber = KyberPreKey::generate(&bob, alg, 5, 1_700_000_000_000, &mut rng);
        for otk in [Some(&otks[1]), None] {
            let bundle = PreKeyBundle::new(99, 2, bob.public_key(), &spk, otk, &kyber);
            let json = serde_json::to_string(&bundle).unwrap();
            let fetched: PreKeyBundle = serde_json::from_str(&json).unwrap();
            let init = pqxdh::initiate(&alice, &fetched, &mut rng).unwrap();
            assert_eq!(init.one_time_pre_key_id, otk.map(|k| k.id));
            assert_eq!(init.identity_key, alice.public_key());
            // The responder rebuilds its keys from the stored secrets.
            let spk2 = SignedPreKey::from_secret(
                &bob.public_key(),
                spk.id,
                spk.created_ms,
                spk.keypair.secret().clone(),
                &spk.signature,
            )
            .unwrap();
            let kyber2 = KyberPreKey::from_secret_bytes(
                &bob.public_key(),
                alg,
                kyber.id,
                kyber.created_ms,
                kyber.keypair.secret_bytes().expose(),
                &kyber.signature,
            )
            .unwrap();
            let otk2 = otk.map(|k| OneTimePreKey::from_secret(k.id, k.keypair.secret().clone()));
            let bob2 = IdentityKeyPair::from_secret(bob.secret().clone());
            let respond = |me: &IdentityKeyPair, them: &PublicKey| {
                pqxdh::respond(
                    me,
                    &spk2,
                    otk2.as_ref(),
                    &kyber2,
                    &init.kem_ciphertext,
                    them,
                    &init.ephemeral_public,
                )
            };
            assert_eq!(
                respond(&bob2, &alice.public_key()).unwrap(),
                init.shared_secret,
                "{alg}"
            );
            // A wrong peer identity gives a different secret; a wrong own identity is refused.
            let mallory = IdentityKeyPair::generate(&mut rng);
            assert_ne!(
                respond(&bob2, &mallory.public_key()).unwrap(),
                init.shared_secret
            );
            assert_eq!(
                respond(&mallory, &alice.public_key()).unwrap_err(),
                SignalError::VerificationFailed
            );
        }
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let mut rng = StdRng::seed_from_u64(78);
    let id = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&id, 1, 0, &mut rng);
    let otk = OneTimePreKey::generate(2, &mut rng);
    let kyber = KyberPreKey::generate(&id, KemAlgorithm::Kyber1024, 3, 0, &mut rng);
    let bundle = PreKeyBundle::new(1, 1, id.public_key(), &spk, Some(&otk), &kyber);
    let init = pqxdh::initiate(&IdentityKeyPair::generate(&mut rng), &bundle, &mut rng).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        id.secret().expose().to_vec(),
        spk.keypair.secret().expose().to_vec(),
        otk.keypair.secret().expose().to_vec(),
        kyber.keypair.secret_bytes().expose().to_vec(),
        init.shared_secret.expose().to_vec(),
    ];
    let outputs = [
        format!("{id:?}"),
        format!("{spk:?}"),
        format!("{otk:?}"),
        format!("{kyber:?}"),
        format!("{:?}", kyber.keypair),
        format!("{init:?}"),
        format!("{id:#?}"),
    ];
    for out in &outputs {
        assert!(out.contains("redacted"), "{out}");
        for s in &secrets {
            for window in s.windows(6) {
                assert!(!out.contains(&hex(window)), "hex secret bytes in {out}");
                let decimal = window
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                assert!(!out.contains(&decimal), "decimal secret bytes in {out}");
            }
            assert!(
                !out.contains(&kms_core::hazmat::b64::encode(&s[..12])),
                "base64 secret in {out}"
            );
        }
    }
}
