//! The message frame around a [`Request`]: protocol version and request id in, the same id
//! and either a result or an error out.
//!
//! ```text
//! → {"v": 1, "id": 7, "method": "vapid.publicKey"}
//! ← {"v": 1, "id": 7, "ok": {"type": "vapidPublicKey", ...}}
//! ← {"v": 1, "id": 7, "err": {"code": "Locked", "message": "the enclave is locked"}}
//! ```
//!
//! Decoding is two-step so that a malformed request still gets an answer the caller can
//! match: [`FrameHeader`] reads only `v` and `id` (ignoring everything else), then [`Call`]
//! reads the whole frame. [`parse`] turns both results into a request or a typed error.

use core::fmt::Display;
use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use super::{RPC_VERSION, Request};
use crate::error::{Error, ErrorBody};
use crate::service::Response;

/// A request id chosen by the caller, echoed in the reply.
pub type RequestId = u32;

/// The leniently decoded start of a frame: enough to address a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct FrameHeader {
    /// Protocol version.
    #[serde(default)]
    pub v: Option<u32>,
    /// Request id.
    #[serde(default)]
    pub id: Option<RequestId>,
}

/// A complete request frame.
#[derive(Debug, Deserialize)]
pub struct Call {
    /// Protocol version; must be [`RPC_VERSION`].
    pub v: u32,
    /// Request id.
    pub id: RequestId,
    /// The request (`method` and `params`).
    #[serde(flatten)]
    pub request: Request,
}

impl Call {
    /// Decodes a request frame from its JSON text: the frame's own fields first (`params`
    /// kept as text), then the params as the type `method` names
    /// ([`Request::from_json_params`]). Accepts what the derived `Deserialize` accepts, in
    /// any key order, and refuses what it refuses; unlike it, it buffers nothing, which keeps
    /// one copy of each params type's decoder in the enclave.
    ///
    /// # Errors
    /// What is wrong with the frame, in words.
    pub fn from_json(text: &str) -> Result<Self, String> {
        /// The frame, its params as text.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fields<'a> {
            v: u32,
            id: RequestId,
            method: Cow<'a, str>,
            #[serde(borrow, default, deserialize_with = "raw")]
            params: Option<&'a RawValue>,
        }
        /// `params` as it is written, `null` included.
        fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
            <&RawValue>::deserialize(d).map(Some)
        }
        let f: Fields<'_> = serde_json::from_str(text).map_err(|e| super::json_error(&e))?;
        Ok(Self {
            v: f.v,
            id: f.id,
            request: Request::from_json_params(&f.method, f.params)?,
        })
    }
}

/// Decides what to do with a frame: the request to run, or the error to reply with.
///
/// `header` is the result of decoding the frame as a [`FrameHeader`], `call` decodes it as
/// a [`Call`] (only run once the header is sound).
///
/// # Errors
/// The id to answer (if one could be read) and a typed error: `BadRequest` for a malformed
/// frame or unknown method, `Unsupported` for another protocol version.
pub fn parse<E: Display>(
    header: Result<FrameHeader, E>,
    call: impl FnOnce() -> Result<Call, E>,
) -> Result<(RequestId, Request), (Option<RequestId>, Error)> {
    let id = check_header(header)?;
    match call() {
        Ok(call) => Ok((id, call.request)),
        Err(e) => Err((Some(id), Error::bad_request(e.to_string()))),
    }
}

/// Checks the leniently decoded start of a frame (every frame kind): a readable header,
/// this protocol version, a request id. Returns the id.
///
/// # Errors
/// The id to answer (if one could be read) and `BadRequest` or `Unsupported`.
pub fn check_header<E: Display>(
    header: Result<FrameHeader, E>,
) -> Result<RequestId, (Option<RequestId>, Error)> {
    let header = header.map_err(|e| {
        (
            None,
            Error::bad_request(format!("frame: expected {{v, id, method, params}}: {e}")),
        )
    })?;
    let id = header.id;
    match header.v {
        Some(RPC_VERSION) => {}
        Some(v) => {
            return Err((
                id,
                Error::Unsupported {
                    what: format!("protocol version {v} (this enclave speaks {RPC_VERSION})"),
                },
            ));
        }
        None => {
            return Err((
                id,
                Error::bad_request("frame: missing protocol version `v`"),
            ));
        }
    }
    id.ok_or_else(|| (None, Error::bad_request("frame: missing request id `id`")))
}

/// The outcome half of a reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Outcome {
    /// The request succeeded.
    #[serde(rename = "ok")]
    Ok(Box<Response>),
    /// The request failed.
    #[serde(rename = "err")]
    Err(ErrorBody),
}

/// A reply frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reply {
    /// Protocol version.
    pub v: u32,
    /// The request's id; `null` when the request had none that could be read.
    pub id: Option<RequestId>,
    /// Result or error.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Reply {
    /// The reply to request `id`.
    pub fn new(id: Option<RequestId>, result: Result<Response, Error>) -> Self {
        Self {
            v: RPC_VERSION,
            id,
            outcome: match result {
                Ok(r) => Outcome::Ok(Box::new(r)),
                Err(e) => Outcome::Err(e.body()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn parse_json(s: &str) -> Result<(RequestId, Request), (Option<RequestId>, Error)> {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        parse(serde_json::from_value::<FrameHeader>(v.clone()), || {
            serde_json::from_value::<Call>(v)
        })
    }

    fn err_code(s: &str) -> (Option<RequestId>, ErrorCode) {
        let (id, e) = parse_json(s).unwrap_err();
        (id, e.code())
    }

    #[test]
    fn parses_calls_with_and_without_params() {
        let (id, r) = parse_json(r#"{"v":1,"id":7,"method":"status"}"#).unwrap();
        assert_eq!((id, r.method()), (7, "status"));
        let (_, r) =
            parse_json(r#"{"v":1,"id":8,"method":"vapid.authorization","params":{"aud":"https://push.example"}}"#)
                .unwrap();
        assert_eq!(r.method(), "vapid.authorization");
    }

    #[test]
    fn malformed_frames_get_typed_errors_with_the_id_when_readable() {
        assert_eq!(
            err_code(r#"{"v":2,"id":3,"method":"status"}"#),
            (Some(3), ErrorCode::Unsupported)
        );
        assert_eq!(
            err_code(r#"{"id":3,"method":"status"}"#),
            (Some(3), ErrorCode::BadRequest)
        );
        assert_eq!(
            err_code(r#"{"v":1,"method":"status"}"#),
            (None, ErrorCode::BadRequest)
        );
        assert_eq!(
            err_code(r#"{"v":"1","id":3}"#),
            (None, ErrorCode::BadRequest)
        );
        assert_eq!(err_code(r#""hello""#), (None, ErrorCode::BadRequest));
        assert_eq!(
            err_code(r#"{"v":1,"id":4,"method":"nope"}"#),
            (Some(4), ErrorCode::BadRequest)
        );
        assert_eq!(
            err_code(r#"{"v":1,"id":5,"method":"setup","params":{"passphrase":7}}"#),
            (Some(5), ErrorCode::BadRequest)
        );
        assert_eq!(
            err_code(r#"{"v":1,"id":6,"method":"keys.delete","params":{"keyId":"a","extra":1}}"#),
            (Some(6), ErrorCode::BadRequest)
        );
    }

    #[test]
    fn json_frames_decode_in_any_key_order_and_refuse_strangers() {
        let call = |s: &str| Call::from_json(s).map(|c| (c.v, c.id, c.request.method()));
        let vapid = r#""vapid.authorization""#;
        let params = r#""params":{"aud":"https://push.example"}"#;
        for text in [
            format!(r#"{{"v":1,"id":8,"method":{vapid},{params}}}"#),
            format!(r#"{{{params},"method":{vapid},"id":8,"v":1}}"#),
            format!(r#"{{"v":1,{params},"id":8,"method":"vapid.authorizatio\u006e"}}"#),
        ] {
            assert_eq!(call(&text), Ok((1, 8, "vapid.authorization")), "{text}");
        }
        let e = call(r#"{"v":1,"id":8,"method":"ping","extra":1}"#).unwrap_err();
        assert!(e.starts_with("unknown field `extra`"), "{e}");
        let e = call(r#"{"v":1,"id":8,"method":"nope"}"#).unwrap_err();
        assert_eq!(e, "unknown method `nope`");
        let e = call(r#"{"v":1,"id":8,"method":"ping","method":"status"}"#).unwrap_err();
        assert!(e.starts_with("duplicate field `method`"), "{e}");
        // No position: it would count in the enclave's encoding, not the caller's frame.
        let e = call(r#"{"v":1,"id":8,"method":"keys.delete","params":{"keyId":7}}"#).unwrap_err();
        assert_eq!(e, "invalid type: integer `7`, expected a string");
    }

    #[test]
    fn error_messages_never_echo_secret_inputs() {
        let (_, e) = parse_json(
            r#"{"v":1,"id":5,"method":"setup","params":{"passphrase":"hunter2-secret","bogus":1}}"#,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn replies_serialize_as_ok_or_err() {
        let ok = serde_json::to_string(&Reply::new(Some(1), Ok(Response::Done))).unwrap();
        assert_eq!(ok, r#"{"v":1,"id":1,"ok":{"type":"done"}}"#);
        let err = serde_json::to_string(&Reply::new(None, Err(Error::Locked))).unwrap();
        assert_eq!(
            err,
            r#"{"v":1,"id":null,"err":{"code":"Locked","message":"the enclave is locked"}}"#
        );
    }
}
