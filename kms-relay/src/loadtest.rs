//! The vending load test: N keys, M concurrent clients on loopback draining them over real
//! HTTP — zero duplicates, zero lost, then a clean 503 — and the takes per second.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use kms_core::clock::SystemClock;
use kms_core::envelope::{EnvelopeFormat, PrekeySecret, PrekeyUse};
use kms_core::jwk::{Jwk, Jwks};
use kms_core::jws::{JwsAlg, SigningKey};
use kms_core::relay_token::{self, RelayTokenRequest};

use crate::client::{Vend, VendingClient};
use crate::jwks::{KeyStore, StaticJwks};
use crate::server::{self, ServerConfig, UPLOAD_SCOPE};
use crate::vending::{MAX_BATCH, VendingStore};
use crate::verify::{Policy, Verifier};

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
}

/// Runs the load test against `store` (which must be empty).
///
/// # Errors
/// A description of what went wrong: a duplicate, a lost key, a missing 503, a failure.
pub fn run<S: VendingStore + 'static>(store: S, t: LoadTest) -> Result<LoadReport, String> {
    let mut rng = rand::rng();
    let owner = kms_core::signal::identity::IdentityKeyPair::generate(&mut rng);
    let relay_key = SigningKey::generate(JwsAlg::EdDSA, &mut rng);
    let jwks = Jwks {
        keys: vec![Jwk::from_public_key(&relay_key.public_key(), Some("load"))],
    };
    let keys = KeyStore::new(Box::new(StaticJwks(jwks)), 0).map_err(|e| e.to_string())?;
    let verifier = Verifier::new(
        keys,
        Policy::new("https://owner.example", "vending.load").with_scope(UPLOAD_SCOPE),
        SystemClock,
    );
    let running = server::start(
        Arc::new(store),
        Arc::new(verifier),
        ServerConfig {
            bind: ([127, 0, 0, 1], 0).into(),
            threads: t.threads,
            rate_limit: None,
            owner_identity: owner.public_key(),
            retry_after_secs: 30,
        },
    )
    .map_err(|e| e.to_string())?;
    let url = running.url();

    // Upload, signed by the owner's identity.
    let prekeys = (0..t.keys)
        .map(|i| {
            PrekeySecret::generate(EnvelopeFormat::X25519AesGcmV1, &mut rng)
                .sign_public(&owner, &format!("load-{i}"), PrekeyUse::OneTime, &mut rng)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let client = VendingClient::new(&url);
    let now = kms_core::clock::Clock::now_secs(&SystemClock);
    for batch in prekeys.chunks(MAX_BATCH) {
        let token = relay_token::issue(
            &relay_key,
            "load",
            &RelayTokenRequest {
                iss: "https://owner.example".into(),
                aud: "vending.load".into(),
                scope: Some(vec![UPLOAD_SCOPE.into()]),
                ttl_secs: Some(300),
            },
            now,
            &mut rng,
        )
        .map_err(|e| e.to_string())?;
        client
            .upload(&token.token, batch)
            .map_err(|e| format!("upload: {e}"))?;
    }
    let (available, _) = client.count().map_err(|e| e.to_string())?;
    if available != t.keys as u64 {
        return Err(format!("expected {} available, got {available}", t.keys));
    }

    // Drain with `clients` concurrent clients, each with its own keep-alive connection.
    let start = Instant::now();
    let results: Vec<Result<Vec<String>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..t.clients)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    let c = VendingClient::new(url);
                    let mut mine = Vec::new();
                    loop {
                        match c.take().map_err(|e| e.to_string())? {
                            Vend::Prekey(p) => mine.push(p.kid),
                            Vend::Exhausted {
                                retry_after: Some(_),
                            } => return Ok(mine),
                            other => return Err(format!("unexpected answer {other:?}")),
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("client panicked".into())))
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let mut seen = HashSet::new();
    for r in results {
        for kid in r? {
            if !seen.insert(kid.clone()) {
                return Err(format!("duplicate: {kid} vended twice"));
            }
        }
    }
    if seen.len() != t.keys {
        return Err(format!("lost keys: {} of {} vended", seen.len(), t.keys));
    }
    if !matches!(client.take(), Ok(Vend::Exhausted { .. })) {
        return Err("expected a clean 503 after the drain".into());
    }
    let (available, consumed) = client.count().map_err(|e| e.to_string())?;
    if available != 0 || consumed != t.keys as u64 {
        return Err(format!(
            "counts after drain: available {available}, consumed {consumed}"
        ));
    }
    running.stop();
    Ok(LoadReport {
        taken: seen.len(),
        seconds,
        takes_per_sec: seen.len() as f64 / seconds.max(f64::MIN_POSITIVE),
    })
}
