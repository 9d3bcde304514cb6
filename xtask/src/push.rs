//! The demo server's Web Push sender, `POST /push/send` on the PWA's origins: the page
//! hands over its subscription, the `Authorization` header the enclave signed and a short
//! text, and the server sends it with `kms-relay push send` (RFC 8291 `aes128gcm`, then a
//! POST to the subscription's push service). A push service refuses requests from pages,
//! so sending is always a server's job; this one holds no key, only the header the enclave
//! signed for that push service.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::{Value, json};

/// The largest request body the sender reads.
pub(crate) const MAX_BODY: usize = 16 * 1024;
/// The longest text the demo sends (a push message carries at most 4096 bytes, with the
/// RFC 8291 header and padding inside that).
const MAX_TEXT: usize = 2048;

/// Sends push messages through the `kms-relay` binary.
#[derive(Debug)]
pub(crate) struct PushSender {
    relay: PathBuf,
    sent: AtomicU64,
}

/// What the page posts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    /// `PushSubscription.toJSON()`.
    subscription: Value,
    /// `vapid t=…, k=…`, from the enclave's `vapid.authorization`.
    authorization: String,
    /// The message.
    text: String,
}

impl PushSender {
    /// A sender that runs `relay` (the `kms-relay` binary).
    pub(crate) fn new(relay: PathBuf) -> Self {
        Self {
            relay,
            sent: AtomicU64::new(0),
        }
    }

    /// Handles one request body: the HTTP status and a JSON answer. A push service's
    /// refusal is an answer (`{"status":403,"outcome":…}`, HTTP 200); a bad request is 400,
    /// a push service that cannot be reached 502.
    pub(crate) fn handle(&self, body: &[u8]) -> (u16, Value) {
        let request: Request = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => return (400, json!({ "error": format!("not a push request: {e}") })),
        };
        if let Err(why) = check(&request) {
            return (400, json!({ "error": why }));
        }
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        let file =
            std::env::temp_dir().join(format!("kms-demo-push-{}-{n}.json", std::process::id()));
        if let Err(e) = std::fs::write(&file, request.subscription.to_string()) {
            return (
                500,
                json!({ "error": format!("writing the subscription: {e}") }),
            );
        }
        let output = Command::new(&self.relay)
            .args(["push", "send", "--subscription"])
            .arg(&file)
            .args(["--authorization", &request.authorization])
            .args(["--payload", &request.text])
            .output();
        let _ = std::fs::remove_file(&file);
        let output = match output {
            Ok(o) => o,
            Err(e) => return (500, json!({ "error": format!("running kms-relay: {e}") })),
        };
        let line = String::from_utf8_lossy(&output.stdout);
        match serde_json::from_str::<Value>(line.trim()) {
            Ok(answer) if output.status.code().is_some_and(|c| c == 0 || c == 2) => (200, answer),
            _ => (
                502,
                json!({ "error": String::from_utf8_lossy(&output.stderr).trim().to_owned() }),
            ),
        }
    }
}

/// Refuses what the demo's sender has no business sending: a push service that is not
/// https (or this machine's own, for a local push service), or a long text.
fn check(request: &Request) -> Result<(), String> {
    let endpoint = request
        .subscription
        .get("endpoint")
        .and_then(Value::as_str)
        .ok_or("the subscription has no endpoint")?;
    let local = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if !endpoint.starts_with("https://") && !local.iter().any(|p| endpoint.starts_with(p)) {
        return Err(format!(
            "the endpoint {endpoint} is neither https nor this machine's"
        ));
    }
    if request.text.len() > MAX_TEXT {
        return Err(format!("the text is over {MAX_TEXT} bytes"));
    }
    if !request.authorization.starts_with("vapid ") {
        return Err("the authorization is not a VAPID header".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(endpoint: &str, text: &str, authorization: &str) -> Vec<u8> {
        json!({
            "subscription": { "endpoint": endpoint, "keys": { "p256dh": "x", "auth": "y" } },
            "authorization": authorization,
            "text": text,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn refuses_what_it_should_not_send() {
        let sender = PushSender::new(PathBuf::from("/nonexistent/kms-relay"));
        for body in [
            request("http://push.example.net/x", "hi", "vapid t=a, k=b"),
            request("file:///etc/passwd", "hi", "vapid t=a, k=b"),
            request(
                "https://push.example.net/x",
                &"x".repeat(MAX_TEXT + 1),
                "vapid t=a, k=b",
            ),
            request("https://push.example.net/x", "hi", "Bearer x"),
            b"{\"subscription\":{}}".to_vec(),
            b"not json".to_vec(),
        ] {
            assert_eq!(sender.handle(&body).0, 400);
        }
        // A good request reaches the binary (which is missing here).
        let ok = request("https://push.example.net/x", "hi", "vapid t=a, k=b");
        assert_eq!(sender.handle(&ok).0, 500);
    }
}
