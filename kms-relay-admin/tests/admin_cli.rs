//! The admin CLI end to end: vault init, replenish to a vending server on loopback, a sender
//! seals, `envelope open` prints the message and shreds the key; SQL export; status.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use kms_core::SystemClock;
use kms_core::signal::identity::PublicKey;
use kms_relay::client::{Tier, VendingClient};
use kms_relay::jwks::{FileJwks, KeyStore};
use kms_relay::server::{self, ServerConfig, UPLOAD_SCOPE};
use kms_relay::vending::VendingStore;
use kms_relay::vending::sqlite::SqliteVending;
use kms_relay::verify::{Policy, Verifier};

const ORIGIN: &str = "https://owner.example";

fn admin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kms-relay-admin"))
        .args([
            "--vault",
            &dir.join("vault.db").to_string_lossy(),
            "--origin",
            ORIGIN,
        ])
        .args(args)
        .env("KMS_VAULT_PASSPHRASE", "a long enough passphrase")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = admin(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn admin_cli_replenishes_and_opens() {
    let dir: PathBuf = std::env::temp_dir().join(format!("kms-relay-admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let init = ok(&dir, &["vault", "init"]);
    assert!(init.contains("identity key: "), "{init}");
    assert!(
        !admin(&dir, &["vault", "init"]).status.success(),
        "no overwrite"
    );
    let identity_b64 = ok(&dir, &["vault", "identity"]).trim().to_owned();
    let identity =
        PublicKey::deserialize(&kms_core::hazmat::b64::decode(&identity_b64).unwrap()).unwrap();
    std::fs::write(dir.join("jwks.json"), ok(&dir, &["vault", "jwks"])).unwrap();

    // The operator registers the owner's JWKS and identity key with the vending server.
    let store = Arc::new(SqliteVending::open(&dir.join("vending.db")).unwrap());
    let keys = KeyStore::new(Box::new(FileJwks(dir.join("jwks.json"))), 0).unwrap();
    let verifier = Verifier::new(
        keys,
        Policy::new(ORIGIN, "kms-vending").with_scope(UPLOAD_SCOPE),
        SystemClock,
    );
    let running = server::start(
        Arc::clone(&store),
        Arc::new(verifier),
        ServerConfig {
            bind: ([127, 0, 0, 1], 0).into(),
            threads: 2,
            rate_limit: None,
            owner_identity: identity,
            retry_after_secs: 60,
        },
    )
    .unwrap();
    let url = running.url();

    let out = ok(
        &dir,
        &["prekeys", "replenish", "--count", "2", "--server", &url],
    );
    assert!(out.contains("uploaded 2 prekeys; 2 available"), "{out}");
    ok(&dir, &["epoch", "publish", "--server", &url]);
    // Low-water refill: top up to 2 available: nothing to do.
    let out = ok(
        &dir,
        &["prekeys", "replenish", "--target", "2", "--server", &url],
    );
    assert!(out.contains("none generated"), "{out}");
    assert_eq!(
        ok(&dir, &["prekeys", "count", "--server", &url]).trim(),
        "available 2, consumed 0"
    );

    // A sender seals to a vended key; the owner opens it with the CLI.
    let client = VendingClient::new(&url);
    let mut rng = rand::rng();
    let (env, tier) = client
        .seal_to_owner(&identity, b"for the admin's eyes", &mut rng)
        .unwrap();
    assert_eq!(tier, Tier::OneTime);
    let file = dir.join("env.json");
    std::fs::write(&file, serde_json::to_string(&env).unwrap()).unwrap();
    let file = file.to_string_lossy().into_owned();
    assert_eq!(
        ok(&dir, &["envelope", "open", &file]),
        "for the admin's eyes"
    );
    let again = admin(&dir, &["envelope", "open", &file]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("KeyConsumed"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // A wrong passphrase opens nothing.
    let bad = Command::new(env!("CARGO_BIN_EXE_kms-relay-admin"))
        .args([
            "--vault",
            &dir.join("vault.db").to_string_lossy(),
            "--origin",
            ORIGIN,
        ])
        .args(["vault", "status"])
        .env("KMS_VAULT_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("BadCredential"));

    // Offline import: an SQL script instead of an upload.
    let sql = dir.join("import.sql");
    ok(
        &dir,
        &[
            "prekeys",
            "replenish",
            "--count",
            "3",
            "--classic",
            "--sql",
            &sql.to_string_lossy(),
        ],
    );
    let conn = rusqlite::Connection::open(dir.join("vending.db")).unwrap();
    conn.execute_batch(&std::fs::read_to_string(&sql).unwrap())
        .unwrap();
    assert_eq!(store.counts().unwrap().available, 4);

    // The same for the Worker's D1 (`wrangler d1 execute`, which refuses BEGIN/COMMIT; the
    // Worker's tests run such a script through wrangler itself).
    let d1 = dir.join("import-d1.sql");
    ok(
        &dir,
        &[
            "prekeys",
            "replenish",
            "--count",
            "2",
            "--classic",
            "--sql",
            &d1.to_string_lossy(),
            "--d1",
        ],
    );
    let script = std::fs::read_to_string(&d1).unwrap();
    assert!(
        !script.contains("BEGIN") && !script.contains("COMMIT"),
        "{script}"
    );
    conn.execute_batch(&script).unwrap();
    assert_eq!(store.counts().unwrap().available, 6);

    let status = ok(&dir, &["vault", "status"]);
    // 2 uploaded - 1 opened + 3 + 2 exported.
    assert!(status.contains("one-time prekeys held: 6"), "{status}");
    assert!(status.contains("epoch keys held: 1"), "{status}");
    assert!(status.contains("verified"), "{status}");

    running.stop();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_lists_every_command_and_flag() {
    let help = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_kms-relay-admin"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let top = help(&["--help"]);
    for command in [
        "vault init",
        "vault status",
        "vault identity",
        "vault jwks",
        "prekeys replenish",
        "prekeys count",
        "epoch publish",
        "envelope open",
    ] {
        assert!(top.contains(command), "{command}: {top}");
    }
    for flag in [
        "--vault",
        "--origin",
        "--passphrase-file",
        "[default: kms-vault.db]",
    ] {
        assert!(top.contains(flag), "{flag}: {top}");
    }
    let replenish = help(&["prekeys", "replenish", "--help"]);
    for flag in [
        "--count",
        "--target",
        "--server",
        "--sql",
        "--d1",
        "--audience",
        "--classic",
        "--vault",
        "[default: kms-vending]",
    ] {
        assert!(replenish.contains(flag), "{flag}: {replenish}");
    }
    let publish = help(&["epoch", "publish", "--help"]);
    for flag in ["--server", "--audience", "--rotate", "--classic"] {
        assert!(publish.contains(flag), "{flag}: {publish}");
    }
}

#[test]
fn bad_arguments_are_refused_naming_the_flag() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("kms-relay-admin-args-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sql = dir.join("import.sql");
    let sql = sql.to_string_lossy();
    for (args, flag) in [
        (
            &["prekeys", "replenish", "--count", "two", "--sql", &sql][..],
            "--count",
        ),
        (&["prekeys", "replenish", "--count", "2"][..], "--server"),
        (
            &[
                "prekeys",
                "replenish",
                "--count",
                "2",
                "--server",
                "http://x",
                "--sql",
                &sql,
            ][..],
            "--sql",
        ),
        (
            &["prekeys", "replenish", "--target", "2", "--sql", &sql][..],
            "--target",
        ),
        (&["prekeys", "replenish", "--sql", &sql][..], "--count"),
        (&["prekeys", "count"][..], "--server"),
        (&["epoch", "publish"][..], "--server"),
        (
            &["--origin", "not an origin", "vault", "status"][..],
            "--origin",
        ),
        (&["vault", "status", "--no-such-flag"][..], "--no-such-flag"),
    ] {
        let o = admin(&dir, args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        // The message itself, not the usage line after it (which names every flag).
        let message = stderr.split("Usage:").next().unwrap();
        assert!(message.contains(flag), "{args:?}: {stderr}");
    }
    assert!(!dir.join("vault.db").exists(), "nothing was opened");
    std::fs::remove_dir_all(&dir).ok();
}
