//! `kms-relay-admin`: the prekey owner's CLI over an encrypted local vault.
//!
//! The vault is kms-core's key service on a SQLite file: private prekeys sealed under a KEK,
//! the KEK sealed under a passphrase (PBKDF2-SHA256 600 000), every operation audited. The
//! passphrase comes from `KMS_VAULT_PASSPHRASE` or `--passphrase-file`.
//!
//! ```text
//! kms-relay-admin [--vault kms-vault.db] [--origin https://kms-admin.localhost] <command>
//!   vault init                       create the vault, its relay key, identity and epoch key
//!   vault status                     keys and prekeys in the vault
//!   vault identity                   the identity key senders verify prekeys with (base64url)
//!   vault jwks                       the relay-token JWKS to register with the vending server
//!   prekeys replenish --count N (--server URL | --sql FILE) [--audience ID] [--classic]
//!   prekeys replenish --target N --server URL     top the server up to N available keys
//!   prekeys count --server URL                    available and consumed keys on the server
//!   epoch publish --server URL [--audience ID] [--rotate] [--classic]
//!   envelope open FILE               print the plaintext; shreds a one-time prekey
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kms_core::clock::{Clock, SystemClock};
use kms_core::envelope::{Envelope, SignedPrekey};
use kms_core::origin::Origin;
use kms_core::rpc::policy::Caller;
use kms_core::rpc::{
    EnvelopeEpochKeyParams, EnvelopeOpenParams, EnvelopePrekeysParams, Method, RelayAlg,
    RelayCreateKeyParams, RelayTokenParams, SecretInput, SetupParams, UnlockPassphraseParams,
    methods,
};
use kms_core::service::{KeyKind, Kms};
use kms_relay::client::VendingClient;
use kms_relay::api::UPLOAD_SCOPE;
use kms_relay::vending::sql_script;
use kms_relay_admin::vault::SqliteStore;
use zeroize::Zeroizing;

type Vault = Kms<SqliteStore, SystemClock, rand::rngs::ThreadRng>;

/// Default audience of upload tokens (the vending server's `--audience`).
const DEFAULT_AUDIENCE: &str = "kms-vending";

struct Cli {
    vault: PathBuf,
    origin: String,
    words: Vec<String>,
    opts: HashMap<String, String>,
    flags: Vec<String>,
}

const FLAGS: &[&str] = &["classic", "rotate"];

fn parse(args: Vec<String>) -> Result<Cli, String> {
    let mut words = Vec::new();
    let mut opts = HashMap::new();
    let mut flags = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.strip_prefix("--") {
            Some(f) if FLAGS.contains(&f) => flags.push(f.to_owned()),
            Some(name) => {
                let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                opts.insert(name.to_owned(), v);
            }
            None => words.push(a),
        }
    }
    Ok(Cli {
        vault: PathBuf::from(
            opts.remove("vault")
                .unwrap_or_else(|| "kms-vault.db".into()),
        ),
        origin: opts
            .remove("origin")
            .unwrap_or_else(|| "https://kms-admin.localhost".into()),
        words,
        opts,
        flags,
    })
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1).collect()).and_then(|cli| run(&cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kms-relay-admin: {e}");
            ExitCode::FAILURE
        }
    }
}

fn passphrase(cli: &Cli) -> Result<SecretInput, String> {
    let text = Zeroizing::new(match cli.opts.get("passphrase-file") {
        Some(f) => std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?,
        None => std::env::var("KMS_VAULT_PASSPHRASE")
            .map_err(|_| "set KMS_VAULT_PASSPHRASE or --passphrase-file")?,
    });
    Ok(SecretInput::from(text.trim_end_matches(['\r', '\n'])))
}

/// Calls method `M` as the vault's owner: this CLI is the owner's own trusted surface, the
/// native counterpart of the enclave's UI.
fn call<M: Method>(v: &mut Vault, origin: &str, params: M::Params) -> Result<M::Output, String> {
    let origin = Origin::parse(origin).map_err(|e| e.to_string())?;
    pollster::block_on(v.call::<M>(&Caller::EnclaveUi(origin), params))
        .map_err(|e| format!("{}: {} ({e})", M::NAME, e.code()))
}

fn open_vault(cli: &Cli, create: bool) -> Result<Vault, String> {
    if !create && !cli.vault.exists() {
        return Err(format!(
            "{}: no vault; run `vault init` first",
            cli.vault.display()
        ));
    }
    let store = SqliteStore::open(&cli.vault).map_err(|e| e.to_string())?;
    let mut v = Kms::new(store, SystemClock, rand::rng());
    let passphrase = passphrase(cli)?;
    if create {
        call::<methods::Setup>(&mut v, &cli.origin, SetupParams { passphrase })?;
    } else {
        let params = UnlockPassphraseParams { passphrase };
        call::<methods::UnlockPassphrase>(&mut v, &cli.origin, params)?;
    }
    Ok(v)
}

fn relay_kid(v: &mut Vault, origin: &str) -> Result<String, String> {
    call::<methods::ListKeys>(v, origin, ())?
        .keys
        .iter()
        .find(|k| k.kind == KeyKind::Relay)
        .and_then(|k| k.id.strip_prefix(KeyKind::Relay.prefix()))
        .map(str::to_owned)
        .ok_or_else(|| "the vault has no relay key".to_owned())
}

fn upload_token(v: &mut Vault, cli: &Cli) -> Result<String, String> {
    let kid = relay_kid(v, &cli.origin)?;
    let params = RelayTokenParams {
        kid,
        aud: cli
            .opts
            .get("audience")
            .map_or(DEFAULT_AUDIENCE, String::as_str)
            .to_owned(),
        iss: None,
        scope: Some(vec![UPLOAD_SCOPE.to_owned()]),
        ttl_secs: Some(120),
    };
    Ok(call::<methods::RelayToken>(v, &cli.origin, params)?.token)
}

fn epoch(v: &mut Vault, cli: &Cli, rotate: bool) -> Result<(String, SignedPrekey), String> {
    let params = EnvelopeEpochKeyParams {
        hybrid: Some(!cli.flags.iter().any(|f| f == "classic")),
        rotate: Some(rotate),
    };
    let epoch = call::<methods::EnvelopeEpochKey>(v, &cli.origin, params)?;
    Ok((epoch.identity_key, epoch.prekey))
}

fn run(cli: &Cli) -> Result<(), String> {
    let words: Vec<&str> = cli.words.iter().map(String::as_str).collect();
    let mut out = std::io::stdout().lock();
    let mut say = |s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    match words.as_slice() {
        ["vault", "init"] => {
            if cli.vault.exists() {
                return Err(format!("{} already exists", cli.vault.display()));
            }
            let mut v = open_vault(cli, true)?;
            let params = RelayCreateKeyParams {
                alg: RelayAlg::EdDSA,
            };
            call::<methods::RelayCreateKey>(&mut v, &cli.origin, params)?;
            let (identity, _) = epoch(&mut v, cli, false)?;
            say(format!("vault created: {}", cli.vault.display()))?;
            say(format!("identity key: {identity}"))
        }
        ["vault", "status"] => {
            let mut v = open_vault(cli, false)?;
            let keys = call::<methods::ListKeys>(&mut v, &cli.origin, ())?.keys;
            let count = |kind| keys.iter().filter(|k| k.kind == kind).count();
            say(format!("vault: {} (unlocked)", cli.vault.display()))?;
            say(format!("origin shard: {}", cli.origin))?;
            say(format!(
                "one-time prekeys held: {}",
                count(KeyKind::EnvelopePrekey)
            ))?;
            say(format!(
                "epoch keys held: {}",
                count(KeyKind::EnvelopeEpoch)
            ))?;
            say(format!("relay keys: {}", count(KeyKind::Relay)))?;
            let audit = call::<methods::AuditVerify>(&mut v, &cli.origin, ())?;
            say(format!("audit log: {} entries, verified", audit.size))
        }
        ["vault", "identity"] => {
            let mut v = open_vault(cli, false)?;
            let (identity, _) = epoch(&mut v, cli, false)?;
            say(identity)
        }
        ["vault", "jwks"] => {
            let mut v = open_vault(cli, false)?;
            let jwks = call::<methods::RelayJwks>(&mut v, &cli.origin, ())?.jwks;
            say(serde_json::to_string(&jwks).map_err(|e| e.to_string())?)
        }
        ["prekeys", "replenish"] => {
            let number = |name: &str| -> Result<Option<u32>, String> {
                cli.opts
                    .get(name)
                    .map(|n| n.parse().map_err(|_| format!("--{name}: not a number")))
                    .transpose()
            };
            let count = match (number("count")?, number("target")?, cli.opts.get("server")) {
                (Some(n), None, _) => n,
                // Low-water refill: top the server up to `target` available keys.
                (None, Some(target), Some(url)) => {
                    let (available, _) = VendingClient::new(url.clone())
                        .count()
                        .map_err(|e| format!("count: {e}"))?;
                    target.saturating_sub(u32::try_from(available).unwrap_or(u32::MAX))
                }
                _ => return Err("give --count N, or --target N with --server".into()),
            };
            if count == 0 {
                return say("enough prekeys available; none generated".into());
            }
            let mut v = open_vault(cli, false)?;
            let mut prekeys = Vec::new();
            let mut left = count;
            while left > 0 {
                let n = left.min(1000);
                let params = EnvelopePrekeysParams {
                    count: n,
                    hybrid: Some(!cli.flags.iter().any(|f| f == "classic")),
                };
                let more = call::<methods::EnvelopePrekeys>(&mut v, &cli.origin, params)?;
                prekeys.extend(more.prekeys);
                left -= n;
            }
            match (cli.opts.get("server"), cli.opts.get("sql")) {
                (Some(url), None) => {
                    let client = VendingClient::new(url.clone());
                    let mut available = 0;
                    for batch in prekeys.chunks(kms_relay::vending::MAX_BATCH) {
                        let token = upload_token(&mut v, cli)?;
                        let up = client
                            .upload(&token, batch)
                            .map_err(|e| format!("upload: {e}"))?;
                        available = up.available;
                    }
                    say(format!(
                        "generated and uploaded {} prekeys; {available} available on the server",
                        prekeys.len()
                    ))
                }
                (None, Some(path)) => {
                    let script =
                        sql_script(&prekeys, SystemClock.now_ms()).map_err(|e| e.to_string())?;
                    std::fs::write(path, script).map_err(|e| format!("{path}: {e}"))?;
                    say(format!(
                        "generated {} prekeys; SQL import script written to {path}",
                        prekeys.len()
                    ))
                }
                _ => Err("give exactly one of --server, --sql".into()),
            }
        }
        ["prekeys", "count"] => {
            let url = cli.opts.get("server").ok_or("--server is required")?;
            let (available, consumed) = VendingClient::new(url.clone())
                .count()
                .map_err(|e| format!("count: {e}"))?;
            say(format!("available {available}, consumed {consumed}"))
        }
        ["epoch", "publish"] => {
            let url = cli.opts.get("server").ok_or("--server is required")?;
            let rotate = cli.flags.iter().any(|f| f == "rotate");
            let mut v = open_vault(cli, false)?;
            let (_, prekey) = epoch(&mut v, cli, rotate)?;
            let token = upload_token(&mut v, cli)?;
            VendingClient::new(url.clone())
                .put_epoch(&token, &prekey)
                .map_err(|e| format!("publish: {e}"))?;
            say(format!("epoch key {} published", prekey.kid))
        }
        ["envelope", "open", file] => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let envelope: Envelope =
                serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
            let mut v = open_vault(cli, false)?;
            let params = EnvelopeOpenParams { envelope };
            let opened = call::<methods::EnvelopeOpen>(&mut v, &cli.origin, params)?;
            let bytes = Zeroizing::new(
                kms_core::b64::decode(&opened.plaintext).map_err(|e| e.to_string())?,
            );
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .map_err(|e| e.to_string())
        }
        _ => Err(
            "usage: kms-relay-admin [--vault FILE] (vault init|status|identity|jwks \
                  | prekeys replenish (--count N|--target N) (--server URL|--sql FILE) \
                  | prekeys count --server URL \
                  | epoch publish --server URL | envelope open FILE)"
                .into(),
        ),
    }
}
