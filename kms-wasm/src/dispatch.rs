//! What the enclave page's bootstrap asks of a frame from the page, so that it never reads
//! or builds one itself: where the frame goes ([`route_frame`]), whether a ceremony frame is
//! sound ([`check_ceremony`]), and the reply to a frame for an outcome the bootstrap reached
//! itself ([`ok_reply`], [`error_reply`]). `envelope.seal` frames are answered whole by
//! [`crate::envelope::seal_frame`]; every other frame goes to [`crate::Enclave::handle`],
//! which answers malformed frames too.

use js_sys::{Object, Reflect};
use kms_core::rpc::RPC_VERSION;
use kms_core::rpc::ceremony::{self, CeremonyCall};
use kms_core::rpc::frame::{FrameHeader, Outcome, Reply, RequestId};
use kms_core::rpc::local::Failure;
use kms_core::{ErrorBody, ErrorCode};
use wasm_bindgen::prelude::*;

use crate::envelope::SEAL_METHOD;
use crate::{json, to_js};

pub use route::Route;

// In a module of its own: wasm-bindgen drops a string enum's variant docs and adds an
// undocumented conversion, which `missing_docs` would flag.
#[allow(
    missing_docs,
    reason = "wasm-bindgen's string enum: the variants are documented on the enum"
)]
mod route {
    use wasm_bindgen::prelude::*;

    /// Where the bootstrap sends a frame from the page ([`super::route_frame`]); in JS the
    /// strings, in TypeScript their union:
    ///
    /// - `"service"`: the key service, [`crate::Enclave::handle`]: every method, and every
    ///   frame that names no ceremony and is not `envelope.seal` (malformed ones included);
    /// - `"ceremony"`: a ceremony in the enclave's own UI, after
    ///   [`super::check_ceremony`];
    /// - `"seal"`: `envelope.seal`, answered without the service by
    ///   [`crate::envelope::seal_frame`].
    #[wasm_bindgen]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Route {
        Service = "service",
        Ceremony = "ceremony",
        Seal = "seal",
    }
}

/// Where a frame from the page goes, by its `method`: a frame without a readable `method`
/// string goes to the service, whose reply says what is wrong with it.
#[wasm_bindgen(js_name = routeFrame)]
pub fn route_frame(frame: JsValue) -> Route {
    // The method alone, read leniently (the service reads the whole frame strictly).
    let method = field(&frame, "method").and_then(|m| m.as_string());
    match method.as_deref() {
        Some(SEAL_METHOD) => Route::Seal,
        Some(m) if ceremony::is_ceremony(m) => Route::Ceremony,
        _ => Route::Service,
    }
}

/// Checks a ceremony frame (`ui.*`, `passkey.*`, `storage.requestAccess`) from the page:
/// `null` when it is well-formed (its texts within bounds), else the error reply to send.
/// The enclave page's code runs the ceremony itself; the page only asks for it.
///
/// # Errors
/// Only if the reply cannot be built as a JS value.
#[wasm_bindgen(js_name = checkCeremony)]
pub fn check_ceremony(frame: JsValue) -> Result<JsValue, JsError> {
    let text = json::text(&frame);
    let parsed = ceremony::parse(json::decode::<FrameHeader>(&text), || {
        json::decode::<CeremonyCall>(&text)
    });
    match parsed {
        Ok(_) => Ok(JsValue::NULL),
        Err((id, e)) => to_js(&Reply::new(id, Err(e))),
    }
}

/// The id a reply to `frame` carries: its `id` when that is a request id, else `null`
/// (which is what a reply says when the request had no id that could be read).
///
/// The id alone is read, leniently: the frame may be malformed in any other way.
fn reply_id(frame: &JsValue) -> Option<RequestId> {
    let id = field(frame, "id")?.as_f64()?;
    (id.fract() == 0.0 && (0.0..=f64::from(RequestId::MAX)).contains(&id))
        .then_some(id as RequestId)
}

/// `value[name]` when `value` is an object that has it (`undefined` counts as absent).
fn field(value: &JsValue, name: &str) -> Option<JsValue> {
    if !value.is_object() {
        return None;
    }
    Reflect::get(value, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// The success reply to `frame` (a ceremony frame that [`check_ceremony`] accepted):
/// `{v, id, ok: result}`, `result` as the ceremony's last call returned it.
///
/// # Errors
/// Only if the reply cannot be built as a JS value.
#[wasm_bindgen(js_name = okReply)]
pub fn ok_reply(frame: JsValue, result: JsValue) -> Result<JsValue, JsError> {
    // Built as a JS object around `result` as it is, which the bootstrap got from the
    // service or from the ceremony's last step.
    let reply = Object::new();
    let id = reply_id(&frame).map_or(JsValue::NULL, JsValue::from);
    for (name, value) in [
        ("v", JsValue::from(RPC_VERSION)),
        ("id", id),
        ("ok", result),
    ] {
        Reflect::set(&reply, &JsValue::from_str(name), &value)
            .map_err(|_| JsError::new("okReply: cannot build the reply"))?;
    }
    Ok(reply.into())
}

/// The error reply to `frame` for a failure the bootstrap reached itself:
/// `failure` is `{code, message}` (a ceremony's failure, or the last resort when handling a
/// frame threw), or an error body the service returned to the bootstrap's own call, passed
/// on (`retryAfterMs` included). The id is the frame's when it can be read.
///
/// A `failure` that does not decode (an unknown code, a missing message) still gives a
/// reply: `Internal`, saying why, so the page is never left without an answer.
///
/// # Errors
/// Only if the reply cannot be built as a JS value.
#[wasm_bindgen(js_name = errorReply)]
pub fn error_reply(frame: JsValue, failure: JsValue) -> Result<JsValue, JsError> {
    let body = match json::from_js::<Failure>(&failure) {
        Ok(f) => ErrorBody::from(f),
        Err(e) => ErrorBody {
            code: ErrorCode::Internal,
            message: format!("the enclave page reported a malformed failure: {e}"),
            retry_after_ms: None,
        },
    };
    to_js(&Reply {
        v: RPC_VERSION,
        id: reply_id(&frame),
        outcome: Outcome::Err(body),
    })
}
