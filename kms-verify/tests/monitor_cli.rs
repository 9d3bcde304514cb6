//! `kms-verify monitor` as a program: it prints new releases and exits non-zero on a fork
//! or an unexpected key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kms_tlog::log::Log;
use kms_tlog::note::SignerKey;
use kms_tlog::statement::ReleaseStatement;

const BIN: &str = env!("CARGO_BIN_EXE_kms-verify");
const ORIGIN: &str = "example.org/kms-releases";

fn temp_dir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kms-verify-cli-{}-{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn log_with(dir: &Path, versions: &[&str]) {
    let key = SignerKey::from_seed(ORIGIN, &[9; 32]).unwrap();
    let mut log = Log::create(dir, ORIGIN).unwrap();
    for v in versions {
        let entry = ReleaseStatement::for_manifest(v, v.as_bytes())
            .encode()
            .unwrap();
        log.append(&entry).unwrap();
    }
    log.checkpoint(&key).unwrap();
}

fn monitor(log: &Path, key: &Path, state: &Path) -> Output {
    Command::new(BIN)
        .arg("monitor")
        .arg(log)
        .arg("--key")
        .arg(key)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap()
}

#[test]
fn monitor_prints_releases_and_fails_on_a_fork_or_another_key() {
    let root = temp_dir("monitor");
    let key_file = root.join("log.pub");
    let key = SignerKey::from_seed(ORIGIN, &[9; 32]).unwrap();
    std::fs::write(&key_file, format!("{}\n", key.verifier())).unwrap();
    let state = root.join("state");
    let (honest, fork) = (root.join("honest"), root.join("fork"));
    log_with(&honest, &["0.1.0", "0.2.0"]);
    log_with(&fork, &["0.1.0", "0.2.0-other", "0.3.0"]);

    let out = monitor(&honest, &key_file, &state);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("release 0.1.0: entry 0, sri-manifest sha256-"),
        "{stdout}"
    );
    assert!(stdout.contains("release 0.2.0: entry 1"), "{stdout}");

    let out = monitor(&fork, &key_file, &state);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FORK"), "{stderr}");

    // The log signed by another key than the configured one.
    let other = root.join("other.pub");
    let stranger = SignerKey::from_seed(ORIGIN, &[1; 32]).unwrap();
    std::fs::write(&other, format!("{}\n", stranger.verifier())).unwrap();
    assert!(
        !monitor(&honest, &other, &root.join("state2"))
            .status
            .success()
    );
    assert!(!root.join("state2").exists());
}
