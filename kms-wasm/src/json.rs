//! Values across the boundary as JSON text: a JS value is stringified once by the
//! browser's `JSON.stringify` and decoded with `serde_json`; a reply is encoded with
//! `serde_json` and parsed once by `JSON.parse`.
//!
//! One codec for everything the enclave reads and writes (its records are JSON already)
//! keeps one copy of each type's serde code in the module, where a second, JS-value codec
//! (serde-wasm-bindgen) doubled it; and one string crossing the boundary costs less than a
//! property read per field.
//!
//! A `Uint8Array` in a value becomes an array of its byte values (every byte input of the
//! RPC accepts one: [`kms_core::rpc::Bytes`], [`kms_core::rpc::SecretInput`]). The text may
//! hold a secret input (a passphrase, a PRF output): the enclave's copy is wiped when it is
//! dropped ([`Text`]); the string `JSON.stringify` made lives on the enclave realm's heap
//! until it is collected, like the passphrase string the form gave.

use std::cell::OnceCell;

use js_sys::{Array, JSON, Uint8Array};
use kms_core::rpc::json_error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// A value's JSON text, wiped on drop, or why it has none.
pub(crate) type Text = Result<Zeroizing<String>, String>;

thread_local! {
    /// `JSON.stringify`'s replacer: a `Uint8Array` as the array of its bytes.
    static REPLACER: OnceCell<Closure<dyn Fn(JsValue, JsValue) -> JsValue>> =
        const { OnceCell::new() };
}

/// `value` as JSON text, as `JSON.stringify` writes it (a `Uint8Array` as an array of
/// numbers). Fails for what JSON cannot hold (a cycle, a `BigInt`) and for `undefined`.
pub(crate) fn text(value: &JsValue) -> Text {
    let text = REPLACER.with(|r| {
        let replacer = r.get_or_init(|| {
            Closure::wrap(Box::new(|_key: JsValue, value: JsValue| {
                match value.dyn_ref::<Uint8Array>() {
                    Some(bytes) => Array::from(bytes).into(),
                    None => value,
                }
            }) as Box<dyn Fn(JsValue, JsValue) -> JsValue>)
        });
        JSON::stringify_with_replacer(value, replacer.as_ref())
    });
    match text {
        Ok(t) => t
            .as_string()
            .map(Zeroizing::new)
            .ok_or_else(|| "expected a JSON value".to_owned()),
        Err(e) => Err(e
            .dyn_ref::<js_sys::Error>()
            .map_or_else(|| "not JSON".to_owned(), |e| String::from(e.message()))),
    }
}

/// Decodes the JSON `text` (or passes on why there is none) as a `T`.
pub(crate) fn decode<T: DeserializeOwned>(text: &Text) -> Result<T, String> {
    match text {
        Ok(t) => serde_json::from_str(t).map_err(|e| json_error(&e)),
        Err(e) => Err(e.clone()),
    }
}

/// Decodes `value` as a `T` through its JSON text.
pub(crate) fn from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    decode(&text(value))
}

/// `value` as a plain JS value, through its JSON text.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))?;
    JSON::parse(&text).map_err(|_| JsError::new("the enclave wrote invalid JSON"))
}
