//! A walkthrough of the key service: what `cargo xtask demo` shows.
//!
//! Runs the same `Kms::handle` the browser enclave exposes, natively, over the in-memory
//! store, and prints each request and its (public) result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "example"
)]

use std::time::Instant;

use kms_core::MemoryStore;
use kms_core::Origin;
use kms_core::SystemClock;
use kms_core::rpc::Request;
use kms_core::rpc::policy::{Caller, Policy};
use kms_core::service::{
    AuditExportResponse, Kms, RelayKeyResponse, Response, SignalBundleResponse,
    SignalSignatureResponse,
};
use kms_core::signal::{bundle::PreKeyBundle, page_signature};

const APP: &str = "https://app.example";

fn main() {
    let mut kms = Kms::new(MemoryStore::new(), SystemClock, rand::rng());
    let mut step = 0;
    let mut run = |kms: &mut Kms<_, _, _>, json: &str| {
        step += 1;
        let mut shown = json
            .replace("correct horse battery staple", "••••")
            .replace("wrong passphrase", "••••");
        if shown.len() > 160 {
            shown = format!("{}...", shown.chars().take(157).collect::<String>());
        }
        let t = Instant::now();
        let request: Request = serde_json::from_str(json).expect("request");
        // Setup, unlocking and unlock methods come from the enclave's own UI; the rest
        // from the linked page.
        let origin = Origin::parse(APP).expect("origin");
        let (caller, who) = if request.policy() == Policy::Page {
            (Caller::Page(origin), "page")
        } else {
            (Caller::EnclaveUi(origin), "enclave UI")
        };
        let r = pollster::block_on(kms.handle(&caller, request));
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        match &r {
            Ok(resp) => {
                let mut text = serde_json::to_string(resp).unwrap();
                if text.len() > 160 {
                    text.truncate(157);
                    text.push_str("...");
                }
                println!("{step:>2}. [{who}] {shown}\n    -> ok ({ms:.1} ms) {text}");
            }
            Err(e) => println!(
                "{step:>2}. [{who}] {shown}\n    -> error ({ms:.1} ms) {}",
                serde_json::to_string(e).unwrap()
            ),
        }
        r
    };

    println!("kms-core walkthrough: one enclave, caller origin {APP}\n");
    run(
        &mut kms,
        r#"{"method":"setup","params":{"passphrase":"correct horse battery staple"}}"#,
    )
    .unwrap();
    run(&mut kms, r#"{"method":"lock"}"#).unwrap();
    run(&mut kms, r#"{"method":"vapid.publicKey"}"#).unwrap_err();
    run(
        &mut kms,
        r#"{"method":"unlock.passphrase","params":{"passphrase":"wrong passphrase"}}"#,
    )
    .unwrap_err();
    run(
        &mut kms,
        r#"{"method":"unlock.passphrase","params":{"passphrase":"correct horse battery staple"}}"#,
    )
    .unwrap();
    run(&mut kms, r#"{"method":"vapid.publicKey"}"#).unwrap();
    run(&mut kms, r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net","sub":"mailto:ops@app.example"}}"#).unwrap();
    run(
        &mut kms,
        r#"{"method":"vapid.authorization","params":{"aud":"http://push.example.net"}}"#,
    )
    .unwrap_err();
    let Ok(Response::RelayKey(RelayKeyResponse { kid, .. })) = run(
        &mut kms,
        r#"{"method":"relay.createKey","params":{"alg":"EdDSA"}}"#,
    ) else {
        panic!("relay key")
    };
    run(&mut kms, &format!(r#"{{"method":"relay.token","params":{{"kid":"{kid}","aud":"relay.example","scope":["prekeys:upload"]}}}}"#)).unwrap();
    run(&mut kms, r#"{"method":"relay.jwks"}"#).unwrap();

    // The page gets the public bundle, and identity-key signatures only over its own data
    // under the page-signature domain: nothing it can pass off as a prekey.
    let Ok(Response::SignalBundle(SignalBundleResponse { bundle })) = run(
        &mut kms,
        r#"{"method":"signal.bundle","params":{"oneTime":true}}"#,
    ) else {
        panic!("bundle")
    };
    let bundle: PreKeyBundle = bundle;
    bundle.verify().unwrap();
    let Ok(Response::SignalSignature(SignalSignatureResponse { signature })) = run(
        &mut kms,
        r#"{"method":"signal.sign","params":{"message":"aGVsbG8"}}"#,
    ) else {
        panic!("sign")
    };
    let signature = kms_core::hazmat::b64::decode(&signature).unwrap();
    let valid = page_signature::verify(&bundle.identity_key, APP, b"hello", &signature).is_ok();
    println!("    the signature verifies as {APP}'s page signature over \"hello\": {valid}");
    assert!(valid);
    run(&mut kms, r#"{"method":"signal.replenish","params":{}}"#).unwrap();
    run(&mut kms, r#"{"method":"keys.list"}"#).unwrap();
    run(&mut kms, r#"{"method":"audit.verify"}"#).unwrap();
    let Ok(Response::AuditExport(AuditExportResponse { jsonl, .. })) =
        run(&mut kms, r#"{"method":"audit.export"}"#)
    else {
        panic!("export")
    };
    println!("\naudit log ({} lines):", jsonl.lines().count());
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(op) = v.get("op") {
            println!(
                "  #{:<2} {:<28} {:<8} {}",
                v["seq"],
                op.as_str().unwrap(),
                v["outcome"].as_str().unwrap(),
                v["keyId"].as_str().unwrap_or("-")
            );
        } else {
            println!("  checkpoint: size {}", v["checkpoint"]["size"]);
        }
    }
    println!("\nwalkthrough complete: every step behaved as expected");
}
