//! The `kms-witness` binary: `keygen` prints keys that `serve` takes, and `serve` cosigns
//! a log's checkpoint over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use kms_tlog::checkpoint::Checkpoint;
use kms_tlog::cosignature::{CosignatureVerifier, CosignerKey};
use kms_tlog::hash::EMPTY_ROOT;
use kms_tlog::note::SignerKey;
use kms_tlog::witness::{AddCheckpoint, parse_cosignatures};

const BIN: &str = env!("CARGO_BIN_EXE_kms-witness");

/// Kills the server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn keygen_then_serve_then_cosign() {
    let out = Command::new(BIN)
        .args(["keygen", "witness.example/bin"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let signer = CosignerKey::parse(lines[0]).unwrap();
    let verifier = CosignatureVerifier::parse(lines[1]).unwrap();
    assert_eq!(signer.verifier(), verifier);

    let dir = std::env::temp_dir().join(format!("kms-witness-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("witness.key");
    std::fs::write(&key_file, format!("{}\n", lines[0])).unwrap();
    let log = SignerKey::from_seed("example.org/log", &[3; 32]).unwrap();
    let mut child = Child(
        Command::new(BIN)
            .arg("serve")
            .arg("--state")
            .arg(dir.join("state"))
            .arg("--key")
            .arg(&key_file)
            .arg("--log")
            .arg(format!("example.org/log={}", log.verifier()))
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");

    let checkpoint = Checkpoint::new("example.org/log", 0, EMPTY_ROOT)
        .sign(&log)
        .unwrap();
    let body = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: checkpoint.clone().into_bytes(),
    }
    .encode();
    let mut response = ureq::post(format!("{url}/add-checkpoint"))
        .send(&body[..])
        .unwrap();
    let lines = parse_cosignatures(&response.body_mut().read_to_vec().unwrap()).unwrap();
    let text = checkpoint.split_once("\n\n").unwrap().0.to_owned() + "\n";
    assert!(verifier.verify(&text, &lines[0]).is_ok());
}

#[test]
fn a_log_key_named_otherwise_than_its_origin_is_refused() {
    let log = SignerKey::from_seed("example.org/log", &[3; 32]).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--state", "unused", "--key", "unused"])
        .arg("--log")
        .arg(format!("example.org/other={}", log.verifier()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("named like its origin"), "{stderr}");
}
