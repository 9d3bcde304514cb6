//! Signing throughput: VAPID authorizations, relay tokens, and the raw signatures under them.
#![allow(clippy::unwrap_used, reason = "benchmark setup")]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kms_core::jws::{self, Header, JwsAlg, JwsSigner};
use kms_core::relay_token::{self, RelayTokenRequest};
use kms_core::vapid::{VapidClaims, VapidKey};
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: u64 = 1_760_000_000;

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let message = [0x42u8; 256];

    let vapid = VapidKey::generate(&mut rng);
    let claims = VapidClaims {
        aud: "https://fcm.googleapis.com".into(),
        sub: Some("mailto:ops@example.com".into()),
        exp: None,
    };
    c.bench_function("vapid_authorization_es256", |b| {
        b.iter(|| vapid.authorization(black_box(&claims), NOW).unwrap());
    });

    let ed = JwsSigner::generate(JwsAlg::EdDsa, &mut rng);
    let request = RelayTokenRequest {
        iss: "kms-enclave".into(),
        aud: "https://relay.example.org".into(),
        ttl_secs: None,
        scope: Some(vec!["push:send".into()]),
    };
    c.bench_function("relay_token_issue_eddsa", |b| {
        b.iter(|| relay_token::issue(&ed, "k1", black_box(&request), NOW, &mut rng).unwrap());
    });

    let es = JwsSigner::generate(JwsAlg::Es256, &mut rng);
    c.bench_function("sign_raw_es256_256b", |b| {
        b.iter(|| es.sign_raw(black_box(&message)));
    });
    c.bench_function("sign_raw_eddsa_256b", |b| {
        b.iter(|| ed.sign_raw(black_box(&message)));
    });

    let es_token = es
        .sign_compact(&Header::new(JwsAlg::Es256), &serde_json::json!({"a": 1}))
        .unwrap();
    let ed_token = ed
        .sign_compact(&Header::new(JwsAlg::EdDsa), &serde_json::json!({"a": 1}))
        .unwrap();
    let (es_pub, ed_pub) = (es.public_key(), ed.public_key());
    c.bench_function("verify_compact_es256", |b| {
        b.iter(|| jws::verify_compact(black_box(&es_token), &es_pub).unwrap());
    });
    c.bench_function("verify_compact_eddsa", |b| {
        b.iter(|| jws::verify_compact(black_box(&ed_token), &ed_pub).unwrap());
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
