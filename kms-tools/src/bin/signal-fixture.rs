//! Fixture for the libsignal interop suite (`interop/libsignal`).
//!
//! - no argument: prints a JSON fixture made with kms-core's Signal API from a fixed seed:
//!   the identity key, XEdDSA signatures, prekey bundles with and without a one-time prekey,
//!   and (test keys only) the private keys, so libsignal can also play the responder.
//! - `verify`: reads `[{publicKey, message, signature}]` (base64url) on stdin and prints
//!   `[true|false, …]`, kms-core's verdict on each signature.
//! - `respond`: reads `{variant, identityKey, baseKey, kyberCiphertext}` on stdin, runs
//!   PQXDH as the responder with the fixture's keys and prints `{"sharedSecret": …}`.
//! - `session`: one "run" of the fixture device's session with one peer. Reads
//!   `{state, local, remote, now, seed, ops}` and prints `{state, results}`; `state`
//!   (`{record, knownIdentity, oneTimeUsed}`, or null at first) carries everything between
//!   runs, so each call is a restart. Ops: `{op: "initiate", bundle}`,
//!   `{op: "encrypt", plaintext}`, `{op: "decrypt", type, body, allowIdentityChange?}`.
//!   A result is `{ok: true, …}` or `{ok: false, error: "<SessionError variant>"}`; a failed
//!   op keeps the state as it was.
//! - `fingerprint`: reads `{version, iterations, localId, localKey, remoteId, remoteKey}`
//!   and prints `{display, scannable}`.
//! - `service`: one run of the key service (`Kms` over an in-memory store) as the page of
//!   `origin` sees it: reads `{store, origin, now, seed, calls}` and prints `{store,
//!   results}`. `store` (`{records, logs}`, base64url values; null at first) is the whole
//!   store between runs, so each call is a restart: set up (or unlocked) with a fixed
//!   passphrase, then `calls` (`[{method, params}]`, RPC request frames) as the page; a result
//!   is `{ok: <reply>}` or `{err: {code, message}}`.
//!
//! The keys are derived from a constant seed: they are test keys and nothing else.

use std::io::Read;

use anyhow::{Context as _, Result, anyhow, bail};
use kms_core::hazmat::b64;
use kms_core::signal::identity::{IdentityKeyPair, PublicKey};
use kms_core::signal::kem::KemAlgorithm;
use kms_core::signal::prekeys::{KyberPreKey, OneTimePreKey, SignedPreKey};
use kms_core::signal::{
    Address, CiphertextMessage, IdentityChange, OurPreKeys, PreKeyBundle, PreKeySignalMessage,
    SafetyNumber, SessionError, SessionRecord, SignalMessage, Trust, pqxdh,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

const SEED: u64 = 0x5167_6e61_6c21;
const REGISTRATION_ID: u32 = 4242;
const DEVICE_ID: u32 = 1;
const CREATED_MS: u64 = 1_735_689_600_000;

struct Device {
    identity: IdentityKeyPair,
    signed: SignedPreKey,
    one_time: OneTimePreKey,
    kyber: KyberPreKey,
}

fn device() -> Device {
    let mut rng = StdRng::seed_from_u64(SEED);
    let identity = IdentityKeyPair::generate(&mut rng);
    let signed = SignedPreKey::generate(&identity, 11, CREATED_MS, &mut rng);
    let one_time = OneTimePreKey::generate(101, &mut rng);
    let kyber = KyberPreKey::generate(&identity, KemAlgorithm::Kyber1024, 21, CREATED_MS, &mut rng);
    Device {
        identity,
        signed,
        one_time,
        kyber,
    }
}

fn bundle(d: &Device, with_one_time: bool) -> PreKeyBundle {
    PreKeyBundle::new(
        REGISTRATION_ID,
        DEVICE_ID,
        d.identity.public_key(),
        &d.signed,
        with_one_time.then_some(&d.one_time),
        &d.kyber,
    )
}

fn fixture() -> Result<Value> {
    let d = device();
    let mut rng = StdRng::seed_from_u64(SEED + 1);
    let messages: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"hello libsignal".to_vec(),
        (0..=255u8).collect(),
        d.signed.keypair.public_key().serialize().to_vec(),
        vec![0xA5; 1000],
    ];
    let signatures: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "message": b64::encode(m),
                "signature": b64::encode(d.identity.sign(&mut rng, m)),
            })
        })
        .collect();
    let with = bundle(&d, true);
    let without = bundle(&d, false);
    with.verify().context("the bundle with a one-time prekey")?;
    without
        .verify()
        .context("the bundle without a one-time prekey")?;
    let to_json = |b: &PreKeyBundle| serde_json::to_value(b).context("encoding a bundle");
    Ok(json!({
        "identityKey": b64::encode(d.identity.public_key().serialize()),
        "signatures": signatures,
        "bundles": { "withOneTime": to_json(&with)?, "withoutOneTime": to_json(&without)? },
        "testPrivateKeys": {
            "identity": b64::encode(d.identity.secret().expose()),
            "signedPreKey": b64::encode(d.signed.keypair.secret().expose()),
            "signedPreKeyCreatedMs": d.signed.created_ms,
            "oneTimePreKey": b64::encode(d.one_time.keypair.secret().expose()),
            "kyberPreKey": b64::encode(d.kyber.keypair.to_libsignal_secret_key().expose()),
            "kyberPreKeyCreatedMs": d.kyber.created_ms,
        },
    }))
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str> {
    v.get(name)
        .and_then(Value::as_str)
        .with_context(|| format!("missing string field {name:?}"))
}

fn bytes(v: &Value, name: &str) -> Result<Vec<u8>> {
    b64::decode(field(v, name)?).with_context(|| name.to_owned())
}

fn verify(input: &Value) -> Result<Value> {
    let items = input.as_array().context("expected a JSON array")?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let key = PublicKey::deserialize(&bytes(item, "publicKey")?).context("publicKey")?;
        out.push(Value::Bool(
            key.verify(&bytes(item, "message")?, &bytes(item, "signature")?)
                .is_ok(),
        ));
    }
    Ok(Value::Array(out))
}

fn respond(input: &Value) -> Result<Value> {
    let d = device();
    let one_time = match field(input, "variant")? {
        "withOneTime" => Some(&d.one_time),
        "withoutOneTime" => None,
        other => bail!("unknown variant {other:?}"),
    };
    let their_identity =
        PublicKey::deserialize(&bytes(input, "identityKey")?).context("identityKey")?;
    let their_ephemeral = PublicKey::deserialize(&bytes(input, "baseKey")?).context("baseKey")?;
    let sk = pqxdh::respond(
        &d.identity,
        &d.signed,
        one_time,
        &d.kyber,
        &bytes(input, "kyberCiphertext")?,
        &their_identity,
        &their_ephemeral,
    )
    .context("PQXDH respond")?;
    Ok(json!({ "sharedSecret": b64::encode(sk.expose()) }))
}

fn address(v: &Value, name: &str) -> Result<Address> {
    let a = v.get(name).with_context(|| format!("missing {name}"))?;
    let device = a
        .get("deviceId")
        .and_then(Value::as_u64)
        .context("deviceId")?;
    Ok(Address::new(field(a, "name")?, u32::try_from(device)?))
}

/// The variant name of a session error, the stable name the interop tests compare.
fn error_name(e: &SessionError) -> String {
    let debug = format!("{e:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

struct SessionRun {
    record: SessionRecord,
    known: Option<PublicKey>,
    one_time_used: bool,
}

fn session(input: &Value) -> Result<Value> {
    let d = device();
    let local = address(input, "local")?;
    let remote = address(input, "remote")?;
    let now = input.get("now").and_then(Value::as_u64).context("now")?;
    let seed = input.get("seed").and_then(Value::as_u64).context("seed")?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut run = match input.get("state").filter(|s| !s.is_null()) {
        None => SessionRun {
            record: SessionRecord::new(),
            known: None,
            one_time_used: false,
        },
        Some(state) => SessionRun {
            record: SessionRecord::decode(&bytes(state, "record")?).context("record")?,
            known: match state.get("knownIdentity").and_then(Value::as_str) {
                Some(k) => Some(PublicKey::deserialize(&b64::decode(k)?)?),
                None => None,
            },
            one_time_used: state
                .get("oneTimeUsed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
    };
    let ops = input.get("ops").and_then(Value::as_array).context("ops")?;
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let trust = Trust {
            known: run.known,
            allow_change: op
                .get("allowIdentityChange")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        let outcome: Result<Value, SessionError> = match field(op, "op")? {
            "initiate" => {
                let bundle: PreKeyBundle =
                    serde_json::from_value(op.get("bundle").cloned().context("bundle")?)?;
                run.record
                    .initiate(&d.identity, REGISTRATION_ID, &bundle, &trust, now, &mut rng)
                    .map(|(record, change)| {
                        run.record = record;
                        if change != IdentityChange::Unchanged {
                            run.known = Some(bundle.identity_key);
                        }
                        json!({ "ok": true })
                    })
            }
            "encrypt" => run
                .record
                .encrypt(
                    &bytes(op, "plaintext")?,
                    &local,
                    &remote,
                    &trust,
                    now,
                    &mut rng,
                )
                .map(|out| {
                    run.record = out.record;
                    let (kind, body) = match &out.message {
                        CiphertextMessage::Whisper(m) => (2, m.as_bytes()),
                        CiphertextMessage::PreKey(m) => (3, m.as_bytes()),
                    };
                    json!({ "ok": true, "type": kind, "body": b64::encode(body) })
                }),
            "decrypt" => {
                let body = bytes(op, "body")?;
                let decrypted = match op.get("type").and_then(Value::as_u64) {
                    Some(3) => PreKeySignalMessage::parse(&body).and_then(|m| {
                        let ours = OurPreKeys {
                            identity: &d.identity,
                            registration_id: REGISTRATION_ID,
                            signed_pre_key: &d.signed,
                            one_time_pre_key: (!run.one_time_used).then_some(&d.one_time),
                            kyber_pre_key: &d.kyber,
                        };
                        run.record
                            .decrypt_pre_key(&m, &ours, &local, &remote, &trust, now, &mut rng)
                    }),
                    Some(2) => SignalMessage::parse(&body).and_then(|m| {
                        run.record
                            .decrypt(&m, &local, &remote, &trust, now, &mut rng)
                    }),
                    other => bail!("unknown message type {other:?}"),
                };
                decrypted.map(|out| {
                    if out
                        .pre_keys_used
                        .is_some_and(|u| u.one_time_pre_key_id.is_some())
                    {
                        run.one_time_used = true;
                    }
                    if out.identity != IdentityChange::Unchanged {
                        run.known = out.record.remote_identity();
                    }
                    run.record = out.record;
                    json!({ "ok": true, "plaintext": b64::encode(&out.plaintext[..]) })
                })
            }
            other => bail!("unknown op {other:?}"),
        };
        results.push(outcome.unwrap_or_else(|e| json!({ "ok": false, "error": error_name(&e) })));
    }
    Ok(json!({
        "state": {
            "record": b64::encode(&run.record.encode()[..]),
            "knownIdentity": run.known.map(|k| b64::encode(k.serialize())),
            "oneTimeUsed": run.one_time_used,
        },
        "results": results,
    }))
}

fn fingerprint(input: &Value) -> Result<Value> {
    let number = |name: &str| -> Result<u32> {
        Ok(u32::try_from(
            input.get(name).and_then(Value::as_u64).context("number")?,
        )?)
    };
    let sn = SafetyNumber::new(
        number("version")?,
        number("iterations")?,
        &bytes(input, "localId")?,
        &PublicKey::deserialize(&bytes(input, "localKey")?)?,
        &bytes(input, "remoteId")?,
        &PublicKey::deserialize(&bytes(input, "remoteKey")?)?,
    )?;
    Ok(json!({ "display": sn.display(), "scannable": b64::encode(sn.scannable()) }))
}

/// The passphrase of the `service` mode's enclave (a test enclave).
const SERVICE_PASSPHRASE: &str = "interop passphrase, test only";

fn service(input: &Value) -> Result<Value> {
    use kms_core::rpc::Request;
    use kms_core::rpc::policy::{Caller, Policy};
    use kms_core::{Kms, ManualClock, MemoryStore, Origin};

    let store = MemoryStore::new();
    let restored = match input.get("store").filter(|s| !s.is_null()) {
        None => false,
        Some(saved) => {
            let records = saved["records"].as_object().context("store.records")?;
            for (key, value) in records {
                store.raw_put(key, b64::decode(value.as_str().context("a record")?)?);
            }
            let logs = saved["logs"].as_object().context("store.logs")?;
            for (log, entries) in logs {
                let entries = entries
                    .as_array()
                    .context("a log")?
                    .iter()
                    .map(|e| Ok(b64::decode(e.as_str().context("an entry")?)?))
                    .collect::<Result<Vec<_>>>()?;
                store.raw_set_log(log, entries);
            }
            true
        }
    };
    let origin = Origin::parse(field(input, "origin")?)?;
    let now = input.get("now").and_then(Value::as_u64).context("now")?;
    let seed = input.get("seed").and_then(Value::as_u64).context("seed")?;
    let mut kms = Kms::new(
        store.clone(),
        ManualClock::new(now),
        StdRng::seed_from_u64(seed),
    );
    let (ui, page) = (Caller::EnclaveUi(origin.clone()), Caller::Page(origin));
    let open: Request = serde_json::from_value(json!({
        "method": if restored { "unlock.passphrase" } else { "setup" },
        "params": { "passphrase": SERVICE_PASSPHRASE },
    }))?;
    pollster::block_on(kms.handle(&ui, open)).map_err(|e| anyhow!("opening the enclave: {e}"))?;
    let mut results = Vec::new();
    for call in input
        .get("calls")
        .and_then(Value::as_array)
        .context("calls")?
    {
        let request: Request = serde_json::from_value(call.clone()).context("a call")?;
        let caller = if request.policy() == Policy::Page {
            &page
        } else {
            &ui
        };
        results.push(match pollster::block_on(kms.handle(caller, request)) {
            Ok(reply) => json!({ "ok": reply }),
            Err(e) => json!({ "err": e }),
        });
    }
    let records: serde_json::Map<String, Value> = store
        .snapshot()
        .into_iter()
        .map(|(k, v)| (k, Value::from(b64::encode(v))))
        .collect();
    let logs: serde_json::Map<String, Value> = store
        .audit_snapshot()
        .into_iter()
        .map(|(k, entries)| (k, entries.iter().map(b64::encode).collect()))
        .collect();
    Ok(json!({ "store": { "records": records, "logs": logs }, "results": results }))
}

fn read_stdin_json() -> Result<Value> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading stdin")?;
    serde_json::from_str(&text).context("stdin is not JSON")
}

fn main() -> std::process::ExitCode {
    let mode = std::env::args().nth(1);
    let result = match mode.as_deref() {
        None => fixture(),
        Some("verify") => read_stdin_json().and_then(|v| verify(&v)),
        Some("respond") => read_stdin_json().and_then(|v| respond(&v)),
        Some("session") => read_stdin_json().and_then(|v| session(&v)),
        Some("fingerprint") => read_stdin_json().and_then(|v| fingerprint(&v)),
        Some("service") => read_stdin_json().and_then(|v| service(&v)),
        Some(other) => Err(anyhow!(
            "unknown mode {other:?}; expected none, `verify`, `respond`, `session`, \
             `fingerprint` or `service`"
        )),
    };
    match result {
        Ok(v) => {
            println!("{v}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signal-fixture: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
