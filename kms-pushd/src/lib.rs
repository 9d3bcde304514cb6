//! `kms-pushd`: a local Web Push service for tests, so a browser's push subscription and an
//! application server's messages can be exercised without a public push service.
//!
//! - [`ws`]: the WebSocket side, Firefox's push protocol (Mozilla autopush), so Firefox
//!   with `dom.push.serverURL = ws://127.0.0.1:<port>/` (and
//!   `dom.push.testing.allowInsecureServerURL = true`) subscribes here and receives
//!   messages.
//! - [`http`]: `POST /wpush/<id>`, checked as a push service does — the VAPID token
//!   ([`vapid`]: signature under `k`, `k` the subscription's key, `aud` this service,
//!   `exp` within 24 h), `TTL`, `Content-Encoding: aes128gcm`, 4096 bytes at most — plus a
//!   test API: subscriptions without a browser, what each received, and why each request
//!   was answered as it was.
//! - [`hub`]: the state both sides share.
//!
//! Messages and API: `docs/formats.md` ("Local push service"). It keeps everything in
//! memory and binds loopback only; it is a test fixture, not a push service to deploy.
#![forbid(unsafe_code)]

pub mod http;
pub mod hub;
pub mod vapid;
pub mod ws;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use hub::Hub;

/// HTTP worker threads.
const HTTP_THREADS: usize = 4;

/// Where to listen.
#[derive(Debug, Clone)]
pub struct Config {
    /// The WebSocket side (`127.0.0.1:0` picks a free port).
    pub ws_bind: SocketAddr,
    /// The HTTP side.
    pub http_bind: SocketAddr,
    /// The `aud` VAPID tokens must name; default this service's HTTP origin
    /// (`http://127.0.0.1:<port>`).
    pub audience: Option<String>,
}

impl Config {
    /// Both sides on free loopback ports, `aud` the HTTP origin.
    pub fn loopback() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            ws_bind: any,
            http_bind: any,
            audience: None,
        }
    }
}

/// The service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A port could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A running service; stops when dropped.
pub struct Running {
    ws_addr: SocketAddr,
    http_addr: SocketAddr,
    audience: String,
    hub: Arc<Hub>,
    stop: Arc<AtomicBool>,
    http: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
}

impl core::fmt::Debug for Running {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "kms-pushd(ws {}, http {})", self.ws_addr, self.http_addr)
    }
}

impl Running {
    /// `ws://127.0.0.1:<port>/`, for `dom.push.serverURL`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.ws_addr)
    }

    /// `http://127.0.0.1:<port>`: the endpoints' origin.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The `aud` VAPID tokens must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The shared state (subscriptions, messages, log), for tests in-process.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The start-up line: `{"ws":"ws://127.0.0.1:P/","http":"http://127.0.0.1:Q"}`.
    pub fn startup_line(&self) -> String {
        serde_json::json!({"ws": self.ws_url(), "http": self.http_url()}).to_string()
    }

    /// Blocks until the service stops (it runs until killed, or [`Running`] is dropped
    /// elsewhere).
    pub fn join(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the WebSocket accept loop; connections see the flag within one poll.
        let _ = TcpStream::connect(self.ws_addr);
        for _ in 0..HTTP_THREADS {
            self.http.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts both sides.
///
/// # Errors
/// [`StartError`] if a port cannot be bound.
pub fn start(config: &Config) -> Result<Running, StartError> {
    let listener = TcpListener::bind(config.ws_bind).map_err(|e| StartError::Bind {
        addr: config.ws_bind,
        source: Box::new(e),
    })?;
    let ws_addr = listener.local_addr().map_err(|e| StartError::Bind {
        addr: config.ws_bind,
        source: Box::new(e),
    })?;
    let http = tiny_http::Server::http(config.http_bind).map_err(|source| StartError::Bind {
        addr: config.http_bind,
        source,
    })?;
    let http_addr = http.server_addr().to_ip().ok_or_else(|| StartError::Bind {
        addr: config.http_bind,
        source: "not an IP listener".into(),
    })?;
    let origin = format!("http://{http_addr}");
    let audience = config.audience.clone().unwrap_or_else(|| origin.clone());
    let hub = Arc::new(Hub::new(origin));
    let stop = Arc::new(AtomicBool::new(false));
    let http = Arc::new(http);
    let side = http::HttpSide {
        hub: Arc::clone(&hub),
        audience: audience.clone(),
    };
    let mut threads: Vec<JoinHandle<()>> = (0..HTTP_THREADS)
        .map(|_| {
            let server = Arc::clone(&http);
            let side = side.clone();
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    http::handle(&side, req);
                }
            })
        })
        .collect();
    {
        let hub = Arc::clone(&hub);
        let stop = Arc::clone(&stop);
        threads.push(std::thread::spawn(move || {
            ws::serve(&listener, &hub, &stop)
        }));
    }
    Ok(Running {
        ws_addr,
        http_addr,
        audience,
        hub,
        stop,
        http,
        threads,
    })
}
