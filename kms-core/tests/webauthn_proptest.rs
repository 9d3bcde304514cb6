//! Property tests: hostile bytes never make the parsers panic, truncated inputs are refused,
//! and any single changed byte of a valid assertion is rejected.
#![allow(clippy::expect_used)]

#[path = "webauthn_support.rs"]
mod support;

use std::sync::OnceLock;

use kms_core::hazmat::webauthn::{
    AssertionExpectations, AttestationObject, AuthenticatorData, CollectedClientData, Credential,
    CredentialPublicKey, verify_assertion, verify_registration,
};
use proptest::prelude::*;
use support::*;

struct Fixture {
    credential: Credential,
    assertion: Assertion,
    expect: AssertionExpectations,
    registration: Registration,
    cose_key: Vec<u8>,
    spki: Vec<u8>,
}

fn fixture(alg: Alg) -> Fixture {
    let (mut auth, credential) = registered(alg, 99);
    let ch = challenge(42);
    let assertion = auth.assert(&ch);
    let expect = assert_expect(&ch);
    verify_assertion(
        &credential,
        &assertion.authenticator_data,
        &assertion.client_data_json,
        &assertion.signature,
        &expect,
    )
    .expect("fixture assertion verifies");
    let registration = auth.register(&challenge(1));
    Fixture {
        credential,
        assertion,
        expect,
        registration,
        cose_key: auth.cose_key(),
        spki: auth.spki_der(),
    }
}

fn fixtures() -> &'static [Fixture; 2] {
    static F: OnceLock<[Fixture; 2]> = OnceLock::new();
    F.get_or_init(|| [fixture(Alg::Es256), fixture(Alg::Ed25519)])
}

fn run_assertion(f: &Fixture, ad: &[u8], cdj: &[u8], sig: &[u8]) -> bool {
    verify_assertion(&f.credential, ad, cdj, sig, &f.expect).is_ok()
}

/// Feeds `bytes` to every public parser and verifier; only absence of panics matters.
fn feed_everything(bytes: &[u8]) {
    let _ = AuthenticatorData::parse(bytes);
    let _ = CollectedClientData::parse(bytes);
    let _ = AttestationObject::parse(bytes);
    let _ = CredentialPublicKey::from_cose(bytes);
    let _ = CredentialPublicKey::from_spki_der(bytes);
    let f = &fixtures()[0];
    let _ = verify_registration(
        bytes,
        &f.registration.client_data_json,
        &reg_expect(&challenge(1)),
    );
    let _ = verify_registration(
        &f.registration.attestation_object,
        bytes,
        &reg_expect(&challenge(1)),
    );
    for f in fixtures() {
        let a = &f.assertion;
        let _ = run_assertion(f, bytes, &a.client_data_json, &a.signature);
        let _ = run_assertion(f, &a.authenticator_data, bytes, &a.signature);
        let _ = run_assertion(f, &a.authenticator_data, &a.client_data_json, bytes);
    }
}

/// Bytes that look like CBOR often enough to reach deep into the reader.
fn cborish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            any::<u8>(),
            prop::sample::select(vec![
                0x00u8, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x40, 0x58, 0x5f, 0x60, 0x78, 0x80,
                0x81, 0x9f, 0xa0, 0xa1, 0xa5, 0xbf, 0xc0, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xff,
            ]),
        ],
        0..256,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        feed_everything(&bytes);
    }

    #[test]
    fn cbor_like_bytes_never_panic(bytes in cborish()) {
        feed_everything(&bytes);
    }

    #[test]
    fn mutated_valid_inputs_never_panic(
        which in 0usize..5,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        for f in fixtures() {
            let mut bytes = match which {
                0 => f.registration.attestation_object.clone(),
                1 => f.registration.auth_data.clone(),
                2 => f.cose_key.clone(),
                3 => f.spki.clone(),
                _ => f.assertion.authenticator_data.clone(),
            };
            for (i, b) in &edits {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            feed_everything(&bytes);
        }
    }

    #[test]
    fn truncations_are_refused(cut in any::<prop::sample::Index>()) {
        for f in fixtures() {
            let reg = &f.registration;
            let n = cut.index(reg.attestation_object.len());
            prop_assert!(AttestationObject::parse(&reg.attestation_object[..n]).is_err());
            prop_assert!(verify_registration(
                &reg.attestation_object[..n], &reg.client_data_json, &reg_expect(&challenge(1))
            ).is_err());
            let n = cut.index(reg.auth_data.len());
            prop_assert!(AuthenticatorData::parse(&reg.auth_data[..n]).is_err());
            let n = cut.index(f.cose_key.len());
            prop_assert!(CredentialPublicKey::from_cose(&f.cose_key[..n]).is_err());

            let a = &f.assertion;
            let n = cut.index(a.authenticator_data.len());
            prop_assert!(!run_assertion(f, &a.authenticator_data[..n], &a.client_data_json, &a.signature));
            let n = cut.index(a.client_data_json.len());
            prop_assert!(!run_assertion(f, &a.authenticator_data, &a.client_data_json[..n], &a.signature));
            let n = cut.index(a.signature.len());
            prop_assert!(!run_assertion(f, &a.authenticator_data, &a.client_data_json, &a.signature[..n]));
        }
    }

    #[test]
    fn any_flipped_byte_is_rejected(
        field in 0usize..3,
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        for f in fixtures() {
            let a = &f.assertion;
            let (mut ad, mut cdj, mut sig) =
                (a.authenticator_data.clone(), a.client_data_json.clone(), a.signature.clone());
            let target = match field {
                0 => &mut ad,
                1 => &mut cdj,
                _ => &mut sig,
            };
            let i = at.index(target.len());
            target[i] ^= mask;
            prop_assert!(!run_assertion(f, &ad, &cdj, &sig), "field {field} byte {i} mask {mask:#x}");
        }
    }
}

#[test]
fn every_single_byte_flip_is_rejected_exhaustively() {
    // Every position and one mask per position: a deterministic complement to the proptest.
    for f in fixtures() {
        let a = &f.assertion;
        for field in 0..3 {
            let len = [
                a.authenticator_data.len(),
                a.client_data_json.len(),
                a.signature.len(),
            ][field];
            for i in 0..len {
                let (mut ad, mut cdj, mut sig) = (
                    a.authenticator_data.clone(),
                    a.client_data_json.clone(),
                    a.signature.clone(),
                );
                let target = [&mut ad, &mut cdj, &mut sig]
                    .into_iter()
                    .nth(field)
                    .unwrap();
                target[i] ^= 0x01;
                assert!(!run_assertion(f, &ad, &cdj, &sig), "field {field} byte {i}");
            }
        }
    }
}
