//! The push service's state, shared by the WebSocket and HTTP sides: subscriptions, the
//! user agents they belong to, the messages accepted for each, acknowledgements and the
//! request log.

use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::sync::{Mutex, MutexGuard};

use kms_core::hazmat::b64;
use rand::RngExt as _;
use serde::Serialize;

/// Who receives a subscription's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// A user agent on the WebSocket (`uaid`, `channelID`).
    WebSocket {
        /// The user agent.
        uaid: String,
        /// The channel.
        channel_id: String,
    },
    /// Nobody: messages are only kept (`POST /subscriptions`).
    Http,
}

/// One accepted message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMessage {
    /// Its id (the WebSocket `version`).
    pub version: String,
    /// The body as received, base64url.
    pub body: String,
    /// The push headers it came with.
    pub headers: MessageHeaders,
    /// When it was accepted (ms since the epoch).
    pub received_ms: u64,
    /// The user agent's acknowledgement code (100 delivered, 101 decryption error,
    /// 102 not delivered), once it acknowledged.
    pub ack: Option<u16>,
}

/// The headers of an accepted message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageHeaders {
    /// `TTL`.
    pub ttl: u64,
    /// `Content-Encoding` (`aes128gcm`), absent for an empty message.
    pub content_encoding: Option<String>,
    /// `Urgency`.
    pub urgency: Option<String>,
    /// `Topic`.
    pub topic: Option<String>,
    /// The VAPID key that signed it (`k`), if any.
    pub vapid_key: Option<String>,
    /// The VAPID `sub`, if any.
    pub vapid_sub: Option<String>,
}

/// A subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Its id, the last path segment of its endpoint.
    pub id: String,
    /// The applicationServerKey it was created with (`None`: unrestricted).
    pub key: Option<[u8; 65]>,
    /// Who receives its messages.
    pub binding: Binding,
    /// False once unsubscribed: messages are then refused with 410.
    pub active: bool,
    /// Accepted messages.
    pub messages: Vec<StoredMessage>,
}

/// One request's outcome, for `GET /log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// `POST`, `GET`, … or `WS` for a WebSocket message.
    pub method: String,
    /// The path, or the WebSocket `messageType`.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// Why (a refusal's reason, or what was done).
    pub reason: String,
}

/// A user agent's acknowledgement (`ack`) or delivery error (`nack`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AckEntry {
    /// `ack` or `nack`.
    pub kind: String,
    /// The user agent.
    pub uaid: String,
    /// The channel (absent in a `nack`).
    pub channel_id: Option<String>,
    /// The message.
    pub version: String,
    /// The code it sent.
    pub code: u16,
}

/// A notification not yet acknowledged.
#[derive(Debug, Clone)]
struct Pending {
    version: String,
    frame: String,
    /// When its TTL runs out (ms since the epoch): it is then no longer sent.
    expires_ms: u64,
}

/// A user agent known to the WebSocket side.
#[derive(Debug, Default)]
struct UserAgent {
    /// The connection currently serving it: (connection number, outgoing frames).
    connection: Option<(u64, Sender<String>)>,
    /// Notifications sent or waiting, not yet acknowledged, in order.
    unacked: Vec<Pending>,
}

#[derive(Debug, Default)]
struct Inner {
    subscriptions: HashMap<String, Subscription>,
    channels: HashMap<(String, String), String>,
    agents: HashMap<String, UserAgent>,
    log: Vec<LogEntry>,
    acks: Vec<AckEntry>,
    next_version: u64,
}

/// The outcome of accepting a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Sent on the user agent's WebSocket.
    Sent(String),
    /// Kept until the user agent connects (or for `GET /subscriptions/<id>/messages`).
    Queued(String),
    /// Not sent: `TTL: 0` and the user agent is not connected (still listed in
    /// `GET /subscriptions/<id>/messages`).
    Dropped(String),
}

/// Registering a channel failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// The channel is registered with another key.
    Conflict,
}

/// The shared state.
#[derive(Debug)]
pub struct Hub {
    origin: String,
    inner: Mutex<Inner>,
}

/// A fresh random id: 16 bytes, base64url.
pub fn random_id() -> String {
    b64::encode(rand::rng().random::<[u8; 16]>())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Hub {
    /// A hub whose endpoints are under `origin` (`http://127.0.0.1:<port>`).
    pub fn new(origin: String) -> Self {
        Self {
            origin,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking holder leaves plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The HTTP origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The push endpoint of subscription `id`.
    pub fn endpoint(&self, id: &str) -> String {
        format!("{}/wpush/{id}", self.origin)
    }

    /// Records a request's outcome (and reports it on stderr).
    pub fn log(&self, method: &str, path: &str, status: u16, reason: impl Into<String>) {
        let entry = LogEntry {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            reason: reason.into(),
        };
        eprintln!(
            "kms-pushd: {} {} -> {} {}",
            entry.method, entry.path, entry.status, entry.reason
        );
        self.lock().log.push(entry);
    }

    /// Every logged outcome, oldest first.
    pub fn log_entries(&self) -> Vec<LogEntry> {
        self.lock().log.clone()
    }

    /// Every acknowledgement, oldest first.
    pub fn acks(&self) -> Vec<AckEntry> {
        self.lock().acks.clone()
    }

    /// A subscription not bound to a WebSocket client.
    pub fn subscribe_http(&self, key: Option<[u8; 65]>) -> String {
        let id = random_id();
        self.lock().subscriptions.insert(
            id.clone(),
            Subscription {
                id: id.clone(),
                key,
                binding: Binding::Http,
                active: true,
                messages: Vec::new(),
            },
        );
        id
    }

    /// A subscription by id.
    pub fn subscription(&self, id: &str) -> Option<Subscription> {
        self.lock().subscriptions.get(id).cloned()
    }

    /// Ends a subscription: later messages get 410. False if unknown.
    pub fn unsubscribe(&self, id: &str) -> bool {
        let mut inner = self.lock();
        let Some(sub) = inner.subscriptions.get_mut(id) else {
            return false;
        };
        sub.active = false;
        if let Binding::WebSocket { uaid, channel_id } = sub.binding.clone() {
            inner.channels.remove(&(uaid, channel_id));
        }
        true
    }

    /// `hello`: the user agent `uaid` if it is known, else a new one, now served by
    /// `connection`. Returns the uaid and the notifications waiting for it.
    pub fn hello(
        &self,
        uaid: Option<&str>,
        connection: u64,
        frames: Sender<String>,
    ) -> (String, Vec<String>) {
        let mut inner = self.lock();
        let uaid = match uaid {
            Some(u) if inner.agents.contains_key(u) => u.to_owned(),
            _ => loop {
                let u = format!("{:032x}", rand::rng().random::<u128>());
                if !inner.agents.contains_key(&u) {
                    break u;
                }
            },
        };
        let agent = inner.agents.entry(uaid.clone()).or_default();
        agent.connection = Some((connection, frames));
        let now = now_ms();
        agent.unacked.retain(|p| p.expires_ms > now);
        let waiting = agent.unacked.iter().map(|p| p.frame.clone()).collect();
        (uaid, waiting)
    }

    /// The connection `connection` of `uaid` closed.
    pub fn disconnect(&self, uaid: &str, connection: u64) {
        if let Some(agent) = self.lock().agents.get_mut(uaid)
            && agent
                .connection
                .as_ref()
                .is_some_and(|(c, _)| *c == connection)
        {
            agent.connection = None;
        }
    }

    /// `register`: the endpoint of `uaid`'s channel, created with `key`.
    ///
    /// # Errors
    /// [`RegisterRefusal::Conflict`] if the channel exists with another key.
    pub fn register(
        &self,
        uaid: &str,
        channel_id: &str,
        key: Option<[u8; 65]>,
    ) -> Result<String, RegisterRefusal> {
        let mut inner = self.lock();
        let channel = (uaid.to_owned(), channel_id.to_owned());
        if let Some(id) = inner.channels.get(&channel) {
            return match inner.subscriptions.get(id) {
                Some(sub) if sub.key == key => Ok(self.endpoint(id)),
                _ => Err(RegisterRefusal::Conflict),
            };
        }
        let id = random_id();
        inner.subscriptions.insert(
            id.clone(),
            Subscription {
                id: id.clone(),
                key,
                binding: Binding::WebSocket {
                    uaid: uaid.to_owned(),
                    channel_id: channel_id.to_owned(),
                },
                active: true,
                messages: Vec::new(),
            },
        );
        inner.channels.insert(channel, id.clone());
        Ok(self.endpoint(&id))
    }

    /// `unregister`: ends `uaid`'s channel. False if unknown.
    pub fn unregister(&self, uaid: &str, channel_id: &str) -> bool {
        let id = self
            .lock()
            .channels
            .get(&(uaid.to_owned(), channel_id.to_owned()))
            .cloned();
        id.is_some_and(|id| self.unsubscribe(&id))
    }

    /// Accepts a message for the active subscription `id` and sends it to its user agent
    /// if connected. `None` if there is no such active subscription.
    pub fn accept(&self, id: &str, body: &[u8], headers: MessageHeaders) -> Option<Accepted> {
        let mut inner = self.lock();
        inner.next_version += 1;
        let version = format!("{:016x}{}", inner.next_version, &random_id()[..8]);
        let sub = inner.subscriptions.get_mut(id).filter(|s| s.active)?;
        let ttl = headers.ttl;
        sub.messages.push(StoredMessage {
            version: version.clone(),
            body: b64::encode(body),
            headers,
            received_ms: now_ms(),
            ack: None,
        });
        let Binding::WebSocket { uaid, channel_id } = sub.binding.clone() else {
            return Some(Accepted::Queued(version));
        };
        let mut frame = serde_json::json!({
            "messageType": "notification",
            "channelID": channel_id,
            "version": version,
            "ttl": ttl,
        });
        if !body.is_empty() {
            frame["data"] = b64::encode(body).into();
            frame["headers"] = serde_json::json!({"encoding": "aes128gcm"});
        }
        let frame = frame.to_string();
        let agent = inner.agents.entry(uaid).or_default();
        let sent = agent
            .connection
            .as_ref()
            .is_some_and(|(_, tx)| tx.send(frame.clone()).is_ok());
        // Kept until acknowledged, and sent again after each `hello`, while its TTL lasts:
        // a TTL of 0 means now or never (RFC 8030 §5.2).
        if sent || ttl > 0 {
            agent.unacked.push(Pending {
                version: version.clone(),
                frame,
                expires_ms: now_ms().saturating_add(ttl.saturating_mul(1000)),
            });
        }
        Some(if sent {
            Accepted::Sent(version)
        } else if ttl > 0 {
            Accepted::Queued(version)
        } else {
            Accepted::Dropped(version)
        })
    }

    /// Records an `ack` (or a `nack`, without channel) from `uaid`.
    pub fn ack(&self, kind: &str, uaid: &str, channel_id: Option<&str>, version: &str, code: u16) {
        let mut inner = self.lock();
        if let Some(agent) = inner.agents.get_mut(uaid) {
            agent.unacked.retain(|p| p.version != version);
        }
        // Versions are unique across subscriptions.
        let message = inner
            .subscriptions
            .values_mut()
            .flat_map(|s| s.messages.iter_mut())
            .find(|m| m.version == version);
        if let Some(m) = message {
            m.ack = Some(code);
        }
        inner.acks.push(AckEntry {
            kind: kind.to_owned(),
            uaid: uaid.to_owned(),
            channel_id: channel_id.map(str::to_owned),
            version: version.to_owned(),
            code,
        });
    }
}
