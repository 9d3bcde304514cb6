//! The HTTP side: message delivery (`POST /wpush/<id>`, RFC 8030 §5 with RFC 8292 VAPID)
//! and the test API (subscriptions without a browser, what was received, the log).
//!
//! | request | answer |
//! |---|---|
//! | `POST /wpush/<id>` | 201 + `Location`, or 400/401/403/404/410/413 with a text reason |
//! | `POST /subscriptions` `{"applicationServerKey":"<b64url>"}` | 201 `{"id":…,"endpoint":…}` |
//! | `GET /subscriptions/<id>/messages` | 200 `[{"version","body","headers","receivedMs","ack"}]` |
//! | `DELETE /subscriptions/<id>` | 204; later messages get 410 |
//! | `GET /log` | 200 `[{"method","path","status","reason"}]` (every request but this one) |
//! | `GET /acks` | 200 `[{"kind","uaid","channelId","version","code"}]` |
//! | `OPTIONS *` | 204, a CORS preflight answer |
//!
//! Every answer allows any origin (`Access-Control-Allow-Origin: *`), so a test page can
//! call the service directly.

use std::io::Read as _;
use std::sync::Arc;

use kms_core::hazmat::b64;
use serde::Deserialize;
use tiny_http::{Header, Method, Request, Response};

use crate::hub::{Accepted, Hub, MessageHeaders};
use crate::vapid::{self, decode_key};

/// The largest message body accepted (RFC 8030 §7.2).
pub const MAX_MESSAGE: usize = 4096;
/// The largest test-API request body.
const MAX_API_BODY: usize = 16 * 1024;

type Reply = Response<std::io::Cursor<Vec<u8>>>;

/// The HTTP side's settings.
#[derive(Debug, Clone)]
pub(crate) struct HttpSide {
    pub(crate) hub: Arc<Hub>,
    /// The `aud` a VAPID token must name.
    pub(crate) audience: String,
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn text(status: u16, body: &str) -> Reply {
    let mut r = Response::from_data(body.as_bytes().to_vec()).with_status_code(status);
    if let Some(h) = header("Content-Type", "text/plain; charset=utf-8") {
        r.add_header(h);
    }
    r
}

fn json(status: u16, body: &serde_json::Value) -> Reply {
    let mut r = Response::from_data(body.to_string().into_bytes()).with_status_code(status);
    if let Some(h) = header("Content-Type", "application/json") {
        r.add_header(h);
    }
    r
}

fn request_header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// Reads at most `max + 1` bytes, so a longer body is seen as longer.
fn read_body(req: &mut Request, max: usize) -> Result<Vec<u8>, std::io::Error> {
    let mut body = Vec::new();
    req.as_reader()
        .take(u64::try_from(max).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut body)?;
    Ok(body)
}

/// Request headers a page may send (CORS).
const ALLOWED_HEADERS: &str = "Authorization, TTL, Content-Encoding, Content-Type, Urgency, Topic";

pub(crate) fn handle(side: &HttpSide, mut req: Request) {
    let method = req.method().as_str().to_owned();
    let path = req.url().split('?').next().unwrap_or_default().to_owned();
    let (mut reply, status, reason) = if *req.method() == Method::Options {
        let mut r = text(204, "");
        for (k, v) in [
            ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
            ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
            ("Access-Control-Max-Age", "600"),
        ] {
            if let Some(h) = header(k, v) {
                r.add_header(h);
            }
        }
        (r, 204, "CORS preflight".to_owned())
    } else {
        route(side, &mut req, &path)
    };
    for (k, v) in [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "Location, TTL"),
    ] {
        if let Some(h) = header(k, v) {
            reply.add_header(h);
        }
    }
    if !(method == "GET" && path == "/log") {
        side.hub.log(&method, &path, status, reason);
    }
    let _ = req.respond(reply);
}

/// An answer with its status and the reason logged.
type Outcome = (Reply, u16, String);

fn refuse(status: u16, reason: impl Into<String>) -> Outcome {
    let reason = reason.into();
    (text(status, &reason), status, reason)
}

fn route(side: &HttpSide, req: &mut Request, path: &str) -> Outcome {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method(), segments.as_slice()) {
        (Method::Post, ["wpush", id]) => push(side, req, id),
        (Method::Post, ["subscriptions"]) => subscribe(side, req),
        (Method::Get, ["subscriptions", id, "messages"]) => match side.hub.subscription(id) {
            Some(s) => (
                json(200, &serde_json::json!(s.messages)),
                200,
                format!("{} messages", s.messages.len()),
            ),
            None => refuse(404, "no such subscription"),
        },
        (Method::Delete, ["subscriptions", id]) => {
            if side.hub.unsubscribe(id) {
                (text(204, ""), 204, "unsubscribed".into())
            } else {
                refuse(404, "no such subscription")
            }
        }
        (Method::Get, ["log"]) => (
            json(200, &serde_json::json!(side.hub.log_entries())),
            200,
            String::new(),
        ),
        (Method::Get, ["acks"]) => {
            let acks = side.hub.acks();
            let n = acks.len();
            (
                json(200, &serde_json::json!(acks)),
                200,
                format!("{n} acks"),
            )
        }
        (_, ["wpush", _] | ["subscriptions", ..] | ["log"] | ["acks"]) => {
            refuse(405, "method not allowed")
        }
        _ => refuse(404, "no such resource"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubscribeRequest {
    application_server_key: Option<String>,
}

fn subscribe(side: &HttpSide, req: &mut Request) -> Outcome {
    let body = match read_body(req, MAX_API_BODY) {
        Ok(b) if b.len() <= MAX_API_BODY => b,
        Ok(_) => return refuse(413, "request too large"),
        Err(e) => return refuse(400, format!("reading the body: {e}")),
    };
    let parsed: SubscribeRequest = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return refuse(400, format!("expected {{\"applicationServerKey\":…}}: {e}")),
    };
    let key = match parsed.application_server_key.as_deref().map(decode_key) {
        None => None,
        Some(Some(k)) => Some(k),
        Some(None) => return refuse(400, "applicationServerKey: not a P-256 public key"),
    };
    let id = side.hub.subscribe_http(key);
    let endpoint = side.hub.endpoint(&id);
    (
        json(201, &serde_json::json!({"id": id, "endpoint": endpoint})),
        201,
        format!("subscription {id} created"),
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn push(side: &HttpSide, req: &mut Request, id: &str) -> Outcome {
    let Some(sub) = side.hub.subscription(id) else {
        return refuse(404, "no such subscription");
    };
    if !sub.active {
        return refuse(410, "unsubscribed");
    }
    let verified = match vapid::check(
        request_header(req, "Authorization"),
        sub.key.as_ref(),
        &side.audience,
        now_secs(),
    ) {
        Ok(v) => v,
        Err(r) => return refuse(r.status(), r.to_string()),
    };
    let ttl = match request_header(req, "TTL").map(str::trim) {
        None => return refuse(400, "TTL header missing"),
        Some(t) => match t.parse::<u64>() {
            Ok(t) => t,
            Err(_) => return refuse(400, "TTL: expected a number of seconds"),
        },
    };
    let urgency = request_header(req, "Urgency").map(str::to_owned);
    if let Some(u) = &urgency
        && !matches!(u.as_str(), "very-low" | "low" | "normal" | "high")
    {
        return refuse(400, "Urgency: expected very-low, low, normal or high");
    }
    let topic = request_header(req, "Topic").map(str::to_owned);
    if let Some(t) = &topic
        && (t.is_empty()
            || t.len() > 32
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return refuse(400, "Topic: expected at most 32 base64url characters");
    }
    let encoding = request_header(req, "Content-Encoding").map(str::to_owned);
    let body = match read_body(req, MAX_MESSAGE) {
        Ok(b) => b,
        Err(e) => return refuse(400, format!("reading the body: {e}")),
    };
    if body.len() > MAX_MESSAGE {
        return refuse(413, format!("body over {MAX_MESSAGE} bytes"));
    }
    match encoding.as_deref() {
        Some(e) if e.trim().eq_ignore_ascii_case("aes128gcm") => {}
        None if body.is_empty() => {}
        None => return refuse(400, "Content-Encoding missing (expected aes128gcm)"),
        Some(e) => {
            return refuse(
                400,
                format!(
                    "Content-Encoding {:?}: only aes128gcm is accepted",
                    e.chars().take(40).collect::<String>()
                ),
            );
        }
    }
    let headers = MessageHeaders {
        ttl,
        content_encoding: encoding.map(|e| e.trim().to_ascii_lowercase()),
        urgency,
        topic,
        vapid_key: verified.as_ref().map(|v| b64::encode(&v.key)),
        vapid_sub: verified.and_then(|v| v.sub),
    };
    let Some(accepted) = side.hub.accept(id, &body, headers) else {
        return refuse(410, "unsubscribed");
    };
    let (version, reason) = match accepted {
        Accepted::Sent(v) => (v, "delivered on the WebSocket"),
        Accepted::Queued(v) => (v, "queued"),
        Accepted::Dropped(v) => (v, "not sent: TTL 0 and the user agent is not connected"),
    };
    let location = format!("{}/m/{version}", side.hub.origin());
    let mut reply = text(201, "");
    for (k, v) in [("Location", location.as_str()), ("TTL", &ttl.to_string())] {
        if let Some(h) = header(k, v) {
            reply.add_header(h);
        }
    }
    (reply, 201, format!("{reason} (version {version})"))
}
