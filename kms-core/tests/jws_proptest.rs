//! Property tests: JWK and JWS round trips over random keys and claims.
#![allow(clippy::unwrap_used, reason = "test code")]

use kms_core::jwk::{Jwk, thumbprint};
use kms_core::jws::{self, Header, JwsAlg, JwsError, JwsSigner};
use kms_core::secret::Secret32;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn alg() -> impl Strategy<Value = JwsAlg> {
    prop_oneof![Just(JwsAlg::Es256), Just(JwsAlg::EdDsa)]
}

/// A signer from arbitrary bytes; the rare invalid P-256 scalar is filtered out.
fn signer() -> impl Strategy<Value = JwsSigner> {
    (alg(), any::<[u8; 32]>()).prop_filter_map("invalid scalar", |(alg, bytes)| {
        JwsSigner::from_secret(alg, &Secret32::from_bytes(bytes)).ok()
    })
}

fn claims() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(2, 16, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Value::from)
    });
    prop::collection::btree_map("[a-z_]{1,8}", value, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn jwk_round_trips(signer in signer(), kid in proptest::option::of("[A-Za-z0-9_-]{1,16}")) {
        let key = signer.public_key();
        let mut jwk = Jwk::from_public_key(&key).for_signing();
        if let Some(kid) = &kid {
            jwk = jwk.with_kid(kid.clone());
        }
        let text = serde_json::to_string(&jwk).unwrap();
        let back: Jwk = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &jwk);
        prop_assert_eq!(back.to_public_key().unwrap(), key);
        prop_assert_eq!(back.thumbprint().unwrap(), thumbprint(&key));
        // kid, alg and use do not change the thumbprint (RFC 7638 §3.2: required members only).
        let mut bare = back;
        (bare.kid, bare.alg, bare.use_) = (None, None, None);
        prop_assert_eq!(bare.thumbprint().unwrap(), thumbprint(&key));
    }

    #[test]
    fn jwk_with_a_changed_coordinate_is_another_key_or_invalid(signer in signer(), byte in 0usize..32, bit in 0u8..8) {
        let key = signer.public_key();
        let jwk = Jwk::from_public_key(&key);
        let mut x = kms_core::b64::decode(&jwk.x).unwrap();
        x[byte] ^= 1 << bit;
        let mut changed = jwk;
        changed.x = kms_core::b64::encode(&x);
        if let Ok(other) = changed.to_public_key() {
            prop_assert_ne!(other, key);
        }
    }

    #[test]
    fn jws_round_trips(signer in signer(), claims in claims(), kid in proptest::option::of("[a-z0-9]{1,12}")) {
        let mut header = Header::new(signer.alg()).with_typ("JWT");
        if let Some(kid) = &kid {
            header = header.with_kid(kid.clone());
        }
        let token = signer.sign_compact(&header, &claims).unwrap();
        let (h, back) = jws::verify_compact(&token, &signer.public_key()).unwrap();
        prop_assert_eq!(h.alg, signer.alg());
        prop_assert_eq!(h.kid, kid);
        prop_assert_eq!(back, claims);
    }

    #[test]
    fn jws_any_changed_character_is_refused(signer in signer(), claims in claims(), pick in any::<prop::sample::Index>(), with in "[A-Za-z0-9_.-]") {
        let token = signer.sign_compact(&Header::new(signer.alg()), &claims).unwrap();
        let at = pick.index(token.len());
        let mut bytes = token.clone().into_bytes();
        let replacement = with.as_bytes()[0];
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let forged = String::from_utf8(bytes).unwrap();
        prop_assert!(jws::verify_compact(&forged, &signer.public_key()).is_err());
    }

    #[test]
    fn jws_never_verifies_under_another_key(a in signer(), b in signer(), claims in claims()) {
        prop_assume!(a.public_key() != b.public_key());
        let token = a.sign_compact(&Header::new(a.alg()), &claims).unwrap();
        let err = jws::verify_compact(&token, &b.public_key()).unwrap_err();
        let expected_kind = matches!(err, JwsError::BadSignature | JwsError::AlgMismatch { .. });
        prop_assert!(expected_kind, "{err:?}");
    }

    #[test]
    fn secret_round_trips(signer in signer()) {
        let again = JwsSigner::from_secret(signer.alg(), &signer.secret()).unwrap();
        prop_assert_eq!(again.public_key(), signer.public_key());
    }
}
