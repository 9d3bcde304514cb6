//! VAPID (RFC 8292) claim rules, key handling and the Authorization header.
#![allow(clippy::unwrap_used, reason = "test code")]

use kms_core::b64;
use kms_core::jws::{self, JwsAlg};
use kms_core::secret::Secret32;
use kms_core::vapid::{
    DEFAULT_VALIDITY_SECS, MAX_VALIDITY_SECS, VapidClaims, VapidError, VapidKey,
    parse_application_server_key,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

const NOW: u64 = 1_760_000_000;

fn key() -> VapidKey {
    VapidKey::generate(&mut StdRng::seed_from_u64(11))
}

fn claims(aud: &str, sub: Option<&str>, exp: Option<u64>) -> VapidClaims {
    VapidClaims {
        aud: aud.into(),
        sub: sub.map(Into::into),
        exp,
    }
}

#[test]
fn authorization_header_and_token_shape() {
    let k = key();
    let auth = k
        .authorization(
            &claims(
                "https://push.example.net",
                Some("mailto:a@example.com"),
                None,
            ),
            NOW,
        )
        .unwrap();
    assert_eq!(
        auth.header,
        format!("vapid t={}, k={}", auth.token, k.application_server_key())
    );
    assert_eq!(auth.expires_at, NOW + DEFAULT_VALIDITY_SECS);
    let (header, body) = jws::verify_compact(&auth.token, &k.public_key()).unwrap();
    assert_eq!(
        (header.alg, header.typ.as_deref(), header.kid),
        (JwsAlg::Es256, Some("JWT"), None)
    );
    assert_eq!(
        body,
        json!({"aud": "https://push.example.net", "exp": NOW + DEFAULT_VALIDITY_SECS, "sub": "mailto:a@example.com"})
    );
    // The header segment is exactly {"typ":"JWT","alg":"ES256"}.
    let first = auth.token.split('.').next().unwrap();
    assert_eq!(
        b64::decode(first).unwrap(),
        br#"{"typ":"JWT","alg":"ES256"}"#
    );
}

#[test]
fn application_server_key_is_65_byte_uncompressed_point() {
    let k = key();
    let bytes = b64::decode(&k.application_server_key()).unwrap();
    assert_eq!(bytes.len(), 65);
    assert_eq!(bytes[0], 0x04);
    assert_eq!(
        parse_application_server_key(&k.application_server_key()).unwrap(),
        k.public_key()
    );
}

#[test]
fn sub_is_optional_and_left_out() {
    let k = key();
    let auth = k
        .authorization(&claims("https://push.example.net", None, None), NOW)
        .unwrap();
    let (_, body) = jws::verify_compact(&auth.token, &k.public_key()).unwrap();
    assert!(body.get("sub").is_none());
}

#[test]
fn audience_is_normalized() {
    let k = key();
    let auth = k
        .authorization(&claims("HTTPS://FCM.GoogleApis.com:443", None, None), NOW)
        .unwrap();
    let (_, body) = jws::verify_compact(&auth.token, &k.public_key()).unwrap();
    assert_eq!(body["aud"], "https://fcm.googleapis.com");
}

#[test]
fn audience_violations_are_typed() {
    let k = key();
    let err = |aud: &str| k.authorization(&claims(aud, None, None), NOW).unwrap_err();
    assert!(matches!(
        err("http://push.example.net"),
        VapidError::AudienceScheme { .. }
    ));
    assert!(matches!(
        err("wss://push.example.net"),
        VapidError::AudienceScheme { .. }
    ));
    assert!(matches!(
        err("https://me@push.example.net"),
        VapidError::AudienceUserinfo { .. }
    ));
    assert!(matches!(
        err("https://push.example.net/wpush/v2/abc"),
        VapidError::AudiencePath { .. }
    ));
    assert!(matches!(
        err("https://push.example.net?x=1"),
        VapidError::AudiencePath { .. }
    ));
    assert!(matches!(
        err("https://push.example.net#x"),
        VapidError::AudiencePath { .. }
    ));
    assert!(matches!(
        err("https://push example.net"),
        VapidError::AudienceHost { .. }
    ));
    assert!(matches!(
        err("https://-push.example.net"),
        VapidError::AudienceHost { .. }
    ));
    assert!(matches!(
        err("https://push.example.net:"),
        VapidError::AudiencePort { .. }
    ));
    assert!(matches!(
        err("https://push.example.net:https"),
        VapidError::AudiencePort { .. }
    ));
    let e = err("http://push.example.net");
    assert_eq!(
        e.to_string(),
        "aud scheme: expected \"https://\", got \"http://push.example.net\""
    );
}

#[test]
fn expiry_rules() {
    let k = key();
    let aud = "https://push.example.net";
    // Exactly 24 h is the limit (RFC 8292 §2); one second more is refused.
    assert_eq!(
        k.authorization(&claims(aud, None, Some(NOW + MAX_VALIDITY_SECS)), NOW)
            .unwrap()
            .expires_at,
        NOW + MAX_VALIDITY_SECS
    );
    assert_eq!(
        k.authorization(&claims(aud, None, Some(NOW + MAX_VALIDITY_SECS + 1)), NOW)
            .unwrap_err(),
        VapidError::ExpiryTooFar {
            max: NOW + MAX_VALIDITY_SECS,
            got: NOW + MAX_VALIDITY_SECS + 1
        }
    );
    assert_eq!(
        k.authorization(&claims(aud, None, Some(NOW)), NOW)
            .unwrap_err(),
        VapidError::ExpiryNotInFuture { now: NOW, got: NOW }
    );
    assert_eq!(
        k.authorization(&claims(aud, None, Some(NOW - 5)), NOW)
            .unwrap_err(),
        VapidError::ExpiryNotInFuture {
            now: NOW,
            got: NOW - 5
        }
    );
    assert_eq!(
        k.authorization(&claims(aud, None, None), u64::MAX - 10)
            .unwrap_err(),
        VapidError::TimeOverflow { now: u64::MAX - 10 }
    );
    let e = k
        .authorization(&claims(aud, None, Some(NOW + 90_000)), NOW)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "exp: expected at most {} (now + 24 h), got {}",
            NOW + 86_400,
            NOW + 90_000
        )
    );
}

#[test]
fn subject_rules() {
    let k = key();
    let aud = "https://push.example.net";
    for ok in ["mailto:webpush@example.com", "https://example.com/contact"] {
        assert!(
            k.authorization(&claims(aud, Some(ok), None), NOW).is_ok(),
            "{ok}"
        );
    }
    for bad in [
        "webpush@example.com",
        "http://example.com",
        "mailto:",
        "tel:+15550100",
        "",
    ] {
        assert!(
            matches!(
                k.authorization(&claims(aud, Some(bad), None), NOW),
                Err(VapidError::InvalidSubject { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn key_round_trips_through_secret_and_refuses_bad_scalars() {
    let k = key();
    let again = VapidKey::from_secret(&k.secret()).unwrap();
    assert_eq!(again.application_server_key(), k.application_server_key());
    for bad in [[0u8; 32], [0xFF; 32]] {
        assert!(matches!(
            VapidKey::from_secret(&Secret32::from_bytes(bad)),
            Err(VapidError::InvalidKey(_))
        ));
    }
    assert!(matches!(
        parse_application_server_key("BA"),
        Err(VapidError::InvalidKey(_))
    ));
    assert!(matches!(
        parse_application_server_key(&b64::encode([4u8; 65])),
        Err(VapidError::InvalidKey(_))
    ));
}

#[test]
fn signatures_are_deterministic_for_the_same_input() {
    // RFC 6979 nonces: same key, same claims, same token.
    let k = key();
    let c = claims("https://push.example.net", None, Some(NOW + 60));
    assert_eq!(
        k.authorization(&c, NOW).unwrap().token,
        k.authorization(&c, NOW).unwrap().token
    );
}
