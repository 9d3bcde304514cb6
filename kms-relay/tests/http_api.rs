//! The vending HTTP API's edges over real loopback HTTP, and the full load test (10 000 keys,
//! 64 clients) on SQLite and PostgreSQL.
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

/// One raw HTTP/1.1 request; returns (status, head, body).
fn raw(server: &RunningServer, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

#[test]
fn api_edges() {
    let server = start();
    let get = |path: &str| {
        raw(
            &server,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    };
    let (s, head, body) = get("/api/v1/prekey");
    assert_eq!(s, 503);
    assert!(head.contains("Retry-After: 5"), "{head}");
    assert_eq!(body, r#"{"error":"exhausted","fallback":"epoch"}"#);
    assert_eq!(
        get("/api/v1/prekeys/count").2,
        r#"{"available":0,"consumed":0}"#
    );
    assert_eq!(get("/api/v1/epoch").0, 404);
    assert_eq!(get("/healthz"), (200, get("/healthz").1, "ok".into()));
    assert_eq!(get("/nope").0, 404);
    let (s, _, _) = raw(
        &server,
        "DELETE /api/v1/prekey HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 405);
    // Upload without a token: 401 with a WWW-Authenticate challenge.
    let (s, head, body) = raw(
        &server,
        "POST /api/v1/prekeys HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(s, 401);
    assert!(head.contains("WWW-Authenticate: Bearer"), "{head}");
    assert!(body.contains("missing_token"), "{body}");
    // A forged HS256 token is refused before any body is read.
    let (s, _, body) = raw(
        &server,
        "POST /api/v1/prekeys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(s, 401);
    assert!(body.contains("unsupported_alg"), "{body}");
    server.stop();
    remove_db("edges");
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

/// Prints past the test harness's output capture, so the skip is visible in a plain
/// `cargo test` run.
fn skip_note(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {what}");
}
