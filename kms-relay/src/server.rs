//! The vending service over HTTP/1.1 (`tiny_http`, a fixed pool of worker threads); its
//! API — paths, bodies, error answers — is [`crate::api`].
//!
//! Uploaded prekeys must verify under the owner's identity key: the server refuses what a
//! sender would refuse, so a bad upload fails loudly at the owner instead of at each sender.

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use kms_core::Clock;
use kms_core::envelope::{EnvelopeError, PrekeyUse, SignedPrekey};
use kms_core::signal::identity::PublicKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tiny_http::{Header, Method, Request, Response};

pub use crate::api::UPLOAD_SCOPE;
use crate::api::{self, ApiError, Counts, Fallback, UploadRequest, Uploaded};
use crate::vending::{MAX_BATCH, VendingStore};
use crate::verify::Verifier;
/// Largest request body accepted (a full batch of hybrid prekeys is about 1.8 MB).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// A token bucket per requester address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests allowed in a burst.
    pub burst: f64,
    /// Sustained requests per second.
    pub per_sec: f64,
}

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

#[derive(Debug)]
struct Buckets {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, (f64, u64)>>,
}

impl Buckets {
    /// Takes one token for `ip`; `Err(seconds)` until the next token.
    fn take(&self, ip: IpAddr, now_ms: u64) -> Result<(), u64> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Forget requesters whose bucket has refilled: they lose nothing.
            let l = self.limit;
            map.retain(|_, (tokens, last)| {
                *tokens + (now_ms.saturating_sub(*last) as f64 / 1000.0) * l.per_sec < l.burst
            });
        }
        let (tokens, last) = map.entry(ip).or_insert((self.limit.burst, now_ms));
        let refill = (now_ms.saturating_sub(*last) as f64 / 1000.0) * self.limit.per_sec;
        *tokens = (*tokens + refill).min(self.limit.burst);
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / self.limit.per_sec.max(f64::MIN_POSITIVE);
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

struct State<S, C> {
    store: Arc<S>,
    verifier: Arc<Verifier<C>>,
    config: ServerConfig,
    buckets: Option<Buckets>,
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
        buckets: config.rate_limit.map(|limit| Buckets {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }),
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
    let method = req.method().clone();
    match (method, path.as_str()) {
        (Method::Get, api::PREKEY) => take(state, req),
        (Method::Post, api::PREKEYS) => upload(state, req),
        (Method::Get, api::COUNT) => match state.store.counts() {
            Ok(c) => reply_json(
                200,
                &Counts {
                    available: c.available,
                    consumed: c.consumed,
                },
            ),
            Err(e) => internal(&e),
        },
        (Method::Put, api::EPOCH) => put_epoch(state, req),
        (Method::Get, api::EPOCH) => match state.store.epoch() {
            Ok(Some(p)) => reply_json(200, &p),
            Ok(None) => error(&ApiError::NoEpochKey {
                message: "no epoch key has been set".into(),
            }),
            Err(e) => internal(&e),
        },
        (Method::Get, api::HEALTH) => Response::from_data(b"ok".to_vec()),
        (_, api::PREKEY | api::PREKEYS | api::COUNT | api::EPOCH) => {
            error(&ApiError::MethodNotAllowed {
                message: "method not allowed".into(),
            })
        }
        _ => error(&ApiError::NotFound {
            message: "no such endpoint".into(),
        }),
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
    let token = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer "))
        .map(str::trim);
    let unauthorized = |code: &str, message: &str| {
        with_header(
            error(&ApiError::Unauthorized {
                reason: code.into(),
                message: message.into(),
            }),
            "WWW-Authenticate",
            "Bearer error=\"invalid_token\"",
        )
    };
    let Some(token) = token else {
        return Err(unauthorized(
            "missing_token",
            "a Bearer relay token is required",
        ));
    };
    match state.verifier.verify(token) {
        Ok(t) if t.scope.iter().any(|s| s == UPLOAD_SCOPE) => Ok(()),
        Ok(_) => Err(unauthorized("missing_scope", "token lacks prekeys:upload")),
        Err(r) => Err(unauthorized(r.code(), &r.to_string())),
    }
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
    if body.len() > MAX_BODY {
        return Err(error(&ApiError::TooLarge {
            message: format!("body larger than {MAX_BODY} bytes"),
        }));
    }
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
    serde_json::from_slice(&body).map_err(|e| {
        error(&ApiError::BadJson {
            message: e.to_string(),
        })
    })
}

/// Why an uploaded prekey is refused: the message of [`ApiError::BadPrekey`].
#[derive(Debug, thiserror::Error)]
enum Refused {
    /// Uploaded for another use.
    #[error("expected use {expected:?}, got {got:?}")]
    WrongUse {
        expected: &'static str,
        got: &'static str,
    },
    /// Not signed by the owner's identity key, or malformed.
    #[error(transparent)]
    Signature(#[from] EnvelopeError),
}

fn check_prekey<S, C>(
    state: &State<S, C>,
    p: &SignedPrekey,
    want: PrekeyUse,
) -> Result<(), Refused> {
    if p.use_ != want {
        return Err(Refused::WrongUse {
            expected: want.name(),
            got: p.use_.name(),
        });
    }
    p.verify(&state.config.owner_identity)?;
    Ok(())
}

fn upload<S: VendingStore, C: Clock>(state: &State<S, C>, req: &mut Request) -> Reply {
    let batch: UploadRequest = match owner_json(state, req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if batch.prekeys.len() > MAX_BATCH {
        return error(&ApiError::BatchTooLarge {
            message: format!("at most {MAX_BATCH} prekeys per upload"),
        });
    }
    for (index, p) in batch.prekeys.iter().enumerate() {
        if let Err(e) = check_prekey(state, p, PrekeyUse::OneTime) {
            return error(&ApiError::BadPrekey {
                index,
                message: e.to_string(),
            });
        }
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
    if let Err(e) = check_prekey(state, &prekey, PrekeyUse::Epoch) {
        return error(&ApiError::BadPrekey {
            index: 0,
            message: e.to_string(),
        });
    }
    match state
        .store
        .set_epoch(&prekey, state.verifier.clock().now_ms())
    {
        Ok(()) => Response::from_data(Vec::new()).with_status_code(204),
        Err(e) => internal(&e),
    }
}
