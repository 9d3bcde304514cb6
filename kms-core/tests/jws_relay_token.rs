//! Relay authorization tokens: issuing rules, JWKS export and verification.
#![allow(clippy::unwrap_used, reason = "test code")]

use kms_core::b64;
use kms_core::jwk::thumbprint;
use kms_core::jws::{self, Header, JwsAlg, JwsError, JwsSigner};
use kms_core::relay_token::{
    self, DEFAULT_TTL_SECS, MAX_SCOPES, MAX_TTL_SECS, RelayClaims, RelayTokenError,
    RelayTokenExpectation, RelayTokenRequest,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

const NOW: u64 = 1_760_000_000;
const EXPECT: RelayTokenExpectation<'static> = RelayTokenExpectation {
    iss: "kms",
    aud: "relay",
    leeway_secs: 30,
};

fn request() -> RelayTokenRequest {
    RelayTokenRequest {
        iss: "kms".into(),
        aud: "relay".into(),
        ttl_secs: None,
        scope: None,
    }
}

fn setup(alg: JwsAlg) -> (JwsSigner, String, StdRng) {
    let mut rng = StdRng::seed_from_u64(21);
    let signer = JwsSigner::generate(alg, &mut rng);
    let kid = thumbprint(&signer.public_key());
    (signer, kid, rng)
}

#[test]
fn issued_tokens_have_the_documented_shape() {
    for alg in [JwsAlg::Es256, JwsAlg::EdDsa] {
        let (signer, kid, mut rng) = setup(alg);
        let req = RelayTokenRequest {
            scope: Some(vec!["push:send".into()]),
            ..request()
        };
        let issued = relay_token::issue(&signer, &kid, &req, NOW, &mut rng).unwrap();
        let (header, body) = jws::verify_compact(&issued.token, &signer.public_key()).unwrap();
        assert_eq!(header.alg, alg);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        assert_eq!(
            body,
            json!({
                "iss": "kms", "aud": "relay", "iat": NOW, "nbf": NOW,
                "exp": NOW + DEFAULT_TTL_SECS, "jti": issued.claims.jti, "scope": ["push:send"],
            })
        );
        assert_eq!(b64::decode(&issued.claims.jti).unwrap().len(), 16);
        let keys = relay_token::jwks([(kid.as_str(), &signer.public_key())]);
        assert_eq!(
            relay_token::verify(&issued.token, &keys, &EXPECT, NOW + 1).unwrap(),
            issued.claims
        );
    }
}

#[test]
fn jti_is_fresh_per_token() {
    let (signer, kid, mut rng) = setup(JwsAlg::EdDsa);
    let a = relay_token::issue(&signer, &kid, &request(), NOW, &mut rng).unwrap();
    let b = relay_token::issue(&signer, &kid, &request(), NOW, &mut rng).unwrap();
    assert_ne!(a.claims.jti, b.claims.jti);
    assert_ne!(a.token, b.token);
}

#[test]
fn issuing_rules() {
    let (signer, kid, mut rng) = setup(JwsAlg::EdDsa);
    let mut issue = |kid: &str, req: RelayTokenRequest| {
        relay_token::issue(&signer, kid, &req, NOW, &mut rng).map(|t| t.claims)
    };
    assert_eq!(
        issue(
            &kid,
            RelayTokenRequest {
                ttl_secs: Some(MAX_TTL_SECS),
                ..request()
            }
        )
        .unwrap()
        .exp,
        NOW + MAX_TTL_SECS
    );
    assert_eq!(
        issue(
            &kid,
            RelayTokenRequest {
                ttl_secs: Some(MAX_TTL_SECS + 1),
                ..request()
            }
        )
        .unwrap_err(),
        RelayTokenError::TtlTooLong {
            max: MAX_TTL_SECS,
            got: MAX_TTL_SECS + 1
        }
    );
    assert_eq!(
        issue(
            &kid,
            RelayTokenRequest {
                ttl_secs: Some(0),
                ..request()
            }
        )
        .unwrap_err(),
        RelayTokenError::TtlZero
    );
    for bad_kid in ["", "has space", "slash/", &"k".repeat(129)] {
        assert!(matches!(
            issue(bad_kid, request()),
            Err(RelayTokenError::InvalidKid { .. })
        ));
    }
    for bad in ["", "with space", "tab\t", "é"] {
        assert!(matches!(
            issue(
                &kid,
                RelayTokenRequest {
                    iss: bad.into(),
                    ..request()
                }
            ),
            Err(RelayTokenError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            issue(
                &kid,
                RelayTokenRequest {
                    aud: bad.into(),
                    ..request()
                }
            ),
            Err(RelayTokenError::InvalidAudience { .. })
        ));
    }
    let scope = |s: Vec<&str>| RelayTokenRequest {
        scope: Some(s.into_iter().map(Into::into).collect()),
        ..request()
    };
    assert_eq!(
        issue(&kid, scope(vec![])).unwrap_err(),
        RelayTokenError::EmptyScope
    );
    assert_eq!(
        issue(&kid, scope(vec!["a"; MAX_SCOPES + 1])).unwrap_err(),
        RelayTokenError::TooManyScopes {
            max: MAX_SCOPES,
            got: MAX_SCOPES + 1
        }
    );
    assert_eq!(
        issue(&kid, scope(vec!["a", "b", "a"])).unwrap_err(),
        RelayTokenError::DuplicateScope { got: "a".into() }
    );
    let long = "s".repeat(65);
    for bad in ["", "a b", "a\"b", "a,b", long.as_str()] {
        assert!(
            matches!(
                issue(&kid, scope(vec![bad])),
                Err(RelayTokenError::InvalidScope { .. })
            ),
            "{bad}"
        );
    }
    assert!(issue(&kid, scope(vec!["push:send", "mailbox/read", "a.b_c-d"])).is_ok());
    assert_eq!(
        relay_token::issue(&signer, &kid, &request(), u64::MAX - 1, &mut rng).unwrap_err(),
        RelayTokenError::TimeOverflow { now: u64::MAX - 1 }
    );
}

#[test]
fn verification_rules() {
    let (signer, kid, mut rng) = setup(JwsAlg::Es256);
    let keys = relay_token::jwks([(kid.as_str(), &signer.public_key())]);
    let token = relay_token::issue(&signer, &kid, &request(), NOW, &mut rng)
        .unwrap()
        .token;
    let verify =
        |t: &str, e: &RelayTokenExpectation<'_>, now| relay_token::verify(t, &keys, e, now);

    assert!(verify(&token, &EXPECT, NOW - 30).is_ok());
    assert_eq!(
        verify(&token, &EXPECT, NOW - 31).unwrap_err(),
        RelayTokenError::NotYetValid {
            latest: NOW - 1,
            got: NOW
        }
    );
    assert!(verify(&token, &EXPECT, NOW + DEFAULT_TTL_SECS + 29).is_ok());
    assert_eq!(
        verify(&token, &EXPECT, NOW + DEFAULT_TTL_SECS + 30).unwrap_err(),
        RelayTokenError::Expired {
            earliest: NOW + DEFAULT_TTL_SECS,
            got: NOW + DEFAULT_TTL_SECS
        }
    );
    assert!(matches!(
        verify(
            &token,
            &RelayTokenExpectation {
                iss: "other",
                ..EXPECT
            },
            NOW
        ),
        Err(RelayTokenError::IssuerMismatch { .. })
    ));
    assert!(matches!(
        verify(
            &token,
            &RelayTokenExpectation {
                aud: "other",
                ..EXPECT
            },
            NOW
        ),
        Err(RelayTokenError::AudienceMismatch { .. })
    ));
    let other_keys = relay_token::jwks([("someone-else", &signer.public_key())]);
    assert!(matches!(
        relay_token::verify(&token, &other_keys, &EXPECT, NOW),
        Err(RelayTokenError::UnknownKid { .. })
    ));
    // The right kid on a different key: the signature fails.
    let impostor = JwsSigner::generate(JwsAlg::Es256, &mut rng);
    let swapped = relay_token::jwks([(kid.as_str(), &impostor.public_key())]);
    assert_eq!(
        relay_token::verify(&token, &swapped, &EXPECT, NOW).unwrap_err(),
        RelayTokenError::Jws(JwsError::BadSignature)
    );
}

/// Tokens our issuer would never produce, signed by the right key, are still refused.
#[test]
fn hand_made_tokens_are_checked() {
    let (signer, kid, _) = setup(JwsAlg::EdDsa);
    let keys = relay_token::jwks([(kid.as_str(), &signer.public_key())]);
    let jti = b64::encode([1u8; 16]);
    let claims = |iat: u64, exp: u64, jti: &str| RelayClaims {
        iss: "kms".into(),
        aud: "relay".into(),
        iat,
        nbf: iat,
        exp,
        jti: jti.into(),
        scope: None,
    };
    let sign = |h: Header, c: &RelayClaims| signer.sign_compact(&h, c).unwrap();
    let h = || {
        Header::new(JwsAlg::EdDsa)
            .with_typ("JWT")
            .with_kid(kid.clone())
    };

    let ok = sign(h(), &claims(NOW, NOW + 60, &jti));
    assert!(relay_token::verify(&ok, &keys, &EXPECT, NOW).is_ok());
    assert_eq!(
        relay_token::verify(
            &sign(h(), &claims(NOW, NOW + MAX_TTL_SECS + 1, &jti)),
            &keys,
            &EXPECT,
            NOW
        )
        .unwrap_err(),
        RelayTokenError::LifetimeOutOfRange {
            max: MAX_TTL_SECS,
            iat: NOW,
            exp: NOW + MAX_TTL_SECS + 1
        }
    );
    assert!(matches!(
        relay_token::verify(
            &sign(h(), &claims(NOW, NOW + 60, "short")),
            &keys,
            &EXPECT,
            NOW
        ),
        Err(RelayTokenError::InvalidJti { .. })
    ));
    let no_typ = Header::new(JwsAlg::EdDsa).with_kid(kid.clone());
    assert_eq!(
        relay_token::verify(
            &sign(no_typ, &claims(NOW, NOW + 60, &jti)),
            &keys,
            &EXPECT,
            NOW
        )
        .unwrap_err(),
        RelayTokenError::TypMismatch { got: None }
    );
    let no_kid = Header::new(JwsAlg::EdDsa).with_typ("JWT");
    assert_eq!(
        relay_token::verify(
            &sign(no_kid, &claims(NOW, NOW + 60, &jti)),
            &keys,
            &EXPECT,
            NOW
        )
        .unwrap_err(),
        RelayTokenError::MissingKid
    );
    let missing_exp = signer
        .sign_compact(
            &h(),
            &json!({"iss": "kms", "aud": "relay", "iat": NOW, "nbf": NOW, "jti": jti}),
        )
        .unwrap();
    assert!(matches!(
        relay_token::verify(&missing_exp, &keys, &EXPECT, NOW),
        Err(RelayTokenError::InvalidClaims { .. })
    ));
}

#[test]
fn jwks_export_lists_each_key_for_signing() {
    let mut rng = StdRng::seed_from_u64(5);
    let es = JwsSigner::generate(JwsAlg::Es256, &mut rng).public_key();
    let ed = JwsSigner::generate(JwsAlg::EdDsa, &mut rng).public_key();
    let set = relay_token::jwks([("a", &es), ("b", &ed)]);
    let value = serde_json::to_value(&set).unwrap();
    assert_eq!(value["keys"][0]["kty"], "EC");
    assert_eq!(value["keys"][0]["alg"], "ES256");
    assert_eq!(value["keys"][0]["use"], "sig");
    assert_eq!(value["keys"][0]["kid"], "a");
    assert_eq!(value["keys"][1]["kty"], "OKP");
    assert_eq!(value["keys"][1]["crv"], "Ed25519");
    assert_eq!(value["keys"][1]["alg"], "EdDSA");
    assert!(value["keys"][1].get("y").is_none());
    assert_eq!(set.find("b").unwrap().to_public_key().unwrap(), ed);
}
