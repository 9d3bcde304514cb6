//! `cargo xtask release`: appends the committed `sri-manifest.json` to the release
//! transparency log in `transparency/log`, signs a new checkpoint and writes
//! `transparency/log/releases/<version>.tlog-proof`.
//!
//! The log's signing key is never in the repository: it comes from `--key-file FILE` or the
//! `KMS_LOG_SIGNER_KEY` environment variable. Its public half is `transparency/log.pub`.
//! `cargo xtask release keygen <name> <file>` makes a new key (for a new log or for tests).
//! The release runs `cargo xtask dist --check` first (`--no-check` skips it), so only a
//! manifest this checkout reproduces is logged. Other flags: `--version V` (default: the
//! workspace version), `--log DIR`, `--pub FILE`.

use std::path::PathBuf;

use kms_tlog::note::SignerKey;
use kms_verify::manifest::MANIFEST_FILE;
use kms_verify::release::append_release;

use crate::cmd::root;

/// The log directory, relative to the workspace.
pub(crate) const LOG_DIR: &str = "transparency/log";
/// The log's verifier key, relative to the workspace.
pub(crate) const LOG_KEY: &str = "transparency/log.pub";
/// Environment variable holding the signer key string, when no `--key-file` is given.
const KEY_ENV: &str = "KMS_LOG_SIGNER_KEY";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("keygen") {
        return keygen(&args[1..]);
    }
    let mut key_file = None;
    let mut version = env!("CARGO_PKG_VERSION").to_owned();
    let mut log_dir = root().join(LOG_DIR);
    let mut pub_file = root().join(LOG_KEY);
    let mut check = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--key-file" => key_file = Some(PathBuf::from(value()?)),
            "--version" => version = value()?,
            "--log" => log_dir = PathBuf::from(value()?),
            "--pub" => pub_file = PathBuf::from(value()?),
            "--no-check" => check = false,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let key_text = match key_file {
        Some(f) => std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?,
        None => std::env::var(KEY_ENV)
            .map_err(|_| format!("give the log key with --key-file FILE or {KEY_ENV}"))?,
    };
    let signer = SignerKey::parse(key_text.trim()).map_err(|e| format!("log key: {e}"))?;
    let verifier = signer.verifier().to_string();
    match std::fs::read_to_string(&pub_file) {
        Ok(existing) if existing.trim() != verifier => {
            return Err(format!(
                "the key is not the log's: {} holds {}",
                pub_file.display(),
                existing.trim()
            ));
        }
        Ok(_) => {}
        Err(_) => {
            if let Some(parent) = pub_file.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&pub_file, format!("{verifier}\n"))
                .map_err(|e| format!("{}: {e}", pub_file.display()))?;
            println!("release: wrote the verifier key {}", pub_file.display());
        }
    }
    if check {
        // Only a manifest that this checkout reproduces, byte for byte, is logged.
        super::dist::run(&["--check".to_owned()])?;
    }
    let manifest = std::fs::read(root().join(MANIFEST_FILE))
        .map_err(|e| format!("{MANIFEST_FILE}: {e} (run `cargo xtask dist` first)"))?;
    let appended =
        append_release(&log_dir, &signer, &version, &manifest).map_err(|e| e.to_string())?;
    println!(
        "release: {version} is entry {} of {} in {}; proof {}",
        appended.index,
        appended.size,
        log_dir.display(),
        appended.proof_path.display()
    );
    Ok(())
}

/// `keygen <name> <file>`: writes a new signer key to `file` (owner-only) and prints the
/// verifier key.
fn keygen(args: &[String]) -> Result<(), String> {
    let [name, file] = args else {
        return Err("usage: cargo xtask release keygen <log name> <signer key file>".into());
    };
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("randomness: {e}"))?;
    let signer = SignerKey::from_seed(name, &seed).map_err(|e| e.to_string())?;
    seed.fill(0);
    write_private(&PathBuf::from(file), &signer.dangerous_encode())?;
    println!("{}", signer.verifier());
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(format!("{text}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}
