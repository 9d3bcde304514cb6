//! The WebSocket side: Firefox's push protocol (Mozilla autopush, as
//! `dom/push/PushServiceWebSocket.sys.mjs` speaks it), one thread per connection.
//!
//! Client → server, JSON text frames:
//!
//! | message | answer |
//! |---|---|
//! | `{"messageType":"hello","uaid":"…"?,"use_webpush":true,"broadcasts":{}}` | `{"messageType":"hello","status":200,"uaid":"<uaid>","use_webpush":true,"broadcasts":{}}`, then every unacknowledged notification |
//! | `{"messageType":"register","channelID":"<uuid>","key":"<applicationServerKey>"?}` | `{"messageType":"register","channelID":…,"status":200,"pushEndpoint":"http://127.0.0.1:<port>/wpush/<id>"}` |
//! | `{"messageType":"unregister","channelID":…,"code":200}` | `{"messageType":"unregister","channelID":…,"status":200}` |
//! | `{}` or `{"messageType":"ping"}` | `{}` |
//! | `{"messageType":"ack","updates":[{"channelID":…,"version":…,"code":100}]}` | none (recorded) |
//! | `{"messageType":"nack","version":…,"code":301}` | none (recorded) |
//!
//! Server → client: `{"messageType":"notification","channelID":…,"version":…,"ttl":…,
//! "data":"<base64url body>","headers":{"encoding":"aes128gcm"}}` (`data` and `headers`
//! absent for an empty message). A `uaid` the service does not know (or none) gets a new
//! one, as autopush does; Firefox then drops its old subscriptions.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::{Value, json};
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

use crate::hub::{Hub, RegisterRefusal};
use crate::vapid::decode_key;

/// The subprotocol Firefox asks for.
pub const SUBPROTOCOL: &str = "push-notification";
/// How often a connection looks for notifications to send while waiting for frames.
const POLL: Duration = Duration::from_millis(25);
/// Longest uaid or channel id accepted.
const MAX_ID_LEN: usize = 128;

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// Accepts connections until `stop` is set (then one more connection wakes the loop).
pub(crate) fn serve(listener: &TcpListener, hub: &Arc<Hub>, stop: &Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let hub = Arc::clone(hub);
        let stop = Arc::clone(stop);
        std::thread::spawn(move || connection(stream, &hub, &stop));
    }
}

#[allow(
    clippy::result_large_err,
    reason = "the signature tungstenite's handshake callback requires"
)]
fn choose_subprotocol(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    let asked = req
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if asked {
        resp.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    Ok(resp)
}

struct Session {
    id: u64,
    uaid: Option<String>,
    frames: mpsc::Sender<String>,
}

fn connection(stream: TcpStream, hub: &Hub, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut ws) = tungstenite::accept_hdr(stream, choose_subprotocol) else {
        hub.log("WS", "handshake", 400, "not a WebSocket handshake");
        return;
    };
    let _ = ws.get_ref().set_read_timeout(Some(POLL));
    let (tx, rx) = mpsc::channel();
    let mut session = Session {
        id: CONNECTIONS.fetch_add(1, Ordering::SeqCst),
        uaid: None,
        frames: tx,
    };
    run(&mut ws, &rx, &mut session, hub, stop);
    if let Some(uaid) = &session.uaid {
        hub.disconnect(uaid, session.id);
    }
    let _ = ws.close(None);
    let _ = ws.flush();
}

fn run(
    ws: &mut WebSocket<TcpStream>,
    rx: &Receiver<String>,
    session: &mut Session,
    hub: &Hub,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        while let Ok(frame) = rx.try_recv() {
            if ws.send(Message::text(frame)).is_err() {
                return;
            }
        }
        match ws.read() {
            Ok(Message::Text(text)) => {
                let Some(replies) = handle(text.as_str(), session, hub) else {
                    return;
                };
                for r in replies {
                    if ws.send(Message::text(r)).is_err() {
                        return;
                    }
                }
            }
            Ok(Message::Close(_)) => return,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Answers one client message; `None` closes the connection.
fn handle(text: &str, session: &mut Session, hub: &Hub) -> Option<Vec<String>> {
    let Ok(msg) = serde_json::from_str::<Value>(text) else {
        hub.log("WS", "invalid", 400, "not JSON; closing");
        return None;
    };
    let kind = match msg.get("messageType") {
        None => "ping",
        Some(Value::String(k)) => k.as_str(),
        Some(_) => "ping",
    };
    let kind = kind.to_ascii_lowercase();
    if kind == "ping" {
        return Some(vec!["{}".to_owned()]);
    }
    if kind == "hello" {
        if session.uaid.is_some() {
            hub.log(
                "WS",
                "hello",
                400,
                "second hello on one connection; closing",
            );
            return None;
        }
        let asked = str_field(&msg, "uaid").filter(|u| valid_id(u));
        let (uaid, waiting) = hub.hello(asked, session.id, session.frames.clone());
        let reason = match asked {
            Some(a) if a == uaid => format!("uaid {uaid} reconnected"),
            _ => format!("new uaid {uaid}"),
        };
        hub.log("WS", "hello", 200, reason);
        session.uaid = Some(uaid.clone());
        let mut replies = vec![
            json!({
                "messageType": "hello",
                "status": 200,
                "uaid": uaid,
                "use_webpush": true,
                "broadcasts": {},
            })
            .to_string(),
        ];
        replies.extend(waiting);
        return Some(replies);
    }
    let Some(uaid) = session.uaid.clone() else {
        hub.log("WS", &kind, 401, "message before hello; closing");
        return None;
    };
    Some(match kind.as_str() {
        "register" => register(&msg, &uaid, hub),
        "unregister" => {
            let channel = str_field(&msg, "channelID").unwrap_or_default();
            let known = hub.unregister(&uaid, channel);
            hub.log(
                "WS",
                "unregister",
                200,
                if known {
                    format!("channel {channel} unregistered")
                } else {
                    format!("channel {channel} was not registered")
                },
            );
            vec![
                json!({"messageType": "unregister", "channelID": channel, "status": 200})
                    .to_string(),
            ]
        }
        "ack" => {
            let updates = msg.get("updates").and_then(Value::as_array);
            for u in updates.into_iter().flatten() {
                let version = str_field(u, "version").unwrap_or_default();
                let code = u
                    .get("code")
                    .and_then(Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(100);
                hub.ack("ack", &uaid, str_field(u, "channelID"), version, code);
                hub.log("WS", "ack", 200, format!("version {version} code {code}"));
            }
            Vec::new()
        }
        "nack" => {
            let version = str_field(&msg, "version").unwrap_or_default();
            let code = msg
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(0);
            hub.ack("nack", &uaid, None, version, code);
            hub.log("WS", "nack", 200, format!("version {version} code {code}"));
            Vec::new()
        }
        // Remote-settings broadcasts: nothing to subscribe to here.
        "broadcast_subscribe" => Vec::new(),
        other => {
            hub.log("WS", other, 400, "unknown messageType; ignored");
            Vec::new()
        }
    })
}

fn register(msg: &Value, uaid: &str, hub: &Hub) -> Vec<String> {
    let channel = str_field(msg, "channelID").unwrap_or_default();
    let answer = |status: u16, endpoint: Option<String>| {
        let mut a = json!({"messageType": "register", "channelID": channel, "status": status});
        if let Some(e) = endpoint {
            a["pushEndpoint"] = e.into();
        }
        vec![a.to_string()]
    };
    if !valid_id(channel) {
        hub.log("WS", "register", 400, "missing or invalid channelID");
        return answer(400, None);
    }
    // Firefox sends the applicationServerKey as padded base64url of the raw point.
    let key = match str_field(msg, "key") {
        None => None,
        Some(k) => match decode_key(k) {
            Some(key) => Some(key),
            None => {
                hub.log(
                    "WS",
                    "register",
                    400,
                    "key: not a P-256 applicationServerKey",
                );
                return answer(400, None);
            }
        },
    };
    match hub.register(uaid, channel, key) {
        Ok(endpoint) => {
            hub.log(
                "WS",
                "register",
                200,
                format!(
                    "channel {channel} -> {endpoint}{}",
                    if key.is_some() { "" } else { " (unrestricted)" }
                ),
            );
            answer(200, Some(endpoint))
        }
        Err(RegisterRefusal::Conflict) => {
            hub.log("WS", "register", 409, "channel registered with another key");
            answer(409, None)
        }
    }
}
