//! Security properties of the service: no secret in any reply, Debug output or error;
//! stored records tamper-evident. (One-time keys consumed exactly once across tabs:
//! `tests/envelope.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod routing;
use routing::routed;

use kms_core::Error;
use kms_core::Kms;
use kms_core::ManualClock;
use kms_core::MemoryStore;
use kms_core::hazmat::records::KeyRecord;
use kms_core::hazmat::unlock::{self, UnlockRecord};
use kms_core::rpc::Request;
use kms_core::service::{JwksResponse, Response};
use rand::SeedableRng;
use rand::rngs::StdRng;

const APP: &str = "https://app.example";
const PASS: &str = "correct horse battery staple";

type TestKms = Kms<MemoryStore, ManualClock, StdRng>;

fn call(kms: &mut TestKms, json: &str) -> Result<Response, Error> {
    call_as(kms, APP, json)
}

/// A second PWA origin on the same enclave: the peer of `APP` in the conversation.
const APP2: &str = "https://app2.example";

fn call_as(kms: &mut TestKms, origin: &str, json: &str) -> Result<Response, Error> {
    let r: Request = serde_json::from_str(json).unwrap();
    pollster::block_on(kms.handle(&routed(origin, &r), r))
}

/// The `json` of a reply, as a page would read it.
fn value(r: &Result<Response, Error>) -> serde_json::Value {
    match r {
        Ok(resp) => serde_json::to_value(resp).unwrap(),
        Err(e) => serde_json::to_value(e).unwrap(),
    }
}

fn new_kms(store: &MemoryStore, clock: &ManualClock, seed: u64) -> TestKms {
    // Few one-time prekeys: the tamper walk unlocks twice per stored record, and a hundred
    // prekeys of one kind per shard would tell it nothing more than ten.
    let config = kms_core::Config {
        one_time_prekey_low_water: 5,
        one_time_prekey_high_water: 10,
        ..Default::default()
    };
    Kms::new(store.clone(), clock.clone(), StdRng::seed_from_u64(seed)).with_config(config)
}

fn full_session() -> (MemoryStore, TestKms, Vec<String>) {
    let store = MemoryStore::new();
    let clock = ManualClock::new(1_800_000_000_000);
    let mut kms = new_kms(&store, &clock, 11);
    let mut outputs = Vec::new();
    let mut record = |r: Result<Response, Error>| {
        match &r {
            Ok(resp) => {
                outputs.push(serde_json::to_string(resp).unwrap());
                outputs.push(format!("{resp:?}"));
            }
            Err(e) => {
                outputs.push(serde_json::to_string(e).unwrap());
                outputs.push(format!("{e:?} {e}"));
            }
        }
        r
    };
    for json in [
        format!(r#"{{"method":"setup","params":{{"passphrase":"{PASS}"}}}}"#),
        r#"{"method":"status"}"#.into(),
        r#"{"method":"vapid.publicKey"}"#.into(),
        r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net"}}"#.into(),
        r#"{"method":"vapid.authorization","params":{"aud":"bad"}}"#.into(),
        r#"{"method":"relay.createKey","params":{"alg":"ES256"}}"#.into(),
        r#"{"method":"relay.createKey","params":{"alg":"EdDSA"}}"#.into(),
        r#"{"method":"relay.jwks"}"#.into(),
        r#"{"method":"signal.bundle","params":{"oneTime":true}}"#.into(),
        r#"{"method":"signal.oneTimePrekeys"}"#.into(),
        r#"{"method":"signal.sign","params":{"message":"aGVsbG8"}}"#.into(),
        r#"{"method":"signal.rotateSignedPrekey"}"#.into(),
        r#"{"method":"keys.list"}"#.into(),
        r#"{"method":"methods.list"}"#.into(),
        r#"{"method":"audit.export"}"#.into(),
        r#"{"method":"audit.verify"}"#.into(),
        r#"{"method":"unlock.passphrase","params":{"passphrase":"wrong passphrase"}}"#.into(),
    ] {
        let _ = record(call(&mut kms, &json));
    }
    if let Ok(Response::Jwks(JwksResponse { jwks })) = call(&mut kms, r#"{"method":"relay.jwks"}"#)
    {
        for k in &jwks.keys {
            let kid = k.kid.as_deref().unwrap();
            let _ = record(call(
                &mut kms,
                &format!(
                    r#"{{"method":"relay.token","params":{{"kid":"{kid}","aud":"relay.example"}}}}"#
                ),
            ));
        }
    }
    // A conversation between the two origins' shards, through every session method.
    let bundle = value(&call_as(
        &mut kms,
        APP2,
        r#"{"method":"signal.bundle","params":{"oneTime":true}}"#,
    ))["bundle"]
        .clone();
    let start = serde_json::json!({"method": "signal.startSession",
        "params": {"address": {"name": "bob", "deviceId": 1}, "bundle": bundle}});
    let started = value(&record(call(&mut kms, &start.to_string())));
    // The user trusts each side's key in the enclave's UI (`signal.trust`, routed as it).
    let trust = |address: &str, key: &serde_json::Value| {
        serde_json::json!({"method": "signal.trust", "params": {
            "address": {"name": address, "deviceId": 1}, "identityKey": key}})
        .to_string()
    };
    let _ = record(call(&mut kms, &trust("bob", &started["identityKey"])));
    let (to_bob, to_alice) = (
        r#"{"name":"bob","deviceId":1}"#,
        r#"{"name":"alice","deviceId":1}"#,
    );
    for turn in 0..3 {
        let m = record(call(
            &mut kms,
            &format!(
                r#"{{"method":"signal.encrypt","params":{{"address":{to_bob},"plaintext":"aGVsbG8"}}}}"#
            ),
        ));
        let m = value(&m);
        let dec = serde_json::json!({"method": "signal.decrypt", "params": {
            "address": {"name": "alice", "deviceId": 1},
            "message": m["message"], "messageType": m["messageType"]}});
        let _ = record(call_as(&mut kms, APP2, &dec.to_string()));
        if turn == 0 {
            let alice = value(&record(call_as(
                &mut kms,
                APP2,
                r#"{"method":"signal.identity","params":{"address":{"name":"alice","deviceId":1}}}"#,
            )));
            let _ = record(call_as(
                &mut kms,
                APP2,
                &trust("alice", &alice["identityKey"]),
            ));
        }
        // A replay and a tampered copy: typed errors.
        let _ = record(call_as(&mut kms, APP2, &dec.to_string()));
        let r = record(call_as(
            &mut kms,
            APP2,
            &format!(
                r#"{{"method":"signal.encrypt","params":{{"address":{to_alice},"plaintext":"aGk{turn}"}}}}"#
            ),
        ));
        let r = value(&r);
        let dec = serde_json::json!({"method": "signal.decrypt", "params": {
            "address": {"name": "bob", "deviceId": 1},
            "message": r["message"], "messageType": r["messageType"]}});
        let _ = record(call(&mut kms, &dec.to_string()));
    }
    for json in [
        r#"{"method":"signal.sessions"}"#.to_owned(),
        format!(r#"{{"method":"signal.identity","params":{{"address":{to_bob}}}}}"#),
        format!(
            r#"{{"method":"signal.safetyNumber","params":{{"address":{to_bob},"localName":"alice","remoteName":"bob"}}}}"#
        ),
        r#"{"method":"keys.list"}"#.to_owned(),
    ] {
        let _ = record(call(&mut kms, &json));
    }
    let _ = record(call_as(&mut kms, APP2, r#"{"method":"signal.sessions"}"#));
    let _ = record(call(
        &mut kms,
        &format!(r#"{{"method":"signal.deleteSession","params":{{"address":{to_bob}}}}}"#),
    ));
    let _ = record(call(&mut kms, r#"{"method":"lock"}"#));
    outputs.push(format!("{kms:?}"));
    (store, kms, outputs)
}

/// Every private key in the store, recovered the way only the passphrase holder can.
fn stored_secrets(store: &MemoryStore) -> Vec<Vec<u8>> {
    let records = store.snapshot();
    let (_, method) = records.iter().find(|(k, _)| k.starts_with("u/")).unwrap();
    let method = UnlockRecord::decode(method).unwrap();
    let k_wrap = pollster::block_on(unlock::passphrase_k_wrap(
        &kms_core::RustPbkdf2,
        &method.params,
        &kms_core::SecretBytes::from(PASS),
    ))
    .unwrap();
    let kek = method.open(&k_wrap).unwrap();
    let mut secrets = vec![kek.expose().to_vec(), k_wrap.expose().to_vec()];
    for (key, raw) in &records {
        if key.starts_with("k/") || key == "g/audit-key" {
            let rec: KeyRecord = serde_json::from_slice(raw).unwrap();
            let secret = rec.open(&kek).unwrap();
            if rec.header.kind == kms_core::service::KeyKind::SignalSession {
                // A session record holds many keys: every 32-byte field at any depth (root,
                // chain, ratchet, skipped and PQ keys; public keys are 33 bytes).
                let mut found = Vec::new();
                fields_of_32(&secret.expose()[1..], &mut found);
                assert!(
                    found.len() >= 4,
                    "{}: {} secrets",
                    rec.header.id,
                    found.len()
                );
                secrets.extend(found);
            }
            secrets.push(secret.expose().to_vec());
        }
    }
    secrets
}

/// Every 32-byte length-delimited field of protobuf `buf`, recursing into fields that parse
/// as protobuf themselves.
fn fields_of_32(buf: &[u8], out: &mut Vec<Vec<u8>>) -> bool {
    fn varint(buf: &[u8], i: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *buf.get(*i)?;
            *i += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut i = 0;
    let mut found = Vec::new();
    while i < buf.len() {
        let Some(tag) = varint(buf, &mut i) else {
            return false;
        };
        match tag & 7 {
            0 => {
                if varint(buf, &mut i).is_none() {
                    return false;
                }
            }
            1 => i += 8,
            5 => i += 4,
            2 => {
                let Some(len) = varint(buf, &mut i) else {
                    return false;
                };
                let Some(field) = buf.get(i..i + len as usize) else {
                    return false;
                };
                i += len as usize;
                if field.len() == 32 {
                    found.push(field.to_vec());
                }
                fields_of_32(field, &mut found);
            }
            _ => return false,
        }
        if tag >> 3 == 0 || i > buf.len() {
            return false;
        }
    }
    out.extend(found);
    true
}

fn encodings(secret: &[u8]) -> Vec<String> {
    let window = &secret[..secret.len().min(16)];
    let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
    let dec = format!("{:?}", window).trim_matches(['[', ']']).to_owned();
    vec![
        kms_core::hazmat::b64::encode(secret)
            .chars()
            .take(20)
            .collect(),
        hex,
        dec.replace(' ', ""),
        dec,
    ]
}

#[test]
fn no_secret_reaches_a_reply_debug_output_or_error() {
    let (store, _kms, outputs) = full_session();
    let secrets = stored_secrets(&store);
    assert!(
        secrets.len() > 20,
        "expected many keys, got {}",
        secrets.len()
    );
    let haystack = outputs.join("\n");
    for s in &secrets {
        for enc in encodings(s) {
            assert!(!haystack.contains(&enc), "secret leaked as {enc}");
        }
    }
    assert!(!haystack.contains(PASS));
}

/// Flip one byte of any stored record: the next operations that read it fail with a typed
/// error, and no other record changes.
#[test]
fn tampered_records_are_detected_and_nothing_else_changes() {
    let (store, _kms, _) = full_session();
    let clean = store.snapshot();
    let mut checked = 0;
    for (key, raw) in &clean {
        // Bookkeeping records that are not authenticated by design (docs/formats.md).
        if key == "g/backoff" || key == "g/setup" {
            continue;
        }
        for pos in [raw.len() / 3, raw.len() - 2] {
            // One instance already unlocked (reads only), one that must unlock from the
            // tampered store.
            let clock = ManualClock::new(1_900_000_000_000);
            let mut open = new_kms(&store, &clock, 4);
            call(
                &mut open,
                &format!(r#"{{"method":"unlock.passphrase","params":{{"passphrase":"{PASS}"}}}}"#),
            )
            .unwrap();
            let baseline = store.snapshot();
            let mut bad = raw.clone();
            bad[pos] ^= 0x04;
            store.raw_put(key, bad);
            let mut errors = 0;
            let mut tally = |r: Result<Response, Error>| match r {
                Err(Error::Tampered { .. } | Error::BadCredential) => errors += 1,
                Err(e) => panic!("{key}@{pos}: unexpected {e:?}"),
                Ok(_) => {}
            };
            tally(call(&mut open, r#"{"method":"keys.list"}"#));
            tally(call(&mut open, r#"{"method":"audit.verify"}"#));
            tally(call_as(&mut open, APP2, r#"{"method":"keys.list"}"#));
            tally(call_as(&mut open, APP2, r#"{"method":"audit.verify"}"#));
            let mut fresh = new_kms(&store, &clock, 5);
            tally(call(
                &mut fresh,
                &format!(r#"{{"method":"unlock.passphrase","params":{{"passphrase":"{PASS}"}}}}"#),
            ));
            assert!(errors > 0, "{key}@{pos}: tampering went unnoticed");
            for (k, v) in store.snapshot() {
                if k != *key && k != "g/backoff" && !k.starts_with("c/") {
                    assert_eq!(
                        Some(&v),
                        baseline.get(&k),
                        "{k} changed while {key} was tampered"
                    );
                }
            }
            store.raw_put(key, raw.clone());
            checked += 1;
        }
    }
    assert!(checked > 25, "{checked}");
}
