//! The sender side of sealed envelopes, for pages that hold no keys: verify a vended
//! prekey against its owner's identity key, then seal a message to it
//! ([`kms_core::envelope::seal`]).

use kms_core::envelope::{self, SignedPrekey};
use kms_core::signal::identity::PublicKey;
use wasm_bindgen::prelude::*;

use crate::BrowserRng;

/// Seals `plaintext` to `prekey` (a `SignedPrekey` object as the vending service returns
/// it) after checking its signature by `identity_key` (base64url `0x05 ‖ u`, from the
/// owner's bundle). Resolves to the `Envelope` object.
#[wasm_bindgen(js_name = sealEnvelope)]
pub fn seal_envelope(
    identity_key: &str,
    prekey: JsValue,
    plaintext: &[u8],
) -> Result<JsValue, JsError> {
    let identity = kms_core::b64::decode(identity_key)
        .ok()
        .and_then(|b| PublicKey::deserialize(&b).ok())
        .ok_or_else(|| JsError::new("identityKey: expected base64url of a 33-byte public key"))?;
    let prekey: SignedPrekey = serde_wasm_bindgen::from_value(prekey)
        .map_err(|e| JsError::new(&format!("prekey: {e}")))?;
    let verified = prekey
        .verify(&identity)
        .map_err(|e| JsError::new(&format!("prekey: {e}")))?;
    let mut rng: BrowserRng = kms_core::rand_core::UnwrapErr(getrandom::SysRng);
    let sealed =
        envelope::seal(&verified, plaintext, &mut rng).map_err(|e| JsError::new(&e.to_string()))?;
    crate::to_js(&sealed)
}
