//! Fixture for the libsignal interop suite (`interop/libsignal`).
//!
//! - no argument: prints a JSON fixture made with kms-core's Signal API from a fixed seed:
//!   the identity key, XEdDSA signatures, prekey bundles with and without a one-time prekey,
//!   and (test keys only) the private keys, so libsignal can also play the responder.
//! - `verify`: reads `[{publicKey, message, signature}]` (base64url) on stdin and prints
//!   `[true|false, …]`, kms-core's verdict on each signature.
//! - `respond`: reads `{variant, identityKey, baseKey, kyberCiphertext}` on stdin, runs
//!   PQXDH as the responder with the fixture's keys and prints `{"sharedSecret": …}`.
//!
//! The keys are derived from a constant seed: they are test keys and nothing else.

use std::io::Read;

use anyhow::{Context as _, Result, anyhow, bail};
use kms_core::hazmat::b64;
use kms_core::signal::identity::{IdentityKeyPair, PublicKey};
use kms_core::signal::kem::KemAlgorithm;
use kms_core::signal::prekeys::{KyberPreKey, OneTimePreKey, SignedPreKey};
use kms_core::signal::{PreKeyBundle, pqxdh};
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
        Some(other) => Err(anyhow!(
            "unknown mode {other:?}; expected none, `verify` or `respond`"
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
