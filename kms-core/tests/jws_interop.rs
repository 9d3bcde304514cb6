//! jwt-simple, an independent JWT implementation, verifies what we sign, reads our JWKs and
//! agrees with our RFC 7638 thumbprints.
#![allow(clippy::unwrap_used, reason = "test code")]

use jwt_simple::prelude::*;
use kms_core::jwk::{Jwk, thumbprint};
use kms_core::jws::{JwsAlg, JwsPublicKey, JwsSigner};
use kms_core::relay_token::{self, RelayTokenRequest};
use kms_core::vapid::{VapidClaims, VapidKey};
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: u64 = 1_760_000_000;

#[derive(Debug, Serialize, Deserialize)]
struct Scope {
    scope: Option<Vec<String>>,
}

fn options(iss: Option<&str>, aud: &str) -> VerificationOptions {
    VerificationOptions {
        allowed_issuers: iss.map(|i| HashSet::from_strings(&[i])),
        allowed_audiences: Some(HashSet::from_strings(&[aud])),
        artificial_time: Some(UnixTimeStamp::from_secs(NOW + 10)),
        time_tolerance: Some(Duration::from_secs(0)),
        required_signature_type: Some("JWT".into()),
        ..VerificationOptions::default()
    }
}

fn es256_from_jwk(key: &JwsPublicKey) -> ES256PublicKey {
    ES256PublicKey::from_jwk(&serde_json::to_string(&Jwk::from_public_key(key)).unwrap()).unwrap()
}

fn ed25519_from_jwk(key: &JwsPublicKey) -> Ed25519PublicKey {
    Ed25519PublicKey::from_jwk(&serde_json::to_string(&Jwk::from_public_key(key)).unwrap()).unwrap()
}

#[test]
fn jwt_simple_verifies_vapid_es256() {
    let key = VapidKey::generate(&mut StdRng::seed_from_u64(1));
    let auth = key
        .authorization(
            &VapidClaims {
                aud: "https://Push.Example.NET:443".into(),
                sub: Some("mailto:ops@example.com".into()),
                exp: None,
            },
            NOW,
        )
        .unwrap();
    // Imported from the raw applicationServerKey bytes...
    let raw = kms_core::b64::decode(&key.application_server_key()).unwrap();
    let theirs = ES256PublicKey::from_bytes(&raw).unwrap();
    let claims = theirs
        .verify_token::<NoCustomClaims>(
            &auth.token,
            Some(options(None, "https://push.example.net")),
        )
        .unwrap();
    assert_eq!(claims.subject.as_deref(), Some("mailto:ops@example.com"));
    assert_eq!(
        claims.expires_at,
        Some(UnixTimeStamp::from_secs(NOW + 12 * 3600))
    );
    assert_eq!(auth.expires_at, NOW + 12 * 3600);
    // ...and from our JWK, with the same result.
    assert!(
        es256_from_jwk(&key.public_key())
            .verify_token::<NoCustomClaims>(
                &auth.token,
                Some(options(None, "https://push.example.net"))
            )
            .is_ok()
    );
    // Past exp, jwt-simple refuses it too.
    let mut late = options(None, "https://push.example.net");
    late.artificial_time = Some(UnixTimeStamp::from_secs(NOW + 12 * 3600 + 1));
    assert!(
        theirs
            .verify_token::<NoCustomClaims>(&auth.token, Some(late))
            .is_err()
    );
}

fn relay_request() -> RelayTokenRequest {
    RelayTokenRequest {
        iss: "kms-enclave".into(),
        aud: "https://relay.example.org".into(),
        ttl_secs: Some(600),
        scope: Some(vec!["push:send".into(), "mailbox/read".into()]),
    }
}

#[test]
fn jwt_simple_verifies_relay_token_eddsa() {
    let mut rng = StdRng::seed_from_u64(2);
    let signer = JwsSigner::generate(JwsAlg::EdDsa, &mut rng);
    let kid = thumbprint(&signer.public_key());
    let issued = relay_token::issue(&signer, &kid, &relay_request(), NOW, &mut rng).unwrap();
    let mut opts = options(Some("kms-enclave"), "https://relay.example.org");
    opts.required_key_id = Some(kid.clone());
    let claims = ed25519_from_jwk(&signer.public_key())
        .verify_token::<Scope>(&issued.token, Some(opts))
        .unwrap();
    assert_eq!(claims.expires_at, Some(UnixTimeStamp::from_secs(NOW + 600)));
    assert_eq!(claims.issued_at, Some(UnixTimeStamp::from_secs(NOW)));
    assert_eq!(claims.invalid_before, Some(UnixTimeStamp::from_secs(NOW)));
    assert_eq!(claims.jwt_id.as_deref(), Some(issued.claims.jti.as_str()));
    assert_eq!(
        claims.custom.scope,
        Some(vec!["push:send".to_string(), "mailbox/read".to_string()])
    );
    // Raw key import agrees.
    let raw = Ed25519PublicKey::from_bytes(&signer.public_key().to_bytes()).unwrap();
    assert!(
        raw.verify_token::<Scope>(
            &issued.token,
            Some(options(Some("kms-enclave"), "https://relay.example.org"))
        )
        .is_ok()
    );
    // The wrong audience is refused by jwt-simple as well.
    assert!(
        raw.verify_token::<Scope>(
            &issued.token,
            Some(options(Some("kms-enclave"), "https://other.example"))
        )
        .is_err()
    );
}

#[test]
fn jwt_simple_verifies_relay_token_es256() {
    let mut rng = StdRng::seed_from_u64(3);
    let signer = JwsSigner::generate(JwsAlg::Es256, &mut rng);
    let issued =
        relay_token::issue(&signer, "relay-es256", &relay_request(), NOW, &mut rng).unwrap();
    let mut opts = options(Some("kms-enclave"), "https://relay.example.org");
    opts.required_key_id = Some("relay-es256".into());
    let claims = es256_from_jwk(&signer.public_key())
        .verify_token::<Scope>(&issued.token, Some(opts))
        .unwrap();
    assert_eq!(claims.issuer.as_deref(), Some("kms-enclave"));
    assert_eq!(claims.expires_at, Some(UnixTimeStamp::from_secs(NOW + 600)));
}

#[test]
fn thumbprints_and_jwks_agree_with_jwt_simple() {
    let mut rng = StdRng::seed_from_u64(4);
    for _ in 0..8 {
        let es = JwsSigner::generate(JwsAlg::Es256, &mut rng).public_key();
        let ed = JwsSigner::generate(JwsAlg::EdDsa, &mut rng).public_key();
        assert_eq!(thumbprint(&es), es256_from_jwk(&es).jwk_thumbprint());
        assert_eq!(thumbprint(&ed), ed25519_from_jwk(&ed).jwk_thumbprint());
        // Their JWKs parse as ours and give back the same key.
        let es_theirs: Jwk = serde_json::from_str(&es256_from_jwk(&es).to_jwk()).unwrap();
        assert_eq!(es_theirs.to_public_key().unwrap(), es);
        let ed_theirs: Jwk = serde_json::from_str(&ed25519_from_jwk(&ed).to_jwk()).unwrap();
        assert_eq!(ed_theirs.to_public_key().unwrap(), ed);
    }
}

#[test]
fn tokens_signed_by_jwt_simple_verify_with_our_verifier() {
    let theirs = Ed25519KeyPair::generate();
    let token = theirs
        .sign(Claims::create(Duration::from_secs(60)).with_issuer("them"))
        .unwrap();
    let key = JwsPublicKey::from_bytes(JwsAlg::EdDsa, &theirs.public_key().to_bytes()).unwrap();
    let (header, claims) = kms_core::jws::verify_compact(&token, &key).unwrap();
    assert_eq!(header.alg, JwsAlg::EdDsa);
    assert_eq!(claims["iss"], "them");

    let theirs = ES256KeyPair::generate();
    let token = theirs
        .sign(Claims::create(Duration::from_secs(60)).with_issuer("them"))
        .unwrap();
    let key = JwsPublicKey::from_bytes(
        JwsAlg::Es256,
        &theirs.public_key().public_key().to_bytes_uncompressed(),
    )
    .unwrap();
    let (header, claims) = kms_core::jws::verify_compact(&token, &key).unwrap();
    assert_eq!(header.alg, JwsAlg::Es256);
    assert_eq!(claims["iss"], "them");
}
