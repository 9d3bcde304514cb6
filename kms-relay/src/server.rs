//! The vending service over HTTP/1.1 (`tiny_http`, a fixed pool of worker threads); its
//! API — paths, bodies, error answers — is [`crate::api`].
//!
//! Uploaded prekeys must verify under the owner's identity key: the server refuses what a
//! sender would refuse, so a bad upload fails loudly at the owner instead of at each sender.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use kms_core::Clock;
use kms_core::envelope::SignedPrekey;
use kms_core::signal::identity::PublicKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tiny_http::{Header, Request, Response};

use crate::admission;
pub use crate::api::MAX_BODY;
pub use crate::api::UPLOAD_SCOPE;
use crate::api::{ApiError, Counts, Endpoint, Fallback, UploadRequest, Uploaded};
use crate::ratelimit::RateLimiter;
use crate::vending::VendingStore;
use crate::verify::Verifier;

pub use crate::ratelimit::RateLimit;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free loopback port).
    pub bind: SocketAddr,
    /// Worker threads.
    pub threads: usize,
    /// Per-requester limit on `GET /api/v1/prekey` (`None`: unlimited).
    pub rate_limit: Option<RateLimit>,
    /// The owner's identity key: uploaded prekeys must carry its signature.
    pub owner_identity: PublicKey,
    /// `Retry-After` seconds on exhaustion.
    pub retry_after_secs: u64,
}

struct State<S, C> {
    store: Arc<S>,
    verifier: Arc<Verifier<C>>,
    config: ServerConfig,
    buckets: Option<RateLimiter>,
}

/// A running server; stops when [`RunningServer::stop`] is called or it is dropped.
pub struct RunningServer {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
}

impl core::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RunningServer({})", self.addr)
    }
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Blocks until the workers exit (they run until [`RunningServer::stop`]).
    pub fn join(mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }

    /// Stops the workers and waits for them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A server failed to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The listener is not on an IP address.
    #[error("cannot listen on {addr}: not an IP listener")]
    NotIp {
        /// The address.
        addr: SocketAddr,
    },
}

/// Starts the service on `config.bind`.
///
/// # Errors
/// [`StartError`] if the address cannot be bound.
pub fn start<S, C>(
    store: Arc<S>,
    verifier: Arc<Verifier<C>>,
    config: ServerConfig,
) -> Result<RunningServer, StartError>
where
    S: VendingStore + 'static,
    C: Clock + Send + Sync + 'static,
{
    let server = tiny_http::Server::http(config.bind).map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or(StartError::NotIp { addr: config.bind })?;
    let server = Arc::new(server);
    let state = Arc::new(State {
        store,
        verifier,
        buckets: config.rate_limit.map(RateLimiter::new),
        config,
    });
    let workers = (0..state.config.threads.max(1))
        .map(|_| {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    handle(&state, req);
                }
            })
        })
        .collect();
    Ok(RunningServer {
        addr,
        server,
        workers,
    })
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn reply_json<T: Serialize>(status: u16, body: &T) -> Reply {
    let Ok(bytes) = serde_json::to_vec(body) else {
        // Only a non-string map key or a failing `Serialize` impl can fail: none is here.
        return Response::from_data(b"{\"error\":\"storage\"}".to_vec()).with_status_code(500);
    };
    let mut r = Response::from_data(bytes).with_status_code(status);
    if let Some(h) = header("Content-Type", "application/json") {
        r.add_header(h);
    }
    if let Some(h) = header("Cache-Control", "no-store") {
        r.add_header(h);
    }
    r
}

fn error(e: &ApiError) -> Reply {
    reply_json(e.status(), e)
}

fn with_header(mut r: Reply, name: &str, value: &str) -> Reply {
    if let Some(h) = header(name, value) {
        r.add_header(h);
    }
    r
}

fn handle<S: VendingStore, C: Clock>(state: &State<S, C>, mut req: Request) {
    let reply = route(state, &mut req);
    // A client that hung up is not our problem.
    let _ = req.respond(reply);
}

fn route<S: VendingStore, C: Clock>(state: &State<S, C>, req: &mut Request) -> Reply {
    let path = req.url().split('?').next().unwrap_or_default().to_owned();
    let endpoint = match Endpoint::route(req.method().as_str(), &path) {
        Ok(e) => e,
        Err(e) => return error(&e),
    };
    match endpoint {
        Endpoint::Take => take(state, req),
        Endpoint::Upload => upload(state, req),
        Endpoint::Count => match state.store.counts() {
            Ok(c) => reply_json(
                200,
                &Counts {
                    available: c.available,
                    consumed: c.consumed,
                },
            ),
            Err(e) => internal(&e),
        },
        Endpoint::SetEpoch => put_epoch(state, req),
        Endpoint::Epoch => match state.store.epoch() {
            Ok(Some(p)) => reply_json(200, &p),
            Ok(None) => error(&ApiError::NoEpochKey {
                message: "no epoch key has been set".into(),
            }),
            Err(e) => internal(&e),
        },
        Endpoint::Health => Response::from_data(b"ok".to_vec()),
    }
}

fn internal(e: &dyn std::error::Error) -> Reply {
    eprintln!("kms-relay: storage error: {e}");
    error(&ApiError::Storage {
        message: "storage failure".into(),
    })
}

fn take<S: VendingStore, C: Clock>(state: &State<S, C>, req: &Request) -> Reply {
    let now = state.verifier.clock().now_ms();
    if let Some(b) = &state.buckets {
        let ip = req
            .remote_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), SocketAddr::ip);
        if let Err(wait) = b.take(ip, now) {
            return with_header(
                error(&ApiError::RateLimited {
                    message: "too many prekey requests".into(),
                }),
                "Retry-After",
                &wait.to_string(),
            );
        }
    }
    match state.store.take(now) {
        Ok(Some(p)) => reply_json(200, &p),
        Ok(None) => with_header(
            error(&ApiError::Exhausted {
                fallback: Fallback::Epoch,
            }),
            "Retry-After",
            &state.config.retry_after_secs.to_string(),
        ),
        Err(e) => internal(&e),
    }
}

/// Checks the owner's token; `Err` is the 401 reply.
fn authorize<S, C: Clock>(state: &State<S, C>, req: &Request) -> Result<(), Reply> {
    let value = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str());
    admission::authorize(&state.verifier, value)
        .map(|_| ())
        .map_err(|e| with_header(error(&e), "WWW-Authenticate", admission::CHALLENGE))
}

fn read_body(req: &mut Request) -> Result<Vec<u8>, Reply> {
    let mut body = Vec::new();
    req.as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            error(&ApiError::BadBody {
                message: format!("could not read the body: {e}"),
            })
        })?;
    admission::body_size(body.len()).map_err(|e| error(&e))?;
    Ok(body)
}

/// The body of an owner's request: the token checked, then the body read and parsed as
/// JSON; `Err` is the error reply.
fn owner_json<T: DeserializeOwned, S, C: Clock>(
    state: &State<S, C>,
    req: &mut Request,
) -> Result<T, Reply> {
    authorize(state, req)?;
    let body = read_body(req)?;
    admission::parse(&body).map_err(|e| error(&e))
}

fn upload<S: VendingStore, C: Clock>(state: &State<S, C>, req: &mut Request) -> Reply {
    let batch: UploadRequest = match owner_json(state, req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(e) = admission::check_upload(&batch, &state.config.owner_identity) {
        return error(&e);
    }
    let now = state.verifier.clock().now_ms();
    match state
        .store
        .upload(&batch.prekeys, now)
        .and_then(|o| Ok((o, state.store.counts()?)))
    {
        Ok((o, c)) => reply_json(
            200,
            &Uploaded {
                inserted: o.inserted,
                duplicates: o.duplicates,
                available: c.available,
            },
        ),
        Err(e) => internal(&e),
    }
}

fn put_epoch<S: VendingStore, C: Clock>(state: &State<S, C>, req: &mut Request) -> Reply {
    let prekey: SignedPrekey = match owner_json(state, req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(e) = admission::check_epoch(&prekey, &state.config.owner_identity) {
        return error(&e);
    }
    match state
        .store
        .set_epoch(&prekey, state.verifier.clock().now_ms())
    {
        Ok(()) => Response::from_data(Vec::new()).with_status_code(204),
        Err(e) => internal(&e),
    }
}
