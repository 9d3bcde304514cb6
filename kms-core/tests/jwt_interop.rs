//! VAPID and relay tokens checked by an independent implementation (jwt-simple) and the
//! RFC 8292 §2.4 example checked by ours.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::HashSet;

use jwt_simple::prelude::*;
use kms_core::jws::{self, JwsAlg, PublicKey, SigningKey};
use kms_core::relay_token::{RelayTokenRequest, issue};
use kms_core::vapid::{VapidClaims, VapidKey};
use kms_core::{Clock, SystemClock};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// RFC 8292 §2.4, the example token and its key.
const RFC8292_JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA";
const RFC8292_KEY: &str =
    "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs";

#[test]
fn rfc8292_section_2_4_example_verifies() {
    let key = PublicKey::from_bytes(
        JwsAlg::ES256,
        &kms_core::hazmat::b64::decode(RFC8292_KEY).unwrap(),
    )
    .unwrap();
    let (header, claims) = jws::verify_compact(RFC8292_JWT, &key).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["aud"], "https://push.example.net");
    assert_eq!(claims["exp"], 1_453_523_768);
    assert_eq!(claims["sub"], "mailto:push@example.com");
    let mut forged = RFC8292_JWT.to_owned();
    forged.replace_range(40..41, "X");
    assert!(jws::verify_compact(&forged, &key).is_err());
}

#[test]
fn jwt_simple_verifies_our_vapid_tokens() {
    let key = VapidKey::generate(&mut StdRng::seed_from_u64(1));
    let auth = key
        .authorization(
            &VapidClaims {
                aud: "https://push.example.net".into(),
                sub: Some("mailto:ops@app.example".into()),
                exp: None,
            },
            SystemClock.now_secs(),
        )
        .unwrap();
    let pk = ES256PublicKey::from_bytes(&key.public_key()).unwrap();
    let opts = VerificationOptions {
        allowed_audiences: Some(HashSet::from(["https://push.example.net".to_owned()])),
        ..Default::default()
    };
    let claims = pk
        .verify_token::<NoCustomClaims>(&auth.token, Some(opts))
        .unwrap();
    assert_eq!(claims.subject.as_deref(), Some("mailto:ops@app.example"));
    // The header's k= is the same key.
    assert!(
        auth.header
            .ends_with(&format!("k={}", key.application_server_key()))
    );
    // A different key does not verify it.
    let other = VapidKey::generate(&mut StdRng::seed_from_u64(2));
    assert!(
        ES256PublicKey::from_bytes(&other.public_key())
            .unwrap()
            .verify_token::<NoCustomClaims>(&auth.token, None)
            .is_err()
    );
}

fn relay_request() -> RelayTokenRequest {
    RelayTokenRequest {
        iss: "https://app.example".into(),
        aud: "relay.example".into(),
        scope: Some(vec!["prekeys:upload".into()]),
        ttl_secs: Some(120),
    }
}

#[test]
fn jwt_simple_verifies_our_relay_tokens_both_algorithms() {
    let mut rng = StdRng::seed_from_u64(3);
    let now = SystemClock.now_secs();
    for alg in [JwsAlg::ES256, JwsAlg::EdDSA] {
        let key = SigningKey::generate(alg, &mut rng);
        let issued = issue(&key, "kid-7", &relay_request(), now, &mut rng).unwrap();
        let opts = VerificationOptions {
            allowed_issuers: Some(HashSet::from(["https://app.example".to_owned()])),
            allowed_audiences: Some(HashSet::from(["relay.example".to_owned()])),
            required_key_id: Some("kid-7".into()),
            ..Default::default()
        };
        let bytes = key.public_key().to_bytes();
        let claims = match alg {
            JwsAlg::ES256 => ES256PublicKey::from_bytes(&bytes)
                .unwrap()
                .verify_token::<serde_json::Value>(&issued.token, Some(opts)),
            JwsAlg::EdDSA => Ed25519PublicKey::from_bytes(&bytes)
                .unwrap()
                .verify_token::<serde_json::Value>(&issued.token, Some(opts)),
        }
        .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(claims.jwt_id.as_deref(), Some(issued.jti.as_str()));
        assert_eq!(claims.custom["scope"][0], "prekeys:upload");
        assert_eq!(claims.expires_at.map(|t| t.as_secs()), Some(now + 120));
    }
}
