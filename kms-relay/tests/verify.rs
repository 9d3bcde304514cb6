//! Relay-token verification: kms-core's tokens accepted; every rejection with its own reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use jwt_simple::prelude::*;
use kms_core::ManualClock;
use kms_core::jwk::{Jwk, Jwks};
use kms_core::jws::{JwsAlg, SigningKey};
use kms_core::relay_token::{self, RelayTokenRequest};
use kms_relay::jwks::{FileJwks, KeyStore, StaticJwks};
use kms_relay::verify::{Policy, Rejection, Verifier};
use rand::SeedableRng;
use rand::rngs::StdRng;

const ISS: &str = "https://app.example";
const AUD: &str = "relay.example";
const NOW: u64 = 1_800_000_000;

struct Owner {
    rng: StdRng,
    es: SigningKey,
    ed: SigningKey,
}

impl Owner {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let es = SigningKey::generate(JwsAlg::ES256, &mut rng);
        let ed = SigningKey::generate(JwsAlg::EdDSA, &mut rng);
        Self { rng, es, ed }
    }

    fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![
                Jwk::from_public_key(&self.es.public_key(), Some("es")),
                Jwk::from_public_key(&self.ed.public_key(), Some("ed")),
            ],
        }
    }

    fn token_with(&mut self, kid: &str, f: impl FnOnce(&mut RelayTokenRequest), at: u64) -> String {
        let mut req = RelayTokenRequest {
            iss: ISS.into(),
            aud: AUD.into(),
            scope: Some(vec!["prekeys:upload".into()]),
            ttl_secs: Some(300),
        };
        f(&mut req);
        let key = if kid == "es" { &self.es } else { &self.ed };
        relay_token::issue(key, kid, &req, at, &mut self.rng)
            .unwrap()
            .token
    }

    fn token(&mut self, kid: &str) -> String {
        self.token_with(kid, |_| {}, NOW)
    }
}

fn verifier(owner: &Owner, clock: &ManualClock) -> Verifier<ManualClock> {
    let keys = KeyStore::new(Box::new(StaticJwks(owner.jwks())), NOW).unwrap();
    Verifier::new(
        keys,
        Policy::new(ISS, AUD).with_scope("prekeys:upload"),
        clock.clone(),
    )
}

fn setup(seed: u64) -> (Owner, ManualClock, Verifier<ManualClock>) {
    let owner = Owner::new(seed);
    let clock = ManualClock::new(NOW * 1000);
    let v = verifier(&owner, &clock);
    (owner, clock, v)
}

#[test]
fn accepts_kms_core_tokens_of_both_algorithms() {
    let (mut owner, _clock, v) = setup(1);
    for kid in ["es", "ed"] {
        let token = owner.token(kid);
        let ok = v.verify(&token).unwrap();
        assert_eq!(ok.kid, kid);
        assert_eq!(ok.iss, ISS);
        assert_eq!(ok.exp, NOW + 300);
        assert_eq!(ok.scope, vec!["prekeys:upload".to_owned()]);
    }
}

#[test]
fn replayed_token_is_refused_within_its_lifetime() {
    let (mut owner, clock, v) = setup(2);
    let token = owner.token("ed");
    v.verify(&token).unwrap();
    assert_eq!(v.verify(&token).unwrap_err(), Rejection::Replayed);
    clock.advance_ms(200_000);
    assert_eq!(v.verify(&token).unwrap_err(), Rejection::Replayed);
    // After expiry it is refused as expired, not remembered forever.
    clock.advance_ms(200_000);
    assert_eq!(v.verify(&token).unwrap_err(), Rejection::Expired);
}

#[test]
fn time_claims_with_small_leeway() {
    let (mut owner, clock, v) = setup(3);
    // Expired 31 s ago (leeway 30 s).
    let t = owner.token_with("es", |_| {}, NOW - 331);
    assert_eq!(v.verify(&t).unwrap_err(), Rejection::Expired);
    // Expired 10 s ago: within the leeway.
    let t = owner.token_with("es", |_| {}, NOW - 310);
    assert!(v.verify(&t).is_ok());
    // Issued (and valid from) 2 minutes in the future.
    let t = owner.token_with("ed", |_| {}, NOW + 120);
    assert!(matches!(
        v.verify(&t).unwrap_err(),
        Rejection::NotYetValid | Rejection::IssuedInFuture
    ));
    clock.advance_ms(121_000);
    assert!(v.verify(&t).is_ok());
}

#[test]
fn leeway_is_capped_at_sixty_seconds() {
    let owner = Owner::new(4);
    let keys = KeyStore::new(Box::new(StaticJwks(owner.jwks())), NOW).unwrap();
    let mut policy = Policy::new(ISS, AUD);
    policy.leeway_secs = 3600;
    let v = Verifier::new(keys, policy, ManualClock::new(NOW * 1000));
    assert_eq!(v.policy().leeway_secs, 60);
}

#[test]
fn wrong_audience_issuer_scope_and_lifetime() {
    let (mut owner, _clock, v) = setup(5);
    let t = owner.token_with("ed", |r| r.aud = "other-relay".into(), NOW);
    assert_eq!(v.verify(&t).unwrap_err(), Rejection::WrongAudience);
    let t = owner.token_with("ed", |r| r.iss = "https://evil.example".into(), NOW);
    assert_eq!(v.verify(&t).unwrap_err(), Rejection::WrongIssuer);
    let t = owner.token_with("ed", |r| r.scope = Some(vec!["read".into()]), NOW);
    assert_eq!(
        v.verify(&t).unwrap_err(),
        Rejection::MissingScope("prekeys:upload".into())
    );
    let t = owner.token_with("ed", |r| r.scope = None, NOW);
    assert!(matches!(v.verify(&t), Err(Rejection::MissingScope(_))));

    let keys = KeyStore::new(Box::new(StaticJwks(owner.jwks())), NOW).unwrap();
    let mut p = Policy::new(ISS, AUD);
    p.max_lifetime_secs = 120;
    let short = Verifier::new(keys, p, ManualClock::new(NOW * 1000));
    let t = owner.token("ed");
    assert_eq!(
        short.verify(&t).unwrap_err(),
        Rejection::LifetimeTooLong { max: 120, got: 300 }
    );
}

#[test]
fn wrong_key_and_pinned_algorithms() {
    let (mut owner, _clock, v) = setup(6);
    // Same kid, another key: the signature fails.
    let mut stranger = Owner::new(60);
    let t = stranger.token("ed");
    assert_eq!(v.verify(&t).unwrap_err(), Rejection::BadSignature);
    let t = stranger.token("es");
    assert_eq!(v.verify(&t).unwrap_err(), Rejection::BadSignature);
    // An EdDSA token naming the ES256 key's kid.
    let ed_with_es_kid = relay_token::issue(
        &owner.ed,
        "es",
        &RelayTokenRequest {
            iss: ISS.into(),
            aud: AUD.into(),
            scope: Some(vec!["prekeys:upload".into()]),
            ttl_secs: None,
        },
        NOW,
        &mut owner.rng,
    )
    .unwrap();
    assert_eq!(
        v.verify(&ed_with_es_kid.token).unwrap_err(),
        Rejection::AlgorithmMismatch {
            expected: "ES256",
            got: "EdDSA".into()
        }
    );
}

fn b64(bytes: &[u8]) -> String {
    kms_core::hazmat::b64::encode(bytes)
}

/// Re-encodes a token's header, keeping claims and signature.
fn with_header(token: &str, header: &str) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    format!("{}.{}", b64(header.as_bytes()), parts.next().unwrap())
}

#[test]
fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let (mut owner, _clock, v) = setup(7);
    let token = owner.token("es");
    let claims = token.split('.').nth(1).unwrap();
    let none = format!(
        "{}.{claims}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"es"}"#)
    );
    assert_eq!(
        v.verify(&none).unwrap_err(),
        Rejection::UnsupportedAlgorithm("none".into())
    );
    // The classic confusion: HMAC keyed with the (public) verification key bytes.
    for (kid, pk) in [
        ("es", owner.es.public_key().to_bytes()),
        ("ed", owner.ed.public_key().to_bytes()),
    ] {
        let hs = HS256Key::from_bytes(&pk).with_key_id(kid);
        let claims = Claims::create(Duration::from_secs(300))
            .with_issuer(ISS)
            .with_audience(AUD)
            .with_jwt_id("x");
        let forged = hs.authenticate(claims).unwrap();
        assert_eq!(
            v.verify(&forged).unwrap_err(),
            Rejection::UnsupportedAlgorithm("HS256".into())
        );
    }
}

#[test]
fn header_problems_have_their_own_reasons() {
    let (mut owner, _clock, v) = setup(8);
    let token = owner.token("ed");
    assert_eq!(
        v.verify(&with_header(&token, r#"{"alg":"EdDSA","typ":"JWT"}"#))
            .unwrap_err(),
        Rejection::MissingKid
    );
    assert_eq!(
        v.verify(&with_header(
            &token,
            r#"{"alg":"EdDSA","typ":"JWT","kid":"zz"}"#
        ))
        .unwrap_err(),
        Rejection::UnknownKid("zz".into())
    );
    assert_eq!(
        v.verify(&with_header(
            &token,
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"ed"}"#
        ))
        .unwrap_err(),
        Rejection::WrongType(Some("at+jwt".into()))
    );
    // A changed header breaks the signature even when every field is acceptable.
    assert_eq!(
        v.verify(&with_header(
            &token,
            r#"{"alg":"EdDSA", "typ":"JWT", "kid":"ed"}"#
        ))
        .unwrap_err(),
        Rejection::BadSignature
    );
}

#[test]
fn oversized_and_malformed_tokens() {
    let (mut owner, _clock, v) = setup(9);
    let big = "a".repeat(5000);
    assert_eq!(
        v.verify(&big).unwrap_err(),
        Rejection::TooLarge {
            max: 4096,
            got: 5000
        }
    );
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.",
        "e30.e30.",
        "bm90IGpzb24.e30.e30",
    ] {
        assert!(
            matches!(
                v.verify(bad).unwrap_err(),
                Rejection::Malformed(_) | Rejection::UnsupportedAlgorithm(_)
            ),
            "{bad}"
        );
    }
    let token = owner.token("ed");
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = "bm90IGpzb24";
    assert!(matches!(
        v.verify(&parts.join(".")).unwrap_err(),
        Rejection::Malformed(_) | Rejection::BadSignature
    ));
    let truncated = &token[..token.len() - 10];
    assert_eq!(v.verify(truncated).unwrap_err(), Rejection::BadSignature);
}

#[test]
fn missing_jti_is_refused() {
    let owner = Owner::new(10);
    // Sign with jwt-simple directly: a token that has everything but a jti.
    let kp = Ed25519KeyPair::from_bytes(
        &[
            owner.ed.secret().expose().as_slice(),
            owner.ed.public_key().to_bytes().as_slice(),
        ]
        .concat(),
    )
    .unwrap()
    .with_key_id("ed");
    let claims = Claims::create(Duration::from_secs(300))
        .with_issuer(ISS)
        .with_audience(AUD);
    let token = kp.sign(claims).unwrap();
    let keys = KeyStore::new(Box::new(StaticJwks(owner.jwks())), NOW).unwrap();
    // jwt-simple stamps the real time; verify at the real time too.
    let clock = ManualClock::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let v = Verifier::new(keys, Policy::new(ISS, AUD), clock);
    assert_eq!(
        v.verify(&token).unwrap_err(),
        Rejection::MissingClaim("jti")
    );
}

#[test]
fn rotation_through_a_jwks_file() {
    let dir = std::env::temp_dir().join(format!("kms-relay-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    let mut old = Owner::new(11);
    let mut new = Owner::new(12);
    let mut first = old.jwks();
    first.keys.truncate(1); // "es" only
    std::fs::write(&path, serde_json::to_string(&first).unwrap()).unwrap();
    let keys = KeyStore::new(Box::new(FileJwks(path.clone())), NOW)
        .unwrap()
        .with_min_refresh_interval(0);
    let v = Verifier::new(keys, Policy::new(ISS, AUD), ManualClock::new(NOW * 1000));
    v.verify(&old.token("es")).unwrap();
    // The owner rotates: the new key under a new kid.
    let mut rotated = new.jwks();
    rotated.keys[1].kid = Some("ed-2".into());
    rotated.keys.truncate(2);
    std::fs::write(&path, serde_json::to_string(&rotated).unwrap()).unwrap();
    let fresh = relay_token::issue(
        &new.ed,
        "ed-2",
        &RelayTokenRequest {
            iss: ISS.into(),
            aud: AUD.into(),
            scope: None,
            ttl_secs: None,
        },
        NOW,
        &mut new.rng,
    )
    .unwrap();
    v.verify(&fresh.token).unwrap();
    // The old "es" kid now names the new owner's key: old tokens no longer verify.
    assert_eq!(
        v.verify(&old.token("es")).unwrap_err(),
        Rejection::BadSignature
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Refreshes over HTTP (`HttpJwks` is the `client` feature's).
#[cfg(feature = "client")]
mod over_http {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use kms_relay::jwks::HttpJwks;

    use super::*;

    fn with_header_kid(token: &str, kid: &str) -> String {
        with_header(
            token,
            &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{kid}"}}"#),
        )
    }

    /// A JWKS endpoint on loopback that counts fetches.
    fn jwks_server(body: Arc<std::sync::Mutex<String>>, hits: Arc<AtomicUsize>) -> String {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", server.server_addr().to_ip().unwrap());
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                hits.fetch_add(1, Ordering::SeqCst);
                // Slow enough that concurrent verifiers pile up behind the one refresh.
                std::thread::sleep(std::time::Duration::from_millis(200));
                let text = body.lock().unwrap().clone();
                let _ = req.respond(tiny_http::Response::from_string(text));
            }
        });
        url
    }

    #[test]
    fn unknown_kid_refreshes_once_single_flight_over_http() {
        let mut owner = Owner::new(13);
        let mut first = owner.jwks();
        first.keys.truncate(1); // only "es" at start
        let body = Arc::new(std::sync::Mutex::new(
            serde_json::to_string(&first).unwrap(),
        ));
        let hits = Arc::new(AtomicUsize::new(0));
        let url = jwks_server(body.clone(), hits.clone());
        let keys = KeyStore::new(Box::new(HttpJwks::new(url)), NOW - 3600).unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let v = Verifier::new(keys, Policy::new(ISS, AUD), ManualClock::new(NOW * 1000));
        // The owner publishes its second key; 16 verifiers see tokens with the new kid at once.
        *body.lock().unwrap() = serde_json::to_string(&owner.jwks()).unwrap();
        let tokens: Vec<String> = (0..16).map(|_| owner.token("ed")).collect();
        std::thread::scope(|s| {
            for t in &tokens {
                let v = &v;
                s.spawn(move || v.verify(t).unwrap());
            }
        });
        assert_eq!(hits.load(Ordering::SeqCst), 2, "one refresh for all 16");
        // Random unknown kids within the refresh interval do not reach the key source.
        for i in 0..5 {
            let t = with_header_kid(&owner.token("ed"), &format!("nope-{i}"));
            assert!(matches!(v.verify(&t), Err(Rejection::UnknownKid(_))));
        }
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
}
