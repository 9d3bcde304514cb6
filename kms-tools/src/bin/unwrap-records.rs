//! Recovers every secret of an enclave's stored records with its passphrase — what only the
//! passphrase holder can do — and prints short, distinctive prefixes of each in the
//! encodings a leak would take (base64url, base64, hex).
//!
//! Input on stdin: `{"passphrase": "...", "records": {"<key>": [bytes...]}}` (a dump of the
//! enclave's IndexedDB `records` store). The browser suite uses it to scan every RPC reply
//! for private key material.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use kms_core::SecretBytes;
use kms_core::hazmat::records::{KeyRecord, layout};
use kms_core::hazmat::unlock::{self, UnlockRecord};

#[derive(serde::Deserialize)]
struct Input {
    passphrase: String,
    records: BTreeMap<String, Vec<u8>>,
}

fn prefixes(record: &str, secret: &[u8]) -> serde_json::Value {
    use base64ct::{Base64, Base64UrlUnpadded, Encoding};
    let hex: String = secret.iter().take(16).map(|b| format!("{b:02x}")).collect();
    serde_json::json!({
        "record": record,
        "b64u": Base64UrlUnpadded::encode_string(secret).chars().take(20).collect::<String>(),
        "b64": Base64::encode_string(secret).chars().take(20).collect::<String>(),
        "hex": hex,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unwrap-records: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading stdin")?;
    let input: Input = serde_json::from_str(&text).context("stdin is not a records dump")?;
    let passphrase = SecretBytes::from(input.passphrase.as_str());
    let mut kek = None;
    let mut out = Vec::new();
    for (key, raw) in input
        .records
        .iter()
        .filter(|(k, _)| k.starts_with(layout::METHODS))
    {
        let Ok(method) = UnlockRecord::decode(raw) else {
            continue;
        };
        let Ok(k_wrap) = pollster::block_on(unlock::passphrase_k_wrap(
            &kms_core::RustPbkdf2,
            &method.params,
            &passphrase,
        )) else {
            continue;
        };
        if let Ok(k) = method.open(&k_wrap) {
            out.push(prefixes(key, k_wrap.expose()));
            out.push(prefixes("kek", k.expose()));
            kek = Some(k);
            break;
        }
    }
    let kek = kek.context("the passphrase opens no unlock method")?;
    for (key, raw) in &input.records {
        if key.starts_with(layout::KEYS) || key == layout::AUDIT_KEY {
            let record: KeyRecord =
                serde_json::from_slice(raw).with_context(|| format!("{key}: not a key record"))?;
            let secret = record
                .open(&kek)
                .with_context(|| format!("{key}: opening the record"))?;
            out.push(prefixes(key, secret.expose()));
        }
    }
    println!("{}", serde_json::Value::Array(out));
    Ok(())
}
