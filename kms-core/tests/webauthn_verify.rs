//! Registration and assertion verification against a software authenticator: happy paths
//! for ES256 and Ed25519, then one test per failed check.

#[path = "webauthn_support.rs"]
mod support;

use kms_core::hazmat::webauthn::{
    AttestationObject, AuthenticatorData, CollectedClientData, Credential, CredentialPublicKey,
    VerifiedAssertion, WebAuthnError, verify_assertion, verify_registration,
};
use support::*;

const ALGS: [Alg; 2] = [Alg::Es256, Alg::Ed25519];

fn check_assertion(
    cred: &Credential,
    a: &Assertion,
    ex: &kms_core::hazmat::webauthn::AssertionExpectations,
) -> Result<VerifiedAssertion, WebAuthnError> {
    verify_assertion(
        cred,
        &a.authenticator_data,
        &a.client_data_json,
        &a.signature,
        ex,
    )
}

// ----------------------------------------------------------------------------------------
// Happy paths.

#[test]
fn register_and_assert_both_algorithms() {
    for alg in ALGS {
        let mut auth = SoftAuthenticator::new(alg, 7);
        let ch = challenge(1);
        let reg = auth.register(&ch);
        let mut cred = verify_registration(
            &reg.attestation_object,
            &reg.client_data_json,
            &reg_expect(&ch),
        )
        .unwrap();
        assert_eq!(cred.id, auth.credential_id);
        assert_eq!(cred.rp_id, RP_ID);
        assert_eq!(cred.sign_count, 0);
        assert!(cred.user_verified_at_registration);
        assert!(cred.backup_eligible);
        assert_eq!(
            cred.public_key,
            CredentialPublicKey::from_spki_der(&auth.spki_der()).unwrap()
        );
        let expected_alg = match alg {
            Alg::Es256 => -7,
            Alg::Ed25519 => -8,
        };
        assert_eq!(cred.public_key.cose_algorithm(), expected_alg);

        for round in 0..3u8 {
            let ch = challenge(10 + round);
            let a = auth.assert(&ch);
            let v = check_assertion(&cred, &a, &assert_expect(&ch)).unwrap();
            assert_eq!(
                v,
                VerifiedAssertion {
                    sign_count: u32::from(round) + 1,
                    user_verified: true,
                    backup_state: false
                }
            );
            cred.record_assertion(&v);
        }
    }
}

#[test]
fn credential_serde_round_trip() {
    for alg in ALGS {
        let (_, cred) = registered(alg, 3);
        let json = serde_json::to_string(&cred).unwrap();
        assert!(
            json.contains(&format!(
                "\"id\":\"{}\"",
                kms_core::hazmat::b64::encode(&cred.id)
            )),
            "{json}"
        );
        let back: Credential = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cred);
    }
}

#[test]
fn stored_key_is_revalidated() {
    let (_, cred) = registered(Alg::Es256, 3);
    let mut v = serde_json::to_value(&cred).unwrap();
    // A point that is not on the curve.
    let mut bad = vec![4u8];
    bad.extend_from_slice(&[1u8; 64]);
    v["public_key"]["key"] = kms_core::hazmat::b64::encode(&bad).into();
    assert!(serde_json::from_value::<Credential>(v.clone()).is_err());
    v["public_key"]["alg"] = "RS256".into();
    assert!(serde_json::from_value::<Credential>(v).is_err());
}

#[test]
fn cross_origin_with_allowed_top_origin() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 4);
        let ch = challenge(2);
        let mut client = ClientData::new("webauthn.get", &ch);
        client.cross_origin = Some(true);
        client.top_origin = Some(TOP_ORIGIN.to_owned());
        let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
        check_assertion(&cred, &a, &assert_expect(&ch)).unwrap();

        // crossOrigin true without topOrigin (older browsers) is accepted when allowed.
        client.top_origin = None;
        let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
        check_assertion(&cred, &a, &assert_expect(&ch)).unwrap();
    }
}

#[test]
fn user_verification_optional_when_not_required() {
    let (mut auth, cred) = registered(Alg::Es256, 5);
    let ch = challenge(3);
    let a = auth.assert_raw(RP_ID, UP | BE, &ClientData::new("webauthn.get", &ch));
    let mut ex = assert_expect(&ch);
    ex.require_user_verification = false;
    let v = check_assertion(&cred, &a, &ex).unwrap();
    assert!(!v.user_verified);
}

#[test]
fn zero_counters_are_accepted() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 6);
        auth.counter_step = 0;
        for tag in 0..2 {
            let ch = challenge(tag);
            let a = auth.assert(&ch);
            assert_eq!(
                check_assertion(&cred, &a, &assert_expect(&ch))
                    .unwrap()
                    .sign_count,
                0
            );
        }
    }
}

#[test]
fn backup_state_is_reported() {
    let (mut auth, cred) = registered(Alg::Ed25519, 8);
    let ch = challenge(4);
    let a = auth.assert_raw(
        RP_ID,
        UP | UV | BE | BS,
        &ClientData::new("webauthn.get", &ch),
    );
    assert!(
        check_assertion(&cred, &a, &assert_expect(&ch))
            .unwrap()
            .backup_state
    );
}

#[test]
fn other_attestation_formats_are_accepted_unverified() {
    let mut auth = SoftAuthenticator::new(Alg::Es256, 9);
    let ch = challenge(5);
    let reg = auth.register(&ch);
    let stmt = map(&[(tstr("alg"), int(-7)), (tstr("sig"), bstr(&[0x30, 0x00]))]);
    let att = attestation_object("packed", &stmt, &reg.auth_data);
    assert_eq!(AttestationObject::parse(&att).unwrap().fmt, "packed");
    verify_registration(&att, &reg.client_data_json, &reg_expect(&ch)).unwrap();
}

#[test]
fn extensions_are_parsed() {
    let mut auth = SoftAuthenticator::new(Alg::Ed25519, 10);
    let ch = challenge(6);
    let cose = auth.cose_key();
    let ext = map(&[(tstr("credProtect"), int(2))]);
    let ad = auth_data(
        RP_ID,
        UP | UV | AT | ED,
        0,
        Some(&auth.attested_credential_data(&cose)),
        Some(&ext),
    );
    let parsed = AuthenticatorData::parse(&ad).unwrap();
    assert_eq!(parsed.extensions, Some(ext.as_slice()));
    let att = attestation_object("none", &map(&[]), &ad);
    let client = ClientData::new("webauthn.create", &ch).to_json();
    verify_registration(&att, &client, &reg_expect(&ch)).unwrap();
    let _ = &mut auth;
}

#[test]
fn es256_high_s_is_accepted() {
    let (auth, cred) = registered(Alg::Es256, 11);
    let ch = challenge(7);
    let ad = auth_data(RP_ID, UP | UV | BE, 1, None, None);
    let a = auth.sign_assertion(ad, ClientData::new("webauthn.get", &ch).to_json());
    let sig = p256::ecdsa::Signature::from_der(&a.signature).unwrap();
    let flipped =
        p256::ecdsa::Signature::from_scalars(sig.r().to_bytes(), (-sig.s()).to_bytes()).unwrap();
    let mut b = a.clone();
    b.signature = flipped.to_der().as_bytes().to_vec();
    assert_ne!(a.signature, b.signature);
    check_assertion(&cred, &a, &assert_expect(&ch)).unwrap();
    check_assertion(&cred, &b, &assert_expect(&ch)).unwrap();
}

// ----------------------------------------------------------------------------------------
// One test per failed check.

#[test]
fn wrong_type() {
    for alg in ALGS {
        let mut auth = SoftAuthenticator::new(alg, 20);
        let ch = challenge(1);
        let reg = auth.register_raw(RP_ID, UP | UV | BE, &ClientData::new("webauthn.get", &ch));
        let err = verify_registration(
            &reg.attestation_object,
            &reg.client_data_json,
            &reg_expect(&ch),
        )
        .unwrap_err();
        assert_eq!(
            err,
            WebAuthnError::WrongType {
                expected: "webauthn.create",
                got: "webauthn.get".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "clientData type: expected \"webauthn.create\", got \"webauthn.get\""
        );

        let (mut auth, cred) = registered(alg, 21);
        let a = auth.assert_raw(
            RP_ID,
            UP | UV | BE,
            &ClientData::new("webauthn.create", &ch),
        );
        assert!(matches!(
            check_assertion(&cred, &a, &assert_expect(&ch)),
            Err(WebAuthnError::WrongType {
                expected: "webauthn.get",
                ..
            })
        ));
    }
}

#[test]
fn wrong_challenge() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 22);
        let a = auth.assert(&challenge(1));
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&challenge(2))),
            Err(WebAuthnError::ChallengeMismatch)
        );
        // A challenge that is a prefix of the expected one.
        let a = auth.assert(&challenge(2)[..31]);
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&challenge(2))),
            Err(WebAuthnError::ChallengeMismatch)
        );

        let mut auth = SoftAuthenticator::new(alg, 23);
        let reg = auth.register(&challenge(3));
        assert_eq!(
            verify_registration(
                &reg.attestation_object,
                &reg.client_data_json,
                &reg_expect(&challenge(4))
            ),
            Err(WebAuthnError::ChallengeMismatch)
        );
    }
}

#[test]
fn challenge_not_base64url() {
    let (auth, cred) = registered(Alg::Es256, 24);
    let ch = challenge(1);
    let json = format!(
        "{{\"type\":\"webauthn.get\",\"challenge\":\"{}=\",\"origin\":\"{ORIGIN}\",\"crossOrigin\":false}}",
        kms_core::hazmat::b64::encode(&ch)
    );
    let a = auth.sign_assertion(
        auth_data(RP_ID, UP | UV | BE, 1, None, None),
        json.into_bytes(),
    );
    assert_eq!(
        check_assertion(&cred, &a, &assert_expect(&ch)),
        Err(WebAuthnError::ChallengeEncoding)
    );
}

#[test]
fn expected_challenge_too_short() {
    let (mut auth, cred) = registered(Alg::Es256, 25);
    let a = auth.assert(&[1; 8]);
    assert_eq!(
        check_assertion(&cred, &a, &assert_expect(&[1; 8])),
        Err(WebAuthnError::ChallengeTooShort { min: 16, got: 8 })
    );
}

#[test]
fn wrong_origin() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 26);
        let ch = challenge(1);
        let mut client = ClientData::new("webauthn.get", &ch);
        client.origin = "https://evil.example".into();
        let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
        let err = check_assertion(&cred, &a, &assert_expect(&ch)).unwrap_err();
        assert_eq!(
            err,
            WebAuthnError::OriginMismatch {
                expected: ORIGIN.into(),
                got: "https://evil.example".into()
            }
        );
        // Exact comparison: a trailing slash or a port is a different origin.
        for near in [
            "https://enclave.example/",
            "https://enclave.example:443",
            "http://enclave.example",
        ] {
            client.origin = near.into();
            let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
            assert!(matches!(
                check_assertion(&cred, &a, &assert_expect(&ch)),
                Err(WebAuthnError::OriginMismatch { .. })
            ));
        }
    }
}

#[test]
fn long_origin_is_clipped_in_error() {
    let (mut auth, cred) = registered(Alg::Es256, 27);
    let ch = challenge(1);
    let mut client = ClientData::new("webauthn.get", &ch);
    client.origin = format!("https://{}.example", "a".repeat(5000));
    let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
    let msg = check_assertion(&cred, &a, &assert_expect(&ch))
        .unwrap_err()
        .to_string();
    assert!(msg.len() < 300, "{}", msg.len());
}

#[test]
fn cross_origin_not_allowed() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 28);
        let ch = challenge(1);
        let mut client = ClientData::new("webauthn.get", &ch);
        client.cross_origin = Some(true);
        client.top_origin = Some(TOP_ORIGIN.into());
        let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
        let mut ex = assert_expect(&ch);
        ex.allow_cross_origin = false;
        assert_eq!(
            check_assertion(&cred, &a, &ex),
            Err(WebAuthnError::CrossOriginNotAllowed)
        );

        let mut auth = SoftAuthenticator::new(alg, 29);
        let mut client = ClientData::new("webauthn.create", &ch);
        client.cross_origin = Some(true);
        let reg = auth.register_raw(RP_ID, UP | UV, &client);
        let mut ex = reg_expect(&ch);
        ex.allow_cross_origin = false;
        assert_eq!(
            verify_registration(&reg.attestation_object, &reg.client_data_json, &ex),
            Err(WebAuthnError::CrossOriginNotAllowed)
        );
    }
}

#[test]
fn wrong_top_origin() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 30);
        let ch = challenge(1);
        let mut client = ClientData::new("webauthn.get", &ch);
        client.cross_origin = Some(true);
        client.top_origin = Some("https://phish.example".into());
        let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&ch)),
            Err(WebAuthnError::TopOriginNotAllowed {
                got: "https://phish.example".into()
            })
        );
        // With an empty allow-list, no top origin is accepted.
        client.top_origin = Some(TOP_ORIGIN.into());
        let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
        let mut ex = assert_expect(&ch);
        ex.allowed_top_origins.clear();
        assert!(matches!(
            check_assertion(&cred, &a, &ex),
            Err(WebAuthnError::TopOriginNotAllowed { .. })
        ));
    }
}

#[test]
fn top_origin_without_cross_origin() {
    let (mut auth, cred) = registered(Alg::Es256, 31);
    let ch = challenge(1);
    let mut client = ClientData::new("webauthn.get", &ch);
    client.top_origin = Some(TOP_ORIGIN.into());
    let a = auth.assert_raw(RP_ID, UP | UV | BE, &client);
    assert_eq!(
        check_assertion(&cred, &a, &assert_expect(&ch)),
        Err(WebAuthnError::TopOriginWithoutCrossOrigin)
    );
}

#[test]
fn wrong_rp_id_hash() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 32);
        let ch = challenge(1);
        let a = auth.assert_raw(
            "other.example",
            UP | UV | BE,
            &ClientData::new("webauthn.get", &ch),
        );
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&ch)),
            Err(WebAuthnError::RpIdHashMismatch)
        );

        let mut auth = SoftAuthenticator::new(alg, 33);
        let reg = auth.register_raw(
            "other.example",
            UP | UV,
            &ClientData::new("webauthn.create", &ch),
        );
        assert_eq!(
            verify_registration(
                &reg.attestation_object,
                &reg.client_data_json,
                &reg_expect(&ch)
            ),
            Err(WebAuthnError::RpIdHashMismatch)
        );
    }
}

#[test]
fn credential_rp_id_differs_from_expectations() {
    let (mut auth, cred) = registered(Alg::Es256, 34);
    let ch = challenge(1);
    let a = auth.assert(&ch);
    let mut ex = assert_expect(&ch);
    ex.rp_id = "other.example".into();
    assert!(matches!(
        check_assertion(&cred, &a, &ex),
        Err(WebAuthnError::RpIdMismatch { .. })
    ));
}

#[test]
fn user_presence_missing() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 35);
        let ch = challenge(1);
        let a = auth.assert_raw(RP_ID, UV | BE, &ClientData::new("webauthn.get", &ch));
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&ch)),
            Err(WebAuthnError::UserNotPresent)
        );

        let mut auth = SoftAuthenticator::new(alg, 36);
        let reg = auth.register_raw(RP_ID, UV, &ClientData::new("webauthn.create", &ch));
        assert_eq!(
            verify_registration(
                &reg.attestation_object,
                &reg.client_data_json,
                &reg_expect(&ch)
            ),
            Err(WebAuthnError::UserNotPresent)
        );
    }
}

#[test]
fn user_verification_required_but_missing() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 37);
        let ch = challenge(1);
        let a = auth.assert_raw(RP_ID, UP | BE, &ClientData::new("webauthn.get", &ch));
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&ch)),
            Err(WebAuthnError::UserNotVerified)
        );

        let mut auth = SoftAuthenticator::new(alg, 38);
        let reg = auth.register_raw(RP_ID, UP, &ClientData::new("webauthn.create", &ch));
        assert_eq!(
            verify_registration(
                &reg.attestation_object,
                &reg.client_data_json,
                &reg_expect(&ch)
            ),
            Err(WebAuthnError::UserNotVerified)
        );
    }
}

#[test]
fn backup_state_without_eligibility() {
    let mut auth = SoftAuthenticator::new(Alg::Es256, 39);
    let ch = challenge(1);
    let reg = auth.register_raw(
        RP_ID,
        UP | UV | BS,
        &ClientData::new("webauthn.create", &ch),
    );
    assert_eq!(
        verify_registration(
            &reg.attestation_object,
            &reg.client_data_json,
            &reg_expect(&ch)
        ),
        Err(WebAuthnError::BackupStateWithoutEligibility)
    );
}

#[test]
fn backup_eligibility_changed() {
    let (mut auth, cred) = registered(Alg::Ed25519, 40);
    let ch = challenge(1);
    let a = auth.assert_raw(RP_ID, UP | UV, &ClientData::new("webauthn.get", &ch));
    assert_eq!(
        check_assertion(&cred, &a, &assert_expect(&ch)),
        Err(WebAuthnError::BackupEligibilityChanged {
            stored: true,
            got: false
        })
    );
}

#[test]
fn attested_credential_data_missing_on_registration() {
    let mut auth = SoftAuthenticator::new(Alg::Es256, 41);
    let ch = challenge(1);
    let ad = auth_data(RP_ID, UP | UV, 0, None, None);
    let att = attestation_object("none", &map(&[]), &ad);
    let client = ClientData::new("webauthn.create", &ch).to_json();
    assert_eq!(
        verify_registration(&att, &client, &reg_expect(&ch)),
        Err(WebAuthnError::MissingAttestedCredentialData)
    );
    let _ = &mut auth;
}

#[test]
fn attested_credential_data_on_assertion() {
    let (auth, cred) = registered(Alg::Es256, 42);
    let ch = challenge(1);
    let cose = auth.cose_key();
    let ad = auth_data(
        RP_ID,
        UP | UV | BE | AT,
        1,
        Some(&auth.attested_credential_data(&cose)),
        None,
    );
    let a = auth.sign_assertion(ad, ClientData::new("webauthn.get", &ch).to_json());
    assert_eq!(
        check_assertion(&cred, &a, &assert_expect(&ch)),
        Err(WebAuthnError::UnexpectedAttestedCredentialData)
    );
}

#[test]
fn bad_signature() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 43);
        let ch = challenge(1);
        // Signed by a different key.
        let other = SoftAuthenticator::new(alg, 44);
        let a = auth.assert(&ch);
        let forged = other.sign_assertion(a.authenticator_data.clone(), a.client_data_json.clone());
        assert_eq!(
            check_assertion(&cred, &forged, &assert_expect(&ch)),
            Err(WebAuthnError::BadSignature)
        );
        // Signature over the raw client data instead of its hash.
        let mut msg = a.authenticator_data.clone();
        msg.extend_from_slice(&a.client_data_json);
        let mut wrong = a.clone();
        wrong.signature = auth.sign(&msg);
        assert_eq!(
            check_assertion(&cred, &wrong, &assert_expect(&ch)),
            Err(WebAuthnError::BadSignature)
        );
        // The original still verifies.
        check_assertion(&cred, &a, &assert_expect(&ch)).unwrap();
        let _ = &mut auth;
    }
}

#[test]
fn signature_encoding() {
    let (mut auth, cred) = registered(Alg::Es256, 45);
    let ch = challenge(1);
    let a = auth.assert(&ch);
    // Raw r‖s instead of DER.
    let sig = p256::ecdsa::Signature::from_der(&a.signature).unwrap();
    let mut raw = a.clone();
    raw.signature = sig.to_bytes().to_vec();
    assert!(matches!(
        check_assertion(&cred, &raw, &assert_expect(&ch)),
        Err(WebAuthnError::SignatureEncoding(_))
    ));
    // Non-minimal DER: the sequence length in long form.
    let mut long = a.clone();
    let body = a.signature[2..].to_vec();
    long.signature = vec![0x30, 0x81, body.len() as u8];
    long.signature.extend_from_slice(&body);
    assert!(matches!(
        check_assertion(&cred, &long, &assert_expect(&ch)),
        Err(WebAuthnError::SignatureEncoding(_))
    ));
    // A trailing byte.
    let mut trailing = a.clone();
    trailing.signature.push(0);
    assert!(matches!(
        check_assertion(&cred, &trailing, &assert_expect(&ch)),
        Err(WebAuthnError::SignatureEncoding(_))
    ));

    let (mut auth, cred) = registered(Alg::Ed25519, 46);
    let mut a = auth.assert(&ch);
    a.signature.pop();
    assert!(matches!(
        check_assertion(&cred, &a, &assert_expect(&ch)),
        Err(WebAuthnError::SignatureEncoding(_))
    ));
}

#[test]
fn counter_regression() {
    for alg in ALGS {
        let (mut auth, mut cred) = registered(alg, 47);
        let ch = challenge(1);
        auth.sign_count = 9;
        let a = auth.assert(&ch); // counter 10
        let v = check_assertion(&cred, &a, &assert_expect(&ch)).unwrap();
        cred.record_assertion(&v);
        assert_eq!(cred.sign_count, 10);

        // Equal counter: a replay or a clone.
        let err = check_assertion(&cred, &a, &assert_expect(&ch)).unwrap_err();
        assert_eq!(
            err,
            WebAuthnError::CounterRegression {
                stored: 10,
                got: 10
            }
        );
        assert_eq!(
            err.to_string(),
            "signCount: expected greater than 10, got 10 (possible cloned authenticator)"
        );
        // Lower counter.
        auth.sign_count = 2;
        let a = auth.assert(&ch);
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&ch)),
            Err(WebAuthnError::CounterRegression { stored: 10, got: 3 })
        );
        // A counter that drops to zero after being non-zero.
        auth.sign_count = 0;
        auth.counter_step = 0;
        let a = auth.assert(&ch);
        assert_eq!(
            check_assertion(&cred, &a, &assert_expect(&ch)),
            Err(WebAuthnError::CounterRegression { stored: 10, got: 0 })
        );
    }
}

#[test]
fn unsupported_algorithm() {
    let mut auth = SoftAuthenticator::new(Alg::Es256, 48);
    let ch = challenge(1);
    let client = ClientData::new("webauthn.create", &ch).to_json();
    // RS256 (kty RSA) and ES384: well-formed COSE keys of algorithms not supported here.
    let rsa = map(&[
        (int(1), int(3)),
        (int(3), int(-257)),
        (int(-1), bstr(&[0xc5; 256])),
        (int(-2), bstr(&[1, 0, 1])),
    ]);
    let es384 = map(&[
        (int(1), int(2)),
        (int(3), int(-35)),
        (int(-1), int(2)),
        (int(-2), bstr(&[1; 48])),
        (int(-3), bstr(&[2; 48])),
    ]);
    let ed448 = map(&[
        (int(1), int(1)),
        (int(3), int(-8)),
        (int(-1), int(7)),
        (int(-2), bstr(&[1; 57])),
    ]);
    for (cose, want) in [
        (rsa, "COSE alg -257"),
        (es384, "COSE alg -35"),
        (ed448, "EdDSA on COSE curve 7"),
    ] {
        let ad = auth_data(
            RP_ID,
            UP | UV | AT,
            0,
            Some(&auth.attested_credential_data(&cose)),
            None,
        );
        let att = attestation_object("none", &map(&[]), &ad);
        assert_eq!(
            verify_registration(&att, &client, &reg_expect(&ch)),
            Err(WebAuthnError::Unsupported {
                algorithm: want.into()
            })
        );
    }
    let _ = &mut auth;
}

#[test]
fn unsupported_spki() {
    // An RSA SubjectPublicKeyInfo (rsaEncryption, tiny modulus: only the OID matters).
    let rsa_spki: &[u8] = &[
        0x30, 0x1c, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        0x05, 0x00, 0x03, 0x0b, 0x00, 0x30, 0x08, 0x02, 0x03, 0x01, 0x00, 0x01, 0x02, 0x01, 0x03,
    ];
    assert!(matches!(
        CredentialPublicKey::from_spki_der(rsa_spki),
        Err(WebAuthnError::Unsupported { .. })
    ));
    assert!(matches!(
        CredentialPublicKey::from_spki_der(&[0x30, 0x00]),
        Err(WebAuthnError::InvalidPublicKey(_))
    ));
    for alg in ALGS {
        let auth = SoftAuthenticator::new(alg, 49);
        let mut der = auth.spki_der();
        assert_eq!(
            CredentialPublicKey::from_spki_der(&der).unwrap(),
            CredentialPublicKey::from_cose(&auth.cose_key()).unwrap()
        );
        der.push(0);
        assert!(CredentialPublicKey::from_spki_der(&der).is_err());
    }
}

#[test]
fn invalid_cose_keys() {
    let auth = SoftAuthenticator::new(Alg::Es256, 50);
    let good = auth.cose_key();
    let parsed = CredentialPublicKey::from_cose(&good).unwrap();
    assert_eq!(parsed.cose_algorithm(), -7);
    // Off-curve point.
    let off = map(&[
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), bstr(&[1; 32])),
        (int(-3), bstr(&[1; 32])),
    ]);
    assert!(matches!(
        CredentialPublicKey::from_cose(&off),
        Err(WebAuthnError::InvalidPublicKey(_))
    ));
    // Compressed y (a bool) is not allowed in WebAuthn.
    let compressed = map(&[
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), bstr(&[1; 32])),
        (int(-3), vec![0xf5]),
    ]);
    assert!(matches!(
        CredentialPublicKey::from_cose(&compressed),
        Err(WebAuthnError::InvalidPublicKey(_))
    ));
    // kty that does not match alg; missing alg.
    let mismatched = map(&[(int(1), int(1)), (int(3), int(-7)), (int(-1), int(1))]);
    assert!(matches!(
        CredentialPublicKey::from_cose(&mismatched),
        Err(WebAuthnError::InvalidPublicKey(_))
    ));
    let no_alg = map(&[(int(1), int(2))]);
    assert!(matches!(
        CredentialPublicKey::from_cose(&no_alg),
        Err(WebAuthnError::InvalidPublicKey(_))
    ));
    // Small-order Ed25519 key (the identity point).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = map(&[
        (int(1), int(1)),
        (int(3), int(-8)),
        (int(-1), int(6)),
        (int(-2), bstr(&identity)),
    ]);
    assert!(matches!(
        CredentialPublicKey::from_cose(&weak),
        Err(WebAuthnError::InvalidPublicKey(_))
    ));
    // Trailing bytes after the COSE key.
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        CredentialPublicKey::from_cose(&trailing),
        Err(WebAuthnError::TrailingBytes { .. })
    ));
}

#[test]
fn truncated_auth_data() {
    for alg in ALGS {
        let (mut auth, cred) = registered(alg, 51);
        let ch = challenge(1);
        let a = auth.assert(&ch);
        let mut t = a.clone();
        t.authenticator_data.truncate(36);
        assert_eq!(
            check_assertion(&cred, &t, &assert_expect(&ch)),
            Err(WebAuthnError::AuthDataTooShort {
                expected: 37,
                got: 36
            })
        );
        assert!(AuthenticatorData::parse(&[]).is_err());

        // Registration authData cut anywhere is refused.
        let reg = auth.register(&ch);
        for len in 0..reg.auth_data.len() {
            assert!(
                AuthenticatorData::parse(&reg.auth_data[..len]).is_err(),
                "len {len}"
            );
            let att = attestation_object("none", &map(&[]), &reg.auth_data[..len]);
            assert!(verify_registration(&att, &reg.client_data_json, &reg_expect(&ch)).is_err());
        }
    }
}

#[test]
fn trailing_bytes_in_auth_data() {
    let (mut auth, cred) = registered(Alg::Es256, 52);
    let ch = challenge(1);
    let a = auth.assert(&ch);
    let mut ad = a.authenticator_data.clone();
    ad.push(0);
    let signed = auth.sign_assertion(ad, a.client_data_json.clone());
    assert_eq!(
        check_assertion(&cred, &signed, &assert_expect(&ch)),
        Err(WebAuthnError::TrailingBytes {
            what: "authenticatorData",
            count: 1
        })
    );
}

#[test]
fn trailing_cbor_bytes() {
    let mut auth = SoftAuthenticator::new(Alg::Ed25519, 53);
    let ch = challenge(1);
    let reg = auth.register(&ch);
    let mut att = reg.attestation_object.clone();
    att.push(0x00);
    assert_eq!(
        verify_registration(&att, &reg.client_data_json, &reg_expect(&ch)),
        Err(WebAuthnError::TrailingBytes {
            what: "attestationObject",
            count: 1
        })
    );
    // Bytes after the COSE key inside authData (without the ED flag) are refused too.
    let mut ad = reg.auth_data.clone();
    ad.extend_from_slice(&[0xa0]);
    let att = attestation_object("none", &map(&[]), &ad);
    assert_eq!(
        verify_registration(&att, &reg.client_data_json, &reg_expect(&ch)),
        Err(WebAuthnError::TrailingBytes {
            what: "authenticatorData",
            count: 1
        })
    );
}

#[test]
fn malformed_attestation_objects() {
    let mut auth = SoftAuthenticator::new(Alg::Es256, 54);
    let ch = challenge(1);
    let reg = auth.register(&ch);
    let client = reg.client_data_json.clone();
    let ex = reg_expect(&ch);
    // Indefinite-length map.
    let mut indefinite = vec![0xbf];
    indefinite.extend_from_slice(&reg.attestation_object[1..]);
    indefinite.push(0xff);
    assert!(matches!(
        verify_registration(&indefinite, &client, &ex),
        Err(WebAuthnError::MalformedCbor {
            what: "attestationObject",
            ..
        })
    ));
    // Missing authData.
    let missing = map(&[(tstr("fmt"), tstr("none")), (tstr("attStmt"), map(&[]))]);
    assert!(matches!(
        verify_registration(&missing, &client, &ex),
        Err(WebAuthnError::MalformedAttestationObject(_))
    ));
    // Duplicate fmt.
    let dup = map(&[
        (tstr("fmt"), tstr("none")),
        (tstr("fmt"), tstr("packed")),
        (tstr("attStmt"), map(&[])),
        (tstr("authData"), bstr(&reg.auth_data)),
    ]);
    assert!(matches!(
        verify_registration(&dup, &client, &ex),
        Err(WebAuthnError::MalformedCbor { .. })
    ));
    // "none" with a statement.
    let stmt = attestation_object("none", &map(&[(tstr("sig"), bstr(&[1]))]), &reg.auth_data);
    assert_eq!(
        verify_registration(&stmt, &client, &ex),
        Err(WebAuthnError::NoneAttestationWithStatement)
    );
    // A tagged authData.
    let mut tagged = map(&[(tstr("fmt"), tstr("none")), (tstr("attStmt"), map(&[]))]);
    tagged[0] = 0xa3;
    tagged.extend_from_slice(&tstr("authData"));
    tagged.push(0xd8);
    tagged.push(0x40);
    tagged.extend_from_slice(&bstr(&reg.auth_data));
    assert!(matches!(
        verify_registration(&tagged, &client, &ex),
        Err(WebAuthnError::MalformedCbor { .. })
    ));
}

#[test]
fn credential_id_too_long() {
    let mut auth = SoftAuthenticator::new(Alg::Es256, 55);
    auth.credential_id = vec![7; 1024];
    let ch = challenge(1);
    let reg = auth.register(&ch);
    assert_eq!(
        verify_registration(
            &reg.attestation_object,
            &reg.client_data_json,
            &reg_expect(&ch)
        ),
        Err(WebAuthnError::CredentialIdTooLong {
            max: 1023,
            got: 1024
        })
    );
    auth.credential_id = vec![7; 1023];
    let reg = auth.register(&ch);
    verify_registration(
        &reg.attestation_object,
        &reg.client_data_json,
        &reg_expect(&ch),
    )
    .unwrap();
}

#[test]
fn extensions_must_be_a_map() {
    let auth = SoftAuthenticator::new(Alg::Es256, 56);
    let ad = auth_data(RP_ID, UP | ED, 1, None, Some(&int(5)));
    assert_eq!(
        AuthenticatorData::parse(&ad),
        Err(WebAuthnError::MalformedExtensions)
    );
    let ad = auth_data(RP_ID, UP | ED, 1, None, None);
    assert!(matches!(
        AuthenticatorData::parse(&ad),
        Err(WebAuthnError::MalformedCbor {
            what: "extensions",
            ..
        })
    ));
    let _ = auth;
}

#[test]
fn malformed_client_data() {
    let ch = challenge(1);
    let good = ClientData::new("webauthn.get", &ch).to_json();
    assert!(CollectedClientData::parse(&good).is_ok());
    for bad in [
        &b"not json"[..],
        b"[]",
        b"{\"type\":\"webauthn.get\"}",
        b"{\"type\":\"webauthn.get\",\"type\":\"webauthn.get\",\"challenge\":\"AA\",\"origin\":\"x\"}",
        b"{\"type\":\"webauthn.get\",\"challenge\":\"AA\",\"origin\":\"x\",\"crossOrigin\":\"yes\"}",
    ] {
        assert!(
            matches!(CollectedClientData::parse(bad), Err(WebAuthnError::MalformedClientData { .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Unknown members are ignored, as browsers may add them.
    let extra = br#"{"type":"webauthn.get","challenge":"AA","origin":"x","other_keys_can_be_added_here":"do not compare clientDataJSON against a template. See https://goo.gl/yabPex"}"#;
    assert!(CollectedClientData::parse(extra).is_ok());
}
