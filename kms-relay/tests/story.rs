//! The whole story on loopback: the enclave generates signed prekeys and uploads them with a
//! relay token; a sender takes one, verifies it and seals a message; the holder opens it and
//! the private key is shredded; exhaustion answers 503 and the epoch fallback works. On
//! SQLite, PostgreSQL and the Cloudflare Worker on local workerd with D1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::PathBuf;
use std::sync::Arc;

use kms_core::Error;
use kms_core::MemoryStore;
use kms_core::envelope::{self, Envelope, PrekeyUse, SignedPrekey};
use kms_core::jwk::Jwks;
use kms_core::rpc::Request;
use kms_core::service::{
    EnvelopeEpochKeyResponse, EnvelopeOpenedResponse, EnvelopePrekeysResponse, JwksResponse, Kms,
    RelayKeyResponse, RelayTokenResponse, Response,
};
use kms_core::signal::identity::{IdentityKeyPair, PublicKey};
use kms_core::{ManualClock, SystemClock};
use kms_relay::api::ApiError;
use kms_relay::client::{ClientError, Tier, Vend, VendingClient};
use kms_relay::jwks::{KeyStore, StaticJwks};
use kms_relay::server::{self, RateLimit, RunningServer, ServerConfig, UPLOAD_SCOPE};
use kms_relay::vending::VendingStore;
use kms_relay::vending::postgres::PostgresVending;
use kms_relay::vending::sqlite::SqliteVending;
use kms_relay::verify::{Policy, Verifier};
use kms_relay::workerd::{LocalWorker, WorkerSettings};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[path = "support/worker.rs"]
mod worker_support;

const ORIGIN: &str = "https://app.example";
const AUD: &str = "vending.example";

/// The enclave, on kms-core's reference store (IndexedDB in the browser).
type Enclave = Kms<MemoryStore, ManualClock, StdRng>;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kms-relay-story-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The caller the enclave routes `r` from: its own UI for the methods that are the user's
/// (setup, unlocking, unlock methods), the linked page for everything else.
fn routed(origin: &str, r: &Request) -> kms_core::rpc::policy::Caller {
    use kms_core::rpc::policy::{Caller, Policy};
    let o = kms_core::Origin::parse(origin).unwrap();
    if r.policy() == Policy::Page {
        Caller::Page(o)
    } else {
        Caller::EnclaveUi(o)
    }
}

fn call(kms: &mut Enclave, json: &str) -> Result<Response, Error> {
    let req: Request = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    pollster::block_on(kms.handle(&routed(ORIGIN, &req), req))
}

fn now_ms() -> u64 {
    kms_core::Clock::now_ms(&SystemClock)
}

/// The enclave, its relay key and JWKS, its identity key and `n` signed prekeys.
struct Owner {
    kms: Enclave,
    kid: String,
    jwks: Jwks,
    identity: PublicKey,
}

impl Owner {
    fn new() -> Self {
        let mut kms = Kms::new(
            MemoryStore::new(),
            ManualClock::new(now_ms()),
            StdRng::seed_from_u64(1),
        );
        call(
            &mut kms,
            r#"{"method":"setup","params":{"passphrase":"correct horse battery"}}"#,
        )
        .unwrap();
        let Response::RelayKey(RelayKeyResponse { kid, .. }) = call(
            &mut kms,
            r#"{"method":"relay.createKey","params":{"alg":"EdDSA"}}"#,
        )
        .unwrap() else {
            panic!()
        };
        let Response::Jwks(JwksResponse { jwks }) =
            call(&mut kms, r#"{"method":"relay.jwks"}"#).unwrap()
        else {
            panic!()
        };
        let jwks: Jwks = jwks;
        let Response::EnvelopeEpochKey(EnvelopeEpochKeyResponse { identity_key, .. }) =
            call(&mut kms, r#"{"method":"envelope.epochKey","params":{}}"#).unwrap()
        else {
            panic!()
        };
        let identity =
            PublicKey::deserialize(&kms_core::hazmat::b64::decode(&identity_key).unwrap()).unwrap();
        Self {
            kms,
            kid,
            jwks,
            identity,
        }
    }

    fn token(&mut self, scope: &str) -> String {
        let json = format!(
            r#"{{"method":"relay.token","params":{{"kid":"{}","aud":"{AUD}","scope":["{scope}"],"ttlSecs":120}}}}"#,
            self.kid
        );
        let Response::RelayToken(RelayTokenResponse { token, .. }) =
            call(&mut self.kms, &json).unwrap()
        else {
            panic!()
        };
        token
    }

    fn prekeys(&mut self, count: u32, hybrid: bool) -> Vec<SignedPrekey> {
        let json = format!(
            r#"{{"method":"envelope.prekeys","params":{{"count":{count},"hybrid":{hybrid}}}}}"#
        );
        let Response::EnvelopePrekeys(EnvelopePrekeysResponse { prekeys, .. }) =
            call(&mut self.kms, &json).unwrap()
        else {
            panic!()
        };
        prekeys
    }

    fn epoch(&mut self) -> SignedPrekey {
        let Response::EnvelopeEpochKey(EnvelopeEpochKeyResponse { prekey, .. }) = call(
            &mut self.kms,
            r#"{"method":"envelope.epochKey","params":{}}"#,
        )
        .unwrap() else {
            panic!()
        };
        prekey
    }

    fn open(&mut self, env: &Envelope) -> Result<(Vec<u8>, bool), Error> {
        let json = format!(
            r#"{{"method":"envelope.open","params":{{"envelope":{}}}}}"#,
            serde_json::to_string(env).unwrap()
        );
        match call(&mut self.kms, &json)? {
            Response::EnvelopeOpened(EnvelopeOpenedResponse {
                plaintext,
                shredded,
                ..
            }) => Ok((kms_core::hazmat::b64::decode(&plaintext).unwrap(), shredded)),
            other => panic!("{other:?}"),
        }
    }
}

fn serve<S: VendingStore + 'static>(
    store: S,
    owner: &Owner,
    rate_limit: Option<RateLimit>,
) -> RunningServer {
    let keys = KeyStore::new(Box::new(StaticJwks(owner.jwks.clone())), 0).unwrap();
    let verifier = Verifier::new(
        keys,
        Policy::new(ORIGIN, AUD).with_scope(UPLOAD_SCOPE),
        SystemClock,
    );
    server::start(
        Arc::new(store),
        Arc::new(verifier),
        ServerConfig {
            bind: ([127, 0, 0, 1], 0).into(),
            threads: 4,
            rate_limit,
            owner_identity: owner.identity,
            retry_after_secs: 42,
        },
    )
    .unwrap()
}

fn story<S: VendingStore + 'static>(name: &str, store: impl FnOnce(&std::path::Path) -> S) {
    let dir = temp_dir(name);
    let mut owner = Owner::new();
    let server = serve(store(&dir), &owner, None);
    story_at(&server.url(), &mut owner);
    server.stop();
    std::fs::remove_dir_all(&dir).ok();
}

/// The Worker's settings for `owner`, as `serve` configures the native server.
fn worker_settings(owner: &Owner, rate_limit: Option<RateLimit>) -> WorkerSettings {
    WorkerSettings {
        owner_identity: owner.identity,
        issuer: ORIGIN.into(),
        audience: AUD.into(),
        jwks: owner.jwks.clone(),
        rate_limit,
        retry_after_secs: 42,
        persist: None,
    }
}

/// The story against the vending server at `url`, which serves `owner` with a
/// `Retry-After` of 42 s.
fn story_at(url: &str, owner: &mut Owner) {
    let client = VendingClient::new(url);

    // The enclave uploads 3 hybrid prekeys and its epoch key, authorized by relay tokens.
    let prekeys = owner.prekeys(3, true);
    let up = client.upload(&owner.token(UPLOAD_SCOPE), &prekeys).unwrap();
    assert_eq!((up.inserted, up.duplicates, up.available), (3, 0, 3));
    let epoch = owner.epoch();
    client
        .put_epoch(&owner.token(UPLOAD_SCOPE), &epoch)
        .unwrap();
    assert_eq!(client.count().unwrap(), (3, 0));

    // A sender seals to a fresh one-time prekey (verified against the owner's identity).
    let mut rng = StdRng::seed_from_u64(2);
    let (env, tier) = client
        .seal_to_owner(&owner.identity, b"hello over a one-time key", &mut rng)
        .unwrap();
    assert_eq!(tier, Tier::OneTime);
    assert_eq!(env.format, "hybrid-mlkem768-aesgcm-v1");
    assert_eq!(env.kid, prekeys[0].kid);
    assert_eq!(client.count().unwrap(), (2, 1));

    // The holder opens it; the private prekey is shredded in the same transaction.
    let (pt, shredded) = owner.open(&env).unwrap();
    assert_eq!(pt, b"hello over a one-time key");
    assert!(shredded);
    let key = format!("k/{ORIGIN}/env-otpk/{}", env.kid);
    assert_eq!(
        pollster::block_on(kms_core::store::Store::get(owner.kms.store(), &key)).unwrap(),
        None
    );
    // A second envelope to the same kid: KeyConsumed.
    let again =
        envelope::seal(&prekeys[0].verify(&owner.identity).unwrap(), b"x", &mut rng).unwrap();
    assert!(matches!(
        owner.open(&again).unwrap_err(),
        Error::KeyConsumed { .. }
    ));

    // Drain the rest; then 503 with Retry-After and the epoch fallback.
    for _ in 0..2 {
        assert!(matches!(client.take().unwrap(), Vend::Prekey(_)));
    }
    assert_eq!(
        client.take().unwrap(),
        Vend::Exhausted {
            retry_after: Some(42)
        }
    );
    let (env, tier) = client
        .seal_to_owner(&owner.identity, b"hello over the epoch key", &mut rng)
        .unwrap();
    assert_eq!(tier, Tier::Epoch);
    assert_eq!(env.kid, epoch.kid);
    let (pt, shredded) = owner.open(&env).unwrap();
    assert_eq!(pt, b"hello over the epoch key");
    assert!(!shredded);

    // Uploads need a valid, fresh owner token with the upload scope.
    let more = owner.prekeys(1, false);
    let refusal = |r: Result<_, ClientError>| match r {
        Err(ClientError::Api { status, error }) => {
            assert_eq!(status, error.status());
            error
        }
        other => panic!("{other:?}"),
    };
    let reason = |r: Result<_, ClientError>| match refusal(r) {
        ApiError::Unauthorized { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason(client.upload("not-a-token", &more)), "malformed");
    assert_eq!(
        reason(client.upload(&owner.token("other:scope"), &more)),
        "missing_scope"
    );
    let token = owner.token(UPLOAD_SCOPE);
    client.upload(&token, &more).unwrap();
    assert_eq!(reason(client.upload(&token, &more)), "replayed");

    // A prekey not signed by the owner is refused: the server cannot be fed substitutes.
    let stranger = IdentityKeyPair::generate(&mut rng);
    let forged =
        envelope::PrekeySecret::generate(envelope::EnvelopeFormat::X25519AesGcmV1, &mut rng)
            .sign_public(&stranger, "forged", PrekeyUse::OneTime, &mut rng)
            .unwrap();
    match refusal(client.upload(&owner.token(UPLOAD_SCOPE), &[forged])) {
        ApiError::BadPrekey { index: 0, .. } => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn whole_story_on_sqlite() {
    story("sqlite", |dir| {
        SqliteVending::open(&dir.join("vending.db")).unwrap()
    });
}

#[test]
fn whole_story_on_postgres() {
    let Ok(url) = std::env::var("KMS_RELAY_PG_URL") else {
        assert!(
            std::env::var("KMS_RELAY_REQUIRE_PG").is_err(),
            "KMS_RELAY_REQUIRE_PG is set but KMS_RELAY_PG_URL is not"
        );
        skip_note("KMS_RELAY_PG_URL unset; skipping the PostgreSQL story");
        return;
    };
    story("postgres", |_| {
        // A schema of its own, so the vending conformance tests can run beside it.
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute("CREATE SCHEMA IF NOT EXISTS story")
            .unwrap();
        let url = format!("{url} options='-c search_path=story'");
        let s = PostgresVending::connect(&url, 4).unwrap();
        s.reset().unwrap();
        s
    });
}

#[test]
fn whole_story_on_the_worker() {
    let Some(dir) = worker_support::dir() else {
        return;
    };
    let mut owner = Owner::new();
    let worker = LocalWorker::start(&dir, &worker_settings(&owner, None)).unwrap();
    story_at(worker.url(), &mut owner);
}

const RATE: RateLimit = RateLimit {
    burst: 2.0,
    per_sec: 0.1,
};

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let dir = temp_dir("rate");
    let owner = Owner::new();
    let server = serve(
        SqliteVending::open(&dir.join("vending.db")).unwrap(),
        &owner,
        Some(RATE),
    );
    rate_limited_at(&server.url());
    server.stop();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rate_limit_on_the_worker() {
    let Some(dir) = worker_support::dir() else {
        return;
    };
    let owner = Owner::new();
    let worker = LocalWorker::start(&dir, &worker_settings(&owner, Some(RATE))).unwrap();
    rate_limited_at(worker.url());
}

/// A server limited to [`RATE`] with an empty store: the first two takes are 503 (counted),
/// the third is over the limit.
fn rate_limited_at(url: &str) {
    let client = VendingClient::new(url);
    assert!(matches!(client.take().unwrap(), Vend::Exhausted { .. }));
    assert!(matches!(client.take().unwrap(), Vend::Exhausted { .. }));
    assert_eq!(
        client.take().unwrap(),
        Vend::RateLimited {
            retry_after: Some(10)
        }
    );
}

/// Prints past the test harness's output capture, so the skip is visible in a plain
/// `cargo test` run.
fn skip_note(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {what}");
}
