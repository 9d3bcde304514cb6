//! The vending load test: N keys, M concurrent clients on loopback draining them over real
//! HTTP — zero duplicates, zero lost, then a clean 503 — and the takes per second, against
//! the native server on any store ([`run`]) or the Worker on local workerd ([`run_worker`]).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kms_core::SystemClock;
use kms_core::envelope::{EnvelopeError, EnvelopeFormat, PrekeySecret, PrekeyUse};
use kms_core::jwk::{Jwk, Jwks};
use kms_core::jws::{JwsAlg, SigningKey};
use kms_core::relay_token::{self, RelayTokenError, RelayTokenRequest};
use kms_core::signal::identity::IdentityKeyPair;

use crate::client::{ClientError, Vend, VendingClient};
use crate::jwks::{JwksError, KeyStore, StaticJwks};
use crate::server::{self, ServerConfig, StartError, UPLOAD_SCOPE};
use crate::vending::{MAX_BATCH, VendingStore};
use crate::verify::{Policy, Verifier};
use crate::workerd::{LocalWorker, WorkerSettings, WorkerdError};

/// Load-test settings.
#[derive(Debug, Clone, Copy)]
pub struct LoadTest {
    /// Keys uploaded.
    pub keys: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Server worker threads.
    pub threads: usize,
}

/// What a run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadReport {
    /// Keys vended (equals the keys uploaded).
    pub taken: usize,
    /// Seconds the drain took.
    pub seconds: f64,
    /// Takes per second.
    pub takes_per_sec: f64,
    /// Takes sent again on a new connection after the server closed a keep-alive one
    /// under them (workerd does under many concurrent connections; the native server never).
    pub reconnects: usize,
}

/// Transport failures one client may retry before the drain fails.
const MAX_RECONNECTS: usize = 100;

/// Why a load test failed: the set-up, a call to the server, or a broken guarantee.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadTestError {
    /// The relay-token key set was refused.
    #[error(transparent)]
    Jwks(#[from] JwksError),
    /// The server did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The Worker did not start.
    #[error(transparent)]
    Worker(#[from] WorkerdError),
    /// A prekey could not be signed.
    #[error("signing the prekeys")]
    Prekey(#[source] EnvelopeError),
    /// The owner's relay token could not be issued.
    #[error("issuing the upload token")]
    Token(#[source] RelayTokenError),
    /// A call to the server failed.
    #[error("{call}")]
    Client {
        /// The call (`upload`, `count`, `take`).
        call: &'static str,
        /// Why.
        #[source]
        source: ClientError,
    },
    /// The server did not report every uploaded key as available.
    #[error("expected {expected} available, got {got}")]
    Available {
        /// Keys uploaded.
        expected: u64,
        /// Keys the server counts.
        got: u64,
    },
    /// A client got an answer other than a prekey or a clean 503.
    #[error("unexpected answer {0:?}")]
    Unexpected(Vend),
    /// A client thread panicked.
    #[error("client panicked")]
    Panicked,
    /// A key was vended twice.
    #[error("duplicate: {0} vended twice")]
    Duplicate(String),
    /// Fewer keys were vended than uploaded.
    #[error("lost keys: {vended} of {uploaded} vended")]
    Lost {
        /// Keys vended.
        vended: usize,
        /// Keys uploaded.
        uploaded: usize,
    },
    /// The drained server did not answer the next take with 503.
    #[error("expected a clean 503 after the drain")]
    NotExhausted,
    /// The counts after the drain are not (0, uploaded).
    #[error("counts after drain: available {available}, consumed {consumed}")]
    Counts {
        /// Keys the server still counts as available.
        available: u64,
        /// Keys the server counts as consumed.
        consumed: u64,
    },
}

/// [`LoadTestError::Client`] for `call`.
fn call_failed(call: &'static str) -> impl FnOnce(ClientError) -> LoadTestError {
    move |source| LoadTestError::Client { call, source }
}

/// The owner side of a load test: the identity that signs the prekeys and the relay key
/// that signs the upload tokens.
struct Owner {
    identity: IdentityKeyPair,
    relay_key: SigningKey,
    jwks: Jwks,
}

const ISSUER: &str = "https://owner.example";
const AUDIENCE: &str = "vending.load";

impl Owner {
    fn generate() -> Self {
        let mut rng = rand::rng();
        let relay_key = SigningKey::generate(JwsAlg::EdDSA, &mut rng);
        let jwks = Jwks {
            keys: vec![Jwk::from_public_key(&relay_key.public_key(), Some("load"))],
        };
        Self {
            identity: IdentityKeyPair::generate(&mut rng),
            relay_key,
            jwks,
        }
    }
}

/// Runs the load test against `store` (which must be empty), served by [`server::start`].
///
/// # Errors
/// [`LoadTestError`]: a duplicate, a lost key, a missing 503, or a failed set-up or call.
pub fn run<S: VendingStore + 'static>(store: S, t: LoadTest) -> Result<LoadReport, LoadTestError> {
    let owner = Owner::generate();
    let keys = KeyStore::new(Box::new(StaticJwks(owner.jwks.clone())), 0)?;
    let verifier = Verifier::new(
        keys,
        Policy::new(ISSUER, AUDIENCE).with_scope(UPLOAD_SCOPE),
        SystemClock,
    );
    let running = server::start(
        Arc::new(store),
        Arc::new(verifier),
        ServerConfig {
            bind: ([127, 0, 0, 1], 0).into(),
            threads: t.threads,
            rate_limit: None,
            owner_identity: owner.identity.public_key(),
            retry_after_secs: 30,
        },
    )?;
    let report = drain(&running.url(), &owner, t);
    running.stop();
    report
}

/// Runs the load test against the Worker on local workerd with an empty in-memory D1
/// database (`dir` is the Worker's directory; see [`crate::workerd`]). `t.threads` does not
/// apply: workerd serves every request on one event loop.
///
/// # Errors
/// [`LoadTestError`], [`LoadTestError::Worker`] if the Worker does not start.
pub fn run_worker(dir: &Path, t: LoadTest) -> Result<LoadReport, LoadTestError> {
    let owner = Owner::generate();
    let worker = LocalWorker::start(
        dir,
        &WorkerSettings {
            owner_identity: owner.identity.public_key(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks: owner.jwks.clone(),
            rate_limit: None,
            retry_after_secs: 30,
            persist: None,
        },
    )?;
    drain(worker.url(), &owner, t)
}

/// Uploads `t.keys` prekeys to the server at `url` as `owner`, drains them with `t.clients`
/// clients and checks the outcome.
fn drain(url: &str, owner: &Owner, t: LoadTest) -> Result<LoadReport, LoadTestError> {
    let mut rng = rand::rng();
    let url = url.to_owned();
    // Upload, signed by the owner's identity.
    let prekeys = (0..t.keys)
        .map(|i| {
            PrekeySecret::generate(EnvelopeFormat::X25519AesGcmV1, &mut rng)
                .sign_public(
                    &owner.identity,
                    &format!("load-{i}"),
                    PrekeyUse::OneTime,
                    &mut rng,
                )
                .map_err(LoadTestError::Prekey)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let client = VendingClient::new(&url);
    let now = kms_core::Clock::now_secs(&SystemClock);
    for batch in prekeys.chunks(MAX_BATCH) {
        let token = relay_token::issue(
            &owner.relay_key,
            "load",
            &RelayTokenRequest {
                iss: ISSUER.into(),
                aud: AUDIENCE.into(),
                scope: Some(vec![UPLOAD_SCOPE.into()]),
                ttl_secs: Some(300),
            },
            now,
            &mut rng,
        )
        .map_err(LoadTestError::Token)?;
        client
            .upload(&token.token, batch)
            .map_err(call_failed("upload"))?;
    }
    let (available, _) = client.count().map_err(call_failed("count"))?;
    if available != t.keys as u64 {
        return Err(LoadTestError::Available {
            expected: t.keys as u64,
            got: available,
        });
    }

    // Drain with `clients` concurrent clients, each with its own keep-alive connection.
    let start = Instant::now();
    let results: Vec<Result<(Vec<String>, usize), LoadTestError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..t.clients)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    let c = VendingClient::new(url);
                    let mut mine = Vec::new();
                    let mut reconnects = 0;
                    loop {
                        let vend = match c.take() {
                            Ok(v) => v,
                            // The server closed an idle keep-alive connection as the take
                            // went out on it: take again on a new one. Had the take been
                            // served, its key would be missing from the count below.
                            Err(ClientError::Http(_)) if reconnects < MAX_RECONNECTS => {
                                reconnects += 1;
                                continue;
                            }
                            Err(e) => return Err(call_failed("take")(e)),
                        };
                        match vend {
                            Vend::Prekey(p) => mine.push(p.kid),
                            Vend::Exhausted {
                                retry_after: Some(_),
                            } => return Ok((mine, reconnects)),
                            other => return Err(LoadTestError::Unexpected(other)),
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(LoadTestError::Panicked)))
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let mut seen = HashSet::new();
    let mut reconnects = 0;
    for r in results {
        let (kids, n) = r?;
        reconnects += n;
        for kid in kids {
            if !seen.insert(kid.clone()) {
                return Err(LoadTestError::Duplicate(kid));
            }
        }
    }
    if seen.len() != t.keys {
        return Err(LoadTestError::Lost {
            vended: seen.len(),
            uploaded: t.keys,
        });
    }
    if !matches!(client.take(), Ok(Vend::Exhausted { .. })) {
        return Err(LoadTestError::NotExhausted);
    }
    let (available, consumed) = client.count().map_err(call_failed("count"))?;
    if available != 0 || consumed != t.keys as u64 {
        return Err(LoadTestError::Counts {
            available,
            consumed,
        });
    }
    Ok(LoadReport {
        reconnects,
        taken: seen.len(),
        seconds,
        takes_per_sec: seen.len() as f64 / seconds.max(f64::MIN_POSITIVE),
    })
}
