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

/// Every 32-byte length-delimited field of protobuf `buf` at any depth (recursing into each
/// field that parses as protobuf itself); false if `buf` does not parse.
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
    let (mut i, mut found) = (0, Vec::new());
    while i < buf.len() {
        let Some(tag) = varint(buf, &mut i) else {
            return false;
        };
        if tag >> 3 == 0 {
            return false;
        }
        match tag & 7 {
            0 => {
                if varint(buf, &mut i).is_none() {
                    return false;
                }
            }
            1 => i += 8,
            5 => i += 4,
            2 => {
                let Some(len) = varint(buf, &mut i).and_then(|l| usize::try_from(l).ok()) else {
                    return false;
                };
                let Some(field) = i.checked_add(len).and_then(|end| buf.get(i..end)) else {
                    return false;
                };
                i += len;
                if field.len() == 32 {
                    found.push(field.to_vec());
                }
                fields_of_32(field, &mut found);
            }
            _ => return false,
        }
    }
    if i > buf.len() {
        return false;
    }
    out.extend(found);
    true
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
            if record.header.kind == kms_core::service::KeyKind::SignalSession {
                // A session record (version byte, then protobuf) holds many keys: root,
                // chain, ratchet, skipped and post-quantum keys, each a 32-byte field
                // (public keys are 33 bytes).
                let mut keys = Vec::new();
                fields_of_32(secret.expose().get(1..).unwrap_or_default(), &mut keys);
                for k in keys {
                    out.push(prefixes(key, &k));
                }
            }
        }
    }
    println!("{}", serde_json::Value::Array(out));
    Ok(())
}
