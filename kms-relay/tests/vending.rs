//! The vending-store conformance suite against a real SQLite file, a real PostgreSQL
//! server, and over HTTP against the native server and the Cloudflare Worker on local
//! workerd with D1 (whose replenish script also goes through `wrangler d1 execute --local`).
//!
//! PostgreSQL: `KMS_RELAY_PG_URL` names the server (`cargo xtask test` starts one on
//! loopback and sets it). Without it, plain `cargo test` skips those tests with a note;
//! with `KMS_RELAY_REQUIRE_PG=1` (set by xtask) a missing server fails them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kms_core::SystemClock;
use kms_core::envelope::PrekeyUse;
use kms_core::jwk::{Jwk, Jwks};
use kms_core::jws::{JwsAlg, SigningKey};
use kms_core::relay_token::{self, RelayTokenRequest};
use kms_core::signal::identity::IdentityKeyPair;
use kms_relay::client::VendingClient;
use kms_relay::jwks::{KeyStore, StaticJwks};
use kms_relay::server::{self, ServerConfig, UPLOAD_SCOPE};
use kms_relay::vending::conformance::{self, make_prekeys, make_prekeys_by};
use kms_relay::vending::http::{HttpVending, TokenIssuer};
use kms_relay::vending::postgres::PostgresVending;
use kms_relay::vending::sqlite::SqliteVending;
use kms_relay::vending::{VendingError, VendingStore, d1_script, sql_script};
use kms_relay::verify::{Policy, Verifier};
use kms_relay::workerd::{LocalWorker, WorkerSettings};

#[path = "support/worker.rs"]
mod worker_support;

const ISSUER: &str = "https://owner.example";
const AUDIENCE: &str = "vending.conformance";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kms-relay-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The PostgreSQL URL, or `None` (with a note) when tests may skip it.
fn pg_url() -> Option<String> {
    match std::env::var("KMS_RELAY_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("KMS_RELAY_REQUIRE_PG").is_err(),
                "KMS_RELAY_REQUIRE_PG is set but KMS_RELAY_PG_URL is not"
            );
            skip_note("KMS_RELAY_PG_URL unset; skipping the PostgreSQL vending tests");
            None
        }
    }
}

/// PostgreSQL tests share one database: run them one at a time.
static PG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn sqlite_conformance() {
    let dir = temp_dir("conf");
    let mut n = 0;
    let checks = conformance::run(|| {
        n += 1;
        SqliteVending::open(&dir.join(format!("v{n}.db")))
    })
    .unwrap();
    assert_eq!(checks, conformance::CHECKS.len());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn postgres_conformance() {
    let Some(url) = pg_url() else { return };
    let _g = PG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let checks = conformance::run(|| {
        let s = PostgresVending::connect(&url, 4)?;
        s.reset()?;
        Ok(s)
    })
    .unwrap();
    assert_eq!(checks, conformance::CHECKS.len());
}

#[test]
fn sqlite_file_is_created_and_survives_reopen() {
    let dir = temp_dir("reopen");
    let path = dir.join("sub-vending.db");
    assert!(!path.exists());
    let keys = make_prekeys("r", 3, PrekeyUse::OneTime);
    {
        let s = SqliteVending::open(&path).unwrap();
        s.upload(&keys, 1).unwrap();
        assert_eq!(s.take(2).unwrap().unwrap(), keys[0]);
    }
    assert!(path.exists());
    let s = SqliteVending::open(&path).unwrap();
    let c = s.counts().unwrap();
    assert_eq!((c.available, c.consumed), (2, 1));
    assert_eq!(s.take(3).unwrap().unwrap(), keys[1]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sql_script_imports_into_sqlite() {
    let dir = temp_dir("script");
    let path = dir.join("v.db");
    let s = SqliteVending::open(&path).unwrap();
    let keys = make_prekeys("s", 4, PrekeyUse::OneTime);
    s.upload(&keys[..1], 1).unwrap();
    let script = sql_script(&keys, 5).unwrap();
    rusqlite_exec(&path, &script);
    let c = s.counts().unwrap();
    assert_eq!(c.available, 4, "the duplicate is skipped");
    let mut got = Vec::new();
    while let Some(k) = s.take(6).unwrap() {
        got.push(k);
    }
    assert_eq!(got, keys);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sql_script_imports_into_postgres() {
    let Some(url) = pg_url() else { return };
    let _g = PG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = PostgresVending::connect(&url, 1).unwrap();
    s.reset().unwrap();
    let keys = make_prekeys("p", 3, PrekeyUse::OneTime);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(&sql_script(&keys, 5).unwrap())
        .unwrap();
    assert_eq!(s.counts().unwrap().available, 3);
    assert_eq!(s.take(6).unwrap().unwrap(), keys[0]);
}

fn rusqlite_exec(path: &Path, sql: &str) {
    // A separate connection, as an operator's `sqlite3 vending.db < script.sql` would be.
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn postgres_pool_replaces_a_killed_connection() {
    let Some(url) = pg_url() else { return };
    let _g = PG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let app = format!("{url} application_name=kms_reconnect_test");
    let s = PostgresVending::connect(&app, 1).unwrap();
    s.reset().unwrap();
    s.upload(&make_prekeys("k", 2, PrekeyUse::OneTime), 1)
        .unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'kms_reconnect_test'",
            &[],
        )
        .unwrap();
    assert_eq!(killed.len(), 1);
    // The first call may see the dead connection; the pool then connects afresh.
    let first = s.take(2);
    let taken = match first {
        Ok(Some(_)) => 1,
        Ok(None) => panic!("keys vanished"),
        Err(_) => 0,
    };
    let mut more = 0;
    while s.take(3).unwrap().is_some() {
        more += 1;
    }
    assert_eq!(taken + more, 2);
}

/// An owner for the HTTP suites: the identity that signs prekeys and the relay key that
/// signs upload tokens.
struct Owner {
    identity: IdentityKeyPair,
    relay_key: Arc<SigningKey>,
    jwks: Jwks,
}

impl Owner {
    fn new() -> Self {
        let mut rng = rand::rng();
        let relay_key = SigningKey::generate(JwsAlg::EdDSA, &mut rng);
        let jwks = Jwks {
            keys: vec![Jwk::from_public_key(&relay_key.public_key(), Some("k"))],
        };
        Self {
            identity: IdentityKeyPair::generate(&mut rng),
            relay_key: Arc::new(relay_key),
            jwks,
        }
    }

    /// Fresh upload tokens, one per call.
    fn tokens(&self) -> TokenIssuer {
        let key = Arc::clone(&self.relay_key);
        Box::new(move || {
            let now = kms_core::Clock::now_secs(&SystemClock);
            relay_token::issue(
                &key,
                "k",
                &RelayTokenRequest {
                    iss: ISSUER.into(),
                    aud: AUDIENCE.into(),
                    scope: Some(vec![UPLOAD_SCOPE.into()]),
                    ttl_secs: Some(120),
                },
                now,
                &mut rand::rng(),
            )
            .map(|t| t.token)
            .map_err(|e| VendingError::Backend(e.to_string()))
        })
    }

    fn worker(&self, persist: Option<PathBuf>) -> WorkerSettings {
        WorkerSettings {
            owner_identity: self.identity.public_key(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks: self.jwks.clone(),
            rate_limit: None,
            retry_after_secs: 5,
            persist,
        }
    }
}

/// The suite over HTTP against `kms-relay serve` on SQLite: the HTTP store itself conforms,
/// so a failure against the Worker is the Worker's.
#[test]
fn http_conformance_on_the_native_server() {
    let dir = temp_dir("http-conf");
    let owner = Owner::new();
    let mut servers = Vec::new();
    let mut n = 0;
    let checks = conformance::run_as(&owner.identity, || {
        n += 1;
        let verifier = Verifier::new(
            KeyStore::new(Box::new(StaticJwks(owner.jwks.clone())), 0)
                .map_err(|e| VendingError::Backend(e.to_string()))?,
            Policy::new(ISSUER, AUDIENCE).with_scope(UPLOAD_SCOPE),
            SystemClock,
        );
        let server = server::start(
            Arc::new(SqliteVending::open(&dir.join(format!("v{n}.db")))?),
            Arc::new(verifier),
            ServerConfig {
                bind: ([127, 0, 0, 1], 0).into(),
                threads: 8,
                rate_limit: None,
                owner_identity: owner.identity.public_key(),
                retry_after_secs: 5,
            },
        )
        .map_err(|e| VendingError::Backend(e.to_string()))?;
        let store = HttpVending::new(server.url(), owner.tokens());
        servers.push(server);
        Ok(store)
    })
    .unwrap();
    assert_eq!(checks, conformance::CHECKS.len());
    drop(servers);
    std::fs::remove_dir_all(&dir).ok();
}

/// The suite over HTTP against the Worker on workerd with a local D1 database, emptied
/// before each check.
#[test]
fn worker_conformance() {
    let Some(dir) = worker_support::dir() else {
        return;
    };
    let owner = Owner::new();
    let mut worker = LocalWorker::start(&dir, &owner.worker(None)).unwrap();
    let url = worker.url().to_owned();
    let checks = conformance::run_as(&owner.identity, || {
        worker
            .reset()
            .map_err(|e| VendingError::Backend(e.to_string()))?;
        Ok(HttpVending::new(&url, owner.tokens()))
    })
    .unwrap();
    assert_eq!(checks, conformance::CHECKS.len());
}

/// Runs wrangler from the Worker's npm packages in `dir`, offline and without telemetry.
fn wrangler(dir: &Path, args: &[&str]) {
    let out = Command::new(dir.join("node_modules/.bin/wrangler"))
        .args(args)
        .current_dir(dir)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "wrangler {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The owner's offline replenish (`kms-relay-admin prekeys replenish --sql FILE --d1`):
/// the migration and the script go through `wrangler d1 … --local` as they are, twice (the
/// second run skips every kid), and the Worker then vends exactly those keys.
#[test]
fn d1_script_runs_in_wrangler_and_the_worker_vends_it() {
    let Some(dir) = worker_support::dir() else {
        return;
    };
    let tmp = temp_dir("wrangler");
    let persist = tmp.join("state");
    let persist_arg = persist.to_string_lossy().into_owned();
    let owner = Owner::new();
    let keys = make_prekeys_by(&owner.identity, "w", 40, PrekeyUse::OneTime);
    let script = tmp.join("import.sql");
    std::fs::write(&script, d1_script(&keys, 7).unwrap()).unwrap();
    let script_arg = script.to_string_lossy().into_owned();
    wrangler(
        &dir,
        &[
            "d1",
            "migrations",
            "apply",
            "kms-vending",
            "--local",
            "--persist-to",
            &persist_arg,
        ],
    );
    for _ in 0..2 {
        wrangler(
            &dir,
            &[
                "d1",
                "execute",
                "kms-vending",
                "--local",
                "--persist-to",
                &persist_arg,
                "--file",
                &script_arg,
            ],
        );
    }
    let worker = LocalWorker::start(&dir, &owner.worker(Some(persist))).unwrap();
    let client = VendingClient::new(worker.url());
    assert_eq!(client.count().unwrap(), (40, 0));
    let store = HttpVending::new(worker.url(), owner.tokens());
    let mut got = Vec::new();
    while let Some(k) = store.take(0).unwrap() {
        k.verify(&owner.identity.public_key()).unwrap();
        got.push(k);
    }
    assert_eq!(got, keys);
    drop(worker);
    std::fs::remove_dir_all(&tmp).ok();
}

/// Prints past the test harness's output capture, so the skip is visible in a plain
/// `cargo test` run.
fn skip_note(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {what}");
}
