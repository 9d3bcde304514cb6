//! The vending-store conformance suite against a real SQLite file and a real PostgreSQL
//! server.
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

use std::path::PathBuf;

use kms_core::envelope::PrekeyUse;
use kms_relay::vending::conformance::{self, make_prekeys};
use kms_relay::vending::postgres::PostgresVending;
use kms_relay::vending::sqlite::SqliteVending;
use kms_relay::vending::{VendingStore, sql_script};

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

fn rusqlite_exec(path: &std::path::Path, sql: &str) {
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

/// Prints past the test harness's output capture, so the skip is visible in a plain
/// `cargo test` run.
fn skip_note(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {what}");
}
