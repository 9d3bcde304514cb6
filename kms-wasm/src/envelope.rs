//! The sender side of sealed envelopes, for pages that hold no keys: the `envelope.seal`
//! frame, which the enclave page answers without the service (it needs no key of the
//! enclave and no storage). It verifies a vended prekey against its owner's identity key,
//! then seals a message to it ([`kms_core::envelope::seal`]).
//!
//! ```text
//! → {"v": 1, "id": 9, "method": "envelope.seal",
//!    "params": {"identityKey": "BQ…", "prekey": {"kid": …}, "plaintext": "hello"}}
//! ← {"v": 1, "id": 9, "ok": {"type": "envelopeSealed", "envelope": {"format": …}}}
//! ```

use js_sys::{Object, Reflect, Uint8Array};
use kms_core::Error;
use kms_core::SecretBytes;
use kms_core::envelope::{self, Envelope, SignedPrekey};
use kms_core::rpc::RPC_VERSION;
use kms_core::rpc::frame::{self, FrameHeader, Reply, RequestId};
use kms_core::signal::identity::PublicKey;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::{BrowserRng, json, to_js};

/// The method the enclave page answers itself.
pub const SEAL_METHOD: &str = "envelope.seal";

/// An `envelope.seal` frame, past its header: only `params` is read.
#[derive(Deserialize)]
struct SealCall {
    params: SealParams,
}

/// `envelope.seal`'s params, but `plaintext`: a string (sealed as its UTF-8 bytes) or a
/// `Uint8Array` (its bytes), read from the JS value itself ([`plaintext_of`]) so that
/// nothing else (an `ArrayBuffer`, an array of numbers) is taken for one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SealParams {
    /// The owner's identity key, base64url `0x05 ‖ u` (from the owner's bundle).
    identity_key: String,
    /// The vended prekey, as the vending service returns it.
    prekey: SignedPrekey,
}

/// The success reply: `{v, id, ok: {type: "envelopeSealed", envelope}}`.
#[derive(Serialize)]
struct SealReply {
    v: u32,
    id: RequestId,
    ok: EnvelopeSealed,
}

/// The result of `envelope.seal`.
#[derive(Serialize)]
#[serde(tag = "type", rename = "envelopeSealed")]
struct EnvelopeSealed {
    envelope: Envelope,
}

/// Answers an `envelope.seal` frame: checks its header (version, id) as every frame's,
/// decodes its params `{identityKey, prekey, plaintext}`, verifies the prekey's signature
/// by the identity key and seals the plaintext to it. Returns the reply frame: the
/// `envelopeSealed` result, or `Unsupported` for another protocol version and `BadRequest`
/// for anything else wrong (the id is the frame's when it can be read).
///
/// # Errors
/// Only if the reply cannot be built as a JS value.
#[wasm_bindgen(js_name = sealFrame)]
pub fn seal_frame(frame: JsValue) -> Result<JsValue, JsError> {
    match seal(frame) {
        Ok((id, envelope)) => to_js(&SealReply {
            v: RPC_VERSION,
            id,
            ok: EnvelopeSealed { envelope },
        }),
        Err((id, e)) => to_js(&Reply::new(id, Err(e))),
    }
}

fn seal(frame: JsValue) -> Result<(RequestId, Envelope), (Option<RequestId>, Error)> {
    let text = json::text(&without_plaintext(&frame));
    let id = frame::check_header(json::decode::<FrameHeader>(&text))?;
    let bad = |reason: String| {
        (
            Some(id),
            Error::BadRequest {
                reason: format!("{SEAL_METHOD}: {reason}"),
            },
        )
    };
    let SealCall { params } = json::decode(&text).map_err(|e| {
        bad(format!(
            "expected params {{identityKey, prekey, plaintext}}: {e}"
        ))
    })?;
    let plaintext = plaintext_of(&frame)
        .ok_or_else(|| bad("plaintext: expected a string or a Uint8Array".to_owned()))?;
    let identity = kms_core::hazmat::b64::decode(&params.identity_key)
        .ok()
        .and_then(|b| PublicKey::deserialize(&b).ok())
        .ok_or_else(|| bad("identityKey: expected base64url of a 33-byte public key".to_owned()))?;
    let verified = params
        .prekey
        .verify(&identity)
        .map_err(|e| bad(format!("prekey: {e}")))?;
    let mut rng: BrowserRng = kms_core::rand_core::UnwrapErr(getrandom::SysRng);
    let sealed =
        envelope::seal(&verified, plaintext.expose(), &mut rng).map_err(|e| bad(e.to_string()))?;
    Ok((id, sealed))
}

/// A shallow copy of `frame` whose `params` lack `plaintext`: what is read as JSON. The
/// plaintext (up to 1 MiB) is read from the JS value alone, and never becomes JSON text
/// (an array of numbers four times its size, in a string nothing can wipe).
fn without_plaintext(frame: &JsValue) -> JsValue {
    let params = match Reflect::get(frame, &JsValue::from_str("params")) {
        Ok(p) if p.is_object() && frame.is_object() => p,
        _ => return frame.clone(),
    };
    let copy = Object::assign(&Object::new(), frame.unchecked_ref());
    let params = Object::assign(&Object::new(), params.unchecked_ref());
    let _ = Reflect::delete_property(&params, &JsValue::from_str("plaintext"));
    let _ = Reflect::set(&copy, &JsValue::from_str("params"), &params);
    copy.into()
}

/// The bytes to seal, from the frame's `params.plaintext`: a string's UTF-8 encoding (as
/// `TextEncoder` gives it), a `Uint8Array`'s bytes; `None` for any other value.
fn plaintext_of(frame: &JsValue) -> Option<SecretBytes> {
    let params = Reflect::get(frame, &JsValue::from_str("params")).ok()?;
    let value = Reflect::get(&params, &JsValue::from_str("plaintext")).ok()?;
    if let Some(text) = value.as_string() {
        return Some(SecretBytes::new(text.into_bytes()));
    }
    value
        .dyn_ref::<Uint8Array>()
        .map(|bytes| SecretBytes::new(bytes.to_vec()))
}
