//! The vending HTTP API's edges over real loopback HTTP, and the full load test (10 000 keys,
//! 64 clients) on SQLite, PostgreSQL and the Cloudflare Worker on local workerd with D1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use kms_core::SystemClock;
use kms_core::jwk::{Jwk, Jwks};
use kms_core::jws::{JwsAlg, SigningKey};
use kms_relay::jwks::{KeyStore, StaticJwks};
use kms_relay::loadtest::{self, LoadTest};
use kms_relay::server::{self, RunningServer, ServerConfig, UPLOAD_SCOPE};
use kms_relay::vending::postgres::PostgresVending;
use kms_relay::vending::sqlite::SqliteVending;
use kms_relay::verify::{Policy, Verifier};
use kms_relay::workerd::{LocalWorker, WorkerSettings};

#[path = "support/worker.rs"]
mod worker_support;

fn temp_db(name: &str) -> std::path::PathBuf {
    let path = temp_db_path(name);
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
    }
    path
}

fn start() -> RunningServer {
    let mut rng = rand::rng();
    let key = SigningKey::generate(JwsAlg::ES256, &mut rng);
    let jwks = Jwks {
        keys: vec![Jwk::from_public_key(&key.public_key(), Some("k"))],
    };
    let verifier = Verifier::new(
        KeyStore::new(Box::new(StaticJwks(jwks)), 0).unwrap(),
        Policy::new("https://owner.example", "vending").with_scope(UPLOAD_SCOPE),
        SystemClock,
    );
    let owner = kms_core::signal::identity::IdentityKeyPair::generate(&mut rng);
    server::start(
        Arc::new(SqliteVending::open(&temp_db("edges")).unwrap()),
        Arc::new(verifier),
        ServerConfig {
            bind: ([127, 0, 0, 1], 0).into(),
            threads: 2,
            rate_limit: None,
            owner_identity: owner.public_key(),
            retry_after_secs: 5,
        },
    )
    .unwrap()
}

/// One raw HTTP/1.1 request to `addr`; returns (status, head with lower-case header names,
/// body).
fn raw(addr: &str, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let head = head
        .lines()
        .map(|l| match l.split_once(": ") {
            Some((name, value)) => format!("{}: {value}", name.to_ascii_lowercase()),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    (status, head, body.to_owned())
}

#[test]
fn api_edges() {
    let server = start();
    edges_at(&server.addr().to_string());
    server.stop();
    remove_db("edges");
}

#[test]
fn api_edges_on_the_worker() {
    let Some(dir) = worker_support::dir() else {
        return;
    };
    let mut rng = rand::rng();
    let key = SigningKey::generate(JwsAlg::ES256, &mut rng);
    let worker = LocalWorker::start(
        &dir,
        &WorkerSettings {
            owner_identity: kms_core::signal::identity::IdentityKeyPair::generate(&mut rng)
                .public_key(),
            issuer: "https://owner.example".into(),
            audience: "vending".into(),
            jwks: Jwks {
                keys: vec![Jwk::from_public_key(&key.public_key(), Some("k"))],
            },
            rate_limit: None,
            retry_after_secs: 5,
            persist: None,
        },
    )
    .unwrap();
    edges_at(worker.url().trim_start_matches("http://"));
}

/// The edges of an empty server at `addr` with a `Retry-After` of 5 s, byte for byte.
fn edges_at(addr: &str) {
    let get = |path: &str| {
        raw(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    };
    let (s, head, body) = get("/api/v1/prekey");
    assert_eq!(s, 503);
    assert!(head.contains("retry-after: 5"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("cache-control: no-store"), "{head}");
    assert_eq!(body, r#"{"error":"exhausted","fallback":"epoch"}"#);
    assert_eq!(
        get("/api/v1/prekeys/count").2,
        r#"{"available":0,"consumed":0}"#
    );
    assert_eq!(
        get("/api/v1/epoch"),
        (
            404,
            get("/api/v1/epoch").1,
            r#"{"error":"no_epoch_key","message":"no epoch key has been set"}"#.into()
        )
    );
    assert_eq!(get("/healthz"), (200, get("/healthz").1, "ok".into()));
    assert_eq!(
        get("/nope").2,
        r#"{"error":"not_found","message":"no such endpoint"}"#
    );
    let (s, _, body) = raw(
        addr,
        "DELETE /api/v1/prekey HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 405);
    assert_eq!(
        body,
        r#"{"error":"method_not_allowed","message":"method not allowed"}"#
    );
    // Upload without a token: 401 with a WWW-Authenticate challenge.
    let (s, head, body) = raw(
        addr,
        "POST /api/v1/prekeys HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(s, 401);
    assert!(
        head.contains(r#"www-authenticate: Bearer error="invalid_token""#),
        "{head}"
    );
    assert_eq!(
        body,
        r#"{"error":"unauthorized","reason":"missing_token","message":"a Bearer relay token is required"}"#
    );
    // A forged HS256 token is refused before the body is looked at.
    let (s, _, body) = raw(
        addr,
        "POST /api/v1/prekeys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(s, 401);
    assert!(body.contains("unsupported_alg"), "{body}");
}

fn remove_db(name: &str) {
    if let Some(dir) = temp_db_path(name).parent() {
        std::fs::remove_dir_all(dir).ok();
    }
}

fn temp_db_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("kms-relay-http-{name}-{}", std::process::id()))
        .join("vending.db")
}

#[test]
fn load_test_sqlite_full_size() {
    let store = SqliteVending::open(&temp_db("load")).unwrap();
    let r = loadtest::run(
        store,
        LoadTest {
            keys: 10_000,
            clients: 64,
            threads: 16,
        },
    )
    .unwrap();
    assert_eq!(r.taken, 10_000);
    eprintln!("SQLite: {:.0} takes/s (test profile)", r.takes_per_sec);
    remove_db("load");
}

#[test]
fn load_test_postgres_full_size() {
    let Ok(url) = std::env::var("KMS_RELAY_PG_URL") else {
        assert!(
            std::env::var("KMS_RELAY_REQUIRE_PG").is_err(),
            "KMS_RELAY_REQUIRE_PG is set but KMS_RELAY_PG_URL is not"
        );
        skip_note("KMS_RELAY_PG_URL unset; skipping the PostgreSQL load test");
        return;
    };
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute("CREATE SCHEMA IF NOT EXISTS load").unwrap();
    let store =
        PostgresVending::connect(&format!("{url} options='-c search_path=load'"), 16).unwrap();
    store.reset().unwrap();
    let r = loadtest::run(
        store,
        LoadTest {
            keys: 10_000,
            clients: 64,
            threads: 16,
        },
    )
    .unwrap();
    assert_eq!(r.taken, 10_000);
    eprintln!("PostgreSQL: {:.0} takes/s (test profile)", r.takes_per_sec);
}

#[test]
fn load_test_worker_full_size() {
    let Some(dir) = worker_support::dir() else {
        return;
    };
    let r = loadtest::run_worker(
        &dir,
        LoadTest {
            keys: 10_000,
            clients: 64,
            threads: 16,
        },
    )
    .unwrap();
    assert_eq!(r.taken, 10_000);
    eprintln!("Worker: {:.0} takes/s (test profile)", r.takes_per_sec);
}

/// Prints past the test harness's output capture, so the skip is visible in a plain
/// `cargo test` run.
fn skip_note(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {what}");
}
