//! The verifier refuses everything but a well-formed token signed by the pinned key with the
//! key's own algorithm.
#![allow(clippy::unwrap_used, reason = "test code")]

use kms_core::b64;
use kms_core::jws::{self, Header, JwsAlg, JwsError, JwsSigner, MAX_COMPACT_LEN};
use kms_core::secret::Secret32;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

fn signer(alg: JwsAlg) -> JwsSigner {
    JwsSigner::generate(alg, &mut StdRng::seed_from_u64(7))
}

fn good(s: &JwsSigner) -> String {
    s.sign_compact(
        &Header::new(s.alg()).with_typ("JWT").with_kid("k1"),
        &json!({"iss": "a", "n": 1}),
    )
    .unwrap()
}

/// A token with an arbitrary header, signed correctly by `s` over what it says.
fn with_header(s: &JwsSigner, header: &str) -> String {
    let input = format!("{}.{}", b64::encode(header), b64::encode(br#"{"iss":"a"}"#));
    format!("{input}.{}", b64::encode(s.sign_raw(input.as_bytes())))
}

const BOTH: [JwsAlg; 2] = [JwsAlg::Es256, JwsAlg::EdDsa];

#[test]
fn good_tokens_verify() {
    for alg in BOTH {
        let s = signer(alg);
        let (h, claims) = jws::verify_compact(&good(&s), &s.public_key()).unwrap();
        assert_eq!(
            (h.alg, h.kid.as_deref(), h.typ.as_deref()),
            (alg, Some("k1"), Some("JWT"))
        );
        assert_eq!(claims, json!({"iss": "a", "n": 1}));
    }
}

#[test]
fn alg_none_is_refused() {
    for alg in BOTH {
        let s = signer(alg);
        let unsigned = format!(
            "{}.{}.",
            b64::encode(br#"{"alg":"none"}"#),
            b64::encode(br#"{"iss":"a"}"#)
        );
        assert!(matches!(
            jws::verify_compact(&unsigned, &s.public_key()),
            Err(JwsError::Malformed { .. })
        ));
        // Even with a signature segment present, `none` is refused by name.
        for none in ["none", "None", "NONE"] {
            let t = with_header(&s, &format!(r#"{{"alg":"{none}"}}"#));
            assert_eq!(
                jws::verify_compact(&t, &s.public_key()).unwrap_err(),
                JwsError::AlgNone
            );
        }
    }
}

#[test]
fn hs256_is_refused() {
    for alg in BOTH {
        let s = signer(alg);
        for hs in ["HS256", "HS384", "HS512"] {
            let t = with_header(&s, &format!(r#"{{"alg":"{hs}"}}"#));
            assert_eq!(
                jws::verify_compact(&t, &s.public_key()).unwrap_err(),
                JwsError::SymmetricAlg { got: hs.into() }
            );
        }
    }
}

#[test]
fn unknown_alg_is_refused() {
    let s = signer(JwsAlg::Es256);
    for other in ["RS256", "ES384", "es256", "Ed25519", ""] {
        let t = with_header(&s, &format!(r#"{{"alg":"{other}"}}"#));
        assert_eq!(
            jws::verify_compact(&t, &s.public_key()).unwrap_err(),
            JwsError::UnsupportedAlg { got: other.into() }
        );
    }
}

#[test]
fn alg_mismatch_is_refused() {
    let es = signer(JwsAlg::Es256);
    let ed = signer(JwsAlg::EdDsa);
    // An EdDSA token presented to an ES256 key and the reverse.
    assert_eq!(
        jws::verify_compact(&good(&ed), &es.public_key()).unwrap_err(),
        JwsError::AlgMismatch {
            expected: JwsAlg::Es256,
            got: JwsAlg::EdDsa
        }
    );
    assert_eq!(
        jws::verify_compact(&good(&es), &ed.public_key()).unwrap_err(),
        JwsError::AlgMismatch {
            expected: JwsAlg::EdDsa,
            got: JwsAlg::Es256
        }
    );
    // A header that lies about the algorithm of a valid signature.
    let t = with_header(&es, r#"{"alg":"EdDSA"}"#);
    assert!(matches!(
        jws::verify_compact(&t, &es.public_key()),
        Err(JwsError::AlgMismatch { .. })
    ));
}

#[test]
fn wrong_key_is_refused() {
    for alg in BOTH {
        let s = signer(alg);
        let other = JwsSigner::generate(alg, &mut StdRng::seed_from_u64(8));
        assert_eq!(
            jws::verify_compact(&good(&s), &other.public_key()).unwrap_err(),
            JwsError::BadSignature
        );
    }
}

/// Flips every bit of every decoded segment in turn and re-encodes: nothing verifies.
#[test]
fn bit_flips_in_any_segment_are_refused() {
    for alg in BOTH {
        let s = signer(alg);
        let token = good(&s);
        let parts: Vec<&str> = token.split('.').collect();
        for seg in 0..3 {
            let bytes = b64::decode(parts[seg]).unwrap();
            for bit in 0..bytes.len() * 8 {
                let mut flipped = bytes.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                let mut p = parts.clone();
                let enc = b64::encode(&flipped);
                p[seg] = &enc;
                let r = jws::verify_compact(&p.join("."), &s.public_key());
                assert!(r.is_err(), "{alg} segment {seg} bit {bit} verified");
            }
        }
    }
}

#[test]
fn flipped_signature_reports_bad_signature() {
    for alg in BOTH {
        let s = signer(alg);
        let token = good(&s);
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = b64::decode(sig).unwrap();
        sig[40] ^= 0x01;
        let t = format!("{input}.{}", b64::encode(&sig));
        assert_eq!(
            jws::verify_compact(&t, &s.public_key()).unwrap_err(),
            JwsError::BadSignature
        );
    }
}

#[test]
fn malformed_segments_are_refused() {
    let s = signer(JwsAlg::Es256);
    let token = good(&s);
    let (h, rest) = token.split_once('.').unwrap();
    let (p, sig) = rest.split_once('.').unwrap();
    let cases = [
        String::new(),
        "a".into(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{sig}."),
        format!("{h}.{p}.{sig}.x.y"),
        format!(".{p}.{sig}"),
        format!("{h}..{sig}"),
        format!("{h}.{p}.{sig}="),
        format!("{h}.{p}+.{sig}"),
        format!("{h} .{p}.{sig}"),
        format!("{}.{p}.{sig}", h.replace('e', "+")),
    ];
    for t in &cases {
        assert!(
            matches!(
                jws::verify_compact(t, &s.public_key()),
                Err(JwsError::Malformed { .. })
            ),
            "{t:?}"
        );
    }
    // Signatures of the wrong length or with out-of-range scalars.
    for sig_bytes in [
        vec![1u8; 63],
        vec![1u8; 65],
        vec![0u8; 64],
        vec![0xFFu8; 64],
    ] {
        let t = format!("{h}.{p}.{}", b64::encode(&sig_bytes));
        assert!(
            matches!(
                jws::verify_compact(&t, &s.public_key()),
                Err(JwsError::MalformedSignature { .. })
            ),
            "{sig_bytes:?}"
        );
    }
}

#[test]
fn malformed_headers_are_refused() {
    let s = signer(JwsAlg::Es256);
    for header in [
        "not json",
        "[]",
        r#""ES256""#,
        "{}",
        r#"{"alg":256}"#,
        r#"{"alg":"ES256","alg":"ES256"}"#,
        r#"{"alg":"ES256","kid":7}"#,
    ] {
        let t = with_header(&s, header);
        assert!(
            matches!(
                jws::verify_compact(&t, &s.public_key()),
                Err(JwsError::InvalidHeader { .. })
            ),
            "{header}"
        );
    }
    let t = with_header(&s, r#"{"alg":"ES256","crit":["exp"],"exp":1}"#);
    assert_eq!(
        jws::verify_compact(&t, &s.public_key()).unwrap_err(),
        JwsError::CriticalHeader
    );
}

#[test]
fn non_object_payloads_are_refused() {
    let s = signer(JwsAlg::EdDsa);
    let header = Header::new(JwsAlg::EdDsa);
    for payload in [&b"[1]"[..], b"1", b"\"x\"", b"not json", b"{\"a\":1"] {
        let t = s.sign_compact_bytes(&header, payload).unwrap();
        assert!(
            matches!(
                jws::verify_compact(&t, &s.public_key()),
                Err(JwsError::InvalidPayload { .. })
            ),
            "{payload:?}"
        );
        // The signature itself is fine: the raw-bytes verifier accepts it.
        assert!(jws::verify_compact_bytes(&t, &s.public_key()).is_ok());
    }
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let s = signer(JwsAlg::EdDsa);
    let big = json!({"pad": "x".repeat(MAX_COMPACT_LEN)});
    let t = s.sign_compact(&Header::new(JwsAlg::EdDsa), &big).unwrap();
    assert_eq!(
        jws::verify_compact(&t, &s.public_key()).unwrap_err(),
        JwsError::TooLarge {
            max: MAX_COMPACT_LEN,
            got: t.len()
        }
    );
    let junk = "A".repeat(MAX_COMPACT_LEN + 1);
    assert!(matches!(
        jws::verify_compact(&junk, &s.public_key()),
        Err(JwsError::TooLarge { .. })
    ));
    // Just under the cap still verifies.
    let fits = json!({"pad": "x".repeat(MAX_COMPACT_LEN / 2)});
    let t = s.sign_compact(&Header::new(JwsAlg::EdDsa), &fits).unwrap();
    assert!(t.len() <= MAX_COMPACT_LEN);
    assert!(jws::verify_compact(&t, &s.public_key()).is_ok());
}

#[test]
fn signer_debug_shows_no_secret() {
    let bytes = [0x5Au8; 32];
    for alg in BOTH {
        let s = JwsSigner::from_secret(alg, &Secret32::from_bytes(bytes)).unwrap();
        let debug = format!("{s:?}");
        let pretty = format!("{s:#?}");
        for d in [&debug, &pretty] {
            assert!(d.contains("<redacted>"), "{d}");
            assert!(!d.contains(&b64::encode(bytes)), "{d}");
            assert!(!d.to_lowercase().contains("5a5a"), "{d}");
            assert!(!d.contains("90, 90"), "{d}");
            assert!(!d.to_uppercase().contains("5A5A"), "{d}");
        }
        assert!(debug.contains(&b64::encode(s.public_key().to_bytes())));
        let v = kms_core::vapid::VapidKey::from_secret(&Secret32::from_bytes(bytes)).unwrap();
        let vd = format!("{v:?}");
        assert!(
            vd.contains("<redacted>") && !vd.contains(&b64::encode(bytes)),
            "{vd}"
        );
    }
}
