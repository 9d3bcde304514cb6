//! The local push service over real sockets: a WebSocket client speaking Firefox's push
//! protocol subscribes, an application server sends with `kms_relay::webpush::send` and a
//! VAPID header signed by `kms_core::vapid`, the notification decrypts with the
//! subscriber's keys and its ack is recorded; then every refusal, with the reason logged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kms_core::hazmat::b64;
use kms_core::jws::{self, JwsAlg, SigningKey};
use kms_core::vapid::{VapidClaims, VapidKey};
use kms_pushd::Config;
use kms_relay::webpush::{self, Receiver, SendError, SendOptions, Subscription};
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest as _;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

/// The https origin the WebSocket test's service takes as its own: `kms_core::vapid`
/// signs for https push services only.
const AUD: &str = "https://push.localhost";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn connect(url: &str) -> Ws {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "push-notification".parse().unwrap(),
    );
    let (ws, resp) = tungstenite::connect(req).unwrap();
    assert_eq!(
        resp.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "push-notification"
    );
    ws
}

fn send_json(ws: &mut Ws, v: &Value) {
    ws.send(Message::text(v.to_string())).unwrap();
}

fn read_json(ws: &mut Ws) -> Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

fn hello(ws: &mut Ws, uaid: &str) -> String {
    send_json(
        ws,
        &json!({"messageType": "hello", "uaid": uaid, "channelIDs": [], "use_webpush": true}),
    );
    let reply = read_json(ws);
    assert_eq!(reply["messageType"], "hello");
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["use_webpush"], true);
    reply["uaid"].as_str().unwrap().to_owned()
}

fn subscription(endpoint: &str, receiver: &Receiver) -> Subscription {
    let keys = receiver.keys();
    Subscription::from_json(
        &json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {"p256dh": b64::encode(keys.p256dh()), "auth": b64::encode(keys.auth())},
        })
        .to_string(),
    )
    .unwrap()
}

fn get_json(url: &str) -> Value {
    let body = ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// Waits until `f` holds (the ack travels on another connection than the query).
fn eventually(mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Padded base64url, as Firefox sends `key` in `register`.
fn padded(bytes: &[u8]) -> String {
    let mut s = b64::encode(bytes);
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

#[test]
fn firefox_protocol_delivers_decryptable_messages_and_records_acks() {
    let service = kms_pushd::start(&Config {
        audience: Some(AUD.into()),
        ..Config::loopback()
    })
    .unwrap();
    let mut rng = rand::rng();
    let vapid = VapidKey::generate(&mut rng);
    let receiver = Receiver::generate(&mut rng);

    let mut ws = connect(&service.ws_url());
    // A ping before anything else is answered.
    send_json(&mut ws, &json!({}));
    assert_eq!(read_json(&mut ws), json!({}));
    let uaid = hello(&mut ws, "");
    assert_eq!(uaid.len(), 32);
    let channel = "5b3a0f4e-7c8d-4e1f-9a2b-3c4d5e6f7a8b";
    send_json(
        &mut ws,
        &json!({"messageType": "register", "channelID": channel, "key": padded(&vapid.public_key())}),
    );
    let reg = read_json(&mut ws);
    assert_eq!(reg["messageType"], "register");
    assert_eq!(reg["channelID"], channel);
    assert_eq!(reg["status"], 200);
    let endpoint = reg["pushEndpoint"].as_str().unwrap().to_owned();
    assert!(endpoint.starts_with(&format!("{}/wpush/", service.http_url())));

    let sub = subscription(&endpoint, &receiver);
    let claims = VapidClaims {
        aud: AUD.into(),
        sub: Some("mailto:ops@app.example".into()),
        exp: None,
    };
    let auth = vapid.authorization(&claims, now()).unwrap();
    let options = SendOptions {
        ttl: 90,
        ..SendOptions::default()
    };
    let delivery = webpush::send(&sub, &auth.header, b"first message", &options).unwrap();
    assert_eq!(delivery.status, 201);
    let location = delivery.location.unwrap();

    let note = read_json(&mut ws);
    assert_eq!(note["messageType"], "notification");
    assert_eq!(note["channelID"], channel);
    assert_eq!(note["headers"], json!({"encoding": "aes128gcm"}));
    assert_eq!(note["ttl"], 90);
    let version = note["version"].as_str().unwrap().to_owned();
    assert!(location.ends_with(&version));
    let data = b64::decode(note["data"].as_str().unwrap()).unwrap();
    assert_eq!(receiver.decrypt(&data).unwrap(), b"first message");
    send_json(
        &mut ws,
        &json!({"messageType": "ack", "updates": [{"channelID": channel, "version": version, "code": 100}]}),
    );
    let acks_url = format!("{}/acks", service.http_url());
    eventually(|| {
        get_json(&acks_url).as_array().unwrap().iter().any(|a| {
            a["version"] == version.as_str() && a["code"] == 100 && a["uaid"] == uaid.as_str()
        })
    });
    let id = endpoint.rsplit('/').next().unwrap();
    let messages = get_json(&format!(
        "{}/subscriptions/{id}/messages",
        service.http_url()
    ));
    assert_eq!(messages[0]["ack"], 100);
    assert_eq!(messages[0]["headers"]["ttl"], 90);
    assert_eq!(messages[0]["headers"]["vapidSub"], "mailto:ops@app.example");

    // Disconnected: the message waits, and comes after the next hello with the same uaid;
    // one with TTL 0 does not.
    drop(ws);
    let id_log = format!("{}/log", service.http_url());
    eventually(|| {
        // The service has seen the connection close once a TTL 0 message is not sent.
        let now_or_never = SendOptions {
            ttl: 0,
            ..SendOptions::default()
        };
        webpush::send(&sub, &auth.header, b"now or never", &now_or_never).unwrap();
        get_json(&id_log)
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"].as_str().unwrap().starts_with("not sent: TTL 0"))
    });
    let queued = webpush::send(&sub, &auth.header, b"while away", &options).unwrap();
    assert_eq!(queued.status, 201);
    let mut ws = connect(&service.ws_url());
    assert_eq!(hello(&mut ws, &uaid), uaid);
    let note = read_json(&mut ws);
    let data = b64::decode(note["data"].as_str().unwrap()).unwrap();
    assert_eq!(receiver.decrypt(&data).unwrap(), b"while away");
    send_json(
        &mut ws,
        &json!({"messageType": "ack", "updates": [{"channelID": channel, "version": note["version"], "code": 100}]}),
    );

    // Unregistered: the push service answers 410.
    send_json(
        &mut ws,
        &json!({"messageType": "unregister", "channelID": channel, "code": 200}),
    );
    let unreg = read_json(&mut ws);
    assert_eq!(unreg["messageType"], "unregister");
    assert_eq!(unreg["status"], 200);
    assert!(matches!(
        webpush::send(&sub, &auth.header, b"too late", &options),
        Err(SendError::Gone { .. })
    ));

    // The WebSocket side's messages are in the log too.
    let log = get_json(&format!("{}/log", service.http_url()));
    for (path, reason) in [
        ("hello", "new uaid"),
        ("register", "channel 5b3a0f4e"),
        ("ack", "code 100"),
        ("unregister", "unregistered"),
    ] {
        assert!(
            log.as_array().unwrap().iter().any(|e| e["method"] == "WS"
                && e["path"] == path
                && e["reason"].as_str().unwrap().contains(reason)),
            "{path}: {log}"
        );
    }

    // An unknown uaid gets a new one (as autopush does).
    let mut other = connect(&service.ws_url());
    assert_ne!(hello(&mut other, "0123456789abcdef0123456789abcdef"), uaid);
}

/// A compact ES256 JWT with any claims, signed by `key` (what the enclave's signer does).
fn token(key: &SigningKey, claims: &Value) -> String {
    jws::sign_compact(key, None, claims).unwrap()
}

fn header(key: &SigningKey, token: &str) -> String {
    format!(
        "vapid t={token}, k={}",
        b64::encode(key.public_key().to_bytes())
    )
}

/// POSTs `body` with `headers`; returns the status.
fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send(body).unwrap().status().as_u16()
}

#[test]
fn refusals_as_a_push_service_answers_them() {
    let service = kms_pushd::start(&Config::loopback()).unwrap();
    let origin = service.http_url();
    assert_eq!(service.audience(), origin);
    let mut rng = rand::rng();
    let app = SigningKey::generate(JwsAlg::ES256, &mut rng);
    let stranger = SigningKey::generate(JwsAlg::ES256, &mut rng);
    let receiver = Receiver::generate(&mut rng);

    let created: Value = serde_json::from_str(
        &ureq::post(format!("{origin}/subscriptions"))
            .send(
                json!({"applicationServerKey": b64::encode(app.public_key().to_bytes())})
                    .to_string(),
            )
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    let id = created["id"].as_str().unwrap();
    let endpoint = created["endpoint"].as_str().unwrap();
    assert_eq!(endpoint, format!("{origin}/wpush/{id}"));
    let sub = subscription(endpoint, &receiver);
    let opts = SendOptions::default();
    let claims = |aud: &str, exp: u64| json!({"aud": aud, "exp": exp, "sub": "mailto:a@b.example"});
    let good = header(&app, &token(&app, &claims(&origin, now() + 3600)));

    let send = |auth: &str| webpush::send(&sub, auth, b"hello", &opts);
    assert_eq!(send(&good).unwrap().status, 201);

    let cases: Vec<(String, u16, &str)> = vec![
        (
            header(&stranger, &token(&stranger, &claims(&origin, now() + 3600))),
            403,
            "not the applicationServerKey",
        ),
        (
            header(&app, &token(&app, &claims(&origin, now() - 10))),
            401,
            "expired",
        ),
        (
            header(
                &app,
                &token(&app, &claims(&origin, now() + 24 * 3600 + 3600)),
            ),
            401,
            "more than 24 h",
        ),
        (
            header(
                &app,
                &token(&app, &claims("http://127.0.0.1:1", now() + 3600)),
            ),
            403,
            "is not this push service",
        ),
        (
            // Signed by a stranger, but claiming the app's key.
            header(&app, &token(&stranger, &claims(&origin, now() + 3600))),
            401,
            "signature does not verify",
        ),
        (
            format!(
                "vapid t=not-a-token, k={}",
                b64::encode(app.public_key().to_bytes())
            ),
            401,
            "malformed token",
        ),
        (
            format!("Bearer {}", token(&app, &claims(&origin, now() + 60))),
            401,
            "scheme",
        ),
        (
            header(&app, &token(&app, &json!({"aud": origin}))),
            401,
            "no numeric exp",
        ),
    ];
    for (auth, status, _) in &cases {
        let err = send(auth).unwrap_err();
        assert_eq!(err.status(), Some(*status), "{auth}: {err}");
    }

    let body = webpush::encrypt(&receiver.keys(), b"raw", &mut rng).unwrap();
    let std_headers = [
        ("Authorization", good.as_str()),
        ("TTL", "30"),
        ("Content-Encoding", "aes128gcm"),
    ];
    assert_eq!(post(endpoint, &std_headers, &body), 201);
    assert_eq!(
        post(endpoint, &std_headers[1..], &body),
        401,
        "no Authorization"
    );
    assert_eq!(
        post(endpoint, &[std_headers[0], std_headers[2]], &body),
        400,
        "no TTL"
    );
    assert_eq!(
        post(
            endpoint,
            &[
                std_headers[0],
                std_headers[1],
                ("Content-Encoding", "aesgcm")
            ],
            &body
        ),
        400
    );
    assert_eq!(post(endpoint, &std_headers, &[0; 4097]), 413);
    assert_eq!(post(endpoint, &std_headers, &[0; 4096]), 201);
    assert_eq!(
        post(
            &format!("{origin}/wpush/nosuchsubscription"),
            &std_headers,
            &body
        ),
        404
    );

    let messages = get_json(&format!("{origin}/subscriptions/{id}/messages"));
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(
        receiver
            .decrypt(&b64::decode(messages[1]["body"].as_str().unwrap()).unwrap())
            .unwrap(),
        b"raw"
    );
    assert_eq!(messages[1]["headers"]["contentEncoding"], "aes128gcm");
    assert_eq!(
        messages[1]["headers"]["vapidKey"],
        b64::encode(app.public_key().to_bytes())
    );

    let deleted = ureq::delete(format!("{origin}/subscriptions/{id}"))
        .call()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    assert!(matches!(send(&good), Err(SendError::Gone { .. })));

    // The log says why each request got its answer.
    let log = get_json(&format!("{origin}/log"));
    let log = log.as_array().unwrap();
    let path = format!("/wpush/{id}");
    for (_, status, reason) in &cases {
        assert!(
            log.iter().any(|e| e["path"] == path.as_str()
                && e["status"] == *status
                && e["reason"].as_str().unwrap().contains(reason)),
            "{status} {reason}: {log:?}"
        );
    }
    for (status, reason) in [
        (400, "TTL header missing"),
        (400, "only aes128gcm"),
        (401, "no Authorization header"),
        (413, "over 4096 bytes"),
        (410, "unsubscribed"),
    ] {
        assert!(
            log.iter()
                .any(|e| e["status"] == status && e["reason"].as_str().unwrap().contains(reason)),
            "{status} {reason}"
        );
    }
    assert!(
        log.iter()
            .any(|e| e["path"] == "/wpush/nosuchsubscription" && e["status"] == 404)
    );
}

#[test]
fn unrestricted_and_malformed_subscriptions() {
    let service = kms_pushd::start(&Config::loopback()).unwrap();
    let origin = service.http_url();
    let created = ureq::post(format!("{origin}/subscriptions"))
        .send("{}")
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let created: Value = serde_json::from_str(&created).unwrap();
    let endpoint = created["endpoint"].as_str().unwrap();
    // No applicationServerKey: no VAPID needed, as for a subscription made without one.
    assert_eq!(post(endpoint, &[("TTL", "0")], b""), 201);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let bad = agent
        .post(format!("{origin}/subscriptions"))
        .send(json!({"applicationServerKey": "AAAA"}).to_string())
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    // A page may call the service: CORS preflight and headers.
    let preflight = agent
        .run(
            ureq::http::Request::builder()
                .method("OPTIONS")
                .uri(endpoint)
                .header("Origin", "http://127.0.0.1:1")
                .header("Access-Control-Request-Method", "POST")
                .body(())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(
        allowed.contains("Authorization") && allowed.contains("TTL"),
        "{allowed}"
    );
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let posted = agent
        .post(endpoint)
        .header("TTL", "0")
        .send(&b""[..])
        .unwrap();
    assert_eq!(posted.headers()["access-control-allow-origin"], "*");
    assert!(
        posted.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("Location")
    );
}

/// Kills the binary when the test ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_prints_its_ports_as_one_json_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kms-pushd"))
        .args(["--ws-port", "0", "--http-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _daemon = Daemon(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let started: Value = serde_json::from_str(&line).unwrap();
    let keys: Vec<&String> = started.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["http", "ws"]);
    let ws = started["ws"].as_str().unwrap();
    let http = started["http"].as_str().unwrap();
    assert!(
        ws.starts_with("ws://127.0.0.1:") && ws.ends_with('/'),
        "{ws}"
    );
    assert!(http.starts_with("http://127.0.0.1:"), "{http}");
    assert_eq!(get_json(&format!("{http}/log")), json!([]));
    let mut client = connect(ws);
    hello(&mut client, "");
}
