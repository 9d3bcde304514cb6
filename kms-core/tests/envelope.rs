//! Sealed envelopes: round trips of both formats, prekey signatures, tamper detection, and the
//! service's open-and-shred through the RPC.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod routing;
use routing::routed;

use kms_core::Error;
use kms_core::ManualClock;
use kms_core::envelope::{
    self, Envelope, EnvelopeError, EnvelopeFormat, PrekeySecret, PrekeyUse, SignedPrekey,
};
use kms_core::hazmat::format::FormatError;
use kms_core::rpc::Request;
use kms_core::service::{
    EnvelopeEpochKeyResponse, EnvelopeOpenedResponse, EnvelopePrekeysResponse, Kms, Response,
};
use kms_core::signal::identity::{IdentityKeyPair, PublicKey};
use kms_core::store::{MemoryStore, Store};
use rand::SeedableRng;
use rand::rngs::StdRng;

const FORMATS: [EnvelopeFormat; 2] = [
    EnvelopeFormat::X25519AesGcmV1,
    EnvelopeFormat::HybridMlKem768AesGcmV1,
];

fn keyset(
    format: EnvelopeFormat,
    seed: u64,
) -> (IdentityKeyPair, PrekeySecret, SignedPrekey, StdRng) {
    let mut rng = StdRng::seed_from_u64(seed);
    let identity = IdentityKeyPair::generate(&mut rng);
    let secret = PrekeySecret::generate(format, &mut rng);
    let signed = secret
        .sign_public(&identity, "kid-1", PrekeyUse::OneTime, &mut rng)
        .unwrap();
    (identity, secret, signed, rng)
}

#[test]
fn round_trip_both_formats() {
    for format in FORMATS {
        let (identity, secret, signed, mut rng) = keyset(format, 1);
        assert_eq!(signed.format(), format);
        let verified = signed.verify(&identity.public_key()).unwrap();
        let env = envelope::seal(&verified, b"hello prekey", &mut rng).unwrap();
        assert_eq!(env.format, format.id());
        assert_eq!(env.kid, "kid-1");
        assert_eq!(
            env.kem_ct.is_some(),
            format == EnvelopeFormat::HybridMlKem768AesGcmV1
        );
        let pt = envelope::open(&env, "kid-1", &secret).unwrap();
        assert_eq!(pt.expose(), b"hello prekey");
        // JSON round trip keeps it openable.
        let json = serde_json::to_string(&env).unwrap();
        let back: Envelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back, env);
        assert_eq!(
            envelope::open(&back, "kid-1", &secret).unwrap().expose(),
            b"hello prekey"
        );
        // Storage form round trip.
        let again = PrekeySecret::from_bytes(secret.to_bytes().expose()).unwrap();
        assert_eq!(
            envelope::open(&env, "kid-1", &again).unwrap().expose(),
            b"hello prekey"
        );
    }
}

#[test]
fn two_seals_differ_and_empty_message_works() {
    let (identity, secret, signed, mut rng) = keyset(EnvelopeFormat::X25519AesGcmV1, 2);
    let v = signed.verify(&identity.public_key()).unwrap();
    let a = envelope::seal(&v, b"", &mut rng).unwrap();
    let b = envelope::seal(&v, b"", &mut rng).unwrap();
    assert_ne!(a.epk, b.epk);
    assert_ne!(a.ct, b.ct);
    assert!(envelope::open(&a, "kid-1", &secret).unwrap().is_empty());
}

#[test]
fn every_modification_fails_authentication() {
    for format in FORMATS {
        let (identity, secret, signed, mut rng) = keyset(format, 3);
        let v = signed.verify(&identity.public_key()).unwrap();
        let env = envelope::seal(&v, b"attack at dawn", &mut rng).unwrap();
        for i in 0..env.ct.len() {
            let mut t = env.clone();
            t.ct[i] ^= 0x01;
            assert_eq!(
                envelope::open(&t, "kid-1", &secret).unwrap_err(),
                EnvelopeError::Decryption
            );
        }
        let mut t = env.clone();
        t.epk = random_public(&mut rng);
        assert_eq!(
            envelope::open(&t, "kid-1", &secret).unwrap_err(),
            EnvelopeError::Decryption
        );
        if let Some(ct) = &env.kem_ct {
            let mut t = env.clone();
            let mut c = ct.clone();
            c[100] ^= 1;
            t.kem_ct = Some(c);
            // ML-KEM implicit rejection gives another secret: authentication fails.
            assert_eq!(
                envelope::open(&t, "kid-1", &secret).unwrap_err(),
                EnvelopeError::Decryption
            );
        }
        // Relabelled kid: the kid is bound by AAD and key schedule.
        let mut t = env.clone();
        t.kid = "kid-2".into();
        assert_eq!(
            envelope::open(&t, "kid-2", &secret).unwrap_err(),
            EnvelopeError::Decryption
        );
        // Another key of the same format.
        let (_, other, _, _) = keyset(format, 99);
        assert_eq!(
            envelope::open(&env, "kid-1", &other).unwrap_err(),
            EnvelopeError::Decryption
        );
    }
}

/// A random X25519 public key that belongs to nobody involved.
fn random_public(rng: &mut StdRng) -> PublicKey {
    kms_core::signal::identity::KeyPair::generate(rng).public_key()
}

#[test]
fn shape_errors_are_named() {
    let (identity, secret, signed, mut rng) = keyset(EnvelopeFormat::HybridMlKem768AesGcmV1, 4);
    let v = signed.verify(&identity.public_key()).unwrap();
    let env = envelope::seal(&v, b"x", &mut rng).unwrap();
    let mut t = env.clone();
    t.format = "x25519-chacha-v9".into();
    assert!(matches!(
        envelope::open(&t, "kid-1", &secret),
        Err(EnvelopeError::Format(FormatError::UnknownAlgorithm { .. }))
    ));
    let mut t = env.clone();
    t.kem_ct = None;
    assert_eq!(
        envelope::open(&t, "kid-1", &secret).unwrap_err(),
        EnvelopeError::Malformed("kem_ct missing")
    );
    let mut t = env.clone();
    t.format = EnvelopeFormat::X25519AesGcmV1.id().into();
    assert_eq!(
        envelope::open(&t, "kid-1", &secret).unwrap_err(),
        EnvelopeError::Malformed("unexpected kem_ct")
    );
    t.kem_ct = None;
    assert!(matches!(
        envelope::open(&t, "kid-1", &secret).unwrap_err(),
        EnvelopeError::FormatMismatch { .. }
    ));
    assert!(matches!(
        envelope::open(&env, "kid-9", &secret).unwrap_err(),
        EnvelopeError::KidMismatch { .. }
    ));
    let mut t = env.clone();
    t.kid = "bad kid".into();
    assert_eq!(envelope::check(&t).unwrap_err(), EnvelopeError::Kid);
    let mut t = env;
    t.kem_ct = Some(vec![0xE7; 10]);
    assert!(matches!(
        envelope::open(&t, "kid-1", &secret).unwrap_err(),
        EnvelopeError::Key(_)
    ));
    let json = r#"{"format":"x25519-aesgcm-v1","kid":"k","epk":"BQ","ct":"","extra":1}"#;
    assert!(serde_json::from_str::<Envelope>(json).is_err());
}

#[test]
fn prekey_signature_stops_substitution_and_downgrade() {
    let (identity, _secret, signed, mut rng) = keyset(EnvelopeFormat::HybridMlKem768AesGcmV1, 5);
    let id = identity.public_key();
    signed.verify(&id).unwrap();
    // A server substituting its own X25519 key.
    let mut t = signed.clone();
    t.pub_key = random_public(&mut rng);
    assert_eq!(t.verify(&id).unwrap_err(), EnvelopeError::BadSignature);
    // Stripping the post-quantum key (downgrade to x25519-aesgcm-v1).
    let mut t = signed.clone();
    t.pqc_pub_key = None;
    assert_eq!(t.verify(&id).unwrap_err(), EnvelopeError::BadSignature);
    // Renaming the kid, or relabelling a one-time key as the epoch key.
    let mut t = signed.clone();
    t.kid = "kid-2".into();
    assert_eq!(t.verify(&id).unwrap_err(), EnvelopeError::BadSignature);
    let mut t = signed.clone();
    t.use_ = PrekeyUse::Epoch;
    assert_eq!(t.verify(&id).unwrap_err(), EnvelopeError::BadSignature);
    // Signed by someone else.
    let stranger = IdentityKeyPair::generate(&mut rng);
    assert_eq!(
        signed.verify(&stranger.public_key()).unwrap_err(),
        EnvelopeError::BadSignature
    );
    let mut t = signed.clone();
    t.sig.truncate(10);
    assert_eq!(t.verify(&id).unwrap_err(), EnvelopeError::BadSignature);
    // The wire form round trips and keeps verifying.
    let json = serde_json::to_string(&signed).unwrap();
    assert!(json.contains(r#""use":"one-time""#) && json.contains(r#""pqc_pub_key":"#));
    let back: SignedPrekey = serde_json::from_str(&json).unwrap();
    back.verify(&id).unwrap();
}

#[test]
fn debug_hides_secrets() {
    let (_, secret, _, _) = keyset(EnvelopeFormat::HybridMlKem768AesGcmV1, 6);
    let d = format!("{secret:?}");
    assert_eq!(d, "PrekeySecret(hybrid-mlkem768-aesgcm-v1, <redacted>)");
    let b64 = kms_core::hazmat::b64::encode(&secret.to_bytes().expose()[..32]);
    assert!(!d.contains(&b64));
}

/// A fixed vector pinning the layout: keys from a counter RNG, sealed with a fixed sender RNG.
#[test]
fn known_answer_x25519() {
    struct Counter(u8);
    impl rand_core::TryRng for Counter {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            let mut b = [0u8; 4];
            self.try_fill_bytes(&mut b)?;
            Ok(u32::from_le_bytes(b))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            let mut b = [0u8; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for d in dst {
                *d = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Counter {}
    let mut rng = Counter(0);
    let identity = IdentityKeyPair::generate(&mut rng);
    let secret = PrekeySecret::generate(EnvelopeFormat::X25519AesGcmV1, &mut rng);
    let signed = secret
        .sign_public(&identity, "kid-1", PrekeyUse::OneTime, &mut rng)
        .unwrap();
    let v = signed.verify(&identity.public_key()).unwrap();
    let env = envelope::seal(&v, b"kms", &mut rng).unwrap();
    let json = serde_json::to_string(&env).unwrap();
    assert_eq!(json, include_str!("envelope_vector.json").trim());
    assert_eq!(
        envelope::open(&env, "kid-1", &secret).unwrap().expose(),
        b"kms"
    );
}

// ---- through the service ----

type TestKms = Kms<MemoryStore, ManualClock, StdRng>;
const APP: &str = "https://app.example";

fn call(kms: &mut TestKms, json: &str) -> Result<Response, Error> {
    let req: Request = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    pollster::block_on(kms.handle(&routed(APP, &req), req))
}

fn service() -> (MemoryStore, TestKms) {
    let store = MemoryStore::new();
    let mut kms = Kms::new(
        store.clone(),
        ManualClock::new(1_800_000_000_000),
        StdRng::seed_from_u64(7),
    );
    call(
        &mut kms,
        r#"{"method":"setup","params":{"passphrase":"correct horse battery"}}"#,
    )
    .unwrap();
    (store, kms)
}

fn open_json(env: &Envelope) -> String {
    format!(
        r#"{{"method":"envelope.open","params":{{"envelope":{}}}}}"#,
        serde_json::to_string(env).unwrap()
    )
}

#[test]
fn service_generates_opens_and_shreds() {
    let (store, mut kms) = service();
    let Response::EnvelopePrekeys(EnvelopePrekeysResponse {
        identity_key,
        prekeys,
    }) = call(
        &mut kms,
        r#"{"method":"envelope.prekeys","params":{"count":3}}"#,
    )
    .unwrap()
    else {
        panic!()
    };
    assert_eq!(prekeys.len(), 3);
    let identity =
        PublicKey::deserialize(&kms_core::hazmat::b64::decode(&identity_key).unwrap()).unwrap();
    let mut rng = StdRng::seed_from_u64(8);
    let v = prekeys[0].verify(&identity).unwrap();
    assert_eq!(v.prekey().format(), EnvelopeFormat::HybridMlKem768AesGcmV1);
    let env = envelope::seal(&v, b"first message", &mut rng).unwrap();
    let key = format!("k/{APP}/env-otpk/{}", env.kid);
    assert!(store.snapshot().contains_key(&key));

    // A forged envelope for the same kid fails and leaves the key in place.
    let mut forged = env.clone();
    forged.ct[0] ^= 1;
    let before = pollster::block_on(store.audit_len(APP)).unwrap();
    let e = call(&mut kms, &open_json(&forged)).unwrap_err();
    assert_eq!(e.code().as_str(), "BadRequest");
    assert!(store.snapshot().contains_key(&key));
    assert_eq!(
        pollster::block_on(store.audit_len(APP)).unwrap(),
        before + 1
    );

    let Response::EnvelopeOpened(EnvelopeOpenedResponse {
        plaintext,
        shredded,
        kid,
    }) = call(&mut kms, &open_json(&env)).unwrap()
    else {
        panic!()
    };
    assert!(shredded);
    assert_eq!(kid, env.kid);
    assert_eq!(
        kms_core::hazmat::b64::decode(&plaintext).unwrap(),
        b"first message"
    );
    // Shredded in the same commit as the audit entry.
    assert!(!store.snapshot().contains_key(&key));
    let last = pollster::block_on(store.audit_read(APP, before + 1, 1)).unwrap();
    let entry = String::from_utf8_lossy(&last[0]).into_owned();
    assert!(entry.contains("envelope.open"), "{entry}");

    // A second envelope to the same kid: KeyConsumed.
    let env2 = envelope::seal(&v, b"second", &mut rng).unwrap();
    assert!(matches!(
        call(&mut kms, &open_json(&env2)).unwrap_err(),
        Error::KeyConsumed { .. }
    ));
    // An unknown kid: KeyNotFound.
    let mut unknown = env2.clone();
    unknown.kid = "nope".into();
    assert!(matches!(
        call(&mut kms, &open_json(&unknown)).unwrap_err(),
        Error::KeyNotFound { .. }
    ));
    // The other prekeys still open.
    let v2 = prekeys[1].verify(&identity).unwrap();
    let env3 = envelope::seal(&v2, b"third", &mut rng).unwrap();
    assert!(call(&mut kms, &open_json(&env3)).is_ok());
}

#[test]
fn service_epoch_key_is_not_shredded_and_rotates() {
    let (_store, mut kms) = service();
    let get = |kms: &mut TestKms, json: &str| match call(kms, json).unwrap() {
        Response::EnvelopeEpochKey(EnvelopeEpochKeyResponse {
            identity_key,
            prekey,
        }) => (identity_key, prekey),
        other => panic!("{other:?}"),
    };
    let (idk, epoch) = get(
        &mut kms,
        r#"{"method":"envelope.epochKey","params":{"hybrid":false}}"#,
    );
    let (_, same) = get(&mut kms, r#"{"method":"envelope.epochKey","params":{}}"#);
    assert_eq!(epoch, same);
    assert_eq!(epoch.use_, PrekeyUse::Epoch);
    assert_eq!(epoch.format(), EnvelopeFormat::X25519AesGcmV1);
    let identity = PublicKey::deserialize(&kms_core::hazmat::b64::decode(&idk).unwrap()).unwrap();
    let v = epoch.verify(&identity).unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    for msg in [&b"one"[..], b"two"] {
        let env = envelope::seal(&v, msg, &mut rng).unwrap();
        let Response::EnvelopeOpened(EnvelopeOpenedResponse { shredded, .. }) =
            call(&mut kms, &open_json(&env)).unwrap()
        else {
            panic!()
        };
        assert!(!shredded);
    }
    let (_, rotated) = get(
        &mut kms,
        r#"{"method":"envelope.epochKey","params":{"rotate":true}}"#,
    );
    assert_ne!(rotated.kid, epoch.kid);
    // The old epoch key still opens until deleted.
    let env = envelope::seal(&v, b"late", &mut rng).unwrap();
    assert!(call(&mut kms, &open_json(&env)).is_ok());
}

#[test]
fn service_refuses_when_locked_and_bad_counts() {
    let (_store, mut kms) = service();
    for n in [0, 1001] {
        let e = call(
            &mut kms,
            &format!(r#"{{"method":"envelope.prekeys","params":{{"count":{n}}}}}"#),
        )
        .unwrap_err();
        assert_eq!(e.code().as_str(), "BadRequest");
    }
    call(&mut kms, r#"{"method":"lock"}"#).unwrap();
    let e = call(
        &mut kms,
        r#"{"method":"envelope.prekeys","params":{"count":1}}"#,
    )
    .unwrap_err();
    assert_eq!(e, Error::Locked);
}

#[test]
fn two_tabs_racing_to_open_the_same_envelope_consume_it_once() {
    let (store, mut tab1) = service();
    let mut tab2 = Kms::new(
        store.clone(),
        ManualClock::new(1_800_000_000_000),
        StdRng::seed_from_u64(70),
    );
    call(
        &mut tab2,
        r#"{"method":"unlock.passphrase","params":{"passphrase":"correct horse battery"}}"#,
    )
    .unwrap();
    let Response::EnvelopePrekeys(EnvelopePrekeysResponse {
        identity_key,
        prekeys,
    }) = call(
        &mut tab1,
        r#"{"method":"envelope.prekeys","params":{"count":12,"hybrid":false}}"#,
    )
    .unwrap()
    else {
        panic!()
    };
    let identity =
        PublicKey::deserialize(&kms_core::hazmat::b64::decode(&identity_key).unwrap()).unwrap();
    let mut rng = StdRng::seed_from_u64(71);
    for p in &prekeys {
        let env = envelope::seal(&p.verify(&identity).unwrap(), b"once", &mut rng).unwrap();
        let json = open_json(&env);
        let barrier = std::sync::Barrier::new(2);
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                barrier.wait();
                call(&mut tab1, &json)
            });
            let b = s.spawn(|| {
                barrier.wait();
                call(&mut tab2, &json)
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        let oks = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(oks, 1, "{a:?} {b:?}");
        for r in [a, b] {
            if let Err(e) = r {
                assert!(matches!(e, Error::KeyConsumed { .. }), "{e:?}");
            }
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any message round trips in both formats; flipping any bit of the ciphertext, the
        /// ephemeral key or the KEM ciphertext makes it fail to open.
        #[test]
        fn round_trip_and_tamper(
            msg in prop::collection::vec(any::<u8>(), 0..2048),
            hybrid in any::<bool>(),
            seed in any::<u64>(),
            pos in any::<usize>(),
            bit in 0u8..8,
            target in 0u8..3,
        ) {
            let format = if hybrid {
                EnvelopeFormat::HybridMlKem768AesGcmV1
            } else {
                EnvelopeFormat::X25519AesGcmV1
            };
            let (identity, secret, signed, mut rng) = keyset(format, seed);
            let v = signed.verify(&identity.public_key()).unwrap();
            let env = envelope::seal(&v, &msg, &mut rng).unwrap();
            let opened = envelope::open(&env, "kid-1", &secret).unwrap();
            prop_assert_eq!(opened.expose(), &msg[..]);
            let mut t = env.clone();
            match (target, t.kem_ct.as_mut()) {
                (0, _) | (2.., None) => {
                    let i = pos % t.ct.len();
                    t.ct[i] ^= 1 << bit;
                }
                (1, _) => {
                    let mut epk = t.epk.serialize();
                    let i = 1 + pos % 32;
                    epk[i] ^= 1 << bit;
                    match PublicKey::deserialize(&epk) {
                        Ok(k) => t.epk = k,
                        // A non-canonical point cannot even be expressed: nothing to open.
                        Err(_) => return Ok(()),
                    }
                }
                (_, Some(ct)) => {
                    let i = 1 + pos % (ct.len() - 1);
                    ct[i] ^= 1 << bit;
                }
            }
            prop_assert!(envelope::open(&t, "kid-1", &secret).is_err());
        }

        /// Arbitrary JSON-ish input never panics the envelope parser or `open`.
        #[test]
        fn arbitrary_envelopes_never_panic(
            ct in prop::collection::vec(any::<u8>(), 0..64),
            kem in prop::option::of(prop::collection::vec(any::<u8>(), 0..1200)),
            kid in "[a-z0-9 _-]{0,8}",
            fmt in prop::sample::select(vec![
                "x25519-aesgcm-v1", "hybrid-mlkem768-aesgcm-v1", "other"
            ]),
        ) {
            let (_, secret, _, mut rng) = keyset(EnvelopeFormat::HybridMlKem768AesGcmV1, 1);
            let env = Envelope {
                format: fmt.into(),
                kid: kid.clone(),
                epk: random_public(&mut rng),
                kem_ct: kem,
                ct,
            };
            prop_assert!(envelope::open(&env, &kid, &secret).is_err());
        }
    }
}
