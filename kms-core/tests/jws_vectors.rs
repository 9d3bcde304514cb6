//! Published test vectors: RFC 8292 §2.4 (VAPID), RFC 7515 Appendix A.3 (ES256) and
//! RFC 8037 Appendix A (Ed25519 JWK, thumbprint and JWS).
#![allow(clippy::unwrap_used, reason = "test code")]

use kms_core::b64;
use kms_core::jwk::{Jwk, thumbprint};
use kms_core::jws::{self, Header, JwsAlg, JwsError, JwsPublicKey, JwsSigner};
use kms_core::secret::Secret32;
use kms_core::vapid;
use serde_json::json;

/// RFC 8292 §2.4: the example JWT (header, claims, signature).
const RFC8292_JWT: &str = concat!(
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9",
    ".eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0",
    ".i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA",
);
/// RFC 8292 §2.4 / §3.2: the example public key (`k`), an uncompressed P-256 point.
const RFC8292_K: &str =
    "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs";

/// RFC 7515 Appendix A.3: ES256 key and compact JWS.
const RFC7515_A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
const RFC7515_A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const RFC7515_A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const RFC7515_A3_JWS: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9",
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
);

/// RFC 8037 Appendix A.1-A.4: Ed25519 key, thumbprint and JWS over "Example of Ed25519 signing".
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
const RFC8037_PAYLOAD: &[u8] = b"Example of Ed25519 signing";
const RFC8037_JWS: &str = concat!(
    "eyJhbGciOiJFZERTQSJ9",
    ".RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
);

fn secret(b64url: &str) -> Secret32 {
    Secret32::from_bytes(b64::decode_array(b64url).unwrap())
}

#[test]
fn rfc8292_example_jwt_verifies_with_example_key() {
    let key = vapid::parse_application_server_key(RFC8292_K).unwrap();
    let (header, claims) = jws::verify_compact(RFC8292_JWT, &key).unwrap();
    assert_eq!(header.alg, JwsAlg::Es256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(
        claims,
        json!({"aud": "https://push.example.net", "exp": 1_453_523_768, "sub": "mailto:push@example.com"})
    );
}

#[test]
fn rfc8292_example_fails_with_another_key_or_changed_claim() {
    let other = JwsSigner::generate(JwsAlg::Es256, &mut rand::rng()).public_key();
    assert_eq!(
        jws::verify_compact(RFC8292_JWT, &other).unwrap_err(),
        JwsError::BadSignature
    );
    let key = vapid::parse_application_server_key(RFC8292_K).unwrap();
    let mut parts: Vec<&str> = RFC8292_JWT.split('.').collect();
    let forged = b64::encode(
        br#"{"aud":"https://push.example.net","exp":1453523769,"sub":"mailto:push@example.com"}"#,
    );
    parts[1] = &forged;
    assert_eq!(
        jws::verify_compact(&parts.join("."), &key).unwrap_err(),
        JwsError::BadSignature
    );
}

#[test]
fn rfc8292_signing_input_is_reproduced_byte_for_byte() {
    // Our header and claim serialization give exactly the RFC's first two segments; only the
    // signature (a different key) differs.
    let key = vapid::VapidKey::generate(&mut rand::rng());
    let auth = key
        .authorization(
            &vapid::VapidClaims {
                aud: "https://push.example.net".into(),
                sub: Some("mailto:push@example.com".into()),
                exp: Some(1_453_523_768),
            },
            1_453_523_768 - 3600,
        )
        .unwrap();
    let (ours, _) = auth.token.rsplit_once('.').unwrap();
    let (theirs, _) = RFC8292_JWT.rsplit_once('.').unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn rfc8292_example_key_is_a_valid_application_server_key() {
    let key = vapid::parse_application_server_key(RFC8292_K).unwrap();
    assert_eq!(b64::encode(key.to_bytes()), RFC8292_K);
    // The compressed form or a truncated point is refused.
    let bytes = b64::decode(RFC8292_K).unwrap();
    assert!(vapid::parse_application_server_key(&b64::encode(&bytes[..33])).is_err());
}

#[test]
fn rfc7515_a3_es256_jws_verifies() {
    let jwk: Jwk = serde_json::from_value(
        json!({"kty": "EC", "crv": "P-256", "x": RFC7515_A3_X, "y": RFC7515_A3_Y}),
    )
    .unwrap();
    let key = jwk.to_public_key().unwrap();
    let (header, claims) = jws::verify_compact(RFC7515_A3_JWS, &key).unwrap();
    assert_eq!(header.alg, JwsAlg::Es256);
    assert_eq!(
        claims,
        json!({"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true})
    );
}

#[test]
fn rfc7515_a3_private_key_gives_the_published_public_key() {
    let signer = JwsSigner::from_secret(JwsAlg::Es256, &secret(RFC7515_A3_D)).unwrap();
    let jwk = Jwk::from_public_key(&signer.public_key());
    assert_eq!(jwk.x, RFC7515_A3_X);
    assert_eq!(jwk.y.as_deref(), Some(RFC7515_A3_Y));
    assert_eq!(signer.secret(), secret(RFC7515_A3_D));
}

#[test]
fn rfc8037_a4_ed25519_jws_is_reproduced_exactly() {
    let signer = JwsSigner::from_secret(JwsAlg::EdDsa, &secret(RFC8037_D)).unwrap();
    let token = signer
        .sign_compact_bytes(&Header::new(JwsAlg::EdDsa), RFC8037_PAYLOAD)
        .unwrap();
    assert_eq!(token, RFC8037_JWS);
}

#[test]
fn rfc8037_a5_ed25519_jws_verifies() {
    let key = JwsPublicKey::from_bytes(JwsAlg::EdDsa, &b64::decode(RFC8037_X).unwrap()).unwrap();
    let (header, payload) = jws::verify_compact_bytes(RFC8037_JWS, &key).unwrap();
    assert_eq!(header.alg, JwsAlg::EdDsa);
    assert_eq!(payload, RFC8037_PAYLOAD);
}

#[test]
fn rfc8037_a3_thumbprint() {
    let signer = JwsSigner::from_secret(JwsAlg::EdDsa, &secret(RFC8037_D)).unwrap();
    assert_eq!(Jwk::from_public_key(&signer.public_key()).x, RFC8037_X);
    assert_eq!(thumbprint(&signer.public_key()), RFC8037_THUMBPRINT);
}
