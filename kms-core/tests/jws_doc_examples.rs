//! The examples in `docs/formats/jws.md` are real: the VAPID header is reproduced byte for byte
//! and the relay token verifies against the JWK Set shown next to it.
#![allow(clippy::unwrap_used, reason = "test code")]

use kms_core::jwk::{Jwk, Jwks};
use kms_core::jws::{JwsAlg, JwsSigner};
use kms_core::relay_token::{self, RelayTokenExpectation};
use kms_core::secret::Secret32;
use kms_core::vapid::{VapidClaims, VapidKey};

const DOC: &str = include_str!("../../docs/formats/jws.md");
const NOW: u64 = 1_760_000_000;

fn line_starting(prefix: &str) -> &'static str {
    DOC.lines().find(|l| l.starts_with(prefix)).unwrap()
}

/// The `n`-th fenced block of the given language.
fn json_block(n: usize) -> &'static str {
    DOC.split("```json\n")
        .nth(n + 1)
        .unwrap()
        .split("```")
        .next()
        .unwrap()
}

#[test]
fn vapid_example_is_reproduced() {
    let mut scalar = [0u8; 32];
    for (i, b) in scalar.iter_mut().enumerate() {
        *b = u8::try_from(i + 1).unwrap();
    }
    let key = VapidKey::from_secret(&Secret32::from_bytes(scalar)).unwrap();
    let auth = key
        .authorization(
            &VapidClaims {
                aud: "https://push.example.net".into(),
                sub: Some("mailto:ops@example.com".into()),
                exp: None,
            },
            NOW,
        )
        .unwrap();
    assert_eq!(
        format!("Authorization: {}", auth.header),
        line_starting("Authorization: vapid t=eyJ")
    );
    let jwk: Jwk = serde_json::from_str(json_block(1).trim()).unwrap();
    assert_eq!(jwk.to_public_key().unwrap(), key.public_key());
}

#[test]
fn relay_example_verifies_with_documented_jwks() {
    let token = line_starting("eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIs");
    let jwks: Jwks = serde_json::from_str(json_block(0)).unwrap();
    let signer = JwsSigner::from_secret(JwsAlg::EdDsa, &Secret32::from_bytes([0x11; 32])).unwrap();
    assert_eq!(
        jwks,
        relay_token::jwks([(jwks.keys[0].kid.as_deref().unwrap(), &signer.public_key())])
    );
    let claims = relay_token::verify(
        token,
        &jwks,
        &RelayTokenExpectation {
            iss: "kms-enclave",
            aud: "https://relay.example.org",
            leeway_secs: 0,
        },
        NOW + 1,
    )
    .unwrap();
    assert_eq!(claims.exp, NOW + 300);
    assert_eq!(claims.scope, Some(vec!["push:send".to_string()]));
}
