//! `webpush::send` against a real HTTP server on loopback: the request a push service sees
//! (headers, an encrypted body that decrypts with the subscriber's keys) and the typed
//! outcome of each status a push service answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::mpsc;
use std::thread::JoinHandle;

use kms_relay::webpush::{
    self, Delivery, MAX_PLAINTEXT_LEN, Receiver, SendError, SendOptions, Subscription, Urgency,
};

const AUTHORIZATION: &str = "vapid t=eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.e30.c2ln, k=BAAA";

/// What the server saw of one request.
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One answer: status, an extra header, body.
type Answer = (u16, Option<(&'static str, &'static str)>, &'static str);

/// A server answering each request with the next of `answers`.
fn serve(answers: Vec<Answer>) -> (String, mpsc::Receiver<Seen>, JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        for (status, extra, body) in answers {
            let mut req = server.recv().unwrap();
            let mut bytes = Vec::new();
            req.as_reader().read_to_end(&mut bytes).unwrap();
            tx.send(Seen {
                method: req.method().as_str().to_owned(),
                path: req.url().to_owned(),
                headers: req
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().as_str().to_owned(),
                            h.value.as_str().to_owned(),
                        )
                    })
                    .collect(),
                body: bytes,
            })
            .unwrap();
            let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
            if let Some((k, v)) = extra {
                resp.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
            }
            req.respond(resp).unwrap();
        }
    });
    (format!("http://127.0.0.1:{port}/wpush/abc"), rx, handle)
}

fn subscription(endpoint: &str, receiver: &Receiver) -> Subscription {
    let keys = receiver.keys();
    Subscription::from_json(&format!(
        r#"{{"endpoint":"{endpoint}","expirationTime":null,"keys":{{"p256dh":"{}","auth":"{}"}}}}"#,
        kms_core::hazmat::b64::encode(keys.p256dh()),
        kms_core::hazmat::b64::encode(keys.auth()),
    ))
    .unwrap()
}

#[test]
fn delivered_request_carries_the_headers_and_an_encrypted_body() {
    let receiver = Receiver::generate(&mut rand::rng());
    let (endpoint, seen, server) = serve(vec![
        (201, Some(("Location", "http://127.0.0.1/m/1")), ""),
        (202, None, ""),
    ]);
    let sub = subscription(&endpoint, &receiver);
    let options = SendOptions {
        ttl: 120,
        urgency: Some(Urgency::High),
        topic: Some("inbox".into()),
    };
    let delivery = webpush::send(&sub, AUTHORIZATION, b"hello push", &options).unwrap();
    assert_eq!(
        delivery,
        Delivery {
            status: 201,
            location: Some("http://127.0.0.1/m/1".into())
        }
    );
    let req = seen.recv().unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/wpush/abc");
    assert_eq!(req.header("Content-Encoding"), Some("aes128gcm"));
    assert_eq!(req.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(req.header("TTL"), Some("120"));
    assert_eq!(req.header("Authorization"), Some(AUTHORIZATION));
    assert_eq!(req.header("Urgency"), Some("high"));
    assert_eq!(req.header("Topic"), Some("inbox"));
    assert_eq!(receiver.decrypt(&req.body).unwrap(), b"hello push");

    let delivery = webpush::send(&sub, AUTHORIZATION, b"", &SendOptions::default()).unwrap();
    assert_eq!(
        delivery,
        Delivery {
            status: 202,
            location: None
        }
    );
    let req = seen.recv().unwrap();
    assert_eq!(req.header("TTL"), Some("60"));
    assert_eq!(req.header("Urgency"), None);
    assert_eq!(req.header("Topic"), None);
    assert_eq!(receiver.decrypt(&req.body).unwrap(), b"");
    server.join().unwrap();
}

#[test]
fn each_refusal_is_typed_with_the_body() {
    let receiver = Receiver::generate(&mut rand::rng());
    let answers = vec![
        (400, None, "bad ttl"),
        (401, None, "expired token"),
        (403, None, "key mismatch"),
        (404, None, "no such subscription"),
        (410, None, "unsubscribed"),
        (413, None, "too big"),
        (429, Some(("Retry-After", "30")), "slow down"),
        (500, None, "oops"),
        (200, None, "not a push answer"),
    ];
    let (endpoint, _seen, server) = serve(answers);
    let sub = subscription(&endpoint, &receiver);
    let body = |b: &str| b.to_owned();
    let expected = [
        SendError::BadRequest {
            body: body("bad ttl"),
        },
        SendError::Unauthorized {
            body: body("expired token"),
        },
        SendError::Forbidden {
            body: body("key mismatch"),
        },
        SendError::NotFound {
            body: body("no such subscription"),
        },
        SendError::Gone {
            body: body("unsubscribed"),
        },
        SendError::TooLarge {
            body: body("too big"),
        },
        SendError::TooManyRequests {
            retry_after: Some(30),
            body: body("slow down"),
        },
        SendError::Other {
            status: 500,
            body: body("oops"),
        },
        SendError::Other {
            status: 200,
            body: body("not a push answer"),
        },
    ];
    for want in expected {
        let got = webpush::send(&sub, AUTHORIZATION, b"x", &SendOptions::default()).unwrap_err();
        assert_eq!(got.status(), want.status());
        assert_eq!(got, want);
    }
    server.join().unwrap();
}

#[test]
fn oversized_payload_is_refused_before_sending() {
    let receiver = Receiver::generate(&mut rand::rng());
    // Nothing listens: a request would be a transport error, not this one.
    let sub = subscription("http://127.0.0.1:9/wpush/none", &receiver);
    let err = webpush::send(
        &sub,
        AUTHORIZATION,
        &[0; MAX_PLAINTEXT_LEN + 1],
        &SendOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        SendError::PayloadTooLarge {
            len: MAX_PLAINTEXT_LEN + 1,
            max: MAX_PLAINTEXT_LEN
        }
    );
    assert_eq!(err.outcome(), "too_large_to_send");
    assert!(matches!(
        webpush::send(&sub, AUTHORIZATION, b"x", &SendOptions::default()),
        Err(SendError::Transport(_))
    ));
}
