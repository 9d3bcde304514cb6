//! Audit log throughput: appending entries and verifying a log against a checkpoint.
#![allow(
    clippy::unwrap_used,
    reason = "benchmark setup on fixed inputs; a failure should abort the run"
)]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use kms_core::audit::{
    Checkpoint, Entry, Head, Outcome, export_jsonl_with_checkpoint, import_jsonl, verify,
    verify_chain,
};

const N: u64 = 10_000;

fn build(n: u64) -> (Vec<Entry>, Head) {
    let mut head = Head::genesis();
    let mut entries = Vec::new();
    for i in 0..n {
        let (e, h) = head
            .append(
                1_700_000_000_000 + i,
                "https://app.example",
                "key.sign",
                Some("key-0001"),
                Outcome::Ok,
            )
            .unwrap();
        entries.push(e);
        head = h;
    }
    (entries, head)
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let vk = key.verifying_key();
    let (entries, head) = build(N);
    let checkpoint = Checkpoint::sign(&head, &key);
    let jsonl = export_jsonl_with_checkpoint(&entries, &checkpoint);

    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(N));
    g.sample_size(20);
    g.bench_function("append_10k", |b| b.iter(|| black_box(build(black_box(N)))));
    g.bench_function("verify_10k_with_checkpoint", |b| {
        b.iter(|| verify(black_box(&entries), black_box(&checkpoint), &vk).unwrap())
    });
    g.bench_function("verify_chain_10k", |b| {
        b.iter(|| verify_chain(black_box(&entries)).unwrap())
    });
    g.bench_function("import_jsonl_10k", |b| {
        b.iter(|| import_jsonl(black_box(&jsonl)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
