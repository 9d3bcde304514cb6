//! The `kms-relay serve` binary as an operator runs it: JWKS file, owner identity, SQLite
//! file created on first start; an owner uploads, a sender seals, over loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use kms_core::envelope::{EnvelopeFormat, PrekeySecret, PrekeyUse};
use kms_core::jwk::{Jwk, Jwks};
use kms_core::jws::{JwsAlg, SigningKey};
use kms_core::relay_token::{self, RelayTokenRequest};
use kms_core::signal::identity::IdentityKeyPair;
use kms_core::{Clock, SystemClock};
use kms_relay::client::{Tier, VendingClient};

/// Kills the server when the test ends, whatever happens.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_binary_end_to_end() {
    let dir = std::env::temp_dir().join(format!("kms-relay-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = rand::rng();
    let owner = IdentityKeyPair::generate(&mut rng);
    let relay_key = SigningKey::generate(JwsAlg::ES256, &mut rng);
    let jwks = Jwks {
        keys: vec![Jwk::from_public_key(&relay_key.public_key(), Some("k1"))],
    };
    std::fs::write(dir.join("jwks.json"), serde_json::to_string(&jwks).unwrap()).unwrap();
    let db = dir.join("vending.db");

    let mut child = Command::new(env!("CARGO_BIN_EXE_kms-relay"))
        .args([
            "serve",
            "--owner-identity",
            &kms_core::hazmat::b64::encode(owner.public_key().serialize()),
            "--issuer",
            "https://owner.example",
            "--audience",
            "kms-vending",
            "--jwks-file",
            &dir.join("jwks.json").to_string_lossy(),
            "--db",
            &format!("sqlite:{}", db.display()),
            "--bind",
            "127.0.0.1:0",
            "--rate",
            "off",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("kms-relay: vending service on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(db.exists(), "database file created on first start");

    let client = VendingClient::new(&url);
    let prekeys: Vec<_> = (0..2)
        .map(|i| {
            PrekeySecret::generate(EnvelopeFormat::X25519AesGcmV1, &mut rng)
                .sign_public(&owner, &format!("p{i}"), PrekeyUse::OneTime, &mut rng)
                .unwrap()
        })
        .collect();
    let token = relay_token::issue(
        &relay_key,
        "k1",
        &RelayTokenRequest {
            iss: "https://owner.example".into(),
            aud: "kms-vending".into(),
            scope: Some(vec!["prekeys:upload".into()]),
            ttl_secs: None,
        },
        SystemClock.now_secs(),
        &mut rng,
    )
    .unwrap();
    let up = client.upload(&token.token, &prekeys).unwrap();
    assert_eq!(up.inserted, 2);
    let (env, tier) = client
        .seal_to_owner(&owner.public_key(), b"hi", &mut rng)
        .unwrap();
    assert_eq!((env.kid.as_str(), tier), ("p0", Tier::OneTime));
    assert_eq!(client.count().unwrap(), (1, 1));
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn serve_binary_refuses_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_kms-relay"))
        .args(["serve", "--issuer", "https://owner.example"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("required arguments were not provided")
            && stderr.contains("--owner-identity"),
        "{stderr}"
    );
    // A bad value is named too.
    let out = Command::new(env!("CARGO_BIN_EXE_kms-relay"))
        .args([
            "serve",
            "--owner-identity",
            "AQ",
            "--issuer",
            "i",
            "--audience",
            "a",
        ])
        .args(["--jwks-file", "x.json", "--bind", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bind"));
}
