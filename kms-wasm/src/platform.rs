//! What this browser offers the enclave, found out once at open by trying it — never from
//! the user agent: which WebCrypto algorithms exist, whether a `CryptoKey` survives an
//! IndexedDB round trip, and whether this origin's storage is persistent. `link` reports
//! it, so a PWA (and the browser suite) sees which path each engine takes.

use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::webcrypto::subtle;

/// The WebCrypto algorithms this browser has (each generated or derived once at open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Algorithms {
    /// PBKDF2 with SHA-256 (`deriveBits`).
    pub pbkdf2: bool,
    /// ECDSA on P-256, importing a PKCS #8 private key non-extractable (ES256).
    pub ecdsa_p256: bool,
    /// Ed25519 signatures (not used for the enclave's keys: Safari's are randomized, and
    /// the wasm path is as fast).
    pub ed25519: bool,
    /// X25519 key agreement (not used for stored keys: WebKit reads X25519 `CryptoKey`s
    /// back from IndexedDB as null).
    pub x25519: bool,
}

/// Whether this origin's storage survives storage pressure and, in Safari, seven days
/// without a visit (`navigator.storage.persisted()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Persistence {
    /// The browser granted persistent storage.
    Persisted,
    /// Best effort: the browser may evict it; keep a backup.
    BestEffort,
    /// The browser has no StorageManager (`navigator.storage.persisted`).
    Unsupported,
}

/// What `link` reports about the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    /// The WebCrypto algorithms found.
    pub web_crypto: Algorithms,
    /// Whether a non-extractable `CryptoKey` (the device key) came back from IndexedDB as
    /// a `CryptoKey`; `None` when storage is unavailable. Without it the passkey gate is
    /// `Unsupported`; passphrase and passkey-PRF unlock keep every key as wrapped bytes.
    pub stored_crypto_keys: Option<bool>,
    /// The storage's persistence.
    pub persistent_storage: Persistence,
}

async fn settles(promise: Result<Promise, JsValue>) -> bool {
    match promise {
        Ok(p) => JsFuture::from(p).await.is_ok(),
        Err(_) => false,
    }
}

/// Whether `generateKey(algorithm, false, usages)` succeeds.
async fn generates(name: &str, usages: &[&str]) -> bool {
    let Ok(subtle) = subtle() else {
        return false;
    };
    let algorithm = Object::new();
    if Reflect::set(&algorithm, &"name".into(), &name.into()).is_err() {
        return false;
    }
    let usages: js_sys::Array = usages.iter().map(|u| JsValue::from_str(u)).collect();
    settles(subtle.generate_key_with_object(&algorithm, false, &usages)).await
}

/// Ed25519 and X25519 in this browser's WebCrypto (the caller knows PBKDF2 and P-256).
pub async fn curves_25519() -> (bool, bool) {
    (
        generates("Ed25519", &["sign", "verify"]).await,
        generates("X25519", &["deriveBits"]).await,
    )
}

/// `navigator.storage.persisted()`, without asking for persistence (a prompt in some
/// browsers; the PWA decides when to ask).
pub async fn persistence() -> Persistence {
    let global = js_sys::global();
    let storage = Reflect::get(&global, &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"storage".into()))
        .unwrap_or(JsValue::UNDEFINED);
    let Some(persisted) = Reflect::get(&storage, &"persisted".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return Persistence::Unsupported;
    };
    let Ok(promise) = persisted
        .call0(&storage)
        .and_then(|p| p.dyn_into::<Promise>())
    else {
        return Persistence::Unsupported;
    };
    match JsFuture::from(promise).await.map(|v| v.as_bool()) {
        Ok(Some(true)) => Persistence::Persisted,
        Ok(Some(false)) => Persistence::BestEffort,
        _ => Persistence::Unsupported,
    }
}
