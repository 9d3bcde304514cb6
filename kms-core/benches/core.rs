//! Native benchmarks of the enclave's hot paths (browser figures come with the enclave).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmarks"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use kms_core::audit::{self, Checkpoint, Head, Outcome};
use kms_core::hazmat::kdf::{PBKDF2_ITERATIONS, pbkdf2_sha256};
use kms_core::jws::{JwsAlg, SigningKey};
use kms_core::signal::prekeys::OneTimePreKey;
use kms_core::vapid::{VapidClaims, VapidKey};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn unlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("unlock");
    g.sample_size(10);
    g.bench_function("pbkdf2_sha256_600k", |b| {
        b.iter(|| {
            pbkdf2_sha256(
                b"correct horse battery staple",
                b"0123456789abcdef",
                PBKDF2_ITERATIONS,
            )
        })
    });
    g.finish();
}

fn sign(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let vapid = VapidKey::generate(&mut rng);
    let claims = VapidClaims {
        aud: "https://push.example.net".into(),
        sub: Some("mailto:ops@app.example".into()),
        exp: None,
    };
    c.bench_function("vapid_authorization_es256", |b| {
        b.iter(|| vapid.authorization(&claims, 1_800_000_000).unwrap())
    });
    let ed = SigningKey::generate(JwsAlg::EdDSA, &mut rng);
    c.bench_function("eddsa_sign_64b", |b| b.iter(|| ed.sign(&[7u8; 64])));
    let es = SigningKey::generate(JwsAlg::ES256, &mut rng);
    c.bench_function("es256_sign_64b", |b| b.iter(|| es.sign(&[7u8; 64])));
}

fn prekeys(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    c.bench_function("one_time_prekeys_batch_100", |b| {
        b.iter(|| OneTimePreKey::generate_batch(1, 100, &mut rng).unwrap())
    });
}

fn audit_verify(c: &mut Criterion) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let mut head = Head::genesis();
    let mut entries = Vec::with_capacity(10_000);
    for i in 0..10_000u64 {
        let (e, h) = head
            .append(
                i,
                "https://app.example",
                "vapid.sign",
                Some("vapid/1"),
                Outcome::Ok,
            )
            .unwrap();
        entries.push(e);
        head = h;
    }
    let checkpoint = Checkpoint::sign(&head, &key);
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.bench_function("verify_10000", |b| {
        b.iter(|| audit::verify(&entries, &checkpoint, &key.verifying_key()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, unlock, sign, prekeys, audit_verify);
criterion_main!(benches);
