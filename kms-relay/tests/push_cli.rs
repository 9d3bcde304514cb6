//! `kms-relay push send` as a script runs it: one JSON line, exit 0 when delivered and 2
//! when refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::process::Command;

use kms_core::hazmat::b64;
use kms_relay::webpush::Receiver;

#[test]
fn push_send_prints_one_json_line_and_exits_by_outcome() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let answers = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for (status, body) in [(201, ""), (403, "vapid key mismatch")] {
            let mut req = server.recv().unwrap();
            let mut bytes = Vec::new();
            req.as_reader().read_to_end(&mut bytes).unwrap();
            bodies.push(bytes);
            let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
            if status == 201 {
                resp.add_header(tiny_http::Header::from_bytes("Location", "/m/7").unwrap());
            }
            req.respond(resp).unwrap();
        }
        bodies
    });
    let receiver = Receiver::generate(&mut rand::rng());
    let keys = receiver.keys();
    let dir = std::env::temp_dir().join(format!("kms-relay-push-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("subscription.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"endpoint":"http://127.0.0.1:{port}/wpush/x","expirationTime":null,"keys":{{"p256dh":"{}","auth":"{}"}}}}"#,
            b64::encode(keys.p256dh()),
            b64::encode(keys.auth())
        ),
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_kms-relay"))
            .args(["push", "send", "--subscription"])
            .arg(&file)
            .args([
                "--authorization",
                "vapid t=a.b.c, k=d",
                "--payload",
                "hi",
                "--ttl",
                "30",
            ])
            .output()
            .unwrap()
    };
    let delivered = run();
    assert_eq!(delivered.status.code(), Some(0));
    let line: serde_json::Value = serde_json::from_slice(&delivered.stdout).unwrap();
    assert_eq!(
        line,
        serde_json::json!({"status": 201, "outcome": "delivered", "location": "/m/7"})
    );
    let refused = run();
    assert_eq!(refused.status.code(), Some(2));
    let line: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(
        line,
        serde_json::json!({"status": 403, "outcome": "forbidden", "body": "vapid key mismatch"})
    );
    let bodies = answers.join().unwrap();
    assert_eq!(receiver.decrypt(&bodies[0]).unwrap(), b"hi");
    let _ = std::fs::remove_dir_all(&dir);
}
